"""A user with downloaded or self-trained checkpoints: the ways such files are wrapped, damaged or
trained with another configuration, through `discmot.load_model` and ``discmot convert``.

Every file is written here the way its trainer writes it (tiny presets, random values), so the tests
need no released weights and run in about a second each.
"""

from __future__ import annotations

import struct
import zipfile

import pytest
import torch

import discmot
from discmot.cli import main
from discmot.io.checkpoints import CheckpointError
from discmot.models.cstrack.model import build_cstrack
from discmot.models.fdta.checkpoint import load_fdta
from discmot.models.fdta.model import build_fdta
from helpers import unwritable_folder


def random_state(model: torch.nn.Module, seed: int = 0) -> dict[str, torch.Tensor]:
    """``model``'s state dict with random values (variances positive; shared tensors stay shared)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for key, tensor in model.state_dict().items():
            if key.endswith("running_var"):
                tensor.copy_(torch.rand(tensor.shape, generator=generator) + 0.5)
            elif tensor.is_floating_point():
                tensor.copy_(torch.randn(tensor.shape, generator=generator) * 0.05)
    return {key: value.clone() for key, value in model.state_dict().items()}


@pytest.fixture(scope="module")
def states():
    return {"fdta": random_state(build_fdta("tiny")), "cstrack": random_state(build_cstrack("tiny"), seed=1)}


def optimizer_state() -> dict:
    """What ``optimizer.state_dict()`` holds after a step (MOTIP and YOLOv5 trainers save it)."""
    weight = torch.nn.Parameter(torch.zeros(3))
    optimizer = torch.optim.AdamW([weight])
    weight.grad = torch.ones(3)
    optimizer.step()
    return optimizer.state_dict()


WRAPPINGS = {
    "state_dict entry": lambda state: {"state_dict": state},
    "DDP prefix": lambda state: {"model": {f"module.{k}": v for k, v in state.items()}},
    "DDP prefix under state_dict": lambda state: {"state_dict": {f"module.{k}": v for k, v in state.items()}},
    "optimizer beside": lambda state: {"model": state, "optimizer": optimizer_state(), "epoch": 9},
    "fp16": lambda state: {"model": {k: v.half() if v.is_floating_point() else v for k, v in state.items()}},
}


@pytest.mark.parametrize("kind", ["fdta", "cstrack"])
@pytest.mark.parametrize("wrapping", list(WRAPPINGS))
def test_wrapped_checkpoints_load_and_convert_to_the_same_tensors(tmp_path, states, kind, wrapping):
    content = WRAPPINGS[wrapping](states[kind])
    source = tmp_path / "wrapped ckpt ✓.pth"  # a name with a space and non-ASCII characters
    torch.save(content, source)
    # what the file holds, widened to fp32 as the loaders do (fp16 -> fp32 is exact)
    expected = {k: v.float() if v.is_floating_point() else v for k, v in states[kind].items()}
    if wrapping == "fp16":
        expected = {k: v.half().float() if v.is_floating_point() else v for k, v in expected.items()}
    model = discmot.load_model(kind, source, preset="tiny")
    target = tmp_path / "out ü" / "converted.safetensors"
    assert main(["convert", "-q", str(source), str(target), "--preset", "tiny"]) == 0
    converted = discmot.load_model(kind, target)
    for loaded in (model.state_dict(), converted.state_dict()):
        assert loaded.keys() == expected.keys()
        for key, value in expected.items():
            if "anchor" not in key:  # CSTrack's anchors come from the config, as in the original loader
                assert torch.equal(loaded[key], value), key


def test_a_detr_only_pretrain_given_as_fdta_weights_says_how_to_use_it(tmp_path, states):
    """MOTIP's r50_deformable_detr_*.pth: detector keys without the ``detr.`` prefix, a 91-class head."""
    detector = {
        key.removeprefix("detr."): value
        for key, value in states["fdta"].items()
        if key.startswith("detr.") and not key.startswith("detr.depth_predictor.")
    }
    for key in [k for k in detector if k.startswith("class_embed.")]:
        detector[key] = torch.zeros(91, *detector[key].shape[1:])
    path = tmp_path / "r50_deformable_detr_coco.pth"
    torch.save({"model": detector}, path)
    with pytest.raises(
        CheckpointError, match=r"pre-train .*not FDTA weights: .*discmot train --detr-pretrain"
    ):
        discmot.load_model("fdta", path, preset="tiny")
    with pytest.raises(
        CheckpointError,
        match=r"an FDTA checkpoint, not CSTrack weights "
        r'\(give --model fdta; in Python load_model\("fdta", \.\.\.\)\)',
    ):
        discmot.load_model("cstrack", path)


def resized(state: dict[str, torch.Tensor], rows: dict[str, int], cols: dict[str, int] | None = None):
    """``state`` with the first (``rows``) or second (``cols``) dimension of the named keys changed."""
    changed = dict(state)
    for key, size in rows.items():
        changed[key] = torch.zeros(size, *state[key].shape[1:])
    for key, size in (cols or {}).items():
        changed[key] = torch.zeros(state[key].shape[0], size, *state[key].shape[2:])
    return changed


def test_another_id_vocabulary_or_class_count_is_named_with_the_key_and_both_shapes(tmp_path, states):
    state = states["fdta"]
    vocabulary = state["id_decoder.word_to_embed.weight"].shape[1]  # the vocabulary + the newborn token
    words = {f"id_decoder.embed_to_word_layers.{i}.weight": vocabulary + 10 for i in range(2)}
    bigger = resized(state, words, {"id_decoder.word_to_embed.weight": vocabulary + 10})
    torch.save({"model": bigger}, tmp_path / "vocabulary.pth")
    with pytest.raises(CheckpointError) as error:
        discmot.load_model("fdta", tmp_path / "vocabulary.pth", preset="tiny")
    dim = state["id_decoder.word_to_embed.weight"].shape[0]
    assert (
        f"another configuration than the tiny preset: id_decoder.num_id_vocabulary {vocabulary + 9} in the "
        f"file (id_decoder.word_to_embed.weight ({dim}, {vocabulary + 10})), {vocabulary - 1} in the model "
        f"(({dim}, {vocabulary}))"
    ) in str(error.value)

    heads = [k for k in states["cstrack"] if k.startswith("model.28.m.")]
    two_classes = resized(states["cstrack"], {k: 3 * (2 + 5) for k in heads})
    torch.save({"model": two_classes}, tmp_path / "classes.pt")
    with pytest.raises(CheckpointError) as error:
        discmot.load_model("cstrack", tmp_path / "classes.pt", preset="tiny")
    assert "num_classes 2 in the file (model.28.m.0.weight (21," in str(error.value)
    assert "1 in the model ((18," in str(error.value)


def test_a_cstrack_file_of_another_preset_names_that_preset(tmp_path, states):
    path = tmp_path / "tiny.pt"
    torch.save({"model": states["cstrack"]}, path)
    with pytest.raises(
        CheckpointError, match=r"\(this looks like a CSTrack tiny checkpoint; use that preset\)"
    ):
        discmot.load_model("cstrack", path, preset="cstrack_s")


def test_a_plain_fdta_file_of_the_tiny_preset_names_that_preset(tmp_path, states):
    """The shapes of spec §7.3 tell only the papers' presets apart: a plain tiny state dict loaded
    without --preset was said to fit "no discmot preset", though --preset tiny loads it. Now the one
    preset whose keys and shapes it has is used; another preset given names the right one."""
    path = tmp_path / "tiny.pth"
    torch.save({"model": states["fdta"]}, path)
    assert discmot.load_model("fdta", path).config.name == "tiny"
    with pytest.raises(
        CheckpointError, match=r"looks like an FDTA tiny checkpoint; use that preset, --preset tiny"
    ):
        discmot.load_model("fdta", path, preset="dancetrack")
    assert discmot.load_model("fdta", path, preset="tiny").config.name == "tiny"


def first_tensor_offset(path) -> int:
    """Where the bytes of the archive's first tensor (``data/0``) start in a ``torch.save`` file."""
    with zipfile.ZipFile(path) as archive:
        info = next(i for i in archive.infolist() if i.filename.endswith("/data/0"))
    with open(path, "rb") as file:
        file.seek(info.header_offset + 26)
        name_length, extra_length = struct.unpack("<HH", file.read(4))
    return info.header_offset + 30 + name_length + extra_length


def test_damaged_empty_cut_and_folder_files_are_one_line_errors_naming_them(tmp_path, states):
    good = tmp_path / "good.pth"
    torch.save({"model": states["fdta"]}, good)
    raw = bytearray(good.read_bytes())
    offset = first_tensor_offset(good)
    raw[offset] ^= 0x01  # the lowest mantissa bit of one float: finite, so only the checksum tells
    files = {
        "damaged.pth": (bytes(raw), r"\(damaged: .*data/0 does not match its stored checksum"),
        "cut.pth": (bytes(raw[: len(raw) // 2]), r"\(incomplete: .*download it again\)"),
        "empty.pth": (b"", r"\(the file is empty\)"),
    }
    for name, (data, reason) in files.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(
            CheckpointError, match=rf"/{name}: not a PyTorch checkpoint that loads safely {reason}"
        ):
            load_fdta(tmp_path / name, "tiny")
        assert main(["convert", str(tmp_path / name), str(tmp_path / "out.safetensors")]) == 2
    (tmp_path / "folder.pth").mkdir()
    with pytest.raises(CheckpointError, match=r"folder.pth: a folder, not a checkpoint file"):
        load_fdta(tmp_path / "folder.pth")
    assert not (tmp_path / "out.safetensors").exists()


def test_convert_into_a_folder_it_cannot_write_is_refused_before_loading(tmp_path, capsys):
    folder = unwritable_folder(tmp_path)
    missing = tmp_path / "no such.pth"  # not even read: the target is checked first
    assert main(["convert", str(missing), str(folder / "sub" / "x.safetensors")]) == 2
    reasons = ("permission denied", "read-only file system")
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error in [f"discmot: error: {folder / 'sub'}: {reason}" for reason in reasons], error


def test_convert_help_says_what_it_accepts(capsys):
    with pytest.raises(SystemExit):
        main(["convert", "--help"])
    text = capsys.readouterr().out
    for accepted in (
        "{'state_dict': ...}",
        "'module.'",
        "pickled fp16 model",
        "--detr-pretrain",
        "--overwrite",
    ):
        assert accepted in text, accepted


def test_the_kind_of_a_discmot_safetensors_file_is_read_from_its_header_alone(tmp_path):
    """`guess_file_kind` (the demo's and convert's check before loading) read every tensor to learn
    the kind its header names: a file cut after its header is told apart too."""
    from discmot.engine.demo import bundled_weights
    from discmot.io.checkpoint_files import guess_file_kind

    for kind in ("fdta", "cstrack"):
        raw = bundled_weights(kind).read_bytes()
        header_end = 8 + int.from_bytes(raw[:8], "little")
        cut = tmp_path / f"{kind}.safetensors"
        cut.write_bytes(raw[: header_end + 16])
        assert guess_file_kind(cut) == kind
        with pytest.raises(CheckpointError, match=f"{cut}: not a safetensors file"):
            discmot.load_model(kind, cut)
