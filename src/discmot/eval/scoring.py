"""Scoring a resolved plan's sequences: each sequence's gt is read once and every tracker's result for it
preprocessed and scored (in parallel processes with ``workers > 1``, in sorted order whatever their
count), then the sequences are combined into the COMBINED row."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import NamedTuple

from discmot.data.layouts import EvalPlan, SequenceFiles
from discmot.eval import clear, count, hota, identity
from discmot.eval.endings import EarlyEnd, early_end, rows_after_cut, warn_endings
from discmot.eval.fields import COMBINED
from discmot.eval.motchallenge import BenchmarkPreset, last_frame, load_ground_truth, load_tracker_result
from discmot.eval.preprocess import preprocess

METRICS = {"HOTA": hota, "CLEAR": clear, "Identity": identity, "Count": count}


class Scoring(NamedTuple):
    """How each sequence is scored: the benchmark's rules, the metric families, the frames
    (``max_frames``: ``1..max_frames`` only; None: all)."""

    preset: BenchmarkPreset
    metric_names: tuple[str, ...]
    max_frames: int | None = None


class Outcome(NamedTuple):
    """One result file of one sequence, scored: its metrics, how it ends early (`early_end`; None: it
    does not), and, under ``max_frames``, the rows of the gt and of the result file when every one of
    them lies after the last scored frame (`rows_after_cut`), for `warn_endings`."""

    metrics: dict
    ending: EarlyEnd | None
    gt_rows_cut_away: int
    result_rows_cut_away: int


def _score_and_ending(
    gt, tracker, num_frames: int, preset: BenchmarkPreset, metric_names: tuple[str, ...]
) -> Outcome:
    """The metrics of one sequence's result, how it ends early and what ``max_frames`` cut away
    (`Outcome`)."""
    data = preprocess(gt, tracker, num_frames, preset)
    return Outcome(
        {name: METRICS[name].evaluate(data) for name in metric_names},
        early_end(data, tracker),
        rows_after_cut(gt),
        rows_after_cut(tracker),
    )


def _evaluate_sequence(
    sequence: SequenceFiles, tracker_files: dict[str, Path], scoring: Scoring
) -> dict[str, Outcome]:
    """``{tracker: outcome}`` for one sequence; its gt is read once for all trackers (once
    per length for a sequence without seqinfo.ini, whose length each tracker's results decide:
    `SequenceFiles`). With ``max_frames`` the files are checked at the sequence's length and scored over
    ``min(length, max_frames)`` frames."""
    lengths = _lengths(sequence, tracker_files)
    cut = scoring.max_frames
    gts = {n: load_ground_truth(sequence.gt_file, n, cut) for n in sorted(set(lengths.values()))}
    return {
        tracker: _score_and_ending(
            gts[lengths[tracker]],
            load_tracker_result(path, lengths[tracker], cut),
            lengths[tracker] if cut is None else min(lengths[tracker], cut),
            scoring.preset,
            scoring.metric_names,
        )
        for tracker, path in tracker_files.items()
    }


def _lengths(sequence: SequenceFiles, tracker_files: dict[str, Path]) -> dict[str, int]:
    """The length each tracker's results are scored at: seqinfo.ini's, or without one the last frame of
    the sequence's images, its gt or those results (at least 1)."""
    if sequence.num_frames is not None:
        return dict.fromkeys(tracker_files, sequence.num_frames)
    known = max(sequence.last_image, last_frame(sequence.gt_file), 1)
    return {tracker: max(known, last_frame(path)) for tracker, path in tracker_files.items()}


def evaluate_all(plan: EvalPlan, scoring: Scoring, workers: int, progress: bool) -> dict:
    """``{tracker: {sequence: metrics}}`` with sequences in sorted order whatever the worker count; result
    files that end early are warned about here, in the main process and in that order (`early_end`)."""
    jobs = [(seq, {t: files[seq.name] for t, files in plan.tracker_files.items()}) for seq in plan.sequences]
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
            futures = [pool.submit(_evaluate_sequence, seq, files, scoring) for seq, files in jobs]
            outcomes = [f.result() for f in _progress(futures, progress, len(jobs))]
    else:
        outcomes = [
            _evaluate_sequence(seq, files, scoring) for seq, files in _progress(jobs, progress, len(jobs))
        ]
    per_sequence = {
        tracker: {seq.name: outcome[tracker] for seq, outcome in zip(plan.sequences, outcomes, strict=True)}
        for tracker in plan.tracker_files
    }
    warn_endings(plan, per_sequence, scoring.max_frames)
    return {
        tracker: {sequence: outcome.metrics for sequence, outcome in outcomes_of_tracker.items()}
        for tracker, outcomes_of_tracker in per_sequence.items()
    }


def _progress(items, enabled: bool, total: int):
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, total=total, desc="sequences", unit="seq", leave=False)


def with_combined(per_sequence: dict[str, dict], metric_names: tuple[str, ...]) -> dict:
    """Adds the COMBINED row: TrackEval's combination over sequences in sorted order."""
    ordered = [per_sequence[name] for name in sorted(per_sequence)]
    combined = {name: METRICS[name].combine([r[name] for r in ordered]) for name in metric_names}
    return {**{name: per_sequence[name] for name in sorted(per_sequence)}, COMBINED: combined}
