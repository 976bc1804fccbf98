"""What the engine asks of a tracker. Two kinds, told apart by a ``detects`` class attribute:

- `DetectionTracker`: fed each frame's detections, ``update(detections, frame)``; e.g.
  `discmot.trackers.association.JDETracker` on an ONNX detector's or precomputed boxes.
- `EndToEndTracker`: detects for itself, ``update(frame)``, and says so with ``detects = True``;
  `discmot.trackers.fdta.FDTATracker` and `discmot.trackers.cstrack.CSTrackTracker`.

Both are structural (`typing.Protocol`): a tracker need not inherit from them. Each owns one video's state:
``reset()`` between videos, after which ids start afresh. Nothing heavy is imported here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Protocol, TypeGuard

if TYPE_CHECKING:
    import numpy as np

    from discmot.structures import Detections, Tracks


class DetectionTracker(Protocol):
    """A tracker fed detections: ``update(detections, frame)`` -> the frame's `Tracks`.

    ``frame`` is the BGR ``uint8 (H, W, 3)`` image, or ``None`` when the source has no images
    (precomputed detections of a sequence without ``img1/``).
    """

    def update(self, detections: Detections, frame: np.ndarray | None = None) -> Tracks: ...

    def reset(self) -> None: ...


class EndToEndTracker(Protocol):
    """A tracker that detects for itself: ``update(frame_bgr)`` -> the frame's `Tracks`.

    The class attribute ``detects = True`` is how the engine knows to call it with the frame alone.
    """

    detects: ClassVar[bool]

    def update(self, frame_bgr: np.ndarray) -> Tracks: ...

    def reset(self) -> None: ...


#: Either kind (`discmot.engine.infer.track_source` takes both).
Tracker = DetectionTracker | EndToEndTracker


def is_end_to_end(tracker: Tracker) -> TypeGuard[EndToEndTracker]:
    """True for a tracker whose class sets ``detects = True`` (it takes whole frames)."""
    return bool(getattr(tracker, "detects", False))
