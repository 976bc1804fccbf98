"""Training checkpoints: names, atomic writes, finding the latest complete one, safe loading, pruning.

A checkpoint is one file written by rank 0 through `discmot.io.atomic` (temporary file, fsync, rename), so
a kill at any moment leaves either the complete file or a hidden ``.<name>.tmp-*`` file that no loader
ever looks at. Names say where training resumes:

* ``epoch-EEE.pt`` after epoch ``EEE`` finished (resume at epoch EEE + 1, iteration 0); all are kept
  unless ``keep_epoch_checkpoints`` says otherwise (spec ``fdta.md`` §4.5: one per epoch);
* ``epoch-EEE-iter-IIIIII.pt`` in the middle of epoch EEE after IIIIII iterations; only the newest
  checkpoint of this kind survives once a later checkpoint is complete.

The content is a dict of tensors and plain values (model, optimizer, schedule, scaler, EMA, positions,
the batch size, every rank's RNG states, epoch order fingerprint and process-local parameters, the
resolved config, the final weights' extra metadata); it loads with ``torch.load(weights_only=True)``.
The ``check_*`` functions say in one line why a checkpoint cannot resume a run (another model, another
model shape, other optimizer groups).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import zlib
from pathlib import Path

import torch
from torch import nn

from discmot.engine.run_config import plain
from discmot.io.atomic import atomic_open
from discmot.io.training_checkpoints import TRAINING_FORMAT, TRAINING_WEIGHTS_METADATA

log = logging.getLogger(__name__)

# defined beside its readers (`discmot.io.training_checkpoints`), which the models import
FORMAT = TRAINING_FORMAT
FORMAT_VERSION = 1
_NAME = re.compile(r"^epoch-(\d{3,})(?:-iter-(\d{6,}))?\.pt$")


def checkpoint_name(epoch: int, iteration: int | None = None) -> str:
    """``epoch-EEE.pt`` (end of ``epoch``) or ``epoch-EEE-iter-IIIIII.pt`` (mid-epoch)."""
    if iteration is None:
        return f"epoch-{epoch:03d}.pt"
    return f"epoch-{epoch:03d}-iter-{iteration:06d}.pt"


def resume_point(path: str | Path) -> tuple[int, int] | None:
    """``(epoch, iteration)`` where training continues after this checkpoint; None for other names."""
    match = _NAME.match(Path(path).name)
    if match is None:
        return None
    epoch, iteration = match.groups()
    return (int(epoch) + 1, 0) if iteration is None else (int(epoch), int(iteration))


def describe_position(epoch: int, iteration: int, epochs: int) -> str:
    """Where training stands at resume point ``(epoch, iteration)`` (`resume_point`: the 0-based epoch
    training goes on in, the iterations done in it) of a run of ``epochs``, counted from 1 as the
    progress bar counts: ``"epoch 2/7, after 1 iteration"``, ``"at the start of epoch 3/7"`` (what
    ``epoch-001.pt`` resumes at), ``"at the end of epoch 7/7"``. One wording for the resume, early stop
    and Ctrl-C lines, which said it three ways, all with "after 1 iterations" (2026-11-24)."""
    if iteration:
        return f"epoch {epoch + 1}/{epochs}, after {iteration} iteration{'s' if iteration != 1 else ''}"
    if epoch >= epochs:
        return f"at the end of epoch {epoch}/{epochs}"
    return f"at the start of epoch {epoch + 1}/{epochs}"


def list_checkpoints(folder: str | Path) -> list[Path]:
    """Complete checkpoints in ``folder``, oldest first (temporary files never match the names)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    points = {p: resume_point(p) for p in folder.iterdir() if p.is_file()}
    found = {p: point for p, point in points.items() if point is not None}
    return sorted(found, key=found.__getitem__)


def latest_checkpoint(folder: str | Path) -> Path | None:
    """The checkpoint that resumes furthest into training, or None."""
    found = list_checkpoints(folder)
    return found[-1] if found else None


def write_checkpoint(path: str | Path, payload: dict) -> None:
    """Writes ``payload`` atomically: the file appears complete or not at all (a full disk is an
    `OSError` naming ``path``)."""
    with atomic_open(path, "wb") as handle:
        _dump(payload, handle, path)


def _dump(payload: dict, handle, path: str | Path) -> None:
    from discmot.io.official_format import save_torch

    save_torch(payload, handle, path)


def read_checkpoint(path: str | Path) -> dict:
    """Loads a training checkpoint on the CPU without unpickling anything but tensors and plain values.

    Raises:
        CheckpointError: missing, unreadable (truncated, not a PyTorch file, unsafe pickle), not a
            discmot training checkpoint, or written by a newer discmot; the message starts with the path.
    """
    from discmot.io.checkpoints import CheckpointError, looks_like_safetensors, read_torch

    not_ours = CheckpointError(
        f"{path}: not a discmot training checkpoint (resume from a run's checkpoints/epoch-NNN.pt; "
        "to start from weights, use --pretrained or --detr-pretrain)"
    )
    if Path(path).is_file() and looks_like_safetensors(Path(path)):  # a run's model.safetensors
        raise not_ours
    payload = read_torch(path)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise not_ours
    if payload.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{path}: written by a newer discmot (format {payload['format_version']})")
    return payload


def prune(folder: str | Path, keep_epochs: int = 0) -> None:
    """Deletes mid-epoch checkpoints older than the newest checkpoint and, with ``keep_epochs > 0``,
    all but the newest ``keep_epochs`` end-of-epoch checkpoints."""
    found = list_checkpoints(folder)
    if not found:
        return
    newest = found[-1]
    ends = [p for p in found if "-iter-" not in p.name]
    doomed = [p for p in found[:-1] if "-iter-" in p.name]
    if keep_epochs > 0:
        doomed += [p for p in ends[:-keep_epochs] if p != newest]
    for path in doomed:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            log.debug("removed old checkpoint %s", path)


def remove_temporaries(folder: str | Path) -> list[Path]:
    """Deletes the ``.<name>.tmp-*`` leftovers of writes that a kill interrupted; returns them.

    Call it only when no process is writing into ``folder`` (on resume, before training restarts).
    """
    folder = Path(folder)
    stale = [p for p in folder.glob(".*.pt.tmp-*") if p.is_file()] if folder.is_dir() else []
    for path in stale:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            log.info("removed %s, left by an interrupted checkpoint write", path.name)
    return stale


#: The metadata key of a run's final weights that holds the training step they were written at.
WEIGHTS_STEP_KEY = "global_step"
#: The training checkpoint entry holding the model's extra weights metadata (``weights_metadata()``, str ->
#: str: FDTA ``only_detr``'s ``stage``), which `write_weights` gets as ``extra``. Optional: a checkpoint
#: written before 2026-11-24 has none, and resume never reads it (no format version change).
WEIGHTS_METADATA_KEY = TRAINING_WEIGHTS_METADATA


def write_weights(
    path: str | Path,
    module,
    kind: str,
    model_config,
    train_config,
    extra: dict[str, str] | None = None,
    global_step: int | None = None,
) -> None:
    """Final weights in discmot's safetensors format (`discmot.io.safetensors_format.write_safetensors`), with
    the training config as ``train_config`` metadata, the step they were trained to as ``global_step``
    (when given; see `weights_step`) and any ``extra`` metadata strings."""
    from discmot.io.safetensors_format import write_safetensors

    metadata = {"train_config": json.dumps(plain(train_config)), **(extra or {})}
    if global_step is not None:
        metadata[WEIGHTS_STEP_KEY] = str(global_step)
    write_safetensors(path, module, model_config, kind, metadata)


def weights_step(path: str | Path) -> int | None:
    """The training step a run's final weights were written at (`write_weights`); None for weights
    written before the step was recorded (2026-11-24), or a file whose metadata cannot be read."""
    from discmot.io.safetensors_format import safetensors_metadata

    value = safetensors_metadata(Path(path)).get(WEIGHTS_STEP_KEY)
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------------------------------
# Does a checkpoint fit the run resuming from it?


def checkpoint_step(path: str | Path) -> int | None:
    """The global step a training checkpoint was written at, read memory-mapped (its tensors are not
    read); None for a file that cannot be read so (`read_checkpoint` says why when it is loaded)."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        return int(payload["global_step"])
    except Exception:  # noqa: BLE001 - any unreadable file: no step known, nothing refused on it
        return None


def check_kind(written_by: str | None, kind: str, path: str | Path) -> None:
    """Raises `CheckpointError` naming both models when a training checkpoint is another model's."""
    from discmot.io.checkpoints import CheckpointError
    from discmot.models.registry import MODEL_NAMES

    if written_by and written_by != kind:
        names = (MODEL_NAMES.get(written_by, written_by), MODEL_NAMES.get(kind, kind))
        raise CheckpointError(f"{path}: a checkpoint of {names[0]} training; this run trains {names[1]}")


def check_groups_fit(optimizer: torch.optim.Optimizer, state: dict, path: str | Path) -> None:
    """Raises `CheckpointError` naming both group lists when a training checkpoint's optimizer groups
    are not this run's (``train.param_groups`` changed since): torch's own error names neither."""
    from discmot.io.checkpoints import CheckpointError

    def described(groups) -> list[str]:
        return [f"{group.get('name', n)} ({len(group['params'])})" for n, group in enumerate(groups)]

    saved, ours = described(state["param_groups"]), described(optimizer.param_groups)
    if saved != ours:
        raise CheckpointError(
            f"{path}: its optimizer groups ({', '.join(saved)} parameters) are not this run's "
            f"({', '.join(ours)}); was train.param_groups changed since it was written?"
        )


def recipe_settings(group: dict) -> dict:
    """An optimizer group's settings, without its parameters and the learning rates its schedule sets."""
    return {k: v for k, v in group.items() if k not in ("params", "lr", "initial_lr")}


def epoch_fingerprint(indices) -> int:
    """CRC-32 of one process's sample order in an epoch (what a mid-epoch resume must find again):
    dataset indices, or whatever a sampler factory yields (FDTA's clips), by their ``repr``."""
    return zlib.crc32(repr(list(indices)).encode())


def check_state_fits(model: nn.Module, state, path: str | Path) -> None:
    """Raises `CheckpointError` in one line when a training checkpoint's model state does not fit
    ``model`` (the recipe or its ``--set model...`` changed since the checkpoint was written)."""
    from discmot.io.checkpoints import CheckpointError, compare_state

    problems = compare_state(model, state)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise CheckpointError(
            f"{path}: its model does not fit this run's, was the recipe or a --set model.* changed since "
            f"it was written? {problems[0]}{more}"
        )
