"""Torch box ops: hand-computed IoU/GIoU/DIoU/CIoU values, agreement with the NumPy twin, pairwise vs
paired."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from discmot.ops import boxes as np_boxes
from discmot.ops.boxes_torch import (
    box_cxcywh_to_xyxy,
    box_iou,
    box_xyxy_to_cxcywh,
    distance_box_iou,
    generalized_box_iou,
    paired_complete_iou,
    paired_giou,
)


def test_conversions_round_trip():
    cxcywh = torch.tensor([[0.5, 0.5, 0.2, 0.4], [0.1, 0.9, 0.0, 0.1]])
    xyxy = box_cxcywh_to_xyxy(cxcywh)
    torch.testing.assert_close(xyxy[0], torch.tensor([0.4, 0.3, 0.6, 0.7]))
    torch.testing.assert_close(box_xyxy_to_cxcywh(xyxy), cxcywh)


def test_hand_values():
    a = torch.tensor([[0.0, 0.0, 2.0, 2.0]])
    b = torch.tensor([[1.0, 1.0, 3.0, 3.0], [2.0, 0.0, 3.0, 1.0], [0.0, 0.0, 2.0, 2.0]])
    # overlap 1, union 7, hull 9 | disjoint: union 5, hull 6 | identical
    torch.testing.assert_close(box_iou(a, b), torch.tensor([[1 / 7, 0.0, 1.0]]))
    expected = torch.tensor([[1 / 7 - 2 / 9, -1 / 6, 1.0]])
    torch.testing.assert_close(generalized_box_iou(a, b), expected)
    torch.testing.assert_close(paired_giou(a.expand(3, 4), b), expected[0])


@pytest.mark.parametrize("seed", range(3))
def test_against_numpy_and_paired(seed):
    rng = np.random.default_rng(seed)
    corners = rng.uniform(0, 1, size=(7, 2))
    boxes = np.concatenate([corners, corners + rng.uniform(0.05, 0.5, size=(7, 2))], axis=1)
    t = torch.tensor(boxes, dtype=torch.float64)
    torch.testing.assert_close(box_iou(t[:3], t), torch.tensor(np_boxes.box_iou(boxes[:3], boxes)))
    giou = generalized_box_iou(t, t.flip(0))
    torch.testing.assert_close(paired_giou(t, t.flip(0)), giou.diagonal())
    assert (giou <= box_iou(t, t.flip(0)) + 1e-12).all() and (giou >= -1).all()


def test_distance_iou_hand_values():
    a = torch.tensor([[0.0, 0.0, 2.0, 2.0]])
    b = torch.tensor([[1.0, 1.0, 3.0, 3.0], [0.0, 0.0, 2.0, 2.0], [4.0, 0.0, 6.0, 2.0]])
    # centres 2 apart (squared) in a 3x3 hull (diagonal^2 18) | identical | 4 apart in a 6x2 hull (40)
    expected = torch.tensor([[1 / 7 - 2 / 18, 1.0, 0.0 - 16 / 40]])
    torch.testing.assert_close(distance_box_iou(a, b, eps=0.0), expected)
    softened = torch.tensor([[1 / 7 - (2 / 18) ** 0.7, 1.0, -((16 / 40) ** 0.7)]])
    torch.testing.assert_close(distance_box_iou(a, b, exponent=0.7, eps=0.0), softened)


def test_complete_iou_hand_values():
    pred = torch.tensor(
        [[0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 2.0, 2.0]], dtype=torch.float64
    )
    target = torch.tensor(
        [[1.0, 1.0, 3.0, 3.0], [0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 2.0, 6.0]], dtype=torch.float64
    )
    # same aspect (v = 0): DIoU | identical: 1 (alpha is 0/0 in YOLOv5 v2, 0 here) | nested, aspect 1 vs 1/3
    v = 4 / math.pi**2 * (math.atan(2 / 6) - math.atan(1.0)) ** 2
    iou = 4 / 12
    nested = iou - 2**2 / (2**2 + 6**2) - v * v / (1 - iou + v)  # centres 2 apart, hull 2x6
    expected = torch.tensor([1 / 7 - 2 / 18, 1.0, nested], dtype=torch.float64)
    torch.testing.assert_close(paired_complete_iou(pred, target, eps=0.0), expected)


def test_complete_iou_alpha_is_constant_for_autograd():
    pred = torch.tensor([[0.0, 0.0, 1.0, 2.0]], dtype=torch.float64, requires_grad=True)
    target = torch.tensor([[0.0, 0.0, 2.0, 6.0]], dtype=torch.float64)
    paired_complete_iou(pred, target, eps=0.0).sum().backward()

    def v(w: float) -> float:
        return 4 / math.pi**2 * (math.atan(2 / 6) - math.atan(w / 2)) ** 2

    alpha = v(1.0) / (1 - 1 / 6 + v(1.0))

    def ciou_with_fixed_alpha(w: float) -> float:
        # pred [0, 0, w, 2] in target [0, 0, 2, 6], w < 2: IoU w / 6, hull 2x6, centres (w/2, 1), (1, 3)
        return w / 6 - ((w / 2 - 1) ** 2 + 4) / 40 - alpha * v(w)

    h = 1e-6
    numeric = (ciou_with_fixed_alpha(1.0 + h) - ciou_with_fixed_alpha(1.0 - h)) / (2 * h)
    assert pred.grad[0, 2].item() == pytest.approx(numeric, rel=1e-6)
