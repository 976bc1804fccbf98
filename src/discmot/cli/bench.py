"""`discmot bench`: how fast FDTA and CSTrack track on this machine (frames/s, stages, memory)."""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
from collections.abc import Callable, Iterable

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
from discmot.models.registry import DTYPES, MODEL_KINDS, MODEL_NAMES, preset_names, weights_file

log = logging.getLogger("discmot")

#: The synthetic scene's frame size without ``--size``: the papers' 1080p videos.
DEFAULT_SIZE = (1920, 1080)

BENCH_EPILOG = """\
what is timed:
  the tracker's update() on frames held in memory (decoding is not timed), after --warmup frames and a
  reset: frames per second end to end, milliseconds per frame by stage, boxes out and tracks kept per
  frame, and on CUDA the peak memory torch allocated. Without --weights the network is its preset's
  (FDTA dancetrack, CSTrack cstrack: the papers' sizes) with random weights made to fire, so the ID
  decoder and the association do a trained model's work; the time of a network does not depend on its
  weights. Frames: a synthetic scene (dancers for FDTA, pedestrians for CSTrack) of --size, or SOURCE
  (give it before --model and --dtype, which take several values).

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
    _add_tracker_options(p.add_argument_group("the trackers timed"))
    _add_frame_options(p.add_argument_group("frames"))
    _add_network_options(p.add_argument_group("network input and speed (as for track)"))
    p.add_argument("--json", metavar="FILE", help="also write every number, with the machine, as JSON")
    p.set_defaults(run=_run_bench)


def _add_tracker_options(group) -> None:
    """Which trackers, with which weights, in which precisions, on which device."""
    group.add_argument(
        "--model",
        nargs="+",
        type=_not_a_source("--model", MODEL_KINDS),
        choices=MODEL_KINDS,
        help="the trackers to time (default: both; with --weights the one a discmot checkpoint's metadata "
        "names)",
    )
    group.add_argument(
        "--weights",
        metavar="CKPT",
        help="a checkpoint of the one --model, or 'bundled': the demo's tiny one (default: the preset's "
        "network, random weights made to fire)",
    )
    group.add_argument(
        "--preset",
        choices=preset_names(),
        help=f"the architecture: {model_presets()} (default: dancetrack for FDTA, cstrack for CSTrack; "
        "with --weights, an official file's, else inferred from its shapes; a discmot checkpoint carries "
        "its own)",
    )
    group.add_argument(
        "--dtype",
        nargs="+",
        default=["fp32"],
        type=_not_a_source("--dtype", DTYPES),
        choices=list(DTYPES),
        help="network precisions, each timed in turn (default: fp32)",
    )
    group.add_argument("--device", default="auto", help="cpu, cuda, cuda:1 or auto (CUDA if any; default)")


def _add_frame_options(group) -> None:
    """How many frames are timed, and the synthetic scene's size."""
    group.add_argument(
        "--frames", type=positive_int, default=20, help="frames timed, after the warm-up (default: 20)"
    )
    group.add_argument(
        "--warmup",
        type=non_negative_int,
        default=3,
        help="frames tracked before timing (default: 3; with 0 a checkpoint's first-call set-up, "
        "hundreds of ms, is timed too)",
    )
    group.add_argument(
        "--size",
        type=size_wh,
        metavar="WxH",
        help="frame size of the synthetic scene, width first (default: 1920x1080; not with SOURCE)",
    )


def _add_network_options(group) -> None:
    """The network input size and `discmot track`'s speed options."""
    group.add_argument(
        "--input-size",
        type=size_hw,
        metavar="HxW",
        help="network input, height first (default: the network's; for the papers' presets FDTA shorter "
        "side 800, longer <= 1440, CSTrack 608x1088)",
    )
    group.add_argument("--fast-resize", action="store_true", help="FDTA: resize frames in float (as track)")
    group.add_argument(
        "--deform-kernel",
        default="auto",
        choices=DEFORM_KERNELS,
        help="FDTA: deformable-attention kernel, as for track (default: auto)",
    )
    group.add_argument(
        "--no-cuda-graph",
        dest="cuda_graph",
        action="store_false",
        help="on CUDA: time the networks run eagerly, not replayed from a CUDA graph (as for track)",
    )


def _not_a_source(flag: str, choices: Iterable[str]) -> Callable[[str], str]:
    """The ``type`` of an option of several values: a value that is a file or folder is SOURCE given after
    it (``discmot bench --model fdta clip.mp4``), which argparse called an "invalid choice"; the error
    says where SOURCE goes. Any other value (a choice too, even with a folder of its name here) goes on to
    the option's choices, as it is."""

    def value(text: str) -> str:
        if text not in choices and os.path.exists(text):
            raise argparse.ArgumentTypeError(
                f"{text} is a source, which comes first (before {flag}, as {flag} takes several values): "
                f"discmot bench SOURCE {flag} ..."
            )
        return text

    return value


def _run_bench(args: argparse.Namespace) -> int:
    models = _models(args)
    dtypes = list(dict.fromkeys(args.dtype))  # `--dtype fp32 fp32`: one run, as `--model` gives one
    _check_arguments(args, models)
    from discmot.engine.bench import bench_runs, machine
    from discmot.engine.distributed import pick_device

    device = pick_device(args.device)  # a device this PyTorch cannot use fails before any frame is made
    _check_deform_kernel(args, models, device)
    options = _bench_options(args)
    count = args.warmup + args.frames
    shared = _source_frames(args, count)
    hint_if_cores_busy()  # once the arguments and the device checked out: before an error it is noise
    source = _source_record(args, models)
    report = {"machine": machine(device), "source": source, "warmup": args.warmup, "runs": []}
    for kind in models:
        frames = shared or _rendered_scene(kind, count, args.size)
        for run in bench_runs(kind, dtypes, options, frames, show_progress(args)):
            _report_run(run, report, args.json)
    return 0


def _check_deform_kernel(args: argparse.Namespace, models: list[str], device) -> None:
    """``--deform-kernel triton`` for FDTA where the Triton kernel cannot run on ``device``: refused now,
    not after the network is built and made to fire (40 s for 1080p on a CPU)."""
    if "fdta" in models and args.deform_kernel == "triton":
        from discmot.ops.deform_attn_triton import select_deform_kernel

        select_deform_kernel(args.deform_kernel, device)


def _bench_options(args: argparse.Namespace):
    """The `discmot.engine.bench.BenchOptions` of the command line."""
    from discmot.engine.bench import BenchOptions

    return BenchOptions(
        weights=args.weights,
        preset=args.preset,
        device=args.device,
        input_size=args.input_size,
        fast_resize=args.fast_resize,
        deform_kernel=args.deform_kernel,
        cuda_graph=args.cuda_graph,
        warmup=args.warmup,
    )


def _source_frames(args: argparse.Namespace, count: int) -> list | None:
    """The first ``count`` frames of SOURCE, which every model is timed on; None without SOURCE (each
    model gets its synthetic scene). A source with no frame left after ``--warmup`` is an error, one
    shorter than ``count`` a warning (the frames it has are timed)."""
    if not args.source:
        return None
    from discmot.engine.bench import source_frames

    shared = source_frames(args.source, count)
    if len(shared) <= args.warmup:
        raise ValueError(
            f"{args.source}: {_frames(len(shared))}, none left to time after --warmup {args.warmup}"
        )
    if len(shared) < count:
        log.warning(
            "%s: %s, fewer than the %d asked for (--warmup %d + --frames %d): timing %d",
            args.source,
            _frames(len(shared)),
            count,
            args.warmup,
            args.frames,
            len(shared) - args.warmup,
        )
    return shared


def _rendered_scene(kind: str, count: int, size: tuple[int, int] | None) -> list:
    """``count`` frames of ``kind``'s synthetic scene at ``size`` (default: `DEFAULT_SIZE`)."""
    from discmot.engine.bench import synthetic_frames

    # seconds for 1080p: said, as every slow step without a bar
    log.info("%s: rendering %s of the synthetic scene", MODEL_NAMES[kind], _frames(count))
    return synthetic_frames(kind, count, size or DEFAULT_SIZE)


def _report_run(run: dict, report: dict, json_path: str | None) -> None:
    """Prints one run's lines and adds it to ``report``, written to ``json_path`` (if any) at once: a later
    run's failure (out of memory, Ctrl-C) keeps the numbers of this one."""
    print(_run_line(run))
    print(_stage_lines(run), flush=True)
    report["runs"].append(run)
    if json_path:
        from discmot.io.atomic import atomic_write_text

        atomic_write_text(json_path, json.dumps(report, indent=2) + "\n")


def _models(args: argparse.Namespace) -> list[str]:
    """The kinds to time: ``--model``'s (once each); without it both, or with ``--weights`` the kind a
    discmot checkpoint's metadata names. ``--weights`` becomes the file: ``bundled``'s, a run folder's."""
    from discmot.engine.track_verb import model_and_weights

    models = list(dict.fromkeys(args.model or ()))
    if args.weights is None:
        return models or list(MODEL_KINDS)
    if len(models) > 1:
        raise ValueError("--weights is one model's: give --model fdta or --model cstrack with it")
    model, weights = model_and_weights(models[0] if models else None, args.weights)
    if model not in MODEL_KINDS:  # no --model, and the file does not say which
        raise ValueError("--weights is one model's: give --model fdta or --model cstrack with it")
    assert weights is not None  # given weights stay given
    args.weights = str(weights_file(weights))  # a run folder: its final weights
    return [model]


def _check_arguments(args: argparse.Namespace, models: list[str]) -> None:
    """What can be refused before any frame is made or network built."""
    for kind in models:
        if args.preset and args.preset not in preset_names(kind):
            raise ValueError(
                f"--preset {args.preset} is not a {MODEL_NAMES[kind]} preset; choose from "
                f"{', '.join(preset_names(kind))}" + (" (or give --model)" if len(models) > 1 else "")
            )
    if args.input_size and "cstrack" in models:
        from discmot.models.cstrack.config import check_input_size

        check_input_size(args.input_size)
    if args.source and args.size:
        raise ValueError("--size is the synthetic scene's: the frames of SOURCE keep their own size")
    if args.json:
        from discmot.io.atomic import check_writable

        check_writable(args.json)


def _frames(count: int) -> str:
    """``"1 frame"``, ``"3 frames"``."""
    return f"{count} frame{'' if count == 1 else 's'}"


def frame_rate_text(fps: float) -> str:
    """Frames per second to 3 significant digits, at least one decimal: ``25.6``, ``147.3``, ``0.0630``
    (with one decimal a full-size CPU run's 0.063 printed as 0.1)."""
    if not math.isfinite(fps) or fps <= 0:
        return f"{fps:.1f}"
    return f"{fps:.{max(1, 2 - math.floor(math.log10(fps)))}f}"


def _source_record(args: argparse.Namespace, models: list[str]) -> dict:
    """What was timed, for the JSON report: the user's source, or the synthetic scene of each model
    (`discmot.engine.bench.SCENES`, seed 0) at its size."""
    from discmot.engine.bench import SCENES

    if args.source:
        return {"path": str(args.source)}
    width, height = args.size or DEFAULT_SIZE
    return {"synthetic": {kind: SCENES[kind] for kind in models}, "size": [width, height], "seed": 0}


def _run_line(run: dict) -> str:
    """``FDTA dancetrack (random weights) fp32 on cpu, 1920x1080 frames (WxH), input 800x1422 (HxW): 0.0630
    frames/s (15874 ms a frame, 3 frames timed), 19.7 boxes and 34.7 tracks a frame``."""
    what = run["weights"] or f"{run['preset']} (random weights)"
    frame = "x".join(str(side) for side in run["frame_size"])
    network = "x".join(str(side) for side in run["network_input"])
    line = (
        f"{MODEL_NAMES[run['model']]} {what} {run['dtype']} on {run['device']}, {frame} frames (WxH), "
        f"input {network} (HxW): "
        f"{frame_rate_text(run['fps'])} frames/s ({run['ms_per_frame']:.0f} ms a frame, "
        f"{_frames(run['frames'])} timed), "
        f"{run['boxes_per_frame']:.1f} boxes and {run['tracks_alive']:.1f} tracks a frame"
    )
    if run["peak_memory_mib"] is not None:
        line += f", peak memory {run['peak_memory_mib']:.0f} MiB"
    return line


def _stage_lines(run: dict) -> str:
    """Milliseconds per frame of each stage of one run, with its share of the frame."""
    total = sum(run["stage_ms"].values())
    return "\n".join(
        f"  {ms:9.1f} ms  {100 * ms / total:5.1f}%  {stage}" for stage, ms in run["stage_ms"].items()
    )
