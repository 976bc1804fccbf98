"""Edge cases of the torch box ops (`discmot.ops.boxes_torch`) the hand values of test_boxes_torch.py leave
open: batched ``[..., 4]`` inputs, boxes away from the origin, and DIoU's default ``eps`` (spec
``cstrack.md`` §7.2). Expected values are hand calculations written next to each test."""

from __future__ import annotations

import pytest
import torch

from discmot.ops.boxes_torch import box_cxcywh_to_xyxy, box_xyxy_to_cxcywh, distance_box_iou


def test_conversions_take_any_leading_dimensions():
    """``[..., 4]`` in, ``[..., 4]`` out: a ``[2, 3, 4]`` batch (as DETR's ``[B, Q, 4]``) converts box
    by box. ``cx, cy, w, h = (2, 3, 4, 6)`` is ``x1, y1, x2, y2 = (0, 0, 4, 6)``; the others are
    shifted copies."""
    shifts = torch.arange(6, dtype=torch.float64).view(2, 3, 1)
    cxcywh = torch.tensor([2.0, 3.0, 4.0, 6.0], dtype=torch.float64) + shifts * torch.tensor(
        [1.0, 1.0, 0.0, 0.0], dtype=torch.float64
    )
    xyxy = box_cxcywh_to_xyxy(cxcywh)
    assert xyxy.shape == (2, 3, 4)
    expected = torch.tensor([0.0, 0.0, 4.0, 6.0], dtype=torch.float64) + shifts * torch.tensor(
        [1.0, 1.0, 1.0, 1.0], dtype=torch.float64
    )
    torch.testing.assert_close(xyxy, expected)
    back = box_xyxy_to_cxcywh(xyxy)
    assert back.shape == (2, 3, 4)
    torch.testing.assert_close(back, cxcywh)


def test_distance_iou_of_boxes_away_from_the_origin():
    """DIoU = IoU - rho^2 / c^2 with c the diagonal of the enclosing box: corners (1, 1, 3, 3) and
    (2, 2, 4, 4) overlap 1 of a union 7, centres (2, 2) and (3, 3) are 2 apart (squared), the enclosing
    box (1, 1, 4, 4) has c^2 = 9 + 9 = 18."""
    a = torch.tensor([[1.0, 1.0, 3.0, 3.0]], dtype=torch.float64)
    b = torch.tensor([[2.0, 2.0, 4.0, 4.0]], dtype=torch.float64)
    assert distance_box_iou(a, b, eps=0.0).item() == pytest.approx(1 / 7 - 2 / 18, rel=1e-12)


def test_distance_iou_adds_1e_7_to_the_squared_diagonal_by_default():
    """Spec §7.2: ``rho^2 / (c^2 + 1e-7)``. Boxes (0, 0, 2, 2) and (1, 1, 3, 3) scaled by 1e-4: IoU 1/7
    (scale-free), rho^2 = 2e-8, c^2 = 1.8e-7, so the penalty is 2e-8 / 2.8e-7 = 1/14 and DIoU = 1/14."""
    scale = 1e-4
    a = torch.tensor([[0.0, 0.0, 2.0, 2.0]], dtype=torch.float64) * scale
    b = torch.tensor([[1.0, 1.0, 3.0, 3.0]], dtype=torch.float64) * scale
    assert distance_box_iou(a, b).item() == pytest.approx(1 / 14, rel=1e-9)
    assert distance_box_iou(a, b, exponent=0.7).item() == pytest.approx(1 / 7 - (1 / 14) ** 0.7, rel=1e-9)
