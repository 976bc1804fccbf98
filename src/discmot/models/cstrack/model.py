"""CSTrack: YOLOv5 + reciprocal networks + scale-aware attention (spec ``cstrack.md`` §1-4).

Module tree: one child ``model``, a list of 29 layers whose indices are the official ``model.<i>`` key
prefixes (layer table §1.2), so official checkpoints load by key:

* 0-23: YOLOv5-L v2.0 backbone and PAN neck (`discmot.models.backbones.yolov5`) -> P3, P4, P5;
* 24-26: one `ReciprocalNetwork` per level (paper: REN) -> detection and ReID features;
* 27: `ScaleAwareAttention` (paper: SAAN) on the ReID features -> the stride-8 ID-embedding map;
* 28: `DetectionHead` (code: ``Detect``) on the detection features -> raw YOLO predictions.

Each stage is an explicit method on plain tensors: `CSTrack.features`, `CSTrack.reciprocal`,
`CSTrack.embeddings`, `CSTrack.detect`, `CSTrack.decode`; `CSTrack.forward` returns the official
``[emb, det]`` structure (§4). A model knows nothing of files, devices or processes.
"""

from __future__ import annotations

from typing import NamedTuple, cast

import torch
from torch import nn

from discmot.models import parameter_count as parameter_count  # re-exported: callers import it here
from discmot.models.backbones.yolov5 import yolov5_features, yolov5_layers
from discmot.models.cstrack.config import CSTrackConfig, preset
from discmot.models.cstrack.head import DetectionHead
from discmot.models.cstrack.ren import ReciprocalNetwork
from discmot.models.cstrack.saan import ScaleAwareAttention

Levels = tuple[torch.Tensor, torch.Tensor, torch.Tensor]

REN_LAYERS = (24, 25, 26)
SAAN_LAYER = 27
HEAD_LAYER = 28


class CSTrackOutput(NamedTuple):
    """What the tracker needs from one batch of frames.

    ``detections [B, N, 5+nc]``: decoded boxes (cx, cy, w, h in input pixels, objectness, class prob.);
    ``embeddings [B, H/8, W/8, E]``: the ID-embedding map (not normalised);
    ``raw``: per-level logits ``[B, A, H_i, W_i, 5+nc]`` (what the loss takes).
    """

    detections: torch.Tensor
    embeddings: torch.Tensor
    raw: list[torch.Tensor]


class CSTrack(nn.Module):
    """The CSTrack network; see the module docstring for the layers and stages."""

    def __init__(self, config: CSTrackConfig):
        super().__init__()
        self.config = config
        channels = config.level_channels
        rens = [ReciprocalNetwork(c, config.ren_pool, config.ren_lambda) for c in channels]
        saan = ScaleAwareAttention(channels, config.saan_channels, config.embedding_dim)
        layers = yolov5_layers(config.depth_multiple, config.width_multiple)
        self.model = nn.ModuleList([*layers, *rens, saan, DetectionHead(config)])

    @property
    def head(self) -> DetectionHead:
        """Layer 28, the detection head (anchors, strides, ``k``)."""
        return cast(DetectionHead, self.model[HEAD_LAYER])  # nn.ModuleList indexing is typed as any Module

    def features(self, images: torch.Tensor) -> Levels:
        """Backbone + neck: ``images [B, 3, H, W]`` (RGB in [0, 1], H and W multiples of 32) -> P3, P4, P5
        ``[B, C_i, H/s_i, W/s_i]`` for strides 8, 16, 32."""
        return yolov5_features(self.model, images)

    def reciprocal(self, levels: Levels) -> tuple[Levels, Levels]:
        """RENs: P3, P4, P5 -> (detection features, ReID features), three tensors each, shaped as P3-P5."""
        pairs = [self.model[i](x) for i, x in zip(REN_LAYERS, levels, strict=True)]
        detection = tuple(p[0] for p in pairs)
        reid = tuple(p[1] for p in pairs)
        return detection, reid

    def embeddings(self, reid: Levels) -> torch.Tensor:
        """SAAN: ReID features -> ID-embedding map ``[B, H/8, W/8, embedding_dim]``."""
        return self.model[SAAN_LAYER](reid)

    def detect(self, detection: Levels) -> list[torch.Tensor]:
        """Detect head: detection features -> raw logits ``[B, A, H_i, W_i, 5+nc]`` per level."""
        return self.head(detection)

    def decode(self, raw: list[torch.Tensor]) -> torch.Tensor:
        """Raw logits -> decoded boxes ``[B, N, 5+nc]`` (see `DetectionHead.decode`)."""
        return self.head.decode(raw)

    def predict(self, images: torch.Tensor) -> CSTrackOutput:
        """All stages on ``images [B, 3, H, W]``: decoded detections, embedding map and raw logits."""
        detection, reid = self.reciprocal(self.features(images))
        raw = self.detect(detection)
        return CSTrackOutput(self.decode(raw), self.embeddings(reid), raw)

    def forward(self, images: torch.Tensor) -> list:
        """The official output structure (spec §4), ``[emb, det]`` with ``emb [B, H/8, W/8, E]`` and

        * training mode: ``det = [[p3, p4, p5], k]`` (raw logits, the head's ``k`` parameter);
        * eval mode: ``det = (decoded [B, N, 5+nc], [[p3, p4, p5], k])``.
        """
        detection, reid = self.reciprocal(self.features(images))
        emb = self.embeddings(reid)
        raw = self.detect(detection)
        if self.training:
            return [emb, [raw, self.head.k]]
        return [emb, (self.decode(raw), [raw, self.head.k])]


def build_cstrack(config: CSTrackConfig | str = "cstrack") -> CSTrack:
    """A CSTrack model from a config or a preset name (``cstrack``, ``cstrack_s``, ``tiny``)."""
    return CSTrack(preset(config) if isinstance(config, str) else config)
