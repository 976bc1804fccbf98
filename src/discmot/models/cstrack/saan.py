"""The scale-aware attention network (paper: "SAAN"; official code: class ``SAAN``), spec ``cstrack.md`` §3.

SAAN turns the three ReID features of the reciprocal networks into one stride-8 ID-embedding map: each
level is projected to a common width, brought to stride 8, re-weighted by a *spatial attention* module
(paper: "SAM"), concatenated, re-weighted per channel by a *channel attention* module (paper: "CAM") and
projected to the embedding dimension.

Where the paper and the code differ we follow the code (spec §12.6): the 3x3 Conv-BN-LReLU comes before
the upsampling, which is a learnable depthwise transposed conv; the spatial attention first reduces the
channels to 1/4 with a 1x1 Conv; the channel attention gives one weight per channel; the output is a 3x3
Conv to 256 then a 1x1 conv (with bias) to 512. Embeddings are not normalised here.
"""

from __future__ import annotations

import torch
from torch import nn

from discmot.models.backbones.yolov5 import Conv


class SpatialAttention(nn.Module):
    """Paper's SAM: ``x [B, C, H, W] -> x * a + x`` with one attention weight ``a`` per position.

    ``a = sigmoid(conv7x7(concat[mean_c(z), max_c(z)]))`` where ``z`` is a 1x1 Conv of ``x`` to C/4.
    Keys: ``conv_s.0`` (the Conv), ``s_attention`` (the 7x7 conv, no bias).
    """

    def __init__(self, channels: int):
        super().__init__()
        self.conv_s = nn.Sequential(Conv(channels, channels // 4, 1))
        self.s_attention = nn.Conv2d(2, 1, 7, padding=3, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.conv_s(x)
        pooled = torch.cat((z.mean(1, keepdim=True), z.amax(1, keepdim=True)), 1)
        return x * torch.sigmoid(self.s_attention(pooled)) + x


class ChannelAttention(nn.Module):
    """Paper's CAM: ``x [B, C, H, W] -> x * c + x`` with one weight per channel, ``c [B, C]``.

    ``c = sigmoid(g(avgpool(x)) + g(maxpool(x)))``; the shared ``g`` (key ``c_attention``) treats the
    C-vector as a one-channel sequence: Conv1d(k=3, no bias) -> LayerNorm over (1, C) -> LeakyReLU(0.3)
    -> Linear(C, C, no bias).
    """

    def __init__(self, channels: int):
        super().__init__()
        self.c_attention = nn.Sequential(
            nn.Conv1d(1, 1, 3, padding=1, bias=False),
            nn.LayerNorm([1, channels]),
            nn.LeakyReLU(0.3, inplace=True),
            nn.Linear(channels, channels, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        avg = self.c_attention(x.mean((2, 3)).unsqueeze(1))
        top = self.c_attention(x.amax((2, 3)).unsqueeze(1))
        weights = torch.sigmoid(avg + top).squeeze(1)
        return x * weights[:, :, None, None] + x


def _upsampler(channels: int, factor: int) -> nn.ConvTranspose2d:
    """Learnable depthwise x2 (kernel 4) or x4 (kernel 8) upsampling: exact output size factor*H."""
    return nn.ConvTranspose2d(
        channels, channels, 2 * factor, stride=factor, padding=factor // 2, groups=channels, bias=False
    )


class ScaleAwareAttention(nn.Module):
    """SAAN: ReID features ``(R3, R4, R5)`` of widths ``in_channels`` -> embeddings ``[B, H3, W3, E]``.

    ``R_i`` is ``[B, C_i, H/s_i, W/s_i]`` for strides 8/16/32; the output is channels-last at stride 8.
    Keys: ``proj1`` = (Conv 3x3, SpatialAttention), ``proj2``/``proj3`` = (Conv 3x3, upsampler,
    SpatialAttention), ``node`` = (ChannelAttention, Conv 3x3 to ``width``, Conv2d 1x1 to ``embedding_dim``).
    """

    def __init__(self, in_channels: tuple[int, int, int], width: int = 256, embedding_dim: int = 512):
        super().__init__()
        c3, c4, c5 = in_channels
        self.proj1 = nn.Sequential(Conv(c3, width, 3), SpatialAttention(width))
        self.proj2 = nn.Sequential(Conv(c4, width, 3), _upsampler(width, 2), SpatialAttention(width))
        self.proj3 = nn.Sequential(Conv(c5, width, 3), _upsampler(width, 4), SpatialAttention(width))
        self.node = nn.Sequential(
            ChannelAttention(3 * width),
            Conv(3 * width, width, 3),
            nn.Conv2d(width, embedding_dim, 1, bias=True),
        )

    def forward(self, reid: tuple[torch.Tensor, torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """``(R3, R4, R5)`` -> ID-embedding map ``[B, H/8, W/8, embedding_dim]`` (not normalised)."""
        r3, r4, r5 = reid
        fused = torch.cat((self.proj1(r3), self.proj2(r4), self.proj3(r5)), 1)
        return self.node(fused).permute(0, 2, 3, 1).contiguous()
