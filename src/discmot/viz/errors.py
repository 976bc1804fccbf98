"""Which boxes of a results file CLEAR counts as matches, false positives, misses and ID switches, frame by
frame: what ``discmot show`` draws.

Nothing is matched here: the boxes are classified by `discmot.eval.clear.match_pairs`, after the benchmark's
preprocessing (`discmot.eval.preprocess.preprocess`), the code behind `discmot eval`'s CLEAR numbers,
so a sequence's totals (`SequenceErrors.totals`) are its ``CLR_FP``, ``CLR_FN`` and ``IDSW``.
No torch and no OpenCV are imported.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from discmot.eval import clear
from discmot.eval.motchallenge import (
    FrameGroupedRows,
    benchmark_preset,
    load_ground_truth,
    load_tracker_result,
)
from discmot.eval.preprocess import preprocess
from discmot.io.mot import ID

#: Status of a tracker box: matched to a gt box (in its id's colour), matched with an ID switch, a false
#: positive, or removed by the benchmark's preprocessing (it matched a distractor such as a static person;
#: CLEAR does not score it).
MATCHED, SWITCH, FALSE_POSITIVE, IGNORED = 0, 1, 2, 3
#: Status of a gt box: matched, missed (a false negative), or not scored (its class is not pedestrian,
#: or its conf column is 0: MOT17's preprocessing leaves it out).
GT_MATCHED, MISSED, GT_IGNORED = 0, 1, 2


@dataclass(frozen=True)
class FrameErrors:
    """One frame's boxes as CLEAR sees them.

    Attributes:
        tracker_ids, tracker_boxes: ``(T,)`` ids and ``(T, 4)`` ``x, y, w, h`` boxes of the results file's
            rows of the frame (file order).
        tracker_status: ``(T,)`` `MATCHED`, `SWITCH`, `FALSE_POSITIVE` or `IGNORED`.
        switched_from: ``(T,)`` for a `SWITCH`, the tracker id its gt box was matched to at its previous
            match (the ``a`` of ``IDSW a->b``); 0 elsewhere.
        gt_ids, gt_boxes, gt_status: ``(G,)``, ``(G, 4)``, ``(G,)`` likewise for the ground truth
            (`GT_MATCHED`, `MISSED`, `GT_IGNORED`).
    """

    tracker_ids: np.ndarray
    tracker_boxes: np.ndarray
    tracker_status: np.ndarray
    switched_from: np.ndarray
    gt_ids: np.ndarray
    gt_boxes: np.ndarray
    gt_status: np.ndarray

    def counts(self) -> dict[str, int]:
        """``{"FP": ..., "FN": ..., "IDSW": ...}`` of this frame."""
        return _counts(self.tracker_status, self.gt_status)


@dataclass(frozen=True)
class SequenceErrors:
    """Every frame's classified boxes; rows are the files' rows regrouped by frame (see
    `discmot.eval.motchallenge.FrameGroupedRows`).

    Attributes:
        tracker, gt: the two files' rows.
        tracker_status, switched_from: ``(tracker rows,)``, see `FrameErrors`.
        gt_status: ``(gt rows,)``.
    """

    tracker: FrameGroupedRows
    gt: FrameGroupedRows
    tracker_status: np.ndarray
    switched_from: np.ndarray
    gt_status: np.ndarray

    @property
    def num_frames(self) -> int:
        return int(self.tracker.offsets.size - 1)

    def frame(self, number: int) -> FrameErrors:
        """Frame ``number`` (1-based)."""
        t = slice(self.tracker.offsets[number - 1], self.tracker.offsets[number])
        g = slice(self.gt.offsets[number - 1], self.gt.offsets[number])
        return FrameErrors(
            self._tracker_ids[t],
            self.tracker.boxes()[t],
            self.tracker_status[t],
            self.switched_from[t],
            self._gt_ids[g],
            self.gt.boxes()[g],
            self.gt_status[g],
        )

    # the id columns once: `truncated` gathers a whole column, and `frame` is called for every frame
    @cached_property
    def _tracker_ids(self) -> np.ndarray:
        return self.tracker.truncated(ID)

    @cached_property
    def _gt_ids(self) -> np.ndarray:
        return self.gt.truncated(ID)

    def totals(self) -> dict[str, int]:
        """``{"FP", "FN", "IDSW"}`` of the whole sequence: `discmot eval`'s ``CLR_FP``, ``CLR_FN``,
        ``IDSW``."""
        return _counts(self.tracker_status, self.gt_status)


def _counts(tracker_status: np.ndarray, gt_status: np.ndarray) -> dict[str, int]:
    return {
        "FP": int(np.count_nonzero(tracker_status == FALSE_POSITIVE)),
        "FN": int(np.count_nonzero(gt_status == MISSED)),
        "IDSW": int(np.count_nonzero(tracker_status == SWITCH)),
    }


def classify_files(
    gt_file: str | Path, results_file: str | Path, num_frames: int, benchmark: str = "MOT17"
) -> SequenceErrors:
    """Loads a sequence's ground truth and results (the eval loaders: a bad row is a `MotFormatError`
    naming file and line) and classifies every box (`classify`)."""
    gt = load_ground_truth(gt_file, num_frames)
    tracker = load_tracker_result(results_file, num_frames)
    return classify(gt, tracker, num_frames, benchmark)


def classify(
    gt: FrameGroupedRows, tracker: FrameGroupedRows, num_frames: int, benchmark: str = "MOT17"
) -> SequenceErrors:
    """Every box's CLEAR status: the benchmark's preprocessing, then CLEAR's matching of the whole sequence
    (a match kept from the previous frame is preferred, IoU >= 0.5), then its ID switches."""
    preset = benchmark_preset(benchmark)
    seq = preprocess(gt, tracker, num_frames, preset)  # raises on classes TrackEval refuses
    gt_rows, tracker_rows = seq.gt_rows, seq.tracker_rows
    matched = clear.match_pairs(seq)
    matched_gt, matched_tracker = seq.pair_gt[matched], seq.pair_tracker[matched]
    previous = clear.previous_partners(seq.gt_ids[matched_gt], seq.tracker_ids[matched_tracker])
    switched = (previous >= 0) & (previous != seq.tracker_ids[matched_tracker])
    tracker_status = np.full(tracker.num_rows, IGNORED, dtype=np.int8)
    tracker_status[tracker_rows] = FALSE_POSITIVE
    tracker_status[tracker_rows[matched_tracker]] = np.where(switched, SWITCH, MATCHED)
    switched_from = np.zeros(tracker.num_rows, dtype=np.int64)
    if switched.any():  # relabelled ids back to the file's: they are the sorted distinct ids
        file_ids = np.unique(tracker.truncated(ID)[tracker_rows])
        switched_from[tracker_rows[matched_tracker[switched]]] = file_ids[previous[switched]]
    gt_status = np.full(gt.num_rows, GT_IGNORED, dtype=np.int8)
    gt_status[gt_rows] = MISSED
    gt_status[gt_rows[matched_gt]] = GT_MATCHED
    return SequenceErrors(tracker, gt, tracker_status, switched_from, gt_status)
