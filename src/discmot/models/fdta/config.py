"""Typed configuration of FDTA (spec ``fdta.md`` §6): one dataclass per part, presets per dataset.

Builders take the sub-config of their part (``build_backbone(config.backbone)``...). The presets
``dancetrack``, ``sportsmot`` and ``bft`` reproduce the official configs (the dancetrack model has
65,700,686 parameters, the key/shape contract of ``spec/fdta_state_dict_keys.tsv``); ``tiny`` keeps every
code path with small dimensions for tests. This module imports no torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

#: ImageNet statistics the network input is normalised with (RGB, [0, 1] scale).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _require_positive(config, *names: str) -> None:
    """A config's sizes and counts must be at least 1 (a 0 would fail deep inside a layer, or build a
    network that cannot work)."""
    small = [f"{name}={getattr(config, name)}" for name in names if getattr(config, name) < 1]
    if small:
        raise ValueError(f"{type(config).__name__}: {', '.join(small)}: must be at least 1")


def _require_divisible(config, name: str, by: str) -> None:
    value, divisor = getattr(config, name), getattr(config, by)
    if value % divisor:
        raise ValueError(f"{type(config).__name__}: {name} ({value}) must be a multiple of {by} ({divisor})")


@dataclass(frozen=True)
class ResNetConfig:
    """A torchvision-layout bottleneck ResNet (ResNet-50: blocks 3/4/6/3, width 64, expansion 4)."""

    blocks: tuple[int, int, int, int] = (3, 4, 6, 3)
    width: int = 64  # channels of layer1's 3x3 convs; doubled per stage
    expansion: int = 4

    def __post_init__(self) -> None:
        _require_positive(self, "width", "expansion")
        if len(self.blocks) != 4 or min(self.blocks) < 1:
            raise ValueError(f"ResNetConfig.blocks must be 4 counts of at least 1, got {self.blocks}")

    @property
    def out_channels(self) -> tuple[int, int, int]:
        """Channels of layer2, layer3, layer4 outputs (the three levels DETR uses)."""
        base = self.width * self.expansion
        return (base * 2, base * 4, base * 8)


@dataclass(frozen=True)
class DETRConfig:
    """Deformable DETR (spec §1): 4 levels, box refinement, one class."""

    hidden_dim: int = 256
    num_queries: int = 300
    num_feature_levels: int = 4
    num_heads: int = 8
    enc_layers: int = 6
    dec_layers: int = 6
    ffn_dim: int = 1024
    enc_points: int = 4
    dec_points: int = 4
    dropout: float = 0.0
    num_classes: int = 1
    group_norm_groups: int = 32

    def __post_init__(self) -> None:
        sizes = ("hidden_dim", "num_queries", "num_feature_levels", "num_heads", "enc_layers", "dec_layers")
        _require_positive(
            self, *sizes, "ffn_dim", "enc_points", "dec_points", "num_classes", "group_norm_groups"
        )
        _require_divisible(self, "hidden_dim", "num_heads")
        _require_divisible(self, "hidden_dim", "group_norm_groups")  # the input projections' GroupNorm


@dataclass(frozen=True)
class SpatialAdapterConfig:
    """FDTA's Spatial Adapter (spec §3.1): LID depth bins, depth branch (``enabled=False``: ablation)."""

    enabled: bool = True
    bins: int = 150
    depth_min: float = 1e-3
    depth_max: float = 256.0
    encoder_ffn_dim: int = 256
    encoder_dropout: float = 0.1

    def __post_init__(self) -> None:
        _require_positive(self, "bins", "encoder_ffn_dim")
        if not 0 < self.depth_min < self.depth_max:
            raise ValueError(
                "SpatialAdapterConfig needs 0 < depth_min < depth_max, "
                f"got {self.depth_min} and {self.depth_max}"
            )


@dataclass(frozen=True)
class TemporalAdapterConfig:
    """FDTA's Temporal Adapter (spec §3.2): post-norm encoder over each trajectory's history."""

    enabled: bool = True
    layers: int = 6
    num_heads: int = 8
    ffn_dim: int = 512
    dropout: float = 0.1

    def __post_init__(self) -> None:
        _require_positive(self, "layers", "num_heads", "ffn_dim")


@dataclass(frozen=True)
class IDDecoderConfig:
    """MOTIP's ID part (spec §2.1, §2.6-2.7): 50 labels + newborn, 512-d tokens, relative temporal bias."""

    num_id_vocabulary: int = 50
    feature_dim: int = 256
    id_dim: int = 256
    head_dim: int = 32
    layers: int = 6
    ffn_dim_ratio: int = 2
    rel_pe_length: int = 30

    def __post_init__(self) -> None:
        sizes = ("num_id_vocabulary", "feature_dim", "id_dim", "head_dim", "layers", "ffn_dim_ratio")
        _require_positive(self, *sizes, "rel_pe_length")
        if self.token_dim % self.head_dim:
            raise ValueError(
                f"IDDecoderConfig: feature_dim + id_dim ({self.token_dim}) must be a multiple of head_dim "
                f"({self.head_dim})"
            )

    @property
    def token_dim(self) -> int:
        return self.feature_dim + self.id_dim

    @property
    def num_heads(self) -> int:
        return self.token_dim // self.head_dim


#: How the runtime tracker turns ID probabilities into labels (the original's ``ASSIGNMENT_PROTOCOL``):
#: ``object-max`` (every official config), ``hungarian`` and ``id-max`` (in its code, used by no config).
ASSIGNMENT_PROTOCOLS = ("object-max", "hungarian", "id-max")


@dataclass(frozen=True)
class RuntimeConfig:
    """The runtime tracker (spec §5): input resizing, thresholds and the ID assignment protocol."""

    shorter_side: int = 800
    max_longer_side: int = 1440
    det_thresh: float = 0.3
    newborn_thresh: float = 0.6
    id_thresh: float = 0.2
    area_thresh: float = 0.0
    miss_tolerance: int = 30
    assignment_protocol: str = "object-max"

    def __post_init__(self) -> None:
        if self.miss_tolerance < 2:
            raise ValueError(f"RuntimeConfig: miss_tolerance {self.miss_tolerance}: must be at least 2")
        for name in ("det_thresh", "newborn_thresh", "id_thresh"):  # scores are sigmoid/softmax outputs
            if not 0.0 <= getattr(self, name) <= 1.0:  # also refuses nan
                raise ValueError(f"RuntimeConfig: {name} {getattr(self, name)}: a probability, 0 to 1")
        if not self.area_thresh >= 0.0:
            raise ValueError(f"RuntimeConfig: area_thresh {self.area_thresh}: must be at least 0")
        _require_positive(self, "shorter_side", "max_longer_side")
        if self.assignment_protocol not in ASSIGNMENT_PROTOCOLS:
            raise ValueError(
                f"RuntimeConfig: assignment_protocol {self.assignment_protocol!r}; choose from "
                f"{', '.join(ASSIGNMENT_PROTOCOLS)}"
            )


@dataclass(frozen=True)
class FDTAConfig:
    """The whole model (``name`` is the preset it came from)."""

    name: str = "dancetrack"
    backbone: ResNetConfig = field(default_factory=ResNetConfig)
    detr: DETRConfig = field(default_factory=DETRConfig)
    spatial: SpatialAdapterConfig = field(default_factory=SpatialAdapterConfig)
    temporal: TemporalAdapterConfig = field(default_factory=TemporalAdapterConfig)
    id_decoder: IDDecoderConfig = field(default_factory=IDDecoderConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)


def _dataset(name: str, window: int, bins: int = 150) -> FDTAConfig:
    return FDTAConfig(
        name=name,
        spatial=SpatialAdapterConfig(bins=bins),
        id_decoder=IDDecoderConfig(rel_pe_length=window),
        runtime=RuntimeConfig(miss_tolerance=window),
    )


PRESETS: dict[str, FDTAConfig] = {
    "dancetrack": _dataset("dancetrack", 30),
    "sportsmot": _dataset("sportsmot", 60),
    "bft": _dataset("bft", 20, bins=120),
    "tiny": FDTAConfig(
        name="tiny",
        backbone=ResNetConfig(blocks=(1, 1, 1, 1), width=8),
        detr=DETRConfig(
            hidden_dim=32,
            num_queries=20,
            num_heads=4,
            enc_layers=2,
            dec_layers=2,
            ffn_dim=64,
            group_norm_groups=8,
        ),
        spatial=SpatialAdapterConfig(bins=16, encoder_ffn_dim=32),
        temporal=TemporalAdapterConfig(layers=2, num_heads=4, ffn_dim=64),
        id_decoder=IDDecoderConfig(
            num_id_vocabulary=10, feature_dim=32, id_dim=32, head_dim=16, layers=2, rel_pe_length=8
        ),
        runtime=RuntimeConfig(shorter_side=96, max_longer_side=160, miss_tolerance=8),
    ),
}


def preset(name: str, **overrides) -> FDTAConfig:
    """A preset by name with top-level fields replaced (``spatial=SpatialAdapterConfig(enabled=False)``)."""
    if name not in PRESETS:
        raise ValueError(f"unknown FDTA preset {name!r}; choose from {', '.join(PRESETS)}")
    return replace(PRESETS[name], **overrides)


def with_adapters(config: FDTAConfig, spatial: bool, temporal: bool) -> FDTAConfig:
    """``config`` with the Spatial and Temporal Adapters switched on or off (both off: MOTIP's network)."""
    return replace(
        config,
        spatial=replace(config.spatial, enabled=spatial),
        temporal=replace(config.temporal, enabled=temporal),
    )


def config_from_dict(values: dict) -> FDTAConfig:
    """Rebuilds an `FDTAConfig` from ``dataclasses.asdict`` output (e.g. a checkpoint's metadata).

    Unknown keys are errors, so a config written by a newer discmot is not silently misread.
    """
    parts = {
        "backbone": ResNetConfig,
        "detr": DETRConfig,
        "spatial": SpatialAdapterConfig,
        "temporal": TemporalAdapterConfig,
        "id_decoder": IDDecoderConfig,
        "runtime": RuntimeConfig,
    }
    unknown = set(values) - {"name", *parts}
    if unknown:
        raise ValueError(f"unknown FDTA config keys: {', '.join(sorted(unknown))}")
    built = {}
    for key, cls in parts.items():
        if key in values:
            fields = dict(values[key])
            if key == "backbone" and "blocks" in fields:
                fields["blocks"] = tuple(fields["blocks"])
            built[key] = cls(**fields)
    return FDTAConfig(name=values.get("name", "custom"), **built)
