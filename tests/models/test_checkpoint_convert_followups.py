"""`discmot convert` follow-ups of 2026-11-24.

1. A ``discmot train`` checkpoint (``checkpoints/epoch-NNN[-iter-NNNNNN].pt``) converted to a model file
   kept the weights but dropped the run's ``train_config`` and ``global_step``, which the run's
   ``model.safetensors`` holds; an FDTA run with an EMA converted to its live weights, not the EMA ones
   its ``model.safetensors`` holds.
2. CSTrack: the training EMA averages the constant ``anchors``/``anchor_grid`` buffers too (spec §6.7), so
   a run's ``model.safetensors`` held anchors 1 ulp off the config's; a direct conversion kept them and a
   conversion through ``.pt`` (the official loader: the config's anchors) did not, so the two differed.

Runs are real ``discmot train`` runs of the tiny presets on tiny synthetic data, stopped after a few
iterations (``train.max_iterations``) with a checkpoint and the final weights at the same step.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from discmot.cli import main
from discmot.data.clips import ClipConfig
from discmot.data.synth import generate_dataset
from discmot.data.transforms import AugmentConfig
from discmot.engine import checkpointing
from discmot.engine.optim import ModelEMA
from discmot.engine.train import fdta_train_config, launch
from discmot.io.safetensors_format import read_safetensors, safetensors_metadata
from discmot.models.cstrack.checkpoint import load_cstrack
from discmot.models.cstrack.config import preset as cstrack_preset
from discmot.models.cstrack.model import CSTrack
from discmot.models.cstrack.recipe import load_recipe as load_cstrack_recipe
from discmot.models.fdta.checkpoint import load_fdta
from discmot.models.fdta.config import preset as fdta_preset
from discmot.models.fdta.training import StepConfig, fdta_setup

CSTRACK_OVERRIDES = [
    "data.datasets=[synth_mot_train]",
    "model.input_size=[96, 160]",
    "train.epochs=1",
    "train.batch_size=2",
    "train.deterministic=true",
    "train.progress=false",
    "train.max_iterations=3",
    "train.ema_decay=0.9999",
    "optim.warmup_min_iters=4",
]


@pytest.fixture(scope="module")
def cstrack_run(tmp_path_factory) -> Path:
    """A CSTrack run stopped after 3 iterations: ``epoch-000-iter-000003.pt`` and ``model.safetensors``."""
    root = tmp_path_factory.mktemp("cstrack_data")
    generate_dataset(root, "mot", split="train", sequences=1, frames=8, size=(160, 96), seed=3, jde=True)
    run = tmp_path_factory.mktemp("cstrack_run") / "run"
    argv = ["-q", "train", "--config", "cstrack_tiny", "--data-root", str(root), "--run-dir", str(run)]
    for item in CSTRACK_OVERRIDES:
        argv += ["--set", item]
    assert main([*argv, "--device", "cpu"]) == 0
    return run


def tiny_fdta_run(
    tmp_path_factory, name: str, frames: int, seed: int, sample_length: int, step: StepConfig, **train
) -> Path:
    """A tiny FDTA run on one synthetic sequence of ``frames`` frames, stopped after 2 iterations with a
    checkpoint and ``model.safetensors`` at the same step; ``train`` overrides the training config."""
    root = tmp_path_factory.mktemp(f"{name}_data")
    generate_dataset(root, "tiny", split="train", sequences=1, frames=frames, seed=seed)
    config = fdta_preset("tiny")
    clips = ClipConfig(
        sample_length=sample_length,
        num_groups=2,
        num_id_vocabulary=config.id_decoder.num_id_vocabulary,
        augment=AugmentConfig().rescaled((96, 112), max_size=160),
    )
    config_train = fdta_train_config("dancetrack", epochs=1, warmup_epochs=0, milestones=(), progress=False)
    config_train = replace(config_train, max_iterations=2, **train)
    run = tmp_path_factory.mktemp(f"{name}_run") / "run"
    assert launch(fdta_setup(config, root, "train", clips, step), config_train, run, device="cpu") is not None
    return run


@pytest.fixture(scope="module")
def fdta_run(tmp_path_factory) -> Path:
    """An FDTA run with an EMA, stopped after 2 iterations (the weights file holds the EMA weights)."""
    step = StepConfig(train_frames=2, checkpoint_frames=1)
    return tiny_fdta_run(tmp_path_factory, "fdta", 12, 1, 4, step, ema_decay=0.9, ema_ramp=1.0)


def converted(source: Path, target: Path) -> Path:
    assert main(["-q", "convert", str(source), str(target)]) == 0
    return target


@pytest.mark.parametrize("kind", ["cstrack", "fdta"])
def test_a_converted_training_checkpoint_carries_the_runs_train_config_and_step(
    kind, cstrack_run, fdta_run, tmp_path
):
    run = cstrack_run if kind == "cstrack" else fdta_run
    [checkpoint] = checkpointing.list_checkpoints(run / "checkpoints")
    step = checkpointing.checkpoint_step(checkpoint)
    weights = run / "model.safetensors"
    assert checkpointing.weights_step(weights) == step  # the run stopped with both at one step
    out = converted(checkpoint, tmp_path / "from-checkpoint.safetensors")
    metadata = safetensors_metadata(out)
    assert metadata["global_step"] == str(step)
    assert json.loads(metadata["train_config"]) == checkpointing.read_checkpoint(checkpoint)["config"]
    assert metadata == safetensors_metadata(weights)  # the same text, field for field
    # and through the official layout and back (the .pt keeps them as discmot_metadata)
    official = converted(checkpoint, tmp_path / "from-checkpoint.pt")
    assert safetensors_metadata(converted(official, tmp_path / "back.safetensors")) == metadata


@pytest.mark.parametrize("kind", ["cstrack", "fdta"])
def test_a_converted_training_checkpoint_holds_the_weights_of_the_runs_model_file(
    kind, cstrack_run, fdta_run, tmp_path
):
    """Both runs keep an EMA: the run's weights file holds the EMA weights, so the checkpoint's conversion
    does too (FDTA's took the live ones), bit for bit as loaded."""
    run = cstrack_run if kind == "cstrack" else fdta_run
    load = load_cstrack if kind == "cstrack" else load_fdta
    [checkpoint] = checkpointing.list_checkpoints(run / "checkpoints")
    payload = checkpointing.read_checkpoint(checkpoint)
    assert payload["ema"] is not None
    live = {k[len("model.") :]: v for k, v in payload["model"].items() if k.startswith("model.")}
    final = load(run / "model.safetensors").state_dict()
    out = load(converted(checkpoint, tmp_path / "from-checkpoint.safetensors")).state_dict()
    assert out.keys() == final.keys()
    assert [k for k in final if not torch.equal(out[k], final[k])] == []
    assert not all(torch.equal(out[k], live[k]) for k in live if k in out)  # the EMA's, not the live ones


# --------------------------------------------------------------------------------------------------
# CSTrack anchors


def ema_weights_file(path: Path) -> CSTrack:
    """A CSTrack weights file as `discmot train` writes it: the EMA of a network (here an unchanged one:
    only the EMA's rounding moves anything), written by the engine's own writer."""
    torch.manual_seed(0)
    model = CSTrack(cstrack_preset("tiny"))
    ema = ModelEMA(model, decay=0.9999, ramp=2000.0)
    for _ in range(3):
        ema.update(model)
    recipe = load_cstrack_recipe("cstrack_tiny")
    checkpointing.write_weights(path, ema.module, "cstrack", model.config, recipe.train, global_step=3)
    return model


def test_the_ema_moves_the_anchors_of_a_weights_file_by_rounding_alone():
    """What the fix is about: the EMA of an unchanged network moves its anchors (by rounding: within
    a few ulps), as it moves every floating-point tensor; the anchors alone are the config's, not learned."""
    model = CSTrack(cstrack_preset("tiny"))
    ema = ModelEMA(model, decay=0.9999, ramp=2000.0)
    ema.update(model)
    for key in ("anchors", "anchor_grid"):
        fresh, averaged = getattr(model.model[28], key), getattr(ema.module.model[28], key)
        assert not torch.equal(averaged, fresh), key
        assert torch.allclose(averaged, fresh, rtol=1e-6, atol=0), key


def test_every_conversion_of_a_cstrack_weights_file_holds_the_configs_anchors_bit_for_bit(tmp_path):
    model = ema_weights_file(tmp_path / "model.safetensors")
    config_anchors = {k: v for k, v in model.state_dict().items() if "anchor" in k}
    direct = converted(tmp_path / "model.safetensors", tmp_path / "direct.safetensors")
    official = converted(tmp_path / "model.safetensors", tmp_path / "official.pt")
    back = converted(official, tmp_path / "back.safetensors")
    again = converted(back, tmp_path / "again.safetensors")
    files = {name: read_safetensors(path)[0] for name, path in [("direct", direct), ("back", back)]}
    files["again"] = read_safetensors(again)[0]
    files["official"] = torch.load(official, map_location="cpu", weights_only=True)["model"]
    reference = files["direct"]
    for name, tensors in files.items():
        assert [k for k in reference if not torch.equal(tensors[k], reference[k])] == [], name
        assert all(torch.equal(tensors[k], v) for k, v in config_anchors.items()), name
    # the model every loader gives has them too, the values the original's loader keeps (spec §1.4)
    for path in (tmp_path / "model.safetensors", direct, official, back):
        loaded = load_cstrack(path).state_dict()
        assert all(torch.equal(loaded[k], v) for k, v in config_anchors.items()), path


def test_the_official_presets_anchors_are_the_specs_grid_values(tmp_path):
    """Spec §1.4: anchors in grid units P3 (1,3),(1.375,4.25),(2,6); P4 (2,6),(2.8125,8.4375),(4,12);
    P5 (4,12),(5.625,16.875),(8,20), and anchor_grid the pixels; exact in fp32, kept so by a conversion
    of a file whose EMA moved them."""
    from discmot.models.cstrack.checkpoint import with_config_anchors
    from discmot.models.cstrack.head import DetectionHead

    head = DetectionHead(cstrack_preset("cstrack"))
    grid = [
        [1, 3],
        [1.375, 4.25],
        [2, 6],
        [2, 6],
        [2.8125, 8.4375],
        [4, 12],
        [4, 12],
        [5.625, 16.875],
        [8, 20],
    ]
    pixels = [[8, 24], [11, 34], [16, 48], [32, 96], [45, 135], [64, 192], [128, 384], [180, 540], [256, 640]]
    assert head.anchors.reshape(-1, 2).tolist() == grid
    assert head.anchor_grid.reshape(-1, 2).tolist() == pixels
    model = CSTrack(cstrack_preset("tiny"))
    moved = {k: v * (1 + 2**-23) for k, v in model.state_dict().items() if "anchor" in k}
    assert all(not torch.equal(v, model.state_dict()[k]) for k, v in moved.items())
    fixed = with_config_anchors(model, moved, tmp_path / "x.safetensors")
    assert all(torch.equal(fixed[k], model.state_dict()[k]) for k in moved)


def test_the_modules_that_recognise_a_training_checkpoint_name_the_format_the_trainer_writes():
    # written out in the modules the engine imports (an import of the engine there would be circular)
    from discmot.io import training_checkpoints
    from discmot.models.cstrack import checkpoint as cstrack_checkpoint

    assert training_checkpoints.TRAINING_FORMAT == cstrack_checkpoint.TRAINING_FORMAT == checkpointing.FORMAT


# --------------------------------------------------------------------------------------------------
# FDTA detector-only stage (step.only_detr): its checkpoints say so, as its weights file does


@pytest.fixture(scope="module")
def fdta_detector_run(tmp_path_factory) -> Path:
    """A ``step.only_detr`` FDTA run (MOTIP's first stage: single-frame clips) stopped after 2 iterations,
    with a checkpoint and ``model.safetensors`` (``stage: detector``) at the same step."""
    step = StepConfig(train_frames=2, checkpoint_frames=1, only_detr=True)
    return tiny_fdta_run(tmp_path_factory, "fdta_detector", 8, 2, 1, step)


UNTRAINED_ID_DECODER = "the ID decoder was never trained"


def test_an_only_detr_runs_checkpoint_converts_with_the_stage_its_weights_file_has(
    fdta_detector_run, tmp_path, caplog
):
    """Its conversion held the run's train_config and step but not ``stage: detector``, so it loaded for
    tracking without the warning the run's ``model.safetensors`` gives."""
    [checkpoint] = checkpointing.list_checkpoints(fdta_detector_run / "checkpoints")
    weights = fdta_detector_run / "model.safetensors"
    assert safetensors_metadata(weights)["stage"] == "detector"  # what the trainer writes, unchanged
    out = converted(checkpoint, tmp_path / "from-checkpoint.safetensors")
    metadata = safetensors_metadata(out)
    assert metadata["stage"] == "detector"
    assert metadata == safetensors_metadata(weights)  # field for field, as for a full run's checkpoint
    with caplog.at_level("WARNING", logger="discmot"):
        load_fdta(out)
    assert UNTRAINED_ID_DECODER in caplog.text


def test_loading_an_only_detr_runs_checkpoint_directly_warns_as_its_weights_file_does(
    fdta_detector_run, fdta_run, caplog
):
    """``discmot track --weights RUN/checkpoints/epoch-NNN.pt`` (`load_fdta`) of a detector-only stage
    warns that the identities are meaningless; a full run's checkpoint does not."""
    [checkpoint] = checkpointing.list_checkpoints(fdta_detector_run / "checkpoints")
    with caplog.at_level("WARNING", logger="discmot"):
        load_fdta(checkpoint)
    assert UNTRAINED_ID_DECODER in caplog.text and str(checkpoint) in caplog.text
    caplog.clear()
    [full] = checkpointing.list_checkpoints(fdta_run / "checkpoints")
    with caplog.at_level("WARNING", logger="discmot"):
        load_fdta(full)
    assert UNTRAINED_ID_DECODER not in caplog.text


def test_a_checkpoint_written_before_the_weights_metadata_entry_still_loads_and_converts(
    fdta_detector_run, tmp_path, caplog
):
    """A checkpoint of 2026-11-24 or before has no ``weights_metadata`` entry: it loads (without the
    warning: nothing tells its stage), converts with the other fields, and resumes (format version 1)."""
    [checkpoint] = checkpointing.list_checkpoints(fdta_detector_run / "checkpoints")
    payload = checkpointing.read_checkpoint(checkpoint)
    assert payload.pop(checkpointing.WEIGHTS_METADATA_KEY) == {"stage": "detector"}
    assert payload["format_version"] == 1  # an optional key: no version change, older discmot reads it
    old = tmp_path / checkpoint.name
    checkpointing.write_checkpoint(old, payload)
    with caplog.at_level("WARNING", logger="discmot"):
        load_fdta(old)
    assert UNTRAINED_ID_DECODER not in caplog.text
    metadata = safetensors_metadata(converted(old, tmp_path / "old.safetensors"))
    assert "stage" not in metadata and metadata["global_step"] == str(payload["global_step"])


def test_the_checkpoint_entry_of_weights_metadata_has_one_name_in_the_engine_and_the_reader():
    # written out in io.training_checkpoints, which the engine imports (the other way would be circular)
    from discmot.io import training_checkpoints

    assert training_checkpoints.TRAINING_WEIGHTS_METADATA == checkpointing.WEIGHTS_METADATA_KEY
