"""Per-video bookkeeping shared by the end-to-end trackers (FDTA, CSTrack)."""

from __future__ import annotations

import numpy as np
import torch

from discmot.models.registry import torch_dtype
from discmot.trackers.detectors.frames import check_bgr_frame


class FrameSizeCheck:
    """Remembers the size of the first frame since `reset`; a frame of another size is an error.

    An end-to-end tracker's state (history, Kalman boxes in pixels) belongs to one video: a frame of
    another size almost always means a new video was started without ``reset()``.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.size: tuple[int, int] | None = None  # (width, height)
        self.count = 0

    def __call__(self, frame_bgr: np.ndarray) -> None:
        """Checks one ``uint8 (H, W, 3)`` BGR frame and counts it.

        Raises:
            TypeError: not a numpy array.
            ValueError: not a non-empty uint8 3-channel image (`check_bgr_frame`), or its size differs
                from the video's first frame.
        """
        check_bgr_frame(frame_bgr)
        height, width = frame_bgr.shape[:2]
        if self.size is None:
            self.size = (width, height)
        elif (width, height) != self.size:
            first_w, first_h = self.size
            raise ValueError(
                f"frame {self.count + 1} is {width}x{height} but the video started at "
                f"{first_w}x{first_h}; call reset() between videos"
            )
        self.count += 1


def tracker_device_and_dtype(
    model, device: str | torch.device | None, dtype: str | torch.dtype | None
) -> tuple[torch.device, torch.dtype]:
    """Where and in which dtype an end-to-end tracker runs ``model``: ``None`` takes the model's own (its
    first floating weight's; the CPU and float32 for a stand-in model without weights), so that
    ``FDTATracker(discmot.load_model("fdta", weights, dtype="bf16"))`` runs in bf16 without saying it twice.

    Raises:
        ValueError: a device name torch does not know, an unknown dtype, or a model whose weights are
            elsewhere or in another dtype (`require_model_on`).
    """
    weight = _first_floating_weight(model)
    if device is None:
        device = weight.device if weight is not None else torch.device("cpu")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):  # torch's own message lists every device type it knows
        raise ValueError(f"device {device!r}: not a device name (cpu, cuda, cuda:1, ...)") from None
    if dtype is None:
        dtype = weight.dtype if weight is not None else torch.float32
        if dtype not in (torch.float32, torch.float16, torch.bfloat16):  # said of the model, not of an
            # argument the user did not give
            raise ValueError(
                f"the model's weights are {dtype}: the trackers run fp32, fp16 or bf16; give them "
                "model.float() (or model.half(), model.bfloat16())"
            )
    dtype = torch_dtype(dtype)  # also "bf16"
    require_model_on(model, device, dtype)
    return device, dtype


def require_model_on(model, device: torch.device, dtype: torch.dtype) -> None:
    """An end-to-end tracker casts each frame to ``dtype`` on ``device``; its model must already be there.

    Raises:
        ValueError: the model's weights have another dtype or live elsewhere (said at construction, not as
            a dtype clash inside the first frame's forward).
    """
    weight = _first_floating_weight(model)
    if weight is None:
        return
    same_device = weight.device.type == device.type and device.index in (None, weight.device.index)
    if weight.dtype != dtype or not same_device:
        raise ValueError(
            f"the model's weights are {weight.dtype} on {weight.device}, the tracker runs {dtype} on "
            f"{device}: give it model.to({str(device)!r}, {dtype}), or leave out the tracker's device "
            "and dtype (the model's are used)"
        )


def _first_floating_weight(model) -> torch.Tensor | None:
    """The model's first floating parameter; None for a stand-in model (tests, analysis recorders)."""
    if not isinstance(model, torch.nn.Module):
        return None
    return next((p for p in model.parameters() if p.is_floating_point()), None)
