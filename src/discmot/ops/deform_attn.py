"""Multi-scale deformable attention sampling (Deformable DETR; spec ``fdta.md`` §1.5), in plain PyTorch.

`ms_deform_attn` bilinearly samples each head's value map of each level at the given locations and sums
the samples with the attention weights. The pure-PyTorch path (`ms_deform_attn_pytorch`, one
``F.grid_sample`` per level) computes the same function as the official CUDA kernel and is differentiable
through autograd. A fused kernel can be plugged in per device type with `register_fused_kernel`; it is
used only after it has been checked equal to the pure path on a random problem, and only when autograd
will not need it: fused kernels are forward-only (e.g. `discmot.ops.deform_attn_triton`, used for
inference on CUDA), so under grad mode with any of ``value``, ``sampling_locations`` or
``attention_weights`` requiring grad (training) the differentiable pure path always runs.

The pure path loops over the levels in Python, so it needs their sizes as Python ints. Callers that have
them (the Deformable DETR's `FlatLevels`) pass them as ``level_shapes``: reading them back from the
``spatial_shapes`` tensor would stop the host for the GPU on every call (twice per attention layer).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

# (value, spatial_shapes, level_start_index, sampling_locations, attention_weights) -> output
DeformAttnKernel = Callable[
    [torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor
]

#: ``(H_l, W_l)`` of every level as Python ints: ``spatial_shapes.tolist()`` without a device sync.
LevelShapes = Sequence[tuple[int, int]]

# Fused kernels by device type ("cuda", ...); empty unless one was registered and passed the check.
_FUSED_KERNELS: dict[str, DeformAttnKernel] = {}

_LOW_PRECISION = (torch.float16, torch.bfloat16)


def ms_deform_attn(
    value: torch.Tensor,
    spatial_shapes: torch.Tensor,
    level_start_index: torch.Tensor,
    sampling_locations: torch.Tensor,
    attention_weights: torch.Tensor,
    level_shapes: LevelShapes | None = None,
) -> torch.Tensor:
    """Multi-scale deformable attention: weighted bilinear samples of per-head value maps.

    Args:
        value: ``[B, S, M, Dh]`` values of all levels flattened row-major and concatenated
            (``S = sum_l H_l * W_l``), M heads of Dh channels.
        spatial_shapes: ``[L, 2]`` integer ``(H_l, W_l)`` per level.
        level_start_index: ``[L]`` offset of each level in ``S``.
        sampling_locations: ``[B, Q, M, L, K, 2]`` normalised ``(x, y)`` in ``[0, 1]`` (0 and 1 are the
            outer edges of the map; locations outside sample zeros).
        attention_weights: ``[B, Q, M, L, K]`` weights of the samples.
        level_shapes: ``spatial_shapes`` as Python ints, when the caller has them (see
            `ms_deform_attn_pytorch`); fused kernels read the tensors on the device and do not need them.

    Returns:
        ``[B, Q, M * Dh]`` (head-major channels) in ``value``'s dtype. fp16/bf16 inputs are computed in
        fp32 and cast back, as the official op does. A registered fused kernel computes it unless autograd
        needs the graph (see the module docstring).
    """
    output_dtype = value.dtype
    compute_dtype = torch.float32 if value.dtype in _LOW_PRECISION else value.dtype
    inputs = (
        value.to(compute_dtype),
        spatial_shapes,
        level_start_index,
        sampling_locations.to(compute_dtype),
        attention_weights.to(compute_dtype),
    )
    fused = None
    if not _needs_autograd(value, sampling_locations, attention_weights):
        fused = _FUSED_KERNELS.get(value.device.type)
    if fused is not None:
        return fused(*inputs).to(output_dtype)
    return ms_deform_attn_pytorch(*inputs, level_shapes=level_shapes).to(output_dtype)


def _needs_autograd(*tensors: torch.Tensor) -> bool:
    """True when autograd will record the op, which forward-only fused kernels cannot serve."""
    return torch.is_grad_enabled() and any(t.requires_grad for t in tensors)


def ms_deform_attn_pytorch(
    value: torch.Tensor,
    spatial_shapes: torch.Tensor,
    level_start_index: torch.Tensor,
    sampling_locations: torch.Tensor,
    attention_weights: torch.Tensor,
    level_shapes: LevelShapes | None = None,
) -> torch.Tensor:
    """The reference computation of `ms_deform_attn` (same shapes; all inputs one floating dtype).

    Per level, the value map of every (batch, head) pair is sampled with
    ``grid_sample(bilinear, zeros, align_corners=False)`` at ``2p - 1``: pixel ``(p_x W - 0.5, p_y H - 0.5)``
    with zero padding. Levels are accumulated one at a time so only one level's samples are alive.

    The level loop needs the shapes and offsets as Python ints: from ``level_shapes`` when given (the
    offsets are then their running sums of ``H_l * W_l``, which ``level_start_index`` must hold), else read
    back from ``spatial_shapes`` and ``level_start_index`` (a host sync for device tensors).
    """
    batch, _, heads, head_dim = value.shape
    _, queries, _, levels, points, _ = sampling_locations.shape
    grids = 2 * sampling_locations - 1
    output = value.new_zeros(batch * heads, head_dim, queries)
    shapes, starts = _python_levels(spatial_shapes, level_start_index, level_shapes)
    for level, ((height, width), start) in enumerate(zip(shapes, starts, strict=True)):
        # [B, H*W, M, Dh] -> [B*M, Dh, H, W]
        value_map = value[:, start : start + height * width].permute(0, 2, 3, 1)
        value_map = value_map.reshape(batch * heads, head_dim, height, width)
        # [B, Q, M, K, 2] -> [B*M, Q, K, 2]
        grid = grids[:, :, :, level].transpose(1, 2).flatten(0, 1)
        samples = F.grid_sample(value_map, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        # [B, Q, M, K] -> [B*M, 1, Q, K], broadcast over Dh
        weights = attention_weights[:, :, :, level].transpose(1, 2).flatten(0, 1)[:, None]
        output = output + (samples * weights).sum(-1)
    return output.view(batch, heads * head_dim, queries).transpose(1, 2).contiguous()


def _python_levels(
    spatial_shapes: torch.Tensor, level_start_index: torch.Tensor, level_shapes: LevelShapes | None
) -> tuple[list[tuple[int, int]], list[int]]:
    """``(H_l, W_l)`` and start of every level as Python ints (no device sync with ``level_shapes``)."""
    if level_shapes is None:
        return spatial_shapes.tolist(), level_start_index.tolist()
    shapes = [(int(height), int(width)) for height, width in level_shapes]
    sizes = [height * width for height, width in shapes]
    return shapes, list(itertools.accumulate(sizes, initial=0))[: len(shapes)]


def random_problem(
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float64,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """A small random `ms_deform_attn` input (2 frames, 3 levels, some locations outside the maps).

    Returns ``(value, spatial_shapes, level_start_index, sampling_locations, attention_weights)``.
    """
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    batch, queries, heads, head_dim, points = 2, 7, 2, 3, 3
    spatial_shapes = torch.tensor([[6, 9], [3, 5], [1, 2]], dtype=torch.long)
    level_start_index = torch.cat((spatial_shapes.new_zeros(1), spatial_shapes.prod(1).cumsum(0)[:-1]))
    levels, total = len(spatial_shapes), int(spatial_shapes.prod(1).sum())
    value = torch.randn(batch, total, heads, head_dim, generator=generator, dtype=torch.float64)
    # [-0.2, 1.2]: some samples fall (partly) outside the maps and must read zeros.
    locations = torch.rand(batch, queries, heads, levels, points, 2, generator=generator, dtype=torch.float64)
    locations = locations * 1.4 - 0.2
    weights = torch.rand(batch, queries, heads, levels, points, generator=generator, dtype=torch.float64)
    value, locations, weights = (t.to(device=device, dtype=dtype) for t in (value, locations, weights))
    return value, spatial_shapes.to(device), level_start_index.to(device), locations, weights


def register_fused_kernel(
    device_type: str, kernel: DeformAttnKernel, atol: float = 1e-9, rtol: float = 1e-7
) -> None:
    """Uses ``kernel`` for inputs on ``device_type`` once it matches `ms_deform_attn_pytorch`.

    The check runs both on a float64 `random_problem` on that device; a mismatch raises ``ValueError``
    and nothing is registered (so a kernel built for another layout or precision never runs silently).
    ``kernel`` needs no backward: `ms_deform_attn` calls it only when autograd does not record the op
    (no grad mode, or no input requiring grad), so training always uses the differentiable pure path.
    It gets ``float32`` or ``float64`` inputs (fp16/bf16 are cast to fp32 before).
    """
    problem = random_problem(torch.device(device_type))
    expected = ms_deform_attn_pytorch(*problem)
    got = kernel(*problem)
    if got.shape != expected.shape or not torch.allclose(got, expected, atol=atol, rtol=rtol):
        difference = (got - expected).abs().max().item() if got.shape == expected.shape else "shape"
        raise ValueError(f"fused deformable-attention kernel differs from the reference ({difference})")
    _FUSED_KERNELS[device_type] = kernel


def unregister_fused_kernel(device_type: str) -> None:
    """Goes back to the pure-PyTorch path on ``device_type``."""
    _FUSED_KERNELS.pop(device_type, None)
