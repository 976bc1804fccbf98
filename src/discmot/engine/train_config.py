"""The training engine's configuration (`TrainConfig`) and the two published recipes.

`TrainConfig` holds what the engine needs (optimizer, groups, schedule, clipping, precision, seeds,
checkpoints, logging); the model's own settings live in the model's config. Both go into the run's
``config.yaml``. This module imports torch only for the autocast dtypes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import torch

from discmot.config import (
    FieldRangeError,
    RecipeKeyError,
    check_field_ranges,
    check_scalar_types,
    ranges_of_section,
)
from discmot.engine.optim import FDTA_PARAM_GROUPS, CSTrackSchedule, ParamGroupRule, Schedule, WarmupMultiStep

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}

#: The numeric fields of `TrainConfig` with an inclusive lower bound (and None or an upper one); the
#: others are checked in `TrainConfig._strict_problems`. ``seed`` feeds numpy (seeds 0 to 2**32 - 1).
_AT_LEAST: dict[str, tuple[float, float | None]] = {
    "epochs": (1, None),
    "batch_size": (1, None),
    "accumulate_steps": (1, None),
    "log_every": (1, None),
    "weight_decay": (0, None),
    "eps": (0, None),
    "momentum": (0, None),
    "warmup_epochs": (0, None),
    "seed": (0, None),
    "sampler_seed": (0, None),
    "checkpoint_every": (0, None),  # 0: checkpoints at epoch ends only
    "keep_epoch_checkpoints": (0, None),  # 0: keep every epoch's
    "max_iterations": (0, None),  # 0: train every epoch
    "num_workers": (0, None),
}


@dataclass(frozen=True)
class TrainConfig:
    """Everything the engine needs to know; the model's own settings live in the model's config.

    ``batch_size`` is per process. ``checkpoint_every`` adds mid-epoch checkpoints every that many
    iterations (0: only at epoch ends). ``schedule`` is ``"multistep"`` (FDTA: `WarmupMultiStep`) or
    ``"cstrack"`` (`CSTrackSchedule`, whose step decay is at ``milestones[0]``). ``no_clip`` names
    parameters that are never clipped (e.g. criterion parameters, spec ``fdta.md`` §4.1 step 12).
    ``deterministic``: deterministic kernels only; unset (None), on for the CPU and off on CUDA
    (`discmot.engine.distributed.deterministic_on`; the run folder's config records what was used).
    ``max_iterations`` (0: off) stops the run after that many iterations in total, counted across
    epochs and resumes (at the first optimizer step from there when gradients are accumulated), with a
    checkpoint and the final weights file there: a smoke test of one's data. It changes nothing of the
    schedule, which stays that of ``epochs``.
    """

    epochs: int = 13
    batch_size: int = 1
    lr: float = 1e-4
    weight_decay: float = 5e-4
    optimizer: str = "adamw"
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    momentum: float = 0.9
    nesterov: bool = False
    param_groups: tuple[ParamGroupRule, ...] = ()
    schedule: str = "multistep"
    warmup_epochs: int = 0
    milestones: tuple[int, ...] = ()
    gamma: float = 0.1
    max_grad_norm: float | None = None
    separate_clip: str | None = None
    no_clip: tuple[str, ...] = ()
    precision: str = "fp32"
    accumulate_steps: int = 1
    divide_loss_by_accumulation: bool = True
    ema_decay: float | None = None
    ema_ramp: float = 2000.0
    seed: int = 3407
    sampler_seed: int = 1025
    deterministic: bool | None = None
    checkpoint_every: int = 0
    keep_epoch_checkpoints: int = 0
    max_iterations: int = 0
    log_every: int = 20
    tensorboard: bool = False
    progress: bool = True
    num_workers: int = 0
    pin_memory: bool = False
    find_unused_parameters: bool = False

    def __post_init__(self):
        check_scalar_types(type(self), vars(self))
        choices = {
            "precision": (self.precision, tuple(PRECISIONS)),
            "optimizer": (self.optimizer, ("adamw", "sgd")),
            "schedule": (self.schedule, ("multistep", "cstrack")),
        }
        bad = [
            f"{k}={value!r} (one of {', '.join(known)})"
            for k, (value, known) in choices.items()
            if value not in known
        ]
        if bad:
            raise ValueError(f"invalid training config values: {', '.join(bad)}")
        self._check_ranges()

    def _check_ranges(self) -> None:
        """A `FieldRangeError` naming the first numeric field outside its range (``"epochs=0: must be
        at least 1"``; `from_dict` adds the ``train.`` of the recipe key). A negative
        ``checkpoint_every`` wrote a checkpoint every iteration, and a negative
        ``keep_epoch_checkpoints`` was taken as 0 (2026-11-24)."""
        check_field_ranges(self, _AT_LEAST)
        for key, value, problem in self._strict_problems():
            raise FieldRangeError(key, f"{key}={value!r}: must be {problem}")

    def _strict_problems(self):
        """``(key, value, "what it must be")`` of the fields whose bounds are not the inclusive
        ones of `check_field_ranges` (above 0, below 1), and of list entries."""
        if self.max_grad_norm is not None and not self.max_grad_norm >= 0:
            yield "max_grad_norm", self.max_grad_norm, "at least 0 (0 or null: no clipping)"
        if not self.lr > 0:
            yield "lr", self.lr, "above 0"
        if not self.gamma > 0:
            yield "gamma", self.gamma, "above 0"
        if not self.ema_ramp > 0:
            yield "ema_ramp", self.ema_ramp, "above 0"
        if self.ema_decay is not None and not 0 <= self.ema_decay < 1:
            yield "ema_decay", self.ema_decay, "at least 0 and below 1 (0 or null: no EMA)"
        if not all(0 <= beta < 1 for beta in self.betas):
            yield "betas", list(self.betas), "at least 0 and below 1 each"
        if not all(milestone >= 0 for milestone in self.milestones):
            yield "milestones", list(self.milestones), "at least 0 each (epochs after which the lr drops)"
        if self.optimizer == "sgd" and self.nesterov and not self.momentum > 0:
            yield "momentum", self.momentum, "above 0 with nesterov (torch's SGD refuses 0)"

    @classmethod
    def from_dict(cls, values: Mapping) -> TrainConfig:
        """Inverse of ``dataclasses.asdict`` (YAML lists become tuples); unknown keys are errors."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - names
        if unknown:
            raise ValueError(f"unknown training config keys: {', '.join(sorted(unknown))}")
        fixed = dict(values)
        for key in ("betas", "milestones", "no_clip"):
            if isinstance(fixed.get(key), list):  # not a string: tuple("detr") would be its letters
                fixed[key] = tuple(fixed[key])
        if "param_groups" in fixed:
            fixed["param_groups"] = param_group_rules(fixed["param_groups"])
        with ranges_of_section("train"):  # "train.epochs=0: must be at least 1", at the recipe's key
            return cls(**fixed)


def param_group_rules(values) -> tuple[ParamGroupRule, ...]:
    """``train.param_groups`` as written in a recipe (a list of ``{name, match, lr_scale,
    weight_decay}`` mappings) or already as rules; errors name the entry and its fault."""
    if not isinstance(values, list | tuple):
        raise RecipeKeyError(
            "train.param_groups",
            f"train.param_groups={values!r}: expected a list of {{name, match, lr_scale}} mappings",
        )
    rules = []
    for i, rule in enumerate(values):
        if isinstance(rule, ParamGroupRule):
            rules.append(rule)
            continue
        if not isinstance(rule, dict) or "name" not in rule:
            raise RecipeKeyError(
                "train.param_groups",
                f"train.param_groups[{i}]={rule!r}: expected a mapping with a name (and match, lr_scale)",
            )
        check_scalar_types(ParamGroupRule, rule, f"train.param_groups[{i}]")
        rules.append(ParamGroupRule(**{**rule, "match": tuple(rule.get("match", ()))}))
    return tuple(rules)


#: FDTA's schedule per dataset (spec ``fdta.md`` §6): epochs, lr-step epochs, warm-up epochs.
FDTA_SCHEDULES: dict[str, tuple[int, tuple[int, ...], int]] = {
    "dancetrack": (13, (6, 9), 1),
    "sportsmot": (13, (8, 12), 1),
    "bft": (22, (16, 20), 2),
}


def fdta_train_config(dataset: str = "dancetrack", **overrides) -> TrainConfig:
    """FDTA's recipe (spec ``fdta.md`` §4.3, §6): AdamW 1e-4, groups, warm-up, steps, separate clip 0.1;
    the criterion's parameters (the Identity Adapter's MLP) are never clipped (§4.1 step 12)."""
    if dataset not in FDTA_SCHEDULES:
        raise ValueError(f"unknown schedule {dataset!r}; choose from {', '.join(FDTA_SCHEDULES)}")
    epochs, milestones, warmup = FDTA_SCHEDULES[dataset]
    base = TrainConfig(
        epochs=epochs,
        lr=1e-4,
        weight_decay=5e-4,
        optimizer="adamw",
        param_groups=FDTA_PARAM_GROUPS,
        warmup_epochs=warmup,
        milestones=milestones,
        gamma=0.1,
        max_grad_norm=0.1,
        separate_clip="detr",
        no_clip=("criterion.",),
        seed=3407,
        sampler_seed=1025,
    )
    return dataclasses.replace(base, **overrides)


def cstrack_train_config(**overrides) -> TrainConfig:
    """CSTrack's recipe (spec ``cstrack.md`` §6.5-6.7): SGD nesterov 0.95, lr 0.005, YOLOv5 warm-up,
    decay at epoch 20, nominal batch 64 by accumulation, summed (not averaged) accumulation, EMA.

    Its type-based parameter groups (no decay on biases and BN weights; the bias group named ``bias``)
    come from the CSTrack builder through ``Trainer(param_groups=...)``.
    """
    base = TrainConfig(
        epochs=30,
        batch_size=8,
        lr=0.005,
        weight_decay=5e-4,
        optimizer="sgd",
        momentum=0.95,
        nesterov=True,
        schedule="cstrack",
        warmup_epochs=3,
        milestones=(20,),
        gamma=0.1,
        accumulate_steps=8,
        divide_loss_by_accumulation=False,
        ema_decay=0.9999,
        ema_ramp=2000.0,
        seed=2,
        precision="fp16",
    )
    return dataclasses.replace(base, **overrides)


def build_schedule(optimizer, config: TrainConfig) -> Schedule:
    """The schedule ``config.schedule`` names, bound to ``optimizer``."""
    c = config
    if c.schedule == "cstrack":
        return CSTrackSchedule.from_train_config(c)
    return WarmupMultiStep(optimizer, c.lr, c.warmup_epochs, c.milestones, c.gamma, c.accumulate_steps)
