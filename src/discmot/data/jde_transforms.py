"""CSTrack's per-image training pipeline (spec ``cstrack.md`` §6.4, §1.3).

For one image with labels ``class, identity, cx, cy, w, h`` (normalised):

1. Resize to the network input (1088x608): the original **stretches** (independent x/y scale,
   INTER_LINEAR when augmenting; its later letterbox call is then a no-op). ``resize="letterbox"``
   instead keeps the aspect ratio like inference does (§1.3). Boxes become pixel corners clipped to
   ``[1, W-1] x [1, H-1]``.
2. YOLOv5's random perspective. The original trains with every magnitude 0, so the image is unchanged,
   but boxes are still re-clipped and filtered (width and height > 2 px, area > 0.2 of before, aspect
   ratio < 20).
3. HSV jitter: gains drawn in ``1 +- (0.015, 0.5, 0.4)``, applied as look-up tables.
4. Labels back to normalised ``cx, cy, w, h``.
5. Horizontal flip with probability 0.5.

Images stay RGB throughout: OpenCV's RGB<->HSV conversions on RGB data equal the original's BGR<->HSV on
BGR data. All randomness comes from an explicit ``numpy.random.Generator`` (the dataset,
`discmot.data.jde_dataset`, seeds one per sample); the letterbox is `discmot.data.letterbox`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np

from discmot.config import check_field_ranges
from discmot.data.letterbox import letterbox

__all__ = [
    "JDETransformConfig",
    "augment_hsv",
    "box_candidates",
    "hflip",
    "random_perspective",
    "resize_to_input",
    "transform_sample",
]


@dataclass(frozen=True)
class JDETransformConfig:
    """Parameters of the §6.4 pipeline; the defaults are the original's.

    Attributes:
        size: network input ``(width, height)``.
        resize: ``"stretch"`` (the original) or ``"letterbox"`` (aspect kept, as at inference).
        degrees, translate, scale, shear, perspective: random-perspective magnitudes (YOLOv5 meaning:
            degrees in +-degrees, translation fraction of the size, scale in 1 +- scale, shear degrees);
            all 0 in the original.
        border_value: fill of pixels a warp uncovers (YOLOv5's ``random_perspective`` uses 114).
        hsv_gains: largest relative change of hue, saturation and value.
        flip_prob: probability of a horizontal flip.
        min_box_size: boxes must keep width and height above this (pixels) after the warp.
        min_area_ratio: boxes must keep more than this share of their (scaled) area after the warp.
        max_aspect_ratio: boxes must have ``max(w/h, h/w)`` below this after the warp.
        seed: base of the per-sample generators (the original's global seed is 2020).
    """

    size: tuple[int, int] = (1088, 608)
    resize: str = "stretch"
    degrees: float = 0.0
    translate: float = 0.0
    scale: float = 0.0
    shear: float = 0.0
    perspective: float = 0.0
    border_value: int = 114
    hsv_gains: tuple[float, float, float] = (0.015, 0.5, 0.4)
    flip_prob: float = 0.5
    min_box_size: float = 2.0
    min_area_ratio: float = 0.2
    max_aspect_ratio: float = 20.0
    seed: int = 2020

    def __post_init__(self):
        if self.resize not in ("stretch", "letterbox"):
            raise ValueError(f"resize must be 'stretch' or 'letterbox', not {self.resize!r}")
        if len(self.size) != 2 or min(self.size) < 4:
            raise ValueError(f"size must be (width, height) of at least 4 pixels, not {self.size!r}")
        check_field_ranges(self, TRANSFORM_RANGES)


#: `JDETransformConfig` fields -> ``(lowest, highest)``: a probability, and fractions of the size or
#: scale beyond which the warp turns images inside out.
TRANSFORM_RANGES = dict.fromkeys(("flip_prob", "translate", "scale", "perspective"), (0, 1))


# --------------------------------------------------------------------------------------------------
# Resizing (§6.4 step 1; the letterbox itself is `discmot.data.letterbox`)


def resize_to_input(
    image: np.ndarray, labels: np.ndarray, config: JDETransformConfig, train: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Step 1: the image at the network size and its boxes as clipped pixel corners.

    Args:
        image: ``(h0, w0, 3)`` uint8.
        labels: ``(n, 6)`` ``class, identity, cx, cy, w, h`` normalised to the original image.

    Returns:
        ``(H, W, 3)`` uint8 image and ``(n, 4)`` float64 ``x1, y1, x2, y2`` clipped to
        ``[1, W-1] x [1, H-1]`` (the original's bounds).
    """
    width, height = config.size
    h0, w0 = image.shape[:2]
    if config.resize == "letterbox":
        image, ratio, pad = letterbox(image, config.size)
        gain = np.array([round(w0 * ratio), round(h0 * ratio)], np.float64)  # the resized size
    else:
        image = cv2.resize(image, (width, height), interpolation=_stretch_interpolation(image, config, train))
        gain, pad = np.array([width, height], np.float64), (0, 0)
    centres, sizes = labels[:, 2:4] * gain, labels[:, 4:6] * gain
    boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1) + np.tile(pad, 2)
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(1, width - 1)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(1, height - 1)
    return image, boxes


def _stretch_interpolation(image: np.ndarray, config: JDETransformConfig, train: bool) -> int:
    # The YOLOv5 loader behind the original uses INTER_AREA only to shrink without augmentation.
    shrinking = image.shape[1] > config.size[0] or image.shape[0] > config.size[1]
    return cv2.INTER_AREA if shrinking and not train else cv2.INTER_LINEAR


# --------------------------------------------------------------------------------------------------
# Random perspective (§6.4 step 2, YOLOv5 ``random_perspective``)


def perspective_matrix(
    rng: np.random.Generator, config: JDETransformConfig, width: int, height: int
) -> tuple[np.ndarray, float]:
    """A random 3x3 warp about the image centre and its scale factor.

    Draw order: perspective x, y; angle; scale; shear x, y; translation x, y. With every magnitude 0 the
    matrix is exactly the identity.
    """
    centre = np.eye(3)
    centre[:2, 2] = -width / 2, -height / 2
    persp = np.eye(3)
    persp[2, :2] = rng.uniform(-config.perspective, config.perspective, 2)
    angle = rng.uniform(-config.degrees, config.degrees)
    scale = rng.uniform(1 - config.scale, 1 + config.scale)
    rotate = np.eye(3)
    rotate[:2] = cv2.getRotationMatrix2D(center=(0, 0), angle=angle, scale=scale)
    shear = np.eye(3)
    shear[0, 1], shear[1, 0] = np.tan(rng.uniform(-config.shear, config.shear, 2) * math.pi / 180)
    translate = np.eye(3)
    fractions = rng.uniform(0.5 - config.translate, 0.5 + config.translate, 2)
    translate[:2, 2] = fractions * (width, height)
    return translate @ shear @ rotate @ persp @ centre, scale


def random_perspective(
    image: np.ndarray, boxes: np.ndarray, rng: np.random.Generator, config: JDETransformConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Warps the image and its boxes, then clips and filters the boxes.

    Each box becomes the axis-aligned hull of its four warped corners, clipped to the image.

    Args:
        image: ``(H, W, 3)`` uint8; the output has the same size.
        boxes: ``(n, 4)`` ``x1, y1, x2, y2`` pixels.

    Returns:
        the warped image, the kept boxes ``(m, 4)`` and the keep mask ``(n,)`` bool.
    """
    height, width = image.shape[:2]
    matrix, scale = perspective_matrix(rng, config, width, height)
    if (matrix != np.eye(3)).any():  # an identity warp would still resample: skip it, like the original
        border = (config.border_value,) * 3
        if config.perspective:
            image = cv2.warpPerspective(image, matrix, dsize=(width, height), borderValue=border)
        else:
            image = cv2.warpAffine(image, matrix[:2], dsize=(width, height), borderValue=border)
    warped = _warp_boxes(boxes, matrix, width, height)
    keep = box_candidates(boxes * scale, warped, config)
    return image, warped[keep], keep


def _warp_boxes(boxes: np.ndarray, matrix: np.ndarray, width: int, height: int) -> np.ndarray:
    n = len(boxes)
    corners = np.ones((n * 4, 3))
    corners[:, :2] = boxes[:, [0, 1, 2, 3, 0, 3, 2, 1]].reshape(n * 4, 2)  # x1y1, x2y2, x1y2, x2y1
    corners = corners @ matrix.T
    xy = (corners[:, :2] / corners[:, 2:3]).reshape(n, 4, 2)
    warped = np.concatenate([xy.min(axis=1), xy.max(axis=1)], axis=1)
    warped[:, [0, 2]] = warped[:, [0, 2]].clip(0, width)
    warped[:, [1, 3]] = warped[:, [1, 3]].clip(0, height)
    return warped


def box_candidates(before: np.ndarray, after: np.ndarray, config: JDETransformConfig) -> np.ndarray:
    """Which warped boxes to keep: width and height > `min_box_size`, area > `min_area_ratio` of the
    (scaled) original, aspect ratio < `max_aspect_ratio` (YOLOv5 v2.0 thresholds 2, 0.2, 20).

    Args:
        before, after: ``(n, 4)`` ``x1, y1, x2, y2``.

    Returns:
        ``(n,)`` bool.
    """
    w1, h1 = before[:, 2] - before[:, 0], before[:, 3] - before[:, 1]
    w2, h2 = after[:, 2] - after[:, 0], after[:, 3] - after[:, 1]
    aspect = np.maximum(w2 / (h2 + 1e-16), h2 / (w2 + 1e-16))
    return (
        (w2 > config.min_box_size)
        & (h2 > config.min_box_size)
        & (w2 * h2 / (w1 * h1 + 1e-16) > config.min_area_ratio)
        & (aspect < config.max_aspect_ratio)
    )


# --------------------------------------------------------------------------------------------------
# Colour and flip (§6.4 steps 3 and 5)


def augment_hsv(
    image: np.ndarray, rng: np.random.Generator, gains: tuple[float, float, float] = (0.015, 0.5, 0.4)
) -> np.ndarray:
    """Multiplies hue (mod 180), saturation and value (clipped to 255) by gains in ``1 +- gains``.

    Args:
        image: ``(H, W, 3)`` uint8 RGB.

    Returns:
        a new ``(H, W, 3)`` uint8 RGB image.
    """
    factors = rng.uniform(-1, 1, 3) * np.asarray(gains) + 1
    hue, sat, val = cv2.split(cv2.cvtColor(image, cv2.COLOR_RGB2HSV))
    x = np.arange(256, dtype=np.int16)
    # Truncating casts, as the original's look-up tables do.
    lut_hue = ((x * factors[0]) % 180).astype(np.uint8)
    lut_sat = np.clip(x * factors[1], 0, 255).astype(np.uint8)
    lut_val = np.clip(x * factors[2], 0, 255).astype(np.uint8)
    hsv = cv2.merge((cv2.LUT(hue, lut_hue), cv2.LUT(sat, lut_sat), cv2.LUT(val, lut_val)))
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def hflip(image: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mirrors an ``(H, W, 3)`` image and its ``(n, 6)`` normalised labels (``cx -> 1 - cx``)."""
    labels = labels.copy()
    labels[:, 2] = 1 - labels[:, 2]
    return np.ascontiguousarray(image[:, ::-1]), labels


# --------------------------------------------------------------------------------------------------
# The whole pipeline


def transform_sample(
    image: np.ndarray,
    labels: np.ndarray,
    rng: np.random.Generator,
    config: JDETransformConfig | None = None,
    train: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """The §6.4 pipeline for one image.

    Without ``train`` only the resize, the box clipping and the box filter run (no warp, colour or flip).

    Args:
        image: ``(h0, w0, 3)`` uint8 RGB.
        labels: ``(n, 6)`` ``class, identity, cx, cy, w, h`` normalised to the original image.

    Returns:
        ``(H, W, 3)`` uint8 RGB image at ``config.size`` and ``(m, 6)`` float32 labels (``m <= n``) with
        the box normalised to it.
    """
    config = JDETransformConfig() if config is None else config
    image, boxes = resize_to_input(image, labels, config, train)
    warp = config if train else _without_warp(config)
    image, boxes, keep = random_perspective(image, boxes, rng, warp)
    if train:
        image = augment_hsv(image, rng, config.hsv_gains)
    width, height = config.size
    out = labels[keep].astype(np.float32)
    out[:, 2:4] = (boxes[:, :2] + boxes[:, 2:]) / 2 / (width, height)
    out[:, 4:6] = (boxes[:, 2:] - boxes[:, :2]) / (width, height)
    if train and rng.random() < config.flip_prob:
        image, out = hflip(image, out)
    return image, out


def _without_warp(config: JDETransformConfig) -> JDETransformConfig:
    """Every warp magnitude 0: `random_perspective` then only clips and filters the boxes."""
    return replace(config, degrees=0.0, translate=0.0, scale=0.0, shear=0.0, perspective=0.0)
