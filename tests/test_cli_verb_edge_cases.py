"""Edge cases of the verbs `discmot convert`, `eval` and `interpolate`, and of the SIGTERM handling around
every verb (`discmot.engine.signals`), that the journey tests leave open: how convert names an architecture
in words and which targets it refuses, the one-pair eval form's summaries, interpolate's required
``--out``, and what a SIGTERM exit quiets.

Expected values come from the docstrings and help texts of `discmot.cli` and `discmot.engine.signals`, and
from /work/shared/spec/eval.md; every test writes its own small files into ``tmp_path``.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
from types import SimpleNamespace

import pytest

from discmot.cli.convert import _architecture
from discmot.models.fdta.config import PRESETS, preset, with_adapters
from helpers import TRACKER_ROWS, write_lines, write_sequence

# --------------------------------------------------------------------------------------------------
# convert: the architecture in words (`_architecture`'s docstring)


def test_convert_names_a_config_of_no_preset_an_architecture_of_its_own():
    """A config whose name is no preset's is not compared field by field: it is named as it is."""
    mine = dataclasses.replace(preset("tiny"), name="mine")
    assert _architecture(mine, PRESETS) == "an architecture of its own, named 'mine'"


def test_convert_says_one_adapter_off_and_other_settings_in_one_sentence():
    """One adapter switched off reads in the singular; a changed section without an ``enabled`` switch
    (detr) is "its own ... settings", never an adapter "off"."""
    tiny = preset("tiny")
    config = dataclasses.replace(
        with_adapters(tiny, spatial=False, temporal=True), detr=dataclasses.replace(tiny.detr, num_queries=30)
    )
    assert (
        _architecture(config, PRESETS)
        == "the tiny preset, with its spatial adapter off and its own detr settings"
    )


def test_convert_of_a_file_of_neither_model_asks_for_model(tmp_path, capsys):
    """``--model`` defaults to what the file's metadata or keys say (convert's help); a state dict whose keys
    are neither FDTA's nor CSTrack's is refused with one line saying to give ``--model``."""
    import torch

    from discmot.cli import main

    source = tmp_path / "other.pth"
    torch.save({"model": {"fc.weight": torch.zeros(2, 2)}}, source)
    assert main(["convert", str(source), str(tmp_path / "out.safetensors")]) == 2
    err = capsys.readouterr().err
    assert "neither an FDTA nor a CSTrack checkpoint by its keys; give --model if it is one" in err
    assert not (tmp_path / "out.safetensors").exists()


def test_convert_refuses_a_folder_named_as_a_checkpoint_even_with_overwrite(tmp_path, capsys):
    """OUT is a file: a folder named ``out.safetensors`` is refused as a folder (`_check_target`), before IN
    is read, and ``--overwrite`` does not replace it."""
    from discmot.cli import main

    folder = tmp_path / "out.safetensors"
    folder.mkdir()
    (folder / "kept.txt").write_text("a file of the user's")
    argv = ["convert", str(tmp_path / "missing.pth"), str(folder), "--overwrite"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{folder}: a folder; give a file name" in err
    assert (folder / "kept.txt").read_text() == "a file of the user's"


def test_convert_into_a_folder_that_takes_no_file_says_the_os_reason_in_words(tmp_path, monkeypatch, capsys):
    """An existing folder that takes no file is named with the OS's reason in lower case (its strerror,
    ``permission denied``), not the exception's class name."""
    from discmot.cli import main
    from discmot.io import atomic

    def refuse(folder):
        raise PermissionError(13, "Permission denied", str(folder))

    monkeypatch.setattr(atomic, "check_folder_possible", refuse)
    assert main(["convert", str(tmp_path / "in.pth"), str(tmp_path / "out.safetensors")]) == 2
    err = capsys.readouterr().err
    assert f"the folder {tmp_path} exists but no file can be written in it (permission denied)" in err


# --------------------------------------------------------------------------------------------------
# eval: the one-pair form's outputs (eval's help: "summaries only with --output-folder")


@pytest.mark.parametrize("no_summaries", [False, True])
def test_eval_pair_form_writes_summaries_to_output_folder_unless_told_not(tmp_path, capsys, no_summaries):
    """``--gt --results --output-folder DIR`` writes ``DIR/<tracker>/pedestrian_summary.txt`` and
    ``pedestrian_detailed.csv`` (the tracker named after the results' folder); ``--no-summaries`` writes
    neither. The table is printed either way."""
    from discmot.cli import main

    gt = write_sequence(tmp_path / "gt")
    (tmp_path / "mytracker").mkdir()
    results = write_lines(tmp_path / "mytracker" / "seq-a.txt", TRACKER_ROWS)
    out = tmp_path / "out"
    argv = ["eval", "--gt", str(gt), "--results", str(results), "--output-folder", str(out)]
    assert main(argv + (["--no-summaries"] if no_summaries else [])) == 0
    assert "HOTA" in capsys.readouterr().out
    written = {p.name for p in (out / "mytracker").glob("*")} if (out / "mytracker").exists() else set()
    assert written == (set() if no_summaries else {"pedestrian_summary.txt", "pedestrian_detailed.csv"})


# --------------------------------------------------------------------------------------------------
# every verb: what a SIGTERM quiets on the way out (`discmot.engine.signals._quiet_dataloader_shutdown`)


@pytest.mark.skipif(not hasattr(signal, "SIGCHLD"), reason="needs SIGTERM and SIGCHLD")
def test_a_sigterm_exit_reports_only_unraisable_errors_that_are_not_its_own_or_a_loaders(monkeypatch, capsys):
    """After a SIGTERM exit, SIGCHLD gets a handler that does nothing (not SIG_DFL), and of the exceptions
    Python cannot raise (`sys.unraisablehook`), the exit itself and those of a DataLoader iterator's
    ``__del__`` are not reported; any other still is."""
    from discmot.engine.signals import sigterm_as_exit

    class _MultiProcessingDataLoaderIter:
        def __del__(self):
            pass

    def elsewhere():
        pass

    reported = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)
    sigchld = signal.getsignal(signal.SIGCHLD)
    try:
        with pytest.raises(SystemExit), sigterm_as_exit():
            os.kill(os.getpid(), signal.SIGTERM)
        assert callable(signal.getsignal(signal.SIGCHLD))
    finally:
        signal.signal(signal.SIGCHLD, sigchld)
    assert capsys.readouterr().err == "discmot: terminated (SIGTERM)\n"
    exit_in_del = SimpleNamespace(exc_type=SystemExit, object=elsewhere)
    loader_del = SimpleNamespace(exc_type=RuntimeError, object=_MultiProcessingDataLoaderIter.__del__)
    other = SimpleNamespace(exc_type=RuntimeError, object=elsewhere)
    for unraisable in (exit_in_del, loader_del, other):
        sys.unraisablehook(unraisable)
    assert reported == [other]


def test_sigterm_as_exit_in_another_thread_runs_the_block_as_it_is():
    """Python sets signal handlers only in the main thread: a verb run from another thread (a library
    caller's worker) runs its block unchanged instead of failing with "signal only works in main thread"."""
    import threading

    from discmot.engine.signals import sigterm_as_exit

    outcome = []

    def verb():
        try:
            with sigterm_as_exit():
                outcome.append("ran")
        except Exception as error:  # noqa: BLE001 - what the thread met is the result
            outcome.append(repr(error))

    thread = threading.Thread(target=verb)
    thread.start()
    thread.join()
    assert outcome == ["ran"]


# --------------------------------------------------------------------------------------------------
# interpolate


def test_interpolate_without_out_is_a_usage_error(tmp_path, capsys):
    """``--out`` is required ("nothing is written over an input"): without it argparse stops the command
    (status 2) naming ``--out``, and nothing is written beside the input."""
    from discmot.cli import main

    source = write_lines(tmp_path / "in.txt", ["1,1,0,0,5,5,1", "3,1,2,0,5,5,1"])
    with pytest.raises(SystemExit) as stopped:
        main(["interpolate", str(source)])
    assert stopped.value.code == 2
    assert "the following arguments are required: --out" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["in.txt"]
