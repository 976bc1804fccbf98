"""`discmot.io.mot_results.rows_by_frame` and `read_results_by_frame`: rows grouped by frame in file order,
and empty files (a tracker that found nothing) read as no frames; text that is not UTF-8 named as such."""

from __future__ import annotations

import numpy as np
import pytest

from discmot.io.mot import MotFormatError, read_mot_table
from discmot.io.mot_results import read_results_by_frame, rows_by_frame, write_mot_results
from discmot.io.seqinfo import SeqInfo, read_seqinfo, write_seqinfo
from discmot.io.seqmaps import read_seqmap
from discmot.io.sequence_folders import sequence_folders


def test_rows_are_grouped_by_frame_in_file_order():
    values = np.array([[3, 7, 0, 0, 1, 1], [1, 2, 0, 0, 1, 1], [3, 5, 0, 0, 1, 1], [1, 9, 0, 0, 1, 1]], float)
    groups = rows_by_frame(values)
    assert list(groups) == [1, 3]
    assert groups[1][:, 1].tolist() == [2, 9] and groups[3][:, 1].tolist() == [7, 5]


def test_empty_tables_and_files_have_no_frames(tmp_path):
    assert rows_by_frame(np.zeros((0, 0))) == {} and rows_by_frame(np.zeros((0, 7))) == {}
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    assert read_results_by_frame(empty) == {}
    one = tmp_path / "one.txt"
    one.write_text("2,4,1,2,3,4\n")
    ((frame, (ids, boxes, scores)),) = read_results_by_frame(one).items()
    assert frame == 2 and ids.tolist() == [4] and boxes.tolist() == [[1, 2, 3, 4]] and scores.tolist() == [1]


def test_results_are_written_rounded_and_sorted_or_as_the_originals_write_them(tmp_path):
    frames = np.array([2, 1, 2])
    ids = np.array([5, 7, 0])
    boxes = np.array([[1.0, 2.5, 3.125, 4.0], [885.9840087890625, 0.1, 10.0, 20.0], [1 / 3, 2.0, 3.0, 4.0]])
    scores = np.array([0.91234, 0.5, 0.25])
    rounded = tmp_path / "rounded.txt"
    write_mot_results(rounded, frames, ids, boxes, scores)
    assert rounded.read_text().splitlines() == [
        "1,7,885.98,0.10,10.00,20.00,0.5,-1,-1,-1",
        "2,0,0.33,2.00,3.00,4.00,0.25,-1,-1,-1",
        "2,5,1.00,2.50,3.12,4.00,0.9123,-1,-1,-1",
    ]
    # the original FDTA/CSTrack rows: frames in order, each frame's rows as given, unrounded, confidence 1
    original = tmp_path / "original.txt"
    write_mot_results(original, frames, ids, boxes, scores, original_format=True)
    assert original.read_text().splitlines() == [
        "1,7,885.9840087890625,0.1,10.0,20.0,1,-1,-1,-1",
        "2,5,1.0,2.5,3.125,4.0,1,-1,-1,-1",
        "2,0,0.3333333333333333,2.0,3.0,4.0,1,-1,-1,-1",
    ]
    parsed = read_results_by_frame(original)
    np.testing.assert_array_equal(parsed[2][1], boxes[[0, 2]])  # repr round-trips every float exactly


def test_seqinfo_reads_seqlength_strictly_and_ignores_bad_optional_keys(tmp_path, caplog):
    import pytest

    from discmot.io.mot import MotFormatError
    from discmot.io.seqinfo import read_seqinfo

    path = tmp_path / "seqinfo.ini"
    path.write_text("[Sequence]\nname=seq%1\nseqLength=12\nimWidth=1920.0\nimHeight=tall\nframeRate=30fps\n")
    with caplog.at_level("WARNING"):
        info = read_seqinfo(path)
    assert (info.name, info.length, info.width, info.height, info.frame_rate) == (
        "seq%1",
        12,
        1920,
        None,
        None,
    )
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert "imHeight" in warned and "frameRate" in warned and "imWidth" not in warned
    path.write_text("[Sequence]\nseqLength=12.0\n")
    with pytest.raises(MotFormatError, match="seqLength is not an integer"):
        read_seqinfo(path)
    for length in (0, -3):
        path.write_text(f"[Sequence]\nseqLength={length}\n")
        with pytest.raises(MotFormatError, match=f"seqLength={length}: a sequence has at least 1 frame"):
            read_seqinfo(path)


def test_a_sequence_with_more_images_than_its_seqlength_says_which_are_not_tracked(tmp_path, caplog):
    import cv2
    import numpy as np

    from discmot.io.video import SequenceFrames

    (tmp_path / "img1").mkdir()
    for k in range(1, 5):
        cv2.imwrite(str(tmp_path / "img1" / f"{k:06d}.jpg"), np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "seqinfo.ini").write_text("[Sequence]\nseqLength=3\n")
    with caplog.at_level("WARNING"):
        frames = [k for k, _ in SequenceFrames(tmp_path)]
    assert frames == [1, 2, 3]
    assert "1 image(s) after frame 3, the seqLength of its seqinfo.ini, are not tracked" in caplog.text


def test_sequence_folders_name_one_whose_seqinfo_points_elsewhere(tmp_path, caplog):
    """Training, depth and jde-export read <seq>/img1 (as the original's loaders); a sequence whose
    seqinfo.ini says imDir=images used to vanish from all three without a word."""
    (tmp_path / "A" / "img1").mkdir(parents=True)
    (tmp_path / "B" / "images").mkdir(parents=True)
    write_seqinfo(tmp_path / "B" / "seqinfo.ini", SeqInfo("B", 3, 30, 64, 48, image_dir="images"))
    (tmp_path / ".C.tmp" / "img1").mkdir(parents=True)  # half-written: not a sequence
    (tmp_path / "notes").mkdir()  # neither: left out without a word

    with caplog.at_level("WARNING"):
        assert sequence_folders(tmp_path) == [tmp_path / "A"]
    assert caplog.text.count("left out") == 1 and "says imDir=images" in caplog.text


def test_text_that_is_not_utf8_is_named_with_its_line_or_as_utf16(tmp_path):
    """A results file in Latin-1 said only "not UTF-8 text (byte 42)"; one redirected by Windows
    PowerShell 5 (UTF-16 with a byte-order mark) said "byte 0". Now the line, or the encoding by name."""
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("1,1,10,10,20,40,1,-1,-1,-1\n2,1,11,10,20,40,1,-1,-1,-1 é\n".encode("latin-1"))
    with pytest.raises(MotFormatError) as error:
        read_mot_table(latin1)
    assert (
        str(error.value) == f"{latin1}:2: is not UTF-8 text (byte 0xe9 at offset 54)"
    )  # 27 + 27 bytes before it
    for bom, codec in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        utf16 = tmp_path / f"{codec}.txt"
        utf16.write_bytes(bom + "1,1,10,10,20,40,1,-1,-1,-1\n".encode(codec))
        with pytest.raises(MotFormatError, match=r"utf-16-..\.txt:1: is UTF-16 text .*save it as UTF-8"):
            read_mot_table(utf16)


SEQINFO = "[Sequence]\nname=SEQ\nimDir=img1\nframeRate=30\nseqLength=2\nimWidth=64\nimHeight=64\nimExt=.jpg\n"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("\ufeff" + SEQINFO, ":1: the file starts with a UTF-8 byte-order mark (BOM): save it without one"),
        (SEQINFO + "seqLength=3\n", ":9: seqLength given twice in [Sequence]"),
        (SEQINFO + "[Sequence]\n", ":9: section [Sequence] given twice"),
        ("Sequence\n" + SEQINFO, ":1: text before the [Sequence] header: 'Sequence'"),
        (SEQINFO + "frames 2\n", ":9: not a key=value line: 'frames 2'"),
    ],
)
def test_a_bad_seqinfo_is_named_with_the_line_at_fault(tmp_path, text, error):
    """A hand-written seqinfo.ini (custom data) that configparser refuses said only "not a valid ini
    file (MissingSectionHeaderError)"; a byte-order mark, which Windows Notepad wrote, gave the same."""
    path = tmp_path / "seqinfo.ini"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MotFormatError) as raised:
        read_seqinfo(path)
    assert str(raised.value) == f"{path}{error}"
    path.write_text(SEQINFO, encoding="utf-8")
    assert read_seqinfo(path).length == 2


def test_a_seqmap_that_is_not_utf8_is_named_with_its_line(tmp_path):
    """It raised the codec's bare UnicodeDecodeError (the CLI: "report the traceback")."""
    seqmap = tmp_path / "seqmap.txt"
    seqmap.write_bytes("name\nSEQ-1\ncaf\u00e9\n".encode("latin-1"))
    with pytest.raises(MotFormatError) as error:
        read_seqmap(seqmap)
    assert str(error.value) == f"{seqmap}:3: is not UTF-8 text (byte 0xe9 at offset 14)"  # 5 + 6 + 3 before
    seqmap.write_bytes("name\r\nSEQ-1\r\ncaf\u00e9\r\n".encode())  # CRLF, UTF-8: read as TrackEval reads it
    assert read_seqmap(seqmap) == ["SEQ-1", "caf\u00e9"]
