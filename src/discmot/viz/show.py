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
the most errors). The inputs are opened and checked by `discmot.viz.show_inputs`, each frame's errors
drawn by `discmot.viz.error_drawing`; here the frames are read, drawn and written.
"""

from __future__ import annotations

import itertools
import logging
from pathlib import Path
from typing import cast

import numpy as np

from discmot.io.atomic import atomic_write_bytes
from discmot.io.video import FrameSource, SequenceFrames, VideoWriter, read_image, skipped_clauses
from discmot.viz import errors as clear_errors
from discmot.viz.draw import TrailHistory, caption_avoid, draw_caption, draw_tracks
from discmot.viz.error_drawing import draw_errors
from discmot.viz.show_inputs import (
    IMAGE_SUFFIXES,
    ResultsOnly,
    check_frames,
    check_output,
    first_frame,
    ground_truth_file,
    input_files,
    length_source,
    load_boxes,
    open_frames,
)

log = logging.getLogger(__name__)


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
        frames, source.num_frames, source.location, length_source(source), first_frame(source)
    )
    # the files first: a bad row must leave no new parent folders of the output (check_output makes them)
    boxes = load_boxes(gt_file, results, source.num_frames, benchmark)
    out = check_output(Path(out), first, last, [results, gt_file, *input_files(source)])
    return show_loaded(source, boxes, gt_file, out, (first, last), benchmark, progress, trail_length)


def show_loaded(
    source: FrameSource,
    boxes: ResultsOnly | clear_errors.SequenceErrors,
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
    # with a gt file `load_boxes` classified the boxes against it
    summary["totals"] = cast(clear_errors.SequenceErrors, boxes).totals() if gt_file is not None else None
    summary["shown"] = shown if gt_file is not None else None
    _log_summary(source, summary, benchmark, first, last, label)
    return summary


def _rendered(source: FrameSource, first: int, last: int, boxes, shown: dict, trail_length: int):
    """The annotated frames ``first..last`` (a generator); ``shown`` accumulates the counts drawn."""
    trails = TrailHistory(trail_length)
    # the counts so far never exceed the sequence's, nor the frame number the last: the widest caption
    widest_caption = "" if isinstance(boxes, ResultsOnly) else _error_caption(last, boxes.totals())
    for number, image in _images(source, first, last):
        if isinstance(boxes, ResultsOnly):
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
