"""Command-line findings of two user journeys (2026-11-24): options that changed meaning, what ran and
what was left unsaid (presets, busy cores, bench's progress, the model of a checkpoint, the output
filter, Ctrl-C)."""

from __future__ import annotations

import argparse
import logging
import os
import re
import shutil
import threading
import time
import types
from pathlib import Path

import numpy as np
import pytest

import discmot
from discmot.cli import build_parser, main
from discmot.data.synth import generate_dataset
from discmot.io.mot import read_mot_table

ASSETS = Path(discmot.__file__).parent / "assets"  # the package under test, wherever it is installed
FDTA_TINY = ASSETS / "fdta_tiny_synth_dancetrack.safetensors"
CSTRACK_TINY = ASSETS / "cstrack_tiny_synth.safetensors"


@pytest.fixture(scope="module")
def sequence(tmp_path_factory) -> Path:
    """A 12-frame 128x80 synthetic sequence whose ``det/det.txt`` holds its gt boxes (score 1)."""
    (folder,) = generate_dataset(tmp_path_factory.mktemp("polish"), "tiny", sequences=1)
    gt = read_mot_table(folder / "gt" / "gt.txt").values
    (folder / "det").mkdir()
    rows = [f"{int(r[0])},-1,{r[2]:g},{r[3]:g},{r[4]:g},{r[5]:g},1,-1,-1,-1\n" for r in gt]
    (folder / "det" / "det.txt").write_text("".join(rows))
    return folder


def verb_parsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (verbs,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return {"": parser, **verbs.choices}


# --- 1. abbreviations ------------------------------------------------------------------------------


def test_no_parser_takes_an_abbreviated_option():
    # `discmot track V --frame 30` was read as --frame-rate 30 and tracked every frame
    assert {name for name, parser in verb_parsers().items() if parser.allow_abbrev} == set()


@pytest.mark.parametrize(
    "argv, words",
    [
        (["track", "clip.mp4", "--frame", "30"], "unrecognized arguments: --frame 30"),
        (["track", "clip.mp4", "--frames", "30"], "--frames 30 (did you mean --max-frames?)"),
        (["bench", "--frame", "3"], "unrecognized arguments: --frame (did you mean --frames?)"),
        (["track", "clip.mp4", "--weight=w.pth"], "(did you mean --weights?)"),
        (["track", "clip.mp4", "--zzz"], "unrecognized arguments: --zzz\n"),  # nothing close: no guess
    ],
)
def test_a_near_miss_option_is_refused_naming_the_likely_one(argv, words, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2 and words in capsys.readouterr().err


# --- 2. the association preset of precomputed detections ---------------------------------------------


def test_precomputed_detections_say_their_preset_and_thresholds(sequence, tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="discmot"):
        assert main(["track", str(sequence), "--save-txt", str(tmp_path / "a.txt")]) == 0
    said = [r.getMessage() for r in caplog.records if "association preset" in r.getMessage()]
    assert said == [
        "precomputed detections: association preset public (detections scoring >= 0 kept, tracks born "
        "from >= 0); a detector's boxes saved down to low scores (an ONNX detector's) want "
        "--tracker-preset onnx"
    ]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="discmot"):
        argv = ["track", str(sequence), "--tracker-preset", "onnx", "--save-txt", str(tmp_path / "b.txt")]
        assert main(argv) == 0
    assert "association preset onnx (detections scoring >= 0.3 kept, tracks born from >= 0.7)\n" in (
        caplog.text
    )


def test_the_help_example_on_onnx_detections_uses_the_onnx_preset():
    # the example ran the public preset on YOLOX-nano boxes down to 0.1: HOTA 46.9 instead of 55.7
    from discmot.cli.track import TRACK_EPILOG

    lines = TRACK_EPILOG.splitlines()
    (number,) = [k for k, line in enumerate(lines) if "det_yolox_nano_osnet.npy" in line]
    assert "--tracker-preset onnx" in lines[number] + lines[number + 1]


# --- 3. busy cores -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "load, cores, level",
    [
        (1.0, 2, logging.WARNING),  # one of two cores busy: 2 threads on one free core
        (1.9, 2, logging.WARNING),
        (6.0, 8, logging.WARNING),  # 8 threads on 2 free cores
        (4.5, 8, logging.INFO),  # 8 threads on 3.5 free cores: said, shown without -q only
        (15.5, 16, logging.WARNING),
    ],
)
def test_busy_cores_warn_where_the_threads_clearly_outnumber_the_free_ones(load, cores, level, caplog):
    from discmot.cli.arguments import hint_if_cores_busy

    with caplog.at_level(logging.INFO, logger="discmot"):
        hint = hint_if_cores_busy(load, cores, {})
    assert [r.levelno for r in caplog.records] == [level]
    if level == logging.WARNING:
        assert "OMP_NUM_THREADS=" in hint and "discmot ..." in hint


def busy(monkeypatch, load: float = 1.9) -> None:
    """This machine's load average said to be ``load`` on 2 cores."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    monkeypatch.setattr("discmot.engine.run_environment.usable_cores", lambda: 2)


@pytest.mark.parametrize(
    "argv",
    [
        ["track", "{sequence}", "--weights", "w.pth"],  # an error of track()'s own checks
        ["track", "{sequence}", "--model", "fdta", "--detections", "d.txt", "--weights", "w.pth"],
        ["demo", "--weights", "w.pth"],
        ["demo", "--frames", "1"],
    ],
)
def test_the_busy_cores_hint_is_not_said_before_an_input_error(argv, sequence, monkeypatch, capsys, caplog):
    busy(monkeypatch)
    with caplog.at_level(logging.INFO, logger="discmot"):
        assert main([a.format(sequence=sequence) for a in argv]) == 2
    assert capsys.readouterr().err.startswith("discmot: error: ")
    assert not [r for r in caplog.records if "keep the CPUs busy" in r.getMessage()]


def test_the_busy_cores_hint_is_said_once_tracking_starts(sequence, tmp_path, monkeypatch, caplog):
    busy(monkeypatch)
    assert main(["-q", "track", str(sequence), "--save-txt", str(tmp_path / "r.txt")]) == 0
    (said,) = [r for r in caplog.records if "keep the CPUs busy" in r.getMessage()]
    assert said.levelno == logging.WARNING and "(load average 1.9 on 2 cores)" in said.getMessage()


# --- 4. bench's progress without a terminal --------------------------------------------------------------


class QuickModel:
    def detect(self):
        pass

    def id_logits(self):
        pass


class SlowTracker:
    """Shaped as `measure_speed` times FDTA on the CPU; each frame takes ``seconds``."""

    device = "cpu"

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.model = QuickModel()
        self.history = types.SimpleNamespace(num_tracks=1)

    def reset(self):
        pass

    def detection_network(self, image):
        self.model.detect()

    def update(self, frame):
        self.detection_network(frame)
        self.model.id_logits()
        time.sleep(self.seconds)
        return types.SimpleNamespace(ids=[1])


def test_bench_without_a_bar_estimates_the_time_and_logs_progress(monkeypatch, caplog):
    from discmot.engine import speed

    monkeypatch.setattr(speed, "LOG_INTERVAL", 0.0)  # a line a frame instead of a line every 30 s
    frames = [np.zeros((2, 2, 3), np.uint8)] * 5
    with caplog.at_level(logging.INFO, logger="discmot"):
        speed.measure_speed(SlowTracker(0.3), "fdta", frames, warmup=1, progress=False, name="FDTA fp32")
    lines = [r.getMessage() for r in caplog.records]
    assert re.fullmatch(
        r"FDTA fp32: the first frame took 0\.[34] s: about [12] s for the 4 frames left", lines[0]
    )
    assert len(lines) == 5
    for k, line in enumerate(lines[1:], 1):  # as track's log lines: done, speed, time left
        assert re.fullmatch(rf"FDTA fp32: {k}/4 frames, [0-9.]+ fps(, about [0-9] s left)?", line), line
    assert "left" in lines[1] and "left" not in lines[4]


def test_bench_says_what_it_will_time_before_the_first_run(capsys, caplog, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # no busy-cores hint on a shared machine
    with caplog.at_level(logging.INFO, logger="discmot"):
        argv = ["bench", "--model", "fdta", "--preset", "tiny", "--size", "64x64", "--frames", "1"]
        assert main([*argv, "--warmup", "0", "--device", "cpu"]) == 0
    # the slow steps before the first timed frame (1080p: seconds to render, a minute to fire) are said
    assert [r.getMessage() for r in caplog.records][:3] == [
        "FDTA: rendering 1 frame of the synthetic scene",
        "timing FDTA (tiny with random weights) in fp32: 0 warm-up and 1 timed frames of 64x64 each",
        "FDTA: making the random network fire on the frames first",
    ]


# --- 5. the model of a checkpoint, and the bundled ones ------------------------------------------------


@pytest.mark.parametrize("given", ["file", "run folder"])
def test_track_takes_the_model_from_a_checkpoints_metadata(given, sequence, tmp_path, caplog):
    run = tmp_path / "runs" / "f2"
    run.mkdir(parents=True)
    weights = shutil.copy(FDTA_TINY, run / "model.safetensors")  # a run's final weights
    weights = weights if given == "file" else run
    argv = ["track", str(sequence), "--weights", str(weights), "--max-frames", "2"]
    with caplog.at_level(logging.INFO, logger="discmot"):
        assert main([*argv, "--save-txt", str(tmp_path / "r.txt")]) == 0
    assert f"{weights}: a FDTA checkpoint (its metadata says): --model fdta" in caplog.text
    assert caplog.text.count("a run folder; loading its final weights") == (given == "run folder")
    assert (tmp_path / "r.txt").is_file()


@pytest.mark.parametrize(
    "argv, words",
    [
        # an official file says no kind: the error stays
        (["--weights", "{tmp}/w.pth"], "--model jde runs no network of its own: --weights is an option"),
        (["--weights", "bundled"], "--weights bundled is the demo's tiny model of --model fdta or cstrack"),
        (["--model", "jde", "--weights", "bundled"], "--weights bundled is the demo's tiny model"),
        (["--model", "cstrack"], "--model cstrack needs --weights CHECKPOINT"),
        (["--model", "fdta"], "the demo's tiny one (trained on synthetic scenes only): --weights bundled"),
    ],
)
def test_weights_that_name_no_model_are_refused_saying_what_to_give(argv, words, sequence, tmp_path, capsys):
    (tmp_path / "w.pth").write_bytes(b"not read")
    assert main(["track", str(sequence), *[a.format(tmp=tmp_path) for a in argv]]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err


@pytest.mark.parametrize("kind", ["fdta", "cstrack"])
def test_weights_bundled_are_the_models_tiny_checkpoint(kind, sequence, tmp_path, caplog):
    argv = ["track", str(sequence), "--model", kind, "--weights", "bundled", "--max-frames", "2"]
    with caplog.at_level(logging.INFO, logger="discmot"):
        assert main([*argv, "--save-txt", str(tmp_path / "r.txt")]) == 0
    assert str(FDTA_TINY if kind == "fdta" else CSTRACK_TINY) in caplog.text  # what it loaded


def test_bench_takes_the_model_from_a_checkpoints_metadata(tmp_path, capsys):
    weights = shutil.copy(CSTRACK_TINY, tmp_path / "mine.safetensors")
    argv = ["bench", "--weights", str(weights), "--size", "64x64", "--frames", "1", "--warmup", "0"]
    assert main([*argv, "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"CSTrack {weights} fp32 on cpu") and "FDTA" not in out


def test_no_detections_name_the_models_that_detect_for_themselves(tmp_path, capsys):
    folder = tmp_path / "frames"
    folder.mkdir()
    import cv2

    cv2.imwrite(str(folder / "1.png"), np.zeros((64, 64, 3), np.uint8))
    assert main(["track", str(folder)]) == 2
    assert "--model fdta or cstrack --weights CKPT; --weights bundled" in capsys.readouterr().err


# --- 6. the output filter, when it dropped every box --------------------------------------------------


def test_no_one_tracked_because_the_output_filter_dropped_them_is_said(caplog):
    from discmot.engine.track_end_to_end import _filtered_rows, _warn_if_nobody_tracked
    from discmot.structures import Detections
    from discmot.trackers.association import JDETracker, JDETrackerConfig

    association = JDETracker(JDETrackerConfig.preset("cstrack", None, output_filter=True))
    wide = Detections(np.array([[10.0, 10.0, 60.0, 40.0]]), np.array([0.9]), None)  # w/h 1.5: no person
    rows = sum(len(association.update(wide).ids) for _ in range(5))
    tracker = types.SimpleNamespace(association=association)  # as CSTrackTracker holds it
    summary = {"frames": 5, "rows": rows}
    with caplog.at_level(logging.WARNING, logger="discmot"):
        _warn_if_nobody_tracked("seq", [summary], _filtered_rows(tracker))
    assert rows == 0 and _filtered_rows(tracker) == 4  # confirmed from the second frame on
    (said,) = [r.getMessage() for r in caplog.records if "no object tracked" in r.getMessage()]
    assert "the pedestrian output filter dropped all 4 confirmed track boxes" in said
    assert "--no-output-filter" in said and "--track-thresh" not in said


def test_a_split_cstrack_tracked_no_one_in_says_it_was_the_output_filter(tmp_path, caplog):
    # the bundled CSTrack on dancers: every confirmed box is wider than 0.6 of its height
    generate_dataset(tmp_path / "data", "dancetrack", split="val", sequences=1, frames=30)
    argv = ["track", str(tmp_path / "data" / "val"), "--model", "cstrack", "--weights", "bundled"]
    with caplog.at_level(logging.WARNING, logger="discmot"):
        assert main([*argv, "--split-out", str(tmp_path / "out")]) == 0
    (said,) = [r.getMessage() for r in caplog.records if "no object tracked" in r.getMessage()]
    assert "in 30 frames: the pedestrian output filter dropped all" in said and "--no-output-filter" in said


# --- 7. small ones ------------------------------------------------------------------------------------


def test_the_no_ground_truth_caveat_says_how_each_verb_takes_one():
    from discmot.analysis.extract import tracker_ids_caveat

    caveat = tracker_ids_caveat("fdta")
    # demo has no --gt: its sequence folder as the source is how it gets one
    assert "gt/gt.txt as the source, in discmot analyze and demo; discmot analyze also takes --gt" in caveat
    assert "gt" not in vars(build_parser().parse_args(["demo"]))


def test_convert_takes_a_run_folder_as_track_does(tmp_path, caplog):
    run = tmp_path / "runs" / "f2"
    run.mkdir(parents=True)
    shutil.copy(CSTRACK_TINY, run / "model.safetensors")
    with caplog.at_level(logging.INFO, logger="discmot"):
        assert main(["convert", str(run), str(tmp_path / "out.pth")]) == 0
    assert (tmp_path / "out.pth").is_file() and "a run folder; loading its final weights" in caplog.text


def test_ctrl_c_during_track_says_nothing_was_written_and_the_old_file_is_kept(tmp_path, capsys, monkeypatch):
    frames = tmp_path / "frames"
    frames.mkdir()
    import cv2

    import discmot.cli.track as track_verb

    for number in range(1, 400):
        cv2.imwrite(str(frames / f"{number}.png"), np.full((64, 96, 3), number % 255, np.uint8))
    results = tmp_path / "r.txt"
    results.write_text("older results\n")
    timer = threading.Timer(1.0, __import__("_thread").interrupt_main)  # as Ctrl-C does
    real_run = track_verb._run_track

    def run_then_interrupt(args):
        # the clock starts with the verb, not before main() parses: on a loaded machine parsing alone
        # could take the second, and an interrupt there is not the one this test is about
        timer.start()
        return real_run(args)

    monkeypatch.setattr(track_verb, "_run_track", run_then_interrupt)
    try:
        argv = ["track", str(frames), "--model", "fdta", "--weights", "bundled", "--save-txt", str(results)]
        status = main(argv)
    finally:
        timer.cancel()
    assert status == 130
    assert capsys.readouterr().err.endswith(
        f"discmot: interrupted: {results} not written (an older file there is kept as it was)\n"
    )
    assert results.read_text() == "older results\n" and sorted(os.listdir(tmp_path)) == ["frames", "r.txt"]
