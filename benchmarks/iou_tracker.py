"""A plain IoU tracker for measuring how hard association is on a set of boxes (numpy + scipy only).

It is the weakest sensible tracker, on purpose: no motion model, no appearance, no memory. What it scores
on ground-truth boxes says how much of a scene can be tracked by overlap alone; the rest needs motion or
appearance cues, which is what the synthetic presets are meant to demand in different amounts.

Exactly, per frame ``t`` (frames in increasing order, every frame visited, empty ones included):

1. IoU between every live track's box from frame ``t - 1`` and every box of frame ``t``.
2. One-to-one assignment maximising the summed IoU (Hungarian, ``scipy.optimize.linear_sum_assignment``);
   assigned pairs with IoU < 0.3 are dropped after the assignment.
3. A box with a kept pair continues that track (the track's box becomes this box); every other box starts
   a new track with the next unused id (ids start at 1).
4. A track without a kept pair in frame ``t`` ends for good: it cannot be matched in frame ``t + 1``
   (tracks die after one missed frame, so any gap or occlusion costs an identity).

`jitter_boxes` adds the seeded measurement noise the benchmark applies to gt boxes before tracking.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

IOU_THRESHOLD = 0.3


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in ``a`` (N, 4) with every box in ``b`` (M, 4), both ``x, y, w, h``: (N, M)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    ax2, ay2 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx2, by2 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.minimum(ax2[:, None], bx2[None]) - np.maximum(a[:, None, 0], b[None, :, 0])
    ih = np.minimum(ay2[:, None], by2[None]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


class IouTracker:
    """Frame-to-frame Hungarian IoU matching; see the module docstring for the exact rules."""

    def __init__(self, threshold: float = IOU_THRESHOLD):
        self.threshold = threshold
        self.next_id = 1
        self.boxes = np.zeros((0, 4))
        self.ids = np.zeros(0, dtype=np.int64)

    def update(self, boxes: np.ndarray) -> np.ndarray:
        """Assigns track ids (M,) int64 to this frame's boxes (M, 4) ``x, y, w, h``."""
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        iou = iou_matrix(self.boxes, boxes)
        rows, cols = linear_sum_assignment(iou, maximize=True)
        keep = iou[rows, cols] >= self.threshold
        ids = np.zeros(len(boxes), dtype=np.int64)
        ids[cols[keep]] = self.ids[rows[keep]]
        unmatched = np.flatnonzero(ids == 0)
        ids[unmatched] = self.next_id + np.arange(len(unmatched))
        self.next_id += len(unmatched)
        self.boxes, self.ids = boxes, ids
        return ids


def track_boxes(frames: np.ndarray, boxes: np.ndarray, num_frames: int, tracker=None) -> np.ndarray:
    """Runs ``tracker`` (default: a fresh `IouTracker`; anything with ``update(boxes) -> ids``) over rows
    ``frames`` (N,) 1-based, ``boxes`` (N, 4), every frame from 1 to ``num_frames``; returns ids (N,)."""
    frames = np.asarray(frames, dtype=np.int64)
    ids = np.zeros(len(frames), dtype=np.int64)
    order = np.argsort(frames, kind="stable")
    starts = np.searchsorted(frames[order], np.arange(1, num_frames + 2))
    tracker = IouTracker() if tracker is None else tracker
    for t in range(num_frames):
        rows = order[starts[t] : starts[t + 1]]
        ids[rows] = tracker.update(boxes[rows])
    return ids


def jitter_boxes(boxes: np.ndarray, scale: float, rng: np.random.Generator) -> np.ndarray:
    """Boxes (N, 4) ``x, y, w, h`` with Gaussian noise of std ``scale`` x the box size.

    The centre moves by N(0, scale * w) horizontally and N(0, scale * h) vertically; width and height
    are multiplied by 1 + N(0, scale) each (clipped to stay at least 1 pixel).
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    noise = rng.normal(0.0, scale, size=boxes.shape)
    w = np.maximum(boxes[:, 2] * (1 + noise[:, 2]), 1.0)
    h = np.maximum(boxes[:, 3] * (1 + noise[:, 3]), 1.0)
    cx = boxes[:, 0] + boxes[:, 2] / 2 + noise[:, 0] * boxes[:, 2]
    cy = boxes[:, 1] + boxes[:, 3] / 2 + noise[:, 1] * boxes[:, 3]
    return np.stack([cx - w / 2, cy - h / 2, w, h], axis=1)
