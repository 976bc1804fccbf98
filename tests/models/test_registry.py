"""`discmot.models.registry` / `discmot.load_model`: one loader per model kind, for ``discmot track``,
``discmot analyze`` and library users; the bundled checkpoints load as either kind's own loader loads
them, a checkpoint of the other kind is one line, and the names the command line offers come from here."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

import discmot
from discmot.engine.demo import bundled_weights
from discmot.io.checkpoints import CheckpointError
from discmot.models.cstrack.checkpoint import load_cstrack
from discmot.models.fdta.checkpoint import load_fdta
from discmot.models.registry import DTYPES, MODEL_KINDS, load_model, preset_names

LOADERS = {"fdta": load_fdta, "cstrack": load_cstrack}


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_the_bundled_checkpoints_load_as_their_own_loader_loads_them(kind):
    model = discmot.load_model(kind, bundled_weights(kind))
    expected = LOADERS[kind](bundled_weights(kind)).state_dict()
    state = model.state_dict()
    assert not model.training and list(state) == list(expected)
    assert all(torch.equal(state[key], expected[key]) for key in expected)
    assert all(p.dtype == torch.float32 and p.device.type == "cpu" for p in model.parameters())


def test_device_and_dtype_are_applied():
    model = load_model("cstrack", bundled_weights("cstrack"), device="cpu", dtype="bf16")
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}
    model = load_model("fdta", bundled_weights("fdta"), dtype=torch.float16)
    assert {p.dtype for p in model.parameters()} == {torch.float16}


@pytest.mark.parametrize(
    "kind, other, words",
    [
        ("cstrack", "fdta", "an FDTA checkpoint, not CSTrack weights (track with --model fdta)"),
        ("fdta", "cstrack", "a CSTrack checkpoint, not FDTA weights (track with --model cstrack)"),
    ],
)
def test_a_checkpoint_of_the_other_kind_is_one_line(kind, other, words):
    with pytest.raises(CheckpointError) as error:
        discmot.load_model(kind, bundled_weights(other))
    assert str(error.value) == f"{bundled_weights(other)}: {words}"


def test_bad_arguments_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown model 'yolo': choose fdta or cstrack"):
        load_model("yolo", bundled_weights("fdta"))
    with pytest.raises(FileNotFoundError, match="missing.pth: no such checkpoint"):
        load_model("fdta", tmp_path / "missing.pth")
    with pytest.raises(ValueError, match="unknown dtype 'fp8'"):
        load_model("fdta", bundled_weights("fdta"), dtype="fp8")


def test_the_names_agree_with_the_model_configs():
    from discmot.models.cstrack.config import PRESETS as CSTRACK_PRESETS
    from discmot.models.fdta.config import PRESETS as FDTA_PRESETS

    assert preset_names("fdta") == tuple(FDTA_PRESETS) and preset_names("cstrack") == tuple(CSTRACK_PRESETS)
    assert set(preset_names()) == set(FDTA_PRESETS) | set(CSTRACK_PRESETS)
    assert len(preset_names()) == len(set(preset_names()))
    assert all(isinstance(getattr(torch, name), torch.dtype) for name in DTYPES.values())


def test_importing_the_package_and_the_registry_imports_no_torch():
    code = (
        "import sys, discmot, discmot.models.registry\n"
        "discmot.models.registry.preset_names()\n"
        "assert callable(discmot.load_model) and 'torch' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
