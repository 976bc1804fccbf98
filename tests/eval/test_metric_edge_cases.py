"""Edge cases of the metrics that the property test reaches too rarely to pin down: tie-breaks, thresholds at
their exact boundary, off-by-ones in the coverage and combination formulas (spec ``eval.md`` §3-§8).

Each test builds a tiny hand-made sequence (or a few), scores it with `discmot.evaluate`, and checks the
numbers either against a hand calculation written in the test or against TrackEval 1.3.0 run on the same
files (`trackeval_reference.run_trackeval`), never against discmot's own earlier output.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from mot_strategies import Benchmark, FileFormat, GtRow, SequenceCase, TrackerFile, TrackerRow
from result_compare import format_problems, results_problems
from scipy.optimize import linear_sum_assignment
from trackeval_reference import run_trackeval

import discmot
from discmot.eval import clear
from discmot.eval.motchallenge import benchmark_preset, load_ground_truth, load_tracker_result
from discmot.eval.preprocess import preprocess

METRICS = ("HOTA", "CLEAR", "Identity", "Count")
TRACKER = "trk"


def sequence(name, length, gt, trk, scale=1.0) -> SequenceCase:
    """One sequence; ``gt``: ``(frame, id, (x, y, w, h)[, conf, cls])``, ``trk``: ``(frame, id, box)``;
    ``trk=None`` is a 0-byte tracker file."""
    gt_rows = tuple(GtRow(r[0], r[1], r[2], *(r[3:] or (1, 1))) for r in gt)
    rows = None if trk is None else tuple(TrackerRow(*r) for r in trk)
    trackers = {TRACKER: TrackerFile(rows, FileFormat(columns=10))}
    return SequenceCase(name, length, scale, gt_rows, FileFormat(columns=9), trackers)


def raw_sequence(name, length, gt_rows, trk_rows) -> SequenceCase:
    """One sequence from `GtRow` / `TrackerRow` objects (for rows with float noise)."""
    trackers = {TRACKER: TrackerFile(tuple(trk_rows), FileFormat(columns=10))}
    return SequenceCase(name, length, 1.0, tuple(gt_rows), FileFormat(columns=9), trackers)


def pick(values: dict, names: str) -> tuple:
    """``pick(clear, "CLR_TP CLR_FN")`` -> ``(clear["CLR_TP"], clear["CLR_FN"])``."""
    return tuple(values[name] for name in names.split())


def scored(tmp_path: Path, sequences, bench="MOT17", oracle=True) -> tuple[dict, dict | None]:
    """``(ours, trackeval)``: both evaluators on the same files, ``{seq or "COMBINED": {metric: ...}}``."""
    gt_folder, trackers_folder = Benchmark(bench, tuple(sequences)).write(tmp_path)
    ours = discmot.evaluate(
        gt_folder, trackers_folder, benchmark=bench, split="train", output_folder=tmp_path / "out"
    )[TRACKER]
    theirs = run_trackeval(gt_folder, trackers_folder, bench)[TRACKER] if oracle else None
    return ours, theirs


def assert_trackeval_parity(ours: dict, theirs: dict) -> None:
    problems = results_problems({TRACKER: ours}, {TRACKER: theirs}, METRICS)
    assert not problems, format_problems(problems)


# --------------------------------------------------------------------------------------------------
# HOTA (spec §4)

ALPHA_COUNT = 19
BOX = (0, 0, 10, 10)
IOU_06 = (0, 0, 6, 10)  # inside BOX: IoU 60 / 100 = 0.6 exactly
IOU_05 = (0, 0, 5, 10)  # inside BOX: IoU 50 / 100 = 0.5 exactly


def per_alpha(*runs: tuple[float, int]) -> np.ndarray:
    """``per_alpha((1, 12), (0, 7))`` -> the 19-value array 1 x 12 then 0 x 7."""
    values = np.concatenate([np.full(n, float(v)) for v, n in runs])
    assert values.size == ALPHA_COUNT
    return values


def test_hota_matches_an_iou_of_0_6_at_alpha_0_6000000000000001_thanks_to_eps(tmp_path):
    """§4: a match at alpha needs ``IoU >= alpha - eps``; the 12th alpha is 0.6000000000000001 (one ulp
    above 0.6), so an IoU of exactly 0.6 still counts there, and not at 0.65."""
    ours, theirs = scored(tmp_path, [sequence("s", 1, [(1, 1, BOX)], [(1, 5, IOU_06)])])
    hota = ours["s"]["HOTA"]
    np.testing.assert_array_equal(hota["HOTA_TP"], per_alpha((1, 12), (0, 7)))
    np.testing.assert_array_equal(hota["HOTA_FN"], per_alpha((0, 12), (1, 7)))
    np.testing.assert_array_equal(hota["HOTA_FP"], per_alpha((0, 12), (1, 7)))
    # LocA = max(1e-10, sum IoU) / max(1e-10, TP): 0.6 where matched, 1 where TP = 0.
    np.testing.assert_allclose(hota["LocA"], per_alpha((0.6, 12), (1, 7)), rtol=0, atol=1e-15)
    np.testing.assert_array_equal(hota["AssA"], per_alpha((1, 12), (0, 7)))
    np.testing.assert_array_equal(hota["HOTA"], per_alpha((1, 12), (0, 7)))
    assert (hota["HOTA(0)"], hota["LocA(0)"], hota["HOTALocA(0)"]) == (1.0, 0.6, 0.6)
    assert_trackeval_parity(ours, theirs)


def test_hota_matches_an_iou_of_exactly_0_5_at_alpha_0_5(tmp_path):
    """§4 / §10: an IoU of exactly 0.5 counts at alpha 0.5 (index 9) and not at 0.55."""
    ours, _ = scored(tmp_path, [sequence("s", 1, [(1, 1, BOX)], [(1, 5, IOU_05)])], oracle=False)
    np.testing.assert_array_equal(ours["s"]["HOTA"]["HOTA_TP"], per_alpha((1, 10), (0, 9)))


def test_hota_early_exits_leave_det_fields_zero_and_loca_one(tmp_path):
    """§4.1: an empty tracker file gives HOTA_FN = gt dets, LocA = 1 and LocA(0) = 1, and no final field
    is computed (DetRe, DetA, HOTA stay 0); an empty gt gives HOTA_FP = tracker dets, the same way."""
    ours, theirs = scored(
        tmp_path,
        [
            sequence("no-tracker", 3, [(1, 1, BOX), (2, 1, BOX), (3, 2, (30, 0, 5, 5))], None),
            sequence("no-gt", 2, [], [(1, 4, BOX), (2, 4, BOX)]),
        ],
    )
    missed, spurious = ours["no-tracker"]["HOTA"], ours["no-gt"]["HOTA"]
    np.testing.assert_array_equal(missed["HOTA_FN"], per_alpha((3, 19)))
    np.testing.assert_array_equal(spurious["HOTA_FP"], per_alpha((2, 19)))
    for hota in (missed, spurious):
        np.testing.assert_array_equal(hota["LocA"], per_alpha((1, 19)))
        for field in ("HOTA_TP", "DetRe", "DetPr", "DetA", "AssA", "HOTA", "OWTA"):
            np.testing.assert_array_equal(hota[field], per_alpha((0, 19)), err_msg=field)
        assert (hota["LocA(0)"], hota["HOTA(0)"], hota["HOTALocA(0)"]) == (1.0, 0.0, 0.0)
    np.testing.assert_array_equal(missed["HOTA_FP"], per_alpha((0, 19)))
    np.testing.assert_array_equal(spurious["HOTA_FN"], per_alpha((0, 19)))
    assert_trackeval_parity(ours, theirs)


def split_track_sequence(name: str) -> SequenceCase:
    """One gt id over 4 frames, tracked exactly by id 7 in frames 1-2 and id 8 in frames 3-4."""
    gt = [(f, 1, BOX) for f in range(1, 5)]
    trk = [(f, 7 if f <= 2 else 8, BOX) for f in range(1, 5)]
    return sequence(name, 4, gt, trk)


def test_hota_association_of_a_gt_track_split_between_two_tracker_ids(tmp_path):
    """§4.4 by hand: TP = 4; matches (g, 7) = (g, 8) = 2; gt_count 4, tracker counts 2 and 2.
    AssA = (2 * 2/(4+2-2) + 2 * 2/(4+2-2)) / 4 = 0.5, AssRe = (2 * 2/4 + 2 * 2/4) / 4 = 0.5,
    AssPr = (2 * 2/2 + 2 * 2/2) / 4 = 1, DetA = 1, HOTA = OWTA = sqrt(0.5)."""
    ours, theirs = scored(tmp_path, [split_track_sequence("s")])
    hota = ours["s"]["HOTA"]
    np.testing.assert_array_equal(hota["AssA"], per_alpha((0.5, 19)))
    np.testing.assert_array_equal(hota["AssRe"], per_alpha((0.5, 19)))
    np.testing.assert_array_equal(hota["AssPr"], per_alpha((1, 19)))
    np.testing.assert_array_equal(hota["DetA"], per_alpha((1, 19)))
    np.testing.assert_allclose(hota["HOTA"], np.sqrt(0.5), rtol=0, atol=1e-15)
    np.testing.assert_allclose(hota["OWTA"], np.sqrt(0.5), rtol=0, atol=1e-15)
    assert_trackeval_parity(ours, theirs)


def test_hota_frame_matching_follows_the_global_alignment_not_the_column_order(tmp_path):
    """§4.2-4.3: in frame 3 two tracker boxes (ids 8 then 7, in that file order) cover the gt box exactly.
    Pass 1: frames 1-2 give J(1, 7) = 1 each; frame 3 gives D = 1 + 2 - 1 = 2, J = 0.5 for both, so
    PMC(1, 7) = 2.5, PMC(1, 8) = 0.5 and A(1, 7) = 2.5/3.5 > A(1, 8) = 0.5/3.5: the frame's assignment
    on A * S picks id 7 (the solver's first-column tie-break would pick 8). Then matches(1, 7) = 3 and
    AssA = 3 * 3/(3+3-3) / 3 = 1; TP = 3, FP = 1, DetA = 3/4."""
    gt = [(f, 1, BOX) for f in range(1, 4)]
    trk = [(1, 7, BOX), (2, 7, BOX), (3, 8, BOX), (3, 7, BOX)]
    ours, theirs = scored(tmp_path, [sequence("s", 3, gt, trk)])
    hota = ours["s"]["HOTA"]
    np.testing.assert_array_equal(hota["AssA"], per_alpha((1, 19)))
    np.testing.assert_array_equal(hota["DetA"], per_alpha((0.75, 19)))
    np.testing.assert_array_equal(hota["HOTA_FP"], per_alpha((1, 19)))
    assert_trackeval_parity(ours, theirs)


def test_hota_combined_weights_association_and_localisation_by_each_sequence_tp(tmp_path):
    """§8 by hand, three sequences:
    a: one gt id over 2 frames, one tracker id, IoU 0.6: TP_a = 2 for alphas <= 0.6000000000000001
       (12 alphas), 0 above (FN 2, FP 2); AssA_a = 1, LocA_a = 0.6 where TP_a > 0.
    b: `split_track_sequence`: TP_b = 4, AssA_b = 0.5, LocA_b = 1 at every alpha.
    c: an empty tracker file and one gt box: FN 1, TP 0, LocA_c = 1 with weight 0.
    Combined, first 12 alphas: TP 6, FN 1, FP 0; AssA = (1*2 + 0.5*4)/6 = 2/3; LocA = (0.6*2 + 1*4)/6;
    DetA = 6/7. Last 7 alphas: TP 4, FN 3, FP 2; AssA = 0.5*4/4; LocA = 1; DetA = 4/9."""
    gt_a = [(f, 3, BOX) for f in (1, 2)]
    trk_a = [(f, 9, IOU_06) for f in (1, 2)]
    ours, theirs = scored(
        tmp_path,
        [
            sequence("a", 2, gt_a, trk_a),
            split_track_sequence("b"),
            sequence("c", 1, [(1, 1, BOX)], None),
        ],
    )
    hota = ours["COMBINED"]["HOTA"]
    np.testing.assert_array_equal(hota["HOTA_TP"], per_alpha((6, 12), (4, 7)))
    np.testing.assert_array_equal(hota["HOTA_FN"], per_alpha((1, 12), (3, 7)))
    np.testing.assert_array_equal(hota["HOTA_FP"], per_alpha((0, 12), (2, 7)))
    np.testing.assert_allclose(hota["AssA"], per_alpha((2 / 3, 12), (0.5, 7)), rtol=0, atol=1e-15)
    np.testing.assert_allclose(hota["AssRe"], per_alpha((2 / 3, 12), (0.5, 7)), rtol=0, atol=1e-15)
    np.testing.assert_allclose(hota["AssPr"], per_alpha((1, 19)), rtol=0, atol=1e-15)
    np.testing.assert_allclose(hota["LocA"], per_alpha((5.2 / 6, 12), (1, 7)), rtol=0, atol=1e-15)
    np.testing.assert_allclose(hota["DetA"], per_alpha((6 / 7, 12), (4 / 9, 7)), rtol=0, atol=1e-15)
    expected_hota = np.sqrt(per_alpha((6 / 7 * 2 / 3, 12), (4 / 9 * 0.5, 7)))
    np.testing.assert_allclose(hota["HOTA"], expected_hota, rtol=0, atol=1e-15)
    assert_trackeval_parity(ours, theirs)


def test_hota_combined_loca_is_one_where_no_sequence_has_a_match(tmp_path):
    """§8: LocA = max(1e-10, sum LocA_s * TP_s) / max(1e-10, sum TP_s) is exactly 1 at alphas where every
    sequence has TP = 0 (both IoUs 0.6 here, so the 7 alphas above 0.6), and association is 0 there."""
    ours, theirs = scored(
        tmp_path,
        [sequence(n, 1, [(1, 1, BOX)], [(1, 2, IOU_06)]) for n in ("a", "b")],
    )
    hota = ours["COMBINED"]["HOTA"]
    np.testing.assert_allclose(hota["LocA"], per_alpha((0.6, 12), (1, 7)), rtol=0, atol=1e-15)
    np.testing.assert_array_equal(hota["AssA"], per_alpha((1, 12), (0, 7)))
    np.testing.assert_array_equal(hota["HOTA_TP"], per_alpha((2, 12), (0, 7)))
    assert_trackeval_parity(ours, theirs)


# --------------------------------------------------------------------------------------------------
# CLEAR (spec §5)


def clear_of(ours: dict, seq: str = "s") -> dict:
    return ours[seq]["CLEAR"]


def test_clear_mostly_tracked_is_strictly_above_80_percent_and_partly_tracked_from_20_percent(tmp_path):
    """§5.3: MT = #(ratio > 0.8) strictly, PT = #(ratio >= 0.2) - MT, ML the rest. Five gt ids over 5
    frames, tracked exactly in frames 1..n for n = 5, 4, 3, 1, 0: ratios 1, 0.8, 0.6, 0.2, 0 give
    MT = 1 (ratio 1; 0.8 is not > 0.8), PT = 3 (0.8, 0.6 and 0.2), ML = 1. TP = 13, FN = 12."""
    tracked_frames = {1: 5, 2: 4, 3: 3, 4: 1, 5: 0}
    gt = [(f, g, (20 * g, 0, 10, 10)) for f in range(1, 6) for g in tracked_frames]
    trk = [(f, 10 + g, (20 * g, 0, 10, 10)) for f in range(1, 6) for g, n in tracked_frames.items() if f <= n]
    ours, theirs = scored(tmp_path, [sequence("s", 5, gt, trk)])
    clear = clear_of(ours)
    assert (clear["MT"], clear["PT"], clear["ML"]) == (1, 3, 1)
    assert (clear["MTR"], clear["PTR"], clear["MLR"]) == (0.2, 0.6, 0.2)
    assert pick(clear, "CLR_TP CLR_FN CLR_FP IDSW Frag") == (13, 12, 0, 0, 0)
    assert clear["MOTA"] == 13 / 25
    assert_trackeval_parity(ours, theirs)


def test_clear_switches_against_any_earlier_partner_and_fragments_across_processed_frames(tmp_path):
    """§5.2 by hand, one gt id over 5 frames of a 10-frame sequence:
    f1 tracked by id 7; f2 has no tracker box at all (not processed: continuity bridges it); f3 id 7
    again (same segment, no switch); f4 has only a far-away tracker box (processed: the gt is unmatched and
    its segment ends; one FP); f5 tracked by id 8: a switch (partner 7 at f3) and a new segment.
    TP 3, FN 2, FP 1, IDSW 1, Frag 1; MOTA = (3-1-1)/5, MOTAL = (3-1-log10(1))/5, FP_per_frame = 1/10,
    MOTP = 1, sMOTA = (3-1-1)/5, ratio 3/5 -> PT."""
    gt = [(f, 1, BOX) for f in range(1, 6)]
    trk = [(1, 7, BOX), (3, 7, BOX), (4, 7, (50, 50, 5, 5)), (5, 8, BOX)]
    ours, theirs = scored(tmp_path, [sequence("s", 10, gt, trk)])
    clear = clear_of(ours)
    assert pick(clear, "CLR_TP CLR_FN CLR_FP IDSW Frag") == (3, 2, 1, 1, 1)
    assert (clear["MT"], clear["PT"], clear["ML"]) == (0, 1, 0)
    assert clear["MOTA"] == (3 - 1 - 1) / 5
    assert clear["MODA"] == (3 - 1) / 5
    assert clear["MOTAL"] == (3 - 1 - 0) / 5
    assert clear["FP_per_frame"] == 1 / 10
    assert clear["CLR_Frames"] == 10
    assert (clear["MOTP"], clear["sMOTA"]) == (1.0, (3 - 1 - 1) / 5)
    assert (clear["CLR_Re"], clear["CLR_Pr"], clear["CLR_F1"]) == (3 / 5, 3 / 4, 3 / (3 + 1 + 0.5))
    assert_trackeval_parity(ours, theirs)


def test_clear_switch_back_to_an_old_partner_is_a_switch_and_motal_takes_log10(tmp_path):
    """§5.2-5.3: partners 7, 8, 7 over three frames are two switches (the return to 7 too, since the
    previous partner is 8); MOTAL = (TP - FP - log10(IDSW)) / N = (3 - log10 2) / 3."""
    gt = [(f, 1, BOX) for f in range(1, 4)]
    trk = [(1, 7, BOX), (2, 8, BOX), (3, 7, BOX)]
    ours, theirs = scored(tmp_path, [sequence("s", 3, gt, trk)])
    clear = clear_of(ours)
    assert (clear["IDSW"], clear["Frag"]) == (2, 0)
    assert clear["MOTA"] == (3 - 2) / 3
    assert clear["MOTAL"] == (3 - np.log10(2)) / 3
    assert_trackeval_parity(ours, theirs)


def test_clear_keeps_the_previous_frames_partner_over_a_better_iou(tmp_path):
    """§5.2: the 1000 bonus for last processed frame's partner. Frame 2 offers id 8 at IoU 1 (first in the
    file) and the previous partner id 7 at IoU 0.6: 7 is kept (no switch), 8 is a FP; MOTP = (1 + 0.6)/2."""
    gt = [(1, 1, BOX), (2, 1, BOX)]
    trk = [(1, 7, BOX), (2, 8, BOX), (2, 7, IOU_06)]
    ours, theirs = scored(tmp_path, [sequence("s", 2, gt, trk)])
    clear = clear_of(ours)
    assert (clear["CLR_TP"], clear["CLR_FP"], clear["IDSW"]) == (2, 1, 0)
    assert clear["MOTP"] == (1 + 0.6) / 2
    assert_trackeval_parity(ours, theirs)


def test_clear_bonus_survives_a_frame_without_tracker_boxes_but_not_a_processed_frame(tmp_path):
    """§5.2 quirk: ``prev_step_id`` is not reset by a frame without tracker boxes, but is reset by a processed
    frame in which the gt id goes unmatched. Sequence "bridged": f1 id 7, f2 no tracker box, f3 offers id 8
    at IoU 1 and id 7 at IoU 0.6 -> 7 kept, no switch. Sequence "reset": f2 holds a far-away tracker box
    instead -> no bonus at f3, id 8 wins on IoU: one switch (partner 7 before)."""
    gt = [(f, 1, BOX) for f in range(1, 4)]
    frame3 = [(3, 8, BOX), (3, 7, IOU_06)]
    bridged = sequence("bridged", 3, gt, [(1, 7, BOX), *frame3])
    reset = sequence("reset", 3, gt, [(1, 7, BOX), (2, 9, (50, 50, 5, 5)), *frame3])
    ours, theirs = scored(tmp_path, [bridged, reset])
    assert (clear_of(ours, "bridged")["IDSW"], clear_of(ours, "bridged")["MOTP_sum"]) == (0, 1.6)
    assert (clear_of(ours, "reset")["IDSW"], clear_of(ours, "reset")["MOTP_sum"]) == (1, 2.0)
    assert clear_of(ours, "reset")["Frag"] == 1
    assert_trackeval_parity(ours, theirs)


def test_clear_combined_frames_skip_early_exit_sequences(tmp_path):
    """§5.1 / §8: a sequence with an empty gt keeps CLR_Frames = 0 (and shows MOTA 0, MLR 1), so the
    combined FP_per_frame = (1 + 3) / 4 counts only the 4 frames of the scored sequence; the combined MOTA
    is recomputed from the summed counts: (2 - 4 - 0) / 2."""
    scored_seq = sequence("a", 4, [(1, 1, BOX), (2, 1, BOX)], [(1, 5, BOX), (2, 5, BOX), (3, 6, BOX)])
    no_gt = sequence("b", 6, [], [(1, 2, BOX), (2, 2, BOX), (3, 2, BOX)])
    ours, theirs = scored(tmp_path, [scored_seq, no_gt])
    empty = clear_of(ours, "b")
    assert (empty["CLR_FP"], empty["CLR_Frames"], empty["MOTA"], empty["MLR"]) == (3, 0, 0, 1.0)
    combined = clear_of(ours, "COMBINED")
    assert (combined["CLR_Frames"], combined["CLR_FP"], combined["CLR_TP"]) == (4, 4, 2)
    assert combined["FP_per_frame"] == 4 / 4
    assert combined["MOTA"] == (2 - 4) / 2
    assert_trackeval_parity(ours, theirs)


def test_clear_matches_an_iou_just_below_half_that_identity_rejects(tmp_path):
    """§10: CLEAR and preprocessing match at ``IoU >= 0.5 - eps``, Identity at plain ``IoU >= 0.5``. A tracker
    box 1 x 2.0000000000000004 over a 1 x 1 gt box has IoU 1/2.0000000000000004 = 0.4999999999999999:
    a CLEAR TP, but IDTP 0 (IDFN 1, IDFP 1); HOTA counts it up to alpha 0.5 (>= 0.5 - eps)."""
    h = float(np.nextafter(2.0, 3.0))
    trk = [TrackerRow(1, 2, (0, 0, 1, 2), noise=(0.0, 0.0, 0.0, h - 2.0))]
    ours, theirs = scored(tmp_path, [raw_sequence("s", 1, [GtRow(1, 1, (0, 0, 1, 1), 1, 1)], trk)])
    assert clear_of(ours)["CLR_TP"] == 1
    identity = ours["s"]["Identity"]
    assert (identity["IDTP"], identity["IDFN"], identity["IDFP"]) == (0, 1, 1)
    np.testing.assert_array_equal(ours["s"]["HOTA"]["HOTA_TP"], per_alpha((1, 10), (0, 9)))
    assert_trackeval_parity(ours, theirs)


def test_identity_counts_an_iou_of_exactly_half(tmp_path):
    """§6: potential matches need ``IoU >= 0.5``: exactly 0.5 counts."""
    ours, theirs = scored(tmp_path, [sequence("s", 1, [(1, 1, BOX)], [(1, 5, IOU_05)])])
    identity = ours["s"]["Identity"]
    assert (identity["IDTP"], identity["IDFN"], identity["IDFP"], identity["IDF1"]) == (1, 0, 0, 1.0)
    assert_trackeval_parity(ours, theirs)


def test_identity_global_assignment_prefers_the_larger_total_over_the_longest_pair(tmp_path):
    """§6 by hand: gt 1 over frames 1-6 (box P), gt 2 over frames 1-3 (box Q); tracker 7 covers P in
    frames 1-4, tracker 8 covers Q in frames 1-3 and P in frames 5-6. Potential matches (1,7) = 4,
    (1,8) = 2, (2,8) = 3: the best one-to-one choice is {1-7, 2-8}, IDTP = 7, so IDFN = 9 - 7 = 2,
    IDFP = 9 - 7 = 2, IDF1 = 7 / (7 + 1 + 1)."""
    p, q = BOX, (40, 0, 10, 10)
    gt = [(f, 1, p) for f in range(1, 7)] + [(f, 2, q) for f in range(1, 4)]
    trk = [(f, 7, p) for f in range(1, 5)] + [(f, 8, q) for f in range(1, 4)] + [(f, 8, p) for f in (5, 6)]
    ours, theirs = scored(tmp_path, [sequence("s", 6, gt, trk)])
    identity = ours["s"]["Identity"]
    assert (identity["IDTP"], identity["IDFN"], identity["IDFP"]) == (7, 2, 2)
    assert (identity["IDR"], identity["IDP"], identity["IDF1"]) == (7 / 9, 7 / 9, 7 / 9)
    assert_trackeval_parity(ours, theirs)


def test_identity_combined_recomputes_ratios_from_summed_counts(tmp_path):
    """§8: IDF1 over two sequences = sum IDTP / (sum IDTP + (sum IDFP + sum IDFN) / 2), not the mean of the
    sequences' IDF1: a (one box, tracked) has 1/0/0, b (one box, no tracker box) has 0/1/0 -> 1/1.5."""
    ours, theirs = scored(
        tmp_path,
        [sequence("a", 1, [(1, 1, BOX)], [(1, 2, BOX)]), sequence("b", 1, [(1, 1, BOX)], None)],
    )
    combined = ours["COMBINED"]["Identity"]
    assert (combined["IDTP"], combined["IDFN"], combined["IDFP"]) == (1, 1, 0)
    assert (combined["IDR"], combined["IDP"], combined["IDF1"]) == (0.5, 1.0, 1 / 1.5)
    assert_trackeval_parity(ours, theirs)


# --------------------------------------------------------------------------------------------------
# Preprocessing (spec §3)

DISTRACTOR, CAR = 8, 3


def count_of(ours: dict, seq: str = "s") -> tuple[int, int, int, int]:
    count = ours[seq]["Count"]
    return count["Dets"], count["GT_Dets"], count["IDs"], count["GT_IDs"]


def test_distractor_removal_threshold_is_half_minus_eps(tmp_path):
    """§3.2: a tracker box matched to a distractor at IoU >= 0.5 - eps is deleted. Frame 1: IoU exactly 0.5
    (deleted); frame 2: IoU 1/2.0000000000000004 = 0.4999999999999999 (deleted too); frame 3: IoU 0.45
    (kept: a FP, since the distractor is not evaluable gt)."""
    h = float(np.nextafter(2.0, 3.0))
    gt = (
        GtRow(1, 1, (0, 0, 10, 10), 0, DISTRACTOR),
        GtRow(2, 1, (0, 0, 1, 1), 0, DISTRACTOR),
        GtRow(3, 1, (0, 0, 10, 10), 0, DISTRACTOR),
    )
    trk = (
        TrackerRow(1, 4, IOU_05),
        TrackerRow(2, 4, (0, 0, 1, 2), noise=(0.0, 0.0, 0.0, h - 2.0)),
        TrackerRow(3, 4, (0, 0, 9, 5)),  # 45 / 100
    )
    ours, theirs = scored(tmp_path, [raw_sequence("s", 3, gt, trk)])
    assert count_of(ours) == (1, 0, 1, 0)
    assert clear_of(ours)["CLR_FP"] == 1
    assert_trackeval_parity(ours, theirs)


def test_distractor_removal_maximises_summed_iou_over_all_gt_rows(tmp_path):
    """§3.2: the assignment runs over every gt row of the frame (a car, class 3, takes part) and maximises the
    summed IoU. Distractor D = (0,0,20,20), car C = (0,0,20,18); tracker T1 = D's box (IoU 1 with D, 0.9
    with C), T2 = (0,0,20,19) (0.95 with D, 18/19 with C). Best total: T1-D + T2-C = 1.947 > 0.9 + 0.95,
    so T1 is deleted and T2 kept although its own best gt is the distractor. Frame 2: the tracker box
    equals the car and also covers the distractor at 0.9: matched to the car, kept."""
    d, c = (0, 0, 20, 20), (0, 0, 20, 18)
    gt = [(1, 1, d, 0, DISTRACTOR), (1, 2, c, 0, CAR), (2, 1, d, 0, DISTRACTOR), (2, 2, c, 0, CAR)]
    trk = [(1, 5, d), (1, 6, (0, 0, 20, 19)), (2, 5, c)]
    ours, theirs = scored(tmp_path, [sequence("s", 2, gt, trk)])
    assert count_of(ours) == (2, 0, 2, 0)
    assert_trackeval_parity(ours, theirs)


def test_class_6_is_a_distractor_on_mot20_only(tmp_path):
    """§3.1: non_mot_vehicle (6) joins the distractors when BENCHMARK == MOT20: the tracker box over it is
    deleted there, and stays (a FP) on MOT17."""
    seq = sequence("s", 1, [(1, 1, BOX, 0, 6), (1, 2, (40, 0, 10, 10), 1, 1)], [(1, 5, BOX)])
    mot20, theirs20 = scored(tmp_path / "20", [seq], bench="MOT20")
    mot17, theirs17 = scored(tmp_path / "17", [seq], bench="MOT17")
    assert count_of(mot20) == (0, 1, 0, 1)
    assert count_of(mot17) == (1, 1, 1, 1)
    assert_trackeval_parity(mot20, theirs20)
    assert_trackeval_parity(mot17, theirs17)


def test_gt_conf_is_truncated_and_only_zero_is_ignored(tmp_path):
    """§3.3 / §1.4: gt conf 0.5 truncates to 0 (the row is ignored, and its tracker box is a FP, not deleted);
    conf -1 is kept. Two pedestrians, each under an exact tracker box."""
    gt = [(1, 1, BOX, 0.5, 1), (1, 2, (40, 0, 10, 10), -1, 1)]
    trk = [(1, 5, BOX), (1, 6, (40, 0, 10, 10))]
    ours, theirs = scored(tmp_path, [sequence("s", 1, gt, trk)])
    assert count_of(ours) == (2, 1, 2, 1)
    clear = clear_of(ours)
    assert (clear["CLR_TP"], clear["CLR_FP"], clear["CLR_FN"]) == (1, 1, 0)
    assert_trackeval_parity(ours, theirs)


def test_mot15_keeps_every_class_and_deletes_no_tracker_box(tmp_path):
    """§3.3: on MOT15 there is no distractor step and no class filter: a class-8 gt row with conf 1 is
    evaluable gt (matched by its tracker box), a conf-0 row is ignored and its tracker box stays a FP."""
    gt = [(1, 1, BOX, 1, DISTRACTOR), (1, 2, (40, 0, 10, 10), 0, DISTRACTOR)]
    trk = [(1, 5, BOX), (1, 6, (40, 0, 10, 10))]
    ours, theirs = scored(tmp_path, [sequence("s", 1, gt, trk)], bench="MOT15")
    assert count_of(ours) == (2, 1, 2, 1)
    assert (clear_of(ours)["CLR_TP"], clear_of(ours)["CLR_FP"]) == (1, 1)
    assert_trackeval_parity(ours, theirs)


# --------------------------------------------------------------------------------------------------
# Box overlaps (spec §2)


def test_a_wide_tracker_box_starting_far_left_of_the_gt_box_is_found(tmp_path):
    """§2: every same-frame pair is compared. gt (50,0,10,10); tracker boxes (0,0,60,10) (IoU 100/600, its
    left edge 50 units left of the gt box), a narrow (200,0,5,5) and a box (60,0,5,10) that only touches
    the gt box's right edge (IoU 0). Frame 2 repeats it at negative x (everything shifted by -300)."""
    gt, trk = [], []
    for frame, dx in ((1, 0), (2, -300)):
        gt.append((frame, 1, (50 + dx, 0, 10, 10)))
        trk += [
            (frame, 3, (200 + dx, 0, 5, 5)),
            (frame, 4, (0 + dx, 0, 60, 10)),
            (frame, 5, (60 + dx, 0, 5, 10)),
        ]
    ours, theirs = scored(tmp_path, [sequence("s", 2, gt, trk)])
    hota = ours["s"]["HOTA"]
    # IoU 1/6 = 0.1667: matched at alphas 0.05, 0.1, 0.15000000000000002, not at 0.2.
    np.testing.assert_array_equal(hota["HOTA_TP"], per_alpha((2, 3), (0, 16)))
    np.testing.assert_allclose(hota["LocA"][:3], 1 / 6, rtol=0, atol=1e-15)
    assert_trackeval_parity(ours, theirs)


# --------------------------------------------------------------------------------------------------
# Thresholds at exactly 0.5 - eps (spec §10)

HALF_MINUS_EPS_H = 2.000000000000001  # 1 / 2.000000000000001 == 0.5 - eps exactly
BELOW_H = 2.0000000000000013  # 1 / 2.0000000000000013 == 0.49999999999999967 < 0.5 - eps


def tall_box_row(frame: int, track_id: int, h: float) -> TrackerRow:
    """A 1 x h tracker box at the origin: over the 1 x 1 gt box at the origin its IoU is 1 / h."""
    return TrackerRow(frame, track_id, (0, 0, 1, 2), noise=(0.0, 0.0, 0.0, h - 2.0))


def test_an_iou_of_exactly_half_minus_eps_matches_in_clear_hota_and_distractor_removal(tmp_path):
    """§10: ``S < 0.5 - eps`` is rejected (CLEAR, preprocessing), ``>= alpha - eps`` accepted (HOTA): an IoU
    equal to 0.5 - eps (= 0.4999999999999998, bitwise) is a CLEAR match, a HOTA match at alpha 0.5 (index 9),
    not an Identity match (plain >= 0.5), and deletes a tracker box over a distractor. One ulp lower
    (0.49999999999999967) it is none of these."""
    assert 1 / HALF_MINUS_EPS_H == 0.5 - np.finfo(float).eps
    unit = (0, 0, 1, 1)
    gt = [GtRow(1, 1, unit, 1, 1), GtRow(2, 1, unit, 1, 1), GtRow(3, 2, unit, 0, DISTRACTOR)]
    trk = [
        tall_box_row(1, 5, HALF_MINUS_EPS_H),
        tall_box_row(2, 5, BELOW_H),
        tall_box_row(3, 6, HALF_MINUS_EPS_H),
    ]
    ours, theirs = scored(tmp_path, [raw_sequence("s", 3, gt, trk)])
    assert count_of(ours) == (2, 2, 1, 1)  # the distractor's box is deleted
    assert pick(clear_of(ours), "CLR_TP CLR_FN CLR_FP") == (1, 1, 1)
    assert pick(ours["s"]["Identity"], "IDTP IDFN IDFP") == (0, 2, 2)
    np.testing.assert_array_equal(ours["s"]["HOTA"]["HOTA_TP"], per_alpha((2, 9), (1, 1), (0, 9)))
    assert_trackeval_parity(ours, theirs)

    below = [tall_box_row(1, 5, BELOW_H), tall_box_row(3, 6, BELOW_H)]
    ours, theirs = scored(tmp_path / "below", [raw_sequence("s", 3, gt, below)])
    assert count_of(ours) == (2, 2, 2, 1)  # kept: a FP
    assert clear_of(ours)["CLR_TP"] == 0
    np.testing.assert_array_equal(ours["s"]["HOTA"]["HOTA_TP"], per_alpha((1, 9), (0, 10)))
    assert_trackeval_parity(ours, theirs)


def test_a_zero_area_gt_box_in_a_crowded_frame_scores_like_trackeval(tmp_path):
    """§2 / §4.2: a 1e-9 x 1e-9 gt box has IoU 0 with everything (area <= eps), and its overlap with a
    tracker box that overlaps nothing else gives a Jaccard denominator D = 0, which TrackEval's
    ``D > 0 + eps`` guard turns into J = 0. The same frame needs a real assignment (gt 2 overlapped by two
    tracker boxes). Expected by hand: gt 2 matched to the exact box, TP 1, FN 1, FP 2 at every alpha."""
    gt = [GtRow(1, 1, (0, 0, 0, 0), 1, 1, noise=(0.0, 0.0, 1e-9, 1e-9)), GtRow(1, 2, (50, 0, 10, 10), 1, 1)]
    trk = [
        TrackerRow(1, 5, (0, 0, 10, 10)),
        TrackerRow(1, 6, (51, 0, 10, 10)),
        TrackerRow(1, 7, (50, 0, 10, 10)),
    ]
    ours, theirs = scored(tmp_path, [raw_sequence("s", 1, gt, trk)])
    hota = ours["s"]["HOTA"]
    np.testing.assert_array_equal(hota["HOTA_TP"], per_alpha((1, 19)))
    np.testing.assert_array_equal(hota["HOTA_FN"], per_alpha((1, 19)))
    np.testing.assert_array_equal(hota["HOTA_FP"], per_alpha((2, 19)))
    assert pick(clear_of(ours), "CLR_TP CLR_FN CLR_FP") == (1, 1, 2)
    assert_trackeval_parity(ours, theirs)


def test_distractor_removal_keeps_a_box_the_assignment_pairs_with_a_distractor_at_iou_0(tmp_path):
    """§3.2 step 3: only assigned pairs with ``S > 0 + eps`` count. gt rows (file order): distractor D2 far
    from everything, pedestrians P = (0,0,10,10) and P2 = (0,0,10,9), distractor D = (100,0,10,10);
    tracker boxes T1 = P's box, T2 = D's box, T3 = (300,0,10,10) far away. Two candidates share T1, so the
    frame is solved; scipy's assignment on this 4 x 3 matrix pairs T3 with D2 at score 0 (checked below),
    which must not delete T3: only T2 goes, T1 and T3 stay (Dets 2)."""
    d2, p, p2, d = (500, 0, 10, 10), BOX, (0, 0, 10, 9), (100, 0, 10, 10)
    scores = np.array([[0, 0, 0], [1.0, 0, 0], [0.9, 0, 0], [0, 1.0, 0]])
    rows, cols = linear_sum_assignment(-scores)
    # the zero-score pair D2-T3 is part of the assignment
    assert (0, 2) in set(zip(rows.tolist(), cols.tolist(), strict=True))
    gt = [(1, 1, d2, 0, DISTRACTOR), (1, 2, p, 1, 1), (1, 3, p2, 1, 1), (1, 4, d, 0, DISTRACTOR)]
    trk = [(1, 5, BOX), (1, 6, d), (1, 7, (300, 0, 10, 10))]
    ours, theirs = scored(tmp_path, [sequence("s", 1, gt, trk)])
    assert count_of(ours) == (2, 2, 2, 2)
    assert_trackeval_parity(ours, theirs)


def test_clear_bonus_also_bridges_a_frame_without_gt_and_chains_between_solved_frames(tmp_path):
    """§5.2: a frame without gt boxes is not processed either, so the partner of frame 1 still earns the
    bonus in frame 3 ("no-gt": f2 holds only a tracker box, a FP). In "chained" every frame needs solving:
    f1 offers id 8 at IoU 1 and id 7 at 0.6 (no partner yet: 8 wins), f2 offers 7 at IoU 1 (first) and 8
    at 0.6: the bonus of f1's solved match keeps 8, so no switch and MOTP_sum = 1 + 0.6."""
    gt = [(f, 1, BOX) for f in range(1, 4)]
    no_gt = sequence("no-gt", 3, [gt[0], gt[2]], [(1, 7, BOX), (2, 9, BOX), (3, 8, BOX), (3, 7, IOU_06)])
    chained = sequence("chained", 2, gt[:2], [(1, 8, BOX), (1, 7, IOU_06), (2, 7, BOX), (2, 8, IOU_06)])
    ours, theirs = scored(tmp_path, [no_gt, chained])
    assert pick(clear_of(ours, "no-gt"), "CLR_TP CLR_FP IDSW Frag MOTP_sum") == (2, 2, 0, 0, 1.6)
    assert pick(clear_of(ours, "chained"), "CLR_TP CLR_FP IDSW Frag MOTP_sum") == (2, 2, 0, 0, 1.6)
    assert_trackeval_parity(ours, theirs)


def test_gt_classes_are_only_checked_in_frames_with_tracker_boxes_and_crowd_suppresses_nothing(tmp_path):
    """§1.5 / §3: with preprocessing, gt classes outside 1..13 are an error only in frames that also hold
    tracker boxes: classes 0 and 14 in frame 2 (no tracker box) pass. Class 13 (crowd) is valid and is no
    ignore region: the tracker box on it in frame 1 stays, a FP. The pedestrian is matched in frame 1."""
    far = (40, 0, 10, 10)
    gt = [(1, 1, BOX, 1, 1), (1, 2, far, 0, 13), (2, 3, BOX, 0, 0), (2, 4, far, 0, 14)]
    trk = [(1, 5, BOX), (1, 6, (40, 0, 10, 10))]
    ours, theirs = scored(tmp_path, [sequence("s", 2, gt, trk)])
    assert count_of(ours) == (2, 1, 2, 1)
    assert pick(clear_of(ours), "CLR_TP CLR_FP CLR_FN") == (1, 1, 0)
    assert_trackeval_parity(ours, theirs)


def preprocessed(tmp_path: Path, seq: SequenceCase, bench: str = "MOT17"):
    """`SequenceData` of one sequence, read and preprocessed as `discmot.evaluate` does."""
    gt_folder, trackers_folder = Benchmark(bench, (seq,)).write(tmp_path)
    split = f"{bench}-train"
    gt = load_ground_truth(gt_folder / split / seq.name / "gt" / "gt.txt", seq.length)
    tracker = load_tracker_result(trackers_folder / split / TRACKER / "data" / f"{seq.name}.txt", seq.length)
    return preprocess(gt, tracker, seq.length, benchmark_preset(bench))


def test_clear_match_pairs_is_empty_when_a_side_has_no_box(tmp_path):
    """`clear.match_pairs` (what ``discmot show`` classifies boxes with) matches nothing when the tracker file
    or the gt is empty (§5.1's early exits), and otherwise returns the matched pair indices."""
    gt = [(1, 1, BOX), (2, 1, BOX)]
    no_tracker = preprocessed(tmp_path / "a", sequence("s", 2, gt, None))
    no_gt = preprocessed(tmp_path / "b", sequence("s", 2, [], [(1, 3, BOX)]))
    assert clear.match_pairs(no_tracker).tolist() == []
    assert clear.match_pairs(no_gt).tolist() == []
    both = preprocessed(tmp_path / "c", sequence("s", 2, gt, [(1, 3, BOX), (2, 3, (50, 0, 5, 5))]))
    matched = clear.match_pairs(both)
    assert matched.tolist() == [0]
    assert (both.pair_frame[matched].tolist(), both.similarity[matched].tolist()) == ([0], [1.0])


def test_clear_previous_partners_are_minus_one_at_a_first_match():
    """`clear.previous_partners` (spec §5.2 ``prev_id``): for matches in time order, the tracker id of the
    same gt id's previous match in any earlier frame, -1 at its first match."""
    gt = np.array([0, 0, 1, 0, 1])
    tracker = np.array([5, 6, 5, 5, 5])
    assert clear.previous_partners(gt, tracker).tolist() == [-1, 5, -1, 6, 5]


def test_clear_first_processed_frame_gets_no_bonus_even_when_solved(tmp_path):
    """§5.2: ``prev_step_id`` starts empty, so the first processed frame has no bonus whatever comes later.
    f1 offers id 8 at IoU 1 (first) and id 7 at 0.6: 8 wins; f2 has only id 7, exact: one switch."""
    gt = [(1, 1, BOX), (2, 1, BOX)]
    ours, theirs = scored(tmp_path, [sequence("s", 2, gt, [(1, 8, BOX), (1, 7, IOU_06), (2, 7, BOX)])])
    assert pick(clear_of(ours), "CLR_TP CLR_FP IDSW MOTP_sum") == (2, 1, 1, 2.0)
    assert_trackeval_parity(ours, theirs)


def test_clear_solved_frame_accepts_an_iou_of_exactly_half_minus_eps(tmp_path):
    """§5.2: in a frame that needs the solver, ``score[S < 0.5 - eps] = 0`` keeps a pair whose IoU is exactly
    0.5 - eps. gt 1 = (0,0,1,1), gt 2 = (0,0,1,1.5); tracker A = (0,0,1,2.000000000000001) (IoU 0.5 - eps
    with gt 1, 1.5/2.000000000000001 with gt 2), tracker B = gt 2's box (IoU 1/1.5 with gt 1). The best
    assignment is gt1-A + gt2-B (0.5 - eps + 1 = 1.5 > 2/3 + 0.75): MOTP_sum = 1.5 - eps."""
    eps = np.finfo(float).eps
    gt = [GtRow(1, 1, (0, 0, 1, 1), 1, 1), GtRow(1, 2, (0, 0, 1, 1), 1, 1, noise=(0.0, 0.0, 0.0, 0.5))]
    trk = [tall_box_row(1, 5, HALF_MINUS_EPS_H), TrackerRow(1, 6, (0, 0, 1, 1), noise=(0.0, 0.0, 0.0, 0.5))]
    ours, theirs = scored(tmp_path, [raw_sequence("s", 1, gt, trk)])
    assert pick(clear_of(ours), "CLR_TP CLR_FP CLR_FN") == (2, 0, 0)
    assert clear_of(ours)["MOTP_sum"] == (0.5 - eps) + 1.0
    assert_trackeval_parity(ours, theirs)


def test_boxes_of_different_frames_never_pair_however_wide_they_are(tmp_path):
    """§2 / §4.3: similarities are per frame, whatever the boxes' extents. "wide-gt": a 200-wide gt box in
    frame 1 lies over the 5-wide tracker boxes of frames 2 and 3 (same coordinates); "wide-tracker": the gt
    box of frame 2 lies under frame 1's tracker box while frame 2's own tracker box is 70 wide and far left.
    Only the same-frame pairs at the same place match."""
    small = (0, 0, 5, 10)
    wide_gt = sequence("wide-gt", 3, [(1, 1, (0, 0, 200, 10)), (2, 2, small)], [(2, 7, small), (3, 9, small)])
    wide_tracker = sequence(
        "wide-tracker",
        3,
        [(2, 1, small), (3, 2, small)],
        [(1, 7, small), (2, 8, (-100, 0, 70, 10)), (3, 9, small)],
    )
    ours, theirs = scored(tmp_path, [wide_gt, wide_tracker])
    assert pick(clear_of(ours, "wide-gt"), "CLR_TP CLR_FN CLR_FP") == (1, 1, 1)
    assert pick(clear_of(ours, "wide-tracker"), "CLR_TP CLR_FN CLR_FP") == (1, 1, 2)
    for name in ("wide-gt", "wide-tracker"):
        np.testing.assert_array_equal(ours[name]["HOTA"]["HOTA_TP"], per_alpha((1, 19)))
    assert_trackeval_parity(ours, theirs)


def test_boxes_of_unit_and_smaller_area_have_their_true_iou(tmp_path):
    """§2: only areas and unions ``<= eps`` are degenerate. Frame 1: a 1 x 1 tracker box inside a 1 x 2 gt box
    (IoU 0.5, an Identity match); frame 2: identical 1 x 1 boxes (union 1, IoU 1); frame 3: identical
    0.5 x 0.5 boxes (union 0.25, IoU 1). All three match at every threshold up to 0.5, frames 2-3 at all."""
    half = (0.0, 0.0, 0.5, 0.5)
    gt = [
        GtRow(1, 1, (0, 0, 1, 2), 1, 1),
        GtRow(2, 1, (0, 0, 1, 1), 1, 1),
        GtRow(3, 1, (0, 0, 0, 0), 1, 1, noise=half),
    ]
    unit = (0, 0, 1, 1)
    trk = [TrackerRow(1, 5, unit), TrackerRow(2, 5, unit), TrackerRow(3, 5, (0, 0, 0, 0), noise=half)]
    ours, theirs = scored(tmp_path, [raw_sequence("s", 3, gt, trk)])
    assert pick(ours["s"]["Identity"], "IDTP IDFN IDFP") == (3, 0, 0)
    assert pick(clear_of(ours), "CLR_TP MOTP_sum") == (3, 2.5)
    np.testing.assert_array_equal(ours["s"]["HOTA"]["HOTA_TP"], per_alpha((3, 10), (2, 9)))
    assert_trackeval_parity(ours, theirs)


def test_a_single_tracker_row_of_another_class_is_refused(tmp_path):
    """§1.5: any tracker class > 1 is an error, also when the file holds one row (classes 1, 0, -1 pass)."""
    gt = (GtRow(1, 1, BOX, 1, 1),)
    for cls in (-1, 0, 1):
        row = TrackerFile((TrackerRow(1, 5, BOX),), FileFormat(columns=10, cls=cls))
        seq = SequenceCase("s", 1, 1.0, gt, FileFormat(columns=9), {TRACKER: row})
        ours, _ = scored(tmp_path / f"class{cls}", [seq], oracle=False)
        assert ours["s"]["CLEAR"]["CLR_TP"] == 1
    row = TrackerFile((TrackerRow(1, 5, BOX),), FileFormat(columns=10, cls=2))
    seq = SequenceCase("s", 1, 1.0, gt, FileFormat(columns=9), {TRACKER: row})
    with pytest.raises(ValueError, match="pedestrian"):
        scored(tmp_path / "class2", [seq], oracle=False)


def test_a_single_gt_row_of_an_invalid_class_is_refused_where_tracker_boxes_are(tmp_path):
    """§1.5: with preprocessing, a gt class outside 1..13 in a frame with tracker boxes is an error, also when
    the gt file holds that one row."""
    seq = sequence("s", 1, [(1, 1, BOX, 1, 14)], [(1, 5, BOX)])
    with pytest.raises(ValueError, match="class 14"):
        scored(tmp_path, [seq], oracle=False)


def test_sequence_data_frame_matrices_have_the_frames_gt_and_tracker_counts(tmp_path):
    """`SequenceData.frame_shape` / `dense` / `cell_index`: frame t's matrices are (gt boxes of t) x (tracker
    boxes of t), the stored pairs in place, 0 (or -1) elsewhere. Frame 1: 2 gt, 1 tracker box over gt 2;
    frame 2: 1 gt, 3 tracker boxes, the last one over it (IoU 0.6)."""
    gt = [(1, 1, BOX), (1, 2, (40, 0, 10, 10)), (2, 1, BOX)]
    trk = [(1, 5, (40, 0, 10, 10)), (2, 5, (100, 0, 5, 5)), (2, 6, (200, 0, 5, 5)), (2, 7, IOU_06)]
    data = preprocessed(tmp_path, sequence("s", 2, gt, trk))
    assert (data.frame_shape(0), data.frame_shape(1)) == ((2, 1), (1, 3))
    np.testing.assert_array_equal(data.dense(0, data.similarity), [[0.0], [1.0]])
    np.testing.assert_array_equal(data.dense(1, data.similarity), [[0.0, 0.0, 0.6]])
    np.testing.assert_array_equal(data.cell_index(0), [[-1], [0]])
    np.testing.assert_array_equal(data.cell_index(1), [[-1, -1, 1]])
