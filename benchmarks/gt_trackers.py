"""Reference trackers on ground-truth boxes: what association by overlap, or by overlap and motion,
reaches when every box is right.

Both trackers take a split's gt boxes with seeded Gaussian jitter (`iou_tracker.jitter_boxes`, 2% of the
box size, seeded per sequence), label every box (an unmatched box starts a new identity) and write one
MOT result file per sequence, so their outputs differ only in the identities:

* ``"iou"``: `iou_tracker.track_boxes`, overlap from frame to frame, no motion, no appearance, no memory.
* ``"kalman"``: `KalmanIouTracker`, SORT-like: a constant-velocity Kalman filter per track (discmot's
  `KalmanFilterXYAH`, the JDE trackers' filter), Hungarian IoU matching of this frame's boxes with every
  track's *predicted* box (pairs below IoU 0.3 dropped), and a memory: a track missed in up to one
  second of frames (the sequence's frame rate) is still predicted and can be matched again.

What a tracker scores here is an upper reference for association by those cues alone on a preset: a
learned association that uses only overlap and motion has little room to do better on worse boxes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from discmot.io.mot import read_mot_table
from discmot.io.mot_results import write_mot_results
from discmot.io.seqinfo import read_seqinfo
from discmot.io.seqmaps import read_seqmap
from discmot.trackers.kalman import KalmanFilterXYAH, tlwh_to_xyah, xyah_to_tlwh
from iou_tracker import IOU_THRESHOLD, iou_matrix, jitter_boxes, track_boxes

JITTER = 0.02
TRACKERS = ("iou", "kalman")


class KalmanIouTracker:
    """Hungarian IoU matching against Kalman-predicted boxes, with ``max_missed`` frames of memory."""

    def __init__(self, max_missed: int, threshold: float = IOU_THRESHOLD):
        self.max_missed, self.threshold = max_missed, threshold
        self.kalman = KalmanFilterXYAH()
        self.mean, self.covariance = np.zeros((0, 8)), np.zeros((0, 8, 8))
        self.ids, self.missed = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        self.next_id = 1

    def update(self, boxes: np.ndarray) -> np.ndarray:
        """Assigns track ids (M,) int64 to this frame's boxes (M, 4) ``x, y, w, h``."""
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        if len(self.ids):
            self.mean, self.covariance = self.kalman.predict(self.mean, self.covariance)
        overlap = iou_matrix(xyah_to_tlwh(self.mean[:, :4]), boxes)
        rows, cols = linear_sum_assignment(overlap, maximize=True)
        keep = overlap[rows, cols] >= self.threshold
        rows, cols = rows[keep], cols[keep]
        ids = np.zeros(len(boxes), dtype=np.int64)
        ids[cols] = self.ids[rows]
        if len(rows):
            self.mean[rows], self.covariance[rows] = self.kalman.update(
                self.mean[rows], self.covariance[rows], tlwh_to_xyah(boxes[cols])
            )
        self.missed += 1
        self.missed[rows] = 0
        alive = self.missed <= self.max_missed
        born = np.flatnonzero(ids == 0)
        ids[born] = self.next_id + np.arange(len(born))
        self.next_id += len(born)
        mean, covariance = self.kalman.initiate(tlwh_to_xyah(boxes[born]))
        self.mean = np.concatenate([self.mean[alive], mean])
        self.covariance = np.concatenate([self.covariance[alive], covariance])
        self.ids = np.concatenate([self.ids[alive], ids[born]])
        self.missed = np.concatenate([self.missed[alive], np.zeros(len(born), dtype=np.int64)])
        return ids


def kalman_track_boxes(frames: np.ndarray, boxes: np.ndarray, num_frames: int, max_missed: int) -> np.ndarray:
    """Runs a fresh `KalmanIouTracker` over rows ``frames`` (N,) 1-based, ``boxes`` (N, 4); ids (N,)."""
    return track_boxes(frames, boxes, num_frames, KalmanIouTracker(max_missed))


def track_gt_split(
    root: Path, split: str, out: Path, seed: int, tracker: str = "iou", classes: bool = False
) -> None:
    """Runs ``tracker`` (one of `TRACKERS`) on the jittered gt boxes of every sequence of ``root/split``
    and writes ``out/<seq>.txt``.

    With ``classes`` only gt rows with ``conf == 1`` and ``class == 1`` are tracked (MOT17/MOT20 gt also
    holds ignore regions and other classes); otherwise rows with ``conf > 0``.
    """
    if tracker not in TRACKERS:
        raise ValueError(f"unknown reference tracker {tracker!r}; expected one of {TRACKERS}")
    out.mkdir(parents=True, exist_ok=True)
    for k, name in enumerate(read_seqmap(root / f"{split}_seqmap.txt")):
        folder = root / split / name
        values = read_mot_table(folder / "gt" / "gt.txt").values
        keep = values[:, 6] > 0
        if classes:
            keep &= (values[:, 6] == 1) & (values[:, 7] == 1)
        values = values[keep]
        frames = values[:, 0].astype(np.int64)
        boxes = jitter_boxes(values[:, 2:6], JITTER, np.random.default_rng([seed, k]))
        info = read_seqinfo(folder / "seqinfo.ini")
        if tracker == "iou":
            ids = track_boxes(frames, boxes, info.length)
        else:  # one second of memory
            ids = kalman_track_boxes(frames, boxes, info.length, max_missed=round(info.frame_rate or 30))
        write_mot_results(out / f"{name}.txt", frames, ids, boxes)
