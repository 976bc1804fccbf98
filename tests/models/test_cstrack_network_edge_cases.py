"""Edge cases of CSTrack's network forward logic (`discmot.models.cstrack` saan / ren / head / model and
`discmot.models.backbones.yolov5`; spec ``cstrack.md`` §1.1-1.4, §2, §3, §4) and of its configuration
(`discmot.models.cstrack.config`: width / depth scaling §1.5, presets §0, the input-size rule).

The tests never compare discmot against itself: expected values are the spec's formulas written out in
the test with plain ``torch.nn.functional`` ops, closed forms of tiny blocks whose weights are set by
hand (identity / zero convolutions, batch norms set to the identity in eval mode), the layer table's
"from" column (§1.2), or invariances the spec implies (lambda_1 only acts on the detection branch).
"""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from discmot.models.backbones.yolov5 import (
    BN_EPS,
    SPP,
    Bottleneck,
    BottleneckCSP,
    Concat,
    Conv,
    yolov5_features,
    yolov5_layers,
)
from discmot.models.cstrack.config import (
    PRESETS,
    CSTrackConfig,
    check_input_size,
    config_from_dict,
    preset,
    scale_depth,
    scale_width,
)
from discmot.models.cstrack.head import DetectionHead
from discmot.models.cstrack.model import build_cstrack
from discmot.models.cstrack.ren import ReciprocalNetwork
from discmot.models.cstrack.saan import ChannelAttention, ScaleAwareAttention, SpatialAttention


def identity_bn(bn: nn.BatchNorm2d) -> None:
    """Eval-mode batch norm that computes ``y = x``: mean 0, ``var + eps = 1``, weight 1, bias 0."""
    with torch.no_grad():
        bn.running_mean.zero_()
        bn.running_var.fill_(1.0 - bn.eps)
        bn.weight.fill_(1.0)
        bn.bias.zero_()
    bn.eval()


def set_conv(conv: Conv, weight: torch.Tensor) -> Conv:
    """A YOLOv5 ``Conv`` (conv -> BN -> LeakyReLU(0.1)) whose conv weight is ``weight`` and whose BN is
    the identity: for inputs with a non-negative conv output it computes the plain convolution."""
    with torch.no_grad():
        conv.conv.weight.copy_(weight)
    identity_bn(conv.bn)
    return conv.eval()


def eye_1x1(c_out: int, c_in: int) -> torch.Tensor:
    """1x1 conv weight that copies input channel i to output channel i (zeros elsewhere)."""
    return torch.eye(c_out, c_in)[:, :, None, None]


# --------------------------------------------------------------------------------------------------
# SAAN's spatial attention (§3: ``a = sigmoid(conv7x7(concat[mean_c z, max_c z]))``, ``x * a + x``)


@pytest.mark.parametrize(("mean_tap", "max_tap"), [(1.0, 0.0), (0.0, 1.0), (0.5, -2.0)])
def test_spatial_attention_is_x_times_sigmoid_of_channel_mean_and_max_plus_x(mean_tap, max_tap):
    """§3 SA: with ``z`` = channels 0 and 1 of ``x`` (1x1 identity Conv, identity BN, positive x) and a
    7x7 conv that only has its centre taps (``mean_tap`` on the mean map, ``max_tap`` on the max map),
    ``a = sigmoid(mean_tap * (x0 + x1) / 2 + max_tap * max(x0, x1))`` and the output is ``x * a + x``."""
    torch.manual_seed(0)
    sa = SpatialAttention(8)
    set_conv(sa.conv_s[0], eye_1x1(2, 8))
    with torch.no_grad():
        sa.s_attention.weight.zero_()
        sa.s_attention.weight[0, 0, 3, 3] = mean_tap
        sa.s_attention.weight[0, 1, 3, 3] = max_tap
    x = torch.rand(2, 8, 5, 6) + 0.1
    x0, x1 = x[:, 0:1], x[:, 1:2]
    a = torch.sigmoid(mean_tap * (x0 + x1) / 2 + max_tap * torch.maximum(x0, x1))
    with torch.no_grad():
        out = sa(x)
    assert torch.allclose(out, x * a + x, atol=1e-6)


def test_spatial_attention_reduces_to_a_quarter_of_the_channels():
    """§3: ``z = Conv(256 -> 64, 1x1)``: the spatial attention's 1x1 Conv keeps C/4 channels."""
    assert SpatialAttention(256).conv_s[0].conv.out_channels == 64


# --------------------------------------------------------------------------------------------------
# SAAN's channel attention (§3: ``c = sigmoid(g(u_avg) + g(u_max))``, ``X * c + X``)


def spec_g(u: torch.Tensor, ca: ChannelAttention) -> torch.Tensor:
    """§3's ``g``: ``u [B, C]`` as a 1-channel sequence -> Conv1d(k 3, pad 1, no bias) -> LayerNorm over
    (1, C) (eps 1e-5) -> LeakyReLU(0.3) -> Linear(C, C, no bias); returns ``[B, C]``."""
    conv1d, norm, _, linear = ca.c_attention
    channels = u.shape[1]
    v = F.conv1d(u[:, None, :], conv1d.weight, padding=1)
    v = F.layer_norm(v, (1, channels), norm.weight, norm.bias, eps=1e-5)
    v = F.leaky_relu(v, 0.3)
    return (v @ linear.weight.T)[:, 0, :]


def test_channel_attention_follows_the_specs_formula():
    """§3 CA with random weights and a feature whose spatial mean and max differ (and with negative
    LayerNorm outputs, so the 0.3 slope matters): ``X * sigmoid(g(avg) + g(max)) + X``, per channel."""
    torch.manual_seed(3)
    channels = 12
    ca = ChannelAttention(channels).eval()
    with torch.no_grad():
        ca.c_attention[1].weight.uniform_(0.5, 1.5)
        ca.c_attention[1].bias.uniform_(-0.5, 0.5)
    x = torch.randn(2, channels, 4, 5)
    c = torch.sigmoid(spec_g(x.mean((2, 3)), ca) + spec_g(x.amax((2, 3)), ca))
    with torch.no_grad():
        out = ca(x)
    assert torch.allclose(out, x * c[:, :, None, None] + x, atol=1e-5)


# --------------------------------------------------------------------------------------------------
# SAAN as a whole (§3)


def test_saan_defaults_are_the_official_widths():
    """§3: per-level width 256 (spatial attention on 64), fusion of 768 channels, embeddings of 512."""
    saan = ScaleAwareAttention((8, 16, 32))
    assert saan.proj1[0].conv.out_channels == 256
    assert saan.node[1].conv.in_channels == 768
    assert saan.node[2].out_channels == 512 and saan.node[2].bias is not None


@pytest.mark.parametrize(("factor", "size"), [(2, 5), (4, 3)])
def test_saan_upsamplers_are_depthwise_and_exactly_factor_times_larger(factor, size):
    """§3 DWUp2 / DWUp4: ConvTranspose2d(kernel 2f, stride f, padding f/2, groups C, no bias) gives
    ``f * H x f * W``; with all-ones weights on an all-ones input every output pixel not on the border
    receives ``(kernel / stride)^2 = 4`` taps, and channels do not mix (depthwise)."""
    saan = ScaleAwareAttention((4, 4, 4), width=4, embedding_dim=4)
    up = saan.proj2[1] if factor == 2 else saan.proj3[1]
    assert up.bias is None and up.groups == 4
    with torch.no_grad():
        up.weight.fill_(1.0)
        x = torch.ones(1, 4, size, size)
        x[:, 1:] = 0.0
        out = up(x)
    assert out.shape == (1, 4, factor * size, factor * size)
    inner = out[0, 0, factor:-factor, factor:-factor]
    assert torch.equal(inner, torch.full_like(inner, 4.0))
    assert torch.equal(out[0, 1:], torch.zeros_like(out[0, 1:]))


def test_saan_output_is_channels_last_at_stride_8_and_batch_equivariant():
    """§3/§4: ``[B, H/8, W/8, E]`` channels last; frames do not interact (eval mode), so permuting the
    batch permutes the output."""
    torch.manual_seed(4)
    saan = ScaleAwareAttention((8, 16, 32), width=8, embedding_dim=6).eval()
    reid = (torch.randn(3, 8, 8, 12), torch.randn(3, 16, 4, 6), torch.randn(3, 32, 2, 3))
    with torch.no_grad():
        emb = saan(reid)
        flipped = saan(tuple(r.flip(0) for r in reid))
    assert emb.shape == (3, 8, 12, 6) and emb.is_contiguous()
    assert torch.allclose(flipped, emb.flip(0), atol=1e-6)


@pytest.mark.parametrize("level", [0, 1, 2])
def test_saan_concatenates_the_levels_in_p3_p4_p5_order(level):
    """§3: X = concat[E3, E4, E5] (order P3, P4, P5). Hand-set weights make every stage a known scaling:
    centre-tap identity Convs, spatial attention with a zero 7x7 conv (a = 1/2: x * 1.5), upsamplers of
    0.25 everywhere (interior pixels get 4 taps: x 1), channel attention with a zero Linear (c = 1/2:
    x * 1.5), then a 3x3 Conv that picks channel group ``level`` and an identity 1x1 conv. Constant
    inputs 1, 2, 3 on P3, P4, P5 give ``2.25 * (level + 1)`` inside the map, channels last."""
    width = 4
    saan = ScaleAwareAttention((width, width, width), width=width, embedding_dim=width).eval()
    centre = torch.zeros(width, width, 3, 3)
    centre[:, :, 1, 1] = torch.eye(width)
    with torch.no_grad():
        for proj in (saan.proj1, saan.proj2, saan.proj3):
            set_conv(proj[0], centre)
            proj[-1].s_attention.weight.zero_()
        saan.proj2[1].weight.fill_(0.25)
        saan.proj3[1].weight.fill_(0.25)
        saan.node[0].c_attention[3].weight.zero_()
        pick = torch.zeros(width, 3 * width, 3, 3)
        pick[:, level * width : (level + 1) * width, 1, 1] = torch.eye(width)
        set_conv(saan.node[1], pick)
        saan.node[2].weight.copy_(eye_1x1(width, width))
        saan.node[2].bias.zero_()
        reid = (torch.full((1, width, 16, 16), 1.0), torch.full((1, width, 8, 8), 2.0))
        reid = (*reid, torch.full((1, width, 4, 4), 3.0))
        emb = saan(reid)
    assert emb.shape == (1, 16, 16, width)
    inner = emb[0, 4:12, 4:12]
    assert torch.allclose(inner, torch.full_like(inner, 2.25 * (level + 1)), atol=1e-5)


# --------------------------------------------------------------------------------------------------
# REN (§2)


def spec_mixing_weights(ren: ReciprocalNetwork, f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """§2 steps 1-4 with plain functional ops: 6x10 adaptive average pool, Y_k = LeakyReLU_0.3(
    InstanceNorm(Conv3x3_k(P))) (eps 1e-5, no affine), T_k = rowsoftmax(Y_k Y_k^T),
    S_1 = rowsoftmax(Y_1 Y_2^T), S_2 = rowsoftmax(Y_2 Y_1^T), W_k = lambda_k T_k + (1 - lambda_k) S_k."""
    p = F.adaptive_avg_pool2d(f, (6, 10))

    def y(branch: nn.Sequential) -> torch.Tensor:
        conv = branch[0]
        out = F.conv2d(p, conv.weight, conv.bias, padding=1)
        return F.leaky_relu(F.instance_norm(out, eps=1e-5), 0.3).flatten(2)

    y1, y2 = y(ren.c_attention1), y(ren.c_attention2)

    def rowsoftmax(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.softmax(a @ b.transpose(1, 2), dim=2)

    lam1, lam2 = ren.w1, ren.w2
    w1 = lam1 * rowsoftmax(y1, y1) + (1 - lam1) * rowsoftmax(y1, y2)
    w2 = lam2 * rowsoftmax(y2, y2) + (1 - lam2) * rowsoftmax(y2, y1)
    return w1, w2


def test_ren_lambdas_start_at_one_half():
    """§2 / §14.3: lambda_1 and lambda_2 are initialised to 0.5 (one pair per REN)."""
    ren = ReciprocalNetwork(4)
    assert ren.w1.tolist() == [0.5] and ren.w2.tolist() == [0.5]
    assert ren.pool.output_size == (6, 10)


def test_ren_mixing_weights_and_outputs_follow_the_specs_steps():
    """§2 with distinct lambdas (0.2 / 0.9) and a feature map that 6x10 bins do not divide evenly
    (adaptive bins): W_1, W_2 as in the spec, ``F_k = W_k F + F`` (detection, ReID)."""
    torch.manual_seed(5)
    ren = ReciprocalNetwork(6).eval()
    with torch.no_grad():
        ren.w1.fill_(0.2)
        ren.w2.fill_(0.9)
        # small weights keep the 60-long dot products moderate, so both relations matter in the blend
        ren.c_attention1[0].weight.mul_(0.05)
        ren.c_attention2[0].weight.mul_(0.05)
    f = torch.randn(2, 6, 9, 14)
    with torch.no_grad():
        w1, w2 = ren.mixing_weights(f)
        expected1, expected2 = spec_mixing_weights(ren, f)
        detection, reid = ren(f)
    assert torch.allclose(w1, expected1, atol=1e-5) and torch.allclose(w2, expected2, atol=1e-5)
    flat = f.flatten(2)
    assert torch.allclose(detection, (expected1 @ flat).view_as(f) + f, atol=1e-5)
    assert torch.allclose(reid, (expected2 @ flat).view_as(f) + f, atol=1e-5)


# --------------------------------------------------------------------------------------------------
# Detect head (§1.4)


def test_detect_bias_prior_is_added_exactly_to_pytorchs_default_bias():
    """§1.4: objectness bias += ln(8 / (640 / s)^2), class bias += ln(0.6 / (nc - 0.99)), on top of
    PyTorch's default init (the same seed gives the same default convs); weights are left untouched."""
    config = preset("tiny")
    torch.manual_seed(11)
    head = DetectionHead(config)
    torch.manual_seed(11)
    defaults = [nn.Conv2d(c, 18, 1) for c in config.level_channels]
    for conv, default, stride in zip(head.m, defaults, (8, 16, 32), strict=True):
        assert torch.equal(conv.weight, default.weight)
        delta = (conv.bias - default.bias).view(3, 6)
        objectness = math.log(8 / (640 / stride) ** 2)  # -6.685, -5.298, -3.912
        assert torch.allclose(delta[:, 4], torch.full((3,), objectness), atol=1e-5)
        assert torch.allclose(delta[:, 5], torch.full((3,), math.log(60.0)), atol=1e-5)
        assert torch.equal(delta[:, :4], torch.zeros(3, 4))


def test_detect_channels_are_anchor_major():
    """§1.4: channel ``6 a + k`` of the 1x1 conv is anchor a, quantity k; raw is ``[B, 3, H, W, 6]``."""
    head = DetectionHead(preset("tiny"))
    with torch.no_grad():
        for conv in head.m:
            conv.weight.zero_()
            conv.bias.copy_(torch.arange(18.0))
    detection = tuple(torch.randn(1, c, 2, 3) for c in preset("tiny").level_channels)
    with torch.no_grad():
        raw = head(detection)
    expected = torch.arange(18.0).view(3, 6)[None, :, None, None, :].expand(1, 3, 2, 3, 6)
    assert all(torch.equal(r, expected) for r in raw)


# --------------------------------------------------------------------------------------------------
# Model wiring (§1.2: Detect uses the REN detection outputs, SAAN the ReID outputs)


def test_lambda_1_moves_only_detection_features_and_lambda_2_only_reid_features():
    """§2/§1.2: F_1 = W_1 F + F goes to Detect, F_2 = W_2 F + F to SAAN, and W_k depends on lambda_k
    only. So changing the P3 REN's lambda_1 changes the first (detection) output of ``reciprocal`` and
    not the second (ReID) one, and lambda_2 the reverse (levels of unit scale, so the relations are
    far from uniform)."""
    torch.manual_seed(6)
    model = build_cstrack("tiny").eval()
    levels = tuple(torch.randn(1, c, s, s) for c, s in zip((32, 64, 128), (8, 4, 2), strict=True))
    ren = model.model[24]
    lambda_1 = ren.w1.detach().clone()
    with torch.no_grad():
        det, reid = model.reciprocal(levels)
        ren.w1.fill_(-3.0)
        det_1, reid_1 = model.reciprocal(levels)
        ren.w1.copy_(lambda_1)
        ren.w2.fill_(-3.0)
        det_2, reid_2 = model.reciprocal(levels)
    assert all(torch.equal(a, b) for a, b in zip(reid_1, reid, strict=True))
    assert all(torch.equal(a, b) for a, b in zip(det_2, det, strict=True))
    assert (det_1[0] - det[0]).abs().max() > 1e-2 and (reid_2[0] - reid[0]).abs().max() > 1e-2
    assert all(torch.equal(a, b) for a, b in zip(det_1[1:], det[1:], strict=True))


# --------------------------------------------------------------------------------------------------
# YOLOv5 v2.0 blocks (§1.1)


def test_conv_is_leaky_relu_with_slope_0_1_after_bn():
    """§1.1: ``Conv`` = Conv2d -> BN -> LeakyReLU(0.1): an identity 1x1 Conv maps -2 to -0.2, 3 to 3."""
    conv = set_conv(Conv(2, 2, 1), eye_1x1(2, 2))
    x = torch.tensor([-2.0, 3.0]).view(1, 2, 1, 1)
    with torch.no_grad():
        out = conv(x)
    assert torch.allclose(out.flatten(), torch.tensor([-0.2, 3.0]), atol=1e-6)
    assert conv.bn.eps == BN_EPS


@pytest.mark.parametrize(("shortcut", "factor"), [(True, 2.0), (False, 1.0)])
def test_bottleneck_adds_its_input_only_with_shortcut(shortcut, factor):
    """§1.1: Bottleneck = Conv 1x1 then Conv 3x3, plus the input if shortcut. With identity convs (1x1
    identity, 3x3 centre-tap identity, identity BN) and a positive input the branch is ``x``, so the
    output is ``x + x`` with shortcut and ``x`` without."""
    block = Bottleneck(4, 4, shortcut, 1.0)
    set_conv(block.cv1, eye_1x1(4, 4))
    centre = torch.zeros_like(block.cv2.conv.weight)
    centre[:, :, 1, 1] = torch.eye(4)
    set_conv(block.cv2, centre)
    x = torch.rand(1, 4, 3, 3) + 0.1
    with torch.no_grad():
        out = block(x)
    assert torch.allclose(out, factor * x, atol=1e-6)


def test_bottleneck_with_different_widths_has_no_shortcut():
    """A shortcut needs equal widths: Bottleneck(2 -> 4, shortcut) with zero convs outputs zeros."""
    block = Bottleneck(2, 4, True, 1.0)
    set_conv(block.cv1, torch.zeros_like(block.cv1.conv.weight))
    set_conv(block.cv2, torch.zeros_like(block.cv2.conv.weight))
    with torch.no_grad():
        assert torch.equal(block(torch.randn(1, 2, 3, 3)), torch.zeros(1, 4, 3, 3))


def test_bottleneck_csp_concatenates_path_a_then_path_b():
    """§1.1: out = Conv(2c_ -> c2, 1)(LReLU(BN(concat[A, B]))). With path A zeroed (cv3 = 0), path B
    the identity (cv2) and identity BN / cv4, a positive input comes out in the second half only."""
    block = BottleneckCSP(2, 4, n=1, shortcut=False)
    with torch.no_grad():
        block.cv3.weight.zero_()
        block.cv2.weight.copy_(eye_1x1(2, 2))
    identity_bn(block.bn)
    set_conv(block.cv4, eye_1x1(4, 4))
    block.eval()
    x = torch.rand(1, 2, 3, 4) + 0.1
    with torch.no_grad():
        out = block(x)
    assert torch.equal(out[:, :2], torch.zeros(1, 2, 3, 4))
    assert torch.allclose(out[:, 2:], x, atol=1e-6)


def test_spp_concatenates_the_input_and_stride_1_max_pools_5_9_13():
    """§1.1 SPP: concat[x, maxpool5(x), maxpool9(x), maxpool13(x)] (stride 1, same padding). A single
    spike at (8, 8) of a 17x17 map spreads over Chebyshev radius 0 / 2 / 4 / 6 in the four outputs."""
    spp = SPP(2, 4)
    set_conv(spp.cv1, torch.tensor([[1.0, 0.0]])[:, :, None, None])
    set_conv(spp.cv2, eye_1x1(4, 4))
    x = torch.zeros(1, 2, 17, 17)
    x[0, 0, 8, 8] = 1.0
    x[0, 1] = 5.0  # dropped by cv1
    with torch.no_grad():
        out = spp(x)
    assert out.shape == (1, 4, 17, 17)
    rows = torch.arange(17)
    chebyshev = torch.maximum((rows[:, None] - 8).abs(), (rows[None, :] - 8).abs())
    for channel, radius in enumerate((0, 2, 4, 6)):
        assert torch.equal(out[0, channel], (chebyshev <= radius).float()), radius


def spec_table_forward(layers, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """§1.2's "from" column run literally: -1 = previous layer, Concat layers take [previous, source]."""
    sources = {12: 6, 16: 4, 19: 14, 22: 10}
    outputs = []
    x = images
    for i, layer in enumerate(layers):
        x = layer([x, outputs[sources[i]]]) if isinstance(layer, Concat) else layer(x)
        outputs.append(x)
    return outputs[17], outputs[20], outputs[23]


def test_yolov5_features_follow_the_layer_tables_sources():
    """§1.2: P3/P4/P5 are layers 17/20/23 of the table run with its "from" column (a tiny width)."""
    torch.manual_seed(7)
    layers = nn.ModuleList(yolov5_layers(0.33, 0.125)).eval()
    images = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        got = yolov5_features(layers, images)
        expected = spec_table_forward(layers, images)
    assert [tuple(p.shape) for p in got] == [(1, 32, 8, 12), (1, 64, 4, 6), (1, 128, 2, 3)]
    assert all(torch.equal(a, b) for a, b in zip(got, expected, strict=True))


def test_only_the_backbones_csp_blocks_have_shortcuts():
    """§1.2: BottleneckCSP layers 2, 4, 6 use shortcut Bottlenecks; 9, 13, 17, 20, 23 do not. With a
    Bottleneck's convs zeroed (identity BN), it returns its input (shortcut) or zeros (none)."""
    layers = yolov5_layers(0.33, 0.125)
    csp_layers = [i for i, layer in enumerate(layers) if isinstance(layer, BottleneckCSP)]
    assert csp_layers == [2, 4, 6, 9, 13, 17, 20, 23]
    for i in csp_layers:
        bottleneck = layers[i].m[0]
        set_conv(bottleneck.cv1, torch.zeros_like(bottleneck.cv1.conv.weight))
        set_conv(bottleneck.cv2, torch.zeros_like(bottleneck.cv2.conv.weight))
        x = torch.randn(1, bottleneck.cv1.conv.in_channels, 2, 2)
        with torch.no_grad():
            out = bottleneck(x)
        assert torch.equal(out, x if i in (2, 4, 6) else torch.zeros_like(x)), i


# --------------------------------------------------------------------------------------------------
# Width / depth scaling and the input size rule (§1.5, §1.2)


@pytest.mark.parametrize(
    ("channels", "multiple", "expected"),
    [(256, 0.5, 128), (1024, 0.125, 128), (100, 0.33, 40), (64, 0.1, 8), (256, 1.0, 256)],
)
def test_width_scaling_rounds_up_to_multiples_of_8(channels, multiple, expected):
    """§1.5: ``ceil(c * gw / 8) * 8``: 100 x 0.33 = 33 -> 40, 64 x 0.1 = 6.4 -> 8."""
    assert scale_width(channels, multiple) == expected


@pytest.mark.parametrize(
    ("repeats", "multiple", "expected"),
    [
        (9, 0.33, 3),
        (3, 0.33, 1),
        (3, 0.1, 1),
        (9, 0.5, 4),
        (3, 1.0, 3),
        (2, 3.0, 6),
        (2, 0.1, 1),
        (1, 3.0, 1),
    ],
)
def test_depth_scaling_rounds_and_keeps_at_least_one_repeat(repeats, multiple, expected):
    """§1.5: ``max(round(n * gd), 1)`` for repeated blocks (Python rounding: 4.5 -> 4); a single block
    (n = 1) is not repeated."""
    assert scale_depth(repeats, multiple) == expected


@pytest.mark.parametrize("size", [(32, 32), (608, 1088), (192, 320), (64, 96)])
def test_input_sizes_that_are_positive_multiples_of_32_are_accepted(size):
    """§1.2: strides up to 32, so H and W must be positive multiples of 32 (32 itself included)."""
    check_input_size(size)


@pytest.mark.parametrize("size", [(0, 32), (32, 0), (16, 32), (32, 48), (600, 1088), (-32, 64)])
def test_input_sizes_that_are_not_positive_multiples_of_32_are_refused(size):
    """Zero, negative and non-multiples of 32 on either side are refused, naming the option."""
    with pytest.raises(ValueError, match="--input-size"):
        check_input_size(size)


def test_outputs_per_anchor_are_five_plus_the_classes():
    """§1.4: x, y, w, h, objectness and one score per class: 6 for one class, 3 anchors per level."""
    assert preset("tiny").outputs_per_anchor == 6 and preset("tiny", num_classes=3).outputs_per_anchor == 8
    assert preset("cstrack").num_anchors == 3


def test_the_official_preset_holds_the_specs_numbers():
    """§0 cheat sheet / §2 / §3 / §1.4: input 608x1088, strides 8/16/32, REN pool 6x10 with lambdas 0.5,
    SAAN width 256, 512-d embeddings, k = 10, one class, YOLOv5-L multiples 1.0."""
    config = preset("cstrack")
    assert config.input_size == (608, 1088) and config.strides == (8, 16, 32)
    assert config.ren_pool == (6, 10) and config.ren_lambda == 0.5
    assert config.saan_channels == 256 and config.embedding_dim == 512
    assert config.head_k == 10.0 and config.num_classes == 1
    assert config.depth_multiple == 1.0 and config.width_multiple == 1.0
    assert config.level_channels == (256, 512, 1024)
    assert config.anchors == (
        ((8, 24), (11, 34), (16, 48)),
        ((32, 96), (45, 135), (64, 192)),
        ((128, 384), (180, 540), (256, 640)),
    )


def test_configs_are_immutable():
    """Presets are shared module-level objects: a config cannot be changed in place (``preset(name,
    **overrides)`` makes a new one)."""
    config = preset("tiny")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.embedding_dim = 7  # type: ignore[misc]
    assert PRESETS["tiny"].embedding_dim == 64


def test_the_model_builds_its_rens_from_the_config():
    """Every REN of the model pools to the config's grid and starts from its lambda (§2: 6x10, 0.5)."""
    model = build_cstrack(preset("tiny", ren_pool=(3, 5), ren_lambda=0.25))
    for i in (24, 25, 26):
        assert model.model[i].pool.output_size == (3, 5)
        assert model.model[i].w1.tolist() == [0.25] and model.model[i].w2.tolist() == [0.25]


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_configs_round_trip_through_json(name):
    """``config_from_dict``: JSON turns the tuples (anchors, strides, pool, input size) into lists; they
    come back as tuples, so the config compares equal to the preset."""
    config = preset(name)
    assert config_from_dict(json.loads(json.dumps(dataclasses.asdict(config)))) == config


def test_a_partial_config_dict_keeps_the_defaults_and_is_named_custom():
    """Missing keys keep the dataclass defaults (no anchors / strides given); the name defaults to custom."""
    assert config_from_dict({"embedding_dim": 32}) == CSTrackConfig(name="custom", embedding_dim=32)


def test_the_tiny_preset_is_as_documented():
    """config docstring: ``tiny`` runs 320x192 frames (h, w = 192, 320), so the official anchors are
    scaled by 0.3 (P3's first anchor 8x24 -> 2.4x7.2)."""
    config = preset("tiny")
    assert config.input_size == (192, 320)
    assert config.anchors[0][0] == pytest.approx((2.4, 7.2))
    assert config.anchors[2][2] == pytest.approx((76.8, 192.0))
