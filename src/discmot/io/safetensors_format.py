"""discmot's own format: safetensors holding the model's tensors (each shared tensor once) and, in the
metadata, the resolved config as JSON, the model kind and the discmot version. `stored_config` and
`config_of` read a stored config back, from this format's metadata or from an official file's
``discmot_config`` (`discmot.io.official_format`).

Every write is atomic (temporary file + rename): a crash never leaves a half-written checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from discmot._version import __version__
from discmot.io.atomic import atomic_open
from discmot.io.checkpoints import CheckpointError, looks_like_safetensors

#: The metadata every `write_safetensors` makes afresh (from the model and this discmot), so not carried.
OWN_METADATA = frozenset({"format", "kind", "discmot_version", "config"})


def write_safetensors(
    path: str | Path,
    model: nn.Module,
    config,
    kind: str = "fdta",
    extra_metadata: Mapping[str, str] | None = None,
) -> None:
    """discmot's format: unique tensors in safetensors; metadata ``format``, ``kind``, ``discmot_version``,
    ``config`` (the model's config, a dataclass or a dict, as JSON; ``{}`` for None) and any
    ``extra_metadata`` strings."""
    from safetensors.torch import save

    tensors = _unique_tensors(model.state_dict())
    metadata = {
        **(extra_metadata or {}),  # first: a stale copy of the keys below (OWN_METADATA) cannot win
        "format": "discmot",
        "kind": kind,
        "discmot_version": __version__,
        "config": json.dumps(
            # is_dataclass is also true of a dataclass class; ``config`` (untyped) is an instance or a dict
            dataclasses.asdict(config) if dataclasses.is_dataclass(config) else config or {}  # type: ignore[arg-type]
        ),
    }
    data = canonical_safetensors(save(tensors, metadata=metadata))
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def canonical_safetensors(data: bytes) -> bytes:
    """The same safetensors file with its JSON header in one fixed form: keys sorted, no spaces.

    The safetensors writer keeps the metadata in a hash map whose order changes from call to call, so two
    saves of the same weights and config differed in their header bytes (and checksums). The tensor
    bytes and their offsets are untouched; the header is padded with spaces to a multiple of 8 bytes, as
    the writer pads it, so the tensor data stays aligned.
    """
    header_length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + header_length])
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text + data[8 + header_length :]


def read_safetensors(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors and metadata of a discmot safetensors file."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found")
    raw = path.read_bytes()
    try:
        tensors = load(raw)
    except SafetensorError as error:
        raise CheckpointError(f"{path}: not a safetensors file ({error})") from None
    header_length = int.from_bytes(raw[:8], "little")
    metadata = json.loads(raw[8 : 8 + header_length]).get("__metadata__", {})
    if metadata.get("format") != "discmot":
        raise CheckpointError(f"{path}: a safetensors file without discmot metadata (no config inside)")
    return tensors, metadata


def safetensors_metadata(path: Path) -> dict[str, str]:
    """The ``__metadata__`` of a safetensors file's JSON header, read without its tensors; ``{}`` for a
    file that is no safetensors file (`read_safetensors` then says why)."""
    if not looks_like_safetensors(path):
        return {}
    with path.open("rb") as file:
        length = int.from_bytes(file.read(8), "little")
        header = file.read(length)
    try:
        metadata = json.loads(header).get("__metadata__", {})
    except (ValueError, AttributeError):  # cut short, or not a JSON object
        return {}
    return metadata if isinstance(metadata, dict) else {}


def _unique_tensors(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drops every key whose tensor shares storage with an earlier key (safetensors refuses aliases)."""
    seen: dict[tuple[int, int | torch.SymInt, tuple[int, ...]], str] = {}  # torch types the offset so
    unique = {}
    for key, value in state.items():
        identity = (value.untyped_storage().data_ptr(), value.storage_offset(), tuple(value.shape))
        if identity in seen:
            continue
        seen[identity] = key
        unique[key] = value.detach().cpu().contiguous().clone()
    return unique


def config_of(text: str | None, path: str | Path, build):
    """``build(stored_config(text, path))``: the typed config of a discmot file; a config it refuses
    (written by a newer discmot, or edited) is a `CheckpointError` naming ``path``."""
    stored = stored_config(text, path)
    try:
        return build(stored)
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{path}: its stored config cannot be used ({error})") from None


def stored_config(text: str | None, path: str | Path) -> dict:
    """The config dict a discmot file holds as JSON (its safetensors metadata ``config``, an official
    file's ``discmot_config``).

    Raises:
        CheckpointError: missing or not a JSON object (a damaged file), naming ``path``.
    """
    try:
        config = json.loads(text) if isinstance(text, str) else None
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{path}: its stored config is damaged (not JSON: {error.msg})") from None
    if not isinstance(config, dict):
        raise CheckpointError(f"{path}: no model config stored in it (a discmot file holds one)")
    return config
