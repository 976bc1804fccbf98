"""One ground-truth file and one results file as an evaluation plan (``discmot eval --gt --results``),
named as the folder layouts (`discmot.data.layouts`) would name them. Paths only (no numpy).
"""

from __future__ import annotations

import logging
from pathlib import Path

from discmot.data.eval_plan import EvalPlan, LayoutError, SequenceFiles
from discmot.data.layouts import last_image
from discmot.io.mot import MotFormatError
from discmot.io.seqinfo import read_seqinfo

__all__ = ["resolve_file_pair"]

# The logger of `discmot.data.layouts`, where this code lived: users filter evaluation logs by it.
log = logging.getLogger("discmot.data.layouts")


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
        sequence = SequenceFiles(name, gt_file, None, last_image(folder / "img1") if folder else 0)
    parent = results_file.resolve().parent
    tracker = parent.parent.name if tracker_sub_folder and parent.name == tracker_sub_folder else parent.name
    return EvalPlan([sequence], {tracker: {name: results_file}}, {tracker: results_file.parent})


def _check_input_file(path: Path, what: str, folder_option: str) -> None:
    """A gt or results file named for the one-pair evaluation must be a file (a folder: the folder form)."""
    if path.is_dir():
        raise LayoutError(f"{path}: a folder; give the {what} file itself (for folders: {folder_option})")
    if not path.is_file():
        raise LayoutError(f"{path}: {what} file not found")
