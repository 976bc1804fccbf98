"""Running a tracker over videos, image folders and MOTChallenge sequences -> MOT result files and videos.

The track flow reads straight through `track_source`:
source frames (`discmot.io.video`) -> detections (an ONNX detector, plus an optional ReID embedder, or
precomputed detections) -> ``tracker.update`` -> `Tracks` -> MOTChallenge rows (`discmot.io.mot`) and
annotated frames (`discmot.viz.draw`) -> `VideoWriter`. End-to-end trackers (FDTA, CSTrack) take the
frame itself: ``tracker.update(frame)``.

`track_split` runs it over every sequence of a benchmark split and writes TrackEval's layout. `track`, the
whole ``discmot track`` verb as one call, lives in `discmot.engine.track_verb` and is importable from here.
Nothing here imports torch at import time: the FDTA and CSTrack builders import it when called, the
detector plug-ins import onnxruntime when they are built.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Protocol

import numpy as np

from discmot.io.atomic import atomic_open, check_writable, errors_naming
from discmot.io.mot import sorted_mot_rows
from discmot.io.video import (
    IMAGE_EXTENSIONS,
    FirstFrames,
    FrameSource,
    SequenceFrames,
    VideoWriter,
    frames_yielded,
    holds_images,
    open_source,
)
from discmot.structures import Detections, Tracks
from discmot.trackers.base import Tracker, is_end_to_end
from discmot.viz.draw import TrailHistory, caption_avoid, draw_caption, draw_tracks

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
        _check_inputs(frames, detect, embed, detections, save_video)
    tracker.reset()
    interrupted, tracked = False, 0
    start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        # FDTA and CSTrack write their original code's rows (unrounded boxes, confidence 1, tracker order)
        results = stack.enter_context(_results_file(save_txt, end_to_end)) if save_txt else None
        rows = _Rows(frames.location, results)
        writer = stack.enter_context(VideoWriter(save_video, frames.fps, frames.size)) if save_video else None
        bar = stack.enter_context(frames_progress_bar(frames, progress))
        trails = TrailHistory(trail_length)
        first_frame = None  # (number, size) of the first frame
        try:
            for frame_number, image in frames:
                if image is not None and (end_to_end or writer is not None):  # one size per video
                    first_frame = _check_frame_size(frames, frame_number, image, first_frame)
                if end_to_end:
                    tracks = tracker.update(image)
                else:
                    found = _frame_detections(frame_number, image, detect, embed, detections, min_score)
                    tracks = tracker.update(found, image)
                rows.add(frame_number, tracks)
                tracked += 1
                if on_frame is not None:
                    on_frame(frame_number, tracks)
                if writer is not None:
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
        left = _without_results(sources, results)
        kept, sources = len(sources) - len(left), left
        if not sources:
            return {}
    if not use_det_files:
        _check_first_frames(sources)  # before any result is written: no mix of new and old results
    # the first tracker before the results folder is made: a checkpoint that fails to load (FDTA's and
    # CSTrack's load with their first tracker, `discmot.engine.track_verb`) leaves no empty folder
    first = tracker_factory(tracker_frame_rate(frame_rate, sources[0].fps))
    check_writable(results / f"{sources[0].folder.name}.txt")
    try:
        for k, source in enumerate(sources):
            folder = source.folder
            if k == 0:  # and not held on to: a finished sequence's tracker (GPU memory) goes
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
        _say_what_a_stopped_split_left(sources, len(summaries), results, kept)
        raise
    return summaries


def _without_results(sources: list[SequenceFrames], results: Path) -> list[SequenceFrames]:
    """The sequences of ``sources`` with no ``<results>/<sequence>.txt`` yet, for ``skip_existing``; says
    how many were kept (INFO) and which (DEBUG). An existing file is complete: results are written
    atomically, so a sequence stopped half-way left none."""
    split, left = sources[0].folder.parent, []
    for source in sources:
        path = results / f"{source.folder.name}.txt"
        if path.is_file():
            log.debug("%s: kept %s (--skip-existing)", source.folder.name, path)
        else:
            left.append(source)
    if not left:
        log.info(
            "%s: every sequence's results (%d) are already in %s (--skip-existing): nothing to track",
            split,
            len(sources),
            results,
        )
    elif len(left) < len(sources):
        log.info(
            "%s: kept the results of %d of %d sequences already in %s (--skip-existing); tracking the "
            "other %d",
            split,
            len(sources) - len(left),
            len(sources),
            results,
            len(left),
        )
    return left


def _say_what_a_stopped_split_left(
    sources: list[SequenceFrames], finished: int, results: Path, kept: int = 0
) -> None:
    """One log line when a split stops with some sequences' results complete (``finished`` of
    ``sources`` tracked by this run, ``kept`` more from before by ``skip_existing``): they are kept (an
    hour of tracking is not thrown away), the sequence that was running left nothing, files of the later
    sequences from an earlier run are still there (a mix that `discmot eval` cannot tell), and
    ``--skip-existing`` goes on where it stopped."""
    if (not finished and not kept) or finished == len(sources):  # nothing done, or stopped once all done
        return
    total = len(sources) + kept
    done = (
        f"the results of the {finished} of {total} sequences before it are complete"
        if not kept
        else f"the results of {finished + kept} of {total} sequences are complete ({kept} kept from before)"
    )
    stale = sum((results / f"{s.folder.name}.txt").is_file() for s in sources[finished:])
    earlier = f"; {stale} of the other sequences' files there are from an earlier run" if stale else ""
    # --skip-existing would keep those earlier files too: say so, a change of settings must not mix in
    keeps = " and keeps the earlier run's files (delete them first to track those again)" if stale else ""
    log.warning(
        "%s: stopped in sequence %s; %s, in %s%s; to go on, run the same command with --skip-existing: "
        "it tracks only the sequences without results there%s",
        sources[0].folder.parent,
        sources[finished].folder.name,
        done,
        results,
        earlier,
        keeps,
    )


def _check_first_frames(sources: list[SequenceFrames]) -> None:
    """Raises ValueError naming the first sequence none of whose images can be read, so that a split
    whose last sequence is broken fails before the others' results replace older ones."""
    for source in sources:
        if next(iter(source), None) is None:
            raise ValueError(f"{source.folder}: no readable image in its image folder")


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


def find_sequences(split_folder: str | Path, det_file: str | None = "det.txt") -> list[Path]:
    """The sequence folders of a split: sub-folders with ``seqinfo.ini`` and ``det/<det_file>`` (with
    ``det_file=None``: with an image folder instead), sorted by name. Sub-folders that hold images (or
    an ``img1/`` folder of them) but no ``seqinfo.ini`` are left out with a warning each: tracked on
    their own they work, but a split's results would miss them with nothing said.

    Raises:
        ValueError: the folder does not exist or holds no such sequence.
    """
    split = Path(split_folder)
    if not split.is_dir():
        raise ValueError(f"{split}: split folder not found")
    sequences = sorted(p for p in split.iterdir() if (p / "seqinfo.ini").is_file())
    others = (p for p in split.iterdir() if p.is_dir() and p not in sequences and not p.name.startswith("."))
    for folder in sorted(others):
        if holds_images(folder) or holds_images(folder / "img1"):
            log.warning(
                "%s: skipped (no seqinfo.ini): a sequence needs one to be tracked as part of the split "
                "(docs/datasets.md, 'Your own dataset', has a template)",
                folder,
            )
    found = [p for p in sequences if is_trackable_sequence(p, det_file)]
    if det_file is None:
        needed, missing = "seqinfo.ini and images", "images"
    else:
        needed, missing = f"seqinfo.ini and det/{det_file}", f"det/{det_file}"
    if not found:
        raise ValueError(f"{split}: no sequence folders with {needed} here")
    for skipped in sorted(set(sequences) - set(found)):
        log.warning("%s: skipped (no %s)", skipped, missing)
    return found


def check_tracker_name(name: str) -> None:
    """``--tracker-name``: one folder name (it goes under ``--split-out``); a one-line ValueError else."""
    if Path(name).name != name or name in ("", ".", ".."):
        raise ValueError(f"--tracker-name {name!r}: a folder name, without '/' (it goes under --split-out)")


def is_trackable_sequence(folder: Path, det_file: str | None = "det.txt") -> bool:
    """Whether `find_sequences` tracks the sequence ``folder`` (it has ``seqinfo.ini``): with
    ``det/<det_file>``, or with ``det_file=None`` with images."""
    if det_file is None:
        return SequenceFrames(folder).has_images
    return (folder / "det" / det_file).is_file()


def is_split_folder(path: str | Path | int) -> bool:
    """True for a folder of sequence folders (its sub-folders have ``seqinfo.ini``, it has none)."""
    if not isinstance(path, (str, Path)):
        return False  # a webcam index
    path = Path(path)
    if not path.is_dir() or (path / "seqinfo.ini").exists():
        return False
    return any((p / "seqinfo.ini").is_file() for p in path.iterdir())


# --------------------------------------------------------------------------------------------------
# The loop's parts


def _load_detections(detections):
    if detections is None or not isinstance(detections, (str, Path)):
        return detections
    from discmot.trackers.detectors import load_precomputed

    return load_precomputed(detections)


def _check_frame_size(frames: FrameSource, number: int, image: np.ndarray, first: tuple | None) -> tuple:
    """``(frame number, (width, height))`` of the first frame; a later frame of another size is an error
    naming the source, or the image files (an end-to-end tracker's state and the output video belong to
    one frame size)."""
    size = (image.shape[1], image.shape[0])
    if first is None:
        return number, size
    first_number, first_size = first
    if size != first_size:
        path, first_path = frames.frame_path(number), frames.frame_path(first_number)
        where = f"{path}: frame {number}" if path else f"{frames.location}: frame {number}"
        raise ValueError(
            f"{where} is {size[0]}x{size[1]} but the first frame{f' ({first_path})' if first_path else ''} "
            f"is {first_size[0]}x{first_size[1]}; a video's frames must share one size (resize the images "
            "first)"
        )
    return first


#: Containers ``--save-video`` writes (an image suffix would make OpenCV write an image sequence).
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv", ".avi")


def check_outputs(frames: FrameSource, detections, save_txt, save_video) -> None:
    """Before any work: outputs must not be an input, each other, or a folder, and a video must have a
    video container's suffix."""
    named = ((frames.location, "the source"), (detections, "the detections"))
    inputs = {Path(p).resolve(): what for p, what in named if isinstance(p, (str, Path)) and Path(p).exists()}
    outputs = [
        (Path(p), option) for p, option in ((save_txt, "--save-txt"), (save_video, "--save-video")) if p
    ]
    for path, option in outputs:
        if path.resolve() in inputs:
            raise ValueError(f"{path}: {option} would overwrite {inputs[path.resolve()]}; write elsewhere")
        if path.is_dir():
            raise ValueError(f"{path}: {option} names a folder; give a file name")
    if len(outputs) == 2 and outputs[0][0].resolve() == outputs[1][0].resolve():
        raise ValueError(f"{save_txt}: --save-txt and --save-video name the same file")
    if save_video and Path(save_video).suffix.lower() not in VIDEO_SUFFIXES:
        raise ValueError(f"{save_video}: --save-video needs a video file name ({', '.join(VIDEO_SUFFIXES)})")
    if save_txt:
        _check_results_path(Path(save_txt))


#: Suffixes of files that MOT result rows never go into (media, models, arrays).
NOT_RESULT_SUFFIXES = (
    *VIDEO_SUFFIXES,
    *IMAGE_EXTENSIONS,
    ".onnx",
    ".pt",
    ".pth",
    ".safetensors",
    ".npy",
    ".npz",
)


def _check_results_path(path: Path) -> None:
    """``--save-txt`` must not name a media, model or array file, nor replace a file that is not text:
    the results would silently take its place."""
    if path.suffix.lower() in NOT_RESULT_SUFFIXES:
        raise ValueError(f"{path}: --save-txt writes MOT result rows (a .txt file), not a {path.suffix} file")
    if path.is_file():
        with path.open("rb") as handle:
            if b"\0" in handle.read(4096):
                raise ValueError(f"{path}: exists and is not a text file; --save-txt will not replace it")


def no_detections_error(frames: FrameSource) -> ValueError:
    """The error for a source tracked with neither a detector nor precomputed detections."""
    return ValueError(
        f"{frames.location}: no detector and no detections: pass a detector (--detector PATH.onnx), "
        "precomputed detections (--detections FILE), or track with a model that detects for itself "
        "(--model fdta or cstrack --weights CKPT; --weights bundled: the demo's tiny one)"
    )


def _check_inputs(frames: FrameSource, detect, embed, detections, save_video) -> None:
    if detect is None and detections is None:
        raise no_detections_error(frames)
    if not frames.has_images:
        uses = {
            "detector": detect is not None and detections is None,
            "ReID model": embed is not None,
            "video output": save_video is not None,
        }
        needs = [what for what, used in uses.items() if used]
        if needs:
            verb = "needs" if len(needs) == 1 else "need"
            raise ValueError(f"{frames.location}: has no images, which the {' and '.join(needs)} {verb}")
    hint = getattr(detections, "num_frames_hint", None)
    whole = frames.source if isinstance(frames, FirstFrames) else frames  # --max-frames: the whole source
    if hint and whole.num_frames and hint > whole.num_frames:
        log.warning(
            "%s: the detections reach frame %d but the source has %d frames; are they for this source?",
            frames.location,
            hint,
            whole.num_frames,
        )


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


class _Rows:
    """The tracked frames' counts for the summary, and their rows passed on to a `_ResultsStream`.

    Nothing grows with the number of frames: rows go to the stream (which writes them out in chunks) and
    only the distinct track ids are kept.
    """

    def __init__(self, location: str, results: _ResultsStream | None = None):
        self.location, self.results = location, results
        self.last_frame = 0
        self.count = 0
        self.rows = 0
        self.ids: set[int] = set()

    def add(self, frame_number: int, tracks: Tracks) -> None:
        """Counts one tracked frame (frame numbers must increase: the rows are written in that order)."""
        if frame_number <= self.last_frame:
            raise ValueError(
                f"{self.location}: frame {frame_number} comes after frame {self.last_frame}; a source's "
                "frame numbers must increase"
            )
        self.last_frame = frame_number
        self.count += 1
        if not len(tracks):
            return
        self.rows += len(tracks)
        self.ids.update(tracks.ids.tolist())
        if self.results is not None:
            self.results.add(frame_number, tracks)


class _ResultsStream:
    """MOT result rows written to an open file as tracking goes, a chunk of frames at a time, in the
    order `discmot.io.mot.sorted_mot_rows` puts them (frames ascending; within a frame by id, or in the
    tracker's order for ``original_format``), so the file is byte for byte the one
    `discmot.io.mot.write_mot_results` would write.

    A 10-hour video holds about 20 million rows: kept until the end, they took about 90 bytes each, and
    formatting them all at once about ten times that again.
    """

    #: Rows held before they are formatted and written.
    chunk_rows = 2048

    def __init__(self, handle, path: Path, original_format: bool):
        self.handle, self.path, self.original_format = handle, path, original_format
        self._frames: list[np.ndarray] = []
        self._tracks: list[Tracks] = []
        self._held = 0

    def add(self, frame_number: int, tracks: Tracks) -> None:
        """Takes one frame's tracks (frames in increasing order)."""
        self._frames.append(np.full(len(tracks), frame_number, np.int64))
        self._tracks.append(tracks)
        self._held += len(tracks)
        if self._held >= self.chunk_rows:
            self.flush()

    def flush(self) -> None:
        """Writes the rows held. They are let go just before the write, not after: a Ctrl-C that ends a
        camera while this formats leaves them for the last flush, and one just after the write cannot
        have them written twice (a frame's rows twice is a file evaluation refuses)."""
        if not self._tracks:
            return
        text = sorted_mot_rows(
            np.concatenate(self._frames),
            np.concatenate([t.ids for t in self._tracks]),
            np.concatenate([t.boxes for t in self._tracks]),
            np.concatenate([t.scores for t in self._tracks]),
            self.original_format,
        )
        self._frames, self._tracks, self._held = [], [], 0
        with errors_naming(self.path):  # a full disk: ``[Errno 28] No space left on device`` alone
            self.handle.write(text)

    def finish(self) -> None:
        """Writes the last rows and puts the file on disk, so that a full disk fails here, before the
        other outputs of the run (the video) are published, leaving none of them."""
        self.flush()
        with errors_naming(self.path):
            self.handle.flush()
            os.fsync(self.handle.fileno())


@contextlib.contextmanager
def _results_file(path: str | Path, original_format: bool) -> Iterator[_ResultsStream]:
    """A `_ResultsStream` into a temporary file beside ``path``, renamed onto it when the block ends
    without an error (`discmot.io.atomic.atomic_open`); removed otherwise (an error, Ctrl-C on a file,
    SIGTERM). An error writing it (a full disk) names ``path``, not the temporary file: the stream names
    its writes' errors, `atomic_open` those of flushing and renaming (not those of the tracking loop that
    runs in its block: ``block_only_writes=False``)."""
    path = Path(path)
    with atomic_open(path, block_only_writes=False) as handle:
        yield _ResultsStream(handle, path, original_format)  # the caller ends it with finish()


def frames_progress_bar(frames: FrameSource, enabled: bool | None):
    """`progress_bar` over a source's frames. Its total is the frames the source yields
    (`discmot.io.video.frames_yielded`), not its last frame number: images 50, 52 and 54 are 3 frames,
    and an image folder from ``3000000.jpg`` on is no 3-million-frame run."""
    return progress_bar(frames.name, frames_yielded(frames), enabled)


def progress_bar(name: str, total: int | None, enabled: bool | None, interval: float | None = None):
    """A tqdm bar named ``name`` on a terminal (``enabled`` None: when stderr is one); otherwise (a log
    file, a batch job, ``-q``) a `LoggedProgress` line every ``interval`` seconds (its default when None).
    Both are context managers with ``update(count)``."""
    from tqdm import tqdm

    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return LoggedProgress(name, total) if interval is None else LoggedProgress(name, total, interval)
    return tqdm(total=total, desc=name, unit="frame", file=sys.stderr, leave=False)


class LoggedProgress:
    """Progress where no bar is shown: every ``interval`` seconds, one log line with the frames done, the
    speed and, for a source of known length, the time left (a full-size FDTA video on a CPU takes hours)."""

    def __init__(self, name: str, total: int | None, interval: float = 60.0):
        self.name, self.total, self.interval = name, total, interval
        self.done = 0
        self._start = self._last = time.perf_counter()

    def __enter__(self) -> LoggedProgress:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def update(self, count: int = 1) -> None:
        self.done += count
        now = time.perf_counter()
        if now - self._last >= self.interval:
            self._last = now
            log.info("%s", self.text(now - self._start))

    def text(self, seconds: float) -> str:
        """``"clip: 120/795 frames, 9.4 s/frame, about 1 h 46 min left"``."""
        seconds = max(seconds, 1e-9)
        speed = (
            f"{seconds / self.done:.1f} s/frame" if seconds >= self.done else f"{self.done / seconds:.1f} fps"
        )
        done = f"{self.done}/{self.total}" if self.total else str(self.done)
        line = f"{self.name}: {done} frames, {speed}"
        if self.total and self.total > self.done:
            line += f", about {duration_text(seconds / self.done * (self.total - self.done))} left"
        return line


def duration_text(seconds: float) -> str:
    """``"1 h 46 min"``, ``"12 min"``, ``"40 s"``."""
    minutes = round(seconds / 60)
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def _summary(
    frames: FrameSource, rows: _Rows, seconds: float, interrupted: bool, save_txt, save_video
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
