"""Edge cases of `discmot.io.video.skips` (skipped frames summed up in one line) and
`discmot.io.video.sequence` (a MOTChallenge sequence folder as frames). Expected lines are written out by
hand from the functions' docstrings.
"""

from __future__ import annotations

import logging

import pytest

from discmot.io.video import skipped_clauses, skipped_summary
from discmot.io.video.sequence import SequenceFrames
from discmot.io.video.skips import frame_ranges
from helpers import write_image_sequence


def test_eight_runs_are_all_shown_and_a_ninth_folds_them():
    """Up to ``shown`` (8) runs are listed; beyond, the first ``shown - 2``, ``...``, the last and the
    count of runs."""
    eight = [1, 3, 5, 7, 9, 11, 13, 15]
    assert frame_ranges(eight) == "1, 3, 5, 7, 9, 11, 13, 15"
    assert frame_ranges([*eight, 17]) == "1, 3, 5, 7, 9, 11, ..., 17 (9 runs)"
    assert frame_ranges([*eight, 17], shown=9) == "1, 3, 5, 7, 9, 11, 13, 15, 17"
    assert frame_ranges([1, 2, 4, 5, 6, 9], shown=2) == "..., 9 (3 runs)"


def test_runs_join_consecutive_numbers_only():
    """``[4, 5, 6]`` is one run ``4-6``; a gap of one frame (``6, 8``) starts a new run."""
    assert frame_ranges([4, 5, 6]) == "4-6"
    assert frame_ranges([4, 5, 6, 8, 9]) == "4-6, 8-9"
    assert frame_ranges([1, 3, 4, 10]) == "1, 3-4, 10"


def test_a_frame_skipped_twice_counts_once_in_the_total():
    skips = [
        (5, "seq", "has no image file"),
        (5, "seq", "has no image file"),
        (6, "seq", "has no image file"),
    ]
    assert skipped_summary("seq", skips) == "seq: 2 frames skipped in all: frames 5-6 have no image file"


@pytest.mark.parametrize(
    "location, reason, skips, clause",
    [
        (
            "seq",
            "is a truncated JPEG",
            [(2, "seq/2.jpg"), (3, "seq/3.jpg")],
            "frames 2-3 are truncated JPEGs (2.jpg, ...)",
        ),
        (
            "seq",
            "is not a readable image",
            [(2, "x/2.jpg"), (4, "y/4.jpg")],
            "frames 2, 4 are not readable images (x/2.jpg, ...)",
        ),
        (
            "seq",
            "is an empty file (0 bytes)",
            [(7, "seq/7.jpg"), (8, "seq/8.jpg")],
            "frames 7-8 are empty files (0 bytes) (7.jpg, ...)",
        ),
        (
            "seq",
            "cannot be read (denied)",
            [(1, "seq/1.png"), (2, "seq/2.png")],
            "frames 1-2 cannot be read (denied) (1.png, ...)",
        ),
        ("seq", "has no image file", [(3, "seq"), (4, "seq")], "frames 3-4 have no image file"),
        ("v.mp4", "is a bad frame", [(3, "v.mp4"), (4, "v.mp4")], "frames 3-4 are a bad frame"),
    ],
)
def test_one_reason_for_several_frames_is_said_in_the_plural_with_the_first_file_named(
    location, reason, skips, clause
):
    """Reasons listed in the table take its plural; others: ``has`` -> ``have``, ``is`` -> ``are``;
    ``cannot ...`` fits both. The first file is named by its name in ``location``, by its path
    elsewhere, followed by ``...`` when there are more; none when the skips name ``location`` itself."""
    assert skipped_clauses(location, [(number, where, reason) for number, where in skips]) == clause


def test_one_frame_is_said_in_the_singular_with_its_file():
    assert skipped_clauses("seq", [(9, "other/9.jpg", "is a truncated JPEG")]) == (
        "frame 9 is a truncated JPEG (other/9.jpg)"
    )
    assert skipped_clauses("seq", [(9, "seq", "has no image file")]) == "frame 9 has no image file"


# --------------------------------------------------------------------------------------------------
# discmot.io.video.sequence


def test_a_sequence_without_images_yields_none_for_each_frame_of_its_seqlength(tmp_path):
    """Without an image folder (precomputed detections need none): ``(k, None)`` for ``k = 1..seqLength``,
    no image, first frame 1, and nothing skipped."""
    source = SequenceFrames(write_image_sequence(tmp_path / "seq", 3, size=(640, 480)))
    assert list(source) == [(1, None), (2, None), (3, None)]
    assert not source.has_images and source.first_number == 1 and source.skipped == []
    assert source.size == (640, 480) and source.num_frames == 3 and source.frame_path(1) is None
    assert list(source.frames_up_to(2)) == [(1, None), (2, None)]


@pytest.mark.parametrize("size", [None, (640, None), (None, 480)])
def test_a_sequence_without_both_sizes_in_its_seqinfo_takes_its_first_images(tmp_path, size):
    """``size`` is ``(imWidth, imHeight)`` when seqinfo.ini gives both, otherwise the first image's
    ``(width, height)``."""
    assert SequenceFrames(write_image_sequence(tmp_path / "seq", 2, ["000001.jpg"], size)).size == (32, 24)
    both = write_image_sequence(tmp_path / "both", 2, ["000001.jpg"], (640, 480))
    assert SequenceFrames(both).size == (640, 480)


def test_a_sequence_whose_images_start_later_says_its_first_number(tmp_path):
    """``first_number`` is the smallest image number; frames before it are still frames (skipped)."""
    images = ["000003.jpg", "000004.jpg", "000005.jpg"]
    source = SequenceFrames(write_image_sequence(tmp_path / "seq", 5, images))
    assert source.first_number == 3
    assert [k for k, _ in source] == [3, 4, 5] and source.skipped == [1, 2]


def test_frames_stop_at_the_seqlength_or_before_it(tmp_path, caplog):
    """`frames_up_to` stops at ``min(last, seqLength)``; a missing image is skipped, said with the folder
    (there is no file to name)."""
    folder = write_image_sequence(tmp_path / "seq", 3, ["000001.jpg", "000003.jpg"])
    with caplog.at_level(logging.WARNING, logger="discmot.io.video"):
        assert [k for k, _ in SequenceFrames(folder).frames_up_to(9)] == [1, 3]
    assert [r.getMessage() for r in caplog.records] == [f"{folder}: frame 2 has no image file; skipped"]
    assert [k for k, _ in SequenceFrames(folder).frames_up_to(1)] == [1]


def test_only_images_numbered_past_the_seqlength_are_said_untracked(tmp_path, caplog):
    """Images numbered ``seqLength + 1`` on are counted in the warning; the one numbered ``seqLength`` is a
    frame like the others."""
    folder = write_image_sequence(tmp_path / "seq", 3, [f"{k:06d}.jpg" for k in range(1, 6)])
    with caplog.at_level(logging.WARNING, logger="discmot.io.video"):
        source = SequenceFrames(folder)
    assert [r.getMessage() for r in caplog.records] == [
        f"{folder}: 2 image(s) after frame 3, the seqLength of its seqinfo.ini, are not tracked"
    ]
    assert [k for k, _ in source] == [1, 2, 3]


def test_numbered_images_beside_other_names_keep_their_numbers(tmp_path):
    """One image named by a number is enough for frame numbers from names (the others are ignored); only
    when none is do frames follow the names' natural order from 1."""
    images = ["000002.jpg", "000003.jpg", "cover.jpg"]
    numbered = SequenceFrames(write_image_sequence(tmp_path / "seq", 3, images))
    assert numbered.frame_path(1) is None and numbered.frame_path(2).name == "000002.jpg"
    named = SequenceFrames(write_image_sequence(tmp_path / "named", 2, ["b.jpg", "a.jpg"]))
    assert [named.frame_path(k).name for k in (1, 2)] == ["a.jpg", "b.jpg"]
