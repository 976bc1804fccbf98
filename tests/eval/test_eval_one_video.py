"""`discmot eval` for one video's files: results of part of a sequence are warned about, one gt file and one
results file are scored without a folder tree (the same numbers as the folder form), and the errors met on
the way name what was expected.

The journey these come from: ``discmot track vtest.avi --max-frames 100 --save-txt res100/vtest.txt``, then
``discmot eval`` against the 795-frame PETS09-S2L1 ground truth. Here a 100-frame sequence stands in for it
(one gt box a frame); the real-data tests use the shared MOTChallenge corpus (skipped when absent).
"""

from __future__ import annotations

import json
import logging
import shutil

import numpy as np
import pytest

from discmot.cli import main
from discmot.data.layouts import LayoutError, resolve_eval_plan
from discmot.eval.runner import EvalInputError, evaluate, evaluate_files, evaluate_pair
from helpers import shared_file

LENGTH = 100
EARLY = "results end at frame"


def gt_row(frame: int) -> str:
    return f"{frame},1,{10 + frame},20,30,60,1,1,1"


def result_row(frame: int) -> str:
    return f"{frame},7,{10 + frame},20,30,60,1,-1,-1,-1"


def write_sequence(root, name="walk", gt_frames=range(1, LENGTH + 1), seqinfo=True):
    """``root/<name>/gt/gt.txt`` with one box in each of ``gt_frames`` (+ seqinfo.ini of LENGTH frames)."""
    folder = root / name
    (folder / "gt").mkdir(parents=True)
    (folder / "gt" / "gt.txt").write_text("".join(gt_row(f) + "\n" for f in gt_frames))
    if seqinfo:
        (folder / "seqinfo.ini").write_text(f"[Sequence]\nname={name}\nseqLength={LENGTH}\n")
    return folder


def write_results(folder, frames, name="walk"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.txt").write_text("".join(result_row(f) + "\n" for f in frames))
    return folder / f"{name}.txt"


# --------------------------------------------------------------------------------------------------
# 1. results that end early


def test_results_of_the_first_frames_are_warned_about_with_the_numbers_unchanged(tmp_path, caplog):
    write_sequence(tmp_path / "gt")
    write_results(tmp_path / "res20", range(1, 21))
    with caplog.at_level(logging.WARNING):
        results = evaluate(tmp_path / "gt", tmp_path / "res20", skip_split_folder=True, write_summaries=False)
    warnings = [r.getMessage() for r in caplog.records if EARLY in r.getMessage()]
    assert warnings == [
        "res20/walk: results end at frame 20 but the ground truth runs to frame 100 (80 of 100 gt boxes "
        "after it count as misses): a run over part of the sequence (--max-frames N)? eval's --max-frames N "
        "scores frames 1-N alone"
    ]
    clear = results["res20"]["walk"]["CLEAR"]  # every box of frames 1-20 matched, the 80 after missed
    assert (clear["CLR_TP"], clear["CLR_FN"], clear["CLR_FP"]) == (20, 80, 0)
    alone = evaluate_files(
        tmp_path / "gt" / "walk" / "gt" / "gt.txt", tmp_path / "res20" / "walk.txt", LENGTH
    )
    assert_same(results["res20"]["walk"], alone)  # the scores the files always had


def assert_same(ours: dict, theirs: dict) -> None:
    """Every field of every metric family equal (HOTA's arrays element by element)."""
    assert set(ours) == set(theirs)
    for family, values in theirs.items():
        for field, value in values.items():
            np.testing.assert_array_equal(ours[family][field], value, err_msg=f"{family}.{field}")


@pytest.mark.parametrize(
    "gt_frames, result_frames",
    [
        (range(1, LENGTH + 1), range(1, 96)),  # tracks ending 5 frames before the sequence does
        (range(1, 56), range(1, 51)),  # gt boxes after frame 50: 5 of 55, under 10%
        (range(1, LENGTH + 1), range(1, 92)),  # 9 of 100 after it
    ],
)
def test_results_ending_a_few_frames_early_are_not_warned_about(tmp_path, caplog, gt_frames, result_frames):
    write_sequence(tmp_path / "gt", gt_frames=gt_frames)
    write_results(tmp_path / "res", result_frames)
    with caplog.at_level(logging.WARNING):
        evaluate(tmp_path / "gt", tmp_path / "res", skip_split_folder=True, write_summaries=False)
    assert EARLY not in caplog.text


def test_no_tracker_of_the_shared_reference_results_is_said_to_end_early(tmp_path, caplog):
    """Real trackers' results (MOTChallenge MOT15 and MOT17 train) run to the end: no false alarm."""
    root = shared_file("data/evaldata")
    with caplog.at_level(logging.WARNING):
        for benchmark in ("MOT15", "MOT17"):
            evaluate(
                root / "gt" / "mot_challenge",
                root / "trackers" / "mot_challenge",
                benchmark=benchmark,
                metrics=["CLEAR"],
                output_folder=tmp_path / benchmark,
            )
    assert EARLY not in caplog.text


# --------------------------------------------------------------------------------------------------
# 2. one gt file and one results file


def run(argv, capsys) -> tuple[int, str, str]:
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_one_pair_of_files_scores_as_the_folders_holding_them(tmp_path, capsys, caplog):
    write_sequence(tmp_path / "mine", name="vtest")
    results = write_results(tmp_path / "resfull", [*range(1, 40), *range(45, LENGTH + 1)], name="vtest")
    gt = tmp_path / "mine" / "vtest" / "gt" / "gt.txt"
    folder_argv = ["eval", "--gt-folder", str(tmp_path / "mine"), "--trackers-folder", str(results.parent)]
    status, folder_table, _ = run(
        [*folder_argv, "--skip-split-folder", "--no-summaries", "--json", str(tmp_path / "a.json")], capsys
    )
    assert status == 0
    with caplog.at_level(logging.INFO, logger="discmot"):
        status, pair_table, _ = run(
            ["eval", "--gt", str(gt), "--results", str(results), "--json", str(tmp_path / "b.json")], capsys
        )
    assert status == 0
    assert pair_table == folder_table and "Tracker: resfull" in pair_table and "vtest" in pair_table
    assert (tmp_path / "a.json").read_text() == (tmp_path / "b.json").read_text()
    assert f"vtest: scored as a sequence of {LENGTH} frames (seqLength of" in caplog.text
    assert not (
        results.parent / "pedestrian_summary.txt"
    ).exists()  # nothing written into the results' folder


def test_one_pair_of_real_files_scores_as_trackeval_layout_does(tmp_path, capsys):
    """A real tracker's file and a real gt of the shared corpus (MOT15 TUD-Campus, CRLF files)."""
    root = shared_file("data/evaldata")
    gt = root / "gt" / "mot_challenge" / "MOT15-train" / "TUD-Campus" / "gt" / "gt.txt"
    results = (
        root / "trackers" / "mot_challenge" / "MOT15-train" / "motmetrics_test" / "data" / "TUD-Campus.txt"
    )
    pair = evaluate_pair(gt, results, benchmark="MOT15")
    folders = evaluate(
        root / "gt" / "mot_challenge",
        root / "trackers" / "mot_challenge",
        benchmark="MOT15",
        sequences=["TUD-Campus"],
        write_summaries=False,
    )
    assert list(pair) == ["motmetrics_test"] and list(pair["motmetrics_test"]) == ["TUD-Campus", "COMBINED"]
    for part in ("TUD-Campus", "COMBINED"):
        assert_same(pair["motmetrics_test"][part], folders["motmetrics_test"][part])


def test_a_pair_without_seqinfo_takes_the_files_last_frame_or_the_length_given(tmp_path, capsys, caplog):
    gt = tmp_path / "annotations.txt"
    gt.write_text("".join(gt_row(f) + "\n" for f in range(1, 61)))
    results = write_results(tmp_path / "out", range(1, 51), name="clip")
    with caplog.at_level(logging.INFO, logger="discmot"):
        pair = evaluate_pair(gt, results, metrics=["CLEAR"])
    assert "no seqinfo.ini" in caplog.text and "--seq-length" in caplog.text
    assert list(pair) == ["out"] and pair["out"]["clip"]["CLEAR"]["CLR_Frames"] == 60
    assert_same(pair["out"]["clip"], evaluate_files(gt, results, metrics=["CLEAR"]))
    status, _, _ = run(
        [
            "eval",
            "--gt",
            str(gt),
            "--results",
            str(results),
            "--seq-length",
            "80",
            "--json",
            str(tmp_path / "j"),
        ],
        capsys,
    )
    assert (
        status == 0 and json.loads((tmp_path / "j").read_text())["out"]["clip"]["CLEAR"]["CLR_Frames"] == 80
    )


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--split", "val"], "not with the folder form's --split"),
        (["--gt-folder", "G", "--sequences", "s"], "--gt-folder, --sequences"),
        (["--skip-split-folder"], "--skip-split-folder"),
    ],
)
def test_the_pair_form_refuses_folder_options(tmp_path, capsys, extra, message):
    write_sequence(tmp_path)
    results = write_results(tmp_path / "res", range(1, 11))
    argv = ["eval", "--gt", str(tmp_path / "walk" / "gt" / "gt.txt"), "--results", str(results), *extra]
    status, out, err = run(argv, capsys)
    assert status == 2 and not out and len(err.strip().splitlines()) == 1 and message in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--gt", "gt.txt"], "--gt needs --results"),
        (["--results", "r.txt"], "--results needs --gt"),
        (["--gt-folder", "G"], "give --trackers-folder"),
        ([], "give --gt-folder and --trackers-folder"),
        (
            ["--gt-folder", "G", "--trackers-folder", "T", "--seq-length", "5"],
            "--seq-length gives the length",
        ),
        (["--gt", "nowhere.txt", "--results", "r.txt"], "nowhere.txt: ground-truth file not found"),
    ],
)
def test_half_a_form_is_a_one_line_error(tmp_path, capsys, argv, message):
    status, _, err = run(["eval", *argv], capsys)
    assert status == 2 and len(err.strip().splitlines()) == 1 and message in err, err


# --------------------------------------------------------------------------------------------------
# 3. errors that name what was expected


def test_a_results_file_named_after_the_video_is_named_beside_the_expected_one(tmp_path):
    write_sequence(tmp_path / "MOT15" / "train", name="PETS09-S2L1")
    write_results(tmp_path / "resfull", range(1, 11), name="vtest")
    with pytest.raises(LayoutError) as error:
        resolve_eval_plan(
            tmp_path / "MOT15" / "train",
            tmp_path / "resfull",
            "MOT15",
            "train",
            None,
            None,
            True,
            sequences=["PETS09-S2L1"],
        )
    assert "expected PETS09-S2L1.txt, named after the sequence; it holds vtest.txt" in str(error.value)


def test_a_gt_file_given_as_the_gt_folder_points_at_the_pair_form(tmp_path):
    gt = write_sequence(tmp_path / "mine", name="vtest") / "gt" / "gt.txt"
    with pytest.raises(EvalInputError, match=rf"{gt}: a file, not a folder.*--gt {gt} --results"):
        evaluate(gt, tmp_path, write_summaries=False)


@pytest.mark.parametrize("skip_split_folder", [False, True])
def test_a_sequence_folder_given_as_the_gt_folder_says_how_to_evaluate_it(tmp_path, skip_split_folder):
    folder = write_sequence(tmp_path / "mine", name="vtest")
    with pytest.raises(EvalInputError) as error:
        evaluate(folder, tmp_path, skip_split_folder=skip_split_folder, write_summaries=False)
    message = str(error.value)
    assert "one sequence's folder" in message
    assert f"--gt-folder {tmp_path / 'mine'} --skip-split-folder --sequences vtest" in message
    assert f"--gt {folder / 'gt' / 'gt.txt'} --results" in message


def write_two_splits(root, trackeval_layout: bool):
    """gt with train (cam_1..3) and val (val_cam_1..6) sequences; the val results beside them."""
    prefix = "MOT17-" if trackeval_layout else ""
    for split, names in (
        ("train", ["cam_1", "cam_2", "cam_3"]),
        ("val", [f"val_cam_{i}" for i in range(1, 7)]),
    ):
        for name in names:
            write_sequence(root / "gt" / f"{prefix}{split}", name=name)
    results = root / "trackers" / ("MOT17-val/trk/data" if trackeval_layout else "trk")
    for i in range(1, 7):
        write_results(results, range(1, 11), name=f"val_cam_{i}")
    return root / "gt", root / "trackers"


@pytest.mark.parametrize("trackeval_layout", [False, True])
def test_results_of_another_split_name_that_split(tmp_path, trackeval_layout):
    gt, trackers = write_two_splits(tmp_path, trackeval_layout)
    with pytest.raises(EvalInputError, match=r"not found.*; results of split 'val'\? add --split val$"):
        evaluate(gt, trackers, write_summaries=False)
    evaluate(gt, trackers, split="val", write_summaries=False)  # as hinted


def test_results_all_of_other_names_are_said_to_be_of_another_split(tmp_path):
    gt, trackers = write_two_splits(tmp_path, trackeval_layout=False)
    shutil.rmtree(gt / "val")
    with pytest.raises(EvalInputError) as error:
        evaluate(gt, trackers, write_summaries=False)
    assert (
        "none of the 3 sequence(s) of split 'train' has a result file, but there are others (val_cam_1.txt, "
        "val_cam_2.txt, val_cam_3.txt, ...): results of another split? name it with --split"
    ) in str(error.value)


def test_a_missing_result_among_present_ones_gets_no_split_hint(tmp_path):
    gt, trackers = write_two_splits(tmp_path, trackeval_layout=False)
    shutil.rmtree(trackers / "trk")
    for name in ("cam_1", "cam_2"):
        write_results(trackers / "trk", range(1, 11), name=name)
    with pytest.raises(EvalInputError) as error:
        evaluate(gt, trackers, write_summaries=False)
    assert str(error.value).endswith("cam_3.txt: result file of tracker 'trk' not found")
