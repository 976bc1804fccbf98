"""The ID-prediction path of FDTA (spec ``fdta.md`` §2.1, §3.2, §5.2 step 2), on plain tensors.

History embeddings go Temporal Adapter -> FFN adapter and are joined with the ID embedding of their label
(trajectory tokens); current detections are joined, raw, with the newborn word's embedding (unknown tokens);
the ID decoder classifies the unknown tokens. Training (``G`` groups) and the runtime tracker (``G = 1``)
share these functions.
"""

from __future__ import annotations

import torch

from discmot.models.fdta.id_decoder import IDDecoder
from discmot.models.fdta.temporal_adapter import TemporalAdapter
from discmot.models.fdta.trajectory_modeling import TrajectoryModeling


def history_tokens(
    temporal_adapter: TemporalAdapter,
    trajectory_modeling: TrajectoryModeling,
    id_decoder: IDDecoder,
    features: torch.Tensor,
    labels: torch.Tensor,
    masks: torch.Tensor,
) -> torch.Tensor:
    """Trajectory tokens ``[B, G, T, N, F + id_dim]`` = ``[FFN(TA(features)) ‖ E_id(labels)]``.

    ``features [B, G, T, N, F]`` (zeros where missing), ``labels [B, G, T, N]`` long, ``masks [B, G, T, N]``
    bool (True = missing).
    """
    encoded = trajectory_modeling(temporal_adapter(features, masks))
    return torch.cat([encoded, id_decoder.id_embeddings(labels)], dim=-1)


def unknown_tokens(id_decoder: IDDecoder, features: torch.Tensor) -> torch.Tensor:
    """Detection tokens ``[..., F + id_dim]`` = ``[features ‖ E_id(K)]`` for raw ``features [..., F]``."""
    newborn = torch.full(
        features.shape[:-1], id_decoder.newborn_label, dtype=torch.long, device=features.device
    )
    return torch.cat([features, id_decoder.id_embeddings(newborn).to(features.dtype)], dim=-1)


def predict_id_logits(
    temporal_adapter: TemporalAdapter,
    trajectory_modeling: TrajectoryModeling,
    id_decoder: IDDecoder,
    history_features: torch.Tensor,
    history_labels: torch.Tensor,
    history_times: torch.Tensor,
    history_masks: torch.Tensor,
    unknown_features: torch.Tensor,
    unknown_times: torch.Tensor,
    unknown_masks: torch.Tensor,
) -> torch.Tensor:
    """ID-label logits of the current detections given the trajectory history.

    Args:
        history_features: ``[B, G, T, N, F]`` DETR embeddings of the history (zeros where missing);
            the runtime tracker passes ``B = G = 1``.
        history_labels: ``[B, G, T, N]`` long ID labels (0..K-1).
        history_times: ``[B, G, T, N]`` long frame indices.
        history_masks: ``[B, G, T, N]`` bool, True = missing.
        unknown_features: ``[B, G, T', M, F]`` raw DETR embeddings of the detections (tracker: ``T' = 1``).
        unknown_times: ``[B, G, T', M]`` long frame indices (tracker: ``T``, after the history).
        unknown_masks: ``[B, G, T', M]`` bool, True = padding.

    Returns:
        ``[B, G, T', M, K + 1]`` logits; column ``K`` is "newborn".
    """
    history = history_tokens(
        temporal_adapter, trajectory_modeling, id_decoder, history_features, history_labels, history_masks
    )
    unknown = unknown_tokens(id_decoder, unknown_features)
    return id_decoder(history, history_times, history_masks, unknown, unknown_times, unknown_masks)
