"""A fused Triton forward kernel of multi-scale deformable attention, for inference on CUDA.

`ms_deform_attn_triton` computes exactly `discmot.ops.deform_attn.ms_deform_attn_pytorch` (bilinear,
zero padding, ``align_corners=False``) in one kernel launch instead of one ``grid_sample`` per level plus
the weighting and the sums. It has no backward: `discmot.ops.deform_attn.ms_deform_attn` only uses a
fused kernel when autograd does not need one, so training always runs the pure-PyTorch path.

Kernel layout: the ``B * Q * M`` (batch, query, head) *rows* are split in blocks of ``BLOCK_R``
consecutive rows, one program each (1-D grid). A program keeps a ``[BLOCK_R, BLOCK_D]`` accumulator in
registers (``BLOCK_D``: ``Dh`` rounded up to a power of two, masked), loops over the levels and points
(unrolled: L and K are compile-time constants, 4 and 4 in FDTA), gathers the four corner pixels of each
sample as whole rows of ``Dh`` contiguous channels, and stores its tile once: the output
``[B, Q, M * Dh]`` is ``[B * Q * M, Dh]``, so each tile is one contiguous block of memory. Consecutive
programs work on neighbouring queries of one frame, whose value maps (18 MB in fp32 for an 800 x 1422
image) stay in the L2 cache.

triton is optional: this module imports without it (`triton_available` then says False, as for a
triton older than 3.0). Under ``TRITON_INTERPRET=1`` (set before triton is imported) the kernel runs on
CPU tensors in Triton's interpreter, which is how the tests check it without a GPU.
"""

from __future__ import annotations

import contextlib
import logging
import re
from typing import Literal

import torch

from discmot.ops.deform_attn import register_fused_kernel, unregister_fused_kernel

try:  # optional dependency: CPU installs and CI have no triton
    import triton
    import triton.language as tl
except ImportError:  # pragma: no cover - depends on the environment
    triton = tl = None

log = logging.getLogger(__name__)

#: The ``--deform-kernel`` choices: ``auto`` (Triton on CUDA when it imports and passes the check),
#: ``pytorch`` (always the pure path), ``triton`` (required; an error when it cannot be used).
DeformKernelChoice = Literal["auto", "pytorch", "triton"]
DEFORM_KERNEL_CHOICES: tuple[str, ...] = ("auto", "pytorch", "triton")

# Output elements per program: 32 rows x 32 channels at FDTA's Dh = 32.
_TILE_ELEMENTS = 1024
# Accumulator elements per thread: 8 compiles to ~80 registers on sm_90 with no spills (16: ~150, fewer
# warps resident to hide the gathers' latency).
_ELEMENTS_PER_THREAD = 8
# Fewer programs than this leave SMs idle (an H100 has 132), so small problems get smaller row blocks.
_MIN_PROGRAMS = 1024


#: The oldest triton the kernel runs on (the ``gpu`` extra's floor): triton 2.3, which torch 2.3 installs,
#: refuses its ``tl.arange`` bounds (they must be compile-time constants there).
TRITON_MIN_VERSION = (3, 0)


def triton_available() -> bool:
    """True when a triton the kernel runs on imports (it may still lack a GPU: see
    `register_triton_kernel`)."""
    return triton_missing_reason() is None


def triton_missing_reason() -> str | None:
    """Why no usable triton is here: not installed, or older than `TRITON_MIN_VERSION` (else None)."""
    if triton is None:
        return "triton is not installed (pip install 'discmot[gpu]')"
    version = getattr(triton, "__version__", "")
    found = re.match(r"(\d+)\.(\d+)", version)
    if found is None or tuple(map(int, found.groups())) < TRITON_MIN_VERSION:
        oldest = ".".join(map(str, TRITON_MIN_VERSION))
        return (
            f"triton {version or 'of unknown version'} is installed; the kernel needs triton {oldest} or "
            "newer (pip install 'discmot[gpu]')"
        )
    return None


if triton is not None:

    @triton.jit
    def _weighted_corner(
        value_ptr,
        head_base,
        start,
        width,
        x,
        y,
        inside,
        weight,
        channels,
        channel_mask,
        ROW_STRIDE: tl.constexpr,
    ):
        """``weight * value[b, start + y * width + x, m]`` for ``[BLOCK_R]`` rows with integral-valued
        float corners ``(x, y)``, zero where not ``inside`` the map: ``[BLOCK_R, BLOCK_D]``.

        ``head_base`` is each row's offset of ``value[b, 0, m, 0]``; a pixel's Dh channels are contiguous.
        """
        # Outside corners are zeroed before the conversion: far-away locations would overflow it.
        column = tl.where(inside, x, 0.0).to(tl.int64)
        row = tl.where(inside, y, 0.0).to(tl.int64)
        offsets = head_base + (start + row * width + column) * ROW_STRIDE
        pointers = value_ptr + offsets[:, None] + channels[None, :]
        sample = tl.load(pointers, mask=inside[:, None] & channel_mask[None, :], other=0.0)
        return sample * weight[:, None]

    @triton.jit
    def _ms_deform_attn_kernel(
        value_ptr,
        shapes_ptr,
        starts_ptr,
        locations_ptr,
        weights_ptr,
        out_ptr,
        num_values,
        num_queries,
        num_rows,
        HEADS: tl.constexpr,
        HEAD_DIM: tl.constexpr,
        LEVELS: tl.constexpr,
        POINTS: tl.constexpr,
        BLOCK_R: tl.constexpr,
        BLOCK_D: tl.constexpr,
    ):
        """The output rows ``[BLOCK_R, Dh]`` of one block of (batch, query, head) rows; see the module
        docstring."""
        # int64 indices: B * Q * M * L * K * 2 and B * S * M * Dh pass 2**31 past ~350 frames at 800x1422.
        rows = tl.program_id(0).to(tl.int64) * BLOCK_R + tl.arange(0, BLOCK_R)  # (b, q, m) of [B, Q, M]
        channels = tl.arange(0, BLOCK_D)
        row_mask = rows < num_rows
        channel_mask = channels < HEAD_DIM
        batch = rows // (num_queries * HEADS)
        head_base = (batch * num_values * HEADS + rows % HEADS) * HEAD_DIM
        dtype = value_ptr.dtype.element_ty
        acc = tl.zeros([BLOCK_R, BLOCK_D], dtype=dtype)
        for level in tl.static_range(LEVELS):
            height = tl.load(shapes_ptr + 2 * level)
            width = tl.load(shapes_ptr + 2 * level + 1)
            start = tl.load(starts_ptr + level)
            for point in tl.static_range(POINTS):
                sample = (rows * LEVELS + level) * POINTS + point  # index into [B, Q, M, L, K]
                weight = tl.load(weights_ptr + sample, mask=row_mask, other=0.0)
                x = tl.load(locations_ptr + 2 * sample, mask=row_mask, other=0.0)
                y = tl.load(locations_ptr + 2 * sample + 1, mask=row_mask, other=0.0)
                # grid_sample(align_corners=False): pixel centres are integers after the half-pixel shift
                x = x * width.to(dtype) - 0.5
                y = y * height.to(dtype) - 0.5
                x0 = tl.floor(x)
                y0 = tl.floor(y)
                right = x - x0
                down = y - y0
                # a corner counts only inside [0, W-1] x [0, H-1] (grid_sample's zero padding)
                left_in = row_mask & (x0 >= 0) & (x0 <= width - 1)
                right_in = row_mask & (x0 >= -1) & (x0 <= width - 2)
                up_in = (y0 >= 0) & (y0 <= height - 1)
                down_in = (y0 >= -1) & (y0 <= height - 2)
                acc += _weighted_corner(
                    value_ptr, head_base, start, width, x0, y0, up_in & left_in,
                    weight * (1 - down) * (1 - right), channels, channel_mask, HEADS * HEAD_DIM,
                )  # fmt: skip
                acc += _weighted_corner(
                    value_ptr, head_base, start, width, x0 + 1, y0, up_in & right_in,
                    weight * (1 - down) * right, channels, channel_mask, HEADS * HEAD_DIM,
                )  # fmt: skip
                acc += _weighted_corner(
                    value_ptr, head_base, start, width, x0, y0 + 1, down_in & left_in,
                    weight * down * (1 - right), channels, channel_mask, HEADS * HEAD_DIM,
                )  # fmt: skip
                acc += _weighted_corner(
                    value_ptr, head_base, start, width, x0 + 1, y0 + 1, down_in & right_in,
                    weight * down * right, channels, channel_mask, HEADS * HEAD_DIM,
                )  # fmt: skip
        # [B, Q, M, Dh] is [B, Q, M * Dh]: the block's output rows are one contiguous tile
        out_pointers = out_ptr + rows[:, None] * HEAD_DIM + channels[None, :]
        tl.store(out_pointers, acc, mask=row_mask[:, None] & channel_mask[None, :])


def ms_deform_attn_triton(
    value: torch.Tensor,
    spatial_shapes: torch.Tensor,
    level_start_index: torch.Tensor,
    sampling_locations: torch.Tensor,
    attention_weights: torch.Tensor,
    block_rows: int | None = None,
    out: torch.Tensor | None = None,
    num_warps: int | None = None,
) -> torch.Tensor:
    """`ms_deform_attn_pytorch` as one Triton kernel (forward only; float32 or float64, computed in it).

    Args:
        value: ``[B, S, M, Dh]`` values of all levels, flattened row-major and concatenated.
        spatial_shapes: ``[L, 2]`` integer ``(H_l, W_l)``.
        level_start_index: ``[L]`` offset of each level in ``S``.
        sampling_locations: ``[B, Q, M, L, K, 2]`` normalised ``(x, y)``; outside ``[0, 1]`` reads zeros.
        attention_weights: ``[B, Q, M, L, K]``.
        block_rows: (batch, query, head) rows per program, a power of two (default: `_block_rows`).
            Large blocks make Triton's interpreter fast (its cost is per program); the GPU wants the
            default.
        out: a contiguous ``[B, Q, M * Dh]`` tensor of ``value``'s dtype and device to write into (every
            element is written: a check can fill it with NaN first).
        num_warps: warps per program (default: ``_ELEMENTS_PER_THREAD`` accumulator elements a thread,
            1 to 8 warps); ``block_rows`` and ``num_warps`` are there for tuning on a GPU.

    Returns:
        ``[B, Q, M * Dh]`` (head-major channels) in ``value``'s dtype (``out`` when given).

    Raises:
        RuntimeError: triton is not installed.
        TypeError: the floating inputs are not all float32 or all float64.
        ValueError: ``out`` does not fit.
    """
    if triton is None:
        raise RuntimeError("ms_deform_attn_triton needs triton (pip install 'discmot[gpu]')")
    _check_dtypes(value, sampling_locations, attention_weights)
    batch, num_values, heads, head_dim = value.shape
    _, queries, _, levels, points, _ = sampling_locations.shape
    output = _output(out, value, (batch, queries, heads * head_dim))
    num_rows = batch * queries * heads
    if num_rows == 0 or head_dim == 0:
        return output.zero_()
    block_d = triton.next_power_of_2(head_dim)
    block_rows = block_rows or _block_rows(num_rows, block_d)
    num_warps = num_warps or max(1, min(8, block_rows * block_d // (32 * _ELEMENTS_PER_THREAD)))
    with _on_device(value.device):
        _ms_deform_attn_kernel[(triton.cdiv(num_rows, block_rows),)](
            value.contiguous(),
            spatial_shapes.to(device=value.device, dtype=torch.int64).contiguous(),
            level_start_index.to(device=value.device, dtype=torch.int64).contiguous(),
            sampling_locations.contiguous(),
            attention_weights.contiguous(),
            output,
            num_values,
            queries,
            num_rows,
            HEADS=heads,
            HEAD_DIM=head_dim,
            LEVELS=levels,
            POINTS=points,
            BLOCK_R=block_rows,
            BLOCK_D=block_d,
            num_warps=num_warps,
        )
    return output


def _check_dtypes(*tensors: torch.Tensor) -> None:
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) != 1 or dtypes.pop() not in (torch.float32, torch.float64):
        found = ", ".join(str(t.dtype) for t in tensors)
        raise TypeError(f"ms_deform_attn_triton takes float32 or float64 inputs of one dtype, got {found}")


def _output(out: torch.Tensor | None, value: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    if out is None:
        return value.new_empty(shape)
    if (
        out.shape != shape
        or out.dtype != value.dtype
        or out.device != value.device
        or not out.is_contiguous()
    ):
        raise ValueError(f"out must be a contiguous {value.dtype} tensor of shape {shape} on {value.device}")
    return out


def _block_rows(num_rows: int, block_d: int) -> int:
    """Rows per program: a tile of ``_TILE_ELEMENTS``, halved (down to 16 rows) while ``num_rows``
    (B * Q * M) would fill fewer than ``_MIN_PROGRAMS`` programs, so decoder-sized problems still
    spread over the GPU."""
    block_rows = max(1, _TILE_ELEMENTS // block_d)
    while block_rows > 16 and triton.cdiv(num_rows, block_rows) < _MIN_PROGRAMS:
        block_rows //= 2
    return block_rows


def _on_device(device: torch.device):
    """Launches on ``device``'s GPU (Triton launches on the current one: wrong for ``cuda:1`` tensors)."""
    return torch.cuda.device(device) if device.type == "cuda" else contextlib.nullcontext()


def triton_unavailable_reason() -> str | None:
    """Why the Triton kernel cannot run on CUDA here (``None`` when it can)."""
    missing = triton_missing_reason()
    if missing is not None:
        return missing
    if not torch.cuda.is_available():
        return "CUDA is not available"
    return None


def register_triton_kernel() -> bool:
    """Registers `ms_deform_attn_triton` for ``"cuda"`` tensors, after `register_fused_kernel`'s check.

    Returns False, and logs why, when triton or CUDA is missing or the check fails: inference then goes on
    with the pure-PyTorch path instead of failing at start.
    """
    reason = triton_unavailable_reason()
    if reason is not None:
        log.info("Triton deformable-attention kernel not used: %s", reason)
        return False
    failure = _register_checked()
    if failure is not None:
        log.warning("Triton deformable-attention kernel not used: %s", failure)
    return failure is None


def _register_checked() -> str | None:
    """`register_fused_kernel` for CUDA; the reason when it fails (compile error, mismatch, launch)."""
    try:
        register_fused_kernel("cuda", ms_deform_attn_triton)
    except Exception as error:  # whatever goes wrong, inference must not stop for an optional kernel
        return f"its check against the PyTorch path failed: {type(error).__name__}: {error}"
    return None


def select_deform_kernel(choice: DeformKernelChoice, device: str | torch.device) -> str:
    """Sets up the deformable-attention path for inference on ``device`` (``--deform-kernel``).

    ``"auto"`` uses the Triton kernel when ``device`` is CUDA and it registers (see `register_triton_kernel`);
    ``"pytorch"`` removes any fused CUDA kernel; ``"triton"`` requires the kernel.

    Returns:
        ``"triton"`` or ``"pytorch"``: the path that ``device``'s tensors will take.

    Raises:
        ValueError: an unknown choice, or ``"triton"`` when it cannot be used (the reason is in the message).
    """
    if choice not in DEFORM_KERNEL_CHOICES:
        raise ValueError(
            f"unknown deformable-attention kernel {choice!r}; choose from {DEFORM_KERNEL_CHOICES}"
        )
    is_cuda = torch.device(device).type == "cuda"
    if choice == "pytorch":
        unregister_fused_kernel("cuda")
        return "pytorch"
    if choice == "triton":
        reason = "it runs on CUDA devices only" if not is_cuda else triton_unavailable_reason()
        reason = reason or _register_checked()
        if reason is not None:
            raise ValueError(f"--deform-kernel triton: cannot use the Triton kernel: {reason}")
        return "triton"
    return "triton" if is_cuda and register_triton_kernel() else "pytorch"
