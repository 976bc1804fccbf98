"""A `~discmot.engine.train.Trainer`'s own files: which training checkpoint a run resumes from, what a
checkpoint holds of the trainer (`save`) and how a resume puts it back (`restore`), and the final weights.

A checkpoint holds model, optimizer, schedule, scaler, EMA, the position in training and, per process,
the RNG states, the epoch's sample order and the parameters the process trains as its own copy, so that a
killed and resumed run ends with the same weights as an uninterrupted one. The file format, its names and
the one-line checks of a checkpoint against the run are `discmot.engine.checkpointing`'s.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from discmot._version import __version__
from discmot.engine import checkpointing
from discmot.engine.distributed import capture_rng_state, gather_objects, restore_rng_state, seed_everything
from discmot.engine.run_config import config_changes, join_changes, own_recipe_hint, plain, recipe_changes
from discmot.engine.run_folder import RUN_WEIGHTS, RunFolder
from discmot.engine.run_status import processes

if TYPE_CHECKING:
    from discmot.engine.train import Trainer

# the trainer's lines: users filter the training's log by this name
log = logging.getLogger("discmot.engine.train")


def resume_path(resume, run: RunFolder, rank: int) -> Path | None:
    """The checkpoint `Trainer.fit`'s ``resume`` names in ``run`` (None: start fresh); see there."""
    if resume is None or resume is False:
        existing = checkpointing.latest_checkpoint(run.checkpoints)
        if existing is not None:
            raise FileExistsError(
                f"{run.path} already holds checkpoints ({existing.name}); continue it with "
                "--resume (resume=True in Python), or start in another --run-dir (run_dir)"
            )
        return None
    if resume is True:
        latest = checkpointing.latest_checkpoint(run.checkpoints)
        if latest is None and rank == 0:
            log.info("%s: no checkpoint to resume from yet; starting from the beginning", run.path)
        return latest
    path = Path(resume)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint to resume from not found")
    return path


def save(trainer: Trainer, name: str, epoch_order: int | None) -> Path:
    """Every process hands over its own state; rank 0 writes checkpoint ``name`` of ``trainer``
    atomically and prunes. ``epoch_order``: `checkpointing.epoch_fingerprint` of the epoch in progress."""
    # every process's own state: RNGs, its epoch order, the parameters it trains as its own copy
    own = (
        capture_rng_state(trainer.device),
        epoch_order,
        _own_copies(trainer.model, trainer.optimizer, trainer.dist.distributed),
    )
    rng, orders, local = zip(*gather_objects(own), strict=True)
    path = trainer.run.checkpoints / name
    if not trainer.dist.is_main:
        return path
    payload = {
        "format": checkpointing.FORMAT,
        "format_version": checkpointing.FORMAT_VERSION,
        "discmot_version": __version__,
        "model": trainer.model.state_dict(),
        "optimizer": trainer.optimizer.state_dict(),
        "schedule": trainer.schedule.state_dict(),
        "scaler": trainer.scaler.state_dict(),
        "ema": trainer.ema.state_dict() if trainer.ema is not None else None,
        "epoch": trainer.epoch,
        "iteration": trainer.iteration,
        "global_step": trainer.global_step,
        "optimizer_steps": trainer.optimizer_steps,
        "world_size": trainer.dist.world_size,
        "batch_size": trainer.config.batch_size,
        "epoch_orders": list(orders),
        "process_local": list(local),
        "rng": list(rng),
        "config": plain(trainer.config),
        "model_kind": trainer.model_kind,
        "model_config": plain(trainer.model_config) if trainer.model_config is not None else None,
        # what the final weights' metadata would add (FDTA only_detr: stage=detector), so that a
        # checkpoint's conversion or direct load is told what its weights are (absent before 2026-11-24)
        checkpointing.WEIGHTS_METADATA_KEY: _weights_metadata(_trained_module(trainer)),
    }
    checkpointing.write_checkpoint(path, payload)
    trainer.run.checkpoint_written()
    checkpointing.prune(trainer.run.checkpoints, trainer.config.keep_epoch_checkpoints)
    log.info("checkpoint %s (step %d)", path, trainer.global_step)
    return path


def restore(trainer: Trainer, path: str | Path) -> None:
    """Puts back into ``trainer`` everything `save` wrote (RNG states last, for this process's rank)."""
    payload = checkpointing.read_checkpoint(path)
    checkpointing.check_kind(payload.get("model_kind"), trainer.model_kind, path)
    _check_model_fits(trainer, payload["model"], path)
    trainer.model.load_state_dict(payload["model"])
    # The optimizer's state (moments) comes from the checkpoint, its settings from this run's recipe:
    # a resume with another lr, weight decay or milestones (or, for CSTrack, a weight decay scaled
    # for another number of processes) trains with them, as config.yaml then says
    recipe = [checkpointing.recipe_settings(group) for group in trainer.optimizer.param_groups]
    checkpointing.check_groups_fit(trainer.optimizer, payload["optimizer"], path)
    trainer.optimizer.load_state_dict(payload["optimizer"])
    for group, settings in zip(trainer.optimizer.param_groups, recipe, strict=True):
        group.update(settings)
    trainer.schedule.load_state_dict(payload["schedule"])
    if payload["scaler"] and trainer.scaler.is_enabled():
        trainer.scaler.load_state_dict(payload["scaler"])
    if trainer.ema is not None and payload["ema"] is not None:
        trainer.ema.load_state_dict(payload["ema"])
    trainer.epoch, trainer.iteration = payload["epoch"], payload["iteration"]
    trainer.global_step, trainer.optimizer_steps = payload["global_step"], payload["optimizer_steps"]
    _restore_process_state(trainer, payload, path)


def _restore_process_state(trainer: Trainer, payload: dict, path: str | Path) -> None:
    """This process's RNG states and own copies back, when the checkpoint was written by as many
    processes; else fresh seeds, at an epoch's end only (a mid-epoch position needs the same shards)."""
    dist = trainer.dist
    if payload["world_size"] == dist.world_size:
        if trainer.iteration != 0:
            _check_same_epoch(trainer, payload, path)
        restore_rng_state(payload["rng"][dist.rank], trainer.device)
        local = payload.get("process_local")  # absent in older checkpoints
        if local:
            _restore_process_local(trainer.model, trainer.optimizer, local[dist.rank], dist.distributed)
    elif trainer.iteration != 0:
        raise ValueError(
            f"{path}: a mid-epoch checkpoint of {processes(payload['world_size'])} needs as many to "
            f"resume (this run has {dist.world_size}); {_epoch_checkpoint_hint(path)}"
        )
    else:
        if dist.is_main:
            log.warning(
                "resuming in %s from a checkpoint of %d: the RNGs are seeded afresh, so the run "
                "will not match an uninterrupted one",
                processes(dist.world_size),
                payload["world_size"],
            )
        seed_everything(trainer.config.seed + dist.rank + 7919 * trainer.epoch)


def _check_model_fits(trainer: Trainer, state: dict, path: str | Path) -> None:
    """`checkpointing.check_state_fits`, its error led by the recipe keys that differ from the run's
    record and how to resume with the run's own recipe: a resume without the run's ``--set
    adapters.spatial=false`` listed 44 missing tensors and asked about ``model.*`` (2026-11-24)."""
    from discmot.io.checkpoints import CheckpointError, compare_state

    try:
        checkpointing.check_state_fits(trainer.model, state, path)
    except CheckpointError:
        folder, config, recipe = trainer.run.read_record(Path(path))
        changes = recipe_changes(recipe, trainer.recipe) if recipe and trainer.recipe else []
        if not changes and config:  # no recipe.yaml (a run started from Python): the resolved config
            changes = config_changes(config, plain(trainer.resolved_config))
        if not changes:
            raise
        problems = compare_state(trainer.model, state)
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise CheckpointError(
            f"{path}: its model does not fit this run's recipe, which differs from the run's "
            f"({folder}) in {join_changes(changes)}{own_recipe_hint(folder, trainer.run.path, '; ')}; "
            f"{problems[0]}{more}"
        ) from None


def _check_same_epoch(trainer: Trainer, payload: dict, path: str | Path) -> None:
    """A mid-epoch resume skips the samples the checkpoint's iterations took: only right with the
    same batch size and the same epoch order (another batch size skipped or repeated samples)."""
    batch_size = payload.get("batch_size", trainer.config.batch_size)
    if batch_size != trainer.config.batch_size:
        raise ValueError(
            f"{path}: a mid-epoch checkpoint of batch size {batch_size} cannot resume with "
            f"train.batch_size {trainer.config.batch_size} (its epoch position would skip or repeat "
            "samples); resume with the same, or from an end-of-epoch checkpoint (epoch-NNN.pt) if "
            "the run has one"
        )
    orders = payload.get("epoch_orders")
    full = trainer.sampler_factory(trainer.epoch, trainer.dist.rank, trainer.dist.world_size, 0)
    if orders and orders[trainer.dist.rank] != checkpointing.epoch_fingerprint(full):
        raise ValueError(
            f"{path}: this run's epoch {trainer.epoch} is not the one the mid-epoch checkpoint was in "
            "(the data or the sampler changed); resume from an end-of-epoch checkpoint "
            "(epoch-NNN.pt) if the run has one"
        )


def _epoch_checkpoint_hint(path: str | Path) -> str:
    """Where a run that cannot resume from mid-epoch checkpoint ``path`` can resume: the newest
    end-of-epoch checkpoint beside it, named, or the kind of file to look for."""
    ends = [p for p in checkpointing.list_checkpoints(Path(path).parent) if "-iter-" not in p.name]
    if not ends:
        return "an end-of-epoch one (RUN/checkpoints/epoch-NNN.pt) takes any number; this run has none yet"
    return f"an end-of-epoch one takes any number: --resume {ends[-1]} (the epoch after it is trained again)"


def _own_copy_names(model: nn.Module, distributed: bool) -> list[str]:
    """The parameters this process trains as its own copy (the model's ``own_copy_parameters()``,
    else its ``process_local_parameters()``: those DDP leaves out); none with one process."""
    names = getattr(model, "own_copy_parameters", None) or getattr(model, "process_local_parameters", None)
    return names() if names is not None and distributed else []


def _own_copies(model: nn.Module, optimizer: torch.optim.Optimizer, distributed: bool) -> dict:
    """``{name: (value, optimizer state or {})}`` of this process's own copies, untrained ones too
    (FDTA's MLP is initialised per process and first trained in epoch 1)."""
    parameters = dict(model.named_parameters())
    return {
        name: (
            parameters[name].detach().cpu().clone(),
            {
                k: v.detach().cpu().clone() if torch.is_tensor(v) else v
                for k, v in optimizer.state.get(parameters[name], {}).items()
            },
        )
        for name in _own_copy_names(model, distributed)
    }


def _restore_process_local(
    model: nn.Module, optimizer: torch.optim.Optimizer, state: dict, distributed: bool
) -> None:
    """This process's own copies back (the model and optimizer states hold rank 0's), of the
    parameters it still trains as its own (a recipe change may have made one shared)."""
    parameters = dict(model.named_parameters())
    still_local = set(_own_copy_names(model, distributed))
    with torch.no_grad():
        for name, (value, moments) in state.items():
            if name not in still_local:
                continue
            parameter = parameters[name]
            parameter.copy_(value)
            if not moments:  # not trained here yet: no state, as before the checkpoint
                optimizer.state.pop(parameter, None)
                continue
            optimizer.state[parameter] = {
                k: v.to(parameter.device) if torch.is_tensor(v) and v.dim() else v for k, v in moments.items()
            }


def write_final(trainer: Trainer, summary: str) -> Path | None:
    """``model.safetensors``: the (EMA) weights, the model config, the training config and the step
    trained to (``global_step``, `~discmot.engine.run_status.RunStatus.already_done`) inside; its line
    ends with ``summary``. Written by rank 0 (None elsewhere).

    A model with an ``inference_module()`` method writes what that returns (FDTA: the network
    without its criterion, so that the tracker loads the file directly); one with a
    ``weights_metadata()`` method adds those strings to the file's metadata.
    """
    if not trainer.dist.is_main:
        return None
    module = _trained_module(trainer)
    extra = _weights_metadata(module)
    if hasattr(module, "inference_module"):
        # the model's own method: torch types nn.Module's unknown attributes as Tensor | Module
        module = module.inference_module()  # type: ignore[operator]
    path = trainer.run.path / RUN_WEIGHTS
    checkpointing.write_weights(
        path, module, trainer.model_kind, trainer.model_config, trainer.config, extra, trainer.global_step
    )
    log.info("wrote %s (%s)", path, summary)
    return path


def _trained_module(trainer: Trainer) -> nn.Module:
    """What the final weights hold: the EMA's module with an EMA, else the model."""
    return trainer.ema.module if trainer.ema is not None else trainer.model


def _weights_metadata(module: nn.Module) -> dict[str, str]:
    """The strings the model's ``weights_metadata()`` method adds to its weights' metadata (``{}``
    without one): in the final weights file and, under `checkpointing.WEIGHTS_METADATA_KEY`, in every
    training checkpoint."""
    # the model's own method: torch types nn.Module's unknown attributes as Tensor | Module
    extra = module.weights_metadata() if hasattr(module, "weights_metadata") else {}  # type: ignore[operator]
    return {str(key): str(value) for key, value in extra.items()}
