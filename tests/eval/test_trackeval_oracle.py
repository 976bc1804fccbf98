"""The oracle checks itself: our in-process TrackEval runner reproduces the committed reference numbers.

The property tests trust `trackeval_reference.run_trackeval` as ground truth. This proves that the runner
(config, stdout handling, result reshaping) and the installed trackeval/numpy/scipy reproduce
``REFERENCE_trackeval.json`` (computed on numpy 1.23) within the parity tolerances, so a property-test
failure points at discmot, not at the harness.
"""

from __future__ import annotations

import json

import pytest
from result_compare import format_problems, results_problems
from trackeval_reference import run_trackeval

from helpers import shared_file

EVALDATA = "data/evaldata"
METRICS = ("HOTA", "CLEAR", "Identity", "Count")


def reference_results(bench: str) -> dict:
    """The reference JSON for one benchmark, reduced to the metric dicts TrackEval returns."""
    data = json.loads(shared_file(f"{EVALDATA}/REFERENCE_trackeval.json").read_text())
    rows = data["benchmarks"][bench]["trackers"]
    return {
        tracker: {seq: {m: row[m] for m in METRICS} for seq, row in seqs.items()}
        for tracker, seqs in rows.items()
    }


def check_oracle(bench: str) -> None:
    """Runs TrackEval on one benchmark of the shared corpus and compares with the reference JSON."""
    root = shared_file(EVALDATA)
    results = run_trackeval(root / "gt" / "mot_challenge", root / "trackers" / "mot_challenge", bench)
    problems = results_problems(results, reference_results(bench), METRICS)
    assert not problems, format_problems(problems)


def test_trackeval_runner_reproduces_reference_mot15():
    """MOT15 TUD (CRLF files, class column unused): ~0.5 s."""
    check_oracle("MOT15")


@pytest.mark.slow
def test_trackeval_runner_reproduces_reference_mot17():
    """MOT17 (distractor removal, 2 trackers x 7 sequences): ~11 s in TrackEval, hence slow."""
    check_oracle("MOT17")
