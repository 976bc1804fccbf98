"""Edge cases of a split's files: seqmaps read as TrackEval reads them (spec eval.md §1.3,
`discmot.io.seqmaps`) and sequence folders, their frames and ground truth (`discmot.io.sequence_folders`,
spec fdta.md §8.1)."""

from __future__ import annotations

import pytest

from discmot.io.mot import MotFormatError
from discmot.io.seqmaps import read_seqmap, read_seqmap_with_header, write_seqmap

# --- seqmaps (eval.md §1.3) ---------------------------------------------------------------------------


def test_a_seqmap_is_read_as_trackevals_csv_reader_reads_it(tmp_path):
    """§1.3: the first row is always skipped (whatever it holds), the name is the first comma-separated
    field without stripping, rows whose first field is empty are skipped; csv quoting applies."""
    path = tmp_path / "seqmap.txt"
    path.write_bytes(b'seq-x,header\r\nseq-a\r\nseq-b ,100\r\n\r\n,orphan\r\n"c,d",7\r\n seq-e\r\n')
    assert read_seqmap(path) == ["seq-a", "seq-b ", "c,d", " seq-e"]


def test_the_header_is_the_first_rows_first_field(tmp_path):
    path = tmp_path / "seqmap.txt"
    path.write_text("name,length\nseq-a\n")
    assert read_seqmap_with_header(path) == ("name", ["seq-a"])
    path.write_text("\nseq-a\nseq-b\n")  # an empty first row: no header, and still skipped
    assert read_seqmap_with_header(path) == (None, ["seq-a", "seq-b"])
    path.write_text("")
    assert read_seqmap_with_header(path) == (None, [])


def test_a_missing_seqmap_is_a_format_error_naming_it(tmp_path):
    with pytest.raises(MotFormatError, match="seqmap file not found") as error:
        read_seqmap(tmp_path / "val_seqmap.txt")
    assert "val_seqmap.txt" in str(error.value)
    (tmp_path / "folder").mkdir()
    with pytest.raises(MotFormatError, match="seqmap file not found"):
        read_seqmap(tmp_path / "folder")


def test_a_written_seqmap_has_the_name_header_and_one_sequence_a_line(tmp_path):
    path = tmp_path / "seqmaps" / "MOT17-train.txt"
    path.parent.mkdir()
    write_seqmap(path, ["MOT17-02", "MOT17-04"])
    assert path.read_bytes() == b"name\nMOT17-02\nMOT17-04\n"
    assert read_seqmap(path) == ["MOT17-02", "MOT17-04"]


# --- a source's own ground truth ------------------------------------------------------------------------


def test_any_of_gt_seqinfo_or_img1_makes_a_folder_a_sequence_with_its_own_ground_truth(tmp_path):
    """A folder with gt/gt.txt (alone) is a sequence: its gt. A folder with only seqinfo.ini, or only
    img1/, is a sequence too, whose gt is none, never its parent's gt/gt.txt (which an image folder
    SEQ/img1 takes)."""
    from discmot.io.sequence_folders import default_ground_truth

    (tmp_path / "gt").mkdir()
    (tmp_path / "gt" / "gt.txt").write_text("1,1,1,1,5,5,1,1,1\n")
    only_gt = tmp_path / "only-gt"
    (only_gt / "gt").mkdir(parents=True)
    (only_gt / "gt" / "gt.txt").write_text("1,1,1,1,5,5,1,1,1\n")
    assert default_ground_truth(only_gt) == only_gt / "gt" / "gt.txt"
    only_seqinfo = tmp_path / "only-seqinfo"
    only_seqinfo.mkdir()
    (only_seqinfo / "seqinfo.ini").write_text("[Sequence]\nname=x\nseqLength=1\n")
    assert default_ground_truth(only_seqinfo) is None
    only_images = tmp_path / "only-images"
    (only_images / "img1").mkdir(parents=True)
    assert default_ground_truth(only_images) is None
    images = tmp_path / "img1"
    images.mkdir()
    assert default_ground_truth(images) == tmp_path / "gt" / "gt.txt"  # an image folder: its parent's


# --- the frames of a sequence ---------------------------------------------------------------------------


def test_a_missing_frame_is_counted_against_seqlength_or_the_images(tmp_path):
    """Frames 1..seqLength must each have an image (§8.1: DanceTrack's and SportsMOT's loaders read
    seqLength); without a seqinfo.ini, as many frames as numbered images (BFT counts its images)."""
    from discmot.io.sequence_folders import frame_images

    seqinfo = tmp_path / "seqinfo.ini"
    images = [tmp_path / "img1" / name for name in ("000001.jpg", "000003.jpg")]
    with pytest.raises(
        FileNotFoundError, match=rf"no image for frame 2 \(2 of seqLength=4 in {seqinfo} missing\)"
    ):
        frame_images(tmp_path / "img1", images, 4, seqinfo)
    with pytest.raises(FileNotFoundError, match=r"no image for frame 2 \(1 of 2 images missing\)"):
        frame_images(tmp_path / "img1", images, None, seqinfo)


def test_numbered_images_past_seqlength_are_left_out_with_a_warning(tmp_path, caplog):
    from discmot.io.sequence_folders import frame_images

    images = [tmp_path / f"{k:08d}.jpg" for k in (3, 1, 2)]
    with caplog.at_level("WARNING"):
        assert frame_images(tmp_path, images, 2, tmp_path / "seqinfo.ini") == sorted(images)[:2]
    assert "3 numbered images but seqLength=2" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING"):
        assert frame_images(tmp_path, images, 3, tmp_path / "seqinfo.ini") == sorted(images)
    assert caplog.text == ""


def test_files_that_are_no_images_give_no_hint_about_frame_names_or_formats(tmp_path):
    """A notes file and a hidden macOS copy beside the frames are neither images of another format nor
    images named without a frame number: the missing frame is said without a hint."""
    from discmot.io.seqinfo import read_seqinfo
    from discmot.io.sequence_folders import training_frame_images

    (tmp_path / "img1").mkdir()
    (tmp_path / "img1" / "000001.jpg").write_bytes(b"")
    (tmp_path / "img1" / "notes.txt").write_text("frame 2 was lost")
    (tmp_path / "img1" / "._000002.jpg").write_bytes(b"")
    seqinfo = tmp_path / "seqinfo.ini"
    seqinfo.write_text("[Sequence]\nname=s\nimDir=img1\nseqLength=2\nimExt=.jpg\n")
    with pytest.raises(FileNotFoundError) as error:
        training_frame_images(tmp_path / "img1", read_seqinfo(seqinfo), seqinfo)
    assert str(error.value).endswith(f"no image for frame 2 (1 of seqLength=2 in {seqinfo} missing)")


def test_a_hidden_file_of_another_format_gives_no_format_hint(tmp_path):
    """Hidden files (macOS ``._`` copies) are not frames and are ignored silently (`numbered_frames`):
    a hidden ``._000002.png`` beside .jpg frames must not make the error say the folder has .png images."""
    from discmot.io.seqinfo import read_seqinfo
    from discmot.io.sequence_folders import training_frame_images

    (tmp_path / "img1").mkdir()
    (tmp_path / "img1" / "000001.jpg").write_bytes(b"")
    (tmp_path / "img1" / "._000002.png").write_bytes(b"")
    seqinfo = tmp_path / "seqinfo.ini"
    seqinfo.write_text("[Sequence]\nname=s\nimDir=img1\nseqLength=2\nimExt=.jpg\n")
    with pytest.raises(FileNotFoundError) as error:
        training_frame_images(tmp_path / "img1", read_seqinfo(seqinfo), seqinfo)
    assert "has .png images" not in str(error.value)
