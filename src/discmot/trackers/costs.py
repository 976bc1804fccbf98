"""Association costs and the thresholded assignment of the JDE cascade (spec ``cstrack.md`` §7.4-7.6),
on plain arrays (numpy and scipy)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment


def assign_with_limit(cost: np.ndarray, limit: float) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Minimum-cost assignment where leaving a row or a column unmatched costs ``limit / 2``.

    Solves the square problem ``[[C, limit/2], [limit/2, 0]]`` of size ``rows + cols`` (the original's
    ``lap.lapjv(C, extend_cost=True, cost_limit=limit)``), so a pair is matched only when its cost is
    below ``limit`` and the total, reject options included, is minimal. Infinite costs are allowed.
    Between optima of exactly equal cost, scipy and lapjv may choose differently.

    Returns:
        matches ``[(row, col)]`` sorted by row, unmatched rows, unmatched columns (ascending).
    """
    rows, cols = cost.shape
    if rows == 0 or cols == 0:
        return [], list(range(rows)), list(range(cols))
    extended = np.full((rows + cols, rows + cols), limit / 2.0)
    extended[rows:, cols:] = 0
    extended[:rows, :cols] = cost
    row_index, col_index = linear_sum_assignment(extended)
    matched = (row_index < rows) & (col_index < cols)
    matches = list(zip(row_index[matched].tolist(), col_index[matched].tolist(), strict=True))
    matched_rows = set(row_index[matched].tolist())
    matched_cols = set(col_index[matched].tolist())
    return (
        matches,
        [r for r in range(rows) if r not in matched_rows],
        [c for c in range(cols) if c not in matched_cols],
    )


def cosine_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(N, M)`` cosine distances ``1 - a.b / (|a| |b|)`` of the rows of ``a (N, D)`` and ``b (M, D)``
    (scipy's ``cdist(..., "cosine")`` as one matrix product), in float64."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    norms = np.linalg.norm(a, axis=1)[:, None] * np.linalg.norm(b, axis=1)[None, :]
    return 1.0 - (a @ b.T) / norms


def iou_plus_one(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """IoU ``(N, M)`` of ``tlbr`` boxes with the +1-pixel convention of py-faster-rcnn (spec §7.6)."""
    a, b = np.asarray(boxes_a, np.float64), np.asarray(boxes_b, np.float64)
    width = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]) + 1
    height = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]) + 1
    intersection = np.where((width > 0) & (height > 0), width * height, 0.0)
    area_a = (a[:, 2] - a[:, 0] + 1) * (a[:, 3] - a[:, 1] + 1)
    area_b = (b[:, 2] - b[:, 0] + 1) * (b[:, 3] - b[:, 1] + 1)
    union = area_b[None, :] + area_a[:, None] - intersection
    return np.where(intersection > 0, intersection / np.where(union > 0, union, 1.0), 0.0)
