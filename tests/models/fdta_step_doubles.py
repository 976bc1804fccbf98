"""What the tests of FDTA's training step share: a stand-in for `FDTA.detect` for the frame handling
(§4.1 steps 5-7; frame ``f`` is the constant image ``f``, so each call's frame numbers and each output row's
frame can be read off the values), and training clips of a tiny synthetic scene.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from discmot.data.clips import ClipConfig, ClipDataset, SequenceIndex
from discmot.data.synth import generate_dataset
from discmot.data.transforms import AugmentConfig
from discmot.models.fdta.config import FDTAConfig
from discmot.models.fdta.training import StepConfig


class RecordingDetector(nn.Module):
    """Records ``(frame numbers, gradients on)`` of every ``detect`` call; outputs ``[n, 1, 1]`` frame numbers
    times one learnable weight, in the keys the step reads."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(()))
        self.calls: list[tuple[list[int], bool]] = []

    @property
    def with_grad(self) -> list[int]:
        """The frames that ran with gradients, in call order."""
        return [frame for frames, grad in self.calls if grad for frame in frames]

    def detect(self, frames: torch.Tensor, masks: torch.Tensor) -> dict:
        self.calls.append((frames[:, 0, 0, 0].long().tolist(), torch.is_grad_enabled()))
        values = frames[:, :1, 0, :1] * self.weight  # [n, 1, 1]: the frame's number
        return {
            "pred_logits": values,
            "pred_boxes": values.expand(-1, 1, 4),
            "outputs": values,
            "aux_outputs": [],
        }


class Holder(nn.Module):
    """What `_detect_all` reads of a training network: ``model.detect`` and ``step``."""

    def __init__(self, step: StepConfig):
        super().__init__()
        self.model = RecordingDetector()
        self.step = step


def tiny_training_clips(root: Path, frames: int, config: FDTAConfig) -> ClipDataset:
    """Training-mode 3-frame clips (1 group, ``config``'s ID labels, frames about 64 pixels high) of one
    ``frames``-long sequence of the tiny synthetic preset, written to ``root``."""
    generate_dataset(root, "tiny", split="train", sequences=1, frames=frames, seed=1)
    clips = ClipConfig(
        sample_length=3,
        num_groups=1,
        num_id_vocabulary=config.id_decoder.num_id_vocabulary,
        augment=AugmentConfig().rescaled((64,), max_size=112),
    )
    return ClipDataset(SequenceIndex.from_root(root, "train"), clips, train=True)
