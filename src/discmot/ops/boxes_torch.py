"""Box geometry on torch tensors (differentiable, any device), for the DETR matcher and losses and
CSTrack's CIoU loss and Cluster-DIoU-NMS.

Corners are ``xyxy`` (``x1, y1, x2, y2``) with continuous sizes, centres ``cxcywh``, as in DETR's
``util/box_ops.py`` (same formulas and operation order, so values agree to the last bit on the same
inputs). The NumPy twin for trackers and the CLI is `discmot.ops.boxes` (no torch import there).
Unlike DETR, nothing here asserts ``x2 >= x1``: a data-dependent check would synchronise the device on
every call; degenerate boxes give an IoU of ``nan`` or ``inf`` only when a union or hull area is 0.
"""

from __future__ import annotations

import math

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


def distance_box_iou(
    boxes1: torch.Tensor, boxes2: torch.Tensor, *, exponent: float = 1.0, eps: float = 1e-7
) -> torch.Tensor:
    """Pairwise distance IoU ``[N, M]`` of ``[N, 4]`` and ``[M, 4]`` xyxy boxes.

    ``DIoU = IoU - (rho^2 / (c^2 + eps)) ** exponent`` with ``rho`` the distance of the box centres and
    ``c`` the diagonal of the smallest enclosing box (Zheng et al. 2020). ``exponent = 1`` is the paper's
    DIoU; CSTrack's Cluster-DIoU-NMS uses ``0.7`` (spec ``cstrack.md`` §7.2), which softens the penalty of
    nearby centres.
    """
    iou = _iou_and_union(boxes1, boxes2)[0]
    centres1 = (boxes1[:, :2] + boxes1[:, 2:]) / 2
    centres2 = (boxes2[:, :2] + boxes2[:, 2:]) / 2
    offset = centres1[:, None, :] - centres2[None, :, :]
    rho2 = offset[..., 0] ** 2 + offset[..., 1] ** 2
    extent = torch.max(boxes1[:, None, 2:], boxes2[:, 2:]) - torch.min(boxes1[:, None, :2], boxes2[:, :2])
    c2 = extent[..., 0] ** 2 + extent[..., 1] ** 2
    return iou - (rho2 / (c2 + eps)) ** exponent


def paired_complete_iou(boxes1: torch.Tensor, boxes2: torch.Tensor, eps: float = 1e-16) -> torch.Tensor:
    """Elementwise complete IoU ``[N]`` of the pairs ``(boxes1[i], boxes2[i])`` (``[N, 4]`` xyxy each).

    ``CIoU = IoU - rho^2 / c^2 - alpha * v`` (Zheng et al. 2020) with
    ``v = 4 / pi^2 * (atan(w2 / h2) - atan(w1 / h1))^2`` and ``alpha = v / (1 - IoU + v)``. This is the
    YOLOv5 v2.0 formula CSTrack trains with (spec ``cstrack.md`` §5.3), in its operation order: ``eps`` is
    added to the area of ``boxes1`` (the prediction) inside the union and to ``c^2``, and ``alpha`` is a
    constant for autograd (no gradient flows through it). The only departure: where ``v == 0`` alpha is
    set to 0, which the original also gives except for ``IoU == 1`` exactly, where it divides 0 by 0 and
    returns ``nan``.
    """
    w1, h1 = boxes1[:, 2] - boxes1[:, 0], boxes1[:, 3] - boxes1[:, 1]
    w2, h2 = boxes2[:, 2] - boxes2[:, 0], boxes2[:, 3] - boxes2[:, 1]
    overlap = (torch.min(boxes1[:, 2:], boxes2[:, 2:]) - torch.max(boxes1[:, :2], boxes2[:, :2])).clamp(min=0)
    intersection = overlap[:, 0] * overlap[:, 1]
    union = (w1 * h1 + eps) + w2 * h2 - intersection
    iou = intersection / union
    extent = torch.max(boxes1[:, 2:], boxes2[:, 2:]) - torch.min(boxes1[:, :2], boxes2[:, :2])
    c2 = extent[:, 0] ** 2 + extent[:, 1] ** 2 + eps
    sums1, sums2 = boxes1[:, :2] + boxes1[:, 2:], boxes2[:, :2] + boxes2[:, 2:]
    rho2 = (sums2[:, 0] - sums1[:, 0]) ** 2 / 4 + (sums2[:, 1] - sums1[:, 1]) ** 2 / 4
    v = (4 / math.pi**2) * (torch.atan(w2 / h2) - torch.atan(w1 / h1)) ** 2
    with torch.no_grad():
        alpha = torch.where(v > 0, v / (1 - iou + v), torch.zeros_like(v))
    return iou - (rho2 / c2 + v * alpha)
