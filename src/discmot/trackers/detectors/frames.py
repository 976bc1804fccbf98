"""The frame format every image-based plug-in and end-to-end tracker accepts, checked once at the door
with a clear message (the one check: `discmot.trackers.video_state.FrameSizeCheck` and FDTA's
``preprocess_frame`` call it too). numpy only."""

from __future__ import annotations

import numpy as np


def check_bgr_frame(frame: np.ndarray) -> None:
    """Requires an ``(H, W, 3)`` uint8 BGR image (what OpenCV and `discmot.io.video` give)."""
    if not isinstance(frame, np.ndarray):
        raise TypeError(f"expected an (H, W, 3) uint8 BGR frame, got {type(frame).__name__}")
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8 or 0 in frame.shape:
        raise ValueError(f"expected an (H, W, 3) uint8 BGR frame, got {frame.dtype} of shape {frame.shape}")
