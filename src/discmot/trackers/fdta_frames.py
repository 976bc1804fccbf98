"""FDTA's frame loading (spec ``fdta.md`` §5.1): a BGR frame -> the network's normalised RGB image.

Frames are resized as the original's PIL pipeline does, on the 8-bit image (`discmot.data.pil_ops`, an
exact port of Pillow's antialiased bilinear filter, run on the tracker's device), then scaled to
``[0, 1]`` by ``x * (1 / 255)`` (torchvision's ``ToDtype(scale=True)``) and normalised.
``fast_resize=True`` resizes the float image with ``F.interpolate(bilinear, antialias=True)`` instead: the
same filter without the 8-bit rounding (pixels within one 8-bit step of the original's), about three times
faster at 1080p on a CPU (0.017 s against 0.051 s on the 2-core developer machine) and no faster on a GPU.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from discmot.data.pil_ops import resize_bilinear_tensor
from discmot.models.fdta.config import IMAGENET_MEAN, IMAGENET_STD, RuntimeConfig
from discmot.trackers.detectors.frames import check_bgr_frame


def resized_size(width: int, height: int, shorter_side: int, max_longer_side: int | None) -> tuple[int, int]:
    """``(h, w)`` of a ``width x height`` image resized like ``torchvision`` ``Resize(shorter_side,
    max_size=max_longer_side)``: shorter side ``shorter_side``, longer ``int(shorter_side * long / short)``
    (truncated); if that exceeds ``max_longer_side``, the longer side becomes ``max_longer_side`` and the
    shorter ``int(max_longer_side * shorter_side / new_long)``."""
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = shorter_side, int(shorter_side * long / short)
    if max_longer_side is not None and new_long > max_longer_side:
        new_short, new_long = int(max_longer_side * new_short / new_long), max_longer_side
    return (new_long, new_short) if width <= height else (new_short, new_long)


def preprocess_frame(
    frame_bgr: np.ndarray,
    runtime: RuntimeConfig,
    input_size: tuple[int, int] | None = None,
    fast_resize: bool = False,
    device: str | torch.device = "cpu",
) -> tuple[torch.Tensor, tuple[int, int]]:
    """A BGR ``uint8 (H, W, 3)`` frame -> ``([1, 3, h, w]`` float32 ImageNet-normalised RGB on ``device``,
    ``(W, H))``.

    The size is `resized_size` of the runtime config, or ``input_size = (h, w)`` when given. Resizing is
    the original's: PIL's antialiased bilinear filter on the 8-bit image; with ``fast_resize`` the same
    filter on the float image (no 8-bit rounding; see the module docstring). The 8-bit frame goes to
    ``device`` first and is resized there (the same integer arithmetic, so the same image on any device):
    on a GPU this takes a millisecond where the CPU needs 0.1-0.2 s at 1080p.

    Raises:
        ValueError: not a uint8 ``(H, W, 3)`` image.
    """
    check_bgr_frame(frame_bgr)
    return normalised_image(frame_bgr, runtime, input_size, fast_resize, device)


def normalised_image(
    frame_bgr: np.ndarray,
    runtime: RuntimeConfig,
    input_size: tuple[int, int] | None,
    fast_resize: bool,
    device: str | torch.device,
) -> tuple[torch.Tensor, tuple[int, int]]:
    """`preprocess_frame` of a frame already checked."""
    height, width = frame_bgr.shape[:2]
    size = tuple(input_size or resized_size(width, height, runtime.shorter_side, runtime.max_longer_side))
    # a read-only frame (np.frombuffer, a memory map) is copied: torch.from_numpy would warn of "undefined
    # behavior" for a tensor that is never written
    frame_bgr = np.require(frame_bgr, requirements=("C", "W"))
    rgb = torch.from_numpy(frame_bgr).to(device).flip(-1)  # BGR -> RGB
    resize = size != (height, width)
    if resize and not fast_resize:
        rgb = resize_bilinear_tensor(rgb, size[1], size[0])
    image = rgb.permute(2, 0, 1)[None].float().mul_(1.0 / 255)  # as ToDtype(scale=True)
    if resize and fast_resize:
        image = F.interpolate(image, size=size, mode="bilinear", antialias=True, align_corners=False)
    mean, std = _imagenet_mean_std(image.device, torch.get_default_dtype())
    return (image - mean) / std, (width, height)


@lru_cache(maxsize=8)
def _imagenet_mean_std(device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """ImageNet ``mean, std`` ``[1, 3, 1, 1]`` in ``dtype`` on ``device``, made once (on a GPU each would be
    a host-to-device copy per frame). Read-only."""
    with torch.inference_mode(False):  # plain tensors, usable in and out of inference mode
        mean = torch.tensor(IMAGENET_MEAN, dtype=dtype, device=device).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, dtype=dtype, device=device).view(1, 3, 1, 1)
    return mean, std
