"""Edge cases of FDTA's depth cross-attention in the Deformable DETR decoder
(`discmot.models.detr.transformer`, spec ``fdta.md`` §1.5, §1.6, §3.1.6) that the shape and key-contract
tests leave open: that the depth cross-attention is the default of every decoder building block (not only
of the full model, which passes the flag explicitly), its exact module sizes, and the transformer-wide
xavier pass that also initialises its out-projection (and the reference-point head's gain).

Initialisation bounds are hand-computed: xavier-uniform draws from U(-b, b) with
``b = gain * sqrt(6 / (fan_in + fan_out))``; PyTorch's default Linear init has ``b = 1 / sqrt(fan_in)``.
"""

from __future__ import annotations

import math

import pytest
import torch

from discmot.models.detr.transformer import DeformableDecoder, DeformableDecoderLayer, DeformableTransformer
from discmot.models.fdta.config import DETRConfig

CONFIG = DETRConfig(enc_layers=1)  # d = 256, 8 heads, 6 decoder layers, dropout 0.0 (spec §1.6)


def transformer() -> DeformableTransformer:
    torch.manual_seed(0)
    return DeformableTransformer(CONFIG)


def assert_spec_depth_attention(layer: DeformableDecoderLayer) -> None:
    """§3.1.6: nn.MultiheadAttention(256, 8), head dim 32, dropout 0.0, sequence-first, and LN 256;
    263,680 parameters (in-proj 3*256*256 + 3*256, out-proj 256*256 + 256, LN 2*256)."""
    attention, norm = layer.cross_attn_depth, layer.norm_depth
    assert isinstance(attention, torch.nn.MultiheadAttention) and isinstance(norm, torch.nn.LayerNorm)
    assert (attention.embed_dim, attention.num_heads, attention.head_dim) == (256, 8, 32)
    assert attention.dropout == 0.0 and not attention.batch_first
    assert norm.normalized_shape == (256,)
    count = sum(p.numel() for p in [*attention.parameters(), *norm.parameters()])
    assert count == 3 * 256 * 256 + 3 * 256 + 256 * 256 + 256 + 2 * 256 == 263_680


def test_every_building_block_has_the_depth_cross_attention_by_default():
    """§3.1.6 "Every decoder layer gets cross_attn_depth": the default of the layer, the decoder and the
    transformer (the ablation without Spatial Adapter must ask for ``depth_cross_attention=False``)."""
    assert_spec_depth_attention(DeformableDecoderLayer(CONFIG))
    decoder = DeformableDecoder(CONFIG)
    assert len(decoder.layers) == 6
    for layer in decoder.layers:
        assert_spec_depth_attention(layer)
    model = transformer()
    assert model.has_depth_cross_attention
    assert all(layer.cross_attn_depth is not None for layer in model.decoder.layers)


def test_the_ablation_builds_no_depth_modules():
    """``depth_cross_attention=False``: no ``cross_attn_depth`` / ``norm_depth`` keys (MOTIP's state dict)."""
    model = DeformableTransformer(CONFIG, depth_cross_attention=False)
    assert not model.has_depth_cross_attention
    assert not [key for key in model.state_dict() if "depth" in key]


def test_the_depth_out_projection_gets_the_transformer_wide_xavier_init():
    """§3.1.6: "out-projection xavier-uniform (the transformer-wide xavier pass covers it)" (§1.5: all
    transformer matrices get xavier-uniform first). Its bound is sqrt(6 / 512) = 0.108; PyTorch's default
    for the out-projection would stay within 1 / sqrt(256) = 0.0625. 65,536 draws reach past 0.1."""
    bound = math.sqrt(6 / (256 + 256))
    for layer in transformer().decoder.layers:
        weight = layer.cross_attn_depth.out_proj.weight.detach()
        assert 0.1 < weight.abs().max().item() <= bound
        assert torch.all(layer.cross_attn_depth.out_proj.bias == 0)


def test_the_reference_point_head_is_xavier_with_gain_1_and_zero_bias():
    """§1.6: ``transformer.reference_points`` = Linear(256 -> 2), "xavier init, bias 0" (gain 1): weights
    within sqrt(6 / 258) = 0.1525, and 512 draws reach past 0.14."""
    head = transformer().reference_points
    bound = math.sqrt(6 / (256 + 2))
    assert 0.14 < head.weight.detach().abs().max().item() <= bound
    assert torch.all(head.bias == 0)


SMALL = DETRConfig(
    hidden_dim=32,
    num_queries=5,
    num_feature_levels=2,
    enc_layers=1,
    dec_layers=1,
    ffn_dim=16,
    group_norm_groups=8,
)


def small_inputs(batch: int = 1) -> tuple[list, list, list, torch.Tensor]:
    """Two levels (4x4, 2x2) of a 32-channel map, no padding, and the query embedding ``[5, 64]``."""
    srcs = [torch.randn(batch, 32, 4, 4), torch.randn(batch, 32, 2, 2)]
    masks = [torch.zeros(batch, 4, 4, dtype=torch.bool), torch.zeros(batch, 2, 2, dtype=torch.bool)]
    return srcs, masks, [torch.zeros_like(s) for s in srcs], torch.randn(5, 64)


def test_a_depth_memory_is_required_exactly_with_the_depth_cross_attention():
    """§3.1.6: the depth memory ``[H8*W8, B, D]`` feeds every layer's depth cross-attention. Given to the
    ablation (which would silently ignore it) or missing with depth attention: a ValueError up front."""
    torch.manual_seed(0)
    srcs, masks, pos, query = small_inputs()
    with_depth = DeformableTransformer(SMALL)
    ablation = DeformableTransformer(SMALL, depth_cross_attention=False)
    with pytest.raises(ValueError, match="exactly when the decoder has depth cross-attention"):
        with_depth(srcs, masks, pos, query)
    with pytest.raises(ValueError, match="exactly when the decoder has depth cross-attention"):
        ablation(srcs, masks, pos, query, depth_memory=torch.randn(16, 1, 32))
    hs = with_depth(srcs, masks, pos, query, depth_memory=torch.randn(16, 1, 32))[0]
    assert hs.shape == (1, 1, 5, 32)


def test_the_deformable_attention_init_overrides_the_xavier_pass():
    """§1.5: "All other transformer matrices get xavier-uniform first; MSDeformAttn is then re-initialised":
    offset weights 0, offset bias of head h, level l, point k = (k+1) (cos t, sin t) / max(|cos t|, |sin t|)
    with t = 2 pi h / 8 (head 1: (k+1) (1, 1); head 2: (k+1) (0, 1)), attention weights and bias 0."""
    model = transformer()
    attention = model.decoder.layers[0].cross_attn
    assert torch.all(attention.sampling_offsets.weight == 0)
    assert torch.all(attention.attention_weights.weight == 0) and torch.all(
        attention.attention_weights.bias == 0
    )
    bias = attention.sampling_offsets.bias.detach().reshape(8, 4, 4, 2)  # heads, levels, points, (x, y)
    for h in range(8):
        theta = 2 * math.pi * h / 8
        direction = torch.tensor([math.cos(theta), math.sin(theta)])
        direction = direction / direction.abs().max()
        for k in range(4):
            assert torch.allclose(bias[h, :, k], (k + 1) * direction.expand(4, 2), atol=1e-6)
    assert torch.allclose(bias[1, 0, 2], torch.tensor([3.0, 3.0])) and torch.allclose(
        bias[2, 0, 0], torch.tensor([0.0, 1.0]), atol=1e-6
    )
