"""The training engine shared by FDTA and CSTrack: one loop that owns devices, processes, precision,
optimizer, schedule, checkpoints and the run folder.

The model-specific part is a *step function* ``step_fn(model, batch, context) -> (loss, logs)``: it
runs the forward passes (FDTA: gradient and no-grad frames, activation-checkpointed chunks, criterion;
spec ``fdta.md`` §4.1 steps 4-11) and returns a scalar loss and a dict of scalars to log. The engine
does the rest of an iteration: learning-rate schedule, autocast, backward (through a ``GradScaler`` in
fp16), gradient synchronisation, clipping, optimizer step, EMA, logging and checkpoints.

Several processes: launch with ``torchrun`` (``torchrun --nproc_per_node 2 -m discmot train ...``);
each process trains on its shard of every epoch and the gradients are averaged (DDP, gloo on the CPU,
NCCL on CUDA). The DDP wrapper is around the step function itself, so a step may call any method of
the model any number of times before the one backward pass, and gradients are still synchronised.
With a per-process batch of ``B / world_size`` and a per-process loss that is a mean over its batch,
the run follows the same trajectory as one process with batch ``B``.

Resuming restores model, optimizer, schedule, scaler, EMA, epoch, position in the epoch and every
rank's python/numpy/torch RNG states, so that on the CPU (where ``deterministic`` is on unless set
off) with ``num_workers: 0`` a killed and resumed run ends with the same weights as an uninterrupted one,
and two runs of the same command with one another.

This module holds the loop and `launch`; the trainer's checkpoints and final weights are
`discmot.engine.trainer_checkpoint`'s, its status lines `discmot.engine.run_status`'s, and how its
processes act together `discmot.engine.process_group`'s.
"""

from __future__ import annotations

import contextlib
import logging
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import cast

import torch
from torch import nn
from tqdm import tqdm

from discmot.engine import checkpointing, trainer_checkpoint
from discmot.engine.distributed import (
    DistInfo,
    all_min_max,
    barrier,
    cleanup_distributed,
    configure_determinism,
    deterministic_on,
    init_distributed,
    process_settings_kept,
    reduce_mean,
    seed_everything,
)
from discmot.engine.loading import ShardedSampler, build_loader, to_device
from discmot.engine.optim import (
    FDTA_PARAM_GROUPS,
    CSTrackSchedule,
    ModelEMA,
    ParamGroupRule,
    Schedule,
    WarmupMultiStep,
    build_optimizer,
    build_param_groups,
    clip_gradients,
)
from discmot.engine.process_group import lock_run_folder, peer_failures_in_one_line, said_by_rank_0, wrap_ddp
from discmot.engine.run_environment import environment
from discmot.engine.run_folder import RunFolder
from discmot.engine.run_status import Position, RunStatus, at_max_iterations, closing_summary, processes
from discmot.engine.signals import sigterm_deferred
from discmot.engine.step import SamplerFactory, StepContext, StepFn, StepModule
from discmot.engine.train_config import TrainConfig, build_schedule, cstrack_train_config, fdta_train_config

log = logging.getLogger(__name__)
#: Without a progress bar (stderr is no terminal: a log file, nohup, a batch job), a log line at most this
#: often, so that the run is seen to move between its checkpoints.
PROGRESS_LINE_SECONDS = 60.0

__all__ = [
    "FDTA_PARAM_GROUPS",
    "CSTrackSchedule",
    "ParamGroupRule",
    "SamplerFactory",
    "Schedule",
    "ShardedSampler",
    "StepContext",
    "StepFn",
    "TrainConfig",
    "TrainSetup",
    "Trainer",
    "WarmupMultiStep",
    "cstrack_train_config",
    "fdta_train_config",
    "launch",
]

# --------------------------------------------------------------------------------------------------
# The trainer


class Trainer:
    """Trains ``model`` with ``step_fn`` over ``dataset``; see the module docstring.

    ``param_groups`` (a callable ``model -> list of group dicts``) replaces the name rules of the config;
    ``schedule`` (a callable ``optimizer -> Schedule``) replaces the config's schedule. ``model_config``
    (a dataclass) and ``model_kind`` go into the final ``model.safetensors``; ``resolved_config`` (a dict)
    is what ``config.yaml`` holds besides the training config and ``model_config`` (which are always there).
    """

    def __init__(
        self,
        model: nn.Module,
        step_fn: StepFn,
        dataset,
        config: TrainConfig,
        run_dir: str | Path,
        *,
        sampler_factory: SamplerFactory | None = None,
        collate_fn: Callable | None = None,
        device: str | torch.device | None = None,
        model_config=None,
        model_kind: str = "model",
        resolved_config: dict | None = None,
        param_groups: Callable[[nn.Module], list[dict]] | None = None,
        schedule: Callable[[torch.optim.Optimizer], Schedule] | None = None,
        recipe: str | None = None,
    ):
        self.dist: DistInfo = init_distributed(device)
        self.recipe = recipe  # the recipe file's text, for the run folder's recipe.yaml
        self.device = self.dist.device
        # an unset train.deterministic is settled for this device, so the run's config says what was used
        deterministic = deterministic_on(self.device, config.deterministic)
        config = replace(config, deterministic=deterministic)
        self.config = config
        configure_determinism(deterministic)
        self.model = model.to(self.device)
        self.dataset, self.collate_fn = dataset, collate_fn
        self.sampler_factory = sampler_factory or ShardedSampler(len(dataset), config.sampler_seed)
        self.model_config, self.model_kind = model_config, model_kind
        self.resolved_config = {
            "train": config,
            **({"model": model_config} if model_config else {}),
            **(resolved_config or {}),
        }
        self.optimizer = self._build_optimizer(param_groups)
        self.schedule = (schedule or partial(build_schedule, config=config))(self.optimizer)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=config.precision == "fp16")
        self.ema = ModelEMA(self.model, config.ema_decay, config.ema_ramp) if config.ema_decay else None
        self.step_module = StepModule(self.model, step_fn)
        self.runner: nn.Module = self.step_module
        if self.dist.distributed:
            self.runner = wrap_ddp(self.step_module, self.dist, config.find_unused_parameters)
        self.run = RunFolder(run_dir, self.dist.is_main, config.tensorboard)
        self.status = RunStatus(self.run.path, config, self.dist)
        self.epoch = self.iteration = self.global_step = self.optimizer_steps = 0
        self._last_checkpoint_step = 0
        self._epoch_order: int | None = None  # `checkpointing.epoch_fingerprint` of the epoch in progress
        seed_everything(config.seed + self.dist.rank)

    def _build_optimizer(
        self, param_groups: Callable[[nn.Module], list[dict]] | None
    ) -> torch.optim.Optimizer:
        """The config's optimizer over ``param_groups(model)`` (None: the groups of the config's rules)."""
        c = self.config
        if param_groups:
            groups = param_groups(self.model)
        else:
            groups = build_param_groups(self.model, c.param_groups, c.lr, c.weight_decay)
        options = {"betas": c.betas, "eps": c.eps, "momentum": c.momentum, "nesterov": c.nesterov}
        return build_optimizer(groups, c.optimizer, c.lr, **options)

    # ---- the loop

    def fit(self, resume: bool | str | Path | None = None) -> Path | None:
        """Trains to ``config.epochs`` (or its ``max_iterations``: an early stop, after which a resume
        with a larger value or 0 goes on as if never stopped); returns the final weights' path (on rank
        0; None elsewhere).

        ``resume``: None starts fresh (refused if the run folder already holds checkpoints), True resumes
        from the latest complete checkpoint there (fresh start if none), a path resumes from that file.
        """
        lock_run_folder(self.run, self.dist)
        try:
            checkpoint = trainer_checkpoint.resume_path(resume, self.run, self.dist.rank)
            env = environment(self.config.seed, self.dist.world_size, str(self.device))
            if checkpoint is None:
                self.run.write_start(self.resolved_config, env, self.recipe)
            else:
                self.load_checkpoint(checkpoint)
                finished = self.status.already_done(self._position(), checkpoint)
                if finished is not None:
                    return finished
                if self.dist.is_main:  # said once: every process resumes from the same file
                    log.info("resumed from %s: %s", checkpoint, self.status.position(self._position()))
                self.run.write_resume(self.resolved_config, env, checkpoint, self.global_step, self.recipe)
            # what a killed checkpoint write left, with or without a checkpoint to resume
            if self.dist.is_main:
                checkpointing.remove_temporaries(self.run.checkpoints)
            self.optimizer.zero_grad(set_to_none=True)
            self.status.say_what_is_ahead(self._position(), self.sampler_factory)
            self._fit_started = time.perf_counter()
            # the first logged iteration gets a line: the run is seen to move
            self._last_progress_line: float | None = None
            self._last_logged: dict | None = None  # its loss and time end the run's closing line
            while self.epoch < self.config.epochs and not at_max_iterations(self.config, self.global_step):
                self._train_epoch(self.epoch)
            if self.epoch < self.config.epochs:
                self.status.say_stopped_early(self._position())
            return trainer_checkpoint.write_final(self, closing_summary(self.global_step, self._last_logged))
        finally:
            self.run.close()

    def _position(self) -> Position:
        """Where training stands, for the run's status lines."""
        return Position(self.epoch, self.iteration, self.global_step)

    def _train_epoch(self, epoch: int) -> None:
        c, d = self.config, self.dist
        full = self.sampler_factory(epoch, d.rank, d.world_size, 0)
        fewest, most = all_min_max(math.ceil(len(full) / c.batch_size), self.device)  # a partial last batch
        if fewest != most:
            raise RuntimeError(
                f"epoch {epoch}: processes have {fewest} to {most} iterations; shards must be equal"
            )
        if most == 0:  # else every epoch "trains" nothing and the untrained weights are written
            size = f" ({len(self.dataset)} in the dataset)" if hasattr(self.dataset, "__len__") else ""
            raise ValueError(
                f"epoch {epoch}: no samples for {'each of the' if d.distributed else 'the'} "
                f"{processes(d.world_size)}{size}; give more data or use "
                "fewer processes"
            )
        self._epoch_order = checkpointing.epoch_fingerprint(full)
        iters, start = fewest, self.iteration
        indices = (
            full if start == 0 else self.sampler_factory(epoch, d.rank, d.world_size, start * c.batch_size)
        )
        bar = tqdm(
            total=iters,
            initial=start,
            desc=f"epoch {epoch + 1}/{c.epochs}",  # counted from 1, as the log lines count
            disable=not self._show_progress(),
            leave=False,
        )
        # A SIGTERM stops the run between iterations, never inside one (`sigterm_deferred`): raised
        # wherever the handler ran (backward, a loader's start, a __del__ that swallows it), the exit
        # printed DataLoader tracebacks or was lost and the run went on training
        with sigterm_deferred():
            batches = iter(self._loader(indices, epoch))
        pending, stopped = 0, False
        for i in range(start, iters):
            with sigterm_deferred():
                batch = next(batches, None)
                if batch is None:
                    break
                pending += 1
                update = self.schedule.is_update_step(epoch, i, iters, pending)
                record = self._iteration(batch, epoch, i, iters, update)
                if update:
                    record.update(self._optimizer_step())
                    pending = 0
                self.iteration, self.global_step = i + 1, self.global_step + 1
                # an early stop (train.max_iterations) waits for an optimizer step, as a mid-epoch
                # checkpoint does: it holds no accumulated gradient. Its iteration is logged: a smoke
                # test shorter than log_every showed no loss
                stopped = update and at_max_iterations(c, self.global_step)
                if self.global_step % c.log_every == 0 or i + 1 == iters or stopped:
                    self._log(record, epoch, i, bar)
                bar.update(1)
                since = self.global_step - self._last_checkpoint_step
                due = c.checkpoint_every and since >= c.checkpoint_every
                if update and (due or stopped) and i + 1 < iters:
                    self.save_checkpoint(checkpointing.checkpoint_name(epoch, i + 1))
                if stopped and i + 1 < iters:
                    break
        bar.close()
        if stopped and self.iteration < iters:  # mid-epoch: the epoch is not over
            return
        with sigterm_deferred():
            self.schedule.after_epoch(self.optimizer, epoch)
            self.epoch, self.iteration = epoch + 1, 0
            self.save_checkpoint(checkpointing.checkpoint_name(epoch))

    def _show_progress(self) -> bool:
        return self.config.progress and self.dist.is_main and sys.stderr.isatty()

    def _loader(self, indices, epoch: int) -> torch.utils.data.DataLoader:
        c = self.config
        seed = c.seed * 1_000_003 + epoch * 1009 + self.dist.rank
        pin = c.pin_memory and self.device.type == "cuda"
        return build_loader(self.dataset, indices, c.batch_size, self.collate_fn, seed, c.num_workers, pin)

    def _iteration(self, batch, epoch: int, i: int, iters: int, update: bool) -> dict:
        """Schedule, forward (step_fn under autocast) and backward of one iteration; returns its logs."""
        self.schedule.before_iteration(self.optimizer, epoch, i, iters)
        c, d = self.config, self.dist
        context = StepContext(epoch, i, iters, self.global_step, d.device, c.precision, d.rank, d.world_size)
        batch = to_device(batch, self.device, non_blocking=c.pin_memory)
        sync = update or not d.distributed
        self.model.train()
        # no_sync is DDP's: a step is left unsynced only with several processes, where the runner is
        # `wrap_ddp`'s DistributedDataParallel
        ddp = cast("nn.parallel.DistributedDataParallel", self.runner)
        with contextlib.nullcontext() if sync else ddp.no_sync():
            with context.autocast():
                loss, logs = self.runner(batch, context)
            if c.precision != "fp16" and not torch.isfinite(loss):
                raise FloatingPointError(
                    f"loss is {loss.item()} at epoch {epoch} iteration {i} (rank {d.rank})"
                )
            scaled = loss / self.schedule.accumulate_steps if c.divide_loss_by_accumulation else loss
            self.scaler.scale(scaled).backward()
        return {"loss": loss.detach(), **logs}

    def _optimizer_step(self) -> dict:
        """Unscale, clip, step, zero the gradients, update the EMA; returns the gradient norms."""
        self.scaler.unscale_(self.optimizer)
        norms = {}
        if self.config.max_grad_norm:
            norms = clip_gradients(
                self.model.named_parameters(),
                self.config.max_grad_norm,
                self.config.separate_clip,
                self.config.no_clip,
            )
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        if self.ema is not None:
            self.ema.update(self.model)
        self.optimizer_steps += 1
        return norms

    def _log(self, record: dict, epoch: int, i: int, bar) -> None:
        """Averages the logged scalars over processes; rank 0 writes them (and shows the loss)."""
        keys = sorted(record)
        means = reduce_mean(torch.stack([_scalar(record[k], self.device) for k in keys])).tolist()
        line = {
            "step": self.global_step,
            "epoch": epoch,
            "iteration": i,
            # wall-clock seconds since this process started (or resumed) fitting: throughput from the log
            "elapsed_s": round(time.perf_counter() - self._fit_started, 3),
            **dict(zip(keys, means, strict=True)),
        }
        for n, group in enumerate(self.optimizer.param_groups):
            line[f"lr/{group.get('name', n)}"] = group["lr"]
        if self.device.type == "cuda":  # the OOM question users ask first: peak memory so far, this rank
            line["max_memory_mib"] = round(torch.cuda.max_memory_allocated(self.device) / 2**20, 1)
        elif (rss := peak_rss_mib()) is not None:  # on the CPU the tensors live in the process itself
            line["max_rss_mib"] = rss
        self.run.log(line)
        self._last_logged = line
        bar.set_postfix(loss=f"{line['loss']:.4g}", refresh=False)
        self._progress_line(line, bar)

    def _progress_line(self, line: dict, bar) -> None:
        """Where no bar is drawn, the bar's news as a log line: at the first logged iteration, then at
        most every `PROGRESS_LINE_SECONDS` (the first came after a minute: a 64 s run logged none)."""
        if not (self.config.progress and self.dist.is_main and bar.disable):
            return
        now = time.perf_counter()
        if self._last_progress_line is not None and now - self._last_progress_line < PROGRESS_LINE_SECONDS:
            return
        self._last_progress_line = now
        log.info(
            "epoch %d/%d: iteration %d of %d, loss %.4g (%.0f s)",
            line["epoch"] + 1,
            self.config.epochs,
            line["iteration"] + 1,
            bar.total,
            line["loss"],
            line["elapsed_s"],
        )

    # ---- checkpoints

    def save_checkpoint(self, name: str) -> Path:
        """Every process hands over its RNG states; rank 0 writes the checkpoint atomically and prunes."""
        path = trainer_checkpoint.save(self, name, self._epoch_order)
        self._last_checkpoint_step = self.global_step
        return path

    def load_checkpoint(self, path: str | Path) -> None:
        """Restores everything `save_checkpoint` wrote (RNG states last, for this process's rank)."""
        trainer_checkpoint.restore(self, path)
        self._last_checkpoint_step = self.global_step


def peak_rss_mib() -> float | None:
    """This process's peak resident memory so far in MiB (``None`` where the OS does not report it)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes
    return round(peak / (2**20 if sys.platform == "darwin" else 2**10), 1)


def _scalar(value, device: torch.device) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.detach().to(device=device, dtype=torch.float64).reshape(())
    return torch.tensor(float(value), dtype=torch.float64, device=device)


# --------------------------------------------------------------------------------------------------
# Entry point for ``discmot train``


@dataclass
class TrainSetup:
    """What a model's builder hands to `launch`: the model, its step function, data, and options for
    `Trainer` (see there). ``config``: the training config settled for this run's process count (CSTrack's
    accumulation follows it), used instead of the one given to `launch`."""

    model: nn.Module
    step_fn: StepFn
    dataset: object
    sampler_factory: SamplerFactory | None = None
    collate_fn: Callable | None = None
    model_config: object = None
    model_kind: str = "model"
    resolved_config: dict | None = None
    param_groups: Callable | None = None
    schedule: Callable | None = None
    config: TrainConfig | None = None


def launch(
    build: Callable[[DistInfo], TrainSetup],
    config: TrainConfig,
    run_dir: str | Path,
    *,
    resume: bool | str | Path | None = None,
    device: str | torch.device | None = None,
    recipe: str | None = None,
) -> Path | None:
    """Runs one training process: joins torchrun's process group (if any), seeds ``seed + rank``, calls
    ``build(dist_info)`` for the model and data, trains, and leaves the process group.

    One process: ``discmot train ...``. Several: ``torchrun --nproc_per_node N -m discmot train ...``
    (every process runs this function; rank 0 writes the run folder). Returns the final weights' path
    on rank 0. The process-wide settings the run changes (deterministic kernels, TF32, the global RNGs)
    are given back when it returns (`process_settings_kept`). ``recipe``: the text of the recipe file
    the run used (`discmot.config.recipe_text`), kept as the run folder's ``recipe.yaml``.
    """
    with process_settings_kept():
        info = init_distributed(device)
        try:
            with peer_failures_in_one_line(info):
                return _launch_joined(info, build, config, run_dir, resume, recipe)
        finally:
            cleanup_distributed()


def _launch_joined(info: DistInfo, build, config: TrainConfig, run_dir, resume, recipe) -> Path | None:
    """`launch` once the process group is joined."""
    configure_determinism(deterministic_on(info.device, config.deterministic))
    seed_everything(config.seed + info.rank)
    with said_by_rank_0(info):  # every process reads the same data: its notes and warnings once
        setup = build(info)
    trainer = Trainer(
        setup.model,
        setup.step_fn,
        setup.dataset,
        setup.config or config,
        run_dir,
        sampler_factory=setup.sampler_factory,
        collate_fn=setup.collate_fn,
        device=info.device,
        model_config=setup.model_config,
        model_kind=setup.model_kind,
        resolved_config=setup.resolved_config,
        param_groups=setup.param_groups,
        schedule=setup.schedule,
        recipe=recipe,
    )
    weights = trainer.fit(resume)
    barrier()  # leave together: a rank tearing gloo down while another still writes can abort
    return weights
