"""Edge cases of the verbs `discmot track` and `discmot train` that the journey tests leave open: track's
closing line (speed unit, skipped frames, outputs named only when written), its exit status and eval hint
for a split without ground truth and an interrupted camera; train's run folder, resume command and the
Ctrl-C/SIGTERM note; the dispatcher's (`discmot.cli`) help without a verb, interrupt note, closed or full
standard output and an interrupt escaping `main`.

Expected values come from docs/tracking.md and docs/training.md, the verbs' help texts and docstrings
(`discmot.cli.track`, `discmot.cli.train`) and hand calculations written in each test. The track tests
replace `discmot.engine.track_verb.run_track` by a stand-in returning a summary, so no frame is tracked.
"""

from __future__ import annotations

import argparse
import logging
import signal
from pathlib import Path

import pytest

from discmot.cli import main
from discmot.cli.track import _track_line


def summary(**changes) -> dict:
    """A one-source summary as `discmot.engine.infer` returns it: 10 frames in 0.4 s, 3 ids, no outputs."""
    base = {
        "name": "seq",
        "frames": 10,
        "skipped": [],
        "rows": 20,
        "ids": 3,
        "seconds": 0.4,
        "fps": 25.0,
        "interrupted": False,
        "save_txt": None,
        "save_video": None,
    }
    return {**base, **changes}


# --------------------------------------------------------------------------------------------------
# track: the closing line (docs/tracking.md: "The closing line says the frames, speed and ids")


def test_track_line_of_a_run_without_skips_or_outputs_names_neither():
    """Nothing skipped: no "0 frames skipped"; no --save-txt/--save-video: no "results: None". 10 frames
    in 0.4 s are 25.0 fps."""
    assert _track_line(summary()) == "seq: 10 frames in 0.4 s (25.0 fps), 3 ids"


def test_track_line_names_each_output_written_and_counts_skipped_frames():
    """docs/tracking.md: the closing line counts the skipped frames ("735 frames skipped (see the warnings
    above)"); each output written is named after it."""
    line = _track_line(summary(skipped=[3, 4], save_txt="out/r.txt", save_video="out/v.mp4"))
    assert line == (
        "seq: 10 frames in 0.4 s (25.0 fps), 3 ids, 2 frames skipped (see the warnings above); "
        "results: out/r.txt; video: out/v.mp4"
    )
    one = _track_line(summary(skipped=[7], save_video="v.mp4"))
    assert one.endswith(", 1 frame skipped (see the warnings above); video: v.mp4")
    assert "results:" not in one


@pytest.mark.parametrize(
    ("frames", "seconds", "speed"),
    [
        (6, 4.0, "1.5 fps"),  # 1.5 frames a second: still at least one frame a second
        (4, 8.0, "2.0 s/frame"),  # 0.5 fps: slower than one frame a second reads as seconds per frame
        (1, 30.0, "30.0 s/frame"),
    ],
)
def test_track_line_says_seconds_per_frame_below_one_frame_a_second(frames, seconds, speed):
    """A slow run (the FDTA network on a CPU) reads "30.0 s/frame" rather than "0.0 fps"; from one frame
    a second on it is frames per second (6 / 4.0 s = "1.5 fps", 8.0 s / 4 = "2.0 s/frame")."""
    line = _track_line(summary(frames=frames, seconds=seconds, fps=frames / seconds))
    assert line == f"seq: {frames} frames in {seconds:.1f} s ({speed}), 3 ids"


def test_track_line_of_no_frames_says_fps_not_a_division_by_zero():
    """No frame tracked (fps 0.0): seconds per frame would divide by zero; the line says 0.0 fps."""
    line = _track_line(summary(frames=0, seconds=0.1, fps=0.0, ids=0))
    assert line == "seq: 0 frames in 0.1 s (0.0 fps), 0 ids"


# --------------------------------------------------------------------------------------------------
# track: what `_run_track` prints and returns around the summary


@pytest.fixture
def fake_run_track(monkeypatch):
    """`run_track` replaced by one returning ``result``, recording the keywords it was called with."""
    calls: list[dict] = []

    def install(result: dict) -> list[dict]:
        def run_track(source, **kwargs):
            calls.append({"source": source, **kwargs})
            return result

        monkeypatch.setattr("discmot.engine.track_verb.run_track", run_track)
        return calls

    return install


def test_a_split_without_ground_truth_prints_its_sequences_and_no_eval_line(tmp_path, fake_run_track, capsys):
    """docs/tracking.md: "A split without ground truth (a test split) gets no such line" (the eval
    command): the output is the sequences' closing lines alone, exit status 0."""
    split = tmp_path / "test"
    (split / "seq-01" / "img1").mkdir(parents=True)
    (split / "seq-02" / "img1").mkdir(parents=True)
    fake_run_track({"seq-01": summary(name="seq-01"), "seq-02": summary(name="seq-02", ids=5)})
    assert main(["track", str(split), "--split-out", str(tmp_path / "out")]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "seq-01: 10 frames in 0.4 s (25.0 fps), 3 ids",
        "seq-02: 10 frames in 0.4 s (25.0 fps), 5 ids",
    ]


def test_a_camera_stopped_by_ctrl_c_exits_with_130_like_an_interrupted_command(
    tmp_path, fake_run_track, capsys
):
    """Ctrl-C on a camera ends it and keeps what was tracked (docs/tracking.md); the exit status is still
    that of an interrupt, 128 + SIGINT = 130 (as `discmot.cli.main` returns for Ctrl-C elsewhere)."""
    results = tmp_path / "cam.txt"
    fake_run_track(summary(name="0", interrupted=True, save_txt=str(results)))
    assert main(["track", "0", "--save-txt", str(results)]) == 128 + signal.SIGINT
    assert capsys.readouterr().out.splitlines() == [
        f"0: 10 frames in 0.4 s (25.0 fps), 3 ids; results: {results}"
    ]


def test_the_command_line_asks_track_for_messages_naming_its_options(tmp_path, fake_run_track):
    """`_tracked`'s docstring: run_track gets ``command_line=True`` so that its messages name
    ``--save-txt``, not ``save_txt=``; the options reach it unchanged (``--classes 0 2`` as a tuple)."""
    calls = fake_run_track(summary())
    assert main(["track", "clip.mp4", "--classes", "0", "2", "--max-frames", "5"]) == 0
    (call,) = calls
    assert call["command_line"] is True
    assert call["source"] == "clip.mp4" and call["classes"] == (0, 2) and call["max_frames"] == 5
    assert call["on_frame"] is None and call["cuda_graph"] is True and call["dtype"] == "fp32"


# --------------------------------------------------------------------------------------------------
# train: the command that continues a stopped run (docs/training.md, "Stopping a run")


def train_args(**changes) -> argparse.Namespace:
    """``discmot train --config tiny --data-root data/synth`` as parsed, nothing else given."""
    base = dict(
        config="tiny",
        set=[],
        data_root="data/synth",
        run_dir=None,
        resume=None,
        detr_pretrain=None,
        pretrained=None,
        device=None,
        print_config=False,
    )
    return argparse.Namespace(**{**base, **changes})


@pytest.fixture
def one_process(monkeypatch):
    for name in ("LOCAL_WORLD_SIZE", "WORLD_SIZE", "RANK"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_resume_command_is_the_same_command_with_run_dir_and_resume(one_process):
    """docs/training.md's example: ``discmot train --config tiny --data-root data/synth --run-dir runs/f3
    --resume``: options not given are left out."""
    from discmot.cli.train import _resume_command

    assert _resume_command(train_args(), Path("runs/f3")) == (
        "discmot train --config tiny --data-root data/synth --run-dir runs/f3 --resume"
    )


def test_resume_command_keeps_set_flags_start_weights_and_device_quoted_for_a_shell(one_process):
    """`_resume_command`'s docstring: the same recipe, ``--set`` flags and files, then ``--run-dir`` and
    ``--resume``; a value with a space is quoted."""
    from discmot.cli.train import _resume_command

    args = train_args(
        set=["train.epochs=2", "adapters.spatial=false"],
        detr_pretrain="my weights/detr.pth",
        pretrained="yolov5l.pt",
        device="cuda:1",
    )
    assert _resume_command(args, Path("runs/x")) == (
        "discmot train --config tiny --set train.epochs=2 --set adapters.spatial=false "
        "--data-root data/synth --run-dir runs/x --detr-pretrain 'my weights/detr.pth' "
        "--pretrained yolov5l.pt --device cuda:1 --resume"
    )


@pytest.mark.parametrize(
    ("environment", "start"),
    [
        ({"LOCAL_WORLD_SIZE": "1"}, "discmot train"),  # one process under torchrun: no torchrun needed
        ({"LOCAL_WORLD_SIZE": "2"}, "torchrun --nproc_per_node 2 -m discmot train"),
        ({"WORLD_SIZE": "4"}, "torchrun --nproc_per_node 4 -m discmot train"),  # no LOCAL_WORLD_SIZE
        ({"LOCAL_WORLD_SIZE": "2", "WORLD_SIZE": "8"}, "torchrun --nproc_per_node 2 -m discmot train"),
    ],
)
def test_resume_command_of_several_processes_starts_as_many_with_torchrun(one_process, environment, start):
    """A run of N processes continues in N (docs/training.md: ``torchrun --nproc_per_node N -m discmot
    train ...``); the processes on this node (LOCAL_WORLD_SIZE), else the world size; one: plain."""
    from discmot.cli.train import _resume_command

    for name, value in environment.items():
        one_process.setenv(name, value)
    assert _resume_command(train_args(), Path("r")) == (
        f"{start} --config tiny --data-root data/synth --run-dir r --resume"
    )


def test_ctrl_c_before_the_first_checkpoint_says_nothing_is_saved(one_process, tmp_path, caplog):
    """docs/training.md: after Ctrl-C, "stopped before the first checkpoint, that nothing of the run is
    saved yet" (a checkpoints/ folder without a checkpoint name in it, or none at all)."""
    from discmot.cli.train import _say_where_to_resume

    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "notes.txt").write_text("no checkpoint")
    with caplog.at_level(logging.INFO, logger="discmot"):
        _say_where_to_resume(train_args(), tmp_path, 2)
    assert [r.getMessage() for r in caplog.records] == [
        f"stopped before the first checkpoint: nothing of this run is saved in {tmp_path}"
    ]
    assert caplog.records[0].levelname == "WARNING"


def test_only_rank_0_says_where_to_resume(one_process, tmp_path, caplog):
    """`_say_where_to_resume`: "Said by rank 0 alone" (the others' RANK, torchrun's environment)."""
    from discmot.cli.train import _say_where_to_resume

    one_process.setenv("RANK", "1")
    with caplog.at_level(logging.INFO, logger="discmot"):
        _say_where_to_resume(train_args(), tmp_path, 2)
    assert caplog.records == []


# --------------------------------------------------------------------------------------------------
# train: the run folder (`_run_dir`'s docstring; docs/training.md)


def make_run(folder: Path) -> Path:
    """A run folder as a run leaves it: recipe.yaml, config.yaml, checkpoints/ with one checkpoint."""
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "recipe.yaml").write_text("preset: tiny\n")
    (folder / "config.yaml").write_text("{}\n")
    (folder / "checkpoints" / "epoch-000.pt").write_bytes(b"")
    return folder


def test_a_run_recipe_is_recipe_yaml_beside_config_yaml_and_checkpoints(tmp_path):
    """`_is_run_recipe`: the file is named recipe.yaml, and its folder has config.yaml and checkpoints/;
    any one of them missing makes it an ordinary recipe file."""
    from discmot.cli.train import _is_run_recipe

    run = make_run(tmp_path / "f3")
    assert _is_run_recipe(run / "recipe.yaml")
    (run / "other.yaml").write_text("preset: tiny\n")
    assert not _is_run_recipe(run / "other.yaml")  # another name beside the same files
    assert not _is_run_recipe(run / "missing" / "recipe.yaml")
    for remove in ("config.yaml", "checkpoints"):
        lacking = make_run(tmp_path / f"without-{remove}")
        (lacking / remove).rename(lacking / f"{remove}.old")
        assert not _is_run_recipe(lacking / "recipe.yaml"), remove


def test_resume_from_a_checkpoints_file_of_no_run_folder_writes_into_runs_recipe(one_process, tmp_path):
    """`_run_dir`: ``--resume RUN/checkpoints/FILE`` continues in RUN only when RUN is a run folder
    (checkpoints/ beside config.yaml); a folder named otherwise, or without config.yaml: runs/<recipe>."""
    from discmot.cli.train import _run_dir

    run = make_run(tmp_path / "f3")
    assert _run_dir(train_args(resume=str(run / "checkpoints" / "epoch-000.pt")), "tiny") == run
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "config.yaml").write_text("{}\n")  # config.yaml beside, but not checkpoints/
    assert _run_dir(train_args(resume=str(tmp_path / "kept" / "epoch-000.pt")), "tiny") == Path("runs/tiny")
    (tmp_path / "bare" / "checkpoints").mkdir(parents=True)  # checkpoints/ without config.yaml
    bare = str(tmp_path / "bare" / "checkpoints" / "epoch-000.pt")
    assert _run_dir(train_args(resume=bare), "tiny") == Path("runs/tiny")


def test_resume_with_a_run_recipe_continues_there_and_says_so_at_info(one_process, tmp_path, caplog):
    """docs/training.md: with --resume and no --run-dir, RUN/recipe.yaml continues the run in RUN, "said
    at INFO"; by rank 0 alone (the others are quiet)."""
    from discmot.cli.train import _run_dir

    run = make_run(tmp_path / "f3")
    args = train_args(config=str(run / "recipe.yaml"), resume=True)
    with caplog.at_level(logging.INFO, logger="discmot"):
        assert _run_dir(args, "f3-repeat") == run
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        (
            "INFO",
            f"{run / 'recipe.yaml'} is the recipe of run folder {run}: resuming there "
            "(--run-dir DIR for another)",
        )
    ]
    caplog.clear()
    one_process.setenv("RANK", "1")
    with caplog.at_level(logging.INFO, logger="discmot"):
        assert _run_dir(args, "f3-repeat") == run
    assert caplog.records == []


# --------------------------------------------------------------------------------------------------
# train: checks before training (`_run_train`)


def test_a_start_weights_flag_of_the_other_model_is_refused(capsys):
    """``--pretrained`` is CSTrack's (its help): given with an FDTA recipe it is an input error naming
    the flag and the recipe, before any data root is looked at."""
    assert main(["train", "--config", "tiny", "--pretrained", "yolov5l.pt", "--data-root", "nowhere"]) == 2
    assert capsys.readouterr().err.strip().endswith("--pretrained does not apply to fdta recipe tiny")


def test_train_without_a_recipe_is_a_usage_error_naming_config(capsys):
    """``--config`` is required (its help: "built-in recipe name or YAML file"): argparse's usage error,
    status 2, before anything is read."""
    with pytest.raises(SystemExit) as ended:
        main(["train", "--data-root", "data"])
    assert ended.value.code == 2
    assert "the following arguments are required: --config" in capsys.readouterr().err


def test_train_without_a_data_root_is_an_input_error_naming_the_flag(capsys):
    """``--data-root``'s help: "required unless --print-config": one error line naming it, status 2."""
    assert main(["train", "--config", "tiny"]) == 2
    assert (
        capsys.readouterr()
        .err.strip()
        .endswith("--data-root DIR is required: the dataset to train on (--print-config needs none)")
    )


@pytest.fixture
def stand_in_training(monkeypatch):
    """CSTrack's setup and `launch` replaced by stand-ins that record what they were given."""
    calls: dict[str, tuple] = {}

    def cstrack_setup(recipe, data_root, pretrained):
        calls["setup"] = (recipe.name, data_root, pretrained)
        return "the build"

    def launch(build, train, run_dir, **kwargs):
        calls["launch"] = (build, run_dir, kwargs["resume"], kwargs["device"])

    monkeypatch.setattr("discmot.models.cstrack.training.cstrack_setup", cstrack_setup)
    monkeypatch.setattr("discmot.engine.train.launch", launch)
    return calls


def test_a_cstrack_recipe_trains_cstrack_on_its_data_root(tmp_path, stand_in_training, one_process):
    """A recipe with ``model_kind: cstrack`` (the built-in cstrack_tiny) is set up by CSTrack's training
    on ``--data-root`` as it is (no FDTA split folder under it), with ``--pretrained``."""
    root = tmp_path / "jde"
    root.mkdir()
    run = tmp_path / "run"
    argv = ["train", "--config", "cstrack_tiny", "--data-root", str(root), "--run-dir", str(run)]
    assert main([*argv, "--pretrained", "yolov5l.pt", "--device", "cpu"]) == 0
    assert stand_in_training["setup"] == ("cstrack_tiny", root, "yolov5l.pt")
    assert stand_in_training["launch"] == ("the build", run, None, "cpu")


def test_a_cstrack_data_root_that_is_missing_is_named_before_setting_up(tmp_path, stand_in_training, capsys):
    """CSTrack's ``--data-root`` holds its lists and images: one that is not there is an input error naming
    it (status 2), before the training is set up."""
    missing = tmp_path / "nowhere"
    assert main(["train", "--config", "cstrack_tiny", "--data-root", str(missing)]) == 2
    assert capsys.readouterr().err.strip().endswith(f"{missing}: data root not found")
    assert stand_in_training == {}


def test_print_config_of_a_cstrack_recipe_prints_cstracks_sections(capsys):
    """The training epilog: a CSTrack recipe has the sections preset, model, data, transform, loss, optim,
    train; --print-config prints them resolved (with the --set flags, named in the header) and exits."""
    import yaml

    assert main(["train", "--config", "cstrack_tiny", "--set", "train.epochs=3", "--print-config"]) == 0
    printed = capsys.readouterr().out
    header = printed.splitlines()[:3]
    assert header[0].startswith("# every value of ") and "cstrack_tiny" in header[0]
    assert header[1:] == [
        "#   --set train.epochs=3",
        "# (resolved: what a run's config.yaml records; --config takes the recipe itself, not this)",
    ]
    resolved = yaml.safe_load(printed)
    # in the recipe's order, as the epilog lists the sections, not sorted by name
    assert list(resolved) == ["name", "model", "data", "transform", "loss", "optim", "train"]
    assert resolved["train"]["epochs"] == 3


@pytest.mark.parametrize(
    ("stop", "noted"),
    [
        (KeyboardInterrupt(), True),  # Ctrl-C
        (SystemExit(128 + signal.SIGTERM), True),  # SIGTERM's exit, status 143 (docs/training.md)
        (SystemExit(1), False),  # another exit (a failed peer process): not a stop to resume from
        (SystemExit(0), False),
    ],
)
def test_only_ctrl_c_and_sigterm_say_where_to_resume(tmp_path, monkeypatch, one_process, caplog, stop, noted):
    """docs/training.md: "After Ctrl-C or a SIGTERM a warning names [the newest checkpoint] ... or, stopped
    before the first checkpoint, that nothing of the run is saved yet"; any other exit passes unremarked."""
    root, run = tmp_path / "jde", tmp_path / "run"
    root.mkdir()

    def launch(build, train, run_dir, **kwargs):
        raise stop

    monkeypatch.setattr("discmot.models.cstrack.training.cstrack_setup", lambda *args: "the build")
    monkeypatch.setattr("discmot.engine.train.launch", launch)
    monkeypatch.setattr("discmot.cli.train.hint_if_cores_busy", lambda: None)  # the machine's load: not this
    argv = ["train", "--config", "cstrack_tiny", "--data-root", str(root), "--run-dir", str(run)]
    with caplog.at_level(logging.INFO, logger="discmot"):
        if isinstance(stop, KeyboardInterrupt):
            assert main(argv) == 130
        else:
            with pytest.raises(SystemExit) as ended:
                main(argv)
            assert ended.value.code == stop.code
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    said = f"stopped before the first checkpoint: nothing of this run is saved in {run}"
    assert warned == ([said] if noted else [])


def test_every_fdta_split_folder_is_checked_before_the_run_starts(tmp_path, monkeypatch, capsys):
    """docs/training.md: "Every folder is checked before training starts": a missing split folder is an
    input error naming it, and neither the busy-cores hint ("before an error it is noise", `_run_train`)
    nor the run is started."""
    started = []
    monkeypatch.setattr("discmot.engine.train.launch", lambda *args, **kwargs: started.append("launch"))
    monkeypatch.setattr("discmot.cli.train.hint_if_cores_busy", lambda: started.append("hint"))
    root = tmp_path / "data"
    (root / "train").mkdir(parents=True)
    argv = ["train", "--config", "tiny", "--data-root", str(root), "--set", "split=[train, val]"]
    assert main([*argv, "--run-dir", str(tmp_path / "run")]) == 2
    assert f"{root / 'val'}: split folder not found" in capsys.readouterr().err
    assert started == [] and not (tmp_path / "run").exists()


# --------------------------------------------------------------------------------------------------
# the dispatcher (`discmot.cli`): no verb, the interrupt note


def test_discmot_without_a_verb_prints_the_help_and_exits_2(capsys):
    """`main`: nothing to run is a usage error (status 2), answered with the help listing the verbs."""
    assert main([]) == 2
    out = capsys.readouterr().out
    assert out.startswith("usage: discmot ") and "track" in out and "train" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["track", "data/val", "--split-out", "out", "--save-txt", "r.txt"],  # a split says its own
        ["track", "clip.mp4"],  # nothing asked to be written: nothing unwritten to name
        ["eval", "--gt-folder", "gt", "--trackers-folder", "t"],  # another verb
    ],
)
def test_the_interrupt_note_is_empty_for_a_split_no_outputs_and_other_verbs(argv, tmp_path, monkeypatch):
    """`interrupted_outputs`: what a ``track`` *of one file* stopped by Ctrl-C left; "a split says itself
    which sequences are on disk"; with no --save-txt/--save-video nothing is left unwritten."""
    from discmot.cli import build_parser, interrupted_outputs

    monkeypatch.chdir(tmp_path)
    (tmp_path / "r.txt").write_text("older\n")  # an older file of that name changes nothing for a split
    assert interrupted_outputs(build_parser().parse_args(argv)) == ""


def test_a_stray_word_close_to_an_option_name_gets_no_did_you_mean(capsys):
    """`_did_you_mean` guesses for an unknown ``--option`` only: a stray positional word (here one that
    spells an option without its dashes) is refused as argparse words it, without a guess."""
    with pytest.raises(SystemExit) as stop:
        main(["track", "clip.mp4", "frame-rate"])
    assert stop.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].endswith("error: unrecognized arguments: frame-rate")


def test_a_verb_run_with_standard_output_closed_ends_normally(fake_run_track, monkeypatch):
    """`main` flushes standard output after the verb, except where there is none: Python sets
    ``sys.stdout`` to None when started with it closed (``discmot track ... >&-``); the run still ends
    with its status, not an AttributeError."""
    fake_run_track(summary(name="clip"))
    monkeypatch.setattr("sys.stdout", None)
    assert main(["track", "clip.mp4"]) == 0


def test_ctrl_c_escaping_main_outside_a_process_group_ends_as_pythons_own_interrupt():
    """`console_main`: a process that joined no torchrun group "shuts down as Python does": an interrupt
    that escapes `main` (before its handler, e.g. while modules import) is raised on, so Python ends the
    process by SIGINT (status -2 here, 130 in a shell) rather than by ``exit(1)`` after a traceback."""
    import subprocess
    import sys

    script = (
        "import discmot.cli as cli\n"
        "def main():\n"
        "    raise KeyboardInterrupt\n"
        "cli.main = main\n"
        "cli.console_main()\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGINT, done.stderr
    assert "KeyboardInterrupt" in done.stderr


# --------------------------------------------------------------------------------------------------
# the dispatcher: whether standard output's reader has gone (`_stdout_gone`, after a BrokenPipeError)


@pytest.fixture
def pipe():
    """The two ends of a pipe, the write end as a text file; closed after the test. (``sys.stdout`` is
    replaced in the test itself: pytest's capture sets it again after a fixture's setup.)"""
    import os

    read_end, write_end = os.pipe()
    stdout = os.fdopen(write_end, "w")
    try:
        yield stdout, read_end
    finally:
        stdout.close()
        os.close(read_end)


@pytest.mark.skipif(not hasattr(__import__("select"), "poll"), reason="needs poll() on a pipe (POSIX)")
def test_a_full_stdout_pipe_whose_reader_is_there_is_not_gone(pipe, monkeypatch):
    """`_stdout_gone`: only "the write end of a pipe without readers polls as an error"; a pipe that is
    full because its reader is slow is not writable now, yet its reader is there: not gone."""
    import os

    from discmot.cli import _stdout_gone

    stdout, _read_end = pipe
    monkeypatch.setattr("sys.stdout", stdout)
    os.set_blocking(stdout.fileno(), False)
    with pytest.raises(BlockingIOError):
        while True:
            os.write(stdout.fileno(), b"x" * 65536)
    gone = _stdout_gone()
    monkeypatch.undo()
    assert gone is False


def test_without_poll_a_broken_pipe_counts_stdout_as_gone(pipe, monkeypatch):
    """`_stdout_gone`: "Windows: no poll on pipes; a broken stdout is the usual cause": gone, and stdout
    then points at the null device (a later write raises nothing)."""
    import select

    from discmot.cli import _stdout_gone

    stdout, _read_end = pipe
    monkeypatch.setattr("sys.stdout", stdout)
    monkeypatch.delattr(select, "poll", raising=False)
    gone = _stdout_gone()
    monkeypatch.undo()  # pytest's own stdout back before anything can fail
    assert gone is True
    stdout.write("x" * 100_000)  # more than a pipe holds: written to the null device, not blocking
    stdout.flush()
