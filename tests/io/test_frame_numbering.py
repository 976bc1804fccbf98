"""Frame numbers of image folders and globs, folders without ``seqinfo.ini``, skip warnings summed up,
and the one-line errors for files that are no video.

An image folder or glob whose images are all named by a number is numbered by those numbers, the rule of
sequence folders (``SequenceFrames``): a missing image is a skipped frame, not a shift of every later
frame against the ground truth. Images named from 0 are frame number + 1.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from discmot.cli import main
from discmot.io.mot import read_mot_table
from discmot.io.video import (
    ImageFiles,
    SequenceFrames,
    VideoWriter,
    first_frames,
    frame_ranges,
    open_source,
)

VIDEO_LOG = "discmot.io.video"


def write_numbered(folder: Path, names: list[str]) -> None:
    """Images whose brightness is 10 x the number in their name (or their position), modulo 250."""
    folder.mkdir(parents=True, exist_ok=True)
    for k, name in enumerate(names, start=1):
        stem = Path(name).stem
        level = 10 * (int(stem) if stem.isdigit() else k) % 250
        cv2.imwrite(str(folder / name), np.full((24, 32, 3), level, np.uint8))


def numbers_and_levels(source) -> list[tuple[int, int]]:
    return [(k, round(float(image.mean()) / 10)) for k, image in source]


def write_seqinfo(folder: Path, length: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "seqinfo.ini").write_text(
        f"[Sequence]\nname={folder.name}\nimDir=img1\nframeRate=25\nseqLength={length}\nimExt=.jpg\n"
    )


def warnings_of(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


# --------------------------------------------------------------------------------------------------
# Numbered names


def test_an_image_folder_is_numbered_as_its_sequence_folder_is(tmp_path):
    """``track seq/img1`` and ``track seq`` (with seqinfo.ini) give each image the same frame number."""
    sequence = tmp_path / "seq"
    write_numbered(sequence / "img1", [f"{k:06d}.jpg" for k in (2, 4, 6)])
    write_seqinfo(sequence, 6)
    folder, whole = open_source(sequence / "img1"), open_source(sequence)
    assert isinstance(folder, ImageFiles) and isinstance(whole, SequenceFrames)
    assert numbers_and_levels(folder) == numbers_and_levels(whole) == [(2, 2), (4, 4), (6, 6)]
    # the folder starts at its first image; the sequence's seqinfo.ini counts from 1: its frame 1 is missing
    assert folder.num_frames == 6 and folder.skipped == [3, 5] and whole.skipped == [1, 3, 5]
    assert [folder.frame_path(k) for k in (1, 2)] == [None, sequence / "img1" / "000002.jpg"]


def test_a_deleted_image_is_a_skipped_frame_not_a_shift(tmp_path, caplog):
    folder = tmp_path / "gap"
    write_numbered(folder, [f"{k:06d}.jpg" for k in range(1, 9) if k != 5])
    source = open_source(folder)
    with caplog.at_level(logging.WARNING, logger=VIDEO_LOG):
        assert numbers_and_levels(source) == [(k, k) for k in range(1, 9) if k != 5]
    assert source.skipped == [5]
    assert warnings_of(caplog) == [f"{folder}: frame 5 has no image file; skipped"]


def test_a_glob_keeps_the_numbers_of_the_names(tmp_path):
    write_numbered(tmp_path / "mixed", ["1.jpg", "4.jpg", "10.jpg"])
    source = open_source(str(tmp_path / "mixed" / "*.jpg"))
    assert numbers_and_levels(source) == [(1, 1), (4, 4), (10, 10)]
    assert [p.name for p in source.paths] == ["1.jpg", "4.jpg", "10.jpg"]


def test_images_named_from_zero_are_frame_number_plus_one_said_once(tmp_path, caplog):
    folder = tmp_path / "kitti"
    write_numbered(folder, [f"{k:06d}.png" for k in range(4)])
    with caplog.at_level(logging.INFO, logger=VIDEO_LOG):
        source = open_source(folder)
        open_source(folder)  # opened again (demo, a split's checks): said once
    assert [(k, level) for k, level in numbers_and_levels(source)] == [(1, 0), (2, 1), (3, 2), (4, 3)]
    said = [r.getMessage() for r in caplog.records if "numbered from 0" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith(f"{folder}: images numbered from 0 (000000.png)")
    assert source.frame_path(1) == folder / "000000.png"


def test_a_name_that_is_no_number_keeps_the_order_of_the_names(tmp_path, caplog):
    folder = tmp_path / "frames"
    write_numbered(folder, ["1.jpg", "4.jpg", "cover.jpg"])
    with caplog.at_level(logging.INFO, logger=VIDEO_LOG):
        source = open_source(folder)
    assert [k for k, _ in source] == [1, 2, 3] and source.skipped == []
    assert any(
        "1 of 3 images not named by a number (e.g. cover.jpg)" in r.getMessage() for r in caplog.records
    )
    write_numbered(tmp_path / "named", ["img2.jpg", "img10.jpg"])  # no number at all: nothing to say
    assert [k for k, _ in open_source(tmp_path / "named")] == [1, 2]


def test_timestamps_are_no_frame_numbers(tmp_path):
    folder = tmp_path / "ros"
    write_numbered(folder, ["1700000000100.jpg", "1700000000133.jpg"])
    source = open_source(folder)
    assert source.num_frames == 2 and [k for k, _ in source] == [1, 2]


def test_two_images_of_one_number_are_an_error_naming_both(tmp_path):
    folder = tmp_path / "twice"
    write_numbered(folder, ["000001.jpg", "1.png", "000002.jpg"])
    with pytest.raises(ValueError, match=r"000001.jpg and .*1.png are both image 1") as error:
        open_source(folder)
    assert str(error.value).startswith(f"{folder}: ")


def test_hidden_copies_are_no_frames(tmp_path):
    """macOS's ``._000001.jpg`` beside each image would turn a numbered folder positional (and be
    unreadable frames); a glob's ``*`` skips them, so does a folder."""
    folder = tmp_path / "frames"
    write_numbered(folder, ["000001.jpg", "000003.jpg"])
    (folder / "._000001.jpg").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    assert [k for k, _ in open_source(folder)] == [1, 3]


def test_max_frames_are_frame_numbers_not_a_count_of_images(tmp_path):
    folder = tmp_path / "gap"
    write_numbered(folder, [f"{k:06d}.jpg" for k in (1, 2, 4, 5, 6)])
    assert [k for k, _ in first_frames(open_source(folder), 4)] == [1, 2, 4]
    late = tmp_path / "late"
    write_numbered(late, [f"{k:06d}.jpg" for k in (500, 501)])
    with pytest.raises(ValueError, match=r"--max-frames 300 ends before the first image, frame 500 \("):
        first_frames(open_source(late), 300)


def test_tracking_a_folder_with_a_deleted_image_keeps_results_aligned(tmp_path):
    """End to end: results rows of an image folder with 000005.jpg deleted are the frames of the names,
    the detections of each frame are that frame's (before, every row after frame 4 was one frame off)."""
    folder = tmp_path / "frames"
    kept = [k for k in range(1, 11) if k != 5]
    write_numbered(folder, [f"{k:06d}.jpg" for k in kept])
    detections = tmp_path / "dets.txt"
    detections.write_text("".join(f"{k},-1,{2 * k},4,8,12,0.9,-1,-1,-1\n" for k in range(1, 11)))
    results = tmp_path / "out.txt"
    args = ["track", str(folder), "--detections", str(detections), "--save-txt", str(results), "-q"]
    assert main(args) in (0, None)
    rows = read_mot_table(results).values
    assert len(rows) >= 7 and 5 not in rows[:, 0] and set(rows[:, 0]) <= set(kept)
    assert np.allclose(rows[:, 2], 2 * rows[:, 0], atol=0.5)  # each row's box is its own frame's


# --------------------------------------------------------------------------------------------------
# A sequence folder without seqinfo.ini


def test_a_folder_with_only_an_img1_folder_is_read_as_it(tmp_path, caplog):
    camera = tmp_path / "own" / "cam_a"
    write_numbered(camera / "img1", [f"{k}.jpg" for k in range(1, 41)])
    with caplog.at_level(logging.INFO, logger=VIDEO_LOG):
        source = open_source(camera)
    assert isinstance(source, ImageFiles) and source.name == "cam_a" and source.num_frames == 40
    assert source.fps is None and source.frame_path(40) == camera / "img1" / "40.jpg"
    said = [r.getMessage() for r in caplog.records]
    assert said == [
        f"{camera}: no seqinfo.ini; reading the images of {camera / 'img1'} at the default frame rate, "
        "30 fps, unless --frame-rate says another"
    ]
    assert open_source(camera, fps=12.5).fps == 12.5
    (tmp_path / "empty" / "img1").mkdir(parents=True)  # an empty img1/: still no images
    with pytest.raises(ValueError, match="a folder with no images"):
        open_source(tmp_path / "empty")


# --------------------------------------------------------------------------------------------------
# Skipped frames: the first when it happens, the rest summed up


def test_missing_images_of_a_long_sequence_are_two_lines_not_one_per_frame(tmp_path, caplog):
    """60 images, seqLength 795: one line at frame 61, one summing up 61-795 (before: 735 lines)."""
    sequence = tmp_path / "seq"
    write_numbered(sequence / "img1", [f"{k:06d}.jpg" for k in range(1, 61)])
    write_seqinfo(sequence, 795)
    source = open_source(sequence)
    with caplog.at_level(logging.WARNING, logger=VIDEO_LOG):
        assert sum(1 for _ in source) == 60
    assert len(source.skipped) == 735
    assert warnings_of(caplog) == [
        f"{sequence}: frame 61 has no image file; skipped",
        f"{sequence}: 735 frames skipped in all: frames 61-795 have no image file",
    ]


def test_a_pass_cut_short_sums_up_what_it_skipped_and_a_second_pass_repeats_nothing(tmp_path, caplog):
    folder = tmp_path / "frames"
    write_numbered(folder, [f"{k:06d}.jpg" for k in (1, 4, 8, 9)])
    source = open_source(folder)
    with caplog.at_level(logging.WARNING, logger=VIDEO_LOG):
        assert [k for k, _ in first_frames(source, 5)] == [1, 4]
        first_pass = warnings_of(caplog)
        assert [k for k, _ in source] == [1, 4, 8, 9]
    assert first_pass == [
        f"{folder}: frame 2 has no image file; skipped",
        f"{folder}: 3 frames skipped in all: frames 2-3, 5 have no image file",  # not 6-7, after 5
    ]
    assert warnings_of(caplog)[2:] == [
        f"{folder}: 5 frames skipped in all: frames 2-3, 5-7 have no image file"
    ]
    assert source.skipped == [2, 3, 5, 6, 7]  # each once


def test_frame_ranges():
    assert frame_ranges([3]) == "3"
    assert frame_ranges([3, 5, 6, 7, 10]) == "3, 5-7, 10"
    assert frame_ranges(list(range(2, 40, 2))) == "2, 4, 6, 8, 10, 12, ..., 38 (19 runs)"


# --------------------------------------------------------------------------------------------------
# Files that are no video


def test_files_that_are_no_video_say_what_they_are(tmp_path):
    (tmp_path / "empty.mp4").touch()
    (tmp_path / "empty.jpg").touch()
    (tmp_path / "notes.txt").write_text("hello\n")
    (tmp_path / "long.txt").write_text("notes of the run\n" * 2000)  # FFmpeg would read it as a picture
    (tmp_path / "table.csv").write_text("a,b\n1,2\n")
    (tmp_path / "IMG_0001.HEIC").write_bytes(b"\x00\x00\x00\x18ftypheic" + bytes(64))
    expected = {
        "empty.mp4": "empty file (0 bytes)",
        "empty.jpg": "empty file (0 bytes)",
        "notes.txt": "not a video or image (suffix .txt)",
        "long.txt": "not a video or image (suffix .txt)",
        "table.csv": "not a video or image (suffix .csv)",
        "IMG_0001.HEIC": "HEIC images are not read (convert it to JPEG or PNG)",
    }
    for name, words in expected.items():
        with pytest.raises(ValueError) as error:
            open_source(tmp_path / name)
        assert str(error.value) == f"{tmp_path / name}: {words}"


def test_a_video_cut_before_its_index_keeps_ffmpegs_reason(tmp_path):
    clip = tmp_path / "clip.mp4"
    with VideoWriter(clip, 10, (32, 24)) as writer:  # the index (moov) is written at the end
        for k in range(10):
            writer.write(np.full((24, 32, 3), 20 * k, np.uint8))
    data = clip.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError) as error:
        open_source(tmp_path / "cut.mp4")
    assert str(error.value) == (
        f"{tmp_path / 'cut.mp4'}: cannot open video (Invalid data found when processing input: damaged, "
        "cut short, or not a video)"
    )
    (tmp_path / "video.bin").write_bytes(data)  # a video with an odd suffix is still read
    assert open_source(tmp_path / "video.bin").num_frames == 10
