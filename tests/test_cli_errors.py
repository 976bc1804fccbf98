"""How the command line reports errors: discmot's own input checks in one line; a ValueError raised
inside another package in one line plus where it came from (it may be a bug, not bad input)."""

from __future__ import annotations

import io
import json
import os
import select
import signal
import subprocess
import sys

import numpy as np
import pytest

from discmot import cli
from discmot.cli import evaluate as eval_verb


def _eval_argv(tmp_path) -> list[str]:
    return ["eval", "--gt-folder", str(tmp_path / "gt"), "--trackers-folder", str(tmp_path / "t")]


def test_an_input_check_of_discmots_is_one_line_without_an_origin(tmp_path, capsys):
    status = cli.main(_eval_argv(tmp_path))  # neither folder exists: the runner's own check

    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("discmot: error: ") and err.count("\n") == 1
    assert "raised inside" not in err


@pytest.mark.parametrize(
    "raise_it, package",
    [(lambda: np.loadtxt(io.StringIO("1 x")), "numpy"), (lambda: json.loads("{"), "json")],
)
def test_a_value_error_from_inside_another_package_names_it_and_asks_for_the_traceback(
    tmp_path, capsys, monkeypatch, raise_it, package
):
    # The verb stands in for a code path that lets a third-party ValueError through unchecked.
    monkeypatch.setattr(eval_verb, "_run_eval", lambda args: raise_it())

    status = cli.main(_eval_argv(tmp_path))

    first, second = capsys.readouterr().err.splitlines()
    assert status == 2 and first.startswith("discmot: error: ")
    assert f"raised inside {package}," in second and "-v" in second


def test_with_verbose_the_traceback_is_raised(tmp_path, monkeypatch):
    monkeypatch.setattr(eval_verb, "_run_eval", lambda args: json.loads("{"))

    with pytest.raises(json.JSONDecodeError):
        cli.main(["-v", *_eval_argv(tmp_path)])


def test_an_error_raised_again_from_a_dataloader_worker_is_not_blamed_on_torch():
    """A dataset's own check failing in a worker is raised again by torch in the main process."""
    import torch

    from discmot.cli import _raised_outside_discmot

    class BadImage(torch.utils.data.Dataset):
        def __len__(self):
            return 1

        def __getitem__(self, index):
            raise ValueError("x.jpg: unreadable image")

    with pytest.raises(ValueError, match="x.jpg: unreadable image") as caught:
        next(iter(torch.utils.data.DataLoader(BadImage(), num_workers=1)))
    assert _raised_outside_discmot(caught.value) is None
    with pytest.raises(ValueError) as direct:
        np.loadtxt(io.StringIO("1 x"))
    assert _raised_outside_discmot(direct.value) == "numpy"


@pytest.mark.skipif(not hasattr(select, "poll"), reason="needs poll() on a pipe (POSIX)")
def test_output_into_a_closed_pipe_ends_quietly_as_sigpipe_would():
    """``discmot eval ... | head -1`` ended with "discmot: error: [Errno 32] Broken pipe" and status 2."""
    command = [sys.executable, "-m", "discmot", "train", "--config", "tiny", "--print-config"]
    # block-buffered stdout, as users have it (PYTHONUNBUFFERED would write each print at once)
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    # the reader is gone before the process starts (closing it after the start raced the child's output
    # into the pipe's buffer on a busy machine: status 0)
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        process = subprocess.Popen(command, stdout=write_end, stderr=subprocess.PIPE, env=environment)
    finally:
        os.close(write_end)
    _, err = process.communicate(timeout=120)
    assert (process.returncode, err.decode()) == (128 + signal.SIGPIPE, "")


def test_the_broken_pipe_status_needs_no_sigpipe(monkeypatch):
    from discmot.cli import _broken_pipe_status

    assert _broken_pipe_status() == 128 + signal.SIGPIPE
    monkeypatch.delattr(signal, "SIGPIPE")  # as on Windows, where stdout's reader gone ends there too
    assert _broken_pipe_status() == 141


@pytest.mark.skipif(not hasattr(select, "poll"), reason="needs poll() on a pipe (POSIX)")
def test_only_a_stdout_pipe_whose_reader_has_gone_counts_as_gone(monkeypatch):
    from discmot.cli import _stdout_gone

    read_end, write_end = os.pipe()
    stdout = os.fdopen(write_end, "w")
    monkeypatch.setattr(sys, "stdout", stdout)
    try:
        assert _stdout_gone() is False  # a reader is there: a broken pipe was someone else's
        os.close(read_end)
        assert _stdout_gone() is True
        stdout.write("x" * 100_000)  # now the null device: nothing is raised
        stdout.flush()
    finally:
        monkeypatch.undo()
        stdout.close()


def test_a_broken_pipe_that_is_not_stdout_is_still_an_error(tmp_path, monkeypatch, capsys):
    """Only a gone reader of stdout is quiet: a broken pipe elsewhere is reported like any OSError."""

    def run(_args):
        raise BrokenPipeError(32, "Broken pipe", "encoder")

    monkeypatch.setattr(eval_verb, "_run_eval", run)
    assert cli.main(_eval_argv(tmp_path)) == 2
    assert capsys.readouterr().err == "discmot: error: encoder: broken pipe\n"


def test_one_of_several_torchrun_processes_names_its_rank_in_errors(tmp_path, capsys, monkeypatch):
    """The processes of a torchrun run share one terminal: each error says which rank stopped."""
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")

    status = cli.main(_eval_argv(tmp_path))

    err = capsys.readouterr().err
    assert status == 2 and err.startswith("[rank 1] discmot: error: ") and err.count("\n") == 1


def test_a_peer_failure_names_the_rank_once(tmp_path, capsys, monkeypatch):
    """The engine's peer-failure error starts "rank N: " itself (for library callers)."""
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    message = "rank 1: another process of this run stopped (see its message above); stopping too"
    monkeypatch.setattr(eval_verb, "_run_eval", lambda args: (_ for _ in ()).throw(ConnectionError(message)))

    cli.main(_eval_argv(tmp_path))

    assert capsys.readouterr().err == (
        "[rank 1] discmot: error: another process of this run stopped (see its message above); stopping too\n"
    )


@pytest.mark.parametrize("environment", [{"WORLD_SIZE": "1", "RANK": "0"}, {"RANK": "x", "WORLD_SIZE": "2"}])
def test_one_process_or_no_usable_rank_keeps_the_plain_error(tmp_path, capsys, monkeypatch, environment):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    cli.main(_eval_argv(tmp_path))

    assert capsys.readouterr().err.startswith("discmot: error: ")


def test_one_of_several_torchrun_processes_names_its_rank_in_log_lines(tmp_path):
    """Logging is configured per process (not inside pytest's own handlers): a real ``discmot`` run."""
    env = {**os.environ, "WORLD_SIZE": "2", "RANK": "1"}
    command = [sys.executable, "-m", "discmot", "synth", "--preset", "mot", "--sequences", "1"]
    command += ["--frames", "2", "--out", str(tmp_path / "synth")]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)

    lines = result.stderr.splitlines()
    assert result.returncode == 0 and lines, result.stderr
    assert all(line.startswith("[rank 1] INFO discmot") for line in lines), result.stderr
