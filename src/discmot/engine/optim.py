"""Optimizer pieces of the training engine: parameter groups, schedules, gradient clipping, weight EMA.

* Parameter groups follow name-substring rules (FDTA spec ``fdta.md`` §4.3): the first rule one of whose
  substrings occurs in a parameter's name takes it; a rule with no substrings takes everything left;
  parameters no rule takes form the ``default`` group (lr scale 1, the base weight decay).
* A schedule sets the learning rates (and, for SGD, the momentum) before every iteration, steps at epoch
  ends and says when the accumulated gradients are applied. `WarmupMultiStep` is FDTA's (per-iteration
  linear warm-up, then ``MultiStepLR`` at epoch ends); `CSTrackSchedule` is CSTrack's (spec ``cstrack.md``
  §6.6: YOLOv5 warm-up of lr, momentum and accumulation, then a step decay).
* `clip_gradients` clips the global L2 norm of the ``detr`` parameters and of the others separately
  (``SEPARATE_CLIP_NORM``), or of all together.
* `ModelEMA` is CSTrack's exponential moving average of the weights (spec ``cstrack.md`` §6.7).
"""

from __future__ import annotations

import copy
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict

import numpy as np
import torch
from torch import nn

if TYPE_CHECKING:  # train_config imports this module
    from typing_extensions import Unpack

    from discmot.engine.train_config import TrainConfig


@dataclass(frozen=True)
class ParamGroupRule:
    """Parameters whose name contains any of ``match`` (all of them when empty) form group ``name``.

    The group's learning rate is ``lr * lr_scale``; ``weight_decay`` None means the base weight decay.
    """

    name: str
    match: tuple[str, ...] = ()
    lr_scale: float = 1.0
    weight_decay: float | None = None


#: FDTA / MOTIP (spec ``fdta.md`` §4.3): backbone x0.1, deformable offsets/reference points x0.05, ID
#: dictionary x1 (its own group); everything else (criterion parameters included) in ``default``.
FDTA_PARAM_GROUPS = (
    ParamGroupRule("backbone", ("backbone.0",), 0.1),
    ParamGroupRule("linear_proj", ("reference_points", "sampling_offsets"), 0.05),
    ParamGroupRule("dictionary", ("word_to_embed", "embed_to_word"), 1.0),
)


def build_param_groups(
    model: nn.Module, rules: Iterable[ParamGroupRule], lr: float, weight_decay: float
) -> list[dict]:
    """Optimizer groups ``{"name", "params", "lr", "lr_scale", "weight_decay"}`` (empty ones dropped).

    Only parameters with ``requires_grad`` are included.
    """
    rules = list(rules)
    groups = [
        _group(r.name, r.lr_scale, lr, weight_decay if r.weight_decay is None else r.weight_decay)
        for r in rules
    ]
    default = _group("default", 1.0, lr, weight_decay)
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        index = next((i for i, r in enumerate(rules) if not r.match or any(s in name for s in r.match)), None)
        (default if index is None else groups[index])["params"].append(param)
    return [g for g in [*groups, default] if g["params"]]


def _group(name: str, lr_scale: float, lr: float, weight_decay: float) -> dict:
    return {
        "name": name,
        "params": [],
        "lr": lr * lr_scale,
        "lr_scale": lr_scale,
        "weight_decay": weight_decay,
    }


def build_optimizer(groups: list[dict], kind: str, lr: float, **options) -> torch.optim.Optimizer:
    """``"adamw"`` (options: betas, eps) or ``"sgd"`` (options: momentum, nesterov)."""
    if kind == "adamw":
        return torch.optim.AdamW(groups, lr=lr, betas=tuple(options["betas"]), eps=options["eps"])
    if kind == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=options["momentum"], nesterov=options["nesterov"])
    raise ValueError(f"unknown optimizer {kind!r}; choose 'adamw' or 'sgd'")


# --------------------------------------------------------------------------------------------------
# Schedules


class Schedule:
    """What the engine asks of a schedule; the base class keeps the learning rates as they are.

    ``before_iteration`` runs before each iteration's forward pass, ``after_epoch`` after the last
    iteration of an epoch (before its checkpoint), ``is_update_step`` after each backward pass with the
    number of backward passes whose gradients are pending (including this one).
    """

    def __init__(self, accumulate_steps: int = 1):
        self.accumulate_steps = accumulate_steps

    def before_iteration(self, optimizer, epoch: int, iteration: int, iters_per_epoch: int) -> None:
        pass

    def after_epoch(self, optimizer, epoch: int) -> None:
        pass

    def is_update_step(self, epoch: int, iteration: int, iters_per_epoch: int, pending: int) -> bool:
        """Every ``accumulate_steps`` iterations, and at the end of the epoch (no gradient crosses it)."""
        return pending >= self.accumulate_steps or iteration + 1 == iters_per_epoch

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


class WarmupMultiStep(Schedule):
    """FDTA (spec ``fdta.md`` §4.3): while ``epoch < warmup_epochs``, before iteration ``i`` of ``I``,
    ``lr_group = lr * (epoch*I + i + 1) / (warmup_epochs*I) * lr_scale``; ``MultiStepLR(milestones,
    gamma)`` stepped once at the end of every epoch. The warm-up ignores milestones inside it."""

    def __init__(
        self, optimizer, lr: float, warmup_epochs: int, milestones, gamma: float, accumulate_steps=1
    ):
        super().__init__(accumulate_steps)
        self.lr = lr
        self.warmup_epochs = warmup_epochs
        self.multistep = torch.optim.lr_scheduler.MultiStepLR(optimizer, list(milestones), gamma)

    def before_iteration(self, optimizer, epoch, iteration, iters_per_epoch):
        if epoch >= self.warmup_epochs:
            return
        done = epoch * iters_per_epoch + iteration + 1
        for group in optimizer.param_groups:
            group["lr"] = self.lr * done / (self.warmup_epochs * iters_per_epoch) * group.get("lr_scale", 1.0)

    def after_epoch(self, optimizer, epoch):
        self.multistep.step()

    def state_dict(self):
        """``MultiStepLR``'s state with its milestones as a plain dict: before torch 2.4,
        ``torch.load(weights_only=True)`` refuses a ``collections.Counter`` (no checkpoint resumed)."""
        multistep = self.multistep.state_dict()
        return {"multistep": {**multistep, "milestones": dict(multistep["milestones"])}}

    def load_state_dict(self, state):
        """The epochs done come from ``state``; milestones, gamma and base learning rates stay this
        schedule's (its recipe's): a resume with other ones trains with them from the next epoch, the
        learning rates set as if they had been the run's from the start."""
        step = self.multistep
        recipe = step.milestones, step.gamma, step.base_lrs
        saved = state["multistep"]  # milestones: a dict, or a Counter in checkpoints written before
        step.load_state_dict({**saved, "milestones": Counter(saved["milestones"])})
        if (step.milestones, step.gamma, step.base_lrs) == recipe:
            return  # nothing changed: the learning rates stay as saved, to the last bit
        step.milestones, step.gamma, step.base_lrs = recipe
        # a milestone inside the warm-up is overwritten by it (the class docstring): not counted
        passed = sum(
            count
            for milestone, count in step.milestones.items()
            if self.warmup_epochs <= milestone <= step.last_epoch
        )
        for group, base in zip(step.optimizer.param_groups, step.base_lrs, strict=True):
            group["initial_lr"] = base
            group["lr"] = base * step.gamma**passed
        step._last_lr = [group["lr"] for group in step.optimizer.param_groups]


class CSTrackWarmup(TypedDict, total=False):
    """The `CSTrackSchedule` settings `CSTrackSchedule.from_train_config` takes beside the training config."""

    min_warmup_iters: int
    warmup_momentum: float
    warmup_bias_lr: float
    warmup_accumulate: float | None


class CSTrackSchedule(Schedule):
    """CSTrack (spec ``cstrack.md`` §6.6), YOLOv5 style, set before every iteration from the global
    iteration ``ni = epoch * nb + i``:

    * warm-up (``ni <= nw``, ``nw = max(warmup_epochs * nb, min_warmup_iters)``): lr rises linearly from 0
      (the ``bias`` group: falls from ``warmup_bias_lr``) to ``lr0 * f(epoch)``, ``f(e) = 0.1 + 0.9 * (1 +
      cos(pi e / epochs)) / 2``; momentum rises ``0.9 -> momentum``; accumulation rises ``1 ->
      warmup_accumulate``, each value rounded (YOLOv5's ``nbs / total_batch``, unrounded: 5.33 for batches
      of 12, whose accumulation is 5 afterwards);
    * afterwards ``lr0`` up to ``ni <= decay_epoch * nb``, then ``lr0 * decay``.

    The optimizer steps when ``ni % accumulate == 0`` and, unlike YOLOv5, also at the end of every epoch
    so that no pending gradient is lost to an end-of-epoch checkpoint.
    """

    def __init__(
        self,
        lr0: float = 0.005,
        epochs: int = 30,
        warmup_epochs: int = 3,
        min_warmup_iters: int = 1000,
        decay_epoch: int = 20,
        decay: float = 0.1,
        momentum: float = 0.95,
        warmup_momentum: float = 0.9,
        warmup_bias_lr: float = 0.1,
        nominal_batch: int = 64,
        batch_size: int = 8,
        bias_group: str = "bias",
        warmup_accumulate: float | None = None,
    ):
        super().__init__(max(round(nominal_batch / batch_size), 1))
        # the warm-up's end point; the accumulation itself when None (equal for batches dividing 64)
        self.warmup_accumulate = float(
            self.accumulate_steps if warmup_accumulate is None else warmup_accumulate
        )
        self.lr0, self.epochs, self.decay_epoch, self.decay = lr0, epochs, decay_epoch, decay
        self.warmup_epochs, self.min_warmup_iters = warmup_epochs, min_warmup_iters
        self.momentum, self.warmup_momentum, self.warmup_bias_lr = momentum, warmup_momentum, warmup_bias_lr
        self.bias_group = bias_group

    @classmethod
    def from_train_config(cls, train: TrainConfig, **warmup: Unpack[CSTrackWarmup]) -> CSTrackSchedule:
        """The schedule of a training config: its lr, epochs, warm-up epochs, momentum, decay (``gamma`` at
        ``milestones[0]``, none without milestones) and accumulation (``nominal_batch = accumulate_steps *
        batch_size``). ``warmup`` sets ``min_warmup_iters``, ``warmup_momentum``, ``warmup_bias_lr`` or
        ``warmup_accumulate`` (CSTrack's recipe, `discmot.models.cstrack.training.cstrack_schedule`); the
        defaults otherwise.
        """
        return cls(
            lr0=train.lr,
            epochs=train.epochs,
            warmup_epochs=train.warmup_epochs,
            decay_epoch=train.milestones[0] if train.milestones else train.epochs,
            decay=train.gamma,
            momentum=train.momentum,
            nominal_batch=train.accumulate_steps * train.batch_size,
            batch_size=train.batch_size,
            **warmup,
        )

    def epoch_factor(self, epoch: int) -> float:
        return ((1 + math.cos(epoch * math.pi / self.epochs)) / 2) * 0.9 + 0.1

    def warmup_iters(self, iters_per_epoch: int) -> int:
        return max(round(self.warmup_epochs * iters_per_epoch), self.min_warmup_iters)

    def accumulate(self, epoch: int, iteration: int, iters_per_epoch: int) -> int:
        ni, nw = epoch * iters_per_epoch + iteration, self.warmup_iters(iters_per_epoch)
        if ni > nw:
            return self.accumulate_steps
        return max(1, round(_interp(ni, nw, 1.0, self.warmup_accumulate)))

    def before_iteration(self, optimizer, epoch, iteration, iters_per_epoch):
        ni, nw = epoch * iters_per_epoch + iteration, self.warmup_iters(iters_per_epoch)
        for group in optimizer.param_groups:
            target = self.lr0 * group.get("lr_scale", 1.0)
            if ni <= nw:
                start = self.warmup_bias_lr if group.get("name") == self.bias_group else 0.0
                group["lr"] = _interp(ni, nw, start, target * self.epoch_factor(epoch))
                if "momentum" in group:
                    group["momentum"] = _interp(ni, nw, self.warmup_momentum, self.momentum)
            else:
                group["lr"] = target if ni <= self.decay_epoch * iters_per_epoch else target * self.decay

    def is_update_step(self, epoch, iteration, iters_per_epoch, pending):
        ni = epoch * iters_per_epoch + iteration
        return (
            ni % self.accumulate(epoch, iteration, iters_per_epoch) == 0 or iteration + 1 == iters_per_epoch
        )


def _interp(x: float, x1: float, y0: float, y1: float) -> float:
    """``numpy.interp(x, [0, x1], [y0, y1])`` for one value: numpy's own, so every warm-up value is the
    original's to the last bit."""
    return float(np.interp(x, [0.0, x1], [y0, y1]))


# --------------------------------------------------------------------------------------------------
# Clipping and EMA


def clip_gradients(
    named_params: Iterable[tuple[str, nn.Parameter]],
    max_norm: float,
    separate: str | None = None,
    exclude: tuple[str, ...] = (),
) -> dict[str, float]:
    """Clips the global gradient L2 norm to ``max_norm`` and returns the norms before clipping.

    With ``separate`` (e.g. ``"detr"``) the parameters whose name contains it and the rest are clipped
    independently (keys ``grad_norm/<separate>`` and ``grad_norm/other``); otherwise all together
    (``grad_norm``). Parameters whose name contains any of ``exclude`` are left alone.
    """
    parts: dict[str, list[torch.Tensor]] = {}
    for name, param in named_params:
        if param.grad is None or any(s in name for s in exclude):
            continue
        key = "grad_norm" if separate is None else f"grad_norm/{separate if separate in name else 'other'}"
        parts.setdefault(key, []).append(param)
    return {key: float(nn.utils.clip_grad_norm_(params, max_norm)) for key, params in parts.items()}


class ModelEMA:
    """Exponential moving average of a model's floating-point state (parameters and buffers).

    After the ``n``-th update, ``ema = d * ema + (1 - d) * model`` with ``d = decay * (1 - exp(-n / ramp))``
    (YOLOv5's ``ModelEMA``; CSTrack uses decay 0.9999, ramp 2000). Integer buffers keep their first value.
    """

    def __init__(self, model: nn.Module, decay: float = 0.9999, ramp: float = 2000.0):
        self.module = copy.deepcopy(model).eval().requires_grad_(False)
        self.decay, self.ramp, self.updates = decay, ramp, 0

    def current_decay(self) -> float:
        return self.decay * (1 - math.exp(-self.updates / self.ramp))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        d = self.current_decay()
        source = model.state_dict()
        for key, value in self.module.state_dict().items():
            if value.dtype.is_floating_point:
                value *= d
                value += (1 - d) * source[key].detach()

    def state_dict(self) -> dict:
        return {"updates": self.updates, "model": self.module.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.updates = int(state["updates"])
        self.module.load_state_dict(state["model"])
