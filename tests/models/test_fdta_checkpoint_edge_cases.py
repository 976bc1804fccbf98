"""Edge cases of `discmot.models.fdta.checkpoint`: the config probes, the preset an official file is
loaded with, the hint a file that does not fit gets, training checkpoints and safetensors of other kinds.

Expected values come from the spec (fdta.md §7.3: ``word_to_embed.weight [256, 51]`` for 50 ID words plus
the newborn token, ``class_embed [1, 256]``, ``level_embed [4, 256]``, ``query_embed [300, 512]``,
``rel_pos_embeds [6, 30 | 60 | 20, 16]``, ``depth_bin_values [151 | 121]``; MOTIP files lack the Spatial
and Temporal Adapters) and from the module's docstrings. Papers' presets are built on the meta device
(shapes only); weights are the tiny preset's.
"""

from __future__ import annotations

import dataclasses
import json
import logging

import pytest
import torch

from discmot.io import training_checkpoints
from discmot.io.checkpoints import CheckpointError
from discmot.io.safetensors_format import write_safetensors
from discmot.models.fdta import checkpoint
from discmot.models.fdta.config import preset, with_adapters
from discmot.models.fdta.model import build_fdta


def meta_state(name: str, **adapters) -> dict[str, torch.Tensor]:
    """The state dict (shapes only) of the ``name`` preset's network, adapters switched as given."""
    config = preset(name)
    if adapters:
        config = with_adapters(config, **adapters)
    with torch.device("meta"):
        return build_fdta(config).state_dict()


@pytest.fixture(scope="module")
def tiny_state():
    return {key: value.clone() for key, value in build_fdta("tiny").state_dict().items()}


def test_the_config_probes_read_the_spec_shapes_of_the_dancetrack_preset():
    """`CONFIG_PROBES` (spec §7.3): 51 word columns = 50 ID words + newborn; 1 class row; hidden 256 from
    ``level_embed``; 300 queries; window 30; 151 bin values = 150 bins."""
    spec_shapes = {
        "id_decoder.word_to_embed.weight": (256, 51),
        "detr.class_embed.0.weight": (1, 256),
        "detr.transformer.level_embed": (4, 256),
        "detr.query_embed.weight": (300, 512),
        "id_decoder.rel_pos_embeds": (6, 30, 16),
        "detr.depth_predictor.depth_bin_values": (151,),
    }
    expected = {
        "id_decoder.num_id_vocabulary": 50,
        "detr.num_classes": 1,
        "detr.hidden_dim": 256,
        "detr.num_queries": 300,
        "id_decoder.rel_pe_length": 30,
        "spatial.bins": 150,
    }
    config = preset("dancetrack")
    for field, (key, value_of) in checkpoint.CONFIG_PROBES.items():
        assert value_of(spec_shapes[key]) == expected[field], field
        part, name = field.split(".")
        assert getattr(getattr(config, part), name) == expected[field], field


def test_the_config_probes_read_the_tiny_presets_own_fields(tiny_state):
    """`CONFIG_PROBES` on the tiny network's shapes give the tiny config's values (no spec numbers)."""
    config = preset("tiny")
    for field, (key, value_of) in checkpoint.CONFIG_PROBES.items():
        part, name = field.split(".")
        assert value_of(tuple(tiny_state[key].shape)) == getattr(getattr(config, part), name), field


# --------------------------------------------------------------------------------------------------
# the preset an official file is loaded with


def test_an_official_files_preset_comes_from_the_caller_then_its_shapes_then_the_one_that_fits(
    tiny_state, caplog
):
    """`_official_file_config`: ``preset_name`` first (even against the shapes); else the paper preset the
    shapes point to (§7.3); else the one preset that fits (said at INFO); else dancetrack."""
    assert checkpoint._official_file_config("f.pth", {}, tiny_state, "sportsmot").name == "sportsmot"
    bft = {"id_decoder.rel_pos_embeds": torch.zeros(6, 20, 16)}
    assert checkpoint._official_file_config("f.pth", {}, bft, None).name == "bft"
    with caplog.at_level(logging.INFO, logger="discmot"):
        config = checkpoint._official_file_config("f.pth", {}, tiny_state, None)
    assert config.name == "tiny" and config.spatial.enabled and config.temporal.enabled
    assert "f.pth: its keys and shapes are those of the tiny preset: loaded as it" in caplog.text
    junk = {"head.weight": torch.zeros(1)}
    assert checkpoint._official_file_config("f.pth", {}, junk, None) == preset("dancetrack")


def test_an_official_motip_file_is_configured_without_both_adapters():
    """`_official_file_config`: a MOTIP state (an ID decoder, no adapter keys) switches both adapters off."""
    motip = {"detr.x": torch.zeros(1), "id_decoder.rel_pos_embeds": torch.zeros(6, 60, 16)}
    config = checkpoint._official_file_config("f.pth", {}, motip, None)
    assert config.name == "sportsmot" and not config.spatial.enabled and not config.temporal.enabled


def test_the_config_stored_in_an_official_file_wins_over_the_shapes(tiny_state):
    """`_official_file_config`: the ``discmot_config`` written beside the weights is the architecture."""
    stored = dataclasses.asdict(dataclasses.replace(preset("tiny"), name="mine"))
    config = checkpoint._official_file_config(
        "f.pth", {"discmot_config": json.dumps(stored)}, tiny_state, None
    )
    assert config.name == "mine"


# --------------------------------------------------------------------------------------------------
# the hint of a file that does not fit


def test_a_file_whose_shapes_name_another_paper_preset_gets_no_config_hint():
    """`_config_hint`: shapes pointing to another paper preset -> None (the default hint names it)."""
    with torch.device("meta"):
        model = build_fdta(preset("dancetrack"))
    assert checkpoint._config_hint(model, meta_state("sportsmot")) is None


def test_a_file_of_the_models_preset_with_another_field_names_the_field():
    """`_config_hint`: shapes of the model's own preset (§7.3) but another query count: no preset fits,
    the differing field is named (`config_mismatch`)."""
    with torch.device("meta"):
        model = build_fdta(preset("dancetrack"))
    state = dict(meta_state("dancetrack"))
    state["detr.query_embed.weight"] = torch.zeros(400, 512, device="meta")
    hint = checkpoint._config_hint(model, state)
    assert hint is not None and hint.startswith(
        "trained with another configuration than the dancetrack preset"
    )
    assert "detr.num_queries 400 in the file (detr.query_embed.weight (400, 512)), 300 in the model" in hint


def test_a_tiny_file_given_another_preset_is_told_to_use_the_tiny_preset(tiny_state):
    """`_config_hint`: no paper preset in the shapes, one other preset fits -> "--preset tiny"."""
    with torch.device("meta"):
        model = build_fdta(preset("bft"))
    assert checkpoint._config_hint(model, tiny_state) == (
        "this looks like an FDTA tiny checkpoint; use that preset, --preset tiny"
    )


# --------------------------------------------------------------------------------------------------
# load_fdta: discmot safetensors, official files, training checkpoints


def test_a_discmot_safetensors_file_of_another_kind_is_refused(tmp_path):
    """`load_fdta`: a ``.safetensors`` file whose ``kind`` is not ``fdta`` is named as such."""
    model = build_fdta("tiny")
    path = tmp_path / "w.SafeTensors"
    write_safetensors(path, model, model.config, "cstrack")
    with pytest.raises(CheckpointError, match="a discmot 'cstrack' checkpoint, not FDTA"):
        checkpoint.load_fdta(path)
    write_safetensors(path, model, model.config, "fdta")
    loaded = checkpoint.load_fdta(path)
    assert not loaded.training
    assert torch.equal(
        loaded.state_dict()["detr.query_embed.weight"], model.state_dict()["detr.query_embed.weight"]
    )


def test_detector_stage_weights_warn_and_others_do_not(tmp_path, caplog):
    """`load_fdta` warns for weights whose ``stage`` is ``detector`` (`DETECTOR_STAGE`), for no other."""
    model = build_fdta("tiny")
    for stage, warned in (("detector", True), ("full", False)):
        path = tmp_path / f"{stage}.safetensors"
        write_safetensors(path, model, model.config, "fdta", {"stage": stage})
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="discmot"):
            checkpoint.load_fdta(path)
        assert ("the ID decoder was never trained" in caplog.text) is warned, stage


def test_an_official_detr_only_pretrain_is_refused_with_the_option_to_use(tmp_path):
    """`load_fdta`: a state with ``bbox_embed.0.layers.0.weight`` (spec §7.1) is a DETR pre-train."""
    torch.save({"model": {"bbox_embed.0.layers.0.weight": torch.zeros(2, 2)}}, tmp_path / "p.pth")
    with pytest.raises(CheckpointError, match="a Deformable-DETR pre-train .* --detr-pretrain"):
        checkpoint.load_fdta(tmp_path / "p.pth")


def test_an_official_file_without_a_stored_config_loads_by_its_shapes(tmp_path, tiny_state):
    """`load_fdta` of an official file (spec §7.1: a dict whose ``model`` entry is the state dict), no
    ``discmot_config`` beside it: the tiny preset is found from its shapes, the weights load, eval mode."""
    path = tmp_path / "tiny.pth"
    torch.save({"model": tiny_state, "epoch": 3}, path)
    loaded = checkpoint.load_fdta(path)
    assert loaded.config.name == "tiny" and not loaded.training
    key = "id_decoder.word_to_embed.weight"
    assert torch.equal(loaded.state_dict()[key], tiny_state[key])


def training_content(model, **entries) -> dict:
    """What ``discmot train`` writes (`discmot.engine.checkpointing`): the wrapper's state (``model.``
    and ``criterion.`` keys) and the model's config."""
    state = {f"model.{k}": v.clone() for k, v in model.state_dict().items()}
    state["criterion.mlp.weight"] = torch.zeros(2, 2)
    content = {
        "format": training_checkpoints.TRAINING_FORMAT,
        "model": state,
        "model_config": dataclasses.asdict(model.config),
    }
    content.update(entries)
    return content


def test_a_training_checkpoint_loads_its_network_and_refuses_other_models(tmp_path):
    """`_load_training_checkpoint`: ``model_kind`` defaults to fdta; another kind, or no ``model_config``,
    is "a discmot training checkpoint, but not of FDTA"."""
    model = build_fdta("tiny")
    path = tmp_path / "epoch-001.pt"
    torch.save(training_content(model), path)
    loaded = checkpoint.load_fdta(path)
    assert not loaded.training and loaded.config == model.config
    for entries in (
        {"model_kind": "cstrack"},
        {"model_config": None},
        {"model_kind": "fdta", "model_config": {}},
    ):
        torch.save(training_content(model, **entries), path)
        with pytest.raises(CheckpointError, match="a discmot training checkpoint, but not of FDTA"):
            checkpoint.load_fdta(path)
    torch.save(training_content(model, model_kind="fdta"), path)
    checkpoint.load_fdta(path)


def test_a_training_checkpoint_of_a_detector_stage_warns_naming_the_checkpoint(tmp_path, caplog):
    """`_load_training_checkpoint`: ``weights_metadata`` ``stage: detector`` warns (what: checkpoint)."""
    model = build_fdta("tiny")
    path = tmp_path / "epoch-001.pt"
    torch.save(training_content(model, weights_metadata={"stage": "detector"}), path)
    with caplog.at_level(logging.WARNING, logger="discmot"):
        checkpoint.load_fdta(path)
    assert "a detector pre-training run's checkpoint (step.only_detr)" in caplog.text


# --------------------------------------------------------------------------------------------------
# presets_that_fit / preset_that_fits


def test_the_presets_that_fit_are_those_with_exactly_the_keys_and_shapes(tiny_state):
    """`presets_that_fit`: a tiny state fits the tiny preset only (none when it is excluded); a sportsmot
    one fits sportsmot; `preset_that_fits` gives the first or None."""
    assert checkpoint.presets_that_fit(tiny_state) == ["tiny"]
    assert checkpoint.preset_that_fits(tiny_state) == "tiny"
    assert checkpoint.preset_that_fits(tiny_state, exclude="tiny") is None
    assert checkpoint.presets_that_fit(meta_state("sportsmot"), exclude="dancetrack") == ["sportsmot"]


def test_a_motip_state_fits_its_preset_without_both_adapters():
    """`presets_that_fit`: a MOTIP file (spec §7.3: FDTA minus the Spatial and Temporal Adapters) fits
    the preset built with neither adapter."""
    motip = meta_state("tiny", spatial=False, temporal=False)
    assert checkpoint.presets_that_fit(motip) == ["tiny"]
