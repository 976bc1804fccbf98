"""Edge cases of a trainer's checkpoint (`discmot.engine.trainer_checkpoint`) and of the checkpoint files
and status lines around it (`discmot.engine.checkpointing`, `discmot.engine.run_status`) that the
training tests leave open: the parameters each process trains as its own copy (saved and put back per
process; the 2-process resume test exercises them only under torchrun), the names and pruning of
checkpoint files, and where a run says it stands.

Expected values are hand calculations or the docstrings' own examples, never outputs of the code under test.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from torch import nn

from discmot.engine import checkpointing, trainer_checkpoint
from discmot.engine.optim import ParamGroupRule
from discmot.engine.train import TrainConfig, Trainer
from discmot.engine.train_config import cstrack_train_config, fdta_train_config
from helpers import mse_step, pairs_dataset


class OwnCopies(nn.Module):
    """``local`` is trained by each process as its own copy; ``head`` is shared (DDP's)."""

    def __init__(self):
        super().__init__()
        self.head = nn.Linear(2, 1)
        self.local = nn.Linear(1, 1)

    def own_copy_parameters(self) -> list[str]:
        return ["local.weight"]

    def process_local_parameters(self) -> list[str]:  # more than the own copies (FDTA only_detr)
        return ["local.weight", "local.bias"]


class LocalOnly(nn.Module):
    """A model naming only ``process_local_parameters()`` (the toy of the 2-process tests)."""

    def __init__(self):
        super().__init__()
        self.local = nn.Linear(1, 1)

    def process_local_parameters(self) -> list[str]:
        return ["local.bias"]


def trained_once(model: nn.Module, names: tuple[str, ...]) -> torch.optim.Optimizer:
    """An Adam whose state holds moments for ``names`` only (one step with gradients there alone)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    parameters = dict(model.named_parameters())
    for name in names:
        parameters[name].grad = torch.ones_like(parameters[name])
    optimizer.step()
    return optimizer


def test_own_copies_are_the_models_own_copy_parameters_and_only_with_several_processes():
    """The own copies are ``own_copy_parameters()`` when the model has it (not the larger
    ``process_local_parameters()``), else ``process_local_parameters()``; one process has none."""
    assert trainer_checkpoint._own_copy_names(OwnCopies(), distributed=True) == ["local.weight"]
    assert trainer_checkpoint._own_copy_names(LocalOnly(), distributed=True) == ["local.bias"]
    assert trainer_checkpoint._own_copy_names(OwnCopies(), distributed=False) == []
    assert trainer_checkpoint._own_copy_names(nn.Linear(1, 1), distributed=True) == []


def test_own_copies_hold_a_snapshot_of_the_value_and_its_optimizer_moments():
    """Each own copy is saved as (value, optimizer state), detached copies that later training does not
    change; an own copy not trained yet has an empty state."""
    model = OwnCopies()
    optimizer = trained_once(model, ("local.weight",))
    saved = trainer_checkpoint._own_copies(model, optimizer, distributed=True)
    assert list(saved) == ["local.weight"]
    value, moments = saved["local.weight"]
    assert torch.equal(value, model.local.weight.detach())
    assert set(moments) == {"step", "exp_avg", "exp_avg_sq"}
    with torch.no_grad():
        model.local.weight.add_(1.0)
    assert not torch.equal(value, model.local.weight.detach())  # a copy, not the parameter itself

    untrained = trainer_checkpoint._own_copies(OwnCopies(), torch.optim.Adam(OwnCopies().parameters()), True)
    assert untrained["local.weight"][1] == {}


def test_a_resume_puts_back_each_own_copy_and_its_moments_and_drops_moments_of_untrained_ones():
    """The saved value and moments replace the (rank 0's) ones loaded with the model; an own copy saved
    without moments (not trained yet) has none after the resume either, as before the checkpoint."""
    model = OwnCopies()
    optimizer = trained_once(model, ("local.weight", "head.weight"))
    saved_value = torch.full_like(model.local.weight, 7.0)
    saved_moments = {"step": torch.tensor(3.0), "exp_avg": torch.full_like(model.local.weight, 0.5)}
    trainer_checkpoint._restore_process_local(
        model, optimizer, {"local.weight": (saved_value, saved_moments)}, distributed=True
    )
    assert torch.equal(model.local.weight.detach(), saved_value)
    state = optimizer.state[model.local.weight]
    assert torch.equal(state["exp_avg"], saved_moments["exp_avg"]) and float(state["step"]) == 3.0

    trainer_checkpoint._restore_process_local(
        model, optimizer, {"local.weight": (saved_value, {})}, distributed=True
    )
    assert model.local.weight not in optimizer.state
    assert model.head.weight in optimizer.state  # the shared parameters' moments are left alone


def test_a_saved_copy_of_a_parameter_no_longer_trained_as_own_is_not_put_back():
    """A recipe change may have made a saved own copy shared: the checkpoint's model state (rank 0's)
    stays, its per-process value and moments are ignored."""
    model = OwnCopies()
    optimizer = trained_once(model, ("local.bias",))
    before = model.local.bias.detach().clone()
    moments_before = {k: v.clone() for k, v in optimizer.state[model.local.bias].items()}
    trainer_checkpoint._restore_process_local(
        model,
        optimizer,
        {"local.bias": (torch.full_like(before, 9.0), {"step": torch.tensor(5.0)})},
        distributed=True,
    )
    assert torch.equal(model.local.bias.detach(), before)
    assert torch.equal(optimizer.state[model.local.bias]["step"], moments_before["step"])


# --------------------------------------------------------------------------------------------------
# In-process resumes of a toy model


def toy_fit(run_dir, resume=None, **config) -> Trainer:
    """A 4 -> 1 linear model on `pairs_dataset` (12 pairs, batch 2: 6 iterations per epoch)."""
    torch.manual_seed(0)
    settings = {"epochs": 1, "batch_size": 2, "lr": 1e-3, "log_every": 1, "progress": False, "seed": 1}
    train = TrainConfig(**{**settings, **config})
    trainer = Trainer(nn.Linear(4, 1), mse_step, pairs_dataset(), train, run_dir, device="cpu")
    trainer.fit(resume)
    return trainer


def rewrite_checkpoint(path, **changes) -> None:
    payload = checkpointing.read_checkpoint(path)
    for key, change in changes.items():
        payload[key] = change(payload[key])
    checkpointing.write_checkpoint(path, payload)


def test_a_resume_puts_back_the_fp16_grad_scalers_scale(tmp_path):
    """The checkpoint's GradScaler state is restored: a scale of 1024 saved stays 1024 through 6 more
    iterations (no overflow in the toy, and torch's scaler grows only after 2000 finite steps), where
    a fresh scaler would be at its initial 65536."""
    toy_fit(tmp_path / "run", precision="fp16")
    checkpoint = tmp_path / "run" / "checkpoints" / "epoch-000.pt"
    rewrite_checkpoint(checkpoint, scaler=lambda state: {**state, "scale": 1024.0})
    resumed = toy_fit(tmp_path / "run", resume=True, epochs=2, precision="fp16")
    assert resumed.scaler.get_scale() == 1024.0


def test_a_resume_in_fp16_from_an_fp32_checkpoint_starts_a_fresh_grad_scaler(tmp_path):
    """An fp32 run's checkpoint holds the disabled scaler's empty state: resumed with precision fp16, the
    run trains its second epoch (6 more steps) with a fresh scaler instead of failing to load the empty
    state (torch refuses an empty scaler state)."""
    toy_fit(tmp_path / "run")
    resumed = toy_fit(tmp_path / "run", resume=True, epochs=2, precision="fp16")
    assert resumed.scaler.is_enabled() and resumed.global_step == 12


def test_a_resumed_ema_run_ends_with_the_uninterrupted_runs_ema_weights(tmp_path):
    """The EMA's state is part of the checkpoint (module docstring: a resumed run ends with the same
    weights as an uninterrupted one): 1 epoch + a resume to 2 gives the 2-epoch run's EMA, 12 updates."""
    ema = {"ema_decay": 0.9, "ema_ramp": 1.0, "lr": 1e-2}
    whole = toy_fit(tmp_path / "whole", epochs=2, **ema)
    toy_fit(tmp_path / "cut", **ema)
    resumed = toy_fit(tmp_path / "cut", resume=True, epochs=2, **ema)
    assert resumed.ema.updates == whole.ema.updates == 12
    expected = whole.ema.module.state_dict()
    assert all(torch.equal(value, expected[key]) for key, value in resumed.ema.module.state_dict().items())


def as_if_written_by_two_processes(path) -> None:
    """The checkpoint as 2 processes would have written it: world size 2, one entry per process."""
    rewrite_checkpoint(
        path,
        world_size=lambda _: 2,
        rng=lambda states: states * 2,
        epoch_orders=lambda orders: orders * 2,
        process_local=lambda local: local * 2,
    )


def test_an_end_of_epoch_checkpoint_of_two_processes_resumes_in_one_with_fresh_seeds_said(tmp_path, caplog):
    """At an epoch's end another number of processes may resume: the RNGs are seeded afresh, and the
    run says it will not match an uninterrupted one."""
    toy_fit(tmp_path / "run")
    as_if_written_by_two_processes(tmp_path / "run" / "checkpoints" / "epoch-000.pt")
    with caplog.at_level("WARNING", logger="discmot"):
        resumed = toy_fit(tmp_path / "run", resume=True, epochs=2)
    assert resumed.global_step == 12
    assert "resuming in 1 process from a checkpoint of 2: the RNGs are seeded afresh" in caplog.text


def stopped_mid_epoch(run_dir) -> Path:
    """A 2-epoch run stopped at step 10 (epoch 1, after 4 of its 6 iterations): its mid-epoch checkpoint."""
    toy_fit(run_dir, epochs=2, max_iterations=10)
    (mid,) = (run_dir / "checkpoints").glob("*-iter-*.pt")
    return mid


def test_a_mid_epoch_checkpoint_of_two_processes_is_refused_in_one_naming_the_epoch_checkpoint(tmp_path):
    """A mid-epoch position needs the same shards: refused, naming the newest end-of-epoch checkpoint
    beside it, which any number of processes can resume from."""
    mid = stopped_mid_epoch(tmp_path / "run")
    as_if_written_by_two_processes(mid)
    epoch_end = mid.parent / "epoch-000.pt"
    with pytest.raises(ValueError) as refused:
        toy_fit(tmp_path / "run", resume=mid, epochs=2)
    assert str(refused.value) == (
        f"{mid}: a mid-epoch checkpoint of 2 processes needs as many to resume (this run has 1); an "
        f"end-of-epoch one takes any number: --resume {epoch_end} (the epoch after it is trained again)"
    )
    epoch_end.unlink()
    with pytest.raises(ValueError, match=r"epoch-NNN.pt\) takes any number; this run has none yet"):
        toy_fit(tmp_path / "run", resume=mid, epochs=2)


# --------------------------------------------------------------------------------------------------
# checkpointing: names, versions, pruning


def touch(folder: Path, *names: str) -> None:
    for name in names:
        (folder / name).write_bytes(b"x")


def test_a_checkpoint_of_a_newer_format_version_is_refused_and_the_current_one_and_none_load(tmp_path):
    """``format_version`` above this discmot's (1) is "written by a newer discmot"; version 1 and a
    checkpoint without the key (taken as 0) load."""
    from discmot.io.checkpoints import CheckpointError

    for version in (None, 1):
        payload = {"format": checkpointing.FORMAT, "epoch": 0}
        if version is not None:
            payload["format_version"] = version
        checkpointing.write_checkpoint(tmp_path / "ok.pt", payload)
        assert checkpointing.read_checkpoint(tmp_path / "ok.pt")["epoch"] == 0
    checkpointing.write_checkpoint(tmp_path / "new.pt", {"format": checkpointing.FORMAT, "format_version": 2})
    with pytest.raises(CheckpointError, match=r"new.pt: written by a newer discmot \(format 2\)"):
        checkpointing.read_checkpoint(tmp_path / "new.pt")


def test_names_say_where_training_resumes():
    """``epoch-EEE.pt`` resumes at epoch EEE + 1, iteration 0; ``epoch-EEE-iter-IIIIII.pt`` at epoch EEE
    after IIIIII iterations; other names (too few digits, a temporary file) are no checkpoints."""
    assert checkpointing.checkpoint_name(4) == "epoch-004.pt"
    assert checkpointing.checkpoint_name(4, 12) == "epoch-004-iter-000012.pt"
    assert checkpointing.checkpoint_name(1234, 0) == "epoch-1234-iter-000000.pt"
    assert checkpointing.resume_point("epoch-004.pt") == (5, 0)
    assert checkpointing.resume_point("epoch-004-iter-000012.pt") == (4, 12)
    assert checkpointing.resume_point("epoch-04.pt") is None
    assert checkpointing.resume_point(".epoch-004.pt.tmp-1") is None


def test_checkpoints_sort_by_where_they_resume_not_by_name(tmp_path):
    """``epoch-001-iter-000900`` (epoch 1, 900 iterations) comes before ``epoch-001.pt`` (epoch 2), and
    ``epoch-1000.pt`` after ``epoch-999.pt``."""
    touch(tmp_path, "epoch-1000.pt", "epoch-001.pt", "epoch-999.pt", "epoch-001-iter-000900.pt")
    (tmp_path / "epoch-002.pt").mkdir()  # not a file
    assert [p.name for p in checkpointing.list_checkpoints(tmp_path)] == [
        "epoch-001-iter-000900.pt",
        "epoch-001.pt",
        "epoch-999.pt",
        "epoch-1000.pt",
    ]
    assert checkpointing.list_checkpoints(tmp_path / "missing") == []
    assert checkpointing.latest_checkpoint(tmp_path / "missing") is None


def test_a_mid_epoch_checkpoint_goes_once_the_epochs_checkpoint_after_it_is_complete(tmp_path):
    """Only the newest mid-epoch checkpoint survives once a later checkpoint is complete: the one just
    before ``epoch-000.pt`` goes; all end-of-epoch ones stay with ``keep_epochs`` 0."""
    touch(tmp_path, "epoch-000-iter-000004.pt", "epoch-000.pt")
    checkpointing.prune(tmp_path)
    assert [p.name for p in checkpointing.list_checkpoints(tmp_path)] == ["epoch-000.pt"]
    touch(tmp_path, "epoch-001.pt", "epoch-002.pt", "epoch-003-iter-000002.pt")
    checkpointing.prune(tmp_path)  # keep_epochs 0 by default
    assert len(checkpointing.list_checkpoints(tmp_path)) == 4


def test_keep_epoch_checkpoints_keeps_the_newest_that_many_besides_a_newer_mid_epoch_one(tmp_path):
    touch(tmp_path, "epoch-000.pt", "epoch-001.pt", "epoch-002.pt", "epoch-003-iter-000002.pt")
    checkpointing.prune(tmp_path, keep_epochs=2)
    assert [p.name for p in checkpointing.list_checkpoints(tmp_path)] == [
        "epoch-001.pt",
        "epoch-002.pt",
        "epoch-003-iter-000002.pt",
    ]
    checkpointing.prune(tmp_path, keep_epochs=5)  # more than there are: nothing goes
    assert len(checkpointing.list_checkpoints(tmp_path)) == 3
    checkpointing.prune(tmp_path / "missing", keep_epochs=1)  # no checkpoints (yet): nothing to do
    (tmp_path / "empty").mkdir()
    checkpointing.prune(tmp_path / "empty")


# --------------------------------------------------------------------------------------------------
# resume_path


def test_resume_true_says_it_starts_from_the_beginning_only_on_rank_0_and_only_without_a_checkpoint(
    tmp_path, caplog
):
    from discmot.engine.run_folder import RunFolder

    run = RunFolder(tmp_path / "run")
    said = "no checkpoint to resume from yet; starting from the beginning"
    with caplog.at_level("INFO", logger="discmot"):
        assert trainer_checkpoint.resume_path(True, run, rank=1) is None
    assert said not in caplog.text
    with caplog.at_level("INFO", logger="discmot"):
        assert trainer_checkpoint.resume_path(True, run, rank=0) is None
    assert said in caplog.text
    caplog.clear()
    touch(run.checkpoints, "epoch-000.pt", "epoch-001.pt")
    with caplog.at_level("INFO", logger="discmot"):
        assert trainer_checkpoint.resume_path(True, run, rank=0) == run.checkpoints / "epoch-001.pt"
    assert said not in caplog.text
    for fresh in (None, False):  # a fresh start into a folder with checkpoints is refused
        with pytest.raises(FileExistsError, match=r"already holds checkpoints \(epoch-001.pt\)"):
            trainer_checkpoint.resume_path(fresh, run, rank=0)
    assert trainer_checkpoint.resume_path(str(run.checkpoints / "epoch-000.pt"), run, rank=0) == (
        run.checkpoints / "epoch-000.pt"
    )


# --------------------------------------------------------------------------------------------------
# train_config: the published recipes and the ranges' boundaries


@pytest.mark.parametrize(
    ("dataset", "epochs", "milestones", "warmup"),
    [("dancetrack", 13, (6, 9), 1), ("sportsmot", 13, (8, 12), 1), ("bft", 22, (16, 20), 2)],
)
def test_fdta_recipes_follow_the_spec_per_dataset(dataset, epochs, milestones, warmup):
    """Spec ``fdta.md`` §4.3 and §6.2: AdamW (0.9, 0.999), eps 1e-8, lr 1e-4, weight decay 5e-4, gamma 0.1,
    SEED 3407, sampler seed 1025; EPOCHS / SCHEDULER_MILESTONES / LR_WARMUP_EPOCHS per dataset."""
    config = fdta_train_config(dataset)
    assert (config.epochs, config.milestones, config.warmup_epochs) == (epochs, milestones, warmup)
    assert (config.optimizer, config.betas, config.eps, config.lr, config.weight_decay) == (
        "adamw",
        (0.9, 0.999),
        1e-8,
        1e-4,
        5e-4,
    )
    assert (config.gamma, config.seed, config.sampler_seed, config.schedule) == (0.1, 3407, 1025, "multistep")
    assert (config.precision, config.accumulate_steps, config.ema_decay) == ("fp32", 1, None)  # §4.4
    assert fdta_train_config(dataset, epochs=2).epochs == 2
    with pytest.raises(ValueError, match="unknown schedule 'mot17'; choose from dancetrack, sportsmot, bft"):
        fdta_train_config("mot17")


def test_the_cstrack_recipe_follows_the_spec():
    """Spec ``cstrack.md`` §6.5-6.7: SGD nesterov, momentum 0.95, lr0 0.005, weight decay 5e-4, accumulate 8
    (nominal batch 64 of batch 8) summed not averaged, 3 warm-up epochs, 30 epochs, decay x0.1 at 20
    (0.005 -> 0.0005), EMA 0.9999 with a 2000-update ramp, mixed precision, seed 2 (+ rank)."""
    config = cstrack_train_config()
    assert (config.optimizer, config.nesterov, config.momentum, config.lr, config.weight_decay) == (
        "sgd",
        True,
        0.95,
        0.005,
        5e-4,
    )
    assert (config.batch_size, config.accumulate_steps, config.divide_loss_by_accumulation) == (8, 8, False)
    assert (config.schedule, config.epochs, config.warmup_epochs, config.milestones, config.gamma) == (
        "cstrack",
        30,
        3,
        (20,),
        0.1,
    )
    assert (config.ema_decay, config.ema_ramp, config.precision, config.seed) == (0.9999, 2000.0, "fp16", 2)
    assert cstrack_train_config(epochs=3).epochs == 3


def test_the_lowest_values_in_range_are_accepted():
    """The inclusive bounds: 1 epoch, batch 1, accumulate 1, log every step, seeds 0 (numpy takes 0 to
    2**32 - 1), no weight decay, no warm-up, clipping norm 0 (off), EMA decay 0 (off), betas 0,
    milestone 0, momentum 0 without nesterov."""
    config = TrainConfig(
        epochs=1,
        batch_size=1,
        accumulate_steps=1,
        log_every=1,
        seed=0,
        sampler_seed=0,
        weight_decay=0,
        eps=0,
        momentum=0,
        warmup_epochs=0,
        max_grad_norm=0,
        ema_decay=0,
        betas=(0, 0),
        milestones=(0,),
        optimizer="sgd",
        lr=1e-12,
        gamma=1e-12,
        ema_ramp=1e-12,
    )
    assert (config.seed, config.log_every, config.ema_decay) == (0, 1, 0)
    assert TrainConfig(ema_decay=0.999999, betas=(0.999999, 0.999999)).ema_decay == 0.999999


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("batch_size", 0, "batch_size=0: must be at least 1"),
        ("accumulate_steps", 0, "accumulate_steps=0: must be at least 1"),
        ("num_workers", -1, "num_workers=-1: must be at least 0"),
        ("max_iterations", -1, "max_iterations=-1: must be at least 0"),
        ("sampler_seed", -1, "sampler_seed=-1: must be at least 0"),
        ("warmup_epochs", -1, "warmup_epochs=-1: must be at least 0"),
        ("weight_decay", -0.1, "weight_decay=-0.1: must be at least 0"),
        ("momentum", -0.1, "momentum=-0.1: must be at least 0"),
        ("ema_decay", -0.1, "ema_decay=-0.1: must be at least 0 and below 1"),
        ("betas", (-0.1, 0.9), "betas=[-0.1, 0.9]: must be at least 0 and below 1 each"),
    ],
)
def test_a_value_just_below_its_range_is_refused(field, value, problem):
    with pytest.raises(ValueError, match="^" + re.escape(problem)):
        TrainConfig(**{field: value})


def test_from_dict_turns_yaml_lists_into_tuples_and_param_groups_into_rules():
    config = TrainConfig.from_dict(
        {
            "betas": [0.8, 0.9],
            "milestones": [2, 4],
            "no_clip": ["criterion."],
            "param_groups": [{"name": "bias", "match": [".bias"], "weight_decay": 0.0}],
        }
    )
    assert (config.betas, config.milestones, config.no_clip) == ((0.8, 0.9), (2, 4), ("criterion.",))
    assert config.param_groups == (ParamGroupRule("bias", (".bias",), weight_decay=0.0),)


# --------------------------------------------------------------------------------------------------
# What a checkpoint holds of the run, and a model that does not fit


class WiderLinear(nn.Linear):
    """The toy's model with one parameter more: a checkpoint of the toy misses it."""

    def __init__(self):
        super().__init__(4, 1)
        self.extra = nn.Parameter(torch.zeros(1))


@pytest.mark.parametrize("more", [0, 1])
def test_a_model_that_does_not_fit_under_the_same_config_is_the_plain_one_line_error(tmp_path, more):
    """With no recipe or config key changed there is nothing to lead the error with: it is
    `checkpointing.check_state_fits`'s own line, asking whether the recipe or a --set model.* changed,
    with the first difference and how many more (none with one)."""
    from discmot.io.checkpoints import CheckpointError

    toy_fit(tmp_path / "first", epochs=2)
    checkpoint = tmp_path / "first" / "checkpoints" / "epoch-000.pt"
    torch.manual_seed(0)
    train = TrainConfig(epochs=2, batch_size=2, lr=1e-3, log_every=1, progress=False, seed=1)
    model = WiderByTwo() if more else WiderLinear()
    wider = Trainer(model, mse_step, pairs_dataset(), train, tmp_path / "second", device="cpu")
    with pytest.raises(CheckpointError) as refused:
        wider.fit(checkpoint)
    assert str(refused.value) == (
        f"{checkpoint}: its model does not fit this run's, was the recipe or a --set model.* changed "
        "since it was written? missing: extra (1,)" + (" (and 1 more)" if more else "")
    )


def test_the_step_of_a_checkpoint_is_read_only_from_a_file_that_loads_safely(tmp_path):
    """`checkpoint_step` reads with ``weights_only`` like every load: a file holding a pickled object of
    another class is no checkpoint whose step is known (None), nor is a missing file."""
    torch.save({"global_step": 5}, tmp_path / "plain.pt")
    torch.save({"global_step": 5, "object": WiderLinear}, tmp_path / "pickled.pt")
    assert checkpointing.checkpoint_step(tmp_path / "plain.pt") == 5
    assert checkpointing.checkpoint_step(tmp_path / "pickled.pt") is None
    assert checkpointing.checkpoint_step(tmp_path / "missing.pt") is None


def test_a_checkpoint_holds_the_model_config_as_plain_values(tmp_path):
    """The model config is in every checkpoint (what converting it to weights needs), made plain."""
    import dataclasses

    @dataclasses.dataclass
    class ToyConfig:
        width: int = 4
        sizes: tuple = (1, 2)

    torch.manual_seed(0)
    train = TrainConfig(epochs=1, batch_size=2, progress=False)
    Trainer(
        nn.Linear(4, 1),
        mse_step,
        pairs_dataset(),
        train,
        tmp_path / "run",
        device="cpu",
        model_config=ToyConfig(),
    ).fit()
    payload = checkpointing.read_checkpoint(tmp_path / "run" / "checkpoints" / "epoch-000.pt")
    assert payload["model_config"] == {"width": 4, "sizes": [1, 2]}


class WiderByTwo(WiderLinear):
    def __init__(self):
        super().__init__()
        self.extra2 = nn.Parameter(torch.zeros(2))


@pytest.mark.parametrize(
    ("model", "ending"), [(WiderLinear, "missing: extra (1,)"), (WiderByTwo, "(and 1 more)")]
)
def test_a_model_that_does_not_fit_a_changed_config_is_led_by_the_changes_then_the_first_problem(
    tmp_path, model, ending
):
    """A run made with a recipe, resumed from Python (no recipe) with another config: the changed keys
    of the resolved config lead, then the hint to the run's own recipe, then the first difference and
    how many more (none with one)."""
    from discmot.io.checkpoints import CheckpointError

    first = tmp_path / "first"
    torch.manual_seed(0)
    train = TrainConfig(epochs=2, batch_size=2, lr=1e-3, log_every=1, progress=False, seed=1)
    recipe = "# r\ntrain: {epochs: 2}\n"
    Trainer(nn.Linear(4, 1), mse_step, pairs_dataset(), train, first, device="cpu", recipe=recipe).fit()
    checkpoint = first / "checkpoints" / "epoch-000.pt"
    second = tmp_path / "second"
    other = TrainConfig(epochs=3, batch_size=2, lr=1e-3, log_every=1, progress=False, seed=1)
    with pytest.raises(CheckpointError) as refused:
        Trainer(model(), mse_step, pairs_dataset(), other, second, device="cpu").fit(checkpoint)
    command = f"discmot train --config {first / 'recipe.yaml'} --run-dir {second} --resume --data-root ..."
    assert str(refused.value) == (
        f"{checkpoint}: its model does not fit this run's recipe, which differs from the run's ({first}) in "
        f"train.epochs 2 -> 3; to resume with the run's own recipe, run: {command}; missing: extra (1,)"
        + (" (and 1 more)" if model is WiderByTwo else "")
    )
    assert str(refused.value).endswith(ending)


def test_ema_turned_on_or_off_on_resume_starts_fresh_or_is_left_out(tmp_path):
    """A checkpoint without an EMA resumed with one starts a fresh EMA (6 updates in the resumed epoch);
    one with an EMA resumed without one trains on without it."""
    ema = {"ema_decay": 0.9, "ema_ramp": 1.0}
    toy_fit(tmp_path / "on")
    assert toy_fit(tmp_path / "on", resume=True, epochs=2, **ema).ema.updates == 6
    toy_fit(tmp_path / "off", **ema)
    off = toy_fit(tmp_path / "off", resume=True, epochs=2)
    assert off.ema is None and off.global_step == 12


def test_a_checkpoint_from_before_the_own_copies_were_saved_still_resumes(tmp_path):
    """``process_local`` is absent in older checkpoints: a resume goes on without it."""
    toy_fit(tmp_path / "run")
    checkpoint = tmp_path / "run" / "checkpoints" / "epoch-000.pt"
    payload = checkpointing.read_checkpoint(checkpoint)
    del payload["process_local"]
    checkpointing.write_checkpoint(checkpoint, payload)
    assert toy_fit(tmp_path / "run", resume=True, epochs=2).global_step == 12


def test_a_runs_final_weights_given_as_a_checkpoint_are_said_to_be_weights_not_a_damaged_file(tmp_path):
    """``model.safetensors`` is no training checkpoint: the error says where checkpoints are and how to
    start from weights instead (not that the file is a damaged PyTorch archive); weights written without
    a step have no ``global_step`` metadata."""
    from discmot.io.checkpoints import CheckpointError
    from discmot.io.safetensors_format import safetensors_metadata

    weights = tmp_path / "model.safetensors"
    checkpointing.write_weights(weights, nn.Linear(1, 1), "model", None, TrainConfig(), global_step=3)
    with pytest.raises(CheckpointError) as refused:
        checkpointing.read_checkpoint(weights)
    assert str(refused.value) == (
        f"{weights}: not a discmot training checkpoint (resume from a run's checkpoints/epoch-NNN.pt; "
        "to start from weights, use --pretrained or --detr-pretrain)"
    )
    assert checkpointing.weights_step(weights) == 3
    checkpointing.write_weights(weights, nn.Linear(1, 1), "model", None, TrainConfig())  # no step given
    assert checkpointing.WEIGHTS_STEP_KEY not in safetensors_metadata(weights)
    assert checkpointing.weights_step(weights) is None


class WithInferenceModule(nn.Module):
    """A training module whose final weights are its ``net`` alone, with extra metadata strings."""

    def __init__(self):
        super().__init__()
        self.net = nn.Linear(4, 1)
        self.criterion = nn.Linear(1, 1)

    def forward(self, x):
        return self.net(x) + 0 * self.criterion(self.net(x))

    def inference_module(self) -> nn.Module:
        return self.net

    def weights_metadata(self) -> dict:
        return {"stage": "detector", "rank": 0}


def test_the_final_weights_are_the_inference_module_with_the_models_metadata(tmp_path):
    """``write_final``: a model with ``inference_module()`` leaves that module's weights (no criterion),
    with its ``weights_metadata()`` as strings, also kept in every checkpoint."""
    from discmot.io.safetensors_format import read_safetensors, safetensors_metadata

    torch.manual_seed(0)
    train = TrainConfig(epochs=1, batch_size=2, progress=False)
    Trainer(WithInferenceModule(), mse_step, pairs_dataset(), train, tmp_path, device="cpu").fit()
    assert sorted(read_safetensors(tmp_path / "model.safetensors")[0]) == ["bias", "weight"]
    metadata = safetensors_metadata(tmp_path / "model.safetensors")
    assert (metadata["stage"], metadata["rank"], metadata["global_step"]) == ("detector", "0", "6")
    payload = checkpointing.read_checkpoint(tmp_path / "checkpoints" / "epoch-000.pt")
    assert payload[checkpointing.WEIGHTS_METADATA_KEY] == {"stage": "detector", "rank": "0"}
