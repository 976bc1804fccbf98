"""CSTrack inference cost: the full-size network on the CPU with each part's share, and the whole tracker's
frame rate on a GPU against the paper's 16.4 FPS.

CPU: the official ``cstrack`` model (78.9 M parameters, random weights: the cost does not depend on the
values) runs a 1088x608 input through its stage methods, timed one by one: backbone + neck
(`CSTrack.features`), the three reciprocal networks (`CSTrack.reciprocal`, paper: REN), the scale-aware
attention (`CSTrack.embeddings`, paper: SAAN) and the Detect head with its decoding (`CSTrack.detect` +
`CSTrack.decode`). One warm-up pass, then the median of 3 passes (quick: one pass at 448x256).

GPU (only where ``torch.cuda.is_available()``): `CSTrackTracker` end to end (letterbox, network, float32
decoding, Cluster-DIoU-NMS, embedding lookup, JDE association) on 100 frames of a synthetic ``mot``
sequence at 1920x1080, 1088x608 input, in fp32 and fp16. The random weights are re-initialised (He-normal
convolutions, class bias raised) so that the network fires on tens of boxes per frame, as a trained one
does on MOT17, and NMS and association do real work. Frames are rendered before timing (decoding a video
is not counted). The paper's 16.4 FPS is on an RTX 2080 Ti, PyTorch 1.6, fp32, "whole system".
Without a GPU the quick mode runs the same tracker loop on the CPU with the ``tiny`` preset (a smoke test
of that code path, not a measurement).
"""

from __future__ import annotations

import statistics
import time

import benchlib

NAME = "cstrack"
TITLE = "CSTrack inference: full-size forward on CPU (per-part shares) and tracker FPS on GPU"
PARTS = ("backbone + neck", "REN (x3)", "SAAN", "Detect head + decoding")
PAPER_FPS = 16.4
GPU_FRAMES = 100
GPU_WARMUP = 5


def time_parts(model, images) -> dict[str, float]:
    """Seconds of each part for one pass of ``images`` through the stage methods."""
    import torch

    def timed(function, *args):
        if images.is_cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        result = function(*args)
        if images.is_cuda:
            torch.cuda.synchronize()
        return result, time.perf_counter() - start

    levels, backbone = timed(model.features, images)
    (detection, reid), ren = timed(model.reciprocal, levels)
    _, saan = timed(model.embeddings, reid)
    _, head = timed(lambda d: model.decode(model.detect(d)), detection)
    return dict(zip(PARTS, (backbone, ren, saan, head), strict=True))


def cpu_forward(quick: bool) -> tuple[list[list[str]], dict, str]:
    """Rows ``[part, seconds, share]`` of the median pass, the raw numbers, and a description."""
    import torch

    from discmot.models.cstrack.model import build_cstrack, parameter_count

    height, width = (256, 448) if quick else (608, 1088)
    repetitions = 1 if quick else 3
    model = build_cstrack("cstrack").eval()
    runs = []
    with torch.inference_mode():
        time_parts(model, torch.rand(1, 3, 128, 224))  # warm-up: allocator, kernels
        for _ in range(repetitions):
            runs.append(time_parts(model, torch.rand(1, 3, height, width)))
    totals = [sum(run.values()) for run in runs]
    median_run = runs[totals.index(sorted(totals)[(len(totals) - 1) // 2])]
    total = sum(median_run.values())
    rows = [[part, f"{seconds:.2f}", f"{100 * seconds / total:.1f}%"] for part, seconds in median_run.items()]
    rows.append([f"whole forward ({width}x{height})", f"{total:.2f}", "100%"])
    what = (
        f"CPU: official `cstrack` preset ({parameter_count(model):,} parameters), fp32, "
        f"threads {torch.get_num_threads()}, input {width}x{height}; median of {repetitions} pass(es) "
        "after a warm-up (the pass with the median total)."
    )
    return rows, {"cpu_runs": runs, "cpu_input": [height, width]}, what


def firing_cstrack(preset: str, seed: int = 0):
    """A random CSTrack whose features depend on the image and whose head fires on some cells."""
    import torch

    from discmot.models.cstrack.model import build_cstrack

    torch.manual_seed(seed)
    model = build_cstrack(preset)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
                torch.nn.init.kaiming_normal_(module.weight, a=0.1, nonlinearity="leaky_relu")
        for conv in model.head.m:
            conv.bias.view(model.config.num_anchors, -1)[:, 5:] = 5.0
    return model.eval()


def tracker_fps(model, frames, device: str, dtype) -> dict:
    """Frames per second of `CSTrackTracker.update` over ``frames`` (after a warm-up), tracking included."""
    import torch

    from discmot.trackers.cstrack import CSTrackTracker

    tracker = CSTrackTracker(model.to(device=device, dtype=dtype), device=device, dtype=dtype)
    for frame in frames[:GPU_WARMUP]:
        tracker.update(frame)
    tracker.reset()
    alive = []
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    for frame in frames:
        tracker.update(frame)  # returns numpy arrays: the GPU work of the frame is finished
        alive.append(len(tracker.association.tracked))
    seconds = time.perf_counter() - start
    return {"fps": len(frames) / seconds, "seconds": seconds, "tracks": statistics.mean(alive)}


def tracker_rows(quick: bool) -> tuple[list[list[str]], dict, str]:
    """GPU rows (fp32, fp16) where CUDA is; in quick mode without it, a CPU smoke run of the tiny model."""
    import torch

    from discmot.data.synth import PRESETS, render_sequence

    if torch.cuda.is_available():
        device, preset, size, count = "cuda", "cstrack", (1920, 1080), GPU_FRAMES
        dtypes = {"fp32": torch.float32, "fp16": torch.float16}
        where = torch.cuda.get_device_name(0)
    elif quick:
        device, preset, size, count = "cpu", "tiny", (320, 192), 6
        dtypes = {"fp32": torch.float32}
        where = "cpu (tiny preset, smoke run)"
    else:
        return [], {}, "No GPU on this machine: the tracker's GPU frame rate is measured only where CUDA is."
    frames = [f.image for f in render_sequence(PRESETS["mot"], 0, num_frames=count, size=size)]
    model = firing_cstrack(preset)
    rows, data = [], {}
    for name, dtype in dtypes.items():
        result = tracker_fps(model, frames, device, dtype)
        data[name] = result
        ratio = f"{result['fps'] / PAPER_FPS:.2f}x" if device == "cuda" else "–"
        rows.append([where, name, f"{result['fps']:.1f}", ratio, f"{result['tracks']:.0f}"])
    input_hw = model.config.input_size
    what = (
        f"Tracker: {count} frames of a synthetic `mot` sequence at {size[0]}x{size[1]}, input "
        f"{input_hw[1]}x{input_hw[0]}, timed after {GPU_WARMUP} warm-up frames and a reset"
        + ("; cuDNN defaults (TF32 convolutions allowed in fp32)" if device == "cuda" else "")
        + ". Tracks alive = tracked tracks (confirmed or not) after each frame."
    )
    return rows, data, what


def run(quick: bool) -> benchlib.BenchResult:
    import torch

    cpu, data, cpu_note = cpu_forward(quick)
    gpu, gpu_data, gpu_note = tracker_rows(quick)
    table = benchlib.markdown_table(["part", "seconds", "share of forward"], cpu)
    if gpu:
        gpu_table = benchlib.markdown_table(
            ["device", "dtype", "tracker FPS", f"vs paper {PAPER_FPS}", "tracks alive (mean)"], gpu
        )
        table = f"{table}\n\n{gpu_table}"
    notes = [
        cpu_note,
        "Spec §0: about 260 GFLOP per 1088x608 frame. Part times come from the stage methods called one "
        "after the other (their sum is one `CSTrack.predict`).",
        gpu_note,
        f"Paper (Table VI): CSTrack {PAPER_FPS} FPS on MOT16/17 (RTX 2080 Ti, whole system), 4.5 FPS on "
        "MOT20 (crowds: many more boxes).",
    ]
    return benchlib.BenchResult(
        NAME,
        TITLE,
        table,
        notes,
        benchlib.machine_info(("numpy", "torch")),
        {**data, "tracker": gpu_data, "threads": torch.get_num_threads()},
    )
