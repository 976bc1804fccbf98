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

import torch
from torch import nn
from tqdm import tqdm

from discmot._version import __version__
from discmot.engine import checkpointing
from discmot.engine.distributed import (
    DistInfo,
    all_min_max,
    barrier,
    capture_rng_state,
    cleanup_distributed,
    configure_determinism,
    deterministic_on,
    gather_objects,
    init_distributed,
    process_settings_kept,
    reduce_mean,
    restore_rng_state,
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
from discmot.engine.run_folder import (
    RUN_WEIGHTS,
    RunFolder,
    config_changes,
    environment,
    join_changes,
    own_recipe_hint,
    plain,
    recipe_changes,
)
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
        config = replace(config, deterministic=deterministic_on(self.device, config.deterministic))
        self.config = config
        configure_determinism(config.deterministic)
        self.model = model.to(self.device)
        self.dataset, self.collate_fn = dataset, collate_fn
        self.sampler_factory = sampler_factory or ShardedSampler(len(dataset), config.sampler_seed)
        self.model_config, self.model_kind = model_config, model_kind
        self.resolved_config = {
            "train": config,
            **({"model": model_config} if model_config else {}),
            **(resolved_config or {}),
        }
        self.optimizer = self._build_optimizer(param_groups or self._rule_groups)
        self.schedule = (schedule or partial(build_schedule, config=config))(self.optimizer)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=config.precision == "fp16")
        self.ema = ModelEMA(self.model, config.ema_decay, config.ema_ramp) if config.ema_decay else None
        self.step_module = StepModule(self.model, step_fn)
        self.runner: nn.Module = self.step_module
        if self.dist.distributed:
            self.runner = self._wrap_ddp(self.step_module)
        self.run = RunFolder(run_dir, self.dist.is_main, config.tensorboard)
        self.epoch = self.iteration = self.global_step = self.optimizer_steps = 0
        self._last_checkpoint_step = 0
        self._epoch_order: int | None = None  # `checkpointing.epoch_fingerprint` of the epoch in progress
        seed_everything(config.seed + self.dist.rank)

    def _build_optimizer(self, param_groups: Callable[[nn.Module], list[dict]]) -> torch.optim.Optimizer:
        """The config's optimizer over ``param_groups(model)``."""
        c = self.config
        options = {"betas": c.betas, "eps": c.eps, "momentum": c.momentum, "nesterov": c.nesterov}
        return build_optimizer(param_groups(self.model), c.optimizer, c.lr, **options)

    def _wrap_ddp(self, step_module: StepModule) -> nn.parallel.DistributedDataParallel:
        """``step_module`` under DDP (several processes), its process-local parameters left out."""
        self._keep_out_of_ddp(step_module)
        return nn.parallel.DistributedDataParallel(
            step_module,
            device_ids=[self.device] if self.device.type == "cuda" else None,
            find_unused_parameters=self.config.find_unused_parameters,
        )

    @staticmethod
    def _keep_out_of_ddp(step_module: StepModule) -> None:
        """Parameters the training module names in ``process_local_parameters()`` are trained by each
        process on its own: DDP neither averages their gradients nor waits for them (FDTA's Identity
        Adapter MLP, outside the original's DDP wrapper; it has no gradient in epoch 0)."""
        local = getattr(step_module.model, "process_local_parameters", None)
        if local is not None:
            names = [f"model.{name}" for name in local()]
            nn.parallel.DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(
                step_module, names
            )

    def _rule_groups(self, model: nn.Module) -> list[dict]:
        return build_param_groups(model, self.config.param_groups, self.config.lr, self.config.weight_decay)

    # ---- the loop

    def fit(self, resume: bool | str | Path | None = None) -> Path | None:
        """Trains to ``config.epochs`` (or its ``max_iterations``: an early stop, after which a resume
        with a larger value or 0 goes on as if never stopped); returns the final weights' path (on rank
        0; None elsewhere).

        ``resume``: None starts fresh (refused if the run folder already holds checkpoints), True resumes
        from the latest complete checkpoint there (fresh start if none), a path resumes from that file.
        """
        self._lock_run_folder()
        try:
            checkpoint = self._resume_path(resume)
            env = environment(self.config.seed, self.dist.world_size, str(self.device))
            if checkpoint is None:
                self.run.write_start(self.resolved_config, env, self.recipe)
            else:
                self.load_checkpoint(checkpoint)
                finished = self._already_done(checkpoint)
                if finished is not None:
                    return finished
                if self.dist.is_main:  # said once: every process resumes from the same file
                    log.info("resumed from %s: %s", checkpoint, self._position())
                self.run.write_resume(self.resolved_config, env, checkpoint, self.global_step, self.recipe)
            # what a killed checkpoint write left, with or without a checkpoint to resume
            if self.dist.is_main:
                checkpointing.remove_temporaries(self.run.checkpoints)
            self.optimizer.zero_grad(set_to_none=True)
            self._say_what_is_ahead()
            self._fit_started = time.perf_counter()
            self._last_progress_line = None  # the first logged iteration gets a line: the run is seen to move
            self._last_logged: dict | None = None  # its loss and time end the run's closing line
            while self.epoch < self.config.epochs and not self._at_max_iterations():
                self._train_epoch(self.epoch)
            if self.epoch < self.config.epochs:
                self._say_stopped_early()
            return self._write_final()
        finally:
            self.run.close()

    def _already_done(self, checkpoint: Path) -> Path | None:
        """The final weights' path (None on other ranks too) when the resumed run has trained every
        epoch, or stopped at its ``train.max_iterations``, and written them at that step: said, and
        nothing is written (a resume of a finished run wrote ``model.safetensors`` again and noted a
        resume, 2026-11-24). None: train on (more epochs or iterations were asked for), or write the
        weights (missing: a kill after the last checkpoint; or stale, `_weights_are_current`)."""
        weights = self.run.path / RUN_WEIGHTS
        finished = self.epoch >= self.config.epochs
        if not (finished or self._at_max_iterations()) or not self._weights_are_current(weights, checkpoint):
            return None
        (self._say_finished if finished else self._say_already_stopped)(checkpoint, weights)
        return weights if self.dist.is_main else None

    def _say_finished(self, checkpoint: Path, weights: Path) -> None:
        """`_already_done`'s line for a run that trained every epoch."""
        if self.dist.is_main:
            log.info(
                "%s: the run is already finished (%s done, %s); its weights are %s. Nothing was "
                "written; to train on, resume with --set train.epochs=N, N above %d",
                self.run.path,
                "its 1 epoch" if self.epoch == 1 else f"all {self.epoch} epochs",
                Path(checkpoint).name,
                weights,
                self.epoch,
            )

    def _weights_are_current(self, weights: Path, checkpoint: Path) -> bool:
        """Whether ``weights`` (the run's final weights) exist and were written at the resumed
        checkpoint's step (weights without a recorded step, of older runs, are taken as current). Stale
        ones are said, and written again from the checkpoint: an early stop at 5 whose resume with 8
        failed to write them (a full disk, a kill) was later said to have "already stopped", and its
        step-5 weights handed out as the step-8 run's (2026-11-24)."""
        if not weights.is_file():
            return False
        step = checkpointing.weights_step(weights)
        if step is None or step == self.global_step:
            return True
        if self.dist.is_main:
            log.info(
                "%s holds the weights of step %d, not of %s (step %d; was their last write "
                "interrupted?): writing them again from that checkpoint",
                weights,
                step,
                Path(checkpoint).name,
                self.global_step,
            )
        return False

    def _at_max_iterations(self) -> bool:
        """Whether ``train.max_iterations`` (0: off) iterations have been trained, counted across epochs
        and resumes. Every process has the same count: they stop together."""
        return 0 < self.config.max_iterations <= self.global_step

    def _say_already_stopped(self, checkpoint: Path, weights: Path) -> None:
        """`_already_done`'s line for a run resumed at its ``train.max_iterations``."""
        if self.dist.is_main:
            log.info(
                "%s: the run already stopped at train.max_iterations=%d (%s, %s); its weights are %s. "
                "Nothing was written; to train on, resume with --set train.max_iterations=0 (every "
                "epoch) or a value above %d",
                self.run.path,
                self.config.max_iterations,
                self._stop_point(),
                Path(checkpoint).name,
                weights,
                self.global_step,
            )

    def _say_stopped_early(self) -> None:
        """The line at an early stop: where, and how to go on."""
        if self.dist.is_main:
            log.info(
                "stopped early at train.max_iterations=%d (%s); to train every epoch, resume with "
                "--set train.max_iterations=0",
                self.config.max_iterations,
                self._stop_point(),
            )

    def _stop_point(self) -> str:
        """Where an early stop left the run: ``"epoch 1/2, after 5 iterations; 5 in total"``."""
        return f"{self._position()}; {self.global_step} in total"

    def _say_what_is_ahead(self) -> None:
        """One line at every start: the run folder, the epochs and iterations per epoch, and how often
        a checkpoint is written (what a user checks first, and why a run "does nothing" for long);
        none when nothing is left to train (a resume that only writes the final weights again)."""
        if self.epoch >= self.config.epochs or self._at_max_iterations():
            return
        c, d = self.config, self.dist
        iterations = math.ceil(len(self.sampler_factory(self.epoch, d.rank, d.world_size, 0)) / c.batch_size)
        if not d.is_main:
            return
        each = f" in each of {_processes(d.world_size)}" if d.distributed else ""
        every = f"every {c.checkpoint_every} iterations and " if c.checkpoint_every else ""
        log.info(
            "run folder %s: %d epoch%s x %d iterations%s, checkpoints %sat each epoch's end",
            self.run.path,
            c.epochs,
            "s" if c.epochs != 1 else "",
            iterations,
            each,
            every,
        )
        if c.max_iterations:
            self._say_max_iterations(iterations)

    def _say_max_iterations(self, iterations: int) -> None:
        """The start's line about ``train.max_iterations``: where it stops (``iterations``: those of an
        epoch, which the run's total is estimated from), or that it trains every epoch anyway."""
        c = self.config
        total = self.global_step - self.iteration + (c.epochs - self.epoch) * iterations
        if c.max_iterations >= total:
            log.info(
                "train.max_iterations=%d: not below the run's %d iterations; every epoch is trained",
                c.max_iterations,
                total,
            )
            return
        accumulated = " (at the first optimizer step from there)" if c.accumulate_steps > 1 else ""
        log.info(
            "train.max_iterations=%d: stopping early, after iteration %d of %d%s, with a checkpoint and "
            "%s there; the learning rate follows the recipe's %d-epoch schedule up to there",
            c.max_iterations,
            c.max_iterations,
            total,
            accumulated,
            RUN_WEIGHTS,
            c.epochs,
        )

    def _position(self) -> str:
        """Where training stands (`checkpointing.describe_position`: counted as the progress bar and
        log lines count, ``epoch-000.pt`` ends epoch 1/7)."""
        return checkpointing.describe_position(self.epoch, self.iteration, self.config.epochs)

    def _lock_run_folder(self) -> None:
        """Refuses (on every process) a run folder that another training is writing into: two runs
        started into one folder each wrote their checkpoints, config and metrics over the other's."""
        held = self.run.lock()
        fewest, _ = all_min_max(int(held), self.device)
        if not fewest:
            self.run.close()
            raise FileExistsError(
                f"{self.run.path}: another training is writing into this run folder (it holds "
                f"{self.run.lock_path.name}); wait for it to end, or use another --run-dir"
            )

    def _resume_path(self, resume) -> Path | None:
        if resume is None or resume is False:
            existing = checkpointing.latest_checkpoint(self.run.checkpoints)
            if existing is not None:
                raise FileExistsError(
                    f"{self.run.path} already holds checkpoints ({existing.name}); continue it with "
                    "--resume (resume=True in Python), or start in another --run-dir (run_dir)"
                )
            return None
        if resume is True:
            latest = checkpointing.latest_checkpoint(self.run.checkpoints)
            if latest is None and self.dist.rank == 0:
                log.info("%s: no checkpoint to resume from yet; starting from the beginning", self.run.path)
            return latest
        path = Path(resume)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: checkpoint to resume from not found")
        return path

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
                f"{_processes(d.world_size)}{size}; give more data or use "
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
                stopped = update and self._at_max_iterations()
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
        context = StepContext(
            epoch,
            i,
            iters,
            self.global_step,
            self.device,
            self.config.precision,
            self.dist.rank,
            self.dist.world_size,
        )
        batch = to_device(batch, self.device, non_blocking=self.config.pin_memory)
        sync = update or not self.dist.distributed
        self.model.train()
        with contextlib.nullcontext() if sync else self.runner.no_sync():
            with context.autocast():
                loss, logs = self.runner(batch, context)
            if self.config.precision != "fp16" and not torch.isfinite(loss):
                raise FloatingPointError(
                    f"loss is {loss.item()} at epoch {epoch} iteration {i} (rank {self.dist.rank})"
                )
            scaled = (
                loss / self.schedule.accumulate_steps if self.config.divide_loss_by_accumulation else loss
            )
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
        values = torch.stack([_scalar(record[k], self.device) for k in keys])
        values = reduce_mean(values).tolist()
        line = {
            "step": self.global_step,
            "epoch": epoch,
            "iteration": i,
            # wall-clock seconds since this process started (or resumed) fitting: throughput from the log
            "elapsed_s": round(time.perf_counter() - self._fit_started, 3),
            **dict(zip(keys, values, strict=True)),
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

    # ---- checkpoints and weights

    def save_checkpoint(self, name: str) -> Path:
        """Every process hands over its RNG states; rank 0 writes the checkpoint atomically and prunes."""
        # every process's own state: RNGs, its epoch order, the parameters it trains as its own copy
        rng, orders, local = zip(
            *gather_objects((capture_rng_state(self.device), self._epoch_order, self._own_copies())),
            strict=True,
        )
        path = self.run.checkpoints / name
        self._last_checkpoint_step = self.global_step
        if not self.dist.is_main:
            return path
        payload = {
            "format": checkpointing.FORMAT,
            "format_version": checkpointing.FORMAT_VERSION,
            "discmot_version": __version__,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(),
            "scaler": self.scaler.state_dict(),
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "epoch": self.epoch,
            "iteration": self.iteration,
            "global_step": self.global_step,
            "optimizer_steps": self.optimizer_steps,
            "world_size": self.dist.world_size,
            "batch_size": self.config.batch_size,
            "epoch_orders": list(orders),
            "process_local": list(local),
            "rng": list(rng),
            "config": plain(self.config),
            "model_kind": self.model_kind,
            "model_config": plain(self.model_config) if self.model_config is not None else None,
            # what the final weights' metadata would add (FDTA only_detr: stage=detector), so that a
            # checkpoint's conversion or direct load is told what its weights are (absent before 2026-11-24)
            checkpointing.WEIGHTS_METADATA_KEY: self._weights_metadata(),
        }
        checkpointing.write_checkpoint(path, payload)
        self.run.checkpoint_written()
        checkpointing.prune(self.run.checkpoints, self.config.keep_epoch_checkpoints)
        log.info("checkpoint %s (step %d)", path, self.global_step)
        return path

    def load_checkpoint(self, path: str | Path) -> None:
        """Restores everything `save_checkpoint` wrote (RNG states last, for this process's rank)."""
        payload = checkpointing.read_checkpoint(path)
        checkpointing.check_kind(payload.get("model_kind"), self.model_kind, path)
        self._check_model_fits(payload["model"], path)
        self.model.load_state_dict(payload["model"])
        # The optimizer's state (moments) comes from the checkpoint, its settings from this run's recipe:
        # a resume with another lr, weight decay or milestones (or, for CSTrack, a weight decay scaled
        # for another number of processes) trains with them, as config.yaml then says
        recipe = [checkpointing.recipe_settings(group) for group in self.optimizer.param_groups]
        checkpointing.check_groups_fit(self.optimizer, payload["optimizer"], path)
        self.optimizer.load_state_dict(payload["optimizer"])
        for group, settings in zip(self.optimizer.param_groups, recipe, strict=True):
            group.update(settings)
        self.schedule.load_state_dict(payload["schedule"])
        if payload["scaler"] and self.scaler.is_enabled():
            self.scaler.load_state_dict(payload["scaler"])
        if self.ema is not None and payload["ema"] is not None:
            self.ema.load_state_dict(payload["ema"])
        self.epoch, self.iteration = payload["epoch"], payload["iteration"]
        self.global_step, self.optimizer_steps = payload["global_step"], payload["optimizer_steps"]
        self._last_checkpoint_step = self.global_step
        if payload["world_size"] == self.dist.world_size:
            if self.iteration != 0:
                self._check_same_epoch(payload, path)
            restore_rng_state(payload["rng"][self.dist.rank], self.device)
            local = payload.get("process_local")  # absent in older checkpoints
            if local:
                self._restore_process_local(local[self.dist.rank])
        elif self.iteration != 0:
            raise ValueError(
                f"{path}: a mid-epoch checkpoint of {_processes(payload['world_size'])} needs as many to "
                f"resume (this run has {self.dist.world_size}); {_epoch_checkpoint_hint(path)}"
            )
        else:
            if self.dist.is_main:
                log.warning(
                    "resuming in %s from a checkpoint of %d: the RNGs are seeded afresh, so the run "
                    "will not match an uninterrupted one",
                    _processes(self.dist.world_size),
                    payload["world_size"],
                )
            seed_everything(self.config.seed + self.dist.rank + 7919 * self.epoch)

    def _check_model_fits(self, state: dict, path: str | Path) -> None:
        """`checkpointing.check_state_fits`, its error led by the recipe keys that differ from the run's
        record and how to resume with the run's own recipe: a resume without the run's ``--set
        adapters.spatial=false`` listed 44 missing tensors and asked about ``model.*`` (2026-11-24)."""
        from discmot.io.checkpoints import CheckpointError, compare_state

        try:
            checkpointing.check_state_fits(self.model, state, path)
        except CheckpointError:
            folder, config, recipe = self.run.read_record(Path(path))
            changes = recipe_changes(recipe, self.recipe) if recipe and self.recipe else []
            if not changes and config:  # no recipe.yaml (a run started from Python): the resolved config
                changes = config_changes(config, plain(self.resolved_config))
            if not changes:
                raise
            problems = compare_state(self.model, state)
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise CheckpointError(
                f"{path}: its model does not fit this run's recipe, which differs from the run's "
                f"({folder}) in {join_changes(changes)}{own_recipe_hint(folder, self.run.path, '; ')}; "
                f"{problems[0]}{more}"
            ) from None

    def _check_same_epoch(self, payload: dict, path: Path) -> None:
        """A mid-epoch resume skips the samples the checkpoint's iterations took: only right with the
        same batch size and the same epoch order (another batch size skipped or repeated samples)."""
        batch_size = payload.get("batch_size", self.config.batch_size)
        if batch_size != self.config.batch_size:
            raise ValueError(
                f"{path}: a mid-epoch checkpoint of batch size {batch_size} cannot resume with "
                f"train.batch_size {self.config.batch_size} (its epoch position would skip or repeat "
                "samples); resume with the same, or from an end-of-epoch checkpoint (epoch-NNN.pt) if "
                "the run has one"
            )
        orders = payload.get("epoch_orders")
        full = self.sampler_factory(self.epoch, self.dist.rank, self.dist.world_size, 0)
        if orders and orders[self.dist.rank] != checkpointing.epoch_fingerprint(full):
            raise ValueError(
                f"{path}: this run's epoch {self.epoch} is not the one the mid-epoch checkpoint was in "
                "(the data or the sampler changed); resume from an end-of-epoch checkpoint "
                "(epoch-NNN.pt) if the run has one"
            )

    def _own_copy_names(self) -> list[str]:
        """The parameters this process trains as its own copy (the model's ``own_copy_parameters()``,
        else its ``process_local_parameters()``: those DDP leaves out); none with one process."""
        model = self.model
        names = getattr(model, "own_copy_parameters", None) or getattr(
            model, "process_local_parameters", None
        )
        return names() if names is not None and self.dist.distributed else []

    def _own_copies(self) -> dict:
        """``{name: (value, optimizer state or {})}`` of this process's own copies, untrained ones too
        (FDTA's MLP is initialised per process and first trained in epoch 1)."""
        parameters = dict(self.model.named_parameters())
        return {
            name: (
                parameters[name].detach().cpu().clone(),
                {
                    k: v.detach().cpu().clone() if torch.is_tensor(v) else v
                    for k, v in self.optimizer.state.get(parameters[name], {}).items()
                },
            )
            for name in self._own_copy_names()
        }

    def _restore_process_local(self, state: dict) -> None:
        """This process's own copies back (the model and optimizer states hold rank 0's), of the
        parameters it still trains as its own (a recipe change may have made one shared)."""
        parameters = dict(self.model.named_parameters())
        still_local = set(self._own_copy_names())
        with torch.no_grad():
            for name, (value, moments) in state.items():
                if name not in still_local:
                    continue
                parameter = parameters[name]
                parameter.copy_(value)
                if not moments:  # not trained here yet: no state, as before the checkpoint
                    self.optimizer.state.pop(parameter, None)
                    continue
                self.optimizer.state[parameter] = {
                    k: v.to(parameter.device) if torch.is_tensor(v) and v.dim() else v
                    for k, v in moments.items()
                }

    def _write_final(self) -> Path | None:
        """``model.safetensors``: the (EMA) weights, the model config, the training config and the
        step trained to (``global_step``, `_weights_are_current`) inside.

        A model with an ``inference_module()`` method writes what that returns (FDTA: the network
        without its criterion, so that the tracker loads the file directly); one with a
        ``weights_metadata()`` method adds those strings to the file's metadata.
        """
        if not self.dist.is_main:
            return None
        module = self.ema.module if self.ema is not None else self.model
        extra = self._weights_metadata()
        if hasattr(module, "inference_module"):
            module = module.inference_module()
        path = self.run.path / RUN_WEIGHTS
        checkpointing.write_weights(
            path, module, self.model_kind, self.model_config, self.config, extra, self.global_step
        )
        log.info("wrote %s (%s)", path, self._closing_summary())
        return path

    def _weights_metadata(self) -> dict[str, str]:
        """The strings the model's ``weights_metadata()`` method adds to its weights' metadata (``{}``
        without one): in the final weights file and, under `checkpointing.WEIGHTS_METADATA_KEY`, in every
        training checkpoint."""
        module = self.ema.module if self.ema is not None else self.model
        extra = module.weights_metadata() if hasattr(module, "weights_metadata") else {}
        return {str(key): str(value) for key, value in extra.items()}

    def _closing_summary(self) -> str:
        """``"step 300; last logged loss 1.624 at step 300; 2.1 min of training"``: what a run that ends
        says besides its weights' path (a log without a bar had only the path, and the stopping
        iteration's loss was in ``metrics.jsonl`` alone)."""
        parts = [f"step {self.global_step}"]
        last = self._last_logged
        if last is not None:
            parts.append(f"last logged loss {last['loss']:.4g} at step {last['step']}")
            parts.append(f"{last['elapsed_s'] / 60:.1f} min of training in this process")
        return "; ".join(parts)


def _processes(count: int) -> str:
    return f"{count} process{'es' if count != 1 else ''}"


def _epoch_checkpoint_hint(path: str | Path) -> str:
    """Where a run that cannot resume from mid-epoch checkpoint ``path`` can resume: the newest
    end-of-epoch checkpoint beside it, named, or the kind of file to look for."""
    ends = [p for p in checkpointing.list_checkpoints(Path(path).parent) if "-iter-" not in p.name]
    if not ends:
        return "an end-of-epoch one (RUN/checkpoints/epoch-NNN.pt) takes any number; this run has none yet"
    return f"an end-of-epoch one takes any number: --resume {ends[-1]} (the epoch after it is trained again)"


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
        return _launch(build, config, run_dir, resume, device, recipe)


def _launch(build, config: TrainConfig, run_dir, resume, device, recipe=None) -> Path | None:
    info = init_distributed(device)
    try:
        with _peer_failures_in_one_line(info):
            return _launch_joined(info, build, config, run_dir, resume, recipe)
    finally:
        cleanup_distributed()


def _launch_joined(info: DistInfo, build, config: TrainConfig, run_dir, resume, recipe) -> Path | None:
    """`_launch` once the process group is joined."""
    configure_determinism(deterministic_on(info.device, config.deterministic))
    seed_everything(config.seed + info.rank)
    with _said_by_rank_0(info):  # every process reads the same data: its notes and warnings once
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


@contextlib.contextmanager
def _said_by_rank_0(info: DistInfo):
    """Inside, discmot's info and warning lines are logged by rank 0 alone (errors by every rank):
    under torchrun each process logged the same data summary and warnings, N copies of each line."""
    if info.is_main:
        yield
        return
    logger = logging.getLogger("discmot")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


#: What gloo's errors say when the process at the other end of a connection has ended.
_PEER_GONE = ("Connection closed by peer", "Connection reset by peer", "Broken pipe")


@contextlib.contextmanager
def _peer_failures_in_one_line(info: DistInfo):
    """A collective that fails because another process of the run has ended (its own error, a kill)
    becomes a one-line `ConnectionError` naming this rank, the gloo error its cause.

    When one rank stopped on bad input (an unreadable image, a read-only run folder), the others
    printed a 40-line traceback of gloo's "Connection closed by peer ... GLHF!" after its one-line
    error, burying it (2026-11-24).
    """
    try:
        yield
    except RuntimeError as error:
        if not (info.distributed and any(words in str(error) for words in _PEER_GONE)):
            raise
        raise ConnectionError(
            f"rank {info.rank}: another process of this run stopped (see its message above); stopping too"
        ) from error
