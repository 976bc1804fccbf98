"""Evaluation of tracker results against MOTChallenge ground truth, as TrackEval does it.

The flow: `resolve_eval_plan` finds the files -> each sequence's gt is read once and every tracker's
result for it is preprocessed and scored (in parallel processes with ``workers > 1``) -> sequences are
combined -> summaries are written. Results only reach disk after everything succeeded, each file
atomically, so bad input never leaves partial outputs.

This module holds the entry points (`evaluate`, `evaluate_pair`, `evaluate_files`), the checks of their
options and the flow; the scoring is `discmot.eval.scoring`, the warnings about the input
`discmot.eval.suspicious` and `discmot.eval.endings`, the writing `discmot.eval.outputs`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from discmot.data.eval_file_pair import resolve_file_pair
from discmot.data.layouts import EvalPlan, LayoutError, resolve_eval_plan
from discmot.eval import plots
from discmot.eval.endings import EarlyEnd, early_end
from discmot.eval.fields import COMBINED
from discmot.eval.motchallenge import BenchmarkPreset, benchmark_preset, last_frame
from discmot.eval.outputs import Outputs, check_json_path, read_only_folder, write_outputs
from discmot.eval.scoring import METRICS, Scoring, evaluate_all, with_combined
from discmot.eval.suspicious import warn_empty_ground_truth, warn_empty_results, warn_unmatched
from discmot.io.mot import MotFormatError
from discmot.io.video import check_max_frames
from discmot.messages import require_path

# METRICS, EarlyEnd, early_end and read_only_folder live in the modules named above; their public home
# stays here, where the library imported them from before they moved.
__all__ = [
    "DEFAULT_METRICS",
    "METRICS",
    "EarlyEnd",
    "EvalInputError",
    "early_end",
    "evaluate",
    "evaluate_files",
    "evaluate_pair",
    "read_only_folder",
]

log = logging.getLogger(__name__)

DEFAULT_METRICS = ("HOTA", "CLEAR", "Identity")


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
    outputs = Outputs(json_path, write_summaries, output_folder is not None, plot, f"{benchmark}-{split}")
    return _evaluate_plan(plan, Scoring(preset, metric_names, max_frames), workers, progress, outputs)


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
    ``{tracker: {sequence | "COMBINED": metrics}}``, named as `discmot.data.eval_file_pair.resolve_file_pair`
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
    outputs = Outputs(json_path, write_summaries and output_folder is not None, True, plot, context)
    return _evaluate_plan(plan, Scoring(preset, metric_names, max_frames), 1, False, outputs)


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
    (per_sequence,) = _scored(plan, Scoring(preset, metric_names, max_frames), 1, False).values()
    (metrics_of_sequence,) = per_sequence.values()
    return metrics_of_sequence


def _evaluate_plan(plan: EvalPlan, scoring: Scoring, workers: int, progress: bool, outputs: Outputs) -> dict:
    """Scores a resolved plan, warns about suspicious input, writes the outputs; `evaluate`'s result."""
    _refuse_combined_name(plan)
    try:
        check_json_path(outputs.json_path, plan)
    except LayoutError as error:
        raise EvalInputError(str(error)) from None
    per_sequence = _scored(plan, scoring, workers, progress)
    metric_names = scoring.metric_names
    results = {tracker: with_combined(per_sequence[tracker], metric_names) for tracker in plan.tracker_files}
    write_outputs(plan, results, metric_names, outputs)
    return results


def _scored(plan: EvalPlan, scoring: Scoring, workers: int, progress: bool) -> dict:
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
        warn_empty_ground_truth(plan)
        warn_empty_results(plan)
        per_sequence = evaluate_all(plan, scoring, workers, progress)
    except (LayoutError, MotFormatError) as error:
        raise EvalInputError(str(error)) from None
    warn_unmatched(per_sequence)
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


def _require_paths(function: str, **paths) -> None:
    """One line naming the parameter where pathlib would say "expected str, bytes or os.PathLike object,
    not NoneType" deep inside the layout code."""
    for name, value in paths.items():
        require_path(value, name, function)


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


def _pair_plan(gt_file, results_file, num_frames: int | None) -> EvalPlan:
    """`resolve_file_pair`, its errors as `EvalInputError`."""
    try:
        return resolve_file_pair(gt_file, results_file, num_frames)
    except (LayoutError, MotFormatError) as error:
        raise EvalInputError(str(error)) from None


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


def _tracker_names(trackers) -> list[str] | None:
    """``--trackers`` as folder names: a tab-completed ``T1/`` is ``T1``; a name given twice counts once."""
    names = _names(trackers, "trackers")
    if names is None:
        return None
    return list(dict.fromkeys(str(name).rstrip("/\\") for name in names))
