"""Where ground truth and tracker results live on disk, for evaluation.

Two layouts are understood (spec ``eval.md`` §1.2-1.3, §11):

* TrackEval's: ``GT/<BENCH>-<SPLIT>/<seq>/gt/gt.txt`` + ``seqinfo.ini``, seqmap
  ``GT/seqmaps/<BENCH>-<SPLIT>.txt``, results ``TRACKERS/<BENCH>-<SPLIT>/<tracker>/data/<seq>.txt``.
* The dataset-root layout of DanceTrack, SportsMOT and BFT: ``ROOT/<split>/<seq>/gt/gt.txt`` with the
  seqmap ``ROOT/<split>_seqmap.txt``; results either a flat folder of ``<seq>.txt`` (one tracker, the
  DanceTrack/MOTIP recipe) or one sub-folder per tracker.

The layout is detected from what exists; when something is missing the error says what was expected
where. The plan records are `discmot.data.eval_plan` (re-exported here), the tracker side
`discmot.data.result_folders`; one pair of files is `discmot.data.eval_file_pair`. This module only looks
at paths and small index files (it imports no numpy).
"""

from __future__ import annotations

import logging
from pathlib import Path

from discmot.data.eval_plan import EvalPlan, LayoutError, SequenceFiles
from discmot.data.result_folders import split_hint, tracker_files
from discmot.io.mot import MotFormatError
from discmot.io.seqinfo import read_seqinfo
from discmot.io.seqmaps import read_seqmap_with_header
from discmot.io.sequence_folders import IMAGE_SUFFIXES
from discmot.messages import names_hint

__all__ = ["EvalPlan", "LayoutError", "SequenceFiles", "last_image", "resolve_eval_plan"]

log = logging.getLogger(__name__)


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
        files, outputs = tracker_files(
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
            else split_hint(
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
        return SequenceFiles(name, gt_file, None, last_image(folder / "img1"))
    try:
        info = read_seqinfo(folder / "seqinfo.ini")
    except MotFormatError as error:
        raise LayoutError(str(error)) from None
    return SequenceFiles(name, gt_file, info.length)


def last_image(image_dir: Path) -> int:
    """The largest frame number among the images of ``image_dir`` (0 for none or no folder)."""
    if not image_dir.is_dir():
        return 0
    numbers = [
        int(p.stem) for p in image_dir.iterdir() if p.stem.isdigit() and p.suffix.lower() in IMAGE_SUFFIXES
    ]
    return max(numbers, default=0)
