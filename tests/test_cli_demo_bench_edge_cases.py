"""Edge cases of the verbs `discmot demo` (`discmot.cli.demo`) and `discmot bench` (`discmot.cli.bench`)
that their end-to-end tests leave open: which settings and models the command line hands to the library,
the lower bound of ``--frames``, the closing summary's lines and file list, and the numbers bench prints.

The library's slow steps (`discmot.engine.demo.run_demo`, `discmot.eval.runner.evaluate`) are replaced by
stand-ins that record what they are given; expected values come from the help texts, the epilogs and the
docstrings of `discmot.cli.demo`, `discmot.cli.bench` and `discmot.engine.demo_config`.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from discmot.cli import main
from discmot.engine.demo_config import DemoConfig, DemoModel, bundled_weights

# --------------------------------------------------------------------------------------------------
# demo: what the command line hands to run_demo


def _summary(out: str, tracking=("fdta",)) -> dict:
    """A `run_demo` summary of the documented shape, of a user's source (no scores)."""
    return {
        "source": "clip.mp4",
        "rendered": False,
        "tracking": {
            name: {"frames": 5, "fps": 12.34, "ids": 3, "save_txt": f"{out}/results/{name}/data/clip.txt"}
            for name in tracking
        },
        "not_scored": "no ground truth (a sequence folder with gt/gt.txt and seqinfo.ini is scored)",
        "input_size": {name: None for name in tracking},
        "analysis": {name: {"decoder": None, "adapted": 0.5} for name in tracking},
        "reports": {name: f"{out}/analysis/{name}/report.html" for name in tracking},
        "seconds": {"track": 1.25, "draw": 2.5},
        "mp4_frames": 5,
        "gif_frames": 2,
    }


@pytest.fixture()
def fake_run_demo(monkeypatch):
    """Replaces `run_demo` by a stand-in that records its arguments and returns `_summary`."""
    import discmot.engine.demo as library

    calls: list[dict] = []

    def run_demo(out, config, source=None, models=None, progress=False, on_start=None):
        calls.append({"out": out, "config": config, "source": source, "models": models})
        return _summary(str(out), tuple(m.kind for m in models))

    monkeypatch.setattr(library, "run_demo", run_demo)
    return calls


def test_demo_without_options_runs_the_default_scene_with_both_bundled_models(
    fake_run_demo, tmp_path, monkeypatch
):
    """No arguments (`make demo`): out ``outputs/demo``, `DemoConfig`'s scene of 150 frames and 80 analysed
    ones, both bundled models each at its own input size (None)."""
    monkeypatch.chdir(tmp_path)
    assert main(["demo"]) == 0
    (call,) = fake_run_demo
    assert call["out"] == "outputs/demo" and call["source"] is None
    assert (
        call["config"] == DemoConfig()
        and call["config"].frames == 150
        and call["config"].analyze_frames == 80
    )
    assert call["models"] == [DemoModel(k, bundled_weights(k), None) for k in ("fdta", "cstrack")]


@pytest.mark.parametrize("flag", ["--frames", "--analyze-frames"])
def test_demo_takes_2_frames_and_refuses_1(flag, fake_run_demo, tmp_path, capsys):
    """``--frames`` and ``--analyze-frames`` must be at least 2 (`_run_demo`): 2 runs, 1 is refused."""
    out = str(tmp_path / "o")
    assert main(["demo", "--out", out, flag, "2"]) == 0
    config = fake_run_demo[0]["config"]
    assert (config.frames if flag == "--frames" else config.analyze_frames) == 2
    assert main(["demo", "--out", out, flag, "1"]) == 2
    assert "--frames and --analyze-frames must be at least 2" in capsys.readouterr().err
    assert len(fake_run_demo) == 1


def test_demo_of_a_source_caps_its_frames_and_warns_about_the_bundled_models(fake_run_demo, tmp_path, caplog):
    """With ``--source``, ``--frames N`` is "only the first N frames of --source" (source_frames), the scene's
    length stays the default; the bundled tiny models are said to find few people on real video."""
    with caplog.at_level(logging.WARNING, logger="discmot"):
        assert main(["demo", "--source", "clip.mp4", "--frames", "7", "--out", str(tmp_path / "o")]) == 0
    (call,) = fake_run_demo
    assert call["source"] == "clip.mp4"
    assert call["config"].source_frames == 7 and call["config"].frames == DemoConfig.frames
    assert "the bundled models are tiny networks trained on small synthetic scenes" in caplog.text


def test_demo_with_model_and_weights_runs_that_checkpoint_only_and_does_not_warn(
    fake_run_demo, tmp_path, caplog
):
    """``--model fdta --weights CKPT --input-size HxW``: one model, that checkpoint at that input; no warning
    about the bundled models (they are not used)."""
    argv = ["demo", "--source", "clip.mp4", "--model", "fdta", "--weights", "w.pth", "--input-size", "96x128"]
    with caplog.at_level(logging.WARNING, logger="discmot"):
        assert main([*argv, "--out", str(tmp_path / "o")]) == 0
    (call,) = fake_run_demo
    assert call["models"] == [DemoModel("fdta", "w.pth", (96, 128))]
    assert call["config"].models == ("fdta",)
    assert "bundled models are tiny" not in caplog.text


def test_demo_with_model_only_runs_that_bundled_model_at_the_input_size_given(fake_run_demo, tmp_path):
    """``--model cstrack`` alone: the bundled tiny CSTrack ("default: the bundled tiny one"); ``--input-size``
    is every model's."""
    assert main(["demo", "--model", "cstrack", "--input-size", "96x128", "--out", str(tmp_path / "o")]) == 0
    (call,) = fake_run_demo
    assert call["models"] == [DemoModel("cstrack", bundled_weights("cstrack"), (96, 128))]


# --------------------------------------------------------------------------------------------------
# demo: the closing summary (`_print_summary`, `_written_files`)


def test_the_demo_summary_names_each_model_its_size_fraction_and_the_files_written(
    fake_run_demo, tmp_path, capsys
):
    """A user's video: its source, each model's line (``its own size`` without --input-size, fps to one
    decimal), the fractions (``n/a (...)`` where fewer than two objects were identified), why it is not
    scored, the total seconds, then the files, their names padded to one column."""
    out = str(tmp_path / "o")
    assert main(["demo", "--source", "clip.mp4", "--model", "fdta", "--out", out]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "source: clip.mp4"
    assert printed[1] == "fdta: tracked 5 frames, input its own size, at 12.3 fps, 3 ids"
    assert printed[2] == (
        "fdta: fraction of different-object embedding similarities above 0.9: "
        "decoder n/a (fewer than two objects identified per frame), adapted 0.500"
    )
    assert (
        printed[3]
        == "not scored: no ground truth (a sequence folder with gt/gt.txt and seqinfo.ini is scored)"
    )
    assert printed[4] == f"done in 4 s. Files in {out}/:"
    width = len("results/<model>/data/clip.txt")  # the longest name
    assert printed[5:] == [
        f"  {'demo.mp4, demo.gif':<{width}}  5 frames drawn, 2 in the GIF",
        f"  {'results/<model>/data/clip.txt':<{width}}  each model's tracks",
        f"  {'analysis/fdta/report.html':<{width}}  embedding diagnostics of fdta",
        f"  {'demo.json':<{width}}  what ran, with the seconds of each step",
    ]


def test_the_demo_file_list_of_the_scored_scene_of_two_models(tmp_path):
    """The rendered scene, scored, two models: the metrics, each model's plot, the comparison of the two and
    the rendered data are listed; the reports relative to the output folder (given with a trailing /)."""
    from discmot.cli.demo import _written_files

    summary = {**_summary("out", ("fdta", "cstrack")), "rendered": True, "scores": {}}
    names = [name for name, _ in _written_files(summary, "out/")]
    assert names == [
        "demo.mp4, demo.gif",
        "metrics.md, metrics.json",
        "results/<model>/data/clip.txt",
        "results/<model>/pedestrian_plot.png",
        "results/comparison_deta_assa.png",
        "data/",
        "analysis/fdta/report.html",
        "analysis/cstrack/report.html",
        "demo.json",
    ]
    one = {**_summary("out", ("fdta",)), "rendered": True, "scores": {}}
    assert "results/comparison_deta_assa.png" not in [name for name, _ in _written_files(one, "out")]


# --------------------------------------------------------------------------------------------------
# bench: defaults, what is refused, and what it prints (the library's frames and runs replaced by stand-ins)


def _run(**changes) -> dict:
    """One run of `discmot.engine.bench.bench_runs`: the example of `_run_line`'s docstring."""
    run = {
        "model": "fdta",
        "weights": None,
        "preset": "dancetrack",
        "dtype": "fp32",
        "device": "cpu",
        "frame_size": [1920, 1080],
        "network_input": [800, 1422],
        "fps": 0.0630,
        "ms_per_frame": 15873.6,
        "frames": 3,
        "boxes_per_frame": 19.7,
        "tracks_alive": 34.7,
        "peak_memory_mib": None,
        "stage_ms": {"detection": 30.0, "association": 10.0},
    }
    return {**run, **changes}


@pytest.fixture()
def fake_bench(monkeypatch):
    """`discmot bench` without frames or networks: the scene, the source and the runs are stand-ins that
    record what they are asked for."""
    import discmot.engine.bench as library

    calls: dict[str, list] = {"scene": [], "source": [], "runs": []}

    def synthetic_frames(kind, count, size, seed=0):
        calls["scene"].append((kind, count, size))
        return [f"{kind} frame"] * count

    def source_frames(source, count):
        calls["source"].append((source, count))
        return ["frame"] * calls.get("source_length", count)

    def bench_runs(kind, dtypes, options, frames, progress=False):
        calls["runs"].append((kind, list(dtypes), options, len(frames)))
        for dtype in dtypes:
            yield _run(model=kind, dtype=dtype)

    monkeypatch.setattr(library, "synthetic_frames", synthetic_frames)
    monkeypatch.setattr(library, "source_frames", source_frames)
    monkeypatch.setattr(library, "bench_runs", bench_runs)
    monkeypatch.setattr(library, "machine", lambda device: {"device": str(device)})
    return calls


def test_bench_defaults_time_both_models_on_20_frames_after_3_of_a_1920x1080_scene(fake_bench, tmp_path):
    """Without options (bench's help): both trackers, ``--frames`` 20 after ``--warmup`` 3, each on its
    synthetic scene of 1920x1080 (the papers' videos), in fp32; the JSON records that scene and seed 0."""
    out = tmp_path / "bench.json"
    assert main(["bench", "--device", "cpu", "--json", str(out)]) == 0
    assert fake_bench["scene"] == [("fdta", 23, (1920, 1080)), ("cstrack", 23, (1920, 1080))]
    assert [(kind, dtypes, count) for kind, dtypes, _, count in fake_bench["runs"]] == [
        ("fdta", ["fp32"], 23),
        ("cstrack", ["fp32"], 23),
    ]
    assert fake_bench["runs"][0][2].warmup == 3
    import json

    report = json.loads(out.read_text())
    assert report["source"] == {
        "synthetic": {"fdta": "dancetrack", "cstrack": "mot"},
        "size": [1920, 1080],
        "seed": 0,
    }
    assert report["warmup"] == 3 and len(report["runs"]) == 2


def test_bench_of_a_source_of_exactly_the_frames_asked_for_says_no_warning(fake_bench, tmp_path, caplog):
    """A source shorter than ``--warmup + --frames`` is warned about; one of exactly that many frames is
    not short, and every model is timed on those same frames."""
    argv = ["bench", "clip.mp4", "--device", "cpu", "--frames", "4", "--warmup", "1"]
    with caplog.at_level(logging.WARNING, logger="discmot"):
        assert main(argv) == 0
    assert fake_bench["source"] == [("clip.mp4", 5)] and fake_bench["scene"] == []
    assert [count for _, _, _, count in fake_bench["runs"]] == [5, 5]
    assert "fewer than" not in caplog.text


def test_bench_of_a_source_one_frame_short_is_warned_about(fake_bench, caplog):
    """4 frames of the 5 asked for (``--warmup 1 + --frames 4``): said, and the 3 left after the warm-up
    are timed."""
    fake_bench["source_length"] = 4
    argv = ["bench", "clip.mp4", "--model", "cstrack", "--device", "cpu", "--frames", "4", "--warmup", "1"]
    with caplog.at_level(logging.WARNING, logger="discmot"):
        assert main(argv) == 0
    assert "clip.mp4: 4 frames, fewer than the 5 asked for (--warmup 1 + --frames 4): timing 3" in caplog.text


def test_bench_prints_one_line_per_run_as_its_docstring_shows_then_its_stages(fake_bench, capsys):
    """`_run_line`'s example: ``FDTA dancetrack (random weights) fp32 on cpu, 1920x1080 frames (WxH), input
    800x1422 (HxW): 0.0630 frames/s (15874 ms a frame, 3 frames timed), 19.7 boxes and 34.7 tracks a
    frame``; then each stage's milliseconds and share of the frame (30 of 40 ms: 75.0%)."""
    assert main(["bench", "--model", "fdta", "--device", "cpu"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == (
        "FDTA dancetrack (random weights) fp32 on cpu, 1920x1080 frames (WxH), input 800x1422 (HxW): "
        "0.0630 frames/s (15874 ms a frame, 3 frames timed), 19.7 boxes and 34.7 tracks a frame"
    )
    assert [line.split() for line in printed[1:]] == [
        ["30.0", "ms", "75.0%", "detection"],
        ["10.0", "ms", "25.0%", "association"],
    ]


def test_the_run_line_names_given_weights_and_adds_the_peak_memory_on_cuda():
    """With weights the line names the file, not a preset with random weights; a CUDA run's peak memory
    is added in MiB; one frame is ``1 frame``."""
    from discmot.cli.bench import _run_line

    line = _run_line(_run(weights="w.pth", peak_memory_mib=1234.4, frames=1, device="cuda:0"))
    assert line.startswith("FDTA w.pth fp32 on cuda:0, ") and "(random weights)" not in line
    assert "ms a frame, 1 frame timed)" in line
    assert line.endswith("19.7 boxes and 34.7 tracks a frame, peak memory 1234 MiB")
    assert "peak memory" not in _run_line(_run())


@pytest.mark.parametrize(
    ("fps", "text"), [(0.0, "0.0"), (float("inf"), "inf"), (float("nan"), "nan"), (-1.0, "-1.0")]
)
def test_a_frame_rate_of_no_time_is_printed_with_one_decimal(fps, text):
    """`frame_rate_text`: the 3-significant-digit rule needs a positive finite rate; 0, inf, nan and a
    negative value are printed with one decimal (no logarithm of them is taken)."""
    from discmot.cli.bench import frame_rate_text

    assert frame_rate_text(fps) == text


def test_bench_times_each_model_given_once_in_the_order_given(fake_bench, capsys):
    """``--model cstrack fdta cstrack``: each once, in that order; ``--dtype`` values likewise."""
    argv = [
        "bench",
        "--model",
        "cstrack",
        "fdta",
        "cstrack",
        "--dtype",
        "fp32",
        "bf16",
        "fp32",
        "--device",
        "cpu",
    ]
    assert main(argv) == 0
    assert [(kind, dtypes) for kind, dtypes, _, _ in fake_bench["runs"]] == [
        ("cstrack", ["fp32", "bf16"]),
        ("fdta", ["fp32", "bf16"]),
    ]


def test_bench_with_bundled_weights_times_that_one_model(fake_bench, capsys):
    """``--model fdta --weights bundled``: the demo's tiny FDTA, its file given to the runs; only FDTA."""
    assert main(["bench", "--model", "fdta", "--weights", "bundled", "--device", "cpu"]) == 0
    ((kind, _, options, _),) = fake_bench["runs"]
    assert kind == "fdta" and options.weights == str(bundled_weights("fdta"))


def test_bench_options_of_fdta_alone_do_not_stop_a_cstrack_run_and_the_other_way(fake_bench, capsys):
    """``--deform-kernel`` is FDTA's ("FDTA: deformable-attention kernel"): ``triton`` on a CPU does not stop
    a CSTrack-only bench; the multiple-of-32 input rule is CSTrack's: ``--input-size 100x100`` does not
    stop an FDTA-only one."""
    assert main(["bench", "--model", "cstrack", "--deform-kernel", "triton", "--device", "cpu"]) == 0
    assert main(["bench", "--model", "fdta", "--input-size", "100x100", "--device", "cpu"]) == 0
    assert [kind for kind, _, _, _ in fake_bench["runs"]] == ["cstrack", "fdta"]
    assert fake_bench["runs"][1][2].input_size == (100, 100)


def test_a_preset_of_one_model_only_names_the_model_to_give_only_when_both_were_asked(fake_bench, capsys):
    """``--preset cstrack`` with both models: refused, ``(or give --model)``; with ``--model fdta`` the
    same refusal has no such advice (the model was given)."""
    assert main(["bench", "--preset", "cstrack", "--device", "cpu"]) == 2
    assert capsys.readouterr().err.rstrip().endswith("(or give --model)")
    assert main(["bench", "--model", "fdta", "--preset", "cstrack", "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert "--preset cstrack is not a FDTA preset" in err and "(or give --model)" not in err
    assert fake_bench["runs"] == []


# --------------------------------------------------------------------------------------------------
# demo: the closing summary of scored results


@pytest.mark.parametrize("rendered", [True, False])
def test_the_demo_says_how_to_get_the_same_numbers_only_for_its_rendered_scene(rendered, monkeypatch, capsys):
    """Scored results: each model's table, then the metrics table; for the rendered scene (written under
    OUT/data) a line gives the `discmot eval` command that prints the same numbers; a user's scored
    sequence is not under OUT/data, so no such line."""
    import discmot.eval.report as report
    from discmot.cli.demo import _print_summary

    monkeypatch.setattr(report, "format_table", lambda per_sequence, _, name: f"<table of {name}>")
    summary = {**_summary("out"), "rendered": rendered, "scores": {"fdta": {}}, "table": "<metrics table>"}
    summary["not_scored"] = None
    _print_summary(summary, "out")
    printed = capsys.readouterr().out
    assert "\n<table of fdta>\n<metrics table>\n" in printed
    command = (
        "same numbers from: discmot eval --gt-folder out/data --trackers-folder out/results "
        "--benchmark DanceTrack --split val"
    )
    assert (command in printed) is rendered
    assert "not scored" not in printed


# --------------------------------------------------------------------------------------------------
# demo --eval-corpus: where it reads and writes, and its closing lines


@pytest.fixture()
def fake_evaluate(monkeypatch):
    """`evaluate` replaced by a stand-in returning two trackers of two sequences (+ COMBINED); the tables
    by their tracker's name."""
    import discmot.eval.report as report
    import discmot.eval.runner as runner

    calls: list[tuple] = []

    def evaluate(gt_folder, trackers_folder, **kwargs):
        calls.append((gt_folder, trackers_folder, kwargs))
        per_sequence = {"MOT17-02": {}, "MOT17-04": {}, "COMBINED": {}}
        return {"A": per_sequence, "B": per_sequence}

    monkeypatch.setattr(runner, "evaluate", evaluate)
    monkeypatch.setattr(report, "format_table", lambda per_sequence, _, name: f"<table of {name}>")
    return calls


def test_the_eval_corpus_demo_scores_the_corpus_given_into_its_own_default_folder(
    fake_evaluate, tmp_path, monkeypatch, capsys
):
    """``--eval-corpus DIR``: DIR/gt/mot_challenge against DIR/trackers/mot_challenge, MOT17 train, into
    ``outputs/demo-eval-corpus`` (the help's default) with results.json there; the closing lines count the
    trackers and the sequences (COMBINED is none) and give the seconds it took."""
    corpus = tmp_path / "corpus"
    (corpus / "gt" / "mot_challenge").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--eval-corpus", str(corpus)]) == 0
    ((gt, trackers, kwargs),) = fake_evaluate
    out = Path("outputs/demo-eval-corpus")
    assert (gt, trackers) == (corpus / "gt" / "mot_challenge", corpus / "trackers" / "mot_challenge")
    assert kwargs == {
        "benchmark": "MOT17",
        "split": "train",
        "output_folder": out,
        "json_path": out / "results.json",
    }
    printed = capsys.readouterr().out
    assert "<table of A>\n\n<table of B>\n" in printed
    counted = re.search(r"Evaluated 2 trackers x 2 MOT17 sequences in (\d+\.\d\d) s \(", printed)
    assert counted and float(counted.group(1)) < 60  # the seconds of the scoring, not a clock reading
    assert f"all numbers: {out}/results.json" in printed


def test_the_eval_corpus_demo_writes_into_out_when_given(fake_evaluate, tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "gt" / "mot_challenge").mkdir(parents=True)
    assert main(["demo", "--eval-corpus", str(corpus), "--out", str(tmp_path / "mine")]) == 0
    assert fake_evaluate[0][2]["output_folder"] == tmp_path / "mine"


def test_the_shared_folder_is_the_one_discmot_shared_names(tmp_path, monkeypatch):
    """`shared_folder`: ``$DISCMOT_SHARED`` when set, before any ``../shared`` beside the checkout."""
    from discmot.cli.demo import shared_folder

    monkeypatch.setenv("DISCMOT_SHARED", str(tmp_path / "elsewhere"))
    assert shared_folder() == tmp_path / "elsewhere"


def _installed_at(monkeypatch, checkout: Path) -> None:
    """`discmot.cli.demo` as if its checkout were ``checkout`` (its file at src/discmot/cli/demo.py)."""
    import discmot.cli.demo as demo

    monkeypatch.delenv("DISCMOT_SHARED", raising=False)
    monkeypatch.setattr(demo, "__file__", str(checkout / "src" / "discmot" / "cli" / "demo.py"))


def test_without_discmot_shared_the_shared_folder_beside_the_checkout_comes_first(tmp_path, monkeypatch):
    """``../shared`` beside the checkout, when there is one, before one beside the cwd."""
    from discmot.cli.demo import shared_folder

    (tmp_path / "work" / "shared").mkdir(parents=True)
    (tmp_path / "cwd" / "shared").mkdir(parents=True)
    (tmp_path / "cwd" / "here").mkdir()
    _installed_at(monkeypatch, tmp_path / "work" / "discmot")
    monkeypatch.chdir(tmp_path / "cwd" / "here")
    assert shared_folder() == tmp_path / "work" / "shared"


def test_without_discmot_shared_or_one_beside_the_checkout_the_cwds_is_used(tmp_path, monkeypatch):
    """No ``shared`` beside the checkout: the one beside the cwd; with neither, ``../shared`` of the cwd
    (which does not exist: the caller says where it looked)."""
    from discmot.cli.demo import shared_folder

    (tmp_path / "work").mkdir()
    (tmp_path / "cwd" / "here").mkdir(parents=True)
    _installed_at(monkeypatch, tmp_path / "work" / "discmot")
    monkeypatch.chdir(tmp_path / "cwd" / "here")
    assert shared_folder() == tmp_path / "cwd" / "shared"  # not there yet: the last resort
    (tmp_path / "cwd" / "shared").mkdir()
    assert shared_folder() == tmp_path / "cwd" / "shared"


def test_the_demo_file_list_of_a_scored_user_sequence_has_the_metrics_but_no_plots_or_data():
    """A user's sequence with ground truth is scored by `score_sequence` (metrics.json, no TrackEval plots:
    those are `score_scene`'s, the rendered scene's) and nothing is rendered under OUT/data."""
    from discmot.cli.demo import _written_files

    summary = {**_summary("out", ("fdta", "cstrack")), "rendered": False, "scores": {}}
    assert [name for name, _ in _written_files(summary, "out")] == [
        "demo.mp4, demo.gif",
        "metrics.md, metrics.json",
        "results/<model>/data/clip.txt",
        "analysis/fdta/report.html",
        "analysis/cstrack/report.html",
        "demo.json",
    ]


# --------------------------------------------------------------------------------------------------
# bench: refusals before any model is timed


def test_weights_with_two_models_are_refused_even_when_the_weights_exist(fake_bench, capsys):
    """``--weights`` is one model's (`_models`): with ``--model fdta cstrack`` it is refused, naming what to
    give, though ``bundled`` is a file of the first of them."""
    argv = ["bench", "--model", "fdta", "cstrack", "--weights", "bundled", "--device", "cpu"]
    assert main(argv) == 2
    assert "--weights is one model's: give --model fdta or --model cstrack with it" in capsys.readouterr().err
    assert fake_bench["runs"] == []


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (["--input-size", "100x100"], "multiples of 32"),  # CSTrack's rule, with both models
        (["--json", "{tmp}/a-file/bench.json"], "a file is in the way"),
    ],
)
def test_bench_refuses_a_setting_before_any_model_is_timed(options, words, fake_bench, tmp_path, capsys):
    """`_check_arguments`: "what can be refused before any frame is made or network built" -- CSTrack's
    input size and an unwritable ``--json`` stop the bench before FDTA (timed first) is timed."""
    (tmp_path / "a-file").write_text("not a folder")
    argv = ["bench", "--device", "cpu", *[option.format(tmp=tmp_path) for option in options]]
    assert main(argv) == 2
    assert words in capsys.readouterr().err
    assert fake_bench["runs"] == [] and fake_bench["scene"] == []
