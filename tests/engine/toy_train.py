"""A tiny training run through `discmot.engine.train.launch`, started as a subprocess by test_train.py.

One process (``python toy_train.py RUN_DIR ...``) or several (``python -m torch.distributed.run
--nproc_per_node 2 toy_train.py RUN_DIR ...``). The model is a 2-layer MLP on a fixed synthetic
regression set; the step is shaped like FDTA's (a no-grad pass, several calls into parts of the model,
activation checkpointing). ``--noisy`` adds dropout and python/numpy/torch random noise to the samples,
so that a resumed run only matches if every RNG state was restored. ``--stall-at-step N`` hangs inside
iteration N (0-based global step) and ``--stall-in-write N`` hangs half-way through writing the
checkpoint of global step N; both first create ``RUN_DIR/stalled`` so the test knows when to SIGKILL.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from discmot.engine import checkpointing
from discmot.engine.distributed import exit_process
from discmot.engine.train import TrainConfig, TrainSetup, launch

FEATURES = 8


class ToyRegression(torch.utils.data.Dataset):
    """``y = sin(x @ w)`` on fixed inputs; with ``noisy`` each draw adds python/numpy/torch noise."""

    def __init__(self, length: int, noisy: bool):
        generator = torch.Generator().manual_seed(1234)
        self.x = torch.randn(length, FEATURES, generator=generator)
        self.y = torch.sin(self.x @ torch.randn(FEATURES, 1, generator=generator))
        self.noisy = noisy

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index: int):
        x = self.x[index].clone()
        if self.noisy:
            x = (
                x
                + 0.01 * random.gauss(0.0, 1.0)
                + 0.01 * float(np.random.randn())
                + 0.01 * torch.randn(FEATURES)
            )
        return x, self.y[index]


def toy_model(dropout: float) -> nn.Module:
    torch.manual_seed(0)  # the same initial weights in every process and every run
    return nn.Sequential(nn.Linear(FEATURES, 32), nn.Tanh(), nn.Dropout(dropout), nn.Linear(32, 1))


class WithLocalHead(nn.Module):
    """The toy MLP plus a head each process trains on its own (``process_local_parameters``, as FDTA's
    Identity Adapter MLP): initialised per rank, kept out of DDP, and through its loss term it steers
    the shared weights, so a resume that gives every rank rank 0's head ends with other weights."""

    def __init__(self, net: nn.Module, rank: int):
        super().__init__()
        self.net = net
        torch.manual_seed(100 + rank)
        self.local = nn.Linear(32, 4)

    def process_local_parameters(self) -> list[str]:
        return [f"local.{name}" for name, _ in self.local.named_parameters()]


def local_head_step(model, batch, context):
    x, y = batch
    hidden = model.net[:2](x)
    fit = nn.functional.mse_loss(model.net[2:](hidden), y)
    # as FDTA's MLP: its loss is off in epoch 0 (no process trains it), and a process whose clips gave
    # no pair yet leaves it without a gradient (rank 1 in epoch 1): no optimizer state at those checkpoints
    if context.epoch == 0 or (context.rank == 1 and context.epoch == 1):
        return fit, {"mse": fit.detach()}
    spread = model.local(hidden).pow(2).mean()
    return fit + 0.1 * spread, {"mse": fit.detach()}


def make_step(run_dir: Path, stall_at: int | None):
    def step(model, batch, context):
        if stall_at is not None and context.global_step == stall_at:
            (run_dir / "stalled").touch()
            time.sleep(600)
        x, y = batch
        # Shaped like FDTA's step (spec fdta.md §4.1): a no-grad pass, then several calls into parts of
        # the model, one of them under non-reentrant activation checkpointing, before one backward.
        with torch.no_grad():
            model(x[:1])
        hidden = checkpoint(model[:2], x, use_reentrant=False)
        loss = nn.functional.mse_loss(model[2:](hidden), y)  # a mean over the process's batch
        return loss, {"mse": loss.detach()}

    return step


def stall_in_write(run_dir: Path, step: int) -> None:
    """Replaces the checkpoint serialiser: the checkpoint of ``step`` is written half, then hangs."""
    original = checkpointing._dump

    def dump(payload, handle, path):
        if payload["global_step"] != step:
            return original(payload, handle, path)
        buffer = io.BytesIO()
        torch.save(payload, buffer)
        data = buffer.getvalue()
        handle.write(data[: len(data) // 2])
        handle.flush()
        os.fsync(handle.fileno())
        (run_dir / "stalled").touch()
        time.sleep(600)

    checkpointing._dump = dump


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--global-batch", type=int, default=8)
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--checkpoint-every", type=int, default=0)
    parser.add_argument("--noisy", action="store_true")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--deterministic", action="store_true")
    parser.add_argument("--stall-at-step", type=int)
    parser.add_argument("--stall-in-write", type=int)
    parser.add_argument("--local-head", action="store_true", help="add a process-local head (WithLocalHead)")
    args = parser.parse_args()

    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    config = TrainConfig(
        epochs=args.epochs,
        batch_size=args.global_batch // world_size,
        lr=1e-2,
        weight_decay=1e-4,
        warmup_epochs=1,
        milestones=(1,),
        max_grad_norm=1.0,
        # as FDTA's Identity Adapter MLP: a process's own head is never clipped, or each process's
        # clipping factor would differ and the shared weights drift apart between processes
        no_clip=("local.",) if args.local_head else (),
        seed=7,
        deterministic=args.deterministic,
        checkpoint_every=args.checkpoint_every,
        log_every=1,
        progress=False,
    )
    if args.stall_in_write is not None:
        stall_in_write(args.run_dir, args.stall_in_write)

    def build(info):
        dataset = ToyRegression(args.samples, args.noisy)
        model = toy_model(0.2 if args.noisy else 0.0)
        if args.local_head:
            return TrainSetup(model=WithLocalHead(model, info.rank), step_fn=local_head_step, dataset=dataset)
        return TrainSetup(model=model, step_fn=make_step(args.run_dir, args.stall_at_step), dataset=dataset)

    launch(build, config, args.run_dir, resume=True if args.resume else None, device="cpu")


if __name__ == "__main__":
    main()
    exit_process(0)  # as the command line ends (its docstring: gloo's threads at Python's shutdown)
