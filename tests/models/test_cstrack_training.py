"""CSTrack training (spec ``cstrack.md`` §5-6) on the tiny preset and a tiny synthetic ``mot`` JDE export:
``discmot train --config cstrack_tiny`` writes a run folder whose EMA weights load and track, the
original's parameter groups, the identity classifier trained but never exported, a loss that falls on one
repeated batch, and a resumed run that ends where an uninterrupted one does.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from discmot.cli import main
from discmot.data.jde import JDEIndex
from discmot.data.jde_dataset import JDEDataset, JDEKey, collate_jde
from discmot.data.jde_transforms import JDETransformConfig
from discmot.data.synth import generate_dataset
from discmot.engine import checkpointing
from discmot.engine.step import StepContext
from discmot.io.safetensors_format import read_safetensors
from discmot.models.cstrack.checkpoint import load_cstrack, save_cstrack
from discmot.models.cstrack.config import preset
from discmot.models.cstrack.loss import CSTrackLoss
from discmot.models.cstrack.model import CSTrack
from discmot.models.cstrack.recipe import load_recipe
from discmot.models.cstrack.training import (
    CSTrackTraining,
    cstrack_param_groups,
    cstrack_step,
    loss_config_for,
    scaled_weight_decay,
    split_parameters,
    transfer_pretrained,
)

SIZE_HW = (96, 160)  # the test network input: tiny images keep every test cheap
CONFIG = preset("tiny", input_size=SIZE_HW)
# Two epochs of four batches of two; an EMA that visibly lags the live weights (decay ~0.57 per step).
OVERRIDES = [
    "data.datasets=[synth_mot_train]",  # the recipe also reads a DanceTrack export, not needed here
    "model.input_size=[96, 160]",
    "train.epochs=2",
    "train.batch_size=2",
    "train.deterministic=true",
    "train.progress=false",
    "train.log_every=1",
    "train.ema_decay=0.9",
    "train.ema_ramp=1.0",
    "optim.warmup_min_iters=4",
]


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cstrack_train")
    generate_dataset(root, "mot", split="train", sequences=1, frames=8, size=(160, 96), seed=3, jde=True)
    return root


def train_argv(root: Path, run: Path, *extra: str) -> list[str]:
    argv = ["-q", "train", "--config", "cstrack_tiny", "--data-root", str(root), "--run-dir", str(run)]
    for item in OVERRIDES:
        argv += ["--set", item]
    return [*argv, "--device", "cpu", *extra]


@pytest.fixture(scope="module")
def run(data_root, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cstrack_run") / "run"
    assert main(train_argv(data_root, folder)) == 0
    return folder


def one_batch(root: Path) -> dict:
    index = JDEIndex.from_list(root / "jde" / "synth_mot.train", root / "jde")
    dataset = JDEDataset(index, JDETransformConfig(size=SIZE_HW[::-1]), train=True)
    return collate_jde([dataset[JDEKey(0, 0)], dataset[JDEKey(0, 5)]]), index.num_identities


def training(num_identities: int = 12) -> CSTrackTraining:
    torch.manual_seed(0)
    return CSTrackTraining(CSTrack(CONFIG), CSTrackLoss(loss_config_for(CONFIG, num_identities)))


def context() -> StepContext:
    return StepContext(0, 0, 1, 0, torch.device("cpu"), "fp32")


# --------------------------------------------------------------------------------------------------
# The command and its run folder


def test_cli_train_writes_a_run_folder_with_weights_that_load_and_predict(run):
    assert {"config.yaml", "environment.json", "metrics.jsonl", "model.safetensors"} <= {
        p.name for p in run.iterdir()
    }
    config = (run / "config.yaml").read_text()
    assert "num_identities:" in config and "scaled_weight_decay:" in config and "synth_mot_train" in config
    model = load_cstrack(run / "model.safetensors")
    assert model.config.name == "tiny" and tuple(model.config.input_size) == SIZE_HW
    with torch.no_grad():
        output = model.predict(torch.rand(1, 3, *SIZE_HW))
    assert output.embeddings.shape == (1, SIZE_HW[0] // 8, SIZE_HW[1] // 8, CONFIG.embedding_dim)
    assert output.detections.shape[-1] == 6 and torch.isfinite(output.detections).all()


def test_final_weights_are_the_ema_without_the_id_classifier(run):
    exported, metadata = read_safetensors(run / "model.safetensors")
    assert metadata["kind"] == "cstrack"
    assert not any("id_classifier" in key or key.startswith("loss.") for key in exported)
    payload = checkpointing.read_checkpoint(run / "checkpoints" / "epoch-001.pt")
    assert payload["model_kind"] == "cstrack" and payload["model_config"]["name"] == "tiny"
    ema = {k[len("model.") :]: v for k, v in payload["ema"]["model"].items() if k.startswith("model.")}
    live = {k[len("model.") :]: v for k, v in payload["model"].items() if k.startswith("model.")}
    assert all(torch.equal(exported[k], ema[k]) for k in exported)
    assert not all(torch.equal(exported[k], live[k]) for k in exported)
    # the identity classifier is trained (its checkpointed weights moved) and kept for resuming
    first = checkpointing.read_checkpoint(run / "checkpoints" / "epoch-000.pt")
    key = "loss.id_classifier.weight"
    assert not torch.equal(first["model"][key], payload["model"][key])
    # a training checkpoint loads as CSTrack too, with the EMA weights the original's checkpoints hold
    from_checkpoint = load_cstrack(run / "checkpoints" / "epoch-001.pt").state_dict()
    # (its anchors are the config's: the EMA averages them too and moves them by rounding, and the
    # original's loader takes them from the config as well)
    assert all(torch.equal(from_checkpoint[k], ema[k]) for k in ema if "anchor" not in k)
    fresh = load_cstrack(run / "model.safetensors").state_dict()
    assert all(torch.equal(from_checkpoint[k], fresh[k]) for k in fresh if "anchor" in k)


def test_the_tracker_runs_on_the_trained_weights(run, data_root):
    tracker_module = pytest.importorskip("discmot.trackers.cstrack")
    tracker = tracker_module.CSTrackTracker(load_cstrack(run / "model.safetensors"), frame_rate=25)
    frames = sorted((data_root / "train").glob("*/img1/*.jpg"))[:3]
    for path in frames:
        tracks = tracker.update(cv2.imread(str(path)))
    assert tracker.frames.count == len(frames) and tracks is not None


def test_resume_from_an_epoch_checkpoint_ends_like_the_uninterrupted_run(run, data_root, tmp_path):
    resumed = tmp_path / "resumed"
    checkpoint = run / "checkpoints" / "epoch-000.pt"
    assert main(train_argv(data_root, resumed, "--resume", str(checkpoint))) == 0
    expected, _ = read_safetensors(run / "model.safetensors")
    got, _ = read_safetensors(resumed / "model.safetensors")
    assert expected.keys() == got.keys()
    assert all(torch.equal(expected[k], got[k]) for k in expected)


def test_missing_list_file_and_wrong_pretrain_flag_are_reported(data_root, tmp_path, capsys):
    argv = train_argv(data_root, tmp_path / "r", "--set", "data.datasets=[nosuch_train]")
    assert main(argv) == 2
    assert "nosuch.train" in capsys.readouterr().err
    assert main(train_argv(data_root, tmp_path / "r", "--detr-pretrain", "x.pth")) == 2
    assert "--detr-pretrain does not apply to cstrack" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------------
# Parameter groups, loss, initialisation


def test_param_groups_follow_the_original_rules():
    net = training()
    groups = {g["name"]: g for g in cstrack_param_groups(net, lr=0.005, weight_decay=5e-4)}
    assert list(groups) == ["no_decay", "decay", "bias", "loss"]
    decay = {name: g["weight_decay"] for name, g in groups.items()}
    assert decay == {"no_decay": 0.0, "decay": 5e-4, "bias": 0.0, "loss": 0.0}
    members = {id(p) for g in groups.values() for p in g["params"]}
    assert len(members) == sum(len(g["params"]) for g in groups.values())
    assert members == {id(p) for p in net.parameters()}
    names = {k: [n for n, _ in v] for k, v in split_parameters(net.model).items()}
    assert "model.0.conv.bn.weight" in names["no_decay"] and "model.2.bn.weight" in names["no_decay"]
    assert {"model.24.w1", "model.24.w2", "model.28.k"} <= set(names["no_decay"])
    assert "model.0.conv.conv.weight" in names["decay"] and "model.28.m.0.weight" in names["decay"]
    assert "model.0.conv.bn.bias" in names["bias"] and "model.28.m.0.bias" in names["bias"]
    assert groups["loss"]["params"] == [net.loss.id_classifier.weight]


def test_weight_decay_is_scaled_like_yolov5():
    paper, tiny = load_recipe("cstrack_mot17"), load_recipe("cstrack_tiny")
    assert scaled_weight_decay(paper.train, paper.optim, world_size=1) == pytest.approx(5e-4)
    assert scaled_weight_decay(tiny.train, tiny.optim, world_size=1) == pytest.approx(5e-4 * 4 / 64)


def test_loss_falls_on_one_repeated_batch(data_root):
    batch, num_identities = one_batch(data_root)
    net = training(num_identities).train()
    optimizer = torch.optim.SGD(
        cstrack_param_groups(net, lr=0.05, weight_decay=0.0), lr=0.05, momentum=0.9, nesterov=True
    )
    losses, before = [], net.loss.id_classifier.weight.detach().clone()
    for _ in range(20):
        loss, logs = cstrack_step(net, batch, context())
        assert set(logs) == {"box", "obj", "cls", "id"} and float(logs["id"]) > 0
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert np.mean(losses[-3:]) < 0.85 * np.mean(losses[:3])
    assert not torch.equal(before, net.loss.id_classifier.weight)


def test_transfer_copies_matching_tensors_except_anchors(tmp_path):
    source = training().model
    path = tmp_path / "pretrained.pt"
    save_cstrack(path, source)
    from discmot.models.cstrack.checkpoint import read_official_state

    target = CSTrack(CONFIG)
    copied = transfer_pretrained(target, read_official_state(path), path)
    assert copied == sum(1 for k in source.state_dict() if "anchor" not in k)
    assert torch.equal(target.model[0].conv.conv.weight, source.model[0].conv.conv.weight)
    with pytest.raises(ValueError, match="no tensor matches"):
        transfer_pretrained(target, {"other.weight": torch.zeros(1)}, "x.pt")


def test_the_run_records_which_pretrained_weights_it_started_from(data_root, tmp_path):
    """config.yaml gets the ``--pretrained`` file's path and SHA-256 (a path alone does not say which
    weights were there)."""
    import hashlib
    from types import SimpleNamespace

    from discmot.models.cstrack.training import cstrack_setup

    path = tmp_path / "pretrained.pt"
    save_cstrack(path, training().model)
    recipe = load_recipe("cstrack_tiny", OVERRIDES)
    setup = cstrack_setup(recipe, data_root, path)(SimpleNamespace(world_size=1))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert setup.resolved_config["pretrained"] == {"path": str(path.resolve()), "sha256": digest}
    assert "pretrained" not in cstrack_setup(recipe, data_root)(SimpleNamespace(world_size=1)).resolved_config


def test_the_paper_recipe_accumulates_to_its_nominal_batch_on_any_number_of_processes(data_root):
    """YOLOv5's ``accumulate = max(round(nbs / total_batch_size), 1)`` and weight decay ``x total_batch *
    accumulate / nbs`` (spec §6.5): the paper's 8 x 8 on one process, 8 x 2 on four, 16 x 4 with a
    batch of 4; an explicit ``train.accumulate_steps`` (the tiny recipe's 1) is kept."""
    from types import SimpleNamespace

    from discmot.models.cstrack.training import cstrack_setup

    paper = load_recipe("cstrack_mot17")
    assert paper.accumulation_from_nominal_batch and paper.train.accumulate_steps == 8
    assert [paper.train_for(n).accumulate_steps for n in (1, 2, 4, 8, 16)] == [8, 4, 2, 1, 1]
    assert load_recipe("cstrack_mot17", ["train.batch_size=4"]).train.accumulate_steps == 16
    explicit = load_recipe("cstrack_mot17", ["train.accumulate_steps=3"])
    assert not explicit.accumulation_from_nominal_batch and explicit.train_for(4).accumulate_steps == 3
    tiny = load_recipe("cstrack_tiny")
    assert tiny.train_for(2).accumulate_steps == tiny.train.accumulate_steps == 1

    # the run's schedule and weight decay follow its process count
    recipe = load_recipe("cstrack_tiny", [*OVERRIDES, "train.batch_size=8"])
    recipe = dataclasses.replace(recipe, accumulation_from_nominal_batch=True)
    for processes, steps in ((1, 8), (4, 2)):
        setup = cstrack_setup(recipe, data_root)(SimpleNamespace(world_size=processes))
        optim = setup.resolved_config["optim"]
        assert optim["accumulate_steps"] == setup.config.accumulate_steps == steps  # the run's config
        assert optim["scaled_weight_decay"] == pytest.approx(5e-4)
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
        assert setup.schedule(optimizer).accumulate_steps == steps
