"""Contracts of the training engine (`discmot.engine.train`), on toy models so that they run in seconds.

* 2 processes under torchrun (gloo, CPU) log the same losses as 1 process with the same global batch;
* a run killed with SIGKILL (inside an iteration, or half-way through writing a checkpoint) and resumed
  ends with bit-identical weights; the half-written checkpoint is never loaded;
* parameter groups, FDTA's warm-up formula and MultiStepLR at epoch ends; CSTrack's schedule and EMA;
* separate gradient clipping of ``detr`` parameters and the rest;
* the run folder; bf16 autocast and the fp16 GradScaler on the CPU.

The subprocess runs use `toy_train.py` beside this file.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import math
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import torch
import yaml
from torch import nn

from discmot.engine import checkpointing
from discmot.engine.distributed import configure_determinism, deterministic_on
from discmot.engine.optim import CSTrackSchedule, ModelEMA, build_param_groups, clip_gradients
from discmot.engine.train import (
    FDTA_PARAM_GROUPS,
    ParamGroupRule,
    ShardedSampler,
    TrainConfig,
    Trainer,
    TrainSetup,
    cstrack_train_config,
    fdta_train_config,
    launch,
)
from discmot.io.checkpoints import CheckpointError
from discmot.io.safetensors_format import read_safetensors
from helpers import mse_step, pairs_dataset

TOY_SCRIPT = Path(__file__).with_name("toy_train.py")


# --------------------------------------------------------------------------------------------------
# Subprocess helpers


def _env(run_dir: Path) -> dict:
    env = {
        k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_PORT")
    }
    env["OMP_NUM_THREADS"] = "1"
    # torchrun leaves a torchelastic_* folder in the temporary directory: keep it in the test's own
    env["TMPDIR"] = str(_temporary_folder(run_dir))
    return env


def _temporary_folder(run_dir: Path) -> Path:
    folder = run_dir.parent / f"{run_dir.name}-tmp"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _start(run_dir: Path, *args: str, nproc: int = 1) -> subprocess.Popen:
    launcher = [sys.executable]
    if nproc > 1:
        launcher += ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"]
    command = [*launcher, str(TOY_SCRIPT), str(run_dir), *args]
    return subprocess.Popen(
        command, env=_env(run_dir), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _finish(proc: subprocess.Popen, timeout: float = 120) -> None:
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate()
    assert proc.returncode == 0, f"training subprocess failed ({proc.returncode}):\n{output[-4000:]}"


def _kill_when_stalled(proc: subprocess.Popen, run_dir: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not (run_dir / "stalled").exists():
        if proc.poll() is not None:
            pytest.fail(f"training exited before stalling:\n{proc.stdout.read()[-4000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("training never reached the stall point")
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()


def _metrics(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def _weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return read_safetensors(run_dir / "model.safetensors")[0]


# --------------------------------------------------------------------------------------------------
# (a) DDP under torchrun == one process with the same global batch


def test_two_process_ddp_matches_one_process(tmp_path):
    args = ("--global-batch", "8", "--samples", "64", "--epochs", "2")
    single = _start(tmp_path / "single", *args)
    double = _start(tmp_path / "ddp", *args, nproc=2)
    _finish(single)
    _finish(double)

    one, two = _metrics(tmp_path / "single"), _metrics(tmp_path / "ddp")
    assert [m["step"] for m in one] == [m["step"] for m in two] == list(range(1, 17))
    for a, b in zip(one, two, strict=True):
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-6, abs=1e-7), f"step {a['step']}"
        assert b["lr/default"] == a["lr/default"]
    w1, w2 = _weights(tmp_path / "single"), _weights(tmp_path / "ddp")
    for key in w1:
        torch.testing.assert_close(w2[key], w1[key], rtol=1e-5, atol=1e-6)
    assert json.loads((tmp_path / "ddp" / "environment.json").read_text())["world_size"] == 2


# --------------------------------------------------------------------------------------------------
# (b) SIGKILL and resume


def test_sigkill_and_resume_gives_identical_weights(tmp_path):
    # 48 samples, batch 4: 12 iterations per epoch, 36 in all; a checkpoint every 5 iterations and at
    # every epoch end. "step": killed inside global step 19, after the mid-epoch checkpoint of step 17
    # (epoch 1, 5 iterations). "write": killed half-way through writing the checkpoint of step 22.
    args = ("--global-batch", "4", "--samples", "48", "--epochs", "3", "--checkpoint-every", "5")
    args += ("--noisy", "--deterministic")
    reference = _start(tmp_path / "reference", *args)
    in_step = _start(tmp_path / "step", *args, "--stall-at-step", "19")
    in_write = _start(tmp_path / "write", *args, "--stall-in-write", "22")
    _kill_when_stalled(in_step, tmp_path / "step")
    _kill_when_stalled(in_write, tmp_path / "write")

    for name in ("step", "write"):
        folder = tmp_path / name / "checkpoints"
        complete = [p.name for p in checkpointing.list_checkpoints(folder)]
        assert complete == ["epoch-000.pt", "epoch-001-iter-000005.pt"], name
        for path in checkpointing.list_checkpoints(folder):
            checkpointing.read_checkpoint(path)  # every complete-looking checkpoint loads
    partial = list((tmp_path / "write" / "checkpoints").glob(".epoch-001-iter-000010.pt.tmp-*"))
    assert len(partial) == 1 and partial[0].stat().st_size > 0
    with pytest.raises((RuntimeError, OSError)):
        torch.load(partial[0], weights_only=True)  # truly half-written, and never picked up

    resumed = [_start(tmp_path / name, *args, "--resume") for name in ("step", "write")]
    for proc in (reference, *resumed):
        _finish(proc)

    expected_weights, expected_losses = _weights(tmp_path / "reference"), _metrics(tmp_path / "reference")
    assert len(expected_losses) == 36
    for name in ("step", "write"):
        weights = _weights(tmp_path / name)
        assert weights.keys() == expected_weights.keys()
        for key, value in expected_weights.items():
            assert torch.equal(weights[key], value), f"{name}: {key} differs after resume"
        losses = [(m["step"], m["loss"]) for m in _metrics(tmp_path / name)]
        assert losses == [(m["step"], m["loss"]) for m in expected_losses], name
        assert not list((tmp_path / name / "checkpoints").glob(".*.tmp-*")), "stale temporary left"
        resumes = (tmp_path / name / "resumes.jsonl").read_text().splitlines()
        assert json.loads(resumes[0])["checkpoint"].endswith("epoch-001-iter-000005.pt")


def test_two_process_resume_restores_each_process_own_parameters(tmp_path):
    """Parameters a process trains alone (FDTA's Identity Adapter MLP) are each process's own in the
    checkpoint: a 2-process run stopped after epoch 1 and resumed ends as the uninterrupted one. Before,
    every rank got rank 0's copy back, and the shared weights came out different."""
    args = ("--global-batch", "8", "--samples", "32", "--local-head", "--deterministic")
    whole = _start(tmp_path / "whole", *args, "--epochs", "4", nproc=2)
    _finish(whole)
    # resumed from epoch 0's checkpoint (no head trained yet), epoch 1's (rank 1's not yet) and epoch 2's
    # (both trained)
    _finish(_start(tmp_path / "cut", *args, "--epochs", "1", nproc=2))
    _finish(_start(tmp_path / "cut", *args, "--epochs", "2", "--resume", nproc=2))
    _finish(_start(tmp_path / "cut", *args, "--epochs", "3", "--resume", nproc=2))
    _finish(_start(tmp_path / "cut", *args, "--epochs", "4", "--resume", nproc=2))

    expected, resumed = _weights(tmp_path / "whole"), _weights(tmp_path / "cut")
    for key, value in expected.items():
        assert torch.equal(resumed[key], value), f"{key} differs after the 2-process resume"
    payload = checkpointing.read_checkpoint(tmp_path / "cut" / "checkpoints" / "epoch-003.pt")
    heads = [state["local.weight"][0] for state in payload["process_local"]]
    assert len(heads) == 2 and not torch.equal(*heads)  # two different heads, both kept


# --------------------------------------------------------------------------------------------------
# In-process toy setup


class NamedToy(nn.Module):
    """Parameter names like FDTA's: ``backbone.0``, ``detr.*.reference_points``, ``word_to_embed``."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.backbone = nn.Sequential(nn.Linear(4, 8))
        self.detr = nn.ModuleDict(
            {
                "reference_points": nn.Linear(8, 8),
                "sampling_offsets": nn.Linear(8, 8),
                "head": nn.Linear(8, 1),
            }
        )
        self.word_to_embed = nn.Linear(1, 1)
        self.criterion = nn.Linear(1, 1)

    def forward(self, x):
        h = torch.tanh(self.backbone(x))
        h = self.detr["reference_points"](h) + self.detr["sampling_offsets"](h)
        return self.criterion(self.word_to_embed(self.detr["head"](h)))


def _config(**overrides) -> TrainConfig:
    base = TrainConfig(
        epochs=2, batch_size=2, lr=1e-3, param_groups=FDTA_PARAM_GROUPS, log_every=1, progress=False, seed=1
    )
    return TrainConfig.from_dict({**vars(base), **overrides})


def _fit(tmp_path, config: TrainConfig, step=mse_step, resume=None, model=None, **kwargs) -> Trainer:
    trainer = Trainer(
        model or NamedToy(), step, pairs_dataset(), config, tmp_path / "run", device="cpu", **kwargs
    )
    trainer.fit(resume)
    return trainer


# --------------------------------------------------------------------------------------------------
# (c) parameter groups and schedule


def test_param_groups_follow_name_rules():
    model = NamedToy()
    groups = build_param_groups(model, FDTA_PARAM_GROUPS, lr=1e-4, weight_decay=5e-4)
    names = {id(p): n for n, p in model.named_parameters()}
    by_group = {g["name"]: sorted(names[id(p)] for p in g["params"]) for g in groups}
    assert by_group == {
        "backbone": ["backbone.0.bias", "backbone.0.weight"],
        "linear_proj": sorted(
            f"detr.{m}.{t}" for m in ("reference_points", "sampling_offsets") for t in ("weight", "bias")
        ),
        "dictionary": ["word_to_embed.bias", "word_to_embed.weight"],
        "default": ["criterion.bias", "criterion.weight", "detr.head.bias", "detr.head.weight"],
    }
    lrs = {g["name"]: g["lr"] for g in groups}
    assert lrs == pytest.approx({"backbone": 1e-5, "linear_proj": 5e-6, "dictionary": 1e-4, "default": 1e-4})
    assert all(g["weight_decay"] == 5e-4 for g in groups)

    model.word_to_embed.requires_grad_(False)  # frozen parameters are left out
    rules = (ParamGroupRule("bias", (".bias",), weight_decay=0.0), ParamGroupRule("rest", ()))
    groups = build_param_groups(model, rules, lr=1.0, weight_decay=0.5)
    assert [g["name"] for g in groups] == ["bias", "rest"]  # a catch-all rule leaves no default group
    assert [g["weight_decay"] for g in groups] == [0.0, 0.5]
    assert sum(len(g["params"]) for g in groups) == 10  # 12 tensors, 2 frozen


def test_warmup_follows_the_formula_and_multistep_steps_at_epoch_ends(tmp_path):
    lr, iters, warmup = 1e-3, 6, 2
    _fit(tmp_path, _config(epochs=4, lr=lr, warmup_epochs=warmup, milestones=(3,), gamma=0.1))
    lines = _metrics(tmp_path / "run")
    assert len(lines) == 4 * iters
    scales = {"backbone": 0.1, "linear_proj": 0.05, "dictionary": 1.0, "default": 1.0}
    for line in lines:
        e, i = line["epoch"], line["iteration"]
        for name, scale in scales.items():
            if e < warmup:
                expected = lr * (e * iters + i + 1) / (warmup * iters) * scale  # spec fdta.md §4.3
                assert line[f"lr/{name}"] == expected, (e, i, name)
            else:
                expected = lr * scale * (0.1 if e >= 3 else 1.0)
                assert line[f"lr/{name}"] == pytest.approx(expected, rel=1e-12), (e, i, name)


def test_fdta_recipe():
    config = fdta_train_config("bft")
    assert (config.epochs, config.milestones, config.warmup_epochs) == (22, (16, 20), 2)
    assert (config.lr, config.weight_decay, config.max_grad_norm, config.separate_clip) == (
        1e-4,
        5e-4,
        0.1,
        "detr",
    )
    assert config.no_clip == ("criterion.",)  # the Identity Adapter's MLP is never clipped (§4.1 step 12)
    with pytest.raises(ValueError, match="unknown training config keys: nope"):
        TrainConfig.from_dict({"nope": 1})
    with pytest.raises(ValueError, match="precision"):
        TrainConfig(precision="fp8")


def test_cstrack_schedule_warmup_and_decay():
    model = nn.Sequential(nn.Linear(2, 2))
    groups = build_param_groups(model, (ParamGroupRule("bias", (".bias",), weight_decay=0.0),), 0.005, 5e-4)
    optimizer = torch.optim.SGD(groups, lr=0.005, momentum=0.95, nesterov=True)
    schedule = CSTrackSchedule(lr0=0.005, epochs=30, batch_size=8, nominal_batch=64)
    nb = 500  # nw = max(3 * 500, 1000) = 1500
    lr = {}

    def at(epoch, i):
        schedule.before_iteration(optimizer, epoch, i, nb)
        return {g["name"]: (g["lr"], g["momentum"]) for g in optimizer.param_groups}

    lr[0] = at(0, 0)
    assert lr[0]["bias"] == (0.1, 0.9) and lr[0]["default"] == (0.0, 0.9)
    mid = at(1, 250)  # ni = 750 = nw / 2
    f1 = 0.1 + 0.9 * (1 + math.cos(math.pi / 30)) / 2
    assert mid["default"][0] == pytest.approx(0.5 * 0.005 * f1)
    assert mid["bias"][0] == pytest.approx(0.05 + 0.5 * 0.005 * f1)
    assert mid["default"][1] == pytest.approx(0.925)
    assert at(2, 500)["default"][0] == pytest.approx(
        0.005 * (0.1 + 0.9 * (1 + math.cos(2 * math.pi / 30)) / 2)
    )
    assert at(10, 0)["default"][0] == 0.005 and at(20, 0)["bias"][0] == 0.005
    assert at(20, 1)["default"][0] == pytest.approx(0.0005)
    assert [schedule.accumulate(0, i, nb) for i in (0, 750, 1500)] == [1, round(4.5), 8]
    assert schedule.is_update_step(10, 0, nb, 8) and not schedule.is_update_step(10, 1, nb, 1)


def test_cstrack_schedule_from_the_train_config():
    from discmot.engine.train_config import build_schedule
    from discmot.models.cstrack.training import CSTrackOptimConfig, cstrack_schedule

    train = cstrack_train_config(lr=0.01, epochs=12, warmup_epochs=2, milestones=(7, 9), gamma=0.5)
    expected = {
        "lr0": 0.01,
        "epochs": 12,
        "warmup_epochs": 2,
        "min_warmup_iters": 1000,
        "decay_epoch": 7,
        "decay": 0.5,
        "momentum": 0.95,
        "warmup_momentum": 0.9,
        "warmup_bias_lr": 0.1,
        "accumulate_steps": 8,  # nominal batch 8 x 8 over batches of 8
        "warmup_accumulate": 8.0,  # the warm-up's ramp ends at the accumulation given
        "bias_group": "bias",
    }
    from_engine = build_schedule(None, train)  # the engine's default for ``schedule: cstrack``
    assert isinstance(from_engine, CSTrackSchedule) and vars(from_engine) == expected
    assert vars(cstrack_schedule(None, train, CSTrackOptimConfig())) == expected  # the recipe's defaults
    optim = CSTrackOptimConfig(warmup_min_iters=10, warmup_bias_lr=0.2, warmup_momentum=0.8)
    recipe = cstrack_schedule(None, dataclasses.replace(train, milestones=()), optim)
    warmup = {"min_warmup_iters": 10, "warmup_bias_lr": 0.2, "warmup_momentum": 0.8, "decay_epoch": 12}
    assert vars(recipe) == {**expected, **warmup}  # no milestone: no decay within the run


def test_ema_follows_the_yolov5_formula():
    model = nn.Linear(2, 1)
    ema = ModelEMA(model, decay=0.9999, ramp=2000)
    before = ema.module.weight.clone()
    with torch.no_grad():
        model.weight.add_(1.0)
    ema.update(model)
    d = 0.9999 * (1 - math.exp(-1 / 2000))
    torch.testing.assert_close(ema.module.weight, d * before + (1 - d) * model.weight)
    assert not ema.module.weight.requires_grad


# --------------------------------------------------------------------------------------------------
# (d) separate clipping


def test_detr_and_other_gradients_are_clipped_independently():
    model = NamedToy()
    for name, param in model.named_parameters():
        param.grad = torch.full_like(param, 3.0 if "detr" in name else 1e-4)
    small = {n: p.grad.clone() for n, p in model.named_parameters() if "detr" not in n}
    detr_norm = torch.cat([p.grad.flatten() for n, p in model.named_parameters() if "detr" in n]).norm()
    norms = clip_gradients(model.named_parameters(), 0.1, separate="detr", exclude=("criterion",))
    assert set(norms) == {"grad_norm/detr", "grad_norm/other"}
    assert norms["grad_norm/detr"] == pytest.approx(float(detr_norm))
    clipped = torch.cat([p.grad.flatten() for n, p in model.named_parameters() if "detr" in n]).norm()
    assert float(clipped) == pytest.approx(0.1, rel=1e-5)
    for (
        name,
        param,
    ) in model.named_parameters():  # the small group is untouched (joint clipping would scale it)
        if "detr" not in name:
            assert torch.equal(param.grad, small[name]), name

    for param in model.parameters():
        param.grad = torch.full_like(param, 3.0)
    clip_gradients(model.named_parameters(), 0.1, separate="detr", exclude=("criterion",))
    other = torch.cat(
        [p.grad.flatten() for n, p in model.named_parameters() if "detr" not in n and "criterion" not in n]
    )
    assert float(other.norm()) == pytest.approx(0.1, rel=1e-5)
    assert torch.equal(model.criterion.weight.grad, torch.full_like(model.criterion.weight, 3.0))


def test_trainer_logs_both_clip_norms(tmp_path):
    _fit(tmp_path, _config(epochs=1, max_grad_norm=0.1, separate_clip="detr", no_clip=("criterion",)))
    line = _metrics(tmp_path / "run")[0]
    assert line["grad_norm/detr"] > 0 and line["grad_norm/other"] > 0


def test_metrics_carry_wall_clock_time(tmp_path):
    _fit(tmp_path, _config(epochs=1))
    elapsed = [m["elapsed_s"] for m in _metrics(tmp_path / "run")]
    assert len(elapsed) > 1 and elapsed[0] > 0
    assert elapsed == sorted(elapsed)


@pytest.mark.skipif(sys.platform == "win32", reason="the resource module (peak RSS) is Unix-only")
def test_cpu_metrics_carry_the_peak_resident_memory(tmp_path):
    _fit(tmp_path, _config(epochs=1))
    peaks = [m["max_rss_mib"] for m in _metrics(tmp_path / "run")]
    # at least the interpreter with torch loaded (well over 50 MiB), never decreasing (a peak so far)
    assert peaks[0] > 50 and peaks == sorted(peaks)
    assert all("max_memory_mib" not in m for m in _metrics(tmp_path / "run"))  # CUDA's key, not the CPU's


# --------------------------------------------------------------------------------------------------
# (e) run folder, checkpoints, resume


def test_run_folder_contents(tmp_path):
    config = _config(epochs=2, checkpoint_every=4)
    _fit(tmp_path, config)
    run = tmp_path / "run"
    assert sorted(p.name for p in run.iterdir()) == [
        ".lock", "checkpoints", "config.yaml", "environment.json", "metrics.jsonl", "model.safetensors"
    ]  # fmt: skip
    resolved = yaml.safe_load((run / "config.yaml").read_text())
    # the resolved config round-trips, its unset determinism settled as the run used it (on, on a CPU)
    assert config.deterministic is None
    assert TrainConfig.from_dict(resolved["train"]) == dataclasses.replace(config, deterministic=True)
    env = json.loads((run / "environment.json").read_text())
    assert env["seed"] == config.seed and env["world_size"] == 1 and env["device"] == "cpu"
    assert env["versions"]["torch"] == torch.__version__.split("+")[0] or env["versions"]["torch"]
    assert env["git"]["commit"] is None or len(env["git"]["commit"]) == 40
    assert env["command"] and env["hostname"]
    assert [m["step"] for m in _metrics(run)] == list(range(1, 13))
    # 6 iterations per epoch, a checkpoint every 4: the mid-epoch ones are pruned once an epoch ends.
    assert [p.name for p in checkpointing.list_checkpoints(run / "checkpoints")] == [
        "epoch-000.pt",
        "epoch-001.pt",
    ]
    tensors, meta = read_safetensors(run / "model.safetensors")
    assert meta["kind"] == "model" and json.loads(meta["train_config"])["lr"] == config.lr
    assert set(tensors) == set(NamedToy().state_dict())

    with pytest.raises(FileExistsError, match="already holds checkpoints"):
        Trainer(NamedToy(), mse_step, pairs_dataset(), config, run, device="cpu").fit()


def test_unset_determinism_is_on_for_the_cpu_off_on_cuda_and_set_both_ways():
    assert deterministic_on(torch.device("cpu"), None) is True
    assert deterministic_on(torch.device("cuda", 0), None) is False  # cuDNN's fastest kernels stay
    assert deterministic_on(torch.device("cpu"), False) is False
    assert deterministic_on(torch.device("cuda", 0), True) is True
    before = torch.are_deterministic_algorithms_enabled()
    try:
        configure_determinism(True)
        assert torch.are_deterministic_algorithms_enabled()
        # a kernel without a deterministic version (CUDA's grid_sample backward) warns, not stops a run
        assert torch.is_deterministic_algorithms_warn_only_enabled()
        # a process that trained deterministically before does not stay so for a run that says no
        configure_determinism(False)
        assert not torch.are_deterministic_algorithms_enabled()
    finally:
        torch.use_deterministic_algorithms(before)


def test_in_process_resume_extends_a_finished_run(tmp_path):
    _fit(tmp_path, _config(epochs=1))
    trainer = _fit(tmp_path, _config(epochs=2), resume=True)
    assert trainer.global_step == 12 and trainer.epoch == 2
    run = tmp_path / "run"
    assert [m["step"] for m in _metrics(run)] == list(range(1, 13))
    resume = json.loads((run / "resumes.jsonl").read_text())
    assert resume["config_changed"] == ["train.epochs"] and resume["step"] == 6

    reference = _fit(tmp_path / "again", _config(epochs=2))
    for key, value in reference.model.state_dict().items():
        assert torch.equal(trainer.model.state_dict()[key], value), key


def test_resume_with_nothing_to_resume_says_it_starts_from_the_beginning(tmp_path, caplog):
    """``--resume`` in a new run folder (an auto-resuming job script's first start) trains from step 1
    and says so; a named checkpoint that is not there is an error before anything is trained."""
    with caplog.at_level("INFO", logger="discmot"):
        trainer = _fit(tmp_path, _config(epochs=1), resume=True)
    assert "no checkpoint to resume from yet; starting from the beginning" in caplog.text
    assert [m["step"] for m in _metrics(tmp_path / "run")][0] == 1 and trainer.epoch == 1
    with pytest.raises(FileNotFoundError, match="epoch-007.pt: checkpoint to resume from not found"):
        _fit(tmp_path / "other", _config(epochs=1), resume=tmp_path / "epoch-007.pt")


def test_resume_from_another_runs_checkpoint_compares_with_that_runs_config(tmp_path):
    _fit(tmp_path / "first", _config(epochs=1))
    checkpoint = tmp_path / "first" / "run" / "checkpoints" / "epoch-000.pt"
    _fit(tmp_path / "second", _config(epochs=2), resume=checkpoint)
    run = tmp_path / "second" / "run"
    resume = json.loads((run / "resumes.jsonl").read_text())
    assert resume["config_changed"] == ["train.epochs"]  # not every key of a folder with no config yet
    assert yaml.safe_load((run / "config.yaml").read_text())["train"]["epochs"] == 2
    assert json.loads((run / "environment.json").read_text())["seed"] == 1
    # a checkpoint outside any run folder: nothing to compare with, nothing claimed; the files written
    alone = tmp_path / "alone.pt"
    alone.write_bytes(checkpoint.read_bytes())
    _fit(tmp_path / "third", _config(epochs=2), resume=alone)
    run = tmp_path / "third" / "run"
    assert json.loads((run / "resumes.jsonl").read_text())["config_changed"] == []
    assert (run / "config.yaml").is_file() and (run / "environment.json").is_file()


class WiderToy(NamedToy):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 8))


def test_resuming_from_a_bad_or_foreign_checkpoint_is_a_one_line_error(tmp_path):
    """Every unusable file is a `CheckpointError` naming it (the CLI's exit 2 with one line), not a
    traceback from deep inside torch.load or load_state_dict."""
    _fit(tmp_path / "first", _config(epochs=1))
    good = tmp_path / "first" / "run" / "checkpoints" / "epoch-000.pt"
    files = {
        "truncated.pt": good.read_bytes()[: len(good.read_bytes()) // 2],
        "empty.pt": b"",
        "text.pt": b"epoch 3\n",
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(
            CheckpointError, match=f"{name}: not a PyTorch checkpoint (that loads safely|but a text)"
        ):
            _fit(tmp_path / name.replace(".", "_"), _config(epochs=2), resume=tmp_path / name)
    torch.save({"model": NamedToy().state_dict()}, tmp_path / "weights.pt")
    with pytest.raises(CheckpointError, match="weights.pt: not a discmot training checkpoint"):
        _fit(tmp_path / "w", _config(epochs=2), resume=tmp_path / "weights.pt")
    with pytest.raises(CheckpointError, match=r"epoch-000.pt: its model does not fit this run's.*missing"):
        _fit(tmp_path / "wider", _config(epochs=2), resume=good, model=WiderToy())


def test_a_resume_trains_with_the_recipes_lr_weight_decay_and_milestones(tmp_path):
    """The checkpoint gives the optimizer's moments and the epochs done; this run's recipe gives its
    settings. Before, a resume with another lr, weight decay or milestones kept the checkpoint's while
    config.yaml said the new ones."""
    _fit(tmp_path, _config(epochs=2, milestones=(5,)))
    changed = {"epochs": 4, "lr": 2e-3, "weight_decay": 0.05, "milestones": (3,), "gamma": 0.5}
    trainer = _fit(tmp_path, _config(**changed), resume=True)

    lrs = {m["epoch"]: m["lr/default"] for m in _metrics(tmp_path / "run")}
    assert lrs[0] == lrs[1] == pytest.approx(1e-3)  # the first run's
    assert lrs[2] == pytest.approx(2e-3) and lrs[3] == pytest.approx(1e-3)  # the new lr, halved at 3
    assert {g["weight_decay"] for g in trainer.optimizer.param_groups if g["name"] == "default"} == {0.05}
    resume = json.loads((tmp_path / "run" / "resumes.jsonl").read_text())
    assert set(resume["config_changed"]) == {f"train.{key}" for key in changed}


def _values(tree):
    """Every value in nested dicts, lists and tuples (a checkpoint's payload), containers included."""
    yield tree
    children = tree.values() if isinstance(tree, dict) else tree if isinstance(tree, list | tuple) else ()
    for child in children:
        yield from _values(child)


def test_checkpoints_hold_no_counter_and_old_ones_still_resume(tmp_path):
    """MultiStepLR keeps its milestones in a ``collections.Counter``, which ``torch.load(weights_only=True)``
    refuses before torch 2.4 (the declared floor is 2.3): no FDTA or toy run could resume there. The
    checkpoint holds a plain dict now; a Counter of a checkpoint written before still loads."""
    _fit(tmp_path, _config(epochs=2, milestones=(1,), gamma=0.5))
    checkpoint = checkpointing.latest_checkpoint(tmp_path / "run" / "checkpoints")
    payload = torch.load(checkpoint, map_location="cpu", weights_only=True)
    assert not [value for value in _values(payload) if isinstance(value, Counter)]
    trainer = _fit(tmp_path, _config(epochs=3, milestones=(1,), gamma=0.5), resume=True)
    lrs = {m["epoch"]: m["lr/default"] for m in _metrics(tmp_path / "run")}
    assert lrs == pytest.approx({0: 1e-3, 1: 5e-4, 2: 5e-4})  # the milestone counted once, resumed

    old = trainer.schedule.multistep.state_dict()  # as written before: milestones a Counter
    assert isinstance(old["milestones"], Counter)
    fresh = Trainer(NamedToy(), mse_step, pairs_dataset(), _config(milestones=(1,)), tmp_path / "other")
    fresh.schedule.load_state_dict({"multistep": old})
    assert fresh.schedule.multistep.milestones == Counter({1: 1})
    assert fresh.schedule.multistep.last_epoch == old["last_epoch"] == 3


def test_a_mid_epoch_resume_needs_the_same_batch_size_and_epoch(tmp_path):
    def crash_at_step_5(model, batch, context):  # after the checkpoint of iteration 4 (of 6)
        if context.global_step == 4:
            raise KeyboardInterrupt
        return mse_step(model, batch, context)

    with pytest.raises(KeyboardInterrupt):
        _fit(tmp_path, _config(epochs=1, checkpoint_every=2), step=crash_at_step_5)
    middle = checkpointing.latest_checkpoint(tmp_path / "run" / "checkpoints")
    assert middle.name == "epoch-000-iter-000004.pt"

    # batch 3 would have skipped samples 8-11 (4 iterations x 3) instead of resuming at sample 8
    with pytest.raises(ValueError, match="batch size 2 cannot resume with train.batch_size 3"):
        _fit(tmp_path / "b", _config(epochs=1, batch_size=3), resume=middle)
    with pytest.raises(ValueError, match="epoch 0 is not the one the mid-epoch checkpoint was in"):
        _fit(tmp_path / "s", _config(epochs=1, sampler_seed=99), resume=middle)
    assert _fit(tmp_path / "same", _config(epochs=1), resume=middle).global_step == 6


def test_a_second_run_into_a_folder_in_use_is_refused(tmp_path):
    first = Trainer(NamedToy(), mse_step, pairs_dataset(), _config(epochs=1), tmp_path / "run", device="cpu")
    assert first.run.lock()  # as fit() holds it while training
    try:
        with pytest.raises(FileExistsError, match="another training is writing into this run folder"):
            _fit(tmp_path, _config(epochs=1))
        assert not (tmp_path / "run" / "config.yaml").exists()  # nothing of the second run written
    finally:
        first.run.close()
    assert _fit(tmp_path, _config(epochs=1)).epoch == 1  # free again once the first one ends


def test_a_fresh_start_removes_what_a_killed_checkpoint_write_left(tmp_path):
    folder = tmp_path / "run" / "checkpoints"
    folder.mkdir(parents=True)
    (folder / ".epoch-000-iter-000001.pt.tmp-x1y2").write_bytes(b"half")
    _fit(tmp_path, _config(epochs=1), resume=True)  # no checkpoint yet: starts from the beginning
    assert not list(folder.glob(".*.tmp-*"))


def test_an_epoch_without_samples_is_an_error(tmp_path):
    with pytest.raises(ValueError, match=r"epoch 0: no samples for the 1 process \(0 in the dataset\)"):
        Trainer(
            NamedToy(), mse_step, pairs_dataset(0), _config(epochs=1), tmp_path / "run", device="cpu"
        ).fit()


def test_a_checkpoint_of_another_model_kind_names_both(tmp_path):
    _fit(tmp_path / "first", _config(epochs=1), model_kind="fdta")
    checkpoint = tmp_path / "first" / "run" / "checkpoints" / "epoch-000.pt"
    with pytest.raises(CheckpointError, match="a checkpoint of FDTA training; this run trains CSTrack"):
        _fit(tmp_path / "second", _config(epochs=2), resume=checkpoint, model_kind="cstrack")


def test_latest_checkpoint_ignores_partial_and_foreign_files(tmp_path):
    for name in ("epoch-000.pt", "epoch-001-iter-000004.pt", "epoch-001.pt", "epoch-002-iter-000003.pt"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / ".epoch-002.pt.tmp-abc123").write_bytes(b"half")
    (tmp_path / "epoch-9.pt").write_bytes(b"not ours")
    assert checkpointing.latest_checkpoint(tmp_path).name == "epoch-002-iter-000003.pt"
    assert checkpointing.resume_point("epoch-001.pt") == (2, 0)
    checkpointing.prune(tmp_path, keep_epochs=1)
    assert [p.name for p in checkpointing.list_checkpoints(tmp_path)] == [
        "epoch-001.pt",
        "epoch-002-iter-000003.pt",
    ]
    assert [p.name for p in checkpointing.remove_temporaries(tmp_path)] == [".epoch-002.pt.tmp-abc123"]


def test_sharded_sampler_splits_the_global_order():
    sampler = ShardedSampler(10, seed=3)
    whole = sampler(0, 0, 1)
    halves = [sampler(0, r, 2) for r in (0, 1)]
    assert sorted(whole) == list(range(10)) and whole != sampler(1, 0, 1)
    assert [x for pair in zip(*halves, strict=True) for x in pair] == whole
    assert sampler(0, 1, 2, start=2) == halves[1][2:]
    assert len(ShardedSampler(11)(0, 0, 2)) == len(ShardedSampler(11)(0, 1, 2)) == 5


# --------------------------------------------------------------------------------------------------
# (f) precision


def test_bf16_autocast_step_runs_on_cpu(tmp_path):
    seen = []

    def step(model, batch, context):
        seen.append(model(batch[0]).dtype)  # a linear layer's output: bf16 under CPU bf16 autocast only
        with context.autocast(enabled=False):
            seen.append(model(batch[0]).dtype)
        return mse_step(model, batch, context)

    _fit(tmp_path, _config(epochs=1, precision="bf16"), step=step)
    assert seen[:2] == [torch.bfloat16, torch.float32]
    assert all(math.isfinite(m["loss"]) for m in _metrics(tmp_path / "run"))


def test_fp16_uses_a_grad_scaler(tmp_path):
    # torch >= 2.3 has a CPU GradScaler and CPU fp16 autocast; it is enabled here exactly as on CUDA.
    trainer = _fit(tmp_path, _config(epochs=1, precision="fp16"))
    assert trainer.scaler.is_enabled()
    assert trainer.scaler.get_scale() > 0
    payload = checkpointing.read_checkpoint(tmp_path / "run" / "checkpoints" / "epoch-000.pt")
    assert payload["scaler"]["scale"] == trainer.scaler.get_scale()
    assert not Trainer(
        NamedToy(), mse_step, pairs_dataset(), _config(), tmp_path / "fp32", device="cpu"
    ).scaler.is_enabled()


# --------------------------------------------------------------------------------------------------
# Accumulation, EMA, CSTrack recipe, TensorBoard


def test_accumulating_two_half_batches_equals_one_full_batch(tmp_path):
    full = _fit(tmp_path / "full", _config(epochs=2, batch_size=4, lr=1e-2))
    accumulated = _fit(tmp_path / "acc", _config(epochs=2, batch_size=2, lr=1e-2, accumulate_steps=2))
    assert full.optimizer_steps == accumulated.optimizer_steps == 6
    for key, value in full.model.state_dict().items():
        torch.testing.assert_close(accumulated.model.state_dict()[key], value, rtol=1e-5, atol=1e-7)


def test_ema_weights_are_checkpointed_and_exported(tmp_path):
    trainer = _fit(tmp_path, _config(epochs=1, lr=1e-2, ema_decay=0.9, ema_ramp=1.0))
    assert trainer.ema.updates == 6
    exported = read_safetensors(tmp_path / "run" / "model.safetensors")[0]
    ema_state, live = trainer.ema.module.state_dict(), trainer.model.state_dict()
    assert all(torch.equal(exported[k], ema_state[k]) for k in ema_state)
    assert not all(torch.equal(exported[k], live[k]) for k in live)
    payload = checkpointing.read_checkpoint(tmp_path / "run" / "checkpoints" / "epoch-000.pt")
    assert payload["ema"]["updates"] == 6


def test_cstrack_recipe_runs(tmp_path):
    config = cstrack_train_config(
        epochs=1, batch_size=2, accumulate_steps=2, precision="fp32", progress=False
    )
    trainer = _fit(tmp_path, config)
    group = trainer.optimizer.param_groups[0]
    assert group["nesterov"] and 0.9 < group["momentum"] < 0.95  # inside the momentum warm-up
    assert trainer.ema is not None and trainer.optimizer_steps >= 3


def test_tensorboard_is_an_optional_extra(tmp_path):
    config = _config(epochs=1, tensorboard=True)
    if importlib.util.find_spec("tensorboard") is None:
        with pytest.raises(ValueError, match="pip install tensorboard\\) or set train.tensorboard=false"):
            _fit(tmp_path, config)
    else:
        _fit(tmp_path, config)
        assert list((tmp_path / "run" / "tensorboard").glob("events.*"))


def test_launch_gives_back_the_process_wide_settings_it_changes(tmp_path):
    """A notebook that trains and then does other work finds its RNGs and kernel switches as they were
    (the run seeds the global RNGs and turns deterministic kernels on for the CPU)."""
    before = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(False)
    try:
        random.seed(11)
        torch.manual_seed(11)
        expected = random.random(), torch.rand(1).item()
        random.seed(11)
        torch.manual_seed(11)

        def build(info):
            return TrainSetup(model=NamedToy(), step_fn=mse_step, dataset=pairs_dataset())

        weights = launch(build, _config(epochs=1), tmp_path / "run", device="cpu")

        assert weights is not None and weights.is_file()
        assert not torch.are_deterministic_algorithms_enabled()  # the run had them on (CPU default)
        assert (random.random(), torch.rand(1).item()) == expected
    finally:
        torch.use_deterministic_algorithms(before)


def test_a_file_system_without_flock_trains_unlocked_with_a_warning(tmp_path, monkeypatch, caplog):
    import errno
    import fcntl

    def no_flock(fd, operation):
        raise OSError(errno.ENOSYS, "Function not implemented")  # Lustre mounted without -o flock

    monkeypatch.setattr(fcntl, "flock", no_flock)
    with caplog.at_level("WARNING"):
        trainer = _fit(tmp_path, _config(epochs=1))
    assert trainer.epoch == 1 and "cannot lock the run folder" in caplog.text


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX-only")
def test_a_forked_worker_does_not_keep_the_run_folder_locked(tmp_path):
    """A flock lasts while any descriptor of it is open, and forked DataLoader workers inherit the
    trainer's: they close theirs at the fork, so a killed trainer's folder is free for its resume."""
    from discmot.engine.run_folder import RunFolder

    first = RunFolder(tmp_path / "run")
    assert first.lock()
    started, ready = os.pipe()
    child = os.fork()
    if child == 0:  # a worker that outlives its trainer for a while
        os.write(ready, b"1")  # after the fork hooks ran, as they do before a worker starts its loop
        time.sleep(3)
        os._exit(0)
    try:
        os.read(started, 1)
        first.close()
        second = RunFolder(tmp_path / "run")
        assert second.lock(), "the forked child kept the lock"
        second.close()
    finally:
        os.waitpid(child, 0)


def test_a_resume_with_other_optimizer_groups_names_them(tmp_path):
    _fit(tmp_path, _config(epochs=1))
    with pytest.raises(
        CheckpointError,
        match=r"its optimizer groups \(backbone \(2\), .*\) are not this run.s \(default \(12\)\)",
    ):
        _fit(tmp_path, _config(epochs=2, param_groups=()), resume=True)


def test_a_resume_with_a_new_lr_skips_milestones_inside_the_warm_up(tmp_path):
    """As an uninterrupted run: a milestone inside the warm-up is overwritten by it, not counted."""
    schedule = {"warmup_epochs": 2, "milestones": (1, 3), "gamma": 0.1}
    _fit(tmp_path / "whole", _config(epochs=4, lr=2e-3, **schedule))
    _fit(tmp_path / "cut", _config(epochs=2, lr=1e-3, **schedule))
    _fit(tmp_path / "cut", _config(epochs=4, lr=2e-3, **schedule), resume=True)

    def lr_per_epoch(run):
        return {m["epoch"]: m["lr/default"] for m in _metrics(run / "run")}

    whole, resumed = lr_per_epoch(tmp_path / "whole"), lr_per_epoch(tmp_path / "cut")
    assert resumed[2] == pytest.approx(whole[2]) == pytest.approx(2e-3)
    assert resumed[3] == pytest.approx(whole[3]) == pytest.approx(2e-4)


def test_resuming_from_the_final_weights_file_says_what_it_is(tmp_path):
    _fit(tmp_path, _config(epochs=1))
    weights = tmp_path / "run" / "model.safetensors"
    with pytest.raises(CheckpointError, match="model.safetensors: not a discmot training checkpoint"):
        _fit(tmp_path / "other", _config(epochs=2), resume=weights)


def test_without_a_terminal_progress_is_a_log_line_now_and_then(tmp_path, monkeypatch, caplog):
    """With stderr a log file (nohup, a batch job) the bar is not drawn, and nothing was said between
    the data summary and the first checkpoint, minutes later on a CPU: now the first logged iteration
    gets a line (a 64 s run logged none while the first waited for a minute), then one a minute."""
    import discmot.engine.train as train_module

    def progress_lines() -> list[str]:
        return [r.getMessage() for r in caplog.records if ": iteration " in r.getMessage()]

    iterations = len(pairs_dataset()) // 2
    with caplog.at_level("INFO", logger="discmot.engine.train"):
        _fit(tmp_path / "a", _config(epochs=2, progress=True))  # the toy run takes well under a minute
    lines = progress_lines()
    assert len(lines) == 1 and lines[0].startswith(f"epoch 1/2: iteration 1 of {iterations}, loss ")
    monkeypatch.setattr(train_module, "PROGRESS_LINE_SECONDS", 0.0)
    caplog.clear()
    with caplog.at_level("INFO", logger="discmot.engine.train"):
        _fit(tmp_path / "b", _config(epochs=1, progress=True))
    lines = progress_lines()
    assert len(lines) == iterations and lines[0].startswith(f"epoch 1/1: iteration 1 of {iterations}, loss ")
    caplog.clear()
    with caplog.at_level("INFO", logger="discmot.engine.train"):
        _fit(tmp_path / "c", _config(epochs=1, progress=False))  # --set train.progress=false: quiet
    assert not progress_lines()
