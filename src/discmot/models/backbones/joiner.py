"""The DETR backbone: ResNet features, per-level padding masks and sine position encodings (spec §1.2-1.3).

``BackboneWithPosition`` is an ``nn.Sequential`` of ``[BackboneBody, PositionEmbeddingSine]`` so its
state-dict keys are ``0.body.<torchvision names>`` (``detr.backbone.0.body.*`` in FDTA checkpoints);
the position encoding has no parameters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import torch
import torch.nn.functional as F
from torch import nn

from discmot.models.backbones.resnet import ResNet
from discmot.models.detr.position import PositionEmbeddingSine

if TYPE_CHECKING:  # config only types the argument; no import cycle with discmot.models.fdta
    from discmot.models.fdta.config import ResNetConfig


def level_mask(mask: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Nearest-neighbour resize of a padding mask: ``mask [B, H, W]`` bool -> ``[B, *size]`` bool.

    Same call as DETR (``F.interpolate`` on the float mask, default ``nearest``), so level masks agree
    pixel for pixel with the official code, including where padding does not divide the stride.
    """
    return F.interpolate(mask[None].float(), size=tuple(size)).to(torch.bool)[0]


class BackboneBody(nn.Module):
    """Holds the ResNet as ``body`` (the attribute name is part of the checkpoint keys)."""

    def __init__(self, config: ResNetConfig):
        super().__init__()
        self.body = ResNet(config)

    @property
    def num_channels(self) -> tuple[int, int, int]:
        return self.body.num_channels

    @property
    def strides(self) -> tuple[int, int, int]:
        return self.body.strides

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        """``images [B, 3, H, W]`` -> three maps ``[B, C_l, ceil(H / s_l), ceil(W / s_l)]``, s = 8, 16, 32."""
        return self.body(images)


class BackboneWithPosition(nn.Sequential):
    """``[BackboneBody, PositionEmbeddingSine]``: features, their padding masks and position encodings."""

    def __init__(self, body: BackboneBody, position_embedding: PositionEmbeddingSine):
        super().__init__(body, position_embedding)

    @property
    def num_channels(self) -> tuple[int, int, int]:
        """Channels of the three levels (512, 1024, 2048 for ResNet-50)."""
        return cast(BackboneBody, self[0]).num_channels  # nn.Sequential indexing is typed as any Module

    @property
    def strides(self) -> tuple[int, int, int]:
        return cast(BackboneBody, self[0]).strides

    def position_encoding(self, mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """``mask [B, H_l, W_l]`` -> ``[B, hidden_dim, H_l, W_l]``; DETR reuses it for its extra level."""
        return self[1](mask, dtype)

    def forward(
        self, images: torch.Tensor, mask: torch.Tensor | None = None
    ) -> tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor]]:
        """Runs the ResNet and derives each level's mask and position encoding.

        Args:
            images: ``[B, 3, H, W]`` normalized frames.
            mask: ``[B, H, W]`` bool, True on padded pixels; ``None`` means no padding.

        Returns:
            ``(features, masks, positions)``, three lists of three tensors (levels stride 8, 16, 32):
            ``[B, C_l, H_l, W_l]``, ``[B, H_l, W_l]`` bool and ``[B, hidden_dim, H_l, W_l]`` in the features'
            dtype.
        """
        if mask is None:
            mask = torch.zeros(images.shape[0], *images.shape[-2:], dtype=torch.bool, device=images.device)
        features = self[0](images)
        masks = [level_mask(mask, feature.shape[-2:]) for feature in features]
        positions = [self.position_encoding(m, f.dtype) for m, f in zip(masks, features, strict=True)]
        return features, masks, positions


def build_backbone(resnet: ResNetConfig, hidden_dim: int) -> BackboneWithPosition:
    """The DETR backbone for ``resnet``, with ``hidden_dim``-channel sine encodings (half per axis)."""
    if hidden_dim % 4:
        raise ValueError(f"hidden_dim must be a multiple of 4 (sin/cos pairs per axis), got {hidden_dim}")
    return BackboneWithPosition(BackboneBody(resnet), PositionEmbeddingSine(hidden_dim // 2))
