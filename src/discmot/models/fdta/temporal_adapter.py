"""FDTA's Temporal Adapter (spec ``fdta.md`` §3.2); official module name ``trajectory_embedding``.

The paper's "Temporal Adapter" is a small trajectory transformer: every history sequence (one per batch,
group and ID slot ``(b, g, n)``, ``T`` frames long) runs through a stack of post-norm Transformer encoder
layers (``trca.{i}``, `PostNormEncoderLayer`) whose self-attention sees, from each frame, only the frames
up to it and none of the missing ones except itself (the "dual mask", `dual_mask`). A 1-D sine encoding of
the frame position is added to queries and keys at every layer. Only history (trajectory) tokens pass
through it, before MOTIP's FFN adapter; the current detections enter the ID decoder raw.

Deviations from the official code, both invisible on its own inputs:

* the positional encoding is cast to the feature dtype; the official code adds an fp32 encoding to fp16
  features and crashes with a dtype error on the second frame of fp16 inference (spec §3.2, §5.3);
* any batch size works (sequences are the ``(b, g, n)`` triples); the official code requires ``B = 1``.

With ``TemporalAdapterConfig.enabled = False`` (ablation) the adapter has no layers and is the identity,
which gives MOTIP's state-dict layout (no ``trajectory_embedding.*`` keys).
"""

from __future__ import annotations

import torch
from torch import nn

from discmot.models.fdta.config import TemporalAdapterConfig
from discmot.models.fdta.encoder_layer import PostNormEncoderLayer


def sine_position_encoding(
    length: int, dim: int, device: torch.device | None = None, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """``[length, dim]`` sine encoding of the 1-based positions ``p = 1..length`` (not normalised).

    Channel ``2k`` is ``sin(p / 10000^(2k/dim))`` and ``2k+1`` is ``cos(p / 10000^(2k/dim))``, as DETR's
    ``PositionEmbeddingSine`` computes it (in fp32, then cast to ``dtype``).
    """
    if dim % 2:
        raise ValueError(f"the sine position encoding needs an even width, got {dim}")
    positions = torch.arange(1, length + 1, dtype=torch.float32, device=device)
    channels = torch.arange(dim, dtype=torch.float32, device=device)
    wavelengths = 10000 ** (2 * (channels // 2) / dim)
    angles = positions[:, None] / wavelengths
    encoding = torch.stack((angles[:, 0::2].sin(), angles[:, 1::2].cos()), dim=2).flatten(1)
    return encoding.to(dtype)


def dual_mask(masks: torch.Tensor, num_heads: int) -> torch.Tensor:
    """The Temporal Adapter's attention mask (True = blocked), batch-major and head-minor.

    Frame ``j`` may not attend to frame ``k`` if ``k > j`` (future) or if ``k`` is missing and ``k != j``;
    the diagonal stays free, so every row has an allowed key and a missing frame attends only to itself.

    Args:
        masks: ``[B, G, T, N]`` bool, True where the trajectory token is missing.
        num_heads: attention heads; each sequence's mask is repeated for every head.

    Returns:
        ``[(B*G*N) * num_heads, T, T]`` bool; sequence ``(b, g, n)`` has index ``(b*G + g)*N + n``.
    """
    length = masks.shape[2]
    missing = masks.permute(0, 1, 3, 2).reshape(-1, length)
    future = torch.ones(length, length, dtype=torch.bool, device=masks.device).triu(1)
    off_diagonal = ~torch.eye(length, dtype=torch.bool, device=masks.device)
    blocked = future | (missing[:, None, :] & off_diagonal)
    return blocked.repeat_interleave(num_heads, dim=0)


class TemporalAdapter(nn.Module):
    """FDTA's Temporal Adapter (``trajectory_embedding``): see the module docstring.

    Args:
        config: layers, heads, FFN width and dropout (``enabled=False``: identity, no parameters).
        feature_dim: width of the DETR embeddings it encodes (256).
    """

    def __init__(self, config: TemporalAdapterConfig, feature_dim: int):
        super().__init__()
        self.num_heads = config.num_heads
        num_layers = config.layers if config.enabled else 0
        self.trca = nn.ModuleList(
            PostNormEncoderLayer(feature_dim, config.num_heads, config.ffn_dim, config.dropout)
            for _ in range(num_layers)
        )

    def forward(self, features: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        """Encodes every trajectory's history.

        Args:
            features: ``[B, G, T, N, D]`` history embeddings, zeros where missing (official code: B = 1).
            masks: ``[B, G, T, N]`` bool, True where missing.

        Returns:
            ``[B, G, T, N, D]``; outputs at missing positions are computed but meaningless (the ID decoder
            ignores those keys).
        """
        if len(self.trca) == 0 or features.numel() == 0:
            return features
        batch, groups, length, slots, dim = features.shape
        sequences = features.permute(2, 0, 1, 3, 4).reshape(length, batch * groups * slots, dim)
        # Cast to the feature dtype: the official fp32 encoding breaks fp16 inference.
        position = sine_position_encoding(length, dim, features.device, features.dtype)[:, None, :]
        attn_mask = dual_mask(masks, self.num_heads)
        for layer in self.trca:
            sequences = layer(sequences, position, attn_mask=attn_mask)
        return sequences.reshape(length, batch, groups, slots, dim).permute(1, 2, 0, 3, 4)
