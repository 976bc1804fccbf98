"""One FDTA training iteration (spec ``fdta.md`` §4.1-4.2) for `discmot.engine.train`.

`FDTATraining` holds the network and its criterion; the criterion owns the Identity Adapter's MLP
(``criterion.track_embed``), so discmot's training checkpoints save it (the official code never saves
it: a documented deviation). Inference checkpoints (`discmot.models.fdta.checkpoint`) hold the network
only, on the official key contract.

`fdta_step` runs one clip batch: ImageNet-normalised frames; a random subset of ``train_frames``
gradient frames (the others run without gradients, in chunks); optional activation checkpointing of the
gradient frames; the DETR criterion with the depth and contrastive losses over every frame; the matched
embeddings gathered into the ID tables; Temporal Adapter -> FFN adapter -> ID decoder; the ID loss.
With ``StepConfig.only_detr`` (MOTIP's detector pre-training stage) the step ends after the detector's
losses.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from discmot.config import check_field_ranges
from discmot.models.detr.criterion import loss_weights, weighted_total
from discmot.models.fdta.checkpoint import DETECTOR_STAGE
from discmot.models.fdta.config import IMAGENET_MEAN, IMAGENET_STD
from discmot.models.fdta.criterion import FDTACriterion
from discmot.models.fdta.losses import count_id_tokens, id_loss
from discmot.models.fdta.model import FDTA

log = logging.getLogger(__name__)

STEP_OUTPUTS = ("pred_logits", "pred_boxes", "outputs", "pred_depth_map_logits")


@dataclass(frozen=True)
class StepConfig:
    """Memory and loss switches of the iteration (spec §4.1, §6.1).

    Attributes:
        train_frames: frames of a clip that get gradients (``DETR_NUM_TRAIN_FRAMES``, 4).
        checkpoint_frames: chunk size for activation checkpointing of the gradient frames
            (``DETR_NUM_CHECKPOINT_FRAMES``; 0 or >= train_frames: off). No-grad frames run in chunks
            of 4x this (all at once when 0).
        depth_fg_weight: foreground weight of the depth loss (6 DanceTrack, 7 SportsMOT, 10 BFT).
        identity_adapter: compute the contrastive loss (ablation switch).
        id_loss_weight: weight of the ID loss in the total (``ID_LOSS_WEIGHT``, 1.0 in every official
            config; more gives identity a larger share of the DETR's gradient).
        only_detr: the detector alone (MOTIP's ``ONLY_DETR``, its pre-training stage, spec §4.6): the
            DETR losses and, with the Spatial Adapter, the depth loss; no ID loss and no contrastive loss
            (the ID path's parameters get no gradient). Its weights start a full run through
            ``--detr-pretrain``.
    """

    train_frames: int = 4
    checkpoint_frames: int = 5
    depth_fg_weight: float = 6.0
    identity_adapter: bool = True
    id_loss_weight: float = 1.0
    only_detr: bool = False

    def __post_init__(self):
        check_field_ranges(self, STEP_RANGES)


#: `StepConfig` fields -> ``(lowest, highest or None)``.
STEP_RANGES = {"train_frames": (1, None), "checkpoint_frames": (0, None), "id_loss_weight": (0, None)}


class FDTATraining(nn.Module):
    """The network plus its criterion (which holds the Identity Adapter MLP): what the engine trains."""

    def __init__(self, model: FDTA, step: StepConfig):
        super().__init__()
        self.model = model
        self.criterion = FDTACriterion(model.config, depth_fg_weight=step.depth_fg_weight)
        self.step = step

    def inference_module(self) -> FDTA:
        """What the final weights file holds: the network alone, on the official key contract."""
        return self.model

    def weights_metadata(self) -> dict[str, str]:
        """``{"stage": "detector"}`` for an ``only_detr`` run: its file's ID path was never trained, which
        `discmot.models.fdta.checkpoint.load_fdta` warns about."""
        return {"stage": DETECTOR_STAGE} if self.step.only_detr else {}

    def process_local_parameters(self) -> list[str]:
        """The parameters DDP must leave alone. The Identity Adapter MLP: the original keeps the criterion
        (which holds it) outside DDP, so each process trains its own copy (spec §3.3); the engine does the
        same. With ``only_detr`` also everything outside the detector: it gets no gradient (DDP would
        wait for it) and stays as the main process initialised it, which is the copy that is saved.
        """
        names = [f"criterion.{name}" for name, _ in self.criterion.named_parameters()]
        if self.step.only_detr:
            names += [f"model.{n}" for n, _ in self.model.named_parameters() if not n.startswith("detr.")]
        return names

    def own_copy_parameters(self) -> list[str]:
        """The process-local parameters each process trains as its own copy, which training checkpoints
        keep per process: the Identity Adapter MLP (none with ``only_detr``, which never trains it; the
        rest such a stage leaves alone is the same as rank 0's copy for all it does)."""
        return [] if self.step.only_detr else [f"criterion.{n}" for n, _ in self.criterion.named_parameters()]


def normalise(images: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """uint8 ``[N, 3, H, W]`` -> ImageNet-normalised float, zero on padding (``masks [N, H, W]``)."""
    mean = torch.tensor(IMAGENET_MEAN, device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=images.device).view(1, 3, 1, 1)
    scaled = images.float().mul_(1.0 / 255)  # torchvision's to_dtype(scale=True), the original's op
    return (scaled - mean) / std * (~masks).unsqueeze(1)


def fdta_step(training: FDTATraining, batch: dict, context) -> tuple[torch.Tensor, dict]:
    """One iteration; returns the weighted total loss and the per-term values for logging."""
    device = context.device
    images = batch["images"].to(device).flatten(0, 1)  # [B*T, 3, H, W]
    masks = batch["masks"].to(device).flatten(0, 1)
    frames = normalise(images, masks)
    outputs = _detect_all(training, frames, masks, clip_length=batch["images"].shape[1])
    targets = detr_targets(batch, device)
    local_boxes = torch.tensor(float(sum(len(t["boxes"]) for t in targets)), device=device)
    num_boxes = max(float(context.reduce_sum(local_boxes)) / context.world_size, 1.0)
    depth_maps = None
    if batch.get("depths") is not None:
        depth_maps = batch["depths"].to(device).flatten(0, 1).float() * (~masks).unsqueeze(1)
    step = training.step
    contrastive = step.identity_adapter and not step.only_detr
    epoch = context.epoch if contrastive else 0  # epoch 0: no contrastive loss
    losses, matches = training.criterion(outputs, targets, num_boxes, epoch, depth_maps=depth_maps)
    if not step.only_detr:
        losses["loss_id"] = _id_loss(training.model, batch, outputs["outputs"], matches, context)
    weights = loss_weights(len(outputs["aux_outputs"]), id_weight=step.id_loss_weight)
    total = weighted_total(losses, weights)
    return total, {name: value.detach() for name, value in losses.items()}


def _detect_all(
    training: FDTATraining, frames: torch.Tensor, masks: torch.Tensor, clip_length: int | None = None
) -> dict:
    """DETR on every frame: gradients on a random subset, no-grad chunks for the rest, original order.

    ``frames [B * T, 3, H, W]`` hold B clips of ``clip_length`` frames (default: one clip). One random
    permutation of the T frame positions (spec §4.1 step 5) gives every clip gradients on its first
    ``train_frames`` positions: that many per clip, at the same times in each (the original selects
    frames along the time dimension of the ``[B, T]`` batch).
    """
    step, model = training.step, training.model
    count = frames.shape[0]
    length = count if clip_length is None else clip_length
    order = torch.randperm(length, device=frames.device)
    starts = torch.arange(0, count, length, device=frames.device).unsqueeze(1)  # [B, 1]
    with_grad = (starts + order[: min(step.train_frames, length)]).flatten()  # clip-major, as the original
    without_grad = (starts + order[step.train_frames :]).flatten()
    parts = []
    if len(without_grad):
        chunk = 4 * step.checkpoint_frames if step.checkpoint_frames else len(without_grad)
        with torch.no_grad():
            for ids in without_grad.split(chunk):
                parts.append((ids, model.detect(frames[ids], masks[ids])))
    chunk = step.checkpoint_frames
    if chunk <= 0 or chunk >= len(with_grad):
        parts.append((with_grad, model.detect(frames[with_grad], masks[with_grad])))
    else:
        for ids in with_grad.split(chunk):
            parts.append((ids, checkpoint(model.detect, frames[ids], masks[ids], use_reentrant=False)))
    return _merge(parts, count)


def _merge(parts: list[tuple[torch.Tensor, dict]], count: int) -> dict:
    """Concatenates chunk outputs and puts frames back in temporal order."""
    ids = torch.cat([p[0] for p in parts])
    inverse = torch.empty_like(ids)
    inverse[ids] = torch.arange(count, device=ids.device)

    def gather(values: list[torch.Tensor]) -> torch.Tensor:
        return torch.cat(values)[inverse]

    merged: dict[str, torch.Tensor | list[dict[str, torch.Tensor]] | None] = {
        key: gather([p[1][key] for p in parts]) for key in STEP_OUTPUTS if parts[0][1].get(key) is not None
    }
    layers = len(parts[0][1]["aux_outputs"])
    merged["aux_outputs"] = [
        {
            key: gather([p[1]["aux_outputs"][layer][key] for p in parts])
            for key in ("pred_logits", "pred_boxes")
        }
        for layer in range(layers)
    ]
    merged.setdefault("pred_depth_map_logits", None)
    return merged


def detr_targets(batch: dict, device) -> list[dict]:
    """One DETR target per frame (clips in order): boxes (normalised cxcywh), labels 0, track ids."""
    targets = []
    for boxes, ids in zip(batch["boxes"], batch["track_ids"], strict=True):
        for frame_boxes, frame_ids in zip(boxes, ids, strict=True):
            targets.append(
                {
                    "boxes": frame_boxes.to(device).float(),
                    "labels": torch.zeros(len(frame_boxes), dtype=torch.long, device=device),
                    "id": frame_ids.to(device),
                }
            )
    return targets


def _id_loss(model: FDTA, batch: dict, embeddings: torch.Tensor, matches, context) -> torch.Tensor:
    """ID logits of the clip batch (`clip_id_logits`) -> cross-entropy (spec §2.8)."""
    device = embeddings.device
    logits = clip_id_logits(model, batch, embeddings, matches)
    unk_masks = batch["unknown_masks"].to(device)
    local = torch.tensor(float(count_id_tokens(unk_masks)), device=device)
    n_valid = float(context.reduce_sum(local)) / context.world_size
    return id_loss(logits, batch["unknown_labels"].to(device), unk_masks, n_valid)


def clip_id_logits(model: FDTA, batch: dict, embeddings: torch.Tensor, matches) -> torch.Tensor:
    """ID logits ``[B, G, T, N, K + 1]`` of a clip batch's unknown tokens (spec §2.5-2.7).

    Args:
        batch: `collate_clips` output (its ID tables: ``trajectory_*`` and ``unknown_*`` ``[B, G, T, N]``).
        embeddings: the DETR's output embeddings ``[B * T, Q, D]`` of the batch's frames, in order.
        matches: the final layer's Hungarian matches, one per frame: each gt object's token is the
            embedding of its matched query.
    """
    device = embeddings.device
    b, g, t, n = batch["trajectory_labels"].shape
    object_embeddings = _object_embeddings(embeddings, matches, batch, t)  # [B, T, n_max, D]
    traj_masks, unk_masks = batch["trajectory_masks"].to(device), batch["unknown_masks"].to(device)
    traj = _gather(object_embeddings, batch["trajectory_ann_idx"].to(device), traj_masks)
    unk = _gather(object_embeddings, batch["unknown_ann_idx"].to(device), unk_masks)
    times = torch.arange(t, device=device).view(1, 1, t, 1).expand(b, g, t, n)
    return model.id_logits(
        traj, batch["trajectory_labels"].to(device).clamp(min=0), times, traj_masks, unk, times, unk_masks
    )


def _object_embeddings(embeddings: torch.Tensor, matches, batch: dict, frames: int) -> torch.Tensor:
    """``[B, T, n_max, D]``: for every GT object of every frame, the embedding of its matched query."""
    counts = [len(ids) for clip in batch["track_ids"] for ids in clip]
    n_max = max(counts + [1])
    out = embeddings.new_zeros((len(counts), n_max, embeddings.shape[-1]))
    for f, match in enumerate(matches):
        out[f, match.targets.to(embeddings.device)] = embeddings[f, match.queries.to(embeddings.device)]
    return out.view(-1, frames, n_max, embeddings.shape[-1])


def _gather(objects: torch.Tensor, ann_idx: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """``[B, G, T, N, D]`` token features: ``objects[b, t, ann_idx]`` where not masked, else zeros."""
    b, g, t, n = ann_idx.shape
    index = ann_idx.clamp(min=0)
    expanded = objects.unsqueeze(1).expand(b, g, *objects.shape[1:])  # [B, G, T, n_max, D]
    picked = torch.gather(expanded, 3, index.unsqueeze(-1).expand(b, g, t, n, objects.shape[-1]))
    return picked * (~masks).unsqueeze(-1)


# --------------------------------------------------------------------------------------------------
# What `discmot.engine.train.launch` needs


def fdta_setup(
    model_config,
    data_root,
    split: str | Sequence[str] = "train",
    clip_config=None,
    step_config: StepConfig | None = None,
    detr_pretrain=None,
):
    """``build(dist_info) -> TrainSetup`` for `launch`: FDTA on the sequences of ``data_root/split``,
    or of several split folders (``("train", "val")``, the original's ``DATASET_SPLITS``), in that order.

    ``detr_pretrain``: a checkpoint whose detector weights initialise the network (`read_detr_pretrain`:
    the paper's COCO/CrowdHuman-pretrained DETR, spec §4.1 step 1, or a discmot FDTA weights file such
    as the output of a ``step.only_detr`` run).
    """
    from discmot.data.clip_sampler import clip_sampler_factory, warn_sequences_without_clips
    from discmot.data.clips import ClipConfig, ClipDataset, SequenceIndex, collate_clips
    from discmot.engine.run_environment import file_record
    from discmot.engine.train import TrainSetup

    step_config = step_config or StepConfig()
    clip_config = clip_config or ClipConfig(
        sample_length=model_config.id_decoder.rel_pe_length,
        num_id_vocabulary=model_config.id_decoder.num_id_vocabulary,
        depth=model_config.spatial.enabled,
    )

    def build(_dist_info) -> TrainSetup:
        model = FDTA(model_config)
        if detr_pretrain is not None:
            init_from_detr_pretrain(model, detr_pretrain)
        splits = (split,) if isinstance(split, str) else tuple(split)
        index = SequenceIndex.merge(*(SequenceIndex.from_root(data_root, name) for name in splits))
        where = ", ".join(str(Path(data_root) / name) for name in splits)
        log.info("%s: %s", where, describe_index(index))
        warn_frames_beyond_queries(index, model_config.detr.num_queries)
        warn_upscaling(index, clip_config.augment.scales)
        warn_sequences_without_clips(index, clip_config.sample_length, clip_config.max_interval)
        return TrainSetup(
            model=FDTATraining(model, step_config),
            # the engine calls it with the model above; StepFn cannot tie its argument to that type
            step_fn=fdta_step,  # type: ignore[arg-type]
            dataset=ClipDataset(index, clip_config, train=True),
            sampler_factory=clip_sampler_factory(
                index, clip_config.sample_length, clip_config.max_interval, seed=clip_config.seed
            ),
            collate_fn=collate_clips,
            model_config=model_config,
            model_kind="fdta",
            resolved_config={
                "clips": clip_config,  # dataclasses: a resume knows their fields' defaults
                "step": step_config,
                **({"detr_pretrain": file_record(detr_pretrain)} if detr_pretrain else {}),
            },
        )

    return build


def init_from_detr_pretrain(model: FDTA, path: str | Path) -> None:
    """Loads the detector weights of the checkpoint ``path`` into ``model`` (`read_detr_pretrain`,
    `load_detr_pretrain`); the tensors it does not hold keep their initialisation (logged)."""
    from discmot.io.detr_pretrain import load_detr_pretrain, read_detr_pretrain

    untouched = load_detr_pretrain(model, read_detr_pretrain(path), path)
    log.info(
        "%s: %d tensors loaded, %d keep their initialisation",
        path,
        len(model.state_dict()) - len(untouched),
        len(untouched),
    )


def describe_index(index) -> str:
    """What training reads: ``"6 sequences, 900 frames (898 legal), 10,473 boxes, 75 identities"``
    (identities counted per sequence; legal frames as `discmot.data.sequences.SequenceRecord.legal`)."""
    records = index.records
    frames = sum(record.length for record in records)
    legal = sum(int(record.legal.sum()) for record in records)
    boxes = sum(len(record.ids) for record in records)
    identities = sum(len(np.unique(record.ids)) for record in records)
    noun = "sequence" if len(records) == 1 else "sequences"
    counts = f"{frames:,} frames ({legal:,} legal), {boxes:,} boxes, {identities:,} identities"
    return f"{len(records)} {noun}, {counts}"


def warn_upscaling(index, scales: tuple[int, ...]) -> None:
    """Warns when the augmentation resizes the first sequence's frames to shorter sides over twice their
    own: the paper's scales (480-800, for 1080p video) on small frames cost memory and time in the
    square of the factor (a recipe of only ``preset: tiny`` on 160-px synthetic frames: 5x)."""
    import cv2

    first = next((r.image_files[0] for r in index.records if r.image_files), None)
    image = None if first is None else cv2.imread(str(first), cv2.IMREAD_REDUCED_GRAYSCALE_2)
    if image is None:
        return
    shorter = 2 * min(image.shape[:2])  # read at half size: only the size is needed
    if max(scales) > 2 * shorter:
        log.warning(
            "%s: augment.scales up to %d upscale these %d-pixel frames %.1f times (memory and time "
            "grow with the square of that); set scales for these frames, e.g. --set "
            "'augment.scales=[%d]' (the tiny recipe's for 160-pixel frames: [128, 144, 160])",
            first,
            max(scales),
            shorter,
            max(scales) / shorter,
            shorter,
        )


def warn_frames_beyond_queries(index, num_queries: int) -> None:
    """Warns about sequences with frames holding more objects than the DETR has queries: it can find at
    most ``num_queries`` objects in a frame (the ``tiny`` preset has 20; a crowd needs the paper's 300)."""
    for record in index.records:
        most = int(np.diff(record.offsets).max(initial=0))
        if most > num_queries:
            log.warning(
                "%s: up to %d objects in a frame, more than the model's %d queries: it can detect at most %d "
                "a frame (set model.detr.num_queries)",
                record.name,
                most,
                num_queries,
                num_queries,
            )
