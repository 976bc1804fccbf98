"""What a user meets when starting, stopping and resuming `discmot train` (session 29's journeys):
the resume's recipe against the run's, the run folder a checkpoint path continues in, the lines
said when a run is stopped, a finished run resumed, out-of-range training values, progress display.

The runs are toy models trained through the real engine (`discmot.engine.train.Trainer`) in seconds;
the CLI tests run ``discmot train`` itself with the toy training in place of FDTA's (its data and
network would take minutes), so that the command line, the run folder and the messages are real.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
import torch
import yaml
from torch import nn

import discmot.cli.train as cli_train
from discmot.cli import main as cli_main
from discmot.config import RecipeError
from discmot.engine.train import FDTA_PARAM_GROUPS, TrainConfig, Trainer, TrainSetup, launch
from discmot.io.checkpoints import CheckpointError
from discmot.models.cstrack.recipe import load_recipe as load_cstrack_recipe
from discmot.models.fdta.recipe import load_recipe
from helpers import pairs_dataset

# --------------------------------------------------------------------------------------------------
# A toy run


class Toy(nn.Module):
    """Parameter names that FDTA's group rules and separate clipping know (``backbone``, ``detr``)."""

    def __init__(self, width: int = 8):
        super().__init__()
        torch.manual_seed(0)
        self.backbone = nn.Linear(4, width)
        self.detr = nn.ModuleDict({"head": nn.Linear(width, 1)})

    def forward(self, x):
        return self.detr["head"](torch.tanh(self.backbone(x)))


def mse_step(model, batch, context):
    x, y = batch
    return nn.functional.mse_loss(model(x), y), {}


def config(**overrides) -> TrainConfig:
    base = TrainConfig(
        epochs=2, batch_size=2, lr=1e-3, param_groups=FDTA_PARAM_GROUPS, log_every=1, progress=False, seed=1
    )
    return TrainConfig.from_dict({**vars(base), **overrides})


def fit(run: Path, train: TrainConfig, resume=None, recipe: str | None = None, width: int = 8, resolved=None):
    trainer = Trainer(
        Toy(width),
        mse_step,
        pairs_dataset(),
        train,
        run,
        device="cpu",
        recipe=recipe,
        resolved_config=resolved,
    )
    return trainer, trainer.fit(resume)


def recipe(epochs: int, width: int = 8) -> str:
    """A recipe text as `discmot.config.recipe_text` writes it (header comment, then the YAML)."""
    return f"# the recipe of a discmot run: test\nmodel: {{width: {width}}}\ntrain: {{epochs: {epochs}}}\n"


def messages(caplog, level: str = "INFO") -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelname == level]


# --------------------------------------------------------------------------------------------------
# Finding 1: the resume's recipe against the run's


def test_a_resume_with_another_recipe_says_old_and_new_values_and_how_to_keep_the_runs(tmp_path, caplog):
    """Forgetting ``--set train.epochs=...`` on resume only said ``changed: train.epochs``; the run's
    recipe.yaml stays the run's until the resume's first checkpoint, so the hint can be followed."""
    run = tmp_path / "run"
    fit(run, config(epochs=1), recipe=recipe(1))
    before = (run / "recipe.yaml").read_text()
    with caplog.at_level("INFO", logger="discmot"):
        trainer = Trainer(
            Toy(), mse_step, pairs_dataset(), config(epochs=3, lr=2e-3), run, device="cpu", recipe=recipe(3)
        )
        trainer.load_checkpoint(run / "checkpoints" / "epoch-000.pt")
        trainer.run.write_resume(
            trainer.resolved_config, {}, run / "checkpoints" / "epoch-000.pt", 6, recipe(3)
        )
    (warning,) = messages(caplog, "WARNING")
    assert "changed: train.epochs 1 -> 3, train.lr 0.001 -> 0.002;" in warning
    assert f"discmot train --config {run / 'recipe.yaml'} --run-dir {run} --resume" in warning
    # stopped here (no checkpoint yet): the hint's file is still the run's own recipe
    assert (run / "recipe.yaml").read_text() == before
    assert yaml.safe_load((run / "config.yaml").read_text())["train"]["epochs"] == 1
    trainer.run.close()
    # going on, the first checkpoint makes the resume's recipe the run's
    fit(run, config(epochs=3, lr=2e-3), resume=True, recipe=recipe(3))
    assert (run / "recipe.yaml").read_text() == recipe(3)
    assert yaml.safe_load((run / "config.yaml").read_text())["train"]["epochs"] == 3
    changed = [
        json.loads(line)["config_changed"] for line in (run / "resumes.jsonl").read_text().splitlines()
    ]
    assert changed == [["train.epochs", "train.lr"]] * 2  # the record keeps its keys


def test_a_model_that_does_not_fit_names_the_recipe_keys_first(tmp_path):
    """A resume without the run's ``--set adapters.spatial=false`` said ``missing: ...depth_bin_values
    (and 43 more)`` and asked about ``model.*``; now the differing recipe keys lead, then the hint."""
    run = tmp_path / "run"
    fit(run, config(epochs=1), recipe=recipe(1, width=8))
    checkpoint = run / "checkpoints" / "epoch-000.pt"
    with pytest.raises(CheckpointError) as error:
        fit(run, config(epochs=2), resume=True, recipe=recipe(2, width=16), width=16)
    message = str(error.value)
    assert message.startswith(f"{checkpoint}: its model does not fit this run's recipe, which differs from")
    assert (
        "in model.width 8 -> 16, train.epochs 1 -> 2; to resume with the run's own recipe, run: " in message
    )
    assert f"--config {run / 'recipe.yaml'} --run-dir {run} --resume" in message
    assert message.index("model.width") < message.index("shape of backbone.weight: checkpoint (8, 4)")
    assert "\n" not in message


def test_without_a_recipe_the_model_mismatch_names_the_resolved_config_keys(tmp_path):
    """A run started from Python keeps no recipe.yaml: the keys come from its config.yaml."""
    run = tmp_path / "run"
    fit(run, config(epochs=1), resolved={"network": {"width": 8}})
    with pytest.raises(
        CheckpointError, match=r"differs from the run's \(.*\) in network.width 8 -> 16; shape"
    ):
        fit(run, config(epochs=1), resume=True, width=16, resolved={"network": {"width": 16}})


# --------------------------------------------------------------------------------------------------
# Finding 6: a finished run resumed


def test_resuming_a_finished_run_says_so_and_writes_nothing(tmp_path, caplog):
    run = tmp_path / "run"
    _, weights = fit(run, config(epochs=2), recipe=recipe(2))
    files = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    with caplog.at_level("INFO", logger="discmot"):
        _, again = fit(run, config(epochs=2), resume=True, recipe=recipe(2))
    assert again == weights
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == files  # no resumes.jsonl either
    assert any("the run is already finished (all 2 epochs done, epoch-001.pt)" in m for m in messages(caplog))
    assert not any(m.startswith("resumed from") for m in messages(caplog))
    # more epochs asked for: it goes on, as before
    trainer, _ = fit(run, config(epochs=3), resume=True, recipe=recipe(3))
    assert trainer.epoch == 3 and (run / "resumes.jsonl").is_file()


def test_a_run_killed_after_its_last_checkpoint_writes_its_weights_on_resume(tmp_path):
    run = tmp_path / "run"
    _, weights = fit(run, config(epochs=1))
    expected = weights.read_bytes()
    weights.unlink()
    _, again = fit(run, config(epochs=1), resume=True)
    assert again.read_bytes() == expected


# --------------------------------------------------------------------------------------------------
# Finding 5 and 2: what a start says, and the progress display


def test_every_start_says_the_run_folder_epochs_iterations_and_checkpoints(tmp_path, caplog):
    run = tmp_path / "run"
    with caplog.at_level("INFO", logger="discmot"):
        fit(run, config(epochs=2, checkpoint_every=4))
    assert (
        f"run folder {run}: 2 epochs x 6 iterations, checkpoints every 4 iterations and at each epoch's end"
        in messages(caplog)
    )
    caplog.clear()
    with caplog.at_level("INFO", logger="discmot"):
        fit(run, config(epochs=3), resume=True)
    assert f"resumed from {run / 'checkpoints' / 'epoch-001.pt'}: at the start of epoch 3/3" in messages(
        caplog
    )
    assert f"run folder {run}: 3 epochs x 6 iterations, checkpoints at each epoch's end" in messages(caplog)


def test_the_progress_bar_counts_epochs_from_1_with_their_total(tmp_path, monkeypatch, capsys):
    """The bar said ``epoch 0`` (no total) while the log lines said ``epoch 1/2: iteration ...``."""
    monkeypatch.setattr(Trainer, "_show_progress", lambda self: True)
    fit(tmp_path / "run", config(epochs=2))
    shown = capsys.readouterr().err
    assert "epoch 1/2: " in shown and "epoch 2/2: " in shown and "epoch 0" not in shown


# --------------------------------------------------------------------------------------------------
# Finding 4: out-of-range training values


@pytest.mark.parametrize(
    ("item", "problem"),
    [
        ("train.epochs=0", "train.epochs=0: must be at least 1"),
        ("train.checkpoint_every=-5", "train.checkpoint_every=-5: must be at least 0"),
        ("train.keep_epoch_checkpoints=-1", "train.keep_epoch_checkpoints=-1: must be at least 0"),
        ("train.log_every=0", "train.log_every=0: must be at least 1"),
        ("train.seed=-1", "train.seed=-1: must be at least 0"),
        ("train.lr=0", "train.lr=0: must be above 0"),
        ("train.gamma=-0.1", "train.gamma=-0.1: must be above 0"),
        ("train.betas=[0.9,1.0]", "train.betas=[0.9, 1.0]: must be at least 0 and below 1 each"),
        ("train.milestones=[-1]", "train.milestones=[-1]: must be at least 0 each"),
        ("train.max_grad_norm=-1", "train.max_grad_norm=-1: must be at least 0"),
        ("train.ema_decay=1.0", "train.ema_decay=1.0: must be at least 0 and below 1"),
        ("train.ema_ramp=0", "train.ema_ramp=0: must be above 0"),
        ("train.eps=-1e-8", "train.eps=-1e-08: must be at least 0"),
    ],
)
def test_an_out_of_range_training_value_names_the_key_as_given_and_its_range(item, problem):
    with pytest.raises(RecipeError) as error:
        load_recipe("tiny", [item])
    assert str(error.value).startswith(f"built-in recipe 'tiny' (--set {item}): {problem}")


def test_cstrack_recipes_check_the_same_ranges_and_a_config_built_in_python_too():
    with pytest.raises(
        RecipeError, match=r"\(--set train.checkpoint_every=-5\): train.checkpoint_every=-5: must"
    ):
        load_cstrack_recipe("cstrack_tiny", ["train.checkpoint_every=-5"])
    with pytest.raises(ValueError, match=r"^keep_epoch_checkpoints=-1: must be at least 0$"):
        TrainConfig(keep_epoch_checkpoints=-1)
    with pytest.raises(ValueError, match=r"momentum=0: must be above 0 with nesterov"):
        TrainConfig(optimizer="sgd", nesterov=True, momentum=0)


# --------------------------------------------------------------------------------------------------
# The CLI: the run folder of a checkpoint path (finding 2) and the lines of a stopped run (finding 3)


@pytest.fixture
def toy_cli(tmp_path, monkeypatch):
    """``discmot train --config tiny --data-root data ARGS`` (or a whole ``discmot ...`` command line) in
    ``tmp_path`` with the toy training in place of FDTA's; ``stop_at`` (global step, signal) makes the
    run stop there, as Ctrl-C or ``kill`` would."""
    (tmp_path / "data" / "train").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    stop = {}

    def toy_build(info):
        def step(model, batch, context):
            if context.global_step == stop.get("step"):
                if stop["signal"] == signal.SIGINT:
                    raise KeyboardInterrupt
                os.kill(os.getpid(), signal.SIGTERM)  # ends the run after this iteration
            return mse_step(model, batch, context)

        return TrainSetup(Toy(), step, pairs_dataset())

    def toy_launch(build, train, run_dir, **kwargs):
        return launch(toy_build, TrainConfig.from_dict({**vars(train), "progress": False}), run_dir, **kwargs)

    monkeypatch.setattr("discmot.engine.train.launch", toy_launch)

    def run(*args: str, stop_at: tuple[int, int] | None = None) -> int:
        stop.clear()
        if stop_at:
            stop.update(step=stop_at[0], signal=stop_at[1])
        try:
            # a whole command line ("discmot train ...") as given, else these flags after the fixed ones
            argv = (
                list(args[1:])
                if args[0] == "discmot"
                else ["train", "--config", "tiny", "--data-root", "data", *args]
            )
            return cli_main(argv)
        except SystemExit as end:  # a SIGTERM's exit, which the console script's caller turns into 143
            return end.code

    return run


def test_resume_from_a_checkpoint_path_continues_in_its_run_folder(toy_cli, tmp_path):
    """``--resume runs/f3/checkpoints/...pt`` without ``--run-dir`` wrote into runs/tiny."""
    assert toy_cli("--run-dir", "runs/f3", "--set", "train.epochs=1") == 0
    assert toy_cli("--resume", "runs/f3/checkpoints/epoch-000.pt", "--set", "train.epochs=2") == 0
    assert not (tmp_path / "runs" / "tiny").exists()
    assert (tmp_path / "runs" / "f3" / "checkpoints" / "epoch-001.pt").is_file()
    assert json.loads((tmp_path / "runs" / "f3" / "resumes.jsonl").read_text())["step"] == 12  # batch 1
    # a checkpoint outside a run folder, or with --run-dir: where it was
    assert cli_train._run_dir(_args(resume="saved/epoch-000.pt"), "tiny") == Path("runs/tiny")
    assert cli_train._run_dir(_args(resume="runs/f3/checkpoints/epoch-000.pt", run_dir="x"), "tiny") == Path(
        "x"
    )


def _args(resume=None, run_dir=None):
    import argparse

    return argparse.Namespace(resume=resume, run_dir=run_dir)


@pytest.mark.parametrize(("stop", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_stopped_run_names_its_newest_checkpoint_and_the_command_to_continue(
    toy_cli, capsys, caplog, stop, status
):
    """Ctrl-C and SIGTERM said ``discmot: interrupted`` / ``terminated (SIGTERM)`` alone."""
    code = toy_cli("--run-dir", "runs/f3", "--set", "train.checkpoint_every=4", stop_at=(9, stop))
    assert code == status
    assert ("discmot: interrupted" if stop == signal.SIGINT else "discmot: terminated (SIGTERM)") in (
        capsys.readouterr().err
    )
    newest = Path("runs/f3/checkpoints/epoch-000-iter-000008.pt")  # 12 iterations an epoch (batch 1)
    continued = (
        "discmot train --config tiny --set train.checkpoint_every=4 --data-root data --run-dir runs/f3"
    )
    said = f"newest checkpoint: {newest} (epoch 1/7, after 8 iterations); continue with: {continued} --resume"
    assert said in messages(caplog, "WARNING")
    # that command continues it
    assert toy_cli(*continued.split(), "--resume") == 0
    assert Path("runs/f3/model.safetensors").is_file()


def test_a_run_stopped_before_its_first_checkpoint_says_nothing_is_saved(toy_cli, caplog):
    assert toy_cli("--run-dir", "runs/f3", stop_at=(2, signal.SIGINT)) == 130
    said = "stopped before the first checkpoint: nothing of this run is saved in runs/f3"
    assert said in messages(caplog, "WARNING")
