"""Where ground truth and tracker results live on disk, for evaluation.

Two layouts are understood (spec ``eval.md`` §1.2-1.3, §11):

* TrackEval's: ``GT/<BENCH>-<SPLIT>/<seq>/gt/gt.txt`` + ``seqinfo.ini``, seqmap
  ``GT/seqmaps/<BENCH>-<SPLIT>.txt``, results ``TRACKERS/<BENCH>-<SPLIT>/<tracker>/data/<seq>.txt``.
* The dataset-root layout of DanceTrack, SportsMOT and BFT: ``ROOT/<split>/<seq>/gt/gt.txt`` with the
  seqmap ``ROOT/<split>_seqmap.txt``; results either a flat folder of ``<seq>.txt`` (one tracker, the
  DanceTrack/MOTIP recipe) or one sub-folder per tracker.

The layout is detected from what exists; when something is missing the error says what was expected
where. This module only looks at paths and small index files (it imports no numpy).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from discmot.io.mot import MotFormatError
from discmot.io.seqinfo import read_seqinfo
from discmot.io.seqmaps import read_seqmap_with_header
from discmot.io.sequence_folders import IMAGE_SUFFIXES
from discmot.messages import names_hint

log = logging.getLogger(__name__)

#: Files TrackEval (and discmot) write into a tracker folder; never mistaken for results.
OUTPUT_FILE_NAMES = frozenset({"pedestrian_summary.txt", "pedestrian_detailed.csv", "pedestrian_plot.pdf"})


class LayoutError(ValueError):
    """The folders do not hold what evaluation needs; the message says what was expected where."""


@dataclass(frozen=True)
class SequenceFiles:
    """One sequence to evaluate: its name, gt file and length (from ``seqinfo.ini``).

    Without ``seqinfo.ini`` (TrackEval stops there) ``num_frames`` is ``None`` and each tracker's results
    are scored as if the sequence ended at the last frame of its images (``last_image``, the largest
    frame number in ``img1/``), its gt rows or those results (`discmot.eval.runner`): frames after the
    last row of both gt and results add nothing to any sum, so every score is that of the true length but
    for the frame counts (Count's ``Frames``, CLEAR's ``CLR_Frames``) and CLEAR's ``FP_per_frame``.
    """

    name: str
    gt_file: Path
    num_frames: int | None
    last_image: int = 0


@dataclass(frozen=True)
class EvalPlan:
    """Everything an evaluation run reads and writes.

    Attributes:
        sequences: in sorted name order (TrackEval's serial order).
        tracker_files: ``{tracker: {sequence: result file}}``.
        output_folders: ``{tracker: folder for pedestrian_summary.txt / pedestrian_detailed.csv}``.
        seqmap: the seqmap file used, if any.
    """

    sequences: list[SequenceFiles]
    tracker_files: dict[str, dict[str, Path]] = field(default_factory=dict)
    output_folders: dict[str, Path] = field(default_factory=dict)
    seqmap: Path | None = None


def resolve_eval_plan(
    gt_folder: str | Path,
    trackers_folder: str | Path,
    benchmark: str,
    split: str,
    trackers: list[str] | None = None,
    seqmap: str | Path | None = None,
    skip_split_folder: bool = False,
    tracker_sub_folder: str = "data",
    output_folder: str | Path | None = None,
    sequences: list[str] | None = None,
) -> EvalPlan:
    """Finds the sequences, their gt and every tracker's result files.

    ``sequences`` names the sequences to evaluate instead of a seqmap (or the folder's sequences).

    Raises:
        LayoutError: a folder, seqmap, gt file or result file is missing, or a sequence is named
            ``COMBINED`` (the name of the combined row). A sequence without ``seqinfo.ini`` is as long
            as the last frame of its images, gt and results (a warning says so; TrackEval stops).
        MotFormatError: a ``seqinfo.ini`` or seqmap is malformed.
    """
    gt_folder, trackers_folder = Path(gt_folder), Path(trackers_folder)
    split_name = f"{benchmark}-{split}"
    if sequences is not None and seqmap is not None:
        raise LayoutError(f"{seqmap}: give either a seqmap or the sequences, not both")
    gt_root, seqmap_file = _gt_root_and_seqmap(gt_folder, split_name, split, skip_split_folder, seqmap)
    if sequences is not None:
        names, seqmap_file = list(sequences), None
        if not names:
            raise LayoutError(f"{gt_root}: no sequence named to evaluate")
    else:
        names = _sequence_names(gt_root, seqmap_file)
    if "COMBINED" in names:  # TrackEval writes it and the combined row under one name; results would clash
        raise LayoutError(
            f"{seqmap_file or gt_root}: a sequence named COMBINED, the name of the combined row"
        )
    found = [_sequence_files(gt_root, name) for name in sorted(names)]
    tracker_root = trackers_folder if skip_split_folder else trackers_folder / split_name
    if not tracker_root.is_dir():
        tracker_root = trackers_folder
    if not tracker_root.is_dir():
        raise LayoutError(f"{trackers_folder}: trackers folder not found")
    try:
        files, outputs = _tracker_files(
            tracker_root,
            [s.name for s in found],
            trackers,
            tracker_sub_folder,
            unlisted=None if sequences is not None else _where_listed(seqmap_file, gt_root),
        )
    except LayoutError as error:
        hint = (
            ""
            if skip_split_folder or sequences is not None
            else _split_hint(
                gt_folder,
                trackers_folder,
                tracker_root,
                benchmark,
                split,
                [s.name for s in found],
                tracker_sub_folder,
            )
        )
        raise LayoutError(f"{error}{hint}") from None
    if output_folder is not None:
        outputs = {name: Path(output_folder) / name if name else Path(output_folder) for name in outputs}
    return EvalPlan(found, files, outputs, seqmap_file)


def _where_listed(seqmap_file: Path | None, gt_root: Path) -> str:
    """Where the sequences evaluated come from, for the warning about result files of none of them."""
    if seqmap_file is not None:
        return "in the seqmap"
    return f"in {gt_root} (no seqmap: its sequences are its folders holding gt/gt.txt)"


def resolve_file_pair(
    gt_file: str | Path,
    results_file: str | Path,
    num_frames: int | None = None,
    tracker_sub_folder: str = "data",
) -> EvalPlan:
    """One ground-truth file and one results file as a plan of one sequence and one tracker, named as the
    folder layouts name them, so that the numbers and the table are those of the folders holding them.

    The sequence is named after the gt's sequence folder when the gt is ``<seq>/gt/gt.txt``, else after
    the results file; the tracker after the results' folder (``<tracker>/data/<x>.txt``: ``<tracker>``),
    as a flat results folder is named. The length (logged at INFO): ``num_frames``, else the
    ``seqLength`` of ``<seq>/seqinfo.ini``, else, as for a sequence folder without one, the last frame of
    ``<seq>/img1/``'s images, the gt or the results. The plan's output folder is the results' folder.

    Raises:
        LayoutError: a file missing or a folder, ``num_frames`` not a whole number >= 1, a bad seqinfo.ini.
    """
    gt_file, results_file = Path(gt_file), Path(results_file)
    _check_input_file(gt_file, "ground-truth", "--gt-folder")
    _check_input_file(results_file, "results", "--trackers-folder")
    folder = gt_file.parent.parent if gt_file.parent.name == "gt" else None
    name = folder.resolve().name if folder is not None else results_file.stem
    if num_frames is not None:
        if isinstance(num_frames, bool) or not isinstance(num_frames, int) or num_frames < 1:
            raise LayoutError(
                f"num_frames {num_frames!r}: the sequence's length, a whole number of at least 1"
            )
        log.info("%s: scored as a sequence of %d frames (the length given)", name, num_frames)
        sequence = SequenceFiles(name, gt_file, num_frames)
    elif folder is not None and (folder / "seqinfo.ini").is_file():
        try:
            length = read_seqinfo(folder / "seqinfo.ini").length
        except MotFormatError as error:
            raise LayoutError(str(error)) from None
        log.info(
            "%s: scored as a sequence of %d frames (seqLength of %s)", name, length, folder / "seqinfo.ini"
        )
        sequence = SequenceFiles(name, gt_file, length)
    else:
        log.info(
            "%s: no seqinfo.ini beside %s; scored as if the sequence ended at its last frame with %sa gt or "
            "results row (what Frames counts and FP per frame divides by; no other score changes; "
            "--seq-length gives the length)",
            name,
            gt_file.parent,
            "an image in img1/, " if folder is not None else "",
        )
        sequence = SequenceFiles(name, gt_file, None, _last_image(folder / "img1") if folder else 0)
    parent = results_file.resolve().parent
    tracker = parent.parent.name if tracker_sub_folder and parent.name == tracker_sub_folder else parent.name
    return EvalPlan([sequence], {tracker: {name: results_file}}, {tracker: results_file.parent})


def _check_input_file(path: Path, what: str, folder_option: str) -> None:
    """A gt or results file named for the one-pair evaluation must be a file (a folder: the folder form)."""
    if path.is_dir():
        raise LayoutError(f"{path}: a folder; give the {what} file itself (for folders: {folder_option})")
    if not path.is_file():
        raise LayoutError(f"{path}: {what} file not found")


def _gt_root_and_seqmap(gt_folder, split_name, split, skip_split_folder, seqmap) -> tuple[Path, Path | None]:
    """The folder holding the sequence folders, and the seqmap to read (None: list the folder)."""
    if gt_folder.is_file():
        raise LayoutError(
            f"{gt_folder}: a file, not a folder: --gt-folder takes the folder holding the sequence folders; "
            f"to score this one file: discmot eval --gt {gt_folder} --results RESULTS.txt (in Python, "
            "discmot.eval.runner.evaluate_files)"
        )
    if not gt_folder.is_dir():
        raise LayoutError(f"{gt_folder}: ground-truth folder not found")
    candidates = (
        [(gt_folder, gt_folder / "seqmaps" / f"{split_name}.txt")]
        if skip_split_folder
        else [
            (gt_folder / split_name, gt_folder / "seqmaps" / f"{split_name}.txt"),  # TrackEval
            (gt_folder / split, gt_folder / f"{split}_seqmap.txt"),  # DanceTrack / SportsMOT / BFT root
        ]
    )
    for root, default_seqmap in candidates:
        if root.is_dir():
            if seqmap is not None:
                return root, Path(seqmap)
            return root, default_seqmap if default_seqmap.is_file() else None
    if _is_sequence_folder(gt_folder):
        raise LayoutError(_one_sequence_message(gt_folder))
    expected = " or ".join(str(root) for root, _ in candidates)
    raise LayoutError(
        f"{gt_folder}: no sequences for split {split!r}: expected the folder {expected}"
        + _other_case_hint(gt_folder, [root.name for root, _ in candidates])
        + _sequences_here_hint(gt_folder, skip_split_folder)
    )


def _sequences_here_hint(gt_folder: Path, skip_split_folder: bool) -> str:
    """A folder that holds sequence folders itself (one's own, with no split level) is named, with the
    switch that reads it."""
    if skip_split_folder or not any((p / "gt" / "gt.txt").is_file() for p in gt_folder.iterdir()):
        return ""
    return (
        f" ({gt_folder} holds sequence folders itself: add --skip-split-folder; in Python, "
        "skip_split_folder=True)"
    )


def _is_sequence_folder(folder: Path) -> bool:
    """A sequence's own folder (``gt/gt.txt`` in it), given where the folder holding sequences is wanted."""
    return (folder / "gt" / "gt.txt").is_file()


def _one_sequence_message(folder: Path) -> str:
    """Why a sequence folder is no ``--gt-folder``, and the two ways to evaluate it."""
    parent = folder.resolve().parent
    return (
        f"{folder}: one sequence's folder (it holds gt/gt.txt); --gt-folder takes the folder holding "
        f"sequence folders: --gt-folder {parent} --skip-split-folder --sequences {folder.resolve().name}, "
        f"or score its file alone: --gt {folder / 'gt' / 'gt.txt'} --results RESULTS.txt"
    )


def _other_case_hint(gt_folder: Path, names: list[str]) -> str:
    """Folder names are matched as typed, as in TrackEval; a folder that differs only in case is named."""
    wanted = {name.lower() for name in names}
    found = sorted(p.name for p in gt_folder.iterdir() if p.is_dir() and p.name.lower() in wanted)
    return f" (there is {gt_folder / found[0]}: folder names are case-sensitive)" if found else ""


def _sequence_names(gt_root: Path, seqmap_file: Path | None) -> list[str]:
    if seqmap_file is not None:
        if not seqmap_file.is_file():
            raise LayoutError(f"{seqmap_file}: seqmap file not found")
        header, names = read_seqmap_with_header(seqmap_file)
        _warn_if_header_is_a_sequence(seqmap_file, header, gt_root)
        if not names:
            raise LayoutError(f"{seqmap_file}: the seqmap lists no sequence (its first line is a header)")
        return names
    names = sorted(p.name for p in gt_root.iterdir() if (p / "gt" / "gt.txt").is_file())
    if not names and _is_sequence_folder(gt_root):
        raise LayoutError(_one_sequence_message(gt_root))
    if not names:
        raise LayoutError(f"{gt_root}: no seqmap and no <seq>/gt/gt.txt below this folder")
    return names


def _warn_if_header_is_a_sequence(seqmap_file: Path, header: str | None, gt_root: Path) -> None:
    """A hand-written seqmap without its header line loses its first sequence (TrackEval skips the first
    line as the header, and so does discmot): said when that line names a sequence with ground truth."""
    if header and (gt_root / header / "gt" / "gt.txt").is_file():
        log.warning(
            "%s: its first line %r is read as the header (as TrackEval reads seqmaps), so sequence %r is "
            "not evaluated; start the file with a header line such as 'name'",
            seqmap_file,
            header,
            header,
        )


def _sequence_files(gt_root: Path, name: str) -> SequenceFiles:
    folder = gt_root / name
    if not folder.is_dir():
        there = sorted(p.name for p in gt_root.glob("*") if (p / "gt" / "gt.txt").is_file())
        raise LayoutError(
            f"{folder}: sequence folder of {name!r} not found{names_hint(name, there, 'sequences')}"
        )
    gt_file = folder / "gt" / "gt.txt"
    if not gt_file.is_file():
        raise LayoutError(f"{gt_file}: ground-truth file of sequence {name!r} not found")
    if not (folder / "seqinfo.ini").exists():  # a sequence of one's own (a CVAT export has none)
        log.warning(
            "%s: no seqinfo.ini; each tracker's results are scored as if the sequence ended at its last "
            "frame with an image, a gt row or a row of those results (what Frames counts and FP per frame "
            "divides by; no other score changes)",
            folder,
        )
        return SequenceFiles(name, gt_file, None, _last_image(folder / "img1"))
    try:
        info = read_seqinfo(folder / "seqinfo.ini")
    except MotFormatError as error:
        raise LayoutError(str(error)) from None
    return SequenceFiles(name, gt_file, info.length)


def _last_image(image_dir: Path) -> int:
    """The largest frame number among the images of ``image_dir`` (0 for none or no folder)."""
    if not image_dir.is_dir():
        return 0
    numbers = [
        int(p.stem) for p in image_dir.iterdir() if p.stem.isdigit() and p.suffix.lower() in IMAGE_SUFFIXES
    ]
    return max(numbers, default=0)


def _tracker_files(
    root: Path,
    sequences: list[str],
    trackers: list[str] | None,
    sub_folder: str,
    unlisted: str | None = "in the seqmap",
) -> tuple[dict[str, dict[str, Path]], dict[str, Path]]:
    """Result files of every tracker; a folder holding ``<seq>.txt`` directly is one tracker, named after
    it (after its parent when it is the ``sub_folder`` itself: ``MyTracker/data`` is ``MyTracker``).
    ``unlisted``: where the sequences are listed (`_where_listed`), to say which result files no listed
    sequence matches; None: not said (the user named the sequences to evaluate)."""
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


def _split_hint(
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
