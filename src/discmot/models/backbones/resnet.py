"""A torchvision-compatible bottleneck ResNet with frozen batch norm (spec ``fdta.md`` §1.2).

Module and parameter names follow torchvision's ``resnet50`` exactly (``conv1``, ``bn1``, ``layer1..4``,
``downsample.0``/``downsample.1``) so official DETR/FDTA checkpoints load by key. It is ResNet "v1.5": the
stride-2 of each stage sits on the 3x3 conv and the 1x1 downsample conv. There is no ``avgpool``/``fc``:
the model returns the outputs of ``layer2``, ``layer3`` and ``layer4`` (strides 8, 16, 32). Weights are
random at build time; nothing is ever downloaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:  # config only types the argument; no import cycle with discmot.models.fdta
    from discmot.models.fdta.config import ResNetConfig


# Stages whose parameters stay trainable (DETR's rule: conv1 and layer1 are frozen).
TRAINABLE_STAGES = ("layer2", "layer3", "layer4")


class FrozenBatchNorm2d(nn.Module):
    """Batch norm with fixed statistics and affine terms, all stored as buffers (never trained).

    ``y = x * s + (b - mean * s)`` with ``s = weight / sqrt(running_var + eps)``. Unlike ``nn.BatchNorm2d``
    it has no ``num_batches_tracked``; such a key in a loaded state dict is dropped.
    """

    # Buffers, registered in __init__ (declared here so type checkers see tensors, not Module attributes).
    weight: torch.Tensor
    bias: torch.Tensor
    running_mean: torch.Tensor
    running_var: torch.Tensor

    def __init__(self, num_features: int, eps: float = 1e-5):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.register_buffer("weight", torch.ones(num_features))
        self.register_buffer("bias", torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # torchvision / nn.BatchNorm2d checkpoints carry this counter; it means nothing here.
        state_dict.pop(prefix + "num_batches_tracked", None)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def scale_and_shift(self, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        """The per-channel affine map ``(s, b - mean * s)``, each ``[C]``, in ``dtype``.

        Half-precision inputs get the scale computed in fp32 first: ``var + 1e-5`` and its rsqrt lose
        most of their digits in fp16.
        """
        low_precision = dtype in (torch.float16, torch.bfloat16)
        compute_dtype = torch.float32 if low_precision else dtype
        weight, bias, mean, var = (
            t.to(compute_dtype) for t in (self.weight, self.bias, self.running_mean, self.running_var)
        )
        # rsqrt, in this order, is what DETR's FrozenBatchNorm2d computes: bit-identical in fp32.
        scale = weight * (var + self.eps).rsqrt()
        shift = bias - mean * scale
        return scale.to(dtype), shift.to(dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x [B, C, H, W]`` -> same shape and dtype."""
        scale, shift = self.scale_and_shift(x.dtype)
        return x * scale.reshape(1, -1, 1, 1) + shift.reshape(1, -1, 1, 1)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}"


def conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """3x3 conv, padding 1, no bias (a norm follows). Stride 2 maps n -> ceil(n/2)."""
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)


def conv1x1(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """1x1 conv, no bias. Stride 2 keeps pixels 0, 2, 4, ... : n -> ceil(n/2)."""
    return nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)


class Bottleneck(nn.Module):
    """torchvision's v1.5 bottleneck: 1x1 reduce, 3x3 (carries the stride), 1x1 expand, plus a shortcut.

    ``downsample`` (``Sequential(conv1x1, FrozenBatchNorm2d)``) projects the shortcut when the stride or
    the channel count changes; otherwise the shortcut is the identity.
    """

    def __init__(self, in_channels: int, width: int, expansion: int, stride: int = 1):
        super().__init__()
        out_channels = width * expansion
        self.conv1 = conv1x1(in_channels, width)
        self.bn1 = FrozenBatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride)
        self.bn2 = FrozenBatchNorm2d(width)
        self.conv3 = conv1x1(width, out_channels)
        self.bn3 = FrozenBatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                conv1x1(in_channels, out_channels, stride), FrozenBatchNorm2d(out_channels)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x [B, C_in, H, W]`` -> ``[B, width * expansion, ceil(H / stride), ceil(W / stride)]``."""
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + shortcut)


def make_stage(in_channels: int, width: int, expansion: int, blocks: int, stride: int) -> nn.Sequential:
    """One ResNet stage (``layerN``): ``blocks`` bottlenecks, the first one strided and projecting."""
    layers = [Bottleneck(in_channels, width, expansion, stride)]
    layers += [Bottleneck(width * expansion, width, expansion) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


class ResNet(nn.Module):
    """Bottleneck ResNet feature extractor (ResNet-50 with the default config), torchvision key names.

    Stem: 7x7/2 conv, frozen BN, ReLU, 3x3/2 max-pool. Stage ``i`` (1..4) has ``config.blocks[i-1]``
    bottlenecks of width ``config.width * 2**(i-1)``; stages 2-4 start with stride 2. Only parameters of
    ``layer2..4`` are trainable (the stem and ``layer1`` stay frozen, as in DETR); batch norms are buffers.
    """

    # Stages, added by name in __init__ (declared here so type checkers see modules they can call).
    layer1: nn.Sequential
    layer2: nn.Sequential
    layer3: nn.Sequential
    layer4: nn.Sequential

    def __init__(self, config: ResNetConfig):
        super().__init__()
        self.config = config
        width = config.width
        self.conv1 = nn.Conv2d(3, width, 7, stride=2, padding=3, bias=False)
        self.bn1 = FrozenBatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        in_channels = width
        for index, blocks in enumerate(config.blocks):
            stage_width = width * 2**index
            stride = 1 if index == 0 else 2
            stage = make_stage(in_channels, stage_width, config.expansion, blocks, stride)
            self.add_module(f"layer{index + 1}", stage)
            in_channels = stage_width * config.expansion
        self.reset_parameters()
        freeze_stem_and_layer1(self)

    @property
    def num_channels(self) -> tuple[int, int, int]:
        """Channels of the three returned levels (512, 1024, 2048 for ResNet-50)."""
        return self.config.out_channels

    @property
    def strides(self) -> tuple[int, int, int]:
        """Strides of the three returned levels with respect to the input image."""
        return (8, 16, 32)

    def reset_parameters(self) -> None:
        """torchvision's init: He-normal (fan_out) convs; frozen norms start as the identity."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        """``images [B, 3, H, W]`` -> ``[layer2, layer3, layer4]`` outputs.

        Shapes ``[B, C_l, ceil(H / s_l), ceil(W / s_l)]`` with ``C_l = num_channels[l]``, ``s_l = 8, 16, 32``.
        """
        x = self.maxpool(self.relu(self.bn1(self.conv1(images))))
        x = self.layer1(x)
        features = []
        for stage in (self.layer2, self.layer3, self.layer4):
            x = stage(x)
            features.append(x)
        return features


def freeze_stem_and_layer1(resnet: nn.Module) -> None:
    """Keeps ``requires_grad`` only on parameters whose name contains ``layer2``, ``layer3`` or ``layer4``."""
    for name, parameter in resnet.named_parameters():
        if not any(stage in name for stage in TRAINABLE_STAGES):
            parameter.requires_grad_(False)
