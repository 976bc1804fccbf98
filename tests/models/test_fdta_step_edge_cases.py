"""Edge cases of FDTA's training iteration (spec ``fdta.md`` §2.8, §2.9, §4.1-4.2, §6.1) that the end-to-end
tests in ``test_fdta_training.py`` leave open: what `fdta_step` hands the criterion and the ID loss (the
all-reduced ``num_boxes`` and ``n_valid`` averages, the epoch that switches the contrastive loss, depth
maps zeroed on padding), a batch without depth maps, activation-checkpoint chunks, the defaults."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from fdta_step_doubles import Holder, tiny_training_clips
from torch import nn

import discmot.models.fdta.training as training_module
from discmot.data.clips import Clip, SequenceIndex, collate_clips
from discmot.data.sequences import records_from_rows
from discmot.data.synth import generate_dataset
from discmot.engine.step import StepContext
from discmot.models.detr.matcher import Match
from discmot.models.fdta.config import preset
from discmot.models.fdta.model import FDTA
from discmot.models.fdta.training import (
    FDTATraining,
    StepConfig,
    _detect_all,
    clip_id_logits,
    fdta_setup,
    fdta_step,
    warn_upscaling,
)
from helpers import write_frames

CONFIG = preset("tiny")


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> dict:
    """One 3-frame clip of a tiny synthetic scene, 1 group, frames about 64 pixels high."""
    dataset = tiny_training_clips(tmp_path_factory.mktemp("fdta_step"), 6, CONFIG)
    return collate_clips([dataset[Clip(0, (0, 1, 2), epoch=0)]])


class FakeProcesses(StepContext):
    """A step context whose all-reduce adds ``others`` (what the other processes hold) to the local value."""

    def __init__(self, epoch: int = 3, world_size: int = 1, others: float = 0.0):
        super().__init__(epoch, 0, 1, 0, torch.device("cpu"), "fp32", world_size=world_size)
        self.others = others

    def reduce_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        return tensor + self.others


class RecordingCriterion(nn.Module):
    """Wraps the real criterion and remembers its ``num_boxes``, ``epoch`` and ``depth_maps`` arguments."""

    def __init__(self, criterion: nn.Module):
        super().__init__()
        self.inner = criterion
        self.calls: list[dict] = []

    def forward(self, outputs, targets, num_boxes, epoch, depth_maps=None):
        self.calls.append({"num_boxes": num_boxes, "epoch": epoch, "depth_maps": depth_maps})
        return self.inner(outputs, targets, num_boxes, epoch, depth_maps=depth_maps)


def recorded_step(batch: dict, context: StepContext, step: StepConfig | None = None, config=CONFIG) -> dict:
    """Runs `fdta_step` on the tiny preset and returns the criterion's recorded arguments."""
    torch.manual_seed(0)
    net = FDTATraining(FDTA(config), step or StepConfig(train_frames=1, checkpoint_frames=0))
    net.criterion = RecordingCriterion(net.criterion)
    total, _ = fdta_step(net, batch, context)
    assert torch.isfinite(total)
    (call,) = net.criterion.calls
    return call


def boxes_in(batch: dict) -> int:
    return sum(len(frame) for clip in batch["boxes"] for frame in clip)


@pytest.mark.parametrize(
    ("world_size", "others", "expected"),
    [(1, 0.0, "local"), (2, 6.0, "mean"), (4, None, 1.0)],
    ids=["one-process", "mean-over-two", "clamped-to-1"],
)
def test_num_boxes_is_the_box_count_of_all_frames_averaged_over_processes_and_at_least_1(
    batch, world_size, others, expected
):
    """§2.9: ``num_boxes`` = GT boxes over all frames of the clip batch, all-reduced, divided by the world
    size, clamped ≥ 1. Ours plus 6 on a second process: half the sum; 1 box over 4 processes: 1, not 0.25."""
    local = boxes_in(batch)
    assert local >= 2
    if others is None:  # every process together holds one box
        others = 1.0 - local
    call = recorded_step(batch, FakeProcesses(world_size=world_size, others=others))
    value = {"local": float(local), "mean": (local + others) / 2}.get(expected, expected)
    assert call["num_boxes"] == pytest.approx(value)


def test_the_id_loss_divides_by_the_supervised_token_count_averaged_over_processes(batch, monkeypatch):
    """§2.8: ``L_ID = Σ CE / max(1, n_valid_avg)``, ``n_valid_avg`` = kept tokens (unknown mask False, t ≥ 1)
    summed over all processes and divided by the world size: here ours plus 4 on the other process, over 2."""
    seen = []
    real = training_module.id_loss

    def recording_id_loss(logits, labels, masks, n_valid_avg=None):
        seen.append(n_valid_avg)
        return real(logits, labels, masks, n_valid_avg)

    monkeypatch.setattr(training_module, "id_loss", recording_id_loss)
    recorded_step(batch, FakeProcesses(world_size=2, others=4.0))
    kept = int((~batch["unknown_masks"][:, :, 1:]).sum())
    assert kept > 0 and seen == [pytest.approx((kept + 4) / 2)]


@pytest.mark.parametrize(
    ("identity_adapter", "only_detr", "epoch"),
    [(True, False, 3), (False, False, 0), (True, True, 0)],
    ids=["full-step", "no-identity-adapter", "only-detr"],
)
def test_the_criterion_gets_the_epoch_only_when_the_contrastive_loss_is_on(
    batch, identity_adapter, only_detr, epoch
):
    """§3.3 / §4.6: the contrastive loss runs from epoch 1 on (the criterion gives 0 in epoch 0); the step
    switches it off by passing epoch 0 when the Identity Adapter is ablated or in the detector-only stage."""
    step = StepConfig(
        train_frames=1, checkpoint_frames=0, identity_adapter=identity_adapter, only_detr=only_detr
    )
    assert recorded_step(batch, FakeProcesses(epoch=3), step)["epoch"] == epoch


def test_depth_maps_reach_the_criterion_unscaled_and_zeroed_on_padding(batch):
    """§4.1 step 2: depth → float **without** scaling → multiplied by (not mask): raw uint8 values where
    the image is, 0 on padding (here the last 5 columns of every frame, marked as padding by hand)."""
    padded = dict(batch, masks=batch["masks"].clone())
    padded["masks"][..., -5:] = True
    depths = batch["depths"].flatten(0, 1)
    assert depths.dtype == torch.uint8 and int(depths[..., -5:].max()) > 1
    expected = depths.float().clone()
    expected[..., -5:] = 0.0
    got = recorded_step(padded, FakeProcesses())["depth_maps"]
    assert got.dtype == torch.float32 and torch.equal(got, expected)


def test_a_model_without_the_spatial_adapter_trains_on_a_batch_without_depth_maps(batch):
    """Spatial Adapter ablation (§3.1 off): the clips carry no depth maps and the step passes none."""
    config = replace(CONFIG, spatial=replace(CONFIG.spatial, enabled=False))
    call = recorded_step(dict(batch, depths=None), FakeProcesses(), config=config)
    assert call["depth_maps"] is None


@pytest.mark.parametrize(
    ("checkpoint_frames", "forward", "recomputed"),
    [
        (2, [(6, False), (2, True), (2, True)], [(2, True), (2, True)]),
        (4, [(6, False), (4, True)], []),
        (0, [(6, False), (4, True)], []),
        (1, [(4, False), (2, False), (1, True), (1, True), (1, True), (1, True)], [(1, True)] * 4),
    ],
)
def test_gradient_frames_run_in_checkpointed_chunks_and_no_grad_frames_in_chunks_of_four_times_that(
    checkpoint_frames, forward, recomputed
):
    """§4.1 steps 6-7 on a 10-frame clip with 4 gradient frames: no-grad frames in chunks of
    ``4 × DETR_NUM_CHECKPOINT_FRAMES`` (all at once when 0); gradient frames in one pass when that number is 0
    or ≥ 4, else in chunks of it, each under activation checkpointing (re-run during backward)."""
    length = 10
    frames = torch.arange(length, dtype=torch.float32).view(length, 1, 1, 1).expand(length, 3, 2, 2)
    holder = Holder(StepConfig(train_frames=4, checkpoint_frames=checkpoint_frames))
    outputs = _detect_all(holder, frames, torch.zeros((length, 2, 2), dtype=torch.bool))
    calls = holder.model.calls
    assert [(len(frames), grad) for frames, grad in calls] == forward
    del calls[:]
    outputs["outputs"].sum().backward()
    assert [(len(frames), grad) for frames, grad in calls] == recomputed
    torch.testing.assert_close(outputs["outputs"].flatten(), torch.arange(length, dtype=torch.float32))
    assert holder.model.weight.grad is not None


def test_step_defaults_are_the_papers_values():
    """§6.1: DETR_NUM_TRAIN_FRAMES 4, DETR_NUM_CHECKPOINT_FRAMES 5, DEPTH_FG_WEIGHT 6 (DanceTrack),
    ID_LOSS_WEIGHT 1.0, ONLY_DETR False; the Identity Adapter is on (FDTA, §3.3)."""
    defaults = StepConfig()
    assert (defaults.train_frames, defaults.checkpoint_frames, defaults.depth_fg_weight) == (4, 5, 6.0)
    assert (defaults.identity_adapter, defaults.id_loss_weight, defaults.only_detr) == (True, 1.0, False)


@pytest.mark.parametrize("weight", [0.0, 0.5, 2.0])
def test_id_loss_weights_below_1_are_accepted(weight):
    """``id_loss_weight`` must be ≥ 0 (0 switches the ID term off); fractions are valid weights."""
    assert StepConfig(id_loss_weight=weight).id_loss_weight == weight


def test_a_negative_id_loss_weight_is_refused():
    with pytest.raises(ValueError, match="id_loss_weight"):
        StepConfig(id_loss_weight=-0.5)


class RecordingIDPath:
    """Stands in for the model in `clip_id_logits`: remembers what `FDTA.id_logits` would get."""

    def id_logits(self, *args):
        self.args = args
        return torch.zeros(())


def test_id_tokens_carry_the_embedding_of_each_objects_matched_query_and_zeros_where_masked():
    """§2.5: ``trajectory_features[b,g,t,n]`` = embedding of the query matched to annotation
    ``traj_ann_idx[g,t,n]`` if not masked, else zeros; ``unknown_features`` likewise with ``unk_ann_idx``;
    times = t. Two frames, 3 queries; slot 0 is track 7, slot 1 track 9; the trajectory table of frame 0 is
    switched (§2.3), the unknown table is not; track 7 is missing in frame 1."""
    embeddings = torch.tensor(
        [[[100.0 * f + 10 * q + c for c in (1, 2, 3)] for q in range(3)] for f in range(2)]
    )

    def e(frame, query):
        return embeddings[frame, query]

    matches = [  # frame 0: query 0 <-> object 1 (track 9), query 2 <-> object 0 (track 7); frame 1: 1 <-> 0
        Match(torch.tensor([0, 2]), torch.tensor([1, 0]), torch.ones(2)),
        Match(torch.tensor([1]), torch.tensor([0]), torch.ones(1)),
    ]
    masks = torch.tensor([[False, False], [True, False]]).view(1, 1, 2, 2)
    batch = {
        "track_ids": [[torch.tensor([7, 9]), torch.tensor([9])]],
        "trajectory_labels": torch.tensor([[0, 5], [-1, 5]]).view(1, 1, 2, 2),
        "trajectory_ann_idx": torch.tensor([[1, 0], [-1, 0]]).view(1, 1, 2, 2),
        "trajectory_masks": masks,
        "unknown_ann_idx": torch.tensor([[0, 1], [-1, 0]]).view(1, 1, 2, 2),
        "unknown_masks": masks,
    }
    model = RecordingIDPath()
    clip_id_logits(model, batch, embeddings, matches)
    traj, labels, times, traj_masks, unk, unk_times, unk_masks = model.args
    zeros = torch.zeros(3)
    assert torch.equal(
        traj[0, 0], torch.stack([torch.stack([e(0, 0), e(0, 2)]), torch.stack([zeros, e(1, 1)])])
    )
    assert torch.equal(
        unk[0, 0], torch.stack([torch.stack([e(0, 2), e(0, 0)]), torch.stack([zeros, e(1, 1)])])
    )
    assert torch.equal(labels, torch.tensor([[0, 5], [0, 5]]).view(1, 1, 2, 2))  # padding -1 -> 0, 0 kept
    assert torch.equal(times, torch.tensor([[0, 0], [1, 1]]).view(1, 1, 2, 2)) and torch.equal(
        unk_times, times
    )
    assert torch.equal(traj_masks, masks) and torch.equal(unk_masks, masks)


def index_of(images: list[Path]) -> SequenceIndex:
    """A one-sequence index over ``images`` (one box per frame; the files need not exist)."""
    frames = np.arange(len(images))
    values = np.column_stack([np.zeros(len(images)), np.ones((len(images), 4))]).astype(float)
    return SequenceIndex([records_from_rows("seq", images, frames, values)])


@pytest.mark.parametrize(("largest", "warned"), [(160, False), (161, True)])
def test_scales_are_warned_about_only_beyond_twice_the_frames_shorter_side(tmp_path, caplog, largest, warned):
    """`warn_upscaling`: 80x128 frames (shorter side 80) are upscaled "over twice their own" only by a scale
    above 160; 160 itself is not warned about."""
    images = sorted(write_frames(tmp_path / "img", [1, 2]).glob("*.jpg"))
    with caplog.at_level("WARNING"):
        warn_upscaling(index_of(images), (64, largest))
    assert ("these 80-pixel frames" in caplog.text) == warned


def test_frames_that_cannot_be_read_are_not_warned_about(tmp_path, caplog):
    """`warn_upscaling` reads the first frame for its size: a missing file (or none at all) is no error here
    (the data loader reports unreadable frames) and gives no warning."""
    with caplog.at_level("WARNING"):
        warn_upscaling(index_of([tmp_path / "missing.jpg"]), (800,))
        warn_upscaling(SequenceIndex([]), (800,))
    assert not caplog.records


def test_training_setup_uses_the_step_config_it_is_given_and_the_default_otherwise(tmp_path):
    """`fdta_setup`: the trained module and the recorded config carry the caller's `StepConfig`; without
    one, the defaults. Its dataset is in training mode (clip and trajectory augmentation, §8.3, §2.3)."""
    generate_dataset(tmp_path, "tiny", split="train", sequences=1, frames=10, seed=1)  # clips of 8 frames
    step = StepConfig(train_frames=2, checkpoint_frames=0, id_loss_weight=0.5)
    given = fdta_setup(CONFIG, tmp_path, "train", step_config=step)(None)
    assert given.model.step == step and given.resolved_config["step"] == step
    assert given.dataset.train
    default = fdta_setup(CONFIG, tmp_path, "train")(None)
    assert default.model.step == StepConfig() and default.resolved_config["step"] == StepConfig()
