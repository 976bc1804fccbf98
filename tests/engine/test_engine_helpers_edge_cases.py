"""Edge cases of the training engine's small helpers that the engine tests leave open: the default sharded
sampler's seeding and order (spec ``fdta.md`` §2.10, §4.3: "the sampler uses 1025 + epoch"), moving nested
batches to a device, the DataLoader's partial last batch and its workers' seeding, a step context's
single-process defaults, and the progress lines of the frame-by-frame verbs.

Expected values are hand calculations (or torch's own ``randperm`` with the seed the spec names), never
outputs of the code under test.
"""

from __future__ import annotations

import io
import random
import sys
import time
from collections import namedtuple
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from discmot.engine import firing, infer
from discmot.engine.loading import ShardedSampler, _seed_worker, build_loader, to_device
from discmot.engine.progress import LoggedProgress, duration_text, progress_bar
from discmot.engine.step import StepContext
from discmot.io.video import FrameSource
from discmot.structures import Detections, Tracks

# --------------------------------------------------------------------------------------------------
# ShardedSampler


def test_the_default_sampler_permutes_with_a_generator_seeded_1025_plus_the_epoch():
    """fdta.md §2.10 / §4.3: the list is shuffled with a generator seeded ``1025 + epoch``."""
    expected = torch.randperm(10, generator=torch.Generator().manual_seed(1025 + 3)).tolist()
    assert ShardedSampler(10)(3, 0, 1) == expected
    assert (
        ShardedSampler(10, seed=7)(2, 0, 1)
        == torch.randperm(10, generator=torch.Generator().manual_seed(9)).tolist()
    )


def test_an_unshuffled_sampler_keeps_the_dataset_order_cut_and_sharded():
    """``shuffle=False``: indices in order, cut to a multiple of the world size (7 -> 6), every
    ``world_size``-th from the rank, then ``start`` skipped."""
    sampler = ShardedSampler(7, shuffle=False)
    assert sampler(0, 0, 1) == [0, 1, 2, 3, 4, 5, 6]
    assert sampler(5, 0, 2) == [0, 2, 4]
    assert sampler(5, 1, 2, start=1) == [3, 5]


# --------------------------------------------------------------------------------------------------
# to_device


class Movable:
    """An object with ``.to`` (as a NestedTensor): records the device it was moved to."""

    def __init__(self):
        self.moved_to = None

    def to(self, device):
        self.moved_to = device
        return self


class RecordedTensor(torch.Tensor):
    """A tensor recording the keyword arguments of its ``.to`` calls."""

    calls: list[dict] = []

    def to(self, *args, **kwargs):
        RecordedTensor.calls.append(kwargs)
        return self


Pair = namedtuple("Pair", ["image", "target"])


def test_to_device_moves_objects_with_a_to_method_inside_dicts_lists_and_tuples():
    cpu = torch.device("cpu")
    inside_dict, inside_list, inside_tuple, alone = Movable(), Movable(), Movable(), Movable()
    batch = {"a": inside_dict, "b": [inside_list, 3], "c": (inside_tuple, "name")}
    moved = to_device(batch, cpu)
    assert moved == {"a": inside_dict, "b": [inside_list, 3], "c": (inside_tuple, "name")}
    assert type(moved["b"]) is list and type(moved["c"]) is tuple
    assert to_device(alone, cpu) is alone
    assert [m.moved_to for m in (inside_dict, inside_list, inside_tuple, alone)] == [cpu] * 4


def test_to_device_leaves_plain_values_alone_and_keeps_named_tuples():
    cpu = torch.device("cpu")
    assert to_device(5, cpu) == 5 and to_device("x", cpu) == "x" and to_device(None, cpu) is None
    pair = to_device(Pair(torch.ones(2), Movable()), cpu)
    assert type(pair) is Pair and torch.equal(pair.image, torch.ones(2)) and pair.target.moved_to == cpu
    assert to_device((1, 2, 3), cpu) == (1, 2, 3)


def test_to_device_hands_non_blocking_to_tensors_and_defaults_to_blocking():
    """``non_blocking`` (the engine sets it with ``pin_memory``) reaches ``Tensor.to``; False by default."""
    RecordedTensor.calls = []
    tensor = torch.zeros(2).as_subclass(RecordedTensor)
    to_device(tensor, torch.device("cpu"))
    to_device({"x": tensor}, torch.device("cpu"), non_blocking=True)
    assert [call.get("non_blocking") for call in RecordedTensor.calls] == [False, True]


# --------------------------------------------------------------------------------------------------
# build_loader and its workers' seeds


def test_the_loader_keeps_the_index_order_and_a_partial_last_batch():
    """The last batch may be partial (CSTrack's epoch length is ``ceil(images / batch)``)."""
    loader = build_loader(list(range(10)), [4, 3, 2, 1, 0], 2, None, seed=0)
    assert [batch.tolist() for batch in loader] == [[4, 3], [2, 1], [0]]
    assert len(loader) == 3  # ceil(5 / 2)


def test_a_worker_seeds_python_and_numpy_from_its_torch_seed_modulo_2_to_the_32():
    """PyTorch's recipe for DataLoader workers: ``worker_seed = torch.initial_seed() % 2**32`` (numpy takes
    seeds below 2**32 only). 2**40 + 2**32 + 100 -> 100."""
    state = torch.random.get_rng_state(), random.getstate(), np.random.get_state()
    try:
        torch.manual_seed(2**40 + 2**32 + 100)
        _seed_worker(0)
        drawn = random.random(), np.random.random()
    finally:
        torch.random.set_rng_state(state[0])
        random.setstate(state[1])
        np.random.set_state(state[2])
    assert drawn == (random.Random(100).random(), np.random.RandomState(100).random())


# --------------------------------------------------------------------------------------------------
# StepContext


def test_a_step_context_without_rank_and_world_size_is_one_process():
    """A step function called outside the engine (tests, notebooks) sees rank 0 of 1: the means over
    processes (``reduce_sum(...) / world_size``) are then the local values."""
    context = StepContext(0, 0, 1, 0, torch.device("cpu"), "fp32")
    assert (context.rank, context.world_size) == (0, 1)


# --------------------------------------------------------------------------------------------------
# progress bars and lines


class TerminalStream(io.StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_an_asked_bar_is_a_tqdm_bar_even_without_a_terminal_and_none_asks_the_terminal(monkeypatch):
    """``enabled`` True/False is obeyed; only None looks at whether stderr is a terminal. The bar counts
    frames under the source's name and is cleared when done (``leave=False``)."""
    from tqdm import tqdm

    monkeypatch.setattr(sys, "stderr", io.StringIO())  # not a terminal
    with progress_bar("clip", 3, True) as bar:
        assert isinstance(bar, tqdm)
        assert (bar.total, bar.desc, bar.unit, bar.leave) == (3, "clip", "frame", False)
    assert isinstance(progress_bar("clip", 3, None), LoggedProgress)
    monkeypatch.setattr(sys, "stderr", TerminalStream())
    assert isinstance(progress_bar("clip", 3, False), LoggedProgress)
    with progress_bar("clip", 3, None) as bar:
        assert isinstance(bar, tqdm)


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_without_a_terminal_a_line_comes_once_a_full_minute_has_passed(monkeypatch, caplog):
    """Module docstring: "a log line a minute": the default interval is 60 s, and a line is due when
    exactly the interval has passed since the last one (``>=``)."""
    clock = FakeClock()
    monkeypatch.setattr(time, "perf_counter", clock)
    progress = LoggedProgress("clip", 10)
    with caplog.at_level("INFO", logger="discmot"):
        clock.now += 59.9
        progress.update()
        assert not caplog.records
        clock.now += 0.1  # 60 s after the start
        progress.update()
        assert [r.getMessage().split(",")[0] for r in caplog.records] == ["clip: 2/10 frames"]
        clock.now += 59.0  # 59 s after that line
        progress.update()
        assert len(caplog.records) == 1


def test_durations_turn_to_minutes_at_60_s_and_to_hours_at_60_min():
    """``duration_text``: below 60 s in seconds, then rounded minutes, from 60 minutes on hours and minutes
    (60 s -> "1 min", 3600 s -> "1 h 0 min")."""
    assert duration_text(59.4) == "59 s"
    assert duration_text(60) == "1 min"
    assert duration_text(60.5) == "1 min"
    assert duration_text(3540) == "59 min"
    assert duration_text(3600) == "1 h 0 min"


def test_a_finished_run_says_no_time_left_and_one_frame_a_second_is_said_in_seconds_a_frame():
    """``LoggedProgress.text``: the time left only while frames remain (10/10: none, not "about 0 s left");
    the speed in s/frame from 1 s a frame on (10 frames in 10 s: "1.0 s/frame"), else in fps."""
    progress = LoggedProgress("clip", 10)
    progress.done = 10
    assert progress.text(10.0) == "clip: 10/10 frames, 1.0 s/frame"
    assert progress.text(5.0) == "clip: 10/10 frames, 2.0 fps"
    progress.done = 5
    assert progress.text(10.0) == "clip: 5/10 frames, 2.0 s/frame, about 10 s left"


# --------------------------------------------------------------------------------------------------
# random networks made to fire (``discmot bench``; docs/benchmarks.md: "FDTA: 15 newborn-scoring queries on
# the first frame; CSTrack: on average 40 anchor cells of 4 frames spread over the scene")


def test_a_cstrack_network_fires_on_4_frames_spread_over_the_video_at_confidence_0_5(monkeypatch):
    """`firing_network`: CSTrack is calibrated on ``round(linspace(0, n - 1, min(4, n)))`` of the frames
    (10 frames: 0, 3, 6, 9; 3 frames: all three) at CSTrack's test confidence 0.5 (cstrack.md, test)."""
    calls = []

    def recorded(preset, images, conf_threshold):
        calls.append((preset, [round(float(image.mean()) * 255) for image in images], conf_threshold))

    monkeypatch.setattr(firing, "firing_cstrack", recorded)
    frames = [np.full((64, 64, 3), 20 * k, np.uint8) for k in range(10)]
    firing.firing_network("cstrack", frames, input_size=(64, 64))
    firing.firing_network("cstrack", frames[:3], "tiny", input_size=(64, 64))
    assert calls == [("cstrack", [0, 60, 120, 180], 0.5), ("tiny", [0, 20, 40], 0.5)]


def test_a_fired_cstrack_is_he_initialised_with_calibrated_batch_norms_and_raised_class_logits(monkeypatch):
    """`firing_cstrack`'s docstring: He-normal convolutions (leaky ReLU slope 0.1: std
    ``sqrt(2 / (1 + 0.1**2) / fan_in)``), batch norms with a cumulative average over the one pass
    (``momentum=None``), class logits raised to +5; then `fire_cstrack` at 40 cells (docs/benchmarks.md)
    and confidence 0.5, in eval mode."""
    calls = []
    monkeypatch.setattr(
        firing, "fire_cstrack", lambda model, images, cells, conf: calls.append((cells, conf))
    )
    images = torch.rand(2, 3, 64, 96, generator=torch.Generator().manual_seed(0))
    model = firing.firing_cstrack("tiny", images)
    assert calls == [(40, 0.5)] and not model.training
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert norms and all(m.momentum is None and int(m.num_batches_tracked) == 1 for m in norms)
    widest = max(
        (m for m in model.modules() if isinstance(m, torch.nn.Conv2d)), key=lambda m: m.weight.numel()
    )
    fan_in = widest.weight[0].numel()
    assert widest.weight.numel() > 10_000
    assert float(widest.weight.detach().std()) * (fan_in / (2 / 1.01)) ** 0.5 == pytest.approx(1.0, abs=0.05)
    for conv in model.head.m:
        classes = conv.bias.view(model.config.num_anchors, -1)[:, 5:]
        assert torch.equal(classes, torch.full_like(classes, 5.0))


@pytest.fixture(scope="module")
def random_fdta():
    from discmot.engine.bench import synthetic_frames
    from discmot.models.fdta.config import preset
    from discmot.models.fdta.model import build_fdta
    from discmot.trackers.fdta_frames import preprocess_frame

    torch.manual_seed(0)
    tiny = preset("tiny")
    # three decoder layers: the last layer's class head is then not also the second one's
    model = build_fdta(preset("tiny", detr=replace(tiny.detr, dec_layers=3))).eval()
    image, _ = preprocess_frame(synthetic_frames("fdta", 1, (160, 96))[0], model.config.runtime)
    return model, image


def newborn_scoring_queries(model, image) -> int:
    newborn = max(model.config.runtime.det_thresh, model.config.runtime.newborn_thresh)
    with torch.inference_mode():
        scores = model.detect(image, None)["pred_logits"][0].sigmoid().max(dim=-1).values
    return int((scores > newborn).sum())


def test_a_fired_fdta_finds_15_queries_by_default_and_at_most_all_but_one(random_fdta):
    """`fire_fdta`: ``count`` defaults to 15 (docs/benchmarks.md); a count past the queries is cut to all
    but one (the threshold goes between the ``count``-th and the next query), tiny has 20 queries."""
    model, image = random_fdta
    firing.fire_fdta(model, image)
    assert newborn_scoring_queries(model, image) == 15
    firing.fire_fdta(model, image, count=1000)
    assert newborn_scoring_queries(model, image) == 20 - 1


def test_an_fdta_network_fires_on_the_first_frame(monkeypatch):
    from discmot.trackers import fdta_frames

    seen, preprocess = [], fdta_frames.preprocess_frame

    def recorded(frame, *args, **kwargs):
        seen.append(int(frame[0, 0, 0]))
        return preprocess(frame, *args, **kwargs)

    monkeypatch.setattr(fdta_frames, "preprocess_frame", recorded)
    monkeypatch.setattr(firing, "fire_fdta", lambda model, image: None)
    frames = [np.full((96, 160, 3), value, np.uint8) for value in (10, 20, 30)]
    assert not firing.firing_network("fdta", frames, "tiny").training
    assert seen == [10]


class ObjectnessRows:
    """The parts of a CSTrack `fire_cstrack` uses: its single detection level is the images themselves
    (rows ``x, y, w, h, objectness logit, class logit``), its head two anchors' biases."""

    def __init__(self):
        self.config = SimpleNamespace(num_anchors=2)
        self.head = SimpleNamespace(m=[torch.nn.Conv2d(1, 12, 1)])
        torch.nn.init.zeros_(self.head.m[0].bias)

    def features(self, images):
        return images

    def reciprocal(self, features):
        return (features,)

    def detect(self, features):
        return [features]


def test_fire_cstrack_shifts_objectness_by_the_smallest_shift_passing_the_asked_cells_on_average():
    """`fire_cstrack`: the objectness bias is raised by the smallest shift with at least ``cells`` cells a
    frame on average (``passing(high) >= cells``). Objectness logits 0..9 and -2..7, class logit 30: a shift
    just above -5 passes logits >= 5, 5 + 3 = 8 cells, 4 a frame (just above -6: 4 + 2 = 6; -4: 6 + 4 = 10);
    only the objectness column of each anchor moves (float32 logits: to about 1e-6)."""
    rows = torch.zeros(2, 10, 6)
    rows[0, :, 4] = torch.arange(10.0)
    rows[1, :, 4] = torch.arange(10.0) - 2
    rows[..., 5] = 30.0
    model = ObjectnessRows()
    firing.fire_cstrack(model, rows, cells=4)
    bias = model.head.m[0].bias.detach().view(2, 6)
    assert bias[:, 4].tolist() == pytest.approx([-5.0, -5.0], abs=1e-5)
    assert torch.equal(bias[:, [0, 1, 2, 3, 5]], torch.zeros(2, 5))


# --------------------------------------------------------------------------------------------------
# the tracking loop (`discmot.engine.infer`)


class Clip(FrameSource):
    """A video of frames of the given (width, height) sizes; ``has_images=False``: no images, as a sequence
    of precomputed detections alone."""

    def __init__(self, sizes, has_images: bool = True):
        super().__init__(
            "clip", "clip.mp4", fps=10.0, size=sizes[0], num_frames=len(sizes), has_images=has_images
        )
        self.sizes = sizes

    def __iter__(self):
        for k, (width, height) in enumerate(self.sizes, start=1):
            yield k, np.zeros((height, width, 3), np.uint8) if self.has_images else None


class OneIdPerBox:
    """A detection tracker: box ``k`` of every frame is track ``k + 1``."""

    def reset(self) -> None:
        pass

    def update(self, detections: Detections, frame=None) -> Tracks:
        return Tracks(np.arange(1, len(detections) + 1), detections.boxes.copy(), detections.scores.copy())


class WholeFrames(OneIdPerBox):
    detects = True  # end to end: takes the frame alone

    def update(self, frame) -> Tracks:
        return Tracks.empty()


def one_box(frame) -> Detections:
    return Detections(np.array([[2.0, 2.0, 10.0, 10.0]]), np.array([0.9]))


def test_a_tracker_is_built_at_the_asked_rate_else_the_sources_rounded_else_30():
    """`tracker_frame_rate`'s docstring: the rate asked for, else the source's rounded (29.97 -> 30), else
    30."""
    assert infer.tracker_frame_rate(12.5, 29.97) == 12.5
    assert infer.tracker_frame_rate(None, 29.97) == 30
    assert infer.tracker_frame_rate(None, 25.4) == 25
    assert infer.tracker_frame_rate(None, None) == 30
    assert infer.tracker_frame_rate(None, 0) == 30


def test_on_frame_gets_every_tracked_frame_with_its_tracks():
    seen = []
    infer.track_source(
        Clip([(32, 24)] * 3),
        OneIdPerBox(),
        detect=one_box,
        progress=False,
        on_frame=lambda k, t: seen.append((k, t)),
    )
    assert [(k, t.ids.tolist()) for k, t in seen] == [(1, [1]), (2, [1]), (3, [1])]


def test_frames_of_two_sizes_are_tracked_when_no_video_is_drawn_and_no_network_sees_them():
    """The one-size check is "one size per video" (and per end-to-end network input): a detection
    tracker writing results alone takes frames of any size."""
    summary = infer.track_source(Clip([(32, 24), (64, 48)]), OneIdPerBox(), detect=one_box, progress=False)
    assert summary["frames"] == 2
    with pytest.raises(ValueError, match="frame 2 is 64x48 but the first frame is 32x24"):
        infer.track_source(Clip([(32, 24), (64, 48)]), WholeFrames(), progress=False)


def test_an_end_to_end_tracker_refuses_a_source_without_images():
    with pytest.raises(ValueError, match=r"^clip.mp4: has no images, which an end-to-end tracker needs$"):
        infer.track_source(Clip([(32, 24)], has_images=False), WholeFrames(), progress=False)


def test_the_summary_times_the_run_and_gives_frames_per_second(monkeypatch):
    """``seconds`` is the wall time of the loop, ``fps`` frames / seconds; a clock that did not move
    (seconds 0) gives fps 0.0, not a division by zero."""
    before = time.perf_counter()
    summary = infer.track_source(Clip([(32, 24)] * 4), OneIdPerBox(), detect=one_box, progress=False)
    elapsed = time.perf_counter() - before
    assert 0 < summary["seconds"] <= elapsed
    assert summary["fps"] == pytest.approx(4 / summary["seconds"])
    monkeypatch.setattr(time, "perf_counter", lambda: 100.0)
    frozen = infer.track_source(Clip([(32, 24)] * 4), OneIdPerBox(), detect=one_box, progress=False)
    assert (frozen["frames"], frozen["seconds"], frozen["fps"]) == (4, 0.0, 0.0)


def test_an_unknown_layout_is_refused_before_anything_is_read(tmp_path):
    made = []
    with pytest.raises(ValueError, match=r"^layout must be 'trackeval' or 'flat', not 'nested'$"):
        infer.track_split(tmp_path / "missing", tmp_path / "out", made.append, layout="nested")
    assert not made and not (tmp_path / "out").exists()


def test_an_unknown_name_of_the_infer_module_is_its_own_attribute_error():
    """The module ``__getattr__`` hands on ``track`` and ``tracker_factory`` only."""
    with pytest.raises(AttributeError, match=r"^module 'discmot.engine.infer' has no attribute 'tracks'$"):
        infer.tracks  # noqa: B018


class CountedProgress:
    def __init__(self):
        self.counts = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def update(self, count: int = 1) -> None:
        self.counts.append(count)


def test_the_progress_bar_moves_one_frame_per_tracked_frame(monkeypatch):
    bar = CountedProgress()
    monkeypatch.setattr(infer, "frames_progress_bar", lambda frames, enabled: bar)
    infer.track_source(Clip([(32, 24)] * 3), OneIdPerBox(), detect=one_box, progress=False)
    assert bar.counts == [1, 1, 1]


class ScoredBoxes:
    """Precomputed detections: every frame has boxes scoring 0.4, 0.5 and 0.6."""

    def __getitem__(self, frame_number: int) -> Detections:
        return Detections(np.array([[0.0, 0, 5, 5], [10, 0, 5, 5], [20, 0, 5, 5]]), np.array([0.4, 0.5, 0.6]))


def test_min_score_drops_only_detections_scoring_below_it():
    """`track_source`'s ``min_score``: "drop precomputed detections scoring below": one scoring exactly
    ``min_score`` is kept."""
    seen = []
    infer.track_source(
        Clip([(32, 24)]),
        OneIdPerBox(),
        detections=ScoredBoxes(),
        min_score=0.5,
        on_frame=lambda k, t: seen.append(t),
    )
    assert [t.scores.tolist() for t in seen] == [[0.5, 0.6]]
