"""Writing the official format: ``{"model": state_dict}``, which the original code reads, with discmot's
config and other metadata beside it (which the original ignores), and reading that config back.

Official files are read by `discmot.io.checkpoints.read_official`. Every write is atomic (temporary file +
rename): a crash never leaves a half-written checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from discmot.io.atomic import atomic_open, naming
from discmot.io.safetensors_format import stored_config

# the logger of `discmot.io.checkpoints`, which held these functions: users filter logs by its name
log = logging.getLogger("discmot.io.checkpoints")

#: Where `write_official` keeps a discmot config beside an official file's ``"model"`` entry.
OFFICIAL_CONFIG_KEY = "discmot_config"

#: Where `write_official` keeps a discmot file's other metadata (``train_config``, ``global_step``...).
OFFICIAL_METADATA_KEY = "discmot_metadata"


def write_official(
    path: str | Path, model: nn.Module, config=None, metadata: Mapping[str, str] | None = None
) -> None:
    """Writes ``{"model": state_dict}`` with every key, shared tensors under each of their names.

    With ``config`` (the model's, a dataclass) the file also holds it as JSON under ``discmot_config``:
    the original code reads only ``"model"``, and `official_config` gives discmot the exact architecture
    back (a model that fits no preset, e.g. the bundled tiny FDTA, could not be rebuilt from shapes).
    With ``metadata`` (a discmot file's other strings: `discmot.io.checkpoint_files.carried_metadata`) it
    also holds them as a dict of strings under ``discmot_metadata``, which the original's loaders ignore
    too (both read only ``"model"``, spec fdta.md §7.1, cstrack.md §9), so a convert round trip keeps e.g.
    ``train_config``.
    """
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    content: dict[str, object] = {"model": state}
    if config is not None:
        content[OFFICIAL_CONFIG_KEY] = json.dumps(dataclasses.asdict(config))
    if metadata:
        content[OFFICIAL_METADATA_KEY] = {str(k): str(v) for k, v in metadata.items()}
    with atomic_open(path, "wb") as handle:
        save_torch(content, handle, path)


def save_torch(content, handle, path: str | Path) -> None:
    """``torch.save(content, handle)`` whose write errors name ``path``: torch's zip writer turns a full
    disk into ``RuntimeError: [enforce fail at inline_container.cc] . unexpected pos ...``, naming no
    file, with the `OSError` only as its context; that error is raised instead, naming ``path``."""
    try:
        torch.save(content, handle)
    except RuntimeError as error:
        cause = error.__cause__ or error.__context__
        if not isinstance(cause, OSError):
            raise
        raise naming(cause, path) from None


def official_config(data, path: str | Path, preset_name: str | None = None) -> dict | None:
    """The config dict `write_official` stored in an official file's content, or None; a preset the
    caller asked for is not used when the file holds its own config (said with a warning)."""
    text = data.get(OFFICIAL_CONFIG_KEY) if isinstance(data, Mapping) else None
    if not isinstance(text, str):
        return None
    if preset_name is not None:
        log.warning("%s: the file holds its config; --preset %s is not used", path, preset_name)
    return stored_config(text, path)
