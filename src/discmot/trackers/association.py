"""The JDE online association cascade, as CSTrack runs it (spec ``cstrack.md`` §7.3-7.9).

Per frame: (1) appearance + motion: cosine distance between track templates and detection embeddings,
gated and fused with the Kalman Mahalanobis distance, matched below 0.4; (2) IoU (+1-pixel convention)
for the still-unmatched tracked tracks, below 0.5; (3) IoU for unconfirmed tracks (born last frame),
below 0.7; (4) births; (5) deaths after a buffer of ``frame_rate`` frames; (6) duplicate removal. The
matching of each stage is the assignment with a cost limit, the same problem as the original's
``lap.lapjv(extend_cost=True, cost_limit=t)``: the augmented square problem where leaving a track or
a detection unmatched costs ``t / 2`` (so a pair is only matched when that lowers the total cost; plain
"solve, then drop pairs above t" differs in about 2% of frames). It is solved with scipy's
``linear_sum_assignment`` (spec §7.5), which finds the same assignment whenever the optimum is unique;
between assignments of exactly equal cost (two detections at exactly the same overlap with a track) the
two solvers can pick differently, with no rule relating their choices.

Everything works on plain arrays: `JDETracker.update` takes a `Detections` and returns `Tracks`. This
module imports numpy and scipy only. Its settings, `JDETrackerConfig` and `TRACKER_PRESETS`, live in
`discmot.trackers.jde_config` (importable from here too); the checks of its input in
`discmot.trackers.detection_checks`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from discmot.structures import Detections, Tracks, tlwh_to_tlbr
from discmot.trackers.costs import assign_with_limit, cosine_distance, iou_plus_one
from discmot.trackers.detection_checks import (
    check_finite,
    check_scores,
    check_sizes,
    is_real,
    require_detections,
)
from discmot.trackers.jde_config import TRACKER_PRESETS, JDETrackerConfig
from discmot.trackers.kalman import CHI2_95, KalmanFilterXYAH, tlwh_to_xyah
from discmot.trackers.track_table import TrackState, TrackTable

# with the settings that were defined here (documented and imported from here)
__all__ = ["TRACKER_PRESETS", "JDETracker", "JDETrackerConfig"]

log = logging.getLogger(__name__)


_TRACKED, _LOST, _REMOVED = int(TrackState.TRACKED), int(TrackState.LOST), int(TrackState.REMOVED)


def _select(rows: list[int], mask: np.ndarray) -> list[int]:
    """The entries of ``rows`` where the boolean array ``mask`` (one value per entry) is True."""
    return np.asarray(rows, dtype=np.int64)[mask].tolist() if rows else []


@dataclass(frozen=True)
class _Candidates:
    """The usable detections of a frame: ``tlwh (M, 4)``, ``score (M,)``, unit ``feature (M, D)``."""

    tlwh: np.ndarray
    score: np.ndarray
    feature: np.ndarray | None


class JDETracker:
    """The JDE/CSTrack online tracker on plain detections (boxes, scores, embeddings).

    Track ids start at 1 for every instance; `reset` starts a new video. Detections are processed in
    the order given (the original feeds them in descending score order after NMS).

    Only the tracks in ``tracked`` and ``lost`` (rows of ``table``, in the original's list order) take
    part in later frames; the rows of finished tracks are dropped from the table once they outnumber
    the others (and at least `compact_after_finished` of them), so a long stream costs the same per
    frame at its end as at its start.
    """

    #: The table is compacted once its finished tracks outnumber both its live ones and this.
    compact_after_finished = 64

    def __init__(self, config: JDETrackerConfig | None = None, frame_rate: float = 30.0):
        if not (is_real(frame_rate) and math.isfinite(frame_rate) and frame_rate > 0):
            raise ValueError(f"frame_rate must be a positive number of frames per second, got {frame_rate!r}")
        if config is not None and not isinstance(config, JDETrackerConfig):  # not AttributeError later
            raise TypeError(
                "config must be a JDETrackerConfig (e.g. JDETrackerConfig.preset('onnx') or "
                f"JDETrackerConfig(conf_threshold=0.3)), got {type(config).__name__} {config!r:.60}"
            )
        self.config = config or JDETrackerConfig()
        self.frame_rate = frame_rate
        self.kalman = KalmanFilterXYAH()
        self.reset()

    @property
    def max_time_lost(self) -> int:
        """Frames a lost track is kept: ``int(frame_rate / 30 * track_buffer)``."""
        return int(self.frame_rate / 30.0 * self.config.track_buffer)

    def reset(self) -> None:
        """Forgets all tracks; the next track gets id 1."""
        self.frame_id = 0
        self.table = TrackTable()
        self.tracked: list[int] = []  # rows, in the original's list order
        self.lost: list[int] = []
        self._next_id = 1
        self._filtered = self._shown = 0  # output rows the pedestrian filter dropped / was given
        self._filter_warned = False

    @property
    def filtered_boxes(self) -> int:
        """Confirmed track boxes CSTrack's pedestrian output filter (``config.output_filter``) has dropped
        from the output since the last `reset` (0 with the filter off): when a video's results are empty,
        a count above 0 says the filter hid them (objects that are not standing people)."""
        return self._filtered

    @property
    def next_id(self) -> int:
        """The id the next track born gets (`discmot.trackers.per_class.PerClassTracker` passes it from
        one class's tracker to the next, so that they draw their ids from one sequence)."""
        return self._next_id

    @next_id.setter
    def next_id(self, value: int) -> None:
        self._next_id = int(value)

    def check(self, detections: Detections) -> None:
        """Raises the ValueError `update` would raise for ``detections`` as the next frame; changes
        nothing (a caller updating several trackers with parts of one frame checks every part first).

        Raises:
            TypeError: ``detections`` is no `Detections`.
        """
        require_detections(detections)
        self.frame_id += 1  # the frame number the message names
        try:
            self._candidates(detections)
        finally:
            self.frame_id -= 1

    def update(self, detections: Detections, frame: np.ndarray | None = None) -> Tracks:
        """Associates one frame's detections and returns the confirmed tracks (``frame`` is unused).

        Raises:
            TypeError: ``detections`` is no `Detections`.
            ValueError: detections the tracker cannot use (see `_candidates`): non-finite boxes or
                embeddings, NaN scores, boxes of negative size, embeddings absent or of another dimension
                than before; the tracker is unchanged.
        """
        require_detections(detections)
        self.frame_id += 1
        table, config = self.table, self.config
        try:
            candidates = self._candidates(detections)
        except ValueError:
            self.frame_id -= 1  # nothing of the frame was taken: the caller may skip it and go on
            raise
        activated_now = table.activated[self.tracked]
        unconfirmed, confirmed = _select(self.tracked, ~activated_now), _select(self.tracked, activated_now)
        pool = _joint(confirmed, self.lost)
        self._predict(pool)
        activated: list[int] = []
        refound: list[int] = []
        pool_left, remaining = self._appearance_stage(pool, candidates, activated, refound)
        tracked_left = _select(pool_left, table.state[pool_left] == _TRACKED)
        newly_lost, remaining = self._iou_stage(
            tracked_left, candidates, remaining, config.iou_threshold, activated, refound
        )
        table.state[newly_lost] = _LOST
        # unconfirmed tracks are all in state Tracked: none is refound
        newly_removed, remaining = self._iou_stage(
            unconfirmed, candidates, remaining, config.unconfirmed_threshold, activated, []
        )
        table.state[newly_removed] = _REMOVED
        activated += self._births(candidates, remaining)
        self._book_keeping(activated, refound, newly_lost, newly_removed)
        self._drop_finished_tracks()
        return self._output()

    # -- stages ---------------------------------------------------------------------------------

    def _candidates(self, detections: Detections) -> _Candidates:
        # A box of zero height has no aspect ratio (the Kalman state's w / h): the original divides by
        # zero and its track turns to NaN, which breaks every later assignment; such a box is dropped.
        # (A detector can emit one after clipping to the image, or a random or fp16-saturated network.)
        boxes = np.asarray(detections.boxes, dtype=np.float64).reshape(-1, 4)
        self._check_embeddings(detections)
        check_scores(detections.scores, self.frame_id)
        above = detections.scores >= self.config.conf_threshold
        keep = np.flatnonzero(above & (boxes[:, 3] > 0))
        features = None
        if detections.embeddings is not None:
            raw = np.asarray(detections.embeddings[keep], dtype=np.float32)
            with np.errstate(invalid="ignore", divide="ignore"):  # a broken one is reported just below
                features = raw / np.linalg.norm(raw, axis=1, keepdims=True)  # float32, as the original
        # the boxes above the threshold, not only those kept: a NaN height fails the height test
        check_finite(boxes, np.flatnonzero(above), keep, features, self.frame_id)
        check_sizes(boxes, np.flatnonzero(above), self.frame_id)
        return _Candidates(boxes[keep], np.asarray(detections.scores[keep], dtype=np.float64), features)

    def _check_embeddings(self, detections: Detections) -> None:
        """Appearance must come with every frame or with none, in one dimension: the tracks' templates
        are compared with each frame's embeddings. Embeddings may start on a frame only while there are
        no tracks (tracks born without them have no template to match or to update: the first match of
        one by overlap raised a TypeError midway through the frame's update, 2026-11-25)."""
        template = self.table.template
        if not len(detections):
            return
        if template is None:
            if detections.embeddings is not None and self.table.size:
                raise ValueError(
                    f"frame {self.frame_id}: detections with embeddings after frames without them; give "
                    "every frame embeddings, or none (a new JDETracker, or reset(), for another kind of "
                    "input)"
                )
            return
        if detections.embeddings is None:
            raise ValueError(
                f"frame {self.frame_id}: detections without embeddings after frames with them; give every "
                "frame embeddings, or none (a new JDETracker, or reset(), for another kind of input)"
            )
        if detections.embeddings.shape[1] != template.shape[1]:
            raise ValueError(
                f"frame {self.frame_id}: {detections.embeddings.shape[1]}-d embeddings after "
                f"{template.shape[1]}-d ones"
            )

    def _predict(self, rows: list[int]) -> None:
        """Kalman prediction of the pool; lost tracks first lose their height velocity."""
        if not rows:
            return
        table = self.table
        mean = table.mean[rows]
        mean[table.state[rows] != _TRACKED, 7] = 0
        table.mean[rows], table.covariance[rows] = self.kalman.predict(mean, table.covariance[rows])

    def _appearance_stage(
        self, rows: list[int], candidates: _Candidates, activated: list[int], refound: list[int]
    ) -> tuple[list[int], list[int]]:
        """Stage 1: ``rows`` matched to all detections by `_fused_cost` below ``embedding_threshold``.

        Returns:
            the unmatched rows and the unmatched detections (indices into ``candidates``), in order.
        """
        cost = self._fused_cost(rows, candidates)
        matches, rows_left, columns_left = assign_with_limit(cost, self.config.embedding_threshold)
        self._apply([rows[t] for t, _ in matches], [d for _, d in matches], candidates, activated, refound)
        return [rows[i] for i in rows_left], columns_left

    def _iou_stage(
        self,
        rows: list[int],
        candidates: _Candidates,
        columns: list[int],
        threshold: float,
        activated: list[int],
        refound: list[int],
    ) -> tuple[list[int], list[int]]:
        """Stages 2 and 3: ``rows`` matched to the detections ``columns`` by ``1 - IoU`` below ``threshold``.

        Returns:
            the unmatched rows and the unmatched detections (indices into ``candidates``), in order.
        """
        cost = self._iou_cost(rows, candidates, columns)
        matches, rows_left, columns_left = assign_with_limit(cost, threshold)
        self._apply(
            [rows[t] for t, _ in matches], [columns[d] for _, d in matches], candidates, activated, refound
        )
        return [rows[i] for i in rows_left], [columns[d] for d in columns_left]

    def _fused_cost(self, rows: list[int], candidates: _Candidates) -> np.ndarray:
        """Stage 1 cost: ``0.98 * cosine + 0.02 * Mahalanobis^2``, infinite beyond the chi-square gate."""
        table = self.table
        if not rows or not len(candidates.score):
            return np.zeros((len(rows), len(candidates.score)))
        if candidates.feature is None or table.template is None:
            return np.full(
                (len(rows), len(candidates.score)), np.inf
            )  # no appearance: stage 1 matches nothing
        cost = np.maximum(0.0, cosine_distance(table.template[rows], candidates.feature))
        gating = self.kalman.gating_distance(
            table.mean[rows], table.covariance[rows], tlwh_to_xyah(candidates.tlwh)
        )
        cost[gating > CHI2_95[4]] = np.inf
        # the original's arithmetic: lambda = 0.98, lambda * cosine + (1 - lambda) * gating
        appearance = 1 - self.config.motion_weight
        return appearance * cost + (1 - appearance) * gating

    def _iou_cost(self, rows: list[int], candidates: _Candidates, columns: list[int]) -> np.ndarray:
        if not rows or not columns:
            return np.zeros((len(rows), len(columns)))
        return 1 - iou_plus_one(tlwh_to_tlbr(self.table.boxes(rows)), tlwh_to_tlbr(candidates.tlwh[columns]))

    def _apply(
        self,
        rows: list[int],
        columns: list[int],
        candidates: _Candidates,
        activated: list[int],
        refound: list[int],
    ) -> None:
        """Matched tracks take their detections: Kalman update and template EMA, batched; lost tracks
        are re-activated (tracklet length reset, score kept, as in the original)."""
        if not rows:
            return
        table = self.table
        was_tracked = table.state[rows] == _TRACKED
        table.mean[rows], table.covariance[rows] = self.kalman.update(
            table.mean[rows], table.covariance[rows], tlwh_to_xyah(candidates.tlwh[columns])
        )
        if candidates.feature is not None:
            assert table.template is not None  # `_check_embeddings`: tracks that meet features have templates
            momentum = self.config.feature_momentum
            template = momentum * table.template[rows] + (1 - momentum) * candidates.feature[columns]
            table.template[rows] = template / np.linalg.norm(template, axis=1, keepdims=True)
        rows_array = np.asarray(rows)
        table.tlwh[rows] = candidates.tlwh[columns]
        table.frame_id[rows] = self.frame_id
        table.tracklet_len[rows] = np.where(was_tracked, table.tracklet_len[rows] + 1, 0)
        table.score[rows_array[was_tracked]] = candidates.score[np.asarray(columns)[was_tracked]]
        table.state[rows] = _TRACKED
        table.activated[rows] = True
        activated += rows_array[was_tracked].tolist()
        refound += rows_array[~was_tracked].tolist()

    def _births(self, candidates: _Candidates, columns: list[int]) -> list[int]:
        """New tracks from unmatched detections; they are output only once re-detected (also on frame 1)."""
        threshold = self.config.birth_threshold
        if threshold is None:
            threshold = self.config.conf_threshold
        born = [c for c in columns if candidates.score[c] >= threshold]
        if not born:
            return []
        mean, covariance = self.kalman.initiate(tlwh_to_xyah(candidates.tlwh[born]))
        ids = np.arange(self._next_id, self._next_id + len(born))
        self._next_id += len(born)
        features = None if candidates.feature is None else candidates.feature[born]
        rows = self.table.add(
            mean, covariance, candidates.tlwh[born], candidates.score[born], features, ids, self.frame_id
        )
        return rows.tolist()

    # -- book-keeping ---------------------------------------------------------------------------

    def _book_keeping(
        self, activated: list[int], refound: list[int], newly_lost: list[int], newly_removed: list[int]
    ) -> None:
        """Deaths, list updates and duplicate removal (spec §7.4 steps 6-8, with the one-frame lag)."""
        table = self.table
        expired = _select(self.lost, self.frame_id - table.frame_id[self.lost] > self.max_time_lost)
        table.state[expired] = _REMOVED
        newly_removed = newly_removed + expired
        tracked = _select(self.tracked, table.state[self.tracked] == _TRACKED)
        tracked = _joint(_joint(tracked, activated), refound)
        lost = _subtract(self.lost, tracked) + newly_lost
        lost = _select(lost, ~table.was_removed[lost])  # the previous frames' removals: removal lags a frame
        table.was_removed[newly_removed] = True
        self.tracked, self.lost = self._remove_duplicates(tracked, lost)

    def _drop_finished_tracks(self) -> None:
        """Compacts the table to the tracks of ``tracked`` and ``lost`` once the finished ones (in
        neither list: removed, or dropped as duplicates) number more than those and at least
        `compact_after_finished`.

        A frame reads only the tracks of the two lists (a track removed this frame stays in ``lost``
        until the next frame's book-keeping: the one-frame lag), so renumbering the rows changes no
        result; each track is copied a bounded number of times on average.
        """
        if self.table.size - len(self.tracked) - len(self.lost) <= self.compact_after_finished:
            return  # the common case, decided without sorting rows (the two lists are disjoint)
        live = np.unique(np.array(self.tracked + self.lost, dtype=np.int64))
        finished = self.table.size - len(live)
        if finished <= max(len(live), self.compact_after_finished):
            return
        new_row = self.table.compact(live)
        self.tracked = new_row[self.tracked].tolist()
        self.lost = new_row[self.lost].tolist()

    def _remove_duplicates(self, tracked: list[int], lost: list[int]) -> tuple[list[int], list[int]]:
        """Of a tracked and a lost track overlapping with ``1 - IoU < 0.15`` the younger goes (ties: the
        tracked one)."""
        if not tracked or not lost:
            return tracked, lost
        table = self.table
        cost = 1 - iou_plus_one(tlwh_to_tlbr(table.boxes(tracked)), tlwh_to_tlbr(table.boxes(lost)))
        drop_tracked, drop_lost = set(), set()
        for p, q in zip(*np.nonzero(cost < self.config.duplicate_threshold), strict=True):
            age_p = table.frame_id[tracked[p]] - table.start_frame[tracked[p]]
            age_q = table.frame_id[lost[q]] - table.start_frame[lost[q]]
            if age_p > age_q:
                drop_lost.add(int(q))
            else:
                drop_tracked.add(int(p))
        return (
            [r for i, r in enumerate(tracked) if i not in drop_tracked],
            [r for i, r in enumerate(lost) if i not in drop_lost],
        )

    def _output(self) -> Tracks:
        table = self.table
        shown = [r for r in self.tracked if table.activated[r]]
        if not shown:
            return Tracks.empty()
        boxes = table.tlwh[shown].copy() if self.config.output_detection_boxes else table.boxes(shown)
        keep = np.ones(len(shown), dtype=bool)
        if self.config.output_filter:
            keep = (boxes[:, 2] * boxes[:, 3] > self.config.min_area) & ~(
                boxes[:, 2] / boxes[:, 3] > self.config.max_aspect_ratio
            )
            self._watch_the_filter(len(keep), int((~keep).sum()))
        return Tracks(table.track_id[shown][keep], boxes[keep], table.score[shown][keep])

    def _watch_the_filter(self, shown: int, dropped: int) -> None:
        """Warns once when the pedestrian output filter drops most confirmed tracks (at least 50 rows):
        the objects are then not standing people, and the filter is hiding the tracker's output."""
        self._shown += shown
        self._filtered += dropped
        if not self._filter_warned and self._filtered >= 50 and self._filtered > self._shown / 2:
            self._filter_warned = True
            log.warning(
                "the pedestrian output filter (width/height > %g or area <= %g not written) has dropped %d "
                "of the %d confirmed track boxes so far: for objects that are not standing people turn it "
                "off (discmot track --no-output-filter; output_filter=False in JDETrackerConfig)",
                self.config.max_aspect_ratio,
                self.config.min_area,
                self._filtered,
                self._shown,
            )


# --------------------------------------------------------------------------------------------------
# Plain-list helpers


def _joint(first: list[int], second: list[int]) -> list[int]:
    """``first`` then the tracks of ``second`` not in ``first`` (rows identify tracks)."""
    seen = set(first)
    return first + [r for r in second if r not in seen]


def _subtract(rows: list[int], other: list[int]) -> list[int]:
    """``rows`` without those of ``other``, in order."""
    drop = set(other)
    return [r for r in rows if r not in drop]
