"""Checkpoint files of any format, told apart by suffix and content: which model a file is for, the
metadata a conversion carries over, writing a model in the format its suffix names.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from discmot.io.checkpoint_kinds import DETR_ONLY_MARKER, looks_like_cstrack, looks_like_fdta
from discmot.io.checkpoints import state_entry, without_wrapper_prefix
from discmot.io.official_format import OFFICIAL_METADATA_KEY, write_official
from discmot.io.pickled import read_torch_file
from discmot.io.safetensors_format import (
    OWN_METADATA,
    read_safetensors,
    safetensors_metadata,
    write_safetensors,
)
from discmot.io.training_checkpoints import TRAINING_FORMAT, training_metadata

# the logger of `discmot.io.checkpoints`, which held these functions: users filter logs by its name
log = logging.getLogger("discmot.io.checkpoints")


def guess_file_kind(path: str | Path) -> str:
    """``"fdta"``, ``"cstrack"`` or ``"unknown"``: which model a checkpoint file is for, from its metadata
    or keys.

    Files that do not load with ``weights_only=True`` are read with the allow-listed unpickler: a pickled
    model object (not a state dict) is CSTrack's released format.

    Raises:
        CheckpointError: a file no discmot reader reads (a safetensors file without discmot metadata, a
            damaged or unreadable file): it is not "unknown" but unusable, and the error says why.
    """
    path = Path(path)
    if path.suffix.lower() == ".safetensors":
        kind = safetensors_metadata(path).get("kind")
        if kind is not None:  # told by the header alone: the tensors are not read
            return kind
        state, _ = read_safetensors(path)
    else:
        data = read_torch_file(path)
        if isinstance(data, Mapping) and "model_kind" in data:
            return str(data["model_kind"])
        state = state_entry(data) if isinstance(data, Mapping) else {}
        if not isinstance(state, Mapping):
            return "cstrack"  # a pickled model object
        state = without_wrapper_prefix(state)
    if looks_like_cstrack(state):
        return "cstrack"
    # a DETR-only pre-train is FDTA's detector: FDTA's loader then says how to use it
    return "fdta" if looks_like_fdta(state) or DETR_ONLY_MARKER in state else "unknown"


def carried_metadata(path: str | Path) -> dict[str, str]:
    """The metadata of a discmot file that a conversion carries over: a ``.safetensors`` file's
    ``__metadata__``, an official file's ``discmot_metadata`` entry (`write_official`), or what a run's
    final weights would hold for a ``discmot train`` checkpoint (`training_metadata`), less
    `OWN_METADATA`; ``{}`` for a file without any (an official release, a pickled CSTrack model). Before
    2026-11-24 ``discmot convert`` dropped it: a trained model's ``train_config`` and ``global_step`` were
    lost in a round trip through ``.pth`` and in the conversion of a training checkpoint.

    The ``.pth`` is read memory-mapped, so its tensors are not read a second time after the model's
    loading; a file that cannot be (the legacy non-zip format, which discmot never writes) holds none.
    """
    path = Path(path)
    found: Mapping[str, str] | None  # a .pth's entry is checked to be so below
    if path.suffix.lower() == ".safetensors":
        found = safetensors_metadata(path)
    else:
        try:
            data = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except Exception:  # noqa: BLE001 - the model loaded already; a file torch.load refuses has none
            return {}
        if isinstance(data, Mapping) and data.get("format") == TRAINING_FORMAT:
            return training_metadata(data)
        found = data.get(OFFICIAL_METADATA_KEY) if isinstance(data, Mapping) else None
        if found is not None and not (
            isinstance(found, Mapping) and all(isinstance(v, str) for v in found.values())
        ):
            log.warning(
                "%s: its %s entry is not a dict of strings; not carried over", path, OFFICIAL_METADATA_KEY
            )
            return {}
    return {str(k): v for k, v in (found or {}).items() if k not in OWN_METADATA}


def save_model(
    path: str | Path, model: nn.Module, kind: str, metadata: Mapping[str, str] | None = None
) -> None:
    """Writes a discmot model (``model.config`` its config) as discmot safetensors (``.safetensors``) or
    in the official format (any other suffix), with a discmot file's other ``metadata``
    (`carried_metadata`: a trained model's ``train_config``...) in either."""
    if Path(path).suffix.lower() == ".safetensors":
        write_safetensors(path, model, model.config, kind, metadata)
    else:
        write_official(path, model, model.config, metadata)
