"""The frame format every image-based plug-in and end-to-end tracker accepts, checked once at the door
with a clear message (the one check: `discmot.trackers.video_state.FrameSizeCheck` and FDTA's
``preprocess_frame`` call it too). numpy only."""

from __future__ import annotations

import numpy as np


def check_bgr_frame(frame: np.ndarray) -> None:
    """Requires an ``(H, W, 3)`` uint8 BGR image (what OpenCV and `discmot.io.video` give); the error
    says how to convert the usual others."""
    if not isinstance(frame, np.ndarray):
        raise TypeError(
            f"expected an (H, W, 3) uint8 BGR frame, got {type(frame).__name__}{_conversion_hint(frame)}"
        )
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8 or 0 in frame.shape:
        raise ValueError(
            f"expected an (H, W, 3) uint8 BGR frame, got {frame.dtype} of shape {frame.shape}"
            f"{_conversion_hint(frame)}"
        )


def _conversion_hint(frame) -> str:
    """How to turn ``frame`` into what the trackers take, for the forms users have at hand."""
    if type(frame).__module__.startswith("torch"):
        return " (a torch tensor: give frame.numpy(), laid out (H, W, 3), not (3, H, W))"
    if not isinstance(frame, np.ndarray) or 0 in frame.shape:
        return ""
    if frame.ndim == 2 or (frame.ndim == 3 and frame.shape[2] == 1):
        return " (greyscale: cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))"
    if frame.ndim == 3 and frame.shape[2] == 4:
        return " (with alpha: cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR))"
    if frame.ndim == 3 and frame.shape[0] == 3 and frame.shape[2] != 3:
        return " (channels first: frame.transpose(1, 2, 0))"
    if frame.dtype.kind == "f" and frame.ndim == 3 and frame.shape[2] == 3:
        return " (floats: e.g. (frame * 255).round().clip(0, 255).astype(np.uint8) for 0-1 values)"
    return ""
