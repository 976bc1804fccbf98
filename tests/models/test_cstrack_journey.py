"""CSTrack on one's own data, verb to verb, as docs/datasets.md tells a user: sequences in the MOTChallenge
layout -> ``discmot jde-export`` (which prints the training command) -> ``discmot train`` with that
command -> ``discmot track`` on a held-out sequence (which prints the evaluation command) -> ``discmot
eval`` with that command -> ``discmot analyze`` with the trained weights. Also: a training whose list is
not where the recipe looks names the lists that are there, and a run too short to leave its warm-up is
warned about, checked against the schedule itself.
"""

from __future__ import annotations

import logging
import shlex
from pathlib import Path

import pytest
import torch

from discmot.cli import main
from discmot.data.synth import generate_dataset
from discmot.engine.optim import CSTrackSchedule
from discmot.models.cstrack.recipe import load_recipe
from discmot.models.cstrack.training import cstrack_schedule, warmup_fills_the_run

# What keeps the training a second long: the test network input, one short epoch, a short warm-up.
FAST = [
    "model.input_size=[96, 160]",
    "train.epochs=1",
    "train.batch_size=2",
    "train.progress=false",
    "train.deterministic=true",
    "optim.warmup_min_iters=2",
]


@pytest.fixture(scope="module")
def own(tmp_path_factory) -> Path:
    """A dataset "of one's own": train and val sequences with gt, no JDE export (no ``--jde``)."""
    root = tmp_path_factory.mktemp("own")
    generate_dataset(root, "mot", split="train", sequences=1, frames=8, size=(160, 96), seed=5)
    generate_dataset(root, "mot", split="val", sequences=1, frames=6, size=(160, 96), seed=5)
    return root


def printed_command(out: str, prefix: str) -> list[str]:
    """The argv of the ``<prefix> discmot ...`` line a verb printed (shell-quoted as printed)."""
    lines = [line for line in out.splitlines() if line.startswith(prefix)]
    assert len(lines) == 1, out
    words = shlex.split(lines[0][len(prefix) :])
    assert words[0] == "discmot"
    return words[1:]


def with_sets(argv: list[str], sets: list[str]) -> list[str]:
    for item in sets:
        argv += ["--set", item]
    return argv


def test_each_verb_takes_what_the_one_before_wrote_and_says_how(own, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the printed commands hold relative paths, as a user's would
    jde = own / "jde"
    assert (
        main(
            [
                "-q",
                "jde-export",
                "--data-root",
                str(own),
                "--split",
                "train",
                "--out",
                str(jde),
                "--name",
                "mine",
            ]
        )
        == 0
    )
    train = printed_command(capsys.readouterr().out, "train with: ")
    assert train[:2] == ["train", "--config"] and "data.datasets=[mine_train]" in train
    assert main(["-q", *with_sets([*train, "--run-dir", "run", "--device", "cpu"], FAST)]) == 0
    weights = tmp_path / "run" / "model.safetensors"
    assert weights.is_file()

    # the weights carry their input size: track and analyze need no --input-size
    assert (
        main(
            [
                "-q",
                "track",
                str(own / "val"),
                "--model",
                "cstrack",
                "--weights",
                str(weights),
                "--split-out",
                "out",
            ]
        )
        == 0
    )
    evaluate = printed_command(capsys.readouterr().out, "evaluate with: ")
    assert (tmp_path / "out" / "cstrack" / "data" / "mot-val-0000.txt").is_file()
    assert main(["-q", *evaluate, "--json", "metrics.json"]) == 0
    assert "mot-val-0000" in (tmp_path / "metrics.json").read_text()
    sequence = own / "val" / "mot-val-0000"
    assert (
        main(
            [
                "-q",
                "analyze",
                str(sequence),
                "--model",
                "cstrack",
                "--weights",
                str(weights),
                "--out",
                "analysis",
            ]
        )
        == 0
    )
    assert (tmp_path / "analysis" / "report.html").is_file()


def test_a_list_the_recipe_does_not_name_is_pointed_out_with_the_flags_that_train_on_it(
    own, tmp_path, capsys
):
    # The user exports as docs/datasets.md says (--out <root>/jde) and trains the built-in recipe on the
    # dataset root, whose lists (jde/synth_*.train) are not there.
    jde = own / "jde_pointed"
    assert main(["-q", "jde-export", "--data-root", str(own), "--out", str(jde), "--name", "mine"]) == 0
    capsys.readouterr()
    argv = ["train", "--config", "cstrack_tiny", "--data-root", str(jde), "--run-dir", str(tmp_path / "r")]
    assert main(["-q", *argv]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "synth_mot.train: image list not found" in error
    assert "mine.train" in error
    suggested = shlex.split(error.split(" with ", 1)[1])
    assert suggested == [
        "--set",
        "data.datasets=[mine_train]",
        "--set",
        "data.lists_dir=.",
        "--set",
        "data.root=.",
    ]
    assert not (tmp_path / "r").exists()  # stopped before the run folder
    # and the flags it names train
    assert main(["-q", *with_sets([*argv, *suggested, "--device", "cpu"], FAST)]) == 0
    assert (tmp_path / "r" / "model.safetensors").is_file()


def test_a_data_root_without_any_list_says_how_to_make_one(tmp_path, capsys):
    argv = [
        "-q",
        "train",
        "--config",
        "cstrack_tiny",
        "--data-root",
        str(tmp_path),
        "--run-dir",
        str(tmp_path / "r"),
    ]
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert "no image list in" in error and "discmot jde-export" in error


def lrs_of_the_run(schedule: CSTrackSchedule, epochs: int, iterations: int) -> list[float]:
    """The ``decay`` group's learning rate at every iteration of a run, set by the schedule itself."""
    groups = [{"params": [torch.zeros(1, requires_grad=True)], "name": n} for n in ("decay", "bias")]
    optimizer = torch.optim.SGD(groups, lr=0.0, momentum=0.9)
    seen = []
    for epoch in range(epochs):
        for i in range(iterations):
            schedule.before_iteration(optimizer, epoch, i, iterations)
            seen.append(optimizer.param_groups[0]["lr"])
    return seen


@pytest.mark.parametrize(
    ("images", "epochs", "min_iters"),
    [
        (180, 2, 200),  # the journey's data: 45 iterations an epoch, the tiny recipe's 200-iteration warm-up
        (180, 5, 200),
        (20, 2, 9),  # 5 iterations an epoch: the last iteration (9) is still in the warm-up
        (20, 2, 8),  # ... and here it is past it
    ],
)
def test_the_warning_says_exactly_when_the_learning_rate_never_reaches_its_value(images, epochs, min_iters):
    recipe = load_recipe(
        "cstrack_tiny",
        [f"train.epochs={epochs}", f"optim.warmup_min_iters={min_iters}", "train.milestones=[]"],
    )
    train = recipe.train
    iterations = -(-images // train.batch_size)
    reached = train.lr in lrs_of_the_run(cstrack_schedule(None, train, recipe.optim), epochs, iterations)
    message = warmup_fills_the_run(train, recipe.optim, images)
    assert (message is None) == reached
    if message:
        assert f"lasts the whole run ({epochs} epochs, {epochs * iterations} iterations)" in message


def test_training_logs_the_warning(own, tmp_path, caplog):
    jde = own / "jde_warned"
    assert main(["-q", "jde-export", "--data-root", str(own), "--out", str(jde), "--name", "mine"]) == 0
    sets = [
        "data.datasets=[mine_train]",
        "data.lists_dir=.",
        "data.root=.",
        *FAST,
        "optim.warmup_min_iters=50",
    ]
    argv = ["train", "--config", "cstrack_tiny", "--data-root", str(jde), "--run-dir", str(tmp_path / "r")]
    with caplog.at_level(logging.WARNING, logger="discmot"):
        assert main(with_sets([*argv, "--device", "cpu"], sets)) == 0
    assert any("lasts the whole run" in r.getMessage() for r in caplog.records)
