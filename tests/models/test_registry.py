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
    assert discmot.bundled_weights(kind) == bundled_weights(kind)
    model = discmot.load_model(kind, discmot.bundled_weights(kind))
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
        (
            "cstrack",
            "fdta",
            'an FDTA checkpoint, not CSTrack weights (give --model fdta; in Python load_model("fdta", ...))',
        ),
        (
            "fdta",
            "cstrack",
            "a CSTrack checkpoint, not FDTA weights "
            '(give --model cstrack; in Python load_model("cstrack", ...))',
        ),
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
        "assert callable(discmot.track) and 'torch' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_public_names_are_the_librarys_functions_with_their_signatures():
    import inspect

    from discmot.engine import track_verb
    from discmot.eval import runner

    assert discmot.track is track_verb.track and discmot.evaluate is runner.evaluate
    assert discmot.load_model is load_model and "weights" in inspect.signature(discmot.load_model).parameters
    assert "save_txt" in inspect.signature(discmot.track).parameters
    assert set(discmot.__all__) <= set(dir(discmot))
    with pytest.raises(AttributeError, match="no attribute 'trak'"):
        discmot.trak  # noqa: B018


def test_files_that_are_no_checkpoint_folders_and_devices_are_named(tmp_path, caplog):
    torch.save({"a": torch.zeros(2)}, tmp_path / "other.pt")
    for kind, name in (("cstrack", "a CSTrack"), ("fdta", "an FDTA")):
        with pytest.raises(CheckpointError, match=f"other.pt: not {name} checkpoint: its tensors are"):
            load_model(kind, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="a folder, not a checkpoint file"):
        load_model("fdta", tmp_path)
    with pytest.raises(ValueError, match="device 'gpu': not a device name"):
        load_model("fdta", bundled_weights("fdta"), device="gpu")
    with caplog.at_level("WARNING"):
        load_model("cstrack", bundled_weights("cstrack"), preset="cstrack")
    assert "carries its architecture: preset 'cstrack' is not used" in caplog.text


def test_dtype_names_and_trackers_take_either_form():
    from discmot.models.registry import torch_dtype
    from discmot.trackers.cstrack import CSTrackTracker
    from discmot.trackers.fdta import FDTATracker

    assert torch_dtype("bf16") is torch_dtype("bfloat16") is torch_dtype(torch.bfloat16) is torch.bfloat16
    with pytest.raises(ValueError, match="unknown dtype torch.float64"):
        torch_dtype(torch.float64)
    fdta = load_model("fdta", bundled_weights("fdta"), dtype="bf16")
    assert FDTATracker(fdta, dtype="bfloat16").dtype is torch.bfloat16
    with pytest.raises(TypeError, match="CSTrackTracker needs a CSTrack model"):
        CSTrackTracker(fdta)
    with pytest.raises(TypeError, match="FDTATracker needs an FDTA model"):
        FDTATracker(load_model("cstrack", bundled_weights("cstrack")))


@pytest.mark.parametrize("dtype, warned", [("fp16", True), ("bf16", False), ("fp32", False)])
def test_fp16_on_a_cpu_is_said_to_be_slow(dtype, warned, caplog):
    with caplog.at_level("WARNING", logger="discmot"):
        model = load_model("cstrack", bundled_weights("cstrack"), device="cpu", dtype=dtype)
    assert next(model.parameters()).dtype == discmot.models.registry.torch_dtype(dtype)  # still loaded
    assert ("fp16 on a CPU is 4-60 times slower" in caplog.text) == warned


def test_a_discmot_written_official_file_of_the_other_kind_is_one_line(tmp_path, caplog):
    # the official-format files discmot convert writes carry their config: given as the other model,
    # that config used to fail to parse ("unknown FDTA config keys: anchors, ...")
    from discmot.models.cstrack.checkpoint import save_cstrack
    from discmot.models.fdta.checkpoint import save_fdta

    save_cstrack(tmp_path / "c.pt", load_model("cstrack", bundled_weights("cstrack")))
    save_fdta(tmp_path / "f.pth", load_model("fdta", bundled_weights("fdta")))
    with pytest.raises(CheckpointError, match=r"c\.pt: a CSTrack checkpoint, not FDTA weights"):
        load_model("fdta", tmp_path / "c.pt")
    with caplog.at_level("INFO", logger="discmot"):
        with pytest.raises(CheckpointError, match=r"f\.pth: an FDTA checkpoint, not CSTrack weights"):
            load_model("cstrack", tmp_path / "f.pth")
    assert "2020 release" not in caplog.text  # no CSTrack-only remark about a file that is not CSTrack's


def test_a_finished_run_folder_gives_its_final_weights_and_an_unfinished_one_names_its_checkpoint(
    tmp_path, caplog
):
    run = tmp_path / "runs" / "mine"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "epoch-000.pt").write_bytes(b"")  # only its name is read here
    (run / "checkpoints" / "epoch-001.pt").write_bytes(b"")
    with pytest.raises(ValueError, match=r"training has not finished.*its latest is .*epoch-001\.pt"):
        load_model("cstrack", run)
    (run / "model.safetensors").write_bytes(bundled_weights("cstrack").read_bytes())
    with caplog.at_level("INFO"):
        from_folder = load_model("cstrack", run)
    assert "loading its final weights" in caplog.text
    from_file = load_model("cstrack", bundled_weights("cstrack"))
    for (name, a), (_, b) in zip(
        from_folder.state_dict().items(), from_file.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name
