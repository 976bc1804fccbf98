"""2-D sine positional encoding of DETR feature maps (spec ``fdta.md`` §1.3)."""

from __future__ import annotations

import math

import torch
from torch import nn


class PositionEmbeddingSine(nn.Module):
    """DETR's normalized sine encoding of the valid (unpadded) pixel grid; no parameters.

    Row/column positions count valid pixels only (cumulative sums of the NOT-padding mask, 1-based), are
    centred (``- 0.5``) and normalized by the number of valid rows/columns to ``(0, scale)``. Each axis gives
    ``num_pos_feats`` channels ``[sin(p/w_0), cos(p/w_0), sin(p/w_1), ...]`` with
    ``w_k = temperature ** (2k / num_pos_feats)``; the y channels come first, then the x channels.
    """

    def __init__(
        self,
        num_pos_feats: int = 128,
        temperature: float = 10000,
        normalize: bool = True,
        scale: float = 2 * math.pi,
    ):
        super().__init__()
        if num_pos_feats % 2:
            raise ValueError(f"num_pos_feats must be even (sin/cos pairs), got {num_pos_feats}")
        self.num_pos_feats = num_pos_feats
        self.temperature = temperature
        self.normalize = normalize
        self.scale = scale

    def wavelengths(self, device: torch.device) -> torch.Tensor:
        """``[num_pos_feats]`` divisors ``w_{c // 2}``: channels 2k and 2k+1 share one wavelength."""
        channel = torch.arange(self.num_pos_feats, dtype=torch.float32, device=device)
        return self.temperature ** (2 * (channel // 2) / self.num_pos_feats)

    def encode_axis(self, positions: torch.Tensor) -> torch.Tensor:
        """``positions [B, H, W]`` (float32) -> ``[B, H, W, num_pos_feats]`` interleaved sin/cos."""
        angles = positions[..., None] / self.wavelengths(positions.device)
        return torch.stack((angles[..., 0::2].sin(), angles[..., 1::2].cos()), dim=4).flatten(3)

    def forward(self, mask: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """``mask [B, H, W]`` bool (True = padded) -> ``[B, 2 * num_pos_feats, H, W]`` in ``dtype``.

        Computed in fp32 whatever ``dtype`` is, then cast (as DETR's joiner does).
        """
        valid = ~mask
        y = valid.cumsum(1, dtype=torch.float32)
        x = valid.cumsum(2, dtype=torch.float32)
        if self.normalize:
            eps = 1e-6
            # The last row/column holds the number of valid rows/columns of each column/row.
            y = (y - 0.5) / (y[:, -1:, :] + eps) * self.scale
            x = (x - 0.5) / (x[:, :, -1:] + eps) * self.scale
        encoding = torch.cat((self.encode_axis(y), self.encode_axis(x)), dim=3)
        return encoding.permute(0, 3, 1, 2).to(dtype)

    def extra_repr(self) -> str:
        return (
            f"num_pos_feats={self.num_pos_feats}, temperature={self.temperature}, "
            f"normalize={self.normalize}, scale={self.scale:.4f}"
        )
