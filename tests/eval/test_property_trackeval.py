"""Property: on any small valid benchmark, `discmot.evaluate` equals TrackEval 1.3.0 in every field.

Hypothesis draws a benchmark (`mot_strategies.benchmarks`: MOT17/MOT20/MOT15 rules, two trackers, 1-3
sequences, overlapping integer-grid boxes, distractors, zero-marked rows, empty files, odd formats), writes
it in TrackEval's layout into a temporary folder, runs both evaluators on the same files, and requires the
golden-file tolerances (`result_compare`) for every field of every sequence and of COMBINED, for both
trackers. A failure is shrunk to a minimal benchmark whose files are printed verbatim.

The fast variant is derandomized (same examples on every run, CI-reproducible) and sized to stay well under
a minute on two cores; ``make test-slow`` runs a larger, seeded variant.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, note, seed, settings
from mot_strategies import (
    Benchmark,
    FileFormat,
    GtRow,
    SequenceCase,
    TrackerFile,
    TrackerRow,
    benchmarks,
    features,
)
from result_compare import format_problems, results_problems
from trackeval_reference import run_trackeval

import discmot

METRICS = ("HOTA", "CLEAR", "Identity", "Count")
# Examples are slow-ish (two evaluators, file I/O), and the nested strategy draws a lot of data.
COMMON_SETTINGS = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "print_blob": True,
}


def check_parity(benchmark: Benchmark) -> None:
    """Writes the benchmark, evaluates it with TrackEval and with discmot, asserts field-by-field parity."""
    note(benchmark.describe())
    with tempfile.TemporaryDirectory(prefix="discmot-parity-") as tmp:
        gt_folder, trackers_folder = benchmark.write(Path(tmp))
        expected = run_trackeval(gt_folder, trackers_folder, benchmark.name)
        actual = discmot.evaluate(
            gt_folder,
            trackers_folder,
            benchmark=benchmark.name,
            split="train",
            output_folder=Path(tmp) / "out",
        )
    problems = results_problems(actual, expected, METRICS)
    assert not problems, format_problems(problems)


@settings(max_examples=300, derandomize=True, **COMMON_SETTINGS)
@given(benchmark=benchmarks())
def test_evaluate_equals_trackeval(benchmark):
    """300 fixed examples over MOT17, MOT20 and MOT15 rules (about 30 s on two cores)."""
    check_parity(benchmark)


@pytest.mark.slow
@seed(20240611)
@settings(max_examples=600, **COMMON_SETTINGS)
@given(benchmark=benchmarks())
def test_evaluate_equals_trackeval_many(benchmark):
    """The same property over 600 seeded examples (``make test-slow``)."""
    check_parity(benchmark)


REQUIRED_FEATURES = (
    "bench_MOT15",
    "bench_MOT17",
    "bench_MOT20",
    "distractor_under_tracker_box",
    "zero_marked_pedestrian_under_tracker_box",
    "mot20_class6_under_tracker_box",
    "iou_tie",
    "iou_exactly_half",
    "id_switch",
    "empty_tracker_file",
    "empty_gt_file",
    "empty_frame",
    "gt_only_frame",
    "tracker_only_frame",
    "gt_id_0",
    "large_gt_id",
    "negative_xy",
    "float_boxes",
    "crlf",
    "space_delimited",
    "comma_space_delimited",
    "trailing_delimiter",
    "tracker_columns_7",
    "tracker_columns_8",
    "tracker_columns_9",
    "tracker_columns_10",
)


@pytest.fixture(scope="module")
def generated_sample() -> list[Benchmark]:
    """200 fixed examples of the strategy, drawn once per module for the generator's own checks."""
    sample: list[Benchmark] = []

    @settings(max_examples=200, derandomize=True, database=None, **COMMON_SETTINGS)
    @given(benchmark=benchmarks())
    def collect(benchmark):
        sample.append(benchmark)

    collect()
    return sample


@pytest.mark.parametrize("feature", REQUIRED_FEATURES)
def test_strategy_reaches_edge_case(generated_sample, feature):
    """The generator produces each edge case the property is meant to cover (no silent blind spots)."""
    assert any(feature in features(benchmark) for benchmark in generated_sample), (
        f"{feature!r} never generated in {len(generated_sample)} examples"
    )


def invalid_input_problems(benchmark: Benchmark) -> list[str]:
    """Violations of the input contract (each would be an error in both tools, not a parity case)."""
    problems = []
    for seq in benchmark.sequences:
        files = {"gt": seq.gt_rows} | {name: f.rows or () for name, f in seq.trackers.items()}
        for name, rows in files.items():
            keys = [(r.frame, r.id) for r in rows]
            if len(keys) != len(set(keys)):
                problems.append(f"{seq.name}/{name}: duplicate (frame, id)")
            if not all(1 <= r.frame <= seq.length for r in rows):
                problems.append(f"{seq.name}/{name}: frame outside 1..{seq.length}")
            if not all(r.box[2] >= 1 and r.box[3] >= 1 for r in rows):
                problems.append(f"{seq.name}/{name}: w or h < 1 grid unit")
        if benchmark.name != "MOT15" and not all(r.cls in range(1, 14) for r in seq.gt_rows):
            problems.append(f"{seq.name}: gt class outside 1..13 on {benchmark.name}")
        if any(f.fmt.cls > 1 for f in seq.trackers.values()):
            problems.append(f"{seq.name}: tracker class > 1")
    texts = benchmark.files().values()
    if any("\n\n" in text or "\n\r\n" in text or "nan" in text.lower() for text in texts):
        problems.append("blank line or NaN in a file")
    return problems


def test_strategy_generates_only_valid_mot_input(generated_sample):
    """The generator respects the input contract, so a failing property is always a real discrepancy."""
    problems = [p for benchmark in generated_sample for p in invalid_input_problems(benchmark)]
    assert not problems, problems[:20]


def test_generated_files_are_read_by_trackeval_as_intended():
    """A hand-written benchmark through the same writer: TrackEval sees the rows we meant to write.

    One MOT17 sequence of 2 frames: a pedestrian tracked exactly, a distractor (class 8) covered by a tracker
    box that preprocessing must delete, a zero-marked pedestrian whose tracker box must stay as a FP; the
    second tracker has a 0-byte file.
    """
    gt = (
        GtRow(1, 1, (0, 0, 4, 8), 1, 1),
        GtRow(2, 1, (1, 0, 4, 8), 1, 1),
        GtRow(1, 5, (10, 0, 4, 8), 0, 8),
        GtRow(2, 6, (20, 0, 4, 8), 0, 1),
    )
    trk = (
        TrackerRow(1, 3, (0, 0, 4, 8)),
        TrackerRow(2, 3, (1, 0, 4, 8)),
        TrackerRow(1, 4, (10, 0, 4, 8)),
        TrackerRow(2, 9, (20, 0, 4, 8)),
    )
    trackers = {
        "trkA": TrackerFile(trk, FileFormat(columns=10, crlf=True, final_newline=False)),
        "trkB": TrackerFile(None, FileFormat(columns=9)),
    }
    seq = SequenceCase("s", 2, 1.0, gt, FileFormat(columns=9), trackers)
    with tempfile.TemporaryDirectory() as tmp:
        gt_folder, trackers_folder = Benchmark("MOT17", (seq,)).write(Path(tmp))
        results = run_trackeval(gt_folder, trackers_folder, "MOT17")
    counts = results["trkA"]["s"]["Count"]
    assert (counts["GT_Dets"], counts["Dets"], counts["GT_IDs"], counts["IDs"]) == (2, 3, 1, 2)
    clear = results["trkA"]["s"]["CLEAR"]
    assert (clear["CLR_TP"], clear["CLR_FN"], clear["CLR_FP"], clear["IDSW"]) == (2, 0, 1, 0)
    assert results["trkB"]["s"]["Count"]["Dets"] == 0


def test_benchmark_layout_is_trackeval_layout(tmp_path):
    """Files land where TrackEval (and discmot) look: seqmap under gt/seqmaps, data under <tracker>/data."""
    seq = SequenceCase("x", 3, 1.0, (), FileFormat(9), {"trkA": TrackerFile(None, FileFormat(9))})
    gt_folder, trackers_folder = Benchmark("MOT20", (seq,)).write(tmp_path)
    assert (gt_folder / "seqmaps" / "MOT20-train.txt").read_text() == "name\nx\n"
    assert "seqLength=3" in (gt_folder / "MOT20-train" / "x" / "seqinfo.ini").read_text()
    assert (gt_folder / "MOT20-train" / "x" / "gt" / "gt.txt").stat().st_size == 0
    assert (trackers_folder / "MOT20-train" / "trkA" / "data" / "x.txt").stat().st_size == 0
