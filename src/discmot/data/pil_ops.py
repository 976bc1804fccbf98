"""Pillow's image operations re-implemented in numpy, bit for bit where practical.

FDTA's training pipeline (spec ``fdta.md`` §8.3) resizes with ``PIL.Image.resize(BILINEAR)`` and jitters
colours with ``ImageEnhance`` and an HSV hue shift. discmot does not depend on Pillow, so the same
arithmetic is written here on ``uint8`` numpy arrays:

* `resize_bilinear`: Pillow's separable, antialiased bilinear resampling (``Resample.c``): a triangle
  filter whose support grows with the reduction factor, 22-bit fixed-point coefficients, two passes
  with an 8-bit intermediate, in Pillow 13's pass order. Identical output to Pillow 13 (versions that
  always run the horizontal pass first differ by up to 1 level on some pixels). The arithmetic runs on
  torch tensors (`resize_bilinear_tensor`, on the CPU or a GPU); `resize_bilinear` wraps it for arrays.
* `blend`, `adjust_brightness`, `adjust_contrast`, `adjust_saturation`: ``Image.blend`` with the
  degenerate images of ``ImageEnhance`` (black, the mean grey, the per-pixel grey), float32 arithmetic
  truncated to 8 bits as in ``Blend.c``. Identical output to Pillow.
* `adjust_hue`: torchvision's PIL kernel: RGB -> Pillow HSV (``Convert.c``), hue byte shifted with
  wrap-around, HSV -> RGB. Pillow's C code mixes float and double; this uses the same precision per step
  (tabulated), and agrees with Pillow 13 on all 2**24 colours in both conversions.

Images are ``(H, W, C)`` uint8 (``C`` = 3 for RGB, or ``(H, W)`` for one channel).
"""

from __future__ import annotations

import functools

import numpy as np

#: Fixed-point precision of Pillow's 8-bit resampling coefficients (``PRECISION_BITS`` in Resample.c).
_PRECISION_BITS = 32 - 8 - 2


def resize_bilinear(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """``PIL.Image.resize((width, height), BILINEAR)`` of a uint8 ``(H, W[, C])`` array."""
    import torch

    return resize_bilinear_tensor(torch.from_numpy(np.ascontiguousarray(image)), width, height).numpy()


def resize_bilinear_tensor(image, width: int, height: int):
    """`resize_bilinear` of a uint8 ``[H, W(, C)]`` torch tensor on any device (the integer arithmetic
    is the same everywhere, so is the output): the tracker resizes a frame where its network runs, on a
    GPU in a few milliseconds instead of the 0.1-0.2 s that a CPU core takes at 1080p."""
    if tuple(image.shape[:2]) == (height, width):
        return image.clone()
    out = image
    for size, axis in _resize_passes(image.shape[1], image.shape[0], width, height):
        if size != out.shape[axis]:
            out = _resample_axis(out, size, axis)
    return out


def _resample_axis(image, out_size: int, axis: int):
    """One pass of Pillow's resampling of a uint8 tensor along ``axis`` (0 rows, 1 columns), rounded to
    uint8: ``sum_k image[index[:, k]] * weight[:, k]`` in int32 (at most 255 * 2**22 < 2**31), + 0.5,
    then the 22 fixed-point bits dropped. In place where possible: as fast as numpy on one core."""
    import torch

    taps, weights = _bilinear_coefficients(image.shape[axis], out_size)
    shape = [1] * image.ndim
    shape[axis] = out_size
    index = torch.tensor(taps.T, device=image.device)  # [K, out_size]: one row per tap
    weight = torch.tensor(weights.T, device=image.device)
    total = torch.full((), 1 << (_PRECISION_BITS - 1), dtype=torch.int32, device=image.device)  # + 0.5
    for tap in range(index.shape[0]):
        term = image.index_select(axis, index[tap]).to(torch.int32).mul_(weight[tap].view(shape))
        total = term.add_(total)
    return total.bitwise_right_shift_(_PRECISION_BITS).clamp_(0, 255).to(torch.uint8)


def _resize_passes(in_width: int, in_height: int, width: int, height: int) -> list[tuple[int, int]]:
    """Pillow's two passes ``[(size, axis), ...]`` (axis 0 rows, 1 columns) in the order it runs them.

    Recent Pillow (13 checked) runs the vertical pass first when the height shrinks more than twice the
    width; the pass order changes the 8-bit rounding of the intermediate image (up to 1 level).
    """
    vertical_first = 0 < in_height - height and in_height - height > (in_width - width) * 2
    return [(height, 0), (width, 1)] if vertical_first else [(width, 1), (height, 0)]


@functools.lru_cache(maxsize=16)
def _bilinear_coefficients(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pillow's ``precompute_coeffs`` for the bilinear filter, as gather indices and int32 weights
    (cached: a video resizes every frame alike; the arrays are read-only).

    Returns:
        index: ``(out_size, K)`` int64 source positions (padding taps point at 0 with weight 0).
        weight: ``(out_size, K)`` int32 fixed-point weights summing to about ``2**22`` per row.
    """
    scale = in_size / out_size
    filter_scale = max(scale, 1.0)
    support = 1.0 * filter_scale
    taps = int(np.ceil(support)) * 2 + 1
    centre = (np.arange(out_size) + 0.5) * scale
    first = np.maximum((centre - support + 0.5).astype(np.int64), 0)  # C casts truncate toward zero
    last = np.minimum((centre + support + 0.5).astype(np.int64), in_size)
    offsets = np.arange(taps)
    position = first[:, None] + offsets[None, :]
    valid = offsets[None, :] < (last - first)[:, None]
    inverse = 1.0 / filter_scale  # multiplied, not divided, as in Pillow (the last bit matters)
    weight = np.maximum(1.0 - np.abs((position - centre[:, None] + 0.5) * inverse), 0.0) * valid
    sums = weight.sum(axis=1, keepdims=True)
    weight = np.divide(weight, sums, out=np.zeros_like(weight), where=sums != 0)
    fixed = np.where(weight < 0, -0.5, 0.5) + weight * (1 << _PRECISION_BITS)
    index, weight = np.where(valid, position, 0), np.trunc(fixed).astype(np.int32)
    index.flags.writeable = weight.flags.writeable = False
    return index, weight


# --------------------------------------------------------------------------------------------------
# ImageEnhance


def blend(degenerate: np.ndarray, image: np.ndarray, factor: float) -> np.ndarray:
    """``Image.blend(degenerate, image, factor)``: ``degenerate + factor * (image - degenerate)``."""
    first = np.asarray(degenerate, np.float32)
    mixed = first + np.float32(factor) * (image.astype(np.float32) - first)
    return np.clip(mixed, 0, 255).astype(np.uint8)


def grey(image: np.ndarray) -> np.ndarray:
    """``image.convert("L")`` of an RGB ``(H, W, 3)`` uint8 array: ITU-R 601-2 luma in 16-bit fixed point."""
    rgb = image.astype(np.int32)
    return ((rgb[..., 0] * 19595 + rgb[..., 1] * 38470 + rgb[..., 2] * 7471 + 0x8000) >> 16).astype(np.uint8)


def adjust_brightness(image: np.ndarray, factor: float) -> np.ndarray:
    """``ImageEnhance.Brightness(image).enhance(factor)``: blend with black."""
    return _blend_with_constant(image, 0, factor)


def adjust_contrast(image: np.ndarray, factor: float) -> np.ndarray:
    """``ImageEnhance.Contrast(image).enhance(factor)``: blend with the mean grey level (rounded)."""
    mean = int(float(grey(image).mean(dtype=np.float64)) + 0.5)
    return _blend_with_constant(image, mean, factor)


def _blend_with_constant(image: np.ndarray, constant: int, factor: float) -> np.ndarray:
    """`blend` with a flat degenerate image is a per-value mapping: one 256-entry table lookup."""
    table = blend(np.full((), constant, np.float32), np.arange(256, dtype=np.uint8), factor)
    return table[image]


def adjust_saturation(image: np.ndarray, factor: float) -> np.ndarray:
    """``ImageEnhance.Color(image).enhance(factor)``: blend with the image's own grey version."""
    return blend(grey(image)[..., None], image, factor)


def adjust_hue(image: np.ndarray, hue: float) -> np.ndarray:
    """torchvision's PIL ``adjust_hue``: shift Pillow's 8-bit hue by ``int(hue * 255)`` with wrap-around.

    Args:
        hue: in ``[-0.5, 0.5]``; the shift is truncated toward zero, as ``np.int8(hue * 255)``.
    """
    h, s, v = rgb_to_hsv(image)
    h += np.uint8(int(hue * 255) % 256)  # uint8 arithmetic wraps around the colour circle
    return hsv_to_rgb(h, s, v)


def rgb_to_hsv(image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pillow's ``image.convert("HSV")`` of ``(H, W, 3)`` uint8 RGB: three uint8 ``(H, W)`` planes.

    Per pixel the hue only depends on which channel is the largest and on the two other channels'
    distances to it, and the saturation on the largest and smallest values, so both are looked up in
    tables that `_rgb_to_hsv_exact` filled once (an order of magnitude faster than the float maths).
    """
    hue_table, saturation_table = _hsv_tables()
    r, g, b = image[..., 0], image[..., 1], image[..., 2]
    high = np.maximum(np.maximum(r, g), b)
    low = np.minimum(np.minimum(r, g), b)
    red_max, green_max = r == high, (g == high) & (r != high)
    first = np.where(red_max, high - g, high - r).astype(np.int32)
    second = np.where(red_max | green_max, high - b, high - g).astype(np.int32)
    case = np.where(red_max, 0, np.where(green_max, 1, 2))
    h = hue_table[(case << 16) | (first << 8) | second]
    s = saturation_table[(high.astype(np.int32) << 8) | low]
    return h, s, high


def hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Pillow's ``Image.merge("HSV", (h, s, v)).convert("RGB")`` of uint8 planes: ``(H, W, 3)`` uint8.

    ``p, q, t = round(v * c)`` (C ``round``: half away from zero) with coefficients ``c`` that depend on
    ``(h, s)`` only, tabulated by `_hsv_tables`; the hue sector picks which of ``v, p, q, t`` goes where.
    """
    sector, coefficients = _hsv_to_rgb_tables()
    key = (h.astype(np.int32) << 8) | s
    value = v.astype(np.float64)
    candidates = [v] + [np.floor(value * c[key] + 0.5).astype(np.uint8) for c in coefficients]
    channels = _SECTOR_CHANNELS[sector[h]]  # (H, W, 3) indices into candidates: 0 v, 1 p, 2 q, 3 t
    stacked = np.stack(candidates, axis=-1)
    return np.take_along_axis(stacked, channels, axis=-1)


#: Which of (v, p, q, t) feeds red, green and blue in each hue sector (Pillow's ``hsv2rgb``).
_SECTOR_CHANNELS = np.array([(0, 3, 1), (2, 0, 1), (1, 0, 3), (1, 2, 0), (3, 1, 0), (0, 1, 2)], np.int64)


@functools.cache
def _hsv_tables() -> tuple[np.ndarray, np.ndarray]:
    """Hue by (case, first distance, second distance) and saturation by (max, min), both uint8."""
    distance = np.arange(256 * 256)
    first, second = distance >> 8, distance & 255
    top = np.full_like(first, 255)
    red = np.stack([top, top - first, top - second], axis=-1)  # red is the largest channel
    green = np.stack([top - np.maximum(first, 1), top, top - second], axis=-1)
    blue = np.stack([top - np.maximum(first, 1), top - np.maximum(second, 1), top], axis=-1)
    hue = np.concatenate([_rgb_to_hsv_exact(c.astype(np.uint8))[0] for c in (red, green, blue)])
    high, low = distance >> 8, np.minimum(distance & 255, distance >> 8)
    saturation = _rgb_to_hsv_exact(np.stack([high, low, low], axis=-1).astype(np.uint8))[1]
    return hue, saturation


@functools.cache
def _hsv_to_rgb_tables() -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Sector by hue ``(256,)`` and the float64 coefficients of p, q, t by ``h << 8 | s``."""
    h = (np.arange(256 * 256) >> 8).astype(np.float64)
    s = (np.arange(256 * 256) & 255).astype(np.float64)
    position = h * 6.0 / 255.0
    sector = np.floor(position)
    f = (position - sector).astype(np.float32)
    fs = (s / 255.0).astype(np.float32)
    p = 1.0 - fs.astype(np.float64)
    q = 1.0 - (fs * f).astype(np.float64)  # float * float stays float in C
    t = 1.0 - fs.astype(np.float64) * (1.0 - f.astype(np.float64))
    return sector[::256].astype(np.int64) % 6, (p, q, t)


def _rgb_to_hsv_exact(image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pillow's ``rgb2hsv_row`` per pixel: float32 ratios, double for the hue wrap, truncation to bytes."""
    rgb = image.astype(np.int32)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    high, low = rgb.max(axis=-1), rgb.min(axis=-1)
    grey_pixel = high == low
    spread = np.where(grey_pixel, 1, high - low).astype(np.float32)
    saturation = spread / np.maximum(high, 1).astype(np.float32)
    rc, gc, bc = ((high - c).astype(np.float32) / spread for c in (r, g, b))
    hue = np.where(
        r == high,
        (bc - gc).astype(np.float64),
        np.where(g == high, 2.0 + rc.astype(np.float64) - bc, 4.0 + gc.astype(np.float64) - rc),
    ).astype(np.float32)
    hue = np.fmod(hue.astype(np.float64) / 6.0 + 1.0, 1.0).astype(np.float32)
    h = np.clip((hue.astype(np.float64) * 255.0).astype(np.int64), 0, 255)
    s = np.clip((saturation.astype(np.float64) * 255.0).astype(np.int64), 0, 255)
    h[grey_pixel] = 0
    s[grey_pixel] = 0
    return h.astype(np.uint8), s.astype(np.uint8), high.astype(np.uint8)
