"""What discmot's loaders and conversions read from a ``discmot train`` checkpoint's content, without the
engine (`discmot.engine.checkpointing` writes it): its format tag, the network's weights, the metadata
the run's final weights would hold.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import torch

from discmot.io.safetensors_format import OWN_METADATA

#: A ``discmot train`` checkpoint's ``format`` entry (`discmot.engine.checkpointing.FORMAT`, which the
#: writer takes from here: the models' loaders recognise training checkpoints without the engine).
TRAINING_FORMAT = "discmot-train-checkpoint"


#: A training checkpoint's entry of the final weights' extra metadata
#: (`discmot.engine.checkpointing.WEIGHTS_METADATA_KEY`, likewise).
TRAINING_WEIGHTS_METADATA = "weights_metadata"


def training_metadata(data: Mapping) -> dict[str, str]:
    """The metadata a run's final weights hold (`discmot.engine.checkpointing.write_weights`), from the
    content of one of the run's training checkpoints: ``train_config`` (its ``config`` entry, the
    resolved training config, as JSON: the same text), the model's extra strings (its
    ``weights_metadata`` entry: FDTA ``only_detr``'s ``stage: detector``) and ``global_step`` (the step it
    was written at). A field the checkpoint lacks is left out (a checkpoint written before 2026-11-24 has
    no ``weights_metadata``), as are extra entries that are not strings or that the file format sets
    itself (`OWN_METADATA`).

    Without them the conversion of ``checkpoints/epoch-NNN.pt`` told nothing of where its weights came
    from, when the run's ``model.safetensors`` and its conversions do (2026-11-24); an ``only_detr``
    run's checkpoint converted to weights that loaded without the warning that its ID decoder is untrained.
    """
    metadata = {}
    if isinstance(data.get("config"), Mapping):
        metadata["train_config"] = json.dumps(data["config"])
    extra = data.get(TRAINING_WEIGHTS_METADATA)
    if isinstance(extra, Mapping):  # after train_config, before global_step: write_weights' precedence
        metadata.update(
            {
                k: v
                for k, v in extra.items()
                if isinstance(k, str) and isinstance(v, str) and k not in OWN_METADATA
            }
        )
    if isinstance(data.get("global_step"), int):
        metadata["global_step"] = str(data["global_step"])
    return metadata


def training_network_state(data: Mapping) -> dict[str, torch.Tensor]:
    """The network's tensors in a ``discmot train`` checkpoint's content, less the training wrapper's
    ``model.`` prefix (the criterion's own parameters are left out): the EMA's where the run kept one, as
    its final weights file holds them (and the original's checkpoints, spec ``cstrack.md`` §6.7), else the
    live ones."""
    ema = data.get("ema")
    weights = ema["model"] if isinstance(ema, Mapping) and ema.get("model") else data["model"]
    return {key[len("model.") :]: value for key, value in weights.items() if key.startswith("model.")}
