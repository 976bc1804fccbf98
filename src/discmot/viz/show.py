"""``discmot show``: a results file drawn over its MOTChallenge sequence (or any source ``discmot track``
reads: a video file, an image folder, a glob), with CLEAR's errors marked.

Without ground truth the results are drawn as ``discmot track`` draws its video (`draw_tracks`: a colour
per id, labels, trails). With it, every box is drawn by what `discmot eval`'s CLEAR made of it
(`discmot.viz.errors`): matched boxes in their id's colour, false positives red and dashed (``FP 7``),
missed gt boxes as a thin white outline (``FN 12``, the gt id), an ID switch ringed in yellow with
``IDSW a->b`` on the frame where it happens, and boxes the benchmark's preprocessing removed grey and
dashed. Each frame's caption gives its number and the counts so far; the run ends with one log line of the
sequence's totals, which are `discmot eval`'s ``CLR_FP``, ``CLR_FN`` and ``IDSW``.
`discmot.viz.show_split` draws each sequence of a split so, into a folder of videos (or only the ones with
the most errors).
"""

from __future__ import annotations

import itertools
import logging
from pathlib import Path

import numpy as np

from discmot.eval.motchallenge import FrameGroupedRows, load_tracker_result
from discmot.io.atomic import atomic_write_bytes, check_writable
from discmot.io.mot import ID
from discmot.io.sequence_folders import default_ground_truth
from discmot.io.video import (
    FrameSource,
    SequenceFrames,
    VideoWriter,
    open_source,
    read_image,
    skipped_clauses,
)
from discmot.structures import Tracks
from discmot.viz import errors as clear_errors
from discmot.viz.draw import (
    TrailHistory,
    box_corners,
    caption_avoid,
    draw_caption,
    draw_dashed_rectangle,
    draw_label,
    draw_tracks,
    line_width,
    with_legend,
)

log = logging.getLogger(__name__)

FALSE_POSITIVE_COLOR = (0, 0, 255)  # BGR red
MISS_COLOR = (255, 255, 255)
SWITCH_COLOR = (0, 255, 255)  # yellow
IGNORED_COLOR = (150, 150, 150)
LEGEND = (
    ("matched (id colour)", (0, 255, 0), "solid"),
    ("FP: false positive", FALSE_POSITIVE_COLOR, "dashed"),
    ("FN: missed gt box", MISS_COLOR, "thin"),
    ("IDSW a->b: id switch", SWITCH_COLOR, "solid"),
    ("ignored (distractor)", IGNORED_COLOR, "dashed"),
)
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv", ".avi")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def show_sequence(
    sequence: str | Path,
    results: str | Path,
    out: str | Path,
    gt: str | Path | None = None,
    benchmark: str = "MOT17",
    frames: tuple[int, int] | None = None,
    progress: bool | None = None,
    trail_length: int = 30,
) -> dict:
    """Draws ``results`` over the frames of ``sequence`` into a video (or, for one frame, an image).

    Args:
        sequence: a MOTChallenge sequence folder (``seqinfo.ini`` and its images), or any source
            ``discmot track`` reads (`discmot.io.video.open_source`): a video file, an image folder, a
            glob. Frame numbers are the source's own, as ``discmot track`` numbers them: frame ``k`` of a
            video is its ``k``-th frame (1-based). Its length is ``seqLength``, else the source's frame
            count, else (a video that does not say) the last frame of the results and the gt.
        results: a MOTChallenge results file (``frame,id,x,y,w,h,score,...``, 1-based frames).
        out: an ``.mp4`` (``.m4v .mov .mkv .avi``) video, or a ``.png``/``.jpg`` image of one frame; written
            atomically.
        gt: ground truth; default ``<sequence>/gt/gt.txt`` when it exists (a folder's; a video has no
            default). Without any, the results are drawn as ``discmot track`` draws them, and no errors
            are counted.
        benchmark: the preprocessing rules, as ``discmot eval --benchmark`` (MOT17's by default).
        frames: ``(first, last)``, 1-based and inclusive (default: the whole sequence; an image folder
            or glob whose images are named from ``k`` on starts at frame ``k``, as ``discmot track``
            reads it); the matching always covers the whole sequence, so an ID switch is one whatever
            part is drawn.
        progress: a progress bar on stderr (``None``: when stderr is a terminal).
        trail_length: frames of trail drawn behind each track.

    Returns:
        ``out``, ``frames`` (written), ``gt`` (the file scored against, or None), ``totals`` (the whole
        sequence's ``{"FP", "FN", "IDSW"}``, None without gt) and ``shown`` (the same over the frames drawn).

    Raises:
        ValueError: a missing or unreadable sequence, results or gt file (a bad row names file and
            line), frames beyond the sequence, an output that is no video or image, or would overwrite an
            input.
    """
    source = open_frames(sequence)
    folder = Path(sequence) if Path(sequence).is_dir() else None  # a sequence or an image folder
    gt_file = ground_truth_file(folder, gt)
    if source.num_frames is None:  # a video that does not say how long it is
        from discmot.eval.motchallenge import last_frame

        source.num_frames = max(last_frame(results), last_frame(gt_file) if gt_file else 0, 1)
    first, last = check_frames(
        frames, source.num_frames, source.location, _length_source(source), first_frame(source)
    )
    # the files first: a bad row must leave no new parent folders of the output (check_output makes them)
    boxes = load_boxes(gt_file, results, source.num_frames, benchmark)
    out = check_output(Path(out), first, last, [results, gt_file, *_input_files(source)])
    return show_loaded(source, boxes, gt_file, out, (first, last), benchmark, progress, trail_length)


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


def _length_source(source: FrameSource) -> str:
    """Where a source's length comes from, for the message of frames beyond it."""
    if isinstance(source, SequenceFrames):
        return "seqLength of its seqinfo.ini"
    if hasattr(source, "paths"):
        return "its images"
    return "its frame count"


def _input_files(source: FrameSource) -> list:
    """The files the frames come from (an output must not replace one)."""
    if isinstance(source, SequenceFrames):
        return list(source.images.values())
    return list(getattr(source, "paths", [])) + ([source.path] if hasattr(source, "path") else [])


def show_loaded(
    source: FrameSource,
    boxes: _ResultsOnly | clear_errors.SequenceErrors,
    gt_file: Path | None,
    out: Path,
    frames: tuple[int, int],
    benchmark: str,
    progress: bool | None,
    trail_length: int,
    label: str = "",
) -> dict:
    """Draws the loaded ``boxes`` (`load_boxes`) of frames ``(first, last)`` into ``out`` and logs the
    totals (``label``, e.g. ``" (2 of 7)"``, follows the sequence's name); returns `show_sequence`'s
    summary."""
    first, last = frames
    shown = dict.fromkeys(("FP", "FN", "IDSW"), 0)
    images = _rendered(source, first, last, boxes, shown, trail_length)
    count = _write(images, out, source, last - first + 1, progress, label)
    summary = {"out": str(out), "frames": count, "gt": None if gt_file is None else str(gt_file)}
    summary["totals"] = boxes.totals() if gt_file is not None else None
    summary["shown"] = shown if gt_file is not None else None
    _log_summary(source, summary, benchmark, first, last, label)
    return summary


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


class _ResultsOnly:
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
) -> _ResultsOnly | clear_errors.SequenceErrors:
    """The results' boxes per frame: classified by CLEAR against ``gt_file``, or as they are without one
    (a bad row is a `MotFormatError` naming file and line)."""
    if gt_file is None:
        return _ResultsOnly(load_tracker_result(results, num_frames))
    return clear_errors.classify_files(gt_file, results, num_frames, benchmark)


def _rendered(source: FrameSource, first: int, last: int, boxes, shown: dict, trail_length: int):
    """The annotated frames ``first..last`` (a generator); ``shown`` accumulates the counts drawn."""
    trails = TrailHistory(trail_length)
    # the counts so far never exceed the sequence's, nor the frame number the last: the widest caption
    widest_caption = "" if isinstance(boxes, _ResultsOnly) else _error_caption(last, boxes.totals())
    for number, image in _images(source, first, last):
        if isinstance(boxes, _ResultsOnly):
            tracks = boxes.frame(number)
            trails.update(tracks)
            caption = f"frame {number}"
            yield draw_caption(
                draw_tracks(image, tracks, trails, avoid=caption_avoid(image, caption)), caption
            )
            continue
        frame_errors = boxes.frame(number)
        for key, value in frame_errors.counts().items():
            shown[key] += value
        yield draw_errors(image, frame_errors, trails, _error_caption(number, shown), widest_caption)


def _error_caption(number: int, counts: dict) -> str:
    """The caption of frame ``number``: the counts ``{"FP", "FN", "IDSW"}`` so far."""
    return f"frame {number}  FP {counts['FP']}  FN {counts['FN']}  IDSW {counts['IDSW']}"


def _images(source: FrameSource, first: int, last: int):
    """``(number, image)`` for frames ``first..last``: a sequence's read by number, another source's in
    order (a video is decoded from its start: it cannot be read from the middle exactly). A frame the
    source skips (it could not be decoded; the source warns) is drawn on grey, so the video keeps its
    timing; a source that ends before ``last`` is an error when no frame was drawn, else a warning."""
    if isinstance(source, SequenceFrames):
        yield from _sequence_images(source, first, last)
        return
    if first > source.first_number:  # before the first frame drawn, and its progress: minutes into a video
        log.info(
            "%s: reading frames %d-%d to reach frame %d", source.name, source.first_number, first - 1, first
        )
    expected = first
    for number, image in source:
        if number < first:
            continue
        for missing in range(expected, min(number, last + 1)):
            yield missing, _grey(source)
        if number > last:
            return
        yield number, image
        expected = number + 1
        if number == last:  # not a frame more decoded
            return
    asked = f"frame {first}" if first == last else f"frames {first}-{last}"
    if expected == first:
        raise ValueError(f"{asked}: {source.location} ends before frame {first}")
    log.warning(
        "%s: ends at frame %d; drew frames %d-%d of the %s asked",
        source.location,
        expected - 1,
        first,
        expected - 1,
        asked,
    )


def _grey(source: FrameSource) -> np.ndarray:
    width, height = source.size
    return np.full((height, width, 3), 96, np.uint8)


def _sequence_images(source: SequenceFrames, first: int, last: int):
    """``(number, image)`` for frames ``first..last`` of a sequence, read by number. A frame without a
    readable image is drawn on grey (`_image`); the first such frame is warned about at once (a user
    watching a long run sees that something is wrong), the others in one line when the frames end, also
    when the drawing stops early (`_grey_summary`: 735 missing images are two lines,
    not 735)."""
    grey: list[tuple[int, str, str]] = []
    try:
        for number in range(first, last + 1):
            yield number, _image(source, number, grey)
    finally:
        if len(grey) > 1:
            log.warning("%s", _grey_summary(source.location, grey))


def _image(source: SequenceFrames, number: int, grey: list[tuple[int, str, str]]) -> np.ndarray:
    """Frame ``number``'s image; a grey one of the sequence's size when it cannot be read, so that the
    video keeps its timing and the boxes are still shown. Such a frame is added to ``grey`` as
    ``(number, file or folder, reason)``; the first one is warned about here."""
    path = source.frame_path(number)
    image, reason = (None, "has no image file") if path is None else read_image(path)
    if image is None:
        where = str(path or source.folder)
        grey.append((number, where, reason))
        if len(grey) == 1:
            log.warning("%s: frame %d %s; drawn on grey", where, number, reason)
        image = _grey(source)
    return image


def _grey_summary(location: str, grey: list[tuple[int, str, str]]) -> str:
    """The frames drawn on grey in one line, as a source sums up the frames it skips
    (`discmot.io.video.skipped_clauses`): ``"seq: 3 frames drawn on grey in all: frames 4-6 have no
    image file"``."""
    total = len({number for number, _, _ in grey})
    return f"{location}: {total} frames drawn on grey in all: {skipped_clauses(location, grey)}"


def draw_errors(
    frame: np.ndarray,
    boxes: clear_errors.FrameErrors,
    trails: TrailHistory,
    caption: str,
    widest_caption: str = "",
) -> np.ndarray:
    """Draws one frame's classified boxes (see the module's docstring) and returns a new frame: it, above a
    bar with the caption and the legend (`with_legend`; ``widest_caption``, the video's longest caption,
    keeps every frame's bar the same). ``trails`` is updated with the frame's scored tracker boxes;
    ``frame`` is drawn on in place. Misses first, then removed and false-positive boxes, then the matches
    on top, so that a match over a miss stays visible."""
    status = boxes.tracker_status
    placed = _draw_misses(frame, boxes)
    for box in boxes.tracker_boxes[status == clear_errors.IGNORED]:
        draw_dashed_rectangle(frame, box_corners(box), IGNORED_COLOR, max(1, line_width(frame) - 1))
    false_positive = status == clear_errors.FALSE_POSITIVE
    for track_id, box in zip(
        boxes.tracker_ids[false_positive], boxes.tracker_boxes[false_positive], strict=True
    ):
        corners = box_corners(box)
        draw_dashed_rectangle(frame, corners, FALSE_POSITIVE_COLOR, line_width(frame))
        placed.append(draw_label(frame, f"FP {track_id}", corners[:2], FALSE_POSITIVE_COLOR, avoid=placed))
    trails.update(_tracks(boxes, status != clear_errors.IGNORED))
    switched = status == clear_errors.SWITCH
    _draw_switch_rings(frame, boxes.tracker_boxes[switched])
    draw_tracks(frame, _tracks(boxes, (status == clear_errors.MATCHED) | switched), trails, avoid=placed)
    rows = zip(
        boxes.tracker_ids[switched], boxes.switched_from[switched], boxes.tracker_boxes[switched], strict=True
    )
    for track_id, before, box in rows:  # below the box: its id label is above it
        x1, _, _, y2 = box_corners(box)
        corner = (x1, y2 + 2 * line_width(frame))
        placed.append(
            draw_label(frame, f"IDSW {before}->{track_id}", corner, SWITCH_COLOR, above=False, avoid=placed)
        )
    return with_legend(frame, LEGEND, caption, widest_caption)


def _draw_misses(frame: np.ndarray, boxes: clear_errors.FrameErrors) -> list:
    """The missed gt boxes as thin white outlines on a dark rim (seen on light and dark ground), labelled
    ``FN <gt id>`` below; returns the labels' rectangles."""
    import cv2

    placed: list = []
    missed = boxes.gt_status == clear_errors.MISSED
    for gt_id, box in zip(boxes.gt_ids[missed], boxes.gt_boxes[missed], strict=True):
        x1, y1, x2, y2 = box_corners(box)
        cv2.rectangle(frame, (x1, y1), (x2, y2), (0, 0, 0), 3)
        cv2.rectangle(frame, (x1, y1), (x2, y2), MISS_COLOR, 1)
        placed.append(draw_label(frame, f"FN {gt_id}", (x1, y2), MISS_COLOR, above=False, avoid=placed))
    return placed


def _draw_switch_rings(frame: np.ndarray, boxes: np.ndarray) -> None:
    """A yellow ring just outside each ``(N, 4)`` box: drawn before the box's own line and label."""
    import cv2

    ring = 2 * line_width(frame)
    for box in boxes:
        x1, y1, x2, y2 = box_corners(box)
        cv2.rectangle(frame, (x1 - ring, y1 - ring), (x2 + ring, y2 + ring), SWITCH_COLOR, ring)


def _tracks(boxes: clear_errors.FrameErrors, keep: np.ndarray) -> Tracks:
    """The tracker boxes where ``keep`` ``(T,)`` is True, as `Tracks` (for `draw_tracks` and trails)."""
    return Tracks(boxes.tracker_ids[keep], boxes.tracker_boxes[keep], np.ones(int(keep.sum())))


def _write(images, out: Path, source: FrameSource, count: int, progress: bool | None, label: str = "") -> int:
    """Writes the frames of ``images`` to ``out`` (a video of the first frame's size, or an image of one
    frame), atomically; returns how many were written. ``label`` follows the name on the progress bar."""
    import cv2

    from discmot.engine.progress import progress_bar  # the track verb's (a log line off a terminal)

    images = iter(images)
    first = next(images)
    if out.suffix.lower() in IMAGE_SUFFIXES:
        atomic_write_bytes(out, cv2.imencode(out.suffix.lower(), first)[1].tobytes())
        return 1
    size = (first.shape[1], first.shape[0])
    with (
        progress_bar(source.name + label, count, progress) as bar,
        VideoWriter(out, source.fps, size) as writer,
    ):
        for image in itertools.chain([first], images):
            writer.write(image)
            bar.update(1)
        return writer.frames_written


def _log_summary(
    source: FrameSource, summary: dict, benchmark: str, first: int, last: int, label: str = ""
) -> None:
    if summary["totals"] is None:
        log.info(
            "%s%s: drew %d frames of results (no ground truth: no errors counted) into %s",
            source.name,
            label,
            summary["frames"],
            summary["out"],
        )
        return
    totals = summary["totals"]
    part = ""
    if (first, last) != (first_frame(source), source.num_frames):
        shown = summary["shown"]
        part = f"; in frames {first}-{last}: FP {shown['FP']}, FN {shown['FN']}, IDSW {shown['IDSW']}"
    log.info(
        "%s%s: FP %d, FN %d, IDSW %d over its %d frames (CLEAR's CLR_FP, CLR_FN, IDSW with --benchmark %s, "
        "as discmot eval counts them)%s; wrote %s",
        source.name,
        label,
        totals["FP"],
        totals["FN"],
        totals["IDSW"],
        source.num_frames,
        benchmark,
        part,
        summary["out"],
    )
