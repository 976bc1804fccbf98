"""What a training run says about where it stands: the line at every start (epochs, iterations,
checkpoints, an early stop ahead), a resumed run that has nothing left to train, an early stop at
``train.max_iterations``, and the summary its final weights' line ends with.

Every line is said once, by rank 0; `RunStatus` holds what does not change during a run (its folder, its
config, this process's place among the processes) and is told where training stands (`Position`).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import NamedTuple

from discmot.engine import checkpointing
from discmot.engine.distributed import DistInfo
from discmot.engine.run_folder import RUN_WEIGHTS
from discmot.engine.step import SamplerFactory
from discmot.engine.train_config import TrainConfig

# the trainer's lines: users filter the training's log by this name
log = logging.getLogger("discmot.engine.train")


class Position(NamedTuple):
    """Where training stands: the 0-based epoch it is in, the iterations done in that epoch, and those
    done in all epochs (counted across resumes)."""

    epoch: int
    iteration: int
    global_step: int


def at_max_iterations(config: TrainConfig, global_step: int) -> bool:
    """Whether ``train.max_iterations`` (0: off) iterations have been trained, counted across epochs
    and resumes. Every process has the same count: they stop together."""
    return 0 < config.max_iterations <= global_step


def processes(count: int) -> str:
    """``"1 process"``, ``"2 processes"``."""
    return f"{count} process{'es' if count != 1 else ''}"


def closing_summary(global_step: int, last_logged: dict | None) -> str:
    """``"step 300; last logged loss 1.624 at step 300; 2.1 min of training"``: what a run that ends
    says besides its weights' path (a log without a bar had only the path, and the stopping
    iteration's loss was in ``metrics.jsonl`` alone). ``last_logged``: the last line written to
    ``metrics.jsonl`` (None: none yet)."""
    parts = [f"step {global_step}"]
    if last_logged is not None:
        parts.append(f"last logged loss {last_logged['loss']:.4g} at step {last_logged['step']}")
        parts.append(f"{last_logged['elapsed_s'] / 60:.1f} min of training in this process")
    return "; ".join(parts)


class RunStatus:
    """The status lines of the run in ``run_path`` trained with ``config``, said by rank 0."""

    def __init__(self, run_path: Path, config: TrainConfig, dist: DistInfo):
        self.run_path, self.config, self.dist = run_path, config, dist

    def position(self, at: Position) -> str:
        """Where training stands (`checkpointing.describe_position`: counted as the progress bar and
        log lines count, ``epoch-000.pt`` ends epoch 1/7)."""
        return checkpointing.describe_position(at.epoch, at.iteration, self.config.epochs)

    def already_done(self, at: Position, checkpoint: Path) -> Path | None:
        """The final weights' path (None on other ranks too) when the run resumed at ``at`` has trained
        every epoch, or stopped at its ``train.max_iterations``, and written them at that step: said, and
        nothing is written (a resume of a finished run wrote ``model.safetensors`` again and noted a
        resume, 2026-11-24). None: train on (more epochs or iterations were asked for), or write the
        weights (missing: a kill after the last checkpoint; or stale, `_weights_are_current`)."""
        weights = self.run_path / RUN_WEIGHTS
        finished = at.epoch >= self.config.epochs
        stopped = at_max_iterations(self.config, at.global_step)
        if not (finished or stopped) or not self._weights_are_current(at, weights, checkpoint):
            return None
        (self._say_finished if finished else self._say_already_stopped)(at, checkpoint, weights)
        return weights if self.dist.is_main else None

    def _say_finished(self, at: Position, checkpoint: Path, weights: Path) -> None:
        """`already_done`'s line for a run that trained every epoch."""
        if self.dist.is_main:
            log.info(
                "%s: the run is already finished (%s done, %s); its weights are %s. Nothing was "
                "written; to train on, resume with --set train.epochs=N, N above %d",
                self.run_path,
                "its 1 epoch" if at.epoch == 1 else f"all {at.epoch} epochs",
                Path(checkpoint).name,
                weights,
                at.epoch,
            )

    def _weights_are_current(self, at: Position, weights: Path, checkpoint: Path) -> bool:
        """Whether ``weights`` (the run's final weights) exist and were written at the resumed
        checkpoint's step (weights without a recorded step, of older runs, are taken as current). Stale
        ones are said, and written again from the checkpoint: an early stop at 5 whose resume with 8
        failed to write them (a full disk, a kill) was later said to have "already stopped", and its
        step-5 weights handed out as the step-8 run's (2026-11-24)."""
        if not weights.is_file():
            return False
        step = checkpointing.weights_step(weights)
        if step is None or step == at.global_step:
            return True
        if self.dist.is_main:
            log.info(
                "%s holds the weights of step %d, not of %s (step %d; was their last write "
                "interrupted?): writing them again from that checkpoint",
                weights,
                step,
                Path(checkpoint).name,
                at.global_step,
            )
        return False

    def _say_already_stopped(self, at: Position, checkpoint: Path, weights: Path) -> None:
        """`already_done`'s line for a run resumed at its ``train.max_iterations``."""
        if self.dist.is_main:
            log.info(
                "%s: the run already stopped at train.max_iterations=%d (%s, %s); its weights are %s. "
                "Nothing was written; to train on, resume with --set train.max_iterations=0 (every "
                "epoch) or a value above %d",
                self.run_path,
                self.config.max_iterations,
                self._stop_point(at),
                Path(checkpoint).name,
                weights,
                at.global_step,
            )

    def say_stopped_early(self, at: Position) -> None:
        """The line at an early stop: where, and how to go on."""
        if self.dist.is_main:
            log.info(
                "stopped early at train.max_iterations=%d (%s); to train every epoch, resume with "
                "--set train.max_iterations=0",
                self.config.max_iterations,
                self._stop_point(at),
            )

    def _stop_point(self, at: Position) -> str:
        """Where an early stop left the run: ``"epoch 1/2, after 5 iterations; 5 in total"``."""
        return f"{self.position(at)}; {at.global_step} in total"

    def say_what_is_ahead(self, at: Position, sampler_factory: SamplerFactory) -> None:
        """One line at every start: the run folder, the epochs and iterations per epoch (of the epoch
        ``sampler_factory`` gives for ``at``), and how often a checkpoint is written (what a user checks
        first, and why a run "does nothing" for long); none when nothing is left to train (a resume that
        only writes the final weights again)."""
        c, d = self.config, self.dist
        if at.epoch >= c.epochs or at_max_iterations(c, at.global_step):
            return
        iterations = math.ceil(len(sampler_factory(at.epoch, d.rank, d.world_size, 0)) / c.batch_size)
        if not d.is_main:
            return
        each = f" in each of {processes(d.world_size)}" if d.distributed else ""
        every = f"every {c.checkpoint_every} iterations and " if c.checkpoint_every else ""
        log.info(
            "run folder %s: %d epoch%s x %d iterations%s, checkpoints %sat each epoch's end",
            self.run_path,
            c.epochs,
            "s" if c.epochs != 1 else "",
            iterations,
            each,
            every,
        )
        if c.max_iterations:
            self._say_max_iterations(at, iterations)

    def _say_max_iterations(self, at: Position, iterations: int) -> None:
        """The start's line about ``train.max_iterations``: where it stops (``iterations``: those of an
        epoch, which the run's total is estimated from), or that it trains every epoch anyway."""
        c = self.config
        total = at.global_step - at.iteration + (c.epochs - at.epoch) * iterations
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
