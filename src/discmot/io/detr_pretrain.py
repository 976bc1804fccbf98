"""MOTIP's DETR-only pre-trains, which ``--detr-pretrain`` starts FDTA training from.

They have no ``detr.`` prefix; they are recognised and prefixed, and the 91-class COCO head is sliced to
the person row (spec ``fdta.md`` §7.1). Keys they lack keep their initialisation.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from discmot.io.checkpoint_kinds import DETR_ONLY_MARKER
from discmot.io.checkpoints import (
    CheckpointError,
    alias_conflicts,
    fill_aliases,
    mismatch_message,
    read_official,
)
from discmot.io.safetensors_format import read_safetensors

COCO_PERSON_ROW = 1


def read_detr_pretrain(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors ``--detr-pretrain`` starts FDTA training from.

    A ``.safetensors`` file is a discmot FDTA weights file (a ``step.only_detr`` run's output, or any
    trained FDTA): only its detector, the ``detr.*`` tensors, is taken. Anything else is read by
    `read_official` (MOTIP's DETR-only pre-trains, official FDTA/MOTIP checkpoints) and taken whole.
    """
    path = Path(path)
    if path.suffix.lower() != ".safetensors":
        return read_official(path)
    tensors, metadata = read_safetensors(path)
    kind = metadata.get("kind", "fdta")
    if kind != "fdta":
        raise CheckpointError(f"{path}: {kind} weights; a DETR pre-train must be FDTA weights")
    detector = {key: value for key, value in tensors.items() if key.startswith("detr.")}
    if not detector:
        raise CheckpointError(f"{path}: no detector (detr.*) tensors in it")
    return detector


def load_detr_pretrain(model: nn.Module, state: Mapping[str, torch.Tensor], source: str | Path) -> list[str]:
    """Loads a DETR-only pre-train into an FDTA model; returns the model keys it did not provide (a key
    sharing its tensor with a provided one, as discmot files store shared tensors once, counts as
    provided)."""
    adapted = fill_aliases(model, adapt_detr_only(state))
    expected = model.state_dict()
    extra = [k for k in adapted if k not in expected]
    wrong = [k for k in adapted if k in expected and adapted[k].shape != expected[k].shape]
    problems = [*extra, *wrong] or alias_conflicts(model, adapted)
    if problems:
        raise CheckpointError(mismatch_message(source, "DETR pre-train", problems, adapted))
    merged = {**expected, **adapted}
    model.load_state_dict(merged, strict=True)
    return [k for k in expected if k not in adapted]


def adapt_detr_only(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """MOTIP's DETR pre-train keys -> FDTA keys: ``detr.`` prefix, COCO head sliced to one class."""
    if DETR_ONLY_MARKER not in state:
        return dict(state)
    adapted = {}
    for key, value in state.items():
        if key.startswith("class_embed.") and value.shape[0] == 91:
            value = value[COCO_PERSON_ROW : COCO_PERSON_ROW + 1].clone()
        adapted[f"detr.{key}"] = value
    return adapted
