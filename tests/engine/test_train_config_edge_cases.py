"""Edge cases of the training config (`discmot.engine.train_config`) beyond the recipes' values and range
boundaries already pinned in ``test_trainer_checkpoint_edge_cases.py``, ``test_train_journey.py`` and
``test_train.py``: the switches that are off unless asked for, a config that cannot change
after it was checked, the nesterov rule's scope, ``train.param_groups`` entries, and the schedule built.

Expected values come from spec ``fdta.md`` §4.4 and the docstrings, never from the code under
test.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
import torch

from discmot.engine.optim import CSTrackSchedule, ParamGroupRule, WarmupMultiStep
from discmot.engine.train_config import TrainConfig, build_schedule, param_group_rules


def test_what_is_off_unless_asked_for_is_off_in_a_plain_config():
    """The docstrings' "0: off" switches and the plain fp32 run of spec ``fdta.md`` §4.4: no early stop,
    checkpoints at epoch ends only, every epoch's kept, no accumulation (and the loss divided by it as
    FDTA's step 11 does), no EMA, no clipping, the device's own determinism, no warm-up or lr steps, no
    TensorBoard files."""
    config = TrainConfig()
    assert (config.max_iterations, config.checkpoint_every, config.keep_epoch_checkpoints) == (0, 0, 0)
    assert (config.accumulate_steps, config.divide_loss_by_accumulation, config.ema_decay) == (1, True, None)
    assert (config.precision, config.max_grad_norm, config.separate_clip, config.deterministic) == (
        "fp32",
        None,
        None,
        None,
    )
    assert (config.optimizer, config.schedule, config.nesterov) == ("adamw", "multistep", False)
    assert (config.warmup_epochs, config.milestones) == (0, ())  # a constant lr
    assert (config.tensorboard, config.pin_memory, config.find_unused_parameters) == (False, False, False)


def test_a_checked_config_cannot_be_changed_afterwards():
    """Frozen: a value out of range cannot get in after ``__post_init__`` checked them; changes go through
    ``dataclasses.replace``, which checks again."""
    config = TrainConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.epochs = 0
    with pytest.raises(ValueError, match="^epochs=0: must be at least 1"):
        dataclasses.replace(config, epochs=0)


def test_momentum_0_with_nesterov_is_refused_only_for_sgd():
    """The rule is torch's SGD's (it refuses nesterov without momentum); AdamW has no momentum to check."""
    assert TrainConfig(optimizer="adamw", nesterov=True, momentum=0).momentum == 0
    assert TrainConfig(optimizer="sgd", nesterov=False, momentum=0).momentum == 0
    assert TrainConfig(optimizer="sgd", nesterov=True, momentum=1e-12).momentum == 1e-12


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("gamma", 0.0, "gamma=0.0: must be above 0"),
        ("ema_ramp", 0.0, "ema_ramp=0.0: must be above 0"),
        ("lr", -1e-12, "lr=-1e-12: must be above 0"),
        ("max_grad_norm", -1e-12, "max_grad_norm=-1e-12: must be at least 0 (0 or null: no clipping)"),
        ("betas", (1.0, 0.999), "betas=[1.0, 0.999]: must be at least 0 and below 1 each"),
        ("milestones", (3, -1), "milestones=[3, -1]: must be at least 0 each"),
    ],
)
def test_a_value_at_or_past_its_exclusive_bound_is_refused(field, value, problem):
    """The bounds `check_field_ranges` does not hold: above 0, below 1, each entry of a list."""
    with pytest.raises(ValueError, match="^" + re.escape(problem)):
        TrainConfig(**{field: value})


def test_param_group_entries_keep_rules_and_default_their_match_to_every_parameter():
    """``train.param_groups`` may mix rules already built with recipe mappings; a mapping without
    ``match`` matches every parameter (`ParamGroupRule`: all of them when empty)."""
    rule = ParamGroupRule("backbone", ("backbone.0",), lr_scale=0.1)
    assert param_group_rules((rule, {"name": "rest", "lr_scale": 2.0})) == (
        rule,
        ParamGroupRule("rest", (), lr_scale=2.0),
    )


def test_from_dict_keeps_tuples_and_checks_a_string_given_for_a_list():
    """Only YAML lists become tuples: a string stays a string (``tuple("detr")`` would be its letters)
    and is refused by the type check."""
    assert TrainConfig.from_dict({"no_clip": ("criterion.",)}).no_clip == ("criterion.",)
    with pytest.raises(ValueError, match="no_clip='detr'"):
        TrainConfig.from_dict({"no_clip": "detr"})


@pytest.mark.parametrize(("schedule", "kind"), [("multistep", WarmupMultiStep), ("cstrack", CSTrackSchedule)])
def test_the_schedule_built_is_the_one_the_config_names(schedule, kind):
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.01)
    config = TrainConfig(schedule=schedule, lr=0.01, milestones=(1,))
    assert type(build_schedule(optimizer, config)) is kind
