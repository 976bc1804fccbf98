"""Deformable DETR's set losses (spec ``fdta.md`` §2.9) and the loss-weight table of FDTA (§4.2).

For the final decoder layer and, each with its own Hungarian matching, every auxiliary layer ``i``
(keys suffixed ``_i``):

* ``loss_ce``: sigmoid focal loss (alpha 0.25, gamma 2) over all frames x queries x classes, matched
  queries having their class as target and every other query none; divided by ``num_boxes``;
* ``loss_bbox``: L1 distance of matched boxes (normalised cxcywh) / ``num_boxes``;
* ``loss_giou``: ``1 - GIoU`` of matched boxes / ``num_boxes``.

``num_boxes`` is the ground-truth box count of the whole clip batch, supplied by the caller (the engine
all-reduces it over processes, `count_boxes` gives the local value). The official criterion processes
frames in chunks of 10 and sums the chunk results; these three losses are sums over frames divided by
one global ``num_boxes``, so chunking does not change them and is not done here (it matters for the
Identity Adapter, see `discmot.models.fdta.losses`). DETR's logged-only ``class_error`` and
``cardinality_error`` are not computed: with one class and sigmoid logits they are constant (0 and the
mean GT count).
"""

from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from discmot.models.detr.matcher import HungarianMatcher, Match
from discmot.ops.boxes_torch import box_cxcywh_to_xyxy, paired_giou

DETR_LOSS_WEIGHTS = {"loss_ce": 2.0, "loss_bbox": 5.0, "loss_giou": 2.0}


def loss_weights(num_aux_layers: int = 5, id_weight: float = 1.0) -> dict[str, float]:
    """The weight of every loss term of FDTA (§4.2): DETR terms for the final and each auxiliary layer,
    then the depth (Spatial Adapter) and contrastive (Identity Adapter) losses, 1.0, and the ID loss,
    ``id_weight`` (``ID_LOSS_WEIGHT``, 1.0 in every official config)."""
    weights = dict(DETR_LOSS_WEIGHTS)
    for layer in range(num_aux_layers):
        weights.update({f"{key}_{layer}": value for key, value in DETR_LOSS_WEIGHTS.items()})
    weights.update(loss_depth=1.0, loss_contrastive=1.0, loss_id=id_weight)
    return weights


LOSS_WEIGHTS = loss_weights(5)
"""The official table (6 decoder layers = final + 5 auxiliary)."""


def weighted_total(losses: dict[str, torch.Tensor], weights: dict[str, float]) -> torch.Tensor:
    """``sum(weights[k] * losses[k])`` over the keys present in both (unweighted keys are logs only)."""
    # sum() starts from the int 0: a tensor as soon as one term is weighted (the DETR terms always are)
    return cast(torch.Tensor, sum(losses[key] * weights[key] for key in losses if key in weights))


def count_boxes(targets: list[dict]) -> float:
    """Local ground-truth box count of a batch of frames (all-reduce and divide by the world size before
    passing it on), clamped to >= 1 as DETR does."""
    return max(float(sum(len(target["boxes"]) for target in targets)), 1.0)


def sigmoid_focal_loss(
    logits: torch.Tensor, targets: torch.Tensor, num_boxes: float, alpha: float = 0.25, gamma: float = 2.0
) -> torch.Tensor:
    """Deformable DETR's focal loss: elementwise focal BCE, ``.mean(1).sum() / num_boxes``.

    ``logits``, ``targets`` ``[B, Q, C]``. The mean is over queries, so callers multiply by ``Q`` to get
    the sum over everything divided by ``num_boxes``, as Deformable DETR does (kept in that operation
    order for bit-level agreement).
    """
    prob = logits.sigmoid()
    ce_loss = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = prob * targets + (1 - prob) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    return loss.mean(1).sum() / num_boxes


def matched_indices(matches: list[Match], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """``(frame index, query index)`` int64 ``[n_total]`` of every match, frames in order."""
    frames = torch.cat([torch.full_like(match.queries, b) for b, match in enumerate(matches)])
    queries = torch.cat([match.queries for match in matches])
    return frames.to(device), queries.to(device)


def matched_targets(targets: list[dict], matches: list[Match], key: str) -> torch.Tensor:
    """``target[key]`` of every matched target, concatenated in frame then match order."""
    return torch.cat(
        [
            target[key][match.targets.to(target[key].device)]
            for target, match in zip(targets, matches, strict=True)
        ]
    )


class DETRCriterion(nn.Module):
    """Focal classification, L1 and GIoU box losses of Deformable DETR with auxiliary layers."""

    def __init__(
        self, matcher: HungarianMatcher | None = None, focal_alpha: float = 0.25, gamma: float = 2.0
    ):
        super().__init__()
        self.matcher = matcher if matcher is not None else HungarianMatcher()
        self.focal_alpha = focal_alpha
        self.gamma = gamma

    def layer_losses(
        self, outputs: dict, targets: list[dict], matches: list[Match], num_boxes: float
    ) -> dict[str, torch.Tensor]:
        """``loss_ce``, ``loss_bbox``, ``loss_giou`` of one layer's ``pred_logits [B, Q, C]`` and
        ``pred_boxes [B, Q, 4]`` given its matches."""
        logits, boxes = outputs["pred_logits"], outputs["pred_boxes"]
        frames, queries = matched_indices(matches, logits.device)
        labels = matched_targets(targets, matches, "labels").to(logits.device)
        target_boxes = matched_targets(targets, matches, "boxes")
        onehot = torch.zeros_like(logits)
        onehot[frames, queries, labels] = 1
        loss_ce = (
            sigmoid_focal_loss(logits, onehot, num_boxes, self.focal_alpha, self.gamma) * logits.shape[1]
        )
        matched = boxes[frames, queries]
        target_boxes = target_boxes.to(matched)
        loss_bbox = F.l1_loss(matched, target_boxes, reduction="none").sum() / num_boxes
        giou = paired_giou(box_cxcywh_to_xyxy(matched), box_cxcywh_to_xyxy(target_boxes))
        return {"loss_ce": loss_ce, "loss_bbox": loss_bbox, "loss_giou": (1 - giou).sum() / num_boxes}

    def forward(
        self, outputs: dict, targets: list[dict], num_boxes: float
    ) -> tuple[dict[str, torch.Tensor], list[Match]]:
        """Losses of the final layer and of every ``outputs["aux_outputs"][i]`` (keys ``..._i``).

        Args:
            outputs: `DeformableDETR.detect` output for ``B`` frames (``pred_logits [B, Q, C]``,
                ``pred_boxes [B, Q, 4]``, ``aux_outputs``).
            targets: ``B`` dicts with ``labels [n_b]`` int64 and ``boxes [n_b, 4]`` normalised cxcywh.
            num_boxes: GT boxes of the clip batch averaged over processes (clamped to >= 1 here too).

        Returns:
            ``(losses, matches)``: the loss dict and the final layer's per-frame `Match` list (used to
            gather the object embeddings and by the Identity Adapter).
        """
        num_boxes = max(float(num_boxes), 1.0)
        matches = self.matcher(outputs, targets)
        losses = self.layer_losses(outputs, targets, matches, num_boxes)
        for layer, aux in enumerate(outputs.get("aux_outputs") or []):
            aux_losses = self.layer_losses(aux, targets, self.matcher(aux, targets), num_boxes)
            losses.update({f"{key}_{layer}": value for key, value in aux_losses.items()})
        return losses, matches
