"""YOLOv5 v2.0 building blocks and the YOLOv5-L backbone + PAN neck of CSTrack (spec ``cstrack.md`` §1.1-1.2).

The v2.0 generation (2020) differs from today's YOLOv5: ``BottleneckCSP`` (four convs and a batch norm
over the concatenation) instead of C3, LeakyReLU(0.1) instead of SiLU, ``Focus`` instead of a 6x6 stem.
Attribute names (``conv``/``bn``, ``cv1``..``cv4``, ``m``) are those of the original modules, so the
official state-dict keys come out unchanged. Every batch norm uses eps 1e-3 and momentum 0.03: those
values are not stored in checkpoints, so they live here.

`yolov5_layers` builds layers 0-23 of the layer table (index = official ``model.<i>`` key prefix) and
`yolov5_features` runs them, returning the P3/P4/P5 neck outputs.
"""

from __future__ import annotations

import torch
from torch import nn

from discmot.models.cstrack.config import scale_depth, scale_width

BN_EPS = 1e-3
BN_MOMENTUM = 0.03
LEAKY_SLOPE = 0.1


def batch_norm(channels: int) -> nn.BatchNorm2d:
    """BatchNorm2d with YOLOv5's eps and momentum."""
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


class Conv(nn.Module):
    """Conv2d (no bias, 'same' padding) -> BatchNorm2d -> LeakyReLU(0.1).

    ``[B, c1, H, W] -> [B, c2, H/stride, W/stride]``.
    """

    def __init__(self, c1: int, c2: int, kernel: int = 1, stride: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, kernel, stride, kernel // 2, bias=False)
        self.bn = batch_norm(c2)
        self.act = nn.LeakyReLU(LEAKY_SLOPE, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class Focus(nn.Module):
    """Space-to-depth then a Conv: ``[B, c1, H, W] -> [B, c2, H/2, W/2]``.

    The four sub-images are stacked in the order (even row, even col), (odd row, even col),
    (even row, odd col), (odd row, odd col); the first conv's weights depend on that order.
    """

    def __init__(self, c1: int, c2: int, kernel: int = 3):
        super().__init__()
        self.conv = Conv(4 * c1, c2, kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = (x[..., ::2, ::2], x[..., 1::2, ::2], x[..., ::2, 1::2], x[..., 1::2, 1::2])
        return self.conv(torch.cat(parts, 1))


class Bottleneck(nn.Module):
    """1x1 Conv then 3x3 Conv, plus the input when ``shortcut`` and the widths agree."""

    def __init__(self, c1: int, c2: int, shortcut: bool = True, expansion: float = 0.5):
        super().__init__()
        hidden = int(c2 * expansion)
        self.cv1 = Conv(c1, hidden, 1)
        self.cv2 = Conv(hidden, c2, 3)
        self.add = shortcut and c1 == c2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class BottleneckCSP(nn.Module):
    """Cross-stage-partial block (v2.0): ``[B, c1, H, W] -> [B, c2, H, W]``.

    Path A: Conv 1x1 -> ``n`` Bottlenecks (expansion 1.0) -> plain 1x1 conv ``cv3``; path B: plain 1x1
    conv ``cv2`` on the input; then BN + LeakyReLU over concat[A, B] and Conv 1x1 ``cv4``.
    """

    def __init__(self, c1: int, c2: int, n: int = 1, shortcut: bool = True):
        super().__init__()
        hidden = c2 // 2
        self.cv1 = Conv(c1, hidden, 1)
        self.cv2 = nn.Conv2d(c1, hidden, 1, bias=False)
        self.cv3 = nn.Conv2d(hidden, hidden, 1, bias=False)
        self.cv4 = Conv(2 * hidden, c2, 1)
        self.bn = batch_norm(2 * hidden)
        self.act = nn.LeakyReLU(LEAKY_SLOPE, inplace=True)
        self.m = nn.Sequential(*(Bottleneck(hidden, hidden, shortcut, 1.0) for _ in range(n)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.cv3(self.m(self.cv1(x)))
        b = self.cv2(x)
        return self.cv4(self.act(self.bn(torch.cat((a, b), 1))))


class SPP(nn.Module):
    """Spatial pyramid pooling: Conv 1x1 to c1/2, concat with stride-1 max pools 5/9/13, Conv 1x1 to c2."""

    def __init__(self, c1: int, c2: int, kernels: tuple[int, ...] = (5, 9, 13)):
        super().__init__()
        hidden = c1 // 2
        self.cv1 = Conv(c1, hidden, 1)
        self.cv2 = Conv(hidden * (len(kernels) + 1), c2, 1)
        self.m = nn.ModuleList(nn.MaxPool2d(k, stride=1, padding=k // 2) for k in kernels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.cv1(x)
        return self.cv2(torch.cat([x, *(pool(x) for pool in self.m)], 1))


class Concat(nn.Module):
    """Channel concatenation of a list of ``[B, C_i, H, W]`` tensors (in list order)."""

    def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:
        return torch.cat(xs, 1)


def yolov5_layers(depth_multiple: float = 1.0, width_multiple: float = 1.0) -> list[nn.Module]:
    """Layers 0-23 of the YOLOv5-L v2.0 backbone and PAN neck (spec §1.2), list index = layer index.

    Upsample and Concat layers are included (they hold no weights) so the indices of the later layers
    match the official ``model.<i>`` keys.
    """

    def ch(c: int) -> int:
        return scale_width(c, width_multiple)

    def csp(c1: int, c2: int, n: int, shortcut: bool = True) -> BottleneckCSP:
        return BottleneckCSP(ch(c1), ch(c2), scale_depth(n, depth_multiple), shortcut)

    def up() -> nn.Upsample:
        return nn.Upsample(scale_factor=2.0, mode="nearest")

    return [
        Focus(3, ch(64), 3),  # 0   stride 2
        Conv(ch(64), ch(128), 3, 2),  # 1   stride 4
        csp(128, 128, 3),  # 2
        Conv(ch(128), ch(256), 3, 2),  # 3   stride 8
        csp(256, 256, 9),  # 4   -> C3
        Conv(ch(256), ch(512), 3, 2),  # 5   stride 16
        csp(512, 512, 9),  # 6   -> C4
        Conv(ch(512), ch(1024), 3, 2),  # 7   stride 32
        SPP(ch(1024), ch(1024)),  # 8
        csp(1024, 1024, 3, False),  # 9
        Conv(ch(1024), ch(512), 1, 1),  # 10  -> H10 (lateral of P5)
        up(),  # 11
        Concat(),  # 12  [11, 6]
        csp(1024, 512, 3, False),  # 13
        Conv(ch(512), ch(256), 1, 1),  # 14  -> H14 (lateral of P4)
        up(),  # 15
        Concat(),  # 16  [15, 4]
        csp(512, 256, 3, False),  # 17  -> P3
        Conv(ch(256), ch(256), 3, 2),  # 18
        Concat(),  # 19  [18, 14]
        csp(512, 512, 3, False),  # 20  -> P4
        Conv(ch(512), ch(512), 3, 2),  # 21
        Concat(),  # 22  [21, 10]
        csp(1024, 1024, 3, False),  # 23  -> P5
    ]


def yolov5_features(
    layers: nn.ModuleList | list[nn.Module], images: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Runs layers 0-23 on ``images [B, 3, H, W]`` (H, W multiples of 32).

    Returns the neck outputs P3 ``[B, C3, H/8, W/8]``, P4 ``[B, C4, H/16, W/16]``, P5 ``[B, C5, H/32, W/32]``.
    """
    x = images
    for i in range(4):
        x = layers[i](x)
    c3 = layers[4](x)  # stride 8
    c4 = layers[6](layers[5](c3))  # stride 16
    h10 = layers[10](layers[9](layers[8](layers[7](c4))))  # stride 32
    h14 = layers[14](layers[13](layers[12]([layers[11](h10), c4])))
    p3 = layers[17](layers[16]([layers[15](h14), c3]))
    p4 = layers[20](layers[19]([layers[18](p3), h14]))
    p5 = layers[23](layers[22]([layers[21](p4), h10]))
    return p3, p4, p5
