"""Edge cases of the JDE association (spec ``cstrack.md`` §7.3-7.9), the Kalman filter (§7.7), the track
table and FDTA's runtime steps (``fdta.md`` §5.2) that the scripted scenes of the other tests leave open:
thresholds at their exact boundaries, tie rules and counters. Expected values come from the spec or
from hand calculations written next to each test."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from discmot.structures import Detections
from discmot.trackers.association import JDETracker, JDETrackerConfig
from discmot.trackers.costs import iou_plus_one
from discmot.trackers.fdta_steps import ASSIGNMENTS, id_max_assignment
from discmot.trackers.kalman import CHI2_95, KalmanFilterXYAH, tlwh_to_xyah, xyah_to_tlwh
from discmot.trackers.track_table import TrackState, TrackTable

UNIT = np.eye(8, dtype=np.float32)  # object k looks like unit vector k


def boxes_frame(*objects) -> Detections:
    """Detections from ``(k, x, y, w, h)`` tuples, score 0.9, embedding unit vector ``k``."""
    boxes = np.array([[x, y, w, h] for _, x, y, w, h in objects], dtype=np.float64).reshape(-1, 4)
    features = UNIT[[k for k, *_ in objects]] if objects else UNIT[:0]
    return Detections(boxes, np.full(len(objects), 0.9), features)


def empty_frame() -> Detections:
    return Detections(np.zeros((0, 4)), np.zeros(0), UNIT[:0])


# ---------------------------------------------------------------------------------------------------
# Stage 1: the chi-square gate (spec §7.4 step 2)


class FixedGate:
    """Stands in for the Kalman filter's squared Mahalanobis distance: every pair gets ``value``."""

    def __init__(self, value: float):
        self.value = value

    def __call__(self, mean, covariance, measurements):
        return np.full((len(mean), len(measurements)), self.value)


def jump_with_gating(value: float) -> list[int]:
    """A confirmed track (frames 1-2) whose detection jumps far away (no overlap) on frame 3, with the
    squared Mahalanobis distance forced to ``value``; returns the ids output on frame 3."""
    tracker = JDETracker()
    for _ in range(2):
        tracker.update(boxes_frame((0, 100, 100, 40, 80)))
    tracker.kalman.gating_distance = FixedGate(value)
    return tracker.update(boxes_frame((0, 600, 100, 40, 80))).ids.tolist()


def test_stage_one_gate_lets_a_distance_of_exactly_the_chi2_quantile_through():
    """Spec §7.4 step 2: ``C = inf where g > 9.4877``, so ``g = 9.4877`` is not gated. Same embedding:
    cosine 0, fused cost ``0.98 * 0 + 0.02 * 9.4877 = 0.19 < 0.4``: matched, id 1 kept."""
    assert jump_with_gating(9.4877) == [1]


def test_stage_one_gate_uses_the_4_dof_quantile():
    """Spec §7.4 step 2: the gate is the chi-square 0.95 quantile with 4 dof (9.4877), not 5 (11.07). At
    ``g = 10`` the pair is gated although its fused cost ``0.02 * 10 = 0.2`` would be below 0.4: no match
    (and the far box has no overlap for stage 2), so track 1 is lost and the detection only starts an
    unconfirmed track: nothing is output."""
    assert jump_with_gating(10.0) == []
    assert jump_with_gating(9.0) == [1]  # below the gate: matched


# ---------------------------------------------------------------------------------------------------
# Candidates


def test_a_box_lower_than_one_pixel_is_a_detection():
    """Only a box of zero height is dropped (no aspect ratio); a positive height below 1 (e.g. boxes in
    normalised coordinates) is tracked like any other: born on frame 1, output with id 1 on frame 2."""
    tracker = JDETracker()
    small = boxes_frame((0, 0.25, 0.25, 0.125, 0.5))
    assert len(tracker.update(small)) == 0
    assert tracker.update(small).ids.tolist() == [1]


def test_scores_at_the_thresholds_count():
    """Spec §7.4 step 5: a detection starts a track when its score is ``>= det_thresh`` (here
    ``birth_threshold`` 0.7), and detections scoring ``conf_threshold`` (0.3) itself are not ignored: a
    track confirmed at 0.7 lives on (and is output) with detections scoring exactly 0.3."""
    tracker = JDETracker(JDETrackerConfig(conf_threshold=0.3, birth_threshold=0.7))
    box = [[100.0, 100, 40, 80]]
    outputs = [
        tracker.update(Detections(box, [score], UNIT[:1])).ids.tolist() for score in (0.7, 0.7, 0.3, 0.3)
    ]
    assert outputs == [[], [1], [1], [1]]
    plain = JDETracker()  # the birth threshold is the conf_threshold, 0.5
    assert [plain.update(Detections(box, [0.5], UNIT[:1])).ids.tolist() for _ in range(2)] == [[], [1]]


# ---------------------------------------------------------------------------------------------------
# Track state


def test_tracklet_length_counts_updates_and_restarts_when_refound():
    """Spec §7.3/§7.4 step 2: a new track starts with tracklet_len 0; each update of a Tracked track adds
    1; re-activating a Lost one sets it to 0. Seen on frames 1-4 (3 updates), lost on frame 5, refound by
    appearance on frame 6 (0), updated on frame 7 (1)."""
    tracker = JDETracker()
    seen = boxes_frame((0, 100, 100, 40, 80))
    lengths = []
    for detections in (seen, seen, seen, seen, empty_frame(), seen, seen):
        tracker.update(detections)
        lengths.append(int(tracker.table.tracklet_len[0]))
    assert lengths == [0, 1, 2, 3, 3, 0, 1]


# ---------------------------------------------------------------------------------------------------
# Duplicate removal (spec §7.4 step 8)

# A square 64 x 64 pixel box with the +1 convention (tlwh width 63): the aspect ratio is 1, so the Kalman
# box of a still object is exactly its detection box.
SIDE = 63.0


def duplicate_scene(config: JDETrackerConfig, shift: float, seen_frames: int) -> list[int]:
    """Object 0 is seen on frames 1..``seen_frames`` at x = 100, then lost (still, so its Kalman box stays
    put). Two frames later object 1 (another embedding: stage 1 cannot match the lost track) appears
    ``shift`` pixels to the right: born, then confirmed by the unconfirmed stage on the next frame, when
    the tracked track 2 and the lost track 1 are compared. Returns the ids output on that frame."""
    tracker = JDETracker(config)
    for _ in range(seen_frames):
        tracker.update(boxes_frame((0, 100, 100, SIDE, SIDE)))
    tracker.update(empty_frame())
    tracker.update(empty_frame())
    newcomer = boxes_frame((1, 100 + shift, 100, SIDE, SIDE))
    tracker.update(newcomer)
    return tracker.update(newcomer).ids.tolist()


def test_duplicates_need_a_distance_strictly_below_the_threshold():
    """Spec §7.4 step 8: duplicates are pairs with ``1 - IoU < threshold``. A 16-pixel shift of 64-pixel
    boxes (+1 convention) overlaps 48 x 64 of a 5120 union: IoU 0.6, ``1 - IoU = 0.4`` exactly. With the
    threshold 0.4 this is no duplicate and the newcomer is output; with 0.41 it is, and the younger track
    (the newcomer: 1 frame old against 2) is dropped."""
    assert duplicate_scene(JDETrackerConfig(duplicate_threshold=0.4), 16.0, seen_frames=3) == [2]
    assert duplicate_scene(JDETrackerConfig(duplicate_threshold=0.41), 16.0, seen_frames=3) == []


def overlapping_pair(newcomer_first_frame: int) -> list[int]:
    """Object 0 is seen on frames 1-3 (age 3 - 1 = 2 when it is lost on frame 4); object 1 (another
    embedding, 4 pixels to the right: IoU 60/68, ``1 - IoU = 0.118 < 0.15``) is seen from
    ``newcomer_first_frame`` to frame 4, where the tracked track 2 and the lost track 1 are compared.
    Returns the ids output on frame 4."""
    tracker = JDETracker()
    for t in range(1, 5):
        objects = [(0, 100, 100, SIDE, SIDE)] if t <= 3 else []
        if t >= newcomer_first_frame:
            objects.append((1, 104, 100, SIDE, SIDE))
        out = tracker.update(boxes_frame(*objects))
    return out.ids.tolist()


def test_duplicates_of_equal_age_drop_the_tracked_one():
    """Spec §7.4 step 8: of a duplicate pair the one with the shorter history (frame_id - start_frame)
    goes, ties drop the tracked one. Object 1 born on frame 2 is 4 - 2 = 2 frames old on frame 4, as
    old as the lost track 1: a tie, the tracked track 2 goes and nothing is output. Born on frame 1 it
    is 3 frames old, older than track 1: the lost track goes and track 2 is output. (Born on frame 3 it is
    still unconfirmed on frame 4, and track 1 takes its detection in the IoU stage, which runs before
    the unconfirmed one: id 1 is output.)"""
    assert overlapping_pair(2) == []
    assert overlapping_pair(1) == [2]
    assert overlapping_pair(3) == [1]


# ---------------------------------------------------------------------------------------------------
# Output filter (spec §7.8) and its counter


def test_output_filter_drops_an_area_of_exactly_100():
    """Spec §7.8: a box is dropped if ``w * h <= 100`` (kept only above 100). 5 x 20 (w/h 0.25 <= 0.6) is
    exactly 100: never written; 5 x 20.5 (area 102.5) is."""
    config = JDETrackerConfig(output_filter=True)
    for height, written in ((20.0, []), (20.5, [1])):
        tracker = JDETracker(config)
        for _ in range(3):
            out = tracker.update(boxes_frame((0, 100, 100, 5, height)))
        assert out.ids.tolist() == written, height


def test_output_filter_keeps_an_aspect_ratio_of_exactly_0_6():
    """Spec §7.8: a box is dropped if ``w / h > 0.6``. A still 48 x 80 box (w/h = 0.6 exactly, also after
    the Kalman state's ``a * h``) is written; 49 x 80 is not."""
    config = JDETrackerConfig(output_filter=True)
    for width, written in ((48.0, [1]), (49.0, [])):
        tracker = JDETracker(config)
        for _ in range(3):
            out = tracker.update(boxes_frame((0, 100, 100, width, 80)))
        assert out.ids.tolist() == written, width


def test_filtered_boxes_counts_the_dropped_confirmed_boxes_since_reset():
    """`filtered_boxes`: confirmed boxes the pedestrian filter dropped since the last reset. A 90 x 100
    box (w/h 0.9 > 0.6) seen 3 frames is confirmed on frames 2 and 3: 2 boxes dropped; 0 after reset."""
    tracker = JDETracker(JDETrackerConfig(output_filter=True))
    assert tracker.filtered_boxes == 0
    for _ in range(3):
        tracker.update(boxes_frame((0, 100, 100, 90, 100)))
    assert tracker.filtered_boxes == 2
    tracker.reset()
    assert tracker.filtered_boxes == 0
    tracker.update(boxes_frame((0, 100, 100, 90, 100)))
    tracker.update(boxes_frame((0, 100, 100, 90, 100)))
    assert tracker.filtered_boxes == 1


def test_filter_warning_comes_at_exactly_50_dropped_boxes(caplog):
    """The warning about the pedestrian filter needs at least 50 dropped rows (and more than half of those
    shown). One 90 x 100 object (w/h 0.9) is confirmed from frame 2: after 50 frames 49 boxes were dropped
    (no warning), the 51st frame makes it 50 (one warning)."""
    tracker = JDETracker(JDETrackerConfig(output_filter=True))
    with caplog.at_level("WARNING"):
        for _ in range(50):
            tracker.update(boxes_frame((0, 100, 100, 90, 100)))
        assert tracker.filtered_boxes == 49
        assert not [r for r in caplog.records if "pedestrian output filter" in r.getMessage()]
        tracker.update(boxes_frame((0, 100, 100, 90, 100)))
    assert tracker.filtered_boxes == 50
    assert len([r for r in caplog.records if "pedestrian output filter" in r.getMessage()]) == 1


# ---------------------------------------------------------------------------------------------------
# Kalman filter (spec §7.7) on covariances the tracker itself never builds


def test_chi2_table_holds_the_0_95_quantiles():
    """`CHI2_95[k]` is the 0.95 quantile of the chi-square distribution with k = 1..9 degrees of freedom
    (the spec's gate is ``CHI2_95[4] = 9.4877``); reference: scipy.stats."""
    from scipy.stats import chi2

    assert sorted(CHI2_95) == list(range(1, 10))
    for dof, value in CHI2_95.items():
        assert value == pytest.approx(chi2.ppf(0.95, dof), abs=1e-3), dof
    assert CHI2_95[4] == 9.4877


def full_covariances(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Means ``(n, 8)`` with heights 50-200 and dense symmetric positive-definite covariances ``(n, 8, 8)``:
    every measurement dimension correlated with every other (the tracker's own covariances are block
    diagonal, so its innovation covariances are diagonal and leave the off-diagonal algebra unused)."""
    rng = np.random.default_rng(seed)
    mean = np.column_stack([rng.uniform(0, 500, (n, 2)), rng.uniform(0.3, 0.6, n), rng.uniform(50, 200, n)])
    mean = np.concatenate([mean, rng.normal(0, 2, (n, 4))], axis=1)
    factor = rng.normal(0, 3, (n, 8, 8))
    covariance = factor @ np.swapaxes(factor, 1, 2) + 0.5 * np.eye(8)
    return mean, covariance


def innovation(mean: np.ndarray, covariance: np.ndarray) -> np.ndarray:
    """``S = H P H^T + R`` with ``R = diag((h/20)^2, (h/20)^2, 0.1^2, (h/20)^2)`` (spec §7.7)."""
    h = mean[3]
    return covariance[:4, :4] + np.diag(np.square([h / 20, h / 20, 1e-1, h / 20]))


def test_gating_distance_is_the_squared_mahalanobis_distance_for_dense_covariances():
    """Spec §7.7: gating distance ``(z - H m)^T S^-1 (z - H m)`` on all 4 dimensions; reference:
    numpy's general linear solve, per track and measurement."""
    mean, covariance = full_covariances(5)
    rng = np.random.default_rng(1)
    measurements = mean[:3, :4] + rng.normal(0, 4, (3, 4))
    got = KalmanFilterXYAH().gating_distance(mean, covariance, measurements)
    assert got.shape == (5, 3)
    for i in range(5):
        s = innovation(mean[i], covariance[i])
        for j in range(3):
            d = measurements[j] - mean[i, :4]
            assert got[i, j] == pytest.approx(d @ np.linalg.solve(s, d), rel=1e-9)


def test_update_is_the_textbook_kalman_update_for_dense_covariances():
    """Spec §7.7: ``K = P H^T S^-1``, ``m' = m + K (z - H m)``, ``P' = P - K S K^T``; reference: numpy's
    matrix inverse."""
    mean, covariance = full_covariances(4, seed=2)
    rng = np.random.default_rng(3)
    measurements = mean[:, :4] + rng.normal(0, 4, (4, 4))
    new_mean, new_covariance = KalmanFilterXYAH().update(mean, covariance, measurements)
    for i in range(4):
        s = innovation(mean[i], covariance[i])
        gain = covariance[i][:, :4] @ np.linalg.inv(s)
        np.testing.assert_allclose(new_mean[i], mean[i] + gain @ (measurements[i] - mean[i, :4]), rtol=1e-9)
        expected = covariance[i] - gain @ s @ gain.T
        np.testing.assert_allclose(new_covariance[i], expected, rtol=1e-8, atol=1e-8)


def test_box_conversions_leave_their_input_unchanged():
    """`tlwh_to_xyah` and `xyah_to_tlwh` return new arrays (spec §7.3's read-out ``(x - a h / 2, y - h / 2,
    a h, h)``); a float64 input, which needs no conversion, must not be written over."""
    states = np.array([[120.0, 140.0, 0.5, 80.0, 1.0, 2.0, 0.0, 0.5]])
    tlwh = xyah_to_tlwh(states)
    np.testing.assert_array_equal(tlwh, [[100.0, 100.0, 40.0, 80.0]])
    np.testing.assert_array_equal(states[0, :4], [120.0, 140.0, 0.5, 80.0])
    xyah = tlwh_to_xyah(tlwh)
    np.testing.assert_array_equal(xyah, [[120.0, 140.0, 0.5, 80.0]])
    np.testing.assert_array_equal(tlwh, [[100.0, 100.0, 40.0, 80.0]])


# ---------------------------------------------------------------------------------------------------
# IoU with the +1-pixel convention (spec §7.6)


def test_iou_plus_one_counts_an_overlap_smaller_than_one_pixel():
    """Spec §7.6: intersection width ``min(x2) - max(x1) + 1``, zero only if <= 0. Corners 0..10 and
    10.5..20 overlap by 10 - 10.5 + 1 = 0.5 in x and in y: intersection 0.25, areas 11 * 11 = 121 and
    10.5 * 10.5 = 110.25, union 231, IoU 0.25 / 231 (not 0)."""
    a, b = np.array([[0.0, 0, 10, 10]]), np.array([[10.5, 10.5, 20, 20]])
    assert iou_plus_one(a, b)[0, 0] == pytest.approx(0.25 / 231, rel=1e-12)
    assert iou_plus_one(a, np.array([[11.0, 11, 20, 20]]))[0, 0] == 0.0  # width 0: no overlap


# ---------------------------------------------------------------------------------------------------
# Track table


def test_track_states_have_the_originals_codes_and_follow_the_life_cycle():
    """Spec §7.3: state New 0, Tracked 1, Lost 2, Removed 3. A track confirmed on frames 1-2 is Tracked,
    Lost from frame 3 (unmatched), Removed on frame 33, the first with ``frame - end_frame > 30`` (end_frame
    2, spec §7.4 step 6)."""
    codes = (TrackState.NEW, TrackState.TRACKED, TrackState.LOST, TrackState.REMOVED)
    assert [int(code) for code in codes] == [0, 1, 2, 3]
    tracker = JDETracker()
    seen = boxes_frame((0, 100, 100, 40, 80))
    states = []
    for detections in [seen, seen] + [empty_frame()] * 32:
        tracker.update(detections)
        states.append(int(tracker.table.state[0]))
    assert states[:3] == [1, 1, 2]
    assert states.index(3) == 32  # frame 33
    assert set(states[2:32]) == {2}


def test_track_table_rows_hold_what_was_added_and_compact_renumbers_them():
    """`TrackTable.add` appends one row per track (Tracked, not activated, started and last updated on
    the given frame); `compact` keeps the given rows in order and maps the dropped ones to -1."""
    table = TrackTable()
    assert table.size == 0
    mean, covariance = KalmanFilterXYAH().initiate(np.array([[120.0, 140, 0.5, 80], [300, 140, 0.5, 60]]))
    rows = table.add(
        mean,
        covariance,
        np.array([[100.0, 100, 40, 80], [285, 110, 30, 60]]),
        np.array([0.7, 0.8]),
        np.eye(2, 4, dtype=np.float32),
        np.array([5, 6]),
        frame_id=3,
    )
    assert rows.tolist() == [0, 1] and table.size == 2
    feature = np.array([[0.0, 0, 1, 0]], dtype=np.float32)
    rows = table.add(mean[:1], covariance[:1], np.array([[1.0, 2, 3, 4]]), [0.9], feature, [7], frame_id=4)
    assert rows.tolist() == [2] and table.size == 3
    assert table.tlwh.tolist() == [[100, 100, 40, 80], [285, 110, 30, 60], [1, 2, 3, 4]]
    assert table.score.tolist() == [0.7, 0.8, 0.9]
    assert table.track_id.tolist() == [5, 6, 7]
    assert table.state.tolist() == [1, 1, 1]
    assert table.activated.tolist() == [False, False, False]
    assert table.frame_id.tolist() == [3, 3, 4] and table.start_frame.tolist() == [3, 3, 4]
    assert table.tracklet_len.tolist() == [0, 0, 0] and table.was_removed.tolist() == [False] * 3
    np.testing.assert_array_equal(table.template, np.eye(3, 4))
    new_row = table.compact(np.array([0, 2]))
    assert new_row.tolist() == [0, -1, 1] and table.size == 2
    assert table.track_id.tolist() == [5, 7] and table.score.tolist() == [0.7, 0.9]
    np.testing.assert_array_equal(table.mean, np.stack([mean[0], mean[0]]))


def test_dropping_finished_tracks_works_without_embeddings():
    """The table is compacted also when no frame had embeddings (no templates): every other frame brings
    five one-frame detections (born, removed on the next frame) beside object 0, kept with id 1. After
    such a next frame the 5 finished tracks outnumber the 1 live one and are dropped from the table."""
    tracker = JDETracker()
    tracker.compact_after_finished = 0
    for t in range(12):
        churn = [[300.0 + 100 * k, 400, 40, 80] for k in range(5)] if t % 2 == 0 else []
        boxes = [[100.0, 100, 40, 80], *churn]
        out = tracker.update(Detections(np.array(boxes), np.full(len(boxes), 0.9)))
    assert tracker.table.template is None
    assert tracker.table.size == 1 and out.ids.tolist() == [1]


# ---------------------------------------------------------------------------------------------------
# FDTA's ID assignment (spec fdta.md §5.2 step 2)


def test_id_max_with_one_detection_or_none():
    """With one detection, each label of the history picks it, and it takes the label it is likeliest for
    (label 1, 0.6 >= the 0.2 threshold); with none, the result is empty. Columns: labels 0-2, newborn."""
    one = torch.tensor([[0.1, 0.6, 0.2, 0.1]])
    assert id_max_assignment(one, {0, 1, 2}, 0.2).tolist() == [1]
    assert id_max_assignment(one, {0, 2}, 0.2).tolist() == [2]  # label 2 (0.2) beats label 0 (0.1)
    later_is_likelier = torch.tensor([[0.0, 0.3, 0.6, 0.1]])  # labels 1 then 2 pick it: 0.6 > 0.3
    assert id_max_assignment(later_is_likelier, {1, 2}, 0.2).tolist() == [2]
    for protocol in ASSIGNMENTS.values():
        assert protocol(torch.zeros(0, 4), {0}, 0.2).tolist() == []


# ---------------------------------------------------------------------------------------------------
# CSTrack end to end: the detection defaults (spec cstrack.md §7.1, §7.9) and refused settings


def tiny_cstrack():
    """A seeded ``tiny`` CSTrack with He-normal convolutions (so that boxes depend on the image) and a
    raised class bias (so that ``obj * cls`` passes 0.5 where the objectness does)."""
    from discmot.models.cstrack.model import build_cstrack

    torch.manual_seed(0)
    model = build_cstrack("tiny")
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.Conv2d):
                torch.nn.init.kaiming_normal_(module.weight, a=0.1, nonlinearity="leaky_relu")
        for conv in model.head.m:
            conv.bias.view(model.config.num_anchors, -1)[:, 5:] = 5.0
    return model.eval()


def test_detect_frame_defaults_are_cstracks_settings():
    """Spec §7.9: conf_thres 0.5, Cluster-DIoU-NMS threshold 0.6, at most 300 boxes, the standard YOLOv5
    decoding (``k = 10``) and the config's anchors: `detect_frame` without them gives what it gives with
    them spelled out. The scene is sensitive to each: other values give other detections."""
    from discmot.trackers import cstrack

    assert (cstrack.NMS_THRESHOLD, cstrack.MAX_DETECTIONS) == (0.6, 300)
    model = tiny_cstrack()
    image = torch.rand(1, 3, 192, 320, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        raw, embedding_map = cstrack.network_pass(model, image)
    args = (raw, embedding_map, model.config, (192, 320), (384, 640))
    spelled_out = {"conf_threshold": 0.5, "nms_threshold": 0.6, "max_detections": 300, "head_k": 10.0}
    anchors = cstrack.anchor_tensor(model.config, "cpu")
    default = cstrack.detect_frame(*args)
    explicit = cstrack.detect_frame(*args, **spelled_out, anchors_px=anchors)
    assert len(default) > 0
    np.testing.assert_array_equal(default.boxes, explicit.boxes)
    np.testing.assert_array_equal(default.scores, explicit.scores)
    for name, other in (("conf_threshold", 0.75), ("nms_threshold", 0.9), ("head_k", 15.0)):
        changed = cstrack.detect_frame(*args, **{**spelled_out, name: other}, anchors_px=anchors)
        assert len(changed) != len(default) or not np.array_equal(changed.boxes, default.boxes), name
    rows = cstrack.decoded_rows(raw, model.config)
    assert torch.equal(rows, cstrack.decoded_rows(raw, model.config, 10.0, anchors))
    assert not torch.equal(rows, cstrack.decoded_rows(raw, model.config, 15.0, anchors))


def test_cstrack_tracker_refuses_another_model_and_a_threshold_outside_0_to_1():
    """A model without CSTrack's anchors is a TypeError, a conf_threshold outside 0..1 a ValueError (the
    network's scores are probabilities), both when the tracker is built."""
    from discmot.trackers.cstrack import CSTrackTracker

    with pytest.raises(TypeError, match="needs a CSTrack model"):
        CSTrackTracker(torch.nn.Linear(2, 2))
    model = tiny_cstrack()
    for threshold in (1.5, -0.1):
        with pytest.raises(ValueError, match="conf_threshold"):
            CSTrackTracker(model, config=JDETrackerConfig(conf_threshold=threshold), cuda_graph=False)
    for threshold in (0.0, 1.0):  # both ends are probabilities
        assert CSTrackTracker(model, config=JDETrackerConfig(conf_threshold=threshold), cuda_graph=False)


def test_cstrack_tracker_defaults_are_cstracks_settings():
    """Spec §7.4 step 6, §7.8, §7.9: by default CSTrack's thresholds with the pedestrian output filter on,
    a 30 fps buffer of 30 frames, NMS at 0.6 and at most 300 boxes."""
    from discmot.trackers.cstrack import CSTrackTracker

    tracker = CSTrackTracker(tiny_cstrack(), cuda_graph=False)
    assert tracker.config == JDETrackerConfig(output_filter=True)
    assert tracker.association.max_time_lost == 30
    assert (tracker.nms_threshold, tracker.max_detections) == (0.6, 300)


def test_cstrack_tracker_takes_the_extreme_nms_settings():
    """The NMS threshold is an IoU, 0 to 1 (both ends allowed), the cap a whole number of boxes, at least
    1 (1 allowed, 0 refused)."""
    from discmot.trackers.cstrack import CSTrackTracker

    model = tiny_cstrack()
    for threshold, cap in ((0.0, 1), (1.0, 1)):
        tracker = CSTrackTracker(model, nms_threshold=threshold, max_detections=cap, cuda_graph=False)
        assert (tracker.nms_threshold, tracker.max_detections) == (threshold, cap)
    for threshold, cap in ((0.6, 0), (1.01, 300), (-0.01, 300)):
        with pytest.raises(ValueError):
            CSTrackTracker(model, nms_threshold=threshold, max_detections=cap, cuda_graph=False)


def test_filter_warning_needs_more_than_half_of_the_shown_boxes_dropped(caplog):
    """The warning needs the dropped rows to be more than half of those shown: with one standing (40 x 100)
    and one wide (90 x 100) object, 51 frames drop 50 of 100 confirmed boxes, exactly half: no warning."""
    tracker = JDETracker(JDETrackerConfig(output_filter=True))
    with caplog.at_level("WARNING"):
        for _ in range(51):
            tracker.update(boxes_frame((0, 100, 100, 40, 100), (1, 400, 100, 90, 100)))
    assert tracker.filtered_boxes == 50
    assert not [r for r in caplog.records if "pedestrian output filter" in r.getMessage()]
