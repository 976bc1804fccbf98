"""Loading, saving and converting CSTrack checkpoints (spec ``cstrack.md`` §9).

Formats read by `load_cstrack`:

* the **2022 trainer**'s ``{"model": state_dict, ...}`` (or a bare state dict), read with
  ``torch.load(weights_only=True)``;
* the **2020-21 trainer**'s ``{"model": <pickled fp16 nn.Module>, "epoch": -1, ...}`` (most likely the
  released ``cstrack.pt``), read by `discmot.io.pickled.read_pickled_model`: an allow-listed unpickler
  whose model classes are inert stand-ins, so nothing in the file is executed;
* discmot's ``.safetensors`` (kind ``cstrack``, the config inside) and ``discmot train`` checkpoints.

Official weights are cast to fp32 and matched strictly against the model (every key and shape; the error
lists the differences and says when the file is an FDTA checkpoint), with the two exceptions of the
official loader: the ``anchors``/``anchor_grid`` buffers come from the model's config (the file's values
are ignored, only their shapes are checked), and ``model.28.k``, absent from the 2020 release, keeps its
initial value 10 (which selects the same decoding the 2020 code had).

Every format's anchors go through `with_config_anchors`, discmot's own files too: the training EMA
averages every floating-point buffer (spec §6.7, as YOLOv5 does), which moves the constant anchors by an
ulp, so a run's ``model.safetensors`` held anchors 1 ulp off the config's and a conversion through
``.pt`` (official loading) gave other bits than a direct one. Any CSTrack model discmot loads now has the
config's anchors, the values the original's loader gives, whatever file it came from.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import torch

from discmot.io import (
    checkpoint_files,
    checkpoints,
    official_format,
    pickled,
    safetensors_format,
    training_checkpoints,
)
from discmot.models.cstrack.config import PRESETS, CSTrackConfig, config_from_dict, scale_depth, scale_width
from discmot.models.cstrack.model import CSTrack, build_cstrack

log = logging.getLogger(__name__)

KIND = "cstrack"
HEAD_K_KEY = "model.28.k"
# Config widths told by one key's output channels each: config field -> (key, its value in a config).
# `_fits` matches a file to a preset by them.
WIDTH_PROBES = {
    "embedding_dim": ("model.27.node.2.weight", lambda config: config.embedding_dim),
    "saan_channels": ("model.27.proj1.0.conv.weight", lambda config: config.saan_channels),
    "stem width (64 x width_multiple)": (
        "model.0.conv.conv.weight",
        lambda config: scale_width(64, config.width_multiple),
    ),
}
# The config fields a released or fine-tuned file may differ in, told by one key's shape each
# (`checkpoints.config_mismatch`); the detection head has 3 anchors x (num_classes + 5) outputs per level.
CONFIG_PROBES = {
    **{field: (key, lambda shape: shape[0]) for field, (key, _) in WIDTH_PROBES.items()},
    "num_classes": ("model.28.m.0.weight", lambda shape: shape[0] // 3 - 5),
}
# Checkpoints of ``discmot train``.
TRAINING_FORMAT = training_checkpoints.TRAINING_FORMAT


def load_cstrack(path: str | Path, preset_name: str | None = None) -> CSTrack:
    """A CSTrack model with the weights of ``path`` (any format above), in eval mode.

    ``preset_name`` chooses the architecture of an official file; by default it is inferred from the
    shapes (`infer_cstrack_preset`), falling back to ``cstrack``.
    """
    path = Path(path)
    if path.suffix.lower() == ".safetensors":
        return _load_safetensors(path)
    data = pickled.read_torch_file(path)
    if isinstance(data, Mapping) and data.get("format") == TRAINING_FORMAT:
        return _load_training_checkpoint(path, data)
    state = official_state(data, path)
    stored = official_format.official_config(data, path, preset_name)
    if stored is not None:
        model = CSTrack(config_from_dict(stored))
    else:
        model = build_cstrack(preset_name or infer_cstrack_preset(state) or "cstrack")
    load_official_state(model, state, path)
    return model.eval()


def read_official_state(path: str | Path) -> dict[str, torch.Tensor]:
    """The fp32 state dict of an official-format file (plain or pickled model), no model built: e.g. a
    COCO YOLOv5 checkpoint to initialise training from (`discmot.models.cstrack.training`)."""
    path = Path(path)
    return official_state(pickled.read_torch_file(path), path)


def official_state(data, path: str | Path) -> dict[str, torch.Tensor]:
    """The fp32 state dict of an official file's content (``{"model": ...}``, ``{"state_dict": ...}`` or a
    bare state dict), without the ``module.`` prefix of a model saved inside ``DataParallel``/DDP.

    ``model`` may be a state dict or a pickled module (a `discmot.io.pickled.PickledObject`).
    """
    entry = checkpoints.state_entry(data)
    if isinstance(entry, pickled.PickledObject):
        state = pickled.pickled_state_dict(entry)
    elif isinstance(entry, Mapping) and all(isinstance(v, torch.Tensor) for v in entry.values()):
        state = dict(entry)
    else:
        state = {}
    if not state:
        raise checkpoints.CheckpointError(
            f"{path}: no CSTrack weights in it (expected a 'model' entry holding a state dict or a model)"
        )
    state = checkpoints.without_wrapper_prefix(state)
    narrow = sum(v.dtype in (torch.float16, torch.bfloat16) for v in state.values())
    if narrow:  # said because a converted file is then twice the size of the released one
        log.info("%s: %d half-precision tensors, widened to fp32 (exactly)", path, narrow)
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def load_official_state(model: CSTrack, state: Mapping[str, torch.Tensor], source: str | Path) -> None:
    """Loads an official state dict strictly, with the official loader's two exceptions (module docstring)."""
    expected = model.state_dict()
    state = with_config_anchors(model, state, source)
    without_k = HEAD_K_KEY not in state and HEAD_K_KEY in expected
    if without_k:
        state[HEAD_K_KEY] = expected[HEAD_K_KEY]
    guess = infer_cstrack_preset(state)
    if guess is not None and guess != model.config.name:
        hint: str | None = f"this looks like a CSTrack {guess} checkpoint; use that preset"
    else:
        hint = checkpoints.config_mismatch(model, state, CONFIG_PROBES, model.config.name)
    checkpoints.load_strict(model, state, source, kind="CSTrack", hint=hint)
    if without_k:  # said once the file is known to be CSTrack's (an FDTA file has no such key either)
        log.info("%s: no %s (2020 release); keeping k = %g", source, HEAD_K_KEY, float(expected[HEAD_K_KEY]))


def with_config_anchors(
    model: CSTrack, state: Mapping[str, torch.Tensor], source: str | Path
) -> dict[str, torch.Tensor]:
    """``state`` with its ``anchors`` ``[3, 3, 2]`` and ``anchor_grid`` ``[3, 1, 3, 1, 1, 2]`` replaced by
    those of ``model``, a model just built from its config (`DetectionHead` computes them: the one place
    they are made); a file's anchors that differ by more than rounding are said in a warning.

    ``model`` must not have loaded weights yet. A key of another shape is left for the strict comparison
    to report, a missing one is filled in.
    """
    expected = model.state_dict()
    state = dict(state)
    for key in [k for k in expected if "anchor" in k]:
        given = state.get(key)
        if given is not None and given.shape != expected[key].shape:
            continue  # left in place: the strict comparison reports it
        if given is not None and not torch.allclose(given, expected[key]):
            log.warning("%s: %s differs from the config's anchors; the config's are used", source, key)
        state[key] = expected[key].clone()
    return state


def infer_cstrack_preset(state: Mapping[str, torch.Tensor]) -> str | None:
    """The preset whose architecture fits the state dict's widths, depth and embedding size, or None."""
    for name, config in PRESETS.items():
        if _fits(config, state):
            return name
    return None


def _fits(config: CSTrackConfig, state: Mapping[str, torch.Tensor]) -> bool:
    """Compares the config-dependent shapes: stem width, SAAN width, embedding size, repeats of layer 4."""
    for key, value_in in WIDTH_PROBES.values():
        if key not in state or state[key].shape[0] != value_in(config):
            return False
    repeats = {k.split(".")[3] for k in state if k.startswith("model.4.m.")}
    return len(repeats) == scale_depth(9, config.depth_multiple)


def _load_safetensors(path: Path) -> CSTrack:
    tensors, metadata = safetensors_format.read_safetensors(path)
    if metadata.get("kind") != KIND:
        raise checkpoints.CheckpointError(
            f"{path}: a discmot {metadata.get('kind')!r} checkpoint, not CSTrack"
        )
    model = CSTrack(safetensors_format.config_of(metadata.get("config"), path, config_from_dict))
    state = with_config_anchors(model, checkpoints.fill_aliases(model, tensors), path)
    checkpoints.load_strict(model, state, path, kind="CSTrack")
    return model.eval()


def _load_training_checkpoint(path: Path, data: Mapping) -> CSTrack:
    """The network of a ``discmot train`` checkpoint: its ``model_config``, keys under the ``model.`` prefix
    of the training wrapper (the loss's parameters, e.g. the ID classifier, are dropped). The EMA weights
    when the checkpoint has them (what the original's checkpoints hold, spec §6.7), else the live ones."""
    config = data.get("model_config")
    if data.get("model_kind") != KIND or not config:
        raise checkpoints.CheckpointError(f"{path}: a discmot training checkpoint, but not of CSTrack")
    model = CSTrack(config_from_dict(config))
    state = training_checkpoints.training_network_state(data)
    checkpoints.load_strict(model, with_config_anchors(model, state, path), path, kind="CSTrack")
    return model.eval()


def save_cstrack(path: str | Path, model: CSTrack) -> None:
    """Writes ``model`` as discmot safetensors (``.safetensors``) or as an official 2022-format state dict."""
    checkpoint_files.save_model(path, model, KIND)


def convert(source: str | Path, target: str | Path, preset_name: str | None = None) -> CSTrack:
    """Converts between the official formats and discmot's, returning the loaded model.

    Official -> official also works: it turns a pickled fp16 model into a plain fp32 state dict. A
    discmot file's other metadata (a trained model's ``train_config``...) goes along
    (`checkpoint_files.carried_metadata`).
    """
    model = load_cstrack(source, preset_name)
    checkpoint_files.save_model(target, model, KIND, checkpoint_files.carried_metadata(source))
    return model
