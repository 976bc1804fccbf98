"""The post-norm transformer encoder layer of FDTA's two adapters (spec ``fdta.md`` §3.1.5, §3.2).

The Spatial Adapter's depth encoder (``depth_encoder.layers.i``) and the Temporal Adapter (``trca.i``) use
the same DETR-style layer: the position is added to queries and keys only, and each sub-block is followed
by its residual and LayerNorm. Its submodule names are the official checkpoints'.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class PostNormEncoderLayer(nn.Module):
    """``src = norm1(src + SelfAttn(q = k = src + pos, v = src))``; ``src = norm2(src + FFN(src))``.

    Sequence-first (``nn.MultiheadAttention`` without ``batch_first``); the FFN is ``linear2(dropout(
    relu(linear1(src))))``.
    """

    def __init__(self, d_model: int, num_heads: int, ffn_dim: int, dropout: float):
        super().__init__()
        # Registration order = the official state-dict order.
        self.self_attn = nn.MultiheadAttention(d_model, num_heads, dropout=dropout)
        self.linear1 = nn.Linear(d_model, ffn_dim)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(ffn_dim, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)

    def forward(
        self,
        src: torch.Tensor,
        pos: torch.Tensor,
        attn_mask: torch.Tensor | None = None,
        key_padding_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """One layer over ``src [S, B, D]`` -> ``[S, B, D]``.

        Args:
            src: sequence-first tokens.
            pos: position encoding broadcastable to ``src`` (``[S, B, D]`` or ``[S, 1, D]``).
            attn_mask: ``[B * heads, S, S]`` bool, True = blocked (the Temporal Adapter's dual mask).
            key_padding_mask: ``[B, S]`` bool, True = padding (the depth encoder's image padding).
        """
        q = k = src + pos
        attended = self.self_attn(
            q, k, src, attn_mask=attn_mask, key_padding_mask=key_padding_mask, need_weights=False
        )[0]
        src = self.norm1(src + self.dropout1(attended))
        hidden = self.linear2(self.dropout(F.relu(self.linear1(src))))
        return self.norm2(src + self.dropout2(hidden))
