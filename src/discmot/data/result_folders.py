"""The tracker side of the folder layouts (`discmot.data.layouts`): every tracker's result files, and
hints for when they are missing (another split's results, files not named after the sequences). Paths
only (no numpy).
"""

from __future__ import annotations

import logging
from pathlib import Path

from discmot.data.eval_plan import LayoutError
from discmot.messages import names_hint

__all__ = ["OUTPUT_FILE_NAMES", "split_hint", "tracker_files"]

# The logger of `discmot.data.layouts`, where this code lived: users filter evaluation logs by it.
log = logging.getLogger("discmot.data.layouts")

#: Files TrackEval (and discmot) write into a tracker folder; never mistaken for results.
OUTPUT_FILE_NAMES = frozenset({"pedestrian_summary.txt", "pedestrian_detailed.csv", "pedestrian_plot.pdf"})


def tracker_files(
    root: Path,
    sequences: list[str],
    trackers: list[str] | None,
    sub_folder: str,
    unlisted: str | None = "in the seqmap",
) -> tuple[dict[str, dict[str, Path]], dict[str, Path]]:
    """Result files of every tracker; a folder holding ``<seq>.txt`` directly is one tracker, named after
    it (after its parent when it is the ``sub_folder`` itself: ``MyTracker/data`` is ``MyTracker``).
    ``unlisted``: where the sequences are listed (as `discmot.data.layouts` says it), to say which result
    files no listed sequence matches; None: not said (the user named the sequences to evaluate)."""
    if trackers is None and any((root / f"{name}.txt").is_file() for name in sequences):
        name = root.resolve().parent.name if sub_folder and root.name == sub_folder else root.name
        return {name: _result_files(root, sequences, name, unlisted)}, {name: root}
    data = root / sub_folder if sub_folder else None
    if trackers is None and data is not None and any((data / f"{n}.txt").is_file() for n in sequences):
        # one tracker's own folder (``MyTracker`` holding ``data/<seq>.txt``), not a folder of trackers
        return {root.name: _result_files(data, sequences, root.name, unlisted)}, {root.name: root}
    named = trackers is not None
    if trackers is None:
        trackers = sorted(p.name for p in root.iterdir() if p.is_dir())
        if not trackers:
            found = _found_instead(root, sequences)
            raise LayoutError(f"{root}: no tracker folders and no <seq>.txt result files here{found}")
    files, outputs, incomplete = {}, {}, []
    for tracker in trackers:
        folder = root / tracker
        if not folder.is_dir():
            there = sorted(p.name for p in root.iterdir() if p.is_dir())
            raise LayoutError(
                f"{folder}: folder of tracker {tracker!r} not found{names_hint(tracker, there, 'trackers')}"
            )
        data = folder / sub_folder if sub_folder and (folder / sub_folder).is_dir() else folder
        try:
            files[tracker] = _result_files(data, sequences, tracker, unlisted)
        except LayoutError as error:
            incomplete.append(error)
        outputs[tracker] = folder
    if incomplete:
        complete = "" if named or not files else f"; the complete ones: --trackers {' '.join(files)}"
        raise LayoutError(f"{incomplete[0]}{complete}")
    return files, outputs


def _found_instead(root: Path, sequences: list[str]) -> str:
    """What a results folder holds instead of ``<seq>.txt`` files: result files are found by sequence name,
    so a file named after the video (``vtest.txt`` for sequence ``PETS09-S2L1``) is not one."""
    expected = ", ".join(f"{name}.txt" for name in sequences[:3]) + (", ..." if len(sequences) > 3 else "")
    found = _result_names(root)
    listed = ", ".join(f"{name}.txt" for name in found[:3]) + (
        f" and {len(found) - 3} more" if len(found) > 3 else ""
    )
    held = f"it holds {listed}" if found else "it holds no .txt file"
    return f" (expected {expected}, named after the sequence; {held})"


def _result_names(folder: Path) -> list[str]:
    """The names of the result files (``.txt``, not evaluation outputs) in ``folder``, sorted."""
    return sorted(p.stem for p in folder.glob("*.txt") if p.name not in OUTPUT_FILE_NAMES and p.is_file())


def split_hint(
    gt_folder: Path,
    trackers_folder: Path,
    tracker_root: Path,
    benchmark: str,
    split: str,
    sequences: list[str],
    sub_folder: str,
) -> str:
    """When result files of the split's sequences are missing: the other split the results found belong to
    (a val split's results evaluated with the default ``--split train``), or, with no other split to name,
    that the results found are all of other sequences."""
    found = set(_result_names(tracker_root))
    for folder in (p for p in tracker_root.iterdir() if p.is_dir()):
        found.update(_result_names(folder))
        if sub_folder and (folder / sub_folder).is_dir():
            found.update(_result_names(folder / sub_folder))
    ours = len(found & set(sequences))
    for other, names in _other_splits(gt_folder, benchmark, split):
        # TrackEval's layout: TRACKERS/<BENCH>-<SPLIT> missing, TRACKERS/<BENCH>-<other> there
        other_folder = tracker_root == trackers_folder and (trackers_folder / f"{benchmark}-{other}").is_dir()
        if len(found & names) > ours or other_folder:
            return f"; results of split {other!r}? add --split {other}"
    if found and not ours:
        shown = ", ".join(f"{name}.txt" for name in sorted(found)[:3]) + (", ..." if len(found) > 3 else "")
        return (
            f"; none of the {len(sequences)} sequence(s) of split {split!r} has a result file, but there are "
            f"others ({shown}): results of another split? name it with --split"
        )
    return ""


def _other_splits(gt_folder: Path, benchmark: str, split: str) -> list[tuple[str, set[str]]]:
    """``(split, its sequence names)`` for the gt folder's splits other than ``split``: the
    ``<BENCH>-<SPLIT>`` folders in TrackEval's layout, else any folder holding sequence folders."""
    folders = sorted(p for p in gt_folder.iterdir() if p.is_dir())
    prefix = f"{benchmark}-"
    if any(p.name.startswith(prefix) for p in folders):  # TrackEval's layout (other benchmarks left out)
        named = [(p.name[len(prefix) :], p) for p in folders if p.name.startswith(prefix)]
    else:
        named = [(p.name, p) for p in folders]
    splits = []
    for name, folder in named:
        sequences = {p.name for p in folder.iterdir() if (p / "gt" / "gt.txt").is_file()}
        if name != split and sequences:
            splits.append((name, sequences))
    return splits


def _result_files(folder: Path, sequences: list[str], tracker: str, unlisted: str | None) -> dict[str, Path]:
    expected = {name: folder / f"{name}.txt" for name in sequences}
    missing = [str(path) for path in expected.values() if not path.is_file()]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise LayoutError(f"{missing[0]}: result file of tracker {tracker!r} not found{more}")
    known = {path.name for path in expected.values()} | OUTPUT_FILE_NAMES
    unknown = sorted(p for p in folder.glob("*.txt") if p.name not in known) if unlisted else []
    if unknown:  # as TrackEval: ignored (e.g. other detectors' results beside a subset's seqmap), but said
        more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
        log.warning(
            "%s%s: not evaluated, no sequence of that name %s; a typo? evaluating only %s%s",
            unknown[0],
            more,
            unlisted,
            ", ".join(sorted(expected)[:5]),
            ", ..." if len(expected) > 5 else "",
        )
    return expected
