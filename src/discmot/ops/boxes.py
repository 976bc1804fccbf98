"""Box geometry on plain NumPy arrays: conversions, clipping, pairwise IoU and non-maximum suppression.

Corners are ``tlbr`` (``x1, y1, x2, y2``) and sizes are continuous (``w = x2 - x1``, no ``+ 1`` pixel
convention), as in torchvision and YOLOX. The MOTChallenge ``tlwh`` helpers live in `discmot.structures`.
Nothing here imports torch, so detectors and the JDE association can use it in a CLI that starts fast.
"""

from __future__ import annotations

import numpy as np


def cxcywh_to_tlbr(boxes: np.ndarray) -> np.ndarray:
    """``(N, 4)`` ``cx, cy, w, h`` -> ``(N, 4)`` float64 ``x1, y1, x2, y2``."""
    boxes = np.asarray(boxes, dtype=np.float64)
    half = boxes[:, 2:] / 2
    return np.concatenate([boxes[:, :2] - half, boxes[:, :2] + half], axis=1)


def clip_tlbr(boxes: np.ndarray, width: float, height: float) -> np.ndarray:
    """Clips ``(N, 4)`` ``tlbr`` boxes to the image ``[0, width] x [0, height]`` (a new float64 array)."""
    boxes = np.array(boxes, dtype=np.float64)
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, width)
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, height)
    return boxes


def box_area(boxes: np.ndarray) -> np.ndarray:
    """``(N, 4)`` ``tlbr`` -> ``(N,)`` areas; inverted boxes count as empty (area 0)."""
    boxes = np.asarray(boxes, dtype=np.float64)
    return (boxes[:, 2] - boxes[:, 0]).clip(0) * (boxes[:, 3] - boxes[:, 1]).clip(0)


def box_iou(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """Pairwise intersection over union of ``tlbr`` boxes.

    Args:
        boxes_a: ``(N, 4)`` ``x1, y1, x2, y2``.
        boxes_b: ``(M, 4)`` ``x1, y1, x2, y2``.

    Returns:
        ``(N, M)`` float64 IoU. Two empty boxes have IoU 0 (not NaN), so they never suppress each other.
    """
    boxes_a = np.asarray(boxes_a, dtype=np.float64).reshape(-1, 4)
    boxes_b = np.asarray(boxes_b, dtype=np.float64).reshape(-1, 4)
    top_left = np.maximum(boxes_a[:, None, :2], boxes_b[None, :, :2])
    bottom_right = np.minimum(boxes_a[:, None, 2:], boxes_b[None, :, 2:])
    overlap = (bottom_right - top_left).clip(0)
    intersection = overlap[..., 0] * overlap[..., 1]
    union = box_area(boxes_a)[:, None] + box_area(boxes_b)[None, :] - intersection
    return np.divide(intersection, union, out=np.zeros_like(intersection), where=union > 0)


def nms(boxes_tlbr: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression with torchvision's semantics.

    The best remaining box is kept and every remaining box whose IoU with it is strictly greater than
    ``iou_threshold`` is dropped, until none remain. Equal scores keep the lower index first (a stable
    sort), so the result is deterministic.

    Args:
        boxes_tlbr: ``(N, 4)`` ``x1, y1, x2, y2``.
        scores: ``(N,)`` confidences.
        iou_threshold: suppression threshold in ``[0, 1]``.

    Returns:
        ``(K,)`` int64 indices of the kept boxes, by decreasing score.
    """
    boxes_tlbr = np.asarray(boxes_tlbr, dtype=np.float64).reshape(-1, 4)
    remaining = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    keep = []
    # One IoU row per kept box (not an N x N matrix): memory stays O(N) for thousands of candidates.
    while remaining.size:
        best, rest = remaining[0], remaining[1:]
        keep.append(best)
        overlaps = box_iou(boxes_tlbr[best : best + 1], boxes_tlbr[rest])[0]
        remaining = rest[overlaps <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def batched_nms(
    boxes_tlbr: np.ndarray, scores: np.ndarray, classes: np.ndarray, iou_threshold: float
) -> np.ndarray:
    """`nms` run separately for each class: boxes of different classes never suppress each other.

    Args:
        boxes_tlbr: ``(N, 4)`` ``x1, y1, x2, y2``.
        scores: ``(N,)`` confidences.
        classes: ``(N,)`` integer class ids.
        iou_threshold: suppression threshold.

    Returns:
        ``(K,)`` int64 indices of the kept boxes, by decreasing score (ties: lower index first).
    """
    scores = np.asarray(scores, dtype=np.float64)
    classes = np.asarray(classes)
    kept = [
        members[nms(np.asarray(boxes_tlbr)[members], scores[members], iou_threshold)]
        for members in (np.flatnonzero(classes == value) for value in np.unique(classes))
    ]
    keep = np.concatenate(kept) if kept else np.zeros(0, np.int64)
    return keep[np.lexsort((keep, -scores[keep]))]
