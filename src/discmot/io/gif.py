"""Animated GIF writing in numpy and plain Python: the demo's small preview, viewable anywhere.

PyAV's GIF encoder expects a palette byte order that has changed between versions, and OpenCV writes no
GIF at all, so the format (GIF89a: one global 256-colour table, LZW-coded frames, a looping extension) is
written here. The palette is built once for the whole animation from the frames' most frequent colours
(5 bits per channel, the mean colour of each bin), so flat synthetic scenes and coloured boxes come out
exact and natural video reasonably well; each pixel takes the nearest palette colour (no dithering, which
would only grow the file). After the first frame, pixels whose palette index did not change are written
as the transparent index over the kept previous frame: long runs of one code, which LZW packs tightly.
Frames are ``(H, W, 3)`` uint8 BGR like everything else from OpenCV.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

#: LZW codes are at most 12 bits wide (GIF89a §22); the table is reset when it is full.
MAX_CODE_BITS = 12
#: Pixel indices are 8 bits: a 256-entry colour table.
PIXEL_BITS = 8
#: Bits kept per channel when counting colours for the palette.
PALETTE_BITS = 5
#: Palette index meaning "unchanged since the previous frame" (transparent); colours use the others.
TRANSPARENT = 255


def build_palette(frames: Sequence[np.ndarray], colors: int = 256, stride: int = 1) -> np.ndarray:
    """The ``colors`` most frequent colours of ``frames`` (each pixel rounded to ``PALETTE_BITS`` bits per
    channel, the palette entry being the mean colour of its bin) -> ``(colors, 3)`` uint8 BGR, padded with
    black. Every ``stride``-th pixel of every frame is counted."""
    shift = 8 - PALETTE_BITS
    pixels = np.concatenate([f[::stride, ::stride].reshape(-1, 3) for f in frames]).astype(np.int64)
    bins = _bin_index(pixels >> shift)
    counts = np.bincount(bins, minlength=1 << (3 * PALETTE_BITS))
    chosen = np.argsort(-counts, kind="stable")[:colors]
    chosen = chosen[counts[chosen] > 0]
    sums = np.stack([np.bincount(bins, weights=pixels[:, c], minlength=len(counts)) for c in range(3)], 1)
    palette = np.zeros((colors, 3), np.uint8)
    palette[: len(chosen)] = np.round(sums[chosen] / counts[chosen, None]).astype(np.uint8)
    return palette


def palette_lookup(palette: np.ndarray) -> np.ndarray:
    """For every ``PALETTE_BITS``-bit colour, the index of the nearest palette entry (squared distance
    from the bin's centre) -> ``(2 ** (3 * PALETTE_BITS),)`` uint8."""
    levels = np.arange(1 << PALETTE_BITS)
    centre = (levels << (8 - PALETTE_BITS)) + (1 << (7 - PALETTE_BITS))
    grid = np.stack(np.meshgrid(centre, centre, centre, indexing="ij"), -1).reshape(-1, 3)
    lookup = np.empty(len(grid), np.uint8)
    entries = palette.astype(np.int64)
    for start in range(0, len(grid), 4096):  # bounded memory: 4096 x 256 distances at a time
        block = grid[start : start + 4096, None, :] - entries[None]
        lookup[start : start + 4096] = np.argmin((block * block).sum(-1), axis=1)
    return lookup


def _bin_index(quantised: np.ndarray) -> np.ndarray:
    return (quantised[..., 0] << (2 * PALETTE_BITS)) | (quantised[..., 1] << PALETTE_BITS) | quantised[..., 2]


def quantise(frame: np.ndarray, lookup: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` uint8 BGR -> ``(H, W)`` uint8 palette indices through `palette_lookup`'s table."""
    return lookup[_bin_index(frame.astype(np.int64) >> (8 - PALETTE_BITS))]


def lzw_encode(indices: np.ndarray) -> bytes:
    """GIF's variable-width LZW of a flat uint8 index array (minimum code size 8), packed LSB first.

    Returns the code stream, starting with a clear code and ending with the end-of-information code.
    The code width grows when the next free code no longer fits; the table restarts (clear code) when
    all 4096 codes are used, as GIF decoders expect.
    """
    clear, end = 1 << PIXEL_BITS, (1 << PIXEL_BITS) + 1
    out = bytearray()
    bit_buffer = bit_count = 0

    def emit(code: int, width: int) -> None:
        nonlocal bit_buffer, bit_count
        bit_buffer |= code << bit_count
        bit_count += width
        while bit_count >= 8:
            out.append(bit_buffer & 0xFF)
            bit_buffer >>= 8
            bit_count -= 8

    data = indices.reshape(-1).tolist()
    width = PIXEL_BITS + 1
    emit(clear, width)
    if not data:
        emit(end, width)
        return bytes(out + (bytes([bit_buffer]) if bit_count else b""))
    table: dict[int, int] = {}
    next_code = end + 1
    prefix = data[0]
    for pixel in data[1:]:
        key = (prefix << 8) | pixel  # string codes are < 4096, pixels < 256: one int key per extension
        code = table.get(key)
        if code is not None:
            prefix = code
            continue
        emit(prefix, width)
        table[key] = next_code
        next_code += 1
        # The decoder adds each entry one code later than the encoder, so it widens when the encoder's
        # next code has passed 2**width, not when it reaches it.
        if next_code > (1 << width) and width < MAX_CODE_BITS:
            width += 1
        if next_code == 1 << MAX_CODE_BITS:
            emit(clear, width)
            table.clear()
            next_code, width = end + 1, PIXEL_BITS + 1
        prefix = pixel
    emit(prefix, width)
    emit(end, width)
    if bit_count:
        out.append(bit_buffer & 0xFF)
    return bytes(out)


def _sub_blocks(data: bytes) -> bytes:
    """GIF data sub-blocks: chunks of at most 255 bytes, each preceded by its length, then a 0 block."""
    chunks = [bytes([len(data[i : i + 255])]) + data[i : i + 255] for i in range(0, len(data), 255)]
    return b"".join(chunks) + b"\x00"


def encode_gif(frames: Sequence[np.ndarray], fps: float, loop: bool = True, tolerance: float = 0.0) -> bytes:
    """An animated GIF89a of ``frames`` (``(H, W, 3)`` uint8 BGR, all the same size) at ``fps``.

    GIF delays are in hundredths of a second, so the rate is rounded to one of 100/k frames per second.
    ``tolerance``: a pixel whose palette colour is within this distance (Euclidean, 0-255 units) of the
    colour already shown there keeps the shown one (0: only identical colours); a few units absorb video
    and JPEG noise, which otherwise changes most pixels every frame and defeats the compression.
    """
    if not frames:
        raise ValueError("a GIF needs at least one frame")
    height, width = frames[0].shape[:2]
    if any(f.shape != frames[0].shape for f in frames) or frames[0].ndim != 3 or frames[0].shape[2] != 3:
        raise ValueError("GIF frames must all be (H, W, 3) arrays of one size")
    palette = build_palette(frames, colors=TRANSPARENT)
    lookup = palette_lookup(palette)
    palette = np.concatenate([palette, np.zeros((256 - TRANSPARENT, 3), np.uint8)])
    delay = max(1, round(100 / fps))
    parts = [
        b"GIF89a",
        struct.pack("<HHBBB", width, height, 0xF7, 0, 0),  # global table of 256 colours, 8-bit resolution
        palette[:, ::-1].tobytes(),  # BGR -> RGB
    ]
    if loop:
        parts.append(b"\x21\xff\x0bNETSCAPE2.0\x03\x01" + struct.pack("<H", 0) + b"\x00")  # loop forever
    colours = palette.astype(np.float64)
    displayed = None  # palette index on screen at each pixel
    for frame in frames:
        indices = quantise(frame, lookup)
        if displayed is None:
            coded, displayed = indices, indices
        else:
            kept = np.linalg.norm(colours[indices] - colours[displayed], axis=-1) <= tolerance
            coded = np.where(kept, TRANSPARENT, indices).astype(np.uint8)
            displayed = np.where(kept, displayed, indices)
        # Graphic control: keep this frame under the next (disposal 1), transparency after the first.
        flags = 0x04 | (coded is not indices)
        parts.append(b"\x21\xf9\x04" + struct.pack("<BHB", flags, delay, TRANSPARENT) + b"\x00")
        parts.append(b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0))
        parts.append(bytes([PIXEL_BITS]) + _sub_blocks(lzw_encode(coded)))
    parts.append(b"\x3b")
    return b"".join(parts)


def write_gif(
    path: str | os.PathLike,
    frames: Iterable[np.ndarray],
    fps: float,
    loop: bool = True,
    tolerance: float = 0.0,
) -> Path:
    """Writes `encode_gif` of ``frames`` to ``path`` atomically; returns the path."""
    from discmot.io.atomic import atomic_write_bytes

    atomic_write_bytes(path, encode_gif(list(frames), fps, loop, tolerance))
    return Path(path)
