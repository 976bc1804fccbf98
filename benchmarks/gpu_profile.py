"""Where a tracker's 1080p frame goes on a GPU: wall time against GPU kernel time, kernel launches a frame,
and the operations that take the GPU's time (torch.profiler), for FDTA and CSTrack made to fire.

Outside ``make bench`` (a lent GPU, about a minute a configuration). It found, on an H100 (2026-11-24):
CSTrack's network launch-bound (720 kernels a frame, 22 ms of wall time for 6 ms of GPU work; now one
CUDA graph) and FDTA's fp16/bf16 ID decoder spending 4.4 ms of CPU a call in cuDNN's attention planning
(now kept off it). ``--no-cuda-graph`` profiles the eager networks, to compare.

    PYTHONPATH=src python3 benchmarks/gpu_profile.py --model cstrack fdta --dtype fp32 fp16

Without CUDA it runs on the CPU at 320x192 with the tiny presets (a smoke run: CPU operator times only).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from discmot.engine.bench import BenchOptions, bench_tracker, synthetic_frames
from discmot.engine.firing import firing_network

WARMUP_FRAMES = 6
PROFILED_FRAMES = 5


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    parser.add_argument("--model", nargs="+", choices=("fdta", "cstrack"), default=["cstrack", "fdta"])
    parser.add_argument("--dtype", nargs="+", choices=("fp32", "bf16", "fp16"), default=["fp32", "fp16"])
    parser.add_argument("--rows", type=int, default=15, help="operations listed per configuration")
    parser.add_argument("--no-cuda-graph", action="store_true", help="profile the networks run eagerly")
    return parser.parse_args(argv)


def synchronize(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def wall_ms(step, frames, device: str) -> float:
    """Median wall time of ``step(frame)`` over ``frames``, the device synchronised around each."""
    times = []
    for frame in frames:
        synchronize(device)
        start = time.perf_counter()
        step(frame)
        synchronize(device)
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def profile(kind: str, dtype: str, device: str, graph: bool, rows: int) -> None:
    """One tracker's frames: warm-up, timed frames, then profiled frames with the operator table."""
    if device == "cuda":
        preset, size = ("dancetrack" if kind == "fdta" else "cstrack"), (1920, 1080)
    else:
        preset, size = "tiny", (320, 192)
    frames = synthetic_frames(kind, WARMUP_FRAMES + 2 * PROFILED_FRAMES, size)
    network = firing_network(kind, frames, preset, device).cpu()
    tracker = bench_tracker(kind, dtype, BenchOptions(device=device), network)
    tracker.forward.enabled = graph
    for frame in frames[:WARMUP_FRAMES]:
        tracker.update(frame)
    timed, profiled = frames[WARMUP_FRAMES:-PROFILED_FRAMES], frames[-PROFILED_FRAMES:]
    wall = wall_ms(tracker.update, timed, device)
    activities = [torch.profiler.ProfilerActivity.CPU]
    if device == "cuda":
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    with torch.profiler.profile(activities=activities) as profiler:
        for frame in profiled:
            tracker.update(frame)
        synchronize(device)
    events = profiler.key_averages()
    kernels = [e for e in events if e.device_type == torch.autograd.DeviceType.CUDA]
    gpu_ms = sum(e.self_device_time_total for e in kernels) / PROFILED_FRAMES / 1e3
    launches = sum(e.count for e in kernels) / PROFILED_FRAMES
    print(
        f"\n### {kind} {preset} {dtype} on {device}, {size[0]}x{size[1]}, CUDA graph {graph}: wall "
        f"{wall:.1f} ms a frame (median of {len(timed)}), GPU kernels {gpu_ms:.1f} ms and {launches:.0f} "
        "launches a frame"
    )
    sort = "self_device_time_total" if device == "cuda" else "self_cpu_time_total"
    print(events.table(sort_by=sort, row_limit=rows, max_name_column_width=60))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    for kind in args.model:
        for dtype in args.dtype:
            profile(kind, dtype, device, not args.no_cuda_graph, args.rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
