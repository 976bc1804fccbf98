"""MOTChallenge sequences for evaluation: loading, validation and TrackEval's preprocessing.

Spec ``eval.md`` §1.4-1.5 (parsing, checks) and §3 (preprocessing). The result of `preprocess` is a
`SequenceData`: the per-frame ground-truth and tracker ids after preprocessing and their similarity
matrices, stored flat (all frames' matrices row-major, one after the other) so that the metrics can be
computed with whole-sequence array operations.

MOTChallenge class ids: 1 pedestrian, 2 person_on_vehicle, 3 car, 4 bicycle, 5 motorbike,
6 non_mot_vehicle, 7 static_person, 8 distractor, 9 occluder, 10 occluder_on_ground, 11 occluder_full,
12 reflection, 13 crowd.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import NamedTuple

import numpy as np

from discmot.eval.fields import EPS
from discmot.eval.matching import maximum_assignment, pairwise_iou_xywh, partial_permutation_frames
from discmot.io.mot import (
    CLASS,
    CONF,
    FRAME,
    ID,
    MotFormatError,
    MotTable,
    X,
    check_column_count,
    check_frames,
    check_positive_sizes,
    check_unique_ids,
    read_mot_table,
)

PEDESTRIAN = 1
VALID_GT_CLASSES = range(1, 14)
DISTRACTORS = frozenset({2, 7, 8, 12})  # person_on_vehicle, static_person, distractor, reflection


@dataclass(frozen=True)
class BenchmarkPreset:
    """How a benchmark's ground truth is preprocessed before scoring (spec ``eval.md`` §3, §11).

    Attributes:
        name: the benchmark name as given by the user.
        preprocess: False for MOT15: no distractor removal and no class filter (only rows with
            ``conf == 0`` are ignored); True for every other benchmark.
        distractor_classes: gt classes whose matched tracker boxes are removed.
    """

    name: str
    preprocess: bool = True
    distractor_classes: frozenset[int] = DISTRACTORS


#: Named presets. DanceTrack, SportsMOT and BFT are evaluated with TrackEval's MOT17 code path, whose
#: preprocessing is a no-op on their ground truth (every row is ``conf 1, class 1``).
PRESETS: dict[str, BenchmarkPreset] = {
    "MOT15": BenchmarkPreset("MOT15", preprocess=False, distractor_classes=frozenset()),
    "MOT16": BenchmarkPreset("MOT16"),
    "MOT17": BenchmarkPreset("MOT17"),
    "MOT20": BenchmarkPreset("MOT20", distractor_classes=DISTRACTORS | {6}),  # + non_mot_vehicle
    "DanceTrack": BenchmarkPreset("DanceTrack"),
    "SportsMOT": BenchmarkPreset("SportsMOT"),
    "BFT": BenchmarkPreset("BFT"),
}


def benchmark_preset(name: str) -> BenchmarkPreset:
    """The preset of a benchmark name (case-insensitive); other names get MOT17's rules, as in TrackEval."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"benchmark {name!r}: give a name such as MOT17 or DanceTrack")
    for key, preset in PRESETS.items():
        if key.lower() == name.lower():
            return preset
    return BenchmarkPreset(name)


# --------------------------------------------------------------------------------------------------
# Loading


@dataclass(frozen=True)
class FrameGroupedRows:
    """The rows of one MOT file regrouped by frame, keeping file order inside each frame.

    Attributes:
        table: the file's numbers.
        rows: ``(N,)`` indices into ``table.values``, sorted by frame (stable).
        offsets: ``(num_frames + 1,)``; rows of frame ``t`` (0-based) are ``rows[offsets[t]:offsets[t+1]]``.
    """

    table: MotTable
    rows: np.ndarray
    offsets: np.ndarray

    @property
    def path(self) -> Path:
        return self.table.path

    @property
    def num_rows(self) -> int:
        return int(self.rows.size)

    def column(self, index: int) -> np.ndarray:
        """Column ``index`` of the regrouped rows, ``(N,)`` float64."""
        return self.table.values[self.rows, index] if self.num_rows else np.zeros(0)

    def truncated(self, index: int) -> np.ndarray:
        """Column ``index`` truncated to int64, as TrackEval's ``int(float(x))``."""
        return np.trunc(self.column(index)).astype(np.int64)

    def boxes(self) -> np.ndarray:
        """``(N, 4)`` float64 boxes ``x, y, w, h`` (computed once; do not modify)."""
        return self._boxes

    @cached_property
    def _boxes(self) -> np.ndarray:
        return self.table.values[self.rows, X : X + 4] if self.num_rows else np.zeros((0, 4))

    def line(self, position: int) -> int:
        """The file line of regrouped row ``position``."""
        return int(self.rows[position]) + 1


def load_mot_sequence_file(
    path: str | Path, num_frames: int, min_columns: int, what: str, max_frames: int | None = None
) -> FrameGroupedRows:
    """Reads and validates a gt or tracker file of a sequence of ``num_frames`` frames.

    Checks (each a `MotFormatError` naming file and line): parsing (see `read_mot_table`), column
    count, frames in ``1..num_frames``, box width and height > 0, unique ids within each frame. With
    ``max_frames`` the rows of frames ``1..max_frames`` alone are kept (``offsets`` then cover
    ``min(num_frames, max_frames)`` frames): the file as if cut there (`discmot eval --max-frames`); the
    whole file is checked all the same, and lines keep their numbers.
    """
    table = read_mot_table(path)
    check_column_count(table, min_columns, what)
    check_frames(table, num_frames)
    check_positive_sizes(table)
    check_unique_ids(table)
    return group_rows_by_frame(table, num_frames if max_frames is None else min(num_frames, max_frames))


def last_frame(path: str | Path) -> int:
    """The largest (truncated) frame number of a MOT file's rows, 0 for none: the length of a sequence
    without seqinfo.ini (`discmot.data.layouts.SequenceFiles`). Parse errors are raised as by the loaders."""
    table = read_mot_table(path)
    return int(table.truncated(FRAME).max()) if table.num_rows else 0


def group_rows_by_frame(table: MotTable, num_frames: int) -> FrameGroupedRows:
    """Regroups validated rows by (truncated) frame number, stable within a frame; rows after frame
    ``num_frames`` are left out (a file scored over its first frames only, `load_mot_sequence_file`)."""
    if table.num_rows == 0:
        return FrameGroupedRows(table, np.zeros(0, np.int64), np.zeros(num_frames + 1, np.int64))
    frames = table.truncated(FRAME)
    kept = np.flatnonzero(frames <= num_frames)  # indices into the table: lines keep their numbers
    rows = kept[np.argsort(frames[kept], kind="stable")]
    offsets = np.concatenate(([0], np.cumsum(np.bincount(frames[kept] - 1, minlength=num_frames))))
    return FrameGroupedRows(table, rows, offsets)


def load_ground_truth(path: str | Path, num_frames: int, max_frames: int | None = None) -> FrameGroupedRows:
    """Ground truth needs 8 columns: frame, id, box, conf (zero-marked flag), class. ``max_frames``: keep
    frames ``1..max_frames`` only (`load_mot_sequence_file`)."""
    return load_mot_sequence_file(path, num_frames, min_columns=8, what="ground-truth", max_frames=max_frames)


def load_tracker_result(path: str | Path, num_frames: int, max_frames: int | None = None) -> FrameGroupedRows:
    """Tracker results need 7 columns: frame, id, box, conf (conf itself is never used). ``max_frames``:
    keep frames ``1..max_frames`` only (`load_mot_sequence_file`)."""
    return load_mot_sequence_file(path, num_frames, min_columns=7, what="tracker", max_frames=max_frames)


# --------------------------------------------------------------------------------------------------
# Preprocessing


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
