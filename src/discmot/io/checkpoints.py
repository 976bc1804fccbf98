"""Checkpoints: their errors, the safe reading of PyTorch files and the strict loading into a model.

* **Official** files are ``torch.save`` dicts whose ``model`` entry is the state dict (FDTA, MOTIP: the
  same network without the Spatial and Temporal Adapters). They are read with
  ``torch.load(weights_only=True)`` (a training script's ``args`` beside the weights through the
  allow-listed unpickler of `discmot.io.pickled`), so nothing from the file is executed, and matched key
  by key and shape by shape against the model; any difference is reported
  in full (missing, unexpected, mis-shaped keys) with a hint at what the file probably is.

The rest lives beside: `discmot.io.checkpoint_kinds` (what a state dict is), `discmot.io.detr_pretrain`
(MOTIP's DETR-only pre-trains), `discmot.io.official_format` (writing the official format),
`discmot.io.safetensors_format` (discmot's own format), `discmot.io.training_checkpoints` (what a
``discmot train`` checkpoint holds) and `discmot.io.checkpoint_files` (files of any format: their kind,
their metadata, writing a model in the format its suffix names).
"""

from __future__ import annotations

import contextlib
import pickle
import zipfile
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path

import torch
from torch import nn

from discmot.io.checkpoint_kinds import kind_hint

ZIP_MAGIC = b"PK\x03\x04"  # what torch.save's (zip) files start with
#: Where training scripts keep the weights in a checkpoint dict: MOTIP/Deformable-DETR and YOLOv5 under
#: ``model``; PyTorch Lightning and many hand-written trainers under ``state_dict``.
STATE_ENTRIES = ("model", "state_dict")
#: What ``torch.nn.DataParallel`` and ``DistributedDataParallel`` put before every key of the model they wrap.
WRAPPER_PREFIX = "module."


class CheckpointError(ValueError):
    """A checkpoint cannot be used for this model; the message lists every difference."""


class UnreadableFileError(CheckpointError):
    """The file cannot be a checkpoint (missing, a folder, empty, damaged): no other reader is tried."""


# What unpickling a file that is no checkpoint (text, truncated, corrupt) raises.
UNREADABLE = (
    pickle.UnpicklingError,
    zipfile.BadZipFile,
    RuntimeError,
    EOFError,
    ValueError,
    KeyError,
    IndexError,
)


# --------------------------------------------------------------------------------------------------
# Reading


def read_torch(path: str | Path):
    """What a ``.pth``/``.pt`` file holds, loaded safely (tensors and plain values only) on the CPU.

    Raises:
        UnreadableFileError: no file, a folder, an empty file, a file that may not be read, a safetensors
            file, a damaged archive.
        CheckpointError: a file ``weights_only`` refuses (a pickled model object, arbitrary code).
    """
    path = Path(path)
    check_readable_file(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (*UNREADABLE, OSError) as error:  # a truncated zip archive can raise EINVAL
        reason = str(error).splitlines()[0] if str(error) else error.__class__.__name__
        text = text_start(path)
        if text is not None:  # not one that the allow-listed unpickler could read either: said plainly
            raise UnreadableFileError(
                f"{path}: not a PyTorch checkpoint but a text file, starting {text!r} "
                f"(torch.load: {error.__class__.__name__}: {reason.split('. ')[0]})"
            ) from None
        raise CheckpointError(f"{path}: not a PyTorch checkpoint that loads safely ({reason})") from None


def text_start(path: Path, size: int = 256) -> str | None:
    """The first line (at most 40 characters) of a file that holds text, or None: a file whose first
    ``size`` bytes are UTF-8 text without control characters but for whitespace. A PyTorch file starts
    with ``PK`` and binary zip headers, or (pre-1.6) with the pickle opcode ``0x80``: never text."""
    with contextlib.suppress(OSError), path.open("rb") as file:
        head = file.read(size)
        if not head or head.startswith((ZIP_MAGIC, b"\x80")):
            return None
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError as error:  # a character cut at the end of the block is still text
            if error.start < len(head) - 3:
                return None
            text = head[: error.start].decode("utf-8")
        if not all(char.isprintable() or char in "\t\n\r" for char in text):
            return None
        return text.strip().splitlines()[0][:40] if text.strip() else None
    return None


def check_readable_file(path: Path) -> None:
    """Refuses, naming ``path``, what no checkpoint reader could read: no file, a folder, an empty file,
    a safetensors file under a PyTorch name, a damaged or incomplete PyTorch archive."""
    if path.is_dir():
        raise UnreadableFileError(f"{path}: a folder, not a checkpoint file")
    if not path.is_file():
        raise UnreadableFileError(f"{path}: checkpoint file not found")
    if path.stat().st_size == 0:
        raise UnreadableFileError(f"{path}: not a PyTorch checkpoint that loads safely (the file is empty)")
    if looks_like_safetensors(path) and path.suffix.lower() != ".safetensors":
        raise UnreadableFileError(f"{path}: a safetensors file, not a PyTorch one: name it .safetensors")
    check_zip_archive(path)


def check_zip_archive(path: Path) -> None:
    """Checks a PyTorch zip archive's CRC-32 checksums (about 0.17 s for a 267 MB file on 2 cores).

    ``torch.load`` does not check them: a download with damaged bytes inside a tensor loaded without a
    word and gave wrong weights; a download cut short failed with miniz's "failed finding central
    directory". Legacy (pre-1.6) files are plain pickle streams without checksums and are not checked.
    """
    try:
        with path.open("rb") as file:
            magic = file.read(4)
    except PermissionError:  # raised here, before torch.load: a CheckpointError like the others
        raise UnreadableFileError(f"{path}: cannot read the checkpoint (permission denied)") from None
    if magic != ZIP_MAGIC:
        return
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
    except (zipfile.BadZipFile, EOFError, ValueError, zlib.error):
        raise UnreadableFileError(
            f"{path}: not a PyTorch checkpoint that loads safely (incomplete: its zip archive has no end; "
            "a download cut short? download it again)"
        ) from None
    if damaged is not None:
        raise UnreadableFileError(
            f"{path}: not a PyTorch checkpoint that loads safely (damaged: {damaged} does not match its "
            "stored checksum; download it again)"
        )


def looks_like_safetensors(path: Path) -> bool:
    """A safetensors file starts with its JSON header's length (8 bytes, little-endian), then ``{``;
    PyTorch files start with ``PK`` (zip) or a pickle opcode."""
    with contextlib.suppress(OSError), path.open("rb") as file:
        head = file.read(9)
        return len(head) == 9 and head[8:] == b"{" and 2 <= int.from_bytes(head[:8], "little") < 2**32
    return False


def read_official(path: str | Path, data=None) -> dict[str, torch.Tensor]:
    """The state dict of an official checkpoint (``{"model": state_dict, ...}`` or a bare state dict).

    ``data``: the file's content when already loaded (`discmot.io.pickled.read_torch_file`).
    """
    if data is None:
        from discmot.io.pickled import read_torch_file  # (it imports this module)

        data = read_torch_file(path)
    state = state_entry(data)
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(
            f"{path}: no state dict of tensors in it (expected a dict with a 'model' or 'state_dict' entry)"
        )
    state = without_wrapper_prefix(state)
    # torchvision-derived ResNet weights carry BatchNorm step counters; the frozen BatchNorm has none
    # (the original deletes them on load, spec §1.2)
    return {k: v for k, v in state.items() if not (k.endswith(".num_batches_tracked") and "backbone." in k)}


def state_entry(data):
    """The part of a checkpoint's content that holds the weights: its ``model`` or ``state_dict`` entry
    (the first that is not None: a YOLOv5 file may hold ``"model": None``), else the content itself
    (a bare state dict)."""
    if isinstance(data, Mapping):
        for name in STATE_ENTRIES:
            if data.get(name) is not None:
                return data[name]
    return data


def without_wrapper_prefix(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``state`` without the ``module.`` prefix that a model saved from inside ``DataParallel`` or DDP has
    on every key (only when every key has it: a model may have its own submodule named ``module``)."""
    if state and all(key.startswith(WRAPPER_PREFIX) for key in state):
        return {key[len(WRAPPER_PREFIX) :]: value for key, value in state.items()}
    return dict(state)


# --------------------------------------------------------------------------------------------------
# Strict loading


def compare_state(model: nn.Module, state: Mapping[str, torch.Tensor]) -> list[str]:
    """Human-readable differences between a model's state dict and ``state`` (empty when they agree)."""
    expected = model.state_dict()
    problems = [f"missing: {k} {tuple(v.shape)}" for k, v in expected.items() if k not in state]
    problems += [f"unexpected: {k} {tuple(v.shape)}" for k, v in state.items() if k not in expected]
    problems += [
        f"shape of {k}: checkpoint {tuple(v.shape)}, model {tuple(expected[k].shape)}"
        for k, v in state.items()
        if k in expected and tuple(v.shape) != tuple(expected[k].shape)
    ]
    return problems


def load_strict(
    model: nn.Module,
    state: Mapping[str, torch.Tensor],
    source: str | Path,
    kind: str = "FDTA",
    hint: str | None = None,
) -> None:
    """Loads ``state`` into ``model`` only if every key and shape matches; otherwise explains why not.

    ``hint``: what the file probably is, put before the list of differences (default: guessed from the
    keys and shapes, `discmot.io.checkpoint_kinds.kind_hint`)."""
    problems = compare_state(model, state)
    if problems:
        raise CheckpointError(mismatch_message(source, kind, problems, state, hint))
    broken = non_finite_tensors(state)
    if broken:
        raise CheckpointError(
            f"{source}: {len(broken)} tensor(s) hold NaN or infinite values, e.g. {broken[0]}: the training "
            "that wrote it diverged (a model with them detects nothing or everything)"
        )
    problems = alias_conflicts(model, state)
    if problems:
        raise CheckpointError(mismatch_message(source, kind, problems, state))
    model.load_state_dict(state, strict=True)


def config_mismatch(
    model: nn.Module,
    state: Mapping[str, torch.Tensor],
    probes: Mapping[str, tuple[str, Callable[[tuple[int, ...]], object]]],
    preset: str,
) -> str | None:
    """One sentence naming the config fields in which a checkpoint differs from ``model``, or None.

    ``probes``: ``{config field: (state-dict key, shape -> value)}``; a field differs where the key's
    shape gives another value in ``state`` than in the model. Said so that a file trained with another
    configuration (a larger ID vocabulary, a second class) is not taken for a damaged one.
    """
    expected = model.state_dict()
    differences = []
    for field, (key, value_of) in probes.items():
        if key not in state or key not in expected or state[key].shape == expected[key].shape:
            continue
        given, wanted = tuple(state[key].shape), tuple(expected[key].shape)
        differences.append(
            f"{field} {value_of(given)} in the file ({key} {given}), "
            f"{value_of(wanted)} in the model ({wanted})"
        )
    if not differences:
        return None
    return (
        f"trained with another configuration than the {preset} preset: " + "; ".join(differences) + "; no "
        "discmot preset has it"
    )


def non_finite_tensors(state: Mapping[str, torch.Tensor]) -> list[str]:
    """The names of the floating-point tensors of ``state`` that hold a NaN or an infinity."""
    return [
        name
        for name, tensor in state.items()
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())
    ]


def alias_conflicts(model: nn.Module, state: Mapping[str, torch.Tensor]) -> list[str]:
    """Keys naming one shared model tensor (e.g. ``decoder.bbox_embed`` / ``bbox_embed``) must agree
    wherever ``state`` gives more than one of them."""
    problems = []
    for names in shared_tensor_names(model):
        given = [name for name in names if name in state]
        problems += [
            f"shared tensor written twice with different values: {given[0]} and {name}"
            for name in given[1:]
            if not torch.equal(state[given[0]], state[name])
        ]
    return problems


def shared_tensor_names(model: nn.Module) -> list[list[str]]:
    """The model's state-dict keys grouped by the tensor they name, in state-dict order (a group of
    several names is one shared tensor, e.g. a box head reached from the decoder and from the model)."""
    groups: dict[tuple[int, int, tuple], list[str]] = {}
    for key, value in model.state_dict().items():
        identity = (value.untyped_storage().data_ptr(), value.storage_offset(), tuple(value.shape))
        groups.setdefault(identity, []).append(key)
    return list(groups.values())


def fill_aliases(model: nn.Module, tensors: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A full state dict from unique tensors: a shared tensor's names missing from ``tensors`` take the
    tensor of its first name that is there (names given keep their own value: `load_strict` and
    `discmot.io.detr_pretrain.load_detr_pretrain` refuse copies that differ)."""
    full = dict(tensors)
    for names in shared_tensor_names(model):
        given = next((name for name in names if name in tensors), None)
        if given is not None:
            full.update({name: tensors[given] for name in names if name not in tensors})
    return full


def mismatch_message(
    source, kind: str, problems: list[str], state: Mapping[str, torch.Tensor], hint: str | None = None
) -> str:
    """Why ``state`` does not fit the ``kind`` model: the number of ``problems``, a hint at what the file
    is (``hint``, else `discmot.io.checkpoint_kinds.kind_hint`) and the first 12 problems."""
    hint = f" ({hint})" if hint else kind_hint(state, kind)
    shown = "\n  ".join(problems[:12]) + (
        f"\n  ... and {len(problems) - 12} more" if len(problems) > 12 else ""
    )
    return f"{source}: does not fit this {kind} model ({len(problems)} differences){hint}:\n  {shown}"
