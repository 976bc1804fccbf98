"""Training follow-ups of 2026-11-24: ``train.max_iterations`` (a smoke test of one's data that stops
early, and how a resume goes on from it), ``--config RUN/recipe.yaml --resume`` continuing in that run
folder, and the range checks of CSTrack's warm-up start values.

Runs are a toy model at tiny size (12 samples, batch 2: 6 iterations an epoch), in this process.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from torch import nn

import discmot.cli.train as cli_train
from discmot.cli import main as cli_main
from discmot.config import RecipeError
from discmot.engine.run_folder import read_metrics
from discmot.engine.train import FDTA_PARAM_GROUPS, TrainConfig, Trainer, TrainSetup, launch
from discmot.models.cstrack.recipe import load_recipe as load_cstrack_recipe
from discmot.models.cstrack.training import CSTrackOptimConfig
from helpers import pairs_dataset


class Toy(nn.Module):
    """Parameter names that FDTA's group rules and separate clipping know (``backbone``, ``detr``), and a
    dropout: a resume only matches an uninterrupted run if the torch RNG state was restored."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.backbone = nn.Linear(4, 8)
        self.drop = nn.Dropout(0.2)
        self.detr = nn.ModuleDict({"head": nn.Linear(8, 1)})

    def forward(self, x):
        return self.detr["head"](self.drop(torch.tanh(self.backbone(x))))


def noisy_step(model, batch, context):
    """MSE on inputs with python, numpy and torch noise (each RNG must be restored on resume)."""
    x, y = batch
    x = x + 0.01 * random.gauss(0.0, 1.0) + 0.01 * float(np.random.randn()) + 0.01 * torch.randn_like(x)
    return nn.functional.mse_loss(model(x), y), {}


def config(**overrides) -> TrainConfig:
    """2 epochs of 6 iterations; a warm-up through epoch 1 and a drop after it: every iteration's lr
    differs, so a schedule that followed ``max_iterations`` would show."""
    base = TrainConfig(
        epochs=2,
        batch_size=2,
        lr=1e-2,
        param_groups=FDTA_PARAM_GROUPS,
        warmup_epochs=1,
        milestones=(1,),
        log_every=1,
        progress=False,
        seed=1,
    )
    return TrainConfig.from_dict({**vars(base), **overrides})


def fit(run: Path, train: TrainConfig, resume=None) -> tuple[Trainer, Path | None]:
    trainer = Trainer(Toy(), noisy_step, pairs_dataset(), train, run, device="cpu")
    return trainer, trainer.fit(resume)


def files(run: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run)): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}


def messages(caplog, level: str = "INFO") -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelname == level]


def lrs(run: Path) -> dict[int, float]:
    """``{step: lr}`` of the run's metrics (the toy's one group)."""
    return {line["step"]: line["lr/default"] for line in read_metrics(run)}


# --------------------------------------------------------------------------------------------------
# Item 1: train.max_iterations


def test_max_iterations_stops_mid_epoch_with_a_checkpoint_and_weights_and_the_recipes_lr(tmp_path, caplog):
    full = tmp_path / "full"
    fit(full, config())
    run = tmp_path / "smoke"
    with caplog.at_level("INFO", logger="discmot"):
        trainer, weights = fit(run, config(max_iterations=5))
    assert trainer.global_step == 5 and (trainer.epoch, trainer.iteration) == (0, 5)
    assert [p.name for p in (run / "checkpoints").iterdir()] == ["epoch-000-iter-000005.pt"]
    assert weights == run / "model.safetensors" and weights.is_file()
    # the iterations that ran had the lr of the full run's (the schedule is the recipe's 2 epochs)
    assert lrs(run) == {step: lr for step, lr in lrs(full).items() if step <= 5}
    # its last iteration is logged, though not a multiple of log_every: a smoke test shows its loss
    fit(tmp_path / "short", config(max_iterations=3, log_every=10))
    assert [line["step"] for line in read_metrics(tmp_path / "short")] == [3]
    said = messages(caplog)
    assert any(
        m.startswith("train.max_iterations=5: stopping early, after iteration 5 of 12, with a checkpoint")
        for m in said
    )
    assert any(
        m.startswith("stopped early at train.max_iterations=5 (epoch 1/2, after 5 iterations; 5 in total)")
        for m in said
    )


def test_resuming_an_early_stop_with_a_larger_value_or_0_ends_as_an_uninterrupted_run(tmp_path, caplog):
    """Stop at 5, again at 8 (the next epoch: mid-epoch checkpoints and RNGs), then 0: the same bytes
    of model.safetensors as a run never stopped. A resume at the same value writes nothing."""
    _, uninterrupted = fit(tmp_path / "full", config())
    run = tmp_path / "smoke"
    fit(run, config(max_iterations=5))
    before = files(run)
    with caplog.at_level("INFO", logger="discmot"):
        _, weights = fit(run, config(max_iterations=5), resume=True)
    assert weights == run / "model.safetensors" and files(run) == before  # no resumes.jsonl either
    assert any("the run already stopped at train.max_iterations=5" in m for m in messages(caplog))
    trainer, _ = fit(run, config(max_iterations=8), resume=True)
    assert (trainer.epoch, trainer.iteration, trainer.global_step) == (1, 2, 8)
    caplog.clear()
    with caplog.at_level("INFO", logger="discmot"):
        trainer, weights = fit(run, config(max_iterations=0), resume=True)
    assert trainer.epoch == 2 and weights.read_bytes() == uninterrupted.read_bytes()
    # a raised or switched-off stop is how a smoke test goes on: said, not warned about
    assert not messages(caplog, "WARNING")
    assert "resuming with train.max_iterations 8 -> 0" in messages(caplog)
    assert yaml.safe_load((run / "config.yaml").read_text())["train"]["max_iterations"] == 0
    assert [
        json.loads(line)["config_changed"] for line in (run / "resumes.jsonl").read_text().splitlines()
    ] == [["train.max_iterations"]] * 2


def test_a_stop_at_an_epoch_end_writes_that_epochs_checkpoint_and_goes_on_identically(tmp_path):
    _, uninterrupted = fit(tmp_path / "full", config(epochs=3))
    run = tmp_path / "smoke"
    trainer, _ = fit(run, config(epochs=3, max_iterations=6))
    assert (trainer.epoch, trainer.iteration) == (1, 0)
    assert [p.name for p in (run / "checkpoints").iterdir()] == ["epoch-000.pt"]
    _, weights = fit(run, config(epochs=3), resume=True)
    assert weights.read_bytes() == uninterrupted.read_bytes()


def test_with_accumulation_the_stop_waits_for_the_optimizer_step(tmp_path):
    """A checkpoint holds no accumulated gradient: with accumulate_steps 2, max_iterations 3 stops after
    iteration 4, and the resumed run still ends as the uninterrupted one."""
    _, uninterrupted = fit(tmp_path / "full", config(accumulate_steps=2))
    run = tmp_path / "smoke"
    trainer, _ = fit(run, config(accumulate_steps=2, max_iterations=3))
    assert trainer.global_step == 4 and trainer.optimizer_steps == 2
    _, weights = fit(run, config(accumulate_steps=2), resume=True)
    assert weights.read_bytes() == uninterrupted.read_bytes()


def test_a_max_iterations_beyond_the_run_says_every_epoch_is_trained(tmp_path, caplog):
    with caplog.at_level("INFO", logger="discmot"):
        trainer, _ = fit(tmp_path / "run", config(max_iterations=50))
    assert trainer.epoch == 2
    assert "train.max_iterations=50: not below the run's 12 iterations; every epoch is trained" in messages(
        caplog
    )
    with pytest.raises(RecipeError, match=r"train.max_iterations=-1: must be at least 0"):
        from discmot.models.fdta.recipe import load_recipe

        load_recipe("tiny", ["train.max_iterations=-1"])


def test_a_run_made_before_max_iterations_resumes_without_a_changed_config(tmp_path, caplog):
    """A config.yaml without the key (written before it existed) is not "changed" by its default 0."""
    run = tmp_path / "run"
    fit(run, config(epochs=1))
    recorded = yaml.safe_load((run / "config.yaml").read_text())
    del recorded["train"]["max_iterations"]
    (run / "config.yaml").write_text(yaml.safe_dump(recorded, sort_keys=False))
    with caplog.at_level("INFO", logger="discmot"):
        fit(run, config(epochs=2), resume=True)
    (warning,) = messages(caplog, "WARNING")
    assert "changed: train.epochs 1 -> 2" in warning and "max_iterations" not in warning


# --------------------------------------------------------------------------------------------------
# Item 2: --config RUN/recipe.yaml --resume continues in RUN


@pytest.fixture
def toy_cli(tmp_path, monkeypatch):
    """``discmot train ARGS`` in ``tmp_path`` (which has data/train) with the toy training in place of
    FDTA's."""
    (tmp_path / "data" / "train").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)

    def toy_launch(build, train, run_dir, **kwargs):
        toy = TrainConfig.from_dict({**vars(config()), "epochs": train.epochs})
        return launch(lambda info: TrainSetup(Toy(), noisy_step, pairs_dataset()), toy, run_dir, **kwargs)

    monkeypatch.setattr("discmot.engine.train.launch", toy_launch)
    return lambda *args: cli_main(["train", "--data-root", "data", *args])


def test_resume_with_a_run_folders_own_recipe_continues_in_that_folder(toy_cli, tmp_path, caplog):
    """It started afresh in runs/f3-repeat, while the hints of a stopped run name --run-dir."""
    assert toy_cli("--config", "tiny", "--run-dir", "runs/f3", "--set", "train.epochs=1") == 0
    with caplog.at_level("INFO", logger="discmot"):
        code = toy_cli("--config", "runs/f3/recipe.yaml", "--resume", "--set", "train.epochs=2")
    assert code == 0
    assert not (tmp_path / "runs" / "f3-repeat").exists()
    assert (tmp_path / "runs" / "f3" / "checkpoints" / "epoch-001.pt").is_file()
    assert json.loads((tmp_path / "runs" / "f3" / "resumes.jsonl").read_text())["step"] == 6
    assert (
        "runs/f3/recipe.yaml is the recipe of run folder runs/f3: resuming there (--run-dir DIR for another)"
        in messages(caplog)
    )
    # without --resume it repeats the run in a folder of its own; --run-dir wins; a recipe.yaml that is
    # no run folder's is an ordinary recipe file
    assert cli_train._run_dir(_args("runs/f3/recipe.yaml"), "f3-repeat") == Path("runs/f3-repeat")
    assert cli_train._run_dir(_args("runs/f3/recipe.yaml", True, "x"), "f3-repeat") == Path("x")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "recipe.yaml").write_text((tmp_path / "runs" / "f3" / "recipe.yaml").read_text())
    assert cli_train._run_dir(_args("mine/recipe.yaml", True), "mine") == Path("runs/mine")


def _args(config: str, resume=None, run_dir=None):
    import argparse

    return argparse.Namespace(config=config, resume=resume, run_dir=run_dir)


# --------------------------------------------------------------------------------------------------
# Item 3: CSTrack's warm-up start values


@pytest.mark.parametrize(
    ("item", "problem"),
    [
        ("optim.warmup_bias_lr=-0.1", "optim.warmup_bias_lr=-0.1: must be at least 0"),
        ("optim.warmup_momentum=7", "optim.warmup_momentum=7: must be from 0 to 1"),
        ("optim.warmup_momentum=-0.5", "optim.warmup_momentum=-0.5: must be from 0 to 1"),
        ("optim.warmup_momentum=.nan", "optim.warmup_momentum=nan: must be from 0 to 1"),
    ],
)
def test_cstrack_warmup_start_values_are_range_checked_by_their_key(item, problem):
    with pytest.raises(RecipeError) as error:
        load_cstrack_recipe("cstrack_tiny", [item])
    assert str(error.value).startswith(f"built-in recipe 'cstrack_tiny' (--set {item}): {problem}")


def test_cstrack_warmup_start_values_at_their_bounds_are_accepted_and_python_configs_checked():
    recipe = load_cstrack_recipe("cstrack_tiny", ["optim.warmup_bias_lr=0", "optim.warmup_momentum=1"])
    assert (recipe.optim.warmup_bias_lr, recipe.optim.warmup_momentum) == (0, 1)
    with pytest.raises(ValueError, match=r"^optim.warmup_bias_lr=-1: must be at least 0$"):
        CSTrackOptimConfig(warmup_bias_lr=-1)


# --------------------------------------------------------------------------------------------------
# Review of 2026-11-24: stale final weights, the position said once, keys added to the config


def _failing_once(monkeypatch):
    """The final weights' writer raises a full disk's OSError on its first call, then writes."""
    from discmot.engine import checkpointing

    real, calls = checkpointing.write_weights, []

    def write_weights(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OSError(28, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(checkpointing, "write_weights", write_weights)


@pytest.mark.parametrize("resumed_with", [8, 0])
def test_weights_whose_write_failed_on_resume_are_written_again_not_handed_out_stale(
    tmp_path, monkeypatch, caplog, resumed_with
):
    """Stopped at 5; a resume with 8 (another early stop) or 0 (to the end) fails to write its weights;
    the next resume said "already stopped" / "already finished" and returned the step-5 file. Now it
    writes the weights of its checkpoint: the bytes of a run never interrupted."""
    from discmot.engine.checkpointing import weights_step

    _, expected = fit(tmp_path / "whole", config(max_iterations=resumed_with))
    run = tmp_path / "smoke"
    fit(run, config(max_iterations=5))
    _failing_once(monkeypatch)
    with pytest.raises(OSError, match="No space left on device"):
        fit(run, config(max_iterations=resumed_with), resume=True)
    assert weights_step(run / "model.safetensors") == 5
    with caplog.at_level("INFO", logger="discmot"):
        trainer, weights = fit(run, config(max_iterations=resumed_with), resume=True)
    assert weights.read_bytes() == expected.read_bytes()
    assert weights_step(weights) == trainer.global_step == (resumed_with or 12)
    said = messages(caplog)
    assert any("holds the weights of step 5, not of epoch-001" in m for m in said)
    assert not any("already" in m for m in said)
    # and now the run is done: a further resume writes nothing
    before = files(run)
    caplog.clear()
    with caplog.at_level("INFO", logger="discmot"):
        fit(run, config(max_iterations=resumed_with), resume=True)
    assert files(run) == before
    assert any(("already stopped" if resumed_with else "already finished") in m for m in messages(caplog))


def test_final_weights_without_a_recorded_step_count_as_the_runs_as_before(tmp_path, caplog):
    """Weights written before the step was recorded: a resume at the same stop writes nothing."""
    from safetensors.torch import save_file

    from discmot.io.safetensors_format import read_safetensors

    run = tmp_path / "smoke"
    _, weights = fit(run, config(max_iterations=5))
    tensors, metadata = read_safetensors(weights)
    assert metadata.pop("global_step") == "5"
    save_file(tensors, str(weights), metadata)
    before = files(run)
    with caplog.at_level("INFO", logger="discmot"):
        fit(run, config(max_iterations=5), resume=True)
    assert files(run) == before
    assert any("the run already stopped at train.max_iterations=5" in m for m in messages(caplog))


def test_the_position_is_said_one_way_with_one_iteration_singular(tmp_path, caplog):
    """The early stop, the resume and the Ctrl-C lines said "after 1 iterations", three ways."""
    import argparse

    run = tmp_path / "run"
    with caplog.at_level("INFO", logger="discmot"):
        fit(run, config(max_iterations=7))
        fit(run, config(), resume=True)
    newest = run / "checkpoints" / "epoch-001-iter-000001.pt"
    assert any(
        m.startswith("stopped early at train.max_iterations=7 (epoch 2/2, after 1 iteration; 7 in total)")
        for m in messages(caplog)
    )
    assert f"resumed from {newest}: epoch 2/2, after 1 iteration" in messages(caplog)
    # Ctrl-C's line, for a folder whose newest checkpoint is that one (and for an end of epoch)
    for name, where in [
        (newest.name, "epoch 2/2, after 1 iteration"),
        ("epoch-001.pt", "at the end of epoch 2/2"),
    ]:
        folder = tmp_path / name / "checkpoints"
        folder.mkdir(parents=True)
        (folder / name).write_bytes(b"")
        args = argparse.Namespace(
            config="tiny", set=[], data_root="data", detr_pretrain=None, pretrained=None, device=None
        )
        caplog.clear()
        with caplog.at_level("INFO", logger="discmot"):
            cli_train._say_where_to_resume(args, folder.parent, 2)
        assert (
            f"newest checkpoint: {folder / name} ({where}); continue with:" in messages(caplog, "WARNING")[0]
        )


def test_any_config_key_added_since_a_run_was_made_is_no_change_at_its_default(tmp_path, caplog):
    """`max_iterations` alone was let through: a run recorded before another field existed (here
    train.tensorboard, and a model config field with a null default) warned "changed" on resume."""
    from dataclasses import dataclass

    @dataclass
    class ToyConfig:
        width: int = 8
        note: str | None = None  # a field added after the run was made

    def fit_with(run, train, model_config, resume=None):
        trainer = Trainer(
            Toy(), noisy_step, pairs_dataset(), train, run, device="cpu", model_config=model_config
        )
        return trainer.fit(resume)

    run = tmp_path / "run"
    fit_with(run, config(epochs=1), ToyConfig())
    recorded = yaml.safe_load((run / "config.yaml").read_text())
    del recorded["train"]["tensorboard"], recorded["model"]["note"]
    (run / "config.yaml").write_text(yaml.safe_dump(recorded, sort_keys=False))
    with caplog.at_level("INFO", logger="discmot"):
        fit_with(run, config(epochs=2), ToyConfig(), resume=True)
    (warning,) = messages(caplog, "WARNING")
    assert warning.startswith("resuming with another config than the run's; changed: train.epochs 1 -> 2")
    assert "tensorboard" not in warning and "note" not in warning
    # a value other than the default is a change, said with the key's absence
    recorded = yaml.safe_load((run / "config.yaml").read_text())
    del recorded["model"]["note"]
    (run / "config.yaml").write_text(yaml.safe_dump(recorded, sort_keys=False))
    caplog.clear()
    with caplog.at_level("INFO", logger="discmot"):
        fit_with(run, config(epochs=3), ToyConfig(note="x"), resume=True)
    (warning,) = messages(caplog, "WARNING")
    assert "model.note (absent) -> x" in warning


def test_a_run_ends_with_its_step_and_last_logged_loss(tmp_path, caplog):
    """The line after the weights: the step, the last logged loss (the stopping iteration's, which a log
    without a bar showed only in metrics.jsonl) and the training time; before, only the path."""
    run = tmp_path / "smoke"
    with caplog.at_level("INFO", logger="discmot"):
        fit(run, config(max_iterations=3, log_every=10))
    (last,) = read_metrics(run)
    (closing,) = [m for m in messages(caplog) if m.startswith(f"wrote {run / 'model.safetensors'}")]
    assert f"step 3; last logged loss {last['loss']:.4g} at step 3; " in closing
    assert closing.endswith("min of training in this process)")
