"""GPU training: the full-size FDTA recipe's iteration time and peak memory, with and without frame
checkpointing.

Measured only where ``torch.cuda.is_available()``; elsewhere `benchlib.Skipped` leaves the section as it was
last measured on a GPU (quick mode instead smoke-tests the code path on the CPU with the ``tiny`` recipe;
those numbers are not measurements). Full-size training does not fit the 2-core, 24 GiB development machine
(`bench_fdta_train` says why), so this is where its cost is measured.

``discmot train --config dancetrack --device cuda`` (the paper's network, clips of 30 frames at shorter side
480-800, 4 with gradients, random initialisation) on one synthetic DanceTrack sequence of 40 frames at
1280x720 (11 clips per epoch), two epochs, timed over the second (the Identity Adapter's contrastive loss is
off in epoch 0), with ``step.checkpoint_frames`` 5 as the recipe ships it and 1 (every gradient frame
recomputed in the backward pass); peak memory is ``torch.cuda.max_memory_allocated``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import benchlib

NAME = "gpu_train"
TITLE = "GPU training: full-size FDTA iteration time and peak memory"
TRAIN_FRAMES = 40
TRAIN_CHECKPOINTING = {"as shipped (5)": 5, "every gradient frame (1)": 1}


def last_epoch_rate(run: Path) -> dict:
    """Iterations/s between the first and last logged step of the last epoch, and the logged peak memory."""
    from discmot.engine.run_folder import read_metrics

    lines = read_metrics(run)
    last = [line for line in lines if line["epoch"] == lines[-1]["epoch"]]
    first, final = last[0], last[-1]
    rate = (final["step"] - first["step"]) / (final["elapsed_s"] - first["elapsed_s"])
    peak = max(line.get("max_memory_mib", line.get("max_rss_mib", 0.0)) for line in lines)
    return {"it_per_s": rate, "timed_iterations": final["step"] - first["step"], "peak_memory_mib": peak}


def training_rows(work: Path, device: str, quick: bool) -> tuple[list[list[str]], dict]:
    """The dancetrack recipe (the tiny one in quick mode) with each frame-checkpointing setting."""
    config, frames, size = ("tiny", 12, "128x96") if quick else ("dancetrack", TRAIN_FRAMES, "1280x720")
    data_root = work / "train-data"
    benchlib.run_discmot("synth", "--preset", "dancetrack", "--out", str(data_root), "--split", "train",
                         "--sequences", "1", "--frames", str(frames), "--size", size)  # fmt: skip
    rows, data = [], {}
    for setting, checkpoint_frames in TRAIN_CHECKPOINTING.items():
        result = data[setting] = benchlib.measured(
            f"{config} checkpoint_frames={checkpoint_frames}", train, config, data_root,
            work / f"train-{checkpoint_frames}", checkpoint_frames, device,
        )  # fmt: skip
        if "error" in result:
            rows.append([config, f"frame checkpointing {setting}", f"**failed**: {result['error']}", "", ""])
            continue
        rows.append([
            config, f"frame checkpointing {setting}", f"{1 / result['it_per_s']:.2f}",
            str(result["timed_iterations"]), f"{result['peak_memory_mib']:.0f}",
        ])  # fmt: skip
    return rows, data


def train(config: str, data_root: Path, run: Path, checkpoint_frames: int, device: str) -> dict:
    """Two epochs of ``config``'s recipe; the last epoch's rate and the peak memory (`last_epoch_rate`)."""
    sets = ["train.epochs=2", "train.log_every=2", "train.progress=false",
            f"step.checkpoint_frames={checkpoint_frames}"]  # fmt: skip
    benchlib.run_discmot("train", "--config", config, "--data-root", str(data_root), "--run-dir", str(run),
                         "--device", device, *[f"--set={s}" for s in sets])  # fmt: skip
    return last_epoch_rate(run)


def run(quick: bool) -> benchlib.BenchResult:
    device = benchlib.cuda_or_skip(quick)
    with tempfile.TemporaryDirectory() as temporary:
        rows, data = training_rows(Path(temporary), device, quick)
    table = benchlib.markdown_table(
        ["training recipe", "variant", "seconds/iteration", "timed iterations", "peak memory MiB"], rows
    )
    notes = [
        f"The dancetrack recipe, random initialisation, one synthetic sequence of {TRAIN_FRAMES} frames at "
        "1280x720, 2 epochs; the rate over the second epoch from the training log (`elapsed_s` between its "
        "first and last logged step; data loading included, with the recipe's 6 loader workers); peak "
        "memory over both epochs.",
        "Frame checkpointing 5 as shipped (the 4 gradient frames are not recomputed; no-grad frames in "
        "chunks of 20) against 1 (each gradient frame recomputed in the backward pass; no-grad chunks of 4).",
    ]
    failed = [f"{setting}: {result['error']}" for setting, result in data.items() if "error" in result]
    return benchlib.BenchResult(
        NAME, TITLE, table, notes, benchlib.gpu_machine_info(device), data, ok=not failed, problems=failed
    )
