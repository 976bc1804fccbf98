"""Box geometry contracts: IoU and NMS against brute-force definitions written independently here."""

from __future__ import annotations

import numpy as np
import pytest

from discmot.ops.boxes import batched_nms, box_area, box_iou, clip_tlbr, cxcywh_to_tlbr, nms
from discmot.structures import tlbr_to_tlwh, tlwh_to_tlbr


def random_boxes(rng: np.random.Generator, n: int, grid: bool = False) -> np.ndarray:
    """``(n, 4)`` tlbr boxes; on a coarse integer grid many of them coincide or touch exactly."""
    if grid:
        corners = rng.integers(0, 6, size=(n, 2)).astype(float)
        sizes = rng.integers(0, 4, size=(n, 2)).astype(float)  # zero sizes included
    else:
        corners = rng.uniform(0, 100, size=(n, 2))
        sizes = rng.uniform(1, 40, size=(n, 2))
    return np.concatenate([corners, corners + sizes], axis=1)


def iou_one_pair(a, b) -> float:
    """The textbook IoU of two tlbr boxes, with 0 for an empty union."""
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    intersection = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - intersection
    return intersection / union if union > 0 else 0.0


def nms_brute_force(boxes, scores, threshold) -> list[int]:
    """Greedy NMS written as its definition: visit by score, keep unless a kept box overlaps too much."""
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    keep: list[int] = []
    for i in order:
        if all(iou_one_pair(boxes[i], boxes[k]) <= threshold for k in keep):
            keep.append(i)
    return keep


def test_box_iou_matches_pairwise_definition():
    rng = np.random.default_rng(0)
    a, b = random_boxes(rng, 30), random_boxes(rng, 20, grid=True)
    expected = np.array([[iou_one_pair(x, y) for y in b] for x in a])
    np.testing.assert_allclose(box_iou(a, b), expected, rtol=1e-12, atol=0)
    assert box_iou(a, np.zeros((0, 4))).shape == (30, 0)


def test_box_iou_has_no_plus_one_and_no_nan():
    unit = np.array([[0.0, 0.0, 1.0, 1.0]])
    half = np.array([[0.5, 0.0, 1.5, 1.0]])
    assert box_iou(unit, half)[0, 0] == pytest.approx(1 / 3)
    empty = np.array([[2.0, 2.0, 2.0, 2.0]])
    assert box_iou(empty, empty)[0, 0] == 0


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.45, 0.7, 1.0])
def test_nms_matches_brute_force(seed, threshold):
    rng = np.random.default_rng(seed)
    boxes = random_boxes(rng, 60, grid=seed % 2 == 1)
    # A few distinct score levels make ties common, which checks the deterministic tie order.
    scores = rng.integers(0, 8, size=60) / 8 if seed % 3 == 0 else rng.uniform(size=60)
    assert nms(boxes, scores, threshold).tolist() == nms_brute_force(boxes, scores, threshold)


def test_nms_suppresses_only_strictly_above_threshold():
    boxes = np.array([[0.0, 0, 1, 1], [0.5, 0, 1.5, 1]])  # IoU exactly 1/3
    scores = np.array([0.9, 0.8])
    assert nms(boxes, scores, 1 / 3).tolist() == [0, 1]
    assert nms(boxes, scores, 0.33).tolist() == [0]
    assert nms(np.zeros((0, 4)), np.zeros(0), 0.5).dtype == np.int64


def test_batched_nms_keeps_classes_apart():
    rng = np.random.default_rng(1)
    boxes, scores = random_boxes(rng, 80), rng.uniform(size=80)
    classes = rng.integers(0, 3, size=80)
    keep = batched_nms(boxes, scores, classes, 0.5)
    expected = [
        int(np.flatnonzero(classes == c)[i])
        for c in range(3)
        for i in nms_brute_force(boxes[classes == c], scores[classes == c], 0.5)
    ]
    assert sorted(keep.tolist()) == sorted(expected)
    assert np.all(np.diff(scores[keep]) <= 0)


def test_conversions_and_clipping():
    cxcywh = np.array([[10.0, 20.0, 4.0, 6.0]])
    np.testing.assert_array_equal(cxcywh_to_tlbr(cxcywh), [[8, 17, 12, 23]])
    tlwh = np.array([[-5.0, 3.0, 20.0, 10.0]])
    np.testing.assert_array_equal(tlbr_to_tlwh(tlwh_to_tlbr(tlwh)), tlwh)
    np.testing.assert_array_equal(clip_tlbr(tlwh_to_tlbr(tlwh), 12, 8), [[0, 3, 12, 8]])
    assert box_area(np.array([[0.0, 0.0, -1.0, 2.0]]))[0] == 0
