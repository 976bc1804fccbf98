"""Deformable DETR + Spatial Adapter: the sampling op, the key/shape contract, shapes, LID, precision."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest
import torch

from discmot.models.detr.deformable_attention import MSDeformAttn
from discmot.models.detr.deformable_detr import DeformableDETR
from discmot.models.detr.transformer import encoder_reference_points, valid_ratios
from discmot.models.fdta.config import SpatialAdapterConfig, preset
from discmot.models.fdta.spatial_adapter import lid_bin_values, lid_target_classes
from discmot.ops import deform_attn
from discmot.ops.deform_attn import ms_deform_attn, register_fused_kernel, unregister_fused_kernel
from helpers import shared_file

SPEC_KEYS = {"dancetrack": "spec/fdta_state_dict_keys.tsv", "bft": "spec/fdta_bft_state_dict_keys.tsv"}


def unique_parameter_count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in {id(p): p for p in module.parameters()}.values())


def spec_detr_entries(path: Path) -> list[tuple[str, tuple[int, ...]]]:
    """``(key without 'detr.', shape)`` of the spec's non-backbone DETR entries, in file order."""
    entries = []
    for line in path.read_text().splitlines():
        if not line.startswith("detr.") or line.startswith("detr.backbone."):
            continue
        key, shape = line.split("\t")[:2]
        entries.append((key.removeprefix("detr."), tuple(int(n) for n in shape.strip("()").split(",") if n)))
    return entries


def naive_ms_deform_attn(value, spatial_shapes, level_start_index, locations, weights):
    """Per-sample bilinear interpolation with explicit loops (zero outside the map)."""
    batch, _, heads, head_dim = value.shape
    _, queries, _, levels, points, _ = locations.shape
    output = torch.zeros(batch, queries, heads, head_dim, dtype=value.dtype)
    for b in range(batch):
        for q in range(queries):
            for m in range(heads):
                for level in range(levels):
                    height, width = (int(n) for n in spatial_shapes[level])
                    start = int(level_start_index[level])
                    for k in range(points):
                        # pixel centres sit at integer coordinates after the -0.5 shift
                        x = locations[b, q, m, level, k, 0].item() * width - 0.5
                        y = locations[b, q, m, level, k, 1].item() * height - 0.5
                        x0, y0 = math.floor(x), math.floor(y)
                        sample = torch.zeros(head_dim, dtype=value.dtype)
                        for row, weight_y in ((y0, 1 - (y - y0)), (y0 + 1, y - y0)):
                            for column, weight_x in ((x0, 1 - (x - x0)), (x0 + 1, x - x0)):
                                if 0 <= row < height and 0 <= column < width:
                                    pixel = value[b, start + row * width + column, m]
                                    sample += weight_y * weight_x * pixel
                        output[b, q, m] += weights[b, q, m, level, k] * sample
    return output.reshape(batch, queries, heads * head_dim)


@pytest.fixture(scope="module")
def tiny_model() -> DeformableDETR:
    torch.manual_seed(0)
    return DeformableDETR(preset("tiny")).eval()


@pytest.fixture(scope="module")
def full_model() -> DeformableDETR:
    torch.manual_seed(0)
    return DeformableDETR(preset("dancetrack"))


def padded_batch(height: int = 75, width: int = 101) -> tuple[torch.Tensor, torch.Tensor]:
    """Two frames, the second zero-padded bottom/right from 60 x 90."""
    images = torch.randn(2, 3, height, width, generator=torch.Generator().manual_seed(1))
    mask = torch.zeros(2, height, width, dtype=torch.bool)
    mask[1, 60:], mask[1, :, 90:] = True, True
    images[1][:, mask[1]] = 0
    return images, mask


# (a) the sampling op


def test_ms_deform_attn_matches_naive_bilinear_reference():
    value, shapes, starts, locations, weights = deform_attn.random_problem(dtype=torch.float64)
    # Edges and far outside: exactly on the border, a whole map away, half a pixel out.
    locations[0, 0, 0, 0, 0] = torch.tensor([0.0, 0.0], dtype=torch.float64)
    locations[0, 0, 0, 0, 1] = torch.tensor([1.0, 1.0], dtype=torch.float64)
    locations[0, 0, 1, 1, 0] = torch.tensor([-1.0, 2.0], dtype=torch.float64)
    locations[1, 2, 0, 2, 2] = torch.tensor([1.0 + 0.5 / 2, 0.5], dtype=torch.float64)
    expected = naive_ms_deform_attn(value, shapes, starts, locations, weights)
    got = ms_deform_attn(value, shapes, starts, locations, weights)
    assert got.shape == (2, 7, 2 * 3) and got.dtype == torch.float64
    assert torch.allclose(got, expected, atol=1e-12, rtol=0)
    # Entirely outside the map reads nothing.
    only_outside = torch.zeros_like(weights)
    only_outside[0, 0, 1, 1, 0] = 1.0
    assert torch.count_nonzero(ms_deform_attn(value, shapes, starts, locations, only_outside)) == 0


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_ms_deform_attn_low_precision_computes_in_fp32(dtype):
    problem = deform_attn.random_problem(dtype=torch.float64)
    low = [t.to(dtype) if t.is_floating_point() else t for t in problem]
    got = ms_deform_attn(*low)
    assert got.dtype == dtype
    # Exact maths on the rounded inputs, then one rounding to the output format (half an ulp), plus
    # fp32 arithmetic error: far tighter than computing in fp16/bf16 would give.
    expected = ms_deform_attn(*[t.double() if t.is_floating_point() else t for t in low])
    half_ulp = torch.finfo(dtype).eps / 2
    assert ((got.double() - expected).abs() <= half_ulp * expected.abs() + 1e-5).all()


def test_fused_kernel_is_used_only_after_it_checks_equal():
    def wrong(value, *args):
        return deform_attn.ms_deform_attn_pytorch(value, *args) + 1e-6

    calls = []

    def right(*args):
        calls.append(1)
        return deform_attn.ms_deform_attn_pytorch(*args)

    with pytest.raises(ValueError, match="differs"):
        register_fused_kernel("cpu", wrong)
    assert "cpu" not in deform_attn._FUSED_KERNELS
    try:
        register_fused_kernel("cpu", right)
        ms_deform_attn(*deform_attn.random_problem())
        assert len(calls) == 2  # the check, then the call
    finally:
        unregister_fused_kernel("cpu")


def test_level_shapes_replace_reading_the_shape_tensors_back(monkeypatch):
    problem = deform_attn.random_problem(dtype=torch.float64)
    expected = ms_deform_attn(*problem)
    level_shapes = tuple(tuple(shape) for shape in problem[1].tolist())

    def no_sync(self):
        raise AssertionError("a tensor was read back to the host")

    monkeypatch.setattr(torch.Tensor, "tolist", no_sync)
    assert torch.equal(ms_deform_attn(*problem, level_shapes=level_shapes), expected)


def test_detector_forward_never_reads_level_shapes_back(tiny_model, monkeypatch):
    images, mask = padded_batch()
    with torch.no_grad():
        expected = tiny_model.detect(images, mask)
    monkeypatch.setattr(torch.Tensor, "tolist", lambda self: pytest.fail("tensor read back to the host"))
    with torch.no_grad():
        got = tiny_model.detect(images, mask)
    monkeypatch.undo()
    calls = []

    def fused(*args):  # how a registered fused kernel is called: the five tensors, nothing else
        calls.append(len(args))
        return deform_attn.ms_deform_attn_pytorch(*args)

    try:
        register_fused_kernel("cpu", fused)
        calls.clear()
        with torch.no_grad():
            got_fused = tiny_model.detect(images, mask)
    finally:
        unregister_fused_kernel("cpu")
    config = tiny_model.config.detr
    assert calls == [5] * (config.enc_layers + config.dec_layers)
    for key in ("pred_logits", "pred_boxes", "outputs"):
        assert torch.equal(got[key], expected[key]) and torch.equal(got_fused[key], expected[key])


def test_msdeformattn_initial_offsets_and_reference_points():
    attention = MSDeformAttn(d_model=16, n_levels=2, n_heads=8, n_points=3)
    offsets = attention.sampling_offsets.bias.view(8, 2, 3, 2)
    # head 0 looks right (1, 0), head 1 diagonally (1, 1), head 2 down (0, 1); point k at k + 1 steps
    assert torch.allclose(offsets[0, 1, 2], torch.tensor([3.0, 0.0]), atol=1e-6)
    assert torch.allclose(offsets[1, 0, 1], torch.tensor([2.0, 2.0]), atol=1e-6)
    assert torch.allclose(offsets[2, 1, 0], torch.tensor([0.0, 1.0]), atol=1e-6)
    assert torch.count_nonzero(attention.sampling_offsets.weight) == 0
    mask = torch.zeros(1, 4, 6, dtype=torch.bool)
    mask[:, 3:], mask[:, :, 4:] = True, True  # valid 3 rows x 4 columns
    ratios = valid_ratios(mask)
    assert torch.allclose(ratios, torch.tensor([[4 / 6, 3 / 4]]))
    points = encoder_reference_points(torch.tensor([[4, 6]]), ratios[:, None])
    # token (row 2, column 3) is at the centre of the last valid pixel, in units of the valid region
    assert torch.allclose(points[0, 2 * 6 + 3, 0], torch.tensor([3.5 / 4 * 4 / 6, 2.5 / 3 * 3 / 4]))


# (b) checkpoint contract


@pytest.mark.parametrize("name", ["dancetrack", "bft"])
def test_state_dict_keys_and_shapes_match_spec(name, full_model):
    model = full_model if name == "dancetrack" else DeformableDETR(preset(name))
    ours = [(k, tuple(v.shape)) for k, v in model.state_dict().items() if not k.startswith("backbone.")]
    assert ours == spec_detr_entries(shared_file(SPEC_KEYS[name]))
    if name == "bft":
        assert model.depth_predictor.depth_bin_values.shape == (121,)
        assert model.depth_predictor.depth_classifier.weight.shape == (121, 256, 1, 1)


def test_box_heads_shared_with_decoder_and_parameter_counts(full_model):
    state = full_model.state_dict()
    for key in (k for k in state if k.startswith("bbox_embed.")):
        assert state[key].data_ptr() == state[f"transformer.decoder.{key}"].data_ptr()
    depth_attention = sum(
        unique_parameter_count(layer.cross_attn_depth) + unique_parameter_count(layer.norm_depth)
        for layer in full_model.transformer.decoder.layers
    )
    assert unique_parameter_count(full_model.depth_predictor) == 1_814_318
    assert depth_attention == 1_582_080
    assert unique_parameter_count(full_model.backbone) == 23_454_912
    assert unique_parameter_count(full_model) == 44_107_278
    assert not full_model.depth_predictor.depth_bin_values.requires_grad


def test_official_initialisation(full_model):
    prior_bias = -math.log(0.99 / 0.01)
    for layer in range(6):
        assert torch.allclose(full_model.class_embed[layer].bias, torch.tensor([prior_bias]))
        last = full_model.bbox_embed[layer].layers[-1]
        assert torch.count_nonzero(last.weight) == 0
        expected_bias = [0.0, 0.0, -2.0, -2.0] if layer == 0 else [0.0] * 4
        assert last.bias.tolist() == expected_bias
    assert torch.count_nonzero(full_model.transformer.reference_points.bias) == 0
    # Box heads are clones: independent tensors starting from the same values.
    first, second = full_model.bbox_embed[0].layers[0].weight, full_model.bbox_embed[1].layers[0].weight
    assert first.data_ptr() != second.data_ptr() and torch.equal(first, second)


def test_without_spatial_adapter_has_motip_layout():
    config = preset("tiny", spatial=SpatialAdapterConfig(enabled=False))
    model = DeformableDETR(config).eval()
    assert model.depth_predictor is None
    assert not [k for k in model.state_dict() if "depth" in k]
    images, mask = padded_batch()
    with torch.no_grad():
        out = model.detect(images, mask)
    assert out["pred_boxes"].shape == (2, 20, 4)
    assert out["pred_depth_map_logits"] is None and out["weighted_depth"] is None


# (c) shapes of a tiny forward


def test_tiny_forward_shapes_with_padding(tiny_model):
    images, mask = padded_batch(75, 101)
    with torch.no_grad():
        out = tiny_model.detect(images, mask)
    assert out["pred_logits"].shape == (2, 20, 1)
    assert out["pred_boxes"].shape == (2, 20, 4)
    assert ((out["pred_boxes"] > 0) & (out["pred_boxes"] < 1)).all()
    assert out["outputs"].shape == (2, 20, 32)
    assert len(out["aux_outputs"]) == 1
    assert out["aux_outputs"][0]["pred_boxes"].shape == (2, 20, 4)
    # stride-8 grid: ceil(75 / 8) x ceil(101 / 8); 16 LID bins + out of range
    assert out["pred_depth_map_logits"].shape == (2, 17, 10, 13)
    assert out["weighted_depth"].shape == (2, 10, 13)
    assert ((out["weighted_depth"] >= 1e-3) & (out["weighted_depth"] <= 256)).all()
    assert torch.isfinite(out["outputs"]).all()


def test_depth_branch_gradients_stay_in_the_depth_predictor(tiny_model):
    model = copy.deepcopy(tiny_model).train()
    out = model.detect(*padded_batch())
    watched = {
        "input_proj": model.input_proj[0][0].weight,
        "depth_head": model.depth_predictor.depth_head[0].weight,
        "depth_encoder": model.depth_predictor.depth_encoder.layers[0].linear1.weight,
        "cross_attn_depth": model.transformer.decoder.layers[0].cross_attn_depth.in_proj_weight,
    }

    def reached(loss: torch.Tensor) -> set[str]:
        grads = torch.autograd.grad(loss, list(watched.values()), retain_graph=True, allow_unused=True)
        return {name for name, grad in zip(watched, grads, strict=True) if grad is not None}

    # The depth loss trains the depth head only (inputs detached, the encoder feeds the decoder alone).
    assert reached(out["pred_depth_map_logits"].sum() + out["weighted_depth"].sum()) == {"depth_head"}
    # Detection losses reach the depth encoder/PE through the decoder's depth cross-attention.
    assert reached(out["pred_boxes"].sum()) == set(watched)


# (d) LID discretisation


def test_lid_bin_values():
    values = lid_bin_values(150, 1e-3, 256.0)
    assert values.shape == (151,) and values.dtype == torch.float32
    expected_head = [0.001, 0.02360, 0.06881, 0.13663]
    assert torch.allclose(values[:4], torch.tensor(expected_head), atol=1e-5)
    assert torch.allclose(values[-3:], torch.tensor([249.241, 252.609, 256.0]), atol=1e-3)
    assert lid_bin_values(120, 1e-3, 256.0).shape == (121,)


@pytest.mark.parametrize(
    ("bins", "depth_to_class"),
    [
        (
            150,
            {0: 150, 1: 8, 2: 12, 10: 29, 50: 66, 100: 93, 128: 105, 200: 132, 254: 149, 255: 149, 256: 150},
        ),
        (120, {0: 120, 1: 7, 128: 84, 255: 119}),
    ],
)
def test_lid_target_classes(bins, depth_to_class):
    depth = torch.tensor(list(depth_to_class), dtype=torch.float32)
    classes = lid_target_classes(depth, bins, 1e-3, 256.0)
    assert classes.dtype == torch.int64
    assert classes.tolist() == list(depth_to_class.values())
    assert lid_target_classes(torch.tensor([float("nan"), 1e4]), bins, 1e-3, 256.0).tolist() == [bins, bins]


# (e) batch independence


def test_frame_alone_equals_frame_in_batch(tiny_model):
    model = copy.deepcopy(tiny_model).double()
    images = torch.randn(2, 3, 67, 93, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        batched = model.detect(images)
        alone = model.detect(images[1:])
    for key in ("pred_logits", "pred_boxes", "outputs", "pred_depth_map_logits", "weighted_depth"):
        assert torch.allclose(batched[key][1:], alone[key], atol=1e-10, rtol=0), key


# (f) reduced precision


@pytest.mark.parametrize(
    ("dtype", "box_tolerance", "embedding_tolerance"),
    [(torch.float16, 5e-3, 0.1), (torch.bfloat16, 3e-2, 0.5)],
)
def test_low_precision_forward_close_to_fp32(tiny_model, dtype, box_tolerance, embedding_tolerance):
    images, mask = padded_batch()
    low = copy.deepcopy(tiny_model).to(dtype)
    with torch.no_grad():
        reference = tiny_model.detect(images, mask)
        out = low.detect(images.to(dtype), mask)
    assert out["pred_boxes"].dtype == dtype and out["outputs"].dtype == dtype
    deviation = {k: (out[k].float() - reference[k]).abs().max().item() for k in ("pred_boxes", "outputs")}
    assert deviation["pred_boxes"] < box_tolerance, deviation
    assert deviation["outputs"] < embedding_tolerance, deviation


def test_the_level_shape_tensor_is_made_once_and_is_usable_after_inference_mode():
    from discmot.models.detr.transformer import level_shape_tensor

    shapes = ((10, 18), (5, 9), (3, 5), (2, 3))
    with torch.inference_mode():
        made = level_shape_tensor(shapes, torch.device("cpu"))
    # the same tensor again (a CUDA graph's recorded pass reads it without a host-to-device copy) ...
    assert level_shape_tensor(shapes, torch.device("cpu")) is made
    assert made.tolist() == [list(s) for s in shapes] and made.dtype == torch.int64
    # ... and no inference tensor, which a later training step could not use
    assert not made.is_inference()
