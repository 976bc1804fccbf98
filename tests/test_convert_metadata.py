"""`discmot convert` keeps a discmot file's metadata (a trained model's ``train_config`` and
``global_step``) through the official format and back: it dropped them before 2026-11-24."""

from __future__ import annotations

import torch

from discmot.cli import main
from discmot.engine.checkpointing import write_weights
from discmot.io.checkpoints import read_official
from discmot.io.safetensors_format import safetensors_metadata
from discmot.models.cstrack.config import preset as cstrack_preset
from discmot.models.cstrack.model import CSTrack
from discmot.models.cstrack.recipe import load_recipe as load_cstrack_recipe
from discmot.models.fdta.config import preset as fdta_preset
from discmot.models.fdta.model import FDTA
from discmot.models.fdta.recipe import load_recipe


def trained_file(path, kind: str):
    """A trained model's final weights as `discmot train` writes them (train config, step, extras)."""
    torch.manual_seed(0)
    if kind == "fdta":
        recipe = load_recipe("tiny")
        model = FDTA(recipe.model)
    else:
        recipe = load_cstrack_recipe("cstrack_tiny")
        model = CSTrack(cstrack_preset("tiny"))
    write_weights(path, model, kind, model.config, recipe.train, {"note": "kept"}, global_step=7)
    return model


def test_a_round_trip_through_pth_keeps_every_metadata_field(tmp_path):
    for kind, suffix in (("fdta", ".pth"), ("cstrack", ".pt")):
        source, official, back = (
            tmp_path / f"{kind}.safetensors",
            tmp_path / f"{kind}{suffix}",
            tmp_path / f"{kind}-back.safetensors",
        )
        model = trained_file(source, kind)
        assert main(["convert", str(source), str(official)]) == 0
        assert main(["convert", str(official), str(back)]) == 0
        before, after = safetensors_metadata(source), safetensors_metadata(back)
        assert {"train_config", "global_step", "note"} <= set(before)
        assert after == before, kind
        # the .pth is still what the original's loader reads: its "model" entry, the weights bit for bit
        content = torch.load(official, map_location="cpu", weights_only=True)
        assert content["discmot_metadata"]["global_step"] == "7"
        state = read_official(official)
        assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())


def test_a_pth_without_discmot_metadata_converts_as_before(tmp_path):
    """An official file (no ``discmot_metadata``) gives a safetensors file with only the written fields."""
    torch.manual_seed(0)
    model = FDTA(fdta_preset("tiny"))
    torch.save({"model": model.state_dict(), "epoch": 3}, tmp_path / "official.pth")
    assert (
        main(
            ["convert", str(tmp_path / "official.pth"), str(tmp_path / "out.safetensors"), "--preset", "tiny"]
        )
        == 0
    )
    assert set(safetensors_metadata(tmp_path / "out.safetensors")) == {
        "format",
        "kind",
        "discmot_version",
        "config",
    }


def test_a_damaged_discmot_metadata_entry_is_not_carried_and_said(tmp_path, caplog):
    torch.manual_seed(0)
    model = FDTA(fdta_preset("tiny"))
    torch.save({"model": model.state_dict(), "discmot_metadata": ["not", "a", "dict"]}, tmp_path / "x.pth")
    with caplog.at_level("WARNING"):
        assert (
            main(["convert", str(tmp_path / "x.pth"), str(tmp_path / "x.safetensors"), "--preset", "tiny"])
            == 0
        )
    assert "x.pth: its discmot_metadata entry is not a dict of strings; not carried over" in caplog.text
    assert "train_config" not in safetensors_metadata(tmp_path / "x.safetensors")


def test_the_python_convert_functions_keep_the_metadata_as_the_command_line_does(tmp_path):
    """`discmot.models.fdta.checkpoint.convert` and the CSTrack one: the same round trip from Python."""
    from discmot.models.cstrack.checkpoint import convert as convert_cstrack
    from discmot.models.fdta.checkpoint import convert as convert_fdta

    for kind, convert, suffix in (("fdta", convert_fdta, ".pth"), ("cstrack", convert_cstrack, ".pt")):
        source = tmp_path / f"{kind}.safetensors"
        trained_file(source, kind)
        convert(source, tmp_path / f"{kind}{suffix}")
        convert(tmp_path / f"{kind}{suffix}", tmp_path / f"{kind}-back.safetensors")
        assert safetensors_metadata(tmp_path / f"{kind}-back.safetensors") == safetensors_metadata(source), (
            kind
        )


def test_a_carried_key_of_the_writers_own_cannot_replace_it(tmp_path):
    """Metadata handed on with a stale ``discmot_version`` or ``kind`` keeps the values the writer makes."""
    from discmot.io.checkpoint_files import save_model

    torch.manual_seed(0)
    model = FDTA(fdta_preset("tiny"))
    save_model(tmp_path / "m.safetensors", model, "fdta", {"kind": "cstrack", "discmot_version": "0.0.1"})
    written = safetensors_metadata(tmp_path / "m.safetensors")
    assert written["kind"] == "fdta" and written["discmot_version"] != "0.0.1"
