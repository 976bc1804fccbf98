"""CSTrack network: the official key/shape contract, parameter counts, block details, stages and outputs.

The default model is only run at 64x64 (the full 1088x608 forward is a benchmark, not a test).
"""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys

import pytest
import torch
from torch import nn

from discmot.models.backbones.yolov5 import BN_EPS, BN_MOMENTUM, Focus
from discmot.models.cstrack.config import PRESETS, config_from_dict, preset
from discmot.models.cstrack.model import HEAD_LAYER, build_cstrack, parameter_count
from discmot.models.cstrack.ren import ReciprocalNetwork
from helpers import read_state_dict_contract

OFFICIAL_PARAMETERS = 78_863_078
# Spec §1.2 totals: backbone+neck (layers 0-23), REN (24-26), SAAN (27), Detect (28).
PART_PARAMETERS = {range(0, 24): 47_361_024, range(24, 27): 24_776_198, range(27, 28): 6_693_545}
PART_PARAMETERS[range(28, 29)] = 32_311


@pytest.fixture(scope="module")
def contract(shared_file):
    return read_state_dict_contract(shared_file("spec/cstrack_state_dict_keys.tsv"))


@pytest.fixture(scope="module")
def official():
    torch.manual_seed(0)
    return build_cstrack("cstrack").eval()


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return build_cstrack("tiny").eval()


def test_official_model_matches_the_contract(official, contract):
    state = official.state_dict()
    assert {k: tuple(v.shape) for k, v in state.items()} == contract
    assert len(state) == 730
    assert sum(k.endswith("num_batches_tracked") for k in state) == 114


def test_official_parameter_counts(official):
    assert parameter_count(official) == OFFICIAL_PARAMETERS
    for layers, expected in PART_PARAMETERS.items():
        assert sum(parameter_count(official.model[i]) for i in layers) == expected


def test_preset_parameter_counts_are_stable():
    # cstrack_s and tiny are ours (spec §1.5): the counts only guard against accidental changes.
    assert parameter_count(build_cstrack("cstrack_s")) == 15_162_918
    assert parameter_count(build_cstrack("tiny")) == 956_310


def test_every_batch_norm_uses_yolov5_eps_and_momentum(tiny):
    norms = [m for m in tiny.modules() if isinstance(m, nn.BatchNorm2d)]
    assert norms and all(m.eps == BN_EPS == 1e-3 and m.momentum == BN_MOMENTUM == 0.03 for m in norms)


def test_focus_stacks_the_parity_sub_images_in_the_official_order():
    focus = Focus(1, 4)
    focus.conv = nn.Identity()
    image = torch.arange(16.0).view(1, 1, 4, 4)
    out = focus(image)
    assert out[0, :, 0, 0].tolist() == [
        0.0,
        4.0,
        1.0,
        5.0,
    ]  # (even, even), (odd, even), (even, odd), (odd, odd)


def test_anchor_buffers_and_bias_prior(official):
    head = official.model[HEAD_LAYER]
    assert head.anchors[0].tolist() == [[1.0, 3.0], [1.375, 4.25], [2.0, 6.0]]
    assert head.anchors[2].tolist() == [[4.0, 12.0], [5.625, 16.875], [8.0, 20.0]]
    assert head.anchor_grid.shape == (3, 1, 3, 1, 1, 2)
    assert head.anchor_grid[1, 0, 2, 0, 0].tolist() == [64.0, 192.0]
    assert head.k.item() == 10.0
    for conv, stride in zip(head.m, (8, 16, 32), strict=True):
        bias = conv.bias.view(3, 6)
        bound = 1 / math.sqrt(conv.in_channels)  # PyTorch's default uniform bias init
        assert (bias[:, 4] - math.log(8 / (640 / stride) ** 2)).abs().max() <= bound
        assert (bias[:, 5] - math.log(0.6 / 0.01)).abs().max() <= bound


def test_default_model_forward_shapes_in_both_modes(official):
    images = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        emb, (decoded, (raw, k)) = official.eval()(images)
        assert emb.shape == (1, 8, 8, 512)
        assert decoded.shape == (1, 3 * (64 + 16 + 4), 6)
        assert [tuple(r.shape) for r in raw] == [(1, 3, 8, 8, 6), (1, 3, 4, 4, 6), (1, 3, 2, 2, 6)]
        assert k is official.model[HEAD_LAYER].k


def test_tiny_forward_shapes_in_training_mode(tiny):
    tiny.train()
    try:
        emb, (raw, k) = tiny(torch.rand(2, 3, 96, 160))
    finally:
        tiny.eval()
    assert emb.shape == (2, 12, 20, 64)
    assert [tuple(r.shape) for r in raw] == [(2, 3, 12, 20, 6), (2, 3, 6, 10, 6), (2, 3, 3, 5, 6)]
    assert k.shape == (1,)
    (emb.mean() + sum(r.mean() for r in raw)).backward()  # every stage is differentiable
    assert tiny.model[24].w1.grad is not None and tiny.model[27].node[2].weight.grad is not None
    tiny.zero_grad(set_to_none=True)


def test_stage_methods_agree_with_forward(tiny):
    images = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        emb, (decoded, (raw, _)) = tiny(images)
        levels = tiny.features(images)
        assert [tuple(x.shape[1:2]) for x in levels] == [(32,), (64,), (128,)]
        detection, reid = tiny.reciprocal(levels)
        staged_raw = tiny.detect(detection)
        assert torch.equal(tiny.embeddings(reid), emb)
        assert all(torch.equal(a, b) for a, b in zip(staged_raw, raw, strict=True))
        assert torch.equal(tiny.decode(staged_raw), decoded)
        out = tiny.predict(images)
        assert torch.equal(out.detections, decoded) and torch.equal(out.embeddings, emb)


def test_decoding_formula_and_box_count(official):
    head = official.model[HEAD_LAYER]
    raw = [torch.zeros(1, 3, 608 // s, 1088 // s, 6) for s in (8, 16, 32)]
    decoded = head.decode(raw)
    assert decoded.shape == (1, 40_698, 6)
    # sigmoid(0) = 0.5: centre (0.5 + g) * s, size (2 * 0.5)^2 * anchor, scores 0.5.
    first_p4 = 3 * 76 * 136
    assert decoded[0, 0].tolist() == [4.0, 4.0, 8.0, 24.0, 0.5, 0.5]
    row, col = 2, 5  # anchor 0 of P4 at row 2, column 5
    assert decoded[0, first_p4 + row * 68 + col, :4].tolist() == [
        (col + 0.5) * 16,
        (row + 0.5) * 16,
        32.0,
        96.0,
    ]
    with torch.no_grad():
        head.k.fill_(4.0)
        try:
            raw[0][0, 0, 0, 0, 0] = 2.0  # the code's alternative centre when k != 10
            x = head.decode(raw)[0, 0, 0].item()
        finally:
            head.k.fill_(10.0)
    assert x == pytest.approx((torch.sigmoid(torch.tensor(2.0)).item() - 0.5) * 4 * 8)


def test_reciprocal_network_mixes_channels_with_row_stochastic_weights():
    torch.manual_seed(1)
    ren = ReciprocalNetwork(16)
    features = torch.randn(2, 16, 9, 14)
    w1, w2 = ren.mixing_weights(features)
    assert w1.shape == w2.shape == (2, 16, 16)
    assert torch.allclose(w1.sum(-1), torch.ones(2, 16)) and torch.allclose(w2.sum(-1), torch.ones(2, 16))
    detection, reid = ren(features)
    expected = (w1 @ features.flatten(2)).view_as(features) + features
    assert torch.allclose(detection, expected, atol=1e-6) and reid.shape == features.shape


def test_configs_round_trip_through_plain_dicts():
    for name, config in PRESETS.items():
        assert config_from_dict(dataclasses.asdict(config)) == config, name
    with pytest.raises(ValueError, match="unknown CSTrack config keys: depth"):
        config_from_dict({"depth": 1})
    with pytest.raises(ValueError, match="unknown CSTrack preset"):
        preset("yolov8")
    assert preset("tiny", embedding_dim=32).embedding_dim == 32


def test_config_module_imports_no_torch():
    code = "import sys, discmot.models.cstrack.config; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
