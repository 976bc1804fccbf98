"""The checks and option groups of the ``discmot track`` verb (`discmot.engine.track_verb.track`).

Every option is checked before any model loads or any frame is read, and an option the chosen model
would ignore is an error naming what to do instead: one line in the command line's terms (``--save-txt``)
or in Python's (``save_txt=``). The options travel in small typed groups: `NetworkOptions` and
`AssociationOptions` (`discmot.engine.end_to_end`) and, here, `DetectionInputs` and `TrackOutputs`.
"""

from __future__ import annotations

import glob
import logging
import numbers
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from discmot.engine.end_to_end import AssociationOptions, NetworkOptions
from discmot.engine.split_folders import check_tracker_name
from discmot.io.atomic import check_folder_possible, check_writable
from discmot.io.mot import MotFormatError
from discmot.messages import require_path
from discmot.structures import Tracks

log = logging.getLogger(__name__)


#: ``track``'s defaults of the detection options that only ``model="jde"`` uses.
DEFAULT_CLASSES = (0,)
DEFAULT_DET_FILE = "det.txt"
#: The `AssociationOptions` fields FDTA takes, as its runtime ``det_thresh`` and ``newborn_thresh``.
FDTA_THRESHOLDS = ("conf_threshold", "birth_threshold")
#: `AssociationOptions` fields -> the ``discmot track`` options that set them.
ASSOCIATION_FLAGS = {
    "preset": "--tracker-preset",
    "conf_threshold": "--track-thresh",
    "birth_threshold": "--birth-thresh",
    "output_detection_boxes": "--kalman-boxes",
    "output_filter": "--output-filter",
}


@dataclass(frozen=True)
class DetectionInputs:
    """Where ``model="jde"`` gets its detections: ONNX models run on the frames, or precomputed files."""

    detector: str | Path | None
    reid: str | Path | None
    conf: float | None
    classes: tuple[int, ...]
    device: str
    detections: str | Path | None
    det_file: str


@dataclass(frozen=True)
class TrackOutputs:
    """Where `track` writes results, and the frame rate, frame limit and progress display every flow
    shares."""

    save_txt: str | Path | None
    save_video: str | Path | None
    split_out: str | Path | None
    tracker_name: str
    frame_rate: float | None
    progress: bool | None
    max_frames: int | None = None
    skip_existing: bool = False
    on_start: Callable[[], object] | None = None
    on_frame: Callable[[int, Tracks], object] | None = None
    #: Messages name the command line's options (``--save-txt``), not `track`'s keywords (``save_txt=``).
    command_line: bool = False
    #: Whether ``tracker_name`` was given (else it is the model's name): one source refuses it.
    tracker_name_given: bool = False

    def started(self) -> None:
        """Calls ``on_start`` once the options and the source checked out, before any model loads."""
        if self.on_start is not None:
            self.on_start()


#: Said where an end-to-end model is asked for without weights.
BUNDLED_WEIGHTS_HINT = "; the demo's tiny one (trained on synthetic scenes only): --weights bundled"


def check_paths(source, weights) -> None:
    """``track`` reads its frames and weights from files; a frame array or a loaded model would fail in
    pathlib with "expected str, bytes or os.PathLike object"."""
    require_path(
        source,
        "source",
        what="a path, glob or webcam index (str, Path or int)",
        hint=": to track frames held in memory, give them one by one to a tracker's update(frame) "
        "(discmot.trackers.cstrack.CSTrackTracker, discmot.trackers.fdta.FDTATracker)",
        kinds=(str, os.PathLike, int),
    )
    if weights is not None:
        require_path(
            weights,
            "weights",
            what="a checkpoint path (str or Path)",
            hint=": a model already loaded goes to a tracker, e.g. discmot.trackers.fdta.FDTATracker(model)",
        )


def class_ids(classes) -> tuple[int, ...]:
    """``classes`` as a tuple of COCO class ids: one id or several (``"person"`` is no id: 0 is)."""
    one = isinstance(classes, (numbers.Integral, str)) or not isinstance(classes, Iterable)
    given = (classes,) if one else tuple(classes)  # numpy ints, None and floats get the message below
    if not given or not all(isinstance(c, numbers.Integral) and not isinstance(c, bool) for c in given):
        raise TypeError(
            f"classes must be COCO class ids, one int or several (0 person, 2 car, ...), got {classes!r}"
        )
    return tuple(int(c) for c in given)


def warn_unknown_benchmark(benchmark: str | None) -> None:
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


#: The `discmot.models.fdta.config.RuntimeConfig` fields ``discmot track`` sets, by their flags.
FDTA_RUNTIME_FLAGS = {
    "assignment_protocol": "--id-assignment",
    "id_thresh": "--id-thresh",
    "miss_tolerance": "--miss-tolerance",
}


def check_fdta_only_options(
    model: str, fast_resize: bool, deform_kernel: str, fdta_runtime: Mapping[str, object]
) -> None:
    """One-line errors for FDTA's options given to another model, and for runtime values the
    `RuntimeConfig` refuses (before any checkpoint is loaded)."""
    from discmot.config import check_scalar_types
    from discmot.models.fdta.config import RuntimeConfig

    given = [FDTA_RUNTIME_FLAGS[key] for key in fdta_runtime]
    given += ["--fast-resize"] * fast_resize + ["--deform-kernel"] * (deform_kernel != "auto")
    if given and model != "fdta":
        raise ValueError(f"{given[0]} is an FDTA option (--model fdta)")
    for key, value in fdta_runtime.items():  # one at a time, so that the error names the bad one
        try:
            check_scalar_types(RuntimeConfig, {key: value})
            # check_scalar_types checked the value's type: mypy checks a **dict against every field
            RuntimeConfig(**{key: value})  # type: ignore[arg-type]
        except ValueError as error:
            reason = str(error).removeprefix("RuntimeConfig: ")
            raise ValueError(f"{FDTA_RUNTIME_FLAGS[key]} {value}: {reason}") from None


def check_detection_options(model: str, network: NetworkOptions) -> None:
    """One-line error for the network options of an end-to-end model given to ``model="jde"``, which
    runs no network of its own (its detector and ReID model are ONNX files)."""
    given = [
        flag
        for flag, value in (
            ("--weights", network.weights),
            ("--preset", network.preset),
            ("--input-size", network.input_size),
        )
        if value is not None
    ]
    if network.dtype != "fp32":
        given.append("--dtype")
    if not network.cuda_graph:
        given.append("--no-cuda-graph")
    if given:
        raise ValueError(
            f"--model {model} runs no network of its own: {', '.join(given)} "
            f"{'is an option' if len(given) == 1 else 'are options'} of --model fdta and cstrack "
            "(did you mean one of those?)"
        )


def check_end_to_end_options(
    model: str, network: NetworkOptions, inputs: DetectionInputs, association: AssociationOptions
) -> None:
    """One-line errors for the options an end-to-end model would ignore: it detects for itself, on the
    images; FDTA also has no association settings and no runtime score threshold option."""
    if inputs.detector is not None or inputs.reid is not None or inputs.detections is not None:
        raise ValueError(f"--model {model} detects for itself: drop --detector, --reid and --detections")
    if model == "cstrack" and network.input_size is not None:
        from discmot.trackers.cstrack import check_input_size

        check_input_size(network.input_size)  # before the weights are looked at: it is the option at fault
    if network.weights is None:
        raise ValueError(
            f"--model {model} needs --weights CHECKPOINT (official .pt/.pth, discmot .safetensors or a "
            f"run folder){BUNDLED_WEIGHTS_HINT}"
        )
    unused = [
        flag
        for flag, given in (
            ("--classes", inputs.classes != DEFAULT_CLASSES),
            ("--det-file", inputs.det_file != DEFAULT_DET_FILE),
        )
        if given
    ]
    if unused:
        raise ValueError(
            f"--model {model} detects for itself, on the images: drop {' and '.join(unused)} (options of "
            "--model jde's detections)"
        )
    if model != "fdta":
        return
    given = [
        flag
        for field, flag in ASSOCIATION_FLAGS.items()
        if field not in FDTA_THRESHOLDS and getattr(association, field) is not None
    ]
    if given:
        raise ValueError(
            f"--model fdta has no association cascade: drop {', '.join(given)} (they set the cascade of "
            "--model jde and cstrack; FDTA takes --track-thresh and --birth-thresh)"
        )


def refuse_missing_files(weights: str | Path | None = None, inputs: DetectionInputs | None = None) -> None:
    """A checkpoint, ONNX model or detections file that is not there, refused before `TrackOutputs.started`:
    left to the loaders, the error came after ``on_start`` (the busy-cores warning) and, for a checkpoint,
    after the model's INFO lines. The messages are the loaders' own; a file that is there is read only by
    them (seconds to a minute for a checkpoint)."""
    if weights is not None and not Path(weights).exists():  # a folder is a run folder: loading checks it
        raise FileNotFoundError(f"{weights}: no such checkpoint")
    if inputs is None:
        return
    for path in (inputs.detector, inputs.reid):
        if path is not None and not Path(path).is_file():
            raise ValueError(f"{path}: ONNX model file not found")  # as `_plugins` says it
    detections = inputs.detections
    if isinstance(detections, str | os.PathLike) and not Path(detections).exists():
        raise MotFormatError(detections, "file not found")


def check_split_out(outputs: TrackOutputs) -> None:
    """A split's results folder, ``<split_out>/<tracker_name>/data``, checked before `TrackOutputs.started`
    (`track_split` checks the name again, and writes the folder only once a model has loaded)."""
    check_tracker_name(outputs.tracker_name)
    assert outputs.split_out is not None  # its callers refuse a split without one
    check_folder_possible(Path(outputs.split_out) / outputs.tracker_name / "data")


def _missing_path(source) -> bool:
    """A path source that names nothing on disk (a webcam index and a glob pattern are not paths)."""
    if not isinstance(source, str | os.PathLike) or glob.has_magic(str(source)):
        return False
    return not Path(source).exists()


def check_one_source_outputs(source, outputs: TrackOutputs) -> None:
    """``--split-out``, ``--skip-existing`` and ``--tracker-name`` are for a folder of sequences (one
    source's results go where ``--save-txt`` says, so a name given for them would be lost without a
    word); one source without any output is tracked (its speed is printed) but said to write nothing. A
    path that is not there is said as such first (a mistyped split, ``data/vall``, was called "one
    source")."""
    split_only = outputs.split_out is not None or outputs.skip_existing or outputs.tracker_name_given
    if split_only and _missing_path(source):
        raise ValueError(f"{source}: no such file or folder (a split folder was expected: --split-out)")
    if outputs.split_out is not None:
        raise ValueError(
            f"{source}: one source, not a folder of sequence folders: --split-out writes one result per "
            "sequence of a split; write this one with --save-txt FILE"
        )
    if outputs.skip_existing:
        raise ValueError(
            f"{source}: one source, not a folder of sequence folders: --skip-existing skips the sequences "
            "of a split whose results are already in --split-out; drop it"
        )
    if outputs.tracker_name_given:
        raise ValueError(
            f"{source}: one source, not a folder of sequence folders: --tracker-name names the tracker "
            "folder under --split-out (<split-out>/<tracker-name>/data) for a split; drop it, and name "
            "this one's results file with --save-txt FILE"
        )
    for path in (outputs.save_txt, outputs.save_video):
        if path is not None:
            check_writable(path)  # now, not after the whole video was tracked


def warn_if_nothing_written(source, outputs: TrackOutputs) -> None:
    """One source without outputs is tracked (its speed is printed); said once everything checked out,
    in the caller's terms: from Python the tracks are lost too, unless ``on_frame`` takes them."""
    if outputs.save_txt is not None or outputs.save_video is not None or outputs.on_frame is not None:
        return
    if outputs.command_line:
        log.warning("%s: nothing will be written: give --save-txt FILE and/or --save-video FILE", source)
    else:
        log.warning(
            "%s: nothing will be written and no tracks kept (only the summary is returned): give save_txt= "
            "and/or save_video=, or on_frame= to take each frame's tracks",
            source,
        )


def refuse_on_frame(source, outputs: TrackOutputs) -> None:
    """``on_frame`` numbers the frames of one source: a split's sequences would share the numbers."""
    if outputs.on_frame is not None:
        raise ValueError(
            f"{source}: a folder of sequences: on_frame takes the tracks of one source; track each "
            "sequence folder in turn, or read the results files split_out= gets"
        )


def check_whole_split(source, outputs: TrackOutputs) -> None:
    if outputs.max_frames is not None:
        raise ValueError(
            f"{source}: a folder of sequences is tracked whole (its scores need every frame): drop "
            "--max-frames, or track one sequence"
        )
