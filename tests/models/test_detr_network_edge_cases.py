"""Edge cases of Deformable DETR's network blocks, pinned by values computed by hand from spec ``fdta.md``.

Covers the plain-PyTorch deformable sampling op (`discmot.ops.deform_attn`, §1.5), the `MSDeformAttn`
module (§1.5), the sine position encoding (§1.3), the frozen-BN bottleneck ResNet (§1.2), the backbone
joiner (§1.2-1.3) and the detector's level projections and heads (§1.3, §1.6-1.7). Every expected value is
a closed form from the spec on tiny hand-made inputs (ramps, constants, weights set to 0/1/identity); no
test compares discmot with itself.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from discmot.models.backbones.joiner import build_backbone
from discmot.models.backbones.resnet import Bottleneck, FrozenBatchNorm2d, ResNet
from discmot.models.detr.deformable_attention import MSDeformAttn
from discmot.models.detr.deformable_detr import MLP, DeformableDETR, build_input_projections
from discmot.models.detr.position import PositionEmbeddingSine
from discmot.models.fdta.config import ResNetConfig, SpatialAdapterConfig, preset
from discmot.ops import deform_attn
from discmot.ops.deform_attn import ms_deform_attn, ms_deform_attn_pytorch

# --- helpers -------------------------------------------------------------------------------------------


def levels_of(*shapes: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """``spatial_shapes [L, 2]`` and ``level_start_index [L]`` (running sums of ``H_l * W_l``)."""
    starts, total = [], 0
    for height, width in shapes:
        starts.append(total)
        total += height * width
    return torch.tensor(shapes, dtype=torch.long), torch.tensor(starts, dtype=torch.long)


def location_of_pixel(px: float, py: float, height: int, width: int) -> tuple[float, float]:
    """§1.5: the normalised location sampled at pixel coordinates ``(px, py)`` is ``((px + 0.5) / W,
    (py + 0.5) / H)`` (pixel centres at integer coordinates)."""
    return (px + 0.5) / width, (py + 0.5) / height


# Level 0: 2 x 3 ramp v(px, py) = 1 + px + 3 py  ->  [[1, 2, 3], [4, 5, 6]];  level 1: 1 x 2 map [10, 20].
RAMP = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
SMALL = [[10.0, 20.0]]


def two_level_value() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``value [1, 8, 1, 1]`` (level 0 row-major, then level 1), shapes, starts."""
    flat = [v for row in RAMP for v in row] + [v for row in SMALL for v in row]
    value = torch.tensor(flat, dtype=torch.float64).view(1, 8, 1, 1)
    shapes, starts = levels_of((2, 3), (1, 2))
    return value, shapes, starts


def one_sample(
    value: torch.Tensor,
    shapes: torch.Tensor,
    starts: torch.Tensor,
    level: int,
    location: tuple[float, float],
) -> float:
    """``ms_deform_attn`` with one head, one query, one point per level and weight 1 on ``level`` only."""
    levels = shapes.shape[0]
    locations = torch.full((1, 1, 1, levels, 1, 2), 0.5, dtype=torch.float64)
    locations[0, 0, 0, level, 0] = torch.tensor(location, dtype=torch.float64)
    weights = torch.zeros(1, 1, 1, levels, 1, dtype=torch.float64)
    weights[0, 0, 0, level, 0] = 1.0
    return ms_deform_attn(value, shapes, starts, locations, weights).item()


# --- the sampling op (§1.5) -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("px", "py", "expected"),
    [
        (0.75, 0.25, 2.5),  # inside: the ramp is bilinear, 1 + 0.75 + 3 * 0.25
        (1.0, 1.0, 5.0),  # exactly on a pixel centre: that pixel
        (2.0, 0.0, 3.0),  # the last column's centre
        (-0.5, -0.5, 0.25),  # location (0, 0), the outer corner: a quarter of pixel (0, 0), zeros around
        (2.5, 1.5, 1.5),  # location (1, 1): a quarter of pixel (1, 2) = 6
        (2.5, 0.0, 1.5),  # half a pixel right of the last column: half of 3
        (-1.0, 0.0, 0.0),  # a whole pixel left of the map: nothing
    ],
)
def test_the_sampling_op_is_bilinear_at_pixel_p_times_size_minus_half_with_zeros_outside(px, py, expected):
    """§1.5: the sample of ``V_l`` at location ``p`` is the bilinear interpolation at pixel
    ``(p_x W - 0.5, p_y H - 0.5)``, zero outside the map (``grid_sample`` zeros, align_corners=False)."""
    value, shapes, starts = two_level_value()
    got = one_sample(value, shapes, starts, 0, location_of_pixel(px, py, 2, 3))
    assert got == pytest.approx(expected, abs=1e-12)


def test_the_second_level_is_read_from_its_start_index_with_its_own_size():
    """Level 1 (1 x 2, starting at token 6) sampled at the centre of its pixel 1 gives 20; at its left
    outer edge, vertically centred, half of pixel 0 (10 / 2)."""
    value, shapes, starts = two_level_value()
    assert one_sample(value, shapes, starts, 1, (0.75, 0.5)) == pytest.approx(20.0, abs=1e-12)
    assert one_sample(value, shapes, starts, 1, (0.0, 0.5)) == pytest.approx(5.0, abs=1e-12)


def test_samples_of_all_levels_and_points_are_summed_with_their_weights():
    """§1.5: ``out = sum_{l,k} A_lk sample_lk`` (weights used as given, no normalisation in the op).

    Level 0, point 0 at pixel (0.75, 0.25) -> 2.5 with weight 0.5; level 0, point 1 at pixel (0, 1) -> 4
    with weight -1; level 1, point 0 at pixel 1 -> 20 with weight 2; level 1, point 1 outside -> 0 with
    weight 7. Total 0.5 * 2.5 - 4 + 2 * 20 = 37.25.
    """
    value, shapes, starts = two_level_value()
    locations = torch.zeros(1, 1, 1, 2, 2, 2, dtype=torch.float64)
    locations[0, 0, 0, 0, 0] = torch.tensor(location_of_pixel(0.75, 0.25, 2, 3), dtype=torch.float64)
    locations[0, 0, 0, 0, 1] = torch.tensor(location_of_pixel(0.0, 1.0, 2, 3), dtype=torch.float64)
    locations[0, 0, 0, 1, 0] = torch.tensor(location_of_pixel(1.0, 0.0, 1, 2), dtype=torch.float64)
    locations[0, 0, 0, 1, 1] = torch.tensor([-0.75, 0.5], dtype=torch.float64)
    weights = torch.tensor([[0.5, -1.0], [2.0, 7.0]], dtype=torch.float64).view(1, 1, 1, 2, 2)
    for run in (ms_deform_attn, ms_deform_attn_pytorch):
        got = run(value, shapes, starts, locations, weights)
        assert got.shape == (1, 1, 1)
        assert got.item() == pytest.approx(37.25, abs=1e-12)
    # the same with the level sizes given as Python ints (the no-sync path)
    got = ms_deform_attn(value, shapes, starts, locations, weights, level_shapes=[(2, 3), (1, 2)])
    assert got.item() == pytest.approx(37.25, abs=1e-12)


def test_output_channels_are_head_major_and_frames_queries_heads_stay_apart():
    """``[B, Q, M * Dh]`` with channel ``h * Dh + c`` = head h, channel c. Each (frame b, head h, channel
    c) value map is the constant ``100 b + 10 h + c + 1`` and every location is a pixel centre, so a sample
    is that constant; the weights of (b, q, h, k) are ``(q + 1) * (k + 1) * (h + 1)``."""
    batch, queries, heads, head_dim, points = 2, 3, 2, 4, 2
    shapes, starts = levels_of((3, 4))
    b, h, c = torch.meshgrid(torch.arange(batch), torch.arange(heads), torch.arange(head_dim), indexing="ij")
    constants = (100 * b + 10 * h + c + 1).double()  # [B, M, Dh]
    value = constants[:, None].expand(batch, 12, heads, head_dim).contiguous()
    generator = torch.Generator().manual_seed(0)
    pixel_x = torch.randint(0, 4, (batch, queries, heads, 1, points), generator=generator).double()
    pixel_y = torch.randint(0, 3, (batch, queries, heads, 1, points), generator=generator).double()
    locations = torch.stack([(pixel_x + 0.5) / 4, (pixel_y + 0.5) / 3], -1)
    q = torch.arange(queries).view(1, queries, 1, 1, 1)
    k = torch.arange(points).view(1, 1, 1, 1, points)
    m = torch.arange(heads).view(1, 1, heads, 1, 1)
    weights = ((q + 1) * (k + 1) * (m + 1)).double().expand(batch, queries, heads, 1, points).contiguous()
    got = ms_deform_attn(value, shapes, starts, locations, weights)
    assert got.shape == (batch, queries, heads * head_dim)
    for bb in range(batch):
        for qq in range(queries):
            for hh in range(heads):
                for cc in range(head_dim):
                    weight_sum = (qq + 1) * (1 + 2) * (hh + 1)  # sum over k of (k + 1)
                    expected = weight_sum * (100 * bb + 10 * hh + cc + 1)
                    assert got[bb, qq, hh * head_dim + cc].item() == pytest.approx(expected, abs=1e-9)


def test_the_registration_check_problem_has_locations_outside_both_edges():
    """`random_problem` (the input a fused kernel must match the reference on) promises locations in
    ``[-0.2, 1.2]``: some below 0 and some above 1 on both axes, so the zero padding on every side is
    part of the check."""
    value, shapes, starts, locations, weights = deform_attn.random_problem()
    assert value.shape[0] == 2 and shapes.shape == (3, 2)  # 2 frames, 3 levels
    # every level non-square (a kernel swapping H and W fails the check), starts = running sums of H W
    assert all(height != width for height, width in shapes.tolist())
    sizes = [height * width for height, width in shapes.tolist()]
    assert starts.tolist() == [0, sizes[0], sizes[0] + sizes[1]] and value.shape[1] == sum(sizes)
    for axis in (0, 1):
        coordinate = locations[..., axis]
        assert coordinate.min() < 0 and coordinate.max() > 1
        assert coordinate.min() >= -0.2 and coordinate.max() <= 1.2
    assert (weights >= 0).all() and (weights <= 1).all()


def test_the_registration_check_problem_is_seeded_and_follows_a_given_generator():
    """`random_problem` draws from a generator seeded 0 unless one is given: two default calls agree (the
    check is reproducible), a generator with another seed gives other values."""
    first, again = deform_attn.random_problem(), deform_attn.random_problem()
    other = deform_attn.random_problem(generator=torch.Generator().manual_seed(5))
    for a, b in zip(first, again, strict=True):
        assert torch.equal(a, b)
    assert not torch.equal(first[0], other[0]) and not torch.equal(first[3], other[3])


def test_a_fused_kernel_with_the_wrong_output_shape_is_refused_with_a_value_error():
    """`register_fused_kernel` refuses a kernel whose output does not match the reference (here one
    channel short) with ``ValueError`` naming the shape, and registers nothing."""

    def short(*args):
        return ms_deform_attn_pytorch(*args)[..., :-1]

    with pytest.raises(ValueError, match="shape"):
        deform_attn.register_fused_kernel("cpu", short)
    assert "cpu" not in deform_attn._FUSED_KERNELS


def test_a_refused_kernel_is_reported_with_its_largest_absolute_difference():
    """The refusal names how far the kernel is off: the largest absolute difference to the reference
    (here one element off by 0.25, every other exact)."""

    def one_element_off(*args):
        output = ms_deform_attn_pytorch(*args).clone()
        output[1, 2, 3] -= 0.25
        return output

    with pytest.raises(ValueError, match=r"\(0\.25\)"):
        deform_attn.register_fused_kernel("cpu", one_element_off)


# --- MSDeformAttn (§1.5) ----------------------------------------------------------------------------


def identity_attention(levels: int = 2, points: int = 1, heads: int = 1, dim: int = 2) -> MSDeformAttn:
    """An `MSDeformAttn` whose value/output projections are the identity and whose offset/weight
    layers are zero (offsets and attention logits then come from their biases only)."""
    module = MSDeformAttn(d_model=dim, n_levels=levels, n_heads=heads, n_points=points).double()
    with torch.no_grad():
        for projection in (module.value_proj, module.output_proj):
            projection.weight.copy_(torch.eye(dim, dtype=torch.float64))
            projection.bias.zero_()
        for layer in (module.sampling_offsets, module.attention_weights):
            layer.weight.zero_()
            layer.bias.zero_()
    return module


def test_the_default_module_has_the_spec_sizes_and_initialisation():
    """§1.5: by default M = 8 heads, L = 4 levels, K = 4 points on d = 256: ``sampling_offsets``
    Linear(256 -> 8 4 4 2 = 256), ``attention_weights`` Linear(256 -> 128), value/output projections
    256 -> 256. Init: offset weights 0, attention weights and bias 0, projection biases 0 (their weights
    xavier, i.e. not zero)."""
    module = MSDeformAttn()
    assert (module.d_model, module.n_levels, module.n_heads, module.n_points) == (256, 4, 8, 4)
    shapes = {name: tuple(p.shape) for name, p in module.named_parameters()}
    assert shapes == {
        "sampling_offsets.weight": (256, 256),
        "sampling_offsets.bias": (256,),
        "attention_weights.weight": (128, 256),
        "attention_weights.bias": (128,),
        "value_proj.weight": (256, 256),
        "value_proj.bias": (256,),
        "output_proj.weight": (256, 256),
        "output_proj.bias": (256,),
    }
    for name in ("sampling_offsets.weight", "attention_weights.weight", "attention_weights.bias"):
        assert torch.count_nonzero(module.get_parameter(name)) == 0, name
    for projection in (module.value_proj, module.output_proj):
        assert torch.count_nonzero(projection.bias) == 0
        bound = math.sqrt(6 / (256 + 256))  # xavier-uniform
        assert projection.weight.abs().max() <= bound and projection.weight.std() > bound / 3


def test_a_model_width_not_divisible_by_the_head_count_is_refused():
    """§1.5 splits ``d_model`` into equal heads (256 = 8 x 32): 10 channels cannot make 3 heads."""
    with pytest.raises(ValueError, match="divisible"):
        MSDeformAttn(d_model=10, n_levels=1, n_heads=3, n_points=1)
    assert MSDeformAttn(d_model=12, n_levels=1, n_heads=3, n_points=1).d_model == 12


def test_a_point_reference_moves_by_offsets_in_pixels_of_each_level():
    """§1.5, 2-d reference: ``p = r_l + delta / (W_l, H_l)``. Level 0 is 2 x 4 (H x W), level 1 is
    8 x 16; offset (1, 3) moves (0.25, 0.5) to (0.25 + 1/4, 0.5 + 3/2) and (0.5, 0.25) to
    (0.5 + 1/16, 0.25 + 3/8)."""
    module = identity_attention(levels=2, points=1)
    reference = torch.tensor([[0.25, 0.5], [0.5, 0.25]], dtype=torch.float64).view(1, 1, 2, 2)
    offsets = torch.tensor([1.0, 3.0], dtype=torch.float64).expand(1, 1, 1, 2, 1, 2)
    shapes = torch.tensor([[2, 4], [8, 16]])
    got = module.sampling_locations(offsets, reference, shapes)
    assert got.shape == (1, 1, 1, 2, 1, 2)
    torch.testing.assert_close(got[0, 0, 0, 0, 0], torch.tensor([0.5, 2.0], dtype=torch.float64))
    torch.testing.assert_close(got[0, 0, 0, 1, 0], torch.tensor([0.5625, 0.625], dtype=torch.float64))


def test_a_box_reference_moves_by_offsets_in_units_of_half_the_box_over_the_point_count():
    """§1.5, 4-d reference ``(cx, cy, w, h)``: ``p = r_xy + delta / K * r_wh * 0.5``. With K = 2, box
    (0.5, 0.4, 0.2, 0.6) and offset (1, -2): (0.5 + 1/2 * 0.2 * 0.5, 0.4 - 2/2 * 0.6 * 0.5) = (0.55, 0.1);
    the level's pixel size plays no part."""
    module = identity_attention(levels=1, points=2)
    reference = torch.tensor([0.5, 0.4, 0.2, 0.6], dtype=torch.float64).view(1, 1, 1, 4)
    offsets = torch.tensor([1.0, -2.0], dtype=torch.float64).expand(1, 1, 1, 1, 2, 2)
    got = module.sampling_locations(offsets, reference, torch.tensor([[3, 7]]))
    assert got.shape == (1, 1, 1, 1, 2, 2)
    expected = torch.tensor([0.55, 0.1], dtype=torch.float64).expand(2, 2)
    torch.testing.assert_close(got[0, 0, 0, 0], expected)


def test_a_reference_that_is_neither_a_point_nor_a_box_is_refused():
    """§1.5 knows 2-d references (points) and 4-d references (boxes) only; 3 coordinates are an error,
    not a box with a missing height. (Four levels, so the level axis has the size of a box.)"""
    module = identity_attention(levels=4, points=2)
    offsets = torch.zeros(1, 1, 1, 4, 2, 2, dtype=torch.float64)
    reference = torch.full((1, 1, 4, 3), 0.5, dtype=torch.float64)
    with pytest.raises(ValueError, match="2 or 4"):
        module.sampling_locations(offsets, reference, torch.tensor([[3, 7]] * 4))


def softmax_setup() -> tuple[MSDeformAttn, dict]:
    """Two 1 x 1 levels holding values (4, 0) and (0, 8); attention logits (0, ln 3) for the two levels
    (one point each), two identical queries at the centre with zero offsets."""
    module = identity_attention(levels=2, points=1, heads=1, dim=2)
    with torch.no_grad():
        module.attention_weights.bias.copy_(torch.tensor([0.0, math.log(3.0)], dtype=torch.float64))
    shapes, starts = levels_of((1, 1), (1, 1))
    inputs = {
        "query": torch.zeros(1, 2, 2, dtype=torch.float64),
        "reference_points": torch.full((1, 2, 2, 2), 0.5, dtype=torch.float64),
        "value": torch.tensor([[[4.0, 0.0], [0.0, 8.0]]], dtype=torch.float64),
        "spatial_shapes": shapes,
        "level_start_index": starts,
    }
    return module, inputs


def test_attention_weights_are_one_softmax_over_all_levels_and_points_of_a_head():
    """§1.5: ``A = softmax over the L * K entries`` per head: logits (0, ln 3) give weights (1/4, 3/4),
    so the output is (4 / 4, 8 * 3 / 4) = (1, 6) for each of the two queries (a softmax over the queries
    or per level would give 1/2 or 1)."""
    module, inputs = softmax_setup()
    got = module(**inputs)
    expected = torch.tensor([[1.0, 6.0], [1.0, 6.0]], dtype=torch.float64)[None]
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)


def test_padded_values_are_zeroed_after_the_value_projection():
    """§1.5: ``V = value_proj(x)`` is zeroed at padded positions. With the second level padded and a value
    projection bias of (1, 1) the unpadded level gives (4 + 1) / 4 on channel 0 and 1 / 4 on channel 1, the
    padded one nothing (not its bias): (1.25, 0.25)."""
    module, inputs = softmax_setup()
    with torch.no_grad():
        module.value_proj.bias.fill_(1.0)
    mask = torch.tensor([[False, True]])
    got = module(**inputs, padding_mask=mask)
    expected = torch.tensor([[1.25, 0.25], [1.25, 0.25]], dtype=torch.float64)[None]
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)
    # without the mask the second level (1, 9) counts with weight 3/4: (1.25 + 0.75, 0.25 + 6.75)
    unmasked = module(**inputs)
    torch.testing.assert_close(unmasked[0, 0], torch.tensor([2.0, 7.0], dtype=torch.float64))


# --- sine position encoding (§1.3) -----------------------------------------------------------------


def test_the_default_sine_encoding_has_128_features_per_axis_and_odd_counts_are_refused():
    """§1.3: 128 features per axis (256 channels, y first), temperature 10000, normalised with scale
    2 pi. At the single valid pixel of a 1 x 1 map y_hat = x_hat = 0.5 / (1 + 1e-6) 2 pi ~ pi, so channel
    2k is sin(pi / 10000^(2k/128)) and channel 2k + 1 its cosine. An odd feature count has no sin/cos
    pairing."""
    encoding = PositionEmbeddingSine()(torch.zeros(1, 1, 1, dtype=torch.bool))
    assert encoding.shape == (1, 256, 1, 1)
    angle = 0.5 / (1 + 1e-6) * 2 * math.pi
    for k in (0, 1, 10, 63):
        omega = 10000 ** (2 * k / 128)
        for offset in (0, 128):  # y part, then x part
            assert encoding[0, offset + 2 * k, 0, 0].item() == pytest.approx(
                math.sin(angle / omega), abs=1e-5
            )
            assert encoding[0, offset + 2 * k + 1, 0, 0].item() == pytest.approx(
                math.cos(angle / omega), abs=1e-5
            )
    with pytest.raises(ValueError, match="even"):
        PositionEmbeddingSine(7)


def test_without_normalisation_positions_are_the_one_based_valid_counts():
    """DETR's ``normalize=False`` variant: y and x are the raw cumulative counts of valid pixels (1-based),
    fed to the same sin/cos channels: at row i, column j of an unpadded map channel 0 is sin(i + 1) and
    channel 1 cos(i + 1); with 4 features per axis channel 4 is sin(j + 1), channel 6 sin((j + 1) / 100)."""
    mask = torch.zeros(1, 2, 3, dtype=torch.bool)
    encoding = PositionEmbeddingSine(4, normalize=False)(mask, torch.float64)
    for i in range(2):
        for j in range(3):
            expected = [
                math.sin(i + 1),
                math.cos(i + 1),
                math.sin((i + 1) / 100),
                math.cos((i + 1) / 100),
                math.sin(j + 1),
                math.cos(j + 1),
                math.sin((j + 1) / 100),
                math.cos((j + 1) / 100),
            ]
            assert encoding[0, :, i, j].tolist() == pytest.approx(expected, abs=1e-6)


# --- the frozen-BN bottleneck ResNet (§1.2) ----------------------------------------------------------


def frozen_bn(bn: FrozenBatchNorm2d, x: torch.Tensor) -> torch.Tensor:
    """§1.2: ``y = x s + (b - mu s)``, ``s = w / sqrt(var + 1e-5)``."""
    scale = bn.weight / torch.sqrt(bn.running_var + 1e-5)
    return x * scale[:, None, None] + (bn.bias - bn.running_mean * scale)[:, None, None]


def randomise_buffers(module: nn.Module, seed: int) -> None:
    """Random frozen-BN statistics and affine terms (so no identity norm hides a wrong path)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for bn in module.modules():
            if isinstance(bn, FrozenBatchNorm2d):
                shape = bn.weight.shape
                bn.weight.copy_(torch.rand(shape, generator=generator, dtype=torch.float64) + 0.5)
                bn.bias.copy_(torch.randn(shape, generator=generator, dtype=torch.float64) * 0.3)
                bn.running_mean.copy_(torch.randn(shape, generator=generator, dtype=torch.float64) * 0.3)
                bn.running_var.copy_(torch.rand(shape, generator=generator, dtype=torch.float64) + 0.5)


def test_a_bottleneck_with_equal_channels_and_stride_1_adds_the_input_itself():
    """torchvision's bottleneck: the shortcut is the identity when neither stride nor channels change.
    With every conv zero the block is ``relu(bn3(0) + x) = relu(x + b3 - mu3 s3)``."""
    block = Bottleneck(8, 2, 4).double()
    assert block.downsample is None
    randomise_buffers(block, 0)
    with torch.no_grad():
        for conv in (block.conv1, block.conv2, block.conv3):
            conv.weight.zero_()
    x = torch.randn(2, 8, 5, 6, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    expected = F.relu(x + frozen_bn(block.bn3, torch.zeros_like(x)))
    torch.testing.assert_close(block(x), expected, rtol=0, atol=1e-12)


def test_a_strided_bottleneck_projects_the_shortcut_from_every_second_pixel():
    """v1.5 (§1.2): the downsample is a 1x1 stride-2 conv (pixels 0, 2, 4, ...: n -> ceil(n / 2)) and a
    frozen BN. With the main path's last conv zero and an identity downsample conv, the block is
    ``relu(bn3(0) + bn_d(x[:, :, ::2, ::2]))``."""
    block = Bottleneck(4, 1, 4, stride=2).double()
    randomise_buffers(block, 2)
    with torch.no_grad():
        block.conv3.weight.zero_()
        block.downsample[0].weight.copy_(torch.eye(4, dtype=torch.float64)[:, :, None, None])
    x = torch.randn(1, 4, 5, 7, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    shortcut = frozen_bn(block.downsample[1], x[:, :, ::2, ::2])
    expected = F.relu(frozen_bn(block.bn3, torch.zeros_like(shortcut)) + shortcut)
    got = block(x)
    assert got.shape == (1, 4, 3, 4)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)


def reference_bottleneck(block: Bottleneck, x: torch.Tensor, stride: int) -> torch.Tensor:
    """§1.2 v1.5 bottleneck with functional convs: 1x1, 3x3 (stride, padding 1), 1x1, each with its frozen
    BN (ReLU after the first two), plus the shortcut (1x1 stride conv + BN when it projects), then ReLU."""
    out = F.relu(frozen_bn(block.bn1, F.conv2d(x, block.conv1.weight)))
    out = F.relu(frozen_bn(block.bn2, F.conv2d(out, block.conv2.weight, stride=stride, padding=1)))
    out = frozen_bn(block.bn3, F.conv2d(out, block.conv3.weight))
    if block.downsample is None:
        shortcut = x
    else:
        shortcut = frozen_bn(block.downsample[1], F.conv2d(x, block.downsample[0].weight, stride=stride))
    return F.relu(out + shortcut)


def test_resnet_forward_matches_the_torchvision_layout_written_out():
    """§1.2: stem = 7x7/2 conv (padding 3), frozen BN, ReLU, 3x3/2 max-pool (padding 1); stage i has
    width ``w 2^(i-1)``, its first block strided (stride 1 for layer1, 2 after) and projecting; the
    outputs are layer2, layer3, layer4 (strides 8, 16, 32). Two blocks per stage, so the identity blocks
    run too; random convs and BN buffers, float64."""
    torch.manual_seed(0)
    config = ResNetConfig(blocks=(2, 2, 2, 2), width=4, expansion=2)
    resnet = ResNet(config).double().eval()
    randomise_buffers(resnet, 4)
    images = torch.randn(1, 3, 37, 50, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    x = F.conv2d(images, resnet.conv1.weight, stride=2, padding=3)
    x = F.max_pool2d(F.relu(frozen_bn(resnet.bn1, x)), kernel_size=3, stride=2, padding=1)
    expected = []
    for index, stage in enumerate((resnet.layer1, resnet.layer2, resnet.layer3, resnet.layer4)):
        for position, block in enumerate(stage):
            assert (block.downsample is None) == (position > 0)  # widths 4, 8, 16, 32 times 2
            assert block.conv2.out_channels == 4 * 2**index
            x = reference_bottleneck(block, x, 2 if position == 0 and index > 0 else 1)
        if index > 0:
            expected.append(x)
    with torch.no_grad():
        got = resnet(images)
    assert [tuple(level.shape) for level in got] == [(1, 16, 5, 7), (1, 32, 3, 4), (1, 64, 2, 2)]
    assert resnet.num_channels == (16, 32, 64) and resnet.strides == (8, 16, 32)
    for level, reference in zip(got, expected, strict=True):
        torch.testing.assert_close(level, reference, rtol=0, atol=1e-10)


def test_the_backbone_splits_hidden_dim_into_two_axes_of_sine_cosine_pairs():
    """§1.3: the PE has ``hidden_dim / 2`` channels per axis made of sin/cos pairs, so ``hidden_dim`` must
    be a multiple of 4 (256 -> 128 per axis); 30 is refused, 12 gives 6 channels per axis."""
    config = ResNetConfig(blocks=(1, 1, 1, 1), width=2, expansion=2)
    with pytest.raises(ValueError, match="multiple of 4"):
        build_backbone(config, 30)
    backbone = build_backbone(config, 12).eval()
    with torch.no_grad():
        _, masks, positions = backbone(torch.zeros(1, 3, 16, 24))
    assert [tuple(p.shape) for p in positions] == [(1, 12, 2, 3), (1, 12, 1, 2), (1, 12, 1, 1)]
    assert not any(m.any() for m in masks)
    # §1.2: levels layer2..4 at strides 8, 16, 32 with 2, 4, 8 times the stem width times the expansion
    assert backbone.strides == (8, 16, 32) and backbone.num_channels == (8, 16, 32)


# --- detector heads and input projections (§1.3, §1.7) ---------------------------------------------


def test_the_box_mlp_has_relu_between_its_layers_but_not_after_the_last():
    """§1.6: ``bbox_embed`` is a 3-layer MLP with ReLU between the layers. Scalar layers x -> x, x -> 1 - x,
    x -> x - 3. Input -2: -2 (ReLU 0) -> 1 (ReLU 1) -> -2. Input 3: 3 (ReLU 3) -> -2 (ReLU 0) -> -3.
    (Without the first ReLU -2 would give 0, without the second 3 would give -5, a ReLU after the last
    layer would give 0.)"""
    mlp = MLP(1, 1, 1, 3).double()
    with torch.no_grad():
        for layer, (weight, bias) in zip(mlp.layers, ((1.0, 0.0), (-1.0, 1.0), (1.0, -3.0)), strict=True):
            layer.weight.fill_(weight)
            layer.bias.fill_(bias)
    got = mlp(torch.tensor([[-2.0], [3.0]], dtype=torch.float64))
    assert got.flatten().tolist() == [-2.0, -3.0]
    assert [(layer.in_features, layer.out_features) for layer in MLP(6, 5, 4, 3).layers] == [
        (6, 5),
        (5, 5),
        (5, 4),
    ]


def test_extra_levels_are_3x3_stride_2_convs_the_first_on_the_last_backbone_level():
    """§1.3: one 1x1 projection per backbone level, then a 3x3 stride-2 padding-1 conv on the raw last
    backbone level (its channels in), each followed by GroupNorm; a further extra level would read the
    previous one (``hidden_dim`` channels in). With fewer levels than backbone levels only the first ones
    are projected."""
    projections = build_input_projections((8, 16, 32), 5, 12, 4)
    convs = [projection[0] for projection in projections]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.stride, c.padding) for c in convs] == [
        (8, 12, (1, 1), (1, 1), (0, 0)),
        (16, 12, (1, 1), (1, 1), (0, 0)),
        (32, 12, (1, 1), (1, 1), (0, 0)),
        (32, 12, (3, 3), (2, 2), (1, 1)),
        (12, 12, (3, 3), (2, 2), (1, 1)),
    ]
    assert all(isinstance(p[1], nn.GroupNorm) and p[1].num_groups == 4 for p in projections)
    assert all(torch.count_nonzero(conv.bias) == 0 for conv in convs)
    # xavier-uniform with gain 1: |w| <= sqrt(6 / (fan_in + fan_out)), fans counting the kernel area
    for conv in convs:
        area = conv.kernel_size[0] * conv.kernel_size[1]
        bound = math.sqrt(6 / (conv.in_channels * area + conv.out_channels * area))
        assert conv.weight.abs().max() <= bound and conv.weight.abs().max() > bound / 2
    assert [p[0].in_channels for p in build_input_projections((8, 16, 32), 2, 12, 4)] == [8, 16]


def test_each_extra_level_reads_the_one_before_with_a_nearest_mask_and_its_own_sine_encoding():
    """§1.3 with a fifth level: level 3 = ``input_proj[3]`` of the raw last backbone level, level 4 =
    ``input_proj[4]`` of level 3; sizes halve (ceil): 100 x 130 -> 13 x 17, 7 x 9, 4 x 5, 2 x 3, 1 x 2.
    Right half padded (columns >= 65): nearest column sources floor(j * 130 / 3) = 0, 43, 86 for level 3
    and 0, 65 for level 4. Level 4's one valid pixel has y = x = 1 valid of 1, so its normalised
    position is 0.5 / (1 + 1e-6) 2 pi ~ pi: channel 0 (y, sin) ~ 0, channel 1 (y, cos) ~ -1, same for x."""
    base = preset("tiny", spatial=SpatialAdapterConfig(enabled=False))
    config = replace(base, detr=replace(base.detr, num_feature_levels=5))
    torch.manual_seed(0)
    model = DeformableDETR(config).eval()
    images = torch.randn(1, 3, 100, 130, generator=torch.Generator().manual_seed(6))
    mask = torch.zeros(1, 100, 130, dtype=torch.bool)
    mask[:, :, 65:] = True
    with torch.no_grad():
        features, masks, positions = model.backbone(images, mask)
        srcs, masks, positions = model.project_levels(features, masks, positions, mask)
        assert [tuple(s.shape[-2:]) for s in srcs] == [(13, 17), (7, 9), (4, 5), (2, 3), (1, 2)]
        torch.testing.assert_close(srcs[3], model.input_proj[3](features[2]), rtol=0, atol=0)
        torch.testing.assert_close(srcs[4], model.input_proj[4](srcs[3]), rtol=0, atol=0)
    assert masks[3].tolist() == [[[False, False, True], [False, False, True]]]
    assert masks[4].tolist() == [[[False, True]]]
    assert positions[4].shape == (1, 32, 1, 2) and positions[4].dtype == torch.float32
    for channel, expected in ((0, 0.0), (1, -1.0), (16, 0.0), (17, -1.0)):
        assert positions[4][0, channel, 0, 0].item() == pytest.approx(expected, abs=1e-4)


def test_the_output_dict_takes_the_last_layer_and_each_layer_refines_the_previous_box():
    """§1.6-1.7 with 3 decoder layers. Class heads of layers 0 and 1 set to constants 0 and 10, so
    ``aux_outputs`` logits are 0, 10 in layer order; the last class head is ``sum_c c h_c + 20``, so
    ``pred_logits`` must be that function of ``outputs`` (the last layer's hidden state, the object
    embedding). Box heads set to constant deltas ``(0, 0, b_l, b_l)`` with b = (-2, 0.5, 1): layer 0 refines
    a point, so its w, h are sigmoid(b_0); a later layer adds its delta to the logit of the previous
    layer's box: sigmoid(b_0 + b_1), then sigmoid(b_0 + b_1 + b_2). The centres stay at the initial
    reference ``sigmoid(reference_points(q_pos))``."""
    base = preset("tiny", spatial=SpatialAdapterConfig(enabled=False))
    config = replace(base, detr=replace(base.detr, dec_layers=3))
    torch.manual_seed(0)
    model = DeformableDETR(config).eval()
    deltas = (-2.0, 0.5, 1.0)
    with torch.no_grad():
        for layer in range(3):
            model.class_embed[layer].weight.zero_()
            model.class_embed[layer].bias.fill_(10.0 * layer)
            last = model.bbox_embed[layer].layers[-1]
            last.weight.zero_()
            last.bias.copy_(torch.tensor([0.0, 0.0, deltas[layer], deltas[layer]]))
        channel_weights = torch.arange(32, dtype=torch.float32)
        model.class_embed[2].weight.copy_(channel_weights[None])
        out = model.detect(torch.randn(1, 3, 64, 80, generator=torch.Generator().manual_seed(7)))
        hidden = model.query_embed.weight.shape[1] // 2
        centres = model.transformer.reference_points(model.query_embed.weight[:, :hidden]).sigmoid()
    assert out["outputs"].shape == (1, 20, 32) and out["pred_logits"].shape == (1, 20, 1)
    expected_logits = (out["outputs"] * channel_weights).sum(-1, keepdim=True) + 20.0
    torch.testing.assert_close(out["pred_logits"], expected_logits, rtol=0, atol=1e-3)
    assert [aux["pred_logits"].unique().tolist() for aux in out["aux_outputs"]] == [[0.0], [10.0]]
    sizes = [1 / (1 + math.exp(-sum(deltas[: layer + 1]))) for layer in range(3)]
    boxes = [aux["pred_boxes"] for aux in out["aux_outputs"]] + [out["pred_boxes"]]
    for layer_boxes, size in zip(boxes, sizes, strict=True):
        assert layer_boxes.shape == (1, 20, 4)
        torch.testing.assert_close(layer_boxes[0, :, 2:], torch.full((20, 2), size), rtol=0, atol=1e-5)
        torch.testing.assert_close(layer_boxes[0, :, :2], centres, rtol=0, atol=1e-5)
