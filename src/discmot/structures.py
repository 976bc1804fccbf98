"""The containers passed between detectors, trackers, writers and drawers.

Boxes are always ``tlwh`` (top-left x, top-left y, width, height) in pixels of the original frame,
float64, the MOTChallenge convention. Use `tlwh_to_tlbr` / `tlbr_to_tlwh` at the edges of code that
needs corners. Nothing here imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Detections:
    """The detections of one frame.

    Attributes:
        boxes: ``(N, 4)`` ``tlwh`` boxes in frame pixels: top-left ``x, y``, then width and height (not
            corners: `tlbr_to_tlwh` converts ``x1, y1, x2, y2``).
        scores: ``(N,)`` confidences.
        embeddings: ``(N, D)`` appearance vectors (raw, not necessarily unit length: the JDE tracker
            L2-normalises them), or ``None`` for a detector without appearance.
        classes: ``(N,)`` class ids, or ``None`` (single class).

    The arrays keep the dtype given (any real numbers; lists and CPU tensors become arrays; discmot's
    detectors give float64 boxes and scores, float32 embeddings, int64 classes); the JDE tracker reads
    boxes as float64 and embeddings as float32. An empty list is no boxes, ``(0, 4)``.

    Raises:
        ValueError: arrays that are not numbers, or whose shapes disagree (the message names both).
    """

    boxes: np.ndarray
    scores: np.ndarray
    embeddings: np.ndarray | None = None
    classes: np.ndarray | None = None

    def __post_init__(self):
        # lists and other sequences become arrays (the dataclass is frozen: hence object.__setattr__)
        for name in ("boxes", "scores", "embeddings", "classes"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _real_array(value, name))
        if self.boxes.size == 0 and self.boxes.shape != (0, 4):  # Detections([], []): no boxes
            object.__setattr__(self, "boxes", self.boxes.reshape(0, 4))
        n = len(self.boxes)
        if self.boxes.shape != (n, 4) or self.scores.shape != (n,):
            raise ValueError(f"Detections: boxes {self.boxes.shape} and scores {self.scores.shape} disagree")
        if self.embeddings is not None and (self.embeddings.ndim != 2 or len(self.embeddings) != n):
            shape = self.embeddings.shape
            raise ValueError(f"Detections: embeddings {shape} for {n} boxes (expected ({n}, D))")
        if self.classes is not None and self.classes.shape != (n,):
            raise ValueError(f"Detections: classes {self.classes.shape} for {n} boxes (expected ({n},))")

    def __len__(self) -> int:
        return len(self.boxes)

    @staticmethod
    def empty(embedding_dim: int | None = None) -> Detections:
        """No detections (with an ``(0, D)`` embedding array when ``embedding_dim`` is given)."""
        embeddings = None if embedding_dim is None else np.zeros((0, embedding_dim), np.float32)
        return Detections(np.zeros((0, 4)), np.zeros(0), embeddings)

    def select(self, keep: np.ndarray) -> Detections:
        """The detections at indices or mask ``keep``."""
        return Detections(
            self.boxes[keep],
            self.scores[keep],
            None if self.embeddings is None else self.embeddings[keep],
            None if self.classes is None else self.classes[keep],
        )


def _real_array(value, name: str) -> np.ndarray:
    """``value`` as an array of real numbers (an array stays the same object); one line otherwise, instead of
    a numpy error on the tracker's first comparison."""
    try:
        array = value if isinstance(value, np.ndarray) else np.asarray(value)
    except (TypeError, ValueError, RuntimeError) as error:  # ragged lists, tensors needing grad or on a GPU
        raise ValueError(f"Detections: {name} is not an array of numbers ({error})") from None
    if array.dtype.kind not in "biuf":
        raise ValueError(f"Detections: {name} must be real numbers, got dtype {array.dtype}")
    return array


@dataclass(frozen=True)
class Tracks:
    """The tracks a tracker outputs for one frame.

    Attributes:
        ids: ``(N,)`` int64 track ids (>= 0, unique within a tracker instance: FDTA counts from 0 as
            its original does, the JDE cascade from 1).
        boxes: ``(N, 4)`` float64 ``tlwh`` boxes (top-left ``x, y``, width, height) in pixels of the frame
            given, not clipped to it: a box may start left of or above the image (negative ``x``/``y``).
        scores: ``(N,)`` float64 confidence of the track's last detection.
        classes: ``(N,)`` int64 class id of each track (the detector's, e.g. COCO: 0 person, 2 car), or
            ``None`` for a single-class tracker; set by `discmot.trackers.per_class.PerClassTracker`.
    """

    ids: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray
    classes: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.ids)

    @staticmethod
    def empty() -> Tracks:
        return Tracks(np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0))


def tlwh_to_tlbr(boxes: np.ndarray) -> np.ndarray:
    """``(N, 4)`` ``x, y, w, h`` -> ``x1, y1, x2, y2``."""
    boxes = np.asarray(boxes, dtype=np.float64)
    return np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1)


def tlbr_to_tlwh(boxes: np.ndarray) -> np.ndarray:
    """``(N, 4)`` ``x1, y1, x2, y2`` -> ``x, y, w, h``."""
    boxes = np.asarray(boxes, dtype=np.float64)
    return np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)
