"""Edge cases of `discmot.data.jde_export` (MOTChallenge sequences -> CSTrack's JDE layout, spec
``cstrack.md`` §6.1-6.2) left open by tests/data/test_jde_export.py (mutation testing, third pass).

Expected labels are worked out by hand from §6.1: one line ``class identity cx cy w h`` per box, class 0,
centre and size divided by the image width/height; which rows are kept follows the module docstring
(consider flag, class 1 only when column 8 is a class, MOT15's world coordinates otherwise).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from discmot.data.jde import read_image_list, read_labels
from discmot.data.jde_export import export_jde, kept_rows
from helpers import write_gt_sequence


def exported_labels(done, out: Path) -> list[np.ndarray]:
    """The label rows of every listed image, in list order."""
    return [read_labels(label) for _, label in read_image_list(done.list_file, out)]


# --------------------------------------------------------------------------------------------------
# where the export goes, and what it needs


def test_an_out_path_that_is_a_file_is_refused_by_name(tmp_path):
    seq = write_gt_sequence(tmp_path / "data", "S", "1,1,0,0,10,10,1,1,1\n")
    (tmp_path / "jde").write_text("not a folder")
    with pytest.raises(NotADirectoryError, match=r"jde: a file, not a folder for the JDE layout \(--out\)"):
        export_jde([seq], tmp_path / "jde", "s", "train")


def test_a_sequence_without_its_image_folder_is_named(tmp_path):
    seq = write_gt_sequence(tmp_path / "data", "S", "1,1,0,0,10,10,1,1,1\n")
    for image in (seq / "img1").iterdir():
        image.unlink()
    (seq / "img1").rmdir()
    with pytest.raises(FileNotFoundError, match=r"img1: image folder not found"):
        export_jde([seq], tmp_path / "jde", "s", "train")


# --------------------------------------------------------------------------------------------------
# which rows are kept


def test_a_gt_with_a_consider_column_and_no_class_column_filters_by_consider_only(tmp_path):
    """Seven columns: the 7th is the consider flag, there is no 8th (class) to read. The considered
    box (10, 10, 20, 30) in a 100x50 frame is ``0 1 0.2 0.5 0.2 0.6``; the consider=0 row is dropped."""
    seq = write_gt_sequence(tmp_path / "data", "S", "1,4,10,10,20,30,1\n1,5,50,10,20,30,0\n", frames=1)
    done = export_jde([seq], tmp_path / "jde", "s", "train")
    assert (done.boxes, done.identities) == (1, 1)
    np.testing.assert_allclose(exported_labels(done, tmp_path / "jde")[0], [[0, 1, 0.2, 0.5, 0.2, 0.6]])


def test_class_13_is_a_motchallenge_class_and_not_warned_about(tmp_path, caplog):
    """MOTChallenge's classes are 1-13 (13: crowd, MOT20): a class-13 row is dropped (not a pedestrian)
    without the warning about class numbers outside 1-13."""
    gt = "1,1,10,10,20,30,1,1,1\n1,2,50,10,20,30,1,13,1\n2,1,12,10,20,30,1,1,1\n"
    seq = write_gt_sequence(tmp_path / "data", "S", gt)
    with caplog.at_level("WARNING"):
        done = export_jde([seq], tmp_path / "jde", "s", "train")
    assert (done.boxes, done.identities) == (2, 1)
    assert "none of MOTChallenge's 1-13" not in caplog.text


# --------------------------------------------------------------------------------------------------
# the sparse-annotation warning: fewer than half the frames


def test_boxes_on_exactly_half_the_frames_are_not_warned_about(tmp_path, caplog):
    """The module docstring: a sequence "with boxes on fewer than half its frames is warned about":
    1 of 2 frames is half, not fewer (no warning); 1 of 3 is fewer (warned), with two people in it."""
    half = write_gt_sequence(tmp_path / "data", "HALF", "1,1,0,0,10,10,1,1,1\n", frames=2)
    with caplog.at_level("WARNING"):
        export_jde([half], tmp_path / "jde", "h", "train")
    assert "frames have a box" not in caplog.text
    two_people = "2,1,0,0,10,10,1,1,1\n2,2,20,0,10,10,1,1,1\n"  # frames are counted, not people
    third = write_gt_sequence(tmp_path / "data", "THIRD", two_people, frames=3)
    with caplog.at_level("WARNING"):
        export_jde([third], tmp_path / "jde2", "t", "train")
    assert "THIRD: only 1 of its 3 frames have a box" in caplog.text


def test_a_one_frame_sequence_exports(tmp_path):
    """seqLength=1 is a sequence (one training image), not "no frames to export"."""
    seq = write_gt_sequence(tmp_path / "data", "ONE", "1,1,0,0,10,10,1,1,1\n", frames=1)
    done = export_jde([seq], tmp_path / "jde", "o", "train")
    assert (done.images, done.boxes) == (1, 1)


@pytest.mark.parametrize("missing", ["imWidth", "imHeight"])
def test_a_seqinfo_without_the_image_size_is_refused(tmp_path, missing):
    """JDE labels are normalised by the image size (§6.1): imWidth and imHeight are both needed."""
    seq = write_gt_sequence(tmp_path / "data", "S", "1,1,0,0,10,10,1,1,1\n")
    ini = seq / "seqinfo.ini"
    ini.write_text("".join(line for line in ini.read_text().splitlines(True) if not line.startswith(missing)))
    with pytest.raises(ValueError, match=r"seqinfo.ini: imWidth and imHeight are needed for JDE labels"):
        export_jde([seq], tmp_path / "jde", "s", "train")


def test_mot15_gt_is_said_to_have_no_class_column(tmp_path, caplog):
    """A column 8 of -1 on every row is MOT15's world coordinate, not a class: said at INFO level; a
    gt of 6 or 7 columns has no column 8 to explain and is not."""
    mot15 = write_gt_sequence(tmp_path / "data", "PETS", "1,1,10,10,20,30,1,-1,-1,-1\n")
    with caplog.at_level("INFO", logger="discmot"):
        export_jde([mot15], tmp_path / "jde", "m", "train")
    assert "no class column (MOT15 layout: world coordinates in column 8)" in caplog.text
    caplog.clear()
    for columns, row in ((6, "1,1,10,10,20,30\n"), (7, "1,1,10,10,20,30,1\n")):
        short = write_gt_sequence(tmp_path / "data", f"C{columns}", row)
        with caplog.at_level("INFO", logger="discmot"):
            done = export_jde([short], tmp_path / f"jde{columns}", "s", "train")
        assert done.boxes == 1 and "no class column" not in caplog.text


def test_kept_rows_reads_the_class_column_itself_when_not_told():
    """`kept_rows(values)` (as FDTA's sequence index calls it) finds the class column on its own: of
    MOT17-style rows it keeps considered class-1 rows only (consider 0 and class 7 dropped)."""
    values = np.array(
        [
            [1, 7, 10, 10, 20, 30, 1, 1, 0.9],
            [1, 8, 0, 0, 10, 10, 0, 1, 1],
            [2, 9, 50, 20, 10, 20, 1, 7, 1],
            [2, 3, 60, 0, 40, 50, 1, 1, 1],
        ]
    )
    assert kept_rows(values).tolist() == [True, False, False, True]
    assert kept_rows(values, class_column=False).tolist() == [True, False, True, True]


def test_a_one_row_gt_still_has_a_class_column(tmp_path):
    """A gt of a single row is filtered like any other: its one box is class 7 (static person), so
    nothing is exported, which is an error naming the sequence."""
    seq = write_gt_sequence(tmp_path / "data", "ONE", "1,1,0,0,10,10,1,7,1\n")
    with pytest.raises(
        ValueError, match=r"no box to export from .*ONE: every gt row has consider=0 or a class"
    ):
        export_jde([seq], tmp_path / "jde", "o", "train")


def test_a_mot15_column_with_some_whole_numbers_is_still_world_coordinates(tmp_path):
    """Column 8 is a class only when it is a whole number on every row (module docstring): MOT15 rows
    mixing an unknown position (-1) and a real one (-4.1554) are world coordinates, and both considered
    boxes are exported."""
    gt = "1,1,10,10,20,30,1,-1,-1,-1\n2,1,12,10,20,30,1,-4.1554,-7.3591,0\n"
    seq = write_gt_sequence(tmp_path / "data", "P", gt)
    done = export_jde([seq], tmp_path / "jde", "p", "train")
    assert (done.boxes, done.identities) == (2, 1)


def test_other_files_in_the_image_folder_are_not_images(tmp_path):
    """Only .jpg/.png frames are listed, and only a .jpeg/.JPG image is refused: a note or a thumbnail
    database beside the frames is not an image and does not stop the export."""
    seq = write_gt_sequence(tmp_path / "data", "S", "1,1,0,0,10,10,1,1,1\n2,1,0,0,10,10,1,1,1\n")
    (seq / "img1" / "notes.txt").write_text("shot on a Tuesday")
    (seq / "img1" / "Thumbs.db").write_bytes(b"\0")
    done = export_jde([seq], tmp_path / "jde", "s", "train")
    assert done.images == 2


def test_one_class_of_minus_1_does_not_make_the_column_world_coordinates(tmp_path, caplog):
    """Only a column 8 that is -1 on every row is MOT15's unknown world position (module docstring):
    one -1 among MOT17 classes is an odd class, warned about by line, and the class filter stays on
    (the class-7 and class -1 rows dropped)."""
    gt = "1,1,10,10,20,30,1,1,1\n1,2,50,10,20,30,1,7,1\n2,1,12,10,20,30,1,1,1\n2,3,70,10,20,30,1,-1,1\n"
    seq = write_gt_sequence(tmp_path / "data", "S", gt)
    with caplog.at_level("WARNING"):
        done = export_jde([seq], tmp_path / "jde", "s", "train")
    assert (done.boxes, done.identities) == (2, 1)
    assert "gt.txt:4: class -1 is none of MOTChallenge's 1-13" in caplog.text
