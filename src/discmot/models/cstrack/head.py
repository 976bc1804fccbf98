"""CSTrack's detection head (official class ``Detect``, layer 28), spec ``cstrack.md`` §1.4.

The paper calls it the detection branch's prediction head: a 1x1 conv per level on the *detection* output
of the reciprocal network, 3 anchors x (x, y, w, h, objectness, class) per cell, decoded YOLOv5-style.

Buffers: ``anchors`` ``[3, 3, 2]`` (per level, in grid cells: pixels / stride; used by the loss) and
``anchor_grid`` ``[3, 1, 3, 1, 1, 2]`` (pixels; used for decoding). Both are persistent, so the model's
state dict equals the official one key for key (the official loader ignores them and keeps the model's own;
the CSTrack checkpoint loader does the same). ``k`` is the learnable scalar of the 2021+ code: it receives
no gradient, stays 10 and then selects the standard decoding.
"""

from __future__ import annotations

import math
from typing import cast

import torch
from torch import nn

from discmot.models.cstrack.config import CSTrackConfig


class DetectionHead(nn.Module):
    """Detect: detection features ``(D3, D4, D5)`` -> raw predictions per level ``[B, A, H_i, W_i, 5+nc]``."""

    # Buffers, registered in __init__ (declared here so type checkers see tensors, not Module attributes).
    anchors: torch.Tensor
    anchor_grid: torch.Tensor

    def __init__(self, config: CSTrackConfig):
        super().__init__()
        self.num_anchors = config.num_anchors
        self.outputs = config.outputs_per_anchor
        self.strides = tuple(config.strides)
        self.k = nn.Parameter(torch.full((1,), float(config.head_k)))
        pixels = torch.tensor(config.anchors, dtype=torch.float32)  # [levels, anchors, 2]
        strides = torch.tensor(self.strides, dtype=torch.float32)[:, None, None]
        self.register_buffer("anchors", pixels / strides)
        self.register_buffer("anchor_grid", pixels.view(len(self.strides), 1, -1, 1, 1, 2).clone())
        self.m = nn.ModuleList(
            nn.Conv2d(c, self.num_anchors * self.outputs, 1) for c in config.level_channels
        )
        self._init_biases(config.num_classes)

    @torch.no_grad()
    def _init_biases(self, num_classes: int) -> None:
        """YOLOv5's prior on top of the default init: ~8 objects per 640x640 image, class prob ~0.6."""
        for conv, stride in zip(self.m, self.strides, strict=True):
            # each conv of ``m`` is an nn.Conv2d with its default bias (ModuleList items are typed as Module)
            bias = cast(torch.Tensor, conv.bias).view(self.num_anchors, -1)
            bias[:, 4] += math.log(8 / (640 / stride) ** 2)
            bias[:, 5:] += math.log(0.6 / (num_classes - 0.99))

    def forward(self, detection: tuple[torch.Tensor, ...]) -> list[torch.Tensor]:
        """``D_i [B, C_i, H_i, W_i]`` -> raw logits ``[B, A, H_i, W_i, 5+nc]`` per level (anchor-major)."""
        raw = []
        for conv, x in zip(self.m, detection, strict=True):
            b, _, h, w = x.shape
            raw.append(
                conv(x).view(b, self.num_anchors, self.outputs, h, w).permute(0, 1, 3, 4, 2).contiguous()
            )
        return raw

    def decode(self, raw: list[torch.Tensor]) -> torch.Tensor:
        """Raw logits per level -> boxes ``[B, N, 5+nc]``: cx, cy, w, h (input pixels), objectness, class
        probabilities; N = A * sum(H_i * W_i), ordered level, anchor, row, column.

        ``cx = (2 sigmoid(tx) - 0.5 + gx) * s`` and ``w = (2 sigmoid(tw))^2 * anchor_w``; when ``k`` is not 10
        the code's alternative centre ``((sigmoid(tx) - 0.5) * k + gx) * s`` is used.
        """
        from discmot.models.cstrack.postprocess import decode_predictions  # cv2 only when decoding

        # k is a stored constant (the checkpoint carries it as a parameter), never differentiated here
        return decode_predictions(raw, self.anchor_grid, self.strides, float(self.k.detach()))
