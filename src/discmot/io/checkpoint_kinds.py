"""What kind of checkpoint a state dict is (FDTA, MOTIP, a DETR-only pre-train, CSTrack/YOLOv5), told from
its keys and config-dependent shapes alone: the hint an error gives when a file does not fit the model,
the preset an official FDTA file was trained with (spec ``fdta.md`` §7.3).

A whole file's kind (from its metadata, or from these) is `discmot.io.checkpoint_files.guess_file_kind`.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

DETR_ONLY_MARKER = "bbox_embed.0.layers.0.weight"
FDTA_PREFIXES = ("detr.", "id_decoder.", "trajectory_embedding.", "trajectory_modeling.")


def kind_hint(state: Mapping[str, torch.Tensor], kind: str = "FDTA") -> str:
    """A hint at what a state dict is, from its keys and the config-dependent shapes."""
    keys = list(state)
    if kind.lower().startswith("cstrack") and any(k.startswith(FDTA_PREFIXES) for k in keys):
        return " (this looks like an FDTA checkpoint: load it as an FDTA model, e.g. --model fdta)"
    if looks_like_cstrack(state):
        return "" if kind.lower().startswith("cstrack") else " (this looks like a CSTrack/YOLOv5 checkpoint)"
    bins = state.get("detr.depth_predictor.depth_bin_values")
    window = state.get("id_decoder.rel_pos_embeds")
    if bins is not None or window is not None:
        guess = infer_fdta_preset(state)
        return f" (this looks like an FDTA {guess} checkpoint; use that preset)" if guess else ""
    if DETR_ONLY_MARKER in state:
        return " (this looks like a DETR-only pre-train: load it with --detr-pretrain)"
    return ""


def infer_fdta_preset(state: Mapping[str, torch.Tensor]) -> str | None:
    """``dancetrack``, ``sportsmot`` or ``bft`` from the config-dependent shapes (spec §7.3), else None.

    MOTIP files (no depth bins) are told apart by the ID decoder's window alone (30 / 60 / 20)."""
    bins = state.get("detr.depth_predictor.depth_bin_values")
    window = state.get("id_decoder.rel_pos_embeds")
    if window is None:
        return None
    by_window = {30: ("dancetrack", 151), 60: ("sportsmot", 151), 20: ("bft", 121)}
    name, bin_rows = by_window.get(window.shape[1], (None, None))
    return name if bins is None or bins.shape[0] == bin_rows else None


def is_motip_state(state: Mapping[str, torch.Tensor]) -> bool:
    """True for a MOTIP model (an FDTA state dict without the Spatial and Temporal Adapters' keys)."""
    keys = list(state)
    has_id_decoder = any(k.startswith("id_decoder.") for k in keys)
    has_adapters = any(k.startswith(("detr.depth_predictor.", "trajectory_embedding.")) for k in keys)
    return has_id_decoder and not has_adapters


def looks_like_cstrack(state: Mapping[str, torch.Tensor]) -> bool:
    """True for YOLOv5/CSTrack state dicts (``model.<i>.`` keys with ``cv`` blocks or the REN layers)."""
    return any(k.startswith("model.") and (".cv" in k or k.startswith("model.24.")) for k in state)


def looks_like_fdta(state: Mapping[str, torch.Tensor]) -> bool:
    """True for FDTA/MOTIP state dicts (``detr.`` keys: the Deformable DETR inside)."""
    return any(k.startswith("detr.") for k in state)
