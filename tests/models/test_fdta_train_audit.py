"""Findings of the audit of FDTA training against spec ``fdta.md`` §2, §3, §4, §8 (session 28).

Each test pins a rule where discmot deviated from the spec, on hand-made inputs.
"""

from __future__ import annotations

import torch
from fdta_step_doubles import Holder, tiny_training_clips

from discmot.models.fdta.training import StepConfig, _detect_all


def test_gradient_frames_are_chosen_per_clip_at_the_same_times():
    """§4.1 step 5: a random permutation of the T frames of a clip; its first ``train_frames`` get
    gradients. With B clips in a batch (the original selects along the time dimension of the
    ``[B, T]`` batch), each clip gets ``train_frames`` gradient frames at the same positions, not
    ``train_frames`` in all (``StepConfig.train_frames``: "frames of a clip that get gradients")."""
    clips, length = 3, 5
    count = clips * length
    frames = torch.arange(count, dtype=torch.float32).view(count, 1, 1, 1).expand(count, 3, 2, 2)
    masks = torch.zeros((count, 2, 2), dtype=torch.bool)
    for checkpoint_frames in (0, 1):
        holder = Holder(StepConfig(train_frames=2, checkpoint_frames=checkpoint_frames))
        torch.manual_seed(3)
        outputs = _detect_all(holder, frames, masks, clip_length=length)
        chosen = sorted(holder.model.with_grad)
        assert len(chosen) == clips * 2, chosen
        times = [{f % length for f in chosen if f // length == clip} for clip in range(clips)]
        assert times[0] == times[1] == times[2] and len(times[0]) == 2, times
        # every frame once, back in temporal order
        torch.testing.assert_close(outputs["outputs"].flatten(), torch.arange(count, dtype=torch.float32))


def test_one_clip_keeps_the_random_frames_of_before():
    """With one clip (the official batch size) the choice is the permutation of its T frames, as
    before the per-clip fix: runs seeded alike pick the same gradient frames."""
    length = 6
    frames = torch.arange(length, dtype=torch.float32).view(length, 1, 1, 1).expand(length, 3, 2, 2)
    masks = torch.zeros((length, 2, 2), dtype=torch.bool)
    holder = Holder(StepConfig(train_frames=4, checkpoint_frames=0))
    torch.manual_seed(11)
    _detect_all(holder, frames, masks, clip_length=length)
    torch.manual_seed(11)
    assert holder.model.with_grad == torch.randperm(length)[:4].tolist()


def test_single_frame_clips_all_get_gradients():
    """MOTIP's detector pre-training (T = 1, 2 clips, ``DETR_NUM_TRAIN_FRAMES`` 100): every frame."""
    frames = torch.arange(2, dtype=torch.float32).view(2, 1, 1, 1).expand(2, 3, 2, 2)
    holder = Holder(StepConfig(train_frames=100, checkpoint_frames=5))
    _detect_all(holder, frames, torch.zeros((2, 2, 2), dtype=torch.bool), clip_length=1)
    assert sorted(holder.model.with_grad) == [0, 1]


def test_a_step_over_two_clips_gives_each_clip_its_gradient_frames(tmp_path):
    """`fdta_step` with ``train.batch_size: 2``: each clip's ``train_frames`` run with gradients."""
    from discmot.data.clips import Clip, collate_clips
    from discmot.engine.step import StepContext
    from discmot.models.fdta.config import preset
    from discmot.models.fdta.model import FDTA
    from discmot.models.fdta.training import FDTATraining, fdta_step

    config = preset("tiny")
    dataset = tiny_training_clips(tmp_path, 8, config)
    batch = collate_clips([dataset[Clip(0, (0, 1, 2))], dataset[Clip(0, (3, 4, 5))]])
    torch.manual_seed(0)
    net = FDTATraining(FDTA(config), StepConfig(train_frames=1, checkpoint_frames=0))
    detect, counted = net.model.detect, []

    def counting_detect(frames, masks):
        if torch.is_grad_enabled():
            counted.append(frames.shape[0])
        return detect(frames, masks)

    net.model.detect = counting_detect
    context = StepContext(0, 0, 1, 0, torch.device("cpu"), "fp32")
    total, _ = fdta_step(net, batch, context)
    assert torch.isfinite(total)
    assert sum(counted) == 2  # one per clip (it was one for the whole batch)
