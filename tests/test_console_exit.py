"""How the ``discmot`` console script ends (`discmot.cli.console_main`): a process that joined a torchrun
process group skips Python's shutdown (`discmot.engine.distributed.exit_process`: torch's gloo threads can
abort it there) on every way out of `main`: a status, a ``SystemExit`` (SIGTERM under `sigterm_as_exit`,
``-v``'s re-raised errors) and an unexpected exception; any other process shuts down as Python does.

The joined process group is stood in for by the flag `init_distributed` sets (no torchrun needed)."""

from __future__ import annotations

import subprocess
import sys

import pytest

SCRIPT = """
import atexit, sys
import discmot.cli as cli
from discmot.engine import distributed

distributed._joined_process_group = {joined}
atexit.register(lambda: print("python shutdown ran", file=sys.stderr, flush=True))

def main():
    print("main ran", flush=False)  # left in the buffer: console_main must flush it
    {body}

cli.main = main
cli.console_main()
"""

WAYS_OUT = {
    "status": ("return 3", 3, None),
    "SIGTERM": ("raise SystemExit(143)", 143, None),
    "exit text": ("raise SystemExit('stopped: a reason')", 1, "stopped: a reason"),
    "exception": ("raise RuntimeError('boom from torch')", 1, "RuntimeError: boom from torch"),
}


def _run(joined: bool, body: str) -> subprocess.CompletedProcess:
    script = SCRIPT.format(joined=joined, body=body)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("way", WAYS_OUT)
def test_a_process_that_joined_a_group_skips_python_shutdown_on_every_way_out(way):
    body, status, said = WAYS_OUT[way]
    done = _run(True, body)
    assert done.returncode == status, done.stderr
    assert "python shutdown ran" not in done.stderr
    assert done.stdout == "main ran\n"  # flushed before the process ended
    if said is not None:
        assert said in done.stderr


@pytest.mark.parametrize("way", ["status", "exception"])
def test_any_other_process_shuts_down_as_python_does(way):
    body, status, said = WAYS_OUT[way]
    done = _run(False, body)
    assert done.returncode == status, done.stderr
    assert done.stderr.count("python shutdown ran") == 1
    if said is not None:
        assert said in done.stderr
