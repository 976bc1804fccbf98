"""FDTA's detection-side criterion (the official ``SetCriterion``): DETR losses, depth, Identity Adapter.

One call per clip batch after all frames went through DETR (spec ``fdta.md`` §4.1 step 9). The ID loss
is separate (`discmot.models.fdta.losses.id_loss`, after the ID decoder). The criterion owns the
Identity Adapter's CFE (``track_embed``): its parameters train with the model (default optimizer group)
but are not part of the model's state dict, and are not gradient-clipped (§3.3).
"""

from __future__ import annotations

import torch
from torch import nn

from discmot.models.detr.criterion import DETRCriterion
from discmot.models.detr.matcher import HungarianMatcher, Match
from discmot.models.fdta.config import FDTAConfig
from discmot.models.fdta.losses import IdentityAdapter, depth_loss, identity_adapter_chunk_loss

# Official ``DEPTH_FG_WEIGHT`` per dataset preset (the paper says 7 for all).
DEPTH_FG_WEIGHTS = {"dancetrack": 6.0, "sportsmot": 7.0, "bft": 10.0}


class FDTACriterion(nn.Module):
    """``loss_ce/bbox/giou`` (+ ``_i`` per aux layer), ``loss_depth`` and ``loss_contrastive``."""

    def __init__(
        self,
        config: FDTAConfig,
        depth_fg_weight: float,
        batch_len: int = 10,
        tau: float = 0.1,
        matcher: HungarianMatcher | None = None,
    ):
        super().__init__()
        self.spatial = config.spatial
        self.depth_fg_weight = depth_fg_weight
        self.batch_len = batch_len
        self.tau = tau
        self.detr = DETRCriterion(matcher)
        self.track_embed = IdentityAdapter(config.detr.hidden_dim)

    def forward(
        self,
        outputs: dict,
        targets: list[dict],
        num_boxes: float,
        epoch: int,
        depth_maps: torch.Tensor | None = None,
    ) -> tuple[dict[str, torch.Tensor], list[Match]]:
        """Loss dict and the final layer's matches for ``B`` frames in temporal order.

        Args:
            outputs: `DeformableDETR.detect` output (``pred_logits``, ``pred_boxes``, ``aux_outputs``,
                ``outputs``, ``pred_depth_map_logits``).
            targets: ``B`` dicts with ``labels [n_b]``, ``boxes [n_b, 4]`` (normalised cxcywh), ``id [n_b]``.
            num_boxes: GT boxes of the clip batch averaged over processes.
            epoch: 0-based epoch (the contrastive loss is 0 in epoch 0).
            depth_maps: ``[B, 1, H, W]`` raw pseudo-depth; ``None`` skips ``loss_depth``.
        """
        losses, matches = self.detr(outputs, targets, num_boxes)
        depth_logits = outputs.get("pred_depth_map_logits")
        if depth_logits is not None and depth_maps is not None:
            spatial = self.spatial
            losses["loss_depth"] = depth_loss(
                depth_logits,
                depth_maps,
                [target["boxes"] for target in targets],
                self.depth_fg_weight,
                spatial.bins,
                spatial.depth_min,
                spatial.depth_max,
                num_boxes,
                batch_len=self.batch_len,
            )
        losses["loss_contrastive"] = identity_adapter_chunk_loss(
            outputs["outputs"],
            matches,
            [target["id"] for target in targets],
            self.track_embed,
            epoch=epoch,
            tau=self.tau,
            batch_len=self.batch_len,
        )
        return losses, matches
