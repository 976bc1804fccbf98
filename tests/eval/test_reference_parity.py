"""Golden-number parity: `discmot.evaluate` on the shared corpus equals TrackEval's committed numbers.

``shared/data/evaldata/REFERENCE_trackeval.json`` holds TrackEval 1.3.0's per-sequence and COMBINED values
for real tracker outputs on real MOTChallenge gt: MOT17 train (MoTT, DeepSORT; 7 sequences, with distractor
removal at work) and MOT15 TUD (motmetrics_test; 2 sequences, CRLF files, no class column). Each
benchmark is evaluated once per module; each (tracker, sequence) pair is its own test so a failure names
exactly where the numbers part. Tolerances: see `result_compare`.
"""

from __future__ import annotations

import json

import pytest
from result_compare import (
    format_problems,
    hota_array_shape_problems,
    hota_summary_problems,
    results_problems,
    sequence_problems,
)

import discmot
from helpers import shared_file

EVALDATA = "data/evaldata"
METRICS = ("HOTA", "CLEAR", "Identity", "Count")
MOT17_SEQS = [f"MOT17-{n:02d}-FRCNN" for n in (2, 4, 5, 9, 10, 11, 13)]
# What the shared corpus holds (also checked against the JSON below, so a changed corpus is noticed).
CASES = {
    "MOT17": {"MoTT": MOT17_SEQS, "DeepSORT": MOT17_SEQS},
    "MOT15": {"motmetrics_test": ["TUD-Campus", "TUD-Stadtmitte"]},
}
CASE_PARAMS = [
    pytest.param(bench, tracker, seq, id=f"{bench}-{tracker}-{seq}")
    for bench, trackers in CASES.items()
    for tracker, seqs in trackers.items()
    for seq in [*seqs, "COMBINED"]
]


@pytest.fixture(scope="module")
def reference() -> dict:
    """The ``benchmarks`` part of REFERENCE_trackeval.json."""
    path = shared_file(f"{EVALDATA}/REFERENCE_trackeval.json")
    return json.loads(path.read_text())["benchmarks"]


@pytest.fixture(scope="module")
def ours(tmp_path_factory):
    """``ours(bench)`` evaluates a benchmark of the shared corpus once per module (errors are cached too).

    Summaries go to a temporary folder: by default they would land in the (shared, read-only) tracker folders.
    """
    cache: dict[str, dict | Exception] = {}

    def evaluate(bench: str) -> dict:
        if bench not in cache:
            root = shared_file(EVALDATA)
            try:
                cache[bench] = discmot.evaluate(
                    root / "gt" / "mot_challenge",
                    root / "trackers" / "mot_challenge",
                    benchmark=bench,
                    split="train",
                    metrics=("HOTA", "CLEAR", "Identity"),
                    output_folder=tmp_path_factory.mktemp(f"summaries-{bench}"),
                )
            except Exception as err:  # re-raised in every test that needs this benchmark
                cache[bench] = err
        if isinstance(cache[bench], Exception):
            raise cache[bench]
        return cache[bench]

    return evaluate


def reference_metrics(reference: dict, bench: str, tracker: str, seq: str) -> dict:
    """The four metric dicts of one reference row (``HOTA_summary`` is checked separately)."""
    row = reference[bench]["trackers"][tracker][seq]
    return {metric: row[metric] for metric in METRICS}


@pytest.mark.parametrize("bench", sorted(CASES))
def test_reference_covers_the_expected_cases(reference, bench):
    """The JSON holds exactly the trackers and sequences this module parametrizes over."""
    expected = {tracker: {*seqs, "COMBINED"} for tracker, seqs in CASES[bench].items()}
    actual = {tracker: set(rows) for tracker, rows in reference[bench]["trackers"].items()}
    assert actual == expected


@pytest.mark.parametrize("bench", sorted(CASES))
def test_same_trackers_and_sequences(ours, bench):
    """``trackers=None`` finds every tracker folder; every seqmap sequence and COMBINED are reported."""
    results = ours(bench)
    expected = {tracker: {*seqs, "COMBINED"} for tracker, seqs in CASES[bench].items()}
    assert {tracker: set(rows) for tracker, rows in results.items()} == expected


@pytest.mark.parametrize(("bench", "tracker", "seq"), CASE_PARAMS)
def test_every_field_matches_trackeval(ours, reference, bench, tracker, seq):
    """Every HOTA/CLEAR/Identity/Count field of the reference row is present in ours and equal."""
    ours_row = ours(bench)[tracker][seq]
    problems = sequence_problems(
        ours_row, reference_metrics(reference, bench, tracker, seq), f"{tracker}/{seq}"
    )
    assert not problems, format_problems(problems)


@pytest.mark.parametrize(("bench", "tracker", "seq"), CASE_PARAMS)
def test_hota_summary_matches_trackeval(ours, reference, bench, tracker, seq):
    """The reported HOTA numbers are the means over the 19 alphas of our per-alpha arrays."""
    ours_hota = ours(bench)[tracker][seq]["HOTA"]
    ref_summary = reference[bench]["trackers"][tracker][seq]["HOTA_summary"]
    problems = hota_summary_problems(ours_hota, ref_summary, f"{tracker}/{seq}.HOTA")
    assert not problems, format_problems(problems)


@pytest.mark.parametrize("bench", sorted(CASES))
def test_hota_arrays_are_numpy_arrays_of_19(ours, bench):
    """API contract: per-alpha fields are float numpy arrays, one entry per alpha, in every row."""
    problems = []
    for tracker, rows in ours(bench).items():
        for seq, row in rows.items():
            problems += hota_array_shape_problems(row["HOTA"], f"{tracker}/{seq}.HOTA")
    assert not problems, format_problems(problems)


@pytest.mark.parametrize("bench", sorted(CASES))
def test_whole_benchmark_matches_trackeval(ours, reference, bench):
    """One sweep over the whole structure, so a field missing everywhere is reported in a single message."""
    ref = {
        tracker: {seq: {m: row[m] for m in METRICS} for seq, row in rows.items()}
        for tracker, rows in reference[bench]["trackers"].items()
    }
    problems = results_problems(ours(bench), ref, METRICS)
    assert not problems, format_problems(problems)
