"""HOTA (Luiten et al., IJCV 2021), exactly as TrackEval computes it (spec ``eval.md`` §4, §8).

Per sequence: a global alignment score between every gt and tracker id (pass 1), then one assignment
per frame on alignment x IoU shared by the 19 alphas (pass 2), then detection and association accuracy
per alpha. Floating-point sums that TrackEval accumulates frame by frame are accumulated in the same
order here (`numpy.bincount` and `numpy.cumsum` are sequential), so results are bit-identical.
"""

from __future__ import annotations

import numpy as np

from discmot.eval.fields import ALPHAS, EPS, HOTA_FLOAT_ARRAY_FIELDS, HOTA_INTEGER_ARRAY_FIELDS
from discmot.eval.matching import maximum_assignment, partial_permutation_frames
from discmot.eval.preprocess import SequenceData


def evaluate(seq: SequenceData) -> dict:
    """HOTA fields of one sequence: 19-value arrays plus ``HOTA(0)``, ``LocA(0)``, ``HOTALocA(0)``."""
    res = _empty_result()
    if seq.num_tracker_dets == 0:
        return _early_exit(res, "HOTA_FN", seq.num_gt_dets)
    if seq.num_gt_dets == 0:
        return _early_exit(res, "HOTA_FP", seq.num_tracker_dets)
    gt_of_pair = seq.gt_ids[seq.pair_gt]
    tracker_of_pair = seq.tracker_ids[seq.pair_tracker]
    gt_count = np.bincount(seq.gt_ids, minlength=seq.num_gt_ids).astype(np.float64)[:, None]
    tracker_count = np.bincount(seq.tracker_ids, minlength=seq.num_tracker_ids).astype(np.float64)[None, :]
    alignment = _global_alignment(seq, gt_of_pair, tracker_of_pair, gt_count, tracker_count)
    matched = _matched_pairs(
        seq, alignment[gt_of_pair, tracker_of_pair] * seq.similarity, gt_of_pair, tracker_of_pair
    )
    _accumulate_per_alpha(res, seq, matched, gt_of_pair, tracker_of_pair, gt_count, tracker_count)
    return _final_fields(res)


def combine(results: list[dict]) -> dict:
    """HOTA over several sequences: summed counts, TP-weighted association and localisation."""
    res: dict = {}
    for field in HOTA_INTEGER_ARRAY_FIELDS:
        res[field] = sum(r[field] for r in results)
    for field in ("AssRe", "AssPr", "AssA"):
        res[field] = sum(r[field] * r["HOTA_TP"] for r in results) / np.maximum(1.0, res["HOTA_TP"])
    loca_weighted = sum(r["LocA"] * r["HOTA_TP"] for r in results)
    res["LocA"] = np.maximum(1e-10, loca_weighted) / np.maximum(1e-10, res["HOTA_TP"])
    return _final_fields(res)


def _empty_result() -> dict:
    res: dict = {
        field: np.zeros(ALPHAS.size) for field in HOTA_FLOAT_ARRAY_FIELDS + HOTA_INTEGER_ARRAY_FIELDS
    }
    res.update({"HOTA(0)": 0.0, "LocA(0)": 0.0, "HOTALocA(0)": 0.0})
    return res


def _early_exit(res: dict, field: str, count: int) -> dict:
    """An empty tracker or gt: every detection is a miss; LocA is 1 and nothing else is computed."""
    res[field] = count * np.ones(ALPHAS.size)
    res["LocA"] = np.ones(ALPHAS.size)
    res["LocA(0)"] = 1.0
    return res


def _global_alignment(seq, gt_of_pair, tracker_of_pair, gt_count, tracker_count) -> np.ndarray:
    """Pass 1: ``(G, T)`` alignment score ``A = PMC / (count_g + count_k - PMC)`` (spec §4.2)."""
    similarity = seq.similarity
    column_sums = np.bincount(seq.pair_tracker, weights=similarity, minlength=seq.num_tracker_dets)
    row_sums = _row_sums(seq)
    denominator = column_sums[seq.pair_tracker] + row_sums[seq.pair_gt] - similarity
    jaccard = np.zeros_like(similarity)
    valid = denominator > 0 + EPS
    jaccard[valid] = similarity[valid] / denominator[valid]
    flat = gt_of_pair * seq.num_tracker_ids + tracker_of_pair
    num_cells = seq.num_gt_ids * seq.num_tracker_ids
    potential = np.bincount(flat, weights=jaccard, minlength=num_cells).reshape(seq.num_gt_ids, -1)
    return potential / (gt_count + tracker_count - potential)


def _row_sums(seq: SequenceData) -> np.ndarray:
    """``(num_gt_dets,)`` per-frame row sums of the similarity, bit-identical to numpy's ``S.sum(1)``.

    numpy sums a contiguous row pairwise, so with three or more non-zero entries the grouping (set by
    the entries' positions) is part of the result's last bits; those frames are rebuilt densely and
    reduced by numpy itself. Rows with at most two non-zeros sum exactly the same in any order.
    """
    positive = seq.similarity > 0
    sums = np.bincount(seq.pair_gt, weights=seq.similarity, minlength=seq.num_gt_dets)
    nonzeros = np.bincount(seq.pair_gt[positive], minlength=seq.num_gt_dets)
    gt_frame = np.repeat(np.arange(seq.num_timesteps), np.diff(seq.gt_offsets))
    for t in np.unique(gt_frame[nonzeros >= 3]).tolist():
        sums[seq.gt_offsets[t] : seq.gt_offsets[t + 1]] = seq.dense(t, seq.similarity).sum(1)
    return sums


def _matched_pairs(seq: SequenceData, scores: np.ndarray, gt_of_pair, tracker_of_pair) -> np.ndarray:
    """Pass 2: indices of the pairs matched in each frame's maximum-score assignment, frame by frame.

    Frames whose positive scores form a partial permutation take them directly (the unique optimum);
    the others are solved with scipy. Pairs of non-overlapping boxes (IoU 0) are left out: no alpha
    threshold keeps them.
    """
    positive = scores > 0
    easy = partial_permutation_frames(
        positive, seq.pair_frame, gt_of_pair, tracker_of_pair, seq.num_timesteps
    )
    matched = [np.flatnonzero(positive & easy[seq.pair_frame])]
    pair_counts = np.diff(seq.pair_offsets)
    for t in np.flatnonzero(~easy & (pair_counts > 0)).tolist():
        matched.append(solve_frame(seq, t, scores[seq.pair_offsets[t] : seq.pair_offsets[t + 1]])[0])
    return np.sort(np.concatenate(matched))


def solve_frame(seq: SequenceData, t: int, frame_scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Maximum assignment on frame ``t``'s dense score matrix (TrackEval's), as stored-pair indices.

    Args:
        frame_scores: ``(P_t,)`` the scores of frame ``t``'s stored pairs; other cells score 0.

    Returns:
        The stored-pair indices of the assigned cells, and their scores (cells without a stored pair,
        which all score 0, are dropped).
    """
    scores = seq.dense(t, frame_scores)
    rows, cols = maximum_assignment(scores)
    picked = seq.cell_index(t)[rows, cols]
    stored = picked >= 0
    return picked[stored], scores[rows[stored], cols[stored]]


def _accumulate_per_alpha(res, seq, matched, gt_of_pair, tracker_of_pair, gt_count, tracker_count) -> None:
    """Detection counts, localisation sums and association scores for every alpha (spec §4.3-4.4)."""
    similarity = seq.similarity[matched]
    frames = seq.pair_frame[matched]
    cells = gt_of_pair[matched] * seq.num_tracker_ids + tracker_of_pair[matched]
    num_cells = seq.num_gt_ids * seq.num_tracker_ids
    for a, alpha in enumerate(ALPHAS):
        kept = similarity >= alpha - EPS
        true_positives = float(np.count_nonzero(kept))
        res["HOTA_TP"][a] = true_positives
        res["HOTA_FN"][a] = seq.num_gt_dets - true_positives
        res["HOTA_FP"][a] = seq.num_tracker_dets - true_positives
        frame_sums = np.bincount(frames, weights=np.where(kept, similarity, 0.0), minlength=seq.num_timesteps)
        res["LocA"][a] = np.cumsum(frame_sums)[-1] if frame_sums.size else 0.0
        matches = np.bincount(cells[kept], minlength=num_cells).astype(np.float64).reshape(seq.num_gt_ids, -1)
        denominator = np.maximum(1, true_positives)
        res["AssA"][a] = (
            np.sum(matches * (matches / np.maximum(1, gt_count + tracker_count - matches))) / denominator
        )
        res["AssRe"][a] = np.sum(matches * (matches / np.maximum(1, gt_count))) / denominator
        res["AssPr"][a] = np.sum(matches * (matches / np.maximum(1, tracker_count))) / denominator
    res["LocA"] = np.maximum(1e-10, res["LocA"]) / np.maximum(1e-10, res["HOTA_TP"])


def _final_fields(res: dict) -> dict:
    """Fields that depend only on other fields; used per sequence and after combining."""
    tp, fn, fp = res["HOTA_TP"], res["HOTA_FN"], res["HOTA_FP"]
    res["DetRe"] = tp / np.maximum(1, tp + fn)
    res["DetPr"] = tp / np.maximum(1, tp + fp)
    res["DetA"] = tp / np.maximum(1, tp + fn + fp)
    res["HOTA"] = np.sqrt(res["DetA"] * res["AssA"])
    res["OWTA"] = np.sqrt(res["DetRe"] * res["AssA"])
    res["HOTA(0)"] = float(res["HOTA"][0])
    res["LocA(0)"] = float(res["LocA"][0])
    res["HOTALocA(0)"] = res["HOTA(0)"] * res["LocA(0)"]
    return res
