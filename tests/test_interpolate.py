"""`discmot interpolate` and `discmot.postprocess`: short gaps in tracks filled by linear interpolation.

Expected boxes are worked out by hand from the rule (a box ``k`` frames into a gap of ``b - a`` frames is
``left + (right - left) * k / (b - a)``); the behavioural check scores a synthetic sequence's ground
truth with frames dropped from some tracks, before and after interpolation, with discmot's evaluator.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from discmot import cli
from discmot.data.synth import render_sequence
from discmot.data.synth.writer import generate_dataset, gt_rows
from discmot.eval.runner import evaluate_files
from discmot.io.mot import MotFormatError, read_mot_table
from discmot.postprocess import DEFAULT_MAX_GAP, interpolate_results, interpolate_tracks
from helpers import write_lines


def row(frame, track, x, y, w, h, score=1.0, *rest):
    return [frame, track, x, y, w, h, score, *(rest or (-1, -1, -1))]


def is_original(output: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``(len(output),)`` bool: whether each row of ``output`` has the (frame, id) of one of ``rows``."""
    keys = {(r[0], r[1]) for r in rows.tolist()}
    return np.array([(r[0], r[1]) in keys for r in output.tolist()])


# --------------------------------------------------------------------------------------------------
# Arrays


def test_a_one_frame_gap_gets_the_midpoint_box_and_score_and_the_earlier_boxs_other_columns():
    rows = np.array([row(1, 7, 10, 20, 30, 40, 0.9, 1, 2, 0.5), row(3, 7, 20, 40, 50, 60, 0.5, 3, 4, 0.25)])

    out = interpolate_tracks(rows, max_gap=1)

    assert out.tolist() == [rows[0].tolist(), [2, 7, 15, 30, 40, 50, 0.7, 1, 2, 0.5], rows[1].tolist()]


def test_gaps_of_up_to_max_gap_frames_are_filled_and_longer_ones_left_alone():
    # gaps of 3 (frames 2-4) and 4 (frames 6-9) missing frames; max_gap 3 fills the first only
    rows = np.array([row(1, 1, 0, 0, 10, 10), row(5, 1, 40, 8, 14, 10), row(10, 1, 90, 8, 14, 10)])

    out = interpolate_tracks(rows, max_gap=3)

    assert out[:, 0].tolist() == [1, 2, 3, 4, 5, 10]
    assert out[1:4, 2:6].tolist() == [[10, 2, 11, 10], [20, 4, 12, 10], [30, 6, 13, 10]]
    assert interpolate_tracks(rows, max_gap=4)[:, 0].tolist() == list(range(1, 11))
    assert len(interpolate_tracks(rows, max_gap=2)) == 3  # neither gap fits


def test_two_ids_are_interpolated_each_on_its_own_and_the_output_is_sorted_by_frame_then_id():
    rows = np.array(
        [row(4, 2, 30, 0, 10, 10), row(1, 5, 0, 0, 10, 10), row(1, 2, 0, 0, 10, 10), row(3, 5, 20, 0, 10, 10)]
    )

    out = interpolate_tracks(rows, max_gap=5)

    assert out[:, :3].tolist() == [
        [1, 2, 0],
        [1, 5, 0],
        [2, 2, 10],
        [2, 5, 10],
        [3, 2, 20],
        [3, 5, 20],
        [4, 2, 30],
    ]


def test_a_float_box_is_interpolated_in_tlwh_as_its_corners_are_and_the_input_rows_stay_bit_identical():
    left = row(10, 3, 0.1 + 0.2, 1 / 3, 12.345678901234567, 7.7, 0.61)
    right = row(14, 3, 101.37, 55.5, 20.01, 3.3, 0.2)
    rows = np.array([right, left])

    out = interpolate_tracks(rows, max_gap=3)
    original = is_original(out, rows)
    inserted = out[~original]

    assert out[original].tobytes() == rows[[1, 0]].tobytes()
    corners = lambda r: np.concatenate([r[:, 2:4], r[:, 2:4] + r[:, 4:6]], axis=1)  # noqa: E731
    t = np.array([[0.25], [0.5], [0.75]])
    expected = corners(rows[[1]]) + (corners(rows[[0]]) - corners(rows[[1]])) * t
    np.testing.assert_allclose(corners(inserted), expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(inserted[:, 6], [0.5075, 0.405, 0.3025], rtol=0, atol=1e-12)


def test_rows_without_gaps_come_back_unchanged():
    rows = np.array([row(1, 1, 5, 5, 9, 9), row(2, 1, 6, 5, 9, 9), row(1, 2, 50, 5, 9, 9)])

    assert interpolate_tracks(rows, max_gap=20).tolist() == [
        rows[0].tolist(),
        rows[2].tolist(),
        rows[1].tolist(),
    ]
    assert interpolate_tracks(np.zeros((0, 10)), max_gap=20).shape == (0, 10)


@pytest.mark.parametrize("max_gap", [0, -3, 1.5, True, None])
def test_a_max_gap_that_is_not_a_whole_number_of_at_least_one_is_refused(max_gap):
    with pytest.raises(ValueError, match="max_gap"):
        interpolate_tracks(np.array([row(1, 1, 0, 0, 1, 1)]), max_gap=max_gap)


def test_an_id_twice_in_a_frame_or_rows_of_the_wrong_shape_are_refused():
    with pytest.raises(ValueError, match=r"rows:3: id 1 appears twice in frame 2 \(first on line 1\)"):
        interpolate_tracks(np.array([row(2, 1, 0, 0, 1, 1), row(4, 1, 0, 0, 1, 1), row(2, 1, 5, 0, 1, 1)]))
    with pytest.raises(ValueError, match=r"shape \(2, 6\)"):
        interpolate_tracks(np.zeros((2, 6)))
    with pytest.raises(ValueError, match="row 1 holds a value that is not a finite number"):
        interpolate_tracks(np.array([row(1, 1, np.nan, 0, 1, 1)]))


# --------------------------------------------------------------------------------------------------
# Files


def test_the_files_untouched_rows_keep_their_text_and_the_inserted_ones_are_the_writers(tmp_path):
    lines = [
        "3,1,12.000001,20.5,30,40,0.93,-1,-1,-1",  # any formatting of the input survives as it is
        "1,1,10.123456789012345,20.5,30,40,1,-1,-1,-1",
        "1,2,1e2,5,10,10,0.5,-1,-1,-1",
        "2,2,101.5,5,10,10,0.25,-1,-1,-1",
    ]
    source = write_lines(tmp_path / "in.txt", lines)

    [summary] = interpolate_results(source, tmp_path / "out.txt", max_gap=20)

    assert (tmp_path / "out.txt").read_text().splitlines() == [
        lines[1],
        lines[2],
        "2,1,11.06,20.50,30.00,40.00,0.965,-1,-1,-1",  # midpoint of frames 1 and 3, boxes to 2 decimals
        lines[3],
        lines[0],
    ]
    assert (summary.rows_added, summary.tracks_touched, summary.tracks) == (1, 1, 2)


def test_the_output_is_read_back_as_interpolate_tracks_makes_it(tmp_path):
    rows = np.array([row(1, 1, 10, 20, 30, 40, 0.9), row(5, 1, 18, 28, 30, 40, 0.5), row(2, 9, 0, 0, 5, 5)])
    source = write_lines(tmp_path / "in.txt", [",".join(repr(v) for v in r) for r in rows.tolist()])

    interpolate_results(source, tmp_path / "out.txt", max_gap=3)

    np.testing.assert_array_equal(
        read_mot_table(tmp_path / "out.txt").values, interpolate_tracks(rows, max_gap=3)
    )


def test_a_space_delimited_file_with_crlf_line_ends_keeps_its_delimiter_line_ends_and_extra_columns(tmp_path):
    source = write_lines(
        tmp_path / "in.txt", ["1 4 10 20 30 40 1 1 0.75", "3 4 12 20 30 40 1 2 0.5"], newline="\r\n"
    )

    interpolate_results(source, tmp_path / "out.txt")

    assert (tmp_path / "out.txt").read_bytes() == (
        b"1 4 10 20 30 40 1 1 0.75\r\n2 4 11.00 20.00 30.00 40.00 1 1 0.75\r\n3 4 12 20 30 40 1 2 0.5\r\n"
    )


def test_a_file_with_lone_cr_line_ends_keeps_them(tmp_path):
    """An old Mac file (CR alone ends its lines, read by TrackEval's universal newlines) comes back with
    CR line ends, as the docs promise "the input's line ends" (it used to come back with LF)."""
    source = write_lines(tmp_path / "in.txt", ["1,4,10,20,30,40,1", "3,4,12,20,30,40,1"], newline="\r")

    interpolate_results(source, tmp_path / "out.txt")

    assert (tmp_path / "out.txt").read_bytes() == (
        b"1,4,10,20,30,40,1\r2,4,11.00,20.00,30.00,40.00,1\r3,4,12,20,30,40,1\r"
    )


def test_an_empty_results_file_gives_an_empty_file(tmp_path):
    source = write_lines(tmp_path / "in.txt", [])

    [summary] = interpolate_results(source, tmp_path / "out.txt")

    assert (tmp_path / "out.txt").read_bytes() == b"" and summary.rows_added == 0


def test_a_folder_of_results_gives_a_folder_of_the_same_names(tmp_path):
    results = tmp_path / "jde" / "data"
    results.mkdir(parents=True)
    write_lines(results / "SEQ-01.txt", ["1,1,0,0,5,5,1,-1,-1,-1"])
    write_lines(results / "SEQ-02.txt", ["1,1,0,0,5,5,1,-1,-1,-1", "3,1,2,0,5,5,1,-1,-1,-1"])
    write_lines(results / ".SEQ-03.txt.tmp-x", ["not results"])  # a half-written file of another tool
    write_lines(results / "notes.md", ["not results"])
    out = tmp_path / "jde-interpolated" / "data"

    summaries = interpolate_results(results, out, max_gap=20)

    assert sorted(p.name for p in out.iterdir()) == ["SEQ-01.txt", "SEQ-02.txt"]
    assert [(s.out, s.rows_added) for s in summaries] == [(out / "SEQ-01.txt", 0), (out / "SEQ-02.txt", 1)]
    assert (out / "SEQ-02.txt").read_text().splitlines()[1] == "2,1,1.00,0.00,5.00,5.00,1,-1,-1,-1"


def test_a_bad_file_of_a_folder_names_its_line_and_nothing_is_written(tmp_path):
    results = tmp_path / "data"
    results.mkdir()
    write_lines(results / "A.txt", ["1,1,0,0,5,5,1,-1,-1,-1", "3,1,2,0,5,5,1,-1,-1,-1"])
    write_lines(
        results / "B.txt", ["1,1,0,0,5,5,1,-1,-1,-1", "2,1,0,0,5,5,1,-1,-1,-1", "3,1,0,x,5,5,1,-1,-1,-1"]
    )

    with pytest.raises(MotFormatError, match=r"B\.txt:3: column 4 is not a number: 'x'"):
        interpolate_results(results, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "lines, message",
    [
        (["1,1,0,0,5,5,1", "3,1,0,0,5,5,1", "3,1,4,0,5,5,1"], r"in\.txt:3: id 1 appears twice in frame 3"),
        (["1,1,0,0,5,5", "2,1,0,0,5,5"], r"in\.txt:1: has 6 columns, at least 7 are needed"),
        (["1,1,0,0,5,5,1", "0,1,0,0,5,5,1"], r"in\.txt:2: frame 0 is out of range"),
        (["1,1,0,0,5,5,1", "2,1,0,0,0,5,1"], r"in\.txt:2: box width and height must be > 0"),
    ],
)
def test_a_results_file_discmot_eval_would_refuse_is_refused_naming_the_line(tmp_path, lines, message):
    with pytest.raises(MotFormatError, match=message):
        interpolate_results(write_lines(tmp_path / "in.txt", lines), tmp_path / "out.txt")
    assert not (tmp_path / "out.txt").exists()


def test_writing_over_an_input_is_refused_and_it_stays_as_it_was(tmp_path):
    source = write_lines(tmp_path / "in.txt", ["1,1,0,0,5,5,1", "3,1,2,0,5,5,1"])
    os.symlink(source, tmp_path / "link.txt")

    for out in (source, tmp_path / "link.txt", tmp_path / "." / "in.txt"):
        with pytest.raises(ValueError, match="is the input file: interpolate leaves its input as it is"):
            interpolate_results(source, out)
    with pytest.raises(ValueError, match="is the input folder"):
        interpolate_results(tmp_path, tmp_path)
    assert source.read_text() == "1,1,0,0,5,5,1\n3,1,2,0,5,5,1\n"


def test_an_out_of_the_wrong_kind_or_no_results_are_refused(tmp_path):
    source = write_lines(tmp_path / "in.txt", ["1,1,0,0,5,5,1"])
    (tmp_path / "folder").mkdir()
    with pytest.raises(ValueError, match="is a folder: with one results file, --out names the output file"):
        interpolate_results(source, tmp_path / "folder")
    with pytest.raises(ValueError, match="not a folder: with a folder of results"):
        interpolate_results(tmp_path, tmp_path / "in.txt")
    with pytest.raises(ValueError, match=r"no results files \(<seq>\.txt\) in this folder$"):
        interpolate_results(tmp_path / "folder", tmp_path / "out")
    (tmp_path / "folder" / "data").mkdir()  # a TrackEval tracker folder: its results are in data/
    with pytest.raises(
        ValueError, match=r"in this folder: give .*folder/data, TrackEval's folder of results"
    ):
        interpolate_results(tmp_path / "folder", tmp_path / "out")
    with pytest.raises(ValueError, match="no such results file or folder"):
        interpolate_results(tmp_path / "missing.txt", tmp_path / "out.txt")


def test_a_results_folder_that_discmot_eval_has_scored_is_interpolated_without_its_summary(tmp_path, caplog):
    """``discmot eval`` on a folder of ``<seq>.txt`` writes its ``pedestrian_summary.txt`` (a header line,
    then numbers) and ``pedestrian_detailed.csv`` into that folder: interpolating the folder afterwards
    reads the results only (it used to stop at the summary's header: "column 1 is not a number:
    'HOTA'"), and the tracker folder of the TrackEval layout, holding a summary, still gets the hint."""
    (sequence,) = generate_dataset(tmp_path / "gt", "tiny", split="val", sequences=1, frames=8)
    gt = read_mot_table(sequence / "gt" / "gt.txt").values
    gappy = gt[~((gt[:, 1] == 1) & (gt[:, 0] == 4))]  # id 1 misses frame 4
    results = tmp_path / "results"
    results.mkdir()
    write_lines(
        results / f"{sequence.name}.txt",
        [f"{int(r[0])},{int(r[1])},{r[2]:g},{r[3]:g},{r[4]:g},{r[5]:g},1" for r in gappy],
    )
    gt_root = str(tmp_path / "gt")
    assert (
        cli.main(["eval", "--gt-folder", gt_root, "--trackers-folder", str(results), "--split", "val"]) == 0
    )
    summary = results / "pedestrian_summary.txt"
    assert summary.is_file() and (results / "pedestrian_detailed.csv").is_file()

    with caplog.at_level("INFO", logger="discmot"):
        summaries = interpolate_results(results, tmp_path / "filled", max_gap=2)

    assert [(s.source.name, s.rows_added) for s in summaries] == [(f"{sequence.name}.txt", 1)]
    assert sorted(p.name for p in (tmp_path / "filled").iterdir()) == [f"{sequence.name}.txt"]
    assert f"{summary}: left out: discmot eval's summary, not a results file" in caplog.messages
    tracker = tmp_path / "trackers" / "jde"
    (tracker / "data").mkdir(parents=True)
    for name in ("pedestrian_summary.txt", "pedestrian_detailed.csv"):
        (tracker / name).write_bytes((results / name).read_bytes())
    with pytest.raises(ValueError, match=r"jde: no results files .* give .*jde/data, TrackEval's folder"):
        interpolate_results(tracker, tmp_path / "out")
    (results / "pedestrian_detailed.csv").unlink()  # a summary alone may be a sequence's results: read
    with pytest.raises(MotFormatError, match=r"pedestrian_summary\.txt:1: column 1 is not a number"):
        interpolate_results(results, tmp_path / "filled-again")


# --------------------------------------------------------------------------------------------------
# The verb


def test_the_verb_writes_the_output_and_logs_one_line_per_file(tmp_path, caplog):
    source = write_lines(
        tmp_path / "in.txt", ["1,1,0,0,5,5,1", "4,1,3,0,5,5,1", "1,2,0,0,5,5,1", "9,2,0,0,5,5,1"]
    )

    with caplog.at_level("INFO", logger="discmot"):
        status = cli.main(["interpolate", str(source), "--out", str(tmp_path / "out.txt"), "--max-gap", "2"])

    assert status == 0
    assert [r.getMessage() for r in caplog.records if r.name == "discmot.postprocess"] == [
        f"{source}: 2 rows added in 1 of 2 tracks (gaps of 1-2 frames) -> {tmp_path / 'out.txt'}"
    ]
    assert len((tmp_path / "out.txt").read_text().splitlines()) == 6


def test_the_verbs_default_max_gap_is_the_librarys():
    """The verb states its default itself (importing `discmot.postprocess` would load numpy at start-up):
    the two may not drift apart."""
    args = cli.build_parser().parse_args(["interpolate", "in.txt", "--out", "out.txt"])

    assert args.max_gap == DEFAULT_MAX_GAP


def test_the_verb_reports_an_input_error_in_one_line(tmp_path, capsys):
    source = write_lines(tmp_path / "in.txt", ["1,1,0,0,5,5,1"])

    assert cli.main(["interpolate", str(source), "--out", str(source)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"discmot: error: {source}: is the input file") and err.count("\n") == 1
    with pytest.raises(SystemExit):
        cli.main(["interpolate", str(source), "--out", str(tmp_path / "o.txt"), "--max-gap", "0"])
    assert "--max-gap: expected a number of at least 1, got 0" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------------
# What it does to the scores


def test_filling_gaps_dropped_from_synthetic_tracks_raises_hota_and_mota(tmp_path):
    gt_text = "".join(gt_rows(frame) for frame in render_sequence("tiny", seed=3, num_frames=30))
    gt = read_mot_table(write_lines(tmp_path / "gt.txt", gt_text.splitlines())).values
    # tracks 2-4 (of frames 1-21, 1-26, 1-30) lose every 4th frame (1-frame gaps) and frames 10-12
    dropped = np.isin(gt[:, 1], [2, 3, 4]) & ((gt[:, 0] % 4 == 0) | ((gt[:, 0] >= 10) & (gt[:, 0] <= 12)))
    assert dropped.sum() == 24
    results = np.concatenate([gt[~dropped, :6], np.ones((int((~dropped).sum()), 1))], axis=1)
    write_lines(tmp_path / "gappy.txt", [",".join(repr(v) for v in r) for r in results.tolist()])

    interpolate_results(tmp_path / "gappy.txt", tmp_path / "filled.txt", max_gap=5)

    before = evaluate_files(tmp_path / "gt.txt", tmp_path / "gappy.txt", num_frames=30)
    after = evaluate_files(tmp_path / "gt.txt", tmp_path / "filled.txt", num_frames=30)
    assert after["HOTA"]["HOTA"].mean() > before["HOTA"]["HOTA"].mean() + 0.05
    assert after["CLEAR"]["MOTA"] > before["CLEAR"]["MOTA"] + 0.1
    assert after["CLEAR"]["CLR_FN"] < before["CLEAR"]["CLR_FN"] and after["CLEAR"]["CLR_FP"] == 0
