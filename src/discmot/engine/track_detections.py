"""`discmot.engine.track_verb.track` for ``model="jde"``: the association cascade on a detector's boxes
or on precomputed detections, over one source or a split.

`tracker_factory` builds the cascade's trackers, `_plugins` the ONNX detector and ReID embedder.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from discmot.engine.end_to_end import AssociationOptions
from discmot.engine.infer import Detector, Embedder, track_source, track_split, tracker_frame_rate
from discmot.engine.source_checks import check_outputs, no_detections_error
from discmot.engine.split_folders import is_split_folder, nothing_left
from discmot.engine.track_checks import (
    DEFAULT_CLASSES,
    DEFAULT_DET_FILE,
    DetectionInputs,
    TrackOutputs,
    check_one_source_outputs,
    check_split_out,
    check_whole_split,
    refuse_missing_files,
    refuse_on_frame,
    warn_if_nothing_written,
)
from discmot.io.video import SequenceFrames, first_frames, open_source
from discmot.trackers.base import DetectionTracker

# the name these lines had when they were part of `discmot.engine.track_verb` (users filter on it)
log = logging.getLogger("discmot.engine.track_verb")


def run_on_detections(
    source, model: str, inputs: DetectionInputs, association: AssociationOptions, outputs: TrackOutputs
) -> dict:
    """`track` for ``model="jde"``: the cascade on a detector's boxes or precomputed detections."""
    preset = association.preset or ("onnx" if inputs.detector is not None else "public")
    if inputs.detector is None and inputs.classes != DEFAULT_CLASSES:
        raise ValueError(
            "--classes picks the detector's classes (--detector): precomputed detections carry none"
        )
    classes = inputs.classes if inputs.detector is not None else None  # precomputed ones carry none
    factory = tracker_factory(
        model, association.benchmark, preset, classes=classes, **association.overrides()
    )
    if is_split_folder(source):
        if inputs.detector is None:
            _log_association_preset(preset, association)
        return _track_split_of_detections(source, factory, inputs, outputs)
    if inputs.detector is not None and inputs.detections is not None:
        raise ValueError(
            "give either a detector (--detector) or precomputed detections (--detections), not both"
        )
    refuse_missing_files(inputs=inputs)
    check_one_source_outputs(source, outputs)
    frames = open_source(source, fps=outputs.frame_rate)
    detections = inputs.detections
    sequence = _sequence_folder(source, frames)
    if inputs.detector is None and detections is None and sequence is not None:
        det_path = sequence / "det" / inputs.det_file
        if det_path.is_file():
            detections = det_path
            log.info("%s: using the precomputed detections %s", frames.name, detections)
        elif inputs.det_file != DEFAULT_DET_FILE:
            raise FileNotFoundError(f"{det_path}: detections file not found (--det-file {inputs.det_file})")
    if inputs.detector is None and detections is None:
        raise no_detections_error(frames)
    if inputs.detector is None:  # said once there are detections to associate (not before an error)
        _log_association_preset(preset, association)
    check_outputs(frames, detections, outputs.save_txt, outputs.save_video)  # again in track_source: cheap
    outputs.started()
    detect, embed = _plugins(inputs)
    tracker = factory(tracker_frame_rate(outputs.frame_rate, frames.fps))
    min_score = inputs.conf if detections is not None else None
    warn_if_nothing_written(source, outputs)
    return track_source(
        first_frames(frames, outputs.max_frames),
        tracker,
        detect,
        embed,
        detections,
        save_txt=outputs.save_txt,
        save_video=outputs.save_video,
        progress=outputs.progress,
        min_score=min_score,
        on_frame=outputs.on_frame,
    )


def _sequence_folder(source, frames) -> Path | None:
    """The sequence folder ``source`` is, whose ``det/`` may hold its detections: a `SequenceFrames`'
    folder, or a folder with only ``img1/`` (no ``seqinfo.ini``), which `open_source` reads as the image
    folder ``img1``; ``None`` for any other source (a video, an image folder, a glob)."""
    if isinstance(frames, SequenceFrames):
        return frames.folder
    if isinstance(source, str | os.PathLike) and Path(frames.location) == Path(source) / "img1":
        return Path(source)
    return None


def _log_association_preset(preset: str, association: AssociationOptions) -> None:
    """Says which settings preset associates precomputed detections, with its thresholds: the default,
    ``public``, keeps every detection, fit for a benchmark's public detections; a generic detector's
    boxes saved down to low scores track far better with ``onnx`` (HOTA 55.7 against 46.9 on
    PETS09-S2L1's YOLOX-nano detections)."""
    from discmot.trackers.association import JDETrackerConfig

    config = JDETrackerConfig.preset(preset, association.benchmark, **association.overrides())
    birth = config.conf_threshold if config.birth_threshold is None else config.birth_threshold
    advice = (
        "; a detector's boxes saved down to low scores (an ONNX detector's) want --tracker-preset onnx"
        if association.preset is None and preset == "public"
        else ""
    )
    log.info(
        "precomputed detections: association preset %s (detections scoring >= %g kept, tracks born "
        "from >= %g)%s",
        preset,
        config.conf_threshold,
        birth,
        advice,
    )


def _track_split_of_detections(
    source, factory: Callable[[float], DetectionTracker], inputs: DetectionInputs, outputs: TrackOutputs
) -> dict:
    """`track_split` for ``model="jde"``: each sequence's ``det/<det_file>``, or the detector's boxes."""
    refuse_on_frame(source, outputs)
    if outputs.save_txt or outputs.save_video or inputs.detections or outputs.split_out is None:
        raise ValueError(
            f"{source}: a folder of sequences writes one result per sequence: give --split-out DIR "
            "(and no --save-txt, --save-video or --detections)"
        )
    check_whole_split(source, outputs)
    check_split_out(outputs)
    # the sequences a detector tracks need images, the others det/<det_file>
    all_there = nothing_left(source, outputs, None if inputs.detector is not None else inputs.det_file)
    if not all_there:
        refuse_missing_files(inputs=inputs)
        outputs.started()
    # the ONNX models (about a second to load) only for a sequence to track: `track_split` then only
    # says that every result is there
    detect, embed = (None, None) if all_there else _plugins(inputs)
    return track_split(
        source,
        outputs.split_out,
        factory,
        det_file=inputs.det_file,
        layout="trackeval",
        tracker_name=outputs.tracker_name,
        detect=detect,
        embed=embed,
        frame_rate=outputs.frame_rate,
        progress=outputs.progress,
        needs_detections=inputs.detector is None,  # without `detect`, the same sequences as with it
        skip_existing=outputs.skip_existing,
    )


def tracker_factory(
    model: str = "jde",
    benchmark: str | None = None,
    preset: str = "cstrack",
    classes: tuple[int, ...] | None = None,
    **overrides,
) -> Callable[[float], DetectionTracker]:
    """``frame_rate -> tracker`` for a tracker name, a settings preset and an optional benchmark.

    With detector ``classes`` other than people alone (COCO 0) the tracker is a
    `discmot.trackers.per_class.PerClassTracker` (a detection only continues a track of its own class,
    and the pedestrian output filter keeps to people); otherwise the single `JDETracker`.
    """
    if model != "jde":
        raise ValueError(f"unknown tracker model {model!r} for detection-based tracking: use 'jde'")
    from discmot.trackers.association import JDETracker, JDETrackerConfig
    from discmot.trackers.per_class import PERSON_CLASS, PerClassTracker

    config = JDETrackerConfig.preset(preset, benchmark, **overrides)
    # people alone: the single cascade; any other class (cars alone too) per class, where CSTrack's
    # pedestrian output filter applies to people only
    per_class = classes is not None and set(classes) != {PERSON_CLASS}
    kind = PerClassTracker if per_class else JDETracker
    return lambda frame_rate: kind(config, frame_rate=frame_rate)


def _plugins(inputs: DetectionInputs) -> tuple[Detector | None, Embedder | None]:
    """Builds the ONNX detector and embedder (they raise ValueError for a missing or bad model file)."""
    if inputs.detector is None and inputs.reid is None:
        return None, None
    from discmot.trackers import detectors

    detect = embed = None
    try:
        if inputs.detector is not None:
            options = {} if inputs.conf is None else {"conf": inputs.conf}
            # YOLOX, YOLOv5 or YOLOv8/YOLO11, chosen from the model's output shape (the ignore: mypy
            # checks a **dict against every parameter, not the one key it holds)
            detect = detectors.onnx_detector(
                inputs.detector,
                classes=inputs.classes,
                device=inputs.device,
                **options,  # type: ignore[arg-type]
            )
        if inputs.reid is not None:
            embed = detectors.OnnxReidEmbedder(inputs.reid, device=inputs.device)
    except (FileNotFoundError, detectors.OnnxRuntimeMissingError, RuntimeError) as error:
        # a missing model file, no onnxruntime, CUDA asked for but failing: one line, like bad input
        raise ValueError(str(error)) from None
    return detect, embed
