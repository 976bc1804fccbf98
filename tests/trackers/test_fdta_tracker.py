"""FDTA's runtime tracker (spec fdta.md §5.2): each rule on plain tensors, then in scripted videos.

`ScriptedFDTA` stands in for the network (not for the tracker): ``detect`` returns the queries scripted for
the frame, and ``id_logits`` either returns scripted logits or acts as a perfect re-identifier (a detection
gets the label of the history column that holds its object's feature, else newborn). Object ``k``'s
embedding is ``[k, 0, 0, 0]``.
"""

from __future__ import annotations

import itertools
import math
import subprocess
import sys
from dataclasses import dataclass, field, replace

import numpy as np
import pytest
import torch

from discmot.data.pil_ops import resize_bilinear
from discmot.models.fdta.config import FDTAConfig, IDDecoderConfig, RuntimeConfig
from discmot.trackers.fdta import FDTATracker, LabelQueue, TrackHistory, preprocess_frame, resized_size
from discmot.trackers.fdta_steps import (
    cap_newborns,
    hungarian_assignment,
    id_max_assignment,
    keep_confident_newborns,
    object_max_assignment,
    select_detections,
)
from discmot.trackers.video_state import FrameSizeCheck
from helpers import exact_logit

FRAME = np.zeros((48, 64, 3), dtype=np.uint8)  # W = 64, H = 48
FEATURE_DIM = 4


def f32(value: float) -> float:
    return float(torch.tensor(value, dtype=torch.float32))


def next_f32(value: float, direction: float) -> float:
    """The float32 neighbour of ``float32(value)`` towards ``direction``."""
    return float(np.nextafter(np.float32(value), np.float32(direction)))


@dataclass
class Query:
    """A detection query: object ``key`` (its embedding), detection ``score``, normalised cx, cy, w, h box."""

    key: int
    score: float = 0.9
    box: tuple[float, float, float, float] | None = None
    exact: bool = False  # score is a threshold value: use a logit whose sigmoid is exactly it

    def logit(self) -> float:
        return exact_logit(self.score) if self.exact else math.log(self.score / (1 - self.score))

    def cxcywh(self) -> tuple[float, float, float, float]:
        return self.box or (0.1 * (self.key + 1), 0.5, 0.1, 0.2)


@dataclass
class Frame:
    queries: list[Query]
    probs: list[list[float]] | None = None  # scripted ID probabilities [M kept, K + 1]


def frame(*keys: int) -> Frame:
    return Frame([Query(k) for k in keys])


@dataclass
class ScriptedFDTA:
    """The model interface of `FDTATracker` with scripted outputs; records what it was given."""

    frames: list[Frame]
    num_labels: int = 5
    miss_tolerance: int = 30
    images: list[torch.Tensor] = field(default_factory=list)
    id_calls: list[dict] = field(default_factory=list)

    def __post_init__(self):
        self.config = FDTAConfig(
            id_decoder=IDDecoderConfig(num_id_vocabulary=self.num_labels),
            runtime=RuntimeConfig(shorter_side=16, max_longer_side=32, miss_tolerance=self.miss_tolerance),
        )

    def detect(self, images, mask=None):
        assert mask is None
        self.images.append(images)
        queries = self.frames[len(self.images) - 1].queries
        logits = torch.tensor([[q.logit()] for q in queries], dtype=torch.float32).reshape(-1, 1)
        boxes = torch.tensor([q.cxcywh() for q in queries], dtype=torch.float32).reshape(-1, 4)
        features = torch.zeros(len(queries), FEATURE_DIM)
        features[:, 0] = torch.tensor([float(q.key) for q in queries])
        out = {"pred_logits": logits, "pred_boxes": boxes, "outputs": features}
        return {name: value[None].to(images.dtype) for name, value in out.items()}

    def id_logits(self, features, labels, times, masks, unknown_features, unknown_times, unknown_masks):
        self.id_calls.append(
            {
                "features": features.clone(),
                "labels": labels.clone(),
                "times": times.clone(),
                "masks": masks.clone(),
                "unknown_features": unknown_features.clone(),
                "unknown_times": unknown_times.clone(),
                "unknown_masks": unknown_masks.clone(),
            }
        )
        scripted = self.frames[len(self.images) - 1].probs
        if scripted is not None:
            logits = torch.tensor(scripted, dtype=torch.float32).log()
        else:
            logits = self._reidentify(features[0, 0], labels[0, 0], masks[0, 0], unknown_features[0, 0, 0])
        return logits[None, None, None].to(unknown_features.dtype)

    def _reidentify(self, features, labels, masks, unknown):
        logits = torch.zeros(len(unknown), self.num_labels + 1)
        for m, key in enumerate(unknown[:, 0].tolist()):
            columns = torch.nonzero(((features[..., 0] == key) & ~masks).any(dim=0)).flatten()
            logits[m, int(labels[0, columns[0]]) if len(columns) else self.num_labels] = 10.0
        return logits


def run(model: ScriptedFDTA, ids_from_one: bool = True, **kwargs) -> tuple[FDTATracker, list]:
    """Tracks the scripted frames; ids from 1 unless told otherwise (the expectations are written so)."""
    tracker = FDTATracker(model, ids_from_one=ids_from_one, **kwargs)
    return tracker, [tracker.update(FRAME) for _ in model.frames]


def ids(tracks) -> list[int]:
    return tracks.ids.tolist()


# --------------------------------------------------------------------------------------------------
# Frame loading (§5.1)


@pytest.mark.parametrize(
    ("width", "height", "expected"),
    [
        (1920, 1080, (800, 1422)),
        (1280, 720, (800, 1422)),
        (640, 480, (800, 1066)),
        (1080, 1920, (1422, 800)),  # tall
        (800, 800, (800, 800)),
        (2000, 500, (360, 1440)),  # longer side capped: 3200 > 1440
        (500, 2000, (1440, 360)),
    ],
)
def test_resized_size_follows_torchvision(width, height, expected):
    assert resized_size(width, height, 800, 1440) == expected


@pytest.mark.parametrize(
    ("width", "height", "shape"),
    [(1920, 1080, (800, 1422)), (640, 480, (800, 1066)), (480, 640, (1066, 800))],
)
def test_preprocess_frame_sizes(width, height, shape):
    image, size = preprocess_frame(np.zeros((height, width, 3), np.uint8), RuntimeConfig())
    assert image.shape == (1, 3, *shape) and image.dtype == torch.float32
    assert size == (width, height)


def test_preprocess_frame_normalises_rgb_and_takes_an_explicit_size():
    bgr = np.empty((30, 40, 3), np.uint8)
    bgr[...] = (10, 100, 200)
    image, size = preprocess_frame(bgr, RuntimeConfig(), input_size=(20, 50))
    assert image.shape == (1, 3, 20, 50) and size == (40, 30)
    mean, std = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])
    expected = (torch.tensor([200, 100, 10]) / 255.0 - mean) / std  # RGB order
    torch.testing.assert_close(image[0].mean(dim=(1, 2)), expected, atol=1e-5, rtol=0)
    assert float(image.std(dim=(2, 3)).max()) < 1e-5  # a flat image stays flat


def test_preprocess_frame_resizes_the_8_bit_image_like_pil_and_fast_resize_stays_within_a_step():
    bgr = np.random.default_rng(0).integers(0, 256, (60, 90, 3), dtype=np.uint8)
    image, _ = preprocess_frame(bgr, RuntimeConfig(), input_size=(40, 64))
    mean = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
    pixels = (image[0] * std + mean) * 255  # back to 0-255 values
    rgb = torch.from_numpy(resize_bilinear(np.ascontiguousarray(bgr[:, :, ::-1]), 64, 40)).permute(2, 0, 1)
    torch.testing.assert_close(pixels, rgb.float(), atol=1e-3, rtol=0)  # whole 8-bit levels: PIL's output
    fast, _ = preprocess_frame(bgr, RuntimeConfig(), input_size=(40, 64), fast_resize=True)
    fast_pixels = (fast[0] * std + mean) * 255
    assert float((fast_pixels - pixels).abs().max()) <= 1.0 + 1e-3  # within one 8-bit step
    assert float((fast_pixels - fast_pixels.round()).abs().max()) > 0.1  # and not rounded to levels
    same, _ = preprocess_frame(bgr, RuntimeConfig(), input_size=(60, 90), fast_resize=True)
    torch.testing.assert_close(same, preprocess_frame(bgr, RuntimeConfig(), input_size=(60, 90))[0])


def test_preprocess_frame_rejects_other_inputs():
    with pytest.raises(ValueError, match="uint8"):
        preprocess_frame(np.zeros((8, 8, 3), np.float32), RuntimeConfig())


def test_preprocess_frame_and_the_frame_size_check_share_the_plug_ins_frame_check():
    message = r"expected an \(H, W, 3\) uint8 BGR frame"
    for bad in (np.zeros((8, 8, 3), np.float32), np.zeros((8, 8), np.uint8), np.zeros((0, 8, 3), np.uint8)):
        with pytest.raises(ValueError, match=message):
            preprocess_frame(bad, RuntimeConfig())
        with pytest.raises(ValueError, match=message):
            FrameSizeCheck()(bad)
    with pytest.raises(TypeError, match=message):
        FrameSizeCheck()([[0, 0, 0]])


def test_a_read_only_frame_is_taken_without_a_warning():
    # torch warns once per process, so the check runs in a fresh one; it used to print "The given NumPy
    # array is not writable ... undefined behavior" for a frame from np.frombuffer
    script = """
import warnings
import numpy as np
from discmot.models.fdta.config import RuntimeConfig
from discmot.trackers.fdta import preprocess_frame
frame = np.frombuffer(bytes(range(256)) * 9, np.uint8).reshape(24, 32, 3)
assert not frame.flags.writeable
with warnings.catch_warnings():
    warnings.simplefilter("error")
    image, size = preprocess_frame(frame, RuntimeConfig(), input_size=(12, 16))
assert size == (32, 24) and image.shape == (1, 3, 12, 16)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_preprocess_frame_is_the_same_in_and_out_of_inference_mode():
    """The normalisation constants are made once per device and serve both modes."""
    bgr = np.random.default_rng(1).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    with torch.inference_mode():
        inside, _ = preprocess_frame(bgr, RuntimeConfig(), input_size=(20, 24))
    outside, _ = preprocess_frame(bgr, RuntimeConfig(), input_size=(20, 24))
    assert torch.equal(inside, outside) and not outside.is_inference()


# --------------------------------------------------------------------------------------------------
# The steps on plain tensors (§5.2)


def test_select_detections_is_strict_on_score_and_area():
    runtime = RuntimeConfig(area_thresh=120.0)
    scores = [f32(0.3), next_f32(0.3, 1.0), 0.9, 0.9, 0.1]
    logits = torch.tensor([[exact_logit(s)] for s in scores])
    boxes = torch.tensor([[0.5, 0.5, 0.2, 0.2]] * 5)
    boxes[3, 2:] = torch.tensor([10 / 64, 0.25])  # exactly 10 x 12 = 120 pixels on a 64x48 frame
    indices, kept = select_detections(logits, boxes, runtime, (64, 48))
    assert indices.tolist() == [1, 2]
    assert kept.tolist() == [scores[1], f32(0.9)]


def test_select_detections_drops_empty_boxes_by_default():
    logits = torch.tensor([[3.0], [3.0]])
    boxes = torch.tensor([[0.5, 0.5, 0.0, 0.2], [0.5, 0.5, 0.1, 0.2]])
    assert select_detections(logits, boxes, RuntimeConfig(), (64, 48))[0].tolist() == [1]


def probs(*rows) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float32)  # K = 3: columns 0, 1, 2 and newborn 3


def test_object_max_accepts_the_id_threshold_itself():
    p = probs([f32(0.2), 0.1, 0.1, 0.1], [0.1, next_f32(0.2, 0.0), 0.1, 0.1])
    assert object_max_assignment(p, {0, 1, 2}, 0.2).tolist() == [0, 3]


def test_object_max_gives_a_contested_label_to_its_best_detection():
    p = probs([0.0, 0.5, 0.2, 0.3], [0.0, 0.8, 0.1, 0.1])
    assert object_max_assignment(p, {0, 1, 2}, 0.2).tolist() == [3, 1]


def test_object_max_breaks_ties_by_query_order():
    p = probs([0.0, 0.7, 0.2, 0.1], [0.1, 0.7, 0.1, 0.1], [0.0, 0.7, 0.0, 0.3])
    assert object_max_assignment(p, {0, 1, 2}, 0.2).tolist() == [1, 3, 3]


def test_object_max_needs_the_labels_best_probability_even_without_a_rival():
    # detection 0's favourite is label 0 (0.5), but detection 1 likes label 0 more (0.6) while taking label 2
    p = probs([0.5, 0.1, 0.1, 0.3], [0.6, 0.0, 0.9, 0.0])
    assert object_max_assignment(p, {0, 1, 2}, 0.2).tolist() == [3, 2]


def test_object_max_only_assigns_labels_of_the_history_and_never_newborn_by_argmax():
    p = probs([0.0, 0.9, 0.0, 0.1], [0.9, 0.0, 0.0, 0.1], [0.2, 0.0, 0.0, 0.8])
    assert object_max_assignment(p, {0, 2}, 0.2).tolist() == [3, 0, 3]
    assert object_max_assignment(torch.zeros(0, 4), {0}, 0.2).shape == (0,)


def brute_force_assignment(p: torch.Tensor) -> list[int]:
    """The columns of the cheapest one-to-one assignment of ``[M, K + 1]`` rows to ``K`` labels or
    newborn (``K``, any number of times), minimising the summed ``1 - p``, by trying every one."""
    count, newborn = p.shape[0], p.shape[1] - 1
    best, best_cost = None, math.inf
    for columns in itertools.product(range(newborn + 1), repeat=count):
        labels = [c for c in columns if c != newborn]
        if len(labels) != len(set(labels)):
            continue
        cost = sum(1 - float(p[i, c]) for i, c in enumerate(columns))
        if cost < best_cost - 1e-9:
            best, best_cost = list(columns), cost
    return best


def test_hungarian_maximises_the_summed_probability_where_object_max_gives_up():
    # both detections like label 1 best; object-max gives label 1 to detection 1 and makes detection 0
    # newborn, the one-to-one assignment gives detection 0 its second choice, label 0
    p = probs([0.4, 0.5, 0.0, 0.1], [0.0, 0.8, 0.1, 0.1])
    assert object_max_assignment(p, {0, 1, 2}, 0.2).tolist() == [3, 1]
    assert hungarian_assignment(p, {0, 1, 2}, 0.2).tolist() == [0, 1]


def test_hungarian_matches_a_brute_force_search_then_applies_the_acceptance_tests():
    generator = torch.Generator().manual_seed(0)
    for _ in range(40):
        count = int(torch.randint(1, 5, (1,), generator=generator))
        p = torch.rand(count, 4, generator=generator).softmax(dim=1)
        expected = [
            c if c != 3 and float(p[i, c]) >= 0.3 and c in {0, 2} else 3
            for i, c in enumerate(brute_force_assignment(p))
        ]
        assert hungarian_assignment(p, {0, 2}, 0.3).tolist() == expected


def test_hungarian_lets_every_detection_be_newborn():
    p = probs([0.1, 0.0, 0.0, 0.9], [0.0, 0.1, 0.0, 0.9], [0.0, 0.0, 0.1, 0.9])
    assert hungarian_assignment(p, {0, 1, 2}, 0.05).tolist() == [3, 3, 3]
    assert hungarian_assignment(torch.zeros(0, 4), {0}, 0.2).shape == (0,)


def test_hungarian_accepts_the_id_threshold_itself_and_only_labels_of_the_history():
    p = probs([f32(0.2), 0.0, 0.0, 0.1], [0.0, next_f32(0.2, 0.0), 0.0, 0.1], [0.0, 0.0, 0.9, 0.1])
    assert hungarian_assignment(p, {0, 1}, 0.2).tolist() == [0, 3, 3]


def test_id_max_lets_each_label_pick_its_detection():
    # label 0 picks detection 1 (0.5), label 1 detection 0 (0.6), label 2 detection 1 (0.3 < 0.5: keeps 0)
    p = probs([0.2, 0.6, 0.1, 0.1], [0.5, 0.1, 0.3, 0.1], [0.1, 0.1, 0.1, 0.7])
    assert id_max_assignment(p, {0, 1, 2}, 0.2).tolist() == [1, 0, 3]
    # a label outside the history picks nothing; the newborn column never does
    assert id_max_assignment(p, {1, 2}, 0.2).tolist() == [1, 2, 3]


def test_id_max_ties_go_to_the_first_detection_and_the_smallest_label_and_the_threshold_applies():
    p = probs([0.4, 0.4, 0.0, 0.2], [0.4, 0.4, 0.1, 0.1], [0.0, 0.0, next_f32(0.2, 0.0), 0.8])
    assert id_max_assignment(p, {0, 1, 2}, 0.2).tolist() == [0, 3, 3]
    assert id_max_assignment(p, {0, 1, 2}, 0.1).tolist() == [0, 3, 2]


def test_the_runtime_config_names_the_protocols():
    from discmot.models.fdta.config import ASSIGNMENT_PROTOCOLS
    from discmot.trackers.fdta_steps import ASSIGNMENTS

    assert tuple(ASSIGNMENTS) == ASSIGNMENT_PROTOCOLS  # the config's names are the tracker's
    assert RuntimeConfig().assignment_protocol == "object-max"
    with pytest.raises(ValueError, match="hungarian, id-max"):
        RuntimeConfig(assignment_protocol="greedy")


@pytest.mark.parametrize(("protocol", "expected"), [("object-max", [3, 1]), ("hungarian", [2, 1])])
def test_the_tracker_uses_the_configured_protocol(protocol, expected):
    # frame 2: both detections like label 0 (track 1) best; object-max gives it to the likelier one and
    # starts a new track for the other, the one-to-one assignment gives the other its second choice
    scripted = [[0.5, 0.4, 0.0, 0.0, 0.0, 0.1], [0.8, 0.1, 0.0, 0.0, 0.0, 0.1]]
    model = ScriptedFDTA([frame(0, 1), Frame([Query(1), Query(0)], scripted)])
    runtime = replace(model.config.runtime, assignment_protocol=protocol)
    _, results = run(model, runtime=runtime)
    assert [ids(t) for t in results] == [[1, 2], expected]


def test_newborns_need_a_score_strictly_above_the_newborn_threshold():
    labels = torch.tensor([3, 3, 0, 3])
    scores = torch.tensor([f32(0.6), next_f32(0.6, 1.0), 0.4, 0.9])
    assert keep_confident_newborns(labels, scores, 3, 0.6).tolist() == [False, True, True, True]


def test_cap_newborns_keeps_the_first_newborns_that_fit():
    labels = torch.tensor([3, 1, 3, 3, 0, 3])  # K = 3, two assigned -> one free label
    assert cap_newborns(labels, 3).tolist() == [True, True, False, False, True, False]
    assert cap_newborns(torch.tensor([3, 3]), 3).tolist() == [True, True]


def test_label_queue_is_least_recently_used_first():
    queue = LabelQueue(4)
    assert queue.least_recent(2) == [0, 1]
    queue.touch([1, 0])
    assert queue.order() == [2, 3, 1, 0]
    queue.touch([3])
    assert queue.least_recent(3) == [2, 1, 0]


def key_features(*keys) -> torch.Tensor:
    features = torch.zeros(len(keys), FEATURE_DIM)
    features[:, 0] = torch.tensor(keys, dtype=torch.float32)
    return features


def test_history_holds_the_window_and_reindexes_times():
    history = TrackHistory(window=3)
    history.append(key_features(1, 2), [4, 0])
    history.append(key_features(3), [1])
    features, labels, times, masks = history.model_inputs()
    assert labels[0, 0].tolist() == [[4, 0, 1], [4, 0, 1]]  # new columns appended in query order
    assert masks[0, 0].tolist() == [[False, False, True], [True, True, False]]
    assert features[0, 0, :, :, 0].tolist() == [[1, 2, 0], [0, 0, 3]]
    for _ in range(3):
        history.append(key_features(3), [1])
    features, labels, times, masks = history.model_inputs()
    assert history.num_frames == 3 and history.labels == [1]  # 4 and 0 unseen for 3 frames: gone
    assert times[0, 0, :, 0].tolist() == [0, 1, 2]
    assert features.shape == (1, 1, 3, 1, FEATURE_DIM)


def test_history_keeps_a_track_seen_within_the_window():
    history = TrackHistory(window=3)
    history.append(key_features(1, 2), [0, 1])
    history.append(key_features(2), [1])
    history.append(key_features(2), [1])
    assert history.labels == [0, 1]  # label 0 last seen 2 frames ago: still in the 3-frame window
    history.append(key_features(2), [1])
    assert history.labels == [1]


def test_history_remove_deletes_a_column():
    history = TrackHistory(window=5)
    history.append(key_features(1, 2, 3), [0, 1, 2])
    history.remove(1)
    history.remove(4)  # no column: nothing happens
    assert history.labels == [0, 2]
    assert history.model_inputs()[0][0, 0, :, :, 0].tolist() == [[1, 3]]


# --------------------------------------------------------------------------------------------------
# The tracker on scripted videos


def test_ids_start_at_one_and_boxes_are_original_pixels():
    model = ScriptedFDTA([Frame([Query(0, 0.9, (0.5, 0.5, 0.25, 0.5)), Query(1)])])
    _, (tracks,) = run(model)
    assert ids(tracks) == [1, 2]
    np.testing.assert_allclose(tracks.boxes[0], [24.0, 12.0, 16.0, 24.0])  # 64x48 frame
    np.testing.assert_allclose(tracks.scores, [0.9, 0.9], rtol=1e-6)
    assert tracks.boxes.dtype == np.float64 and tracks.ids.dtype == np.int64


def test_ids_count_from_zero_by_default_as_in_the_original():
    model = ScriptedFDTA([frame(0, 1), frame(1, 2)])
    tracker = FDTATracker(model)
    assert [ids(tracker.update(FRAME)) for _ in model.frames] == [[0, 1], [1, 2]]
    _, results = run(ScriptedFDTA([frame(0, 1), frame(1, 2)]), ids_from_one=True)
    assert [ids(t) for t in results] == [[1, 2], [2, 3]]


def test_identities_follow_the_id_decoder():
    _, results = run(ScriptedFDTA([frame(0, 1), frame(1, 0), frame(2, 1)]))
    assert [ids(t) for t in results] == [[1, 2], [2, 1], [3, 2]]


def test_newborn_threshold_is_strict_and_only_for_newborns():
    first = Frame([Query(0, 0.6, exact=True), Query(1, next_f32(0.6, 1.0), exact=True), Query(2, 0.9)])
    second = Frame(
        [Query(1, 0.4), Query(3, 0.4), Query(2, 0.9)]
    )  # a known track may score 0.4, not a new one
    _, results = run(ScriptedFDTA([first, second]))
    assert [ids(t) for t in results] == [[1, 2], [1, 2]]


def test_id_threshold_at_the_tracker():
    # K = 5; frame 2: detection 0 sure enough of label 0 (0.25), detection 1 not of label 1 (0.175 < 0.2)
    scripted = [[0.25, 0.2, 0.2, 0.2, 0.1, 0.05], [0.165, 0.175, 0.165, 0.165, 0.165, 0.165]]
    _, results = run(ScriptedFDTA([frame(0, 1), Frame([Query(0), Query(1)], scripted)]))
    assert [ids(t) for t in results] == [[1, 2], [1, 3]]


def test_object_max_at_the_tracker_best_detection_keeps_the_id():
    scripted = [[0.6, 0.1, 0.1, 0.1, 0.05, 0.05], [0.8, 0.05, 0.05, 0.05, 0.025, 0.025]]
    _, results = run(ScriptedFDTA([frame(0), Frame([Query(0), Query(1)], scripted)]))
    assert [ids(t) for t in results] == [[1], [2, 1]]


def test_labels_not_in_history_are_newborn():
    scripted = [[0.0, 0.0, 0.0, 0.9, 0.0, 0.1]]  # label 3 has no column
    model = ScriptedFDTA([frame(0), Frame([Query(5)], scripted), frame(5, 0)])
    _, results = run(model)
    assert [ids(t) for t in results] == [[1], [2], [2, 1]]
    assert model.id_calls[1]["labels"][0, 0, -1].tolist() == [0, 1]  # the newborn took label 1 (LRU)


def test_vocabulary_exhaustion_recycles_the_least_recently_used_label():
    # K = 3: A, B, C take labels 0, 1, 2; then only A is seen, so B's label 1 is the least recently used
    a, b, c, d = 0, 1, 2, 3
    model = ScriptedFDTA([frame(a, b, c), frame(a), frame(a, d), frame(a, b), frame(c)], num_labels=3)
    tracker, results = run(model)
    assert [ids(t) for t in results] == [[1, 2, 3], [1], [1, 4], [1, 5], [6]]
    frame4 = model.id_calls[2]  # D took label 1: B's column is gone although B was seen 2 frames ago
    assert frame4["labels"][0, 0, 0].tolist() == [0, 2, 1]
    assert frame4["masks"][0, 0, :, 2].tolist() == [True, True, False]  # D's column: no old B tokens
    assert frame4["features"][0, 0, :, 2, 0].tolist() == [0, 0, d]
    frame5 = model.id_calls[3]  # B came back as a new track on label 2, ending C
    assert frame5["labels"][0, 0, 0].tolist() == [0, 1, 2]
    assert (frame5["features"][0, 0, :, :, 0] == c).sum() == 0
    assert tracker.next_id == 6


def test_window_expiry():
    # miss_tolerance 4: the history holds 3 frames; A unseen for 3 frames is gone, for 2 it is not
    a, b = 0, 1
    gone = ScriptedFDTA([frame(a, b), frame(b), frame(b), frame(b), frame(a, b)], miss_tolerance=4)
    _, results = run(gone)
    assert ids(results[-1]) == [3, 2]
    assert gone.id_calls[-1]["labels"][0, 0, 0].tolist() == [1]
    kept = ScriptedFDTA([frame(a, b), frame(b), frame(b), frame(a, b)], miss_tolerance=4)
    _, results = run(kept)
    assert ids(results[-1]) == [1, 2]


def test_history_is_capped_and_times_reindexed():
    model = ScriptedFDTA([frame(0)] * 6, miss_tolerance=4)
    run(model)
    assert [call["times"].shape[2] for call in model.id_calls] == [1, 2, 3, 3, 3]
    last = model.id_calls[-1]
    assert last["times"][0, 0, :, 0].tolist() == [0, 1, 2]
    assert last["unknown_times"].tolist() == [[[[3]]]]
    assert last["unknown_masks"].tolist() == [[[[False]]]]


def test_newborn_overflow_keeps_the_first_newborns():
    model = ScriptedFDTA([frame(0, 1, 2, 3, 4)], num_labels=3)
    _, (tracks,) = run(model)
    assert ids(tracks) == [1, 2, 3]
    np.testing.assert_allclose(tracks.boxes[:, 0], [(0.1 * (k + 1) - 0.05) * 64 for k in range(3)], rtol=1e-6)


def test_newborn_overflow_with_assigned_labels():
    # the case where the original crashes (spec §12): 1 assigned + 3 newborns, K = 3 -> 2 newborns kept
    model = ScriptedFDTA([frame(0, 1), frame(5, 0, 6, 7)], num_labels=3)
    _, results = run(model)
    assert [ids(t) for t in results] == [[1, 2], [3, 1, 4]]


def test_reset_restarts_ids_and_forgets_the_history():
    model = ScriptedFDTA([frame(0, 1), frame(1), frame(1), frame(1)])
    tracker = FDTATracker(model)
    assert ids(tracker.update(FRAME)) == [0, 1]
    assert ids(tracker.update(FRAME)) == [1]
    tracker.reset()
    assert ids(tracker.update(FRAME)) == [0]
    assert len(model.id_calls) == 1  # the first frame after a reset has no history
    assert ids(tracker.update(FRAME)) == [0]


def test_a_frame_of_another_size_is_an_error():
    model = ScriptedFDTA([frame(0), frame(0), frame(0), frame(0)])
    tracker = FDTATracker(model)
    tracker.update(FRAME)
    tracker.update(FRAME)
    with pytest.raises(ValueError, match=r"frame 3 is 32x48 but the video started at 64x48; call reset\(\)"):
        tracker.update(np.zeros((48, 32, 3), np.uint8))
    tracker.reset()
    assert ids(tracker.update(np.zeros((48, 32, 3), np.uint8))) == [0]


def test_empty_frames_and_all_expired_history():
    # miss_tolerance 3: a 2-frame window; frame 6 meets a history with rows but no column
    model = ScriptedFDTA([frame(), frame(0), frame(0), frame(), frame(), frame(0)], miss_tolerance=3)
    _, results = run(model)
    assert [ids(t) for t in results] == [[], [1], [1], [], [], [2]]
    assert results[0].boxes.shape == (0, 4)
    assert len(model.id_calls) == 1  # only frame 3 had both detections and history columns


def test_inputs_are_cast_to_the_model_dtype():
    model = ScriptedFDTA([frame(0, 1), frame(1, 0)])
    _, results = run(model, dtype=torch.bfloat16, input_size=(16, 24))
    assert model.images[0].dtype == torch.bfloat16 and model.images[0].shape == (1, 3, 16, 24)
    assert model.id_calls[0]["features"].dtype == torch.bfloat16
    assert model.id_calls[0]["unknown_features"].dtype == torch.bfloat16
    assert [ids(t) for t in results] == [[1, 2], [2, 1]]
