"""The multi-scale deformable attention module of Deformable DETR (spec ``fdta.md`` §1.5).

Each query predicts, per head, level and point, a 2-d sampling offset around its reference point and an
attention weight (softmax over the ``levels * points`` samples of a head); the output is the weighted sum
of bilinear samples of the projected values (`discmot.ops.deform_attn.ms_deform_attn`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from discmot.ops.deform_attn import LevelShapes, ms_deform_attn


class MSDeformAttn(nn.Module):
    """Multi-scale deformable attention (``self_attn`` in the encoder, ``cross_attn`` in the decoder).

    Parameter names (``sampling_offsets``, ``attention_weights``, ``value_proj``, ``output_proj``) are
    the official checkpoint's.
    """

    def __init__(self, d_model: int = 256, n_levels: int = 4, n_heads: int = 8, n_points: int = 4):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model ({d_model}) must be divisible by n_heads ({n_heads})")
        self.d_model = d_model
        self.n_levels = n_levels
        self.n_heads = n_heads
        self.n_points = n_points
        self.sampling_offsets = nn.Linear(d_model, n_heads * n_levels * n_points * 2)
        self.attention_weights = nn.Linear(d_model, n_heads * n_levels * n_points)
        self.value_proj = nn.Linear(d_model, d_model)
        self.output_proj = nn.Linear(d_model, d_model)
        self.reset_parameters()

    def initial_offsets(self) -> torch.Tensor:
        """``[M, L, K, 2]`` initial offsets: head h looks along angle ``2 pi h / M`` at 1, 2, ..., K steps.

        The direction is scaled so its larger component is 1 (a pixel of the level), point k goes k + 1
        such steps; the same for every level.
        """
        angles = torch.arange(self.n_heads, dtype=torch.float32) * (2.0 * math.pi / self.n_heads)
        directions = torch.stack([angles.cos(), angles.sin()], -1)
        directions = directions / directions.abs().max(-1, keepdim=True)[0]
        steps = torch.arange(1, self.n_points + 1, dtype=torch.float32)
        offsets = directions[:, None, None, :] * steps[None, None, :, None]
        return offsets.expand(self.n_heads, self.n_levels, self.n_points, 2)

    def reset_parameters(self) -> None:
        """Official init: zero offset weights with a radial bias, uniform attention, xavier projections."""
        nn.init.constant_(self.sampling_offsets.weight, 0.0)
        with torch.no_grad():
            self.sampling_offsets.bias.copy_(self.initial_offsets().reshape(-1))
        nn.init.constant_(self.attention_weights.weight, 0.0)
        nn.init.constant_(self.attention_weights.bias, 0.0)
        for projection in (self.value_proj, self.output_proj):
            nn.init.xavier_uniform_(projection.weight)
            nn.init.constant_(projection.bias, 0.0)

    def sampling_locations(
        self, offsets: torch.Tensor, reference_points: torch.Tensor, spatial_shapes: torch.Tensor
    ) -> torch.Tensor:
        """Normalised sampling locations ``[B, Q, M, L, K, 2]`` from raw offsets ``[B, Q, M, L, K, 2]``.

        A 2-d reference ``[B, Q, L, 2]`` (a point) moves by offsets in pixels of each level; a 4-d
        reference ``[B, Q, L, 4]`` (a box ``cx, cy, w, h``) moves by offsets in units of
        ``box size / (2 K)``.
        """
        if reference_points.shape[-1] == 2:
            # offsets are (x, y) in pixels: divide by (W_l, H_l)
            normalizer = torch.stack([spatial_shapes[:, 1], spatial_shapes[:, 0]], -1)
            return (
                reference_points[:, :, None, :, None, :] + offsets / normalizer[None, None, None, :, None, :]
            )
        if reference_points.shape[-1] == 4:
            centres = reference_points[:, :, None, :, None, :2]
            sizes = reference_points[:, :, None, :, None, 2:]
            return centres + offsets / self.n_points * sizes * 0.5
        raise ValueError(f"reference points must have 2 or 4 coordinates, got {reference_points.shape[-1]}")

    def forward(
        self,
        query: torch.Tensor,
        reference_points: torch.Tensor,
        value: torch.Tensor,
        spatial_shapes: torch.Tensor,
        level_start_index: torch.Tensor,
        padding_mask: torch.Tensor | None = None,
        level_shapes: LevelShapes | None = None,
    ) -> torch.Tensor:
        """Attends from each query to ``L * K`` samples per head around its reference point.

        Args:
            query: ``[B, Q, D]`` (content plus position).
            reference_points: ``[B, Q, L, 2]`` normalised points or ``[B, Q, L, 4]`` normalised boxes,
                per sampled level (already scaled by the level's valid ratio).
            value: ``[B, S, D]`` flattened feature maps of all levels.
            spatial_shapes: ``[L, 2]`` ``(H_l, W_l)``; ``level_start_index``: ``[L]``.
            padding_mask: ``[B, S]`` bool, True where ``value`` is padding (those values are zeroed).
            level_shapes: ``spatial_shapes`` as Python ints when known (no device sync to read them back).

        Returns:
            ``[B, Q, D]``.
        """
        batch, queries, _ = query.shape
        tokens = value.shape[1]
        value = self.value_proj(value)
        if padding_mask is not None:
            value = value.masked_fill(padding_mask[..., None], 0.0)
        value = value.view(batch, tokens, self.n_heads, self.d_model // self.n_heads)
        offsets = self.sampling_offsets(query).view(
            batch, queries, self.n_heads, self.n_levels, self.n_points, 2
        )
        weights = self.attention_weights(query).view(
            batch, queries, self.n_heads, self.n_levels * self.n_points
        )
        weights = F.softmax(weights, -1).view(batch, queries, self.n_heads, self.n_levels, self.n_points)
        locations = self.sampling_locations(offsets, reference_points, spatial_shapes)
        output = ms_deform_attn(value, spatial_shapes, level_start_index, locations, weights, level_shapes)
        return self.output_proj(output)
