"""The JDE tracker's tracks as a table of arrays (`TrackTable`), so that its stages run batched.

Used by `discmot.trackers.association.JDETracker`; numpy only.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from discmot.trackers.kalman import xyah_to_tlwh


class TrackState(IntEnum):
    """A track's life cycle, the original's ``TrackState`` (stored as int8 in `TrackTable.state`)."""

    NEW = 0
    TRACKED = 1
    LOST = 2
    REMOVED = 3


class TrackTable:
    """The tracks of a video that can still take part in association, as rows of arrays (struct of
    arrays), so that stages run batched.

    Row ``r`` holds one track: its Kalman ``mean (8,)`` and ``covariance (8, 8)``, appearance
    ``template (D,)`` (unit length, EMA of its detections' embeddings), last detection box ``tlwh``,
    ``score``, ``track_id``, life-cycle ``state``, ``activated`` flag, ``frame_id`` (last update),
    ``start_frame``, ``tracklet_len`` and ``was_removed`` (the track has been removed once: a removed
    track refound by the appearance stage is never kept as lost again, as in the original). New tracks
    are appended; `compact` drops the rows of finished tracks, renumbering the others.
    """

    def __init__(self) -> None:
        self.size = 0
        self.mean = np.zeros((0, 8))
        self.covariance = np.zeros((0, 8, 8))
        self.template: np.ndarray | None = None
        self.tlwh = np.zeros((0, 4))
        self.score = np.zeros(0)
        self.track_id = np.zeros(0, np.int64)
        self.state = np.zeros(0, np.int8)
        self.activated = np.zeros(0, bool)
        self.frame_id = np.zeros(0, np.int64)
        self.start_frame = np.zeros(0, np.int64)
        self.tracklet_len = np.zeros(0, np.int64)
        self.was_removed = np.zeros(0, bool)

    def add(self, mean, covariance, tlwh, score, features, track_ids, frame_id: int) -> np.ndarray:
        """Appends new tracks (state Tracked, not yet activated); returns their rows."""
        n = len(track_ids)
        rows = np.arange(self.size, self.size + n)
        self.size += n
        self.mean = np.concatenate([self.mean, mean])
        self.covariance = np.concatenate([self.covariance, covariance])
        self.tlwh = np.concatenate([self.tlwh, tlwh])
        self.score = np.concatenate([self.score, score])
        self.track_id = np.concatenate([self.track_id, track_ids])
        self.state = np.concatenate([self.state, np.full(n, TrackState.TRACKED, np.int8)])
        self.activated = np.concatenate([self.activated, np.zeros(n, bool)])
        self.frame_id = np.concatenate([self.frame_id, np.full(n, frame_id)])
        self.start_frame = np.concatenate([self.start_frame, np.full(n, frame_id)])
        self.tracklet_len = np.concatenate([self.tracklet_len, np.zeros(n, np.int64)])
        self.was_removed = np.concatenate([self.was_removed, np.zeros(n, bool)])
        if features is not None:
            old = self.template if self.template is not None else np.zeros((rows[0], features.shape[1]))
            self.template = np.concatenate([old, features.astype(np.float64)])
        return rows

    def compact(self, keep: np.ndarray) -> np.ndarray:
        """Keeps only the rows ``keep`` (ascending), which become rows ``0..len(keep)-1`` in that order.

        Returns:
            ``(old size,)`` int64 map from old row to new row (-1 for a dropped row).
        """
        new_row = np.full(self.size, -1, np.int64)
        new_row[keep] = np.arange(len(keep))
        for name in _TABLE_COLUMNS:
            setattr(self, name, getattr(self, name)[keep])
        if self.template is not None:
            self.template = self.template[keep]  # one row per track: `add` gave earlier rows zeros
        self.size = len(keep)
        return new_row

    def boxes(self, rows) -> np.ndarray:
        """``(N, 4)`` Kalman ``tlwh`` of ``rows``."""
        return xyah_to_tlwh(self.mean[rows])


#: The per-row arrays of `TrackTable` (``template`` too, once a frame had embeddings).
_TABLE_COLUMNS = (
    "mean",
    "covariance",
    "tlwh",
    "score",
    "track_id",
    "state",
    "activated",
    "frame_id",
    "start_frame",
    "tracklet_len",
    "was_removed",
)
