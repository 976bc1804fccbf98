"""Loading, saving and converting FDTA checkpoints (official ``.pth`` and discmot ``.safetensors``).

The preset of an official file is taken from the caller or inferred from the config-dependent shapes
(LID bins, relative-bias window; spec ``fdta.md`` §7.3), else from every key and shape where exactly one
preset has them (the tiny preset). Loading is strict: every key and shape must
match (`discmot.io.checkpoints.CheckpointError` lists the differences otherwise).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from discmot.io import (
    checkpoint_files,
    checkpoint_kinds,
    checkpoints,
    official_format,
    safetensors_format,
    training_checkpoints,
)
from discmot.io.pickled import read_torch_file
from discmot.models.fdta.config import config_from_dict, preset, with_adapters
from discmot.models.fdta.model import FDTA, build_fdta

log = logging.getLogger(__name__)

# The config fields a released or self-trained file may differ in, told by one key's shape each
# (`checkpoints.config_mismatch`): the ID vocabulary has one extra word (the newborn token).
CONFIG_PROBES = {
    "id_decoder.num_id_vocabulary": ("id_decoder.word_to_embed.weight", lambda shape: shape[1] - 1),
    "detr.num_classes": ("detr.class_embed.0.weight", lambda shape: shape[0]),
    "detr.hidden_dim": ("detr.transformer.level_embed", lambda shape: shape[1]),
    "detr.num_queries": ("detr.query_embed.weight", lambda shape: shape[0]),
    "id_decoder.rel_pe_length": ("id_decoder.rel_pos_embeds", lambda shape: shape[1]),
    "spatial.bins": ("detr.depth_predictor.depth_bin_values", lambda shape: shape[0] - 1),
}

# Here, not in the training module that writes it: the tracker's loading path would import training code
# (the matcher, scipy) for a constant.
DETECTOR_STAGE = "detector"
"""The ``stage`` metadata of weights written by a ``StepConfig.only_detr`` run (`load_fdta` warns)."""


def load_fdta(path: str | Path, preset_name: str | None = None) -> FDTA:
    """An FDTA model with the weights of ``path`` (official or discmot format), in eval mode."""
    path = Path(path)
    if path.suffix.lower() == ".safetensors":
        tensors, metadata = safetensors_format.read_safetensors(path)
        if metadata.get("kind") != "fdta":
            raise checkpoints.CheckpointError(
                f"{path}: a discmot {metadata.get('kind')!r} checkpoint, not FDTA"
            )
        model = FDTA(safetensors_format.config_of(metadata.get("config"), path, config_from_dict))
        checkpoints.load_strict(model, checkpoints.fill_aliases(model, tensors), path)
        _warn_if_detector_stage(path, metadata, "weights", "it")
        return model.eval()
    data = read_torch_file(path)  # an official file may hold the training script's args beside the weights
    if isinstance(data, dict) and data.get("format") == training_checkpoints.TRAINING_FORMAT:
        return _load_training_checkpoint(path, data)
    state = checkpoints.read_official(path, data)
    if checkpoint_kinds.DETR_ONLY_MARKER in state:
        raise checkpoints.CheckpointError(
            f"{path}: a Deformable-DETR pre-train (the detector alone, without FDTA's adapters and ID "
            "decoder), not FDTA weights: start training from it with discmot train --detr-pretrain"
        )
    model = build_fdta(_official_file_config(path, data, state, preset_name))
    # the hint builds other presets (seconds): only for a file that does not fit
    hint = _config_hint(model, state) if checkpoints.compare_state(model, state) else None
    checkpoints.load_strict(model, state, path, hint=hint)
    return model.eval()


def _config_hint(model: FDTA, state) -> str | None:
    """The preset whose network the file fits, else what it differs in (`checkpoints.config_mismatch`);
    None where its shapes point to another of the papers' presets (the default hint then names it)."""
    guess = checkpoint_kinds.infer_fdta_preset(state)
    if guess is not None and guess != model.config.name:
        return None
    fits = preset_that_fits(state, exclude=model.config.name)
    if fits is not None:  # e.g. the tiny preset, which the shapes of §7.3 do not tell
        return f"this looks like an FDTA {fits} checkpoint; use that preset, --preset {fits}"
    return checkpoints.config_mismatch(model, state, CONFIG_PROBES, model.config.name)


def preset_that_fits(state, exclude: str | None = None) -> str | None:
    """The first preset (other than ``exclude``) that `presets_that_fit` finds, or None."""
    fits = presets_that_fit(state, exclude)
    return fits[0] if fits else None


def presets_that_fit(state, exclude: str | None = None) -> list[str]:
    """The presets (other than ``exclude``) whose network has exactly ``state``'s keys and shapes, without
    its adapters for a MOTIP file; each is built on the meta device (shapes only: no memory, no weights).
    Building every preset takes seconds: only for a file whose shapes name no paper preset."""
    import torch

    from discmot.models.fdta.config import PRESETS

    fits = []
    for name in PRESETS:
        if name == exclude:
            continue
        config = preset(name)
        if checkpoint_kinds.is_motip_state(state):
            config = with_adapters(config, spatial=False, temporal=False)
        with torch.device("meta"):
            candidate = build_fdta(config)
        if not checkpoints.compare_state(candidate, state):
            fits.append(name)
    return fits


def _official_file_config(path: Path, data, state, preset_name: str | None):
    """The architecture of an official file: the config discmot wrote beside it, else ``preset_name``,
    else the paper preset its shapes point to (spec §7.3), else the one preset whose network has exactly
    its keys and shapes (the tiny preset's; said at INFO), else dancetrack's (whose differences the error
    then lists). MOTIP files: without the Spatial and Temporal Adapters."""
    stored = official_format.official_config(data, path, preset_name)
    if stored is not None:
        return config_from_dict(stored)
    name = preset_name or checkpoint_kinds.infer_fdta_preset(state)
    if name is None:
        fits = presets_that_fit(state)
        if len(fits) == 1:  # several (none today) or none: dancetrack's, and the error says why
            name = fits[0]
            log.info("%s: its keys and shapes are those of the %s preset: loaded as it", path, name)
    config = preset(name or "dancetrack")
    if checkpoint_kinds.is_motip_state(state):  # MOTIP, FDTA's base: the network without these two adapters
        config = with_adapters(config, spatial=False, temporal=False)
    return config


def _load_training_checkpoint(path: Path, data: dict) -> FDTA:
    """The network of a ``discmot train`` checkpoint (``checkpoints/epoch-NNN.pt``).

    Its config is the checkpoint's ``model_config``; the criterion's parameters (Identity Adapter MLP)
    are dropped. The EMA weights when the run kept an EMA (``train.ema_decay``), as its final
    ``model.safetensors`` holds them, else the live ones: the live ones were taken before 2026-11-24, so
    a checkpoint and the run's weights written at the same step converted to different models.
    """
    config = data.get("model_config")
    if data.get("model_kind", "fdta") != "fdta" or not config:
        raise checkpoints.CheckpointError(f"{path}: a discmot training checkpoint, but not of FDTA")
    model = FDTA(config_from_dict(config))
    state = training_checkpoints.training_network_state(data)
    checkpoints.load_strict(model, checkpoints.fill_aliases(model, state), path)
    # as for the run's weights file (a checkpoint written before 2026-11-24 cannot tell)
    _warn_if_detector_stage(
        path,
        training_checkpoints.training_metadata(data),
        "checkpoint",
        "the run's model.safetensors (or this checkpoint converted to .safetensors)",
    )
    return model.eval()


def _warn_if_detector_stage(path: Path, metadata: Mapping[str, str], what: str, start_from: str) -> None:
    """Weights of a ``step.only_detr`` run (``stage`` `DETECTOR_STAGE` in ``metadata``) track with an ID
    decoder that was never trained: said once they load, naming the ``what`` (weights, checkpoint) and
    what a full run starts from."""
    if metadata.get("stage") == DETECTOR_STAGE:
        log.warning(
            "%s: a detector pre-training run's %s (step.only_detr): the ID decoder was never trained, so "
            "the identities it gives are meaningless; start a full run from %s with discmot train "
            "--detr-pretrain",
            path,
            what,
            start_from,
        )


def save_fdta(path: str | Path, model: FDTA) -> None:
    """Writes ``model`` as discmot safetensors (``.safetensors``) or in the official format (otherwise)."""
    checkpoint_files.save_model(path, model, "fdta")


def convert(source: str | Path, target: str | Path, preset_name: str | None = None) -> FDTA:
    """Converts between the official format and discmot's, returning the loaded model; a discmot file's
    other metadata (a trained model's ``train_config``...) goes along
    (`checkpoint_files.carried_metadata`)."""
    model = load_fdta(source, preset_name)
    checkpoint_files.save_model(target, model, "fdta", checkpoint_files.carried_metadata(source))
    return model
