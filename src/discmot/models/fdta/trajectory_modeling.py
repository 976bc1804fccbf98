"""MOTIP's FFN adapter on history tokens (spec ``fdta.md`` §2.6), official name ``trajectory_modeling``.

Two residual post-norm feed-forward blocks refine the (Temporal-Adapter-encoded) DETR embedding of every
history token before it is joined with its ID embedding; the current detections do not pass through it.
`FeedForward` (MOTIP's ``FFN``: ``linear1`` -> GELU -> ``linear2``, no residual inside) is also the FFN of
every ID-decoder layer.
"""

from __future__ import annotations

import torch
from torch import nn


class FeedForward(nn.Module):
    """MOTIP's ``FFN``: ``linear2(GELU(linear1(x)))``, ``[..., dim] -> [..., dim]`` via ``hidden_dim``."""

    def __init__(self, dim: int, hidden_dim: int):
        super().__init__()
        self.linear1 = nn.Linear(dim, hidden_dim)
        self.activation = nn.GELU()
        self.linear2 = nn.Linear(hidden_dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear2(self.activation(self.linear1(x)))


def xavier_init_matrices(module: nn.Module, skip: tuple[str, ...] = ()) -> None:
    """MOTIP's init: xavier-uniform for every parameter with ≥ 2 dims not named in ``skip``."""
    for name, parameter in module.named_parameters():
        if parameter.dim() > 1 and name not in skip:
            nn.init.xavier_uniform_(parameter)


class TrajectoryModeling(nn.Module):
    """MOTIP's FFN adapter: ``f <- LN(f + FFN(f))`` twice (``adapter``/``norm``, then ``ffn``/``ffn_norm``).

    Args:
        feature_dim: DETR embedding width (256).
        ffn_dim_ratio: hidden width of both FFNs over ``feature_dim`` (2: 256 -> 512 -> 256).
    """

    def __init__(self, feature_dim: int, ffn_dim_ratio: int):
        super().__init__()
        hidden_dim = feature_dim * ffn_dim_ratio
        self.adapter = FeedForward(feature_dim, hidden_dim)
        self.norm = nn.LayerNorm(feature_dim)
        self.ffn = FeedForward(feature_dim, hidden_dim)
        self.ffn_norm = nn.LayerNorm(feature_dim)
        xavier_init_matrices(self)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """History embeddings ``[..., F]`` -> refined embeddings ``[..., F]`` (every token independently)."""
        features = self.norm(features + self.adapter(features))
        return self.ffn_norm(features + self.ffn(features))
