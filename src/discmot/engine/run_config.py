"""A run's resolved config: made plain for ``config.yaml``, and compared with an earlier run's.

The comparison says which dotted keys changed and how (``train.epochs 3 -> 7``), leaves out fields added
since the earlier run was made when they are at their default, and names the command that resumes with
the run's own recipe (`discmot.engine.run_folder.RunFolder.write_resume`, a resume's recipe check).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import yaml

from discmot.config import load_yaml


def plain(value):
    """Dataclasses, tuples and paths -> dicts, lists and strings (what YAML/JSON can hold)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def _changed_keys(old, new, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(set(old) | set(new), key=str)
        return [
            c for k in keys for c in _changed_keys(old.get(k, _ABSENT), new.get(k, _ABSENT), f"{prefix}{k}.")
        ]
    return [] if old == new else [prefix.rstrip(".")]


#: A key one of two compared configs lacks (unlike null, which is a value).
_ABSENT = object()

#: Config keys a resume changes as a matter of course, said at INFO rather than warned about: the early
#: stop of a smoke test (`TrainConfig.max_iterations`), raised or set to 0 to go on.
SAID_AT_INFO = frozenset({"train.max_iterations"})


class DataclassWithExtras(dict):
    """A section of a resolved config made of a dataclass's fields and extra keys (CSTrack's ``optim``
    with the run's ``accumulate_steps``): the dict `plain` writes, remembering the dataclass so that
    `_field_defaults` knows its fields' defaults. A section given as a plain dict (``asdict``) has none,
    so a field added to its dataclass since a run was made was a "change" on that run's resume."""

    def __init__(self, config, **extras):
        super().__init__({**plain(config), **extras})
        self.config = config


def changed_on_resume(earlier: dict, config) -> list[str]:
    """The dotted keys of ``config`` (as the run resolved it: dataclasses, which know their fields'
    defaults) whose values differ from the ``earlier`` run's plain config, but for fields that run's
    record lacks and that are at their default here (`_added_at_its_default`)."""
    defaults = _field_defaults(config)
    config = plain(config)
    changed = _changed_keys(earlier, config)
    return [key for key in changed if not _added_at_its_default(earlier, config, key, defaults)]


def _field_defaults(config, prefix: str = "") -> dict:
    """``{"train.max_iterations": 0, ...}``: the dotted key and default (as `plain` writes it) of every
    dataclass field with a default in ``config`` (dicts and dataclasses, nested as in a run's
    ``config.yaml``). Sections a caller gave as plain dicts have none: give the dataclass, or a
    `DataclassWithExtras` of it."""
    found = {}
    if isinstance(config, DataclassWithExtras):
        found.update(_field_defaults(config.config, prefix))
    elif dataclasses.is_dataclass(config) and not isinstance(config, type):
        for field in dataclasses.fields(config):
            key = f"{prefix}{field.name}"
            found.update(_field_defaults(getattr(config, field.name), f"{key}."))
            if field.default is not dataclasses.MISSING:
                found[key] = plain(field.default)
            elif field.default_factory is not dataclasses.MISSING:
                found[key] = plain(field.default_factory())
    elif isinstance(config, dict):
        for name, value in config.items():
            found.update(_field_defaults(value, f"{prefix}{name}."))
    return found


def _added_at_its_default(old: dict, new: dict, key: str, defaults: dict) -> bool:
    """Whether ``key`` is absent from ``old`` (a run's record made before the field existed) and at its
    default in ``new``, which does what its absence did: no change. `_changed_keys` tells an absent
    key from null, so without this every field added since a run was made (its default null
    too) was a "changed" value on its resume (2026-11-24)."""
    return key in defaults and _at(old, key) is _ABSENT and _at(new, key) == defaults[key]


def recipe_changes(old_recipe: str, new_recipe: str) -> list[str]:
    """The keys of two recipe texts (a run's ``recipe.yaml``, this run's recipe) that differ, with
    their values: ``["adapters.spatial false -> true", "train.epochs 3 -> 7"]`` (recipe keys, which
    the user wrote or gave to ``--set``; the header comments are left out)."""
    return config_changes(load_yaml(old_recipe) or {}, load_yaml(new_recipe) or {})


def config_changes(old: dict, new: dict) -> list[str]:
    """``["train.epochs 3 -> 7", ...]``: the dotted keys of two nested configs that differ, with values."""
    return [_change(old, new, key) for key in _changed_keys(old, new)]


def describe_changes(old: dict, new: dict, keys: list[str], most: int = 8) -> str:
    """``"train.epochs 3 -> 7, train.lr 0.0006 -> 0.0001"``: the dotted ``keys`` with their values in
    ``old`` and ``new`` (short; at most ``most`` keys, then how many more)."""
    return join_changes([_change(old, new, key) for key in keys], most)


def join_changes(changes: list[str], most: int = 8) -> str:
    """At most ``most`` of ``changes``, then how many more."""
    more = f" (and {len(changes) - most} more)" if len(changes) > most else ""
    return ", ".join(changes[:most]) + more


def _change(old: dict, new: dict, key: str) -> str:
    return f"{key} {_short(_at(old, key))} -> {_short(_at(new, key))}"


def own_recipe_hint(
    record: Path | None, run_dir: Path, lead: str = "", before_checkpoint: bool = False
) -> str:
    """How to resume with the run's recorded recipe (``lead`` before it), or ``""`` when ``record``
    (the run folder of that record) has no ``recipe.yaml``. ``--run-dir`` is named: ``--config
    RUN/recipe.yaml`` alone trains into ``runs/<run>-repeat``. ``before_checkpoint``: the resume is
    under way, and its first checkpoint makes its own recipe the run's (`RunFolder.checkpoint_written`)."""
    if record is None or not (record / "recipe.yaml").is_file():
        return ""
    when = (
        "stop before the next checkpoint (which records this recipe as the run's) and "
        if before_checkpoint
        else ""
    )
    command = f"discmot train --config {record / 'recipe.yaml'} --run-dir {run_dir} --resume --data-root ..."
    return f"{lead}to resume with the run's own recipe, {when}run: {command}"


def _at(config: dict, key: str):
    node = config
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return _ABSENT
        node = node[part]
    return node


def _short(value, width: int = 40) -> str:
    """A value as ``--set`` takes it (YAML flow style: ``false``, ``[6, 9]``), cut to ``width``."""
    if value is _ABSENT:
        return "(absent)"
    text = yaml.safe_dump(value, default_flow_style=True, width=1 << 16).strip()
    text = text.removesuffix("...").strip()
    return text if len(text) <= width else text[: width - 3] + "..."
