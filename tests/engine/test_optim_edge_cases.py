"""Edge cases of the training engine's optimizer and schedule that the engine tests leave open (spec
``fdta.md`` §4.1 step 12, §4.3): when updates happen under gradient accumulation, the warm-up's per-group
scale, milestones after a resume with a new lr, the optimizer choice, and the clipping's exclusions.

Expected values are hand calculations written here, never outputs of the code under test.
"""

from __future__ import annotations

import pytest
import torch

from discmot.engine.optim import Schedule, WarmupMultiStep, build_optimizer, clip_gradients


def one_group_optimizer(lr: float, **group) -> torch.optim.Optimizer:
    return torch.optim.AdamW([{"params": [torch.nn.Parameter(torch.zeros(2))], "lr": lr, **group}], lr=lr)


def test_updates_happen_every_accumulate_steps_and_at_every_epoch_end():
    """§4.1 step 11 (ACCUMULATE_STEPS, 1 by default): with 1 every backward pass is an update; with 2
    every second one, and the last iteration of an epoch always updates."""
    once = Schedule()
    assert all(once.is_update_step(0, i, 5, pending=1) for i in range(5))
    warmup = WarmupMultiStep(one_group_optimizer(1e-4), 1e-4, 1, (6, 9), 0.1)
    assert warmup.is_update_step(0, 0, 5, pending=1)
    twice = Schedule(accumulate_steps=2)
    assert [twice.is_update_step(0, i, 5, pending=i % 2 + 1) for i in range(4)] == [False, True, False, True]
    assert twice.is_update_step(0, 4, 5, pending=1)  # epoch end: no gradient crosses it


def test_warmup_scale_defaults_to_one_for_a_group_without_lr_scale():
    """§4.3: ``lr_group = LR (e I + i + 1) / (W I) x scale``, scale 1 for the default group."""
    optimizer = one_group_optimizer(1e-3)
    schedule = WarmupMultiStep(optimizer, 1e-3, warmup_epochs=2, milestones=(5,), gamma=0.1)
    schedule.before_iteration(optimizer, epoch=1, iteration=2, iters_per_epoch=4)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(1e-3 * (1 * 4 + 2 + 1) / (2 * 4))


@pytest.mark.filterwarnings("ignore:Detected call of")
def test_a_resume_with_a_new_lr_counts_milestones_from_the_warmup_end_to_the_current_epoch():
    """§4.3 MultiStepLR: after epochs 0 and 1 (``last_epoch`` 2) with warm-up 1 and milestones (1, 2),
    both milestones have passed (1 >= warm-up end 1, 2 <= 2): a resume with lr 2e-3 continues at
    2e-3 x 0.1^2; without a change the saved learning rate stays, to the last bit."""
    optimizer = one_group_optimizer(1e-3)
    schedule = WarmupMultiStep(optimizer, 1e-3, warmup_epochs=1, milestones=(1, 2), gamma=0.1)
    for epoch in range(2):
        schedule.after_epoch(optimizer, epoch)
    saved_lr = optimizer.param_groups[0]["lr"]
    assert saved_lr == pytest.approx(1e-5)
    state = schedule.state_dict()

    same_optimizer = one_group_optimizer(1e-3)
    same = WarmupMultiStep(same_optimizer, 1e-3, warmup_epochs=1, milestones=(1, 2), gamma=0.1)
    same_optimizer.load_state_dict(optimizer.state_dict())  # a resume restores both, optimizer first
    same.load_state_dict(state)
    assert same_optimizer.param_groups[0]["lr"] == saved_lr

    new_optimizer = one_group_optimizer(2e-3)
    new = WarmupMultiStep(new_optimizer, 2e-3, warmup_epochs=1, milestones=(1, 2), gamma=0.1)
    new_optimizer.load_state_dict(optimizer.state_dict())
    new.load_state_dict(state)
    assert new_optimizer.param_groups[0]["lr"] == pytest.approx(2e-3 * 0.1**2)


def test_build_optimizer_gives_adamw_or_sgd_and_refuses_others():
    """§4.3: FDTA trains with AdamW (betas 0.9/0.999, eps 1e-8); SGD is the other kind offered."""
    groups = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 1e-4}]
    adamw = build_optimizer(groups, "adamw", 1e-4, betas=[0.9, 0.999], eps=1e-8)
    assert type(adamw) is torch.optim.AdamW and adamw.defaults["betas"] == (0.9, 0.999)
    groups = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 1e-2}]
    sgd = build_optimizer(groups, "sgd", 1e-2, momentum=0.9, nesterov=True)
    assert type(sgd) is torch.optim.SGD and sgd.defaults["nesterov"]
    with pytest.raises(ValueError, match="adamw"):
        build_optimizer(groups, "adam", 1e-2)


def test_clipping_leaves_out_a_parameter_matching_any_excluded_name():
    """§4.1 step 12: parameters outside the model's clipping (the criterion's CFE) keep their gradient;
    a parameter is left out when its name contains any one of the excluded substrings."""
    named = {name: torch.nn.Parameter(torch.zeros(2)) for name in ("detr.a", "criterion.b", "track_embed.c")}
    for param in named.values():
        param.grad = torch.full((2,), 3.0)
    norms = clip_gradients(named.items(), 0.1, separate="detr", exclude=("criterion", "track_embed"))
    assert set(norms) == {"grad_norm/detr"}
    assert named["criterion.b"].grad.tolist() == [3.0, 3.0] == named["track_embed.c"].grad.tolist()
    assert float(named["detr.a"].grad.norm()) == pytest.approx(0.1, rel=1e-5)
