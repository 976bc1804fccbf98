"""The run folder: what a training run leaves behind besides checkpoints, so it can be reproduced.

::

    <run_dir>/
      config.yaml         the resolved configuration (training + model + whatever the caller adds, e.g.
                          the path and SHA-256 of the pre-trained weights it started from)
      recipe.yaml         the recipe as the run used it (``--set`` flags applied): ``discmot train
                          --config RUN/recipe.yaml`` repeats the run (`discmot.config.recipe_text`)
      environment.json    git revision (and whether the tree was dirty), python/torch/numpy/... versions,
                          hostname, CPU, command line, world size (and torchrun's layout), device,
                          torch threads, seed, start
                          time (of the first start; each resume's are in resumes.jsonl)
      resumes.jsonl       one line per resume: the same environment plus the checkpoint resumed from
      metrics.jsonl       one JSON object per logged step (step, epoch, iteration, elapsed_s, lr per
                          group, losses; peak memory: max_memory_mib on CUDA, else max_rss_mib)
      checkpoints/        see `discmot.engine.checkpointing`
      .lock               held while a run trains here: a second run into the folder is refused
      model.safetensors   final weights (the EMA weights when EMA is on), discmot's safetensors format
      tensorboard/        event files, only with ``tensorboard: true`` (needs the ``tensorboard`` package)

Only rank 0 writes here. ``config.yaml`` and ``environment.json`` are written atomically; ``metrics.jsonl``
is appended and flushed line by line, and cut back to the resumed step on resume so that steps repeated
after a kill are not logged twice.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import importlib.metadata
import json
import logging
import os
import platform
import socket
import subprocess
import sys
from pathlib import Path

import yaml

from discmot._version import __version__
from discmot.config import load_yaml
from discmot.io.atomic import atomic_write_text

log = logging.getLogger(__name__)

#: The final weights a run leaves in its folder (what `discmot track --weights RUN_DIR` loads).
RUN_WEIGHTS = "model.safetensors"

PACKAGES = ("torch", "numpy", "scipy", "safetensors", "tqdm", "PyYAML", "opencv-python-headless", "av")


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


def git_revision(path: Path | None = None) -> dict:
    """``{"commit": sha, "dirty": bool}`` of the git checkout holding ``path`` (the package by default);
    ``{"commit": None}`` when it is not a checkout or git is missing."""
    path = path or Path(__file__).resolve().parent
    # git prints UTF-8 (file names too, with core.quotePath off), not the locale's encoding
    text = {"capture_output": True, "encoding": "utf-8", "errors": "replace", "timeout": 10, "check": True}
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=path, **text).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=path, **text
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {"commit": None}
    return {"commit": commit, "dirty": bool(status.strip())}


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version(), "discmot": __version__}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def file_record(path: str | Path) -> dict[str, str]:
    """``{"path": absolute path, "sha256": hex digest}`` of a file a run starts from (pre-trained
    weights), for ``config.yaml``: the path alone does not say which weights were there."""
    import hashlib

    path = Path(path).resolve()
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"path": str(path), "sha256": digest.hexdigest()}


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else whatever ``platform`` knows."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown"


def usable_cores() -> int:
    """The cores this process may run on (its affinity, as in a container), else the CPU count."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def environment(seed: int, world_size: int, device: str) -> dict:
    """Everything needed to say how a run was made (see the module docstring)."""
    return {
        "git": git_revision(),
        "versions": package_versions(),
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "command": [sys.executable, *sys.argv],
        "seed": seed,
        "world_size": world_size,
        "launcher": launcher(),
        "device": device,
        "torch_threads": _torch_threads(),  # CPU results depend on it (reduction order)
        "time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def launcher() -> dict | None:
    """How torchrun laid out the processes when it started this one (its workers carry
    ``TORCHELASTIC_RUN_ID``): ``{"name": "torchrun", "nproc_per_node", "nnodes", "restart_count"}``;
    None otherwise. The command line a worker sees is ``python -m discmot train ...`` alone."""
    if "TORCHELASTIC_RUN_ID" not in os.environ:
        return None
    per_node = max(int(os.environ.get("LOCAL_WORLD_SIZE", "1")), 1)
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    return {
        "name": "torchrun",
        "nproc_per_node": per_node,
        "nnodes": max(world_size // per_node, 1),
        "restart_count": int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")),
    }


def recipe_for_processes(recipe: str, world_size: int) -> str:
    """The run's recipe text with, for a run of several processes, a comment saying how many: each
    trains on its own batch, so the recipe repeats the run only in as many (a second comment block
    after the recipe's header comments)."""
    if world_size <= 1:
        return recipe
    lines = recipe.splitlines(keepends=True)
    header = next((n for n, line in enumerate(lines) if not line.startswith("#")), len(lines))
    note = (
        f"# trained in {world_size} processes (train.batch_size each): repeat it in as many, e.g.\n"
        f"#   torchrun --nproc_per_node {world_size} -m discmot train --config RUN/recipe.yaml"
        " --data-root ...\n"
    )
    return "".join(lines[:header]) + note + "".join(lines[header:])


def _torch_threads() -> int:
    """The intra-op threads of this process (torchrun sets ``OMP_NUM_THREADS=1`` per process)."""
    import torch

    return torch.get_num_threads()


def read_metrics(run_dir: str | Path) -> list[dict]:
    """The logged steps of a run folder's ``metrics.jsonl``, in order (blank lines skipped)."""
    text = (Path(run_dir) / "metrics.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


class RunFolder:
    """Writes the run folder's files (on rank 0; every method is a no-op elsewhere)."""

    def __init__(self, path: str | Path, is_main: bool = True, tensorboard: bool = False):
        self.path = Path(path)
        self.is_main = is_main
        self.checkpoints = self.path / "checkpoints"
        self.metrics_path = self.path / "metrics.jsonl"
        self.lock_path = self.path / ".lock"
        self._metrics = None
        self._tensorboard = None
        self._tensorboard_wanted = tensorboard
        self._lock_fd: int | None = None
        # a resume's changed config, written at its first checkpoint
        self._pending_config: tuple | None = None
        if is_main:
            self.checkpoints.mkdir(parents=True, exist_ok=True)

    def lock(self) -> bool:
        """Takes the folder's ``.lock`` (rank 0; True elsewhere); False when another process holds it.

        An advisory ``flock``, held until `close` or the process ends, however it ends: a SIGKILL frees
        it too (forked DataLoader workers close their copy at once, `_close_locks_in_child`), so a
        killed run never blocks its own resume. Where locking is not available (Windows, or a file
        system without ``flock`` such as Lustre mounted without it) the folder is used unlocked, with
        a warning on such a file system."""
        if not self.is_main or self._lock_fd is not None:
            return True
        try:
            import fcntl
        except ImportError:
            return True
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except OSError as error:  # ENOSYS, ENOLCK, EOPNOTSUPP: this file system cannot lock
            os.close(fd)
            log.warning(
                "%s: cannot lock the run folder (%s); a second run into it would not be refused",
                self.path,
                error.strerror or error,
            )
            return True
        self._lock_fd = fd
        _HELD_LOCKS.add(fd)
        return True

    def write_start(self, config: dict, env: dict, recipe: str | None = None) -> None:
        """A fresh run: the resolved config, the recipe (when given) and the environment; metrics of an
        earlier attempt that died before its first checkpoint are dropped."""
        if not self.is_main:
            return
        self._open_tensorboard()
        self._truncate_metrics(-1)
        self._write_config(plain(config), recipe, env.get("world_size", 1))
        self._write_environment(env)

    def write_resume(
        self, config: dict, env: dict, checkpoint: Path, step: int, recipe: str | None = None
    ) -> None:
        """A resumed run: notes the resume, warns about config changes, cuts metrics back to ``step``.

        The config is compared with this folder's ``config.yaml`` or, when this folder is new (a
        checkpoint of another run continued elsewhere), with the config of the run that wrote the
        checkpoint (``<run>/checkpoints/<file>`` -> ``<run>/config.yaml``). A changed config replaces
        this folder's ``config.yaml`` and ``recipe.yaml`` only with the first checkpoint written after
        the resume (`checkpoint_written`): a run stopped at the warning keeps its own recipe, which the
        warning names."""
        if not self.is_main:
            return
        self._open_tensorboard()
        defaults = _field_defaults(config)
        config = plain(config)
        own = self._read_config(self.path)
        record = self.path if own else Path(checkpoint).parent.parent
        earlier = own or self._read_config(record)
        changed = _changed_keys(earlier, config) if earlier else []
        changed = [key for key in changed if not _added_at_its_default(earlier, config, key, defaults)]
        if not earlier:
            log.info("resuming from %s: no config of an earlier run to compare with", checkpoint)
        warned = [key for key in changed if key not in SAID_AT_INFO]
        if warned:
            log.warning(
                "resuming with another config than the run's; changed: %s%s",
                describe_changes(earlier, config, warned),
                own_recipe_hint(record, self.path, "; ", before_checkpoint=True),
            )
        if len(warned) < len(changed):  # the way on from an early stop: no warning
            log.info(
                "resuming with %s",
                describe_changes(earlier, config, [key for key in changed if key in SAID_AT_INFO]),
            )
        if not own:
            self._write_config(config, recipe, env.get("world_size", 1))
        elif changed:
            self._pending_config = (config, recipe, env.get("world_size", 1))
        if not (self.path / "environment.json").is_file():  # a new folder: its files as at a start
            self._write_environment(env)
        line = {**env, "checkpoint": str(checkpoint), "step": step, "config_changed": changed}
        with open(self.path / "resumes.jsonl", "a", encoding="utf-8") as handle:
            handle.write(json.dumps(line) + "\n")
        self._truncate_metrics(step)

    def checkpoint_written(self) -> None:
        """After a checkpoint: the config a resume changed is now this run's (`write_resume`)."""
        if self.is_main and self._pending_config is not None:
            self._write_config(*self._pending_config)
            self._pending_config = None

    def read_record(self, checkpoint: Path | None = None) -> tuple[Path | None, dict, str | None]:
        """``(folder, config, recipe text)`` of the run this folder (or, when it has no ``config.yaml``,
        the run folder holding ``checkpoint``) records; ``(None, {}, None)`` when neither has one."""
        for folder in (self.path, Path(checkpoint).parent.parent if checkpoint else None):
            if folder is not None and (folder / "config.yaml").is_file():
                recipe = folder / "recipe.yaml"
                text = recipe.read_text(encoding="utf-8") if recipe.is_file() else None
                return folder, self._read_config(folder), text
        return None, {}, None

    def log(self, record: dict) -> None:
        """Appends one metrics line (flushed) and, when enabled, the scalars to TensorBoard."""
        if not self.is_main:
            return
        if self._metrics is None:
            self._metrics = open(self.metrics_path, "a", encoding="utf-8")  # kept open: one flush per line
        self._metrics.write(json.dumps(record) + "\n")
        self._metrics.flush()
        if self._tensorboard is not None:
            for key, value in record.items():
                if isinstance(value, (int, float)) and key not in ("step", "epoch", "iteration"):
                    self._tensorboard.add_scalar(key, value, record["step"])

    def close(self) -> None:
        if self._metrics is not None:
            self._metrics.close()
            self._metrics = None
        if self._tensorboard is not None:
            self._tensorboard.close()
            self._tensorboard = None
        if self._lock_fd is not None:
            if self._lock_fd in _HELD_LOCKS:  # not in a forked child, which closed it at the fork
                _HELD_LOCKS.discard(self._lock_fd)
                os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None

    def _open_tensorboard(self) -> None:
        """The event writer, created once the run owns the folder (it writes a file at once)."""
        if self._tensorboard_wanted and self._tensorboard is None:
            self._tensorboard = _summary_writer(self.path / "tensorboard")

    def _write_config(self, config: dict, recipe: str | None = None, world_size: int = 1) -> None:
        """``config.yaml`` from an already plain (YAML-safe) config, and ``recipe.yaml`` from the recipe's
        text when given (noting the number of processes, `recipe_for_processes`), atomically."""
        atomic_write_text(self.path / "config.yaml", yaml.safe_dump(config, sort_keys=False))
        if recipe is not None:
            atomic_write_text(self.path / "recipe.yaml", recipe_for_processes(recipe, world_size))

    def _write_environment(self, env: dict) -> None:
        atomic_write_text(self.path / "environment.json", json.dumps(env, indent=2) + "\n")

    @staticmethod
    def _read_config(run_dir: Path) -> dict:
        path = run_dir / "config.yaml"
        return load_yaml(path.read_text(encoding="utf-8")) if path.is_file() else {}

    def _truncate_metrics(self, step: int) -> None:
        if not self.metrics_path.is_file():
            return
        kept = []
        for line in self.metrics_path.read_text(encoding="utf-8").splitlines():
            try:
                if json.loads(line)["step"] <= step:
                    kept.append(line + "\n")
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by a kill
        atomic_write_text(self.metrics_path, "".join(kept))


#: The run-folder locks this process holds (file descriptors).
_HELD_LOCKS: set[int] = set()


def _close_locks_in_child() -> None:
    """In a forked child (a DataLoader worker): close the inherited lock descriptors. A ``flock``
    lasts until every descriptor of it is closed, so a worker outliving a killed trainer by a few
    seconds would otherwise keep the folder locked against its resume."""
    for fd in _HELD_LOCKS:
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD_LOCKS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_locks_in_child)


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


def _summary_writer(folder: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as error:  # a ValueError: the CLI says it in one line, like any bad setting
        raise ValueError(
            f"train.tensorboard is true but tensorboard cannot be imported ({error}); install it "
            "(pip install 'discmot[train]' or pip install tensorboard) or set train.tensorboard=false"
        ) from None
    return SummaryWriter(log_dir=str(folder))
