"""Which same-frame gt and tracker boxes overlap, and their IoU: the sparse similarities of preprocessing.

Only overlapping pairs are stored (every other pair has an IoU of exactly 0), found by a sweep over left
edges rather than a gt x tracker matrix per frame (`discmot.eval.preprocess`; spec ``eval.md`` §2, §3).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from discmot.eval.matching import pairwise_iou_xywh


class OverlapPairs(NamedTuple):
    """The pairs of same-frame gt and tracker boxes that overlap, frame by frame and row-major (gt row,
    then tracker row), with their IoU.

    Attributes:
        offsets: ``(F+1,)`` frame offsets: the pairs of frame ``t`` are ``offsets[t]:offsets[t+1]``.
        frame: ``(P,)`` frame of every pair.
        gt_row, tracker_row: ``(P,)`` gt and tracker row (frame-grouped order) of every pair.
        iou: ``(P,)`` IoU of every pair.
    """

    offsets: np.ndarray
    frame: np.ndarray
    gt_row: np.ndarray
    tracker_row: np.ndarray
    iou: np.ndarray

    def select(self, keep: np.ndarray) -> OverlapPairs:
        """The pairs where ``keep`` ``(P,)`` is True, in order, with the frame offsets recounted."""
        kept_before = np.concatenate(([0], np.cumsum(keep)))
        return OverlapPairs(
            kept_before[self.offsets],
            self.frame[keep],
            self.gt_row[keep],
            self.tracker_row[keep],
            self.iou[keep],
        )


def overlapping_pairs(
    gt_offsets: np.ndarray, tracker_offsets: np.ndarray, gt_boxes: np.ndarray, tracker_boxes: np.ndarray
) -> OverlapPairs:
    """The pairs of same-frame boxes that overlap, with their IoU, frame by frame and row-major.

    A pair is kept when its intersection width and height (computed with TrackEval's arithmetic) are
    both positive; every other pair has an IoU of exactly 0. Candidates come from a sweep over each
    frame's tracker boxes sorted by left edge, so crowded frames do not cost gt x tracker work.

    Args:
        gt_offsets, tracker_offsets: ``(F+1,)`` frame offsets of the two detection lists.
        gt_boxes, tracker_boxes: ``(G, 4)``, ``(T, 4)`` boxes ``x, y, w, h`` grouped by frame.

    Returns:
        the pairs, `OverlapPairs`.
    """
    num_frames = gt_offsets.size - 1
    pair_gt, pair_tracker = _candidate_pairs(gt_offsets, tracker_offsets, gt_boxes, tracker_boxes)
    for axis in (0, 1):  # exact overlap tests, TrackEval's arithmetic
        low_gt, low_tracker = gt_boxes[pair_gt, axis], tracker_boxes[pair_tracker, axis]
        high_gt = low_gt + gt_boxes[pair_gt, axis + 2]
        high_tracker = low_tracker + tracker_boxes[pair_tracker, axis + 2]
        keep = np.minimum(high_gt, high_tracker) - np.maximum(low_gt, low_tracker) > 0
        pair_gt, pair_tracker = pair_gt[keep], pair_tracker[keep]
    order = np.lexsort((pair_tracker, pair_gt))  # row-major: gt row, then tracker row (file order)
    pair_gt, pair_tracker = pair_gt[order], pair_tracker[order]
    iou = pairwise_iou_xywh(gt_boxes[pair_gt], tracker_boxes[pair_tracker])
    pair_frame = np.repeat(np.arange(num_frames), np.diff(gt_offsets))[pair_gt]
    pair_offsets = np.concatenate(([0], np.cumsum(np.bincount(pair_frame, minlength=num_frames))))
    return OverlapPairs(pair_offsets, pair_frame, pair_gt, pair_tracker, iou)


def _candidate_pairs(gt_offsets, tracker_offsets, gt_boxes, tracker_boxes) -> tuple[np.ndarray, np.ndarray]:
    """A superset of the horizontally overlapping same-frame pairs, from a sweep over left edges.

    A tracker box can only overlap gt box ``g`` horizontally if its left edge lies in
    ``[g.x0 - widest tracker box of the frame, g.x1)``. Sorting all tracker boxes by the key
    ``frame * span + x0`` (span a power of two larger than any coordinate distance) makes those
    boxes one contiguous run per gt box, found with two binary searches. Both bounds are widened by a
    margin covering the key's rounding; the exact overlap test comes afterwards.
    """
    num_gt, num_tracker = gt_boxes.shape[0], tracker_boxes.shape[0]
    if num_gt == 0 or num_tracker == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    num_frames = gt_offsets.size - 1
    gt_frame = np.repeat(np.arange(num_frames), np.diff(gt_offsets))
    tracker_frame = np.repeat(np.arange(num_frames), np.diff(tracker_offsets))
    widths = tracker_boxes[:, 2]
    widest = np.zeros(num_frames)
    np.maximum.at(widest, tracker_frame, widths)
    extent = max(
        np.abs(gt_boxes[:, 0]).max() + gt_boxes[:, 2].max(), np.abs(tracker_boxes[:, 0]).max() + widths.max()
    )
    span = 2.0 ** np.ceil(np.log2(4 * extent + 16))
    margin = 1.0 + 1e-12 * span * num_frames  # far above the rounding of frame * span + x
    tracker_keys = tracker_frame * span + tracker_boxes[:, 0]
    sorted_trackers = np.argsort(tracker_keys, kind="stable")
    sorted_keys = tracker_keys[sorted_trackers]
    gt_base = gt_frame * span
    low = np.searchsorted(sorted_keys, gt_base + gt_boxes[:, 0] - widest[gt_frame] - margin)
    high = np.searchsorted(sorted_keys, gt_base + gt_boxes[:, 0] + gt_boxes[:, 2] + margin)
    counts = high - low
    pair_gt = np.repeat(np.arange(num_gt), counts)
    positions = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts - low, counts)
    return pair_gt, sorted_trackers[positions]
