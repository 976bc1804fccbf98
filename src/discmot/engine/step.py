"""What a model-specific step function sees, and the module DDP wraps around it.

``step_fn(model, batch, context) -> (loss, logs)``: ``model`` is the bare model (never the DDP wrapper),
``batch`` is on ``context.device``, ``loss`` a scalar tensor and ``logs`` a dict of scalars (floats or
0-d tensors) with the same keys on every process. The engine calls it under ``context.autocast()``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from discmot.engine.distributed import reduce_sum
from discmot.engine.train_config import PRECISIONS


@dataclass
class StepContext:
    """Handed to ``step_fn``: where training stands and the engine's services."""

    epoch: int
    iteration: int
    iters_per_epoch: int
    global_step: int
    device: torch.device
    precision: str
    rank: int = 0
    world_size: int = 1

    def autocast(self, enabled: bool = True):
        """The run's autocast context (already active around ``step_fn``; re-enter it after disabling)."""
        dtype = PRECISIONS[self.precision]
        return torch.autocast(self.device.type, dtype=dtype, enabled=enabled and dtype is not None)

    def reduce_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """Sum over all processes (e.g. DETR's ``num_boxes``; divide by ``world_size`` for the mean)."""
        return reduce_sum(tensor)


StepFn = Callable[[nn.Module, object, StepContext], tuple[torch.Tensor, dict]]
SamplerFactory = Callable[[int, int, int, int], "list[int]"]


class StepModule(nn.Module):
    """The model plus the step function as one ``forward``: what DDP wraps."""

    def __init__(self, model: nn.Module, step_fn: StepFn):
        super().__init__()
        self.model = model
        self.step_fn = step_fn

    def forward(self, batch, context: StepContext):
        return self.step_fn(self.model, batch, context)
