"""Count: detections and distinct ids after preprocessing (TrackEval's ``Count`` metric, spec §7)."""

from __future__ import annotations

from discmot.eval.fields import COUNT_INTEGER_FIELDS
from discmot.eval.preprocess import SequenceData


def evaluate(seq: SequenceData) -> dict:
    """Counts of one sequence."""
    return {
        "Dets": seq.num_tracker_dets,
        "GT_Dets": seq.num_gt_dets,
        "IDs": seq.num_tracker_ids,
        "GT_IDs": seq.num_gt_ids,
        "Frames": seq.num_timesteps,
    }


def combine(results: list[dict]) -> dict:
    """Summed counts (distinct ids are summed per sequence); Frames is not combined, as in TrackEval."""
    return {field: sum(r[field] for r in results) for field in COUNT_INTEGER_FIELDS}
