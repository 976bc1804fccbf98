"""`discmot bench`: how fast FDTA and CSTrack track on this machine (frames/s, stages, memory)."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from discmot.cli.arguments import (
    hint_if_cores_busy,
    model_presets,
    non_negative_int,
    positive_int,
    show_progress,
    size_hw,
    size_wh,
)
from discmot.cli.track import DEFORM_KERNELS
from discmot.models.registry import DTYPES, MODEL_KINDS, MODEL_NAMES, preset_names

log = logging.getLogger("discmot")

BENCH_EPILOG = """\
what is timed:
  the tracker's update() on frames held in memory (decoding is not timed), after --warmup frames and a
  reset: frames per second end to end, milliseconds per frame by stage, boxes out and tracks kept per
  frame, and on CUDA the peak memory torch allocated. Without --weights the network is its preset's
  (FDTA dancetrack, CSTrack cstrack: the papers' sizes) with random weights made to fire, so the ID
  decoder and the association do a trained model's work; the time of a network does not depend on its
  weights. Frames: a synthetic scene (dancers for FDTA, pedestrians for CSTrack) of --size, or SOURCE.

examples:
  discmot bench --device cuda --dtype fp32 bf16 fp16  # both full-size trackers at 1920x1080 on a GPU
  discmot bench --preset tiny --size 320x192  # both tiny ones: a quick look on a laptop CPU
  discmot bench clip.mp4 --model fdta --weights dancetrack.pth --dtype bf16 --frames 100
"""


def add_bench(verbs) -> None:
    p = verbs.add_parser(
        "bench",
        help="time FDTA and CSTrack on this machine: frames/s, per-stage milliseconds, peak memory",
        description="Time the end-to-end trackers on this machine: frames per second, milliseconds per "
        "frame by stage, and peak GPU memory, in each precision asked for.",
        epilog=BENCH_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "source",
        nargs="?",
        metavar="SOURCE",
        help="frames to time on: a video, image folder, glob or sequence (default: a synthetic scene)",
    )
    p.add_argument(
        "--model",
        nargs="+",
        default=list(MODEL_KINDS),
        choices=MODEL_KINDS,
        help="the trackers to time (default: both)",
    )
    p.add_argument(
        "--weights",
        metavar="CKPT",
        help="a checkpoint of the one --model (default: the preset's network, random weights made to fire)",
    )
    p.add_argument(
        "--preset",
        choices=preset_names(),
        help=f"the architecture: {model_presets()} (default: dancetrack for FDTA, cstrack for CSTrack; "
        "with --weights, an official file's, else inferred)",
    )
    p.add_argument(
        "--dtype",
        nargs="+",
        default=["fp32"],
        choices=list(DTYPES),
        help="network precisions, each timed in turn (default: fp32)",
    )
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:1 or auto (CUDA if any; default)")
    p.add_argument(
        "--frames", type=positive_int, default=20, help="frames timed, after the warm-up (default: 20)"
    )
    p.add_argument(
        "--warmup", type=non_negative_int, default=3, help="frames tracked before timing (default: 3)"
    )
    p.add_argument(
        "--size",
        type=size_wh,
        default=(1920, 1080),
        metavar="WxH",
        help="frame size of the synthetic scene, width first (default: 1920x1080)",
    )
    p.add_argument(
        "--input-size",
        type=size_hw,
        metavar="HxW",
        help="network input, height first (default: the model's: FDTA shorter side 800, longer <= 1440; "
        "CSTrack 608x1088)",
    )
    p.add_argument("--fast-resize", action="store_true", help="FDTA: resize frames in float (as track)")
    p.add_argument(
        "--deform-kernel",
        default="auto",
        choices=DEFORM_KERNELS,
        help="FDTA: deformable-attention kernel, as for track (default: auto)",
    )
    p.add_argument("--json", metavar="FILE", help="also write every number, with the machine, as JSON")
    p.set_defaults(run=_run_bench)


def _run_bench(args: argparse.Namespace) -> int:
    models = list(dict.fromkeys(args.model))
    _check_arguments(args, models)
    if args.json:
        from discmot.io.atomic import check_writable

        check_writable(args.json)
    hint_if_cores_busy()
    from discmot.engine.distributed import pick_device
    from discmot.engine.speed import (
        BenchOptions,
        bench_runs,
        machine,
        source_frames,
        synthetic_frames,
    )

    options = BenchOptions(
        weights=args.weights,
        preset=args.preset,
        device=args.device,
        input_size=args.input_size,
        fast_resize=args.fast_resize,
        deform_kernel=args.deform_kernel,
        warmup=args.warmup,
    )
    pick_device(args.device)  # a device this PyTorch cannot use fails before any frame is rendered
    if args.weights and not Path(args.weights).is_file():
        raise FileNotFoundError(2, "no such checkpoint", args.weights)
    count = args.warmup + args.frames
    shared = source_frames(args.source, count) if args.source else None
    runs = []
    for kind in models:
        frames = shared or synthetic_frames(kind, count, args.size)
        for run in bench_runs(kind, args.dtype, options, frames, show_progress(args)):
            print(_run_line(run), flush=True)
            runs.append(run)
    print()
    print(_stage_table(runs))
    if args.json:
        from discmot.io.atomic import atomic_write_text

        report = {"machine": machine(), "warmup": args.warmup, "runs": runs}
        atomic_write_text(args.json, json.dumps(report, indent=2) + "\n")
    return 0


def _check_arguments(args: argparse.Namespace, models: list[str]) -> None:
    if args.weights and len(models) > 1:
        raise ValueError("--weights is one model's: give --model fdta or --model cstrack with it")
    for kind in models:
        if args.preset and args.preset not in preset_names(kind):
            raise ValueError(
                f"--preset {args.preset} is not a {MODEL_NAMES[kind]} preset; choose from "
                f"{', '.join(preset_names(kind))}" + (" (or give --model)" if len(models) > 1 else "")
            )


def _run_line(run: dict) -> str:
    """``FDTA dancetrack (random weights) fp32 on cpu, 1920x1080 -> 800x1422: 0.3 frames/s (3512 ms a
    frame), 14.2 boxes, 15.0 tracks``."""
    what = run["weights"] or f"{run['preset']} (random weights)"
    frame = "x".join(str(side) for side in run["frame_size"])
    network = "x".join(str(side) for side in run["network_input"])
    line = (
        f"{MODEL_NAMES[run['model']]} {what} {run['dtype']} on {run['device']}, {frame} -> {network}: "
        f"{run['fps']:.1f} frames/s ({run['ms_per_frame']:.0f} ms a frame), "
        f"{run['boxes_per_frame']:.1f} boxes and {run['tracks_alive']:.1f} tracks a frame"
    )
    if run["peak_memory_mib"] is not None:
        line += f", peak memory {run['peak_memory_mib']:.0f} MiB"
    return line


def _stage_table(runs: list[dict]) -> str:
    """Milliseconds per frame of each stage, one block per run."""
    lines = []
    for run in runs:
        lines.append(f"{MODEL_NAMES[run['model']]} {run['dtype']}, ms per frame:")
        total = sum(run["stage_ms"].values())
        for stage, ms in run["stage_ms"].items():
            lines.append(f"  {ms:9.1f}  {100 * ms / total:5.1f}%  {stage}")
    return "\n".join(lines)
