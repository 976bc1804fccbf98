"""Association references on a tracker's own boxes: what its HOTA would be with every identity right,
and with the plainest association of the same boxes.

`with_gt_identities` keeps a result file's boxes (and so its detection accuracy) and replaces each
identity by the ground truth's: per frame, result boxes and gt boxes are paired one to one by a
Hungarian assignment maximising IoU, pairs with IoU >= 0.5 take the gt id, and every other box gets an
id of its own (above all gt ids) so that it still counts as a false positive. Scoring that file says
how much of the tracker's HOTA gap is detection (the ceiling is low) and how much association (the
ceiling is high). Only for analysis: the assignment reads the ground truth.

A tracker that forgets a track after a number of frames without it (FDTA's history window: at most
``miss_tolerance - 2`` missed frames between two boxes of a track) cannot keep an identity across a
longer gap, however good its association. ``with_gt_identities(..., max_missed=N)`` gives such an id a
fresh one when it reappears after more than ``N`` frames without a box (`forget_after_gaps`): the
ceiling of a perfect association under that memory.

`with_iou_identities` keeps the boxes too and replaces the identities by those of the plain IoU tracker
(`iou_tracker`: frame-to-frame overlap only, no motion, no appearance, no memory). A learned association
that scores no better than that on its own boxes has learned nothing beyond overlap.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from discmot.analysis.analyze import read_gt
from discmot.io.mot import read_mot_table
from discmot.io.mot_results import read_results_by_frame, write_mot_results
from iou_tracker import iou_matrix, track_boxes

MIN_IOU = 0.5


def gt_identities(boxes: np.ndarray, gt_boxes: np.ndarray, gt_ids: np.ndarray) -> np.ndarray:
    """Ids ``(N,)`` for one frame's result boxes ``(N, 4)`` tlwh from its gt boxes ``(M, 4)`` and ids
    ``(M,)``; -1 where a box is not paired with a gt box at IoU >= `MIN_IOU`."""
    ids = np.full(len(boxes), -1, dtype=np.int64)
    if len(boxes) == 0 or len(gt_boxes) == 0:
        return ids
    overlap = iou_matrix(boxes, gt_boxes)
    rows, cols = linear_sum_assignment(-overlap)
    paired = overlap[rows, cols] >= MIN_IOU
    ids[rows[paired]] = gt_ids[cols[paired]]
    return ids


def forget_after_gaps(frames: np.ndarray, ids: np.ndarray, max_missed: int, first_new: int) -> np.ndarray:
    """Ids ``(N,)`` for rows of ``frames (N,)`` and ``ids (N,)``: each id as given until it reappears after
    more than ``max_missed`` frames without a row, from there on a fresh id (``first_new``, then up)."""
    if len(ids) == 0:
        return ids.copy()
    order = np.lexsort((frames, ids))  # by id, then frame
    sorted_ids, sorted_frames = ids[order], frames[order]
    same_id = np.r_[False, sorted_ids[1:] == sorted_ids[:-1]]
    forgotten = same_id & (np.diff(sorted_frames, prepend=0) - 1 > max_missed)
    # a segment starts at an id's first row and at each forgotten reappearance; its rows share one id
    starts = ~same_id | forgotten
    start_ids = np.where(forgotten, first_new + np.cumsum(forgotten) - 1, sorted_ids)[starts]
    out = np.empty_like(ids)
    out[order] = start_ids[np.cumsum(starts) - 1]
    return out


def with_gt_identities(
    result_file: Path, gt_file: Path, out_file: Path, max_missed: int | None = None
) -> None:
    """Writes ``result_file``'s rows to ``out_file`` with the gt identities (see the module docstring);
    with ``max_missed``, an identity is forgotten after a longer gap (`forget_after_gaps`)."""
    gt_frames = read_gt(gt_file)  # without the rows marked "not considered": they pair with nothing
    next_id = max((int(ids.max()) for _, ids in gt_frames.values() if len(ids)), default=0) + 1
    no_truth = (np.zeros((0, 4)), np.zeros(0, dtype=np.int64))
    # empty first pieces: a result file without rows gives an empty output, not a failed concatenate
    frames, ids, scores = [np.zeros(0)], [np.zeros(0, dtype=np.int64)], [np.zeros(0)]
    boxes = [np.zeros((0, 4))]
    for frame, (_, frame_boxes, frame_scores) in read_results_by_frame(result_file).items():
        assigned = gt_identities(frame_boxes, *gt_frames.get(frame, no_truth))
        unpaired = assigned < 0
        assigned[unpaired] = np.arange(next_id, next_id + unpaired.sum())
        next_id += int(unpaired.sum())
        frames.append(np.full(len(frame_boxes), frame))
        ids.append(assigned)
        boxes.append(frame_boxes)
        scores.append(frame_scores)
    frames, ids = np.concatenate(frames), np.concatenate(ids)
    if max_missed is not None:
        ids = forget_after_gaps(frames, ids, max_missed, first_new=next_id)
    write_mot_results(out_file, frames, ids, np.concatenate(boxes), np.concatenate(scores))


def oracle_folder(tracker_data: Path, gt_split: Path, out_data: Path, max_missed: int | None = None) -> None:
    """`with_gt_identities` for every ``<seq>.txt`` of ``tracker_data`` (gt: ``gt_split/<seq>/gt/gt.txt``)."""
    for result, out_file in _result_files(tracker_data, out_data):
        with_gt_identities(result, gt_split / result.stem / "gt" / "gt.txt", out_file, max_missed)


def with_iou_identities(result_file: Path, out_file: Path) -> None:
    """Writes ``result_file``'s rows to ``out_file`` with the ids of a fresh `iou_tracker.IouTracker` run
    over its boxes (every frame from 1 to the last visited, so a frame without rows ends every track)."""
    rows = read_mot_table(result_file, min_columns=6).values
    rows = rows if rows.size else np.zeros((0, 7))  # a 0-byte file parses as (0, 0)
    frames, boxes = rows[:, 0].astype(np.int64), rows[:, 2:6]
    scores = rows[:, 6] if rows.shape[1] >= 7 else np.ones(len(rows))  # as read_results_by_frame
    ids = track_boxes(frames, boxes, int(frames.max(initial=0)))
    write_mot_results(out_file, frames, ids, boxes, scores)


def iou_folder(tracker_data: Path, out_data: Path) -> None:
    """`with_iou_identities` for every ``<seq>.txt`` of ``tracker_data``."""
    for result, out_file in _result_files(tracker_data, out_data):
        with_iou_identities(result, out_file)


def _result_files(tracker_data: Path, out_data: Path) -> list[tuple[Path, Path]]:
    """``(<tracker_data>/<seq>.txt, <out_data>/<seq>.txt)`` per result file; creates ``out_data``."""
    out_data.mkdir(parents=True, exist_ok=True)
    return [(result, out_data / result.name) for result in sorted(tracker_data.glob("*.txt"))]
