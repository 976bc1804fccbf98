"""Box geometry on torch tensors (differentiable, any device), for the DETR matcher and losses.

Corners are ``xyxy`` (``x1, y1, x2, y2``) with continuous sizes, centres ``cxcywh``, as in DETR's
``util/box_ops.py`` (same formulas and operation order, so values agree to the last bit on the same
inputs). The NumPy twin for trackers and the CLI is `discmot.ops.boxes` (no torch import there).
Unlike DETR, nothing here asserts ``x2 >= x1``: a data-dependent check would synchronise the device on
every call; degenerate boxes give an IoU of ``nan`` or ``inf`` only when a union or hull area is 0.
"""

from __future__ import annotations

import torch


def box_cxcywh_to_xyxy(boxes: torch.Tensor) -> torch.Tensor:
    """``[..., 4]`` ``cx, cy, w, h`` -> ``[..., 4]`` ``x1, y1, x2, y2``."""
    cx, cy, w, h = boxes.unbind(-1)
    return torch.stack([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h], dim=-1)


def box_xyxy_to_cxcywh(boxes: torch.Tensor) -> torch.Tensor:
    """``[..., 4]`` ``x1, y1, x2, y2`` -> ``[..., 4]`` ``cx, cy, w, h``."""
    x1, y1, x2, y2 = boxes.unbind(-1)
    return torch.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], dim=-1)


def box_area(boxes: torch.Tensor) -> torch.Tensor:
    """``[..., 4]`` ``xyxy`` -> ``[...]`` areas (``(x2 - x1) (y2 - y1)``, not clamped)."""
    return (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])


def _iou_and_union(boxes1: torch.Tensor, boxes2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Pairwise ``[N, M]`` IoU and union areas of ``[N, 4]`` and ``[M, 4]`` xyxy boxes."""
    area1, area2 = box_area(boxes1), box_area(boxes2)
    top_left = torch.max(boxes1[:, None, :2], boxes2[:, :2])
    bottom_right = torch.min(boxes1[:, None, 2:], boxes2[:, 2:])
    overlap = (bottom_right - top_left).clamp(min=0)
    intersection = overlap[..., 0] * overlap[..., 1]
    union = area1[:, None] + area2 - intersection
    return intersection / union, union


def box_iou(boxes1: torch.Tensor, boxes2: torch.Tensor) -> torch.Tensor:
    """Pairwise IoU ``[N, M]`` of ``[N, 4]`` and ``[M, 4]`` xyxy boxes."""
    return _iou_and_union(boxes1, boxes2)[0]


def generalized_box_iou(boxes1: torch.Tensor, boxes2: torch.Tensor) -> torch.Tensor:
    """Pairwise generalised IoU ``[N, M]`` (in ``[-1, 1]``) of ``[N, 4]`` and ``[M, 4]`` xyxy boxes.

    ``GIoU = IoU - (hull - union) / hull`` with ``hull`` the area of the smallest enclosing box
    (Rezatofighi et al. 2019).
    """
    iou, union = _iou_and_union(boxes1, boxes2)
    top_left = torch.min(boxes1[:, None, :2], boxes2[:, :2])
    bottom_right = torch.max(boxes1[:, None, 2:], boxes2[:, 2:])
    extent = (bottom_right - top_left).clamp(min=0)
    hull = extent[..., 0] * extent[..., 1]
    return iou - (hull - union) / hull


def paired_giou(boxes1: torch.Tensor, boxes2: torch.Tensor) -> torch.Tensor:
    """Elementwise GIoU ``[N]`` of the pairs ``(boxes1[i], boxes2[i])`` (``[N, 4]`` xyxy each).

    Equal to ``generalized_box_iou(boxes1, boxes2).diagonal()`` without the ``N x N`` matrix.
    """
    area1, area2 = box_area(boxes1), box_area(boxes2)
    overlap = (torch.min(boxes1[:, 2:], boxes2[:, 2:]) - torch.max(boxes1[:, :2], boxes2[:, :2])).clamp(min=0)
    intersection = overlap[:, 0] * overlap[:, 1]
    union = area1 + area2 - intersection
    extent = (torch.max(boxes1[:, 2:], boxes2[:, 2:]) - torch.min(boxes1[:, :2], boxes2[:, :2])).clamp(min=0)
    hull = extent[:, 0] * extent[:, 1]
    return intersection / union - (hull - union) / hull
