"""Identity metrics IDF1 / IDR / IDP (Ristani et al. 2016) exactly as TrackEval (spec ``eval.md`` §6).

One global bipartite assignment between gt ids and tracker ids (plus one dummy partner per id)
minimising the number of unmatched detections, where two ids can share a detection in a frame when
their boxes overlap with IoU >= 0.5 (no eps here, unlike CLEAR).
"""

from __future__ import annotations

import numpy as np

from discmot.eval.fields import IDENTITY_INTEGER_FIELDS
from discmot.eval.matching import minimum_assignment
from discmot.eval.preprocess import SequenceData

THRESHOLD = 0.5
_UNREACHABLE = 1e10


def evaluate(seq: SequenceData) -> dict:
    """IDTP / IDFN / IDFP and the ratios of one sequence."""
    res: dict = {"IDF1": 0.0, "IDR": 0.0, "IDP": 0.0, "IDTP": 0, "IDFN": 0, "IDFP": 0}
    if seq.num_tracker_dets == 0:
        res["IDFN"] = seq.num_gt_dets
        return res
    if seq.num_gt_dets == 0:
        res["IDFP"] = seq.num_tracker_dets
        return res
    num_gt, num_tracker = seq.num_gt_ids, seq.num_tracker_ids
    overlapping = seq.similarity >= THRESHOLD
    cells = (
        seq.gt_ids[seq.pair_gt[overlapping]] * num_tracker + seq.tracker_ids[seq.pair_tracker[overlapping]]
    )
    potential = (
        np.bincount(cells, minlength=num_gt * num_tracker).reshape(num_gt, num_tracker).astype(np.float64)
    )
    gt_count = np.bincount(seq.gt_ids, minlength=num_gt).astype(np.float64)
    tracker_count = np.bincount(seq.tracker_ids, minlength=num_tracker).astype(np.float64)
    fn_cost, fp_cost = _cost_matrices(potential, gt_count, tracker_count)
    rows, cols = minimum_assignment(fn_cost + fp_cost)
    res["IDFN"] = int(fn_cost[rows, cols].sum())
    res["IDFP"] = int(fp_cost[rows, cols].sum())
    res["IDTP"] = int(gt_count.sum()) - res["IDFN"]
    return final_fields(res)


def combine(results: list[dict]) -> dict:
    """Identity over several sequences: summed counts, ratios recomputed."""
    return final_fields({field: sum(r[field] for r in results) for field in IDENTITY_INTEGER_FIELDS})


def _cost_matrices(potential, gt_count, tracker_count) -> tuple[np.ndarray, np.ndarray]:
    """``(G+T, G+T)`` missed-gt and false-positive costs; rows are gt ids then dummies, columns
    tracker ids then dummies; a gt id matched to its own dummy misses all its detections."""
    num_gt, num_tracker = potential.shape
    size = num_gt + num_tracker
    fn_cost = np.zeros((size, size))
    fp_cost = np.zeros((size, size))
    fp_cost[num_gt:, :num_tracker] = _UNREACHABLE
    fn_cost[:num_gt, num_tracker:] = _UNREACHABLE
    fn_cost[:num_gt, :num_tracker] = gt_count[:, None]
    fn_cost[np.arange(num_gt), num_tracker + np.arange(num_gt)] = gt_count
    fp_cost[:num_gt, :num_tracker] = tracker_count[None, :]
    fp_cost[num_gt + np.arange(num_tracker), np.arange(num_tracker)] = tracker_count
    fn_cost[:num_gt, :num_tracker] -= potential
    fp_cost[:num_gt, :num_tracker] -= potential
    return fn_cost, fp_cost


def final_fields(res: dict) -> dict:
    """IDR, IDP and IDF1 from the counts; used per sequence and after combining."""
    idtp, idfn, idfp = res["IDTP"], res["IDFN"], res["IDFP"]
    res["IDR"] = float(idtp / np.maximum(1.0, idtp + idfn))
    res["IDP"] = float(idtp / np.maximum(1.0, idtp + idfp))
    res["IDF1"] = float(idtp / np.maximum(1.0, idtp + 0.5 * idfp + 0.5 * idfn))
    return res
