"""Tracker results as MOTChallenge rows: formatted, sorted and written atomically, and read back grouped
by frame."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from discmot.io.atomic import atomic_open
from discmot.io.mot import read_mot_table
from discmot.messages import require_path


def format_mot_rows(
    frames: np.ndarray,
    ids: np.ndarray,
    boxes: np.ndarray,
    scores: np.ndarray | None = None,
    original_format: bool = False,
) -> str:
    """Formats tracker results as MOTChallenge rows ``frame,id,x,y,w,h,conf,-1,-1,-1``.

    Args:
        frames: ``(N,)`` 1-based frame numbers.
        ids: ``(N,)`` track ids.
        boxes: ``(N, 4)`` boxes as ``x, y, w, h`` (top-left corner, size) in pixels.
        scores: ``(N,)`` confidences; 1 when omitted.
        original_format: the rows FDTA's and CSTrack's original code writes: every box value unrounded
            (Python's float repr) and the confidence column ``1`` (``scores`` ignored). Otherwise boxes
            have 2 decimals and the confidence 4 significant digits.
    """
    frames = np.asarray(frames, dtype=np.int64).tolist()
    ids = np.asarray(ids, dtype=np.int64).tolist()
    box_rows = np.asarray(boxes, dtype=np.float64).reshape(-1, 4).tolist()
    if original_format:
        return "".join(
            f"{f},{i},{x!r},{y!r},{w!r},{h!r},1,-1,-1,-1\n"
            for f, i, (x, y, w, h) in zip(frames, ids, box_rows, strict=True)
        )
    scores = np.ones(len(frames)) if scores is None else np.asarray(scores, dtype=np.float64)
    lines = [
        f"{f},{i},{x:.2f},{y:.2f},{w:.2f},{h:.2f},{s:.4g},-1,-1,-1\n"
        for f, i, (x, y, w, h), s in zip(frames, ids, box_rows, scores.tolist(), strict=True)
    ]
    return "".join(lines)


def write_mot_results(
    path: str | Path,
    frames: np.ndarray,
    ids: np.ndarray,
    boxes: np.ndarray,
    scores: np.ndarray | None = None,
    original_format: bool = False,
) -> None:
    """Writes tracker results atomically (`sorted_mot_rows`): one row per box, ``frames`` and ``ids``
    ``(N,)``, ``boxes`` ``(N, 4)`` ``tlwh`` pixels, ``scores`` ``(N,)`` (1 when omitted); lists or arrays.

    Raises:
        TypeError: ``path`` that is no path (str or os.PathLike).
        ValueError: columns of different lengths, or boxes that are not ``(N, 4)`` (one line saying which).
    """
    require_path(path, "path", "write_mot_results")
    boxes = _box_rows(boxes)
    lengths = {"frames": len(np.atleast_1d(frames)), "ids": len(np.atleast_1d(ids)), "boxes": len(boxes)}
    if scores is not None:
        lengths["scores"] = len(np.atleast_1d(scores))
    if len(set(lengths.values())) > 1:
        (first, count), *others = lengths.items()
        listed = ", ".join(f"{name} {n}" for name, n in others)
        rows = "row" if count == 1 else "rows"
        raise ValueError(
            f"write_mot_results: {first} has {count} {rows}, {listed}: give one row per box in each"
        )
    with atomic_open(path) as handle:
        handle.write(sorted_mot_rows(frames, ids, boxes, scores, original_format))


def _box_rows(boxes) -> np.ndarray:
    """``boxes`` as ``(N, 4)`` float64; an empty list is ``(0, 4)``."""
    try:
        boxes = np.asarray(boxes, dtype=np.float64)
    except (TypeError, ValueError):  # rows of different lengths: numpy's "inhomogeneous shape"
        raise ValueError("write_mot_results: boxes must be (N, 4), one x, y, w, h row per box") from None
    if boxes.size == 0:
        return boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(
            f"write_mot_results: boxes must be (N, 4), one x, y, w, h row per box, got shape {boxes.shape}"
        )
    return boxes


def sorted_mot_rows(
    frames: np.ndarray,
    ids: np.ndarray,
    boxes: np.ndarray,
    scores: np.ndarray | None = None,
    original_format: bool = False,
) -> str:
    """The text of tracker results (see `format_mot_rows`), sorted by frame then id; in the
    ``original_format`` sorted by frame only, each frame's rows in the order given (the tracker's)."""
    frames = np.asarray(frames, dtype=np.int64)
    ids = np.asarray(ids, dtype=np.int64)
    order = np.argsort(frames, kind="stable") if original_format else np.lexsort((ids, frames))
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)[order]
    scores = None if scores is None else np.asarray(scores)[order]
    return format_mot_rows(frames[order], ids[order], boxes, scores, original_format)


def rows_by_frame(values: np.ndarray) -> dict[int, np.ndarray]:
    """Rows of a MOT table (``(N, C)``, frame in column 0) grouped by frame -> ``{frame: rows}``, each
    group in file order; an empty table (no rows, e.g. a 0-byte file's ``(0, 0)``) gives ``{}``. One stable
    sort instead of a scan per frame (long videos have 10^4 frames)."""
    if len(values) == 0:
        return {}
    frames = values[:, 0].astype(np.int64)
    order = np.argsort(frames, kind="stable")
    starts = np.flatnonzero(np.diff(frames[order], prepend=frames[order][:1] - 1))
    groups = np.split(values[order], starts[1:])
    return {int(group[0, 0]): group for group in groups}


def read_results_by_frame(path: str | Path) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """A tracker result file -> ``{frame: (ids (n,) int64, tlwh boxes (n, 4) float64, scores (n,))}``
    for the frames that have rows (a missing 7th column reads as score 1)."""
    table = read_mot_table(path, min_columns=6)
    return {
        frame: (
            rows[:, 1].astype(np.int64),
            rows[:, 2:6].astype(np.float64),
            rows[:, 6] if rows.shape[1] >= 7 else np.ones(len(rows)),
        )
        for frame, rows in rows_by_frame(table.values).items()
    }
