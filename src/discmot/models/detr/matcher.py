"""Hungarian matching of DETR queries to ground-truth boxes, one frame at a time (spec ``fdta.md`` §2.9).

Deformable DETR's matcher with FDTA's addition: each match also carries the GIoU between the matched
prediction and its ground truth, the quality the Identity Adapter filters and weights by (§3.3).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import nn

from discmot.ops.boxes_torch import box_cxcywh_to_xyxy, generalized_box_iou


class Match(NamedTuple):
    """One frame's assignment: ``queries[k]`` is matched to target ``targets[k]`` with GIoU ``giou[k]``.

    ``queries`` and ``targets`` are int64 ``[n]`` (on the CPU, queries ascending as scipy returns them),
    ``giou`` is float ``[n]`` on the predictions' device, without gradient.
    """

    queries: torch.Tensor
    targets: torch.Tensor
    giou: torch.Tensor


class HungarianMatcher(nn.Module):
    """Minimum-cost one-to-one assignment per frame (scipy ``linear_sum_assignment``).

    ``C = cost_bbox * L1(cxcywh) + cost_class * (pos - neg) - cost_giou * GIoU`` with the focal-style class
    cost of Deformable DETR (``p = sigmoid(logit)``):
    ``pos = alpha (1 - p)^gamma (-log(p + 1e-8))``, ``neg = (1 - alpha) p^gamma (-log(1 - p + 1e-8))``.
    """

    def __init__(
        self,
        cost_class: float = 2.0,
        cost_bbox: float = 5.0,
        cost_giou: float = 2.0,
        focal_alpha: float = 0.25,
        gamma: float = 2.0,
    ):
        super().__init__()
        self.cost_class = cost_class
        self.cost_bbox = cost_bbox
        self.cost_giou = cost_giou
        self.focal_alpha = focal_alpha
        self.gamma = gamma

    def class_cost(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """``[Q, C]`` logits, ``[n]`` int64 labels -> ``[Q, n]`` focal-style cost ``pos - neg``."""
        prob = logits.sigmoid()
        alpha, gamma = self.focal_alpha, self.gamma
        neg = (1 - alpha) * (prob**gamma) * (-(1 - prob + 1e-8).log())
        pos = alpha * ((1 - prob) ** gamma) * (-(prob + 1e-8).log())
        return pos[:, labels] - neg[:, labels]

    @torch.no_grad()
    def match_frame(self, logits: torch.Tensor, boxes: torch.Tensor, target: dict) -> Match:
        """One frame: ``logits [Q, C]``, ``boxes [Q, 4]`` (cxcywh) and ``target`` with ``labels [n]``,
        ``boxes [n, 4]`` (cxcywh) -> its `Match`."""
        labels, target_boxes = target["labels"], target["boxes"]
        if len(labels) == 0:
            empty = torch.zeros(0, dtype=torch.int64)
            return Match(empty, empty.clone(), boxes.new_zeros(0))
        giou = generalized_box_iou(box_cxcywh_to_xyxy(boxes), box_cxcywh_to_xyxy(target_boxes))
        cost = (
            self.cost_bbox * torch.cdist(boxes, target_boxes, p=1)
            + self.cost_class * self.class_cost(logits, labels)
            + self.cost_giou * -giou
        )
        rows, cols = linear_sum_assignment(cost.cpu().numpy())
        queries = torch.as_tensor(np.asarray(rows), dtype=torch.int64)
        targets = torch.as_tensor(np.asarray(cols), dtype=torch.int64)
        device = giou.device
        return Match(queries, targets, giou[queries.to(device), targets.to(device)])

    @torch.no_grad()
    def forward(self, outputs: dict, targets: list[dict]) -> list[Match]:
        """Matches every frame of ``outputs`` (``pred_logits [B, Q, C]``, ``pred_boxes [B, Q, 4]``).

        Args:
            outputs: one decoder layer's predictions for ``B`` frames.
            targets: ``B`` dicts with ``labels [n_b]`` int64 and ``boxes [n_b, 4]`` normalised cxcywh.

        Returns:
            ``B`` `Match` tuples, in frame order.
        """
        logits, boxes = outputs["pred_logits"], outputs["pred_boxes"]
        return [self.match_frame(logits[b], boxes[b], target) for b, target in enumerate(targets)]
