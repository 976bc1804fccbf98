"""FDTA checkpoints: the official key/shape contract, strict loading, conversion, and bad files.

A checkpoint is generated from the TSV contract itself (every key, every shape, random values with shared
keys kept equal), loaded strictly, converted official -> safetensors -> official, and the model's outputs
must stay bit-identical through the round trip.
"""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
import torch

from discmot.cli import main
from discmot.io.checkpoints import CheckpointError
from discmot.io.official_format import write_official
from discmot.models.fdta.checkpoint import convert, load_fdta
from discmot.models.fdta.model import build_fdta, parameter_count
from helpers import read_state_dict_contract

SHARED_ALIASES = (("detr.transformer.decoder.bbox_embed.", "detr.bbox_embed."),)


def contract_checkpoint(contract: dict, bins: int | None = None, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random tensors with the contract's keys and shapes; aliases equal; variances positive."""
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in contract.items():
        if bins is not None and key.startswith(
            ("detr.depth_predictor.depth_bin_values", "detr.depth_predictor.depth_classifier")
        ):
            shape = (bins + 1, *shape[1:])
        if key.endswith("running_var"):
            state[key] = torch.rand(shape, generator=generator) + 0.5
        else:
            state[key] = torch.randn(shape, generator=generator) * 0.02
    for alias, source in SHARED_ALIASES:
        for key in [k for k in state if k.startswith(alias)]:
            state[key] = state[source + key[len(alias) :]].clone()
    for key in [k for k in state if k.startswith("id_decoder.embed_to_word_layers.")]:
        state[key] = state["id_decoder.embed_to_word_layers.0.weight"].clone()
    return state


@pytest.fixture(scope="module")
def contract(shared_file):
    return read_state_dict_contract(shared_file("spec/fdta_state_dict_keys.tsv"))


def test_dancetrack_model_matches_the_contract(contract):
    model = build_fdta("dancetrack")
    state = model.state_dict()
    assert {k: tuple(v.shape) for k, v in state.items()} == contract
    assert parameter_count(model) == 65_700_686


@pytest.mark.parametrize("preset_name", ["dancetrack", "bft"])
def test_contract_checkpoint_loads_and_round_trips_bit_identically(tmp_path, contract, preset_name):
    bins = 120 if preset_name == "bft" else None
    state = contract_checkpoint(contract, bins)
    if preset_name == "bft":
        state["id_decoder.rel_pos_embeds"] = torch.randn(6, 20, 16) * 0.02
    official = tmp_path / "official.pth"
    torch.save({"model": state}, official)
    model = load_fdta(official)  # the preset is inferred from the shapes
    assert model.config.name == preset_name
    ours = tmp_path / "ours.safetensors"
    back = tmp_path / "back.pth"
    convert(official, ours)
    convert(ours, back)
    reloaded = torch.load(back, weights_only=True)["model"]
    assert reloaded.keys() == state.keys()
    assert all(torch.equal(reloaded[k], state[k]) for k in state)
    images = torch.randn(1, 3, 64, 96, generator=torch.Generator().manual_seed(1))
    # Build models outside inference_mode: parameters created inside it make nn.MultiheadAttention take
    # another kernel path (outputs differ by ~5e-7), which is not what a round trip is about.
    converted = load_fdta(ours)
    with torch.inference_mode():
        before = model.detect(images)
        after = converted.detect(images)
    for key in ("pred_logits", "pred_boxes", "outputs"):
        assert torch.equal(before[key], after[key]), key


def test_convert_cli(tmp_path):
    source = tmp_path / "tiny.safetensors"
    from discmot.models.fdta.checkpoint import save_fdta

    save_fdta(source, build_fdta("tiny"))
    assert main(["convert", str(source), str(tmp_path / "tiny.pth"), "--preset", "tiny"]) == 0
    assert (
        main(["convert", str(tmp_path / "tiny.pth"), str(tmp_path / "again.safetensors"), "--preset", "tiny"])
        == 0
    )


def test_wrong_preset_is_explained(tmp_path):
    bft = build_fdta("bft")
    path = tmp_path / "bft.pth"
    write_official(path, bft)
    with pytest.raises(CheckpointError) as error:
        load_fdta(path, "dancetrack")
    message = str(error.value)
    assert "depth_bin_values" in message and "(121,)" in message and "bft" in message


def test_cstrack_file_is_refused(tmp_path):
    path = tmp_path / "cstrack.pt"
    torch.save(
        {
            "model": {
                "model.0.conv.conv.weight": torch.zeros(64, 12, 3, 3),
                "model.24.m.0.weight": torch.zeros(18, 256, 1, 1),
            }
        },
        path,
    )
    with pytest.raises(CheckpointError, match="CSTrack"):
        load_fdta(path, "tiny")


def test_random_file_is_refused(tmp_path):
    path = tmp_path / "noise.pth"
    path.write_bytes(np.random.default_rng(0).bytes(1000))
    with pytest.raises(CheckpointError, match="not a PyTorch checkpoint"):
        load_fdta(path)


def test_pickle_with_code_is_refused(tmp_path):
    import pickle

    class Evil:
        def __reduce__(self):
            return (print, ("executed",))

    path = tmp_path / "evil.pth"
    with path.open("wb") as handle:
        pickle.dump({"model": Evil()}, handle, protocol=2)  # torch.save's protocol: no warning
    with pytest.raises(CheckpointError):
        load_fdta(path)


def test_full_size_two_frame_forward_at_160x256():
    """The acceptance check on CPU: the full dancetrack model on 2 frames of 160x256 (time reported)."""
    model = build_fdta("dancetrack").eval()
    images = torch.randn(2, 3, 160, 256)
    start = time.perf_counter()
    with torch.inference_mode():
        out = model.detect(images)
    seconds = time.perf_counter() - start
    print(f"full-size FDTA, 2 frames at 160x256 on CPU: {seconds:.2f} s")
    assert out["pred_boxes"].shape == (2, 300, 4) and out["outputs"].shape == (2, 300, 256)
    assert torch.isfinite(out["pred_boxes"]).all()


def test_detr_only_pretrain_loads_with_prefix_and_coco_head(tmp_path, contract):
    """MOTIP's DETR pre-trains: no ``detr.`` prefix, 91-class COCO head sliced to the person row (§7.1)."""
    from discmot.io.detr_pretrain import load_detr_pretrain

    full = contract_checkpoint(contract)
    detr_only = {
        k[len("detr.") :]: v for k, v in full.items() if k.startswith("detr.") and "depth" not in k
    }  # FDTA-only keys are not in these files
    for layer in range(6):
        detr_only[f"class_embed.{layer}.weight"] = torch.randn(91, 256)
        detr_only[f"class_embed.{layer}.bias"] = torch.randn(91)
    model = build_fdta("dancetrack")
    untouched = load_detr_pretrain(model, detr_only, "coco.pth")
    state = model.state_dict()
    assert torch.equal(state["detr.class_embed.0.weight"], detr_only["class_embed.0.weight"][1:2])
    assert torch.equal(state["detr.input_proj.0.0.weight"], detr_only["input_proj.0.0.weight"])
    assert any("depth_predictor" in k for k in untouched) and any(
        k.startswith("id_decoder") for k in untouched
    )


def test_motip_checkpoint_loads_as_fdta_without_spatial_and_temporal_adapters(tmp_path):
    from dataclasses import replace

    from discmot.models.fdta.config import preset

    tiny = preset("tiny")
    motip = build_fdta(
        replace(
            tiny, spatial=replace(tiny.spatial, enabled=False), temporal=replace(tiny.temporal, enabled=False)
        )
    ).eval()
    assert not any(
        k.startswith(("detr.depth_predictor.", "trajectory_embedding.")) for k in motip.state_dict()
    )
    path = tmp_path / "motip.pth"
    write_official(path, motip)
    loaded = load_fdta(path, "tiny")
    assert not loaded.config.spatial.enabled and not loaded.config.temporal.enabled
    images = torch.randn(1, 3, 64, 96)
    with torch.inference_mode():
        torch.testing.assert_close(loaded.detect(images)["pred_boxes"], motip.detect(images)["pred_boxes"])
    # a full FDTA file still builds the full model
    write_official(tmp_path / "fdta.pth", build_fdta("tiny"))
    assert load_fdta(tmp_path / "fdta.pth", "tiny").config.spatial.enabled


def test_official_file_with_training_args_and_torchvision_counters_loads(tmp_path):
    """Deformable-DETR-style files keep the script's ``args`` (an argparse.Namespace) beside the weights,
    and torchvision-derived backbones carry ``num_batches_tracked``: both load, nothing is executed."""
    import argparse

    from discmot.io.checkpoint_files import guess_file_kind

    model = build_fdta("tiny").eval()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    state["detr.backbone.0.body.bn1.num_batches_tracked"] = torch.tensor(7)
    path = tmp_path / "with_args.pth"
    torch.save({"model": state, "args": argparse.Namespace(lr=2e-4, epochs=50), "epoch": 49}, path)
    loaded = load_fdta(path, "tiny")
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    assert guess_file_kind(path) == "fdta"
    # a state dict saved from a DDP-wrapped model ("module." prefixes) loads too
    wrapped = tmp_path / "ddp.pth"
    torch.save({"model": {f"module.{k}": v for k, v in model.state_dict().items()}}, wrapped)
    assert torch.equal(
        load_fdta(wrapped, "tiny").state_dict()["detr.query_embed.weight"], state["detr.query_embed.weight"]
    )


def test_detr_pretrain_from_discmot_weights_takes_the_detector_only(tmp_path):
    from discmot.io.detr_pretrain import load_detr_pretrain, read_detr_pretrain
    from discmot.io.safetensors_format import write_safetensors
    from discmot.models.fdta.config import preset

    model = build_fdta("tiny")
    path = tmp_path / "fdta.safetensors"
    write_safetensors(path, model, preset("tiny"), kind="fdta")
    detector = read_detr_pretrain(path)
    assert detector and all(key.startswith("detr.") for key in detector)
    fresh = build_fdta("tiny")  # another random draw
    ids_before = {k: v.clone() for k, v in fresh.state_dict().items() if not k.startswith("detr.")}
    load_detr_pretrain(fresh, detector, path)
    # every detector tensor, aliases included (the file holds each shared tensor once), and nothing else
    for key, value in fresh.state_dict().items():
        expected = model.state_dict()[key] if key.startswith("detr.") else ids_before[key]
        assert torch.equal(value, expected), key
    write_safetensors(tmp_path / "cstrack.safetensors", model, {}, kind="cstrack")
    with pytest.raises(CheckpointError, match="cstrack weights; a DETR pre-train must be FDTA"):
        read_detr_pretrain(tmp_path / "cstrack.safetensors")


def test_copies_of_a_shared_tensor_must_agree_in_every_loading_path(tmp_path):
    """A box head is one tensor under two names (the decoder's and the model's); a file holding both
    with different values is refused by name, whichever path reads it, and a file holding only the
    second name fills the first."""
    from discmot.io.checkpoints import shared_tensor_names
    from discmot.io.detr_pretrain import load_detr_pretrain

    model = build_fdta("tiny")
    names = next(group for group in shared_tensor_names(model) if len(group) > 1)
    first, alias = names[0], names[-1]
    detector = {k: v.clone() for k, v in model.state_dict().items() if k.startswith("detr.")}

    only_alias = {k: v for k, v in detector.items() if k not in names[:-1]}
    only_alias[alias] = only_alias[alias] + 1.0
    fresh = build_fdta("tiny")
    load_detr_pretrain(fresh, only_alias, "pretrain.pth")
    for name in names:
        assert torch.equal(fresh.state_dict()[name], only_alias[alias]), name

    differing = dict(detector)
    differing[alias] = differing[alias] + 1.0
    with pytest.raises(CheckpointError, match=f"different values: {first} and {alias}"):
        load_detr_pretrain(build_fdta("tiny"), differing, "pretrain.pth")

    official = {k: v.clone() for k, v in model.state_dict().items()}
    official[alias] = official[alias] + 1.0
    torch.save({"model": official}, tmp_path / "fdta.pth")
    with pytest.raises(CheckpointError, match=f"different values: {first} and {alias}"):
        load_fdta(tmp_path / "fdta.pth", "tiny")


def test_a_model_no_preset_fits_round_trips_through_the_official_format(tmp_path, caplog):
    """The bundled tiny FDTA is 64 wide, the ``tiny`` preset 32: its shapes name no preset, so the
    official file keeps discmot's config beside ``"model"`` (which is all the original code reads)."""
    from discmot.engine.demo import bundled_weights
    from discmot.models.fdta.config import preset

    bundled = load_fdta(bundled_weights("fdta"))
    assert bundled.config != preset(bundled.config.name)  # the premise: no preset rebuilds it
    assert main(["convert", str(bundled_weights("fdta")), str(tmp_path / "official.pth")]) == 0
    content = torch.load(tmp_path / "official.pth", weights_only=True)
    assert set(content) == {"model", "discmot_config", "discmot_metadata"}  # its train_config kept
    with caplog.at_level("WARNING", logger="discmot"):
        back = load_fdta(tmp_path / "official.pth", "tiny")
    assert "holds its config; --preset tiny is not used" in caplog.text
    assert back.config == bundled.config
    for key, value in bundled.state_dict().items():
        assert torch.equal(back.state_dict()[key], value), key
    # a file without the entry (the original's own) still goes by its shapes
    torch.save({"model": content["model"]}, tmp_path / "bare.pth")
    with pytest.raises(CheckpointError, match="does not fit this FDTA model"):
        load_fdta(tmp_path / "bare.pth", "tiny")


def test_convert_keeps_an_existing_target_unless_told_and_names_a_motip_architecture(tmp_path, caplog):
    from discmot.models.fdta.config import preset, with_adapters

    motip = build_fdta(with_adapters(preset("tiny"), spatial=False, temporal=False))  # FDTA's base, MOTIP
    write_official(tmp_path / "motip.pth", motip, None)
    target = tmp_path / "motip.safetensors"
    target.write_bytes(b"a file the user keeps")
    assert main(["convert", str(tmp_path / "motip.pth"), str(target), "--preset", "tiny"]) == 2
    assert target.read_bytes() == b"a file the user keeps"
    with caplog.at_level("INFO", logger="discmot"):
        argv = ["convert", str(tmp_path / "motip.pth"), str(target), "--preset", "tiny", "--overwrite"]
        assert main(argv) == 0
    assert "(FDTA, the tiny preset, with its spatial and temporal adapters off)" in caplog.text
    loaded = load_fdta(target)
    assert all(torch.equal(v, motip.state_dict()[k]) for k, v in loaded.state_dict().items())


def test_the_same_weights_and_config_always_write_the_same_bytes(tmp_path):
    """A checkpoint's bytes depend only on its content: the safetensors writer orders its metadata
    differently from call to call, so discmot writes the header in one form (sorted keys), and two runs
    that end with the same weights leave files with the same checksum."""
    import json

    import safetensors.torch

    from discmot.io.safetensors_format import read_safetensors, write_safetensors
    from discmot.models.fdta.config import preset

    model = build_fdta("tiny")
    extra = {"train_config": "{}", "seed": "3407", "git": "abc"}
    paths = [tmp_path / f"copy{i}.safetensors" for i in range(6)]
    for path in paths:
        write_safetensors(path, model, preset("tiny"), kind="fdta", extra_metadata=extra)
    contents = {path.read_bytes() for path in paths}
    assert len(contents) == 1
    raw = contents.pop()
    header_length = int.from_bytes(raw[:8], "little")
    assert header_length % 8 == 0  # the tensor data stays 8-byte aligned
    header = json.loads(raw[8 : 8 + header_length])
    assert list(header) == sorted(header)
    assert list(header["__metadata__"]) == sorted(header["__metadata__"])
    # still a valid file for safetensors itself and for discmot, with every tensor and metadata entry
    tensors = safetensors.torch.load(raw)
    state = model.state_dict()
    assert tensors and all(torch.equal(value, state[key]) for key, value in tensors.items())
    _, metadata = read_safetensors(paths[0])
    assert {k: metadata[k] for k in extra} == extra and metadata["kind"] == "fdta"


def test_the_runtime_assignment_protocol_is_saved_with_the_config(tmp_path):
    from dataclasses import replace

    from discmot.models.fdta.checkpoint import save_fdta

    model = build_fdta("tiny")
    model.config = replace(
        model.config, runtime=replace(model.config.runtime, assignment_protocol="hungarian")
    )
    save_fdta(tmp_path / "tiny.safetensors", model)
    assert load_fdta(tmp_path / "tiny.safetensors").config.runtime.assignment_protocol == "hungarian"


@pytest.mark.parametrize("everywhere", [False, True])
def test_weights_holding_nan_are_refused_by_name(tmp_path, everywhere):
    """A diverged training's file: one NaN tensor, or all of them (then also every shared copy differs
    from itself, which must not be reported as a broken alias)."""
    from discmot.models.fdta.checkpoint import save_fdta

    model = build_fdta("tiny")
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.is_floating_point() and (everywhere or name == "detr.class_embed.0.bias"):
                tensor.fill_(float("nan"))
    save_fdta(tmp_path / "nan.safetensors", model)
    with pytest.raises(
        CheckpointError, match=r"nan.safetensors: \d+ tensor\(s\) hold NaN or infinite values"
    ):
        load_fdta(tmp_path / "nan.safetensors")


def test_a_damaged_stored_config_is_named(tmp_path):
    from safetensors.torch import save_file

    from discmot.io.safetensors_format import read_safetensors
    from discmot.models.fdta.checkpoint import save_fdta

    save_fdta(tmp_path / "tiny.safetensors", build_fdta("tiny"))
    tensors, metadata = read_safetensors(tmp_path / "tiny.safetensors")
    for config, words in (
        ("{", "its stored config is damaged (not JSON"),
        (
            '{"detr": {"hidden_dim": 32}, "colour": 1}',
            "its stored config cannot be used (unknown FDTA config keys",
        ),
    ):
        save_file(tensors, tmp_path / "bad.safetensors", metadata={**metadata, "config": config})
        with pytest.raises(CheckpointError, match=rf"bad.safetensors: {re.escape(words)}"):
            load_fdta(tmp_path / "bad.safetensors")
