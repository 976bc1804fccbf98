"""CSTrack inference cost on the CPU: the full-size network with each part's share.

CPU: the official ``cstrack`` model (78.9 M parameters, random weights: the cost does not depend on the
values) runs a 1088x608 input through its stage methods, timed one by one: backbone + neck
(`CSTrack.features`), the three reciprocal networks (`CSTrack.reciprocal`, paper: REN), the scale-aware
attention (`CSTrack.embeddings`, paper: SAAN) and the Detect head with its decoding (`CSTrack.detect` +
`CSTrack.decode`). One warm-up pass, then the median of 3 passes (quick: one pass at 448x256).

The tracker's frame rate on a GPU against the paper's 16.4 FPS is `bench_gpu` (measured only where CUDA
is).
"""

from __future__ import annotations

import time

import benchlib

NAME = "cstrack"
TITLE = "CSTrack inference on CPU: full-size forward and per-part shares"
PARTS = ("backbone + neck", "REN (x3)", "SAAN", "Detect head + decoding")
PAPER_FPS = 16.4


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


def run(quick: bool) -> benchlib.BenchResult:
    import torch

    cpu, data, cpu_note = cpu_forward(quick)
    notes = [
        cpu_note,
        "Spec §0: about 260 GFLOP per 1088x608 frame. Part times come from the stage methods called one "
        "after the other (their sum is one `CSTrack.predict`).",
        "The tracker's frame rate at 1920x1080 on a GPU (fp32, fp16) is in the GPU section below.",
        f"Paper (Table VI): CSTrack {PAPER_FPS} FPS on MOT16/17 (RTX 2080 Ti, whole system), 4.5 FPS on "
        "MOT20 (crowds: many more boxes).",
    ]
    return benchlib.BenchResult(
        NAME,
        TITLE,
        benchlib.markdown_table(["part", "seconds", "share of forward"], cpu),
        notes,
        benchlib.machine_info(("numpy", "torch")),
        {**data, "threads": torch.get_num_threads()},
    )
