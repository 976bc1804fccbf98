"""The checks of the detections the JDE association takes (`discmot.trackers.association.JDETracker`):
a `Detections` at all, then no NaN score, no non-finite box or embedding and no box of negative size,
each named by its rows (a bad value would otherwise fail inside the solver, or vanish without a word);
and `is_real` / `is_integral` for the trackers' numeric settings. numpy only."""

from __future__ import annotations

import numbers

import numpy as np

from discmot.structures import Detections


def is_real(value: object) -> bool:
    """``isinstance(value, numbers.Real)`` (Python or numpy ints and floats, bools too).

    A function returning a plain bool, not the inline test: mypy does not count ``float`` as a
    `numbers.Real` (python/mypy#3186), so an inline test of a parameter annotated ``float`` would make it
    take the test for always false and skip checking the code after it."""
    return isinstance(value, numbers.Real)


def is_integral(value: object) -> bool:
    """``isinstance(value, numbers.Integral)`` (Python or numpy ints, bools too); a function for the
    reason `is_real` is one (mypy does not count ``int`` as a `numbers.Integral`)."""
    return isinstance(value, numbers.Integral)


def require_detections(detections) -> None:
    """`JDETracker.update` takes a `Detections`; anything else would fail on its first attribute."""
    if not isinstance(detections, Detections):
        raise TypeError(
            "expected a discmot.structures.Detections (boxes tlwh (N, 4), scores (N,), optional embeddings "
            f"(N, D)), got {type(detections).__name__}"
        )


def check_scores(scores: np.ndarray, frame_id: int) -> None:
    """A NaN score fails every threshold: the box would vanish."""
    nan_scores = np.flatnonzero(np.isnan(scores))
    if nan_scores.size:
        where = _rows(nan_scores)
        raise ValueError(f"frame {frame_id}: the detections carry NaN scores, in {where}{_NON_FINITE_HINT}")


def check_finite(
    boxes: np.ndarray, used: np.ndarray, kept: np.ndarray, features: np.ndarray | None, frame_id: int
) -> None:
    """A NaN or infinite box (of the ``used`` rows of ``boxes``, (N, 4)) or embedding (``features``, one
    per row of ``kept``) would fail the frame's assignment with an opaque solver error (and poison the
    tracks it touches): name the rows, then the usual cause when discmot's own networks gave them."""
    finite = np.isfinite(boxes[used]).all(axis=1)
    if finite.all() and (features is None or np.isfinite(features).all()):
        return  # every frame: the rows are looked for only when one is bad
    bad = used[~finite]
    what = "boxes, NaN or inf,"
    if not bad.size and features is not None:
        bad = kept[~np.isfinite(features).all(axis=1)]
        what = "embeddings, NaN or inf (or all zeros, which have no direction),"
    if bad.size:
        raise ValueError(
            f"frame {frame_id}: the detections carry non-finite {what} in {_rows(bad)}{_NON_FINITE_HINT}"
        )


def _rows(rows: np.ndarray, shown: int = 5) -> str:
    """``"rows 1, 4"`` (0-based, as in the arrays given), the first ``shown`` and how many more."""
    listed = ", ".join(str(int(r)) for r in rows[:shown])
    more = f" and {len(rows) - shown} more" if len(rows) > shown else ""
    return f"row{'s' if len(rows) > 1 else ''} {listed}{more}"


def check_sizes(boxes: np.ndarray, used: np.ndarray, frame_id: int) -> None:
    """A used box of negative width or height is not ``tlwh`` (``x1, y1, x2, y2`` corners with ``x2 < x1``,
    or a size with the wrong sign): its track would match nothing and vanish without a word. (A zero
    height, as clipping to the image gives, stays a box that is dropped.)"""
    negative = used[(boxes[used, 2:] < 0).any(axis=1)]
    if negative.size:
        index = int(negative[0])
        x, y, w, h = boxes[index].tolist()
        raise ValueError(
            f"frame {frame_id}: box {index} has a negative size (x, y, w, h = {x:g}, {y:g}, {w:g}, {h:g}): "
            "boxes are tlwh, top-left corner then width and height (corners x1, y1, x2, y2 convert with "
            "discmot.structures.tlbr_to_tlwh)"
        )


#: Said after the rows: the usual cause when the detections come from discmot's own networks.
_NON_FINITE_HINT = (
    "; from discmot's own networks in fp16 the usual cause is overflow: run them in bf16 or fp32 "
    '(--dtype, dtype="bf16")'
)
