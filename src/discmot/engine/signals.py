"""SIGTERM as an orderly exit: what ``discmot``'s verbs do when ``kill``, ``timeout``, a job scheduler or
torchrun stops them.

`sigterm_as_exit` (around every verb) turns SIGTERM into ``SystemExit(143)`` after one line on stderr, so
half-written outputs (temporary video, result and checkpoint files) are removed on the way out, as on
Ctrl-C; `sigterm_note` adds what a verb's stop leaves to that line (``discmot track``: the outputs not
written). `sigterm_deferred` (around code that must not be interrupted by an exception, e.g. a backward
pass) holds a SIGTERM back until its block ends. torch is not imported here.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator

#: Open `sigterm_deferred` blocks, and the SIGTERM received (its number), if any. It stays set: an exit
#: raised where exceptions are swallowed (a ``__del__`` run by the garbage collector, where the signal
#: handler may also run) is raised again at the end of the next deferred block.
_deferring = 0
_pending: int | None = None
_said = False
#: Appended to the SIGTERM line (`sigterm_note`): what the stopped verb left.
_note = ""


@contextlib.contextmanager
def sigterm_as_exit() -> Iterator[None]:
    """Inside, SIGTERM ends the process with ``SystemExit(128 + SIGTERM)``, saying so on stderr (held back
    inside `sigterm_deferred`). Forked children (DataLoader workers) keep dying of it outright."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    owner = os.getpid()

    def stop(signum, frame):
        global _pending
        if os.getpid() != owner:  # a forked child (a DataLoader worker): die of the signal, as before
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        _pending = signum
        if not _deferring:
            _exit_for(signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        _forget()


@contextlib.contextmanager
def sigterm_deferred() -> Iterator[None]:
    """A SIGTERM arriving inside the block is acted on when the block ends.

    Training runs each iteration in one: raised by the signal handler wherever the main thread happened
    to be, the exit could land in backward's Python (activation checkpointing recomputes the forward
    there), in a DataLoader being started, or in a ``__del__`` run by the garbage collector, where Python
    swallows it: a run stopped by a process-group SIGTERM went on training in 1 of 2-5 tries
    (2026-11-23). Without `sigterm_as_exit` around it (the Python API), this does nothing.
    """
    global _deferring
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1
        if not _deferring and _pending is not None:
            _exit_for(_pending)


@contextlib.contextmanager
def sigterm_note(note: str) -> Iterator[None]:
    """Inside, the line a SIGTERM prints ends with ``note``: ``discmot: terminated (SIGTERM)`` + ``note``.

    ``discmot track`` says there which outputs were not written, as its Ctrl-C line does (``": out.txt
    not written (an older file there is kept as it was)"``); ``""`` adds nothing.
    """
    global _note
    previous, _note = _note, note
    try:
        yield
    finally:
        _note = previous


def _exit_for(signum: int) -> None:
    global _said
    if not _said:
        _said = True
        # as Ctrl-C says "interrupted"; one write, newline included: under torchrun every process
        # says it into one stream at once, and print's two writes ran the lines together
        with contextlib.suppress(OSError):  # (stderr may be a closed pipe: the exit matters, not the words)
            sys.stderr.write(f"discmot: terminated (SIGTERM){_note}\n")
            sys.stderr.flush()
        _quiet_dataloader_shutdown()
    raise SystemExit(128 + signum)


def _forget() -> None:
    """The state of a finished `sigterm_as_exit` (several can run in one process, e.g. in tests)."""
    global _pending, _said
    _pending, _said = None, False


def _quiet_dataloader_shutdown() -> None:
    """Keeps a stopping run's DataLoader from printing tracebacks on the way out.

    Sent to the whole process group (``timeout``, a job scheduler), SIGTERM also ends the DataLoader
    workers, and torch reports their deaths from its SIGCHLD handler; a signal that lands while an
    epoch's loader is being built leaves a half-made one whose ``__del__`` fails. Neither says more than
    the one line of the SIGTERM: SIGCHLD gets a handler that does nothing, and exceptions of a loader's
    ``__del__``, and the exit itself raised in a ``__del__``, are not reported from here on (the process
    is ending).
    """
    if hasattr(signal, "SIGCHLD"):  # not SIG_DFL: a SIGCHLD already caught would then raise "ignored
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)  # due to race condition"
    previous = sys.unraisablehook

    def hook(unraisable) -> None:
        ours = unraisable.exc_type is SystemExit  # the exit, raised in a __del__: raised again later
        if not ours and "DataLoaderIter." not in getattr(unraisable.object, "__qualname__", ""):
            previous(unraisable)

    sys.unraisablehook = hook
