"""Deformable DETR with FDTA's Spatial Adapter: the detector half of FDTA (spec ``fdta.md`` §1, §3.1).

ResNet levels (strides 8/16/32) plus one extra stride-64 level are projected to ``hidden_dim`` channels,
encoded by the deformable encoder and decoded by ``num_queries`` queries with iterative box refinement.
With the Spatial Adapter (``config.spatial.enabled``) the ``depth_predictor`` turns the detached projected
levels into depth logits and a depth memory that every decoder layer cross-attends to. The last decoder
layer's output (``outputs``) is the object embedding used by the tracking parts.

Attribute names are the official checkpoint's prefixes (``backbone``, ``input_proj``, ``query_embed``,
``transformer``, ``class_embed``, ``bbox_embed``, ``depth_predictor``).
"""

from __future__ import annotations

import copy
import math
from typing import cast

import torch
from torch import nn

from discmot.models.backbones.joiner import build_backbone, level_mask
from discmot.models.detr.transformer import DeformableTransformer, refine_boxes
from discmot.models.fdta.config import FDTAConfig
from discmot.models.fdta.spatial_adapter import SpatialAdapter

# Initial detection probability of every query (focal-loss prior), giving the class bias.
CLASS_PRIOR_PROBABILITY = 0.01


class MLP(nn.Module):
    """``layers`` of Linear with ReLU between them (DETR's box head: 256 -> 256 -> 256 -> 4)."""

    def __init__(self, input_dim: int, hidden_dim: int, output_dim: int, num_layers: int):
        super().__init__()
        dims = [input_dim] + [hidden_dim] * (num_layers - 1)
        outputs = [hidden_dim] * (num_layers - 1) + [output_dim]
        self.layers = nn.ModuleList(nn.Linear(n, k) for n, k in zip(dims, outputs, strict=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for index, layer in enumerate(self.layers):
            x = layer(x)
            if index < len(self.layers) - 1:
                x = x.relu()
        return x


def build_input_projections(
    backbone_channels: tuple[int, ...], num_levels: int, hidden_dim: int, groups: int
) -> nn.ModuleList:
    """``[Conv, GroupNorm]`` per level: 1x1 on each backbone level, then 3x3 stride-2 convs for the rest.

    The first extra level reads the raw last backbone level (2048 channels for ResNet-50), later ones the
    previous extra level. Convs are xavier-uniform with zero bias.
    """
    projections = []
    for channels in backbone_channels[:num_levels]:
        projections.append(nn.Conv2d(channels, hidden_dim, kernel_size=1))
    in_channels = backbone_channels[-1]
    for _ in range(num_levels - len(backbone_channels)):
        projections.append(nn.Conv2d(in_channels, hidden_dim, kernel_size=3, stride=2, padding=1))
        in_channels = hidden_dim
    for conv in projections:
        nn.init.xavier_uniform_(conv.weight, gain=1)
        nn.init.constant_(cast(torch.Tensor, conv.bias), 0)  # nn.Conv2d's default: with a bias
    return nn.ModuleList(nn.Sequential(conv, nn.GroupNorm(groups, hidden_dim)) for conv in projections)


class DeformableDETR(nn.Module):
    """Deformable DETR (ResNet, 4 levels, box refinement, single-stage) with the Spatial Adapter."""

    def __init__(self, config: FDTAConfig):
        super().__init__()
        detr = config.detr
        hidden = detr.hidden_dim
        self.config = config
        # Registration order = the official state-dict order.
        self.depth_predictor = None
        if config.spatial.enabled:
            self.depth_predictor = SpatialAdapter(
                config.spatial, hidden, detr.num_heads, detr.group_norm_groups
            )
        self.transformer = DeformableTransformer(detr, depth_cross_attention=config.spatial.enabled)
        self.class_embed = self.cloned(self.initial_class_head(hidden, detr.num_classes), detr.dec_layers)
        self.bbox_embed = self.cloned(self.initial_box_head(hidden), detr.dec_layers)
        # The first layer refines a point, not a box: start its boxes small (sigmoid(-2) = 0.12).
        # (ModuleList indexing is typed as any Module: the heads are MLPs, their layers nn.Linear)
        first_box_head = cast(MLP, self.bbox_embed[0])
        nn.init.constant_(cast(nn.Linear, first_box_head.layers[-1]).bias[2:], -2.0)
        self.query_embed = nn.Embedding(detr.num_queries, 2 * hidden)
        self.input_proj = build_input_projections(
            config.backbone.out_channels, detr.num_feature_levels, hidden, detr.group_norm_groups
        )
        self.backbone = build_backbone(config.backbone, hidden)
        self.transformer.decoder.bbox_embed = self.bbox_embed

    @staticmethod
    def initial_class_head(hidden_dim: int, num_classes: int) -> nn.Linear:
        """Linear head whose bias makes every initial class probability `CLASS_PRIOR_PROBABILITY`."""
        head = nn.Linear(hidden_dim, num_classes)
        bias = -math.log((1 - CLASS_PRIOR_PROBABILITY) / CLASS_PRIOR_PROBABILITY)
        nn.init.constant_(head.bias, bias)
        return head

    @staticmethod
    def initial_box_head(hidden_dim: int) -> MLP:
        """3-layer box MLP whose last layer is zero (initial boxes = the reference boxes)."""
        head = MLP(hidden_dim, hidden_dim, 4, 3)
        last = cast(nn.Linear, head.layers[-1])  # ModuleList indexing is typed as any Module
        nn.init.constant_(last.weight, 0)
        nn.init.constant_(last.bias, 0)
        return head

    @staticmethod
    def cloned(module: nn.Module, count: int) -> nn.ModuleList:
        """``count`` deep copies (independent parameters starting from the same values, as official)."""
        return nn.ModuleList(copy.deepcopy(module) for _ in range(count))

    def project_levels(
        self,
        features: list[torch.Tensor],
        masks: list[torch.Tensor],
        positions: list[torch.Tensor],
        image_mask: torch.Tensor,
    ) -> tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor]]:
        """Backbone levels -> ``num_feature_levels`` projected levels with their masks and sine PEs.

        Returns ``(srcs [B, D, H_l, W_l], masks [B, H_l, W_l], positions [B, D, H_l, W_l])``; the extra
        levels' masks are the image mask resized (nearest) to their size.
        """
        srcs = [project(feature) for project, feature in zip(self.input_proj, features, strict=False)]
        masks, positions = list(masks), list(positions)
        for level in range(len(features), len(self.input_proj)):
            source = features[-1] if level == len(features) else srcs[-1]
            srcs.append(self.input_proj[level](source))
            masks.append(level_mask(image_mask, srcs[-1].shape[-2:]))
            positions.append(self.backbone.position_encoding(masks[-1], srcs[-1].dtype))
        return srcs, masks, positions

    def heads(
        self, hs: torch.Tensor, init_reference: torch.Tensor, references: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-layer class logits ``[N_layers, B, Q, C]`` and boxes ``[N_layers, B, Q, 4]``.

        Layer l's boxes refine the reference it sampled around: ``init_reference`` for layer 0, the
        refined (detached) boxes of layer l - 1 after that.
        """
        logits, boxes = [], []
        for layer, hidden in enumerate(hs):
            reference = init_reference if layer == 0 else references[layer - 1]
            logits.append(self.class_embed[layer](hidden))
            boxes.append(refine_boxes(self.bbox_embed[layer](hidden), reference))
        return torch.stack(logits), torch.stack(boxes)

    def detect(self, images: torch.Tensor, mask: torch.Tensor | None = None) -> dict:
        """Detections and object embeddings of a batch of frames.

        Args:
            images: ``[B, 3, H, W]`` ImageNet-normalised RGB (zero in the padding).
            mask: ``[B, H, W]`` bool, True on padded pixels; ``None`` = no padding.

        Returns:
            dict with ``pred_logits [B, Q, C]``, ``pred_boxes [B, Q, 4]`` (normalised cx, cy, w, h; last
            layer), ``aux_outputs`` (one ``{"pred_logits", "pred_boxes"}`` per earlier decoder layer),
            ``outputs [B, Q, D]`` (last decoder layer = object embeddings), ``pred_depth_map_logits
            [B, N_bins + 1, H/8, W/8]`` and ``weighted_depth [B, H/8, W/8]`` (both ``None`` without the
            Spatial Adapter).
        """
        if mask is None:
            mask = torch.zeros(images.shape[0], *images.shape[-2:], dtype=torch.bool, device=images.device)
        features, masks, positions = self.backbone(images, mask)
        srcs, masks, positions = self.project_levels(features, masks, positions, mask)
        depth_logits = expected_depth = depth_memory = None
        if self.depth_predictor is not None:
            depth_logits, expected_depth, depth_memory = self.depth_predictor(srcs, masks[0], positions[0])
        hs, init_reference, references = self.transformer(
            srcs, masks, positions, self.query_embed.weight, depth_memory
        )
        logits, boxes = self.heads(hs, init_reference, references)
        return {
            "pred_logits": logits[-1],
            "pred_boxes": boxes[-1],
            "aux_outputs": [
                {"pred_logits": c, "pred_boxes": b} for c, b in zip(logits[:-1], boxes[:-1], strict=True)
            ],
            "outputs": hs[-1],
            "pred_depth_map_logits": depth_logits,
            "weighted_depth": expected_depth,
        }

    forward = detect
