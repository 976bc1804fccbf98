"""Edge cases of the Spatial Adapter's depth discretisation and depth positional encoding
(`discmot.models.fdta.spatial_adapter`; spec ``fdta.md`` §3.1.3 LID bins, §3.1.5 depth PE): every bin
between its edges, the range limits at exactly ``d_min`` and beyond ``d_max``, and the PE's clamping,
interpolation weights and gradient.

Expected values come from the spec's formulas, evaluated by hand / in float64 in the tests.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from discmot.models.fdta.config import SpatialAdapterConfig
from discmot.models.fdta.spatial_adapter import (
    SpatialAdapter,
    interpolate_depth_embedding,
    lid_bin_size,
    lid_bin_values,
    lid_target_classes,
)

D_MIN, D_MAX = 1e-3, 256.0


def lower_edge(i: int, bins: int) -> float:
    """§3.1.3: ``v_i = d_min + step i (i + 1) / 2`` (the lower edge of LID bin i); ``v_N = d_max``."""
    step = 2 * (D_MAX - D_MIN) / (bins * (bins + 1))
    return D_MIN + step * i * (i + 1) / 2


# --------------------------------------------------------------------------------------------------
# LID bins (§3.1.3)


@pytest.mark.parametrize(("bins", "step"), [(150, 0.0226048), (120, 0.0352616)])
def test_lid_step_is_the_specs(bins, step):
    """§3.1.3: ``step = 2 (d_max - d_min) / (N (N + 1))`` = 0.0226048 for N = 150, 0.0352616 for N = 120."""
    assert lid_bin_size(bins, D_MIN, D_MAX) == pytest.approx(step, abs=5e-8)


@pytest.mark.parametrize("bins", [150, 120, 3])
def test_every_bin_takes_the_depths_between_its_edges(bins):
    """Bin i holds ``[v_i, v_{i+1})``: the midpoint of each bin, and a point just above its lower edge,
    get class i (bins of width ``(i + 1) step`` grow linearly: LID)."""
    mids = [(lower_edge(i, bins) + lower_edge(i + 1, bins)) / 2 for i in range(bins)]
    near_lower = [lower_edge(i, bins) + 1e-3 * (i + 1) * (lower_edge(1, bins) - D_MIN) for i in range(bins)]
    for depths in (mids, near_lower):
        classes = lid_target_classes(torch.tensor(depths, dtype=torch.float64), bins, D_MIN, D_MAX)
        assert classes.dtype == torch.int64
        assert classes.tolist() == list(range(bins))


def test_bin_values_are_the_lower_edges_then_d_max():
    """§3.1.3: ``depth_bin_values`` are the N lower edges and then ``d_max`` (float32)."""
    for bins in (3, 150):
        values = lid_bin_values(bins, D_MIN, D_MAX)
        expected = torch.tensor([lower_edge(i, bins) for i in range(bins)] + [D_MAX], dtype=torch.float32)
        torch.testing.assert_close(values, expected, rtol=1e-6, atol=1e-6)


def test_d_min_itself_is_class_0_and_just_below_it_is_out_of_range():
    """The continuous index at ``d_min`` is exactly 0, which is not "< 0": class 0. Just below ``d_min``
    the index is a small negative number, which truncation alone would also make 0: it is out of range
    (class N) instead."""
    depth = torch.tensor([D_MIN, D_MIN / 2, 0.0], dtype=torch.float64)
    assert lid_target_classes(depth, 150, D_MIN, D_MAX).tolist() == [0, 150, 150]


def test_depths_at_and_beyond_d_max_and_non_finite_ones_are_out_of_range():
    """At ``d_max`` the index is exactly N (class N); far beyond (index > N) and for -inf, inf, NaN and
    negative depths (no square root) the class is N as well; never anything above N."""
    depth = torch.tensor([D_MAX, 300.0, 1e6, -5.0, math.inf, -math.inf, math.nan], dtype=torch.float64)
    assert lid_target_classes(depth, 150, D_MIN, D_MAX).tolist() == [150] * 7
    # just below d_max: the last real bin
    assert (
        lid_target_classes(torch.tensor([D_MAX - 1e-3], dtype=torch.float64), 150, D_MIN, D_MAX).item() == 149
    )


def test_lid_targets_keep_the_input_shape():
    depth = torch.full((2, 3, 4), 128.0)
    classes = lid_target_classes(depth, 150, D_MIN, D_MAX)
    assert classes.shape == (2, 3, 4) and (classes == 105).all()  # §3.1.3: 128 -> 105


# --------------------------------------------------------------------------------------------------
# depth positional encoding (§3.1.5)


def ramp_table(rows: int = 257) -> nn.Embedding:
    """Row i = ``(i, i^2 / 10)``: linear in one channel, curved in the other, so the weights show."""
    table = nn.Embedding(rows, 2)
    with torch.no_grad():
        i = torch.arange(rows, dtype=torch.float32)
        table.weight.copy_(torch.stack([i, i * i / 10], dim=1))
    return table


def expected_pe(d: float) -> list[float]:
    """§3.1.5 by hand: ``d = clamp(d, 0, 256)``, ``i = floor(d)``, ``delta = d - i``, ``j = min(i + 1, 256)``,
    ``PE = (1 - delta) E[i] + delta E[j]`` with ``E[k] = (k, k^2 / 10)``."""
    d = min(max(d, 0.0), 256.0)
    i = math.floor(d)
    delta = d - i
    j = min(i + 1, 256)
    return [(1 - delta) * i + delta * j, ((1 - delta) * i * i + delta * j * j) / 10]


def test_depth_pe_interpolates_clamps_and_stops_at_the_last_row():
    depths = [3.25, 0.5, -5.0, 255.5, 256.0, 300.0, 7.0]
    pe = interpolate_depth_embedding(torch.tensor(depths).reshape(1, 1, -1), ramp_table(), D_MAX)
    assert pe.shape == (1, 2, 1, len(depths))  # [B, D, H, W]
    expected = torch.tensor([expected_pe(d) for d in depths]).T.reshape(1, 2, 1, -1)
    torch.testing.assert_close(pe, expected, rtol=1e-6, atol=1e-5)


def test_depth_pe_layout_is_batch_channel_height_width():
    depth = torch.tensor([[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]])  # [1, 2, 3]
    pe = interpolate_depth_embedding(depth, ramp_table(), D_MAX)
    assert pe.shape == (1, 2, 2, 3)
    torch.testing.assert_close(pe[0, 0], depth[0])  # channel 0 is the depth itself
    torch.testing.assert_close(pe[0, 1], depth[0] ** 2 / 10)


def test_depth_pe_gradient_reaches_the_depth_through_the_weight():
    """§3.1.5: "Gradient flows into d_hat ... through delta": dPE/dd = E[j] - E[i] inside the range, 0 where
    the depth was clamped."""
    depth = torch.tensor([[[3.25, -2.0, 400.0]]], requires_grad=True)
    pe = interpolate_depth_embedding(depth, ramp_table(), D_MAX)
    pe[:, 1].sum().backward()  # the curved channel: E[4] - E[3] = (16 - 9) / 10
    torch.testing.assert_close(depth.grad, torch.tensor([[[0.7, 0.0, 0.0]]]))


# --------------------------------------------------------------------------------------------------
# the module's bin values and expected depth (§3.1.2 step 6, §3.1.3)


def small_adapter(bins: int = 3) -> SpatialAdapter:
    return SpatialAdapter(SpatialAdapterConfig(bins=bins), hidden_dim=16, num_heads=2, group_norm_groups=4)


def test_bin_values_are_a_frozen_parameter_of_the_module():
    """§3.1.3: ``depth_bin_values``, "an nn.Parameter with requires_grad=False, stored in the state dict,
    length N+1"; §3.1.5: the depth PE table has ``int(d_max) + 1 = 257`` rows."""
    adapter = small_adapter(bins=3)
    assert isinstance(adapter.depth_bin_values, nn.Parameter)
    assert not adapter.depth_bin_values.requires_grad
    assert "depth_bin_values" in adapter.state_dict() and adapter.depth_bin_values.shape == (4,)
    assert adapter.depth_pos_embed.num_embeddings == 257
    assert adapter.depth_classifier.out_channels == 4  # N + 1 classes


def test_expected_depth_is_the_probability_weighted_bin_value():
    """§3.1.2 step 6: ``d_hat = sum_c softmax(z)_c v_c`` over the N + 1 channels: a dominant class gives its
    bin value; equal logits give the mean of the values."""
    adapter = small_adapter(bins=3)
    values = [lower_edge(i, 3) for i in range(3)] + [D_MAX]
    logits = torch.zeros(1, 4, 1, 3)
    logits[0, 1, 0, 0] = 60.0  # class 1
    logits[0, 3, 0, 1] = 60.0  # the out-of-range class: d_max
    depth = adapter.expected_depth(logits)
    assert depth.shape == (1, 1, 3)
    torch.testing.assert_close(
        depth[0, 0], torch.tensor([values[1], D_MAX, sum(values) / 4]), rtol=1e-5, atol=1e-5
    )


@pytest.mark.parametrize("levels", [3, 5])
def test_the_adapter_takes_exactly_four_levels(levels):
    """§3.1.1: the depth predictor "asserts exactly 4 levels" (strides 8, 16, 32, 64; the last unused)."""
    adapter = small_adapter()
    srcs = [torch.zeros(1, 16, 8 >> min(i, 3), 8 >> min(i, 3)) for i in range(levels)]
    with pytest.raises(ValueError, match="4 feature levels"):
        adapter(srcs, torch.zeros(1, 8, 8, dtype=torch.bool), torch.zeros(1, 16, 8, 8))
