"""End-to-end trackers built from a checkpoint: FDTA and CSTrack take whole frames and ``--weights``.

`end_to_end_factory` loads the model once and returns ``frame_rate -> tracker`` for `discmot.engine.infer`.
torch is imported only when a builder is called.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from discmot.engine.infer import Tracker

log = logging.getLogger(__name__)

DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}
#: The trackers that detect for themselves: they take whole frames and a checkpoint (``--weights``).
END_TO_END = ("fdta", "cstrack")


def end_to_end_factory(
    model: str,
    weights,
    preset_name: str | None = None,
    device: str = "cpu",
    dtype: str = "fp32",
    input_size: tuple[int, int] | None = None,
    benchmark: str | None = None,
    tracker_preset: str | None = None,
    overrides: dict | None = None,
    fast_resize: bool = False,
    deform_kernel: str = "auto",
) -> Callable[[float], Tracker]:
    """``frame_rate -> tracker`` for ``"fdta"`` or ``"cstrack"``; the checkpoint is loaded once, here.

    ``benchmark``, ``tracker_preset`` and ``overrides`` (`JDETrackerConfig` fields) set CSTrack's
    association (default: the ``cstrack`` preset, the original's thresholds); FDTA has no such settings.
    ``fast_resize`` and ``deform_kernel`` are FDTA's (`discmot.trackers.fdta.preprocess_frame`,
    `discmot.ops.deform_attn_triton.select_deform_kernel`); CSTrack has none.
    """
    if model == "fdta":
        tracker = fdta_tracker(weights, preset_name, device, dtype, input_size, fast_resize, deform_kernel)
        return lambda _frame_rate: tracker  # no frame-rate setting; track_source resets it per video
    if model == "cstrack":
        return cstrack_factory(
            weights, preset_name, device, dtype, input_size, benchmark, tracker_preset, **(overrides or {})
        )
    raise ValueError(f"unknown end-to-end model {model!r}; choose from {', '.join(END_TO_END)}")


def torch_dtype(dtype: str):
    """``fp32``/``fp16``/``bf16`` -> the torch dtype."""
    import torch

    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; choose from {', '.join(DTYPES)}")
    return getattr(torch, DTYPES[dtype])


def fdta_tracker(
    weights,
    preset_name: str | None,
    device: str,
    dtype: str,
    input_size,
    fast_resize: bool = False,
    deform_kernel: str = "auto",
):
    """The FDTA runtime tracker on a checkpoint (official or discmot format) in ``dtype`` on ``device``.

    ``deform_kernel`` picks the deformable-attention path (`select_deform_kernel`): ``auto`` (the fused
    Triton kernel on CUDA when it is installed and checks equal, else PyTorch), ``pytorch`` or ``triton``.
    """
    from discmot.engine.distributed import pick_device
    from discmot.models.fdta.checkpoint import load_fdta
    from discmot.ops.deform_attn_triton import select_deform_kernel
    from discmot.trackers.fdta import FDTATracker

    if weights is None:
        raise ValueError("--model fdta needs --weights CHECKPOINT (official .pth or discmot .safetensors)")
    device = pick_device(device)
    path = select_deform_kernel(deform_kernel, device)  # before loading: a bad choice fails fast
    log.info("FDTA deformable attention on %s: %s", device, path)
    dtype = torch_dtype(dtype)
    model = load_fdta(weights, preset_name).to(device=device, dtype=dtype)
    return FDTATracker(model, device=device, dtype=dtype, input_size=input_size, fast_resize=fast_resize)


def cstrack_factory(
    weights,
    preset_name: str | None = None,
    device: str = "cpu",
    dtype: str = "fp32",
    input_size: tuple[int, int] | None = None,
    benchmark: str | None = None,
    tracker_preset: str | None = None,
    **overrides,
) -> Callable[[float], Tracker]:
    """``frame_rate -> CSTrackTracker``, every tracker sharing one model loaded from ``weights`` (official
    .pt/.pth, discmot .safetensors or a ``discmot train`` checkpoint) in ``dtype`` on ``device``."""
    from discmot.engine.distributed import pick_device
    from discmot.trackers.association import JDETrackerConfig
    from discmot.trackers.cstrack import CSTrackTracker

    if weights is None:
        raise ValueError(
            "--model cstrack needs --weights CHECKPOINT (official .pt/.pth, discmot .safetensors or a "
            "discmot train checkpoint)"
        )
    device = pick_device(device)
    dtype = torch_dtype(dtype)
    config = JDETrackerConfig.preset(tracker_preset or "cstrack", benchmark, **overrides)
    model = _load_cstrack(weights, preset_name).to(device=device, dtype=dtype)
    return lambda frame_rate: CSTrackTracker(model, device, dtype, input_size, config, frame_rate)


def _load_cstrack(weights, preset_name: str | None):
    """`load_cstrack`, with a one-line error for an FDTA file (instead of its list of key differences)."""
    from discmot.io.checkpoints import CheckpointError, guess_file_kind
    from discmot.models.cstrack.checkpoint import load_cstrack

    try:
        return load_cstrack(weights, preset_name)
    except CheckpointError:
        if guess_file_kind(weights) == "fdta":
            raise CheckpointError(
                f"{weights}: an FDTA checkpoint, not CSTrack weights (track with --model fdta)"
            ) from None
        raise
