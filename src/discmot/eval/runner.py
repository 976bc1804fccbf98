"""Evaluation of tracker results against MOTChallenge ground truth, as TrackEval does it.

The flow: `resolve_eval_plan` finds the files -> each sequence's gt is read once and every tracker's
result for it is preprocessed and scored (in parallel processes with ``workers > 1``) -> sequences are
combined -> summaries are written. Results only reach disk after everything succeeded, each file
atomically, so bad input never leaves partial outputs.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import NamedTuple

import numpy as np

from discmot.data.layouts import EvalPlan, LayoutError, SequenceFiles, resolve_eval_plan, resolve_file_pair
from discmot.eval import clear, count, hota, identity, plots
from discmot.eval.fields import ALPHAS, COMBINED
from discmot.eval.motchallenge import (
    BenchmarkPreset,
    FrameGroupedRows,
    SequenceData,
    benchmark_preset,
    last_frame,
    load_ground_truth,
    load_tracker_result,
    preprocess,
)
from discmot.io.mot import MotFormatError
from discmot.io.video import check_max_frames
from discmot.messages import listed_all, require_path

log = logging.getLogger(__name__)

METRICS = {"HOTA": hota, "CLEAR": clear, "Identity": identity, "Count": count}
DEFAULT_METRICS = ("HOTA", "CLEAR", "Identity")
#: What `discmot.eval.report.write_tracker_outputs` writes into each tracker's output folder.
SUMMARY_FILES = ("pedestrian_summary.txt", "pedestrian_detailed.csv")


class EvalInputError(ValueError):
    """Evaluation input is unusable (bad folders, files or options); the message says what and where."""


def evaluate(
    gt_folder: str | Path,
    trackers_folder: str | Path,
    benchmark: str = "MOT17",
    split: str = "train",
    trackers: str | Sequence[str] | None = None,
    seqmap: str | Path | None = None,
    metrics: str | Sequence[str] = DEFAULT_METRICS,
    workers: int = 1,
    output_folder: str | Path | None = None,
    json_path: str | Path | None = None,
    skip_split_folder: bool = False,
    tracker_sub_folder: str = "data",
    write_summaries: bool = True,
    progress: bool = False,
    sequences: str | Sequence[str] | None = None,
    plot: bool = False,
    max_frames: int | None = None,
) -> dict:
    """Scores every tracker on every sequence with TrackEval's numbers.

    Args:
        gt_folder: TrackEval's ``GT_FOLDER`` or a dataset root (see `discmot.data.layouts`).
        trackers_folder: TrackEval's ``TRACKERS_FOLDER``, a folder of tracker folders, or a flat
            folder of ``<seq>.txt`` files (one tracker).
        benchmark: MOT15, MOT16, MOT17, MOT20, DanceTrack, SportsMOT, BFT, or another name (MOT17 rules).
        split: the split name (``train``, ``val``, ``test``).
        trackers: which trackers to evaluate, one name or several (default: all).
        seqmap: a seqmap file overriding the default one.
        sequences: the sequences to evaluate, instead of a seqmap (e.g. one sequence of a benchmark:
            ``evaluate("MOT15", "results", benchmark="MOT15", sequences=["PETS09-S2L1"])``).
        metrics: any of HOTA, CLEAR, Identity, in any case, or fields of theirs (``IDF1`` selects
            Identity, ``MOTA`` CLEAR); Count is always computed.
        workers: processes evaluating sequences in parallel (results do not depend on it).
        output_folder: where ``<tracker>/pedestrian_summary.txt`` and ``pedestrian_detailed.csv`` go
            (default: each tracker's folder, like TrackEval).
        json_path: also write the whole result structure as JSON there.
        skip_split_folder: TrackEval's ``SKIP_SPLIT_FOL``.
        tracker_sub_folder: TrackEval's ``TRACKER_SUB_FOLDER``.
        write_summaries: write the per-tracker summary files.
        progress: show a progress bar over sequences.
        plot: also draw ``pedestrian_plot.png`` (HOTA's curves against alpha) beside each tracker's
            summary and, for two or more trackers, ``comparison_deta_assa.png`` in their common parent
            folder (`discmot.eval.plots`); needs HOTA among ``metrics``.
        max_frames: score frames ``1..max_frames`` only (what ``discmot track --max-frames`` tracked):
            every sequence as if its gt and results files ended there and it had ``max_frames`` frames
            (its own length where that is shorter); the rows after it are still checked.

    Returns:
        ``{tracker: {sequence or "COMBINED": {"HOTA": {...}, "CLEAR": {...}, "Identity": {...},
        "Count": {...}}}}`` with TrackEval's field names (HOTA arrays: one value per alpha).

    Raises:
        EvalInputError: missing folders/files, malformed files (the message names file and line), a
            sequence named ``COMBINED`` (the name of the combined row).
        TypeError: ``gt_folder`` or ``trackers_folder`` that is no path (``None``).
    """
    _require_paths("evaluate", gt_folder=gt_folder, trackers_folder=trackers_folder)
    metric_names, preset = _checked_options(metrics, benchmark, plot, max_frames)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise EvalInputError(f"workers {workers!r}: give a whole number of processes, at least 1")
    try:
        plan = resolve_eval_plan(
            gt_folder,
            trackers_folder,
            benchmark,
            split,
            _tracker_names(trackers),
            seqmap,
            skip_split_folder,
            tracker_sub_folder,
            output_folder,
            _names(sequences, "sequences"),
        )
    except (LayoutError, MotFormatError) as error:
        raise EvalInputError(str(error)) from None
    outputs = _Outputs(json_path, write_summaries, output_folder is not None, plot, f"{benchmark}-{split}")
    return _evaluate_plan(plan, _Scoring(preset, metric_names, max_frames), workers, progress, outputs)


def evaluate_pair(
    gt_file: str | Path,
    results_file: str | Path,
    num_frames: int | None = None,
    benchmark: str = "MOT17",
    metrics: str | Sequence[str] = DEFAULT_METRICS,
    output_folder: str | Path | None = None,
    json_path: str | Path | None = None,
    plot: bool = False,
    write_summaries: bool = True,
    max_frames: int | None = None,
) -> dict:
    """Scores one results file against one gt file as `evaluate` scores the folders holding them
    (`discmot eval --gt GT.txt --results RES.txt`): the same numbers, warnings and structure
    ``{tracker: {sequence | "COMBINED": metrics}}``, named as `discmot.data.layouts.resolve_file_pair`
    names them (the tracker after the results' folder, the sequence after the gt's sequence folder).

    Args:
        num_frames: the sequence's length; default: ``seqinfo.ini`` beside the gt's ``gt/`` folder, else
            the last frame of the files (`resolve_file_pair`; logged at INFO).
        output_folder: write ``<tracker>/pedestrian_summary.txt`` and ``pedestrian_detailed.csv`` there
            (default: none written: the results' folder may hold other results).
        json_path, plot, write_summaries: as in `evaluate`; ``plot`` needs ``output_folder``.
        max_frames: score frames ``1..max_frames`` only, as in `evaluate` (``discmot eval --max-frames``).

    Raises:
        EvalInputError: a missing file, a malformed row (file and line), a bad option, a sequence named
            ``COMBINED`` (`evaluate_files` scores that one).
        TypeError: ``gt_file`` or ``results_file`` that is no path (``None``).
    """
    _require_paths("evaluate_pair", gt_file=gt_file, results_file=results_file)
    metric_names, preset = _checked_options(metrics, benchmark, plot, max_frames)
    if plot and output_folder is None:
        raise EvalInputError("plot: give output_folder (--output-folder), the folder the picture goes into")
    plan = _pair_plan(gt_file, results_file, num_frames)
    if output_folder is not None:
        plan.output_folders.update({name: Path(output_folder) / name for name in plan.output_folders})
    context = f"{benchmark} {plan.sequences[0].name}"
    outputs = _Outputs(json_path, write_summaries and output_folder is not None, True, plot, context)
    return _evaluate_plan(plan, _Scoring(preset, metric_names, max_frames), 1, False, outputs)


def _pair_plan(gt_file, results_file, num_frames: int | None) -> EvalPlan:
    """`resolve_file_pair`, its errors as `EvalInputError`."""
    try:
        return resolve_file_pair(gt_file, results_file, num_frames)
    except (LayoutError, MotFormatError) as error:
        raise EvalInputError(str(error)) from None


def _require_paths(function: str, **paths) -> None:
    """One line naming the parameter where pathlib would say "expected str, bytes or os.PathLike object,
    not NoneType" deep inside the layout code."""
    for name, value in paths.items():
        require_path(value, name, function)


class _Outputs(NamedTuple):
    """What `_evaluate_plan` writes: the JSON, the summaries (``asked_where``: into an output folder the
    user named, where a failure is an error), the pictures (``context`` names the data in them)."""

    json_path: str | Path | None
    summaries: bool
    asked_where: bool
    plot: bool
    context: str


class _Scoring(NamedTuple):
    """How each sequence is scored: the benchmark's rules, the metric families, the frames
    (``max_frames``: ``1..max_frames`` only; None: all)."""

    preset: BenchmarkPreset
    metric_names: tuple[str, ...]
    max_frames: int | None = None


def _checked_options(
    metrics, benchmark: str, plot: bool, max_frames: int | None = None
) -> tuple[tuple[str, ...], BenchmarkPreset]:
    """The metric families and the benchmark's preset, checked (with ``max_frames``) before any file is
    read."""
    try:
        check_max_frames(max_frames)  # track's rule
    except ValueError:
        raise EvalInputError(
            f"max_frames {max_frames!r}: score frames 1..N, a whole number of at least 1"
        ) from None
    metric_names = _metric_names(metrics)
    try:
        preset = benchmark_preset(benchmark)
        if plot:
            plots.require_hota(metric_names)
    except ValueError as error:
        raise EvalInputError(str(error)) from None
    return metric_names, preset


def _evaluate_plan(
    plan: EvalPlan, scoring: _Scoring, workers: int, progress: bool, outputs: _Outputs
) -> dict:
    """Scores a resolved plan, warns about suspicious input, writes the outputs; `evaluate`'s result."""
    _refuse_combined_name(plan)
    try:
        _check_json_path(outputs.json_path, plan)
    except LayoutError as error:
        raise EvalInputError(str(error)) from None
    per_sequence = _scored(plan, scoring, workers, progress)
    metric_names = scoring.metric_names
    results = {tracker: _with_combined(per_sequence[tracker], metric_names) for tracker in plan.tracker_files}
    read_only = set() if outputs.asked_where else _read_only_outputs(plan, outputs)
    _write_outputs(
        plan, results, metric_names, outputs.json_path, outputs.summaries, outputs.asked_where, read_only
    )
    if outputs.plot:
        plots.write_plots(
            results, plan.output_folders, outputs.context, asked_where=outputs.asked_where, skip=read_only
        )
    return results


def _scored(plan: EvalPlan, scoring: _Scoring, workers: int, progress: bool) -> dict:
    """``{tracker: {sequence: metrics}}`` of a resolved plan (no combined row), with the warnings about
    suspicious input."""
    if scoring.max_frames is not None:
        log.info(
            "scoring frames 1-%d only (--max-frames): gt and result rows after frame %d are left out and a "
            "longer sequence is scored as one of %d frames",
            scoring.max_frames,
            scoring.max_frames,
            scoring.max_frames,
        )
    try:
        _warn_empty_ground_truth(plan)
        _warn_empty_results(plan)
        per_sequence = _evaluate_all(plan, scoring, workers, progress)
    except (LayoutError, MotFormatError) as error:
        raise EvalInputError(str(error)) from None
    _warn_unmatched(per_sequence)
    return per_sequence


def _refuse_combined_name(plan: EvalPlan) -> None:
    """A sequence named COMBINED cannot be told from the combined row: the results (and ``--json``)
    name that row ``COMBINED`` beside the sequences, and pedestrian_detailed.csv names its last row so,
    as TrackEval's does (TrackEval keys the row ``COMBINED_SEQ`` inside, so it scores such a sequence
    but writes two rows named COMBINED into that file). Refused before any file is read."""
    for sequence in plan.sequences:
        if sequence.name == COMBINED:
            raise EvalInputError(
                f"{sequence.gt_file}: a sequence named {COMBINED}, the name of the row that combines all "
                "sequences (in the results, --json and pedestrian_detailed.csv); rename the sequence "
                "(in Python, discmot.eval.runner.evaluate_files scores one such pair)"
            )


def read_only_folder(folder: str | Path) -> bool:
    """Whether ``folder`` is meant not to be written: its mode has no write bit for anyone (root ignores
    the mode, so a write as root would succeed in a folder made read-only on purpose, shared data), or
    `os.access` says this user cannot write there (another user's folder, a read-only mount). A folder
    that does not exist yet is not: it is created when written."""
    try:
        mode = Path(folder).stat().st_mode
    except OSError:
        return False
    return not mode & 0o222 or not os.access(folder, os.W_OK)


def _read_only_outputs(plan: EvalPlan, outputs: _Outputs) -> set[Path]:
    """The read-only folders (`read_only_folder`) among those the summaries and pictures would go into by
    default (the trackers' own folders and the folder holding them), each said once with the files it
    does not get: evaluation reads results from shared, read-only places, and writes there nothing."""
    planned: dict[Path, list[str]] = {}
    for tracker in plan.tracker_files:
        folder = Path(plan.output_folders[tracker])
        if outputs.summaries:
            planned.setdefault(folder, []).extend(SUMMARY_FILES)
        if outputs.plot:
            planned.setdefault(folder, []).append(plots.plot_file_name())
    if outputs.plot and len(plan.tracker_files) >= 2:
        parent = plots.comparison_folder([plan.output_folders[t] for t in plan.tracker_files])
        planned.setdefault(parent, []).append(plots.COMPARISON_FILE)
    read_only = {folder for folder in planned if read_only_folder(folder)}
    for folder in sorted(read_only):
        names = list(dict.fromkeys(planned[folder]))
        log.warning(
            "%s: read-only, so %s %s not written there; write %s elsewhere with --output-folder DIR",
            folder,
            listed_all(names),
            "is" if len(names) == 1 else "are",
            "it" if len(names) == 1 else "them",
        )
    return read_only


def evaluate_files(
    gt_file: str | Path,
    tracker_file: str | Path,
    num_frames: int | None = None,
    benchmark: str = "MOT17",
    metrics: str | Sequence[str] = DEFAULT_METRICS,
    max_frames: int | None = None,
) -> dict:
    """Scores one tracker file against one gt file: ``{"HOTA": {...}, ..., "Count": {...}}``, the
    sequence's metrics of `evaluate_pair` (the same scoring and warnings; nothing is written). The
    sequence's name plays no part: one named ``COMBINED``, which `evaluate_pair` refuses, is scored.

    ``num_frames``: the sequence's length (seqinfo.ini's ``seqLength``); ``None``: the last frame of
    either file (a ``seqinfo.ini`` beside the gt is not read, unlike `evaluate_pair`), which changes only
    the frame counts and CLEAR's ``FP_per_frame`` (see `discmot.data.layouts`). ``max_frames``: score
    frames ``1..max_frames`` only, as `evaluate` does."""
    _require_paths("evaluate_files", gt_file=gt_file, tracker_file=tracker_file)
    metric_names, preset = _checked_options(metrics, benchmark, False, max_frames)
    if num_frames is None:
        num_frames = _files_length(gt_file, tracker_file)
    plan = _pair_plan(gt_file, tracker_file, num_frames)
    (per_sequence,) = _scored(plan, _Scoring(preset, metric_names, max_frames), 1, False).values()
    (metrics_of_sequence,) = per_sequence.values()
    return metrics_of_sequence


def _files_length(gt_file: str | Path, tracker_file: str | Path) -> int:
    """The last frame of either file (at least 1); a missing or malformed file is a one-line
    `EvalInputError` naming it (and the line at fault)."""
    try:
        return max(last_frame(gt_file), last_frame(tracker_file), 1)
    except MotFormatError as error:
        raise EvalInputError(str(error)) from None


def _names(value: str | Sequence[str] | None, what: str) -> list[str] | None:
    """A list of names given as one name or several (a bare string is one name, not its letters);
    None stays None (the default)."""
    if value is None:
        return None
    names = [value] if isinstance(value, str) else list(value)
    if not names:
        raise EvalInputError(f"{what} is empty: give one name or several (or leave it out for the default)")
    return names


def _metric_names(metrics: str | Sequence[str]) -> tuple[str, ...]:
    """The families to compute, in TrackEval's order, Count always: names as `report.metric_family`
    reads them (any case; a field such as ``IDF1`` selects its family); none: Count alone."""
    from discmot.eval.report import resolve_metrics

    try:
        return resolve_metrics(metrics)
    except ValueError as error:
        raise EvalInputError(str(error)) from None


class _Outcome(NamedTuple):
    """One result file of one sequence, scored: its metrics, how it ends early (`early_end`; None: it
    does not), and, under ``max_frames``, the rows of the gt and of the result file when every one of
    them lies after the last scored frame (`_rows_after_cut`), for `_warn_cut_away`."""

    metrics: dict
    ending: EarlyEnd | None
    gt_rows_cut_away: int
    result_rows_cut_away: int


def _score_and_ending(
    gt, tracker, num_frames: int, preset: BenchmarkPreset, metric_names: tuple[str, ...]
) -> _Outcome:
    """The metrics of one sequence's result, how it ends early and what ``max_frames`` cut away
    (`_Outcome`)."""
    data = preprocess(gt, tracker, num_frames, preset)
    return _Outcome(
        {name: METRICS[name].evaluate(data) for name in metric_names},
        early_end(data, tracker),
        _rows_after_cut(gt),
        _rows_after_cut(tracker),
    )


def _rows_after_cut(rows: FrameGroupedRows) -> int:
    """The rows of a file that is not empty but has none in the frames scored (``max_frames`` cut every
    one away), else 0: scored as nothing without a word, which the file's size alone does not tell
    (`_warn_empty_results` looks at it before any file is read)."""
    return rows.table.num_rows if rows.rows.size == 0 else 0


class EarlyEnd(NamedTuple):
    """A result file that stops well before its ground truth (`early_end`): its last frame, the last
    frame with a scored gt box, and the scored gt boxes after its last frame (all misses) of ``gt_boxes``."""

    last_result_frame: int
    last_gt_frame: int
    gt_after: int
    gt_boxes: int


#: `early_end`'s thresholds: the share of the gt boxes after the results' last frame, and how far into the
#: sequence that frame may lie. Real trackers whose last tracks end a few frames before the sequence does
#: stay below both (every tracker of the shared MOTChallenge reference results runs to the last frame);
#: a `--max-frames` run over the first part of a video is far above them.
EARLY_END_GT_SHARE = 0.10
EARLY_END_LENGTH_SHARE = 0.90


def early_end(data: SequenceData, tracker: FrameGroupedRows) -> EarlyEnd | None:
    """How a result file ends early, or None: it ends early when its last frame (a row of the file, also
    one that preprocessing removed) is before the last ``EARLY_END_LENGTH_SHARE`` of the sequence and at
    least ``EARLY_END_GT_SHARE`` of the scored gt boxes lie after it. An empty file is not one (it has its
    own warning). Scores are untouched: the boxes after it are misses, as TrackEval counts them."""
    with_rows = np.flatnonzero(np.diff(tracker.offsets))
    with_gt = np.flatnonzero(np.diff(data.gt_offsets))
    if with_rows.size == 0 or with_gt.size == 0:
        return None
    last = int(with_rows[-1]) + 1  # 1-based frame number
    after = int(data.gt_offsets[-1] - data.gt_offsets[last])
    if after < EARLY_END_GT_SHARE * data.num_gt_dets or last >= EARLY_END_LENGTH_SHARE * data.num_timesteps:
        return None
    return EarlyEnd(last, int(with_gt[-1]) + 1, after, data.num_gt_dets)


def _evaluate_sequence(
    sequence: SequenceFiles, tracker_files: dict[str, Path], scoring: _Scoring
) -> dict[str, _Outcome]:
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


def _evaluate_all(plan: EvalPlan, scoring: _Scoring, workers: int, progress: bool) -> dict:
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
    for tracker, outcomes_of_tracker in per_sequence.items():
        for sequence, outcome in outcomes_of_tracker.items():
            if outcome.ending is not None:
                _warn_early_end(tracker, sequence, outcome.ending)
    if scoring.max_frames is not None:
        _warn_cut_away(plan, per_sequence, scoring.max_frames)
    return {
        tracker: {sequence: outcome.metrics for sequence, outcome in outcomes_of_tracker.items()}
        for tracker, outcomes_of_tracker in per_sequence.items()
    }


def _warn_cut_away(plan: EvalPlan, per_sequence: dict[str, dict[str, _Outcome]], max_frames: int) -> None:
    """Under ``max_frames``, a gt or result file with rows but none in frames ``1..max_frames`` is scored
    as an empty one (as TrackEval scores the file cut there) and said like one: a results file of a
    later part of the video, or a ``--max-frames`` smaller than meant. A gt file is said once."""
    for sequence in plan.sequences:
        outcomes = [per_sequence[tracker][sequence.name] for tracker in plan.tracker_files]
        gt_rows = max((outcome.gt_rows_cut_away for outcome in outcomes), default=0)
        if gt_rows:
            log.warning(
                "%s: none of its %s rows lies in frames 1-%d (--max-frames), so every result row there "
                "counts as a false positive",
                sequence.gt_file,
                f"{gt_rows:,}",
                max_frames,
            )
    for tracker, files in plan.tracker_files.items():
        cut_away = [
            f"{files[name]} ({outcome.result_rows_cut_away:,} rows)"
            for name, outcome in per_sequence[tracker].items()
            if outcome.result_rows_cut_away
        ]
        if cut_away:
            log.warning(
                "%s: result file(s) with no row in frames 1-%d (--max-frames), every ground-truth box there "
                "counts as a miss: %s",
                tracker,
                max_frames,
                _listed(cut_away),
            )


def _warn_early_end(tracker: str, sequence: str, ending: EarlyEnd) -> None:
    """A result of part of the sequence (``discmot track --max-frames``) scored against all of its gt: the
    numbers are right for the whole sequence but rarely what was meant, so it is said, with the option
    that scores the frames tracked alone."""
    log.warning(
        "%s/%s: results end at frame %d but the ground truth runs to frame %d (%s of %s gt boxes after it "
        "count as misses): a run over part of the sequence (--max-frames N)? eval's --max-frames N scores "
        "frames 1-N alone",
        tracker,
        sequence,
        ending.last_result_frame,
        ending.last_gt_frame,
        f"{ending.gt_after:,}",
        f"{ending.gt_boxes:,}",
    )


def _progress(items, enabled: bool, total: int):
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, total=total, desc="sequences", unit="seq", leave=False)


def _with_combined(per_sequence: dict[str, dict], metric_names: tuple[str, ...]) -> dict:
    """Adds the COMBINED row: TrackEval's combination over sequences in sorted order."""
    ordered = [per_sequence[name] for name in sorted(per_sequence)]
    combined = {name: METRICS[name].combine([r[name] for r in ordered]) for name in metric_names}
    return {**{name: per_sequence[name] for name in sorted(per_sequence)}, COMBINED: combined}


def _tracker_names(trackers) -> list[str] | None:
    """``--trackers`` as folder names: a tab-completed ``T1/`` is ``T1``; a name given twice counts once."""
    names = _names(trackers, "trackers")
    if names is None:
        return None
    return list(dict.fromkeys(str(name).rstrip("/\\") for name in names))


def _check_json_path(json_path, plan: EvalPlan) -> None:
    """Before any work (and before the summaries replace older ones): ``--json`` must name a file that is
    none of the inputs and that can be written (not behind a file where a folder should be, not in a
    read-only place)."""
    from discmot.io.atomic import check_writable

    if json_path is None:
        return
    path = Path(json_path)
    if path.is_dir():
        raise LayoutError(f"{path}: --json names a folder; give a file name")
    if path.exists():
        inputs = [s.gt_file for s in plan.sequences] + [
            f for files in plan.tracker_files.values() for f in files.values()
        ]
        target = path.resolve()
        if any(target == Path(f).resolve() for f in [*inputs, plan.seqmap] if f is not None):
            raise LayoutError(
                f"{path}: --json would overwrite one of the files it evaluates; write elsewhere"
            )
    check_writable(path)


def _warn_empty_ground_truth(plan: EvalPlan) -> None:
    """An empty gt file is scored (as TrackEval does: every result row a false positive, MOTA of the
    combined sequences can fall far below 0) but is more often a copying mistake than a scene without
    people, so it is said."""
    for sequence in plan.sequences:
        gt_file = Path(sequence.gt_file)
        if gt_file.stat().st_size == 0:  # (blank lines alone are the loader's error: no delimiter)
            log.warning(
                "%s: empty: no ground-truth object in the whole sequence, so every result row counts as "
                "a false positive",
                sequence.gt_file,
            )


def _listed(names: list[str], limit: int = 5) -> str:
    """``a, b, c`` or ``a, b, c, d, e and 7 more``: names in a one-line message."""
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown} and {len(names) - limit} more"


def _warn_empty_results(plan: EvalPlan) -> None:
    """An empty result file is valid (TrackEval scores it: every gt box a miss) but is as often a crashed
    run as a sequence without detections; one warning per tracker names its empty files."""
    for tracker, files in plan.tracker_files.items():
        empty = [str(path) for _, path in sorted(files.items()) if Path(path).stat().st_size == 0]
        if empty:
            log.warning(
                "%s: empty result file(s), every ground-truth box there counts as a miss: %s",
                tracker,
                _listed(empty),
            )


#: Index of alpha 0.5 in HOTA's per-alpha arrays: HOTA_TP there counts matches at IoU >= 0.5.
_ALPHA_HALF = int(abs(ALPHAS - 0.5).argmin())


def _matches(result: dict) -> int | None:
    """Matched boxes (IoU >= 0.5) of one sequence's result, from whichever family was computed (None:
    only Count, which cannot tell)."""
    if "CLEAR" in result:
        return result["CLEAR"]["CLR_TP"]
    if "Identity" in result:  # IDTP > 0 needs a pair at IoU >= 0.5, as CLR_TP does
        return result["Identity"]["IDTP"]
    if "HOTA" in result:
        return int(result["HOTA"]["HOTA_TP"][_ALPHA_HALF])
    return None


def _zero_scores(families) -> str:
    """What no match at IoU >= 0.5 does to the families computed, in words: CLEAR and Identity match only
    there; HOTA also matches at its lower IoU thresholds (alpha < 0.5), so it stays above 0."""
    zero = [field for family, field in (("CLEAR", "MOTP"), ("Identity", "IDF1")) if family in families]
    parts = [f"{' and '.join(zero)} {'is' if len(zero) == 1 else 'are'} 0"] if zero else []
    if "CLEAR" in families:
        parts.append("MOTA counts every result box as a false positive")
    if "HOTA" in families:
        parts.append("HOTA and DetA count only the matches at IoU thresholds below 0.5")
    return listed_all(parts) if parts else ""


def _warn_unmatched(results: dict) -> None:
    """A tracker whose boxes never overlap the gt at IoU >= 0.5 scores 0 in CLEAR and Identity (and near
    0 in HOTA): faithful numbers, but nearly always a mistake in its files (another sequence's results,
    0-based frames shifted, corners instead of width/height), so the sequences where it happens are
    named, with what it does to the scores (the table may show HOTA above 0). ``results``:
    ``{tracker: {sequence: metrics}}`` without the combined row (`evaluate_files` scores a sequence
    named COMBINED too)."""
    for tracker, per_sequence in results.items():
        unmatched = [
            sequence
            for sequence, result in per_sequence.items()
            if result["Count"]["Dets"] > 0 and result["Count"]["GT_Dets"] > 0 and _matches(result) == 0
        ]
        if unmatched:
            effect = _zero_scores(per_sequence[unmatched[0]])
            log.warning(
                "%s: no result box matches a ground-truth box at IoU >= 0.5 in %s%s; results of another "
                "sequence, frames counted from 0, or boxes not <left>,<top>,<width>,<height>?",
                tracker,
                _listed(unmatched),
                f", so there {effect}" if effect else "",
            )


def _write_outputs(
    plan: EvalPlan,
    results: dict,
    metric_names,
    json_path,
    write_summaries: bool,
    asked_where: bool,
    skip: set[Path] | frozenset[Path] = frozenset(),
) -> None:
    """Summaries per tracker (beside its results, or under the ``output_folder`` asked for) and the JSON.

    A tracker folder that cannot be written (read-only results) only loses its summaries, with a
    warning; so does one in ``skip`` (read-only by its mode, already warned about by
    `_read_only_outputs`); an output folder the user asked for and that cannot be written is an error.
    """
    from discmot.eval import report

    if write_summaries:
        for tracker, per_sequence in results.items():
            folder = plan.output_folders[tracker]
            if Path(folder) in skip:
                continue
            try:
                report.write_tracker_outputs(folder, per_sequence, metric_names)
            except OSError as error:
                if asked_where:
                    raise
                log.warning(
                    "could not write summaries to %s (%s); use --output-folder", folder, error.strerror
                )
            else:  # beside the results by default, as TrackEval: said, since it writes into their folder
                log.info(
                    "%s: wrote pedestrian_summary.txt and pedestrian_detailed.csv in %s", tracker, folder
                )
    if json_path is not None:
        report.write_json(json_path, results)
