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
module imports numpy and scipy only.
"""

from __future__ import annotations

import logging
import math
import numbers
from dataclasses import dataclass, fields, replace

import numpy as np

from discmot.structures import Detections, Tracks, tlwh_to_tlbr
from discmot.trackers.costs import assign_with_limit, cosine_distance, iou_plus_one
from discmot.trackers.kalman import CHI2_95, KalmanFilterXYAH, tlwh_to_xyah
from discmot.trackers.track_table import TrackState, TrackTable

log = logging.getLogger(__name__)

MOT_BENCHMARKS = ("MOT15", "MOT16", "MOT17", "MOT20")


@dataclass(frozen=True)
class JDETrackerConfig:
    """Thresholds of the cascade; defaults are CSTrack's (spec §7.9).

    Attributes:
        conf_threshold: detections scoring below are ignored.
        birth_threshold: score a detection needs to start a track (``None``: ``conf_threshold``, as in
            CSTrack). Higher than ``conf_threshold`` lets weak detections keep tracks alive without
            starting false ones (useful with detectors of another calibration than CSTrack's).
        embedding_threshold: stage 1 matches below this fused cost.
        motion_weight: weight of the Mahalanobis distance in the fused cost (0.02).
        iou_threshold: stage 2 matches below this ``1 - IoU``.
        unconfirmed_threshold: unconfirmed tracks match below this ``1 - IoU``.
        duplicate_threshold: a tracked and a lost track closer than this ``1 - IoU`` are duplicates.
        feature_momentum: weight of the old template in the embedding EMA (0.9).
        track_buffer: frames a lost track survives at 30 fps (scaled by the frame rate).
        output_filter: drop output boxes with ``w / h > max_aspect_ratio`` or area <= ``min_area``
            (CSTrack's pedestrian filter; on for MOT benchmarks).
        output_detection_boxes: output each track's last matched detection box instead of the Kalman
            estimate (CSTrack outputs the Kalman box; with a moving camera the detection box is often
            better: MOT17-05 HOTA 0.483 vs 0.467 with the public detections, see docs/tracking.md).
        max_aspect_ratio, min_area: parameters of the output filter.
    """

    conf_threshold: float = 0.5
    birth_threshold: float | None = None
    embedding_threshold: float = 0.4
    motion_weight: float = 0.02
    iou_threshold: float = 0.5
    unconfirmed_threshold: float = 0.7
    duplicate_threshold: float = 0.15
    feature_momentum: float = 0.9
    track_buffer: int = 30
    output_filter: bool = False
    output_detection_boxes: bool = False
    max_aspect_ratio: float = 0.6
    min_area: float = 100.0

    def __post_init__(self):
        """A wrong type would otherwise fail inside numpy on the first frame (``"0.5" >= scores``)."""
        for field in fields(self):
            value = getattr(self, field.name)
            if field.type in ("bool",):
                ok = isinstance(value, (bool, np.bool_))
            elif field.name == "birth_threshold" and value is None:
                ok = True
            else:
                ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
            if not ok:
                kind = field.type if field.type == "bool" else f"finite {field.type.split(' |')[0]}"
                raise ValueError(f"JDETrackerConfig.{field.name} must be a {kind}, got {value!r}")
        if self.track_buffer < 0:
            raise ValueError(f"JDETrackerConfig.track_buffer must be at least 0, got {self.track_buffer}")

    @classmethod
    def for_benchmark(cls, name: str | None, **overrides) -> JDETrackerConfig:
        """CSTrack's settings, with the pedestrian output filter on for MOT15/16/17/20."""
        is_mot = name is not None and name.upper() in MOT_BENCHMARKS
        return replace(cls(output_filter=is_mot), **overrides)

    @classmethod
    def preset(cls, name: str, benchmark: str | None = None, **overrides) -> JDETrackerConfig:
        """Named settings for a kind of detector (`TRACKER_PRESETS`) plus the benchmark's output filter."""
        if name not in TRACKER_PRESETS:
            raise ValueError(f"unknown tracker preset {name!r}; choose from {', '.join(TRACKER_PRESETS)}")
        return replace(cls.for_benchmark(benchmark), **{**TRACKER_PRESETS[name], **overrides})


#: Settings per kind of detector, measured in docs/tracking.md.
#: ``cstrack``: the original thresholds (CSTrack's own detector is calibrated for them) and, as in the
#: original, the pedestrian output filter on every benchmark.
#: ``onnx``: a generic detector such as YOLOX-nano scoring every box from 0.1: weak detections keep tracks
#: alive, only confident ones (>= 0.7) start tracks, and the matched detection box is written
#: (PETS09-S2L1 with YOLOX-nano + OSNet: HOTA 0.557, MOTA 0.789, IDF1 0.734).
#: ``public``: precomputed public detections (MOTChallenge det.txt): every detection is used and
#: detection boxes are written (MOT17-05 FRCNN + DeepSORT features: HOTA 0.483 vs DeepSORT's 0.474).
TRACKER_PRESETS: dict[str, dict] = {
    "cstrack": {"output_filter": True},
    "onnx": {"conf_threshold": 0.3, "birth_threshold": 0.7, "output_detection_boxes": True},
    "public": {"conf_threshold": 0.0, "output_detection_boxes": True},
}


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
        if not (isinstance(frame_rate, numbers.Real) and math.isfinite(frame_rate) and frame_rate > 0):
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
        activated, refound = [], []
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
        nan_scores = np.flatnonzero(np.isnan(detections.scores))
        if nan_scores.size:  # a NaN score fails every threshold: the box would vanish
            where = _rows(nan_scores)
            raise ValueError(
                f"frame {self.frame_id}: the detections carry NaN scores, in {where}{_NON_FINITE_HINT}"
            )
        above = detections.scores >= self.config.conf_threshold
        keep = np.flatnonzero(above & (boxes[:, 3] > 0))
        features = None
        if detections.embeddings is not None:
            raw = np.asarray(detections.embeddings[keep], dtype=np.float32)
            with np.errstate(invalid="ignore", divide="ignore"):  # a broken one is reported just below
                features = raw / np.linalg.norm(raw, axis=1, keepdims=True)  # float32, as the original
        # the boxes above the threshold, not only those kept: a NaN height fails the height test
        _check_finite(boxes, np.flatnonzero(above), keep, features, self.frame_id)
        _check_sizes(boxes, np.flatnonzero(above), self.frame_id)
        return _Candidates(boxes[keep], np.asarray(detections.scores[keep], dtype=np.float64), features)

    def _check_embeddings(self, detections: Detections) -> None:
        """Appearance must come with every frame once it came with one, in one dimension: the tracks'
        templates are compared with each frame's embeddings."""
        template = self.table.template
        if template is None or not len(detections):
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
        self, rows: list[int], columns: list[int], candidates: _Candidates, activated, refound
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

    def _book_keeping(self, activated, refound, newly_lost, newly_removed) -> None:
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
# Plain-array helpers


def _check_finite(
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


def _check_sizes(boxes: np.ndarray, used: np.ndarray, frame_id: int) -> None:
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


def require_detections(detections) -> None:
    """`JDETracker.update` takes a `Detections`; anything else would fail on its first attribute."""
    if not isinstance(detections, Detections):
        raise TypeError(
            "expected a discmot.structures.Detections (boxes tlwh (N, 4), scores (N,), optional embeddings "
            f"(N, D)), got {type(detections).__name__}"
        )


#: Said after the rows: the usual cause when the detections come from discmot's own networks.
_NON_FINITE_HINT = (
    "; from discmot's own networks in fp16 the usual cause is overflow: run them in bf16 or fp32 "
    '(--dtype, dtype="bf16")'
)


def _joint(first: list[int], second: list[int]) -> list[int]:
    """``first`` then the tracks of ``second`` not in ``first`` (rows identify tracks)."""
    seen = set(first)
    return first + [r for r in second if r not in seen]


def _subtract(rows: list[int], other: list[int]) -> list[int]:
    """``rows`` without those of ``other``, in order."""
    drop = set(other)
    return [r for r in rows if r not in drop]
