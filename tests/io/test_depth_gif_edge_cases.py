"""Edge cases of the depth-map writer (`discmot.io.depth`, spec fdta.md §8.2) and the GIF writer
(`discmot.io.gif`): spilling to disk, non-finite estimates, the local-only Depth Anything loader, and
the exact bytes of the GIF89a format."""

from __future__ import annotations

import warnings

import cv2
import numpy as np
import pytest

import helpers
from depth_stand_in import StandInDepthModel, install_stand_in_transformers
from discmot.io.depth import DepthAccumulator, depth_anything, inverse_depth, sequences_of
from discmot.io.gif import build_palette, encode_gif, write_gif


def read_map(path) -> np.ndarray:
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


# --- depth: DepthAccumulator -------------------------------------------------------------------------


def test_maps_past_the_memory_limit_spill_to_disk_and_are_written_the_same(tmp_path):
    """A map that exactly fills ``memory_limit`` stays in memory ("up to memory_limit bytes"), the next
    ones go to a scratch folder, which `write` removes; the PNGs are those of the in-memory path:
    floor(255 * D / max) over the whole sequence (§8.2)."""
    maps = [np.full((2, 3), value, np.float32) for value in (1.0, 2.0, 4.0)]
    accumulator = DepthAccumulator(memory_limit=maps[0].nbytes)
    for k, values in enumerate(maps):
        accumulator.add(f"{k + 1:06d}", values)
    held, spilled = accumulator.maps[0], accumulator.maps[1:]
    assert isinstance(held, np.ndarray) and accumulator.held == maps[0].nbytes
    assert all(not isinstance(m, np.ndarray) and m.is_file() for m in spilled)
    scratch = spilled[0].parent
    assert spilled[1].parent == scratch  # one scratch folder for the sequence

    assert accumulator.write(tmp_path) == 3
    # floor(255 * 1/4) = 63, floor(255 * 2/4) = 127, floor(255 * 4/4) = 255
    assert [int(read_map(tmp_path / "depth" / f"00000{k}.png")[0, 0]) for k in (1, 2, 3)] == [63, 127, 255]
    assert not scratch.exists()


def test_memory_is_counted_across_maps(tmp_path):
    """Two maps fit a limit of two maps' bytes; the third does not (the count grows by each map's
    bytes)."""
    values = np.ones((4, 4), np.float32)
    accumulator = DepthAccumulator(memory_limit=2 * values.nbytes)
    for stem in ("1", "2", "3"):
        accumulator.add(stem, values)
    assert [isinstance(m, np.ndarray) for m in accumulator.maps] == [True, True, False]
    assert accumulator.held == 2 * values.nbytes
    accumulator.write(tmp_path)


def test_non_finite_estimates_are_no_depth_and_do_not_set_the_scale(tmp_path):
    """NaN and +inf inverse depth (a depth of 0 or an estimator's hole) are stored as 0, the
    out-of-range value of §8.2's loader, and negative values clip to 0; the scale is the largest
    finite value: floor(255 * 2 / 4) = 127."""
    accumulator = DepthAccumulator()
    accumulator.add("000001", np.array([[np.nan, np.inf, -3.0, 2.0, 4.0]], np.float32))
    assert accumulator.largest == 4.0
    accumulator.write(tmp_path)
    assert read_map(tmp_path / "depth" / "000001.png").tolist() == [[0, 0, 0, 127, 255]]


def test_a_sequence_without_any_depth_writes_zero_maps_without_dividing_by_zero(tmp_path):
    """Every pixel infinitely far (inverse depth 0): max_seq(D) = 0, so floor(255 * D / max) has no
    value; the maps are all 0 (out of range, §8.2) and no 0/0 is computed."""
    accumulator = DepthAccumulator()
    accumulator.add("000001", np.zeros((3, 4), np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert accumulator.write(tmp_path) == 1
    written = read_map(tmp_path / "depth" / "000001.png")
    assert written.dtype == np.uint8 and written.shape == (3, 4) and not written.any()


def test_inverse_depth_is_one_over_depth():
    """D is inverse-depth-like, larger = nearer (§8.2): 1/2, 1/4, and 0 for an infinitely far pixel."""
    result = inverse_depth(np.array([2.0, 4.0, np.inf, 0.5]))
    assert result.dtype == np.float32
    assert result.tolist() == [0.5, 0.25, 0.0, 2.0]


# --- depth: sequences_of ----------------------------------------------------------------------------


def test_a_missing_data_root_is_said_as_such(tmp_path):
    with pytest.raises(ValueError, match="folder not found"):
        sequences_of(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="train: folder not found"):
        sequences_of(tmp_path, "train")


def test_the_split_hint_names_a_split_holding_any_sequence(tmp_path):
    """A split folder is named when any of its sub-folders is a sequence (has img1/), even beside a
    folder that is not one."""
    helpers.write_gt_sequence(tmp_path, "seq-a", "1,1,1,1,5,5,1,1,1\n")
    (tmp_path / "train" / "notes").mkdir()
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"\(its split folders: train; pass --split train\)"):
        sequences_of(tmp_path)


# --- depth: Depth Anything loader (a stand-in for the optional transformers) ------------------------


@pytest.fixture()
def stand_in(monkeypatch, tmp_path):
    """A fake ``transformers`` whose model predicts the image's brightness; yields the weights folder."""
    install_stand_in_transformers(monkeypatch)
    (tmp_path / "weights").mkdir()
    return tmp_path / "weights"


def test_depth_anything_loads_local_files_only(stand_in):
    """ "From local weights only": nothing is downloaded, both loaders get local_files_only=True."""
    depth_anything(stand_in)
    assert StandInDepthModel.loaded == [{"local_files_only": True}, {"local_files_only": True}]


def test_a_metric_depth_anything_model_is_refused(stand_in, monkeypatch):
    """Metric models give depth (larger = farther); §8.2's maps need inverse depth (larger = nearer)."""
    monkeypatch.setattr(StandInDepthModel, "kind", "metric")
    with pytest.raises(ValueError, match="a metric Depth Anything model"):
        depth_anything(stand_in)


def test_a_folder_that_is_no_model_names_the_loaders_first_line(stand_in, monkeypatch):
    monkeypatch.setattr(StandInDepthModel, "error", OSError("no config.json in it"))
    with pytest.raises(
        FileNotFoundError, match=r"not a Depth Anything model folder \(no config.json in it\)"
    ):
        depth_anything(stand_in)


def test_the_depth_anything_estimator_finds_the_frames_itself_or_takes_the_given_ones(stand_in, tmp_path):
    """Called without stems it reads the sequence's frames (in frame order); with stems, those only."""
    sequence = helpers.write_gt_sequence(tmp_path / "data", "seq-a", "1,1,1,1,5,5,1,1,1\n", frames=3)
    estimate = depth_anything(stand_in)
    found = list(estimate(sequence))
    assert [stem for stem, _ in found] == ["000001", "000002", "000003"]
    assert all(values.shape == (50, 100) for _, values in found)  # the frame's own size (w 100, h 50)
    assert [stem for stem, _ in estimate(sequence, stems=["000002"])] == ["000002"]


# --- GIF89a (discmot.io.gif) ----------------------------------------------------------------------------


def graphic_controls(data: bytes) -> list[tuple[int, int, int]]:
    """``(packed flags, delay, transparent index)`` of every Graphic Control Extension (21 F9 04)."""
    found, start = [], 0
    while (at := data.find(b"\x21\xf9\x04", start)) >= 0:
        found.append((data[at + 3], int.from_bytes(data[at + 4 : at + 6], "little"), data[at + 6]))
        start = at + 8
    return found


def test_the_gif_header_declares_a_global_table_of_256_colours():
    """GIF89a §18: logical screen width, height (little endian), packed 0xF7 = global colour table,
    8 bits of colour resolution, unsorted, 2**(7+1) = 256 entries; background 0, aspect 0."""
    frame = np.zeros((3, 5, 3), np.uint8)
    frame[:, :, 2] = 252  # red in BGR
    data = encode_gif([frame], fps=10, loop=False)
    assert data[:13] == b"GIF89a" + bytes([5, 0, 3, 0, 0xF7, 0, 0])
    table = data[13 : 13 + 768]
    assert table[:3] == bytes([252, 0, 0])  # RGB order in the file
    assert data[13 + 768 : 13 + 768 + 3] == b"\x21\xf9\x04"  # without loop: the first frame follows
    assert b"NETSCAPE2.0" not in data


def test_a_looping_gif_carries_the_netscape_extension_with_loop_count_0():
    """NETSCAPE2.0 application extension, sub-block 1 with loop count 0 = forever, right after the
    global colour table."""
    data = encode_gif([np.zeros((2, 2, 3), np.uint8)], fps=10, loop=True)
    assert data[13 + 768 : 13 + 768 + 19] == b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"


@pytest.mark.parametrize("fps, delay", [(1000, 1), (3, 33), (30, 3), (0.5, 200)])
def test_the_delay_is_hundredths_rounded_and_never_0(fps, delay):
    """GIF delays are hundredths of a second: round(100 / fps), at least 1 (0 means "no delay", which
    viewers replace with their own)."""
    frames = [np.zeros((2, 2, 3), np.uint8), np.full((2, 2, 3), 100, np.uint8)]
    assert [d for _, d, _ in graphic_controls(encode_gif(frames, fps=fps))] == [delay, delay]


def test_frames_after_the_first_use_transparency_over_the_kept_frame():
    """Disposal method 1 (keep) = 0x04 for every frame; the transparency flag (0x01) from the second
    frame on, with index 255 as the transparent one."""
    frames = [np.full((4, 4, 3), 8 * k + 4, np.uint8) for k in range(3)]
    assert graphic_controls(encode_gif(frames, fps=10)) == [(0x04, 10, 255), (0x05, 10, 255), (0x05, 10, 255)]


def test_a_colour_within_the_tolerance_keeps_the_shown_one_at_exactly_the_tolerance(tmp_path):
    """``tolerance``: a pixel whose new colour is within this Euclidean distance of the shown one keeps
    the shown one. Bin centres (12, 4, 4) and (4, 4, 4) are exactly 8 apart: kept at tolerance 8, not at
    7.9."""
    first = np.full((4, 6, 3), 4, np.uint8)
    second = first.copy()
    second[:, :3, 0] = 12
    for tolerance, expected in ((8.0, first), (7.9, second)):
        path = write_gif(tmp_path / f"t{tolerance}.gif", [first, second], fps=10, tolerance=tolerance)
        decoded = helpers.decode_gif_with_ffmpeg(path)
        np.testing.assert_array_equal(decoded[1], expected, err_msg=f"tolerance {tolerance}")


def test_the_palette_counts_every_stride_th_pixel():
    """With stride 2 only pixels (0, 0), (0, 2), (0, 4) of a 1x6 row are counted: colour A alone."""
    a, b = (200, 100, 52), (20, 60, 244)
    row = np.array([[a, b, a, b, a, b]], np.uint8)
    assert build_palette([row], colors=2, stride=2).tolist() == [list(a), [0, 0, 0]]
    assert sorted(build_palette([row], colors=2, stride=1).tolist()) == sorted([list(a), list(b)])


def test_a_palette_entry_is_the_mean_colour_of_its_bin():
    """200, 200 and 203 fall in one 5-bit bin (200 >> 3 == 203 >> 3 == 25): the entry is their mean,
    201."""
    frame = np.array([[(200, 8, 8), (200, 8, 8), (203, 8, 8)]], np.uint8)
    assert build_palette([frame], colors=1).tolist() == [[201, 8, 8]]


@pytest.mark.parametrize(
    "size, blocks", [(0, []), (1, [1]), (255, [255]), (256, [255, 1]), (600, [255, 255, 90])]
)
def test_image_data_is_split_into_sub_blocks_of_at_most_255_bytes(size, blocks):
    """GIF89a §15: each data sub-block is a length byte (1..255) and that many bytes; a 0 block ends them."""
    from discmot.io.gif import _sub_blocks

    data = bytes(range(256)) * 3
    packed = _sub_blocks(data[:size])
    lengths, at = [], 0
    while packed[at]:
        lengths.append(packed[at])
        at += packed[at] + 1
    assert lengths == blocks and at == len(packed) - 1
    assert b"".join(packed[k + 1 : k + 1 + n] for k, n in _offsets(lengths)) == data[:size]


def _offsets(lengths):
    at = 0
    for n in lengths:
        yield at, n
        at += n + 1


def test_each_frame_is_a_full_image_descriptor_without_a_local_table():
    """GIF89a §20: 0x2C, left 0, top 0, width, height (little endian), packed 0 (no local colour table,
    not interlaced), then the LZW minimum code size 8."""
    frames = [np.zeros((3, 5, 3), np.uint8), np.full((3, 5, 3), 100, np.uint8)]
    data = encode_gif(frames, fps=10, loop=False)
    descriptor = bytes([0x2C, 0, 0, 0, 0, 5, 0, 3, 0, 0, 8])
    assert data.count(descriptor) == 2
    assert data.endswith(b"\x00\x3b")  # the last sub-block terminator, then the trailer


def test_the_palette_has_256_entries_by_default():
    assert build_palette([np.zeros((2, 2, 3), np.uint8)]).shape == (256, 3)
