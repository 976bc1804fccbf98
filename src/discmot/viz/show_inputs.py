"""What ``discmot show`` draws from, checked before a frame is drawn: the frame source (a sequence folder
or any source ``discmot track`` reads), the frames asked for, the ground truth beside it, the output
name, and the results paired with the gt by CLEAR (`discmot.viz.errors`), or as they are without one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from discmot.eval.motchallenge import FrameGroupedRows, load_tracker_result
from discmot.io.atomic import check_writable
from discmot.io.mot import ID
from discmot.io.sequence_folders import default_ground_truth
from discmot.io.video import FrameSource, SequenceFrames, open_source
from discmot.structures import Tracks
from discmot.viz import errors as clear_errors

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv", ".avi")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def open_frames(sequence: str | Path) -> FrameSource:
    """The frames to draw on: a sequence folder's (`SequenceFrames`, read by frame number), or any other
    source `open_source` opens (read in order); a ValueError names what is missing."""
    path = Path(sequence)
    if path.is_dir() and (path / "seqinfo.ini").is_file():
        source: FrameSource = SequenceFrames(path)
    elif str(sequence).isdigit() and not path.exists():  # a webcam index: no frames results could match
        raise ValueError(
            f"{sequence}: show needs a sequence folder (seqinfo.ini + img1/), a video file, an image folder "
            "or a glob"
        )
    else:
        source = open_source(sequence)
    if not source.has_images:
        raise ValueError(
            f"{source.location}: has no images to draw on (its image folder is missing or empty)"
        )
    return source


def first_frame(source: FrameSource) -> int:
    """The frame a source starts at: 1 for a sequence (its ``seqinfo.ini`` counts from 1: an image
    missing before its first one is a missing frame, drawn on grey), else the first image's number (an
    image folder ``000050.jpg``, ... starts at frame 50, as ``discmot track`` reads it)."""
    return 1 if isinstance(source, SequenceFrames) else source.first_number


def length_source(source: FrameSource) -> str:
    """Where a source's length comes from, for the message of frames beyond it."""
    if isinstance(source, SequenceFrames):
        return "seqLength of its seqinfo.ini"
    if hasattr(source, "paths"):
        return "its images"
    return "its frame count"


def input_files(source: FrameSource) -> list:
    """The files the frames come from (an output must not replace one)."""
    if isinstance(source, SequenceFrames):
        return list(source.images.values())
    return list(getattr(source, "paths", [])) + ([source.path] if hasattr(source, "path") else [])


def check_frames(
    frames: tuple[int, int] | None,
    length: int,
    where,
    length_from: str = "seqLength of its seqinfo.ini",
    start: int = 1,
) -> tuple[int, int]:
    """``(first, last)`` of ``frames`` in a sequence of frames ``start..length`` (the whole of it for
    None); ``length_from`` says where that length comes from, in the error for frames beyond it."""
    if frames is None:
        return start, length
    first, last = frames
    if first < 1 or last < first:
        raise ValueError(f"frames {first}-{last}: give FIRST-LAST with 1 <= FIRST <= LAST")
    asked = f"frame {first}" if first == last else f"frames {first}-{last}"
    if first < start:  # frames before an image folder's first image are none of its frames
        raise ValueError(f"{asked}: {where} starts at frame {start} (its first image)")
    if last > length:
        raise ValueError(f"{asked}: {where} has {length} frames ({length_from})")
    return first, last


def ground_truth_file(folder: Path | None, gt: str | Path | None) -> Path | None:
    """``gt`` when given, else the folder's own ground truth
    (`discmot.io.sequence_folders.default_ground_truth`: a sequence folder's ``gt/gt.txt``, an image folder
    ``SEQ/img1``'s parent's), else None (also for no folder: a video)."""
    if gt is not None:
        return Path(gt)
    return None if folder is None else default_ground_truth(folder)


def check_output(out: Path, first: int, last: int, inputs) -> Path:
    """``out`` must be a video or image name, an image needs one frame, and it may not replace an input."""
    suffix = out.suffix.lower()
    if suffix not in VIDEO_SUFFIXES + IMAGE_SUFFIXES:
        raise ValueError(
            f"{out}: --out needs a video ({', '.join(VIDEO_SUFFIXES)}) or an image "
            f"({', '.join(IMAGE_SUFFIXES)})"
        )
    if suffix in IMAGE_SUFFIXES and first != last:
        raise ValueError(f"{out}: an image shows one frame: give --frames N (or write a video)")
    if out.is_dir():
        raise ValueError(f"{out}: --out names a folder; give a file name")
    target = out.resolve()
    for path in inputs:  # the results, the gt, the sequence's images
        if path is not None and target.name == Path(path).name and target == Path(path).resolve():
            raise ValueError(f"{out}: --out would overwrite an input file ({path}); write elsewhere")
    check_writable(out)
    return out


class ResultsOnly:
    """The results file's boxes per frame, for drawing without ground truth."""

    def __init__(self, rows: FrameGroupedRows):
        self.rows = rows
        self.ids = rows.truncated(ID)  # once: `frame` is called for every frame

    def frame(self, number: int) -> Tracks:
        """Frame ``number``'s (1-based) boxes as `Tracks` (scores 1: a results file's are not drawn)."""
        rows = slice(self.rows.offsets[number - 1], self.rows.offsets[number])
        return Tracks(self.ids[rows], self.rows.boxes()[rows], np.ones(rows.stop - rows.start))


def load_boxes(
    gt_file: Path | None, results: str | Path, num_frames: int, benchmark: str
) -> ResultsOnly | clear_errors.SequenceErrors:
    """The results' boxes per frame: classified by CLEAR against ``gt_file``, or as they are without one
    (a bad row is a `MotFormatError` naming file and line)."""
    if gt_file is None:
        return ResultsOnly(load_tracker_result(results, num_frames))
    return clear_errors.classify_files(gt_file, results, num_frames, benchmark)
