"""Follow-ups of the CLI polish of 2026-11-24 (two user journeys): the busy-cores hint of ``analyze`` and
``train`` after their input checks, progress lines of ``demo``, ``analyze`` and ``show`` without a
terminal, the frames ``show`` draws on grey summed up, and the benchmark scripts' options never
abbreviated."""

from __future__ import annotations

import ast
import importlib
import logging
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from discmot.cli import main
from discmot.data.synth import generate_dataset

ROOT = Path(__file__).resolve().parents[1]
CSTRACK_TINY = ROOT / "src" / "discmot" / "assets" / "cstrack_tiny_synth.safetensors"
BENCH_DIR = ROOT / "benchmarks"
BUSY = "keep the CPUs busy"


@pytest.fixture(scope="module")
def sequence(tmp_path_factory) -> Path:
    """A 12-frame 128x80 synthetic sequence (img1/, gt/gt.txt, seqinfo.ini)."""
    (folder,) = generate_dataset(tmp_path_factory.mktemp("followups"), "tiny", sequences=1)
    return folder


def busy(monkeypatch, load: float = 1.9) -> None:
    """This machine's load average said to be ``load`` on 2 cores (the hint's inputs, not the hint)."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    monkeypatch.setattr("discmot.engine.run_environment.usable_cores", lambda: 2)


def hints(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if BUSY in r.getMessage()]


def every_update_logged(monkeypatch) -> None:
    """`LoggedProgress` (track's lines without a terminal) logs after every frame instead of every minute."""
    from discmot.engine.infer import LoggedProgress

    monkeypatch.setattr(LoggedProgress.__init__, "__defaults__", (0.0,))


# --- 1. the busy-cores hint after the input checks -------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        ["--weights", "missing.safetensors"],  # a checkpoint that is not there
        ["--weights", str(CSTRACK_TINY), "--gt", "missing_gt.txt"],
        ["--weights", str(CSTRACK_TINY), "--frames", "9", "--max-frames", "5"],
    ],
)
def test_analyze_says_no_busy_cores_hint_before_an_input_error(
    extra, sequence, tmp_path, monkeypatch, caplog
):
    busy(monkeypatch)
    with caplog.at_level(logging.INFO, logger="discmot"):
        code = main(["analyze", str(sequence), "--model", "cstrack", *extra, "--out", str(tmp_path / "a")])
    assert code == 2 and not hints(caplog)


@pytest.mark.parametrize(
    "extra",
    [
        ["--model", "cstrack", "--weights", "missing.pt"],  # a checkpoint that is not there
        ["--source", "missing.mp4"],  # a source that is not there
    ],
)
def test_the_demo_says_no_busy_cores_hint_before_an_input_error(extra, tmp_path, monkeypatch, caplog):
    busy(monkeypatch)
    with caplog.at_level(logging.INFO, logger="discmot"):
        code = main(["demo", *extra, "--out", str(tmp_path / "d")])
    assert code == 2 and not hints(caplog)


def test_analyze_says_no_busy_cores_hint_for_a_sequence_without_images(
    sequence, tmp_path, monkeypatch, caplog, capsys
):
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(sequence / "seqinfo.ini", bare)  # no img1/: nothing to run the model on
    busy(monkeypatch)
    argv = ["analyze", str(bare), "--model", "cstrack", "--weights", str(CSTRACK_TINY)]
    with caplog.at_level(logging.INFO, logger="discmot"):
        assert main([*argv, "--out", str(tmp_path / "a")]) == 2
    assert not hints(caplog)
    error = capsys.readouterr().err
    assert error == f"discmot: error: {bare}: the source has no images to run the model on\n"


def test_analyze_says_the_busy_cores_hint_once_the_analysis_starts(sequence, tmp_path, monkeypatch, caplog):
    busy(monkeypatch)
    argv = ["-q", "analyze", str(sequence), "--model", "cstrack", "--weights", str(CSTRACK_TINY)]
    with caplog.at_level(logging.INFO, logger="discmot"):
        assert main([*argv, "--max-frames", "3", "--out", str(tmp_path / "a")]) == 0
    (said,) = hints(caplog)
    assert said.levelno == logging.WARNING and "(load average 1.9 on 2 cores)" in said.getMessage()


@pytest.mark.parametrize(
    "extra",
    [
        ["--data-root", "{missing}"],  # fdta: the split folder is not there
        ["--data-root", "{root}", "--set", "train.epochs=x"],  # a --set value of the wrong type
    ],
)
def test_train_says_no_busy_cores_hint_before_an_input_error(extra, sequence, tmp_path, monkeypatch, caplog):
    busy(monkeypatch)
    words = [w.format(missing=tmp_path / "none", root=sequence.parents[1]) for w in extra]
    with caplog.at_level(logging.INFO, logger="discmot"):
        assert main(["train", "--config", "tiny", *words]) == 2
    assert not hints(caplog)


def test_train_says_the_busy_cores_hint_just_before_training(sequence, tmp_path, monkeypatch, caplog):
    started = []

    def launch(build, config, run_dir, **options):  # stands in for the training itself
        started.append(len(hints(caplog)))

    monkeypatch.setattr("discmot.engine.train.launch", launch)
    busy(monkeypatch)
    root = sequence.parents[1]  # <root>/train/<sequence>
    with caplog.at_level(logging.INFO, logger="discmot"):
        assert main(["train", "--config", "tiny", "--data-root", str(root), "--run-dir", str(tmp_path)]) == 0
    assert started == [1] and len(hints(caplog)) == 1


def test_the_demo_calls_on_start_only_once_its_inputs_checked_out(sequence, tmp_path):
    from discmot.engine.demo import DemoConfig, DemoModel, run_demo

    started = []
    missing = [DemoModel("cstrack", tmp_path / "missing.safetensors")]
    with pytest.raises(FileNotFoundError, match="missing.safetensors"):
        run_demo(tmp_path / "d", source=sequence, models=missing, on_start=lambda: started.append(1))
    with pytest.raises(ValueError, match="none.mp4"):
        run_demo(tmp_path / "d", source=tmp_path / "none.mp4", on_start=lambda: started.append(1))
    assert started == [] and not (tmp_path / "d").exists()
    config = DemoConfig(analyze_frames=2, source_frames=3)
    models = [DemoModel("cstrack", CSTRACK_TINY)]
    run_demo(tmp_path / "d", config, source=sequence, models=models, on_start=lambda: started.append(1))
    assert started == [1]


# --- 2. progress lines without a terminal ----------------------------------------------------------


def test_analyze_without_a_terminal_says_it_starts_then_logs_its_progress(
    sequence, tmp_path, monkeypatch, caplog
):
    from discmot.analysis.analyze import analyze

    every_update_logged(monkeypatch)
    with caplog.at_level(logging.INFO, logger="discmot"):
        analyze(sequence, "cstrack", CSTRACK_TINY, tmp_path, max_frames=3, progress=False)
    lines = [r.getMessage() for r in caplog.records]
    name = sequence.name
    assert f"{name}: analysing the embeddings of cstrack (reid) over 3 frames" in lines
    progress = [line for line in lines if line.startswith(f"{name} (analyze cstrack): ")]
    assert [line.split(",")[0] for line in progress] == [
        f"{name} (analyze cstrack): {k}/3 frames" for k in (1, 2, 3)
    ]
    assert lines.index(f"{name}: analysing the embeddings of cstrack (reid) over 3 frames") < lines.index(
        progress[0]
    )


def results_of_gt(sequence: Path, path: Path) -> Path:
    """The sequence's gt rows as a MOTChallenge results file (score 1)."""
    rows = np.loadtxt(sequence / "gt" / "gt.txt", delimiter=",", ndmin=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "".join(f"{int(r[0])},{int(r[1])},{r[2]},{r[3]},{r[4]},{r[5]},1,-1,-1,-1\n" for r in rows)
    )
    return path


def test_the_demo_video_is_drawn_with_progress_lines_without_a_terminal(
    sequence, tmp_path, monkeypatch, caplog
):
    from discmot.engine.demo import DemoConfig, draw_video

    results = {"cstrack": results_of_gt(sequence, tmp_path / "cstrack.txt")}
    every_update_logged(monkeypatch)
    with caplog.at_level(logging.INFO, logger="discmot"):
        drawn = draw_video(sequence, results, tmp_path / "d.mp4", tmp_path / "d.gif", DemoConfig(), False)
    assert drawn["mp4_frames"] == 12
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == f"{sequence.name}: drawing the tracks of cstrack into d.mp4 and d.gif"
    assert [line.split(",")[0] for line in lines[1:]] == [
        f"{sequence.name} (draw): {k}/12 frames" for k in range(1, 13)
    ]


def write_video(path: Path, frames: int, size=(64, 48)) -> Path:
    from discmot.io.video import VideoWriter

    with VideoWriter(path, 10.0, size) as writer:
        for k in range(frames):
            writer.write(np.full((size[1], size[0], 3), 20 * k, np.uint8))
    return path


def test_show_says_it_reads_the_frames_before_the_first_one_drawn(tmp_path, caplog):
    from discmot.viz.show import show_sequence

    video = write_video(tmp_path / "clip.mp4", 8)
    results = tmp_path / "clip.txt"
    results.write_text("".join(f"{k},1,5,5,20,20,1,-1,-1,-1\n" for k in range(1, 9)))
    with caplog.at_level(logging.INFO, logger="discmot"):
        summary = show_sequence(video, results, tmp_path / "part.mp4", frames=(6, 7), progress=False)
    assert summary["frames"] == 2
    assert caplog.records[0].getMessage() == "clip: reading frames 1-5 to reach frame 6"


# --- 4. show: frames drawn on grey, summed up -----------------------------------------------------


def test_show_warns_of_the_first_frame_drawn_on_grey_then_sums_up_the_others(sequence, tmp_path, caplog):
    from discmot.viz.show import show_sequence

    holed = tmp_path / sequence.name
    shutil.copytree(sequence, holed)
    images = sorted((holed / "img1").iterdir())
    for image in images[2:5] + images[8:9]:  # frames 3-5 and 9: no image file
        image.unlink()
    images[6].write_bytes(b"not an image")  # frame 7
    results = results_of_gt(sequence, tmp_path / "r.txt")
    with caplog.at_level(logging.WARNING, logger="discmot.viz"):
        summary = show_sequence(holed, results, tmp_path / "s.mp4", progress=False)
    assert summary["frames"] == 12  # the timing kept: every frame drawn, the missing ones on grey
    assert [r.getMessage() for r in caplog.records] == [
        f"{holed}: frame 3 has no image file; drawn on grey",
        f"{holed}: 5 frames drawn on grey in all: frames 3-5, 9 have no image file; frame 7 is not a "
        f"readable image ({images[6]})",
    ]


def test_one_frame_drawn_on_grey_is_said_once(sequence, tmp_path, caplog):
    from discmot.viz.show import show_sequence

    holed = tmp_path / sequence.name
    shutil.copytree(sequence, holed)
    sorted((holed / "img1").iterdir())[3].unlink()
    results = results_of_gt(sequence, tmp_path / "r.txt")
    with caplog.at_level(logging.WARNING, logger="discmot.viz"):
        show_sequence(holed, results, tmp_path / "s.mp4", progress=False)
    assert [r.getMessage() for r in caplog.records] == [f"{holed}: frame 4 has no image file; drawn on grey"]


# --- 3. the benchmark scripts take no abbreviated option ------------------------------------------


def parser_calls(path: Path) -> list[ast.Call]:
    """The ``argparse.ArgumentParser(...)`` calls of a script."""
    calls = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr == "ArgumentParser":
                calls.append(node)
    return calls


def test_no_benchmark_parser_takes_an_abbreviated_option():
    scripts = {path.name: parser_calls(path) for path in sorted(BENCH_DIR.glob("*.py"))}
    built = {name: calls for name, calls in scripts.items() if calls}
    assert len(built) >= 10  # run_all, trackeval_mot, synth_speed, fdta_ablation, ...
    allowing = [
        name
        for name, calls in built.items()
        for call in calls
        if not any(
            k.arg == "allow_abbrev" and isinstance(k.value, ast.Constant) and k.value.value is False
            for k in call.keywords
        )
    ]
    assert allowing == []


@pytest.fixture
def benchmarks_importable(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH_DIR))  # a folder of scripts, not a package


@pytest.mark.parametrize(
    "module, argv, unknown",
    [
        ("run_all", ["--quic"], "--quic"),  # was --quick: a whole smoke run of every benchmark
        ("trackeval_mot", ["--gt", "G", "--trackers-folder", "T", "--output-folder", "O"], "--gt G"),
        ("fdta_ablation", ["--seed", "1"], "--seed 1"),  # was --seeds
    ],
)
def test_a_benchmark_script_refuses_an_abbreviated_option(
    benchmarks_importable, module, argv, unknown, capsys
):
    script = importlib.import_module(module)
    with pytest.raises(SystemExit) as stop:
        script.parse_args(argv)
    assert stop.value.code == 2
    error = capsys.readouterr().err
    assert re.search(rf"unrecognized arguments: {re.escape(unknown)}|required: --gt-folder", error), error
