"""DETR backbone contracts: official key/shape list, frozen BN, strides, freezing, sine encodings."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from discmot.models.backbones.joiner import build_backbone, level_mask
from discmot.models.backbones.resnet import FrozenBatchNorm2d, ResNet
from discmot.models.detr.position import PositionEmbeddingSine
from discmot.models.fdta.config import PRESETS, ResNetConfig
from helpers import read_state_dict_contract, shared_file

TSV_PREFIX = "detr.backbone."
RESNET50_PARAMETERS = 23_454_912  # spec fdta.md §7.2, frozen stem and layer1 included
RESNET50_BUFFERS = 4 * 26_560  # four FrozenBN buffers per normalized channel


def read_contract(prefix: str) -> dict[str, tuple[int, ...]]:
    """``{key without prefix: shape}`` for the TSV rows whose key starts with ``prefix``, in file order."""
    contract = read_state_dict_contract(shared_file("spec/fdta_state_dict_keys.tsv"))
    return {key[len(prefix) :]: shape for key, shape in contract.items() if key.startswith(prefix)}


@pytest.fixture(scope="module")
def resnet50_backbone():
    return build_backbone(ResNetConfig(), hidden_dim=256)


@pytest.fixture
def tiny_backbone():
    torch.manual_seed(0)
    preset = PRESETS["tiny"]
    return build_backbone(preset.backbone, preset.detr.hidden_dim).eval()


# (a) key/shape contract ------------------------------------------------------------------------------------


def test_resnet50_keys_and_shapes_match_official_contract(resnet50_backbone):
    expected = read_contract(TSV_PREFIX)
    actual = {key: tuple(t.shape) for key, t in resnet50_backbone.state_dict().items()}
    assert len(expected) == 265
    assert list(actual) == list(expected)  # same keys, same order
    assert actual == expected


def test_resnet50_parameter_and_buffer_counts(resnet50_backbone):
    parameters = sum(p.numel() for p in resnet50_backbone.parameters())
    buffers = sum(b.numel() for b in resnet50_backbone.buffers())
    assert parameters == RESNET50_PARAMETERS
    assert buffers == RESNET50_BUFFERS
    contract_total = sum(math.prod(shape) for shape in read_contract(TSV_PREFIX).values())
    assert parameters + buffers == contract_total
    assert resnet50_backbone.num_channels == (512, 1024, 2048)


def test_loads_a_torchvision_style_state_dict_strictly(tiny_backbone):
    """A checkpoint written from ``nn.BatchNorm2d`` layers carries ``num_batches_tracked``: it is dropped."""
    state = {key: torch.randn_like(t) for key, t in tiny_backbone.state_dict().items()}
    bn_prefixes = {key.rsplit(".", 1)[0] for key in state if key.endswith("running_var")}
    with_counters = {**state, **{f"{p}.num_batches_tracked": torch.tensor(7) for p in bn_prefixes}}
    tiny_backbone.load_state_dict(with_counters, strict=True)
    for key, tensor in tiny_backbone.state_dict().items():
        torch.testing.assert_close(tensor, state[key], rtol=0, atol=0)


# (b) FrozenBatchNorm2d ------------------------------------------------------------------------------------


def random_batchnorm(channels: int) -> nn.BatchNorm2d:
    """An eval-mode ``nn.BatchNorm2d`` (float64) with random affine terms and statistics."""
    generator = torch.Generator().manual_seed(1)
    bn = nn.BatchNorm2d(channels, eps=1e-5).double().eval()
    with torch.no_grad():
        bn.weight.copy_(torch.randn(channels, generator=generator, dtype=torch.float64))
        bn.bias.copy_(torch.randn(channels, generator=generator, dtype=torch.float64))
        bn.running_mean.copy_(torch.randn(channels, generator=generator, dtype=torch.float64))
        bn.running_var.copy_(torch.rand(channels, generator=generator, dtype=torch.float64) * 3 + 1e-3)
    bn.num_batches_tracked.fill_(123)
    return bn


def test_frozen_batchnorm_equals_batchnorm_in_eval_mode():
    bn = random_batchnorm(6)
    frozen = FrozenBatchNorm2d(6).double()
    frozen.load_state_dict(bn.state_dict(), strict=True)  # includes num_batches_tracked
    assert "num_batches_tracked" not in frozen.state_dict()
    assert list(frozen.parameters()) == []
    x = torch.randn(2, 6, 5, 7, dtype=torch.float64)
    torch.testing.assert_close(frozen(x), bn(x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_frozen_batchnorm_half_precision_keeps_dtype(dtype):
    bn = random_batchnorm(4)
    frozen = FrozenBatchNorm2d(4)
    frozen.load_state_dict({k: v.float() for k, v in bn.state_dict().items()})
    x = torch.randn(1, 4, 3, 3)
    out = frozen.to(dtype)(x.to(dtype))
    assert out.dtype == dtype
    torch.testing.assert_close(out.double(), bn(x.double()), rtol=2e-2, atol=5e-2)


# (c) level sizes and masks ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("height", "width"), [(97, 131), (64, 64), (33, 1), (1, 17), (255, 63)])
def test_level_sizes_are_ceil_of_stride(tiny_backbone, height, width):
    with torch.no_grad():
        features, masks, positions = tiny_backbone(torch.randn(1, 3, height, width))
    for feature, mask, position, stride, channels in zip(
        features, masks, positions, (8, 16, 32), tiny_backbone.num_channels, strict=True
    ):
        size = (math.ceil(height / stride), math.ceil(width / stride))
        assert feature.shape == (1, channels, *size)
        assert mask.shape == (1, *size) and mask.dtype == torch.bool and not mask.any()
        assert position.shape == (1, 32, *size)


def test_level_masks_are_nearest_resizes_of_the_image_mask():
    """Bottom/right padding: level pixel i is padded iff its nearest source row floor(i * H / H_l) is."""
    height, width, valid_h, valid_w = 45, 70, 30, 53
    mask = torch.ones(1, height, width, dtype=torch.bool)
    mask[:, :valid_h, :valid_w] = False
    for stride in (8, 16, 32, 64):
        size = (math.ceil(height / stride), math.ceil(width / stride))
        resized = level_mask(mask, size)
        for i in range(size[0]):
            for j in range(size[1]):
                source_row = math.floor(i * height / size[0])
                source_col = math.floor(j * width / size[1])
                assert bool(resized[0, i, j]) == (source_row >= valid_h or source_col >= valid_w)


# (d) freezing ---------------------------------------------------------------------------------------------


def test_only_layer2_to_layer4_are_trainable(resnet50_backbone):
    trainable = [name for name, p in resnet50_backbone.named_parameters() if p.requires_grad]
    frozen = [name for name, p in resnet50_backbone.named_parameters() if not p.requires_grad]
    assert len(trainable) == 42  # spec §1.2: the conv weights of layer2..4
    assert all(any(f".layer{i}." in name for i in (2, 3, 4)) for name in trainable)
    assert all(
        name.endswith(".weight") and (".conv" in name or ".downsample.0." in name) for name in trainable
    )
    assert all(name.startswith(("0.body.conv1.", "0.body.layer1.")) for name in frozen)
    assert not any(isinstance(p, nn.Parameter) for p in resnet50_backbone.buffers())


def test_gradients_reach_layer2_but_not_the_stem():
    resnet = ResNet(PRESETS["tiny"].backbone)
    sum(level.sum() for level in resnet(torch.randn(1, 3, 40, 40))).backward()
    assert resnet.conv1.weight.grad is None
    assert resnet.layer1[0].conv1.weight.grad is None
    assert resnet.layer2[0].conv1.weight.grad is not None


# (e) sine position encoding -------------------------------------------------------------------------------


def spec_position_encoding(mask: torch.Tensor, num_pos_feats: int) -> torch.Tensor:
    """Spec §1.3 written out pixel by pixel in float64: ``[B, 2 * num_pos_feats, H, W]``.

    Lines (columns for y, rows for x) with no valid pixel at all are NaN: there the formula divides by
    1e-6, the angle is ~1e6 and fp32 keeps no significant digit of its sine. Those pixels are padding,
    which every consumer masks out.
    """
    batch, height, width = mask.shape
    out = torch.zeros(batch, 2 * num_pos_feats, height, width, dtype=torch.float64)
    valid = (~mask).tolist()
    for b in range(batch):
        for i in range(height):
            for j in range(width):
                rows_so_far = sum(valid[b][r][j] for r in range(i + 1))
                rows_total = sum(valid[b][r][j] for r in range(height))
                cols_so_far = sum(valid[b][i][c] for c in range(j + 1))
                cols_total = sum(valid[b][i][c] for c in range(width))
                y_hat = (rows_so_far - 0.5) / (rows_total + 1e-6) * 2 * math.pi
                x_hat = (cols_so_far - 0.5) / (cols_total + 1e-6) * 2 * math.pi
                y_hat = y_hat if rows_total else math.nan
                x_hat = x_hat if cols_total else math.nan
                for k in range(num_pos_feats // 2):
                    omega = 10000 ** (2 * k / num_pos_feats)
                    out[b, 2 * k, i, j] = math.sin(y_hat / omega)
                    out[b, 2 * k + 1, i, j] = math.cos(y_hat / omega)
                    out[b, num_pos_feats + 2 * k, i, j] = math.sin(x_hat / omega)
                    out[b, num_pos_feats + 2 * k + 1, i, j] = math.cos(x_hat / omega)
    return out


@pytest.mark.parametrize("num_pos_feats", [8, 128])
def test_position_encoding_matches_spec_formula(num_pos_feats):
    mask = torch.zeros(3, 5, 7, dtype=torch.bool)
    mask[1, 3:, :] = True  # bottom padding
    mask[1, :, 5:] = True  # right padding
    mask[2] = torch.rand(5, 7, generator=torch.Generator().manual_seed(0)) < 0.3  # ragged
    encoding = PositionEmbeddingSine(num_pos_feats)(mask, torch.float64)
    assert encoding.shape == (3, 2 * num_pos_feats, 5, 7) and encoding.dtype == torch.float64
    expected = spec_position_encoding(mask, num_pos_feats)
    defined = ~expected.isnan()
    assert defined[1].sum() < defined[0].sum()  # the padded frame has undefined lines
    assert encoding.isfinite().all()
    torch.testing.assert_close(encoding[defined], expected[defined], rtol=0, atol=2e-5)


def test_position_encoding_casts_to_requested_dtype():
    mask = torch.zeros(1, 4, 6, dtype=torch.bool)
    encoding = PositionEmbeddingSine(16)(mask, torch.bfloat16)
    assert encoding.dtype == torch.bfloat16
    torch.testing.assert_close(encoding.float(), PositionEmbeddingSine(16)(mask), rtol=0, atol=1e-2)


# (f) half precision ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("dtype", "tolerance"), [(torch.float16, 5e-3), (torch.bfloat16, 3e-2)])
def test_half_precision_forward_is_close_to_fp32(tiny_backbone, dtype, tolerance):
    images = torch.randn(2, 3, 45, 61, generator=torch.Generator().manual_seed(2))
    mask = torch.zeros(2, 45, 61, dtype=torch.bool)
    mask[1, 30:] = True
    with torch.no_grad():
        reference, ref_masks, ref_positions = tiny_backbone(images, mask)
        features, masks, positions = tiny_backbone.to(dtype)(images.to(dtype), mask)
    for level in range(3):
        assert features[level].dtype == dtype and positions[level].dtype == dtype
        relative = (features[level].float() - reference[level]).norm() / reference[level].norm()
        assert relative < tolerance
        assert torch.equal(masks[level], ref_masks[level])
        torch.testing.assert_close(positions[level].float(), ref_positions[level], rtol=0, atol=1e-2)


# (g) batch independence -----------------------------------------------------------------------------------


def test_frames_do_not_interact_within_a_batch(tiny_backbone):
    backbone = tiny_backbone.double()
    images = torch.randn(2, 3, 50, 70, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    mask = torch.zeros(2, 50, 70, dtype=torch.bool)
    mask[0, :, 60:] = True
    mask[1, 41:] = True
    with torch.no_grad():
        alone = backbone(images[:1], mask[:1])
        together = backbone(images, mask)
    for part_alone, part_together in zip(alone, together, strict=True):
        for level_alone, level_together in zip(part_alone, part_together, strict=True):
            torch.testing.assert_close(level_together[:1], level_alone, rtol=1e-12, atol=1e-12)
