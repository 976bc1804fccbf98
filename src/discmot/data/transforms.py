"""FDTA's clip-consistent training augmentation (spec ``fdta.md`` §8.3), on numpy arrays.

One parameter draw per clip, applied identically to every frame, so objects keep moving smoothly:

1. `multi_simulate` (static images only): a constant shift-and-zoom turns one image into a clip.
2. `hflip` with probability 0.5.
3. With probability 0.5 either (a) `random_resize` of the shorter side to one of 480, 512, ..., 800 with
   the longer side capped at 1440, or (b) a resize of the shorter side to 400, 500 or 600, `random_crop`
   of 384..600 pixels per side (skipped when a frame would lose all its boxes), then (a).
4. `ColorJitter` (brightness, contrast, saturation factors in [0.6, 1.4], hue shift in [-0.2, 0.2], in
   a random order) on images only, never on depth maps.

Depth maps follow every geometric step with the same bilinear resampling. Resampling and colour
operations reproduce Pillow's arithmetic (`discmot.data.pil_ops`); ``resize_backend="opencv"`` trades
that for speed (OpenCV's bilinear without antialiasing, a few levels off when shrinking).

All randomness comes from the ``numpy.random.Generator`` passed in, so a seeded generator reproduces
a clip exactly in any process.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np

from discmot.data import pil_ops

#: A frame with more boxes than DETR's queries cannot be matched; such frames are illegal (§2.10).
MAX_BOXES_PER_FRAME = 300


@dataclass(frozen=True)
class AugmentConfig:
    """Parameters of the §8.3 pipeline; the defaults are the official ones.

    Attributes:
        flip_prob: probability of a horizontal flip.
        scales: shorter-side sizes of the final resize (480..800 step 32).
        max_size: cap on the longer side of the final resize.
        crop_prob: probability of branch (b), resize + crop, instead of (a), resize only.
        crop_scales: shorter-side sizes before the crop of branch (b).
        crop_min, crop_max: range of the crop's height and width.
        brightness, contrast, saturation: ranges of the colour factors (1 = unchanged).
        hue: range of the hue shift (fraction of the colour circle).
        color_jitter: apply the colour jitter at all.
        shift_ratio: largest per-frame shift of `multi_simulate`, as a fraction of the image size.
        reverse_prob: probability that a simulated clip is played backwards.
        eval_scale: shorter side in evaluation mode (``None``: keep the size), capped by ``max_size``.
        resize_backend: ``"pillow"`` (Pillow-exact antialiased bilinear) or ``"opencv"`` (faster).
    """

    flip_prob: float = 0.5
    scales: tuple[int, ...] = tuple(range(480, 801, 32))
    max_size: int = 1440
    crop_prob: float = 0.5
    crop_scales: tuple[int, ...] = (400, 500, 600)
    crop_min: int = 384
    crop_max: int = 600
    brightness: tuple[float, float] = (0.6, 1.4)
    contrast: tuple[float, float] = (0.6, 1.4)
    saturation: tuple[float, float] = (0.6, 1.4)
    hue: tuple[float, float] = (-0.2, 0.2)
    color_jitter: bool = True
    shift_ratio: float = 0.06
    reverse_prob: float = 0.5
    eval_scale: int | None = 800
    resize_backend: str = "pillow"

    def __post_init__(self):
        if self.resize_backend not in ("pillow", "opencv"):
            raise ValueError(f"resize_backend must be 'pillow' or 'opencv', not {self.resize_backend!r}")
        if not self.scales or not self.crop_scales:
            raise ValueError("scales and crop_scales must not be empty")

    def rescaled(self, scales: tuple[int, ...], max_size: int) -> AugmentConfig:
        """The same pipeline for smaller images (e.g. ``scales=(160, 192, 224)`` for CPU training).

        The crop branch and the evaluation size shrink by ``max(scales) / max(self.scales)``.
        """
        ratio = max(scales) / max(self.scales)
        return replace(
            self,
            scales=tuple(scales),
            max_size=max_size,
            crop_scales=tuple(max(1, round(s * ratio)) for s in self.crop_scales),
            crop_min=max(1, round(self.crop_min * ratio)),
            crop_max=max(1, round(self.crop_max * ratio)),
            eval_scale=None if self.eval_scale is None else max(scales),
        )


@dataclass
class ClipFrames:
    """The frames of one clip while they are augmented.

    Attributes:
        images: T arrays ``(H, W, 3)`` uint8 RGB, all of one size.
        depths: T arrays ``(H, W)`` uint8, or ``None`` without depth maps.
        boxes: T arrays ``(n_t, 4)`` float64 ``x1, y1, x2, y2`` in pixels.
        ids: T arrays ``(n_t,)`` int64 track ids, row-aligned with ``boxes``.
    """

    images: list[np.ndarray]
    depths: list[np.ndarray] | None
    boxes: list[np.ndarray]
    ids: list[np.ndarray]

    @property
    def size(self) -> tuple[int, int]:
        """``(height, width)`` of the frames."""
        return self.images[0].shape[:2]

    def legal(self) -> bool:
        """Every frame has between 1 and `MAX_BOXES_PER_FRAME` boxes (ids stay unique when boxes drop)."""
        return all(0 < len(b) <= MAX_BOXES_PER_FRAME for b in self.boxes)


@dataclass(frozen=True)
class ColorJitter:
    """One clip's colour jitter: factors and the order of the four operations (0..3 as in `OPERATIONS`)."""

    order: tuple[int, ...]
    brightness: float
    contrast: float
    saturation: float
    hue: float

    OPERATIONS = ("brightness", "contrast", "saturation", "hue")

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Applies the jitter to an ``(H, W, 3)`` uint8 RGB image."""
        functions = (
            lambda x: pil_ops.adjust_brightness(x, self.brightness),
            lambda x: pil_ops.adjust_contrast(x, self.contrast),
            lambda x: pil_ops.adjust_saturation(x, self.saturation),
            lambda x: pil_ops.adjust_hue(x, self.hue),
        )
        for index in self.order:
            image = functions[index](image)
        return image


# --------------------------------------------------------------------------------------------------
# The pipeline


def augment_clip(
    frames: ClipFrames, rng: np.random.Generator, config: AugmentConfig, static: bool = False
) -> ClipFrames:
    """The §8.3 pipeline on one clip; ``static`` clips (one image repeated) go through `multi_simulate`."""
    if static:
        frames = multi_simulate(frames, rng, config)
    if rng.random() < config.flip_prob:
        frames = hflip(frames)
    if rng.random() < config.crop_prob:
        frames = random_crop(frames, rng, config)
    frames = random_resize(frames, rng, config.scales, config.max_size, config.resize_backend)
    if config.color_jitter:
        jitter = draw_color_jitter(rng, config)
        frames = replace(frames, images=[jitter(image) for image in frames.images])
    return frames


def resize_for_eval(frames: ClipFrames, config: AugmentConfig) -> ClipFrames:
    """Evaluation mode: no randomness, shorter side to ``config.eval_scale`` (if set)."""
    if config.eval_scale is None:
        return frames
    height, width = resized_size(*frames.size, config.eval_scale, config.max_size)
    return resize_clip(frames, height, width, config.resize_backend)


def draw_color_jitter(rng: np.random.Generator, config: AugmentConfig) -> ColorJitter:
    """Draws the order (a permutation of the four operations) then the four factors."""
    order = tuple(int(i) for i in rng.permutation(4))
    brightness, contrast, saturation = [
        float(rng.uniform(*r)) for r in (config.brightness, config.contrast, config.saturation)
    ]
    return ColorJitter(order, brightness, contrast, saturation, hue=float(rng.uniform(*config.hue)))


# --------------------------------------------------------------------------------------------------
# Geometry


def hflip(frames: ClipFrames) -> ClipFrames:
    """Mirrors images, depth maps and boxes (``x1' = W - x2``, ``x2' = W - x1``)."""
    width = frames.size[1]
    boxes = [np.stack([width - b[:, 2], b[:, 1], width - b[:, 0], b[:, 3]], axis=1) for b in frames.boxes]
    return replace(
        frames,
        images=[np.ascontiguousarray(i[:, ::-1]) for i in frames.images],
        depths=None if frames.depths is None else [np.ascontiguousarray(d[:, ::-1]) for d in frames.depths],
        boxes=boxes,
    )


def resized_size(height: int, width: int, scale: int, max_size: int | None) -> tuple[int, int]:
    """``(height, width)`` with the shorter side ``scale`` and the longer side at most ``max_size``.

    The official rule (§8.3): if ``long / short * scale > max_size`` the scale becomes
    ``floor(max_size * short / long)``; the longer side is then ``round(scale * long / short)``.
    """
    short, long = min(height, width), max(height, width)
    if max_size is not None and long / short * scale > max_size:
        scale = int(max_size * short / long)
    if short == scale:
        return height, width
    new_long = int(round(scale * long / short))
    return (scale, new_long) if height <= width else (new_long, scale)


def resize_clip(frames: ClipFrames, height: int, width: int, backend: str = "pillow") -> ClipFrames:
    """Resizes images and depth maps bilinearly to ``(height, width)`` and scales the boxes."""
    old_height, old_width = frames.size
    if (old_height, old_width) == (height, width):
        return frames
    factor = np.array([width / old_width, height / old_height] * 2)
    return ClipFrames(
        images=[_resize(i, width, height, backend) for i in frames.images],
        depths=None if frames.depths is None else [_resize(d, width, height, backend) for d in frames.depths],
        boxes=[b * factor for b in frames.boxes],
        ids=frames.ids,
    )


def _resize(image: np.ndarray, width: int, height: int, backend: str) -> np.ndarray:
    if backend == "opencv":
        return cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
    return pil_ops.resize_bilinear(image, width, height)


def random_resize(
    frames: ClipFrames, rng: np.random.Generator, scales: tuple[int, ...], max_size: int | None, backend: str
) -> ClipFrames:
    """Resize (a): the shorter side to a random one of ``scales``, the longer side capped."""
    scale = int(scales[int(rng.integers(len(scales)))])
    return resize_clip(frames, *resized_size(*frames.size, scale, max_size), backend)


def crop_clip(frames: ClipFrames, top: int, left: int, height: int, width: int) -> ClipFrames:
    """Crops every frame; boxes are shifted and clipped, boxes left without area are dropped."""
    limit = np.array([width, height, width, height], np.float64)
    boxes, ids = [], []
    for frame_boxes, frame_ids in zip(frames.boxes, frames.ids, strict=True):
        moved = np.clip(frame_boxes - np.array([left, top, left, top]), 0, limit)
        keep = (moved[:, 2] > moved[:, 0]) & (moved[:, 3] > moved[:, 1])
        boxes.append(moved[keep])
        ids.append(frame_ids[keep])
    window = (slice(top, top + height), slice(left, left + width))
    return ClipFrames(
        images=[np.ascontiguousarray(i[window]) for i in frames.images],
        depths=None if frames.depths is None else [np.ascontiguousarray(d[window]) for d in frames.depths],
        boxes=boxes,
        ids=ids,
    )


def random_crop(frames: ClipFrames, rng: np.random.Generator, config: AugmentConfig) -> ClipFrames:
    """Branch (b) before the final resize: resize to a crop scale, then crop if every frame stays legal."""
    scale = int(config.crop_scales[int(rng.integers(len(config.crop_scales)))])
    frames = resize_clip(frames, *resized_size(*frames.size, scale, None), config.resize_backend)
    height, width = frames.size
    crop_height = _randint(rng, min(config.crop_min, height, config.crop_max), min(config.crop_max, height))
    crop_width = _randint(rng, min(config.crop_min, width, config.crop_max), min(config.crop_max, width))
    top = _randint(rng, 0, height - crop_height)
    left = _randint(rng, 0, width - crop_width)
    cropped = crop_clip(frames, top, left, crop_height, crop_width)
    return cropped if cropped.legal() else frames  # the legality fallback of §8.3 step 4(b)


def _randint(rng: np.random.Generator, low: int, high: int) -> int:
    """A uniform integer in ``[low, high]``, both included (Python's ``random.randint``)."""
    return int(rng.integers(low, high + 1))


# --------------------------------------------------------------------------------------------------
# Static images (CrowdHuman)


def multi_simulate(frames: ClipFrames, rng: np.random.Generator, config: AugmentConfig) -> ClipFrames:
    """Turns T copies of one image into a moving clip (MultiSimulate, §8.3 step 2).

    One shift ``(dx, dy)`` per clip, each ``|d|`` uniform in ``1..ceil(ratio * size)`` with a random sign;
    frame k+1 is frame k cropped to the shifted window and resized back to the full size (a steady pan
    and zoom). If a frame loses all its boxes the unchanged copies are returned; the simulated clip is
    reversed with probability ``config.reverse_prob``.
    """
    height, width = frames.size
    dx, dy = (_signed_shift(rng, math.ceil(config.shift_ratio * n)) for n in (width, height))
    top, bottom = max(0, -dy), min(height, height - dy)
    left, right = max(0, -dx), min(width, width - dx)
    simulated = [_single(frames, 0)]
    for _ in range(1, len(frames.images)):
        window = crop_clip(simulated[-1], top, left, bottom - top, right - left)
        simulated.append(resize_clip(window, height, width, config.resize_backend))
    if not all(frame.legal() for frame in simulated):
        return frames
    if rng.random() < config.reverse_prob:
        simulated.reverse()
    return _concat(simulated, with_depth=frames.depths is not None)


def _signed_shift(rng: np.random.Generator, largest: int) -> int:
    magnitude = _randint(rng, 1, max(largest, 1))
    return magnitude if rng.random() < 0.5 else -magnitude


def _single(frames: ClipFrames, index: int) -> ClipFrames:
    depths = None if frames.depths is None else [frames.depths[index]]
    return ClipFrames([frames.images[index]], depths, [frames.boxes[index]], [frames.ids[index]])


def _concat(parts: list[ClipFrames], with_depth: bool) -> ClipFrames:
    depths: list[np.ndarray] | None = None
    if with_depth:
        depths = []
        for p in parts:
            assert p.depths is not None  # each part is one frame of a clip that has depth maps
            depths.append(p.depths[0])
    return ClipFrames(
        images=[p.images[0] for p in parts],
        depths=depths,
        boxes=[p.boxes[0] for p in parts],
        ids=[p.ids[0] for p in parts],
    )


__all__ = [
    "MAX_BOXES_PER_FRAME",
    "AugmentConfig",
    "ClipFrames",
    "ColorJitter",
    "augment_clip",
    "crop_clip",
    "draw_color_jitter",
    "hflip",
    "multi_simulate",
    "random_crop",
    "random_resize",
    "resize_clip",
    "resize_for_eval",
    "resized_size",
]
