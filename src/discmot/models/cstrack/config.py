"""Typed configuration of CSTrack (spec ``cstrack.md`` §0-4): presets and the YOLOv5 width/depth scaling.

Presets:

* ``cstrack``: the official model (``experiments/CSTrack.yaml``): YOLOv5-L v2.0 (depth 1.0, width 1.0),
  one class, 512-d embeddings; 78,863,078 parameters, the key/shape contract of
  ``spec/cstrack_state_dict_keys.tsv``. The released weights load into it.
* ``cstrack_s``: **our** light preset. The paper's CSTrack-S ("channels and layers reduced to 30 %") was
  never published (spec §1.5); we read it as YOLOv5-s multiples (depth 0.33, width 0.5) with the SAAN
  width halved (128) and the 512-d embedding kept. Unverified against the paper's numbers.
* ``tiny``: every code path with very small widths, for CPU tests and CPU training on the synthetic
  ``mot`` preset (320x192 frames, so the official anchors are scaled by 0.3).

This module imports no torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

Anchors = tuple[tuple[tuple[float, float], ...], ...]

#: Official pedestrian anchors in input pixels (w, h), three per level P3/P4/P5 (spec §0).
OFFICIAL_ANCHORS: Anchors = (
    ((8.0, 24.0), (11.0, 34.0), (16.0, 48.0)),
    ((32.0, 96.0), (45.0, 135.0), (64.0, 192.0)),
    ((128.0, 384.0), (180.0, 540.0), (256.0, 640.0)),
)

#: Channels of the YOLOv5-L backbone/neck before width scaling: P3, P4, P5 outputs (layers 17/20/23).
BASE_LEVEL_CHANNELS = (256, 512, 1024)


def scale_width(channels: int, width_multiple: float) -> int:
    """YOLOv5's width rule: ``ceil(channels * width_multiple / 8) * 8`` (multiples of 8)."""
    return math.ceil(channels * width_multiple / 8) * 8


def scale_depth(repeats: int, depth_multiple: float) -> int:
    """YOLOv5's depth rule: ``max(round(repeats * depth_multiple), 1)`` for repeated blocks."""
    return max(round(repeats * depth_multiple), 1) if repeats > 1 else repeats


def scale_anchors(anchors: Anchors, factor: float) -> Anchors:
    """Anchors multiplied by ``factor`` (for input sizes other than 1088x608)."""
    return tuple(tuple((w * factor, h * factor) for w, h in level) for level in anchors)


@dataclass(frozen=True)
class CSTrackConfig:
    """The CSTrack network (``name`` is the preset it came from).

    Attributes:
        depth_multiple: YOLOv5 depth multiple (repeats of the BottleneckCSP blocks).
        width_multiple: YOLOv5 width multiple (channels of every backbone/neck conv; REN follows the neck).
        num_classes: detection classes (1: pedestrians; the class logit is never trained, spec §1.4).
        embedding_dim: ID embedding channels (SAAN's last 1x1 conv).
        saan_channels: SAAN's per-level width (256 in the official model; spatial attention uses 1/4).
        anchors: (w, h) in input pixels, three per level, levels P3/P4/P5.
        strides: input pixels per cell of P3/P4/P5.
        ren_pool: (rows, cols) of REN's adaptive average pooling (6x10 officially).
        ren_lambda: initial value of REN's learnable lambdas.
        head_k: initial value of the Detect head's learnable ``k`` (10: the standard YOLOv5 decoding).
        input_size: (height, width) of the network input used by training and the tracker.
    """

    name: str = "cstrack"
    depth_multiple: float = 1.0
    width_multiple: float = 1.0
    num_classes: int = 1
    embedding_dim: int = 512
    saan_channels: int = 256
    anchors: Anchors = OFFICIAL_ANCHORS
    strides: tuple[int, int, int] = (8, 16, 32)
    ren_pool: tuple[int, int] = (6, 10)
    ren_lambda: float = 0.5
    head_k: float = 10.0
    input_size: tuple[int, int] = (608, 1088)

    @property
    def level_channels(self) -> tuple[int, int, int]:
        """Channels of the P3, P4, P5 neck outputs (= REN widths, Detect inputs, SAAN inputs)."""
        p3, p4, p5 = BASE_LEVEL_CHANNELS
        return (
            scale_width(p3, self.width_multiple),
            scale_width(p4, self.width_multiple),
            scale_width(p5, self.width_multiple),
        )

    @property
    def num_anchors(self) -> int:
        """Anchors per level (3)."""
        return len(self.anchors[0])

    @property
    def outputs_per_anchor(self) -> int:
        """Numbers per anchor: x, y, w, h, objectness and one score per class (6 for one class)."""
        return 5 + self.num_classes


PRESETS: dict[str, CSTrackConfig] = {
    "cstrack": CSTrackConfig(),
    "cstrack_s": CSTrackConfig(name="cstrack_s", depth_multiple=0.33, width_multiple=0.5, saan_channels=128),
    "tiny": CSTrackConfig(
        name="tiny",
        depth_multiple=0.33,
        width_multiple=0.125,
        embedding_dim=64,
        saan_channels=32,
        anchors=scale_anchors(OFFICIAL_ANCHORS, 0.3),
        input_size=(192, 320),
    ),
}


def preset(name: str, **overrides) -> CSTrackConfig:
    """A preset by name with fields replaced (``preset("tiny", embedding_dim=32)``)."""
    if name not in PRESETS:
        raise ValueError(f"unknown CSTrack preset {name!r}; choose from {', '.join(PRESETS)}")
    return replace(PRESETS[name], **overrides)


def config_from_dict(values: dict) -> CSTrackConfig:
    """Rebuilds a `CSTrackConfig` from ``dataclasses.asdict`` output (e.g. a checkpoint's metadata).

    JSON turns tuples into lists; they are turned back. Unknown keys are errors, so a config written by
    a newer discmot is not silently misread.
    """
    known = set(CSTrackConfig.__dataclass_fields__)
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"unknown CSTrack config keys: {', '.join(sorted(unknown))}")
    fields = dict(values)
    if "anchors" in fields:
        fields["anchors"] = tuple(tuple(tuple(map(float, a)) for a in level) for level in fields["anchors"])
    for key in ("strides", "ren_pool", "input_size"):
        if key in fields:
            fields[key] = tuple(fields[key])
    fields.setdefault("name", "custom")
    return CSTrackConfig(**fields)


def check_input_size(input_size: tuple[int, int]) -> None:
    """CSTrack's network input ``(h, w)`` must be positive multiples of its largest stride, 32."""
    if any(side % 32 or side < 32 for side in input_size):
        height, width = input_size
        raise ValueError(
            f"input size {height}x{width} (--input-size): CSTrack's must be multiples of 32 (h, w)"
        )
