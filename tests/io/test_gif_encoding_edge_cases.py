"""The GIF writer's LZW code stream (`discmot.io.gif.lzw_encode`) checked against GIF89a itself.

GIF89a (Appendix F, "Variable-Length-Code LZW Compression"): with minimum code size 8 the codes start 9
bits wide, 256 is the clear code and 257 the end-of-information code; the first free code is 258; a
decoder adds one table entry per code after the first and widens the code when its table reaches
2**width entries, up to 12 bits; codes are packed least significant bit first, and the stream ends in
the byte that holds the end code's last bit. FFmpeg forgives a stream that stops early or carries junk
after its end code; the strict reference decoder below does not. Also: the palette's black padding, the
colour lookup table's block seams, and `encode_gif` / `write_gif`'s defaults.
"""

from __future__ import annotations

import warnings

import numpy as np

from discmot.io.gif import build_palette, encode_gif, lzw_encode, palette_lookup, write_gif
from helpers import decode_gif_with_ffmpeg

CLEAR, END, FIRST_FREE = 256, 257, 258


def pack_codes(codes_and_widths) -> bytes:
    """``(code, width)`` pairs packed least significant bit first (GIF89a Appendix F), zero padded."""
    value = bits = 0
    for code, width in codes_and_widths:
        value |= code << bits
        bits += width
    return value.to_bytes((bits + 7) // 8, "little")


def strict_lzw_decode(stream: bytes) -> tuple[list[int], list[tuple[int, int]]]:
    """A GIF LZW decoder (minimum code size 8) that refuses anything but one exact stream: it must
    start with a clear code, end in the byte holding the end code's last bit, and pad with zero bits.
    Returns the pixels and the ``(code, width)`` pairs read."""
    value, total = int.from_bytes(stream, "little"), 8 * len(stream)
    at, width, table, previous = 0, 9, None, None
    pixels: list[int] = []
    read: list[tuple[int, int]] = []
    while True:
        assert at + width <= total, f"the stream stops after {len(read)} codes without an end code"
        code = (value >> at) & ((1 << width) - 1)
        at += width
        read.append((code, width))
        assert table is not None or code == CLEAR, "the stream must start with a clear code"
        if code == CLEAR:
            table = [[i] for i in range(256)] + [[], []]
            width, previous = 9, None
            continue
        if code == END:
            break
        if previous is None:
            entry = table[code]
        else:
            assert code <= len(table), f"code {code} is past the table ({len(table)} entries)"
            entry = table[code] if code < len(table) else table[previous] + table[previous][:1]
            table.append(table[previous] + entry[:1])
        pixels += entry
        previous = code
        if len(table) == 1 << width and width < 12:
            width += 1
    assert len(stream) == (at + 7) // 8, f"{len(stream)} bytes for {at} bits of codes"
    assert value >> at == 0, "the padding after the end code must be zero bits"
    return pixels, read


def test_lzw_of_no_pixels_is_a_clear_then_an_end_code():
    """An empty image: 9-bit clear (256) and end (257) codes, 18 bits in 3 bytes: 0x00, 0x03, 0x02."""
    assert lzw_encode(np.zeros(0, np.uint8)) == bytes([0x00, 0x03, 0x02])
    assert lzw_encode(np.zeros((0, 4), np.uint8)) == pack_codes([(CLEAR, 9), (END, 9)])


def test_lzw_codes_of_distinct_pixels_are_the_pixels_themselves_9_bits_wide():
    """Six different pixels: no string repeats, so the codes are clear, the six pixels, end: eight
    9-bit codes = 72 bits = exactly 9 bytes, with no extra byte after the end code."""
    stream = lzw_encode(np.array([0, 1, 2, 3, 4, 5], np.uint8))
    assert len(stream) == 9
    assert stream == pack_codes([(CLEAR, 9), *((p, 9) for p in range(6)), (END, 9)])


def test_lzw_ends_in_the_byte_that_holds_the_end_codes_last_bit():
    """One pixel: clear, 7, end = 27 bits -> 4 bytes, the last holding the end code's top 3 bits (257 =
    0b1_0000_0001: bits 6, 7, 8 are 0, 0, 1 -> 0x04); byte 1 = clear's bit 8 and 7's low bits = 0x0F."""
    stream = lzw_encode(np.array([7], np.uint8))
    assert stream == pack_codes([(CLEAR, 9), (7, 9), (END, 9)])
    assert stream == bytes([0x00, 0x0F, 0x04, 0x04])


def test_a_repeated_pair_is_coded_with_the_first_free_code():
    """Pixels 1 2 1 2 1 2: codes 1, 2 (adding 258 = "1 2", 259 = "2 1"), then 258 ("1 2", adding 260 =
    "1 2 1"), then 258 again ("1 2")."""
    stream = lzw_encode(np.array([1, 2, 1, 2, 1, 2], np.uint8))
    assert stream == pack_codes([(CLEAR, 9), (1, 9), (2, 9), (FIRST_FREE, 9), (FIRST_FREE, 9), (END, 9)])


def test_random_images_decode_exactly_through_code_width_changes_and_table_resets():
    """Random pixels fill the 4096-entry table several times: every code is as wide as the decoder
    expects at that point, a clear code follows each full table, and the stream is exactly the bytes
    its codes need."""
    rng = np.random.default_rng(7)
    for size in (0, 1, 2, 3, 255, 256, 257, 511, 512, 513, 1300, 3838, 3839, 3840, 12_000):
        pixels = rng.integers(0, 256, size).astype(np.uint8)
        decoded, read = strict_lzw_decode(lzw_encode(pixels))
        assert decoded == pixels.tolist(), f"{size} pixels"
        widths = {w for _, w in read}
        if size > 3000:
            assert widths == {9, 10, 11, 12}, f"{size} pixels"
        if size == 12_000:
            assert sum(code == CLEAR for code, _ in read) >= 3


def test_a_flat_image_decodes_exactly_with_ever_longer_run_codes():
    """One colour: the k-th code stands for k pixels (GIF89a's LZW extends the string each time), so
    10 000 pixels take 141 codes (1 + 2 + ... + 140 = 9870, then 130 more) between clear and end."""
    pixels = np.full(10_000, 9, np.uint8)
    decoded, read = strict_lzw_decode(lzw_encode(pixels))
    assert decoded == pixels.tolist()
    assert len(read) == 141 + 2
    assert [code for code, _ in read[1:5]] == [9, FIRST_FREE, FIRST_FREE + 1, FIRST_FREE + 2]


def test_a_palette_of_few_colours_is_padded_with_black_without_dividing_empty_bins():
    """Two colours asked into four entries: the two, then black (the docstring's padding); the empty
    colour bins are never averaged (0 / 0 would warn and cast NaN to a byte)."""
    frame = np.zeros((2, 3, 3), np.uint8)
    frame[:, :2] = (12, 100, 204)
    frame[:, 2:] = (60, 60, 60)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        palette = build_palette([frame], colors=4)
    assert palette.tolist() == [[12, 100, 204], [60, 60, 60], [0, 0, 0], [0, 0, 0]]


def test_every_colour_bin_gets_its_nearest_palette_entry_across_the_lookups_blocks():
    """Black and (36, 4, 4): a bin centre (b, g, r) (each 8 k + 4) is nearer the second when
    72 b + 8 g + 8 r > 36**2 + 4**2 + 4**2 = 1328 (squared distances expanded). Checked for all 32768
    bins, among them those at the seams of the 4096-bin blocks the table is filled in (4096, 8193, ...)."""
    palette = np.array([[0, 0, 0], [36, 4, 4]], np.uint8)
    lookup = palette_lookup(palette)
    centre = np.arange(32) * 8 + 4
    b, g, r = np.meshgrid(centre, centre, centre, indexing="ij")  # bin index = b_level << 10 | g << 5 | r
    expected = (72 * b + 8 * g + 8 * r > 1328).reshape(-1)
    assert lookup.shape == (32768,)
    assert lookup[[4096, 8193, 12290, 16387, 20484, 24581, 28678]].tolist() == [1] * 7
    np.testing.assert_array_equal(lookup, expected.astype(np.uint8))


def test_by_default_a_gif_loops_and_shows_every_colour_change(tmp_path):
    """The defaults of `encode_gif` and `write_gif`: the looping NETSCAPE2.0 extension, and tolerance 0
    ("only identical colours" are kept): (7, 8, 8) -> (8, 8, 8), one unit apart and in two colour bins,
    is shown as the new colour in frame 2."""
    frames = [np.full((2, 3, 3), (7, 8, 8), np.uint8), np.full((2, 3, 3), 8, np.uint8)]
    data = encode_gif(frames, fps=10)
    written = write_gif(tmp_path / "d.gif", frames, fps=10)
    (tmp_path / "e.gif").write_bytes(data)
    for path in (written, tmp_path / "e.gif"):
        assert b"NETSCAPE2.0" in path.read_bytes()
        decoded = decode_gif_with_ffmpeg(path)
        np.testing.assert_array_equal(decoded[1], frames[1], err_msg=path.name)
