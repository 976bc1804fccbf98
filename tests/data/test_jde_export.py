"""`discmot jde-export` / `discmot.data.jde_export`: MOTChallenge-layout sequences -> JDE training layout.

Checked against hand-written gt (MOT17-style rows with consider flags and classes) and read back with the
JDE reader that training uses (`discmot.data.jde`).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import helpers
from discmot.cli import main as cli_main
from discmot.data.jde import read_image_list, read_labels
from discmot.data.jde_export import export_jde
from discmot.io.seqinfo import SeqInfo, write_seqinfo
from helpers import write_gt_sequence

MOT17_GT = (
    "1,7,10,10,20,30,1,1,0.9\n"  # kept
    "1,8,0,0,10,10,0,1,1\n"  # consider flag 0: dropped
    "2,7,12,10,20,30,1,1,0.8\n"  # kept, same person
    "2,9,50,20,10,20,1,7,1\n"  # class 7 (static person): dropped
    "2,3,60,0,40,50,1,1,1\n"  # kept, another person
)


def test_rows_filtered_and_identities_renumbered_across_sequences(tmp_path):
    a = write_gt_sequence(tmp_path / "data", "SEQ-A", MOT17_GT)
    b = write_gt_sequence(tmp_path / "data", "SEQ-B", "1,3,0,0,50,25\n2,3,0,0,50,25\n")  # 6 columns: all kept
    done = export_jde([b, a], tmp_path / "jde", "mine", "train")
    assert (done.images, done.boxes, done.identities) == (4, 5, 3)
    pairs = read_image_list(done.list_file, tmp_path / "jde")
    assert [p[0].relative_to(tmp_path / "jde").as_posix() for p in pairs] == [
        "images/train/SEQ-A/img1/000001.jpg",
        "images/train/SEQ-A/img1/000002.jpg",
        "images/train/SEQ-B/img1/000001.jpg",
        "images/train/SEQ-B/img1/000002.jpg",
    ]
    labels = [read_labels(label) for _, label in pairs]
    # SEQ-A ids 3 and 7 -> 1 and 2 (sorted gt ids, from 1); SEQ-B's id 3 -> 3, not SEQ-A's 1
    np.testing.assert_allclose(labels[0], [[0, 2, 0.2, 0.5, 0.2, 0.6]])
    np.testing.assert_allclose(labels[1], [[0, 2, 0.22, 0.5, 0.2, 0.6], [0, 1, 0.8, 0.5, 0.4, 1.0]])
    np.testing.assert_allclose(labels[2], [[0, 3, 0.25, 0.25, 0.5, 0.5]])
    assert pairs[0][0].read_bytes() == (a / "img1" / "000001.jpg").read_bytes()


def test_frames_without_boxes_get_empty_label_files(tmp_path):
    seq = write_gt_sequence(tmp_path / "data", "S", "2,1,0,0,10,10,1,1,1\n", frames=3)
    done = export_jde([seq], tmp_path / "jde", "s", "train")
    labels = sorted((tmp_path / "jde" / "labels_with_ids" / "train" / "S" / "img1").iterdir())
    assert [p.read_text() == "" for p in labels] == [True, False, True]
    assert done.identities == 1


def test_boxes_training_would_refuse_are_left_out_with_a_warning(tmp_path, caplog):
    """A box wholly left of a 100x50 frame and one reaching past it by more than a frame are not
    exported (CSTrack training refuses such rows); one half outside is written as it is."""
    gt = "1,1,-50,10,20,30,1,1,1\n1,2,-10,10,20,30,1,1,1\n2,3,90,0,150,20,1,1,1\n2,4,10,10,20,30,1,1,1\n"
    seq = write_gt_sequence(tmp_path / "data", "S", gt)
    with caplog.at_level("WARNING"):
        done = export_jde([seq], tmp_path / "jde", "s", "train")
    assert "2 box(es) wholly outside the 100x50 frame" in caplog.text and "e.g. frame 1 id 1" in caplog.text
    labels = [read_labels(label) for _, label in read_image_list(done.list_file, tmp_path / "jde")]
    assert [row[1] for rows in labels for row in rows] == [1, 2]  # ids renumbered from the kept rows
    np.testing.assert_allclose(labels[0][0, 2:], [0.0, 0.5, 0.2, 0.6])  # half outside: as it is
    outside = write_gt_sequence(tmp_path / "data", "OUT", "1,1,-50,10,20,30,1,1,1\n")
    with pytest.raises(
        ValueError, match="each of its 1 considered box\\(es\\) lies wholly outside its frame"
    ):
        export_jde([outside], tmp_path / "jde2", "s", "train")


def test_cli_exports_and_bad_input_names_the_file(tmp_path, capsys, caplog):
    write_gt_sequence(tmp_path / "data", "S", "1,1,0,0,10,10,1,1,1\n")
    args = ["jde-export", "--data-root", str(tmp_path / "data"), "--out", str(tmp_path / "jde")]
    with caplog.at_level("INFO", logger="discmot"):
        assert cli_main([*args, "--name", "s"]) == 0
    assert "s.train: 2 images, 1 boxes, 1 identities" in caplog.text and "from 1 sequence" in caplog.text
    assert (tmp_path / "jde" / "s.train").read_text().count("\n") == 2
    # the list's entries are relative to --out: a name with a path in it would break them
    with pytest.raises(SystemExit):
        cli_main([*args, "--name", "../s"])
    assert "argument --name: expected a plain folder name" in capsys.readouterr().err
    bad = write_gt_sequence(tmp_path / "bad", "B", "1,1,0,0,ten,10\n")
    args = [
        "jde-export",
        "--data-root",
        str(tmp_path / "bad"),
        "--out",
        str(tmp_path / "jde2"),
        "--name",
        "b",
    ]
    assert cli_main(args) == 2
    err = capsys.readouterr().err
    assert str(bad / "gt" / "gt.txt") in err and ":1:" in err
    assert not (tmp_path / "jde2" / "b.train").exists()


def test_missing_sequence_is_an_error(tmp_path):
    write_gt_sequence(tmp_path / "data", "S", "1,1,0,0,10,10\n")
    with pytest.raises(FileNotFoundError, match="NOPE"):
        cli_main(["-v", "jde-export", "--data-root", str(tmp_path / "data"), "--out", str(tmp_path / "j"),
                  "--name", "x", "--sequences", "NOPE"])  # fmt: skip


def test_images_a_jde_list_cannot_name_are_an_error(tmp_path):
    """The list's label paths come from replacing .jpg/.png: a .jpeg frame would give a list the reader
    refuses, so the export refuses it first, naming the file."""
    folder = write_gt_sequence(tmp_path / "data", "S", MOT17_GT)
    (folder / "img1" / "000002.jpg").rename(folder / "img1" / "000002.jpeg")
    with pytest.raises(ValueError, match=r"000002\.jpeg: a JDE list can only name \.jpg and \.png"):
        export_jde([folder], tmp_path / "jde", "x", "train")


def test_images_are_checked_against_seqinfo_as_training_checks_them(tmp_path, caplog):
    """The rules of FDTA training's loader: images not named by a number are ignored with a warning, so
    are numbered ones after seqLength; a frame up to seqLength without an image is an error; and the
    labels are normalised by seqinfo's size, so images of another size are an error, not wrong labels."""
    folder = write_gt_sequence(tmp_path / "data", "S", MOT17_GT, frames=3)
    cv2.imwrite(str(folder / "img1" / "thumb.jpg"), np.zeros((5, 5, 3), np.uint8))
    write_seqinfo(folder / "seqinfo.ini", SeqInfo("S", 2, 30, 100, 50))  # 3 images, seqLength 2
    with caplog.at_level("WARNING"):
        done = export_jde([folder], tmp_path / "jde", "s", "train")
    assert done.images == 2
    assert "1 image(s) not named by a frame number ignored, e.g. thumb.jpg" in caplog.text
    assert "3 numbered images but seqLength=2" in caplog.text

    write_seqinfo(folder / "seqinfo.ini", SeqInfo("S", 5, 30, 100, 50))
    with pytest.raises(FileNotFoundError, match=r"img1: no image for frame 4 \(2 of seqLength=5"):
        export_jde([folder], tmp_path / "jde2", "s", "train")
    write_seqinfo(folder / "seqinfo.ini", SeqInfo("S", 3, 30, 1920, 1080))
    with pytest.raises(ValueError, match=r"000001\.jpg: 100x50, but .*imWidth=1920, imHeight=1080"):
        export_jde([folder], tmp_path / "jde3", "s", "train")
    assert not (tmp_path / "jde3" / "s.train").exists()


def test_exporting_onto_the_source_layout_keeps_the_images(tmp_path):
    """FairMOT's layout keeps the sequences under images/<split>/, so with --out at its root every image
    'link' is the image itself: it must be left alone, not unlinked first."""
    folder = write_gt_sequence(tmp_path / "FM" / "images", "S", MOT17_GT)
    before = (folder / "img1" / "000001.jpg").read_bytes()
    done = export_jde([folder], tmp_path / "FM", "mot17", "train")
    assert done.images == 2 and (folder / "img1" / "000001.jpg").read_bytes() == before


def test_a_sequence_without_objects_is_refused_and_bad_gt_is_named(tmp_path):
    # its images would be training images whose people (unlabelled) are learned as background
    empty = write_gt_sequence(tmp_path / "data", "E", "")
    with pytest.raises(ValueError, match=f"no box to export from {empty}: its gt file has no rows"):
        export_jde([empty], tmp_path / "jde", "e", "train")
    assert not (tmp_path / "jde").exists()
    for gt, words in (
        ("1,1,0,0,10,10,1,1,1\n1,1,5,5,10,10,1,1,1\n", ":2: .*id 1"),  # one id twice in a frame
        ("1,1,0,0,0,10,1,1,1\n", ":1: .*width"),
        ("3,1,0,0,10,10,1,1,1\n", ":1: .*frame"),  # the sequence has 2 frames
    ):
        bad = write_gt_sequence(tmp_path / f"bad{len(words)}{gt[0]}", "B", gt)
        with pytest.raises(ValueError, match=f"{bad / 'gt' / 'gt.txt'}{words}"):
            export_jde([bad], tmp_path / "jde2", "b", "train")


def test_a_bad_later_sequence_leaves_no_partial_export_and_duplicates_count_once(tmp_path):
    good = write_gt_sequence(tmp_path / "data", "A", MOT17_GT)
    bad = write_gt_sequence(tmp_path / "data", "B", "1,1,0,0,10,10\n")
    (bad / "img1" / "000002.jpg").unlink()
    with pytest.raises(FileNotFoundError, match="no image for frame 2"):
        export_jde([good, bad], tmp_path / "jde", "x", "train")
    assert not (tmp_path / "jde").exists()
    done = export_jde([good, good], tmp_path / "jde", "x", "train")  # a sequence named twice
    assert done.images == 2 and done.identities == 2


MOT15_GT = (
    "1,1,10,10,20,30,1,-1,-1,-1\n"  # MOT15: columns 8-10 are world coordinates, -1 when unknown
    "2,1,12,10,20,30,1,-1,-1,-1\n"
    "2,2,50,10,20,30,0,-1,-1,-1\n"  # consider 0: still dropped
)


def test_mot15_gt_without_a_class_keeps_every_considered_box(tmp_path):
    seq = write_gt_sequence(tmp_path / "data", "PETS", MOT15_GT)
    done = export_jde([seq], tmp_path / "jde", "m15", "train")
    assert (done.boxes, done.identities) == (2, 1)  # id 2 has no considered box


def test_a_sequence_that_keeps_no_box_is_an_error_naming_it_also_beside_others(tmp_path):
    seq = write_gt_sequence(tmp_path / "data", "S", "1,1,0,0,10,10,1,7,1\n2,1,0,0,10,10,0,1,1\n")
    with pytest.raises(ValueError, match=f"no box to export from {seq}: every gt row has consider=0"):
        export_jde([seq], tmp_path / "jde", "s", "train")
    assert not (tmp_path / "jde").exists()
    other = write_gt_sequence(tmp_path / "data", "T", "1,1,0,0,10,10,1,1,1\n")
    with pytest.raises(ValueError, match=f"no box to export from {seq}"):  # it exported silently beside T
        export_jde([seq, other], tmp_path / "jde", "s", "train")
    assert not (tmp_path / "jde").exists()


def test_mot15_gt_with_world_coordinates_keeps_its_boxes(tmp_path):
    # half of MOT15's training sequences (PETS09-S2L1 among them) have real positions in columns 8-10
    gt = "1,9,4,8,31.03,75.17,1,-4.1554,-7.3591,0\n2,9,5,8,31.03,75.17,1,-4.1,-7.3,0\n"
    seq = write_gt_sequence(tmp_path / "data", "P", gt)
    done = export_jde([seq], tmp_path / "jde", "p", "train")
    assert done.boxes == 2 and done.identities == 1


def test_an_unexpected_class_keeps_the_class_filter_and_is_named(tmp_path, caplog):
    """One class outside MOT's 1-13 (a 14, or a 0-based numbering) used to switch the filter off for
    the whole file (read as MOT15's world coordinates): cars and static people became persons."""
    gt = MOT17_GT + "2,5,70,20,10,20,1,14,1\n"  # line 6: class 14
    seq = write_gt_sequence(tmp_path / "data", "S", gt)
    with caplog.at_level("WARNING"):
        done = export_jde([seq], tmp_path / "jde", "s", "train")
    assert (done.boxes, done.identities) == (3, 2)  # as MOT17_GT alone: class 7 and 14 rows dropped
    assert "gt.txt:6: class 14 is none of MOTChallenge's 1-13" in caplog.text
    assert "EXIF" not in caplog.text and "frames have a box" not in caplog.text  # no false alarm


def test_zero_based_classes_are_named_when_nothing_is_exported(tmp_path):
    seq = write_gt_sequence(tmp_path / "data", "Z", "1,1,0,0,10,10,1,0,1\n2,1,0,0,10,10,1,0,1\n")
    with pytest.raises(ValueError, match=r"a class other than 1 \(pedestrian\).* classes: 0\)"):
        export_jde([seq], tmp_path / "jde", "z", "train")


def test_a_sparsely_annotated_sequence_is_warned_about(tmp_path, caplog):
    seq = write_gt_sequence(tmp_path / "data", "SPARSE", "1,1,0,0,10,10,1,1,1\n", frames=5)
    with caplog.at_level("WARNING"):
        export_jde([seq], tmp_path / "jde", "s", "train")
    assert "SPARSE: only 1 of its 5 frames have a box" in caplog.text
    caplog.clear()
    dense = write_gt_sequence(tmp_path / "data", "DENSE", "1,1,0,0,10,10,1,1,1\n2,1,0,0,10,10,1,1,1\n")
    with caplog.at_level("WARNING"):
        export_jde([dense], tmp_path / "jde2", "d", "train")
    assert "frames have a box" not in caplog.text


def test_a_sequence_name_that_training_would_rewrite_is_refused(tmp_path):
    """CSTrack training derives a label path by replacing 'images' anywhere in the image's entry (the
    original's rule): cam2_images/... became cam2_labels_with_ids/..., found only when training."""
    seq = write_gt_sequence(tmp_path / "data", "cam2_images", "1,1,0,0,10,10,1,1,1\n")
    with pytest.raises(ValueError, match="cam2_images: CSTrack training would look for its labels at"):
        export_jde([seq], tmp_path / "jde", "s", "train")
    assert not (tmp_path / "jde").exists()


def test_frames_turned_by_their_exif_orientation_are_warned_about(tmp_path, caplog):
    """CSTrack training reads a frame turned by its EXIF orientation (cv2.imread, as the original), the
    gt is in the stored pixels: every box was misplaced without a word."""
    seq = write_gt_sequence(tmp_path / "data", "S", "1,1,0,0,10,10,1,1,1\n2,1,0,0,10,10,1,1,1\n")
    first = seq / "img1" / "000001.jpg"
    stored = cv2.imread(str(first))
    stored[:10] = 200  # not symmetric: a turned copy differs
    helpers.write_jpeg_turned_by_exif(first, stored)
    with caplog.at_level("WARNING"):
        export_jde([seq], tmp_path / "jde", "s", "train")
    assert "000001.jpg: its EXIF orientation turns it" in caplog.text
