"""Training under torchrun as a user meets it (gloo, CPU): what each process prints, what the run folder
says about the processes, a rank that fails on its own, a launcher that is stopped or killed.

The runs start ``python -m torch.distributed.run`` (torchrun) on `SCRIPT` below, a toy regression
through `discmot.engine.train.launch`, as ``discmot train`` does: the CLI's one-line errors for
``ValueError``/``OSError`` and its SIGTERM handling (`sigterm_as_exit`).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from discmot.engine import checkpointing
from discmot.engine.run_environment import launcher
from discmot.engine.run_folder import recipe_for_processes

SCRIPT = r"""
import argparse, atexit, logging, os, signal, sys, time
import torch
from torch import nn
from discmot.engine.distributed import exit_process
from discmot.engine.loading import ShardedSampler
from discmot.engine.signals import sigterm_as_exit
from discmot.engine.train import TrainConfig, TrainSetup, launch

log = logging.getLogger("discmot.toy")
parser = argparse.ArgumentParser()
parser.add_argument("run_dir")
parser.add_argument("--epochs", type=int, default=2)
parser.add_argument("--bad-sample", type=int, help="the position in rank 0's epoch 0 of an unreadable sample")
parser.add_argument("--stop-launcher-at", type=int, help="rank 0 sends torchrun a SIGTERM in this step")
parser.add_argument("--resume", action="store_true")
args = parser.parse_args()
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
world_size = int(os.environ.get("WORLD_SIZE", "1"))
SAMPLES, SEED = 32, 7
bad = None if args.bad_sample is None else ShardedSampler(SAMPLES, SEED)(0, 0, world_size)[args.bad_sample]

class Samples(torch.utils.data.Dataset):
    def __init__(self):
        g = torch.Generator().manual_seed(3)
        self.x = torch.randn(SAMPLES, 4, generator=g)
        self.y = self.x.sum(1, keepdim=True).sin()
    def __len__(self):
        return SAMPLES
    def __getitem__(self, i):
        if i == bad:
            raise ValueError(f"sample {i}: not a readable image")
        return self.x[i], self.y[i]

def step(model, batch, context):
    if context.rank == 0 and context.global_step == args.stop_launcher_at:
        os.kill(os.getppid(), signal.SIGTERM)  # as `kill LAUNCHER_PID`: torchrun passes it on
        time.sleep(3)  # (the signal reaches both workers inside this step; rank 1 waits in gloo)
    x, y = batch
    loss = nn.functional.mse_loss(model(x), y)
    return loss, {"mse": loss.detach()}

def build(info):
    log.info("toy data: %d samples", SAMPLES)
    log.warning("toy data: a warning about the data")
    torch.manual_seed(0)
    return TrainSetup(nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1)), step, Samples())

config = TrainConfig(epochs=args.epochs, batch_size=8 // world_size, lr=0.05, optimizer="sgd",
                     momentum=0.9, warmup_epochs=0, milestones=(), sampler_seed=SEED,
                     checkpoint_every=1, log_every=1, deterministic=True, progress=False)
atexit.register(lambda: print("python shutdown ran", file=sys.stderr, flush=True))
try:
    with sigterm_as_exit():
        launch(build, config, args.run_dir, resume=True if args.resume else None,
               device="cpu", recipe="# a toy recipe\ntrain: {}\n")
except (ValueError, OSError) as error:  # as discmot's CLI
    print(f"discmot: error: {error}", file=sys.stderr, flush=True)
    exit_process(2)
log.info("trained")
exit_process(0)  # as discmot's CLI ends
"""


def _env(tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TORCHELASTIC_", "MASTER_"))}
    env.pop("RANK", None), env.pop("WORLD_SIZE", None), env.pop("LOCAL_RANK", None)
    env["OMP_NUM_THREADS"] = "1"
    (tmp_path / "tmp").mkdir(exist_ok=True)
    env["TMPDIR"] = str(tmp_path / "tmp")  # torchrun's torchelastic_* folder
    return env


def _train(tmp_path: Path, run: str, *args: str, nproc: int = 2) -> subprocess.CompletedProcess:
    """One training run of `SCRIPT` in ``nproc`` processes (under torchrun when more than one)."""
    script = tmp_path / "toy_ddp.py"
    script.write_text(SCRIPT)
    launcher_args = ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"]
    # torchrun checks its workers every --monitor-interval seconds and then stops the others: 2 s lets
    # a surviving rank meet its peer's end in gloo first, as it does when a check falls later
    launcher_args += ["--monitor-interval=2"]
    command = [sys.executable, *(launcher_args if nproc > 1 else []), str(script), str(tmp_path / run)]
    return subprocess.run([*command, *args], env=_env(tmp_path), capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def failed_on_one_rank(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    """A 2-process run whose rank 0 meets an unreadable sample at its third iteration."""
    tmp_path = tmp_path_factory.mktemp("ddp")
    return _train(tmp_path, "run", "--bad-sample", "2"), tmp_path / "run"


def test_a_finished_run_skips_python_shutdown_only_where_a_process_group_was_joined(tmp_path):
    """torch's gloo threads, kept alive by DDP past the end of the process group, could abort a finished
    run at Python's shutdown (SIGABRT in 2 of 60 two-process runs under load): a process that joined a
    group ends at once after flushing its output (`exit_process`); one process shuts down as usual."""
    double = _train(tmp_path, "double", "--epochs", "1")
    assert double.returncode == 0, double.stderr[-3000:]
    assert double.stderr.count("INFO discmot.toy: trained") == 2  # both processes' last lines flushed
    assert "python shutdown ran" not in double.stderr
    assert "terminate called" not in double.stderr
    single = _train(tmp_path, "single", "--epochs", "1", nproc=1)
    assert single.returncode == 0, single.stderr[-3000:]
    assert single.stderr.count("python shutdown ran") == 1


def test_a_rank_that_fails_alone_stops_the_run_and_the_others_say_so_in_one_line(failed_on_one_rank):
    """Before, rank 1 (waiting for rank 0 in gloo) printed a 40-line traceback of "Connection closed
    by peer ... GLHF!" after rank 0's one-line error, burying it; now it says why it stops in one line."""
    result, _ = failed_on_one_rank
    output = result.stderr
    assert result.returncode != 0
    assert output.count("discmot: error: sample ") == 1 and "not a readable image" in output
    assert (
        "discmot: error: rank 1: another process of this run stopped (see its message above); stopping too"
        in output
    ), output[-3000:]
    assert "Connection closed by peer" not in output and "[rank1]: Traceback" not in output
    # the cause comes first: the line of the rank that failed precedes the other's
    assert output.index("not a readable image") < output.index("rank 1: another process")


def test_the_processes_log_their_common_setup_once(failed_on_one_rank):
    """Every process builds the same data: its notes and warnings were printed once per process."""
    output = failed_on_one_rank[0].stderr
    assert output.count("INFO discmot.toy: toy data: 32 samples") == 1, output[-3000:]
    assert output.count("WARNING discmot.toy: toy data: a warning about the data") == 1


def test_the_run_folder_says_how_many_processes_trained(failed_on_one_rank):
    """environment.json records torchrun's layout (a worker's command line is only ``python ...``) and
    recipe.yaml says the run is repeated in as many processes."""
    _, run = failed_on_one_rank
    env = json.loads((run / "environment.json").read_text())
    assert env["world_size"] == 2
    assert env["launcher"] == {"name": "torchrun", "nproc_per_node": 2, "nnodes": 1, "restart_count": 0}
    assert (run / "recipe.yaml").read_text() == (
        "# a toy recipe\n"
        "# trained in 2 processes (train.batch_size each): repeat it in as many, e.g.\n"
        "#   torchrun --nproc_per_node 2 -m discmot train --config RUN/recipe.yaml --data-root ...\n"
        "train: {}\n"
    )


def test_one_process_records_no_launcher_and_keeps_the_recipe_as_given(monkeypatch):
    monkeypatch.delenv("TORCHELASTIC_RUN_ID", raising=False)
    assert launcher() is None
    assert recipe_for_processes("# header\npreset: tiny\n", 1) == "# header\npreset: tiny\n"


def _stop_the_launcher_inside_epoch_1(tmp_path: Path, run: str) -> Path:
    """A 2-process run whose torchrun gets a SIGTERM (kill PID, a scheduler) in epoch 1, iteration 2:
    both workers stop after that step, its checkpoint written; returns the checkpoints folder."""
    stopped = _train(tmp_path, run, "--stop-launcher-at", "6")
    assert stopped.returncode != 0 and stopped.stderr.count("discmot: terminated (SIGTERM)") == 2
    checkpoints = tmp_path / run / "checkpoints"
    names = [p.name for p in checkpointing.list_checkpoints(checkpoints)]
    assert names == ["epoch-000.pt", "epoch-001-iter-000003.pt"], stopped.stderr[-3000:]
    return checkpoints


def test_a_mid_epoch_resume_in_fewer_processes_names_the_checkpoint_to_use(tmp_path):
    """The refusal named no file ("--resume RUN/checkpoints/epoch-NNN.pt"); it names the newest
    end-of-epoch checkpoint of the run now."""
    checkpoints = _stop_the_launcher_inside_epoch_1(tmp_path, "cut")
    fewer = _train(tmp_path, "cut", "--resume", nproc=1)
    assert fewer.returncode == 2
    assert (
        f"discmot: error: {checkpoints / 'epoch-001-iter-000003.pt'}: a mid-epoch checkpoint of 2 "
        "processes needs as many to resume (this run has 1); an end-of-epoch one takes any number: "
        f"--resume {checkpoints / 'epoch-000.pt'} (the epoch after it is trained again)"
    ) in fewer.stderr
    assert not (tmp_path / "cut" / "resumes.jsonl").exists()  # refused before anything was written


@pytest.mark.slow
def test_a_stopped_launcher_resumed_in_as_many_processes_ends_as_an_uninterrupted_run(tmp_path):
    _stop_the_launcher_inside_epoch_1(tmp_path, "cut")
    for result in (_train(tmp_path, "cut", "--resume"), _train(tmp_path, "whole")):
        assert result.returncode == 0, result.stderr[-3000:]
    resumed = (tmp_path / "cut" / "model.safetensors").read_bytes()
    assert resumed == (tmp_path / "whole" / "model.safetensors").read_bytes()


WORKER = r"""
import sys, time
from pathlib import Path
from discmot.engine.distributed import init_distributed
from discmot.engine.signals import sigterm_as_exit

marker = Path(sys.argv[1])
try:
    with sigterm_as_exit():
        init_distributed("cpu")
        print("ready", flush=True)
        time.sleep(60)
finally:
    marker.write_text(repr(sys.exc_info()[1]))
"""

LAUNCHER = r"""
import subprocess, sys
worker = subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2]])
print(worker.pid, flush=True)
worker.wait()
"""


def test_a_worker_stops_when_its_torchrun_launcher_is_killed(tmp_path):
    """A launcher killed outright (SIGKILL, the OOM killer) passes nothing on: its workers, adopted by
    init, trained on to the end of the run (writing its checkpoints, holding its lock). A worker
    started by torchrun (``TORCHELASTIC_RUN_ID`` set) now stops by a SIGTERM of its own within seconds."""
    marker = tmp_path / "exit"
    env = {**_env(tmp_path), "TORCHELASTIC_RUN_ID": "test", "WORLD_SIZE": "1"}
    parent = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, WORKER, str(marker)], env=env, stdout=subprocess.PIPE, text=True
    )
    worker = int(parent.stdout.readline())
    try:
        assert parent.stdout.readline().strip() == "ready"
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 20
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert marker.exists(), "the worker still runs 20 s after its launcher was killed"
        assert marker.read_text() == "SystemExit(143)"  # the orderly stop of a SIGTERM
    finally:
        parent.stdout.close()
        if not marker.exists():
            os.kill(worker, signal.SIGKILL)
