"""Class-separated tracking: one JDE cascade per detection class, with ids from one sequence.

The JDE cascade (`discmot.trackers.association`) is single-class, as in CSTrack: given the boxes of a
detector that keeps several classes (``discmot track --classes 0 2``, COCO person and car), it would let
a car's detection continue a person's track. `PerClassTracker` gives each class its own `JDETracker`
(its own Kalman states, appearance templates, lost tracks and duplicate removal), so that a detection only
ever continues a track of its own class. A class's tracker is made the first frame that class is detected
and is then updated every frame (with no detections when the class has none), so its lost tracks age and
die as in the single tracker.

Track ids: every class's tracker draws ids from one sequence, at birth, as the single tracker does
(`JDETracker.next_id`); the trackers are updated in ascending class order, so the tracks born in one
frame are numbered class by class, each class's in its detections' order. Ids are therefore unique across
classes and as small as the single tracker's (no per-class offsets such as ``class * 10000 + id``), and
with one class the tracker is the single tracker exactly: same ids, boxes, scores and order (for people;
another class's tracker has CSTrack's pedestrian output filter off).

The output `Tracks` carry each track's class (``classes``), which ``discmot track --save-video`` writes in
the labels ("car 12"); the results file stays ``frame,id,x,y,w,h,score,-1,-1,-1``. This module imports
numpy and scipy only.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from discmot.structures import Detections, Tracks
from discmot.trackers.association import JDETracker, JDETrackerConfig
from discmot.trackers.detection_checks import require_detections

#: The person class of the detectors' class ids (COCO's contiguous ids: YOLOX).
PERSON_CLASS = 0


class PerClassTracker:
    """A `JDETracker` per detection class, ids unique across classes (a `DetectionTracker`).

    Every detection given to `update` must carry its class (``Detections.classes``; the YOLOX detector
    sets them). All classes share one ``config``, but for its pedestrian output filter, which only
    people's tracker (`PERSON_CLASS`) applies; `reset` starts a new video (ids from 1 again).
    """

    def __init__(self, config: JDETrackerConfig | None = None, frame_rate: float = 30.0):
        self.config = config or JDETrackerConfig()
        self.frame_rate = frame_rate
        JDETracker(self.config, frame_rate)  # a bad frame rate is an error now, not on the first frame
        self.reset()

    def reset(self) -> None:
        """Forgets every class's tracks; the next track gets id 1."""
        self.frame_id = 0
        self.trackers: dict[int, JDETracker] = {}  # class id -> its tracker
        self._next_id = 1

    @property
    def filtered_boxes(self) -> int:
        """Confirmed track boxes the pedestrian output filter dropped since the last `reset`, summed over
        the classes' trackers (only people's applies it: `JDETracker.filtered_boxes`)."""
        return sum(tracker.filtered_boxes for tracker in self.trackers.values())

    def update(self, detections: Detections, frame: np.ndarray | None = None) -> Tracks:
        """Associates each class's detections with that class's tracks; returns the confirmed tracks of
        all classes (ascending class, each class's in its tracker's order) with their ``classes``.

        Raises:
            TypeError: ``detections`` is no `Detections`.
            ValueError: detections without classes, or that a class's tracker cannot use; the tracker is
                unchanged (every class's part is checked before any tracker is updated).
        """
        require_detections(detections)
        self.frame_id += 1
        try:
            parts = self._checked_parts(detections)
        except ValueError:
            self.frame_id -= 1  # nothing of the frame was taken, as in JDETracker.update
            raise
        outputs = []
        for class_id, (tracker, part) in parts.items():
            self.trackers[class_id] = tracker
            tracker.next_id = self._next_id
            tracks = tracker.update(part, frame)
            self._next_id = tracker.next_id
            outputs.append((class_id, tracks))
        return _merged(outputs)

    def _checked_parts(self, detections: Detections) -> dict[int, tuple[JDETracker, Detections]]:
        """Class id -> (its tracker, its detections) for every class tracked so far or detected now, in
        ascending class order; each part checked by its tracker (a new class's tracker is not kept yet)."""
        classes = _class_ids(detections, self.frame_id)
        parts = {}
        for class_id in sorted(set(self.trackers) | set(np.unique(classes).tolist())):
            tracker = self.trackers.get(class_id) or self._new_tracker(class_id)
            part = detections.select(classes == class_id)
            tracker.check(part)
            parts[class_id] = (tracker, part)
        return parts

    def _new_tracker(self, class_id: int) -> JDETracker:
        """A class's tracker, starting at this frame (its error messages name the video's frame numbers).
        CSTrack's pedestrian output filter (boxes wider than 0.6 of their height dropped) is for people:
        other classes' trackers (a car is wider than tall) write every box."""
        config = self.config if class_id == PERSON_CLASS else replace(self.config, output_filter=False)
        tracker = JDETracker(config, self.frame_rate)
        tracker.frame_id = self.frame_id - 1
        return tracker


def _class_ids(detections: Detections, frame_id: int) -> np.ndarray:
    """``(N,)`` int64 class ids of the detections (empty for no detections, also without ``classes``)."""
    if detections.classes is None:
        if len(detections):
            raise ValueError(
                f"frame {frame_id}: detections without classes: a PerClassTracker needs each detection's "
                "class (Detections.classes); use a JDETracker for one class"
            )
        return np.zeros(0, np.int64)
    classes = np.asarray(detections.classes)
    if classes.dtype.kind not in "iu" and not (np.isfinite(classes) & (classes == np.round(classes))).all():
        raise ValueError(f"frame {frame_id}: detection classes must be whole numbers, got {classes.tolist()}")
    return classes.astype(np.int64)


def _merged(outputs: list[tuple[int, Tracks]]) -> Tracks:
    """The tracks of every class, one after another, with each track's class."""
    tracks = [t for _, t in outputs]
    if not tracks:
        return Tracks(np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64))
    return Tracks(
        np.concatenate([t.ids for t in tracks]).astype(np.int64, copy=False),
        np.concatenate([t.boxes for t in tracks]),
        np.concatenate([t.scores for t in tracks]),
        np.concatenate([np.full(len(t), class_id, np.int64) for class_id, t in outputs]),
    )
