"""``discmot show SPLIT``: every sequence of a split drawn as `discmot.viz.show.show_sequence` draws one,
into ``<out>/<sequence>.mp4``, or only the sequences with the most errors (``--worst N``)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from discmot.io.atomic import check_folder_possible
from discmot.io.video import SequenceFrames
from discmot.viz.show import show_loaded
from discmot.viz.show_inputs import (
    IMAGE_SUFFIXES,
    VIDEO_SUFFIXES,
    check_output,
    ground_truth_file,
    load_boxes,
)

log = logging.getLogger(__name__)


def show_split(
    split: str | Path,
    results: str | Path,
    out: str | Path,
    benchmark: str = "MOT17",
    worst: int | None = None,
    progress: bool | None = None,
    trail_length: int = 30,
) -> dict[str, dict]:
    """Draws each sequence of a split as `show_sequence` does, into ``out/<sequence>.mp4``.

    Args:
        split: a folder of MOTChallenge sequence folders (``seqinfo.ini`` and images; each scored against
            its own ``gt/gt.txt`` when it has one).
        results: a folder of ``<sequence>.txt`` results files, a tracker folder holding them in ``data/``
            (``discmot track SPLIT --split-out OUT`` writes ``OUT/<tracker>/data/``), or a folder of one
            such tracker folder. A sequence without a results file is left out with a warning.
        out: the folder of the videos (created if missing).
        benchmark: the preprocessing rules, as ``discmot eval --benchmark``.
        worst: draw only the ``worst`` sequences with the most errors (FP + FN + IDSW, `discmot eval`'s
            ``CLR_FP + CLR_FN + IDSW``; ties in name order); every sequence needs ground truth.
        progress, trail_length: as `show_sequence`.

    Returns:
        ``{sequence folder name: show_sequence's summary}`` of the sequences drawn, in the order drawn
        (name order; with ``worst``, most errors first).

    Raises:
        ValueError: no sequence or no results file at all, results of several trackers, ``out`` a file,
            ``worst`` < 1 or a sequence without gt with ``worst``; any error of `show_sequence` (all files
            are read and scored before the first video is written).
    """
    from discmot.engine.split_folders import find_sequences

    if worst is not None and (
        isinstance(worst, bool) or not isinstance(worst, (int, np.integer)) or worst < 1
    ):
        raise ValueError(f"worst={worst!r}: give the number of sequences to draw, a whole number N >= 1")
    folders = find_sequences(split, det_file=None)  # with seqinfo.ini and images; the others: a warning
    files = split_results(Path(results), [folder.name for folder in folders])
    out = _check_output_folder(Path(out))
    loaded = {}  # every file is read and scored first: a bad one stops the run before any video
    for folder in (f for f in folders if f.name in files):
        source, gt_file = SequenceFrames(folder), ground_truth_file(folder, None)
        boxes = load_boxes(gt_file, files[folder.name], source.num_frames, benchmark)
        loaded[folder.name] = source, gt_file, boxes
    names = _worst(loaded, worst) if worst is not None else list(loaded)
    targets = {
        name: check_output(out / f"{name}.mp4", 1, 1, [files[name], loaded[name][1]]) for name in names
    }
    summaries = {}
    for k, name in enumerate(names, 1):
        source, gt_file, boxes = loaded[name]
        label = f" ({k} of {len(names)})"
        frames = (1, source.num_frames)
        summaries[name] = show_loaded(
            source, boxes, gt_file, targets[name], frames, benchmark, progress, trail_length, label
        )
    _log_table(summaries, out)
    return summaries


def split_results(folder: Path, names: list[str]) -> dict[str, Path]:
    """``{sequence: results file}`` of the ``names`` that have one in ``folder`` (see `show_split`'s
    ``results``); a sequence without one: a warning naming it."""
    if folder.is_file():
        raise ValueError(f"{folder}: with a split, --results names a folder of <sequence>.txt files")
    if not folder.is_dir():
        raise ValueError(f"{folder}: results folder not found{_trackers_beside(folder)}")
    data = _results_folder(folder, names)
    files = {name: data / f"{name}.txt" for name in names if (data / f"{name}.txt").is_file()}
    for name in names:
        if name not in files:
            log.warning("%s: no results file (%s): not drawn", name, data / f"{name}.txt")
    return files


def sequence_results(folder: Path, name: str) -> Path:
    """The results file of the one sequence ``name`` in ``folder``, a results folder of any form
    `show_split` takes (``<name>.txt`` in it, in ``data/`` or in its one ``<tracker>/data/``): a sequence
    of a split is shown from the folder the split is."""
    if not folder.is_dir():
        raise ValueError(f"{folder}: results folder not found{_trackers_beside(folder)}")
    path = _results_folder(folder, [name]) / f"{name}.txt"
    log.info("%s: results %s", name, path)
    return path


def _trackers_beside(folder: Path) -> str:
    """For a missing results folder: the tracker folders (``<tracker>/data/``) beside it, as a hint, or
    "". ``--split-out OUT`` names ``OUT/<tracker>`` after ``--tracker-name``, else after the model (jde,
    cstrack, fdta): a guessed name misses."""
    parent = folder.parent
    trackers = sorted(p.name for p in parent.iterdir() if (p / "data").is_dir()) if parent.is_dir() else []
    if not trackers:
        return ""
    return (
        f" ({parent} holds the tracker folders {', '.join(trackers)}: give one, e.g. {parent / trackers[0]})"
    )


def _results_folder(folder: Path, names: list[str]) -> Path:
    """The folder among ``folder``, ``folder/data`` and ``folder/<tracker>/data`` (one tracker) that holds
    the results file of at least one of the sequences ``names``."""

    def holds_results(candidate: Path) -> bool:
        return any((candidate / f"{name}.txt").is_file() for name in names)

    for candidate in (folder, folder / "data"):
        if holds_results(candidate):
            return candidate
    trackers = sorted(p for p in folder.iterdir() if p.is_dir() and holds_results(p / "data"))
    if len(trackers) > 1:
        raise ValueError(
            f"{folder}: holds the results of {len(trackers)} trackers "
            f"({', '.join(p.name for p in trackers)}): give one, e.g. --results {trackers[0]}"
        )
    if not trackers:
        if len(names) == 1:
            raise ValueError(f"{folder}: no {names[0]}.txt here, in data/ or in <tracker>/data/")
        raise ValueError(
            f"{folder}: no results file of any sequence of the split here, in data/ or in <tracker>/data/ "
            f"(expected <sequence>.txt, e.g. {names[0]}.txt)"
        )
    return trackers[0] / "data"


def _check_output_folder(out: Path) -> Path:
    """``out`` must be (or become) a folder, and one that can be written."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out}: --out is a file; with a split it names a folder (one <sequence>.mp4 each)")
    if not out.exists() and out.suffix.lower() in VIDEO_SUFFIXES + IMAGE_SUFFIXES:
        raise ValueError(f"{out}: with a split --out names a folder (one <sequence>.mp4 each), not a video")
    check_folder_possible(out)
    return out


def _worst(loaded: dict, count: int) -> list[str]:
    """The names of the ``count`` sequences of ``loaded`` with the most errors (FP + FN + IDSW), most first;
    logged in one line with their counts."""
    for source, gt_file, _ in loaded.values():
        if gt_file is None:
            raise ValueError(
                f"{source.folder}: has no gt/gt.txt, and --worst ranks the sequences by their errors against "
                "ground truth"
            )
    totals = {name: boxes.totals() for name, (_, _, boxes) in loaded.items()}
    ranked = sorted(loaded, key=lambda name: (-sum(totals[name].values()), name))[:count]
    log.info(
        "the %d of %d sequences with the most errors (FP + FN + IDSW): %s",
        len(ranked),
        len(loaded),
        ", ".join(f"{name} {sum(totals[name].values())} ({_counts_text(totals[name])})" for name in ranked),
    )
    return ranked


def _counts_text(totals: dict) -> str:
    return f"FP {totals['FP']}, FN {totals['FN']}, IDSW {totals['IDSW']}"


def _log_table(summaries: dict[str, dict], out: Path) -> None:
    """One log line per sequence drawn: its totals and its video."""
    width = max(len("sequence"), *(len(name) for name in summaries))
    log.info("drew %d sequence%s into %s:", len(summaries), "" if len(summaries) == 1 else "s", out)
    log.info("  %-*s %7s %7s %7s  %s", width, "sequence", "FP", "FN", "IDSW", "video")
    for name, summary in summaries.items():
        totals = summary["totals"] or dict.fromkeys(("FP", "FN", "IDSW"), "-")
        log.info(
            "  %-*s %7s %7s %7s  %s%s",
            width,
            name,
            totals["FP"],
            totals["FN"],
            totals["IDSW"],
            summary["out"],
            "" if summary["totals"] else "  (no ground truth)",
        )
