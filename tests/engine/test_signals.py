"""`discmot.engine.signals`: SIGTERM as an exit, held back inside `sigterm_deferred` blocks, and an exit
that was swallowed raised again."""

from __future__ import annotations

import os
import signal

import pytest

from discmot.engine.signals import sigterm_as_exit, sigterm_deferred

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGTERM"), reason="needs SIGTERM")


def sigterm_now() -> None:
    os.kill(os.getpid(), signal.SIGTERM)  # delivered to this (main) thread before os.kill returns


def test_a_sigterm_ends_the_verb_as_an_exit_saying_so(capsys):
    with pytest.raises(SystemExit) as stopped, sigterm_as_exit():
        sigterm_now()
    assert stopped.value.code == 128 + signal.SIGTERM
    assert capsys.readouterr().err == "discmot: terminated (SIGTERM)\n"


class Writes:
    """A stderr that keeps each write apart."""

    def __init__(self):
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return len(text)

    def flush(self) -> None:
        pass


def test_the_line_is_one_write_so_processes_stopping_together_keep_their_lines_apart(monkeypatch):
    """Under torchrun every process says it into one stream at the same moment: written as the text
    and then its newline, two processes' lines ran together ("...(SIGTERM)discmot: terminated...")."""
    stderr = Writes()
    monkeypatch.setattr("sys.stderr", stderr)
    with pytest.raises(SystemExit), sigterm_as_exit():
        sigterm_now()
    assert stderr.writes == ["discmot: terminated (SIGTERM)\n"]


def test_a_sigterm_inside_a_deferred_block_ends_the_verb_when_the_block_ends():
    done = []
    with pytest.raises(SystemExit), sigterm_as_exit():
        with sigterm_deferred():
            sigterm_now()
            done.append("the rest of the block")
        done.append("after the block")
    assert done == ["the rest of the block"]


def test_an_exit_swallowed_where_it_landed_is_raised_again_at_the_next_block_end(capsys):
    done = []
    with pytest.raises(SystemExit), sigterm_as_exit():
        try:  # as a __del__ run by the garbage collector: Python swallows what it raises
            sigterm_now()
        except SystemExit:
            done.append("swallowed")
        with sigterm_deferred():
            done.append("one more iteration")
        done.append("never")
    assert done == ["swallowed", "one more iteration"]
    assert capsys.readouterr().err.count("terminated (SIGTERM)") == 1


def test_without_a_sigterm_deferred_blocks_change_nothing_and_the_state_is_forgotten():
    with sigterm_as_exit():
        with sigterm_deferred(), sigterm_deferred():
            pass
    with sigterm_deferred():  # outside sigterm_as_exit (the Python API): nothing happens
        pass
    with pytest.raises(SystemExit), sigterm_as_exit():
        sigterm_now()
    with sigterm_as_exit(), sigterm_deferred():  # a new verb starts with no SIGTERM pending
        pass
