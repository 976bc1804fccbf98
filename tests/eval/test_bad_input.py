"""Bad evaluation input: one clear line naming file (and line), exit status 2, no output files.

Each test writes a small valid benchmark in TrackEval's layout, breaks one thing, and runs the real
command line (`discmot.cli.main`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from discmot.cli import main
from discmot.eval.runner import evaluate

GT_ROWS = ["1,1,10,10,20,40,1,1,1", "2,1,12,10,20,40,1,1,1", "1,2,60,10,20,40,1,1,1", "3,2,62,12,20,40,1,1,1"]
TRACKER_ROWS = ["1,5,10,10,20,40,1,-1,-1,-1", "2,5,12,11,20,40,1,-1,-1,-1", "3,6,61,12,20,40,1,-1,-1,-1"]


def write_benchmark(
    root: Path, gt_rows=GT_ROWS, tracker_rows=TRACKER_ROWS, length: int = 3
) -> tuple[Path, Path]:
    """One sequence ``seq-a`` of ``length`` frames and one tracker ``trk`` in TrackEval's layout."""
    gt_folder, trackers_folder = root / "gt", root / "trackers"
    seq = gt_folder / "MOT17-train" / "seq-a"
    (seq / "gt").mkdir(parents=True)
    (seq / "gt" / "gt.txt").write_text("\n".join(gt_rows) + "\n")
    (seq / "seqinfo.ini").write_text(f"[Sequence]\nname=seq-a\nseqLength={length}\n")
    (gt_folder / "seqmaps").mkdir()
    (gt_folder / "seqmaps" / "MOT17-train.txt").write_text("name\nseq-a\n")
    data = trackers_folder / "MOT17-train" / "trk" / "data"
    data.mkdir(parents=True)
    (data / "seq-a.txt").write_text("".join(row + "\n" for row in tracker_rows))
    return gt_folder, trackers_folder


def run_cli(gt_folder: Path, trackers_folder: Path, output: Path, capsys, *more: str) -> tuple[int, str]:
    status = main(
        [
            "eval",
            "--gt-folder",
            str(gt_folder),
            "--trackers-folder",
            str(trackers_folder),
            "--benchmark",
            "MOT17",
            "--split",
            "train",
            "--output-folder",
            str(output),
            "--json",
            str(output / "r.json"),
            *more,
        ]
    )
    return status, capsys.readouterr().err


def assert_clean_failure(status: int, stderr: str, output: Path, *fragments: str) -> None:
    assert status == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("discmot: error: ")
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert not output.exists() or not any(output.rglob("*")), "no partial output may be left"


def test_valid_benchmark_succeeds(tmp_path, capsys, caplog):
    gt, trackers = write_benchmark(tmp_path)
    with caplog.at_level("INFO", logger="discmot"):
        status, _ = run_cli(gt, trackers, tmp_path / "out", capsys)
    assert status == 0
    assert (
        f"trk: wrote pedestrian_summary.txt and pedestrian_detailed.csv in {tmp_path / 'out' / 'trk'}"
        in caplog.text
    )
    assert (tmp_path / "out" / "trk" / "pedestrian_summary.txt").is_file()
    assert (tmp_path / "out" / "r.json").is_file()


@pytest.mark.parametrize(
    ("tracker_rows", "line", "words"),
    [
        (TRACKER_ROWS[:2] + ["3,6,61,12,20,40,1,-1,-1"], 3, "columns"),  # wrong column count
        (TRACKER_ROWS[:1] + ["2,5,abc,11,20,40,1,-1,-1,-1"] + TRACKER_ROWS[2:], 2, "not a number"),
        (TRACKER_ROWS[:2] + ["3,6,nan,12,20,40,1,-1,-1,-1"], 3, "finite"),
        (TRACKER_ROWS[:2] + ["3,6,61,12,0,40,1,-1,-1,-1"], 3, "width and height"),  # zero width
        (TRACKER_ROWS[:2] + ["3,6,61,12,20,-4,1,-1,-1,-1"], 3, "width and height"),  # negative height
        (TRACKER_ROWS + ["3,6,80,12,20,40,1,-1,-1,-1"], 4, "appears twice"),  # duplicate id in a frame
        (TRACKER_ROWS + ["4,7,80,12,20,40,1,-1,-1,-1"], 4, "out of range"),  # frame beyond seqLength
        (TRACKER_ROWS[:2] + ["", TRACKER_ROWS[2]], 3, "blank line"),
        (["\ufeff" + TRACKER_ROWS[0]] + TRACKER_ROWS[1:], 1, "byte-order mark (BOM)"),  # saved by Notepad
    ],
)
def test_bad_tracker_rows(tmp_path, capsys, tracker_rows, line, words):
    gt, trackers = write_benchmark(tmp_path, tracker_rows=tracker_rows)
    status, err = run_cli(gt, trackers, tmp_path / "out", capsys)
    assert_clean_failure(status, err, tmp_path / "out", f"seq-a.txt:{line}:", words)


def test_bad_rows_found_by_worker_processes_are_the_same_one_line(tmp_path, capsys):
    """``--workers 2``: the error crosses a process boundary (it must pickle) and still names file and
    line; it was a traceback about the error class's arguments."""
    gt, trackers = write_benchmark(tmp_path, tracker_rows=TRACKER_ROWS + ["4,7,80,12,20,40,1,-1,-1,-1"])
    seq_b = gt / "MOT17-train" / "seq-b"  # a second sequence, so that two processes have work
    (seq_b / "gt").mkdir(parents=True)
    (seq_b / "gt" / "gt.txt").write_text("\n".join(GT_ROWS) + "\n")
    (seq_b / "seqinfo.ini").write_text("[Sequence]\nname=seq-b\nseqLength=3\n")
    (trackers / "MOT17-train" / "trk" / "data" / "seq-b.txt").write_text("\n".join(TRACKER_ROWS) + "\n")
    (gt / "seqmaps" / "MOT17-train.txt").write_text("name\nseq-a\nseq-b\n")
    status = main(["eval", "--gt-folder", str(gt), "--trackers-folder", str(trackers), "--workers", "2",
                   "--output-folder", str(tmp_path / "out")])  # fmt: skip
    assert_clean_failure(status, capsys.readouterr().err, tmp_path / "out", "seq-a.txt:4:", "out of range")


def test_bad_gt_row_names_gt_file(tmp_path, capsys):
    gt, trackers = write_benchmark(tmp_path, gt_rows=GT_ROWS[:2] + ["1,2,60,10,20,x,1,1,1"] + GT_ROWS[3:])
    status, err = run_cli(gt, trackers, tmp_path / "out", capsys)
    assert_clean_failure(status, err, tmp_path / "out", "gt.txt:3:", "not a number")


FRAME_COUNTS = {("Count", "Frames"), ("CLEAR", "CLR_Frames")}


def _scores(gt, trackers) -> dict:
    return evaluate(gt, trackers, write_summaries=False)["trk"]["COMBINED"]


@pytest.mark.parametrize(
    ("tracker_rows", "images", "length"),
    [
        (TRACKER_ROWS, 0, 3),  # the last gt row
        (TRACKER_ROWS + ["5,7,60,10,20,40,1,-1,-1,-1"], 0, 5),  # a result row after the gt's last
        (TRACKER_ROWS, 7, 7),  # img1/ holds frames 1-7
    ],
)
def test_a_sequence_without_seqinfo_scores_as_with_its_true_length(
    tmp_path, caplog, tracker_rows, images, length
):
    """A sequence of one's own (a CVAT export has gt/ but no seqinfo.ini; TrackEval stops) is as long as
    the last frame of its images, gt and results; every score equals that of a seqinfo.ini giving a
    longer true length (frames with neither gt nor results add nothing) but the frame counts and CLEAR's
    false positives per frame, which divides by them."""
    with_info = write_benchmark(tmp_path / "a", tracker_rows=tracker_rows, length=12)
    without = write_benchmark(tmp_path / "b", tracker_rows=tracker_rows)
    sequence = without[0] / "MOT17-train" / "seq-a"
    (sequence / "seqinfo.ini").unlink()
    (sequence / "img1").mkdir()
    for frame in range(1, images + 1):
        (sequence / "img1" / f"{frame:06d}.jpg").write_bytes(b"")  # only the names are read
    expected = _scores(*with_info)
    with caplog.at_level("WARNING"):
        ours = _scores(*without)
    assert "no seqinfo.ini; each tracker's results are scored as if the sequence ended" in caplog.text
    for metric, fields in expected.items():
        for field, value in fields.items():
            if (metric, field) in FRAME_COUNTS:
                assert (value, ours[metric][field]) == (12, length), field
            elif (metric, field) == ("CLEAR", "FP_per_frame"):
                assert ours[metric][field] == pytest.approx(expected["CLEAR"]["CLR_FP"] / length)
            else:
                np.testing.assert_array_equal(ours[metric][field], value, err_msg=f"{metric}.{field}")


def test_a_broken_seqinfo_is_still_an_error(tmp_path, capsys):
    gt, trackers = write_benchmark(tmp_path)
    (gt / "MOT17-train" / "seq-a" / "seqinfo.ini").write_text("[Sequence]\nname=seq-a\n")
    status, err = run_cli(gt, trackers, tmp_path / "out", capsys)
    assert_clean_failure(status, err, tmp_path / "out", "seqinfo.ini", "seqLength")


def test_seqmap_naming_missing_sequence(tmp_path, capsys):
    gt, trackers = write_benchmark(tmp_path)
    (gt / "seqmaps" / "MOT17-train.txt").write_text("name\nseq-a\nseq-zzz\n")
    status, err = run_cli(gt, trackers, tmp_path / "out", capsys)
    assert_clean_failure(status, err, tmp_path / "out", "seq-zzz", "not found")


def test_tracker_file_for_unknown_sequence_is_ignored_with_a_warning(tmp_path, capsys, caplog):
    """As TrackEval, a result file no seqmap sequence names is not evaluated; discmot says so."""
    gt, trackers = write_benchmark(tmp_path)
    clean_status, _ = run_cli(gt, trackers, tmp_path / "clean", capsys)
    (trackers / "MOT17-train" / "trk" / "data" / "seq-typo.txt").write_text(TRACKER_ROWS[0] + "\n")
    with caplog.at_level("WARNING"):
        status, _ = run_cli(gt, trackers, tmp_path / "out", capsys)
    assert clean_status == status == 0
    assert any("seq-typo.txt" in r.getMessage() and "not evaluated" in r.getMessage() for r in caplog.records)
    summary = "trk/pedestrian_summary.txt"
    assert (tmp_path / "out" / summary).read_text() == (tmp_path / "clean" / summary).read_text()


def test_a_sequence_named_combined_is_refused(tmp_path, capsys):
    gt, trackers = write_benchmark(tmp_path)
    (gt / "MOT17-train" / "seq-a").rename(gt / "MOT17-train" / "COMBINED")
    (gt / "seqmaps" / "MOT17-train.txt").write_text("name\nCOMBINED\n")
    data = trackers / "MOT17-train" / "trk" / "data"
    (data / "seq-a.txt").rename(data / "COMBINED.txt")
    status, err = run_cli(gt, trackers, tmp_path / "out", capsys)
    assert_clean_failure(status, err, tmp_path / "out", "MOT17-train.txt", "named COMBINED")


def test_missing_tracker_file(tmp_path, capsys):
    gt, trackers = write_benchmark(tmp_path)
    (trackers / "MOT17-train" / "trk" / "data" / "seq-a.txt").unlink()
    status, err = run_cli(gt, trackers, tmp_path / "out", capsys)
    assert_clean_failure(status, err, tmp_path / "out", "seq-a.txt", "not found")


def test_a_tracker_missing_a_file_names_the_complete_ones_to_evaluate(tmp_path, capsys):
    gt, trackers = write_benchmark(tmp_path)
    data = trackers / "MOT17-train"
    shutil.copytree(data / "trk", data / "other")
    (data / "trk" / "data" / "seq-a.txt").unlink()
    status, err = run_cli(gt, trackers, tmp_path / "out", capsys)
    assert_clean_failure(status, err, tmp_path / "out", "seq-a.txt", "not found")
    assert err.strip().endswith("; the complete ones: --trackers other"), err
    status, err = run_cli(gt, trackers, tmp_path / "out", capsys, "--trackers", "trk")
    assert "the complete ones" not in err  # named by the user: the message stays the plain one


def test_empty_tracker_file_scores_as_all_misses(tmp_path):
    """TrackEval's early exit: every gt box is a miss, LocA is 1, MOTA 0 and no error."""
    gt, trackers = write_benchmark(tmp_path, tracker_rows=[])
    results = evaluate(gt, trackers, benchmark="MOT17", write_summaries=False)
    seq = results["trk"]["seq-a"]
    assert seq["CLEAR"]["CLR_FN"] == len(GT_ROWS) and seq["CLEAR"]["MOTA"] == 0
    assert seq["HOTA"]["LocA(0)"] == 1.0 and seq["HOTA"]["HOTA_FN"].tolist() == [len(GT_ROWS)] * 19
    assert seq["Identity"]["IDFN"] == len(GT_ROWS) and seq["Count"]["Dets"] == 0


def test_tracker_class_other_than_pedestrian(tmp_path, capsys):
    gt, trackers = write_benchmark(tmp_path, tracker_rows=TRACKER_ROWS[:2] + ["3,6,61,12,20,40,1,2,-1,-1"])
    status, err = run_cli(gt, trackers, tmp_path / "out", capsys)
    assert_clean_failure(status, err, tmp_path / "out", "seq-a.txt:3:", "pedestrian")


def test_gt_class_outside_motchallenge_classes(tmp_path, capsys):
    gt, trackers = write_benchmark(tmp_path, gt_rows=GT_ROWS[:3] + ["3,2,62,12,20,40,1,14,1"])
    status, err = run_cli(gt, trackers, tmp_path / "out", capsys)
    assert_clean_failure(status, err, tmp_path / "out", "gt.txt:4:", "class 14")


def test_a_json_path_that_is_an_input_or_a_folder_is_refused_first(tmp_path, capsys):
    gt, trackers = write_benchmark(tmp_path)
    result = trackers / "MOT17-train" / "trk" / "data" / "seq-a.txt"
    before = result.read_bytes()
    for target, words in (
        (result, "would overwrite one of the files it evaluates"),
        (tmp_path, "names a folder"),
        (result / "r.json", "seq-a.txt: not a folder (a file is in the way)"),  # before any summary
    ):
        argv = ["eval", "--gt-folder", str(gt), "--trackers-folder", str(trackers), "--json", str(target)]
        status = main([*argv, "--output-folder", str(tmp_path / "out")])
        assert_clean_failure(status, capsys.readouterr().err, tmp_path / "out", words)
    assert result.read_bytes() == before


def test_an_empty_gt_file_is_scored_and_said(tmp_path, caplog):
    gt, trackers = write_benchmark(tmp_path)
    gt_file = gt / "MOT17-train" / "seq-a" / "gt" / "gt.txt"
    gt_file.write_text("")
    with caplog.at_level("WARNING", logger="discmot"):
        results = evaluate(gt, trackers, benchmark="MOT17", split="train", write_summaries=False)
    assert f"{gt_file}: empty: no ground-truth object" in caplog.text
    assert results["trk"]["seq-a"]["CLEAR"]["CLR_FP"] == len(TRACKER_ROWS)


def test_a_folder_of_sequences_without_a_split_level_names_the_switch(tmp_path, capsys):
    gt, trackers = write_benchmark(tmp_path)
    status = main(["eval", "--gt-folder", str(gt / "MOT17-train"), "--trackers-folder", str(trackers)])
    assert status == 2
    assert (
        "holds sequence folders itself: add --skip-split-folder; in Python, skip_split_folder=True)"
        in capsys.readouterr().err
    )


def test_without_seqinfo_a_trackers_scores_do_not_depend_on_the_others_evaluated_with_it(tmp_path):
    """Each tracker's results set its own length: a second tracker with rows up to frame 9 leaves the
    first one's frame counts (and its FP per frame) as they are alone."""
    gt, trackers = write_benchmark(tmp_path)
    (gt / "MOT17-train" / "seq-a" / "seqinfo.ini").unlink()
    alone = evaluate(gt, trackers, write_summaries=False)["trk"]
    longer = trackers / "MOT17-train" / "long" / "data"
    longer.mkdir(parents=True)
    rows = [*TRACKER_ROWS, "9,8,1,1,5,5,1,-1,-1,-1"]
    (longer / "seq-a.txt").write_text("".join(row + "\n" for row in rows))
    both = evaluate(gt, trackers, write_summaries=False)
    assert both["long"]["seq-a"]["Count"]["Frames"] == 9
    for metric, fields in alone["seq-a"].items():
        for field, value in fields.items():
            np.testing.assert_array_equal(both["trk"]["seq-a"][metric][field], value, err_msg=field)
    assert alone["seq-a"]["Count"]["Frames"] == 3
