"""Training recipes shared by every model: finding a recipe file, reading its YAML, ``--set`` overrides,
and errors that name the file. Each model turns the raw sections into its own typed configs
(`discmot.models.fdta.recipe`, `discmot.models.cstrack.recipe`).

A recipe is a YAML mapping of sections. Its optional top-level ``model_kind`` says which model it trains
(``fdta`` when absent, so FDTA recipes written before CSTrack existed stay valid). Built-in recipes live
in ``discmot/configs/<kind>/<name>.yaml`` and are named on the command line as ``<name>`` for FDTA
(``dancetrack``, ``tiny``) and ``<kind>_<name>`` for the others (``cstrack_mot17``, ``cstrack_tiny``).

This module imports no torch.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TypeVar

import yaml

T = TypeVar("T")

#: Models that have recipes, and the prefix of their built-in names (FDTA's are unprefixed).
MODEL_KINDS = {"fdta": "", "cstrack": "cstrack_"}
DEFAULT_KIND = "fdta"
KIND_KEY = "model_kind"


class RecipeError(ValueError):
    """A recipe file or override that cannot be used; the message names the source."""


class RecipeKeyError(ValueError):
    """A bad value or unknown key at the dotted recipe path ``key`` (``"train.lr"``), which the message
    names; `resolve_recipe` adds the file and the line of that key in it (or the ``--set`` that gave it)."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


class RecipeLoader(yaml.SafeLoader):
    """PyYAML's safe loader that also reads exponent floats without a dot (``1e-4``, ``5E+3``) as floats.

    PyYAML follows YAML 1.1, where ``lr: 1e-4`` is the *string* "1e-4" (a float needs a dot: ``1.0e-4``);
    YAML 1.2, JSON and Python read it as a number, and so does every user writing a learning rate.
    A key written twice in one mapping is an error (PyYAML keeps the last silently: a recipe edited
    in two places would train with one of them).
    """

    def construct_mapping(self, node, deep=False):
        # Only the keys written in this mapping: merged ones (``<<: *base``) may be overridden, and an
        # unhashable key is left for PyYAML's own error.
        seen = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice in one mapping", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


RecipeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def load_yaml(text: str):
    """``yaml.safe_load`` with `RecipeLoader` (exponent floats without a dot are floats)."""
    return yaml.load(text, Loader=RecipeLoader)  # noqa: S506 - RecipeLoader is a SafeLoader


@dataclass(frozen=True)
class RecipeFile:
    """A recipe as read: ``name`` (built-in name or file stem), ``kind`` (its ``model_kind``), ``raw``
    (the sections, ``model_kind`` removed) and ``where`` (what error messages call it)."""

    name: str
    kind: str
    raw: dict
    where: str
    text: str | None = None  # the YAML as read, to find the line of a bad key


def builtin_recipes(kind: str | None = None) -> list[str]:
    """Command-line names of the recipes shipped with discmot (of one model kind, or of all)."""
    names = []
    for model_kind, prefix in MODEL_KINDS.items():
        if kind is None or kind == model_kind:
            names += [prefix + stem for stem in _builtin_stems(model_kind)]
    return sorted(names)


def _builtin_stems(kind: str) -> list[str]:
    folder = resources.files("discmot") / "configs" / kind
    if not folder.is_dir():
        return []
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def _builtin_location(name: str) -> tuple[str, str] | None:
    """``(kind, stem)`` of a built-in name; prefixed kinds first, so ``cstrack_tiny`` is not FDTA's."""
    for kind, prefix in sorted(MODEL_KINDS.items(), key=lambda item: -len(item[1])):
        stem = name[len(prefix) :] if name.startswith(prefix) else None
        if stem and stem in _builtin_stems(kind):
            return kind, stem
    return None


def read_recipe(source: str | Path) -> RecipeFile:
    """The recipe of a built-in name or a YAML path (see the module docstring)."""
    path = Path(source)
    location = _builtin_location(str(source)) if not path.suffix else None
    if location is not None:
        kind, stem = location
        text = (resources.files("discmot") / "configs" / kind / f"{stem}.yaml").read_text(encoding="utf-8")
        where, name = f"built-in recipe {source!r}", str(source)
    elif path.is_file():
        where, name = str(path), path.stem
        if path.name == "config.yaml" and (path.parent / "environment.json").is_file():
            # a run's resolved config holds fields no recipe section takes (model.name, clips.augment,
            # the data's statistics) and lacks model_kind and split: it records a run, it does not make one
            if (path.parent / "recipe.yaml").is_file():
                raise RecipeError(
                    f"{where}: the resolved config of a run, not a recipe: repeat the run with "
                    f"--config {path.parent / 'recipe.yaml'}"
                )
            raise RecipeError(
                f"{where}: the resolved config of a run, not a recipe: repeat the run with the recipe and "
                f"--set flags of the command line in {path.parent / 'environment.json'}, or --resume it with "
                "that recipe"
            )
        if path.name == "recipe.yaml" and (path.parent / "environment.json").is_file():
            # a run's recipe: its repeat is named after the run, so that its default run folder
            # (runs/<name>) is runs/<run>-repeat rather than runs/recipe for every run repeated
            name = f"{path.parent.absolute().name}-repeat"
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise RecipeError(f"{where}: not a UTF-8 text file (a recipe is YAML)") from None
    else:
        raise RecipeError(
            f"{source}: no such recipe file and not a built-in recipe ({', '.join(builtin_recipes())})"
        )
    try:
        raw = load_yaml(text) or {}
    except yaml.YAMLError as error:
        raise RecipeError(f"{where}{yaml_error_text(error)}") from None
    if not isinstance(raw, dict):
        raise RecipeError(f"{where}: a recipe is a mapping of sections")
    kind = raw.pop(KIND_KEY, DEFAULT_KIND)
    if kind not in MODEL_KINDS:
        raise RecipeError(f"{where}: unknown {KIND_KEY} {kind!r}; known: {', '.join(MODEL_KINDS)}")
    if location is not None and kind != location[0]:
        raise RecipeError(f"{where}: says {KIND_KEY}: {kind} but lies in the {location[0]} recipes")
    return RecipeFile(name, kind, raw, where, text)


def recipe_text(recipe: RecipeFile, overrides: Iterable[str]) -> str:
    """The recipe a run used, as a recipe file: ``recipe`` with the ``--set`` ``overrides`` applied, its
    model kind written out. ``discmot train --config`` on it repeats the run (a run folder's
    ``recipe.yaml``; its ``config.yaml`` records resolved values and is no recipe)."""
    overrides = list(overrides)
    header = f"# the recipe of a discmot run: {recipe.where}"
    header += "".join(f"\n#   --set {item}" for item in overrides)
    body = {KIND_KEY: recipe.kind, **apply_overrides(recipe.raw, overrides)}
    return header + "\n" + yaml.safe_dump(body, sort_keys=False)


def apply_overrides(raw: dict, overrides: Iterable[str]) -> dict:
    """``["train.epochs=2", "adapters.spatial=false"]`` applied to a copy of ``raw`` (values are YAML)."""
    merged = copy.deepcopy(raw)
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise RecipeError(f"--set {item!r}: expected section.key=value")
        *parents, leaf = key.split(".")
        node = merged
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise RecipeError(f"--set {item!r}: {part} is not a section")
        try:
            node[leaf] = load_yaml(value)
        except yaml.YAMLError as error:
            raise RecipeError(f"--set {item!r}{yaml_error_text(error)}") from None
    return merged


def yaml_error_text(error: yaml.YAMLError) -> str:
    """``":LINE:COLUMN: not valid YAML: PROBLEM"`` on one line, to follow a file name."""
    mark = getattr(error, "problem_mark", None)
    where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    return f"{where}: not valid YAML: {problem}"


def section(raw: Mapping, key: str) -> dict:
    """A copy of section ``key`` (``{}`` when absent); a section that is not a mapping is an error."""
    value = raw.get(key) or {}
    if not isinstance(value, dict):
        raise ValueError(f"section {key!r} must be a mapping, not {type(value).__name__}")
    return dict(value)


def check_sections(
    raw: Mapping, known: Iterable[str], other_kind: tuple[str, Iterable[str]] = ("", ())
) -> None:
    """Unknown top-level sections are errors that list the known ones; ``other_kind`` (``("cstrack",
    its sections)``) adds a hint when every unknown one is a section of that model's recipes."""
    known = tuple(known)
    unknown = sorted(set(raw) - set(known))
    if unknown:
        kind, sections = other_kind  # the other kind's sections, those both have included
        hint = ""
        if kind and set(unknown) <= set(sections):
            says = f"{KIND_KEY}: {kind}" if kind == "cstrack" else f"no {KIND_KEY} or {KIND_KEY}: {kind}"
            hint = f" ({', '.join(unknown)}: sections of {kind} recipes, which say {says})"
        raise RecipeKeyError(
            unknown[0], f"unknown section(s) {', '.join(unknown)}; known: {', '.join(known)}{hint}"
        )


class FieldRangeError(ValueError):
    """A config field outside its range (raised by the configs' own ``__post_init__``); ``field`` names
    it, so that a recipe can name the key's path and line (`ranges_of_section`)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def check_field_ranges(config, ranges: Mapping[str, tuple[float, float | None]]) -> None:
    """A `FieldRangeError` for the first field of dataclass ``config`` outside its ``(lowest, highest or
    None)`` bounds: ``"sample_length=0: must be at least 1"``. Called by each config's ``__post_init__``,
    so that a config built in Python is checked as one read from a recipe."""
    for key, (lowest, highest) in ranges.items():
        value = getattr(config, key)
        # NaN fails every comparison, so it is tested for itself (a recipe's .nan read as a float)
        if value != value or value < lowest or (highest is not None and value > highest):
            bounds = f"from {lowest} to {highest}" if highest is not None else f"at least {lowest}"
            raise FieldRangeError(key, f"{key}={value!r}: must be {bounds}")


@contextlib.contextmanager
def ranges_of_section(section: str):
    """Inside, a config's `FieldRangeError` becomes a `RecipeKeyError` at ``section.field`` (its message
    ``"section.field=value: must be ..."``), so that the recipe's file and line are named."""
    try:
        yield
    except FieldRangeError as error:
        raise RecipeKeyError(f"{section}.{error.field}", f"{section}.{error}") from None


def dataclass_from_section(cls, values: Mapping, what: str, tuples: Iterable[str] = ()):
    """``cls(**values)`` with YAML lists turned into tuples for the fields named in ``tuples``; unknown
    keys are errors naming ``what`` (e.g. ``"transform"``) and the known fields."""
    check_scalar_types(cls, values, what)  # unknown keys first, then types
    fixed = {k: tuple(v) if k in tuples and isinstance(v, list) else v for k, v in values.items()}
    return cls(**fixed)


def _meant(unknown: list[str], known: list[str]) -> str:
    """`` (did you mean max_iterations?)`` for mistyped keys close to known ones (the 34 keys of
    ``train`` listed alone left a user to spot ``max_iteration``'s missing s), else ``""``."""
    from discmot.messages import close_names

    guesses = [guess for name in unknown for guess in close_names(name, known, n=1)]
    return f" (did you mean {', '.join(guesses)}?)" if guesses else ""


def check_scalar_types(cls, values: Mapping, where: str | None = None) -> None:
    """Raises ValueError naming the entries of ``values`` that are no field of dataclass ``cls`` (with the
    fields it has), else every entry whose value does not fit its annotation: a scalar one (``int``,
    ``float``, ``bool``, ``str``, optionally ``| None``; an int is a valid float, a bool is never a
    number) or a tuple of scalars (``tuple[float, float]``, ``tuple[int, ...]``; a list or a tuple of
    the right length, never a string, which ``tuple()`` would cut into letters). Other annotations
    (nested configs) are not checked. Called before the dataclass's own range checks, which would fail
    obscurely on a string.

    With ``where`` (the recipe section, ``"train"``, ``"model.detr"``) the error is a `RecipeKeyError`
    naming the first bad key's path, so that the recipe's line can be found.
    """
    known = [field.name for field in dataclasses.fields(cls)]
    unknown = sorted(set(values) - set(known))
    prefix = f"{where}." if where else ""
    if unknown:
        listed = f"{', '.join(unknown)}{_meant(unknown, known)}; known: {', '.join(known)}"
        if where:
            raise RecipeKeyError(prefix + unknown[0], f"unknown {where} key(s) {listed}")
        raise ValueError(f"{cls.__name__}: unknown key(s) {listed}")
    hints = typing.get_type_hints(cls)
    wrong = []
    for name, value in values.items():
        expected = _type_problem(hints[name], value) if name in hints else None
        if expected is not None:
            wrong.append((name, f"{prefix}{name}={value!r} (expected {expected})"))
    if not wrong:
        return
    if where:
        raise RecipeKeyError(
            prefix + wrong[0][0], f"wrong value type: {'; '.join(text for _, text in wrong)}"
        )
    raise ValueError(f"{cls.__name__}: wrong value type: {'; '.join(text for _, text in wrong)}")


def _type_problem(annotation, value) -> str | None:
    """What ``value`` should have been for ``annotation`` (``"float or int"``), None when it fits or the
    annotation is not checked."""
    allowed = _scalar_types(annotation)
    if allowed is not None:
        return None if _fits(value, allowed) else _type_names(allowed)
    options = _union_options(annotation)
    sequences = [o for o in options if typing.get_origin(o) is tuple]
    if len(sequences) != 1 or not all(o in (sequences[0], type(None)) for o in options):
        return None
    if value is None and type(None) in options:
        return None
    args = typing.get_args(sequences[0])
    variable = len(args) == 2 and args[1] is Ellipsis
    scalars = [_scalar_types(a) for a in (args[:1] if variable else args)]
    if any(item is None for item in scalars):
        return None  # tuples of configs or of tuples: their builders check them
    items = [item for item in scalars if item is not None]  # all of them, now typed as such
    shape = (
        f"a list of {_type_names(items[0])}"
        if variable
        else f"a list of {len(items)} values: {', '.join(_type_names(i) for i in items)}"
    )
    if not isinstance(value, list | tuple) or (not variable and len(value) != len(items)):
        return shape
    return None if all(_fits(v, items[0 if variable else i]) for i, v in enumerate(value)) else shape


def _fits(value, allowed: tuple[type, ...]) -> bool:
    if value is None:
        return type(None) in allowed
    if isinstance(value, bool) and bool not in allowed:
        return False
    return isinstance(value, tuple(t for t in allowed if t is not type(None)))


def _type_names(allowed: tuple[type, ...]) -> str:
    return " or ".join("None" if t is type(None) else t.__name__ for t in allowed)


def _union_options(annotation) -> tuple:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return typing.get_args(annotation)
    return (annotation,)


def _scalar_types(annotation) -> tuple[type, ...] | None:
    """The accepted runtime types of a scalar annotation, ``None`` for annotations not checked."""
    options = _union_options(annotation)
    if not all(option in (int, float, bool, str, type(None)) for option in options):
        return None
    return tuple(options) + ((int,) if float in options else ())


def key_line(text: str, key: str) -> int | None:
    """The 1-based line of dotted ``key`` in recipe YAML ``text`` (of its deepest part found: the
    section when the key itself is absent), None when not even the section is there."""
    try:
        node = yaml.compose(text, Loader=RecipeLoader)
    except yaml.YAMLError:
        return None
    line = None
    for part in key.split("."):
        name, *indices = part.replace("]", "").split("[")  # param_groups[0] -> param_groups, 0
        if not isinstance(node, yaml.MappingNode):
            break
        match = next(
            ((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == name), None
        )
        if match is None:
            break
        line, node = match[0].start_mark.line + 1, match[1]
        for index in indices:  # into a list's entry
            entries = node.value if isinstance(node, yaml.SequenceNode) else []
            if not index.isdigit() or int(index) >= len(entries):
                return line
            node = entries[int(index)]
            line = node.start_mark.line + 1
    return line


def resolve_recipe(recipe: RecipeFile, overrides: Iterable[str], resolve: Callable[[str, dict], T]) -> T:
    """``resolve(name, raw)`` on a recipe read by `read_recipe` with ``--set`` overrides applied; any
    error the resolver raises for a bad value becomes a `RecipeError` naming the file."""
    overrides = list(overrides)
    raw = apply_overrides(recipe.raw, overrides)
    try:
        return resolve(recipe.name, raw)
    except RecipeKeyError as error:
        raise RecipeError(f"{_key_origin(recipe, overrides, error.key)}: {error}") from None
    except (TypeError, ValueError, KeyError) as error:
        raise RecipeError(f"{recipe.where}: {error}") from None


def _key_origin(recipe: RecipeFile, overrides: list[str], key: str) -> str:
    """``"FILE:LINE"`` of a recipe key, or ``"FILE (--set KEY=...)"`` when the last override of it (or
    of a section holding it) gave the value."""
    for item in reversed(overrides):
        target = item.partition("=")[0]
        if key == target or key.startswith((target + ".", target + "[")) or target.startswith(key + "."):
            return f"{recipe.where} (--set {item})"
    line = key_line(recipe.text, key) if recipe.text else None
    return f"{recipe.where}:{line}" if line else recipe.where
