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
after a kill are not logged twice. What ``environment.json`` holds is gathered by
`discmot.engine.run_environment`; a resume's config is compared with the run's by `discmot.engine.run_config`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path
from typing import TextIO

import yaml

from discmot.config import load_yaml
from discmot.engine.run_config import (
    SAID_AT_INFO,
    changed_on_resume,
    describe_changes,
    own_recipe_hint,
    plain,
)
from discmot.io.atomic import atomic_write_text

log = logging.getLogger(__name__)

#: The final weights a run leaves in its folder (what `discmot track --weights RUN_DIR` loads).
RUN_WEIGHTS = "model.safetensors"


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
        self._metrics: TextIO | None = None
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
        own = self._read_config(self.path)
        record = self.path if own else Path(checkpoint).parent.parent
        earlier = own or self._read_config(record)
        changed = changed_on_resume(earlier, config) if earlier else []
        config = plain(config)
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


def _summary_writer(folder: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as error:  # a ValueError: the CLI says it in one line, like any bad setting
        raise ValueError(
            f"train.tensorboard is true but tensorboard cannot be imported ({error}); install it "
            "(pip install 'discmot[train]' or pip install tensorboard) or set train.tensorboard=false"
        ) from None
    return SummaryWriter(log_dir=str(folder))
