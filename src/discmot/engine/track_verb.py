"""The ``discmot track`` verb as one call: `track` checks the options, picks a flow and runs it.

- ``model="jde"``: detections from an ONNX detector (plus a ReID model) or precomputed files, associated by
  the JDE cascade (`tracker_factory`);
- ``model="fdta"``/``"cstrack"``: an end-to-end network from ``weights`` (`discmot.engine.end_to_end`);

each over one source (`discmot.engine.infer.track_source`) or over every sequence of a split folder
(`discmot.engine.infer.track_split`, TrackEval's layout). The options are checked first, and an option
the chosen model would ignore is an error naming what to do instead (`discmot.engine.track_checks`, which
also holds the option groups `DetectionInputs` and `TrackOutputs`).

The two flows live beside it: `discmot.engine.track_detections` (``jde``, with `tracker_factory`) and
`discmot.engine.track_end_to_end` (``fdta``, ``cstrack``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from discmot.engine.end_to_end import END_TO_END, AssociationOptions, NetworkOptions, build_end_to_end
from discmot.engine.track_checks import (
    DEFAULT_CLASSES,
    DEFAULT_DET_FILE,
    DetectionInputs,
    TrackOutputs,
    check_detection_options,
    check_end_to_end_options,
    check_fdta_only_options,
    check_paths,
    class_ids,
    warn_unknown_benchmark,
)
from discmot.engine.track_detections import run_on_detections, tracker_factory
from discmot.engine.track_end_to_end import run_end_to_end
from discmot.io.video import check_max_frames
from discmot.models import network_input_size
from discmot.models.registry import BUNDLED, MODEL_NAMES
from discmot.structures import Tracks

if TYPE_CHECKING:
    from discmot.ops.deform_attn_triton import DeformKernelChoice

# `tracker_factory` with them: tests and `discmot.engine.infer.tracker_factory` take it from here
__all__ = ["checkpoint_kind", "model_and_weights", "track", "tracker_factory"]

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
    deform_kernel: DeformKernelChoice = "auto",
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
    return run_track(
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


def run_track(
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
    deform_kernel: DeformKernelChoice,
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
        return run_on_detections(source, model, inputs, association, outputs)
    check_end_to_end_options(model, network, inputs, association)
    if conf is not None and association.conf_threshold is None:
        association = replace(association, conf_threshold=conf)  # CSTrack's conf_thres, FDTA's det_thresh
    return run_end_to_end(
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
        from discmot.engine.demo_config import bundled_weights

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
    from discmot.io.safetensors_format import safetensors_metadata

    path = Path(path)
    if path.suffix.lower() != ".safetensors" or not path.is_file():
        return None
    kind = safetensors_metadata(path).get("kind")
    return kind if kind in END_TO_END else None
