"""FDTA: Deformable DETR with the Spatial Adapter, the Temporal Adapter and MOTIP's ID decoder.

Module tree (the names are the state-dict prefixes of the official checkpoints, spec ``fdta.md`` §1, §7):

* ``detr`` (`DeformableDETR`): ResNet-50, deformable encoder/decoder with box refinement, and the
  **Spatial Adapter** (``detr.depth_predictor`` plus one depth cross-attention per decoder layer);
* ``trajectory_embedding`` (`TemporalAdapter`): the **Temporal Adapter** over each trajectory's history;
* ``trajectory_modeling`` (`TrajectoryModeling`): MOTIP's FFN adapter on history tokens;
* ``id_decoder`` (`IDDecoder`): MOTIP's ID decoder (50 ID labels + newborn).

The **Identity Adapter** is training-only (a contrastive loss on the DETR embeddings, in the criterion).
Each stage is an explicit method on plain tensors: `FDTA.detect` (frames -> detections and embeddings)
and `FDTA.id_logits` (history and current embeddings -> ID label logits). A model knows nothing of
files, devices or processes.
"""

from __future__ import annotations

import torch
from torch import nn

from discmot.models import parameter_count as parameter_count  # re-exported: callers import it here
from discmot.models.detr.deformable_detr import DeformableDETR
from discmot.models.fdta.config import FDTAConfig, preset
from discmot.models.fdta.id_decoder import IDDecoder
from discmot.models.fdta.temporal_adapter import TemporalAdapter
from discmot.models.fdta.tracking_head import predict_id_logits
from discmot.models.fdta.trajectory_modeling import TrajectoryModeling


class FDTA(nn.Module):
    """The FDTA tracker network (detector + ID prediction); see the module docstring."""

    def __init__(self, config: FDTAConfig):
        super().__init__()
        self.config = config
        feature_dim = config.detr.hidden_dim
        self.detr = DeformableDETR(config)
        self.trajectory_embedding = TemporalAdapter(config.temporal, feature_dim)
        self.trajectory_modeling = TrajectoryModeling(feature_dim, config.id_decoder.ffn_dim_ratio)
        self.id_decoder = IDDecoder(config.id_decoder)

    def detect(self, images: torch.Tensor, mask: torch.Tensor | None = None) -> dict:
        """DETR on frames ``[B, 3, H, W]`` (ImageNet-normalised RGB; ``mask [B, H, W]`` True = padding).

        Returns ``pred_logits [B, Q, 1]``, ``pred_boxes [B, Q, 4]`` (normalised cx, cy, w, h),
        ``aux_outputs``, ``outputs [B, Q, F]`` (object embeddings), ``pred_depth_map_logits`` and
        ``weighted_depth`` (``None`` without the Spatial Adapter).
        """
        return self.detr.detect(images, mask)

    def id_logits(
        self,
        history_features: torch.Tensor,
        history_labels: torch.Tensor,
        history_times: torch.Tensor,
        history_masks: torch.Tensor,
        unknown_features: torch.Tensor,
        unknown_times: torch.Tensor,
        unknown_masks: torch.Tensor,
    ) -> torch.Tensor:
        """ID-label logits of current detections given the trajectory history (spec §2.7, §5.2 step 2).

        Args:
            history_features: ``[1, G, T, N, F]`` DETR embeddings of the history (zeros where masked).
            history_labels: ``[1, G, T, N]`` their ID labels (0..K-1).
            history_times, history_masks: ``[1, G, T, N]`` frame index and True where absent.
            unknown_features: ``[1, G, T', M, F]`` embeddings of the detections to identify.
            unknown_times, unknown_masks: ``[1, G, T', M]``.

        Returns:
            ``[1, G, T', M, K + 1]`` logits; label ``K`` means newborn.
        """
        return predict_id_logits(
            self.trajectory_embedding,
            self.trajectory_modeling,
            self.id_decoder,
            history_features,
            history_labels,
            history_times,
            history_masks,
            unknown_features,
            unknown_times,
            unknown_masks,
        )

    forward = detect


def build_fdta(config: FDTAConfig | str = "dancetrack") -> FDTA:
    """An FDTA model from a config or a preset name, randomly initialised (nothing is downloaded)."""
    return FDTA(preset(config) if isinstance(config, str) else config)
