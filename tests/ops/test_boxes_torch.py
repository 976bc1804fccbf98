"""Torch box ops: hand-computed IoU/GIoU values, agreement with the NumPy twin, pairwise vs paired."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from discmot.ops import boxes as np_boxes
from discmot.ops.boxes_torch import (
    box_cxcywh_to_xyxy,
    box_iou,
    box_xyxy_to_cxcywh,
    generalized_box_iou,
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
