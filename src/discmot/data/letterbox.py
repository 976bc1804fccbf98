"""The letterbox: an image resized keeping its aspect ratio and padded to the network input (spec
``cstrack.md`` §1.3).

CSTrack's inference preprocessing, the ``resize="letterbox"`` option of its training pipeline
(`discmot.data.jde_transforms`) and the Ultralytics detectors' input all use `letterbox_hw`.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["Letterboxed", "letterbox", "letterbox_hw"]

#: Pad value of the inference letterbox (§1.3): grey 127.5, which OpenCV rounds to 128 in uint8 images.
LETTERBOX_COLOR = 127.5


@dataclass(frozen=True)
class Letterboxed:
    """A letterboxed image and its geometry.

    Attributes:
        image: ``(H, W, 3)`` uint8, same channel order as the input (BGR for OpenCV frames).
        ratio: resize factor ``min(H / h0, W / w0)``.
        dw, dh: half of the horizontal / vertical padding before rounding (may be ``x.5``).
        borders: ``(top, bottom, left, right)`` padding in pixels.
    """

    image: np.ndarray
    ratio: float
    dw: float
    dh: float
    borders: tuple[int, int, int, int]


def letterbox_hw(
    image: np.ndarray,
    size_hw: tuple[int, int],
    colour: tuple[float, float, float] = (LETTERBOX_COLOR,) * 3,
    interpolation: int = cv2.INTER_AREA,
) -> Letterboxed:
    """Resizes ``image`` ``(h0, w0, 3)`` keeping its aspect ratio and pads it to ``size_hw = (H, W)``
    (the inference preprocessing, §1.3); `letterbox` and CSTrack's inference letterbox wrap it.

    The resized size is ``(round(w0 * r), round(h0 * r))`` with ``r = min(H / h0, W / w0)``; with
    ``dw, dh`` half the missing width/height, the padding is ``left = round(dw - 0.1)``,
    ``right = round(dw + 0.1)`` (Python's round-half-to-even), same for top/bottom: an odd remainder puts
    the extra pixel right/bottom. Example: 1920x1080 into 608x1088 -> 1081x608 with 3 px left, 4 px right.
    """
    height, width = size_hw
    h0, w0 = image.shape[:2]
    ratio = min(float(height) / h0, float(width) / w0)
    new_w, new_h = round(w0 * ratio), round(h0 * ratio)
    dw, dh = (width - new_w) / 2, (height - new_h) / 2
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    resized = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    padded = cv2.copyMakeBorder(resized, top, bottom, left, right, cv2.BORDER_CONSTANT, value=colour)
    return Letterboxed(padded, ratio, dw, dh, (top, bottom, left, right))


def letterbox(
    image: np.ndarray,
    size: tuple[int, int] = (1088, 608),
    color: float = LETTERBOX_COLOR,
    interpolation: int = cv2.INTER_AREA,
) -> tuple[np.ndarray, float, tuple[int, int]]:
    """`letterbox_hw` with the training config's ``size = (W, H)`` and a grey ``color``.

    Args:
        image: ``(h0, w0, 3)`` uint8.
        size: ``(W, H)``.

    Returns:
        ``(H, W, 3)`` image, the ratio ``r`` and the ``(left, top)`` padding in pixels.
    """
    width, height = size
    boxed = letterbox_hw(image, (height, width), (color,) * 3, interpolation)
    top, _, left, _ = boxed.borders
    return boxed.image, boxed.ratio, (left, top)
