"""The JDE cascade on hand-made detections: each rule of spec cstrack.md §7.4-7.6 in a scripted scene."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from discmot.structures import Detections, tlwh_to_tlbr
from discmot.trackers.association import JDETracker, JDETrackerConfig
from discmot.trackers.costs import assign_with_limit, cosine_distance, iou_plus_one

EMBEDDINGS = np.eye(8, dtype=np.float32)  # object k looks like unit vector k: perfectly distinct


def frame(*objects, embeddings=True) -> Detections:
    """Detections from ``(k, x, y)`` triples: object ``k`` as a 40x100 box at ``(x, y)``."""
    boxes = np.array([[x, y, 40.0, 100.0] for _, x, y in objects]).reshape(-1, 4)
    scores = np.full(len(objects), 0.9)
    features = EMBEDDINGS[[k for k, _, _ in objects]] if embeddings else None
    return Detections(boxes, scores, features)


def ids_by_object(tracker: JDETracker, detections: Detections) -> dict[int, int]:
    """Runs one frame; maps each output track to the index of the detection it overlaps most."""
    tracks = tracker.update(detections)
    if not len(tracks) or not len(detections):
        return {}
    overlap = iou_plus_one(tlwh_to_tlbr(tracks.boxes), tlwh_to_tlbr(detections.boxes))
    return {int(np.argmax(row)): int(track_id) for row, track_id in zip(overlap, tracks.ids, strict=True)}


# ---------------------------------------------------------------------------------------------------
# Assignment with a cost limit


def brute_force(cost: np.ndarray, limit: float) -> float:
    """Minimum of sum(matched costs) + limit/2 per unmatched row and column, over all partial matchings."""
    rows, cols = cost.shape
    best = (rows + cols) * limit / 2
    for k in range(1, min(rows, cols) + 1):
        for chosen_rows in itertools.combinations(range(rows), k):
            for chosen_cols in itertools.permutations(range(cols), k):
                total = sum(cost[r, c] for r, c in zip(chosen_rows, chosen_cols, strict=True))
                best = min(best, total + (rows + cols - 2 * k) * limit / 2)
    return best


@pytest.mark.parametrize("seed", range(40))
def test_assignment_with_limit_is_optimal(seed):
    rng = np.random.default_rng(seed)
    rows, cols = rng.integers(1, 5, size=2)
    cost = rng.uniform(0, 1, size=(rows, cols))
    cost[rng.uniform(size=cost.shape) < 0.2] = np.inf
    limit = 0.5
    matches, unmatched_rows, unmatched_cols = assign_with_limit(cost, limit)
    total = sum(cost[r, c] for r, c in matches) + (len(unmatched_rows) + len(unmatched_cols)) * limit / 2
    assert total == pytest.approx(brute_force(cost, limit))
    assert all(cost[r, c] < limit for r, c in matches)
    assert sorted([r for r, _ in matches] + unmatched_rows) == list(range(rows))
    assert sorted([c for _, c in matches] + unmatched_cols) == list(range(cols))


def test_assignment_with_limit_differs_from_solve_then_drop():
    """Hungarian on C alone picks (0,1)+(1,0) = 0.7 (both below 0.5, so both kept); with the reject
    option, (0,0) alone costs 0.1 + 0.25 + 0.25 = 0.6 < 0.7, so only (0,0) is matched."""
    from scipy.optimize import linear_sum_assignment

    cost = np.array([[0.1, 0.35], [0.35, 0.9]])
    rows, cols = linear_sum_assignment(cost)
    naive = [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if cost[r, c] < 0.5]
    matches, unmatched_rows, unmatched_cols = assign_with_limit(cost, 0.5)
    assert naive == [(0, 1), (1, 0)]
    assert matches == [(0, 0)] and unmatched_rows == [1] and unmatched_cols == [1]


def test_empty_assignment():
    assert assign_with_limit(np.zeros((0, 3)), 0.5) == ([], [], [0, 1, 2])
    assert assign_with_limit(np.zeros((2, 0)), 0.5) == ([], [0, 1], [])


def test_iou_plus_one_convention():
    # Corners 0..10 and 5..15 cover 11 and 11 pixel columns with +1, sharing 6 (5..10), all 11 rows.
    a, b = np.array([[0.0, 0, 10, 10]]), np.array([[5.0, 0, 15, 10]])
    assert iou_plus_one(a, b)[0, 0] == pytest.approx(66 / (121 + 121 - 66))
    assert iou_plus_one(a, np.array([[20.0, 20, 30, 30]]))[0, 0] == 0


def test_cosine_distance_matches_definition():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(3, 16)), rng.normal(size=(4, 16))
    expected = 1 - (a @ b.T) / np.outer(np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1))
    np.testing.assert_allclose(cosine_distance(a, b), expected, atol=1e-12)


# ---------------------------------------------------------------------------------------------------
# Life cycle


def test_new_track_is_output_from_its_second_detection_with_id_1():
    tracker = JDETracker()
    assert len(tracker.update(frame((0, 100, 100)))) == 0  # born unconfirmed, also on frame 1
    tracks = tracker.update(frame((0, 102, 100)))
    assert tracks.ids.tolist() == [1]


def test_unconfirmed_track_seen_once_is_removed_and_its_id_spent():
    tracker = JDETracker()
    tracker.update(frame((0, 100, 100)))
    tracker.update(frame())  # not re-detected: removed at once
    tracker.update(frame((1, 400, 100)))
    assert tracker.update(frame((1, 402, 100))).ids.tolist() == [2]


def test_newcomers_get_fresh_ids():
    tracker = JDETracker()
    for t in range(3):
        tracker.update(frame((0, 100 + 2 * t, 100)))
    tracker.update(frame((0, 106, 100), (1, 500, 100)))
    got = ids_by_object(tracker, frame((0, 108, 100), (1, 502, 100)))
    assert got == {0: 1, 1: 2}


def test_crossing_objects_keep_their_ids():
    tracker = JDETracker()
    seen = []
    for t in range(40):  # object 0 walks right, object 1 walks left; they overlap around t = 20
        got = ids_by_object(tracker, frame((0, 100 + 10 * t, 100), (1, 500 - 10 * t, 104)))
        if len(got) == 2:
            seen.append((got[0], got[1]))
    assert len(seen) >= 35 and set(seen) == {(1, 2)}


def occlusion_run(gap: int, frame_rate: float = 30.0) -> tuple[int, int]:
    """Object 0 tracked for 10 frames, unseen for ``gap`` frames, then back where it left off.

    Returns (id before the gap, id after re-appearing)."""
    tracker = JDETracker(frame_rate=frame_rate)
    for _ in range(10):
        before = tracker.update(frame((0, 100, 100)))
    for _ in range(gap):
        tracker.update(frame())
    tracker.update(frame((0, 100, 100)))
    after = tracker.update(frame((0, 100, 100)))
    return int(before.ids[0]), int(after.ids[0])


def test_reappearance_within_the_buffer_keeps_the_id():
    before, after = occlusion_run(gap=20)
    assert before == after == 1


def test_track_is_removed_after_the_buffer():
    before, after = occlusion_run(gap=40)  # 30 fps: the buffer is 30 frames
    assert before == 1 and after == 2


def test_buffer_scales_with_frame_rate():
    assert JDETracker(frame_rate=14).max_time_lost == 14
    before, after = occlusion_run(gap=20, frame_rate=14)  # 20 > 14: removed
    assert after != before


def test_removal_lags_one_frame():
    """Spec §7.4 step 10: lost from frame 11 (last seen at 10), buffer 30: removed at frame 41, still re-found
    at frame 42; back at frame 43 it is a new track."""
    for gap, kept in ((31, True), (32, False)):
        tracker = JDETracker()
        for _ in range(10):
            tracker.update(frame((0, 100, 100)))  # frames 1-10; lost from frame 11
        for _ in range(gap):
            tracker.update(frame())
        tracker.update(frame((0, 100, 100)))  # frame 11 + gap
        after = tracker.update(frame((0, 100, 100)))
        assert (int(after.ids[0]) == 1) is kept, gap


def test_reset_restarts_ids():
    tracker = JDETracker()
    for _ in range(3):
        tracker.update(frame((0, 100, 100)))
    tracker.reset()
    tracker.update(frame((0, 100, 100)))
    assert tracker.update(frame((0, 100, 100))).ids.tolist() == [1]


def test_tracking_without_embeddings_uses_iou():
    tracker = JDETracker()
    for t in range(20):
        tracks = tracker.update(frame((0, 100 + 3 * t, 100), (1, 400 - 3 * t, 300), embeddings=False))
    assert sorted(tracks.ids.tolist()) == [1, 2]


def test_pedestrian_output_filter():
    """Boxes wider than 0.6 x their height (or <= 100 px^2) are not written, the track lives on."""
    wide = Detections(np.array([[100.0, 100, 90, 100]]), np.array([0.9]), EMBEDDINGS[:1])
    plain, filtered = JDETracker(), JDETracker(JDETrackerConfig.for_benchmark("MOT17"))
    for _ in range(3):
        plain_out, filtered_out = plain.update(wide), filtered.update(wide)
    assert len(plain_out) == 1 and len(filtered_out) == 0 and len(filtered.tracked) == 1


def test_detections_below_threshold_are_ignored_and_birth_threshold_applies():
    weak = Detections(np.array([[100.0, 100, 40, 100]]), np.array([0.4]), EMBEDDINGS[:1])
    tracker = JDETracker(JDETrackerConfig(conf_threshold=0.3, birth_threshold=0.7))
    for _ in range(3):
        assert len(tracker.update(weak)) == 0  # used for association, but too weak to start a track
    assert len(JDETracker().update(weak)) == 0 and not JDETracker().tracked


def test_a_box_of_zero_height_is_dropped_instead_of_poisoning_the_filter():
    """Its aspect ratio w / h would be infinite, the Kalman state NaN and every later assignment fail."""
    tracker = JDETracker()
    for t in range(6):
        detections = frame((0, 100 + 3 * t, 100), (1, 400, 300))
        detections.boxes[1, 3] = 0.0 if t == 2 else 100.0  # object 1 collapses for one frame
        tracks = tracker.update(detections)
        assert np.isfinite(tracker.table.mean[tracker.tracked]).all()
    assert sorted(tracks.ids.tolist()) == [1, 2]


@pytest.mark.parametrize("broken", ["box", "box height", "embedding", "zero embedding"])
def test_non_finite_detections_get_a_clear_error_naming_the_frame(broken):
    tracker = JDETracker()
    tracker.update(frame((0, 100, 100), (1, 400, 300)))
    detections = frame((0, 103, 100), (1, 397, 300))  # its arrays are fresh copies: safe to break
    if broken == "box":
        detections.boxes[1, 0] = np.nan
    elif broken == "box height":  # was dropped silently with the zero-height boxes
        detections.boxes[1, 3] = np.nan
    elif broken == "embedding":
        detections.embeddings[1, 1] = np.inf
    else:
        detections.embeddings[1] = 0.0  # normalising it divides zero by zero
    with pytest.raises(ValueError, match="frame 2: the detections carry non-finite"):
        tracker.update(detections)


def test_a_nan_score_is_an_error_not_a_box_that_vanishes():
    tracker = JDETracker(JDETrackerConfig.preset("public"))  # threshold 0: every real score is used
    detections = Detections(np.array([[10.0, 10, 20, 40], [60, 10, 20, 40]]), np.array([0.9, np.nan]))
    with pytest.raises(ValueError, match="frame 1: the detections carry NaN scores"):
        tracker.update(detections)
    assert tracker.frame_id == 0  # the refused frame left no trace: the next one is frame 1 again


def test_appearance_must_come_with_every_frame_in_one_dimension():
    tracker = JDETracker()
    tracker.update(frame((0, 100, 100), (1, 400, 300)))
    boxes, scores = np.array([[100.0, 100, 40, 100]]), np.array([0.9])
    with pytest.raises(ValueError, match="frame 2: detections without embeddings after frames with them"):
        tracker.update(Detections(boxes, scores))
    tracker.reset()
    tracker.update(frame((0, 100, 100), (1, 400, 300)))
    dim = tracker.table.template.shape[1]
    with pytest.raises(ValueError, match=f"frame 2: {dim // 2}-d embeddings after {dim}-d ones"):
        tracker.update(Detections(boxes, scores, np.ones((1, dim // 2), np.float32)))
    tracker.update(Detections.empty())  # a frame without detections needs no embeddings


def test_appearance_cannot_start_once_tracks_were_born_without_it():
    # tracks born without embeddings have no template: the first overlap match with a frame that has
    # embeddings raised a TypeError midway through the update, the frame half applied
    boxes, scores = np.array([[100.0, 100, 40, 100]]), np.array([0.9])
    embeddings = np.ones((1, 8), np.float32)
    tracker = JDETracker(JDETrackerConfig.preset("public"))
    tracker.update(Detections(boxes, scores))
    mean = tracker.table.mean.copy()
    with pytest.raises(ValueError, match="frame 2: detections with embeddings after frames without them"):
        tracker.update(Detections(boxes, scores, embeddings))
    assert tracker.frame_id == 1 and np.array_equal(tracker.table.mean, mean)  # nothing was applied
    tracker.reset()  # embeddings may start while there are no tracks: after a reset, or a frame of none
    tracker.update(Detections.empty())
    tracker.update(Detections(boxes, scores, embeddings))
    tracker.update(Detections(boxes + 2, scores, embeddings))
    assert tracker.table.template.shape == (1, 8)


def test_detections_take_lists_and_check_the_embedding_shape():
    detections = Detections([[10, 10, 20, 40]], [0.9], [[1.0, 0.0]])
    assert detections.boxes.shape == (1, 4) and detections.embeddings.shape == (1, 2)
    assert len(JDETracker().update(detections).ids) == 0  # born, not yet confirmed
    with pytest.raises(ValueError, match=r"embeddings \(2,\) for 2 boxes \(expected \(2, D\)\)"):
        Detections(np.zeros((2, 4)), np.ones(2), np.ones(2))


def test_an_empty_list_is_no_detections():
    detections = Detections([], [])  # was "boxes (0,) and scores (0,) disagree"
    assert detections.boxes.shape == (0, 4) and len(detections) == 0
    tracker = JDETracker()
    assert len(tracker.update(detections)) == 0 and tracker.frame_id == 1


@pytest.mark.parametrize(
    "boxes, scores, words",
    [
        (
            [[10, 10, 20, 40]],
            ["0.9"],
            "scores must be real numbers, got dtype <U3",
        ),  # was numpy's isnan error
        ([[10, 10, 20, 40], [1, 2, 3]], [0.9, 0.8], "boxes is not an array of numbers"),  # ragged
    ],
)
def test_detections_that_are_not_numbers_are_named(boxes, scores, words):
    with pytest.raises(ValueError, match=words):
        Detections(boxes, scores)


@pytest.mark.parametrize("given", [np.array([[10.0, 10, 20, 40, 0.9]]), ([[10.0, 10, 20, 40]], [0.9]), None])
def test_update_takes_detections_and_says_so(given):
    tracker = JDETracker()
    with pytest.raises(TypeError, match=r"expected a discmot.structures.Detections .*got "):
        tracker.update(given)  # was an AttributeError: '...' object has no attribute 'boxes'
    assert tracker.frame_id == 0  # the refused frame left no trace


@pytest.mark.parametrize("config", ["onnx", {"conf_threshold": 0.3}, 30])
def test_a_config_that_is_no_config_is_refused_when_the_tracker_is_built(config):
    # was an AttributeError on the first frame: JDETracker(30) reads as a frame rate, a preset's name as one
    with pytest.raises(TypeError, match=r"config must be a JDETrackerConfig \(e.g. JDETrackerConfig.preset"):
        JDETracker(config)


@pytest.mark.parametrize("column", [2, 3])
def test_a_box_of_negative_size_is_named_instead_of_vanishing(column):
    tracker = JDETracker()
    tracker.update(frame((0, 100, 100), (1, 400, 300)))
    detections = frame((0, 103, 100), (1, 397, 300))
    detections.boxes[1, column] *= -1  # a negative width used to leave a track that matched nothing
    with pytest.raises(
        ValueError, match=r"frame 2: box 1 has a negative size .*boxes are tlwh.*tlbr_to_tlwh"
    ):
        tracker.update(detections)
    assert tracker.frame_id == 1
    detections.scores[1] = 0.1  # below the threshold the box is not used, and not checked
    assert tracker.update(detections).ids.tolist() == [1]


# ---------------------------------------------------------------------------------------------------
# Long streams: the table keeps only the tracks still in play


def churning_scene(frames: int, objects: int = 12, seed: int = 0):
    """``objects`` people moving in a 900-pixel square, each leaving after 10-80 frames for a newcomer; every
    person is missed in 30% of frames, one is detected twice, and up to two false positives appear per
    frame: births, losses, re-finds (at 5 fps also of removed tracks), removals and duplicates happen."""
    rng = np.random.default_rng(seed)
    position, velocity = rng.uniform(0, 900, (objects, 2)), rng.normal(0, 2.0, (objects, 2))
    size, identity = rng.uniform([25, 60], [60, 160], (objects, 2)), rng.normal(size=(objects, 16))
    left = rng.integers(1, 80, objects)
    for _ in range(frames):
        left -= 1
        new = left <= 0
        position[new], identity[new] = rng.uniform(0, 900, (new.sum(), 2)), rng.normal(size=(new.sum(), 16))
        left[new] = rng.integers(10, 80, new.sum())
        position += velocity
        seen = rng.random(objects) > 0.3
        false = rng.integers(0, 3)
        boxes = np.concatenate([position[seen], size[seen]], axis=1) + rng.normal(0, 1.0, (seen.sum(), 4))
        features = identity[seen] + rng.normal(0, 0.1, (seen.sum(), 16))
        double = boxes[:1] + rng.normal(0, 2.0, (len(boxes[:1]), 4))  # a second box on the first person
        boxes = np.concatenate([boxes, double, rng.uniform([0, 0, 25, 60], [900, 900, 60, 160], (false, 4))])
        features = np.concatenate([features, features[:1] + rng.normal(0, 0.3, (len(double), 16))])
        features = np.concatenate([features, rng.normal(size=(false, 16))])
        scores = rng.uniform(0.5, 0.95, len(boxes))
        order = np.argsort(-scores, kind="stable")
        yield Detections(boxes[order], scores[order], features[order].astype(np.float32))


@pytest.mark.parametrize("frame_rate", [30.0, 5.0])  # 5 fps: lost tracks are removed after 5 frames
def test_dropping_finished_tracks_changes_no_output(frame_rate):
    """Compacting the table after every frame gives exactly what keeping every row ever made gives."""
    compacting, keeping = JDETracker(frame_rate=frame_rate), JDETracker(frame_rate=frame_rate)
    compacting.compact_after_finished = 0
    keeping.compact_after_finished = 10**9  # the table grows forever, like the original's track lists
    for detections in churning_scene(600):
        a, b = compacting.update(detections), keeping.update(detections)
        assert np.array_equal(a.ids, b.ids) and np.array_equal(a.boxes, b.boxes)
        assert np.array_equal(a.scores, b.scores)
    born = compacting._next_id - 1
    assert keeping.table.size == born > 150 and compacting.table.size < 60


def test_table_stays_bounded_on_a_long_stream():
    tracker = JDETracker(frame_rate=10.0)
    largest = 0
    for detections in churning_scene(2000, seed=1):
        tracker.update(detections)
        largest = max(largest, tracker.table.size)
        live = len(tracker.tracked) + len(tracker.lost)
        assert tracker.table.size <= 2 * live + tracker.compact_after_finished
    assert tracker._next_id - 1 > 10 * largest


def test_a_filter_that_hides_most_tracks_is_warned_about_once(caplog):
    """CSTrack's pedestrian output filter (w/h > 0.6 not written) on objects that are not standing people
    (here square boxes) would write almost nothing without a word."""
    tracker = JDETracker(JDETrackerConfig.preset("cstrack"))
    square = np.array([[100.0, 100, 50, 50], [300, 100, 50, 50], [500, 100, 50, 50]])
    with caplog.at_level("WARNING"):
        written = sum(
            len(tracker.update(Detections(square + t, np.full(3, 0.9), np.eye(3, 8, dtype=np.float32))).ids)
            for t in range(40)
        )
    assert written == 0
    warnings = [r.getMessage() for r in caplog.records if "pedestrian output filter" in r.getMessage()]
    assert len(warnings) == 1 and "turn it off" in warnings[0] and "--no-output-filter" in warnings[0]
    assert "so far" in warnings[0]  # it fires as the count passes 50, not at the end of the video
    caplog.clear()
    tracker = JDETracker(JDETrackerConfig.preset("cstrack", output_filter=False))
    with caplog.at_level("WARNING"):
        for t in range(40):
            tracker.update(Detections(square + t, np.full(3, 0.9), np.eye(3, 8, dtype=np.float32)))
    assert not caplog.records


def test_settings_of_the_wrong_type_and_a_bad_frame_rate_are_refused_at_once():
    with pytest.raises(ValueError, match="JDETrackerConfig.conf_threshold must be a finite float, got '0.5'"):
        JDETrackerConfig(conf_threshold="0.5")
    with pytest.raises(ValueError, match="JDETrackerConfig.output_filter must be a bool"):
        JDETrackerConfig(output_filter="yes")
    with pytest.raises(ValueError, match="iou_threshold must be a finite float, got nan"):
        JDETrackerConfig.preset("onnx", iou_threshold=float("nan"))
    assert JDETrackerConfig(conf_threshold=np.float32(0.4), track_buffer=60).track_buffer == 60
    for rate in (0, -5, float("inf")):
        with pytest.raises(ValueError, match="frame_rate must be a positive number"):
            JDETracker(frame_rate=rate)
