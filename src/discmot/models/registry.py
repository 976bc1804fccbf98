"""The model kinds by name: their presets and one checkpoint loader, `load_model`.

``discmot track``, ``discmot analyze`` and `discmot.load_model` load a network through `load_model`, and the
command line takes its choices (``--model``, ``--preset``, ``--dtype``) from the names here. Importing this
module imports neither torch nor a model: the loaders are imported when called, and the preset names come
from the torch-free config modules.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from discmot.messages import require_path

if TYPE_CHECKING:
    import torch
    from torch import nn

log = logging.getLogger(__name__)

#: The networks discmot loads from a checkpoint (both detect for themselves: ``discmot track --model``).
MODEL_KINDS = ("fdta", "cstrack")
#: What each kind is called in messages.
MODEL_NAMES = {"fdta": "FDTA", "cstrack": "CSTrack"}
#: ``--dtype`` names -> torch dtype names.
DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}


def preset_names(kind: str | None = None) -> tuple[str, ...]:
    """The architecture presets of ``kind`` (`discmot.models.fdta.config.PRESETS`,
    `discmot.models.cstrack.config.PRESETS`), or of every kind, each name once (FDTA's first)."""
    from discmot.models.cstrack.config import PRESETS as CSTRACK_PRESETS
    from discmot.models.fdta.config import PRESETS as FDTA_PRESETS

    presets = {"fdta": tuple(FDTA_PRESETS), "cstrack": tuple(CSTRACK_PRESETS)}
    if kind is not None:
        return presets[_known_kind(kind)]
    return tuple(dict.fromkeys(name for kind in MODEL_KINDS for name in presets[kind]))


def torch_dtype(dtype: str | torch.dtype) -> torch.dtype:
    """``fp32``/``fp16``/``bf16`` (or torch's names, ``float32``/``float16``/``bfloat16``, or one of
    those torch dtypes itself) -> the torch dtype."""
    import torch

    names = {**DTYPES, **{name: name for name in DTYPES.values()}}
    if isinstance(dtype, torch.dtype) and str(dtype).removeprefix("torch.") in names:
        return dtype
    if dtype not in names:
        raise ValueError(f"unknown dtype {dtype!r}; choose from {', '.join(DTYPES)}")
    return getattr(torch, names[dtype])


def load_model(
    kind: str,
    weights: str | Path,
    preset: str | None = None,
    device: str | torch.device | None = None,
    dtype: str | torch.dtype | None = None,
) -> torch.nn.Module:
    """The FDTA or CSTrack network of a checkpoint, in eval mode.

    Args:
        kind: ``"fdta"`` (`discmot.models.fdta.model.FDTA`) or ``"cstrack"``
            (`discmot.models.cstrack.model.CSTrack`).
        weights: an official file (FDTA .pth, CSTrack .pt/.pth), a discmot .safetensors, a ``discmot
            train`` checkpoint, a finished run's folder (its ``model.safetensors``; `weights_file`), or
            ``"bundled"``: the demo's tiny checkpoint of ``kind`` (`discmot.bundled_weights`), as in
            `discmot.track`.
        preset: the architecture of an official file (`preset_names`; default: inferred from its shapes;
            a discmot .safetensors carries its own, and a preset given for one is warned about).
        device, dtype: where and in which precision the network is put (``"fp32"``/``"fp16"``/``"bf16"``
            or a torch dtype); ``None``: as loaded (CPU, float32).

    The global torch RNG is left as it was (building the network draws its random initial weights
    before the checkpoint's replace them): a seeded script draws the same numbers with or without it.

    Raises:
        TypeError: ``weights`` that is no path (``None``, a model already loaded).
        ValueError: an unknown kind, dtype or device, or a folder that is no finished run.
        FileNotFoundError: no such file.
        discmot.io.checkpoints.CheckpointError: the weights do not fit the model; for a checkpoint of the
            other kind, one line saying so.
    """
    kind = _known_kind(kind)
    _check_weights_path(weights, kind)
    if str(weights) == BUNDLED:
        from discmot.engine.demo_config import bundled_weights

        weights = bundled_weights(kind)
    weights = weights_file(weights)
    dtype = None if dtype is None else torch_dtype(dtype)  # a bad name fails before loading
    if device is not None:
        from discmot.engine.distributed import pick_device

        device = pick_device(device)  # one line for a device this PyTorch cannot use
    if preset is not None and Path(weights).suffix.lower() == ".safetensors":
        log.warning(
            "%s: a discmot checkpoint carries its architecture: preset %r is not used", weights, preset
        )
    model = _with_rng_kept(_load_kind, kind, weights, preset)
    if device is not None or dtype is not None:
        model = model.to(device=device, dtype=dtype)
    warn_if_slow_precision(device, dtype)
    return model


#: ``weights`` naming the demo's tiny checkpoint of the kind (``discmot track --weights bundled``).
BUNDLED = "bundled"


def _check_weights_path(weights, kind: str) -> None:
    """One line where pathlib would say "expected str, bytes or os.PathLike object, not NoneType"."""
    require_path(
        weights,
        "weights",
        "load_model",
        hint=f'; discmot.bundled_weights("{kind}") gives the bundled one (a model already loaded needs no '
        "loading: give it to a tracker)",
    )


def _with_rng_kept(load, *args):
    """``load(*args)`` with the caller's global torch RNG state given back afterwards: the network is
    built with random initial weights (on the CPU, then moved) before the checkpoint's replace them, and
    a script seeded before `load_model` would otherwise draw other numbers after it."""
    import torch

    with torch.random.fork_rng(devices=[]):
        return load(*args)


def weights_file(weights: str | Path) -> Path:
    """The checkpoint file ``weights`` names: the file itself, or the final weights of a ``discmot train``
    run folder (``RUN/model.safetensors``, what the run printed it wrote: users give the folder).

    Raises:
        ValueError: a folder without final weights, or whose final weights are older than its latest
            checkpoint (a resumed run not finished); one whose training has not finished names its
            latest checkpoint (loading one is a choice, not a default: its weights are not the final ones).
        FileNotFoundError: no such file.
    """
    from discmot.engine.checkpointing import latest_checkpoint
    from discmot.engine.run_folder import RUN_WEIGHTS

    path = Path(weights)
    if path.is_dir():
        latest = latest_checkpoint(path / "checkpoints")
        if (path / RUN_WEIGHTS).is_file():
            _check_weights_are_the_latest(weights, path / RUN_WEIGHTS, latest)
            log.info("%s: a run folder; loading its final weights, %s", weights, path / RUN_WEIGHTS)
            return path / RUN_WEIGHTS
        if latest is not None:
            raise ValueError(
                f"{weights}: a run folder without {RUN_WEIGHTS} (its training has not finished); give a "
                f"checkpoint instead, its latest is {latest}"
            )
        raise ValueError(f"{weights}: a folder, not a checkpoint file")
    if not path.is_file():
        raise FileNotFoundError(f"{weights}: no such checkpoint")
    return path


def _check_weights_are_the_latest(weights, final: Path, latest: Path | None) -> None:
    """A run folder whose ``model.safetensors`` is older than its latest checkpoint (weights of a smoke
    run, ``train.max_iterations``, then a ``--resume`` that went on and has not finished) is refused
    naming both: it was loaded as "final weights", silently those of the early step."""
    from discmot.engine.checkpointing import checkpoint_step, weights_step

    written_at = weights_step(final)
    checkpoint_at = checkpoint_step(latest) if latest is not None and written_at is not None else None
    if checkpoint_at is not None and written_at is not None and checkpoint_at > written_at:
        raise ValueError(
            f"{weights}: its {final.name} was written at step {written_at}, before its latest checkpoint "
            f"(step {checkpoint_at}, {latest}): the run went on and has not finished; give that "
            f"checkpoint, or {final} itself for the step-{written_at} weights"
        )


def warn_if_slow_precision(device, dtype) -> None:
    """fp16 on a CPU runs without native half-precision kernels: the bundled tiny FDTA tracked 5.6 frames/s
    in fp16 against 21.8 in fp32 and 18.5 in bf16; a full-size CSTrack frame at 320x416 took 42 s in fp16
    against 0.7 s in fp32, a full-size FDTA one about 10 times bf16's (2-core CPU, 2026-11-23). Said, not
    refused."""
    import torch

    if dtype == torch.float16 and torch.device(device or "cpu").type == "cpu":
        log.warning(
            "fp16 on a CPU is 4-60 times slower than fp32 (no native fp16 kernels; measured on 2 cores): "
            "use fp32 or bf16"
        )


def _known_kind(kind: str) -> str:
    if kind not in MODEL_KINDS:
        raise ValueError(f"unknown model {kind!r}: choose {' or '.join(MODEL_KINDS)}")
    return kind


def _load_kind(kind: str, weights: str | Path, preset: str | None):
    """The kind's loader, with a one-line error for a checkpoint of the other kind (instead of the loader's
    list of key differences)."""
    from discmot.io.checkpoint_files import guess_file_kind
    from discmot.io.checkpoints import CheckpointError

    load: Callable[[str | Path, str | None], nn.Module]  # either kind's loader
    if kind == "fdta":
        from discmot.models.fdta.checkpoint import load_fdta as load
    else:
        from discmot.models.cstrack.checkpoint import load_cstrack as load
    try:
        return load(weights, preset)
    except (CheckpointError, ValueError) as error:  # ValueError: the other kind's config in a discmot file
        try:
            other = guess_file_kind(weights)
        except Exception:  # an unreadable file: the loader's own error says more
            raise error from None
        if other == "unknown" and isinstance(error, CheckpointError):
            raise CheckpointError(
                f"{weights}: not {_article(kind)} {MODEL_NAMES[kind]} checkpoint: its tensors are neither "
                "FDTA's (detr.*) nor CSTrack's (model.*)"
            ) from None
        if other != kind and other in MODEL_KINDS:
            raise _other_kind_error(kind, weights, other) from None
        raise


def check_weights_kind(kind: str, weights: str | Path) -> None:
    """Raises the `CheckpointError` `load_model` would raise for a checkpoint of the other model, without
    building a model (a command's pre-flight check, before it writes anything)."""
    from discmot.io.checkpoint_files import guess_file_kind

    other = guess_file_kind(weights_file(weights))
    if other != kind and other in MODEL_KINDS:
        raise _other_kind_error(kind, weights, other)


def _other_kind_error(kind: str, weights, other: str):
    from discmot.io.checkpoints import CheckpointError

    return CheckpointError(
        f"{weights}: {_article(other)} {MODEL_NAMES[other]} checkpoint, not {MODEL_NAMES[kind]} weights "
        f'(give --model {other}; in Python load_model("{other}", ...))'
    )


def _article(kind: str) -> str:
    return "an" if kind == "fdta" else "a"  # "an FDTA", "a CSTrack"
