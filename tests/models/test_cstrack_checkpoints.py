"""CSTrack checkpoints: both official formats, the allow-listed unpickler, conversion, and bad files.

Official files are generated from the TSV contract (every key and shape, random values). The old trainer's
format is rebuilt the way it was written: a model object made of classes living at the original module
paths (``models.mot.cstrack.Model``, ``models.mot.common.Conv``...), cast to fp16, ``torch.save``d inside
``{"epoch": -1, "best_fitness": <numpy array>, "model": <module>, ...}``; the fake modules are removed from
``sys.modules`` before loading, so the loader cannot rely on them.
"""

from __future__ import annotations

import builtins
import dataclasses
import logging
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from discmot.cli import main
from discmot.io import checkpoints, pickled
from discmot.io.checkpoint_files import guess_file_kind
from discmot.io.checkpoints import CheckpointError
from discmot.io.pickled import read_pickled_model
from discmot.models.cstrack.checkpoint import convert, infer_cstrack_preset, load_cstrack
from discmot.models.cstrack.model import build_cstrack
from helpers import importable_classes, random_official_checkpoint

ORIGINAL_MODULES = {
    "models.mot.cstrack": ("Model", "Detect", "CCN", "SAAN", "SAAN_Attention"),
    "models.mot.common": ("Conv", "Bottleneck", "BottleneckCSP", "SPP", "Focus", "Concat"),
}
LAYER_CLASSES = {0: "Focus", 8: "SPP", 27: "SAAN", 28: "Detect"}
LAYER_CLASSES |= {i: "Conv" for i in (1, 3, 5, 7, 10, 14, 18, 21)}
LAYER_CLASSES |= {i: "BottleneckCSP" for i in (2, 4, 6, 9, 13, 17, 20, 23)}
LAYER_CLASSES |= {i: "Concat" for i in (12, 16, 19, 22)} | {i: "CCN" for i in (24, 25, 26)}
BUFFER_NAMES = ("running_mean", "running_var", "num_batches_tracked", "anchors", "anchor_grid")


def read_contract(path) -> dict[str, tuple[int, ...]]:
    contract = {}
    for line in path.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        key, shape = line.split("\t")[:2]
        contract[key] = tuple(int(v) for v in shape.strip("()").split(",") if v.strip())
    return contract


def random_state(shapes: dict[str, tuple[int, ...]], seed: int = 0) -> dict[str, torch.Tensor]:
    """Random tensors of the given shapes; variances positive, counters integer."""
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in shapes.items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(1000, dtype=torch.int64)
        elif key.endswith("running_var"):
            state[key] = torch.rand(shape, generator=generator) + 0.5
        else:
            state[key] = torch.randn(shape, generator=generator) * 0.05
    return state


def original_classes():
    """Registers ``models``, ``models.mot`` and the original class modules in ``sys.modules`` for pickling."""
    return importable_classes({"models": (), "models.mot": (), **ORIGINAL_MODULES})


def pickled_model(state: dict[str, torch.Tensor], classes: dict[str, type]) -> nn.Module:
    """A module object with exactly ``state``'s keys: ``Model`` > ``Sequential`` > original layer classes."""
    model = classes["Model"]()
    model.model = nn.Sequential()
    for i in range(29):
        layer = nn.Upsample(scale_factor=2.0) if i in (11, 15) else classes[LAYER_CLASSES[i]]()
        model.model.add_module(str(i), layer)
    for key, value in state.items():
        owner = model
        *path, name = key.split(".")
        for part in path:
            if not hasattr(owner, part):
                owner.add_module(part, nn.Module())
            owner = getattr(owner, part)
        if name in BUFFER_NAMES:
            owner.register_buffer(name, value.clone())
        else:
            owner.register_parameter(name, nn.Parameter(value.clone()))
    model.register_buffer("scratch", torch.zeros(3), persistent=False)  # must not become a key
    model.stride, model.names, model.hyp = torch.tensor([8.0, 16.0, 32.0]), ["person"], {"giou": 0.05}
    return model


def save_old_trainer_file(path, state: dict[str, torch.Tensor], legacy: bool = False) -> None:
    """What the 2020-21 trainer's optimizer stripping wrote: the EMA model object in fp16, epoch -1."""
    with original_classes() as classes, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # legacy format: "Couldn't retrieve source code for container"
        model = pickled_model(state, classes).half()
        payload = {
            "epoch": -1,
            "best_fitness": np.array([0.42]),
            "training_results": None,
            "model": model,
            "optimizer": None,
        }
        torch.save(payload, path, _use_new_zipfile_serialization=not legacy)


def assert_state_equal(model: nn.Module, state: dict[str, torch.Tensor], skip=("anchor",)) -> None:
    loaded = model.state_dict()
    assert set(loaded) == set(state)
    for key, value in state.items():
        if not any(s in key for s in skip):
            assert loaded[key].dtype == value.dtype, key
            assert torch.equal(loaded[key], value), key


@pytest.fixture(scope="module")
def contract(shared_file):
    return read_contract(shared_file("spec/cstrack_state_dict_keys.tsv"))


@pytest.fixture(scope="module")
def tiny_state():
    torch.manual_seed(0)
    return random_state({k: tuple(v.shape) for k, v in build_cstrack("tiny").state_dict().items()}, seed=3)


def test_plain_state_dict_with_the_contract_loads_strictly(tmp_path, contract):
    state = random_state(contract)
    torch.save({"epoch": 29, "best_fitness": 0.5, "model": state, "optimizer": None}, tmp_path / "new.pt")
    model = load_cstrack(tmp_path / "new.pt")
    assert model.config.name == "cstrack" and not model.training
    assert_state_equal(model, state)
    # the official loader ignores the file's anchors: the config's are used
    assert model.model[28].anchor_grid[0, 0, 0, 0, 0].tolist() == [8.0, 24.0]


def test_old_trainer_fp16_model_object_with_the_contract_loads_strictly(tmp_path, contract):
    state = random_state(contract)
    save_old_trainer_file(tmp_path / "cstrack.pt", state)
    assert "models.mot.cstrack" not in sys.modules  # the loader must not need the original classes
    with pytest.raises(CheckpointError):
        checkpoints.read_torch(tmp_path / "cstrack.pt")  # weights_only refuses the model object
    model = load_cstrack(tmp_path / "cstrack.pt")
    assert "models" not in sys.modules  # nothing named by the pickle was imported
    fp16_values = {k: v.half().float() if v.is_floating_point() else v for k, v in state.items()}
    assert_state_equal(model, fp16_values)
    assert all(v.dtype in (torch.float32, torch.int64) for v in model.state_dict().values())


def test_legacy_serialization_bare_state_and_preset_inference(tmp_path, tiny_state, caplog):
    save_old_trainer_file(tmp_path / "legacy.pt", tiny_state, legacy=True)
    with caplog.at_level(logging.INFO, logger="discmot"):
        model = load_cstrack(tmp_path / "legacy.pt")
    floating = sum(v.is_floating_point() for v in tiny_state.values())
    assert f"{floating} half-precision tensors, widened to fp32" in caplog.text
    assert model.config.name == "tiny" == infer_cstrack_preset(tiny_state)
    assert_state_equal(
        model, {k: v.half().float() if v.is_floating_point() else v for k, v in tiny_state.items()}
    )
    torch.save(tiny_state, tmp_path / "bare.pt")  # a bare state dict, no 'model' entry
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="discmot"):
        assert_state_equal(load_cstrack(tmp_path / "bare.pt"), tiny_state)
    assert "half-precision" not in caplog.text  # fp32 already: nothing widened


def test_2020_release_without_k_keeps_the_standard_decoding(tmp_path, tiny_state):
    state = {k: v for k, v in tiny_state.items() if k != "model.28.k"}
    torch.save({"model": state}, tmp_path / "v2020.pt")
    model = load_cstrack(tmp_path / "v2020.pt")
    assert model.model[28].k.item() == 10.0


def test_pickled_model_stand_ins_are_inert_and_skip_non_persistent_buffers(tmp_path, tiny_state):
    save_old_trainer_file(tmp_path / "old.pt", tiny_state)
    data = read_pickled_model(tmp_path / "old.pt")
    assert isinstance(data["model"], pickled.PickledObject)
    assert data["model"].pickled_global == "models.mot.cstrack.Model"
    assert data["epoch"] == -1 and isinstance(data["best_fitness"], pickled.PickledObject)
    state = pickled.pickled_state_dict(data["model"])
    assert set(state) == set(tiny_state) and "scratch" not in state


class _Payload:
    """Pickles as a call to ``function(*args)`` - what a malicious checkpoint does."""

    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


@pytest.mark.parametrize("attack", ["os.system", "builtins.eval", "subprocess.call", "nested"])
def test_a_pickle_that_runs_a_command_is_refused(tmp_path, capsys, attack):
    marker = tmp_path / "pwned"
    command = f"touch {marker}"
    payload = {
        "os.system": _Payload(os.system, command),
        "builtins.eval": _Payload(builtins.eval, f"__import__('os').system({command!r})"),
        "subprocess.call": _Payload(subprocess.call, ["touch", str(marker)]),
        "nested": {"model": {"deep": [1, _Payload(os.system, command)]}},
    }[attack]
    torch.save({"epoch": -1, "model": payload}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match="refused to unpickle the global") as error:
        load_cstrack(tmp_path / "evil.pt")
    assert "evil.pt" in str(error.value)
    assert attack.split(".")[-1] in str(error.value) or "system" in str(error.value)
    assert main(["convert", str(tmp_path / "evil.pt"), str(tmp_path / "out.safetensors")]) != 0
    assert "refused to unpickle" in capsys.readouterr().err
    assert not marker.exists() and not (tmp_path / "out.safetensors").exists()


def test_official_to_safetensors_and_back_through_discmot_convert(tmp_path, tiny_state):
    save_old_trainer_file(tmp_path / "official.pt", tiny_state)
    assert guess_file_kind(tmp_path / "official.pt") == "cstrack"
    assert main(["convert", str(tmp_path / "official.pt"), str(tmp_path / "ours.safetensors")]) == 0
    assert guess_file_kind(tmp_path / "ours.safetensors") == "cstrack"
    assert main(["convert", str(tmp_path / "ours.safetensors"), str(tmp_path / "back.pt")]) == 0
    first, ours, back = (load_cstrack(tmp_path / n) for n in ("official.pt", "ours.safetensors", "back.pt"))
    assert ours.config == first.config and back.config.name == "tiny"
    images = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        reference = first(images)
        for model in (ours, back):
            assert_state_equal(model, first.state_dict(), skip=())
            emb, (decoded, _) = model(images)
            assert torch.equal(emb, reference[0]) and torch.equal(decoded, reference[1][0])
    assert (
        checkpoints.read_torch(tmp_path / "back.pt")["model"]["model.0.conv.conv.weight"].dtype
        == torch.float32
    )


def test_mismatches_are_reported_key_by_key(tmp_path, tiny_state):
    state = dict(tiny_state)
    del state["model.27.node.2.bias"]
    state["model.24.w1"] = torch.zeros(2)
    state["model.99.weight"] = torch.zeros(1)
    torch.save({"model": state}, tmp_path / "broken.pt")
    with pytest.raises(CheckpointError) as error:
        load_cstrack(tmp_path / "broken.pt", "tiny")
    message = str(error.value)
    assert "broken.pt: does not fit this CSTrack model (3 differences)" in message
    assert "missing: model.27.node.2.bias" in message and "unexpected: model.99.weight" in message
    assert "shape of model.24.w1: checkpoint (2,), model (1,)" in message


def test_an_fdta_checkpoint_given_as_cstrack_is_named(tmp_path, capsys):
    from discmot.models.fdta.checkpoint import save_fdta

    fdta = random_official_checkpoint(tmp_path / "fdta.pth", "tiny")
    with pytest.raises(CheckpointError, match="this looks like an FDTA checkpoint"):
        load_cstrack(tmp_path / "fdta.pth")
    save_fdta(tmp_path / "fdta.safetensors", fdta)
    with pytest.raises(CheckpointError, match="a discmot 'fdta' checkpoint, not CSTrack"):
        load_cstrack(tmp_path / "fdta.safetensors")
    # convert still dispatches FDTA files to FDTA, or refuses them as CSTrack when told so
    assert guess_file_kind(tmp_path / "fdta.pth") == "fdta"
    assert (
        main(["convert", str(tmp_path / "fdta.pth"), str(tmp_path / "f.safetensors"), "--preset", "tiny"])
        == 0
    )
    assert (
        main(["convert", str(tmp_path / "fdta.pth"), str(tmp_path / "c.safetensors"), "--model", "cstrack"])
        != 0
    )
    # one line, as track and load_model say it (not the key differences)
    assert "fdta.pth: an FDTA checkpoint, not CSTrack weights" in capsys.readouterr().err


def test_files_that_are_not_checkpoints(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_cstrack(tmp_path / "absent.pt")
    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(CheckpointError, match="text.pt: not a PyTorch checkpoint"):
        load_cstrack(tmp_path / "text.pt")
    torch.save({"model": {"epoch": 3}}, tmp_path / "empty.pt")
    with pytest.raises(CheckpointError, match="no CSTrack weights"):
        load_cstrack(tmp_path / "empty.pt")


def test_training_checkpoints_load_their_network(tmp_path, tiny_state):
    torch.save(
        {
            "format": "discmot-train-checkpoint",
            "model_kind": "cstrack",
            "model_config": {"name": "tiny", "embedding_dim": 64, "width_multiple": 0.125},
            "model": {
                **{f"model.{k}": v for k, v in tiny_state.items()},
                "criterion.classifier.weight": torch.zeros(3),
            },
        },
        tmp_path / "epoch-001.pt",
    )
    with pytest.raises(CheckpointError, match="does not fit this CSTrack model"):
        load_cstrack(tmp_path / "epoch-001.pt")  # depth/anchors differ from the config written
    config = build_cstrack("tiny").config
    data = torch.load(tmp_path / "epoch-001.pt", weights_only=True)
    data["model_config"] = dataclasses.asdict(config)
    torch.save(data, tmp_path / "epoch-002.pt")
    assert guess_file_kind(tmp_path / "epoch-002.pt") == "cstrack"
    loaded = load_cstrack(tmp_path / "epoch-002.pt")
    assert_state_equal(loaded, tiny_state)
    # the anchors are the config's, as every CSTrack loader gives them (the random ones are not kept)
    expected = build_cstrack("tiny").state_dict()
    assert all(torch.equal(v, expected[k]) for k, v in loaded.state_dict().items() if "anchor" in k)
    assert convert(tmp_path / "epoch-002.pt", tmp_path / "final.safetensors").config == config


def test_a_model_no_preset_fits_round_trips_through_the_official_format(tmp_path):
    """A config no preset has (a 32-d embedding) survives .pt and back: the file keeps discmot's config
    beside ``"model"``."""
    from discmot.models.cstrack.checkpoint import save_cstrack
    from discmot.models.cstrack.config import PRESETS
    from discmot.models.cstrack.model import CSTrack

    config = dataclasses.replace(PRESETS["tiny"], name="tiny", embedding_dim=32)
    torch.manual_seed(0)
    model = CSTrack(config).eval()
    assert infer_cstrack_preset(model.state_dict()) is None  # the premise: no preset rebuilds it
    save_cstrack(tmp_path / "custom.pt", model)
    assert main(["convert", str(tmp_path / "custom.pt"), str(tmp_path / "custom.safetensors")]) == 0
    for name in ("custom.pt", "custom.safetensors"):
        loaded = load_cstrack(tmp_path / name)
        assert loaded.config == config, name
        assert_state_equal(loaded, model.state_dict(), skip=())


def test_a_model_object_pickled_inside_data_parallel_loads(tmp_path, tiny_state):
    """A fine-tuned model saved without unwrapping it: ``{"model": DataParallel(<Model>)}``; the wrapper is
    an inert stand-in and its ``module.`` key prefix is removed."""
    path = tmp_path / "wrapped.pt"
    with original_classes() as classes, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wrapped = nn.DataParallel(pickled_model(tiny_state, classes).half())
        torch.save({"epoch": -1, "model": wrapped, "optimizer": None}, path)
    model = load_cstrack(path)
    widened = {k: v.half().float() if v.is_floating_point() else v for k, v in tiny_state.items()}
    assert_state_equal(model, widened)
