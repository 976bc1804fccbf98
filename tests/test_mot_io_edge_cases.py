"""Edge cases of `discmot.io.mot` and `discmot.io.seqinfo`: the parser against TrackEval's own reader,
the line a bad file is blamed on, the boundaries of the column checks (frame range, box size, duplicate
ids, normalised gt), and seqinfo.ini read and written.

Expected values come from TrackEval 1.3.0 (``_BaseDataset._load_simple_text_file``, spec ``eval.md``
§1.3-1.5) or are written out by hand below.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pytest

from discmot.io.mot import (
    MotFormatError,
    MotTable,
    check_column_count,
    check_frames,
    check_positive_sizes,
    check_unique_ids,
    mot_table,
    parse_mot_bytes,
    read_mot_table,
    warn_if_normalised,
)
from discmot.io.seqinfo import SeqInfo, read_seqinfo, read_seqinfo_extra, write_seqinfo

# Well-formed files TrackEval reads: every delimiter it sniffs, one trailing delimiter, spaces after
# (and before) delimiters, CRLF and CR line ends, no final newline, signs, exponents, bare dots, long
# mantissas; frames never decrease, so TrackEval's per-frame groups concatenate to file order.
TRACKEVAL_READABLE = {
    "comma": "1,2,3.5,4.25,5,6,0.75,1,1\n1,3,4,5,6,7,0.5,1,0\n2,3,4.5,5,6,7,1,1,1\n",
    "comma_no_final_newline": "1,2,3,4,5,6,1\n2,3,4,5,6,7,1",
    "comma_trailing_delimiter": "1,2,3,4,5,6,1,\n2,3,4,5,6,7,1,\n",
    "comma_spaces_after": "1, 2, 3.25, 4, 5, 6, 1\n2,  3, 4,5, 6, 7, 1\n",
    "comma_spaces_before": "1 ,2 ,3 ,4\n2 ,3 ,4 ,5\n",
    "comma_crlf": "1,2,3,4,5,6,1\r\n2,3,4,5,6,7,1\r\n",
    "comma_cr_only": "1,2,3,4,5,6,1\r2,3,4,5,6,7,1\r",
    "semicolon": "1;2;3.5;4;5;6;1\n2;3;4;5;6;7;1\n",
    "tab": "1\t2\t3.5\t4\t5\t6\t1\n2\t3\t4\t5\t6\t7\t1",
    "space": "1 2 3.5 4 5 6 1\n2 3 4 5 6 7 1\n",
    "single_column_tab_before_delimiter": "1\t,\n2,\n",
    "space_runs_and_trailing": "1  2   3.5 4 5 6 1 \n2 3 4 5 6 7 1 \n",
    "signs_exponents_dots": "1,-2,+3.5,-0.25,1e2,4.5E-1,-1,5.,.5\n2,+0,-0.0,1E+3,2e-3,7,1,0.,-.5\n",
    "long_mantissas": (
        "1,2,885.9840087890625,0.1000000000000000055511151231257827,12345678901234567,0.3333333333333333,1\n"
        "1,3,9007199254740993,123456.78901234567,1.0000000000000002,99999999999999999999,1\n"
    ),
    "many_shapes_in_one_column": (
        "1,7,0.5,10,100.25,1000.125,-3\n1,8,5,1.5,10.75,100,-30.5\n2,9,50.5,0.125,1,10000,-300\n"
    ),
}


def _trackeval_values(path) -> np.ndarray:
    """TrackEval's rows of ``path`` in frame (= file) order, converted with ``float`` as it does later."""
    base = pytest.importorskip("trackeval.datasets._base_dataset")
    read_data, _ = base._BaseDataset._load_simple_text_file(str(path))
    return np.asarray([[float(v) for v in row] for rows in read_data.values() for row in rows], dtype=float)


@pytest.mark.parametrize("name", sorted(TRACKEVAL_READABLE))
def test_parsed_numbers_are_bit_identical_to_trackevals(tmp_path, name):
    """Every well-formed file gives TrackEval's numbers bit for bit (spec eval.md §1.4), whichever of
    discmot's two parsers (vectorised or row-by-row `csv`) reads it; -0.0 keeps its sign."""
    path = tmp_path / "rows.txt"
    path.write_bytes(TRACKEVAL_READABLE[name].encode())
    expected = _trackeval_values(path)
    values = read_mot_table(path).values
    assert values.dtype == np.float64 and values.shape == expected.shape
    assert values.tobytes() == expected.tobytes()


def test_whitespace_before_a_delimiter_stays_in_the_field_and_float_strips_it():
    """`csv` keeps a tab before a comma in the field; ``float`` (TrackEval's conversion) strips it."""
    assert parse_mot_bytes(b"1,2\t,3\n2,3,4\t\n").tolist() == [[1.0, 2.0, 3.0], [2.0, 3.0, 4.0]]


@pytest.mark.parametrize(
    ("raw", "line", "words"),
    [
        (b"1,2,3\n\n2,3,4\n", 2, "blank line"),
        (b"1,2,3\n2,3,4\n\n", 3, "blank line"),
        (b"1 2 3\n2 3 4\n\n", 3, "blank line"),
        (b"1,2,3\n\t\n2,3,4\n", 2, "blank line"),  # whitespace only: blank too
        (b"1\t2\t3\n \n2\t3\t4\n", 2, "blank line"),
        (b"x,2,3\n2,3,4\n", 1, "column 1 is not a number: 'x'"),
        (b"1,2,3\nx,3,4\n", 2, "column 1 is not a number: 'x'"),
        (b"1,y,3\n2,3,4\n", 1, "column 2 is not a number: 'y'"),
        (b"1,2,3\n2,3,4\n3,4\n", 3, "has 2 columns, line 1 has 3"),
        (b"1,2,3\n2,3,4,5\n", 2, "has 4 columns, line 1 has 3"),
        (b"1 2 3\n2 3 4 5\n", 2, "has 4 columns, line 1 has 3"),
        (b"1,2,3\n2,,4\n", 2, "column 2 is not a number: ''"),
        (b"1,2,3\n2,3,4 5\n", 2, "column 3 is not a number: '4 5'"),
        (b"1;2;3\n2;3;x\n", 2, "column 3 is not a number: 'x'"),
        (b"1,2,3\n2,3,1..5\n", 2, "column 3 is not a number: '1..5'"),
        (b"1,2,3\n2,3,1e\n", 2, "column 3 is not a number: '1e'"),
        (b"1,2,3\n2,3,4-\n", 2, "column 3 is not a number: '4-'"),
        (b"1,2,3\n2,3,nan\n", 2, "column 3 is nan (not a finite number)"),
        (b"1,2,3\n2,-inf,4\n", 2, "column 2 is -inf (not a finite number)"),
        (b"\xef\xbb\xbf1,2,3\n", 1, "byte-order mark"),
    ],
)
def test_a_bad_file_is_blamed_on_its_first_bad_line(raw, line, words):
    """Blank lines, ragged rows, non-numbers and NaN/inf are errors (TrackEval crashes or computes garbage
    on them, spec eval.md §1.4) naming the 1-based line at fault and the 1-based column."""
    with pytest.raises(MotFormatError) as caught:
        parse_mot_bytes(raw, "f.txt")
    assert caught.value.line == line
    assert words in caught.value.reason


def test_an_invalid_utf8_byte_is_blamed_on_its_line():
    """The line of a non-UTF-8 byte is 1 + the newlines before it (hand count: two newlines -> line 3)."""
    with pytest.raises(MotFormatError) as caught:
        parse_mot_bytes(b"1,2,3\n2,3,4\n3,\xe9,5\n", "f.txt")
    assert caught.value.line == 3 and "byte 0xe9 at offset 14" in caught.value.reason
    with pytest.raises(MotFormatError) as caught:  # a newline as the very first byte counts too
        parse_mot_bytes(b"\n1,2\n\xe9\n", "f.txt")
    assert caught.value.line == 3


def test_min_columns_is_a_lower_bound_and_shapes_an_empty_table(tmp_path):
    """``min_columns`` refuses rows with fewer columns (exactly ``min_columns`` is fine) and gives an
    empty file the shape ``(0, min_columns)``; without it an empty file is ``(0, 0)``."""
    path = tmp_path / "rows.txt"
    path.write_text("1,2,3,4,5,6,1\n")
    assert read_mot_table(path, min_columns=7).values.shape == (1, 7)
    with pytest.raises(MotFormatError, match="has 7 columns, at least 8 are needed") as caught:
        read_mot_table(path, min_columns=8)
    assert caught.value.line == 1
    assert mot_table(path, b"", min_columns=7).values.shape == (0, 7)
    assert mot_table(path, b"").values.shape == (0, 0)
    path.write_bytes(b"")
    assert read_mot_table(path).values.shape == (0, 0)
    empty = mot_table(path, b"", min_columns=7)
    assert (empty.num_rows, empty.num_columns) == (0, 7)


def test_check_column_count_is_a_lower_bound_on_non_empty_tables(tmp_path):
    """TrackEval needs >= 8 gt and >= 7 tracker columns (spec eval.md §1.4): equal is fine, fewer is
    an error on line 1, and an empty table passes whatever its width."""
    seven = MotTable(tmp_path / "t.txt", np.ones((2, 7)))
    check_column_count(seven, 7, "tracker")
    with pytest.raises(MotFormatError, match="gt rows need at least 8 columns, found 7"):
        check_column_count(seven, 8, "gt")
    check_column_count(MotTable(tmp_path / "t.txt", np.zeros((0, 0))), 8, "gt")


def _table(rows) -> MotTable:
    return MotTable(Path("t.txt"), np.asarray(rows, dtype=float))


@pytest.mark.parametrize(
    ("frames", "num_frames", "bad_line", "words"),
    [
        ([1, 5], 5, None, None),  # both ends of 1..seqLength are valid
        ([1.7, 5.9], 5, None, None),  # int(float("5.9")) == 5
        ([1, 0], 5, 2, "frames start at 1"),
        ([1, 0.9], 5, 2, "frames start at 1"),  # truncates to 0
        ([2, -1], 5, 2, "frames start at 1"),
        ([1, 6], 5, 2, "the sequence has 5 frames"),
        ([6, 0], 5, 1, "the sequence has 5 frames"),  # the first bad row is named
        ([1, 10**6], None, None, None),  # no length known: only the lower bound
        ([0, 3], None, 1, "frames start at 1"),
    ],
)
def test_frames_must_lie_in_one_to_seqlength_after_truncation(frames, num_frames, bad_line, words):
    """Frame keys are ``int(float(col0))`` and must lie in ``1..seqLength`` (spec eval.md §1.4)."""
    table = _table([[f, 1, 0, 0, 1, 1, 1] for f in frames])
    if bad_line is None:
        check_frames(table, num_frames)
        return
    with pytest.raises(MotFormatError, match=words) as caught:
        check_frames(table, num_frames)
    assert caught.value.line == bad_line


@pytest.mark.parametrize(
    ("box", "bad"),
    [
        ((-5.0, -7.0, 0.01, 0.01), False),  # x and y may be negative; tiny sizes are positive
        ((0.0, 0.0, 0.0, 3.0), True),
        ((0.0, 0.0, 3.0, 0.0), True),
        ((0.0, 0.0, -1.0, 3.0), True),
        ((0.0, 0.0, 3.0, -1.0), True),
    ],
)
def test_box_width_and_height_must_be_strictly_positive(box, bad):
    """Only columns 5 and 6 (w, h) are checked, with a strict ``> 0``; the bad row's line is named."""
    table = _table([[1, 1, 0, 0, 2, 2, -1], [2, 1, *box, 0]])
    if not bad:
        check_positive_sizes(table)
        return
    with pytest.raises(MotFormatError, match="box width and height must be > 0") as caught:
        check_positive_sizes(table)
    assert caught.value.line == 2


def test_the_confidence_column_is_not_a_size():
    """A zero or negative column 7 (conf, -1 in tracker files) is no box size."""
    check_positive_sizes(_table([[1, 1, 0, 0, 2, 2, 0], [2, 1, 0, 0, 2, 2, -1]]))


def test_checks_accept_a_table_without_rows_or_columns(tmp_path):
    """An empty file reads as a ``(0, 0)`` table (a tracker that found nobody): every check passes on it."""
    (tmp_path / "empty.txt").write_bytes(b"")
    empty = read_mot_table(tmp_path / "empty.txt")
    assert empty.values.shape == (0, 0)
    check_frames(empty, 5)
    check_positive_sizes(empty)
    check_unique_ids(empty)


def test_a_two_row_file_with_one_id_twice_in_a_frame_is_refused():
    """The smallest duplicate: two rows, same frame, same id (spec eval.md §1.5)."""
    with pytest.raises(MotFormatError, match="id 7 appears twice in frame 1") as caught:
        check_unique_ids(_table([[1, 7, 0, 0, 1, 1], [1, 7, 5, 5, 1, 1]]))
    assert caught.value.line == 2


def test_ids_may_repeat_across_frames_but_not_within_one():
    """Duplicate (frame, id) pairs are an error (spec eval.md §1.5); the same id in other frames, or other
    ids in the same frame, are fine. Both columns are truncated: 3.2 and 3.9 are the same id 3."""
    check_unique_ids(_table([[1, 3, 0, 0, 1, 1], [2, 3, 0, 0, 1, 1], [1, 4, 0, 0, 1, 1], [2, 2, 0, 0, 1, 1]]))
    check_unique_ids(_table([[1, 3, 0, 0, 1, 1]]))
    rows = [[1, 1, 0, 0, 1, 1], [2, 3.9, 0, 0, 1, 1], [2, 2, 0, 0, 1, 1], [2.5, 3.2, 0, 0, 1, 1]]
    with pytest.raises(MotFormatError, match=r"id 3 appears twice in frame 2 \(first on line 2\)") as caught:
        check_unique_ids(_table(rows))
    assert caught.value.line == 4


def test_the_first_duplicate_in_file_order_names_both_lines():
    """With the duplicates listed out of id order, the error names the earlier line as "first" and the
    later one as the line at fault (hand-made: id 9 on lines 1 and 3 of frame 1)."""
    rows = [[1, 9, 0, 0, 1, 1], [1, 2, 0, 0, 1, 1], [1, 9, 0, 0, 1, 1], [1, 2.5, 0, 0, 1, 1]]
    with pytest.raises(MotFormatError) as caught:
        check_unique_ids(_table(rows))
    assert caught.value.line == 4 and "id 2 appears twice in frame 1 (first on line 2)" in caught.value.reason


@pytest.mark.parametrize(
    ("box", "warns"),
    [
        ((0.1, 0.2, 0.3, 0.4), True),
        ((1.0, 1.0, 1.0, 1.0), True),  # 1 x 1 still fits
        ((-1.0, -0.5, 1.0, 1.0), True),  # |x| <= 1
        ((1.5, 0.2, 0.3, 0.4), False),
        ((0.1, -1.5, 0.3, 0.4), False),  # |y| > 1
        ((0.1, 0.2, 1.5, 0.4), False),
        ((0.1, 0.2, 0.3, 1.5), False),
    ],
)
def test_gt_is_called_normalised_only_when_every_box_fits_in_one_pixel(caplog, box, warns):
    """The warning needs every |x|, |y|, w and h of every row to be <= 1; one larger value in any of the
    four columns, in any row, silences it."""
    table = _table([[1, 1, 0.5, 0.5, 0.5, 0.5, 1], [2, 1, *box, 1]])
    with caplog.at_level(logging.WARNING, logger="discmot.io.mot"):
        warn_if_normalised(table)
    assert ("normalised" in caplog.text) is warns


def test_an_empty_gt_is_not_called_normalised(caplog):
    with caplog.at_level(logging.WARNING, logger="discmot.io.mot"):
        warn_if_normalised(_table(np.zeros((0, 7))))
    assert caplog.text == ""


# --------------------------------------------------------------------------------------------------
# seqinfo.ini


def _write_ini(tmp_path, text: str):
    folder = tmp_path / "MOT17-02"
    folder.mkdir(exist_ok=True)
    path = folder / "seqinfo.ini"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_seqinfo_with_only_seqlength_one_is_read_with_the_defaults(tmp_path):
    """TrackEval needs only ``int(seqLength)`` (spec eval.md §1.3); 1 frame is the shortest sequence.
    The name defaults to the folder's, the images to ``img1/*.jpg``, the other numbers to unknown."""
    info = read_seqinfo(_write_ini(tmp_path, "[Sequence]\nseqLength=1\n"))
    assert info == SeqInfo(name="MOT17-02", length=1)
    assert (info.frame_rate, info.width, info.height, info.image_dir, info.image_ext) == (
        None,
        None,
        None,
        "img1",
        ".jpg",
    )


def test_seqinfo_optional_numbers_fractional_rates_and_whole_sizes(tmp_path, caplog):
    """frameRate may be fractional; a size must be a whole number (``1080.0`` counts, ``1920.5`` is
    ignored with a warning naming the key); imDir and imExt are taken as written."""
    text = "[Sequence]\nname=S\nimDir=images\nframeRate=29.97\nseqLength=4\nimWidth=1920.5\nimHeight=1080.0\n"
    with caplog.at_level(logging.WARNING, logger="discmot.io.seqinfo"):
        info = read_seqinfo(_write_ini(tmp_path, text + "imExt=.png\n"))
    assert info == SeqInfo(
        "S", 4, frame_rate=29.97, width=None, height=1080, image_dir="images", image_ext=".png"
    )
    assert "imWidth is not an integer ('1920.5'): ignored" in caplog.text and "imHeight" not in caplog.text


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[Other]\nseqLength=3\n", "no [Sequence] section"),
        ("[Sequence]\nname=S\n", "[Sequence] has no seqLength"),
        ("[Sequence]\nseqLength=three\n", "seqLength is not an integer: 'three'"),
        ("[Sequence]\nseqLength=2\nSEQLENGTH=3\n", "SEQLENGTH given twice in [Sequence]"),
        ("[Sequence]\nseqLength=2\nseqLength : 3\n", "seqLength given twice in [Sequence]"),
    ],
)
def test_a_seqinfo_without_a_whole_seqlength_is_refused(tmp_path, text, words):
    """``int(ini['Sequence']['seqLength'])`` must work (spec eval.md §1.3); configparser keys are
    case-insensitive, so a second key in another case (or written ``key : value``) is a duplicate,
    named as the file writes it."""
    with pytest.raises(MotFormatError, match=re.escape(words)):
        read_seqinfo(_write_ini(tmp_path, text))


def test_a_missing_seqinfo_is_named(tmp_path):
    with pytest.raises(MotFormatError, match="seqinfo.ini not found"):
        read_seqinfo(tmp_path / "seqinfo.ini")


def test_seqinfo_is_written_in_motchallenge_key_order_and_reads_back(tmp_path):
    """MOTChallenge's seqinfo.ini order: name, imDir, frameRate, seqLength, imWidth, imHeight, imExt;
    the extra keys go to a ``[discmot]`` section, key case kept (hand-written expected text)."""
    path = tmp_path / "seqinfo.ini"
    info = SeqInfo("S", 5, frame_rate=30.0, width=640, height=480, image_dir="images", image_ext=".png")
    write_seqinfo(path, info, extra={"Seed": "3", "kind": "synthetic"})
    assert path.read_text(encoding="utf-8") == (
        "[Sequence]\nname=S\nimDir=images\nframeRate=30\nseqLength=5\nimWidth=640\nimHeight=480\n"
        "imExt=.png\n\n[discmot]\nSeed=3\nkind=synthetic\n\n"
    )
    assert read_seqinfo(path) == info
    assert read_seqinfo_extra(path) == {"Seed": "3", "kind": "synthetic"}


def test_the_discmot_section_keeps_a_percent_sign_as_written(tmp_path):
    """write_seqinfo writes values verbatim, so the reader takes them verbatim: ``%`` is a character,
    not configparser's interpolation (which refused ``50%`` on read), as in [Sequence]."""
    path = tmp_path / "seqinfo.ini"
    write_seqinfo(path, SeqInfo("S", 5), extra={"note": "50% of 100%", "Mixed": "a %(b)s c"})
    assert read_seqinfo_extra(path) == {"note": "50% of 100%", "Mixed": "a %(b)s c"}


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("not an ini file\n", 1, "text before the [Sequence] header"),
        ("[Sequence]\nseqLength=3\n[discmot]\nseed 4\n", 4, "not a key=value line: 'seed 4'"),
        ("[discmot]\nseed=1\nseed=2\n", 3, "seed given twice in [discmot]"),
    ],
)
def test_a_seqinfo_that_is_no_ini_file_is_a_format_error_naming_file_and_line(tmp_path, text, line, words):
    """The [discmot] reader reports a broken file as read_seqinfo does: `MotFormatError` (a ValueError,
    which callers such as ``discmot synth``'s replace check catch) with ``path:line`` and the fault in
    words, not configparser's own exception."""
    path = tmp_path / "seqinfo.ini"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MotFormatError) as caught:
        read_seqinfo_extra(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}") and words in message


def test_seqinfo_without_a_rate_or_a_full_size_writes_neither(tmp_path):
    """No frameRate line without a rate; imWidth/imHeight only as a pair; no [discmot] section."""
    path = tmp_path / "seqinfo.ini"
    write_seqinfo(path, SeqInfo("S", 7, width=640), extra={})
    assert path.read_text(encoding="utf-8") == "[Sequence]\nname=S\nimDir=img1\nseqLength=7\nimExt=.jpg\n\n"
    assert read_seqinfo_extra(path) == {}
    write_seqinfo(path, SeqInfo("S", 7, frame_rate=29.97, height=480))
    assert "frameRate=29.97\nseqLength=7\nimExt" in path.read_text(encoding="utf-8")


def test_a_size_that_is_no_number_is_warned_about_once(tmp_path, caplog):
    """``imHeight=tall`` is one warning ("not a number"), not a second one calling it not an integer."""
    with caplog.at_level(logging.WARNING, logger="discmot.io.seqinfo"):
        info = read_seqinfo(_write_ini(tmp_path, "[Sequence]\nseqLength=3\nimWidth=64\nimHeight=tall\n"))
    assert (info.width, info.height) == (64, None)
    messages = [record.getMessage().split(": ", 1)[1] for record in caplog.records]
    assert messages == ["imHeight is not a number ('tall'): ignored"]
