"""CSTrack's per-image training pipeline (spec ``cstrack.md`` §6.4, §1.3) and the JDE dataset.

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
BGR data. All randomness comes from an explicit ``numpy.random.Generator``; `JDEDataset` seeds one per
``(seed, epoch, index)``, so a sample is the same whichever worker loads it. torch is imported only where
tensors are built.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import NamedTuple

import cv2
import numpy as np

from discmot.config import check_field_ranges
from discmot.data.frames import read_rgb
from discmot.data.jde import JDEIndex

__all__ = [
    "JDEDataset",
    "JDEKey",
    "JDETransformConfig",
    "Letterboxed",
    "augment_hsv",
    "box_candidates",
    "collate_jde",
    "hflip",
    "jde_sampler_factory",
    "letterbox",
    "letterbox_hw",
    "random_perspective",
    "resize_to_input",
    "transform_sample",
]

#: Pad value of the inference letterbox (§1.3): grey 127.5, which OpenCV rounds to 128 in uint8 images.
LETTERBOX_COLOR = 127.5


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
# Resizing (§1.3, §6.4 step 1)


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


# --------------------------------------------------------------------------------------------------
# Dataset, sampler, collation


class JDEKey(NamedTuple):
    """A sample of one epoch: what `jde_sampler_factory` yields and `JDEDataset` accepts."""

    epoch: int
    index: int


class JDEDataset:
    """Map-style dataset of CSTrack training samples over a `discmot.data.jde.JDEIndex`.

    ``dataset[key]`` takes a `JDEKey` (or a plain index, then of epoch `epoch`, see `set_epoch`) and returns
    a dict:
        ``image``: float32 ``(3, H, W)`` RGB in ``[0, 1]``;
        ``targets``: float32 ``(n, 6)`` rows ``0, identity, cx, cy, w, h`` (spec §5.1; column 0 becomes the
        image's batch position in `collate_jde`; identity 0 means none), box normalised to ``(W, H)``;
        ``path``: the image file; ``original_size``: ``(h0, w0)``.

    A sample's randomness comes from a generator seeded by ``(config.seed, epoch, index)``, so it does
    not depend on the worker that loads it. It is not a ``torch.utils.data.Dataset`` subclass (that would
    import torch with this module); DataLoader only needs ``__getitem__`` and ``__len__``.
    """

    def __init__(self, index: JDEIndex, config: JDETransformConfig | None = None, train: bool = True):
        self.index = index
        self.config = JDETransformConfig() if config is None else config
        self.train = train
        self.epoch = 0

    @property
    def num_identities(self) -> int:
        """nID, the size of the ID classifier (identities run over ``0 .. nID - 1``)."""
        return self.index.num_identities

    def set_epoch(self, epoch: int) -> None:
        """The epoch plain integer indices refer to."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, key: int | JDEKey) -> dict:
        epoch, i = (key.epoch, key.index) if isinstance(key, tuple) else (self.epoch, int(key))
        image, labels, original_size = self.load(i, self.sample_rng(epoch, i))
        return _to_tensors(image, labels, str(self.index[i].image), original_size)

    def sample_rng(self, epoch: int, index: int) -> np.random.Generator:
        """The generator of sample ``index`` in ``epoch``."""
        return np.random.default_rng([self.config.seed, epoch, index])

    def load(self, index: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
        """Image ``index`` through the pipeline: ``(H, W, 3)`` uint8 RGB, ``(m, 6)`` float32 labels and
        the original ``(h0, w0)``."""
        record = self.index[index]
        image = read_rgb(record.image, exif_orientation=True)  # the original's cv2.imread turns it
        original_size = (int(image.shape[0]), int(image.shape[1]))
        image, labels = transform_sample(image, record.labels, rng, self.config, self.train)
        return image, labels, original_size


def _to_tensors(image: np.ndarray, labels: np.ndarray, path: str, original_size) -> dict:
    import torch

    targets = torch.from_numpy(labels)
    targets[:, 0] = 0
    tensor = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float().div_(255)
    return {"image": tensor, "targets": targets, "path": path, "original_size": tuple(original_size)}


def collate_jde(samples: list[dict]) -> dict:
    """Batches `JDEDataset` samples.

    Returns a dict with ``images``: float32 ``(B, 3, H, W)``; ``targets``: float32 ``(sum n_b, 6)`` rows
    ``b, identity, cx, cy, w, h`` (``b`` the image's position in the batch); ``paths``;
    ``original_sizes``.
    """
    import torch

    targets = []
    for b, sample in enumerate(samples):
        rows = sample["targets"].clone()
        rows[:, 0] = b
        targets.append(rows)
    return {
        "images": torch.stack([s["image"] for s in samples]),
        "targets": torch.cat(targets) if targets else torch.zeros(0, 6),
        "paths": [s["path"] for s in samples],
        "original_sizes": [s["original_size"] for s in samples],
    }


def jde_sampler_factory(length: int, seed: int = 2020, shuffle: bool = True):
    """A ``sampler_factory`` for ``engine.train.Trainer``: ``(epoch, rank, world_size, start)`` ->
    `JDEKey` list.

    Images of all datasets are shuffled uniformly per epoch (§6.2: no per-dataset weights); the order is
    cut to a multiple of ``world_size``, rank ``r`` takes every ``world_size``-th key from ``r`` and
    skips the first ``start`` (already trained on when resuming mid-epoch).
    """

    def keys_for(epoch: int, rank: int, world_size: int, start: int = 0) -> list[JDEKey]:
        order = np.random.default_rng([seed, epoch]).permutation(length) if shuffle else np.arange(length)
        order = order[: length - length % world_size][rank::world_size][start:]
        return [JDEKey(epoch, int(i)) for i in order]

    return keys_for
