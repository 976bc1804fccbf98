"""Edge cases of checkpoint input/output: the allow-listed unpickler (`discmot.io.pickled`), discmot's
safetensors format (`discmot.io.safetensors_format`) and the atomic writes under them (`discmot.io.atomic`).

Expected behaviour comes from the modules' docstrings, docs/cstrack.md ("The old trainer's pickled fp16
model": tensor rebuilding, plain containers and model classes, nothing else) and the safetensors format
(8-byte little-endian header length, a JSON header, then the tensor bytes; the header may be padded with
spaces), written out by hand below.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import stat

import numpy as np
import pytest
import torch
from torch import nn

from discmot.io import atomic, pickled
from discmot.io.checkpoints import CheckpointError
from discmot.io.pickled import PickledObject, pickled_state_dict, read_pickled_model, read_torch_file
from discmot.io.safetensors_format import (
    canonical_safetensors,
    read_safetensors,
    safetensors_metadata,
    stored_config,
    write_safetensors,
)
from helpers import importable_classes, os_error_past_a_file_size_limit, process_umask, safetensors_file_bytes


def toy_classes():
    """``models.toy.Block`` and ``models.toy.Net``, importable only while pickling (as the original code)."""
    return importable_classes({"models": (), "models.toy": ("Block", "Net")})


class _Call:
    """Pickles as ``function(*args)``: the way a malicious checkpoint names a global."""

    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


# --------------------------------------------------------------------------------------------------
# discmot.io.pickled


def test_objects_of_one_pickled_class_share_one_stand_in_class_named_after_it(tmp_path):
    """`_stand_in`: one `PickledObject` subclass per pickled class name, whose name says what it replaces
    (``models.toy.Block`` -> a class called ``Block``); two objects of the same class share it, in one
    file and across reads."""
    with toy_classes() as classes:
        net = classes["Net"]()
        net.a, net.b = classes["Block"](), classes["Block"]()
        torch.save({"model": net}, tmp_path / "toy.pt")
    model = read_pickled_model(tmp_path / "toy.pt")["model"]
    a, b = model.pickled_state["_modules"]["a"], model.pickled_state["_modules"]["b"]
    assert type(a) is type(b)
    assert type(a).__name__ == "Block" and type(a).pickled_global == "models.toy.Block"
    assert type(model).__name__ == "Net" and isinstance(model, PickledObject)
    again = read_pickled_model(tmp_path / "toy.pt")["model"]
    assert type(again) is type(model) and type(again.pickled_state["_modules"]["a"]) is type(a)


def test_a_state_given_as_dict_and_slots_keeps_only_the_dict():
    """``__setstate__``: a ``(dict, slots)`` pair (classes with ``__slots__``) keeps the dict, ``{}`` when
    there is none; any other state, a two-entry dict included, is kept as given."""
    obj = PickledObject()
    obj.__setstate__(({"weight": 1}, {"slot": 2}))
    assert obj.pickled_state == {"weight": 1}
    obj.__setstate__((None, {"slot": 2}))
    assert obj.pickled_state == {}
    obj.__setstate__({"a": 1, "b": 2})
    assert obj.pickled_state == {"a": 1, "b": 2}


@pytest.mark.parametrize("function", [np.load, np.save, np.fromfile])
def test_numpy_functions_beside_the_array_reconstruction_are_refused(tmp_path, function):
    """Only numpy's array reconstruction (``_reconstruct``, ``ndarray``, ``dtype``, ``scalar``) becomes a
    stand-in; any other numpy global is refused like every global outside the allow-list."""
    torch.save({"model": {}, "x": _Call(function, "x.npy")}, tmp_path / "np.pt")
    with pytest.raises(
        CheckpointError, match=rf"refused to unpickle the global 'numpy\.{function.__name__}'"
    ):
        read_pickled_model(tmp_path / "np.pt")


def test_a_training_scripts_args_namespace_is_an_inert_stand_in(tmp_path):
    """``argparse.Namespace`` (Deformable-DETR's and MOTIP's ``args``) is a plain-value stand-in: the file
    reads, the tensors are real, the namespace only records its state."""
    torch.save({"model": {"w": torch.ones(2)}, "args": argparse.Namespace(lr=2e-4)}, tmp_path / "a.pth")
    data = read_torch_file(tmp_path / "a.pth")
    assert torch.equal(data["model"]["w"], torch.ones(2))
    assert data["args"].pickled_global == "argparse.Namespace"
    assert data["args"].pickled_state == {"lr": 2e-4}


def test_a_missing_file_is_a_checkpoint_error_naming_it(tmp_path):
    with pytest.raises(CheckpointError, match=r"nothing\.pt: checkpoint file not found"):
        read_pickled_model(tmp_path / "nothing.pt")


def test_a_file_that_is_no_checkpoint_gives_the_first_line_of_the_reason(tmp_path):
    (tmp_path / "notes.pt").write_bytes(b"\x80\x02}q\x00.")  # a lone protocol-2 pickle, no torch magic
    with pytest.raises(
        CheckpointError, match=r"notes\.pt: not a PyTorch checkpoint that can be read \("
    ) as error:
        read_pickled_model(tmp_path / "notes.pt")
    assert "\n" not in str(error.value)


def test_none_parameters_and_none_submodules_are_no_state_dict_keys(tmp_path):
    """``nn.Module`` keeps ``bias=False`` as a ``None`` parameter and allows ``None`` submodules; like
    ``state_dict()`` the stand-ins' state dict leaves both out."""
    with toy_classes() as classes:
        net = classes["Net"]()
        net.conv = nn.Conv2d(1, 2, 1, bias=False)
        net.register_module("gone", None)
        net.register_buffer("nothing", None)
        torch.save({"model": net}, tmp_path / "toy.pt")
        expected = set(net.state_dict())
    state = pickled_state_dict(read_pickled_model(tmp_path / "toy.pt")["model"])
    assert set(state) == expected == {"conv.weight"}


def test_a_stand_in_whose_state_is_no_mapping_has_no_keys():
    obj = pickled._stand_in("models.toy.Odd")()
    obj.__setstate__([1, 2, 3])
    assert pickled_state_dict(obj) == {}


# --------------------------------------------------------------------------------------------------
# discmot.io.safetensors_format


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6, 7, 8, 9])
def test_the_canonical_header_is_sorted_compact_json_padded_with_spaces_to_8_bytes(n):
    """`canonical_safetensors`: keys sorted, no spaces, padded with spaces to the next multiple of 8 (fewer
    than 8 spaces); the tensor bytes stay as they were."""
    data = bytes(range(4 * n))
    header = {"z": {"dtype": "F32", "shape": [n], "data_offsets": [0, 4 * n]}, "__metadata__": {"b": "x" * n}}
    canonical = canonical_safetensors(safetensors_file_bytes(header, data, pad=3))
    compact = (
        '{"__metadata__":{"b":"' + "x" * n + '"},"z":{"data_offsets":[0,' + str(4 * n) + '],"dtype":"F32",'
        '"shape":[' + str(n) + "]}}"
    ).encode()
    length = int.from_bytes(canonical[:8], "little")
    assert length % 8 == 0 and length - 8 < len(compact) <= length
    assert canonical[8 : 8 + length] == compact + b" " * (length - len(compact))
    assert canonical[8 + length :] == data


def test_reading_a_missing_file_is_a_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError, match=r"gone\.safetensors: checkpoint file not found"):
        read_safetensors(tmp_path / "gone.safetensors")
    assert safetensors_metadata(tmp_path / "gone.safetensors") == {}


def test_a_safetensors_file_without_discmot_metadata_is_refused(tmp_path):
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, tmp_path / "plain.safetensors", metadata={"format": "pt"})
    with pytest.raises(CheckpointError, match="without discmot metadata"):
        read_safetensors(tmp_path / "plain.safetensors")
    assert safetensors_metadata(tmp_path / "plain.safetensors") == {"format": "pt"}


def test_safetensors_metadata_of_a_file_that_is_no_safetensors_is_empty(tmp_path):
    (tmp_path / "x.pth").write_bytes(b"PK\x03\x04" + bytes(40))
    assert safetensors_metadata(tmp_path / "x.pth") == {}


@pytest.mark.parametrize("config, expected", [(None, {}), ({"depth": 2}, {"depth": 2})])
def test_the_written_config_is_json_and_empty_for_none(tmp_path, config, expected):
    """`write_safetensors`: ``config`` as JSON, ``{}`` for None; the extra metadata is carried."""
    write_safetensors(
        tmp_path / "m.safetensors", nn.Linear(2, 1), config, kind="x", extra_metadata={"a": "b"}
    )
    tensors, metadata = read_safetensors(tmp_path / "m.safetensors")
    assert json.loads(metadata["config"]) == expected
    assert metadata["a"] == "b" and metadata["kind"] == "x" and metadata["format"] == "discmot"
    assert set(tensors) == {"weight", "bias"}


def test_tensors_sharing_storage_are_written_once_under_the_first_key(tmp_path):
    """safetensors refuses aliases: a tied weight is stored once, under its first key."""
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    model[1].weight = model[0].weight
    write_safetensors(tmp_path / "tied.safetensors", model, None)
    tensors, _ = read_safetensors(tmp_path / "tied.safetensors")
    assert set(tensors) == {"0.weight", "0.bias", "1.bias"}
    assert torch.equal(tensors["0.weight"], model[0].weight.detach())


@pytest.mark.parametrize("text", [None, "[1, 2]", '"config"', "3"])
def test_a_stored_config_that_is_no_json_object_is_refused(text):
    with pytest.raises(CheckpointError, match=r"m\.safetensors: no model config stored in it"):
        stored_config(text, "m.safetensors")


# --------------------------------------------------------------------------------------------------
# discmot.io.atomic


def test_atomic_open_refuses_modes_other_than_w_and_wb(tmp_path):
    with pytest.raises(ValueError, match="modes 'w' and 'wb'"), atomic.atomic_open(tmp_path / "x", "a"):
        pass
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_creates_missing_parent_folders_and_gives_the_usual_mode(tmp_path):
    """`atomic_open`: parent folders are created; the file gets the mode of a plain ``open`` (0o666 less
    the umask), not ``mkstemp``'s 0o600."""
    path = tmp_path / "a" / "b" / "out.txt"
    atomic.atomic_write_text(path, "x")
    atomic.atomic_write_bytes(path.with_name("again.bin"), b"y")  # into the folder now existing
    assert path.read_text() == "x" and path.with_name("again.bin").read_bytes() == b"y"
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~process_umask()
    assert sorted(p.name for p in path.parent.iterdir()) == ["again.bin", "out.txt"]


@pytest.mark.parametrize("error", [RuntimeError("interrupted"), OSError("no errno")])
def test_a_failed_rename_without_an_errno_is_raised_as_it_is(tmp_path, monkeypatch, error):
    """`_replace`: only an `OSError` with an errno is rewritten to name the target; anything else (an
    interruption, an error with no errno) comes out unchanged, and the temporary file is removed."""

    def replace(source, destination):
        raise error

    monkeypatch.setattr(atomic.os, "replace", replace)
    with pytest.raises(type(error)) as raised:
        atomic.atomic_write_text(tmp_path / "out.txt", "x")
    assert raised.value is error
    assert list(tmp_path.iterdir()) == []


def test_file_in_the_way_of_no_folder_is_none():
    assert atomic.file_in_the_way(None) is None


@pytest.mark.parametrize(
    "text, plain",
    [("seq-01", True), (".hidden", True), ("a..b", True), ("", False), (".", False), ("..", False)]
    + [("a/b", False), ("a\\b", False), ("/", False)],
)
def test_a_plain_folder_name_stays_inside_its_folder(text, plain):
    """`is_plain_folder_name`: not empty, not ``.`` or ``..``, no ``/`` or ``\\``."""
    assert atomic.is_plain_folder_name(text) is plain


def test_link_or_copy_links_into_a_new_folder_and_replaces_an_other_file(tmp_path):
    """`link_or_copy`: ``target`` becomes a hard link to ``source`` (parent folders created), replacing a
    different file there; a second call on the same pair keeps it."""
    source = tmp_path / "source.txt"
    source.write_text("new")
    target = tmp_path / "out" / "deep" / "target.txt"
    atomic.link_or_copy(source, target)
    assert os.path.samefile(source, target)
    other = tmp_path / "out" / "other.txt"
    other.write_text("old")
    atomic.link_or_copy(source, other)
    assert os.path.samefile(source, other) and other.read_text() == "new"
    atomic.link_or_copy(source, other)
    assert os.path.samefile(source, other)


def test_link_or_copy_onto_the_source_itself_keeps_it(tmp_path):
    source = tmp_path / "source.txt"
    source.write_text("keep me")
    atomic.link_or_copy(source, source)
    assert source.read_text() == "keep me"


def test_a_full_disk_in_a_set_of_texts_names_the_file_and_keeps_the_old_ones(tmp_path):
    """`atomic_write_texts`: a write failing as on a full disk (here a file size limit: EFBIG) names the
    file asked for, not nothing, and leaves the old files as they were, with no temporary file."""
    old = {tmp_path / "summary.txt": "old summary", tmp_path / "details.txt": "old details"}
    for path, text in old.items():
        path.write_text(text)
    code = (
        "from discmot.io.atomic import atomic_write_texts\n"
        "atomic_write_texts({sys.argv[1]: 'new', sys.argv[2]: 'x' * 100_000})"  # fails in the write
    )
    paths = list(old)
    raised = os_error_past_a_file_size_limit(code, 100, *paths, cwd=tmp_path)
    assert raised == (str(paths[1]), errno.EFBIG)
    assert {path: path.read_text() for path in old} == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["details.txt", "summary.txt"]
