"""Class-separated tracking (`discmot.trackers.per_class`): a detection only continues a track of its own
class, ids are unique across classes, and with one class the tracker is the single JDE cascade exactly."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

import discmot
from discmot.engine import track_detections, track_verb
from discmot.io.mot_results import format_mot_rows
from discmot.structures import Detections, Tracks
from discmot.trackers.association import JDETracker, JDETrackerConfig
from discmot.trackers.per_class import PerClassTracker
from helpers import shared_file

PERSON, BICYCLE, CAR = 0, 1, 2  # COCO class ids
APPEARANCE = np.eye(4, dtype=np.float32)  # each class looks like its own unit vector
ONNX = JDETrackerConfig.preset("onnx")  # writes the matched detection boxes: rows are found by box


def frame(*objects, appearance: bool = False) -> Detections:
    """Detections from ``(class, x, y, w, h)`` tuples, scoring 0.9."""
    boxes = np.array([o[1:] for o in objects], dtype=np.float64).reshape(-1, 4)
    classes = np.array([o[0] for o in objects], dtype=np.int64)
    return Detections(boxes, np.full(len(objects), 0.9), APPEARANCE[classes] if appearance else None, classes)


def ids_by_class(tracker, frames: list[Detections]) -> list[dict[int, int]]:
    """Runs the frames; for each, class -> id of the output track on that class's detection box."""
    found = []
    for detections in frames:
        tracks = tracker.update(detections)
        by_class = {}
        for track_id, box in zip(tracks.ids.tolist(), tracks.boxes, strict=True):
            (index,) = np.flatnonzero((detections.boxes == box).all(axis=1))
            by_class[int(detections.classes[index])] = track_id
        found.append(by_class)
    return found


def test_a_car_detection_never_continues_a_persons_track():
    # a person walks right for 6 frames; then only a car is detected where the person's track expects
    # the person (IoU about 0.9 with its Kalman prediction): one cascade for both classes continues the
    # person's track on the car's box, so the car is written under the person's id
    frames = [frame((PERSON, 100 + 5 * k, 100, 40, 100)) for k in range(1, 7)]
    frames += [frame((CAR, 102 + 5 * k, 104, 42, 96)) for k in range(7, 12)]
    single = ids_by_class(JDETracker(ONNX), frames)
    assert {f[CAR] for f in single if CAR in f} == {1}  # the bug: the car took the person's id 1
    separated = ids_by_class(PerClassTracker(ONNX), frames)
    assert {f[PERSON] for f in separated if PERSON in f} == {1}
    assert {f[CAR] for f in separated if CAR in f} == {2}  # a track of its own, shown once re-detected


def crossing(hidden_frames: tuple[int, ...]) -> list[Detections]:
    """A person walking right and a cyclist riding left cross at frame 20; the person is not detected in
    ``hidden_frames`` (behind the bicycle). Each class has its own appearance."""
    frames = []
    for k in range(1, 31):
        person = [] if k in hidden_frames else [(PERSON, 100 + 6 * k, 200, 50, 100)]
        frames.append(frame(*person, (BICYCLE, 340 - 6 * k, 205, 50, 95), appearance=True))
    return frames


@pytest.mark.parametrize("hidden", [(20,), (19, 20), (20, 21)])
def test_a_person_hidden_behind_a_bicycle_keeps_its_id(hidden):
    # one cascade: the lost person overlaps the tracked bicycle by more than IoU 0.85 and is deleted as
    # its "duplicate", so the person comes back as a new track; per class, the person's lost track is
    # refound by its appearance and keeps its id
    single = ids_by_class(JDETracker(ONNX), crossing(hidden))
    separated = ids_by_class(PerClassTracker(ONNX), crossing(hidden))
    after = slice(max(hidden) + 2, None)  # from the second frame the person is seen again
    assert {f[PERSON] for f in single[after]} == {3}
    assert {f[PERSON] for f in separated[after]} == {1}
    assert {f.get(BICYCLE) for f in single[1:]} == {f.get(BICYCLE) for f in separated[1:]} == {2}


def scene(frames: int = 80, seed: int = 0) -> list[Detections]:
    """Ten walkers with births, crossings, missed detections, score changes and appearance noise."""
    rng = np.random.default_rng(seed)
    start = rng.uniform([0, 0], [600, 300], size=(10, 2))
    velocity = rng.uniform(-6, 6, size=(10, 2))
    born, appearance = rng.integers(1, frames // 2, size=10), rng.normal(size=(10, 32))
    out = []
    for k in range(1, frames + 1):
        present = np.flatnonzero((born <= k) & (rng.uniform(size=10) > 0.15))
        boxes = np.column_stack(
            [start[present] + k * velocity[present], np.tile([40.0, 100.0], (len(present), 1))]
        )
        features = appearance[present] + rng.normal(scale=0.3, size=(len(present), 32))
        scores = rng.uniform(0.35, 1.0, size=len(present))
        out.append(Detections(boxes, scores, features.astype(np.float32), np.zeros(len(present), np.int64)))
    return out


def assert_same_outputs(frames: list[Detections], config: JDETrackerConfig) -> None:
    """PerClassTracker and JDETracker give bit-identical tracks, in the same order, and so the same
    results file bytes (``format_mot_rows``, as `discmot.engine.infer` writes them)."""
    single, separated = JDETracker(config, frame_rate=7), PerClassTracker(config, frame_rate=7)
    texts = {"single": [], "separated": []}
    for number, detections in enumerate(frames, 1):
        one, per_class = single.update(detections), separated.update(detections)
        assert np.array_equal(one.ids, per_class.ids), number
        assert np.array_equal(one.boxes, per_class.boxes) and np.array_equal(one.scores, per_class.scores)
        assert per_class.classes.tolist() == [0] * len(per_class) and one.classes is None
        for name, tracks in (("single", one), ("separated", per_class)):
            texts[name].append(
                format_mot_rows(np.full(len(tracks), number), tracks.ids, tracks.boxes, tracks.scores)
            )
    assert texts["single"] == texts["separated"]
    assert sum(map(len, texts["single"])) > 0


@pytest.mark.parametrize("preset", ["onnx", "cstrack", "public"])
def test_one_class_gives_exactly_the_single_trackers_output(preset):
    assert_same_outputs(scene(), JDETrackerConfig.preset(preset))


def test_one_class_gives_exactly_the_single_trackers_output_on_real_detections():
    """YOLOX-nano boxes and OSNet embeddings of the first 250 frames of PETS09-S2L1 (vtest.avi)."""
    from discmot.trackers.detectors import load_precomputed

    path = shared_file("data/mot/MOT15/train/PETS09-S2L1/det/det_yolox_nano_osnet.npy")
    detections = load_precomputed(path)
    frames = [detections[k] for k in range(1, 251)]
    frames = [replace(d, classes=np.zeros(len(d), np.int64)) for d in frames]
    assert_same_outputs(frames, ONNX)


def test_ids_come_from_one_counter_in_class_order_and_restart_after_reset():
    tracker = PerClassTracker(ONNX)
    car, person, bicycle = (CAR, 300, 50, 120, 80), (PERSON, 100, 100, 40, 100), (BICYCLE, 500, 200, 50, 90)
    assert ids_by_class(tracker, [frame(car, person)] * 2) == [{}, {PERSON: 1, CAR: 2}]  # ascending class
    assert ids_by_class(tracker, [frame(car, person, bicycle)] * 2) == [
        {PERSON: 1, CAR: 2},
        {0: 1, 1: 3, 2: 2},
    ]
    tracker.reset()
    assert ids_by_class(tracker, [frame(bicycle)] * 2) == [{}, {BICYCLE: 1}]


def test_a_class_without_detections_ages_and_its_tracks_die():
    tracker = PerClassTracker(ONNX, frame_rate=10)  # tracks are kept 10 frames once lost
    car, person = (CAR, 300, 50, 120, 80), (PERSON, 100, 100, 40, 100)
    for _ in range(3):
        tracker.update(frame(car, person))
    for _ in range(12):
        tracks = tracker.update(frame(person))
    assert tracks.ids.tolist() == [1] and tracks.classes.tolist() == [PERSON]
    cars = tracker.trackers[CAR]
    assert cars.frame_id == tracker.frame_id == 15 and not cars.tracked and not cars.lost


def test_bad_detections_of_a_new_class_name_the_frame_and_change_nothing():
    tracker = PerClassTracker(ONNX)
    person = (PERSON, 100, 100, 40, 100)
    for _ in range(4):
        tracker.update(frame(person))
    bad = frame(person, (CAR, 300, 50, 120, 80))
    bad = replace(bad, scores=np.array([0.9, np.nan]))
    with pytest.raises(ValueError, match="frame 5: the detections carry NaN scores"):
        tracker.update(bad)
    assert tracker.frame_id == 4 and list(tracker.trackers) == [PERSON]
    assert tracker.trackers[PERSON].frame_id == 4  # the person's part was checked, not tracked
    assert tracker.update(frame(person)).ids.tolist() == [1]
    assert tracker.frame_id == 5


def test_detections_must_carry_classes_unless_there_are_none():
    tracker = PerClassTracker(ONNX)
    assert len(tracker.update(Detections.empty())) == 0  # an empty frame (e.g. of precomputed detections)
    no_classes = Detections(np.array([[1.0, 2, 30, 60]]), np.array([0.9]))
    with pytest.raises(ValueError, match="frame 2: detections without classes"):
        tracker.update(no_classes)
    with pytest.raises(ValueError, match="classes must be whole numbers"):
        tracker.update(replace(no_classes, classes=np.array([0.5])))
    assert tracker.frame_id == 1
    assert tracker.update(replace(no_classes, classes=np.array([2.0]))).classes.dtype == np.int64


def test_tracker_factory_separates_classes_unless_people_alone_are_kept():
    for classes in (None, (0,), (0, 0)):
        assert type(track_verb.tracker_factory("jde", None, "onnx", classes=classes)(25.0)) is JDETracker
    # cars alone: tracked as a class of their own, so the pedestrian filter (on for MOT17) keeps them
    cars = track_verb.tracker_factory("jde", "MOT17", "onnx", classes=(CAR,))(25.0)
    wide = [frame((CAR, 400, 300, 120, 60)) for _ in range(3)]
    assert [len(cars.update(d)) for d in wide][1:] == [1, 1]
    tracker = track_verb.tracker_factory("jde", "MOT17", "onnx", classes=(0, 2), conf_threshold=0.4)(25.0)
    assert isinstance(tracker, PerClassTracker) and tracker.frame_rate == 25.0
    assert tracker.config == JDETrackerConfig.preset("onnx", "MOT17", conf_threshold=0.4)


class ScriptedDetector:
    """A detector (``image -> Detections``) that sees the scene of the car test, one frame per call."""

    def __init__(self):
        self.frames = [frame((PERSON, 100 + 5 * k, 100, 40, 100)) for k in range(1, 7)]
        self.frames += [frame((CAR, 102 + 5 * k, 104, 42, 96)) for k in range(7, 12)]
        self.calls = 0

    def __call__(self, image: np.ndarray) -> Detections:
        self.calls += 1
        return self.frames[self.calls - 1]


@pytest.mark.parametrize(("classes", "car_ids"), [((0,), {1}), ((0, 2), {2})])
def test_track_separates_the_classes_it_is_given(tmp_path, monkeypatch, classes, car_ids):
    """`discmot.track` with a detector: ``classes=(0, 2)`` gives the car its own id in the results file
    (``(0,)`` is the single cascade; the scripted detector emits the car anyway)."""
    folder = tmp_path / "frames"
    folder.mkdir()
    for k in range(1, 12):
        cv2.imwrite(str(folder / f"{k:06d}.png"), np.zeros((300, 400, 3), np.uint8))
    monkeypatch.setattr(track_detections, "_plugins", lambda inputs: (ScriptedDetector(), None))
    results = tmp_path / "results.txt"
    detector = tmp_path / "scripted.onnx"  # a file there: `_plugins`, replaced above, never reads it
    detector.write_bytes(b"")
    discmot.track(folder, detector=detector, classes=classes, save_txt=results, progress=False)
    rows = np.loadtxt(results, delimiter=",", ndmin=2)
    assert (rows[:, 7:] == -1).all()  # no class in the MOTChallenge row
    assert set(rows[rows[:, 0] <= 6, 1].tolist()) == {1}
    assert set(rows[rows[:, 0] >= 8, 1].tolist()) == car_ids


def test_merged_tracks_of_no_class_are_empty_with_classes():
    tracks = PerClassTracker().update(Detections.empty(8))
    assert isinstance(tracks, Tracks) and tracks.classes.shape == (0,) and tracks.ids.dtype == np.int64


def test_classes_with_precomputed_detections_are_refused(tmp_path):
    """Precomputed detections carry no class: ``--classes`` would be ignored without a word."""
    (tmp_path / "d.txt").write_text("1,-1,1,1,5,5,1\n")
    with pytest.raises(ValueError, match="--classes picks the detector's classes"):
        discmot.track(tmp_path / "frames", detections=tmp_path / "d.txt", classes=(0, 2))


def test_the_pedestrian_output_filter_drops_only_peoples_wide_boxes():
    """CSTrack's output filter (w / h > 0.6 dropped) is for standing people: a car's box is wide."""
    config = replace(ONNX, output_filter=True)
    frames = [frame((PERSON, 100 + 5 * k, 100, 40, 100), (CAR, 400, 300, 120, 60), (PERSON, 10, 300, 90, 60))
              for k in range(1, 6)]  # fmt: skip
    seen = ids_by_class(PerClassTracker(config), frames)
    assert all(CAR in f for f in seen[1:])  # the car's 120x60 box is written
    assert all(len(f) == 2 for f in seen[1:])  # and of the people only the standing one (40x100)


def test_update_takes_detections_and_says_so():
    tracker = PerClassTracker()
    with pytest.raises(TypeError, match="expected a discmot.structures.Detections .*got ndarray"):
        tracker.update(np.zeros((1, 6)))  # was an AttributeError: no attribute 'classes'
    assert tracker.frame_id == 0
