"""One frame's boxes drawn by what CLEAR made of them (`discmot.viz.errors`), for ``discmot show``:
the colours and legend of each kind of error, and `draw_errors`.
"""

from __future__ import annotations

import numpy as np

from discmot.structures import Tracks
from discmot.viz import errors as clear_errors
from discmot.viz.draw import (
    TrailHistory,
    box_corners,
    draw_dashed_rectangle,
    draw_label,
    draw_tracks,
    line_width,
    with_legend,
)

FALSE_POSITIVE_COLOR = (0, 0, 255)  # BGR red
MISS_COLOR = (255, 255, 255)
SWITCH_COLOR = (0, 255, 255)  # yellow
IGNORED_COLOR = (150, 150, 150)
LEGEND = (
    ("matched (id colour)", (0, 255, 0), "solid"),
    ("FP: false positive", FALSE_POSITIVE_COLOR, "dashed"),
    ("FN: missed gt box", MISS_COLOR, "thin"),
    ("IDSW a->b: id switch", SWITCH_COLOR, "solid"),
    ("ignored (distractor)", IGNORED_COLOR, "dashed"),
)


def draw_errors(
    frame: np.ndarray,
    boxes: clear_errors.FrameErrors,
    trails: TrailHistory,
    caption: str,
    widest_caption: str = "",
) -> np.ndarray:
    """Draws one frame's classified boxes (see `discmot.viz.show`'s docstring) and returns a new frame:
    it, above a bar with the caption and the legend (`with_legend`; ``widest_caption``, the video's
    longest caption, keeps every frame's bar the same). ``trails`` is updated with the frame's scored
    tracker boxes; ``frame`` is drawn on in place. Misses first, then removed and false-positive boxes,
    then the matches on top, so that a match over a miss stays visible."""
    status = boxes.tracker_status
    placed = _draw_misses(frame, boxes)
    for box in boxes.tracker_boxes[status == clear_errors.IGNORED]:
        draw_dashed_rectangle(frame, box_corners(box), IGNORED_COLOR, max(1, line_width(frame) - 1))
    false_positive = status == clear_errors.FALSE_POSITIVE
    for track_id, box in zip(
        boxes.tracker_ids[false_positive], boxes.tracker_boxes[false_positive], strict=True
    ):
        corners = box_corners(box)
        draw_dashed_rectangle(frame, corners, FALSE_POSITIVE_COLOR, line_width(frame))
        placed.append(draw_label(frame, f"FP {track_id}", corners[:2], FALSE_POSITIVE_COLOR, avoid=placed))
    trails.update(_tracks(boxes, status != clear_errors.IGNORED))
    switched = status == clear_errors.SWITCH
    _draw_switch_rings(frame, boxes.tracker_boxes[switched])
    draw_tracks(frame, _tracks(boxes, (status == clear_errors.MATCHED) | switched), trails, avoid=placed)
    rows = zip(
        boxes.tracker_ids[switched], boxes.switched_from[switched], boxes.tracker_boxes[switched], strict=True
    )
    for track_id, before, box in rows:  # below the box: its id label is above it
        x1, _, _, y2 = box_corners(box)
        corner = (x1, y2 + 2 * line_width(frame))
        placed.append(
            draw_label(frame, f"IDSW {before}->{track_id}", corner, SWITCH_COLOR, above=False, avoid=placed)
        )
    return with_legend(frame, LEGEND, caption, widest_caption)


def _draw_misses(frame: np.ndarray, boxes: clear_errors.FrameErrors) -> list:
    """The missed gt boxes as thin white outlines on a dark rim (seen on light and dark ground), labelled
    ``FN <gt id>`` below; returns the labels' rectangles."""
    import cv2

    placed: list = []
    missed = boxes.gt_status == clear_errors.MISSED
    for gt_id, box in zip(boxes.gt_ids[missed], boxes.gt_boxes[missed], strict=True):
        x1, y1, x2, y2 = box_corners(box)
        cv2.rectangle(frame, (x1, y1), (x2, y2), (0, 0, 0), 3)
        cv2.rectangle(frame, (x1, y1), (x2, y2), MISS_COLOR, 1)
        placed.append(draw_label(frame, f"FN {gt_id}", (x1, y2), MISS_COLOR, above=False, avoid=placed))
    return placed


def _draw_switch_rings(frame: np.ndarray, boxes: np.ndarray) -> None:
    """A yellow ring just outside each ``(N, 4)`` box: drawn before the box's own line and label."""
    import cv2

    ring = 2 * line_width(frame)
    for box in boxes:
        x1, y1, x2, y2 = box_corners(box)
        cv2.rectangle(frame, (x1 - ring, y1 - ring), (x2 + ring, y2 + ring), SWITCH_COLOR, ring)


def _tracks(boxes: clear_errors.FrameErrors, keep: np.ndarray) -> Tracks:
    """The tracker boxes where ``keep`` ``(T,)`` is True, as `Tracks` (for `draw_tracks` and trails)."""
    return Tracks(boxes.tracker_ids[keep], boxes.tracker_boxes[keep], np.ones(int(keep.sum())))
