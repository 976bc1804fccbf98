"""The JDE association's settings (spec ``cstrack.md`` §7.9): `JDETrackerConfig`, CSTrack's thresholds
with the benchmark's output filter, and the named `TRACKER_PRESETS` per kind of detector. numpy only."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, fields, replace

import numpy as np

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
