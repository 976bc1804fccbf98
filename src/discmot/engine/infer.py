"""Running a tracker over videos, image folders and MOTChallenge sequences -> MOT result files and videos.

The track flow reads straight through `track_source`:
source frames (`discmot.io.video`) -> detections (an ONNX detector, plus an optional ReID embedder, or
precomputed detections) -> ``tracker.update`` -> `Tracks` -> MOTChallenge rows (`discmot.io.mot_results`) and
annotated frames (`discmot.viz.draw`) -> `VideoWriter`. End-to-end trackers (FDTA, CSTrack) take the
frame itself: ``tracker.update(frame)``.

`track_split` runs it over every sequence of a benchmark split and writes TrackEval's layout. `track`, the
whole ``discmot track`` verb as one call, lives in `discmot.engine.track_verb` and is importable from here.
The loop's parts are beside it: the checks of a source and its outputs (`discmot.engine.source_checks`),
the results file written as tracking goes (`discmot.engine.results_stream`), the progress bar
(`discmot.engine.progress`) and a split's sequence folders (`discmot.engine.split_folders`).
Nothing here imports torch at import time: the FDTA and CSTrack builders import it when called, the
detector plug-ins import onnxruntime when they are built.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Protocol, cast

import numpy as np

from discmot.engine.progress import LoggedProgress, duration_text, frames_progress_bar
from discmot.engine.results_stream import TrackedRows, open_results_stream
from discmot.engine.source_checks import check_frame_size, check_inputs, check_outputs
from discmot.engine.split_folders import (
    check_first_frames,
    check_tracker_name,
    find_sequences,
    is_split_folder,
    say_what_a_stopped_split_left,
    without_results,
)
from discmot.io.atomic import check_writable
from discmot.io.video import FrameSource, SequenceFrames, VideoWriter, open_source
from discmot.structures import Detections, Tracks
from discmot.trackers.base import DetectionTracker, EndToEndTracker, Tracker, is_end_to_end
from discmot.viz.draw import TrailHistory, caption_avoid, draw_caption, draw_tracks

# with the loop's parts that were defined here (imported from here by tests and users); `track` and
# `tracker_factory` come from the module `__getattr__` at the end
__all__ = [
    "Detector",
    "Embedder",
    "FrameDetections",
    "LoggedProgress",
    "duration_text",
    "find_sequences",
    "frames_progress_bar",
    "is_split_folder",
    "track_source",
    "track_split",
    "tracker_frame_rate",
]

log = logging.getLogger(__name__)

#: ``frame_bgr -> Detections``, e.g. `discmot.trackers.detectors.YoloxDetector`.
Detector = Callable[[np.ndarray], Detections]
#: ``(frame_bgr, boxes_tlwh (N, 4)) -> (N, D) float32``, e.g. `OnnxReidEmbedder`.
Embedder = Callable[[np.ndarray, np.ndarray], np.ndarray]


class FrameDetections(Protocol):
    """Precomputed detections: ``detections[frame_number]`` (1-based) gives that frame's `Detections`."""

    def __getitem__(self, frame_number: int) -> Detections: ...


def track_source(
    source: FrameSource | str | Path | int,
    tracker: Tracker,
    detect: Detector | None = None,
    embed: Embedder | None = None,
    detections: FrameDetections | str | Path | None = None,
    save_txt: str | Path | None = None,
    save_video: str | Path | None = None,
    progress: bool | None = None,
    min_score: float | None = None,
    trail_length: int = 30,
    on_frame: Callable[[int, Tracks], object] | None = None,
) -> dict:
    """Tracks every frame of one source; writes MOTChallenge results and/or an annotated video.

    The tracker is `reset` first, so ids start afresh (at 1; FDTA's at 0, as its original's). A frame the
    source cannot decode is not tracked (the source warns); the frame numbers of the others stay those of
    the source, so result row ``k`` belongs to frame ``k`` of the video or sequence.

    Args:
        source: a `FrameSource` or anything `open_source` accepts.
        tracker: a `DetectionTracker` (e.g. `discmot.trackers.association.JDETracker`), or an
            `EndToEndTracker` (FDTA, CSTrack: ``detects = True``), which gets the frame alone.
        detect: a detector; used when ``detections`` is ``None``.
        embed: a ReID embedder run on each frame's boxes (it replaces precomputed embeddings).
        detections: precomputed detections, or a file for `discmot.trackers.detectors.load_precomputed`.
        save_txt: results file (rows ``frame,id,x,y,w,h,score,-1,-1,-1``, 1-based frames), written atomically:
            rows go to a temporary file beside it as tracking goes (memory does not grow with the video's
            length), renamed onto it at the end. The source's frame numbers must increase.
        save_video: annotated H.264 MP4 (boxes, ids, trails, a colour per id, the frame number).
        progress: show a progress bar with the frame rate on stderr (``None``: when stderr is a terminal).
        min_score: drop precomputed detections scoring below (detectors apply their own threshold).
        trail_length: frames of trail drawn behind each track.
        on_frame: called after each tracked frame with its number and its `Tracks` (the rows
            ``save_txt`` gets; empty ones too), to keep the tracks in memory without a file.

    Returns:
        ``name``, ``frames`` (tracked), ``skipped`` (frame numbers not decodable), ``rows``, ``ids``
        (distinct track ids), ``seconds``, ``fps``, ``interrupted``, ``save_txt``, ``save_video``.

    Raises:
        ValueError: unreadable source, no detector and no detections, or images needed (detector, embedder,
            video) but the source has none.
    """
    frames = source if isinstance(source, FrameSource) else open_source(source)
    check_outputs(frames, detections, save_txt, save_video)
    detections = _load_detections(detections)
    end_to_end = is_end_to_end(tracker)
    if end_to_end:
        if not frames.has_images:
            raise ValueError(f"{frames.location}: has no images, which an end-to-end tracker needs")
    else:
        check_inputs(frames, detect, embed, detections, save_video)
    tracker.reset()
    interrupted, tracked = False, 0
    start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        # FDTA and CSTrack write their original code's rows (unrounded boxes, confidence 1, tracker order)
        results = stack.enter_context(open_results_stream(save_txt, end_to_end)) if save_txt else None
        rows = TrackedRows(frames.location, results)
        writer = stack.enter_context(VideoWriter(save_video, frames.fps, frames.size)) if save_video else None
        bar = stack.enter_context(frames_progress_bar(frames, progress))
        trails = TrailHistory(trail_length)
        first_frame = None  # (number, size) of the first frame
        try:
            for frame_number, image in frames:
                if image is not None and (end_to_end or writer is not None):  # one size per video
                    first_frame = check_frame_size(frames, frame_number, image, first_frame)
                # the kind `is_end_to_end` said above
                if end_to_end:
                    assert image is not None  # checked above: the source has images
                    tracks = cast(EndToEndTracker, tracker).update(image)
                else:
                    found = _frame_detections(frame_number, image, detect, embed, detections, min_score)
                    tracks = cast(DetectionTracker, tracker).update(found, image)
                rows.add(frame_number, tracks)
                tracked += 1
                if on_frame is not None:
                    on_frame(frame_number, tracks)
                if writer is not None:
                    assert image is not None  # checked above: a video is drawn on the source's images
                    trails.update(tracks)
                    caption = f"frame {frame_number}"
                    drawn = draw_tracks(  # on a copy: the tracker may keep the frame
                        image.copy(), tracks, trails, avoid=caption_avoid(image, caption)
                    )
                    writer.write(draw_caption(drawn, caption))
                bar.update(1)
        except KeyboardInterrupt:
            if frames.num_frames is not None:
                raise  # a file: abort, write nothing (outputs are atomic)
            interrupted = True  # a camera or stream: Ctrl-C is how it ends; keep what was tracked
            log.info("%s: stopped at frame %d", frames.name, rows.last_frame)
        if not tracked and not interrupted:  # raised inside: the video writer keeps no empty file
            raise ValueError(f"{frames.location}: no frame could be decoded, nothing was tracked")
        if results is not None:
            results.finish()  # inside the stack: a full disk now leaves no video either
    seconds = time.perf_counter() - start
    return _summary(frames, rows, seconds, interrupted, save_txt, save_video)


def track_split(
    split_folder: str | Path,
    out_folder: str | Path,
    tracker_factory: Callable[[float], Tracker],
    det_file: str = "det.txt",
    layout: str = "trackeval",
    tracker_name: str = "discmot",
    detect: Detector | None = None,
    embed: Embedder | None = None,
    frame_rate: float | None = None,
    progress: bool | None = None,
    needs_detections: bool = True,
    skip_existing: bool = False,
) -> dict[str, dict]:
    """Tracks every sequence of a benchmark split folder (``<split>/<seq>/{seqinfo.ini,det/,img1/}``).

    Each sequence gets a fresh tracker, ``tracker_factory(frame_rate)``, built with the sequence's
    ``frameRate`` from ``seqinfo.ini`` (or ``frame_rate`` when given). Detections come from
    ``<seq>/det/<det_file>`` (images are then optional), or from ``detect`` run on the images.

    Args:
        layout: ``"trackeval"``: ``<out>/<tracker_name>/data/<seq>.txt``, ready for ``discmot eval
            --trackers-folder <out>``; ``"flat"``: ``<out>/<seq>.txt``.
        needs_detections: False for end-to-end trackers (FDTA), which only need the images.
        skip_existing: go on with a stopped split: a sequence whose results file is already in the
            results folder is kept as it is, not tracked again (whatever run wrote it); with every one
            there nothing is tracked and ``tracker_factory`` is never called.

    Returns:
        ``{sequence name: summary}`` (see `track_source`) of the sequences tracked by this call, in sorted
        order: the ones kept by ``skip_existing`` are not in it (``{}`` when every one was kept).
    """
    if layout not in ("trackeval", "flat"):
        raise ValueError(f"layout must be 'trackeval' or 'flat', not {layout!r}")
    check_tracker_name(tracker_name)
    results = Path(out_folder) / tracker_name / "data" if layout == "trackeval" else Path(out_folder)
    summaries = {}
    use_det_files = needs_detections and detect is None
    sources = [SequenceFrames(f) for f in find_sequences(split_folder, det_file if use_det_files else None)]
    kept = 0
    if skip_existing:
        left = without_results(sources, results)
        kept, sources = len(sources) - len(left), left
        if not sources:
            return {}
    if not use_det_files:
        check_first_frames(sources)  # before any result is written: no mix of new and old results
    # the first tracker before the results folder is made: a checkpoint that fails to load (FDTA's and
    # CSTrack's load with their first tracker, `discmot.engine.track_verb`) leaves no empty folder
    first: Tracker | None = tracker_factory(tracker_frame_rate(frame_rate, sources[0].fps))
    check_writable(results / f"{sources[0].folder.name}.txt")
    try:
        for k, source in enumerate(sources):
            folder = source.folder
            if k == 0:  # and not held on to: a finished sequence's tracker (GPU memory) goes
                assert first is not None  # made above, handed over here once
                tracker, first = first, None
            else:
                tracker = tracker_factory(tracker_frame_rate(frame_rate, source.fps))
            precomputed = folder / "det" / det_file if use_det_files else None
            summary = track_source(
                source, tracker, detect, embed, precomputed, results / f"{folder.name}.txt", progress=progress
            )
            log.debug(
                "%s: %d frames, %d ids, %.0f fps",
                folder.name,
                summary["frames"],
                summary["ids"],
                summary["fps"],
            )
            summaries[folder.name] = summary
    except BaseException:  # Ctrl-C, SIGTERM, a bad sequence: say what is on disk, then stop as before
        say_what_a_stopped_split_left(sources, len(summaries), results, kept)
        raise
    return summaries


def tracker_frame_rate(requested: float | None, source_fps: float | None) -> float:
    """The frame rate a tracker is built with: the one asked for, else the source's rounded to a whole
    number, else 30.

    The original trackers only see whole rates (``seqinfo.ini`` holds integers, JDE's video loader rounds
    ``CAP_PROP_FPS``), and the lost-track buffer is ``int(frame_rate / 30 * 30)``: 29.97 fps keeps a
    lost track 30 frames, not 29.
    """
    if requested:
        return requested
    return round(source_fps) if source_fps else 30


# --------------------------------------------------------------------------------------------------
# The loop's parts


def _load_detections(detections):
    if detections is None or not isinstance(detections, (str, Path)):
        return detections
    from discmot.trackers.detectors import load_precomputed

    return load_precomputed(detections)


def _frame_detections(frame_number, image, detect, embed, precomputed, min_score) -> Detections:
    if precomputed is not None:
        found = precomputed[frame_number]
        if min_score is not None:
            found = found.select(found.scores >= min_score)
    else:
        found = detect(image)
    if embed is not None and len(found):
        found = replace(found, embeddings=np.asarray(embed(image, found.boxes), dtype=np.float32))
    return found


def _summary(
    frames: FrameSource, rows: TrackedRows, seconds: float, interrupted: bool, save_txt, save_video
) -> dict:
    return {
        "name": frames.name,
        "frames": rows.count,
        "skipped": list(frames.skipped),
        "rows": rows.rows,
        "ids": len(rows.ids),
        "seconds": seconds,
        "fps": rows.count / seconds if seconds > 0 else 0.0,
        "interrupted": interrupted,
        "save_txt": None if save_txt is None else str(save_txt),
        "save_video": None if save_video is None else str(save_video),
    }


def __getattr__(name: str):
    """``discmot.engine.infer.track`` (and `tracker_factory`), re-exported from `discmot.engine.track_verb`
    on first use: that module imports this one, so it cannot be imported at the top."""
    if name in ("track", "tracker_factory"):
        from discmot.engine import track_verb

        return getattr(track_verb, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
