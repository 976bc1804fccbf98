"""The reciprocal network (paper: "REN", official code: class ``CCN``), spec ``cstrack.md`` §2.

One REN per pyramid level splits the shared feature into a detection-specific and a ReID-specific feature
by learning two C x C channel-mixing matrices from a pooled summary of the feature: a *self-relation*
(how the channels of one task relate to each other) and a *cross-relation* (how they relate to the other
task's channels), blended by a learnable lambda per task.

We follow the code where the paper differs (spec §12.5): the task maps come from a 3x3 conv +
InstanceNorm + LeakyReLU(0.3) on the pooled feature, and the mixing is applied to the raw input feature
(the paper's extra 1x1 conv on F does not exist), then added back to it.
"""

from __future__ import annotations

import torch
from torch import nn


def _task_map(channels: int) -> nn.Sequential:
    """Conv 3x3 (with bias) -> InstanceNorm (no affine, no running stats) -> LeakyReLU(0.3)."""
    return nn.Sequential(
        nn.Conv2d(channels, channels, 3, padding=1, bias=True),
        nn.InstanceNorm2d(channels),
        nn.LeakyReLU(0.3, inplace=True),
    )


def relation(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Row-softmax of ``a @ b^T``: ``[B, C, N] x [B, C, N] -> [B, C, C]`` (each row sums to 1)."""
    return torch.softmax(a @ b.transpose(1, 2), dim=-1)


class ReciprocalNetwork(nn.Module):
    """REN on one level: ``F [B, C, H, W] -> (F_det, F_reid)``, both ``[B, C, H, W]``.

    Parameters (official key names): ``c_attention1``/``c_attention2`` (detection / ReID task maps:
    Conv2d at index 0), ``w1``/``w2`` (lambda_1, lambda_2, shape (1,), unconstrained, init 0.5).
    """

    def __init__(self, channels: int, pool: tuple[int, int] = (6, 10), lambda_init: float = 0.5):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(pool)
        self.c_attention1 = _task_map(channels)
        self.c_attention2 = _task_map(channels)
        self.w1 = nn.Parameter(torch.full((1,), float(lambda_init)))
        self.w2 = nn.Parameter(torch.full((1,), float(lambda_init)))

    def mixing_weights(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The detection and ReID channel-mixing matrices ``W_1, W_2``, each ``[B, C, C]``.

        ``W_k = lambda_k * T_k + (1 - lambda_k) * S_k`` with self-relation ``T_k = softmax(Y_k Y_k^T)``
        and cross-relation ``S_k = softmax(Y_k Y_other^T)``; ``Y_k [B, C, 60]`` is task map k of the
        6x10-pooled features.
        """
        pooled = self.pool(features)
        y1 = self.c_attention1(pooled).flatten(2)
        y2 = self.c_attention2(pooled).flatten(2)
        w1 = self.w1 * relation(y1, y1) + (1 - self.w1) * relation(y1, y2)
        w2 = self.w2 * relation(y2, y2) + (1 - self.w2) * relation(y2, y1)
        return w1, w2

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``features [B, C, H, W]`` -> ``(detection, reid)`` features, each ``W_k F + F`` of that shape."""
        w1, w2 = self.mixing_weights(features)
        flat = features.flatten(2)
        detection = (w1 @ flat).view_as(features) + features
        reid = (w2 @ flat).view_as(features) + features
        return detection, reid
