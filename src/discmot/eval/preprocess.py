"""TrackEval's MOTChallenge preprocessing of one sequence (spec ``eval.md`` §3) and its result.

The result of `preprocess` is a `SequenceData`: the per-frame ground-truth and tracker ids after
preprocessing and their similarity matrices, stored flat (all frames' matrices row-major, one after the
other) so that the metrics can be computed with whole-sequence array operations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from discmot.eval.fields import EPS
from discmot.eval.matching import maximum_assignment, partial_permutation_frames
from discmot.eval.motchallenge import PEDESTRIAN, VALID_GT_CLASSES, BenchmarkPreset, FrameGroupedRows
from discmot.eval.overlaps import OverlapPairs, overlapping_pairs
from discmot.io.mot import CLASS, CONF, ID, MotFormatError


@dataclass(frozen=True)
class SequenceData:
    """One sequence after preprocessing: what every metric consumes (TrackEval's ``data`` dict).

    Ids are relabelled to ``0..num_ids-1`` in sorted order of the original ids. Detections are grouped
    by frame. Similarities are sparse: only pairs of boxes of the same frame that overlap are stored
    (every other pair has IoU exactly 0), frame by frame and row-major inside a frame, so the pairs of
    frame ``t`` are ``pair_offsets[t]:pair_offsets[t+1]``. `dense` rebuilds a frame's full matrix.

    Attributes:
        num_timesteps: frames in the sequence (``seqLength``).
        num_gt_ids, num_tracker_ids: distinct ids kept.
        gt_offsets, tracker_offsets: ``(num_timesteps + 1,)`` frame offsets into the id arrays.
        gt_ids, tracker_ids: ``(num_gt_dets,)``, ``(num_tracker_dets,)`` relabelled ids.
        pair_offsets: ``(num_timesteps + 1,)`` frame offsets into the pair arrays.
        pair_frame, pair_gt, pair_tracker: ``(P,)`` frame, gt detection and tracker detection of
            every overlapping pair (detections index ``gt_ids`` / ``tracker_ids``).
        similarity: ``(P,)`` IoU of every overlapping pair.
        gt_rows, tracker_rows: ``(num_gt_dets,)``, ``(num_tracker_dets,)`` the frame-grouped rows of the
            files that preprocessing kept (detection ``i`` is row ``gt_rows[i]``): what ``discmot show``
            draws each detection's status on.
    """

    num_timesteps: int
    num_gt_ids: int
    num_tracker_ids: int
    gt_offsets: np.ndarray
    gt_ids: np.ndarray
    tracker_offsets: np.ndarray
    tracker_ids: np.ndarray
    pair_offsets: np.ndarray
    pair_frame: np.ndarray
    pair_gt: np.ndarray
    pair_tracker: np.ndarray
    similarity: np.ndarray
    gt_rows: np.ndarray
    tracker_rows: np.ndarray

    @property
    def num_gt_dets(self) -> int:
        return int(self.gt_ids.size)

    @property
    def num_tracker_dets(self) -> int:
        return int(self.tracker_ids.size)

    def frame_shape(self, t: int) -> tuple[int, int]:
        """``(gt detections, tracker detections)`` of frame ``t``."""
        return (
            int(self.gt_offsets[t + 1] - self.gt_offsets[t]),
            int(self.tracker_offsets[t + 1] - self.tracker_offsets[t]),
        )

    def dense(self, t: int, values: np.ndarray) -> np.ndarray:
        """Frame ``t``'s ``(gt_t, tracker_t)`` C-contiguous matrix of per-pair ``values`` (0 elsewhere).

        Args:
            values: ``(P,)`` one value per stored pair (e.g. ``similarity``), or ``(P_t,)`` the values
                of frame ``t``'s pairs only.
        """
        start, stop = self.pair_offsets[t], self.pair_offsets[t + 1]
        matrix = np.zeros(self.frame_shape(t))
        rows = self.pair_gt[start:stop] - self.gt_offsets[t]
        cols = self.pair_tracker[start:stop] - self.tracker_offsets[t]
        matrix[rows, cols] = values if values.size == stop - start else values[start:stop]
        return matrix

    def cell_index(self, t: int) -> np.ndarray:
        """Frame ``t``'s ``(gt_t, tracker_t)`` matrix of stored-pair indices; -1 where boxes are apart."""
        start, stop = self.pair_offsets[t], self.pair_offsets[t + 1]
        index = np.full(self.frame_shape(t), -1, dtype=np.int64)
        index[
            self.pair_gt[start:stop] - self.gt_offsets[t],
            self.pair_tracker[start:stop] - self.tracker_offsets[t],
        ] = np.arange(start, stop)
        return index


def preprocess(
    gt: FrameGroupedRows, tracker: FrameGroupedRows, num_frames: int, preset: BenchmarkPreset
) -> SequenceData:
    """TrackEval's MOTChallenge preprocessing of one sequence (spec ``eval.md`` §3).

    1. Checks: tracker class > 1 and (with preprocessing) gt classes outside 1..13 are errors.
    2. Step A: tracker boxes matched (IoU >= 0.5, maximum-IoU assignment over all gt rows of the
       frame) to a distractor gt row are removed.
    3. Step B: gt rows are kept if ``int(conf) != 0`` and (with preprocessing) class is pedestrian.
    4. Ids are relabelled; the IoU of every kept gt x kept tracker pair is computed.
    """
    _check_tracker_classes(tracker)
    gt_classes = gt.truncated(CLASS) if gt.num_rows else np.zeros(0, np.int64)
    if preset.preprocess:
        _check_gt_classes(gt, tracker, gt_classes)
    pairs = overlapping_pairs(gt.offsets, tracker.offsets, gt.boxes(), tracker.boxes())
    keep_tracker = np.ones(tracker.num_rows, bool)
    if preset.preprocess:
        keep_tracker &= ~_distractor_matches(gt, tracker, gt_classes, preset, pairs)
    keep_gt = gt.truncated(CONF) != 0
    if preset.preprocess:
        keep_gt &= gt_classes == PEDESTRIAN
    gt_offsets, gt_rows = _compress(gt.offsets, keep_gt)
    tracker_offsets, tracker_rows = _compress(tracker.offsets, keep_tracker)
    kept_pairs = _kept_pairs(pairs, keep_gt, keep_tracker)
    gt_ids, num_gt_ids = _relabel(gt.truncated(ID)[gt_rows])
    tracker_ids, num_tracker_ids = _relabel(tracker.truncated(ID)[tracker_rows])
    return SequenceData(
        num_timesteps=num_frames,
        num_gt_ids=num_gt_ids,
        num_tracker_ids=num_tracker_ids,
        gt_offsets=gt_offsets,
        gt_ids=gt_ids,
        tracker_offsets=tracker_offsets,
        tracker_ids=tracker_ids,
        pair_offsets=kept_pairs.offsets,
        pair_frame=kept_pairs.frame,
        pair_gt=kept_pairs.gt_row,
        pair_tracker=kept_pairs.tracker_row,
        similarity=kept_pairs.iou,
        gt_rows=gt_rows,
        tracker_rows=tracker_rows,
    )


def _reject_first(rows: FrameGroupedRows, bad: np.ndarray, describe) -> None:
    """Raises `MotFormatError` at the first row (in frame order) where ``bad`` is True.

    ``describe(position)`` gives the message for that regrouped row.
    """
    positions = np.flatnonzero(bad)
    if positions.size:
        position = int(positions[0])
        raise MotFormatError(rows.path, describe(position), rows.line(position))


def _check_tracker_classes(tracker: FrameGroupedRows) -> None:
    if tracker.num_rows == 0 or tracker.table.num_columns <= CLASS:
        return
    classes = tracker.truncated(CLASS)
    _reject_first(
        tracker,
        classes > 1,
        lambda i: (
            f"class {classes[i]} found: evaluation is only valid for the pedestrian class "
            "(column 8 must be 1, 0 or -1)"
        ),
    )


def _check_gt_classes(gt: FrameGroupedRows, tracker: FrameGroupedRows, gt_classes: np.ndarray) -> None:
    """TrackEval rejects gt classes outside 1..13, but only in frames that also have tracker boxes."""
    if gt.num_rows == 0 or tracker.num_rows == 0:
        return
    has_tracker = np.diff(tracker.offsets) > 0
    row_frames = np.repeat(np.arange(has_tracker.size), np.diff(gt.offsets))
    invalid = (gt_classes < VALID_GT_CLASSES.start) | (gt_classes >= VALID_GT_CLASSES.stop)
    _reject_first(
        gt,
        invalid & has_tracker[row_frames],
        lambda i: (
            f"invalid ground-truth class {gt_classes[i]} (MOTChallenge classes are 1..13; "
            "use the MOT15 benchmark preset for files without classes)"
        ),
    )


def _distractor_matches(
    gt: FrameGroupedRows,
    tracker: FrameGroupedRows,
    gt_classes: np.ndarray,
    preset: BenchmarkPreset,
    pairs: OverlapPairs,
) -> np.ndarray:
    """``(tracker rows,)`` bool: tracker rows matched to a distractor gt row (step A).

    The matching (maximum summed IoU over pairs with IoU >= 0.5 - eps, all gt rows of the frame) is
    read off directly where those pairs form a partial permutation (the unique optimum), and solved
    with scipy on TrackEval's full frame matrix elsewhere. Frames where no distractor row reaches
    IoU 0.5 with any tracker box cannot lose a box and are skipped.
    """
    removed = np.zeros(tracker.num_rows, dtype=bool)
    if gt.num_rows == 0 or tracker.num_rows == 0:
        return removed
    is_distractor = np.isin(gt_classes, list(preset.distractor_classes))
    num_frames = gt.offsets.size - 1
    candidates = pairs.select(pairs.iou >= 0.5 - EPS)
    on_distractor = is_distractor[candidates.gt_row]
    relevant = np.zeros(num_frames, dtype=bool)
    relevant[candidates.frame[on_distractor]] = True
    unique = partial_permutation_frames(
        np.ones(candidates.frame.size, bool),
        candidates.frame,
        candidates.gt_row,
        candidates.tracker_row,
        num_frames,
    )
    removed[candidates.tracker_row[on_distractor & unique[candidates.frame]]] = True
    solved = np.flatnonzero(relevant & ~unique).tolist()
    removed[_solved_distractor_matches(gt, tracker, candidates, is_distractor, solved)] = True
    return removed


def _solved_distractor_matches(
    gt: FrameGroupedRows,
    tracker: FrameGroupedRows,
    candidates: OverlapPairs,
    is_distractor: np.ndarray,
    frames: list[int],
) -> np.ndarray:
    """Tracker rows matched to a distractor gt row in ``frames``, by scipy's maximum-IoU assignment on
    TrackEval's frame matrix (``candidates``' IoU, 0 elsewhere): the frames where the match is not
    unique. Returns ``(K,)`` int64 tracker rows."""
    matched_rows = [np.zeros(0, np.int64)]
    for t in frames:
        in_frame = slice(candidates.offsets[t], candidates.offsets[t + 1])
        g0, k0 = gt.offsets[t], tracker.offsets[t]
        scores = np.zeros((gt.offsets[t + 1] - g0, tracker.offsets[t + 1] - k0))
        cells = (candidates.gt_row[in_frame] - g0, candidates.tracker_row[in_frame] - k0)
        scores[cells] = candidates.iou[in_frame]  # TrackEval's thresholded matrix
        rows, cols = maximum_assignment(scores)
        matched = scores[rows, cols] > 0 + EPS
        matched_rows.append(k0 + cols[matched][is_distractor[g0 + rows[matched]]])
    return np.concatenate(matched_rows)


def _kept_pairs(pairs: OverlapPairs, keep_gt: np.ndarray, keep_tracker: np.ndarray) -> OverlapPairs:
    """The overlapping pairs between kept rows, re-indexed to the kept rows (order is preserved)."""
    kept = pairs.select(keep_gt[pairs.gt_row] & keep_tracker[pairs.tracker_row])
    new_gt = np.cumsum(keep_gt) - 1
    new_tracker = np.cumsum(keep_tracker) - 1
    return kept._replace(gt_row=new_gt[kept.gt_row], tracker_row=new_tracker[kept.tracker_row])


def _compress(offsets: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Frame offsets and regrouped-row positions of the rows where ``keep`` is True."""
    kept_before = np.concatenate(([0], np.cumsum(keep)))
    return kept_before[offsets], np.flatnonzero(keep)


def _relabel(ids: np.ndarray) -> tuple[np.ndarray, int]:
    """Maps ids to ``0..n-1`` in sorted order (TrackEval's relabelling)."""
    unique, inverse = np.unique(ids, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64), int(unique.size)
