"""Feeding the training loop: the default sharded sampler, the per-epoch DataLoader, moving batches.

A ``sampler_factory(epoch, rank, world_size, start) -> list of dataset indices`` says which samples a
process trains on in an epoch, from position ``start`` on (the samples it has already seen this epoch,
so a resumed run picks up exactly where the checkpoint was written). Every process must get as many
samples; `ShardedSampler` cuts the epoch to a multiple of the world size to make sure of it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping

import numpy as np
import torch


class ShardedSampler:
    """Default ``sampler_factory``: a permutation seeded by ``seed + epoch`` (FDTA: 1025 + epoch), cut to
    a multiple of the world size; rank ``r`` takes every ``world_size``-th index from ``r``, then skips
    ``start`` of them (the samples it already trained on this epoch)."""

    def __init__(self, length: int, seed: int = 1025, shuffle: bool = True):
        self.length, self.seed, self.shuffle = length, seed, shuffle

    def __call__(self, epoch: int, rank: int, world_size: int, start: int = 0) -> list[int]:
        if self.shuffle:
            order = torch.randperm(
                self.length, generator=torch.Generator().manual_seed(self.seed + epoch)
            ).tolist()
        else:
            order = list(range(self.length))
        return order[: self.length - self.length % world_size][rank::world_size][start:]


def to_device(batch, device: torch.device, non_blocking: bool = False):
    """Moves tensors in nested dicts/lists/tuples (and objects with ``.to``, e.g. NestedTensor)."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=non_blocking)
    if isinstance(batch, Mapping):
        return {k: to_device(v, device, non_blocking) for k, v in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):
        return type(batch)(*(to_device(v, device, non_blocking) for v in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(v, device, non_blocking) for v in batch)
    if callable(getattr(batch, "to", None)):
        return batch.to(device)
    return batch


def _seed_worker(worker_id: int) -> None:
    """DataLoader workers: python and numpy seeded from the worker's torch seed."""
    seed = torch.initial_seed() % 2**32
    random.seed(seed)
    np.random.seed(seed)


def build_loader(
    dataset,
    indices: list[int],
    batch_size: int,
    collate_fn: Callable | None,
    seed: int,
    num_workers: int = 0,
    pin_memory: bool = False,
) -> torch.utils.data.DataLoader:
    """A DataLoader over ``indices`` in order; the last batch may be partial (as YOLOv5's loader, which
    CSTrack's epoch length ``ceil(images / batch)`` and schedule are counted in).

    It has a generator of its own (seeded by ``seed``): creating its iterator must not draw from the
    global torch RNG, or a loader recreated mid-epoch after a resume would shift every later random
    number of the run.
    """
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=list(indices),
        collate_fn=collate_fn,
        num_workers=num_workers,
        pin_memory=pin_memory,
        drop_last=False,
        generator=torch.Generator().manual_seed(seed),
        worker_init_fn=_seed_worker if num_workers else None,
    )
