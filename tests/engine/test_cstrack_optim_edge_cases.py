"""Edge cases of CSTrack's schedule and weight EMA (spec ``cstrack.md`` §6.5-§6.7) that the engine tests
leave open: the default recipe as constructed without arguments, the accumulation for a batch as large as
the nominal one, a group's ``lr_scale``, optimizers without momentum and the EMA's default decay ramp.

Expected values are the spec's numbers or hand calculations written here, never outputs of the code
under test.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from discmot.engine.optim import CSTrackSchedule, ModelEMA


def sgd(*groups: dict) -> torch.optim.SGD:
    params = [{"params": [nn.Parameter(torch.zeros(1))], **group} for group in groups]
    return torch.optim.SGD(params, lr=0.005, momentum=0.95, nesterov=True)


def f(epoch: int, epochs: int = 30) -> float:
    """§6.6: ``f(e) = 0.1 + 0.9 (1 + cos(pi e / 30)) / 2``."""
    return 0.1 + 0.9 * (1 + math.cos(math.pi * epoch / epochs)) / 2


def test_the_default_schedule_is_the_official_recipe():
    """§6.5/§6.6 with no arguments: lr0 0.005 (x0.1 after epoch 20), 30 epochs in f(e), nw = max(3 nb,
    1000), accumulation round(64 / 8) = 8 reached at the warm-up's end, momentum 0.9 -> 0.95, bias lr
    0.1 -> lr0 f(e). nb = 500: nw = 1500."""
    schedule = CSTrackSchedule()
    optimizer = sgd({"name": "bias"}, {"name": "decay"})
    nb = 500
    assert f(1) == pytest.approx(0.9975, abs=1e-4) and f(2) == pytest.approx(0.9902, abs=1e-4)

    schedule.before_iteration(optimizer, 2, 499, nb)  # ni = 1499 of nw = 1500
    bias, decay = optimizer.param_groups
    assert decay["lr"] == pytest.approx(1499 / 1500 * 0.005 * f(2), rel=1e-12)
    assert bias["lr"] == pytest.approx(0.1 + 1499 / 1500 * (0.005 * f(2) - 0.1), rel=1e-12)
    assert decay["momentum"] == pytest.approx(0.9 + 1499 / 1500 * 0.05, rel=1e-12)
    assert schedule.accumulate(2, 499, nb) == round(1 + 1499 / 1500 * 7) == 8

    schedule.before_iteration(optimizer, 10, 0, nb)
    assert [g["lr"] for g in optimizer.param_groups] == [0.005, 0.005]
    schedule.before_iteration(optimizer, 29, 0, nb)
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([0.0005, 0.0005], rel=1e-12)
    assert schedule.accumulate(29, 0, nb) == 8
    assert [schedule.is_update_step(10, i, nb, 0) for i in range(8)] == [True] + [False] * 7


@pytest.mark.parametrize("batch", [64, 100, 256])
def test_a_batch_as_large_as_the_nominal_one_updates_every_iteration(batch):
    """§6.5: ``accumulate = max(round(64 / batch), 1)``: 1 for batches of 64 (and round(0.64) = 1,
    round(0.25) = 0 -> 1): every iteration is an optimizer step once the warm-up is over."""
    schedule = CSTrackSchedule(nominal_batch=64, batch_size=batch)
    nb = 500
    assert schedule.accumulate(5, 0, nb) == 1
    assert all(schedule.is_update_step(5, i, nb, 1) for i in range(5))


def test_a_groups_lr_scale_scales_its_learning_rate():
    """A group's learning rate is ``lr x lr_scale`` (`ParamGroupRule`), in the warm-up target and after it:
    lr_scale 0.1 gives 0.0005 at epoch 10 and 0.00005 after the decay at epoch 20."""
    schedule = CSTrackSchedule()
    optimizer = sgd({"name": "decay", "lr_scale": 0.1}, {"name": "other"})
    schedule.before_iteration(optimizer, 10, 0, 500)
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([0.0005, 0.005], rel=1e-12)
    schedule.before_iteration(optimizer, 25, 0, 500)
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([0.00005, 0.0005], rel=1e-12)
    schedule.before_iteration(optimizer, 1, 250, 500)  # ni = 750 = nw / 2
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.5 * 0.0005 * f(1), rel=1e-12)


def test_the_warmup_leaves_an_optimizer_without_momentum_alone():
    """Only groups with a ``momentum`` (SGD) get the 0.9 -> 0.95 ramp; an AdamW group gets no such key."""
    optimizer = torch.optim.AdamW([{"params": [nn.Parameter(torch.zeros(1))], "name": "decay"}], lr=0.005)
    CSTrackSchedule().before_iteration(optimizer, 0, 10, 500)
    group = optimizer.param_groups[0]
    assert "momentum" not in group and group["betas"] == (0.9, 0.999)
    assert group["lr"] == pytest.approx(10 / 1500 * 0.005, rel=1e-12)


def test_the_ema_decay_defaults_to_0_9999_with_a_ramp_of_2000_updates():
    """§6.7: ``d = 0.9999 (1 - exp(-updates / 2000))``; after 2000 updates d = 0.9999 (1 - 1/e)."""
    model = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(0.0)
    ema = ModelEMA(model)
    with torch.no_grad():
        model.weight.fill_(1.0)
    ema.update(model)
    d1 = 0.9999 * (1 - math.exp(-1 / 2000))
    assert ema.module.weight.item() == pytest.approx(1 - d1, rel=1e-6)
    ema.updates = 1999
    ema.update(model)
    assert ema.current_decay() == pytest.approx(0.9999 * (1 - math.exp(-1)), rel=1e-12)
