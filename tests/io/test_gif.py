"""The GIF writer (`discmot.io.gif`), checked by independent decoders: FFmpeg (through PyAV) and OpenCV.

Frames whose colours fit the 256-entry palette must come back pixel for pixel, across LZW code-width
changes and table resets (random pixels fill the 4096-code table many times per frame).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from discmot.io.gif import build_palette, encode_gif, lzw_encode, write_gif
from helpers import decode_gif_with_ffmpeg


def palette_frames(rng, count: int, shape=(90, 120), colors: int = 200) -> list[np.ndarray]:
    """Frames drawn from ``colors`` random colours, each at the centre of its 5-bit bin (exactly
    representable by the writer's palette)."""
    palette = (rng.integers(0, 32, (colors, 3)) * 8 + 4).astype(np.uint8)
    return [palette[rng.integers(0, colors, shape)] for _ in range(count)]


def test_random_frames_round_trip_exactly_through_ffmpeg_and_opencv(tmp_path):
    rng = np.random.default_rng(0)
    frames = palette_frames(rng, 3) + [np.zeros((90, 120, 3), np.uint8)]  # a flat frame: long runs
    path = write_gif(tmp_path / "a.gif", frames, fps=10)
    decoded = decode_gif_with_ffmpeg(path)
    assert len(decoded) == len(frames)
    for got, want in zip(decoded, frames, strict=True):
        np.testing.assert_array_equal(got, want)
    capture = cv2.VideoCapture(str(path))
    ok, first = capture.read()
    assert ok
    np.testing.assert_array_equal(first, frames[0])


def test_code_width_boundaries_decode(tmp_path):
    """Images whose code streams end right around each width change (512, 1024, 2048, 4096 codes)."""
    rng = np.random.default_rng(1)
    palette = (rng.integers(0, 32, (255, 3)) * 8 + 4).astype(np.uint8)  # 255: one index is transparent
    for pixels in (1, 2, 255, 256, 257, 300, 511, 512, 513, 1100, 2300, 4400, 9000):
        indices = rng.integers(0, 255, pixels)
        frame = palette[indices].reshape(1, pixels, 3)
        path = write_gif(tmp_path / f"w{pixels}.gif", [frame], fps=5)
        (decoded,) = decode_gif_with_ffmpeg(path)
        np.testing.assert_array_equal(decoded, frame, err_msg=f"{pixels} pixels")


def test_unchanged_pixels_are_transparent_and_composite_back(tmp_path):
    """A square moving over a fixed noisy background: only the changed pixels are coded after frame 1,
    and decoders put the kept previous frame under them."""
    rng = np.random.default_rng(2)
    background = palette_frames(rng, 1, shape=(60, 80), colors=100)[0]
    frames = []
    for k in range(6):
        frame = background.copy()
        frame[10 + 3 * k : 20 + 3 * k, 5 + 6 * k : 15 + 6 * k] = (36, 100, 228)
        frames.append(frame)
    path = write_gif(tmp_path / "m.gif", frames, fps=10)
    for got, want in zip(decode_gif_with_ffmpeg(path), frames, strict=True):
        np.testing.assert_array_equal(got, want)
    first_only = len(encode_gif(frames[:1], fps=10))
    assert path.stat().st_size < first_only + 5 * 0.25 * first_only  # later frames cost a fraction


def test_lzw_stream_starts_with_clear_and_compresses_runs():
    stream = lzw_encode(np.zeros(10_000, np.uint8))
    assert stream[0] == 0x00 and stream[1] & 1 == 1  # 9-bit clear code 256, least significant bit first
    assert len(stream) < 200  # one colour: codes for ever longer runs


def test_palette_keeps_the_most_frequent_colours():
    frame = np.zeros((10, 40, 3), np.uint8)
    frame[:, :30] = (200, 100, 50)
    frame[:, 30:] = (10, 240, 130)
    palette = build_palette([frame], colors=4, stride=1)
    assert palette[:2].tolist() == [[200, 100, 50], [10, 240, 130]]
    assert palette[2:].tolist() == [[0, 0, 0], [0, 0, 0]]


def test_frame_delay_follows_fps(tmp_path):
    frames = [np.full((8, 8, 3), 40 * k, np.uint8) for k in range(3)]
    path = write_gif(tmp_path / "d.gif", frames, fps=4)
    data = path.read_bytes()
    marker = data.index(b"\x21\xf9\x04")
    assert int.from_bytes(data[marker + 4 : marker + 6], "little") == 25  # hundredths of a second


def test_bad_frames_are_refused_and_nothing_is_written(tmp_path):
    with pytest.raises(ValueError, match="at least one frame"):
        encode_gif([], fps=10)
    with pytest.raises(ValueError, match="one size"):
        write_gif(tmp_path / "x.gif", [np.zeros((4, 4, 3), np.uint8), np.zeros((5, 4, 3), np.uint8)], 10)
    assert list(tmp_path.iterdir()) == []
