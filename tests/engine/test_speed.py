"""`discmot.engine.speed` and ``discmot bench``: stage clocks, firing random networks, the timing and the
verb's options and report."""

from __future__ import annotations

import json
import time
import types

import cv2
import numpy as np
import pytest
import torch

from discmot.cli import main
from discmot.engine.bench import BenchOptions, bench_runs, bench_tracker, synthetic_frames
from discmot.engine.firing import fire_fdta, firing_cstrack, firing_network
from discmot.engine.speed import OTHER_STAGE, STAGES, StageClock, measure_speed, method_holder, tracks_alive

TINY = BenchOptions(preset="tiny", device="cpu", warmup=1)


class Worker:
    def __init__(self):
        self.inner = Inner()

    def work(self, seconds: float) -> str:
        time.sleep(seconds)
        return "worked"


class Inner:
    def step(self) -> int:
        return 7


@pytest.fixture(scope="module")
def small_frames():
    return {kind: synthetic_frames(kind, 5, (160, 96)) for kind in STAGES}


def test_a_stage_clock_times_the_calls_and_puts_the_methods_back():
    worker = Worker()
    synchronised = []
    stages = [("slow", "work"), ("nested", "inner.step")]
    with StageClock(worker, stages, synchronize=lambda: synchronised.append(1)) as clock:
        assert worker.work(0.02) == "worked"
        assert worker.work(0.01) == "worked"
        assert worker.inner.step() == 7
    assert clock.totals["slow"] >= 0.03
    assert clock.totals["nested"] < clock.totals["slow"]
    assert len(synchronised) == 6  # before and after each of the three calls
    assert "work" not in vars(worker) and "step" not in vars(worker.inner)
    counted = dict(clock.totals)
    worker.work(0.01)
    assert clock.totals == counted  # no longer counted


def test_a_stage_clock_puts_the_methods_back_when_the_work_fails():
    worker = Worker()
    with pytest.raises(ValueError, match="negative"), StageClock(worker, [("slow", "work")]):
        worker.work(-1.0)  # time.sleep refuses it, inside the timed wrapper
    assert "work" not in vars(worker)


def test_a_stage_clock_with_a_bad_path_leaves_nothing_wrapped():
    worker = Worker()
    with pytest.raises(AttributeError), StageClock(worker, [("slow", "work"), ("bad", "inner.missing")]):
        pass
    assert "work" not in vars(worker)
    with StageClock(worker, [("slow", "work")]):  # not "already replaced"
        worker.work(0.0)


def test_a_clock_inside_a_clock_on_the_same_method_is_refused():
    worker = Worker()
    with StageClock(worker, [("slow", "work")]), pytest.raises(ValueError, match="already replaced"):
        StageClock(worker, [("again", "work")]).__enter__()
    assert "work" not in vars(worker)


def test_a_fired_fdta_scores_exactly_the_asked_queries_above_the_newborn_threshold(small_frames):
    from discmot.models.fdta.model import build_fdta
    from discmot.trackers.fdta import preprocess_frame

    torch.manual_seed(0)
    model = build_fdta("tiny").eval()
    image, _ = preprocess_frame(small_frames["fdta"][0], model.config.runtime)
    newborn = max(model.config.runtime.det_thresh, model.config.runtime.newborn_thresh)

    def above() -> int:
        with torch.inference_mode():
            scores = model.detect(image, None)["pred_logits"][0].sigmoid().max(dim=-1).values
        return int((scores > newborn).sum())

    assert above() == 0  # random weights find nothing: why they are made to fire
    fire_fdta(model, image, count=7)
    assert above() == 7


def test_a_firing_cstrack_passes_the_asked_cells_on_average_over_its_frames(small_frames):
    from discmot.models.cstrack.config import preset
    from discmot.models.cstrack.postprocess import candidate_boxes, image_to_tensor, letterbox
    from discmot.trackers.cstrack import decoded_rows

    size = preset("tiny").input_size
    images = torch.stack([image_to_tensor(letterbox(f, size).image) for f in small_frames["cstrack"][:4]])
    model = firing_cstrack("tiny", images, cells=25, conf_threshold=0.5)
    counts = []
    with torch.inference_mode():
        for image in images:
            raw = model.detect(model.reciprocal(model.features(image[None]))[0])
            counts.append(len(candidate_boxes(decoded_rows(raw, model.config, float(model.head.k)), 0.5)[0]))
    # the smallest shift giving 25: at most a tie more, or a cell less where this one-image pass rounds
    # other than the calibration's batch of 4 (a Xeon with torch 2.11: 24.75)
    assert 24.75 <= np.mean(counts) < 27


@pytest.mark.parametrize("kind", list(STAGES))
def test_measured_speed_covers_every_stage_and_the_work_is_done(kind, small_frames):
    frames = small_frames[kind]
    network = firing_network(kind, frames, "tiny")
    tracker = bench_tracker(kind, "fp32", TINY, network)
    result = measure_speed(tracker, kind, frames, warmup=2)
    assert result.frames == 3
    assert list(result.stage_ms) == [stage for stage, _ in STAGES[kind]] + [OTHER_STAGE[kind]]
    assert all(ms > 0 for ms in result.stage_ms.values())
    assert sum(result.stage_ms.values()) == pytest.approx(result.ms_per_frame)
    assert result.fps == pytest.approx(1000 / result.ms_per_frame)
    assert result.boxes_per_frame > 0 and result.tracks_alive > 0  # the random network fired
    assert result.peak_memory_mib is None  # CPU
    assert tracks_alive(tracker) > 0
    for _, path in STAGES[kind]:  # the clocks are gone
        holder, name = method_holder(tracker, path)
        assert name not in vars(holder)
    assert next(network.parameters()).dtype == torch.float32  # the tracker's copy was cast, not it


def test_measuring_needs_frames_after_the_warmup(small_frames):
    tracker = bench_tracker("fdta", "fp32", TINY, firing_network("fdta", small_frames["fdta"], "tiny"))
    with pytest.raises(ValueError, match="leaves none"):
        measure_speed(tracker, "fdta", small_frames["fdta"][:2], warmup=2)
    with pytest.raises(ValueError, match="no frames"):
        measure_speed(tracker, "fdta", [], warmup=0)


def test_a_checkpoint_is_timed_as_track_loads_it(small_frames):
    import discmot
    from discmot.trackers.fdta import preprocess_frame

    options = BenchOptions(weights=str(discmot.bundled_weights("fdta")), device="cpu", warmup=1)
    frames = small_frames["fdta"]
    (run,) = bench_runs("fdta", ["fp32"], options, frames)
    assert run["random_weights_made_to_fire"] is False
    assert run["preset"] == "tiny" and run["dtype"] == "fp32" and run["device"] == "cpu"
    assert run["frames"] == len(frames) - 1 and run["frame_size"] == [160, 96]
    model = discmot.load_model("fdta", options.weights)
    image, _ = preprocess_frame(frames[0], model.config.runtime)
    assert run["network_input"] == list(image.shape[-2:])


def test_bench_times_both_trackers_and_writes_the_numbers(tmp_path, capsys):
    out = tmp_path / "bench.json"
    argv = ["bench", "--preset", "tiny", "--size", "160x96", "--frames", "2", "--warmup", "1"]
    assert main([*argv, "--device", "cpu", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "FDTA tiny (random weights) fp32 on cpu, 160x96" in printed
    assert "CSTrack tiny (random weights) fp32 on cpu, 160x96" in printed
    report = json.loads(out.read_text())
    assert report["machine"]["cpu_cores"] >= 1 and report["warmup"] == 1
    scenes = {"fdta": "dancetrack", "cstrack": "mot"}  # the scene each model is timed on
    assert report["source"] == {"synthetic": scenes, "size": [160, 96], "seed": 0}
    assert [run["model"] for run in report["runs"]] == ["fdta", "cstrack"]
    for run in report["runs"]:
        assert run["frames"] == 2 and run["fps"] > 0
        assert set(run["stage_ms"]) == {s for s, _ in STAGES[run["model"]]} | {OTHER_STAGE[run["model"]]}


def test_bench_times_the_frames_of_a_source(tmp_path, capsys):
    folder = tmp_path / "frames"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for index in range(3):
        cv2.imwrite(str(folder / f"{index}.png"), rng.integers(0, 256, (80, 128, 3), dtype=np.uint8))
    out = tmp_path / "bench.json"
    argv = ["bench", str(folder), "--model", "fdta", "--preset", "tiny", "--frames", "5", "--warmup", "1"]
    assert main([*argv, "--device", "cpu", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    (run,) = report["runs"]
    assert run["frame_size"] == [128, 80] and run["frames"] == 2  # 3 frames, 1 of them the warm-up
    assert report["source"] == {"path": str(folder)}  # what was timed, beside the numbers


def test_a_short_source_is_said_once_and_each_line_says_how_many_frames_it_timed(tmp_path, capsys, caplog):
    folder = tmp_path / "frames"
    folder.mkdir()
    for index in range(3):
        cv2.imwrite(str(folder / f"{index}.png"), np.full((64, 96, 3), 90, np.uint8))
    out = tmp_path / "bench.json"
    argv = ["bench", str(folder), "--model", "cstrack", "--preset", "tiny", "--frames", "5", "--warmup", "1"]
    with caplog.at_level("WARNING", logger="discmot"):
        assert main([*argv, "--dtype", "fp32", "fp32", "--device", "cpu", "--json", str(out)]) == 0
    # the timed count was only in the JSON, and the warning did not say how many would be timed
    assert "3 frames, fewer than the 6 asked for (--warmup 1 + --frames 5): timing 2" in caplog.text
    printed = capsys.readouterr().out
    assert "ms a frame, 2 frames timed)" in printed
    assert len(json.loads(out.read_text())["runs"]) == 1  # `--dtype fp32 fp32` timed the same run twice
    assert main([*argv, "--warmup", "3", "--device", "cpu"]) == 2
    assert (
        capsys.readouterr().err == f"discmot: error: {folder}: 3 frames, none left to time after --warmup 3\n"
    )


def test_frame_rates_keep_three_significant_digits():
    from discmot.cli.bench import frame_rate_text

    # a full-size CPU run's 0.063 frames/s printed as "0.1", 0.48 as "0.5"
    assert [frame_rate_text(fps) for fps in (0.06299, 0.48, 3.5, 25.64, 147.33)] == [
        "0.0630",
        "0.480",
        "3.50",
        "25.6",
        "147.3",
    ]


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (["--weights", "w.safetensors"], "--weights is one model's"),
        (["--preset", "dancetrack"], "not a CSTrack preset"),
        (["--model", "fdta", "--preset", "cstrack"], "not a FDTA preset"),
        (["--json", "a-file/bench.json"], "a file is in the way"),
        (["--model", "fdta", "--weights", "missing.pth"], "missing.pth: no such checkpoint"),
        (["--device", "no-such-device"], "not a device name"),
        # was refused only after the full-size network was built and made to fire: 40 s on a CPU
        (["--model", "fdta", "--deform-kernel", "triton"], "--deform-kernel triton: cannot use"),
    ],
)
def test_bench_options_that_cannot_work_are_refused_before_timing(options, words, tmp_path, capsys):
    (tmp_path / "a-file").write_text("not a folder")
    argv = ["bench", "--device", "cpu", "--frames", "1", "--warmup", "0", *options]
    if options[0] == "--json":
        argv[-1] = str(tmp_path / options[-1])
    started = time.perf_counter()
    assert main(argv) == 2
    assert words in capsys.readouterr().err
    assert time.perf_counter() - started < 5  # refused, not timed (a full-size frame takes longer)


class StandInModel:
    def detect(self, *args):
        time.sleep(0.004)

    def id_logits(self, *args):
        time.sleep(0.001)


class StandInTracker:
    """Shaped as `measure_speed` times FDTA (its stage paths, ``history``, ``update``), on a GPU."""

    device = "cuda:0"

    def __init__(self):
        self.model = StandInModel()
        self.history = types.SimpleNamespace(num_tracks=2)
        self.resets = 0

    def reset(self):
        self.resets += 1

    def detection_network(self, image):
        self.model.detect()

    def update(self, frame):
        self.detection_network(frame)
        self.model.id_logits()
        return types.SimpleNamespace(ids=[1, 2, 3])


def test_on_a_gpu_the_rate_and_the_memory_come_from_a_pass_without_clocks(monkeypatch):
    calls = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: calls.append(("sync", str(device))))
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", lambda device=None: calls.append(("reset",)))
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda device=None: 123 * 2**20)
    tracker = StandInTracker()
    result = measure_speed(tracker, "fdta", [np.zeros((2, 2, 3), np.uint8)] * 4, warmup=1)
    assert result.frames == 3 and result.peak_memory_mib == 123
    assert tracker.resets == 2  # one per pass
    # the memory count restarts before the first pass; the first pass synchronises once, at its start;
    # the second at its start and around each stage call (3 frames x 2 stages x 2)
    assert calls[0] == ("reset",)
    assert calls[1:] == [("sync", "cuda:0")] * (1 + 1 + 3 * 2 * 2)
    assert result.stage_ms["detection network (DETR + Spatial Adapter)"] >= 4
    assert 1 <= result.stage_ms["ID prediction (Temporal Adapter + ID decoder)"] < 4
    assert result.stage_ms[OTHER_STAGE["fdta"]] >= 0
    assert result.boxes_per_frame == 3 and result.tracks_alive == 2


def test_bench_refuses_before_timing_what_the_frames_cannot_give(tmp_path, capsys):
    folder = tmp_path / "two"
    folder.mkdir()
    for index in range(2):
        cv2.imwrite(str(folder / f"{index}.png"), np.zeros((64, 64, 3), np.uint8))
    assert main(["bench", str(folder), "--model", "fdta", "--device", "cpu", "--warmup", "2"]) == 2
    assert "2 frames, none left to time after --warmup 2" in capsys.readouterr().err
    assert main(["bench", str(folder), "--model", "fdta", "--device", "cpu", "--size", "320x192"]) == 2
    assert "--size is the synthetic scene's" in capsys.readouterr().err
    assert main(["bench", "--model", "fdta", "--weights", str(folder), "--device", "cpu"]) == 2
    assert "a folder, not a checkpoint file" in capsys.readouterr().err
    assert main(["bench", "--input-size", "100x100", "--device", "cpu"]) == 2
    assert "multiples of 32" in capsys.readouterr().err  # CSTrack's, before FDTA is timed
