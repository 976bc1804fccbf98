"""FDTA's Spatial Adapter: a depth branch on the stride-8 grid (spec ``fdta.md`` §3.1).

Paper term "Spatial Adapter" = the official ``depth_predictor`` (kept as the module name for checkpoint
keys) plus one depth cross-attention per decoder layer (in `discmot.models.detr.transformer`). From the
detached projected DETR levels it predicts a per-pixel distribution over linear-increasing-discretisation
(LID) depth bins (``depth_logits``, trained by distillation from pseudo-depth), its expectation
(``expected_depth``), and a **depth memory** = one post-norm transformer layer over the fused features plus
a learned depth positional encoding interpolated at the expected depth. The decoder queries attend to it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from discmot.models.fdta.config import SpatialAdapterConfig
from discmot.models.fdta.encoder_layer import PostNormEncoderLayer


def lid_bin_size(bins: int, depth_min: float, depth_max: float) -> float:
    """LID step ``2 (d_max - d_min) / (N (N + 1))``: bin i is ``(i + 1)`` steps wide."""
    return 2 * (depth_max - depth_min) / (bins * (1 + bins))


def lid_bin_values(bins: int, depth_min: float, depth_max: float) -> torch.Tensor:
    """``[bins + 1]`` float32 depth of each class: LID bin ``i``'s lower edge, then ``d_max``.

    ``v_i = (i + 0.5)^2 step / 2 - step / 8 + d_min = d_min + step i (i + 1) / 2`` for i < N, computed
    in float32 in the official order so the values match the checkpoints' ``depth_bin_values`` bit for
    bit; the extra last class ("out of range") is given the value ``d_max``.
    """
    step = lid_bin_size(bins, depth_min, depth_max)
    indices = torch.linspace(0, bins - 1, bins)
    values = (indices + 0.5).pow(2) * step / 2 - step / 8 + depth_min
    return torch.cat([values, torch.tensor([depth_max])])


def lid_target_classes(depth: torch.Tensor, bins: int, depth_min: float, depth_max: float) -> torch.Tensor:
    """Class index (int64, same shape as ``depth``) of each depth value under LID.

    ``floor(-0.5 + 0.5 sqrt(1 + 8 (d - d_min) / step))``; values whose continuous index is negative,
    above ``bins`` or not finite get the out-of-range class ``bins``. For 8-bit pseudo-depth and 150 bins:
    0 -> 150, 1 -> 8, 128 -> 105, 255 -> 149, 256 -> 150.
    """
    step = lid_bin_size(bins, depth_min, depth_max)
    indices = -0.5 + 0.5 * torch.sqrt(1 + 8 * (depth - depth_min) / step)
    out_of_range = (indices < 0) | (indices > bins) | ~torch.isfinite(indices)
    indices = torch.where(out_of_range, torch.full_like(indices, bins), indices)
    # Truncation toward zero, as the official cast; indices are >= 0 here so it is a floor.
    return indices.to(torch.int64)


def interpolate_depth_embedding(depth: torch.Tensor, table: nn.Embedding, depth_max: float) -> torch.Tensor:
    """Depth PE ``[B, D, H, W]`` linearly interpolated in ``table`` (row i = integer depth i).

    ``depth [B, H, W]`` is clamped to ``[0, depth_max]``; gradient reaches ``depth`` through the
    interpolation weight.
    """
    depth = depth.clamp(min=0, max=depth_max)
    floor = depth.floor()
    weight = (depth - floor).unsqueeze(-1)
    lower = floor.long()
    upper = (lower + 1).clamp(max=table.num_embeddings - 1)
    embedding = table(lower) * (1 - weight) + table(upper) * weight
    return embedding.permute(0, 3, 1, 2)


def sequence_first(feature_map: torch.Tensor) -> torch.Tensor:
    """``[B, D, H, W]`` -> contiguous ``[H*W, B, D]`` tokens for ``nn.MultiheadAttention``.

    Contiguous so results depend on values only, not on layout-dependent matmul paths (see
    `discmot.models.detr.transformer.sequence_first`).
    """
    return feature_map.flatten(2).permute(2, 0, 1).contiguous()


def conv_group_norm(channels: int, groups: int, kernel_size: int = 1) -> list[nn.Module]:
    """``[Conv2d(channels, channels, k, padding k // 2), GroupNorm(groups, channels)]``."""
    conv = nn.Conv2d(channels, channels, kernel_size, padding=kernel_size // 2)
    return [conv, nn.GroupNorm(groups, channels)]


class DepthEncoder(nn.Module):
    """``layers`` of `PostNormEncoderLayer` over the image tokens (one in FDTA), padding masked as keys."""

    def __init__(self, d_model: int, num_heads: int, ffn_dim: int, dropout: float, num_layers: int = 1):
        super().__init__()
        self.layers = nn.ModuleList(
            PostNormEncoderLayer(d_model, num_heads, ffn_dim, dropout) for _ in range(num_layers)
        )

    def forward(self, src: torch.Tensor, padding_mask: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        """``src``, ``pos`` ``[S, B, D]``; ``padding_mask [B, S]`` (True = padding) -> ``[S, B, D]``."""
        for layer in self.layers:
            src = layer(src, pos, key_padding_mask=padding_mask)
        return src


class SpatialAdapter(nn.Module):
    """The depth predictor of FDTA's Spatial Adapter (``detr.depth_predictor``).

    Fuses the stride-8/16/32 projected levels at stride 8 (``proj`` for level 0, one shared ``upsample``
    for levels 1 and 2 after bilinear resizing), runs ``depth_head`` and ``depth_classifier`` to LID
    logits, and builds the depth memory for the decoder's depth cross-attention.
    """

    def __init__(self, config: SpatialAdapterConfig, hidden_dim: int, num_heads: int, group_norm_groups: int):
        super().__init__()
        self.config = config
        # Deterministic from the config, but a (frozen) Parameter so checkpoints carry it, as official.
        values = lid_bin_values(config.bins, config.depth_min, config.depth_max)
        self.depth_bin_values = nn.Parameter(values, requires_grad=False)
        self.proj = nn.Sequential(*conv_group_norm(hidden_dim, group_norm_groups))
        self.upsample = nn.Sequential(*conv_group_norm(hidden_dim, group_norm_groups))
        self.depth_head = nn.Sequential(
            *conv_group_norm(hidden_dim, group_norm_groups, kernel_size=3),
            nn.ReLU(),
            *conv_group_norm(hidden_dim, group_norm_groups, kernel_size=3),
            nn.ReLU(),
        )
        self.depth_classifier = nn.Conv2d(hidden_dim, config.bins + 1, kernel_size=1)
        self.depth_encoder = DepthEncoder(
            hidden_dim, num_heads, config.encoder_ffn_dim, config.encoder_dropout
        )
        self.depth_pos_embed = nn.Embedding(int(config.depth_max) + 1, hidden_dim)

    def fuse_levels(self, srcs: list[torch.Tensor]) -> torch.Tensor:
        """Levels 0-2 ``[B, D, H_l, W_l]`` -> the mean of their stride-8 projections ``[B, D, H_0, W_0]``."""
        size = srcs[0].shape[-2:]
        level8 = self.proj(srcs[0])
        level16 = self.upsample(F.interpolate(srcs[1], size=size, mode="bilinear", align_corners=False))
        level32 = self.upsample(F.interpolate(srcs[2], size=size, mode="bilinear", align_corners=False))
        return (level8 + level16 + level32) / 3

    def expected_depth(self, depth_logits: torch.Tensor) -> torch.Tensor:
        """``[B, N + 1, H, W]`` logits -> ``[B, H, W]`` probability-weighted bin values."""
        probabilities = depth_logits.softmax(dim=1)
        return (probabilities * self.depth_bin_values.reshape(1, -1, 1, 1)).sum(dim=1)

    def forward(
        self, srcs: list[torch.Tensor], mask8: torch.Tensor, pos8: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Depth logits, expected depth and depth memory from the DETR's projected levels.

        Args:
            srcs: the 4 projected levels ``[B, D, H_l, W_l]`` (strides 8, 16, 32, 64; the last is unused).
                They are detached here: the depth branch sends no gradient into the DETR.
            mask8: ``[B, H_0, W_0]`` bool stride-8 padding mask (True = padding).
            pos8: ``[B, D, H_0, W_0]`` stride-8 sine PE (no level embedding).

        Returns:
            ``depth_logits [B, N + 1, H_0, W_0]``, ``expected_depth [B, H_0, W_0]`` and
            ``depth_memory [H_0 * W_0, B, D]`` (sequence-first, for the decoder's depth cross-attention).
        """
        if len(srcs) != 4:
            raise ValueError(f"the Spatial Adapter expects 4 feature levels, got {len(srcs)}")
        features = self.depth_head(self.fuse_levels([src.detach() for src in srcs]))
        depth_logits = self.depth_classifier(features)
        expected_depth = self.expected_depth(depth_logits)
        batch, channels, height, width = features.shape
        # The encoder is trained only through the decoder; it does not reach back into the depth head.
        encoded = self.depth_encoder(
            sequence_first(features.detach()), mask8.flatten(1), sequence_first(pos8)
        )
        encoded = encoded.permute(1, 2, 0).reshape(batch, channels, height, width)
        depth_memory = encoded + interpolate_depth_embedding(
            expected_depth, self.depth_pos_embed, self.config.depth_max
        )
        return depth_logits, expected_depth, depth_memory.flatten(2).permute(2, 0, 1)
