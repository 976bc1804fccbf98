"""Box similarity and assignment, computed exactly as TrackEval computes them.

Bit-equality with TrackEval needs its exact operation order (spec ``eval.md`` §2) and its assignment
solver, scipy's ``linear_sum_assignment``, on matrices laid out like its own (gt rows in file order,
tracker columns in file order), because ties between equal scores are common with integer boxes.

The solver is skipped only where its answer is provably unique: when every row and every column has at
most one positive entry, the maximum-weight assignment must contain all positive entries, whatever the
tie-breaking, and the remaining (zero-score) pairs are discarded by every metric anyway.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
from pathlib import Path

import numpy as np

from discmot.eval.fields import EPS


def _load_linear_sum_assignment():
    """scipy's ``linear_sum_assignment``, loaded from its compiled module alone when possible.

    ``import scipy.optimize`` costs about 0.35 s (it pulls in scipy.linalg and friends), more than
    evaluating a sequence; the solver itself is one self-contained extension module. Loading that
    file directly gives the very same function in 0.05 s. Any surprise (another scipy layout) falls
    back to the public import, so results never depend on which path was taken.
    """
    try:
        import scipy

        folder = Path(scipy.__file__).parent / "optimize"
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = folder / f"_lsap{suffix}"
            if path.is_file():
                loader = importlib.machinery.ExtensionFileLoader("scipy.optimize._lsap", str(path))
                spec = importlib.util.spec_from_file_location(
                    "scipy.optimize._lsap", str(path), loader=loader
                )
                module = importlib.util.module_from_spec(spec)
                loader.exec_module(module)
                return module.linear_sum_assignment
    except Exception:  # noqa: BLE001 - any failure means: use the public import below
        pass
    from scipy.optimize import linear_sum_assignment

    return linear_sum_assignment


linear_sum_assignment = _load_linear_sum_assignment()


def pairwise_iou_xywh(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """IoU of paired boxes, element by element, with TrackEval's arithmetic.

    Args:
        boxes_a, boxes_b: ``(N, 4)`` float64 boxes ``x, y, w, h``; row ``i`` of each forms pair ``i``.

    Returns:
        ``(N,)`` float64 IoU. Boxes with area ``<= eps`` (or pairs with union ``<= eps``) give 0.
        Corners are ``x + w``, ``y + h`` and areas ``(x1 - x0) * (y1 - y0)``, exactly in TrackEval's
        order, so every value is bit-identical to ``_calculate_box_ious``.
    """
    ax0, ay0 = boxes_a[:, 0], boxes_a[:, 1]
    bx0, by0 = boxes_b[:, 0], boxes_b[:, 1]
    ax1, ay1 = ax0 + boxes_a[:, 2], ay0 + boxes_a[:, 3]
    bx1, by1 = bx0 + boxes_b[:, 2], by0 + boxes_b[:, 3]
    width = np.maximum(np.minimum(ax1, bx1) - np.maximum(ax0, bx0), 0)
    height = np.maximum(np.minimum(ay1, by1) - np.maximum(ay0, by0), 0)
    intersection = width * height
    area_a = (ax1 - ax0) * (ay1 - ay0)
    area_b = (bx1 - bx0) * (by1 - by0)
    union = area_a + area_b - intersection
    invalid = (area_a <= 0 + EPS) | (area_b <= 0 + EPS) | (union <= 0 + EPS)
    intersection[invalid] = 0
    union[union <= 0 + EPS] = 1
    return intersection / union


def minimum_assignment(costs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns minimising the summed cost (scipy's solver), sorted by row."""
    return linear_sum_assignment(costs)


def maximum_assignment(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns maximising the summed score: scipy on ``-scores``, as TrackEval does.

    Returns ``min(rows, cols)`` pairs sorted by row, zero-score pairs included.
    """
    return linear_sum_assignment(-scores)


def partial_permutation_frames(
    positive: np.ndarray, pair_frame: np.ndarray, pair_row: np.ndarray, pair_col: np.ndarray, num_frames: int
) -> np.ndarray:
    """Frames whose positive entries form a partial permutation (at most one per row and per column).

    Args:
        positive: ``(P,)`` bool, which pair scores are > 0.
        pair_frame: ``(P,)`` frame index of every pair.
        pair_row, pair_col: ``(P,)`` non-negative row / column key of every pair, unique per frame.
        num_frames: number of frames.

    Returns:
        ``(num_frames,)`` bool: True where the positive pairs are exactly the solver's positive
        matches, so no assignment needs solving.
    """
    crowded = np.zeros(num_frames, dtype=bool)
    frames = pair_frame[positive]
    for index in (pair_row[positive], pair_col[positive]):
        if frames.size < 2:
            break
        key = np.sort(frames * (int(index.max()) + 1) + index)
        crowded[key[1:][key[1:] == key[:-1]] // (int(index.max()) + 1)] = True
    return ~crowded
