"""What an evaluation writes, and where it may: the ``--json`` path checked before any work, the
per-tracker summaries, the JSON and the pictures written once everything is scored, and the read-only
folders (shared results) that get none of them."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import NamedTuple

from discmot.data.layouts import EvalPlan, LayoutError
from discmot.eval import plots
from discmot.messages import listed_all

# The runner's name: users filter evaluation warnings by it, and docs/evaluation.md shows it.
log = logging.getLogger("discmot.eval.runner")

#: What `discmot.eval.report.write_tracker_outputs` writes into each tracker's output folder.
SUMMARY_FILES = ("pedestrian_summary.txt", "pedestrian_detailed.csv")


class Outputs(NamedTuple):
    """What `discmot.eval.runner` writes: the JSON, the summaries (``asked_where``: into an output folder
    the user named, where a failure is an error), the pictures (``context`` names the data in them)."""

    json_path: str | Path | None
    summaries: bool
    asked_where: bool
    plot: bool
    context: str


def check_json_path(json_path, plan: EvalPlan) -> None:
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


def write_outputs(plan: EvalPlan, results: dict, metric_names, outputs: Outputs) -> None:
    """Writes what ``outputs`` asks for of the scored ``results``: summaries and JSON (`_write_files`),
    then the pictures; by default (no output folder named) none into a read-only folder
    (`_read_only_outputs`)."""
    read_only = set() if outputs.asked_where else _read_only_outputs(plan, outputs)
    _write_files(
        plan, results, metric_names, outputs.json_path, outputs.summaries, outputs.asked_where, read_only
    )
    if outputs.plot:
        plots.write_plots(
            results, plan.output_folders, outputs.context, asked_where=outputs.asked_where, skip=read_only
        )


def _read_only_outputs(plan: EvalPlan, outputs: Outputs) -> set[Path]:
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


def _write_files(
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
