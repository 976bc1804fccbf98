"""`discmot eval --max-frames N` (``max_frames=`` in Python) scores frames 1..N only: the numbers are
those of the files cut by hand after frame N, scored as a sequence of N frames (its own length where
shorter), by discmot and by TrackEval itself. Also: a sequence named COMBINED, the name of the combined
row, is refused where it would be lost and scored by `evaluate_files`, whose result holds no names.

The journey: ``discmot track SEQ --max-frames 100 --save-txt r.txt`` then ``discmot eval --gt
SEQ/gt/gt.txt --results r.txt``, which counted every gt row after frame 100 as missed (and
``--seq-length 100`` was refused, the gt having rows after it).
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from result_compare import format_problems, results_problems
from trackeval_reference import run_trackeval

from discmot.cli import main
from discmot.eval.runner import EvalInputError, evaluate, evaluate_files, evaluate_pair
from helpers import shared_file

LENGTH = 120


def cut_text(text: str, last: int) -> str:
    """The lines of a MOT file whose frame (the first field, truncated as TrackEval reads it) is at most
    ``last``: the file cut by hand, written independently of the code under test."""
    kept = [line for line in text.splitlines(keepends=True) if int(float(line.split(",")[0])) <= last]
    return "".join(kept)


def seqinfo(name: str, length: int) -> str:
    return f"[Sequence]\nname={name}\nseqLength={length}\n"


def synthetic_benchmark(root: Path, length: int = LENGTH) -> tuple[Path, Path]:
    """A TrackEval MOT17-train layout of two sequences and two trackers with the cases that decide the
    numbers: tracks crossing frame N, an id switch, fragments, a false-positive track, distractor and
    zero-marked gt rows (removed by preprocessing), rows in no frame order. Returns (GT, TRACKERS)."""
    rng = np.random.default_rng(7)
    gt_root, trackers_root = root / "gt", root / "trackers"
    names = ("seqA", "seqB")
    (gt_root / "seqmaps").mkdir(parents=True)
    (gt_root / "seqmaps" / "MOT17-train.txt").write_text("name\n" + "".join(f"{n}\n" for n in names))
    for index, name in enumerate(names):
        gt_rows, results = [], {"good": [], "noisy": []}
        for track in range(1, 6):
            start = int(rng.integers(1, length // 2))
            end = int(rng.integers(length // 2, length + 1))
            cls = 7 if track == 5 else 1  # a distractor (static person) track
            for frame in range(start, end + 1):
                x, y = 40 * track + 2 * frame + 10 * index, 30 + 3 * track
                conf = 0 if frame % 17 == 0 else 1  # zero-marked rows: ignored
                gt_rows.append(f"{frame},{track},{x},{y},30,70,{conf},{cls},1")
                if frame % 11 != 3:  # gaps: fragments
                    jitter = rng.normal(0, 3, 2)
                    ident = track + (100 if track == 2 and frame > length * 0.6 else 0)  # an id switch
                    results["good"].append(
                        f"{frame},{ident},{x + jitter[0]:.2f},{y + jitter[1]:.2f},30,70,1,-1,-1,-1"
                    )
                    dx, dy = rng.normal(0, 12, 2)
                    ident = (track + frame // 25) % 6 + 1  # ids that change every 25 frames
                    results["noisy"].append(f"{frame},{ident},{x + dx:.2f},{y + dy:.2f},31,69,1,-1,-1,-1")
        for frame in range(5, length + 1, 3):  # a false-positive track
            results["noisy"].append(f"{frame},9,600,400,20,50,1,-1,-1,-1")
        order = rng.permutation(len(gt_rows))
        folder = gt_root / "MOT17-train" / name
        (folder / "gt").mkdir(parents=True)
        (folder / "gt" / "gt.txt").write_text("".join(gt_rows[i] + "\n" for i in order))
        (folder / "seqinfo.ini").write_text(seqinfo(name, length))
        for tracker, rows in results.items():
            data = trackers_root / "MOT17-train" / tracker / "data"
            data.mkdir(parents=True, exist_ok=True)
            (data / f"{name}.txt").write_text("".join(row + "\n" for row in rows))
    return gt_root, trackers_root


def cut_copy(gt_root: Path, trackers_root: Path, out: Path, last: int) -> tuple[Path, Path]:
    """A copy of a TrackEval layout (gt, seqmaps, trackers) with every gt and results file cut after frame
    ``last`` and every seqLength ``min(seqLength, last)``."""
    shutil.copytree(gt_root, out / "gt")
    shutil.copytree(trackers_root, out / "trackers")
    for path in [*(out / "gt").glob("*/*/gt/gt.txt"), *(out / "trackers").glob("*/*/data/*.txt")]:
        path.write_text(cut_text(path.read_text(), last))
    for ini in (out / "gt").glob("*/*/seqinfo.ini"):
        lines = ini.read_text().splitlines()
        lines = [
            f"seqLength={min(int(line.split('=')[1]), last)}" if line.startswith("seqLength") else line
            for line in lines
        ]
        ini.write_text("\n".join(lines) + "\n")
    return out / "gt", out / "trackers"


def assert_identical(ours: dict, theirs: dict) -> None:
    """The same structure, every field of every family equal to the last bit."""
    assert list(ours) == list(theirs)
    for tracker in theirs:
        assert list(ours[tracker]) == list(theirs[tracker])
        for sequence, families in theirs[tracker].items():
            assert set(ours[tracker][sequence]) == set(families)
            for family, fields in families.items():
                for field, value in fields.items():
                    np.testing.assert_array_equal(
                        ours[tracker][sequence][family][field], value, err_msg=f"{tracker}/{sequence} {field}"
                    )


def test_max_frames_scores_as_files_cut_by_hand_and_as_trackeval(tmp_path):
    gt, trackers = synthetic_benchmark(tmp_path / "full")
    cut_gt, cut_trackers = cut_copy(gt, trackers, tmp_path / "cut", 70)
    ours = evaluate(gt, trackers, max_frames=70, write_summaries=False)
    cut = evaluate(cut_gt, cut_trackers, write_summaries=False)
    assert_identical(ours, cut)
    assert ours["good"]["seqA"]["Count"]["Frames"] == 70
    whole = evaluate(gt, trackers, write_summaries=False)  # the cut changes the numbers
    assert whole["good"]["COMBINED"]["Count"]["GT_Dets"] > cut["good"]["COMBINED"]["Count"]["GT_Dets"]
    assert not results_problems(ours, run_trackeval(cut_gt, cut_trackers, "MOT17"))


def test_max_frames_past_the_end_scores_the_whole_sequence(tmp_path):
    gt, trackers = synthetic_benchmark(tmp_path)
    assert_identical(
        evaluate(gt, trackers, max_frames=LENGTH + 50, write_summaries=False),
        evaluate(gt, trackers, write_summaries=False),
    )


def test_one_pair_with_max_frames_scores_as_the_pair_cut_by_hand(tmp_path, capsys, caplog):
    gt, trackers = synthetic_benchmark(tmp_path / "full")
    gt_file = gt / "MOT17-train" / "seqA" / "gt" / "gt.txt"
    results = trackers / "MOT17-train" / "noisy" / "data" / "seqA.txt"
    cut_gt = tmp_path / "cut" / "seqA" / "gt" / "gt.txt"  # the same names: the same result structure
    cut_results = tmp_path / "cut" / "noisy" / "data" / "seqA.txt"
    for source, target in ((gt_file, cut_gt), (results, cut_results)):
        target.parent.mkdir(parents=True)
        target.write_text(cut_text(source.read_text(), 45))
    expected = evaluate_pair(cut_gt, cut_results, num_frames=45)
    with caplog.at_level(logging.WARNING):
        assert_identical(evaluate_pair(gt_file, results, max_frames=45), expected)
    assert "results end at frame" not in caplog.text  # the frames scored are the frames tracked
    assert_identical(
        {"x": {"s": evaluate_files(gt_file, results, max_frames=45)}}, {"x": {"s": expected["noisy"]["seqA"]}}
    )
    argv = ["eval", "--gt", str(gt_file), "--results", str(results), "--max-frames", "45"]
    assert main([*argv, "--json", str(tmp_path / "j.json")]) == 0
    written = json.loads((tmp_path / "j.json").read_text())
    assert written["noisy"]["seqA"]["CLEAR"]["CLR_TP"] == expected["noisy"]["seqA"]["CLEAR"]["CLR_TP"]
    assert written["noisy"]["seqA"]["Count"]["Frames"] == 45
    # --seq-length gives the sequence's length, --max-frames the frames scored of it
    assert main([*argv, "--seq-length", str(LENGTH), "--json", str(tmp_path / "k.json")]) == 0
    assert json.loads((tmp_path / "k.json").read_text()) == written


def test_the_folder_form_takes_max_frames_on_the_command_line(tmp_path, capsys):
    gt, trackers = synthetic_benchmark(tmp_path / "full")
    cut_gt, cut_trackers = cut_copy(gt, trackers, tmp_path / "cut", 30)
    common = ["--no-summaries", "--metrics", "CLEAR", "Identity"]
    assert (
        main(
            [
                "eval",
                "--gt-folder",
                str(gt),
                "--trackers-folder",
                str(trackers),
                "--max-frames",
                "30",
                *common,
            ]
        )
        == 0
    )
    with_option = capsys.readouterr().out
    assert main(["eval", "--gt-folder", str(cut_gt), "--trackers-folder", str(cut_trackers), *common]) == 0
    assert with_option == capsys.readouterr().out and "COMBINED" in with_option


@pytest.mark.parametrize("value", [0, -3, 2.5, True, "10"])
def test_a_max_frames_that_is_no_frame_count_is_refused(tmp_path, value):
    gt, trackers = synthetic_benchmark(tmp_path)
    gt_file = gt / "MOT17-train" / "seqA" / "gt" / "gt.txt"
    results = trackers / "MOT17-train" / "good" / "data" / "seqA.txt"
    with pytest.raises(EvalInputError, match=f"max_frames {value!r}: score frames 1..N"):
        evaluate_pair(gt_file, results, max_frames=value)


def test_the_command_line_refuses_a_max_frames_below_one(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["eval", "--gt", "g.txt", "--results", "r.txt", "--max-frames", "0"])
    assert exit_info.value.code == 2 and "argument --max-frames" in capsys.readouterr().err


def test_rows_after_the_frames_scored_are_still_checked(tmp_path):
    """Cut from the scores, not from the checks: a malformed file is named whatever the option."""
    gt, trackers = synthetic_benchmark(tmp_path)
    results = trackers / "MOT17-train" / "good" / "data" / "seqA.txt"
    lines = results.read_text().splitlines(keepends=True)
    results.write_text("".join(lines) + "110,1,5,5,-4,10,1,-1,-1,-1\n")
    with pytest.raises(EvalInputError, match=rf"seqA.txt:{len(lines) + 1}: box width and height must be > 0"):
        evaluate(gt, trackers, max_frames=20, write_summaries=False)


def keep_frames_after(path: Path, first: int) -> int:
    """Rewrites a MOT file with its rows of frames ``first`` and later alone; returns how many are left."""
    kept = [line for line in path.read_text().splitlines(keepends=True) if int(line.split(",")[0]) >= first]
    path.write_text("".join(kept))
    return len(kept)


def test_a_result_file_with_every_row_after_the_cut_is_said_as_an_empty_one_is(tmp_path, caplog):
    """A results file of a later part of the video (or a --max-frames smaller than meant) scores as an
    empty file: every gt box of the frames scored a miss. An empty file is said; so is this one."""
    gt, trackers = synthetic_benchmark(tmp_path)
    late = trackers / "MOT17-train" / "noisy" / "data" / "seqB.txt"
    rows = keep_frames_after(late, 31)
    with caplog.at_level(logging.WARNING):  # two worker processes: said by the main one
        results = evaluate(gt, trackers, max_frames=30, write_summaries=False, workers=2)
    assert results["noisy"]["seqB"]["CLEAR"]["CLR_TP"] == 0  # scored as nothing, as TrackEval does
    assert results["noisy"]["seqB"]["CLEAR"]["CLR_FN"] > 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    said = [m for m in warnings if "no row in frames 1-30" in m]
    assert said == [
        f"noisy: result file(s) with no row in frames 1-30 (--max-frames), every ground-truth box there "
        f"counts as a miss: {late} ({rows:,} rows)"
    ]
    caplog.clear()
    with caplog.at_level(logging.WARNING):  # frames 31 on are scored: nothing to say
        evaluate(gt, trackers, max_frames=60, write_summaries=False)
    assert "no row in frames" not in caplog.text


def test_a_gt_file_with_every_row_after_the_cut_is_said_once(tmp_path, caplog):
    gt, trackers = synthetic_benchmark(tmp_path)
    gt_file = gt / "MOT17-train" / "seqA" / "gt" / "gt.txt"
    rows = keep_frames_after(gt_file, 31)
    with caplog.at_level(logging.WARNING):
        results = evaluate(gt, trackers, max_frames=30, write_summaries=False)
    assert results["good"]["seqA"]["CLEAR"]["CLR_FP"] > 0  # every result row of frames 1-30 is one
    said = [r.getMessage() for r in caplog.records if "none of its" in r.getMessage()]
    assert said == [
        f"{gt_file}: none of its {rows:,} rows lies in frames 1-30 (--max-frames), so every result row "
        "there counts as a false positive"
    ]  # once for the two trackers
    argv = [
        "eval",
        "--gt",
        str(gt_file),
        "--results",
        str(trackers / "MOT17-train" / "good" / "data" / "seqA.txt"),
    ]
    caplog.clear()
    with caplog.at_level(logging.WARNING):  # the one-pair form of the command line says it too
        assert main([*argv, "--max-frames", "30", "--seq-length", str(LENGTH)]) == 0
    assert [r.getMessage() for r in caplog.records if "none of its" in r.getMessage()] == said


def test_real_trackers_cut_after_frame_100_score_as_trackeval_on_cut_files(tmp_path):
    """The shared MOTChallenge corpus: MOT15 (TUD-Campus has 71 frames, so it keeps its own length) and
    MOT17 (two real trackers, seven sequences)."""
    root = shared_file("data/evaldata")
    gt, trackers = root / "gt" / "mot_challenge", root / "trackers" / "mot_challenge"
    cut_gt, cut_trackers = cut_copy(gt, trackers, tmp_path, 100)
    for benchmark in ("MOT15", "MOT17"):
        ours = evaluate(gt, trackers, benchmark=benchmark, max_frames=100, write_summaries=False)
        assert_identical(ours, evaluate(cut_gt, cut_trackers, benchmark=benchmark, write_summaries=False))
        problems = results_problems(ours, run_trackeval(cut_gt, cut_trackers, benchmark))
        assert not problems, format_problems(problems)
    assert ours["DeepSORT"]["MOT17-05-FRCNN"]["Count"]["Frames"] == 100


# --------------------------------------------------------------------------------------------------
# a sequence named COMBINED


def combined_pair(root: Path) -> tuple[Path, Path]:
    """``root/COMBINED/gt/gt.txt`` and ``root/t/COMBINED.txt``, one well-tracked person."""
    gt = root / "COMBINED" / "gt" / "gt.txt"
    gt.parent.mkdir(parents=True)
    gt.write_text("".join(f"{f},1,{10 + f},20,30,60,1,1,1\n" for f in range(1, 21)))
    results = root / "t" / "COMBINED.txt"
    results.parent.mkdir()
    results.write_text("".join(f"{f},4,{11 + f},20,30,60,1,-1,-1,-1\n" for f in range(1, 19)))
    return gt, results


def test_evaluate_files_scores_a_sequence_named_combined(tmp_path):
    gt, results = combined_pair(tmp_path)
    other = tmp_path / "walk" / "gt" / "gt.txt"  # the same files under another name
    shutil.copytree(gt.parent, other.parent)
    scores = evaluate_files(gt, results)
    assert scores["CLEAR"]["CLR_TP"] == 18 and scores["CLEAR"]["CLR_FN"] == 2
    assert_identical({"t": {"s": scores}}, {"t": {"s": evaluate_files(other, results)}})


def test_a_sequence_named_combined_is_refused_where_the_combined_row_would_hide_it(tmp_path, capsys):
    gt, results = combined_pair(tmp_path)
    with pytest.raises(EvalInputError) as error:
        evaluate_pair(gt, results)
    message = str(error.value)
    assert message.startswith(f"{gt}: a sequence named COMBINED, the name of the row that combines")
    assert "\n" not in message and "evaluate_files" in message
    shutil.copytree(tmp_path / "COMBINED", tmp_path / "split" / "COMBINED")
    with pytest.raises(EvalInputError, match="a sequence named COMBINED"):
        evaluate(tmp_path / "split", tmp_path / "t", skip_split_folder=True, write_summaries=False)
    assert (
        main(["eval", "--gt", str(gt), "--results", str(results), "--output-folder", str(tmp_path / "o")])
        == 2
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a sequence named COMBINED" in err
    assert not (tmp_path / "o").exists()  # refused before anything was written
