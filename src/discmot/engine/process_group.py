"""How the processes of one training act as a group: the DDP wrapper around the step (the parameters each
process trains as its own left out), one lock on the run folder held by all or refused to all, rank 0
speaking for all while the model and data are built, and a peer's end said in one line.

Each works the same with one process (`discmot.engine.distributed`), so callers never branch on the world
size, except for DDP itself, which the trainer puts on only with several.
"""

from __future__ import annotations

import contextlib
import logging

from torch import nn

from discmot.engine.distributed import DistInfo, all_min_max
from discmot.engine.run_folder import RunFolder
from discmot.engine.step import StepModule


def wrap_ddp(
    step_module: StepModule, dist: DistInfo, find_unused_parameters: bool
) -> nn.parallel.DistributedDataParallel:
    """``step_module`` under DDP (several processes), its process-local parameters left out.

    Parameters the training module names in ``process_local_parameters()`` are trained by each process
    on its own: DDP neither averages their gradients nor waits for them (FDTA's Identity Adapter MLP,
    outside the original's DDP wrapper; it has no gradient in epoch 0)."""
    local = getattr(step_module.model, "process_local_parameters", None)
    if local is not None:
        names = [f"model.{name}" for name in local()]
        nn.parallel.DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(step_module, names)
    return nn.parallel.DistributedDataParallel(
        step_module,
        device_ids=[dist.device] if dist.device.type == "cuda" else None,
        find_unused_parameters=find_unused_parameters,
    )


def lock_run_folder(run: RunFolder, dist: DistInfo) -> None:
    """Refuses (on every process) a run folder that another training is writing into: two runs
    started into one folder each wrote their checkpoints, config and metrics over the other's."""
    held = run.lock()
    fewest, _ = all_min_max(int(held), dist.device)
    if not fewest:
        run.close()
        raise FileExistsError(
            f"{run.path}: another training is writing into this run folder (it holds "
            f"{run.lock_path.name}); wait for it to end, or use another --run-dir"
        )


@contextlib.contextmanager
def said_by_rank_0(info: DistInfo):
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
def peer_failures_in_one_line(info: DistInfo):
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
