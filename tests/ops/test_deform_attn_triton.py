"""The fused Triton deformable-attention kernel: parity with the PyTorch path, dispatch, selection.

The kernel tests run on CUDA when it is there. Without CUDA they run on CPU tensors in Triton's
interpreter, which must be switched on (``TRITON_INTERPRET=1``) before triton is imported: so
`test_kernel_under_triton_interpreter` runs this file again in a subprocess with that variable set, and
the variable never reaches the other tests. Without triton the kernel tests skip.
"""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import pytest
import torch

from discmot.ops import deform_attn, deform_attn_triton
from discmot.ops.deform_attn import ms_deform_attn, ms_deform_attn_pytorch, register_fused_kernel
from discmot.ops.deform_attn_triton import ms_deform_attn_triton, select_deform_kernel

HAS_TRITON = deform_attn_triton.triton_available()  # installed, and new enough for the kernel
INTERPRETING = os.environ.get("TRITON_INTERPRET") == "1"
if HAS_TRITON and INTERPRETING:
    DEVICE = "cpu"
elif HAS_TRITON and torch.cuda.is_available():
    DEVICE = "cuda"
else:
    DEVICE = None
NO_DEVICE_REASON = (
    deform_attn_triton.triton_missing_reason()
    if not HAS_TRITON
    else "no CUDA: these run in a subprocess under TRITON_INTERPRET=1 (test_kernel_under_triton_interpreter)"
)
needs_kernel = pytest.mark.skipif(DEVICE is None, reason=NO_DEVICE_REASON)
# Triton's interpreter costs about a millisecond per operation and program: few, large programs there.
BLOCK_ROWS = 512 if DEVICE == "cpu" else None


def realistic_problem(head_dim: int, device: str) -> tuple[torch.Tensor, ...]:
    """FDTA's encoder problem scaled down: 2 frames, 4 levels (8x14 down to 1x2), 50 queries, 8 heads,
    4 points, float32, locations in [-0.2, 1.2] so that some samples fall (partly) outside the maps."""
    generator = torch.Generator().manual_seed(head_dim)
    shapes = torch.tensor([[8, 14], [4, 7], [2, 4], [1, 2]])
    starts = torch.cat((shapes.new_zeros(1), shapes.prod(1).cumsum(0)[:-1]))
    batch, queries, heads, levels, points = 2, 50, 8, 4, 4
    value = torch.randn(batch, int(shapes.prod(1).sum()), heads, head_dim, generator=generator)
    locations = torch.rand(batch, queries, heads, levels, points, 2, generator=generator) * 1.4 - 0.2
    weights = torch.rand(batch, queries, heads, levels, points, generator=generator)
    return tuple(t.to(device) for t in (value, shapes, starts, locations, weights))


@needs_kernel
def test_triton_matches_pytorch_on_the_float64_random_problem_with_edges():
    value, shapes, starts, locations, weights = deform_attn.random_problem(DEVICE)
    # exactly on the outer edges, a whole map away, half a pixel out, exactly on a pixel centre
    edges = [(0, 0, 0, 0, 0, 0.0, 0.0), (0, 0, 0, 0, 1, 1.0, 1.0), (0, 0, 1, 1, 0, -1.0, 2.0)]
    edges += [(1, 2, 0, 2, 2, 1.25, 0.5), (1, 3, 1, 0, 1, 0.5 / 9, 1.5 / 6)]
    for b, q, m, level, k, x, y in edges:
        locations[b, q, m, level, k] = torch.tensor([x, y], dtype=torch.float64)
    expected = ms_deform_attn_pytorch(value, shapes, starts, locations, weights)
    got = ms_deform_attn_triton(value, shapes, starts, locations, weights)
    assert got.shape == expected.shape and got.dtype == torch.float64
    torch.testing.assert_close(got, expected, atol=1e-12, rtol=0)


@needs_kernel
@pytest.mark.parametrize("head_dim", [32, 20])
def test_triton_matches_pytorch_on_a_realistic_float32_problem(head_dim):
    problem = realistic_problem(head_dim, DEVICE)
    expected = ms_deform_attn_pytorch(*problem)
    poisoned = torch.full_like(expected, float("nan"))  # an element left unwritten stays NaN
    got = ms_deform_attn_triton(*problem, block_rows=BLOCK_ROWS, out=poisoned)
    assert got is poisoned and got.dtype == torch.float32
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


@needs_kernel
def test_triton_registers_and_serves_ms_deform_attn_without_autograd():
    calls = []

    def counted(*args):
        calls.append(1)
        return ms_deform_attn_triton(*args, block_rows=BLOCK_ROWS)

    try:
        register_fused_kernel(DEVICE, counted)  # the float64 check passes
        problem = realistic_problem(32, DEVICE)
        with torch.inference_mode():
            got = ms_deform_attn(*problem)
        torch.testing.assert_close(got, ms_deform_attn_pytorch(*problem), atol=1e-5, rtol=1e-5)
        assert len(calls) == 2  # the check, then the call
    finally:
        deform_attn.unregister_fused_kernel(DEVICE)


@needs_kernel
def test_triton_rejects_mixed_or_half_dtypes():
    value, shapes, starts, locations, weights = deform_attn.random_problem(DEVICE)
    with pytest.raises(TypeError, match="float32 or float64"):
        ms_deform_attn_triton(value.float(), shapes, starts, locations, weights)
    with pytest.raises(TypeError, match="float32 or float64"):
        ms_deform_attn_triton(*(t.half() if t.is_floating_point() else t for t in (value, shapes, starts)),
                              locations.half(), weights.half())  # fmt: skip


def test_kernel_under_triton_interpreter():
    """Runs this file's kernel tests on CPU tensors in Triton's interpreter, in a fresh process."""
    if not HAS_TRITON:
        pytest.skip(NO_DEVICE_REASON)
    if DEVICE is not None:
        pytest.skip(f"the kernel tests ran directly on {DEVICE}")
    root = Path(__file__).resolve().parents[2]
    command = [sys.executable, "-m", "pytest", str(Path(__file__).resolve()), "-q", "-p", "no:cacheprovider"]
    command += ["-k", "test_triton_"]  # the kernel tests
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    result = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=300)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    # every kernel test ran (none skipped) in the subprocess
    assert "passed" in summary and "skipped" not in summary, summary


def test_fused_kernel_is_not_used_when_autograd_needs_the_graph():
    calls = []

    def forward_only(*args):
        calls.append(1)
        return ms_deform_attn_pytorch(*(t.detach() for t in args))  # no graph, like a fused kernel

    try:
        register_fused_kernel("cpu", forward_only)
        calls.clear()
        value, shapes, starts, locations, weights = deform_attn.random_problem()
        value.requires_grad_(True)
        output = ms_deform_attn(value, shapes, starts, locations, weights)
        assert calls == [] and output.requires_grad  # training: the pure, differentiable path
        output.sum().backward()
        assert value.grad is not None
        with torch.no_grad():
            ms_deform_attn(value, shapes, starts, locations, weights)
        assert len(calls) == 1  # no grad mode: nothing to record
        ms_deform_attn(value.detach(), shapes, starts, locations, weights)
        assert len(calls) == 2  # nothing requires grad
    finally:
        deform_attn.unregister_fused_kernel("cpu")


def test_module_imports_and_declines_without_triton():
    code = (
        "import sys; sys.modules['triton'] = None\n"  # makes `import triton` raise ImportError
        "from discmot.ops import deform_attn_triton as m\n"
        "assert not m.triton_available() and not m.register_triton_kernel()\n"
        "assert m.select_deform_kernel('auto', 'cuda') == 'pytorch'\n"
        "try:\n    m.select_deform_kernel('triton', 'cuda')\nexcept ValueError as e:\n    print(e)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "triton is not installed" in result.stdout


def test_select_deform_kernel_choices(monkeypatch):
    assert select_deform_kernel("auto", "cpu") == "pytorch"
    with pytest.raises(ValueError, match="CUDA devices only"):
        select_deform_kernel("triton", "cpu")
    with pytest.raises(ValueError, match="unknown"):
        select_deform_kernel("fast", "cuda")
    # "pytorch" takes away a fused CUDA kernel registered earlier in the process
    monkeypatch.setitem(deform_attn._FUSED_KERNELS, "cuda", ms_deform_attn_pytorch)
    assert select_deform_kernel("pytorch", "cuda:1") == "pytorch"
    assert "cuda" not in deform_attn._FUSED_KERNELS
    monkeypatch.setattr(deform_attn_triton, "triton", None)
    with pytest.raises(ValueError, match="triton is not installed"):
        select_deform_kernel("triton", "cuda")
    with pytest.raises(RuntimeError, match="needs triton"):
        ms_deform_attn_triton(*deform_attn.random_problem())


@pytest.mark.parametrize("version", ["2.3.1", "2.9.9+git1", ""])
def test_a_triton_older_than_3_is_declined_with_its_version(monkeypatch, version):
    """torch 2.3 installs triton 2.3.1, which refuses the kernel's ``tl.arange`` bounds at compile time:
    its version is named with the one needed, never compiled (on a GPU the check's compile error said
    nothing of the version)."""
    monkeypatch.setattr(deform_attn_triton, "triton", types.SimpleNamespace(__version__=version))
    assert not deform_attn_triton.triton_available()
    assert (
        f"triton {version or 'of unknown version'} is installed" in deform_attn_triton.triton_missing_reason()
    )
    with pytest.raises(
        ValueError, match=r"--deform-kernel triton: .*needs triton 3\.0 or newer.*discmot\[gpu\]"
    ):
        select_deform_kernel("triton", "cuda")
    assert select_deform_kernel("auto", "cuda") == "pytorch"
    monkeypatch.setattr(deform_attn_triton, "triton", types.SimpleNamespace(__version__="3.0.0"))
    assert deform_attn_triton.triton_missing_reason() is None


def test_deform_kernel_option_reaches_the_library():
    import discmot
    from discmot.cli import build_parser

    for choice in deform_attn_triton.DEFORM_KERNEL_CHOICES:  # the CLI offers each choice, no torch import
        args = build_parser().parse_args(["track", "clip.mp4", "--model", "fdta", "--deform-kernel", choice])
        assert args.deform_kernel == choice
    with pytest.raises(ValueError, match="FDTA option"):
        discmot.track("clip.mp4", model="jde", deform_kernel="pytorch")


def test_fdta_tracker_selects_the_kernel_before_loading_weights(tmp_path):
    from discmot.engine.end_to_end import fdta_tracker

    missing = tmp_path / "missing.safetensors"  # never opened: the choice fails first
    with pytest.raises(ValueError, match="--deform-kernel triton.*CUDA devices only"):
        fdta_tracker(missing, None, "cpu", "fp32", None, deform_kernel="triton")


def test_a_failing_check_falls_back_or_errors(monkeypatch, caplog):
    def failing_check(device_type, kernel):
        raise ValueError("fused deformable-attention kernel differs from the reference (0.5)")

    # pretend CUDA and triton are there; the check (which would compile and run the kernel) fails
    monkeypatch.setattr(deform_attn_triton, "triton", types.SimpleNamespace(__version__="3.6.0"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(deform_attn_triton, "register_fused_kernel", failing_check)
    assert not deform_attn_triton.register_triton_kernel()
    assert "differs from the reference" in caplog.text
    assert select_deform_kernel("auto", "cuda") == "pytorch"
    with pytest.raises(ValueError, match="triton: cannot use .* check .* differs"):
        select_deform_kernel("triton", "cuda")
    assert "cuda" not in deform_attn._FUSED_KERNELS
