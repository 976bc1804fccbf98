"""FDTA training speed: iterations per second of the `tiny` recipe on the CPU.

CPU, tiny: ``discmot train --config tiny`` for one epoch on 2 synthetic DanceTrack sequences (256x160),
the full model, the baseline without adapters, the full model at the preset's width (32 channels, the
recipe's 64 halved) and the detector pre-training stage (``step.only_detr``); the rate is taken from the
run's ``metrics.jsonl`` (``elapsed_s`` between the first and the last logged step, so start-up and the
first iterations are left out).

The full-size ``dancetrack`` recipe's iteration time and peak memory with and without frame checkpointing
are measured on a GPU by `bench_gpu`: full-size training does not fit this 24 GiB CPU machine (the note in
`run` says why).

The full training-from-scratch results and the adapter ablation are ``benchmarks/fdta_ablation.py``
(tens of minutes per run: not part of ``make bench``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import benchlib
from discmot.engine.run_folder import read_metrics
from discmot.models.fdta.config import preset

NAME = "fdta_train"
TINY = preset("tiny")
TITLE = "FDTA training speed"
CPU_VARIANTS = {
    "full (all three adapters)": [],
    "baseline (no adapters)": [
        "adapters.spatial=false",
        "adapters.temporal=false",
        "adapters.identity=false",
    ],
    # The recipe widens the preset's DETR and ID decoder from 32 to 64 channels; this row prices that.
    "full, 32 channels (the `tiny` preset's width)": [
        f"model.detr.hidden_dim={TINY.detr.hidden_dim}",
        f"model.detr.ffn_dim={TINY.detr.ffn_dim}",
        f"model.id_decoder.feature_dim={TINY.id_decoder.feature_dim}",
        f"model.id_decoder.id_dim={TINY.id_decoder.id_dim}",
    ],
    # Deterministic kernels are the CPU default (the same command writes the same weights); this row
    # prices them against the faster-in-principle kernels that add gradients in a varying order.
    "full, deterministic kernels off (`train.deterministic=false`)": ["train.deterministic=false"],
    # The first of the two stages (MOTIP's ONLY_DETR, the `*_detr` recipes): an iteration is 4 single
    # frames, all with gradients, and no ID path.
    "detector stage (`step.only_detr`, 4 single frames)": [
        "step.only_detr=true",
        "clips.sample_length=1",
        "train.batch_size=4",
    ],
}
CPU_ROUNDS = 3


def logged_rate(run: Path) -> dict:
    """Iterations/s between the first and last logged step, and the peak memory logged (CUDA or RSS)."""
    lines = read_metrics(run)
    first, last = lines[0], lines[-1]
    rate = (last["step"] - first["step"]) / (last["elapsed_s"] - first["elapsed_s"])
    peak = last.get("max_memory_mib", last.get("max_rss_mib"))
    return {"iterations": last["step"], "it_per_s": rate, "peak_memory_mib": peak}


def synth(root: Path, sequences: int, frames: int, size: str) -> None:
    benchlib.run_discmot("synth", "--preset", "dancetrack", "--out", str(root), "--split", "train",
                         "--sequences", str(sequences), "--frames", str(frames), "--size", size)  # fmt: skip


def train(data: Path, run: Path, config: str, overrides: list[str], device: str = "cpu") -> dict:
    sets = [f"--set={o}" for o in ["train.epochs=1", "train.log_every=5", "train.progress=false", *overrides]]
    benchlib.run_discmot("train", "--config", config, "--data-root", str(data), "--run-dir", str(run),
                         "--device", device, *sets)  # fmt: skip
    return logged_rate(run)


def cpu_rows(work: Path, quick: bool) -> list[list[str]]:
    """Each variant `CPU_ROUNDS` times, the variants interleaved round by round, so that the machine's
    drift over the run (this shared CPU varies by tens of percent) hits every variant alike; the ratio to
    the full model is taken within each round, then the median."""
    data = work / "cpu-data"
    synth(data, 1 if quick else 2, 30 if quick else 60, "256x160")
    variants = list(CPU_VARIANTS.items())[: 1 if quick else None]
    seconds: dict[str, list[float]] = {name: [] for name, _ in variants}
    peaks: dict[str, list[float]] = {name: [] for name, _ in variants}
    for round_ in range(1 if quick else CPU_ROUNDS):
        for k, (name, overrides) in enumerate(variants):
            result = train(data, work / f"cpu-{round_}-{k}", "tiny", overrides)
            seconds[name].append(1 / result["it_per_s"])
            peaks[name].append(result["peak_memory_mib"])
    full = seconds[variants[0][0]]
    rows = []
    for name, runs in seconds.items():
        ratio = benchlib.median([run / reference for run, reference in zip(runs, full, strict=True)])
        rows.append([
            "cpu", "tiny", name, f"{1 / benchlib.median(runs):.2f}", f"**{benchlib.median(runs):.3f}**",
            ", ".join(f"{run:.3f}" for run in runs), f"{ratio:.2f}x", f"{max(peaks[name]):.0f}",
        ])  # fmt: skip
    return rows


def run(quick: bool) -> benchlib.BenchResult:
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary)
        rows = cpu_rows(work, quick)
    headers = ["device", "recipe", "variant", "iterations/s", "seconds/iteration", "runs (seconds/iteration)"]
    headers += ["vs the full model, same round", "peak memory MiB"]
    notes = [
        f"CPU rows: each variant {CPU_ROUNDS} times (1 in quick mode), the variants interleaved round by "
        "round; median seconds/iteration, and the median over rounds of the ratio to the full model of the "
        "same round (the machine drifts during a run, so only ratios within a round compare).",
        "One iteration = one clip (batch 1): `tiny` 8 frames at shorter side 128-160 px, 4 with gradients; "
        "in the detector stage 4 single frames, all 4 with gradients.",
        "Every variant but the one that says otherwise runs with deterministic kernels, the CPU default "
        "(`train.deterministic` unset).",
        "Rates from the training log (`elapsed_s`), first logged step to last: start-up excluded, data "
        "loading included (num_workers 0).",
        "Peak memory: the training process's peak resident set (`max_rss_mib` of the log: interpreter, "
        "weights, optimizer state and data included).",
        "The full-size dancetrack recipe's iteration time and peak GPU memory, with and without frame "
        "checkpointing, are in the GPU section below. They cannot run on this CPU: the Spatial Adapter's "
        "depth encoder attends over all 17,800 stride-8 tokens of a 1422x800 frame, and in training mode "
        "(dropout) CPU PyTorch materialises the scores (a first try asked for 122 GB in one no-grad chunk "
        "of frames).",
    ]
    return benchlib.BenchResult(
        NAME, TITLE, benchlib.markdown_table(headers, rows), notes,
        benchlib.machine_info(("numpy", "torch")), {"rows": rows},
    )  # fmt: skip
