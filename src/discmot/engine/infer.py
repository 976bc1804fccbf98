"""Running a tracker over videos, image folders and MOTChallenge sequences -> MOT result files and videos.

The track flow reads straight through `track_source`:
source frames (`discmot.io.video`) -> detections (an ONNX detector, plus an optional ReID embedder, or
precomputed detections) -> ``tracker.update`` -> `Tracks` -> MOTChallenge rows (`discmot.io.mot`) and
annotated frames (`discmot.viz.draw`) -> `VideoWriter`. End-to-end trackers (FDTA, CSTrack) take the
frame itself: ``tracker.update(frame)``.

`track_split` runs it over every sequence of a benchmark split and writes TrackEval's layout, and `track`
is the whole ``discmot track`` verb as one call. Nothing here imports torch at import time: the FDTA and
CSTrack builders import it when called, the detector plug-ins import onnxruntime when they are built.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Protocol

import numpy as np

from discmot.io.mot import write_mot_results
from discmot.io.video import FrameSource, SequenceFrames, VideoWriter, open_source
from discmot.structures import Detections, Tracks
from discmot.viz.draw import TrailHistory, draw_tracks

log = logging.getLogger(__name__)

#: ``frame_bgr -> Detections``, e.g. `discmot.trackers.detectors.YoloxDetector`.
Detector = Callable[[np.ndarray], Detections]
#: ``(frame_bgr, boxes_tlwh (N, 4)) -> (N, D) float32``, e.g. `OnnxReidEmbedder`.
Embedder = Callable[[np.ndarray, np.ndarray], np.ndarray]


class Tracker(Protocol):
    """What the engine needs of a tracker (see `discmot.trackers`).

    Trackers that detect for themselves (FDTA, CSTrack) set a class attribute ``detects = True`` and are
    called as ``update(frame)``; the others get the frame's detections.
    """

    def update(self, detections: Detections, frame: np.ndarray | None = None) -> Tracks: ...

    def reset(self) -> None: ...


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
) -> dict:
    """Tracks every frame of one source; writes MOTChallenge results and/or an annotated video.

    The tracker is `reset` first, so ids start afresh (at 1; FDTA's at 0, as its original's). A frame the
    source cannot decode is not tracked (the source warns); the frame numbers of the others stay those of
    the source, so result row ``k`` belongs to frame ``k`` of the video or sequence.

    Args:
        source: a `FrameSource` or anything `open_source` accepts.
        tracker: e.g. `discmot.trackers.association.JDETracker`.
        detect: a detector; used when ``detections`` is ``None``.
        embed: a ReID embedder run on each frame's boxes (it replaces precomputed embeddings).
        detections: precomputed detections, or a file for `discmot.trackers.detectors.load_precomputed`.
        save_txt: results file (rows ``frame,id,x,y,w,h,score,-1,-1,-1``, 1-based frames), written atomically.
        save_video: annotated H.264 MP4 (boxes, ids, trails, a colour per id).
        progress: show a progress bar with the frame rate on stderr (``None``: when stderr is a terminal).
        min_score: drop precomputed detections scoring below (detectors apply their own threshold).
        trail_length: frames of trail drawn behind each track.

    Returns:
        ``name``, ``frames`` (tracked), ``skipped`` (frame numbers not decodable), ``rows``, ``ids``
        (distinct track ids), ``seconds``, ``fps``, ``interrupted``, ``save_txt``, ``save_video``.

    Raises:
        ValueError: unreadable source, no detector and no detections, or images needed (detector, embedder,
            video) but the source has none.
    """
    frames = source if isinstance(source, FrameSource) else open_source(source)
    _check_outputs(frames, detections, save_txt, save_video)
    detections = _load_detections(detections)
    end_to_end = getattr(tracker, "detects", False)
    if end_to_end:
        if not frames.has_images:
            raise ValueError(f"{frames.location}: has no images, which an end-to-end tracker needs")
    else:
        _check_inputs(frames, detect, embed, detections, save_video)
    tracker.reset()
    rows = _Rows()
    interrupted, tracked = False, 0
    start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        writer = stack.enter_context(VideoWriter(save_video, frames.fps, frames.size)) if save_video else None
        bar = stack.enter_context(_progress_bar(frames, progress))
        trails = TrailHistory(trail_length)
        first_size = None
        try:
            for frame_number, image in frames:
                if image is not None and (end_to_end or writer is not None):  # one size per video
                    first_size = _check_frame_size(frames, frame_number, image, first_size)
                if end_to_end:
                    tracks = tracker.update(image)
                else:
                    found = _frame_detections(frame_number, image, detect, embed, detections, min_score)
                    tracks = tracker.update(found, image)
                rows.add(frame_number, tracks)
                tracked += 1
                if writer is not None:
                    trails.update(tracks)
                    writer.write(draw_tracks(image.copy(), tracks, trails))  # the tracker may keep the frame
                bar.update(1)
        except KeyboardInterrupt:
            if frames.num_frames is not None:
                raise  # a file: abort, write nothing (outputs are atomic)
            interrupted = True  # a camera or stream: Ctrl-C is how it ends; keep what was tracked
            log.info("%s: stopped at frame %d", frames.name, rows.last_frame)
        if not tracked and not interrupted:  # raised inside: the video writer keeps no empty file
            raise ValueError(f"{frames.location}: no frame could be decoded, nothing was tracked")
    if save_txt is not None:
        # FDTA and CSTrack write their original code's rows (unrounded boxes, confidence 1, tracker order)
        write_mot_results(save_txt, *rows.arrays(), original_format=end_to_end)
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
) -> dict[str, dict]:
    """Tracks every sequence of a benchmark split folder (``<split>/<seq>/{seqinfo.ini,det/,img1/}``).

    Each sequence gets a fresh tracker, ``tracker_factory(frame_rate)``, built with the sequence's
    ``frameRate`` from ``seqinfo.ini`` (or ``frame_rate`` when given). Detections come from
    ``<seq>/det/<det_file>`` (images are then optional), or from ``detect`` run on the images.

    Args:
        layout: ``"trackeval"``: ``<out>/<tracker_name>/data/<seq>.txt``, ready for ``discmot eval
            --trackers-folder <out>``; ``"flat"``: ``<out>/<seq>.txt``.
        needs_detections: False for end-to-end trackers (FDTA), which only need the images.

    Returns:
        ``{sequence name: summary}`` (see `track_source`), in sorted order.
    """
    if layout not in ("trackeval", "flat"):
        raise ValueError(f"layout must be 'trackeval' or 'flat', not {layout!r}")
    if Path(tracker_name).name != tracker_name or tracker_name in ("", ".", ".."):
        raise ValueError(
            f"--tracker-name {tracker_name!r}: a folder name, without '/' (it goes under --split-out)"
        )
    results = Path(out_folder) / tracker_name / "data" if layout == "trackeval" else Path(out_folder)
    summaries = {}
    use_det_files = needs_detections and detect is None
    for folder in find_sequences(split_folder, det_file if use_det_files else None):
        source = SequenceFrames(folder)
        tracker = tracker_factory(tracker_frame_rate(frame_rate, source.fps))
        precomputed = folder / "det" / det_file if use_det_files else None
        summary = track_source(
            source, tracker, detect, embed, precomputed, results / f"{folder.name}.txt", progress=progress
        )
        log.debug(
            "%s: %d frames, %d ids, %.0f fps", folder.name, summary["frames"], summary["ids"], summary["fps"]
        )
        summaries[folder.name] = summary
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


def find_sequences(split_folder: str | Path, det_file: str | None = "det.txt") -> list[Path]:
    """The sequence folders of a split: sub-folders with ``seqinfo.ini`` and ``det/<det_file>`` (with
    ``det_file=None``: with an image folder instead), sorted by name.

    Raises:
        ValueError: the folder does not exist or holds no such sequence.
    """
    split = Path(split_folder)
    if not split.is_dir():
        raise ValueError(f"{split}: split folder not found")
    sequences = sorted(p for p in split.iterdir() if (p / "seqinfo.ini").is_file())
    if det_file is None:
        found = [p for p in sequences if SequenceFrames(p).has_images]
        needed = "seqinfo.ini and images"
    else:
        found = [p for p in sequences if (p / "det" / det_file).is_file()]
        needed = f"seqinfo.ini and det/{det_file}"
    if not found:
        raise ValueError(f"{split}: no sequence folders with {needed} here")
    for skipped in sorted(set(sequences) - set(found)):
        log.warning("%s: skipped (no det/%s)", skipped, det_file)
    return found


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
    """The first frame's ``(width, height)``; a later frame of another size is an error naming the source
    (an end-to-end tracker's state and the output video belong to one frame size)."""
    size = (image.shape[1], image.shape[0])
    if first is not None and size != first:
        raise ValueError(
            f"{frames.location}: frame {number} is {size[0]}x{size[1]} but the first frame is "
            f"{first[0]}x{first[1]}; a video's frames must share one size (resize the images first)"
        )
    return size


#: Containers ``--save-video`` writes (an image suffix would make OpenCV write an image sequence).
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv", ".avi")


def _check_outputs(frames: FrameSource, detections, save_txt, save_video) -> None:
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


def _check_inputs(frames: FrameSource, detect, embed, detections, save_video) -> None:
    if detect is None and detections is None:
        raise ValueError(
            f"{frames.location}: no detector and no detections: pass a detector (--detector PATH.onnx) "
            "or precomputed detections (--detections FILE)"
        )
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
    if hint and frames.num_frames and hint > frames.num_frames:
        log.warning(
            "%s: the detections reach frame %d but the source has %d frames; are they for this source?",
            frames.location,
            hint,
            frames.num_frames,
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
    """MOT result rows accumulated frame by frame."""

    def __init__(self):
        self.frames: list[np.ndarray] = []
        self.tracks: list[Tracks] = []
        self.last_frame = 0
        self.count = 0

    def add(self, frame_number: int, tracks: Tracks) -> None:
        self.last_frame = frame_number
        self.count += 1
        if len(tracks):
            self.frames.append(np.full(len(tracks), frame_number, np.int64))
            self.tracks.append(tracks)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``frames, ids, boxes, scores`` of every row."""
        if not self.tracks:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0)
        return (
            np.concatenate(self.frames),
            np.concatenate([t.ids for t in self.tracks]),
            np.concatenate([t.boxes for t in self.tracks]),
            np.concatenate([t.scores for t in self.tracks]),
        )


def _progress_bar(frames: FrameSource, enabled: bool | None):
    from tqdm import tqdm

    if enabled is None:
        enabled = sys.stderr.isatty()
    return tqdm(
        total=frames.num_frames,
        desc=frames.name,
        unit="frame",
        file=sys.stderr,
        disable=not enabled,
        leave=False,
    )


def _summary(
    frames: FrameSource, rows: _Rows, seconds: float, interrupted: bool, save_txt, save_video
) -> dict:
    ids = np.unique(np.concatenate([t.ids for t in rows.tracks])) if rows.tracks else np.zeros(0)
    return {
        "name": frames.name,
        "frames": rows.count,
        "skipped": list(frames.skipped),
        "rows": int(sum(len(t) for t in rows.tracks)),
        "ids": int(len(ids)),
        "seconds": seconds,
        "fps": rows.count / seconds if seconds > 0 else 0.0,
        "interrupted": interrupted,
        "save_txt": None if save_txt is None else str(save_txt),
        "save_video": None if save_video is None else str(save_video),
    }


# --------------------------------------------------------------------------------------------------
# The `discmot track` verb as one call


def track(
    source: str | Path | int,
    *,
    model: str = "jde",
    detector: str | Path | None = None,
    reid: str | Path | None = None,
    conf: float | None = None,
    classes: tuple[int, ...] = (0,),
    device: str = "cpu",
    detections: str | Path | None = None,
    det_file: str = "det.txt",
    save_txt: str | Path | None = None,
    save_video: str | Path | None = None,
    benchmark: str | None = None,
    frame_rate: float | None = None,
    split_out: str | Path | None = None,
    tracker_name: str | None = None,
    progress: bool | None = None,
    tracker_preset: str | None = None,
    track_thresh: float | None = None,
    birth_thresh: float | None = None,
    kalman_boxes: bool = False,
    output_filter: bool | None = None,
    weights: str | Path | None = None,
    model_preset: str | None = None,
    dtype: str = "fp32",
    input_size: tuple[int, int] | None = None,
    fast_resize: bool = False,
    deform_kernel: str = "auto",
) -> dict:
    """Tracks a video, image folder, glob, webcam index, sequence folder or whole split (``discmot track``).

    A folder of sequence folders runs `track_split` into ``split_out`` (TrackEval layout) and returns
    ``{sequence: summary}``; anything else runs `track_source` and returns its summary. A sequence folder
    with ``det/<det_file>`` uses those detections when neither ``detector`` nor ``detections`` is given.

    Args:
        model: the tracker: ``"jde"`` (the JDE/CSTrack association cascade on a detector's or precomputed
            boxes), or an end-to-end model that detects for itself, ``"fdta"`` or ``"cstrack"`` (CSTrack's
            network + the same cascade with the original's thresholds, `discmot.trackers.cstrack`).
        detector, reid: ONNX files of a YOLOX detector and an OSNet-style ReID model (``jde`` only).
        conf: detector score threshold (its default when ``None``); with precomputed detections, drop
            those scoring below; for ``cstrack`` the network's ``conf_thres`` (0.5) unless
            ``track_thresh`` is given.
        classes: detector classes kept (COCO ids; 0 is person).
        benchmark: MOT15-20 turn on CSTrack's pedestrian output filter.
        tracker_preset: `discmot.trackers.association.TRACKER_PRESETS` entry (default: ``"onnx"`` with a
            detector, ``"public"`` with precomputed detections, ``"cstrack"`` (the original's) for
            ``model="cstrack"``).
        track_thresh, birth_thresh: override the preset's detection and track-birth score thresholds.
        kalman_boxes: write the Kalman estimate instead of the matched detection box.
        output_filter: force CSTrack's pedestrian output filter on or off (default: the preset's and the
            benchmark's: on for ``cstrack``, as in the original, and for MOT15-20).
        weights, model_preset, dtype, input_size: for ``fdta`` and ``cstrack``: the checkpoint (official
            .pth/.pt or discmot .safetensors; required), its preset if it cannot be inferred,
            ``fp32``/``fp16``/``bf16`` and an explicit network input size ``(h, w)`` (FDTA default: shorter
            side 800, longer at most 1440; CSTrack default: the model's, 608x1088 for the official one,
            multiples of 32).
        fast_resize: FDTA only: resize frames in float instead of the original's 8-bit PIL resize (about
            three times faster at 1080p on a CPU, no faster on a GPU; pixels within one 8-bit step).
        deform_kernel: FDTA only: its deformable attention's path, ``"auto"`` (the fused Triton kernel on
            CUDA when triton is installed and the kernel checks equal to PyTorch's, else PyTorch),
            ``"pytorch"`` or ``"triton"`` (an error when it cannot be used); see
            `discmot.ops.deform_attn_triton.select_deform_kernel`.
        device: where the ONNX models or the FDTA/CSTrack network run (``cpu``, ``cuda``, ``cuda:1``).
        frame_rate: the tracker's frame rate (default: the source's, rounded to a whole number, else 30);
            also the rate of an image folder's output video.
    """
    overrides = {"conf_threshold": track_thresh, "birth_threshold": birth_thresh}
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if kalman_boxes:
        overrides["output_detection_boxes"] = False
    if output_filter is not None:
        overrides["output_filter"] = output_filter
    _warn_unknown_benchmark(benchmark)
    if fast_resize and model != "fdta":
        raise ValueError("--fast-resize is an FDTA option (--model fdta)")
    if deform_kernel != "auto" and model != "fdta":
        raise ValueError("--deform-kernel is an FDTA option (--model fdta)")
    from discmot.engine.end_to_end import END_TO_END, end_to_end_factory

    if model in END_TO_END:
        if detector is not None or reid is not None or detections is not None:
            raise ValueError(f"--model {model} detects for itself: drop --detector, --reid and --detections")
        if model == "cstrack" and conf is not None:
            overrides.setdefault("conf_threshold", conf)
        options = (model, weights, model_preset, device, dtype, input_size, benchmark, tracker_preset)
        return _track_end_to_end(
            source,
            model,
            lambda: end_to_end_factory(*options, overrides, fast_resize, deform_kernel),
            save_txt,
            save_video,
            frame_rate,
            split_out,
            tracker_name,
            progress,
        )
    preset = tracker_preset or ("onnx" if detector is not None else "public")
    factory = tracker_factory(model, benchmark, preset, **overrides)
    if is_split_folder(source):
        if save_txt or save_video or detections or split_out is None:
            raise ValueError(
                f"{source}: a folder of sequences writes one result per sequence: give --split-out DIR "
                "(and no --save-txt, --save-video or --detections)"
            )
        detect, embed = _plugins(detector, reid, conf, classes, device)
        return track_split(
            source,
            split_out,
            factory,
            det_file,
            "trackeval",
            tracker_name or model,
            detect,
            embed,
            frame_rate,
            progress,
        )
    if detector is not None and detections is not None:
        raise ValueError(
            "give either a detector (--detector) or precomputed detections (--detections), not both"
        )
    frames = open_source(source, fps=frame_rate)
    if detector is None and detections is None and isinstance(frames, SequenceFrames):
        if (frames.folder / "det" / det_file).is_file():
            detections = frames.folder / "det" / det_file
            log.info("%s: using the precomputed detections %s", frames.name, detections)
    if detector is None and detections is None:
        _check_inputs(frames, None, None, None, None)  # raises the "no detector and no detections" error
    detect, embed = _plugins(detector, reid, conf, classes, device)
    tracker = factory(tracker_frame_rate(frame_rate, frames.fps))
    min_score = conf if detections is not None else None
    return track_source(frames, tracker, detect, embed, detections, save_txt, save_video, progress, min_score)


def _warn_unknown_benchmark(benchmark: str | None) -> None:
    """A benchmark name outside the evaluator's presets is allowed (a custom dataset), but it turns
    nothing on, which a typo (``MOT71``) would hide."""
    from discmot.eval.motchallenge import PRESETS

    if benchmark is not None and benchmark.lower() not in {name.lower() for name in PRESETS}:
        log.warning(
            "--benchmark %s is none of %s: it changes nothing (MOT15/16/17/20 turn on the pedestrian "
            "output filter)",
            benchmark,
            ", ".join(PRESETS),
        )


def _track_end_to_end(
    source,
    model: str,
    build: Callable[[], Callable[[float], Tracker]],
    save_txt,
    save_video,
    frame_rate,
    split_out,
    tracker_name,
    progress,
) -> dict:
    """`track` for FDTA and CSTrack: ``build()`` loads the model (after the cheap checks of the source)
    and returns ``frame_rate -> tracker``."""
    if is_split_folder(source):
        if split_out is None or save_txt or save_video:
            raise ValueError(
                f"{source}: a folder of sequences writes one result per sequence: give --split-out DIR"
            )
        return track_split(
            source,
            split_out,
            build(),
            layout="trackeval",
            tracker_name=tracker_name or model,
            frame_rate=frame_rate,
            progress=progress,
            needs_detections=False,
        )
    frames = open_source(source, fps=frame_rate)
    tracker = build()(tracker_frame_rate(frame_rate, frames.fps))
    return track_source(frames, tracker, save_txt=save_txt, save_video=save_video, progress=progress)


def tracker_factory(
    model: str = "jde", benchmark: str | None = None, preset: str = "cstrack", **overrides
) -> Callable[[float], Tracker]:
    """``frame_rate -> tracker`` for a tracker name, a settings preset and an optional benchmark."""
    if model != "jde":
        raise ValueError(f"unknown tracker model {model!r} for detection-based tracking: use 'jde'")
    from discmot.trackers.association import JDETracker, JDETrackerConfig

    config = JDETrackerConfig.preset(preset, benchmark, **overrides)
    return lambda frame_rate: JDETracker(config, frame_rate=frame_rate)


def _plugins(detector, reid, conf, classes, device) -> tuple[Detector | None, Embedder | None]:
    """Builds the ONNX detector and embedder (they raise ValueError for a missing or bad model file)."""
    if detector is None and reid is None:
        return None, None
    from discmot.trackers import detectors

    detect = embed = None
    try:
        if detector is not None:
            options = {} if conf is None else {"conf": conf}
            detect = detectors.YoloxDetector(detector, classes=tuple(classes), device=device, **options)
        if reid is not None:
            embed = detectors.OnnxReidEmbedder(reid, device=device)
    except (FileNotFoundError, detectors.OnnxRuntimeMissingError, RuntimeError) as error:
        # a missing model file, no onnxruntime, CUDA asked for but failing: one line, like bad input
        raise ValueError(str(error)) from None
    return detect, embed
