"""Values no run could use are refused by the parser, naming the option, before anything is loaded."""

from __future__ import annotations

import pytest

from discmot.cli import build_parser


@pytest.mark.parametrize(
    "argv, words",
    [
        (["synth", "--preset", "tiny", "--out", "o", "--size", "100000x100000"], "at most 8192"),
        (["synth", "--preset", "tiny", "--out", "o", "--size", "16x16"], "too small"),
        (["synth", "--preset", "tiny", "--out", "o", "--seed", "-1"], "at least 0"),
        (["synth", "--preset", "tiny", "--out", "o", "--frames", "0"], "at least 1"),
        (["synth", "--preset", "tiny", "--out", "o", "--sequences", "0"], "at least 1"),
        (["track", "v.mp4", "--input-size", "8000x8000"], "at most 4096"),
        (["track", "v.mp4", "--input-size", "160"], "HEIGHTxWIDTH"),
        (["track", "v.mp4", "--frame-rate", "inf"], "positive number of frames per second"),
        (["eval", "--gt-folder", "g", "--trackers-folder", "t", "--workers", "0"], "at least 1"),
        (["track", "v.mp4", "--max-frames", "0"], "at least 1"),
        (["track", "v.mp4", "--conf", "nan"], "finite number"),
        (["track", "v.mp4", "--birth-thresh", "inf"], "finite number"),
        (["track", "v.mp4", "--model", "fdta", "--id-thresh", "1.5"], "[0, 1]"),
        (["track", "v.mp4", "--model", "fdta", "--miss-tolerance", "1"], "at least 2"),
        (
            ["analyze", "v.mp4", "--model", "fdta", "--weights", "w", "--out", "o", "--max-frames", "0"],
            "at least 1",
        ),
        (
            ["analyze", "v.mp4", "--model", "fdta", "--weights", "w", "--out", "o", "--frames", "-3"],
            "at least 1",
        ),
        (
            ["analyze", "v.mp4", "--model", "fdta", "--weights", "w", "--out", "o", "--threshold", "nan"],
            "[-1, 1]",
        ),
    ],
)
def test_unusable_values_are_refused_by_the_parser(argv, words, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and words in err and f"argument {argv[-2]}" in err


def test_the_edges_of_what_is_accepted_parse():
    args = build_parser().parse_args(["track", "v.mp4", "--input-size", "4096x32", "--frame-rate", "0.5"])
    assert args.input_size == (4096, 32) and args.frame_rate == 0.5
    args = build_parser().parse_args(["analyze", "v", "--model", "fdta", "--weights", "w", "--out", "o",
                                      "--threshold", "-1", "--max-frames", "1"])  # fmt: skip
    assert args.threshold == -1.0 and args.max_frames == 1
    # precomputed detections may score outside [0, 1] (MOT17's DPM: -1 to 30)
    args = build_parser().parse_args(
        ["track", "v", "--conf", "-0.5", "--track-thresh", "12", "--id-thresh", "1"]
    )
    assert (args.conf, args.track_thresh, args.id_thresh) == (-0.5, 12.0, 1.0)


@pytest.mark.parametrize("split", ["../x", "a/b", "", ".."])
def test_a_split_is_a_plain_folder_name(split, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["synth", "--preset", "tiny", "--out", "o", "--split", split])
    assert "plain folder name" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, named",
    [
        (["track", "data/val", "--model", "fdta", "--weights", ""], "--weights"),
        (["track", "", "--model", "fdta"], "SOURCE"),
        (["eval", "--gt-folder=", "--trackers-folder", "t"], "--gt-folder"),
        (["train", "--config", "tiny", "--data-root", "d", "--set", "train.epochs=1", "--set", ""], "--set"),
        (["convert", "in.safetensors", ""], "TARGET"),
    ],
)
def test_an_empty_argument_is_named_before_anything_runs(argv, named, tmp_path, monkeypatch, capsys):
    # "" as a path would be the current folder: the error would name "." instead of the empty argument
    from discmot.cli import main

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and f"error: {named} is empty" in err
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_convert_refuses_a_target_it_cannot_write_as_asked(tmp_path, capsys):
    from discmot.cli import main
    from discmot.engine.demo import bundled_weights

    source = bundled_weights("cstrack")
    for target, words in (
        (tmp_path / "x.bin", "the output suffix picks the format"),
        (tmp_path, "the output suffix picks the format"),
        (source, "would overwrite the input"),
    ):
        assert main(["convert", str(source), str(target)]) == 2
        assert words in capsys.readouterr().err
    assert main(["convert", str(source), str(tmp_path / "x.SAFETENSORS")]) == 0
    from discmot.io.safetensors_format import read_safetensors

    assert read_safetensors(tmp_path / "x.SAFETENSORS")[1]["kind"] == "cstrack"


@pytest.mark.parametrize("verb", ["demo", "analyze"])
def test_an_output_folder_that_is_a_file_is_named_and_kept(verb, tmp_path, capsys):
    from discmot.cli import main
    from discmot.engine.demo import bundled_weights

    out = tmp_path / "notes.txt"
    out.write_text("keep me")
    if verb == "demo":
        argv = ["demo", "--out", str(out), "--frames", "5", "--analyze-frames", "5"]
    else:
        from discmot.data.synth import generate_dataset

        (sequence,) = generate_dataset(tmp_path / "d", "tiny", sequences=1, frames=3)
        weights = str(bundled_weights("fdta"))
        argv = ["analyze", str(sequence / "img1"), "--model", "fdta", "--weights", weights, "--out", str(out)]
    status = main(argv)
    assert status == 2 and f"{out}: not a folder (a file is in the way)" in capsys.readouterr().err
    assert out.read_text() == "keep me"


# --------------------------------------------------------------------------------------------------
# Choice lists come from their source of truth, or agree with it


def action_of(verb: str, option: str):
    import argparse

    verbs = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return next(a for a in verbs.choices[verb]._actions if option in a.option_strings)


def choices_of(verb: str, option: str) -> list:
    return list(action_of(verb, option).choices)


def test_model_choices_are_the_registrys():
    from discmot.engine.end_to_end import END_TO_END
    from discmot.models.cstrack.config import PRESETS as CSTRACK_PRESETS
    from discmot.models.fdta.config import PRESETS as FDTA_PRESETS
    from discmot.models.registry import DTYPES, MODEL_KINDS

    assert choices_of("track", "--model") == ["jde", *END_TO_END]
    assert set(END_TO_END) == set(MODEL_KINDS)
    for verb in ("analyze", "convert", "demo"):
        assert choices_of(verb, "--model") == list(MODEL_KINDS)
    for verb in ("track", "convert"):
        assert set(choices_of(verb, "--preset")) == set(FDTA_PRESETS) | set(CSTRACK_PRESETS)
    assert choices_of("track", "--dtype") == list(DTYPES)


def test_choices_written_out_agree_with_their_sources():
    """Lists the parser cannot import without scipy, OpenCV or torch."""
    from discmot.data.synth.presets import PRESETS as SYNTH_PRESETS
    from discmot.eval.runner import METRICS
    from discmot.ops.deform_attn_triton import DEFORM_KERNEL_CHOICES
    from discmot.trackers.association import TRACKER_PRESETS

    assert set(choices_of("track", "--tracker-preset")) == set(TRACKER_PRESETS)
    assert choices_of("track", "--deform-kernel") == list(DEFORM_KERNEL_CHOICES)
    assert set(choices_of("synth", "--preset")) == set(SYNTH_PRESETS)
    assert set(choices_of("eval", "--metrics")) == set(METRICS) - {"Count"}  # Count: always computed


def test_defaults_written_out_in_help_agree_with_their_sources():
    from discmot.engine.demo import DemoConfig

    assert f"(default: {DemoConfig.analyze_frames}," in action_of("demo", "--analyze-frames").help
    assert f"(default: {DemoConfig.frames})" in action_of("demo", "--frames").help


def test_building_the_parser_imports_no_heavy_library():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from discmot.cli import build_parser\n"
        "build_parser()\n"
        "heavy = [m for m in ('torch', 'scipy', 'cv2', 'numpy', 'onnxruntime') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    "terminal, quiet, shown", [(True, False, True), (True, True, False), (False, False, False)]
)
def test_progress_bars_show_on_a_terminal_unless_quiet(monkeypatch, terminal, quiet, shown):
    import argparse
    import sys

    from discmot.cli.arguments import show_progress

    monkeypatch.setattr(sys.stderr, "isatty", lambda: terminal)
    assert show_progress(argparse.Namespace(quiet=quiet)) is shown


@pytest.mark.parametrize(
    "load, cores, environment, spare",
    [
        (1.0, 2, {}, 1),  # one of two cores busy: one thread
        (5.2, 8, {}, 3),
        (0.5, 2, {}, None),  # idle enough
        (3.0, 8, {}, None),  # most of the cores are free
        (1.9, 2, {"OMP_NUM_THREADS": "2"}, None),  # the user chose
        (3.0, 1, {}, None),  # one core: nothing to choose
    ],
)
def test_busy_cores_are_hinted_with_the_threads_that_are_left(load, cores, environment, spare, caplog):
    from discmot.cli.arguments import hint_if_cores_busy

    with caplog.at_level("INFO", logger="discmot"):
        hint = hint_if_cores_busy(load, cores, environment)
    if spare is None:
        assert hint is None and not caplog.records
    else:
        assert f"OMP_NUM_THREADS={spare} " in hint and hint in caplog.text


def test_the_train_help_renders_the_data_its_cstrack_example_reads():
    # the example trained on one export while the recipe reads two: it failed with "image list not found"
    import shlex

    from discmot.cli.train import TRAIN_EPILOG
    from discmot.models.cstrack.recipe import load_recipe

    lines = [line.rstrip(" \\") for line in TRAIN_EPILOG.splitlines() if line.strip().startswith("discmot")]
    commands = [shlex.split(line) for line in lines]
    train = next(c for c in commands if "cstrack_tiny" in c)
    root = train[train.index("--data-root") + 1]
    rendered = {
        c[c.index("--preset") + 1] for c in commands if c[1] == "synth" and "--jde" in c and root in c
    }
    read = {
        name.removeprefix("synth_").removesuffix("_train")
        for name in load_recipe("cstrack_tiny").data.datasets
    }
    assert rendered == read


@pytest.mark.parametrize(
    ("argv", "verbose", "quiet"),
    [
        (["synth", "--preset", "tiny", "--out", "o"], False, False),
        (["-q", "synth", "--preset", "tiny", "--out", "o"], False, True),
        (["synth", "--preset", "tiny", "--out", "o", "-q"], False, True),
        (["synth", "-v", "--preset", "tiny", "--out", "o"], True, False),
        (["-v", "synth", "--preset", "tiny", "--out", "o", "--quiet"], True, True),
    ],
)
def test_the_log_options_work_before_and_after_the_verb(argv, verbose, quiet):
    args = build_parser().parse_args(argv)
    assert (args.verbose, args.quiet) == (verbose, quiet)


def test_verbose_after_the_verb_shows_the_traceback_of_an_input_error(tmp_path, capsys):
    from discmot.cli import main

    argv = ["eval", "--gt-folder", str(tmp_path / "no-gt"), "--trackers-folder", str(tmp_path)]
    assert main(argv) == 2  # one line
    assert "discmot: error:" in capsys.readouterr().err
    with pytest.raises((ValueError, OSError)):
        main([*argv, "-v"])
