"""One scorer for one pair of files: the demo's scores of a user's sequence, `evaluate_files` and
`discmot.evaluate_pair` (``discmot eval --gt --results``) give the same numbers, structure and errors,
because the first two call the last."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from discmot.cli import main
from discmot.engine.demo import score_sequence
from discmot.eval.runner import EvalInputError, evaluate_files, evaluate_pair
from helpers import shared_file

LENGTH = 40  # seqLength; the gt and results end at frame 30


def write_sequence(root: Path, name: str = "walk") -> Path:
    """``root/<name>/`` with ``seqinfo.ini`` (LENGTH frames) and a gt of two people in frames 1-30."""
    folder = root / name
    (folder / "gt").mkdir(parents=True)
    rows = [f"{f},{i},{10 + f + 60 * i},20,30,60,1,1,1\n" for f in range(1, 31) for i in (1, 2)]
    (folder / "gt" / "gt.txt").write_text("".join(rows))
    (folder / "seqinfo.ini").write_text(f"[Sequence]\nname={name}\nseqLength={LENGTH}\n")
    return folder


def write_results(folder: Path, name: str = "walk") -> Path:
    """A tracker that misses person 2 in frames 11-15, switches person 1's id at frame 20 and has one
    false positive per frame from 25 on, so that every family has non-trivial numbers."""
    rows = []
    for f in range(1, 31):
        rows.append(f"{f},{1 if f < 20 else 3},{10 + f + 60},20,30,60,1,-1,-1,-1\n")
        if not 11 <= f <= 15:
            rows.append(f"{f},2,{10 + f + 120},21,30,60,1,-1,-1,-1\n")
        if f >= 25:
            rows.append(f"{f},9,400,300,30,60,1,-1,-1,-1\n")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.txt").write_text("".join(rows))
    return folder / f"{name}.txt"


def assert_same(ours, theirs) -> None:
    """The same keys and bit-identical values, all the way down."""
    if isinstance(ours, dict):
        assert isinstance(theirs, dict) and list(ours) == list(theirs)
        for key in ours:
            assert_same(ours[key], theirs[key])
    else:
        assert np.array_equal(np.asarray(ours), np.asarray(theirs))


def eval_json(gt: Path, results: Path, path: Path, capsys) -> dict:
    """What ``discmot eval --gt GT --results RES --json PATH`` writes."""
    assert main(["eval", "--gt", str(gt), "--results", str(results), "--json", str(path)]) == 0
    capsys.readouterr()
    return json.loads(path.read_text())


def test_the_demo_scores_a_sequence_as_discmot_eval_scores_its_files(tmp_path, capsys):
    """The demo's metrics.json of a user's sequence held the sequence's metrics copied as COMBINED (with
    Count's per-sequence ``Frames``, which TrackEval's COMBINED has not): now it is, model by model,
    what ``discmot eval --gt --results`` writes."""
    sequence = write_sequence(tmp_path / "mine")
    results = {"tiny": write_results(tmp_path / "out" / "tiny" / "data")}
    scored = score_sequence(sequence, results, tmp_path)
    written = json.loads((tmp_path / "metrics.json").read_text())
    expected = eval_json(sequence / "gt" / "gt.txt", results["tiny"], tmp_path / "eval.json", capsys)
    assert written == expected and list(expected) == ["tiny"]
    assert (
        list(expected["tiny"]) == ["walk", "COMBINED"]
        and "Frames" not in expected["tiny"]["COMBINED"]["Count"]
    )
    assert_same(scored["tiny"], evaluate_pair(sequence / "gt" / "gt.txt", results["tiny"])["tiny"])


def test_the_demo_scores_real_trackers_on_a_real_sequence_as_discmot_eval_does(tmp_path, capsys):
    """MOT17-05 (shared, TrackEval-checked corpus) with two real trackers' results, as two demo models."""
    root = shared_file("data/evaldata")
    sequence = root / "gt" / "mot_challenge" / "MOT17-train" / "MOT17-05-FRCNN"
    trackers = root / "trackers" / "mot_challenge" / "MOT17-train"
    results = {name: trackers / name / "data" / "MOT17-05-FRCNN.txt" for name in ("MoTT", "DeepSORT")}
    scored = score_sequence(sequence, results, tmp_path)
    written = json.loads((tmp_path / "metrics.json").read_text())
    for name, path in results.items():
        expected = eval_json(sequence / "gt" / "gt.txt", path, tmp_path / f"{name}.json", capsys)
        assert written[name] == expected[name]
        assert_same(scored[name], evaluate_pair(sequence / "gt" / "gt.txt", path)[name])


def test_evaluate_files_gives_evaluate_pairs_numbers_and_keeps_its_own_default_length(tmp_path):
    """Given the length, `evaluate_files` is the sequence's entry of `evaluate_pair`; without it, as its
    docstring says, the files' last frame (30), where `evaluate_pair` reads seqinfo.ini (40)."""
    gt = write_sequence(tmp_path / "mine") / "gt" / "gt.txt"
    results = write_results(tmp_path / "out")
    pair = evaluate_pair(gt, results)["out"]
    assert_same(evaluate_files(gt, results, LENGTH), pair["walk"])
    assert pair["walk"]["CLEAR"]["CLR_Frames"] == LENGTH
    alone = evaluate_files(gt, results)
    assert alone["CLEAR"]["CLR_Frames"] == 30
    assert_same(alone, evaluate_pair(gt, results, 30)["out"]["walk"])
    assert alone["CLEAR"]["IDSW"] == 1 and alone["CLEAR"]["CLR_FN"] == 5 and alone["CLEAR"]["CLR_FP"] == 6


@pytest.mark.parametrize("bad", ["gt", "results"])
def test_evaluate_files_stops_on_a_bad_row_as_evaluate_pair_does(tmp_path, bad):
    """A malformed row was a `MotFormatError` from `evaluate_files` and an `EvalInputError` from
    `evaluate_pair`: now both raise the same `EvalInputError`, naming file and line."""
    gt = write_sequence(tmp_path / "mine") / "gt" / "gt.txt"
    results = write_results(tmp_path / "out")
    broken = gt if bad == "gt" else results
    broken.write_text(broken.read_text() + "31,1,x,20,30,60,1,1,1\n")
    line = broken.read_text().count("\n")  # the bad row, the last
    messages = []
    for score in (lambda: evaluate_files(gt, results, LENGTH), lambda: evaluate_pair(gt, results, LENGTH)):
        with pytest.raises(EvalInputError) as error:
            score()
        messages.append(str(error.value))
    assert messages[0] == messages[1] and messages[0].startswith(f"{broken}:{line}:")


def test_evaluate_files_warns_as_evaluate_pair_does(tmp_path, caplog):
    """Results of another sequence (no box matches): the same warning from both."""
    gt = write_sequence(tmp_path / "mine") / "gt" / "gt.txt"
    results = write_results(tmp_path / "out")
    results.write_text("".join(f"{f},1,900,900,30,60,1,-1,-1,-1\n" for f in range(1, 31)))
    warned = []
    for score in (evaluate_files, evaluate_pair):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="discmot"):
            score(gt, results, LENGTH)
        warned.append([r.getMessage() for r in caplog.records if r.levelno == logging.WARNING])
    assert warned[0] == warned[1] and "no result box matches a ground-truth box" in warned[0][0]
