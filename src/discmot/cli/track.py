"""`discmot track`: run a tracker over videos, folders, webcams, sequences and splits."""

from __future__ import annotations

import argparse
import logging

from discmot.cli.arguments import (
    frame_rate,
    hint_if_cores_busy,
    miss_tolerance,
    model_presets,
    positive_int,
    probability,
    score,
    show_progress,
    size_hw,
)
from discmot.cli.eval_hints import eval_hint, pair_eval_hint
from discmot.engine.end_to_end import END_TO_END
from discmot.models.fdta.config import ASSIGNMENT_PROTOCOLS
from discmot.models.registry import DTYPES, preset_names

log = logging.getLogger("discmot")

#: ``--tracker-preset`` and ``--deform-kernel`` choices, written out here because their sources,
#: `discmot.trackers.association.TRACKER_PRESETS` and `discmot.ops.deform_attn_triton.DEFORM_KERNEL_CHOICES`,
#: import scipy and torch; tests/test_cli_arguments.py checks that they agree.
TRACKER_PRESETS = ("onnx", "public", "cstrack")
DEFORM_KERNELS = ("auto", "pytorch", "triton")


TRACK_EPILOG = """\
sources:
  a video file (vtest.avi, clip.mp4), an image folder (natural order: 2.jpg before 10.jpg), a glob
  ('frames/*.jpg', quoted), a webcam index (0; Ctrl-C stops and keeps what was tracked), a MOTChallenge
  sequence folder (seqinfo.ini + img1/; with det/det.txt no detector is needed and images are optional),
  or a split folder of sequences (writes <split-out>/<tracker-name>/data/<seq>.txt for `discmot eval`)

examples:
  discmot track vtest.avi --detector yolox_nano.onnx --reid osnet_x0_25_msmt17.onnx \\
      --save-txt out/vtest.txt --save-video out/vtest.mp4
  discmot track clip.mp4 --detector yolov8n.onnx --classes 0 2 --save-video out/clip.mp4
  discmot track MOT15/train/PETS09-S2L1 --det-file det_yolox_nano_osnet.npy --tracker-preset onnx \\
      --save-txt out/PETS09-S2L1.txt
  discmot track frames/ --detections dets.txt --frame-rate 25 --save-video out/frames.mp4
  discmot track MOT17/train --benchmark MOT17 --split-out outputs/mot17-train
  discmot track MOT17/train --benchmark MOT17 --split-out outputs/mot17-train --skip-existing
  discmot eval --gt-folder MOT17 --split train --trackers-folder outputs/mot17-train
  discmot track clip.mp4 --model cstrack --weights cstrack.pt --save-txt out/clip.txt \\
      --save-video out/clip.mp4
  discmot track MOT17/test --model cstrack --weights cstrack.pt --benchmark MOT17 --dtype fp16 \\
      --device cuda --split-out outputs/mot17-test
  discmot track clip.mp4 --model fdta --weights dancetrack.pth --dtype bf16 --save-txt out/clip.txt
  discmot track clip.mp4 --model cstrack --weights bundled --save-video out/clip.mp4  # the demo's tiny one

Result rows are MOTChallenge's frame,id,x,y,w,h,score,-1,-1,-1 with 1-based frames: frame k of a video is
frame k of its sequence. --model fdta and cstrack write their original code's rows: boxes unrounded, score 1,
and FDTA's ids counted from 0. A frame that cannot be decoded is skipped with a warning; tracking goes on.
"""


def add_track(verbs) -> None:
    p = verbs.add_parser(
        "track",
        help="track objects in a video, image folder, glob, webcam, sequence or benchmark split",
        description="Run a tracker over a source: frames are streamed, detected (ONNX detector + ReID model) "
        "or read from precomputed detections, associated, and written as MOTChallenge results and/or an "
        "annotated H.264 video. --model fdta and --model cstrack detect for themselves from --weights.",
        epilog=TRACK_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "source", metavar="SOURCE", help="video, image folder, glob, webcam index, sequence or split"
    )
    p.add_argument(
        "--frame-rate",
        type=frame_rate,
        metavar="FPS",
        help="frame rate, at least 0.01 (default: the source's, rounded to a whole number, else 30)",
    )
    p.add_argument(
        "--max-frames",
        type=positive_int,
        metavar="N",
        help="track only the first N frames of SOURCE (a quick look at a long video; not for a split)",
    )
    _add_model_options(p.add_argument_group("the tracker and its network"))
    _add_speed_options(p.add_argument_group("network speed"))
    _add_fdta_runtime_options(p.add_argument_group("FDTA's runtime settings (default: the checkpoint's)"))
    _add_detection_options(p.add_argument_group("detections for --model jde"))
    _add_association_options(
        p.add_argument_group("association (--model jde and cstrack; the two thresholds also fdta)")
    )
    _add_output_options(p.add_argument_group("outputs"))
    p.set_defaults(run=_run_track)


def _add_model_options(group) -> None:
    """Which tracker runs and its network: weights, preset, precision, input size, device."""
    group.add_argument(
        "--model",
        choices=["jde", *END_TO_END],
        help="tracker: jde (the JDE/CSTrack cascade on a detector's boxes), fdta or cstrack (end to end "
        "from --weights; cstrack = CSTrack's network + the cascade with the original's thresholds); "
        "default: jde, or with --weights the model a discmot checkpoint's metadata names",
    )
    group.add_argument(
        "--weights",
        metavar="CKPT",
        help="FDTA or CSTrack checkpoint (official .pth/.pt, discmot .safetensors, a discmot train "
        "checkpoint or run folder), or 'bundled': the demo's tiny model of --model fdta/cstrack; "
        "required by --model fdta/cstrack",
    )
    group.add_argument(
        "--preset",
        choices=preset_names(),
        help=f"model preset of an official file: {model_presets()} (default: inferred from the shapes)",
    )
    group.add_argument(
        "--dtype",
        default="fp32",
        choices=list(DTYPES),
        help="FDTA/CSTrack network precision (decoding and thresholds stay fp32; default: fp32)",
    )
    group.add_argument(
        "--input-size",
        type=size_hw,
        metavar="HxW",
        help="network input, height first (default: the checkpoint's; FDTA: its shorter and longer side, "
        "800 and <= 1440 for the official ones, 160 and <= 288 for the bundled tiny one; CSTrack: 608x1088 "
        "for the official one, multiples of 32)",
    )
    group.add_argument(
        "--device", default="cpu", help="device of the ONNX models or the FDTA/CSTrack network (default: cpu)"
    )


def _add_speed_options(group) -> None:
    """How fast the FDTA/CSTrack network runs, with the same weights: resize, kernels, CUDA graphs."""
    group.add_argument(
        "--fast-resize",
        action="store_true",
        help="FDTA: resize frames in float instead of the original's 8-bit PIL resize (about three times "
        "faster at 1080p on a CPU, no faster on a GPU; pixels within one 8-bit step, so outputs differ "
        "slightly)",
    )
    group.add_argument(
        "--deform-kernel",
        default="auto",
        choices=DEFORM_KERNELS,
        help="FDTA: deformable-attention kernel: auto (the fused Triton kernel when --device is CUDA, "
        "triton is installed and the kernel checks equal to PyTorch's; else PyTorch; default), pytorch "
        "(one grid_sample per level), triton (required: an error when it cannot be used)",
    )
    group.add_argument(
        "--no-cuda-graph",
        dest="cuda_graph",
        action="store_false",
        help="FDTA and CSTrack on CUDA: run the network eagerly instead of replaying it from a CUDA graph "
        "(the same kernels launched at once: CSTrack's 1080p network 7.5 ms instead of 22 on an H100); "
        "the graph keeps one forward pass's GPU memory",
    )


def _add_fdta_runtime_options(group) -> None:
    """FDTA's runtime settings (its checkpoint's ``runtime`` section): how ids are given and kept."""
    group.add_argument(
        "--id-assignment",
        choices=ASSIGNMENT_PROTOCOLS,
        help="FDTA: how ID probabilities become track labels: object-max (every official config's: a "
        "detection takes its most likely label if no other detection is likelier for it), hungarian (a "
        "one-to-one assignment maximising the summed probability) or id-max (each track picks its most "
        "likely detection); default: the checkpoint's runtime.assignment_protocol",
    )
    group.add_argument(
        "--id-thresh",
        type=probability,
        metavar="PROB",
        help="FDTA: the least ID probability that continues a track (else the detection starts one); "
        "default: the checkpoint's runtime.id_thresh, 0.2 in the released models",
    )
    group.add_argument(
        "--miss-tolerance",
        type=miss_tolerance,
        metavar="FRAMES",
        help="FDTA: frames a track is remembered after it was last seen (its history window is one frame "
        "shorter; at least 2, at most the model's rel_pe_length); default: the checkpoint's "
        "runtime.miss_tolerance, 30 for the released DanceTrack model, 8 for the bundled tiny one",
    )


def _add_detection_options(group) -> None:
    group.add_argument(
        "--detector",
        metavar="PATH.onnx",
        help="ONNX detector without NMS inside: a YOLOX, YOLOv5 (export.py --include onnx) or YOLOv8/YOLO11 "
        "(yolo export format=onnx) export, told apart by its output shape",
    )
    group.add_argument("--reid", metavar="PATH.onnx", help="ReID ONNX model for appearance embeddings")
    group.add_argument(
        "--conf",
        type=score,
        metavar="SCORE",
        help="detector score threshold (default: the detector's, 0.3; CSTrack's 0.5; FDTA's checkpoint's "
        "runtime.det_thresh, 0.3); drops precomputed detections below it",
    )
    group.add_argument(
        "--classes",
        type=int,
        nargs="+",
        default=[0],
        metavar="ID",
        help="class ids the --detector keeps (default: 0, person in COCO, which the released YOLOX and "
        "YOLO models are trained on; a model of your own: its class ids); with several (0 2: people and "
        "cars) each class is tracked on its own, ids unique across classes, the class named in "
        "--save-video labels (COCO names)",
    )
    group.add_argument(
        "--detections", metavar="FILE", help="precomputed detections (MOT det.txt, or .npy with features)"
    )
    group.add_argument(
        "--det-file",
        default="det.txt",
        metavar="NAME",
        help="detections file in each sequence's det/ folder (default: det.txt)",
    )


def _add_association_options(group) -> None:
    group.add_argument(
        "--tracker-preset",
        choices=TRACKER_PRESETS,
        help="association settings: onnx (default with --detector: tracks kept by detections >= 0.3, born "
        "from >= 0.7, detection boxes written), public (default with precomputed detections: every "
        "detection used), cstrack (CSTrack's own thresholds, default with --model cstrack); see "
        "docs/tracking.md",
    )
    group.add_argument(
        "--track-thresh",
        type=score,
        metavar="SCORE",
        help="ignore detections below (preset's; for fdta its runtime.det_thresh)",
    )
    group.add_argument(
        "--birth-thresh",
        type=score,
        metavar="SCORE",
        help="score to start a track (preset's; for fdta its runtime.newborn_thresh)",
    )
    group.add_argument(
        "--kalman-boxes", action="store_true", help="write Kalman-smoothed boxes instead of detection boxes"
    )
    group.add_argument(
        "--benchmark",
        metavar="NAME",
        help="tracker preset: MOT15/16/17/20 turn on the pedestrian output filter",
    )
    group.add_argument(
        "--output-filter",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="drop output boxes of area <= 100 or w/h > 0.6 (CSTrack's pedestrian filter; default: on for "
        "--model cstrack, as in the original, and on MOT15/16/17/20 otherwise; --no-output-filter for "
        "objects that are not standing people)",
    )


def _add_output_options(group) -> None:
    group.add_argument("--save-txt", metavar="FILE", help="write MOTChallenge results here")
    group.add_argument(
        "--save-video",
        metavar="FILE",
        help="write an annotated video here: .mp4, .m4v, .mov, .mkv or .avi (H.264 through PyAV, else "
        "OpenCV's mp4v with a warning)",
    )
    group.add_argument(
        "--split-out", metavar="DIR", help="output folder when SOURCE is a folder of sequences"
    )
    group.add_argument(
        "--skip-existing",
        action="store_true",
        help="with --split-out: go on with a stopped split, tracking only the sequences without a results "
        "file there yet (the others are kept as they are, whatever run wrote them)",
    )
    group.add_argument(
        "--tracker-name",
        metavar="NAME",
        help="tracker folder name under --split-out (default: the model name)",
    )


def _run_track(args: argparse.Namespace) -> int:
    from discmot.cli import interrupted_outputs
    from discmot.engine.signals import sigterm_note
    from discmot.io.sequence_folders import default_ground_truth

    # SIGTERM (kill, timeout, a scheduler) names the outputs not written, as Ctrl-C does
    with sigterm_note(interrupted_outputs(args)):
        result = _tracked(args)
    if "name" not in result:  # a split: {sequence: summary}
        for summary in result.values():
            print(_track_line(summary))
        hint = eval_hint(args.source, args.split_out, args.benchmark)
        if hint is not None:
            print(hint)
        return 0
    print(_track_line(result))
    gt = None if result["interrupted"] else default_ground_truth(args.source)
    if gt is not None and args.save_txt:
        print(pair_eval_hint(gt, args.save_txt, args.benchmark, args.max_frames))
    return 130 if result["interrupted"] else 0


def _tracked(args: argparse.Namespace) -> dict:
    """`discmot.engine.track_verb.track` with the command line's options, its messages naming them
    (``--save-txt``), not track's keywords (``save_txt=``)."""
    from discmot.engine.track_verb import run_track

    return run_track(
        args.source,
        command_line=True,
        model=args.model,
        detector=args.detector,
        reid=args.reid,
        conf=args.conf,
        classes=tuple(args.classes),
        device=args.device,
        detections=args.detections,
        det_file=args.det_file,
        save_txt=args.save_txt,
        save_video=args.save_video,
        benchmark=args.benchmark,
        frame_rate=args.frame_rate,
        split_out=args.split_out,
        tracker_name=args.tracker_name,
        progress=show_progress(args),
        tracker_preset=args.tracker_preset,
        track_thresh=args.track_thresh,
        birth_thresh=args.birth_thresh,
        kalman_boxes=args.kalman_boxes,
        output_filter=args.output_filter,
        fast_resize=args.fast_resize,
        deform_kernel=args.deform_kernel,
        cuda_graph=args.cuda_graph,
        id_assignment=args.id_assignment,
        id_thresh=args.id_thresh,
        miss_tolerance=args.miss_tolerance,
        weights=args.weights,
        model_preset=args.preset,
        dtype=args.dtype,
        input_size=args.input_size,
        max_frames=args.max_frames,
        skip_existing=args.skip_existing,
        on_start=hint_if_cores_busy,  # after the errors of bad input, before the slow part
        on_frame=None,
    )


def _track_line(summary: dict) -> str:
    speed = (
        f"{summary['fps']:.1f} fps"
        if summary["fps"] >= 1 or not summary["frames"]
        else f"{summary['seconds'] / summary['frames']:.1f} s/frame"
    )
    line = (
        f"{summary['name']}: {summary['frames']} frames in {summary['seconds']:.1f} s ({speed}), "
        f"{summary['ids']} ids"
    )
    if summary["skipped"]:  # missing images or undecodable frames: the warnings above say which
        count = len(summary["skipped"])
        line += f", {count} frame{'s' if count != 1 else ''} skipped (see the warnings above)"
    for key, what in (("save_txt", "results"), ("save_video", "video")):
        if summary[key]:
            line += f"; {what}: {summary[key]}"
    return line
