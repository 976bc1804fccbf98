"""Edge cases of `discmot.postprocess` (``discmot interpolate``) that tests/test_interpolate.py leaves open:
the smallest accepted row width, tracks that follow each other in id order, the row named by an error,
which files of a folder are results, an output that is the input through a hard link, and how the
columns after the score are read from lines with a trailing delimiter or padded with spaces.

Expected values are worked out by hand from the documented rules (`interpolate_tracks`: a box ``k``
frames into a gap of ``b - a`` frames is ``left + (right - left) * k / (b - a)``; inserted lines: frame
to score as ``format_mot_rows`` writes them, boxes to 2 decimals, then the earlier box's later columns as
TrackEval's reader splits its line, spec ``eval.md`` §1.4), never from discmot's output.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from discmot.postprocess import interpolate_results, interpolate_tracks
from helpers import write_lines

# --------------------------------------------------------------------------------------------------
# Arrays


def test_rows_of_exactly_seven_columns_are_accepted_and_interpolated():
    """Rows need ``C >= 7`` columns (frame, id, x, y, w, h, score): seven are enough. Frames 1 and 3 of
    id 4 give the midpoint row in frame 2: box (11, 20, 30, 40), score (1 + 0.5) / 2 = 0.75."""
    rows = np.array([[1, 4, 10, 20, 30, 40, 1.0], [3, 4, 12, 20, 30, 40, 0.5]])
    out = interpolate_tracks(rows, max_gap=1)
    assert out.tolist() == [rows[0].tolist(), [2, 4, 11, 20, 30, 40, 0.75], rows[1].tolist()]


def test_a_track_is_never_bridged_to_the_next_id_across_a_short_gap():
    """Gaps are filled "for each id, two consecutive boxes": id 1 ends at frame 3 and id 2 starts at frame 6
    (2 frames later, within max_gap); sorted by id then frame they are neighbours, yet no row is added."""
    rows = np.array(
        [[f, 1, 0, 0, 10, 10, 1.0] for f in (1, 2, 3)] + [[f, 2, 50, 0, 10, 10, 1.0] for f in (6, 7, 8)]
    )
    out = interpolate_tracks(rows, max_gap=5)
    assert out.tolist() == rows.tolist()


def test_a_value_that_is_not_finite_is_refused_naming_its_row():
    """``ValueError`` names the 1-based row holding the first non-finite value: row 2 here (nan box x)."""
    rows = np.array([[1, 1, 0, 0, 10, 10, 1.0], [2, 1, np.nan, 0, 10, 10, 1.0], [3, 1, 0, 0, 10, 10, 1.0]])
    with pytest.raises(ValueError, match=r"rows: row 2 holds a value that is not a finite number"):
        interpolate_tracks(rows)


# --------------------------------------------------------------------------------------------------
# Files


def test_a_folder_leaves_out_hidden_files_and_folders_named_like_results(tmp_path):
    """ "Hidden files are not results": of a folder holding ``a.txt``, a hidden ``.b.txt`` (another tool's
    half-written file, not even valid) and a sub-folder ``c.txt``, only ``a.txt`` is read and written."""
    folder = tmp_path / "data"
    folder.mkdir()
    write_lines(folder / "a.txt", ["1,4,10,20,30,40,1", "3,4,12,20,30,40,1"])
    write_lines(folder / ".b.txt", ["not a results row"])
    (folder / "c.txt").mkdir()

    summaries = interpolate_results(folder, tmp_path / "out")

    assert [s.source.name for s in summaries] == ["a.txt"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.txt"]


def test_an_out_that_is_a_hard_link_to_the_input_is_refused(tmp_path):
    """ "Refuses an out that is the input (also through a link)": a hard link is the same file under
    another name, so it is refused and the input stays as it was."""
    source = write_lines(tmp_path / "in.txt", ["1,4,10,20,30,40,1", "3,4,12,20,30,40,1"])
    os.link(source, tmp_path / "link.txt")
    before = source.read_bytes()

    with pytest.raises(ValueError, match="is the input file"):
        interpolate_results(source, tmp_path / "link.txt")

    assert source.read_bytes() == before


def test_the_later_columns_of_a_line_with_a_trailing_delimiter_are_read_as_trackeval_reads_them(tmp_path):
    """Spec §1.4: a trailing delimiter is tolerated, its empty last field dropped. The inserted row of
    frame 2 takes the earlier box's later columns as read (``-1,-1,-1``, not ``-1,-1,-1,``):
    ``2,4,11.00,20.00,30.00,40.00,1,-1,-1,-1``."""
    lines = ["1,4,10,20,30,40,1,-1,-1,-1,", "3,4,12,20,30,40,1,-1,-1,-1,"]
    source = write_lines(tmp_path / "in.txt", lines)

    interpolate_results(source, tmp_path / "out.txt")

    assert (tmp_path / "out.txt").read_text().splitlines() == [
        lines[0],
        "2,4,11.00,20.00,30.00,40.00,1,-1,-1,-1",
        lines[1],
    ]


def test_the_later_columns_of_a_space_padded_line_are_read_as_trackeval_reads_them(tmp_path):
    """Spec §1.4: ``skipinitialspace=True``, so columns aligned with runs of spaces split as single ones.
    The inserted row takes the earlier line's columns 8-10 (``1 2 0.75``), joined by one space:
    ``2 4 11.00 20.00 30.00 40.00 1 1 2 0.75``."""
    lines = ["1  4  10  20  30  40  1  1  2  0.75", "3  4  12  20  30  40  1  5  6  0.5"]
    source = write_lines(tmp_path / "in.txt", lines)

    interpolate_results(source, tmp_path / "out.txt")

    assert (tmp_path / "out.txt").read_text().splitlines() == [
        lines[0],
        "2 4 11.00 20.00 30.00 40.00 1 1 2 0.75",
        lines[1],
    ]
