"""`discmot eval` as a TrackEval user drives it: the names they type, several trackers at once (one
with an empty file, one that matches nothing), the files and the printed numbers, against TrackEval 1.3.0
run on the same folders.

The real-data test copies the shared MOT15 corpus into ``tmp_path`` (skipped when absent, failed under
CI=true); the others write a one-sequence benchmark here.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import pytest

from discmot.cli import main
from discmot.eval import fields as F
from discmot.eval import report
from discmot.eval.runner import EvalInputError, evaluate
from helpers import GT_ROWS, TRACKER_ROWS, require_module, shared_file, write_benchmark

#: The same boxes 500 pixels to the right: nothing overlaps the gt.
FAR_ROWS = ["1,5,510,10,20,40,1,-1,-1,-1", "2,5,512,11,20,40,1,-1,-1,-1"]


def eval_argv(gt: Path, trackers: Path, *more: str) -> list[str]:
    return ["eval", "--gt-folder", str(gt), "--trackers-folder", str(trackers), *more]


# --------------------------------------------------------------------------------------------------
# Names users type


def test_metrics_accept_field_names_and_any_case(tmp_path):
    gt, trackers = write_benchmark(tmp_path, {"trk": TRACKER_ROWS})
    typed, canonical = tmp_path / "typed.json", tmp_path / "canonical.json"
    argv = eval_argv(gt, trackers, "--no-summaries", "--json")
    assert main([*argv, str(typed), "--metrics", "IDF1", "mota"]) == 0
    assert main([*argv, str(canonical), "--metrics", "CLEAR", "Identity"]) == 0
    assert typed.read_text() == canonical.read_text()
    assert set(json.loads(typed.read_text())["trk"]["seq-a"]) == {"CLEAR", "Identity", "Count"}
    # The Python API reads the same names.
    results = evaluate(gt, trackers, metrics=["identity", "DetA"], write_summaries=False)
    assert set(results["trk"][F.COMBINED]) == {"HOTA", "Identity", "Count"}


def test_a_count_field_or_an_unknown_metric_is_a_one_line_error(tmp_path, capsys):
    gt, trackers = write_benchmark(tmp_path, {"trk": TRACKER_ROWS})
    with pytest.raises(SystemExit) as stop:
        main(eval_argv(gt, trackers, "--metrics", "Dets"))
    assert stop.value.code == 2
    assert "'Dets': Count is always computed" in capsys.readouterr().err
    with pytest.raises(EvalInputError, match="unknown metric 'VACE'.*e.g. IDF1"):
        evaluate(gt, trackers, metrics=["VACE"], write_summaries=False)


def test_no_field_name_belongs_to_two_families():
    """`report.metric_family` maps each field to one family; a name in two would silently pick one."""
    owners: dict[str, set[str]] = {}
    for family in F.METRIC_NAMES:
        for field in (family, *F.SUMMARY_FIELDS[family], *F.INTEGER_FIELDS[family]):
            owners.setdefault(field.lower(), set()).add(family)
    assert {name: fams for name, fams in owners.items() if len(fams) > 1} == {}
    for name, (family,) in owners.items():
        assert report.metric_family(name.upper()) == family


def test_trackeval_option_names_select_trackers_and_seqmap(tmp_path, capsys):
    gt, trackers = write_benchmark(tmp_path, {"trk": TRACKER_ROWS, "other": FAR_ROWS})
    seqmap = gt / "seqmaps" / "MOT17-train.txt"
    argv = eval_argv(
        gt, trackers, "--no-summaries", "--trackers-to-eval", "trk", "--seqmap-file", str(seqmap)
    )
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "Tracker: trk" in printed
    assert "other" not in printed


# --------------------------------------------------------------------------------------------------
# What is said about a tracker scoring nothing


def test_an_empty_result_file_is_scored_as_all_misses_and_said(tmp_path, caplog):
    gt, trackers = write_benchmark(tmp_path, {"trk": TRACKER_ROWS, "crashed": []})
    with caplog.at_level("WARNING", logger="discmot"):
        results = evaluate(gt, trackers, write_summaries=False)
    assert results["crashed"]["seq-a"]["CLEAR"]["CLR_FN"] == len(GT_ROWS)
    empty_file = trackers / "MOT17-train" / "crashed" / "data" / "seq-a.txt"
    assert f"crashed: empty result file(s), every ground-truth box there counts as a miss: {empty_file}" in (
        caplog.text
    )
    assert "trk:" not in caplog.text


@pytest.mark.parametrize("metrics", [("HOTA", "CLEAR", "Identity"), ("HOTA",), ("Identity",)])
def test_a_tracker_that_matches_nothing_is_said_whatever_the_metrics(tmp_path, caplog, metrics):
    gt, trackers = write_benchmark(tmp_path, {"trk": TRACKER_ROWS, "far": FAR_ROWS})
    with caplog.at_level("WARNING", logger="discmot"):
        results = evaluate(gt, trackers, metrics=metrics, write_summaries=False)
    assert "far: no result box matches a ground-truth box at IoU >= 0.5 in seq-a, so there " in caplog.text
    assert "trk:" not in caplog.text  # it matches: nothing said
    assert results["far"][F.COMBINED]["Count"]["Dets"] == len(FAR_ROWS)


# --------------------------------------------------------------------------------------------------
# Several trackers on real data, against TrackEval's files and printed numbers


def trackeval_run(gt: Path, trackers: Path, out: Path) -> str:
    """TrackEval 1.3.0 on every tracker, files under ``out``; returns what it printed."""
    trackeval = require_module("trackeval")
    eval_config = {
        **trackeval.Evaluator.get_default_eval_config(),
        **{"USE_PARALLEL": False, "BREAK_ON_ERROR": True, "LOG_ON_ERROR": None, "PRINT_CONFIG": False},
        **{"TIME_PROGRESS": False, "PLOT_CURVES": False},
    }
    dataset_config = {
        **trackeval.datasets.MotChallenge2DBox.get_default_dataset_config(),
        **{"GT_FOLDER": str(gt), "TRACKERS_FOLDER": str(trackers), "BENCHMARK": "MOT15"},
        **{"OUTPUT_FOLDER": str(out), "PRINT_CONFIG": False},
    }
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        metrics = [
            getattr(trackeval.metrics, m)({"PRINT_CONFIG": False}) for m in ("HOTA", "CLEAR", "Identity")
        ]
        _, messages = trackeval.Evaluator(eval_config).evaluate(
            [trackeval.datasets.MotChallenge2DBox(dataset_config)], metrics
        )
    assert set(messages["MotChallenge2DBox"].values()) == {"Success"}, messages
    return printed.getvalue()


def trackeval_printed_combined(printed: str, tracker: str) -> dict[str, str]:
    """``{field: printed value}`` of every COMBINED row TrackEval printed for ``tracker``."""
    values: dict[str, str] = {}
    header: list[str] = []
    for line in printed.splitlines():
        words = line.split()
        if len(words) > 2 and words[0].endswith(":") and words[1] == f"{tracker}-pedestrian":
            header = words[2:]  # e.g. "HOTA: real-pedestrian  HOTA  DetA ..."
        elif line.startswith("COMBINED") and header:
            values.update(zip(header, line.split()[1:], strict=True))
            header = []
    return values


def test_several_trackers_on_real_data_give_trackevals_files_and_printed_numbers(tmp_path, capsys):
    data = shared_file("data/evaldata")
    gt, trackers = tmp_path / "gt", tmp_path / "trackers" / "MOT15-train"
    shutil.copytree(data / "gt/mot_challenge/MOT15-train", gt / "MOT15-train")
    shutil.copytree(data / "gt/mot_challenge/seqmaps", gt / "seqmaps")
    results = data / "trackers/mot_challenge/MOT15-train/motmetrics_test/data"
    for tracker in ("real", "crashed", "far"):
        shutil.copytree(results, trackers / tracker / "data")
    (trackers / "crashed/data/TUD-Campus.txt").write_text("")
    for path in (trackers / "far/data").iterdir():  # every box moved 5000 pixels right
        rows = [line.split(",") for line in path.read_text().splitlines()]
        path.write_text("".join(",".join([*r[:2], str(float(r[2]) + 5000), *r[3:]]) + "\n" for r in rows))

    printed = trackeval_run(gt, trackers.parent, tmp_path / "trackeval")
    ours = tmp_path / "ours"
    assert main(eval_argv(gt, trackers.parent, "--benchmark", "MOT15", "--output-folder", str(ours))) == 0
    table = capsys.readouterr().out
    for tracker in ("real", "crashed", "far"):
        for name in ("pedestrian_summary.txt", "pedestrian_detailed.csv"):
            expected = (tmp_path / "trackeval" / tracker / name).read_bytes()
            assert (ours / tracker / name).read_bytes() == expected, (tracker, name)
        # The compact table's COMBINED row shows TrackEval's printed strings.
        block = table[table.index(f"Tracker: {tracker}\n") :]
        header, combined = (
            block.splitlines()[1],
            next(line for line in block.splitlines() if line.startswith("COMBINED")),
        )
        theirs = trackeval_printed_combined(printed, tracker)
        assert dict(zip(header.split()[1:], combined.split()[1:], strict=True)) == {
            field: theirs[field] for field in header.split()[1:]
        }
