"""One CSTrack training iteration (spec ``cstrack.md`` §5-6) for `discmot.engine.train`.

`CSTrackTraining` holds the network and its criterion; the criterion owns the identity classifier
(``loss.id_classifier``), which is trained (and kept in discmot's training checkpoints, so a resumed run
continues it) but is not part of the network: the final ``model.safetensors`` holds the bare `CSTrack`
(`CSTrackTraining.inference_module`), as the original saves only the model.

`cstrack_step` runs one batch: RGB images in [0, 1] -> training-mode forward (raw logits per level and
the stride-8 embedding map) -> `CSTrackLoss`, which already multiplies by the batch size (§5.7); the
engine sums the gradients of ``accumulate_steps`` iterations without averaging (§6.5).

`cstrack_param_groups` are the original's groups (§6.5), `cstrack_schedule` its YOLOv5 warm-up and step
decay (§6.6), and the EMA of the weights (§6.7) is the engine's ``ema_decay``. `cstrack_setup` wires it
all for `discmot.engine.train.launch`.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from discmot.config import check_field_ranges, ranges_of_section
from discmot.engine.run_config import DataclassWithExtras
from discmot.models.cstrack.config import CSTrackConfig
from discmot.models.cstrack.loss import CSTrackLoss, CSTrackLossConfig, grid_anchors
from discmot.models.cstrack.model import CSTrack

log = logging.getLogger(__name__)

KIND = "cstrack"
#: Loss fields a recipe may set; the others follow from the model (anchors, widths) and the data (nID).
LOSS_FIELDS = (
    "box_weight",
    "objectness_weight",
    "class_weight",
    "id_weight",
    "level_balance",
    "anchor_ratio_threshold",
    "objectness_iou_ratio",
)


#: The warm-up's start values (§6.6): an lr, and a momentum (SGD's, which the warm-up raises to
#: ``train.momentum``).
_WARMUP_RANGES = {"warmup_bias_lr": (0, None), "warmup_momentum": (0, 1)}


@dataclass(frozen=True)
class CSTrackOptimConfig:
    """The YOLOv5 optimizer details that `discmot.engine.train_config.TrainConfig` does not hold.

    Attributes:
        nominal_batch: YOLOv5's ``nbs``: the weight decay is scaled by ``batch * processes *
            accumulate_steps / nominal_batch`` (1 in the paper's recipe: 8 x 8 / 64), §6.5.
        warmup_min_iters: the warm-up lasts ``max(warmup_epochs * iters_per_epoch, warmup_min_iters)``
            iterations (1000 in the original), §6.6.
        warmup_bias_lr: learning rate the ``bias`` group starts the warm-up from (0.1), §6.6.
        warmup_momentum: momentum the warm-up starts from (0.9), §6.6.
    """

    nominal_batch: int = 64
    warmup_min_iters: int = 1000
    warmup_bias_lr: float = 0.1
    warmup_momentum: float = 0.9

    def __post_init__(self):
        if self.nominal_batch < 1 or self.warmup_min_iters < 0:
            raise ValueError(
                f"nominal_batch must be >= 1 and warmup_min_iters >= 0, got {self.nominal_batch} and "
                f"{self.warmup_min_iters}"
            )
        # The recipe's optim section is this config alone: its key and line are named (a RecipeKeyError,
        # "optim.warmup_momentum=7: must be from 0 to 1"). A negative bias lr trained the biases uphill
        # and a momentum of 7 diverged, unchecked (2026-11-24).
        with ranges_of_section("optim"):
            check_field_ranges(self, _WARMUP_RANGES)


class CSTrackTraining(nn.Module):
    """The network plus its criterion (which holds the identity classifier): what the engine trains.

    Parameter names: ``model.*`` are the network's (its own keys are the official ``model.<i>.*``, so a
    training checkpoint's weights carry a second ``model.`` prefix), ``loss.*`` the criterion's.
    """

    def __init__(self, model: CSTrack, loss: CSTrackLoss):
        super().__init__()
        self.model = model
        self.loss = loss

    def inference_module(self) -> CSTrack:
        """What the final weights file holds: the network alone, on the official key contract."""
        return self.model


def loss_config_for(model_config: CSTrackConfig, num_identities: int, **fields) -> CSTrackLossConfig:
    """The criterion's config for a network and a dataset: anchors in grid units of their level, the
    network's embedding width and classes, nID of the data; ``fields`` (of `LOSS_FIELDS`) over the
    official values."""
    unknown = set(fields) - set(LOSS_FIELDS)
    if unknown:
        raise ValueError(f"unknown loss key(s) {', '.join(sorted(unknown))}; known: {', '.join(LOSS_FIELDS)}")
    if "level_balance" in fields:
        fields["level_balance"] = tuple(float(v) for v in fields["level_balance"])
    return CSTrackLossConfig(
        num_identities=num_identities,
        anchors=grid_anchors(model_config.anchors, model_config.strides),
        num_classes=model_config.num_classes,
        embedding_dim=model_config.embedding_dim,
        **fields,
    )


def cstrack_step(training: CSTrackTraining, batch: dict, context) -> tuple[torch.Tensor, dict]:
    """One iteration on a `discmot.data.jde_dataset.collate_jde` batch.

    Args:
        training: the network and criterion (in training mode).
        batch: ``images`` float ``[B, 3, H, W]`` RGB in [0, 1]; ``targets`` float ``[n, 6]`` rows
            ``(image, identity, cx, cy, w, h)``, boxes normalised to ``(W, H)``, identity 0 = none.
        context: the engine's `discmot.engine.step.StepContext`.

    Returns:
        ``B * (box + obj + cls + 0.02 * id)`` times the number of processes, and the detached terms
        ``box``, ``obj``, ``cls`` (as they enter the sum) and ``id`` (the unweighted cross-entropy) for the
        log. The original sums over the whole batch (``B`` is the local batch) and, under DDP, which
        averages gradients over processes, multiplies by the world size (YOLOv5's ``loss *= world_size``):
        every process count then gives one process's gradient for the same global batch.
    """
    images = batch["images"].to(context.device)
    targets = batch["targets"].to(context.device).float()
    embeddings, (raw, _k) = training.model(images)
    # The criterion runs in fp32 even under fp16/bf16 autocast: the CIoU terms (atan, divisions with
    # eps 1e-16) and the scaled-embedding cross-entropy are where low precision would bite.
    with context.autocast(enabled=False):
        total, terms = training.loss([p.float() for p in raw], embeddings.float(), targets)
    return total * context.world_size, {name: terms[name] for name in ("box", "obj", "cls", "id")}


# --------------------------------------------------------------------------------------------------
# Optimizer groups and schedule (spec §6.5-6.6)


def split_parameters(model: CSTrack) -> dict[str, list[tuple[str, nn.Parameter]]]:
    """The network's trainable parameters in the original's three groups, by official key name:

    * ``bias``: every name containing ``.bias`` (biases of convs, BNs, LayerNorms, the head);
    * ``decay``: every ``.weight`` not under a module attribute ``bn`` (conv, linear, LayerNorm,
      transposed-conv and head weights);
    * ``no_decay``: the rest: BN weights, REN's lambdas ``w1``/``w2``, the head's ``k``.
    """
    parts: dict[str, list[tuple[str, nn.Parameter]]] = {"no_decay": [], "decay": [], "bias": []}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if ".bias" in name:
            parts["bias"].append((name, param))
        elif ".weight" in name and ".bn" not in name:
            parts["decay"].append((name, param))
        else:
            parts["no_decay"].append((name, param))
    return parts


def cstrack_param_groups(training: CSTrackTraining, lr: float, weight_decay: float) -> list[dict]:
    """Optimizer groups ``no_decay``, ``decay`` (``weight_decay``), ``bias`` (the warm-up's falling bias
    lr, found by this name) and ``loss`` (the identity classifier; no decay), in the original's order."""
    parts = split_parameters(training.model)
    parts["loss"] = [(n, p) for n, p in training.loss.named_parameters() if p.requires_grad]
    groups = []
    for name, members in parts.items():
        if members:
            decay = weight_decay if name == "decay" else 0.0
            params = [p for _, p in members]
            groups.append({"name": name, "params": params, "lr": lr, "lr_scale": 1.0, "weight_decay": decay})
    return groups


def scaled_weight_decay(train, optim: CSTrackOptimConfig, world_size: int) -> float:
    """YOLOv5's ``weight_decay * total_batch * accumulate / nbs`` (§6.5; 5e-4 x 8 x 8 / 64 = 5e-4)."""
    return train.weight_decay * train.batch_size * world_size * train.accumulate_steps / optim.nominal_batch


def cstrack_schedule(optimizer, train, optim: CSTrackOptimConfig, warmup_accumulate: float | None = None):
    """`discmot.engine.optim.CSTrackSchedule` from the training config and the warm-up details.

    ``warmup_accumulate``: the end of the warm-up's accumulation ramp
    (`discmot.models.cstrack.recipe.CSTrackRecipe.warmup_accumulate_end`); None: ``train.accumulate_steps``.
    """
    from discmot.engine.optim import CSTrackSchedule

    return CSTrackSchedule.from_train_config(
        train,
        min_warmup_iters=optim.warmup_min_iters,
        warmup_momentum=optim.warmup_momentum,
        warmup_bias_lr=optim.warmup_bias_lr,
        warmup_accumulate=warmup_accumulate,
    )


def warmup_fills_the_run(train, optim: CSTrackOptimConfig, images: int, world_size: int = 1) -> str | None:
    """Why a run never reaches ``train.lr``, or ``None``: the warm-up, ``max(warmup_epochs x iterations
    per epoch, warmup_min_iters)`` iterations (§6.6), is at least as long as the run.

    The tiny recipe's 200-iteration minimum is most of a short run on a small dataset of one's own (180
    images in batches of 4 are 45 iterations an epoch: ``train.epochs=2`` ends at a quarter of the lr,
    and such a model found no one in a held-out sequence), which the loss log alone does not show.

    Args:
        train: the run's `TrainConfig` (its ``epochs``, ``batch_size``, ``warmup_epochs``, ``lr``).
        optim: the recipe's warm-up details.
        images: the images an epoch trains on (all processes together).
        world_size: the number of processes (each takes ``images // world_size``).
    """
    if train.schedule != "cstrack":
        return None
    iterations = math.ceil(images // world_size / train.batch_size)  # the engine's epoch, last batch partial
    warmup = cstrack_schedule(None, train, optim).warmup_iters(iterations)
    total = train.epochs * iterations
    if warmup < total - 1:  # iteration ni (from 0) is in the warm-up while ni <= warmup, at lr0 after it
        return None
    return (
        f"the warm-up ({warmup} iterations: max(train.warmup_epochs {train.warmup_epochs:g} x {iterations} "
        f"iterations an epoch, optim.warmup_min_iters {optim.warmup_min_iters})) lasts the whole run "
        f"({train.epochs} epochs, {total} iterations): the learning rate never reaches train.lr "
        f"{train.lr:g}; train more epochs or lower optim.warmup_min_iters"
    )


def warn_if_warmup_fills_the_run(train, optim: CSTrackOptimConfig, images: int, world_size: int = 1) -> None:
    """Logs `warmup_fills_the_run`'s warning when there is one."""
    message = warmup_fills_the_run(train, optim, images, world_size)
    if message:
        log.warning(message)


# --------------------------------------------------------------------------------------------------
# Initialisation from a COCO-pretrained YOLOv5 (spec §6.7)


def transfer_pretrained(model: CSTrack, state: dict[str, torch.Tensor], source: str | Path) -> int:
    """The original's transfer rule: copy every key of ``state`` that the network has with the same
    shape, except anchors (COCO's 255-output Detect convs do not match and are skipped). Returns the
    number of tensors copied; copying none is an error (not a YOLOv5/CSTrack file)."""
    own = model.state_dict()
    matched = {k: v for k, v in state.items() if "anchor" not in k and k in own and own[k].shape == v.shape}
    if not matched:
        raise ValueError(f"{source}: no tensor matches the CSTrack network by name and shape")
    model.load_state_dict(matched, strict=False)
    log.info("%s: initialised %d of %d tensors", source, len(matched), len(own))
    return len(matched)


# --------------------------------------------------------------------------------------------------
# What `discmot.engine.train.launch` needs


def cstrack_setup(recipe, data_root: str | Path, pretrained: str | Path | None = None):
    """``build(dist_info) -> TrainSetup`` for `launch`: CSTrack on the JDE lists of a recipe.

    Args:
        recipe: a `discmot.models.cstrack.recipe.CSTrackRecipe` (network, data, transform, loss fields,
            optimizer details, training config).
        data_root: the folder the recipe's list folder and image root are relative to.
        pretrained: an official-format YOLOv5/CSTrack checkpoint (plain or pickled model) whose matching
            tensors initialise the network (`transfer_pretrained`).

    Raises:
        FileNotFoundError: a list of ``recipe.data.datasets`` is missing (before any run folder is made),
            naming the lists the data root has and the ``--set`` flags that train on them.
    """
    from functools import partial

    from discmot.data.jde import check_image_lists
    from discmot.data.jde_dataset import JDEDataset, collate_jde, jde_sampler_factory
    from discmot.engine.run_environment import file_record
    from discmot.engine.train import TrainSetup

    check_image_lists(recipe.data, Path(data_root), recipe.name)

    def build(dist_info) -> TrainSetup:
        index = recipe.data.index(data_root)
        dataset = JDEDataset(index, recipe.transform, train=True)
        loss_config = loss_config_for(recipe.model, index.num_identities, **recipe.loss)
        model = CSTrack(recipe.model)
        if pretrained is not None:
            from discmot.models.cstrack.checkpoint import read_official_state

            transfer_pretrained(model, read_official_state(pretrained), pretrained)
        train = recipe.train_for(dist_info.world_size)
        warn_if_warmup_fills_the_run(train, recipe.optim, len(dataset), dist_info.world_size)
        decay = scaled_weight_decay(train, recipe.optim, dist_info.world_size)
        ramp = recipe.warmup_accumulate_end(dist_info.world_size)
        schedule = partial(cstrack_schedule, train=train, optim=recipe.optim, warmup_accumulate=ramp)
        return TrainSetup(
            model=CSTrackTraining(model, CSTrackLoss(loss_config)),
            # the engine calls it with the model above; StepFn cannot tie its argument to that type
            step_fn=cstrack_step,  # type: ignore[arg-type]
            dataset=dataset,
            sampler_factory=jde_sampler_factory(len(dataset), seed=recipe.train.sampler_seed),
            collate_fn=collate_jde,
            model_config=recipe.model,
            model_kind=KIND,
            resolved_config={
                # dataclasses (with extras: DataclassWithExtras): a resume knows their fields' defaults
                "data": DataclassWithExtras(recipe.data, summary=_summary(index)),
                "transform": recipe.transform,
                "loss": loss_config,
                "optim": DataclassWithExtras(
                    recipe.optim, accumulate_steps=train.accumulate_steps, scaled_weight_decay=decay
                ),
                **({"pretrained": file_record(pretrained)} if pretrained else {}),
            },
            param_groups=partial(cstrack_param_groups, lr=train.lr, weight_decay=decay),
            schedule=schedule if train.schedule == "cstrack" else None,
            config=train,
        )

    return build


def _summary(index) -> list[dict]:
    """Per dataset: images, boxes, largest identity and offset (the identity bookkeeping of §6.3)."""
    return [dataclasses.asdict(d) for d in index.datasets]
