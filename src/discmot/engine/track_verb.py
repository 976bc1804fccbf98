"""The ``discmot track`` verb as one call: `track` checks the options, picks a flow and runs it.

- ``model="jde"``: detections from an ONNX detector (plus a ReID model) or precomputed files, associated by
  the JDE cascade (`tracker_factory`);
- ``model="fdta"``/``"cstrack"``: an end-to-end network from ``weights`` (`discmot.engine.end_to_end`);

each over one source (`discmot.engine.infer.track_source`) or over every sequence of a split folder
(`discmot.engine.infer.track_split`, TrackEval's layout). The options are checked first, and an option
the chosen model would ignore is an error naming what to do instead (`discmot.engine.track_checks`, which
also holds the option groups `DetectionInputs` and `TrackOutputs`).
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from discmot.engine.end_to_end import END_TO_END, AssociationOptions, NetworkOptions, build_end_to_end
from discmot.engine.infer import (
    Detector,
    Embedder,
    check_outputs,
    is_split_folder,
    is_trackable_sequence,
    no_detections_error,
    track_source,
    track_split,
    tracker_frame_rate,
)
from discmot.engine.track_checks import (
    DEFAULT_CLASSES,
    DEFAULT_DET_FILE,
    DetectionInputs,
    TrackOutputs,
    check_detection_options,
    check_end_to_end_options,
    check_fdta_only_options,
    check_one_source_outputs,
    check_paths,
    check_split_out,
    check_whole_split,
    class_ids,
    refuse_missing_files,
    refuse_on_frame,
    warn_if_nothing_written,
    warn_unknown_benchmark,
)
from discmot.io.video import SequenceFrames, check_max_frames, first_frames, open_source
from discmot.models import network_input_size
from discmot.models.registry import BUNDLED, MODEL_NAMES
from discmot.structures import Tracks
from discmot.trackers.base import DetectionTracker, EndToEndTracker

log = logging.getLogger(__name__)


def track(
    source: str | Path | int,
    *,
    model: str | None = None,
    detector: str | Path | None = None,
    reid: str | Path | None = None,
    conf: float | None = None,
    classes: int | tuple[int, ...] = DEFAULT_CLASSES,
    device: str = "cpu",
    detections: str | Path | None = None,
    det_file: str = DEFAULT_DET_FILE,
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
    cuda_graph: bool = True,
    id_assignment: str | None = None,
    id_thresh: float | None = None,
    miss_tolerance: int | None = None,
    max_frames: int | None = None,
    skip_existing: bool = False,
    on_start: Callable[[], object] | None = None,
    on_frame: Callable[[int, Tracks], object] | None = None,
) -> dict:
    """Tracks a video, image folder, glob, webcam index, sequence folder or whole split (``discmot track``).

    A folder of sequence folders runs `track_split` into ``split_out`` (TrackEval layout) and returns
    ``{sequence: summary}``; anything else runs `track_source` and returns its summary. A sequence folder
    with ``det/<det_file>`` uses those detections when neither ``detector`` nor ``detections`` is given.

    Args:
        model: the tracker: ``"jde"`` (the JDE/CSTrack association cascade on a detector's or precomputed
            boxes), or an end-to-end model that detects for itself, ``"fdta"`` or ``"cstrack"`` (CSTrack's
            network + the same cascade with the original's thresholds, `discmot.trackers.cstrack`).
            ``None`` (default): ``"jde"``, or with ``weights`` the model a discmot checkpoint's metadata
            names (`model_and_weights`).
        detector, reid: ONNX files of a detector without NMS inside (YOLOX, YOLOv5 or YOLOv8/YOLO11,
            told apart by the output shape: `discmot.trackers.detectors.onnx_detector`) and of an
            OSNet-style ReID model (``jde`` only).
        conf: detector score threshold (its default when ``None``); with precomputed detections, drop
            those scoring below; for ``cstrack`` the network's ``conf_thres`` (0.5) and for ``fdta`` its
            checkpoint's ``runtime.det_thresh`` (0.3), unless ``track_thresh`` is given.
        classes, detections, det_file: detector classes kept (COCO ids, one or several; 0 is person),
            a precomputed detections file, and the detections file in a sequence's ``det/`` folder
            (``jde`` only).
        benchmark: MOT15-20 turn on CSTrack's pedestrian output filter.
        tracker_preset: `discmot.trackers.association.TRACKER_PRESETS` entry (default: ``"onnx"`` with a
            detector, ``"public"`` with precomputed detections, ``"cstrack"`` (the original's) for
            ``model="cstrack"``).
        track_thresh, birth_thresh: override the preset's detection and track-birth score thresholds
            (for ``fdta``: the checkpoint's ``runtime.det_thresh`` and ``runtime.newborn_thresh``).
        kalman_boxes: write the Kalman estimate instead of the matched detection box.
        output_filter: force CSTrack's pedestrian output filter on or off (default: the preset's and the
            benchmark's: on for ``cstrack``, as in the original, and for MOT15-20). ``tracker_preset``,
            ``kalman_boxes`` and ``output_filter`` set the association cascade: ``jde`` and ``cstrack``
            only.
        weights, model_preset, dtype, input_size: for ``fdta`` and ``cstrack``: the checkpoint (official
            .pth/.pt, discmot .safetensors, a run folder, or ``"bundled"``: the demo's tiny one of the
            model; required), its preset if it cannot be inferred,
            ``fp32``/``fp16``/``bf16`` and an explicit network input size ``(h, w)`` (default: the
            checkpoint config's; FDTA: its ``runtime`` shorter and longer side, 800 and at most 1440 for
            the official ones; CSTrack: 608x1088 for the official one, multiples of 32).
        fast_resize: FDTA only: resize frames in float instead of the original's 8-bit PIL resize (about
            three times faster at 1080p on a CPU, no faster on a GPU; pixels within one 8-bit step).
        deform_kernel: FDTA only: its deformable attention's path, ``"auto"`` (the fused Triton kernel on
            CUDA when triton is installed and the kernel checks equal to PyTorch's, else PyTorch),
            ``"pytorch"`` or ``"triton"`` (an error when it cannot be used); see
            `discmot.ops.deform_attn_triton.select_deform_kernel`.
        cuda_graph: FDTA and CSTrack on CUDA: replay the network from a CUDA graph (one launch for its
            hundreds of kernels; `discmot.ops.cuda_graph`); ``False`` runs it eagerly.
        id_assignment: FDTA only: how ID probabilities become labels, ``"object-max"`` (every
            official config's), ``"hungarian"`` or ``"id-max"`` (the original's alternatives); default:
            the checkpoint's ``runtime.assignment_protocol``.
        id_thresh, miss_tolerance: FDTA only: the least ID probability that continues a track (0.2 in
            the released models) and the frames a track is remembered (its history window is one frame
            shorter; at most the model's ``id_decoder.rel_pe_length``); default: the checkpoint's.
        device: where the ONNX models or the FDTA/CSTrack network run (``cpu``, ``cuda``, ``cuda:1``).
        frame_rate: the tracker's frame rate (default: the source's, rounded to a whole number, else 30);
            also the rate of an image folder's output video.
        max_frames: track only frames ``1..max_frames`` of one source (a quick look at a long video); a
            folder of sequences is always tracked whole, as its scores need every frame.
        skip_existing: a folder of sequences only: go on with a stopped run, tracking only the sequences
            without a results file in ``split_out`` yet (the others are kept as they are); with every
            one there nothing is tracked, no model is loaded (neither ``weights`` nor an ONNX
            ``detector`` or ``reid``) and ``on_start`` is not called: an INFO line says so.
        on_start: called once the options and the source checked out, before a model loads or a frame
            is tracked (``discmot track`` says there whether busy cores will slow it down: after the
            errors of bad input, not before them).
        on_frame: one source only: called after each tracked frame with its number (the source's, from
            1) and its `discmot.structures.Tracks` (what ``save_txt`` gets as rows; empty ones too), to
            keep the tracks in memory without writing a file, e.g. ``on_frame=tracks.__setitem__`` for
            ``tracks = {}``.

    Returns:
        For one source, `discmot.engine.infer.track_source`'s summary: ``name``, ``frames`` (tracked),
        ``skipped`` (frame numbers not decodable), ``rows`` (results rows), ``ids`` (distinct track ids),
        ``seconds``, ``fps``, ``interrupted``, ``save_txt``, ``save_video``; for a folder of sequences,
        ``{sequence name: that summary}`` of the sequences tracked by this call (those kept by
        ``skip_existing`` are left out: ``{}`` when every one was kept). Without ``save_txt``,
        ``save_video`` or ``on_frame`` the tracks themselves are not kept: only this summary.

    Raises:
        TypeError: ``source`` or ``weights`` that is no path (frames or a model in memory: use a tracker's
            ``update(frame)``, see the module `discmot.trackers`), ``classes`` that are no class ids, or
            an ``on_frame`` that is no function.
        ValueError: bad input, or an option the chosen model does not use (one line naming it as the
            command line spells it: ``--split-out`` for ``split_out``).
    """
    # the implementation that `discmot track` calls too, with the command line's option names
    return _track(
        source,
        command_line=False,
        model=model,
        detector=detector,
        reid=reid,
        conf=conf,
        classes=classes,
        device=device,
        detections=detections,
        det_file=det_file,
        save_txt=save_txt,
        save_video=save_video,
        benchmark=benchmark,
        frame_rate=frame_rate,
        split_out=split_out,
        tracker_name=tracker_name,
        progress=progress,
        tracker_preset=tracker_preset,
        track_thresh=track_thresh,
        birth_thresh=birth_thresh,
        kalman_boxes=kalman_boxes,
        output_filter=output_filter,
        weights=weights,
        model_preset=model_preset,
        dtype=dtype,
        input_size=input_size,
        fast_resize=fast_resize,
        deform_kernel=deform_kernel,
        cuda_graph=cuda_graph,
        id_assignment=id_assignment,
        id_thresh=id_thresh,
        miss_tolerance=miss_tolerance,
        max_frames=max_frames,
        skip_existing=skip_existing,
        on_start=on_start,
        on_frame=on_frame,
    )


def _track(
    source: str | Path | int,
    *,
    command_line: bool,
    model: str | None,
    detector: str | Path | None,
    reid: str | Path | None,
    conf: float | None,
    classes: int | tuple[int, ...],
    device: str,
    detections: str | Path | None,
    det_file: str,
    save_txt: str | Path | None,
    save_video: str | Path | None,
    benchmark: str | None,
    frame_rate: float | None,
    split_out: str | Path | None,
    tracker_name: str | None,
    progress: bool | None,
    tracker_preset: str | None,
    track_thresh: float | None,
    birth_thresh: float | None,
    kalman_boxes: bool,
    output_filter: bool | None,
    weights: str | Path | None,
    model_preset: str | None,
    dtype: str,
    input_size: tuple[int, int] | None,
    fast_resize: bool,
    deform_kernel: str,
    cuda_graph: bool,
    id_assignment: str | None,
    id_thresh: float | None,
    miss_tolerance: int | None,
    max_frames: int | None,
    skip_existing: bool,
    on_start: Callable[[], object] | None,
    on_frame: Callable[[int, Tracks], object] | None,
) -> dict:
    """`track`, its messages naming the command line's options (``--save-txt``) when ``command_line``,
    else `track`'s keywords (``save_txt=``): every keyword is required here, so that `track` and
    ``discmot track`` (`discmot.cli.track`) each pass them all and neither can fall behind the other."""
    check_paths(source, weights)
    if on_frame is not None and not callable(on_frame):
        raise TypeError(f"on_frame must be a function (frame number, Tracks), got {type(on_frame).__name__}")
    model, weights = model_and_weights(model, weights)
    association = AssociationOptions(
        benchmark=benchmark,
        preset=tracker_preset,
        conf_threshold=track_thresh,
        birth_threshold=birth_thresh,
        output_detection_boxes=False if kalman_boxes else None,
        output_filter=output_filter,
    )
    check_max_frames(max_frames)
    classes = class_ids(classes)
    inputs = DetectionInputs(detector, reid, conf, classes, device, detections, det_file)
    outputs = TrackOutputs(
        save_txt,
        save_video,
        split_out,
        tracker_name or model,
        frame_rate,
        progress,
        max_frames,
        skip_existing,
        on_start,
        on_frame,
        command_line,
        tracker_name_given=tracker_name is not None,
    )
    warn_unknown_benchmark(benchmark)
    fdta_runtime = {
        key: value
        for key, value in (
            ("assignment_protocol", id_assignment),
            ("id_thresh", id_thresh),
            ("miss_tolerance", miss_tolerance),
        )
        if value is not None
    }
    check_fdta_only_options(model, fast_resize, deform_kernel, fdta_runtime)
    network = NetworkOptions(
        weights,
        model_preset,
        device,
        dtype,
        network_input_size(input_size),
        fast_resize,
        deform_kernel,
        fdta_runtime,
        cuda_graph,
    )
    if model not in END_TO_END:
        check_detection_options(model, network)
        return _track_detections(source, model, inputs, association, outputs)
    check_end_to_end_options(model, network, inputs, association)
    if conf is not None and association.conf_threshold is None:
        association = replace(association, conf_threshold=conf)  # CSTrack's conf_thres, FDTA's det_thresh
    return _track_end_to_end(
        source, lambda: build_end_to_end(model, network, association), outputs, network.weights
    )


def model_and_weights(model: str | None, weights: str | Path | None) -> tuple[str, str | Path | None]:
    """The model to run and its checkpoint file, from ``--model`` and ``--weights`` as given.

    ``weights="bundled"`` is the demo's tiny checkpoint of ``model`` (`discmot.bundled_weights`). Without
    a ``model``: the kind a discmot checkpoint's metadata names (`checkpoint_kind`), said at INFO; else
    ``"jde"`` (whose check then refuses weights it cannot use: an official file needs ``--model``).

    Raises:
        ValueError: an unknown ``model``, ``bundled`` without an end-to-end one, or a run folder without
            final weights (`discmot.models.registry.weights_file`).
    """
    if model is not None and model not in ("jde", *END_TO_END):
        raise ValueError(f"unknown model {model!r}: choose jde, {', '.join(END_TO_END)}")
    if weights is not None and str(weights) == BUNDLED:
        if model not in END_TO_END:
            raise ValueError(
                f"--weights {BUNDLED} is the demo's tiny model of --model {' or '.join(END_TO_END)}: give "
                "one of those"
            )
        from discmot.engine.demo import bundled_weights

        return model, bundled_weights(model)
    if model is not None or weights is None:
        return model or "jde", weights
    from discmot.models.registry import weights_file

    try:
        path = weights_file(weights)  # a run folder: its final weights (said at INFO)
    except FileNotFoundError:  # jde's check names the options; with a --model, loading names the file
        return "jde", weights
    kind = checkpoint_kind(path)
    if kind is None:  # jde's check says that --weights is an option of --model fdta and cstrack
        return "jde", weights
    log.info("%s: a %s checkpoint (its metadata says): --model %s", weights, MODEL_NAMES[kind], kind)
    return kind, path


def checkpoint_kind(path: str | Path) -> str | None:
    """The model kind (``"fdta"``, ``"cstrack"``) a discmot ``.safetensors`` checkpoint records in its
    metadata, read from its header alone; ``None`` for other files (an official one: only loading it,
    seconds to a minute, could tell)."""
    from discmot.io.checkpoints import safetensors_metadata

    path = Path(path)
    if path.suffix.lower() != ".safetensors" or not path.is_file():
        return None
    kind = safetensors_metadata(path).get("kind")
    return kind if kind in END_TO_END else None


def _track_end_to_end(
    source, build: Callable[[], Callable[[float], EndToEndTracker]], outputs: TrackOutputs, weights=None
) -> dict:
    """`track` for FDTA and CSTrack: ``build()`` loads the model (after the cheap checks of the source)
    and returns ``frame_rate -> tracker``; ``weights``, its checkpoint, must exist once there is
    something to track (a finished split with ``skip_existing`` opens none)."""
    if is_split_folder(source):
        refuse_on_frame(source, outputs)
        if outputs.split_out is None or outputs.save_txt or outputs.save_video:
            raise ValueError(
                f"{source}: a folder of sequences writes one result per sequence: give --split-out DIR"
            )
        check_whole_split(source, outputs)
        check_split_out(outputs)
        if not _nothing_left(source, outputs, det_file=None):  # else no model loads: nothing is slow
            refuse_missing_files(weights=weights)
            outputs.started()
        filtered = _FilteredCount()  # what the output filter dropped, summed as each sequence ends
        factory = _built_when_first_used(build)
        summaries = track_split(
            source,
            outputs.split_out,
            lambda frame_rate: filtered.tracking(factory(frame_rate)),
            layout="trackeval",
            tracker_name=outputs.tracker_name,
            frame_rate=outputs.frame_rate,
            progress=outputs.progress,
            needs_detections=False,
            skip_existing=outputs.skip_existing,
        )
        _warn_if_nobody_tracked(source, list(summaries.values()), filtered.total())
        return summaries
    check_one_source_outputs(source, outputs)
    frames = first_frames(open_source(source, fps=outputs.frame_rate), outputs.max_frames)
    check_outputs(frames, None, outputs.save_txt, outputs.save_video)  # again in track_source: cheap
    refuse_missing_files(weights=weights)
    outputs.started()
    tracker = build()(tracker_frame_rate(outputs.frame_rate, frames.fps))
    warn_if_nothing_written(source, outputs)
    summary = track_source(
        frames,
        tracker,
        save_txt=outputs.save_txt,
        save_video=outputs.save_video,
        progress=outputs.progress,
        on_frame=outputs.on_frame,
    )
    _warn_if_nobody_tracked(source, [summary], _filtered_rows(tracker))
    return summary


def _built_when_first_used(
    build: Callable[[], Callable[[float], EndToEndTracker]],
) -> Callable[[float], EndToEndTracker]:
    """``frame_rate -> tracker`` that calls ``build()`` (loads the model, seconds to a minute) when the
    first tracker is asked for: after the split's cheap checks, and never when ``--skip-existing`` leaves
    nothing to track."""
    loaded = functools.cache(build)  # one model for every sequence's tracker
    return lambda frame_rate: loaded()(frame_rate)


class _FilteredCount:
    """The rows the output filter dropped (`_filtered_rows`) over a split's sequences, counted as each
    sequence's tracker gives way to the next: only the tracker under way is held (an FDTA tracker's
    history of feature maps is GPU memory; a split's worth of them would pile up)."""

    def __init__(self):
        self.finished = 0  # the sequences done
        self.current: EndToEndTracker | None = None

    def tracking(self, tracker: EndToEndTracker) -> EndToEndTracker:
        """``tracker``, the next sequence's, counted from now on; the one before it is done."""
        if self.current is not None:
            self.finished += _filtered_rows(self.current)
        self.current = tracker
        return tracker

    def total(self) -> int:
        return self.finished + (0 if self.current is None else _filtered_rows(self.current))


def _filtered_rows(tracker: EndToEndTracker) -> int:
    """The output rows CSTrack's pedestrian output filter dropped since ``tracker``'s last reset (its
    association's `JDETracker.filtered_boxes`); 0 for FDTA, which has no association cascade."""
    association = getattr(tracker, "association", None)  # CSTrackTracker's JDETracker
    return 0 if association is None else association.filtered_boxes


def _warn_if_nobody_tracked(source, summaries: list[dict], filtered: int = 0) -> None:
    """An end-to-end model that tracked no one in a whole source (every sequence of a split) gets a hint
    at the likely causes: an empty results file alone does not say why (a short training run's model
    finds nobody, as does one given frames unlike its training data). When CSTrack's pedestrian output
    filter dropped the ``filtered`` rows there were, the filter is the cause: a custom scene's tiny
    CSTrack had all 59 of its confirmed boxes dropped, and 34 ids with ``--no-output-filter``."""
    frames = sum(s["frames"] for s in summaries)
    if frames and not any(s["rows"] for s in summaries) and filtered:
        log.warning(
            "%s: no object tracked in %d frames: the pedestrian output filter dropped all %d confirmed "
            "track boxes (width/height > 0.6 or area <= 100): for objects that are not standing people, "
            "track with --no-output-filter",
            source,
            frames,
            filtered,
        )
    elif frames and not any(s["rows"] for s in summaries):
        log.warning(
            "%s: no object tracked in %d frames: the network's detections never passed its threshold "
            "(--track-thresh). Were the weights trained long enough, on frames like these, at this input "
            "size (--input-size)?",
            source,
            frames,
        )


def _track_detections(
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
    nothing_left = _nothing_left(source, outputs, None if inputs.detector is not None else inputs.det_file)
    if not nothing_left:
        refuse_missing_files(inputs=inputs)
        outputs.started()
    # the ONNX models (about a second to load) only for a sequence to track: `track_split` then only
    # says that every result is there
    detect, embed = (None, None) if nothing_left else _plugins(inputs)
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


def _nothing_left(source, outputs: TrackOutputs, det_file: str | None) -> bool:
    """Whether ``skip_existing`` keeps every sequence of the split ``source``: none without a results file
    in ``split_out`` is one `track_split` would track (`discmot.engine.infer.is_trackable_sequence`, with
    ``det_file=None`` for images). Decided from the files alone, before any model loads, so that a
    re-run of a finished split loads none (an FDTA checkpoint: up to a minute)."""
    if not outputs.skip_existing:
        return False
    results = Path(outputs.split_out) / outputs.tracker_name / "data"  # track_split's "trackeval" layout
    missing = (
        folder
        for folder in Path(source).iterdir()
        if (folder / "seqinfo.ini").is_file() and not (results / f"{folder.name}.txt").is_file()
    )
    return not any(is_trackable_sequence(folder, det_file) for folder in missing)


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
            # YOLOX, YOLOv5 or YOLOv8/YOLO11, chosen from the model's output shape
            detect = detectors.onnx_detector(
                inputs.detector, classes=inputs.classes, device=inputs.device, **options
            )
        if inputs.reid is not None:
            embed = detectors.OnnxReidEmbedder(inputs.reid, device=inputs.device)
    except (FileNotFoundError, detectors.OnnxRuntimeMissingError, RuntimeError) as error:
        # a missing model file, no onnxruntime, CUDA asked for but failing: one line, like bad input
        raise ValueError(str(error)) from None
    return detect, embed
