"""Checks and times the fused Triton deformable-attention kernel against the PyTorch path on a GPU.

    PYTHONPATH=src python3 benchmarks/deform_attn_kernel.py --out results.json

Not part of `make bench`: a one-off run on a CUDA machine (under a minute on an H100). For each case
(FDTA's encoder self-attention at 800x1422 and 800x1067, its decoder cross-attention with 300 queries,
1 and 8 frames) it
1. checks `ms_deform_attn_triton` on fresh random fp32 inputs: relative error ``||out - ref|| / ||ref||``
   against the fp32 PyTorch path and a float64 PyTorch reference, with the output filled with NaN first
   (an unwritten element shows up as NaN);
2. times both with CUDA events (3 warm-ups, median of at least 20 repeats);
3. for bf16 inputs, times `ms_deform_attn` itself (it computes in fp32) with the kernel registered and
   unregistered;
4. times the kernel with 16, 32 and 64 (batch, query, head) rows per program on the 1-frame encoder and
   decoder cases (a small tuning sweep).
Encoder cases have Q = S = 23,674 at 800x1422 (17,821 at 800x1067); M = 8, Dh = 32, L = 4, K = 4.
It prints a markdown table last, writes every number to ``--out``, and exits 1 when a check fails, 2 when
CUDA or triton is missing. ``--device cpu --interpret`` is a smoke run on tiny shapes in Triton's
interpreter (no GPU needed; the timings then mean nothing).

Sampling locations follow the encoder's pattern: each query samples around its own reference point (a
pixel centre of its level for the encoder, a random point for the decoder) with offsets of a few
pixels, plus a small share of points outside the maps; ``*_uniform`` cases draw them uniformly instead
(scattered reads: the worst case for both paths).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import statistics
import sys
import time
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

# Encoder levels (H, W) after strides 8, 16, 32 and a stride-2 conv, for 800x1422 and 800x1067 frames.
LEVELS_1422 = ((100, 178), (50, 89), (25, 45), (13, 23))
LEVELS_1067 = ((100, 134), (50, 67), (25, 34), (13, 17))
TINY_LEVELS = ((8, 14), (4, 7), (2, 4), (1, 2))
HEADS, HEAD_DIM, POINTS = 8, 32, 4
# Rows per program tried on these cases (the kernel's default: 32 for the encoder, 16 for the decoder).
SWEEP_BLOCK_ROWS = (16, 32, 64)
SWEEP_CASES = ("encoder_1422_b1", "decoder_1422_b1", "encoder_tiny_b2", "decoder_tiny_b2")
# fp32 kernel vs float64 reference: fp32 rounding of a weighted sum of 16 x 4 terms is ~1e-7 relative.
MAX_RELATIVE_ERROR = 1e-5


@dataclass(frozen=True)
class Case:
    """One problem: ``queries=None`` is encoder self-attention (Q = S, each query at its own pixel)."""

    name: str
    levels: tuple[tuple[int, int], ...]
    batch: int
    queries: int | None
    dtype: str = "float32"
    uniform: bool = False


def full_cases() -> list[Case]:
    return [
        Case("encoder_1422_b1", LEVELS_1422, 1, None),
        Case("encoder_1422_b1_uniform", LEVELS_1422, 1, None, uniform=True),
        Case("encoder_1067_b1", LEVELS_1067, 1, None),
        Case("decoder_1422_b1", LEVELS_1422, 1, 300),
        Case("encoder_1422_b8", LEVELS_1422, 8, None),
        Case("decoder_1422_b8", LEVELS_1422, 8, 300),
        Case("encoder_1422_b1_bf16", LEVELS_1422, 1, None, dtype="bfloat16"),
        Case("decoder_1422_b1_bf16", LEVELS_1422, 1, 300, dtype="bfloat16"),
    ]


def tiny_cases() -> list[Case]:
    return [
        Case("encoder_tiny_b2", TINY_LEVELS, 2, None),
        Case("decoder_tiny_b2", TINY_LEVELS, 2, 30),
        Case("encoder_tiny_b1_bf16", TINY_LEVELS, 1, None, dtype="bfloat16"),
    ]


def make_problem(case: Case, device, generator) -> tuple:
    """``(value, spatial_shapes, level_start_index, sampling_locations, attention_weights)`` in fp32
    (cast to the case's dtype by the caller)."""
    import torch

    shapes = torch.tensor(case.levels, dtype=torch.long)
    starts = torch.cat((shapes.new_zeros(1), shapes.prod(1).cumsum(0)[:-1]))
    total = int(shapes.prod(1).sum())
    queries = total if case.queries is None else case.queries
    levels = len(case.levels)
    value = torch.randn(case.batch, total, HEADS, HEAD_DIM, generator=generator)
    locations = sampling_locations(case, shapes, queries, generator)
    weights = torch.rand(case.batch, queries, HEADS, levels, POINTS, generator=generator)
    weights = weights / weights.sum((-1, -2), keepdim=True)  # softmax-like: sums to 1 per head
    return tuple(t.to(device) for t in (value, shapes, starts, locations, weights))


def sampling_locations(case: Case, shapes, queries: int, generator):
    """``[B, Q, M, L, K, 2]`` normalised locations (see the module docstring)."""
    import torch

    size = (case.batch, queries, HEADS, len(case.levels), POINTS, 2)
    if case.uniform:
        return torch.rand(size, generator=generator) * 1.2 - 0.1
    if case.queries is None:  # encoder: the reference point of query q is pixel q's centre in its level
        centres = [_pixel_centres(int(h), int(w)) for h, w in shapes.tolist()]
        reference = torch.cat(centres)
    else:
        reference = torch.rand(queries, 2, generator=generator)
    # offsets of about 2 pixels of the finest level, in every level (as the learned offsets are in pixels)
    finest = torch.tensor([float(shapes[0, 1]), float(shapes[0, 0])])
    offsets = torch.randn(size, generator=generator) * 2.0 / finest
    return reference[None, :, None, None, None, :] + offsets


def _pixel_centres(height: int, width: int):
    import torch

    rows, columns = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    return torch.stack(((columns.flatten() + 0.5) / width, (rows.flatten() + 0.5) / height), dim=1)


# --------------------------------------------------------------------------------------------------
# Checking and timing


def relative_error(got, reference) -> float:
    """``||got - ref|| / ||ref||`` in float64; NaN when ``got`` has a NaN (an unwritten element)."""
    got, reference = got.double(), reference.double()
    return float((got - reference).norm() / reference.norm())


def check_case(problem: tuple, ms_deform_attn_triton, ms_deform_attn_pytorch) -> dict:
    """Errors of the kernel on fp32 inputs against the fp32 and float64 PyTorch paths."""
    import torch

    reference = ms_deform_attn_pytorch(*problem)
    reference64 = ms_deform_attn_pytorch(*(t.double() if t.is_floating_point() else t for t in problem))
    poisoned = torch.full_like(reference, float("nan"))
    got = ms_deform_attn_triton(*problem, out=poisoned)
    errors = {
        "unwritten_or_nan": int(torch.isnan(got).sum()),
        "relative_error_vs_fp32_pytorch": relative_error(got, reference),
        "relative_error_vs_fp64": relative_error(got, reference64),
        "pytorch_fp32_relative_error_vs_fp64": relative_error(reference, reference64),
        "max_abs_error_vs_fp64": float((got.double() - reference64).abs().max()),
    }
    errors["ok"] = errors["unwritten_or_nan"] == 0 and errors["relative_error_vs_fp64"] <= MAX_RELATIVE_ERROR
    return errors


def median_ms(function, device_type: str, min_repeats: int = 20, budget_s: float = 0.4) -> dict:
    """Median time of ``function()`` in ms: CUDA events on a GPU (perf_counter on CPU), 3 warm-ups,
    then ``min_repeats`` or as many more as fit in ``budget_s`` (at most 200)."""
    import torch

    for _ in range(3):
        function()
    synchronize = torch.cuda.synchronize if device_type == "cuda" else (lambda: None)
    synchronize()
    start = time.perf_counter()
    function()
    synchronize()
    estimate = time.perf_counter() - start
    repeats = max(min_repeats, min(200, int(budget_s / max(estimate, 1e-6))))
    times = [_one_run_ms(function, device_type) for _ in range(repeats)]
    return {"median_ms": statistics.median(times), "min_ms": min(times), "repeats": repeats}


def _one_run_ms(function, device_type: str) -> float:
    import torch

    if device_type != "cuda":
        start = time.perf_counter()
        function()
        return (time.perf_counter() - start) * 1e3
    begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    begin.record()
    function()
    end.record()
    torch.cuda.synchronize()
    return begin.elapsed_time(end)


def run_case(case: Case, device, kernel, repeats: int) -> dict:
    """Checks (fp32 cases) and times one case; bf16 cases go through `ms_deform_attn` with the kernel
    registered and unregistered."""
    import torch

    from discmot.ops import deform_attn

    generator = torch.Generator().manual_seed(zlib.crc32(case.name.encode()))
    problem = make_problem(case, device, generator)
    queries = problem[3].shape[1]
    result = {**asdict(case), "values": problem[0].shape[1], "queries": queries}
    if case.dtype == "float32":
        result["check"] = check_case(problem, kernel, deform_attn.ms_deform_attn_pytorch)
        triton_time = median_ms(lambda: kernel(*problem), device.type, repeats)
        pytorch_time = median_ms(lambda: deform_attn.ms_deform_attn_pytorch(*problem), device.type, repeats)
    else:
        low = tuple(t.to(torch.bfloat16) if t.is_floating_point() else t for t in problem)
        triton_time, pytorch_time, result["check"] = time_through_ms_deform_attn(low, device, kernel, repeats)
    result["triton"], result["pytorch"] = triton_time, pytorch_time
    result["speedup"] = pytorch_time["median_ms"] / triton_time["median_ms"]
    return result


def time_through_ms_deform_attn(low: tuple, device, kernel, repeats: int) -> tuple[dict, dict, dict]:
    """`ms_deform_attn` on bf16 inputs with the fused kernel registered, then with the pure path."""
    import torch

    from discmot.ops import deform_attn

    def call():
        with torch.inference_mode():
            return deform_attn.ms_deform_attn(*low)

    register(device, kernel)
    fused_output, fused = call(), median_ms(call, device.type, repeats)
    deform_attn.unregister_fused_kernel(device.type)
    pure_output, pure = call(), median_ms(call, device.type, repeats)
    register(device, kernel)
    error = relative_error(fused_output, pure_output)
    check = {"relative_error_vs_pytorch_bf16_output": error, "ok": error <= 1e-2}  # bf16 output: 2**-8
    return fused, pure, check


def register(device, kernel) -> None:
    """Registers ``kernel`` for ``device``'s type after `register_fused_kernel`'s float64 check (on CUDA
    the same check `register_triton_kernel` runs at inference start)."""
    from discmot.ops import deform_attn

    try:
        deform_attn.register_fused_kernel(device.type, kernel)
    except ValueError as error:
        raise SystemExit(f"deform_attn_kernel: the Triton kernel failed its float64 check: {error}") from None


def block_sweep(case: Case, device, ops, block_rows: tuple[int, ...], repeats: int) -> dict:
    """Kernel time of one fp32 case for several rows per program (warps: the kernel's default rule)."""
    import torch

    generator = torch.Generator().manual_seed(zlib.crc32(case.name.encode()))
    problem = make_problem(case, device, generator)
    default = ops._block_rows(problem[3].shape[:3].numel(), ops.triton.next_power_of_2(HEAD_DIM))
    times = {}
    for rows in block_rows:
        kernel = functools.partial(ops.ms_deform_attn_triton, *problem, block_rows=rows)
        times[rows] = median_ms(kernel, device.type, repeats)["median_ms"]
    return {"case": case.name, "default_block_rows": default, "median_ms_by_block_rows": times}


# --------------------------------------------------------------------------------------------------
# Report


def sweep_table(sweep: list[dict]) -> str:
    blocks = list(sweep[0]["median_ms_by_block_rows"])
    lines = ["| kernel ms by rows per program | " + " | ".join(str(b) for b in blocks) + " |"]
    lines.append("|---|" + "---:|" * len(blocks))
    for entry in sweep:
        times = entry["median_ms_by_block_rows"]
        cells = [f"{times[b]:.3f}{' (default)' if b == entry['default_block_rows'] else ''}" for b in blocks]
        lines.append(f"| {entry['case']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown_table(results: list[dict]) -> str:
    lines = [
        "| case | dtype | B | Q | S | triton ms | pytorch ms | speedup | rel. err. vs fp64 | check |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        error = r["check"].get(
            "relative_error_vs_fp64", r["check"].get("relative_error_vs_pytorch_bf16_output")
        )
        lines.append(
            f"| {r['name']} | {r['dtype']} | {r['batch']} | {r['queries']} | {r['values']} "
            f"| {r['triton']['median_ms']:.3f} | {r['pytorch']['median_ms']:.3f} | {r['speedup']:.1f}x "
            f"| {error:.2e} | {'ok' if r['check']['ok'] else 'FAILED'} |"
        )
    lines.append("")
    lines.append(
        "Times: medians of CUDA-event timings (perf_counter with --interpret: meaningless there). "
        "bf16 rows: `ms_deform_attn` on bf16 inputs (fp32 compute) with the kernel registered vs not; "
        "their error column compares the two bf16 outputs."
    )
    return "\n".join(lines)


def environment(device) -> dict:
    import torch
    import triton

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    return {
        "device": name,
        "torch": torch.__version__,
        "triton": triton.__version__,
        "python": platform.python_version(),
        "interpreter": os.environ.get("TRITON_INTERPRET") == "1",
    }


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    parser.add_argument("--out", type=Path, help="write every number here (JSON)")
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:1, or cpu with --interpret")
    parser.add_argument(
        "--interpret", action="store_true", help="smoke run: tiny shapes in Triton's interpreter (CPU)"
    )
    parser.add_argument(
        "--repeats", type=int, help="timed repeats, at least (default: 20; 2 with --interpret)"
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.interpret:
        os.environ["TRITON_INTERPRET"] = "1"  # read when the kernel is defined: before the import below
    _make_importable()
    import torch

    from discmot.ops import deform_attn_triton as ops

    device = torch.device(args.device)
    problem = _missing(device, ops, args.interpret)
    if problem:
        print(f"deform_attn_kernel: {problem}", file=sys.stderr)
        return 2
    # The interpreter's cost is per program: one large block of rows instead of the GPU's small ones.
    kernel = functools.partial(ops.ms_deform_attn_triton, block_rows=4096) if args.interpret else None
    kernel = kernel or ops.ms_deform_attn_triton
    repeats = args.repeats or (2 if args.interpret else 20)
    cases = tiny_cases() if args.interpret else full_cases()
    start = time.perf_counter()
    # what `discmot track --deform-kernel auto` runs at start (compiles, then the float64 check)
    registered = ops.register_triton_kernel() if device.type == "cuda" else None
    register(device, kernel)
    results = [run_case(case, device, kernel, repeats) for case in cases]
    sweep_blocks = (1024, 4096) if args.interpret else SWEEP_BLOCK_ROWS
    sweep_cases = [case for case in cases if case.name in SWEEP_CASES]
    sweep = [block_sweep(case, device, ops, sweep_blocks, repeats) for case in sweep_cases]
    report = {**environment(device), "seconds": time.perf_counter() - start, "cases": results}
    report["register_triton_kernel"] = registered
    report["block_sweep"] = sweep
    report["ok"] = all(r["check"]["ok"] for r in results)
    if args.out:
        args.out.write_text(json.dumps(report, indent=2))
    print(sweep_table(sweep))
    print()
    print(markdown_table(results))
    print(f"\n{report['seconds']:.1f} s; all checks {'passed' if report['ok'] else 'FAILED'}")
    return 0 if report["ok"] else 1


def _missing(device, ops, interpret: bool) -> str | None:
    """Why this run cannot happen (``None`` when it can)."""
    import torch

    if not ops.triton_available():
        return ops.triton_missing_reason()  # not installed, or too old for the kernel
    if device.type == "cuda" and not torch.cuda.is_available():
        return "CUDA is not available (on a CPU, use --device cpu --interpret for a smoke run)"
    if device.type != "cuda" and not interpret:
        return f"--device {device} needs --interpret (the kernel runs on CUDA or in Triton's interpreter)"
    return None


def _make_importable() -> None:
    """Finds ``discmot`` in this checkout's ``src`` when it is not installed (or use ``PYTHONPATH=src``)."""
    try:
        import discmot  # noqa: F401
    except ImportError:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


if __name__ == "__main__":
    sys.exit(main())
