"""Edge cases of the checkpoint readers beside the models: `discmot.io.checkpoints` (safe reading, the
checks before ``torch.load``, strict loading), `discmot.io.checkpoint_kinds` (what a state dict is),
`discmot.io.checkpoint_files` (a file's kind, carried metadata), `discmot.io.training_checkpoints` and
`discmot.io.detr_pretrain`.

Expected values come from the modules' docstrings and from the spec: fdta.md §7.1 (containers, DETR-only
files detected by ``bbox_embed.0.layers.0.weight``, the COCO head sliced to row 1 = person), §7.3 (the
config-dependent shapes: depth bins 151 / 151 / 121 and the ID decoder's window 30 / 60 / 20 for
DanceTrack / SportsMOT / BFT, shared tensors written under several names), cstrack.md §9 (``model.<i>.``
keys, ``cv`` blocks, the REN layers at index 24). The safetensors header (8-byte little-endian length, then
a JSON object) and the zip archive (``PK\\x03\\x04`` magic, CRC-32 per member) are written out by hand.
"""

from __future__ import annotations

import dataclasses
import json
import zipfile

import pytest
import torch
from torch import nn

from discmot.io import checkpoint_kinds, checkpoints, detr_pretrain, training_checkpoints
from discmot.io.checkpoint_files import carried_metadata, guess_file_kind, save_model
from discmot.io.checkpoints import CheckpointError, UnreadableFileError
from discmot.io.safetensors_format import read_safetensors
from helpers import importable_classes, safetensors_file_bytes


class Shared(nn.Module):
    """A box head reached under three names (as ``detr.bbox_embed`` and
    ``detr.transformer.decoder.bbox_embed``), plus an integer buffer."""

    def __init__(self):
        super().__init__()
        self.register_buffer("steps", torch.zeros(2, dtype=torch.long))
        self.head = nn.Linear(2, 3)
        self.decoder = nn.Module()
        self.decoder.head = self.head
        self.extra = nn.Module()
        self.extra.head = self.head


def shared_state(**overrides):
    """A full state dict for `Shared` (every alias given, equal values) with ``overrides`` applied."""
    weight, bias = torch.arange(6.0).reshape(3, 2), torch.tensor([1.0, 2.0, 3.0])
    state = {"steps": torch.tensor([4, 5])}
    for prefix in ("head", "decoder.head", "extra.head"):
        state[f"{prefix}.weight"], state[f"{prefix}.bias"] = weight.clone(), bias.clone()
    state.update(overrides)
    return state


def safetensors_head(header_length: int, rest: bytes = b"{}") -> bytes:
    """What a safetensors file starts with: its header's length (8 bytes, little-endian), then the header."""
    return header_length.to_bytes(8, "little") + rest


# --------------------------------------------------------------------------------------------------
# checkpoints.text_start


def test_the_text_start_is_the_first_non_blank_line_cut_to_40_characters(tmp_path):
    """`text_start`: the first line of the stripped text, at most 40 characters."""
    path = tmp_path / "notes.pth"
    path.write_text("\n\n   first line\nsecond line\n")
    assert checkpoints.text_start(path) == "first line"
    path.write_text("x" * 41 + "\nmore")
    assert checkpoints.text_start(path) == "x" * 40
    path.write_text("a\tb\r\nc")  # tabs and carriage returns are whitespace, still text
    assert checkpoints.text_start(path) == "a\tb"
    path.write_text(" \n \t\n")
    assert checkpoints.text_start(path) is None


def test_control_characters_binary_bytes_and_empty_files_are_no_text(tmp_path):
    """`text_start`: a control character other than whitespace, a byte that is no UTF-8 before the last
    three of the block, an empty file or a missing one: None."""
    path = tmp_path / "x.pth"
    path.write_bytes(b"abc\x00def")
    assert checkpoints.text_start(path) is None
    path.write_bytes(b"ab\xffcde")  # invalid byte at 2; the block has 6 bytes: 2 < 6 - 3
    assert checkpoints.text_start(path) is None
    path.write_bytes(b"")
    assert checkpoints.text_start(path) is None
    assert checkpoints.text_start(tmp_path / "missing.pth") is None


def test_a_character_cut_by_the_end_of_the_block_is_still_text(tmp_path):
    """`text_start`: the block is ``size`` (256) bytes; a UTF-8 character cut at its end (a 4-byte one
    after 3 bytes: the error starts 3 bytes before the end) still counts as text; byte 257 is not read."""
    path = tmp_path / "x.pth"
    emoji = "\N{GRINNING FACE}".encode()  # 4 bytes
    assert len(emoji) == 4
    path.write_bytes(b"a" * 253 + emoji)  # bytes 253..255 of the block are the first three of the emoji
    assert checkpoints.text_start(path) == "a" * 40
    path.write_bytes(b"b" * 256 + b"\x00")  # the NUL is byte 257: outside the block
    assert checkpoints.text_start(path) == "b" * 40


# --------------------------------------------------------------------------------------------------
# checkpoints.looks_like_safetensors and check_readable_file


@pytest.mark.parametrize(
    ("length", "expected"),
    [(1, False), (2, True), (2**31, True), (2**32 - 1, True), (2**32, False)],
)
def test_a_safetensors_header_length_is_at_least_2_and_below_2_to_the_32(tmp_path, length, expected):
    """`looks_like_safetensors`: 8 little-endian bytes with ``2 <= length < 2**32``, then ``{``."""
    path = tmp_path / "w.bin"
    path.write_bytes(safetensors_head(length, b'{"a": 1}'))
    assert checkpoints.looks_like_safetensors(path) is expected


def test_safetensors_needs_nine_bytes_and_a_brace_ninth(tmp_path):
    """`looks_like_safetensors`: a 9-byte file is enough; 8 bytes, another ninth byte, a folder or a
    missing file are not safetensors."""
    path = tmp_path / "w.bin"
    path.write_bytes(safetensors_head(2, b"{"))
    assert checkpoints.looks_like_safetensors(path)
    path.write_bytes(safetensors_head(2, b""))
    assert not checkpoints.looks_like_safetensors(path)
    path.write_bytes(safetensors_head(2, b"[]"))
    assert not checkpoints.looks_like_safetensors(path)
    assert checkpoints.looks_like_safetensors(tmp_path) is False
    assert checkpoints.looks_like_safetensors(tmp_path / "missing") is False


def test_readable_file_checks_name_each_kind_of_unreadable_file(tmp_path):
    """`check_readable_file`: a folder, a missing file, an empty file, a safetensors file under a PyTorch
    name: each an `UnreadableFileError` with its own reason; a one-byte file and a safetensors file named
    ``.safetensors`` pass (other readers judge them)."""
    cases = {
        tmp_path: "a folder, not a checkpoint file",
        tmp_path / "missing.pth": "checkpoint file not found",
        tmp_path / "empty.pth": "(the file is empty)",
        tmp_path / "weights.pth": "a safetensors file, not a PyTorch one: name it .safetensors",
    }
    (tmp_path / "empty.pth").write_bytes(b"")
    (tmp_path / "weights.pth").write_bytes(safetensors_head(2, b"{}"))
    for path, reason in cases.items():
        with pytest.raises(UnreadableFileError) as error:
            checkpoints.check_readable_file(path)
        assert reason in str(error.value) and str(path) in str(error.value)
    (tmp_path / "weights.SafeTensors").write_bytes(safetensors_head(2, b"{}"))
    checkpoints.check_readable_file(tmp_path / "weights.SafeTensors")
    (tmp_path / "one.pth").write_bytes(b"x")
    checkpoints.check_readable_file(tmp_path / "one.pth")


def test_a_zip_member_whose_bytes_changed_is_named_and_a_cut_archive_is_incomplete(tmp_path):
    """`check_zip_archive`: a member failing its CRC-32 is named ("damaged: <member> does not match its
    stored checksum"); an archive without its end is "incomplete"; an intact one and a file that does not
    start with ``PK\\x03\\x04`` (a legacy pickle stream) pass."""
    good = tmp_path / "good.pth"
    with zipfile.ZipFile(good, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("archive/data/0", b"A" * 64)
    checkpoints.check_zip_archive(good)
    raw = good.read_bytes()
    start = raw.index(b"A" * 64)
    damaged = tmp_path / "damaged.pth"
    damaged.write_bytes(raw[:start] + b"B" + raw[start + 1 :])
    with pytest.raises(
        UnreadableFileError, match="damaged: archive/data/0 does not match its stored checksum"
    ):
        checkpoints.check_zip_archive(damaged)
    cut = tmp_path / "cut.pth"
    cut.write_bytes(raw[: start + 10])
    with pytest.raises(UnreadableFileError, match="incomplete: its zip archive has no end"):
        checkpoints.check_zip_archive(cut)
    legacy = tmp_path / "legacy.pth"
    legacy.write_bytes(b"\x80\x02" + raw[4:])
    checkpoints.check_zip_archive(legacy)


# --------------------------------------------------------------------------------------------------
# checkpoints.read_torch


def test_a_text_file_is_unreadable_and_quoted_while_other_garbage_is_a_plain_checkpoint_error(tmp_path):
    """`read_torch`: a file ``torch.load`` refuses is an `UnreadableFileError` quoting its start when it
    holds text, else a `CheckpointError` (not the unreadable kind: the allow-listed unpickler may try it)."""
    text = tmp_path / "readme.pth"
    text.write_text("hello weights\nline two\n")
    with pytest.raises(
        UnreadableFileError, match="not a PyTorch checkpoint but a text file, starting 'hello"
    ):
        checkpoints.read_torch(text)
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(bytes(range(1, 200)))
    with pytest.raises(CheckpointError, match="not a PyTorch checkpoint that loads safely") as error:
        checkpoints.read_torch(garbage)
    assert not isinstance(error.value, UnreadableFileError)


def test_a_checkpoint_that_may_not_be_read_is_an_unreadable_file_error(tmp_path, monkeypatch):
    """`read_torch` turns "permission denied" into `UnreadableFileError` ("cannot read the checkpoint
    (permission denied)"); the checks before ``torch.load`` open the file first. (Simulated: the tests
    may run as root, whom file modes do not stop.)"""
    path = tmp_path / "w.pth"
    torch.save({"model": {"w": torch.ones(1)}}, path)
    real_open = type(path).open

    def refusing_open(self, *args, **kwargs):
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(type(path), "open", refusing_open)
    with pytest.raises(UnreadableFileError, match="cannot read the checkpoint \\(permission denied\\)"):
        checkpoints.read_torch(path)


class _Payload:
    """A plain class: ``weights_only=True`` refuses to unpickle it."""


def test_a_file_with_a_pickled_object_is_refused_not_unpickled(tmp_path):
    """`read_torch` loads with ``weights_only=True``: an arbitrary pickled object is a `CheckpointError`."""
    path = tmp_path / "object.pth"
    torch.save({"model": _Payload()}, path)
    with pytest.raises(CheckpointError, match="not a PyTorch checkpoint that loads safely"):
        checkpoints.read_torch(path)
    torch.save({"model": {"w": torch.ones(2)}}, path)
    assert torch.equal(checkpoints.read_torch(path)["model"]["w"], torch.ones(2))


# --------------------------------------------------------------------------------------------------
# checkpoints.read_official, state_entry, without_wrapper_prefix


def test_the_state_entry_is_the_first_of_model_and_state_dict_that_is_not_none():
    """`state_entry`: ``model``, else ``state_dict`` when ``model`` is missing or None (YOLOv5), else the
    content itself; a content that is no mapping is returned as it is."""
    a, b = {"a": torch.zeros(1)}, {"b": torch.zeros(1)}
    assert checkpoints.state_entry({"model": a, "state_dict": b}) is a
    assert checkpoints.state_entry({"model": None, "state_dict": b}) is b
    assert checkpoints.state_entry({"state_dict": b}) is b
    bare = {"x": torch.zeros(1)}
    assert checkpoints.state_entry(bare) is bare
    assert checkpoints.state_entry([1, 2]) == [1, 2]


def test_the_wrapper_prefix_goes_only_when_every_key_has_it():
    """`without_wrapper_prefix`: ``module.`` is removed from every key only if every key has it (a model
    may own a submodule named ``module``)."""
    t = torch.zeros(1)
    assert checkpoints.without_wrapper_prefix({"module.a": t, "module.b.c": t}) == {"a": t, "b.c": t}
    assert checkpoints.without_wrapper_prefix({"module.a": t, "b": t}) == {"module.a": t, "b": t}
    assert checkpoints.without_wrapper_prefix({}) == {}


def test_read_official_takes_given_content_strips_the_wrapper_and_drops_backbone_counters():
    """`read_official` with the content given does not read the path; ``num_batches_tracked`` goes only
    under ``backbone.`` (spec §1.2: the frozen BatchNorm has none)."""
    t = torch.ones(1)
    data = {
        "model": {
            "module.detr.backbone.0.body.bn1.num_batches_tracked": torch.tensor(3),
            "module.detr.backbone.0.body.bn1.weight": t,
            "module.head.bn.num_batches_tracked": torch.tensor(4),
        },
        "optimizer": {"state": {}},
    }
    state = checkpoints.read_official("does-not-exist.pth", data)
    assert list(state) == ["detr.backbone.0.body.bn1.weight", "head.bn.num_batches_tracked"]


def test_read_official_reads_the_file_when_no_content_is_given(tmp_path):
    """`read_official(path)`: the file's ``model`` entry."""
    path = tmp_path / "w.pth"
    torch.save({"model": {"w": torch.ones(2)}, "epoch": 3}, path)
    assert list(checkpoints.read_official(path)) == ["w"]


@pytest.mark.parametrize(
    "data",
    [{"model": {"w": torch.ones(1), "epoch": 3}}, {"model": [torch.ones(1)]}, {"w": "text"}],
)
def test_content_without_a_state_dict_of_tensors_is_refused(data):
    """`read_official`: a ``model`` entry that is no mapping, or holds anything but tensors, is refused."""
    with pytest.raises(CheckpointError, match="no state dict of tensors in it"):
        checkpoints.read_official("x.pth", data)


# --------------------------------------------------------------------------------------------------
# checkpoints: strict loading


def test_compare_state_lists_missing_then_unexpected_then_mis_shaped_keys():
    """`compare_state`: one line per difference, in this order, with the shapes."""
    model = nn.Linear(2, 3)
    state = {"weight": torch.zeros(3, 4), "extra": torch.zeros(5)}
    assert checkpoints.compare_state(model, state) == [
        "missing: bias (3,)",
        "unexpected: extra (5,)",
        "shape of weight: checkpoint (3, 4), model (3, 2)",
    ]
    assert checkpoints.compare_state(model, {"weight": torch.zeros(3, 2), "bias": torch.zeros(3)}) == []


def test_load_strict_loads_a_fitting_state_including_integer_buffers():
    """`load_strict` copies a state that fits into the model (integer tensors are never "non-finite")."""
    model = Shared()
    checkpoints.load_strict(model, shared_state(), "w.pth")
    assert torch.equal(model.head.weight, torch.arange(6.0).reshape(3, 2))
    assert torch.equal(model.steps, torch.tensor([4, 5]))


def test_load_strict_refuses_a_state_that_does_not_fit_with_the_mismatch_message():
    """`load_strict`: differences -> `CheckpointError` "<source>: does not fit this <kind> model (n
    differences)<hint>" and the differences; the model is left untouched."""
    model = Shared()
    before = model.head.weight.detach().clone()
    state = shared_state()
    del state["steps"]
    with pytest.raises(CheckpointError) as error:
        checkpoints.load_strict(model, state, "w.pth", kind="Toy", hint="a hint")
    assert (
        str(error.value)
        == "w.pth: does not fit this Toy model (1 differences) (a hint):\n  missing: steps (2,)"
    )
    assert torch.equal(model.head.weight, before)


def test_a_tensor_holding_one_nan_among_finite_values_is_refused_by_name():
    """`non_finite_tensors` / `load_strict`: a float tensor with any NaN or infinity is named."""
    bias = torch.tensor([1.0, float("nan"), 3.0])
    with pytest.raises(
        CheckpointError, match=r"w.pth: 3 tensor\(s\) hold NaN or infinite values, e.g. head.bias"
    ):
        checkpoints.load_strict(
            Shared(),
            shared_state(**{"head.bias": bias, "decoder.head.bias": bias, "extra.head.bias": bias}),
            "w.pth",
        )
    state = {"a": torch.tensor([1.0, float("inf")]), "b": torch.tensor([1, 2]), "c": torch.ones(2)}
    assert checkpoints.non_finite_tensors(state) == ["a"]


def test_copies_of_a_shared_tensor_that_differ_are_named_against_the_first():
    """`alias_conflicts`: each later copy that differs from the first given name is named against it."""
    model = Shared()
    other = torch.zeros(3, 2)
    assert checkpoints.alias_conflicts(model, shared_state(**{"decoder.head.weight": other})) == [
        "shared tensor written twice with different values: head.weight and decoder.head.weight"
    ]
    assert checkpoints.alias_conflicts(model, shared_state(**{"extra.head.weight": other})) == [
        "shared tensor written twice with different values: head.weight and extra.head.weight"
    ]
    assert checkpoints.alias_conflicts(model, shared_state()) == []
    with pytest.raises(CheckpointError, match="written twice with different values"):
        checkpoints.load_strict(model, shared_state(**{"extra.head.weight": other}), "w.pth")


def test_fill_aliases_gives_missing_names_the_first_given_tensor_and_keeps_given_ones():
    """`fill_aliases`: a shared tensor's missing names take its first given name's tensor; given names
    keep their own values; a group with no given name stays absent."""
    w1, w2, b = torch.ones(3, 2), torch.zeros(3, 2), torch.ones(3)
    full = checkpoints.fill_aliases(
        Shared(), {"decoder.head.weight": w1, "extra.head.weight": w2, "head.bias": b}
    )
    assert full["head.weight"] is w1 and full["decoder.head.weight"] is w1 and full["extra.head.weight"] is w2
    assert full["decoder.head.bias"] is b and full["extra.head.bias"] is b
    assert "steps" not in full


def test_the_shared_tensor_groups_follow_the_state_dict_order():
    """`shared_tensor_names`: one group per tensor, names in state-dict order."""
    assert checkpoints.shared_tensor_names(Shared()) == [
        ["steps"],
        ["head.weight", "decoder.head.weight", "extra.head.weight"],
        ["head.bias", "decoder.head.bias", "extra.head.bias"],
    ]


def test_the_mismatch_message_shows_twelve_problems_then_counts_the_rest():
    """`mismatch_message`: the first 12 problems; from 13 on, "... and <n - 12> more"."""
    twelve = [f"p{i}" for i in range(12)]
    text = checkpoints.mismatch_message("f.pth", "FDTA", twelve, {}, hint="h")
    assert text == "f.pth: does not fit this FDTA model (12 differences) (h):\n  " + "\n  ".join(twelve)
    text = checkpoints.mismatch_message("f.pth", "FDTA", [*twelve, "p12"], {}, hint="h")
    assert text.endswith("\n  p11\n  ... and 1 more") and "p12" not in text
    text = checkpoints.mismatch_message("f.pth", "FDTA", [*twelve, "p12", "p13"], {}, hint="h")
    assert text.endswith("\n  p11\n  ... and 2 more") and "(14 differences)" in text


def test_config_mismatch_names_each_differing_field_and_nothing_when_none_differs():
    """`config_mismatch`: one clause per probe whose key's shape differs (keys missing on either side are
    skipped), joined by "; ", in one sentence naming the preset; None without differences."""
    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 4))
    probes = {
        "rows": ("0.weight", lambda shape: shape[0]),
        "cols": ("1.weight", lambda shape: shape[1]),
        "gone": ("9.weight", lambda shape: shape[0]),
    }
    state = {"0.weight": torch.zeros(5, 2), "1.weight": torch.zeros(4, 7), "9.weight": torch.zeros(1)}
    assert checkpoints.config_mismatch(model, state, probes, "tiny") == (
        "trained with another configuration than the tiny preset: rows 5 in the file (0.weight (5, 2)), "
        "3 in the model ((3, 2)); cols 7 in the file (1.weight (4, 7)), 3 in the model ((4, 3)); no discmot "
        "preset has it"
    )
    same = {"0.weight": torch.zeros(3, 2), "1.weight": torch.zeros(4, 3)}
    assert checkpoints.config_mismatch(model, same, probes, "tiny") is None
    assert checkpoints.config_mismatch(model, {}, probes, "tiny") is None


# --------------------------------------------------------------------------------------------------
# checkpoint_kinds


def _state(*keys, **shapes):
    state = {key: torch.zeros(1) for key in keys}
    state.update({key.replace("__", "."): torch.zeros(shape) for key, shape in shapes.items()})
    return state


def _fdta(window: int, bins: int | None = None) -> dict:
    state = {"id_decoder.rel_pos_embeds": torch.zeros(6, window, 16)}
    if bins is not None:
        state["detr.depth_predictor.depth_bin_values"] = torch.zeros(bins)
    return state


@pytest.mark.parametrize(
    ("window", "bins", "expected"),
    [
        (30, 151, "dancetrack"),
        (60, 151, "sportsmot"),
        (20, 121, "bft"),
        (30, None, "dancetrack"),
        (60, None, "sportsmot"),
        (20, None, "bft"),
        (20, 151, None),
        (30, 152, None),
        (60, 121, None),
        (31, None, None),
        (61, 151, None),
        (21, 121, None),
    ],
)
def test_the_preset_is_told_by_the_id_window_and_checked_against_the_depth_bins(window, bins, expected):
    """`infer_fdta_preset`, spec §7.3: ``rel_pos_embeds`` dim 1 = 30 / 60 / 20 and ``depth_bin_values``
    151 / 151 / 121 rows for DanceTrack / SportsMOT / BFT; MOTIP files (no bins) by the window alone."""
    assert checkpoint_kinds.infer_fdta_preset(_fdta(window, bins)) == expected


def test_without_the_id_window_no_preset_is_inferred():
    """`infer_fdta_preset`: the depth bins alone tell nothing."""
    assert checkpoint_kinds.infer_fdta_preset(_state(detr__depth_predictor__depth_bin_values=151)) is None


def test_the_kind_hint_names_what_a_state_dict_looks_like():
    """`kind_hint`: FDTA keys given to CSTrack; a CSTrack state (silent when CSTrack was asked for); an
    FDTA preset told by its shapes (silent when none); a DETR-only pre-train; nothing otherwise."""
    cstrack = _state("model.2.cv1.conv.weight")
    assert checkpoint_kinds.kind_hint(_state("id_decoder.x"), "CSTrack") == (
        " (this looks like an FDTA checkpoint: load it as an FDTA model, e.g. --model fdta)"
    )
    assert checkpoint_kinds.kind_hint(_state("criterion.y", "trajectory_modeling.x"), "cstrack") == (
        " (this looks like an FDTA checkpoint: load it as an FDTA model, e.g. --model fdta)"
    )
    assert checkpoint_kinds.kind_hint(_state("id_decoder.x"), "FDTA") == ""
    assert checkpoint_kinds.kind_hint(cstrack, "FDTA") == " (this looks like a CSTrack/YOLOv5 checkpoint)"
    assert checkpoint_kinds.kind_hint(cstrack, "cstrack-tiny") == ""
    assert (
        checkpoint_kinds.kind_hint(_fdta(60, 151))
        == " (this looks like an FDTA sportsmot checkpoint; use that preset)"
    )
    assert (
        checkpoint_kinds.kind_hint(_fdta(60))
        == " (this looks like an FDTA sportsmot checkpoint; use that preset)"
    )
    assert checkpoint_kinds.kind_hint(_fdta(31, 151)) == ""
    assert checkpoint_kinds.kind_hint(_state(checkpoint_kinds.DETR_ONLY_MARKER)) == (
        " (this looks like a DETR-only pre-train: load it with --detr-pretrain)"
    )
    assert checkpoint_kinds.kind_hint(_state("detr.x")) == ""


def test_a_motip_state_has_an_id_decoder_and_neither_adapter():
    """`is_motip_state`: ``id_decoder.`` keys, no ``detr.depth_predictor.``, no ``trajectory_embedding.``."""
    assert checkpoint_kinds.is_motip_state(_state("detr.a", "id_decoder.b"))
    assert not checkpoint_kinds.is_motip_state(_state("detr.a", "id_decoder.b", "detr.depth_predictor.c"))
    assert not checkpoint_kinds.is_motip_state(_state("detr.a", "id_decoder.b", "trajectory_embedding.c"))
    assert not checkpoint_kinds.is_motip_state(_state("detr.a"))


def test_cstrack_keys_are_model_index_keys_with_cv_blocks_or_the_ren_layer_24():
    """`looks_like_cstrack` (cstrack.md §9): any ``model.<i>.`` key with ``.cv`` in it or at index 24."""
    assert checkpoint_kinds.looks_like_cstrack(_state("detr.a", "model.2.cv1.conv.weight"))
    assert checkpoint_kinds.looks_like_cstrack(_state("detr.a", "model.24.w1"))
    assert not checkpoint_kinds.looks_like_cstrack(_state("model.0.conv.conv.weight", "detr.model.2.cv1"))
    assert not checkpoint_kinds.looks_like_cstrack(_state("layer.cv1", "model.28.k"))


def test_fdta_keys_are_those_under_detr():
    """`looks_like_fdta`: any key starting with ``detr.``."""
    assert checkpoint_kinds.looks_like_fdta(_state("id_decoder.a", "detr.b"))
    assert not checkpoint_kinds.looks_like_fdta(_state("id_decoder.a", "x.detr.b"))


# --------------------------------------------------------------------------------------------------
# checkpoint_files


def _safetensors_file(path, metadata: dict | None, keys=("a",)):
    """A safetensors file written by hand: float32 tensors of one element each, ``metadata`` if given."""
    header: dict = {
        key: {"dtype": "F32", "shape": [1], "data_offsets": [4 * i, 4 * i + 4]} for i, key in enumerate(keys)
    }
    if metadata is not None:
        header["__metadata__"] = metadata
    pad = -len(json.dumps(header).encode()) % 8
    path.write_bytes(safetensors_file_bytes(header, b"\x00" * (4 * len(keys)), pad=pad))
    return path


def test_a_safetensors_files_kind_comes_from_its_header_else_from_its_keys(tmp_path):
    """`guess_file_kind`: a ``.safetensors`` file's ``kind`` metadata; without it, its keys."""
    assert (
        guess_file_kind(_safetensors_file(tmp_path / "a.SAFETENSORS", {"kind": "cstrack"}, ("detr.x",)))
        == "cstrack"
    )
    plain = _safetensors_file(tmp_path / "b.safetensors", {"format": "discmot"}, ("detr.x",))
    assert guess_file_kind(plain) == "fdta"


def test_a_torch_files_kind_comes_from_model_kind_else_from_its_state_dict(tmp_path):
    """`guess_file_kind` on a ``torch.save`` file: its ``model_kind``; a CSTrack state (even beside
    ``detr.`` keys), an FDTA one, a DETR-only pre-train (FDTA's detector), ``module.``-wrapped keys,
    anything else "unknown"."""
    path = tmp_path / "w.pth"
    cases = [
        ({"model_kind": "cstrack", "model": {"detr.x": torch.zeros(1)}}, "cstrack"),
        ({"model": {"model.2.cv1.conv.weight": torch.zeros(1), "detr.x": torch.zeros(1)}}, "cstrack"),
        ({"model": {"module.model.24.w1": torch.zeros(1)}}, "cstrack"),
        ({"state_dict": {"module.detr.x": torch.zeros(1)}}, "fdta"),
        ({checkpoint_kinds.DETR_ONLY_MARKER: torch.zeros(1), "backbone.x": torch.zeros(1)}, "fdta"),
        ({"model": {"head.weight": torch.zeros(1)}}, "unknown"),
        ([torch.zeros(1)], "unknown"),
    ]
    for content, kind in cases:
        torch.save(content, path)
        assert guess_file_kind(path) == kind, content


def test_a_pickled_model_object_is_cstracks_released_format(tmp_path):
    """`guess_file_kind`: a ``model`` entry that is a pickled module object (read by the allow-listed
    unpickler), not a state dict, is CSTrack's released format (cstrack.md §9)."""
    path = tmp_path / "cstrack.pt"
    with importable_classes({"models": (), "models.toy": ("Net",)}) as classes:
        torch.save({"model": classes["Net"](), "epoch": -1}, path)
    assert guess_file_kind(path) == "cstrack"


@dataclasses.dataclass
class _Config:
    width: int = 2


class _Configured(nn.Linear):
    def __init__(self):
        super().__init__(2, 1)
        self.config = _Config()


def test_save_model_writes_safetensors_for_that_suffix_and_the_official_format_otherwise(tmp_path):
    """`save_model`: ``.safetensors`` (any case) -> discmot safetensors with ``kind`` and the metadata;
    another suffix -> ``{"model": state_dict, "discmot_config": ..., "discmot_metadata": ...}``."""
    model = _Configured()
    save_model(tmp_path / "w.SafeTensors", model, "toy", {"stage": "x"})
    tensors, metadata = read_safetensors(tmp_path / "w.SafeTensors")
    assert set(tensors) == {"weight", "bias"}
    assert (
        metadata["kind"] == "toy"
        and metadata["stage"] == "x"
        and json.loads(metadata["config"]) == {"width": 2}
    )
    save_model(tmp_path / "w.pth", model, "toy", {"stage": "x"})
    content = torch.load(tmp_path / "w.pth", weights_only=True)
    assert set(content["model"]) == {"weight", "bias"}
    assert json.loads(content["discmot_config"]) == {"width": 2} and content["discmot_metadata"] == {
        "stage": "x"
    }


def _official_with_metadata(path, metadata):
    torch.save({"model": {"w": torch.zeros(1)}, "discmot_metadata": metadata}, path)
    return path


def test_carried_metadata_of_an_official_file_drops_the_writers_own_keys(tmp_path):
    """`carried_metadata`: an official file's ``discmot_metadata`` less ``format``, ``kind``,
    ``discmot_version``, ``config`` (`OWN_METADATA`); ``{}`` without the entry or for an unreadable file."""
    path = _official_with_metadata(
        tmp_path / "w.pth", {"train_config": "{}", "global_step": "7", "kind": "cstrack", "config": "{}"}
    )
    assert carried_metadata(path) == {"train_config": "{}", "global_step": "7"}
    torch.save({"model": {"w": torch.zeros(1)}}, path)
    assert carried_metadata(path) == {}
    (tmp_path / "text.pth").write_text("not a checkpoint")
    assert carried_metadata(tmp_path / "text.pth") == {}
    torch.save([1, 2], path)
    assert carried_metadata(path) == {}


def test_carried_metadata_never_unpickles_objects(tmp_path):
    """`carried_metadata` reads with ``weights_only=True``: a file holding a pickled object (code could
    run) carries nothing, even beside a valid ``discmot_metadata`` entry."""
    path = tmp_path / "w.pth"
    torch.save({"model": {"w": torch.zeros(1)}, "discmot_metadata": {"a": "b"}, "obj": _Payload()}, path)
    assert carried_metadata(path) == {}


@pytest.mark.parametrize("entry", [{"step": 7}, {"a": "x", "step": 7}, "step=7", ["a"]])
def test_a_metadata_entry_that_is_no_dict_of_strings_is_not_carried(tmp_path, entry):
    """`carried_metadata`: a ``discmot_metadata`` entry with a non-string value, or no dict, gives ``{}``."""
    assert carried_metadata(_official_with_metadata(tmp_path / "w.pth", entry)) == {}


def test_carried_metadata_of_a_safetensors_file_is_its_header_less_the_writers_keys(tmp_path):
    """`carried_metadata` of a ``.safetensors`` file: its ``__metadata__`` less `OWN_METADATA`."""
    path = _safetensors_file(
        tmp_path / "w.Safetensors", {"format": "discmot", "kind": "fdta", "config": "{}", "stage": "detector"}
    )
    assert carried_metadata(path) == {"stage": "detector"}


def test_carried_metadata_of_a_training_checkpoint_is_what_its_weights_file_would_hold(tmp_path):
    """`carried_metadata` of a ``discmot train`` checkpoint: `training_metadata` of its content."""
    path = tmp_path / "epoch-001.pt"
    torch.save(
        {"format": training_checkpoints.TRAINING_FORMAT, "model": {}, "config": {"lr": 1}, "global_step": 3},
        path,
    )
    assert carried_metadata(path) == {"train_config": '{"lr": 1}', "global_step": "3"}
    torch.save({"format": "other", "model": {}, "config": {"lr": 1}, "global_step": 3}, path)
    assert carried_metadata(path) == {}


# --------------------------------------------------------------------------------------------------
# training_checkpoints


def test_training_metadata_takes_config_then_string_extras_then_the_step():
    """`training_metadata`: ``train_config`` (the config as JSON), the ``weights_metadata`` strings
    (not `OWN_METADATA`, not non-strings), then ``global_step`` (which wins over an extra of that name)."""
    data = {
        "config": {"lr": 0.5},
        "weights_metadata": {"stage": "detector", "kind": "x", "n": 3, "global_step": "0"},
        "global_step": 12,
    }
    metadata = training_checkpoints.training_metadata(data)
    assert metadata == {"train_config": '{"lr": 0.5}', "stage": "detector", "global_step": "12"}
    assert list(metadata) == ["train_config", "stage", "global_step"]
    assert (
        training_checkpoints.training_metadata(
            {"config": "text", "weights_metadata": ["a"], "global_step": "1"}
        )
        == {}
    )


def test_training_network_state_prefers_the_ema_and_drops_the_criterion():
    """`training_network_state`: the EMA's ``model`` when there is one (non-empty), else the live
    ``model``; only ``model.``-prefixed keys, without the prefix."""
    live = {"model.w": torch.zeros(1), "criterion.mlp": torch.zeros(1)}
    ema = {"model.w": torch.ones(1)}
    state = training_checkpoints.training_network_state({"model": live, "ema": {"model": ema}})
    assert list(state) == ["w"] and state["w"].item() == 1.0
    for no_ema in (None, {"model": {}}, {"decay": 0.9}):
        state = training_checkpoints.training_network_state({"model": live, "ema": no_ema})
        assert list(state) == ["w"] and state["w"].item() == 0.0


# --------------------------------------------------------------------------------------------------
# detr_pretrain


def _coco_pretrain():
    return {
        checkpoint_kinds.DETR_ONLY_MARKER: torch.zeros(2, 2),
        "class_embed.0.weight": torch.arange(91.0 * 2).reshape(91, 2),
        "class_embed.0.bias": torch.arange(91.0),
        "query_embed.weight": torch.zeros(91, 2),
    }


def test_a_coco_pretrain_is_prefixed_and_its_class_head_sliced_to_the_person_row():
    """`adapt_detr_only`, spec §7.1: ``detr.`` before every key; each ``class_embed`` weight/bias with 91
    rows is sliced to row 1 (person); other 91-row tensors are kept."""
    adapted = detr_pretrain.adapt_detr_only(_coco_pretrain())
    assert set(adapted) == {f"detr.{key}" for key in _coco_pretrain()}
    assert torch.equal(adapted["detr.class_embed.0.weight"], torch.tensor([[2.0, 3.0]]))
    assert torch.equal(adapted["detr.class_embed.0.bias"], torch.tensor([1.0]))
    assert adapted["detr.query_embed.weight"].shape == (91, 2)
    one_class = {checkpoint_kinds.DETR_ONLY_MARKER: torch.zeros(1), "class_embed.0.bias": torch.tensor([5.0])}
    assert detr_pretrain.adapt_detr_only(one_class)["detr.class_embed.0.bias"].tolist() == [5.0]


def test_a_state_without_the_detr_only_marker_is_taken_as_it_is():
    """`adapt_detr_only`: without ``bbox_embed.0.layers.0.weight`` (spec §7.1) nothing is renamed."""
    state = {"class_embed.0.bias": torch.arange(91.0), "detr.x": torch.zeros(1)}
    adapted = detr_pretrain.adapt_detr_only(state)
    assert list(adapted) == list(state) and adapted["class_embed.0.bias"].shape == (91,)


class _Detr(nn.Module):
    """``detr.bbox_embed`` shared with ``detr.decoder.bbox_embed``, beside an ``id_decoder``."""

    def __init__(self):
        super().__init__()
        self.detr = nn.Module()
        self.detr.bbox_embed = nn.Linear(2, 2)
        self.detr.decoder = nn.Module()
        self.detr.decoder.bbox_embed = self.detr.bbox_embed
        self.id_decoder = nn.Linear(2, 1)


def test_load_detr_pretrain_fills_aliases_keeps_the_rest_and_returns_what_it_did_not_provide():
    """`load_detr_pretrain`: given tensors (and their aliases) are loaded, other keys keep their values
    and are returned, in state-dict order."""
    model = _Detr()
    before = model.id_decoder.weight.detach().clone()
    state = {"detr.bbox_embed.weight": torch.ones(2, 2), "detr.bbox_embed.bias": torch.zeros(2)}
    left = detr_pretrain.load_detr_pretrain(model, state, "p.pth")
    assert left == ["id_decoder.weight", "id_decoder.bias"]
    assert torch.equal(model.detr.decoder.bbox_embed.weight, torch.ones(2, 2))
    assert torch.equal(model.id_decoder.weight, before)


@pytest.mark.parametrize(
    ("state", "problem"),
    [
        ({"detr.bbox_embed.weight": torch.ones(2, 2), "detr.extra": torch.ones(1)}, "detr.extra"),
        ({"detr.bbox_embed.weight": torch.ones(3, 2)}, "detr.bbox_embed.weight"),
        (
            {"detr.bbox_embed.weight": torch.ones(2, 2), "detr.decoder.bbox_embed.weight": torch.zeros(2, 2)},
            "shared tensor written twice with different values",
        ),
    ],
)
def test_load_detr_pretrain_refuses_extra_mis_shaped_and_conflicting_keys(state, problem):
    """`load_detr_pretrain`: an unknown key, a shape the model does not have, two differing copies of a
    shared tensor: a `CheckpointError` naming it; the model keeps its weights."""
    model = _Detr()
    before = model.detr.bbox_embed.weight.detach().clone()
    with pytest.raises(CheckpointError, match="does not fit this DETR pre-train model") as error:
        detr_pretrain.load_detr_pretrain(model, state, "p.pth")
    assert problem in str(error.value)
    assert torch.equal(model.detr.bbox_embed.weight, before)


def test_a_safetensors_detr_pretrain_takes_only_the_detector_of_fdta_weights(tmp_path):
    """`read_detr_pretrain` of a ``.safetensors`` file: only ``detr.*``; kind must be ``fdta`` (default
    when the header has none); a file without ``detr.*`` is refused. Other suffixes go to
    `read_official`."""
    keys = ("detr.a", "id_decoder.b")
    fdta = _safetensors_file(tmp_path / "w.SafeTensors", {"format": "discmot", "kind": "fdta"}, keys)
    assert list(detr_pretrain.read_detr_pretrain(fdta)) == ["detr.a"]
    unnamed = _safetensors_file(tmp_path / "u.safetensors", {"format": "discmot"}, keys)
    assert list(detr_pretrain.read_detr_pretrain(unnamed)) == ["detr.a"]
    other = _safetensors_file(tmp_path / "c.safetensors", {"format": "discmot", "kind": "cstrack"}, keys)
    with pytest.raises(CheckpointError, match="cstrack weights; a DETR pre-train must be FDTA weights"):
        detr_pretrain.read_detr_pretrain(other)
    none = _safetensors_file(
        tmp_path / "n.safetensors", {"format": "discmot", "kind": "fdta"}, ("id_decoder.b",)
    )
    with pytest.raises(CheckpointError, match=r"no detector \(detr\.\*\) tensors in it"):
        detr_pretrain.read_detr_pretrain(none)
    torch.save({"model": {"module.backbone.x": torch.zeros(1)}}, tmp_path / "p.pth")
    assert list(detr_pretrain.read_detr_pretrain(tmp_path / "p.pth")) == ["backbone.x"]
