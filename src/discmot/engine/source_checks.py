"""The checks `discmot.engine.infer.track_source` makes of a source, its detections and its outputs.

Before any work (`check_outputs`, which the ``discmot track`` verb also runs early, and `check_inputs`)
and while tracking (`check_frame_size`): each fails with a ValueError naming the file or the source.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from discmot.io.video import IMAGE_EXTENSIONS, FirstFrames, FrameSource

# the name these lines had when they were part of `discmot.engine.infer` (users and tests filter on it)
log = logging.getLogger("discmot.engine.infer")


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


def check_inputs(frames: FrameSource, detect, embed, detections, save_video) -> None:
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


def check_frame_size(frames: FrameSource, number: int, image: np.ndarray, first: tuple | None) -> tuple:
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
