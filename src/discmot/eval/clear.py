"""CLEAR MOT metrics (Bernardin & Stiefelhagen 2008) exactly as TrackEval computes them (spec ``eval.md`` §5).

The per-frame matching keeps the previous frame's matches when it can (a 1000-point bonus) and otherwise
maximises IoU among pairs with IoU >= 0.5. It depends on the previous frame only where the assignment is
ambiguous, so unambiguous frames are matched directly and only the others are solved, in time order.
ID switches, fragmentations and track coverage are then counted over the match list.
"""

from __future__ import annotations

import numpy as np

from discmot.eval.fields import CLEAR_FLOAT_FIELDS, CLEAR_INTEGER_FIELDS, EPS
from discmot.eval.hota import solve_frame
from discmot.eval.matching import partial_permutation_frames
from discmot.eval.preprocess import SequenceData

THRESHOLD = 0.5
_SUMMED_FIELDS = (*CLEAR_INTEGER_FIELDS, "CLR_Frames", "MOTP_sum")


def evaluate(seq: SequenceData) -> dict:
    """CLEAR fields of one sequence."""
    res: dict = {field: 0 for field in (*CLEAR_INTEGER_FIELDS, "CLR_Frames", *CLEAR_FLOAT_FIELDS)}
    if seq.num_tracker_dets == 0:
        res.update(CLR_FN=seq.num_gt_dets, ML=seq.num_gt_ids, MLR=1.0)
        return res
    if seq.num_gt_dets == 0:
        res.update(CLR_FP=seq.num_tracker_dets, MLR=1.0)
        return res
    matched = match_pairs(seq)
    gt = seq.gt_ids[seq.pair_gt[matched]]
    tracker = seq.tracker_ids[seq.pair_tracker[matched]]
    frames = seq.pair_frame[matched]
    res["CLR_TP"] = int(matched.size)
    res["CLR_FN"] = seq.num_gt_dets - res["CLR_TP"]
    res["CLR_FP"] = seq.num_tracker_dets - res["CLR_TP"]
    res["IDSW"], res["Frag"] = _switches_and_fragments(seq, gt, tracker, frames)
    res["MT"], res["PT"], res["ML"] = _coverage(seq, gt)
    frame_sums = np.bincount(frames, weights=seq.similarity[matched], minlength=seq.num_timesteps)
    res["MOTP_sum"] = float(np.cumsum(frame_sums)[-1])
    res["CLR_Frames"] = seq.num_timesteps
    return final_fields(res)


def combine(results: list[dict]) -> dict:
    """CLEAR over several sequences: counts summed, ratios recomputed."""
    res = {field: sum(r[field] for r in results) for field in _SUMMED_FIELDS}
    return final_fields(res)


def match_pairs(seq: SequenceData) -> np.ndarray:
    """``(M,)`` int64 indices of the pairs CLEAR matches (into ``seq.pair_*`` and ``seq.similarity``),
    sorted by frame then gt row: every gt and tracker box of ``seq`` in none of them is a miss (CLR_FN)
    or a false positive (CLR_FP). The one matching of `evaluate` and of ``discmot show``
    (`discmot.viz.errors`); empty when either side has no box."""
    if seq.num_tracker_dets == 0 or seq.num_gt_dets == 0:
        return np.zeros(0, np.int64)
    return _match_frames(seq)


def previous_partners(gt: np.ndarray, tracker: np.ndarray) -> np.ndarray:
    """The tracker id each gt id was matched to at its previous match (spec ``eval.md`` §5.2).

    Args:
        gt, tracker: ``(M,)`` gt and tracker ids (relabelled, >= 0) of the matches in time order (as
            `match_pairs` orders them).

    Returns:
        ``(M,)`` int64: for each match, the tracker id of the same gt id's previous match (any earlier
        frame), -1 at its first match. A match whose previous partner is not -1 and differs from its
        own tracker id is an ID switch (IDSW).
    """
    order = np.argsort(gt, kind="stable")
    previous = np.empty(gt.size, dtype=np.int64)
    previous[order] = _previous_in_gt_order(gt[order], tracker[order])
    return previous


def _previous_in_gt_order(gt: np.ndarray, tracker: np.ndarray) -> np.ndarray:
    """`previous_partners` of matches already sorted by gt id (stably: time order within each id)."""
    previous = np.full(gt.size, -1, dtype=np.int64)
    same_gt = gt[1:] == gt[:-1]
    previous[1:][same_gt] = tracker[:-1][same_gt]
    return previous


def _match_frames(seq: SequenceData) -> np.ndarray:
    """Indices of matched pairs (IoU >= 0.5 - eps, one-to-one per frame), sorted by frame then row.

    Frames whose candidate pairs form a partial permutation are matched directly: every candidate is
    in the optimum whatever the bonus. The others are solved in time order, each with the bonus of the
    previous processed frame's matches (a frame with both gt and tracker boxes).
    """
    candidate = seq.similarity >= THRESHOLD - EPS
    gt_of_pair = seq.gt_ids[seq.pair_gt]
    tracker_of_pair = seq.tracker_ids[seq.pair_tracker]
    easy = partial_permutation_frames(
        candidate, seq.pair_frame, gt_of_pair, tracker_of_pair, seq.num_timesteps
    )
    easy_matched = np.flatnonzero(candidate & easy[seq.pair_frame])
    processed = np.flatnonzero(_processed_frames(seq))
    hard = processed[~easy[processed]]
    if hard.size == 0:
        return easy_matched
    solved: dict[int, np.ndarray] = {}
    for t in hard.tolist():
        index = int(np.searchsorted(processed, t))
        previous = int(processed[index - 1]) if index > 0 else None
        if previous is None:
            previous_matches = easy_matched[:0]
        elif previous in solved:
            previous_matches = solved[previous]
        else:
            bounds = np.searchsorted(easy_matched, seq.pair_offsets[previous : previous + 2])
            previous_matches = easy_matched[bounds[0] : bounds[1]]
        solved[t] = _solve_frame(seq, t, gt_of_pair[previous_matches], tracker_of_pair[previous_matches])
    return np.sort(np.concatenate([easy_matched, *solved.values()]))


def _solve_frame(
    seq: SequenceData, t: int, previous_gt: np.ndarray, previous_tracker: np.ndarray
) -> np.ndarray:
    """Matched pair indices of frame ``t``: TrackEval's bonus-weighted assignment (spec §5.2)."""
    start, stop = seq.pair_offsets[t], seq.pair_offsets[t + 1]
    last_partner = np.full(seq.num_gt_ids, -1, dtype=np.int64)
    last_partner[previous_gt] = previous_tracker
    similarity = seq.similarity[start:stop]
    kept_again = (
        seq.tracker_ids[seq.pair_tracker[start:stop]] == last_partner[seq.gt_ids[seq.pair_gt[start:stop]]]
    )
    pairs, scores = solve_frame(
        seq, t, np.where(similarity < THRESHOLD - EPS, 0.0, 1000 * kept_again + similarity)
    )
    return pairs[scores > 0 + EPS]


def _switches_and_fragments(seq, gt: np.ndarray, tracker: np.ndarray, frames: np.ndarray) -> tuple[int, int]:
    """ID switches and fragmentations from the match list (spec ``eval.md`` §5.2).

    A switch: a gt id matched to a different tracker id than at its previous match (any earlier
    frame). A new tracked segment starts when a gt id is matched but was not matched in the previous
    processed frame (a frame with both gt and tracker boxes); Frag counts segments beyond the first.
    """
    order = np.argsort(gt, kind="stable")  # one sort serves both counts
    gt, tracker, frames = gt[order], tracker[order], frames[order]
    previous = _previous_in_gt_order(gt, tracker)
    switches = int(np.count_nonzero((previous >= 0) & (previous != tracker)))
    processed_index = np.cumsum(_processed_frames(seq)) - 1
    step = processed_index[frames]
    continues = np.zeros(gt.size, dtype=bool)
    continues[1:] = (gt[1:] == gt[:-1]) & (step[1:] == step[:-1] + 1)
    segments = np.bincount(gt[~continues], minlength=seq.num_gt_ids)
    return switches, int(np.sum(segments[segments > 0] - 1))


def _processed_frames(seq: SequenceData) -> np.ndarray:
    """``(F,)`` bool: frames with both gt and tracker boxes, the only ones where TrackEval's CLEAR loop
    matches and resets its previous-frame state (even when no box pair overlaps)."""
    return (np.diff(seq.gt_offsets) > 0) & (np.diff(seq.tracker_offsets) > 0)


def _coverage(seq: SequenceData, matched_gt: np.ndarray) -> tuple[int, int, int]:
    """Mostly tracked (> 80% of a gt id's frames), partially tracked (>= 20%), mostly lost."""
    gt_count = np.bincount(seq.gt_ids, minlength=seq.num_gt_ids).astype(np.float64)
    matched_count = np.bincount(matched_gt, minlength=seq.num_gt_ids).astype(np.float64)
    present = gt_count > 0
    ratio = matched_count[present] / gt_count[present]
    mostly = int(np.sum(np.greater(ratio, 0.8)))
    partly = int(np.sum(np.greater_equal(ratio, 0.2))) - mostly
    return mostly, partly, seq.num_gt_ids - mostly - partly


def final_fields(res: dict) -> dict:
    """Ratios from counts (spec §5.3); used per sequence and after combining."""
    tp, fn, fp, idsw = res["CLR_TP"], res["CLR_FN"], res["CLR_FP"], res["IDSW"]
    num_gt_ids = res["MT"] + res["ML"] + res["PT"]
    res["MTR"] = res["MT"] / np.maximum(1.0, num_gt_ids)
    res["MLR"] = res["ML"] / np.maximum(1.0, num_gt_ids)
    res["PTR"] = res["PT"] / np.maximum(1.0, num_gt_ids)
    res["CLR_Re"] = tp / np.maximum(1.0, tp + fn)
    res["CLR_Pr"] = tp / np.maximum(1.0, tp + fp)
    res["MODA"] = (tp - fp) / np.maximum(1.0, tp + fn)
    res["MOTA"] = (tp - fp - idsw) / np.maximum(1.0, tp + fn)
    res["MOTP"] = res["MOTP_sum"] / np.maximum(1.0, tp)
    res["sMOTA"] = (res["MOTP_sum"] - fp - idsw) / np.maximum(1.0, tp + fn)
    res["CLR_F1"] = tp / np.maximum(1.0, tp + 0.5 * fn + 0.5 * fp)
    res["FP_per_frame"] = fp / np.maximum(1.0, res["CLR_Frames"])
    safe_log_idsw = np.log10(idsw) if idsw > 0 else idsw
    res["MOTAL"] = (tp - fp - safe_log_idsw) / np.maximum(1.0, tp + fn)
    for field in (
        "MTR",
        "MLR",
        "PTR",
        "CLR_Re",
        "CLR_Pr",
        "MODA",
        "MOTA",
        "MOTP",
        "sMOTA",
        "CLR_F1",
        "FP_per_frame",
        "MOTAL",
    ):
        res[field] = float(res[field])
    return res
