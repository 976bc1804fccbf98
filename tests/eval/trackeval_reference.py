"""Runs the reference evaluator, TrackEval 1.3.0, in-process and returns its results in discmot's shape.

Used by the property tests (TrackEval is the oracle for freshly generated benchmarks) and by the oracle
self-check against ``REFERENCE_trackeval.json``. The configuration mirrors the official
``run_mot_challenge.py`` defaults (serial, THRESHOLD 0.5, preprocessing on) with every printing, timing,
plotting and file-writing option switched off, so a run leaves nothing behind and prints nothing.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from pathlib import Path

from helpers import require_module

#: TrackEval's name for the combined row, and ours.
TRACKEVAL_COMBINED = "COMBINED_SEQ"
COMBINED = "COMBINED"

_EVAL_CONFIG = {
    # Serial mode: combined sums then run over sorted sequence names (parallel mode uses seqmap order).
    "USE_PARALLEL": False,
    "BREAK_ON_ERROR": True,
    # The default log path lies inside site-packages; never write there.
    "LOG_ON_ERROR": None,
    "PRINT_RESULTS": False,
    "PRINT_CONFIG": False,
    "TIME_PROGRESS": False,
    "OUTPUT_SUMMARY": False,
    "OUTPUT_DETAILED": False,
    "PLOT_CURVES": False,
}


def run_trackeval(
    gt_folder: str | Path,
    trackers_folder: str | Path,
    benchmark: str,
    split: str = "train",
    trackers: Sequence[str] | None = None,
    seqmap_file: str | Path | None = None,
) -> dict:
    """Evaluates HOTA, CLEAR, Identity (and Count) with TrackEval's MotChallenge2DBox dataset.

    Returns ``{tracker: {seq_or_"COMBINED": {metric: {field: value}}}}`` (class level ``pedestrian``
    dropped, ``COMBINED_SEQ`` renamed), the structure `discmot.evaluate` returns. Raises whatever
    TrackEval raises on bad input (``BREAK_ON_ERROR``).
    """
    trackeval = require_module("trackeval")
    dataset_config = {
        "GT_FOLDER": str(gt_folder),
        "TRACKERS_FOLDER": str(trackers_folder),
        "BENCHMARK": benchmark,
        "SPLIT_TO_EVAL": split,
        "TRACKERS_TO_EVAL": None if trackers is None else list(trackers),
        "SEQMAP_FILE": None if seqmap_file is None else str(seqmap_file),
        "PRINT_CONFIG": False,
    }
    metric_config = {"THRESHOLD": 0.5, "PRINT_CONFIG": False}
    # TrackEval prints progress lines even with every PRINT_* option off.
    with contextlib.redirect_stdout(io.StringIO()):
        evaluator = trackeval.Evaluator(dict(_EVAL_CONFIG))
        dataset = trackeval.datasets.MotChallenge2DBox(dataset_config)
        metrics = [
            trackeval.metrics.HOTA(dict(metric_config)),
            trackeval.metrics.CLEAR(dict(metric_config)),
            trackeval.metrics.Identity(dict(metric_config)),
        ]
        results, _messages = evaluator.evaluate([dataset], metrics)
    return to_discmot_shape(results[dataset.get_name()])


def to_discmot_shape(dataset_results: dict) -> dict:
    """``{tracker: {seq: {"pedestrian": {metric: ...}}}}`` -> ``{tracker: {seq: {metric: ...}}}``."""
    return {
        tracker: {
            (COMBINED if seq == TRACKEVAL_COMBINED else seq): per_class["pedestrian"]
            for seq, per_class in per_seq.items()
        }
        for tracker, per_seq in dataset_results.items()
    }
