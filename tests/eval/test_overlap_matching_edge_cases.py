"""Edge cases of the sparse same-frame overlaps, the IoU arithmetic and the assignment shortcuts that the
metric tests reach too rarely to pin down (spec ``eval.md`` §2, §3, §10).

`discmot.eval.overlaps.overlapping_pairs` replaces TrackEval's dense gt x tracker IoU matrix per frame by a
sweep over left edges; the tests here check its output directly against the rule it promises (a pair is
stored when the intersection width and height are both positive, same frame only) on hand-made boxes that
the property test rarely draws: boxes that only touch, boxes much wider than tall, boxes of very different
widths in consecutive frames, an absurdly far box. `discmot.eval.matching`'s pair IoU is checked against
TrackEval on degenerate boxes, and its partial-permutation shortcut (frames whose assignment needs no
solver) on hand-made frames. The last sections pin the scoring rules around them that the suite left
open: the 1-frame floor of a sequence without seqinfo.ini whose files are all empty, and the two
thresholds of the "results end early" warning (``docs/evaluation.md``). Expected values come from the
spec's formulas worked by hand in the test, from the documented rules, or from TrackEval's own
``_calculate_box_ious``, never from discmot's output.
"""

from __future__ import annotations

import logging

import numpy as np

import discmot
from discmot.eval.matching import pairwise_iou_xywh, partial_permutation_frames
from discmot.eval.overlaps import overlapping_pairs
from helpers import require_module

EPS = np.finfo(float).eps


def offsets(frame_sizes) -> np.ndarray:
    """``(F+1,)`` frame offsets of detection lists with ``frame_sizes[t]`` boxes in frame ``t``."""
    return np.concatenate(([0], np.cumsum(frame_sizes))).astype(np.int64)


def trackeval_ious(gt_boxes: np.ndarray, tracker_boxes: np.ndarray) -> np.ndarray:
    """TrackEval 1.3.0's dense ``(G, T)`` IoU matrix of ``x, y, w, h`` boxes (spec §2)."""
    trackeval = require_module("trackeval")
    return trackeval.datasets._base_dataset._BaseDataset._calculate_box_ious(
        gt_boxes.copy(), tracker_boxes.copy(), box_format="xywh"
    )


def brute_force_pairs(gt_sizes, tracker_sizes, gt_boxes, tracker_boxes):
    """``[(frame, gt_row, tracker_row)]`` of every same-frame pair whose intersection width and height
    are both positive, row-major per frame, and their IoU from TrackEval: the dense reference."""
    gt_off, tracker_off = offsets(gt_sizes), offsets(tracker_sizes)
    pairs, ious = [], []
    for t in range(len(gt_sizes)):
        g0, g1, k0, k1 = gt_off[t], gt_off[t + 1], tracker_off[t], tracker_off[t + 1]
        if g0 == g1 or k0 == k1:
            continue
        dense = trackeval_ious(gt_boxes[g0:g1], tracker_boxes[k0:k1])
        for g in range(g0, g1):
            for k in range(k0, k1):
                a, b = gt_boxes[g], tracker_boxes[k]
                width = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
                height = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
                if width > 0 and height > 0:
                    pairs.append((t, g, k))
                    ious.append(dense[g - g0, k - k0])
    return pairs, np.array(ious)


def stored(gt_sizes, tracker_sizes, gt_boxes, tracker_boxes):
    """``([(frame, gt_row, tracker_row)], iou, pair offsets)`` as `overlapping_pairs` stores them."""
    result = overlapping_pairs(
        offsets(gt_sizes),
        offsets(tracker_sizes),
        np.asarray(gt_boxes, float),
        np.asarray(tracker_boxes, float),
    )
    pairs = list(zip(result.frame.tolist(), result.gt_row.tolist(), result.tracker_row.tolist(), strict=True))
    return pairs, result.iou, result.offsets


# --------------------------------------------------------------------------------------------------
# Which pairs are stored (spec §2: every other pair has an IoU of exactly 0)


def test_only_pairs_overlapping_in_both_axes_are_stored_and_touching_edges_are_not():
    """§2: ``inter = max(min(x1) - max(x0), 0) * max(min(y1) - max(y0), 0)``. One frame, gt (0, 0, 100, 10),
    a box 10 times wider than tall, and four tracker boxes:

    * (90, 0, 20, 10) overlaps its right end: inter 10 x 10 = 100, union 1000 + 200 - 100 = 1100, IoU 1/11
      (found only if the sweep's right bound uses the gt box's width, not its height);
    * (100, 0, 10, 10) touches its right edge: width exactly 0, IoU 0, not stored;
    * (-15, 0, 10, 10) lies left of it (x -15..-5) but inside the sweep's window (left edge within the
      widest tracker box, 20): no horizontal overlap, not stored;
    * (50, 10, 10, 10) touches its bottom edge: height exactly 0, not stored.
    """
    gt = [(0, 0, 100, 10)]
    tracker = [(90, 0, 20, 10), (100, 0, 10, 10), (-15, 0, 10, 10), (50, 10, 10, 10)]
    pairs, iou, pair_offsets = stored([1], [4], gt, tracker)
    assert pairs == [(0, 0, 0)]
    assert iou.tolist() == [100 / 1100]
    assert pair_offsets.tolist() == [0, 1]


def test_a_tall_gt_box_finds_a_tracker_box_at_its_right_end():
    """§2, the mirror case of the wide box: gt (0, 0, 10, 100) is taller than wide, so a right bound taken
    from the height would be too wide, not too narrow; the pair with (8, 90, 10, 10) (inter 2 x 10 = 20,
    union 1000 + 100 - 20 = 1080) is stored and (10, 0, 5, 5), touching its right edge, is not."""
    pairs, iou, _ = stored([1], [2], [(0, 0, 10, 100)], [(8, 90, 10, 10), (10, 0, 5, 5)])
    assert pairs == [(0, 0, 0)]
    assert iou.tolist() == [20 / 1080]


def test_boxes_of_very_different_widths_in_consecutive_frames_pair_only_within_a_frame():
    """§2: the similarity is per frame. Frame 0 holds a 1-pixel-wide tracker box at the origin, frame 1 a
    gt box (0, 0, 10, 10) and a 1000-pixel-wide tracker box at the origin. The frame-0 box lies over the
    frame-1 gt box geometrically but belongs to another frame, so the only pair is the frame-1 one:
    inter 10 x 10 = 100, union 100 + 10000 - 100 = 10000, IoU 0.01. (The sweep sorts all frames' boxes
    by ``frame * span + x0``; a span below the widest box lets frame 0's box into frame 1's window.)"""
    gt = [(0, 0, 10, 10)]
    tracker = [(0, 0, 1, 10), (0, 0, 1000, 10)]
    pairs, iou, pair_offsets = stored([0, 1], [1, 1], gt, tracker)
    assert pairs == [(1, 0, 1)]
    assert iou.tolist() == [0.01]
    assert pair_offsets.tolist() == [0, 0, 1]


def test_an_absurdly_far_box_does_not_hide_a_small_overlap_elsewhere():
    """§2 puts no bound on coordinates: a diverged track at x = 1e12 in the same frame must not cost the
    pairs of ordinary boxes. gt (0, 0, 10, 10) and tracker (8, 0, 10, 10) overlap by 2 pixels: inter 20,
    union 100 + 100 - 20 = 180, IoU 1/9. (The sweep's keys grow with the largest coordinate, and its
    search margin must grow with them, never shrink below zero.)"""
    gt = [(0, 0, 10, 10)]
    tracker = [(8, 0, 10, 10), (1e12, 0, 10, 10)]
    pairs, iou, _ = stored([1], [2], gt, tracker)
    assert pairs == [(0, 0, 0)]
    assert iou.tolist() == [20 / 180]


def test_a_far_box_in_a_long_sequence_does_not_hide_a_small_overlap_in_its_last_frame():
    """§2, the same over 1000 frames: a gt and a tracker box at x = 1e13 coincide in frame 0 (IoU 1) and
    the ordinary pair gt (0, 0, 10, 10) / tracker (8, 0, 10, 10) (IoU 20 / 180) sits in frame 999, where
    ``frame * span + x`` is about 7e16 and rounds to multiples of 8: the search margin must cover that
    rounding, which grows with the number of frames, so the 2-pixel overlap is still found."""
    num_frames = 1000
    sizes = [1] + [0] * (num_frames - 2) + [1]
    far, near = (1e13, 0, 10, 10), (0, 0, 10, 10)
    pairs, iou, _ = stored(sizes, sizes, [far, near], [far, (8, 0, 10, 10)])
    assert pairs == [(0, 0, 0), (num_frames - 1, 1, 1)]
    assert iou.tolist() == [1.0, 20 / 180]


def test_crowded_frames_with_mixed_sizes_store_exactly_the_dense_overlaps():
    """§2 against TrackEval's dense IoU: 6 frames of boxes of widths 1 to 400, heights 1 to 50, some frames
    empty on one side, some boxes touching. Every pair with positive width and height is stored, in
    row-major order per frame, with TrackEval's IoU bit for bit; nothing else is stored."""
    rng = np.random.default_rng(7)
    gt_sizes, tracker_sizes = [3, 0, 5, 4, 6, 2], [4, 3, 0, 6, 5, 3]

    def boxes(count):
        x = rng.integers(-50, 120, count).astype(float)
        y = rng.integers(0, 15, count).astype(float)
        w = rng.choice([1.0, 5.0, 20.0, 60.0, 400.0], count)
        h = rng.choice([1.0, 10.0, 50.0], count)
        return np.stack([x, y, w, h], axis=1)

    gt_boxes, tracker_boxes = boxes(sum(gt_sizes)), boxes(sum(tracker_sizes))
    # two touching pairs: a tracker box starting where a gt box ends, in x and in y
    tracker_boxes[-1] = [gt_boxes[-1, 0] + gt_boxes[-1, 2], gt_boxes[-1, 1], 10, 10]
    tracker_boxes[-2] = [gt_boxes[-1, 0], gt_boxes[-1, 1] + gt_boxes[-1, 3], 10, 10]
    expected_pairs, expected_iou = brute_force_pairs(gt_sizes, tracker_sizes, gt_boxes, tracker_boxes)
    pairs, iou, pair_offsets = stored(gt_sizes, tracker_sizes, gt_boxes, tracker_boxes)
    assert len(expected_pairs) > 10  # the draw does overlap
    assert pairs == expected_pairs
    np.testing.assert_array_equal(iou, expected_iou)
    per_frame = np.bincount([p[0] for p in expected_pairs], minlength=len(gt_sizes))
    assert pair_offsets.tolist() == offsets(per_frame).tolist()


# --------------------------------------------------------------------------------------------------
# IoU arithmetic (spec §2) and the assignment shortcut (§10)


def test_pair_iou_equals_trackeval_on_degenerate_boxes_bit_for_bit():
    """§2: ``inter := 0`` where ``area_a <= eps`` or ``area_b <= eps`` or ``union <= eps``; ``union := 1``
    where ``union <= eps``. Pairs: a box of area exactly eps (width eps, height 1) inside a unit box, on
    either side (IoU 0, not eps); a box of area 4 eps (IoU 4 eps); two zero-size boxes (union 0: IoU 0,
    not nan); negative widths and heights (area positive or negative, IoU 0); an ordinary pair
    (25 / 175). Every value equals TrackEval's dense IoU bit for bit."""
    boxes_a = np.array(
        [
            (0, 0, EPS, 1),
            (0, 0, 1, 1),
            (0, 0, 1, 4 * EPS),
            (0, 0, 0, 0),
            (0, 0, -2, -2),
            (0, 0, -1, 1),
            (0, 0, 10, 10),
        ]
    )
    boxes_b = np.array(
        [
            (0, 0, 1, 1),
            (0, 0, EPS, 1),
            (0, 0, 1, 1),
            (0, 0, 0, 0),
            (-2, -2, 2, 2),
            (-1, 0, 1, 1),
            (5, 5, 10, 10),
        ]
    )
    expected = np.diag(trackeval_ious(boxes_a, boxes_b))
    assert expected.tolist() == [0.0, 0.0, 4 * EPS, 0.0, 0.0, 0.0, 25 / 175]  # the rules above, by hand
    with np.errstate(all="raise"):
        actual = pairwise_iou_xywh(boxes_a, boxes_b)
    np.testing.assert_array_equal(actual, expected)


def test_partial_permutation_frames_flags_exactly_the_frames_with_a_repeated_row_or_column():
    """§10: where every row and every column of a frame holds at most one positive score, the maximum
    assignment must take all of them, so no solver is needed; a frame is flagged (False) as soon as two
    positive pairs share a row or a column. Frames (row, column, positive):

    0: (0, 0), (1, 1) a partial permutation: True; 1: (0, 0), (0, 1) share row 0: False;
    2: (0, 1), (1, 1) share column 1: False; 3: (0, 0) and a non-positive (0, 1): True;
    4: no pair: True; 5: (1, 0) and 6: (0, 1), one pair each, whose keys must not collide across frames.
    """
    #            frame, row, col, positive
    pairs = [
        (0, 0, 0, True),
        (0, 1, 1, True),
        (1, 0, 0, True),
        (1, 0, 1, True),
        (2, 0, 1, True),
        (2, 1, 1, True),
        (3, 0, 0, True),
        (3, 0, 1, False),
        (5, 1, 0, True),
        (6, 0, 1, True),
    ]
    frame, row, col, positive = (np.array(column) for column in zip(*pairs, strict=True))
    easy = partial_permutation_frames(positive, frame, row, col, 7)
    assert easy.tolist() == [True, False, False, True, True, True, True]


def test_partial_permutation_frames_with_just_two_positive_pairs_sharing_a_row_needs_the_solver():
    """§10: two positive pairs in one frame sharing row 0 (columns 0 and 1) are not a partial permutation,
    even when they are the only positive pairs of the sequence; one positive pair alone always is."""
    two = partial_permutation_frames(
        np.array([True, True]), np.array([1, 1]), np.array([0, 0]), np.array([0, 1]), 2
    )
    assert two.tolist() == [True, False]
    one = partial_permutation_frames(
        np.array([True, False]), np.array([1, 1]), np.array([0, 0]), np.array([0, 1]), 2
    )
    assert one.tolist() == [True, True]


# --------------------------------------------------------------------------------------------------
# Scoring: the length of a sequence without seqinfo.ini


def test_a_sequence_without_seqinfo_whose_images_gt_and_results_are_all_empty_is_one_frame_long(tmp_path):
    """Without seqinfo.ini a sequence ends at the last frame of its images, gt or results, and is at least
    1 frame long (a length, like ``num_frames`` / ``--seq-length``, is a whole number >= 1): with no image,
    a 0-byte gt and a 0-byte results file it is scored as 1 frame: Count ``Frames`` = 1, every count 0,
    and CLEAR's early exit (§5.1) leaves ``CLR_Frames`` = 0."""
    (tmp_path / "clip" / "gt").mkdir(parents=True)
    (tmp_path / "trk").mkdir()
    gt_file, results_file = tmp_path / "clip" / "gt" / "gt.txt", tmp_path / "trk" / "clip.txt"
    gt_file.write_bytes(b"")
    results_file.write_bytes(b"")
    scores = discmot.evaluate_pair(gt_file, results_file)["trk"]["clip"]
    assert scores["Count"] == {"Dets": 0, "GT_Dets": 0, "IDs": 0, "GT_IDs": 0, "Frames": 1}
    assert (scores["CLEAR"]["CLR_Frames"], scores["CLEAR"]["CLR_FP"], scores["CLEAR"]["CLR_FN"]) == (0, 0, 0)


# --------------------------------------------------------------------------------------------------
# Results that end early (docs/evaluation.md: "its last frame lies in the first 90% of the sequence and at
# least 10% of the scored gt boxes come after it")

EARLY = "results end at frame"


def early_end_warnings(tmp_path, gt_boxes, result_frames, caplog) -> list[str]:
    """The early-end warnings of one 100-frame sequence; ``gt_boxes``: ``(frame, id)`` of its gt boxes,
    the results one exact box per frame of ``result_frames`` (every gt box of id 1 there matched)."""
    caplog.clear()
    (tmp_path / "walk" / "gt").mkdir(parents=True)
    (tmp_path / "res").mkdir()
    gt_file, results_file = tmp_path / "walk" / "gt" / "gt.txt", tmp_path / "res" / "walk.txt"
    gt_file.write_text("".join(f"{f},{i},{10 * i},20,30,60,1,1,1\n" for f, i in sorted(gt_boxes)))
    results_file.write_text("".join(f"{f},7,10,20,30,60,1,-1,-1,-1\n" for f in result_frames))
    with caplog.at_level(logging.WARNING):
        discmot.evaluate_pair(gt_file, results_file, num_frames=100, metrics=["CLEAR"])
    return [record.getMessage() for record in caplog.records if EARLY in record.getMessage()]


def test_results_with_exactly_a_tenth_of_the_gt_boxes_after_their_last_frame_are_said_to_end_early(
    tmp_path, caplog
):
    """ "At least 10%": gt boxes in frames 1-45 and 51-55 (50 boxes), results in frames 1-50: the 5 boxes
    after frame 50 are exactly 10% of 50, and frame 50 lies in the first 90 of 100 frames: warned."""
    gt = [(f, 1) for f in [*range(1, 46), *range(51, 56)]]
    warnings = early_end_warnings(tmp_path, gt, range(1, 51), caplog)
    assert len(warnings) == 1
    assert "results end at frame 50 but the ground truth runs to frame 55 (5 of 50 gt boxes" in warnings[0]


def test_results_ending_in_the_last_tenth_of_the_sequence_are_not_said_to_end_early(tmp_path, caplog):
    """ "In the first 90%": gt id 1 in every frame 1-100 and id 2 in frames 92-100 (109 boxes), results in
    frames 1-91: 18 gt boxes (over 10%) lie after frame 91, but frame 91 is past the first 90 of the 100
    frames: not warned. Results ending at frame 80 (29 boxes after it) are."""
    gt = [(f, 1) for f in range(1, 101)] + [(f, 2) for f in range(92, 101)]
    assert early_end_warnings(tmp_path / "a", gt, range(1, 92), caplog) == []
    warnings = early_end_warnings(tmp_path / "b", gt, range(1, 81), caplog)
    assert len(warnings) == 1 and "(29 of 109 gt boxes after it" in warnings[0]


def test_results_ending_at_exactly_nine_tenths_of_the_sequence_are_not_said_to_end_early(tmp_path, caplog):
    """The length boundary (docs/evaluation.md: a last frame "before frame 90 of 100"): gt id 1 in every
    frame 1-100, results in frames 1-90 leave 10 of 100 boxes (exactly 10%) after frame 90, which is not
    before frame 90: not warned. Results in frames 1-89 (11 boxes after frame 89) are."""
    gt = [(f, 1) for f in range(1, 101)]
    assert early_end_warnings(tmp_path / "a", gt, range(1, 91), caplog) == []
    warnings = early_end_warnings(tmp_path / "b", gt, range(1, 90), caplog)
    assert len(warnings) == 1 and "(11 of 100 gt boxes after it" in warnings[0]


def test_results_ending_before_a_gt_annotated_in_a_single_frame_are_said_to_end_early(tmp_path, caplog):
    """A gt with boxes in one frame only (frame 60, one box) is no exception: results in frames 1-10 leave
    all of it (1 of 1 box, over 10%) after their last frame, which lies in the first 90%: warned."""
    warnings = early_end_warnings(tmp_path, [(60, 1)], range(1, 11), caplog)
    assert len(warnings) == 1
    assert "results end at frame 10 but the ground truth runs to frame 60 (1 of 1 gt boxes" in warnings[0]
