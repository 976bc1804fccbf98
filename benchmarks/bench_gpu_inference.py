"""GPU inference: precision of the trained models, and tracker frame rates at 1920x1080.

Measured only where ``torch.cuda.is_available()``; elsewhere `benchlib.Skipped` leaves the section as it was
last measured on a GPU (quick mode instead smoke-tests the code paths on the CPU with small models and
sizes; those numbers are not measurements).

1. **Precision.** The bundled trained models (``tiny`` FDTA and CSTrack, as ``make demo`` runs them) track
   the demo's held-out synthetic DanceTrack scene (150 frames, 256x160) on the CPU in fp32 (the reference)
   and on the GPU in fp32, bf16 and fp16. Per run: HOTA, the share of the reference's result rows that
   the run reproduces with the same frame and id, and the deviation of those rows' boxes in pixels.
2. **Tracker frame rate at 1920x1080.** End to end (frame preprocessing, network, decoding, association;
   frames rendered before timing, as a decoded video would be), after 5 warm-up frames and a reset:
   the full-size FDTA (``dancetrack`` preset, 800x1422 input, against the paper's 13.4 FPS) in fp32, bf16
   and fp16, and CSTrack (``cstrack`` preset, 1088x608 input, against the paper's 16.4 FPS) in fp32 and
   fp16. The weights are random and made to fire (`discmot.engine.firing`): FDTA's class bias is shifted
   so that 15 queries score above the newborn threshold on the first frame (DanceTrack has about 9
   dancers per frame), so the ID decoder runs on a full history; CSTrack is re-initialised and its
   objectness shifted so that on average 40 anchor cells of 4 frames spread over the scene pass the
   confidence threshold. The timing is `discmot.engine.speed.measure_speed`, what ``discmot bench`` runs.
"""

from __future__ import annotations

import contextlib
import statistics
import tempfile
from pathlib import Path

import benchlib
from discmot.engine.firing import CSTRACK_FIRING_CELLS, CSTRACK_FIRING_FRAMES, FDTA_FIRING_QUERIES
from discmot.engine.speed import OTHER_STAGE, STAGES

NAME = "gpu_inference"
TITLE = "GPU inference: precision of the trained models and tracker FPS at 1920x1080"
DTYPES = ("fp32", "bf16", "fp16")
FDTA_PAPER_FPS = 13.4
CSTRACK_PAPER_FPS = 16.4
WARMUP_FRAMES = 5
#: CSTrack's timed stages (`discmot.engine.speed.STAGES`, then what the frame holds besides them).
CSTRACK_STAGES = (*(stage for stage, _ in STAGES["cstrack"]), OTHER_STAGE["cstrack"])


# ---------------------------------------------------------------------------------------------------
# precision of the trained models


def compare_results(reference: Path, candidate: Path) -> dict:
    """How much of ``reference``'s result rows ``candidate`` reproduces.

    Returns ``{"same_id_share", "extra_rows", "max_px", "median_px"}``: the share of reference rows that
    have a candidate row of the same frame and id, the candidate rows without such a partner, and the
    largest / median absolute coordinate difference (tlwh, pixels) over the matched rows.
    """
    import numpy as np

    from discmot.io.mot_results import read_results_by_frame

    ref, cand = read_results_by_frame(reference), read_results_by_frame(candidate)
    matched, deviations, total = 0, [], 0
    for frame, (ids, boxes, _) in ref.items():
        total += len(ids)
        other_ids, other_boxes, _ = cand.get(frame, (np.zeros(0, np.int64), np.zeros((0, 4)), None))
        other = dict(zip(other_ids.tolist(), other_boxes, strict=True))
        for track_id, box in zip(ids.tolist(), boxes, strict=True):
            if track_id in other:
                matched += 1
                deviations.append(np.abs(other[track_id] - box).max())
    candidate_rows = sum(len(ids) for ids, _, _ in cand.values())
    return {
        "same_id_share": matched / max(total, 1),
        "extra_rows": candidate_rows - matched,
        "max_px": float(max(deviations, default=0.0)),
        "median_px": float(statistics.median(deviations)) if deviations else 0.0,
    }


def precision_rows(work: Path, device: str, quick: bool) -> tuple[list[list[str]], dict]:
    """Each bundled model on the demo scene, on the CPU in fp32 and on ``device`` in every dtype."""
    from discmot.engine.demo import SCENE_BENCHMARK, render_scene
    from discmot.engine.demo_config import BUNDLED_TRACK_OPTIONS, DemoConfig, bundled_weights
    from discmot.engine.track_verb import track
    from discmot.eval import report
    from discmot.eval.runner import evaluate_files

    config = DemoConfig(frames=20) if quick else DemoConfig()
    scene = render_scene(work / "scene", config)
    gt = scene / "gt" / "gt.txt"

    def tracked(
        kind: str, where: str, dtype: str, kernel: str, tf32: bool, path: Path, reference: Path
    ) -> dict:
        """Tracks the scene into ``path``; its HOTA and its rows compared with ``reference``'s."""
        options = {**BUNDLED_TRACK_OPTIONS[kind], **({"deform_kernel": kernel} if kind == "fdta" else {})}
        with contextlib.nullcontext() if tf32 else tf32_off():
            track(scene, model=kind, weights=bundled_weights(kind), input_size=config.input_size,
                  save_txt=path, device=where, dtype=dtype, progress=False, **options)  # fmt: skip
        hota = report.summary_values(evaluate_files(gt, path, config.frames, SCENE_BENCHMARK))["HOTA"]
        return {"HOTA": hota, **compare_results(reference, path)}

    rows, data = [], {}
    for kind in ("fdta", "cstrack"):
        reference = work / f"{kind}-cpu-fp32-pytorch-tf32.txt"  # the first run's path, below
        # (device, dtype, FDTA's deformable-attention kernel, PyTorch's TF32 defaults kept): "auto" is
        # Triton on CUDA where it registers
        runs = [("cpu", "fp32", "pytorch", True)] + [(device, dtype, "auto", True) for dtype in DTYPES]
        if device == "cuda":
            # fp32 with TF32 off too: does TF32 explain GPU fp32 rows that differ from the CPU's?
            runs.insert(2, (device, "fp32", "auto", False))
            if kind == "fdta":
                runs.insert(2, (device, "fp32", "pytorch", True))
        for where, dtype, kernel, tf32 in runs:
            kernel_name = kernel if kind == "fdta" else "–"
            dtype_name = dtype if tf32 or where == "cpu" else f"{dtype}, TF32 off"
            path = work / f"{kind}-{where}-{dtype}-{kernel}-{'tf32' if tf32 else 'no-tf32'}.txt"
            label = f"{kind} {where} {dtype_name} {kernel_name}"
            r = data[label] = benchlib.measured(
                label, tracked, kind, where, dtype, kernel, tf32, path, reference
            )
            if "error" in r:
                rows.append(
                    [kind, where, dtype_name, kernel_name, f"**failed**: {r['error']}", "", "", "", ""]
                )
                continue
            rows.append([
                kind, where, dtype_name, kernel_name, f"{r['HOTA']:.3f}", f"{100 * r['same_id_share']:.1f}%",
                str(r["extra_rows"]), f"{r['median_px']:.3f}", f"{r['max_px']:.2f}",
            ])  # fmt: skip
    return rows, data


@contextlib.contextmanager
def tf32_off():
    """cuDNN's convolutions and cuBLAS's matrix products in full fp32 inside the block (PyTorch's defaults:
    TF32 convolutions, full-fp32 matrix products), as the original code must run for an fp32 comparison."""
    import torch

    kept = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = kept


# ---------------------------------------------------------------------------------------------------
# tracker frame rates


def speed_numbers(kind: str, dtype: str, options, network, frames, candidates: bool = False) -> dict:
    """`discmot.engine.speed.measure_speed` of ``network`` (float32) copied into ``dtype`` as this
    section's numbers: frames/s, boxes out and tracks alive per frame, peak memory (MiB), milliseconds
    per frame by stage and, with ``candidates``, CSTrack's NMS candidates per frame."""
    from discmot.engine.bench import bench_tracker
    from discmot.engine.speed import measure_speed

    tracker = bench_tracker(kind, dtype, options, network)
    result = measure_speed(tracker, kind, frames, WARMUP_FRAMES)
    peak = result.peak_memory_mib
    numbers = {
        "fps": result.fps,
        "boxes": result.boxes_per_frame,
        "tracks": result.tracks_alive,
        "peak_mib": float("nan") if peak is None else peak,
        "stages": result.stage_ms,
    }
    if candidates:
        numbers["candidates"] = nms_candidates(tracker, frames[WARMUP_FRAMES:])
    return numbers


def fdta_speed(device: str, quick: bool) -> dict[str, dict]:
    """The firing full-size FDTA tracker (tiny and small frames in quick mode) in every dtype."""
    from discmot.engine.bench import BenchOptions, synthetic_frames
    from discmot.engine.firing import firing_network
    from discmot.ops.deform_attn_triton import select_deform_kernel

    preset, size, count = ("tiny", (320, 192), 8) if quick else ("dancetrack", (1920, 1080), 50)
    frames = synthetic_frames("fdta", WARMUP_FRAMES + count, size)
    network = firing_network("fdta", frames, preset, device).cpu()  # a copy per run goes to the device
    kernels = ("pytorch", "triton") if device == "cuda" else ("pytorch",)
    # (kernel, dtype, fast resize): every dtype on each path, then the fastest path's fp32 and bf16 again
    # with --fast-resize (both resizes run on the tracker's device)
    runs = [(kernel, name, False) for kernel in kernels for name in DTYPES]
    runs += [(kernels[-1], name, True) for name in ("fp32", "bf16")]
    results = {}
    for kernel, name, fast in runs:
        if select_deform_kernel(kernel, device) != kernel:
            continue
        options = BenchOptions(device=device, deform_kernel=kernel, fast_resize=fast)
        label = f"{name}, {kernel}" + (", --fast-resize" if fast else "")
        results[label] = benchlib.measured(
            f"fdta {label}", speed_numbers, "fdta", name, options, network, frames
        )
    select_deform_kernel("pytorch", device)
    return results


def nms_candidates(tracker, frames) -> float:
    """Mean rows per frame above CSTrack's confidence threshold: the side of the NMS matrix."""
    import torch

    from discmot.models.cstrack.postprocess import candidate_boxes
    from discmot.trackers.cstrack import decoded_rows

    counts = []
    for frame in frames:
        raw, _ = tracker.network(tracker.preprocess(frame))
        with torch.inference_mode():
            decoded = decoded_rows(raw, tracker.model.config, float(tracker.model.head.k), tracker.anchors_px)
        counts.append(len(candidate_boxes(decoded, tracker.config.conf_threshold)[0]))
    return statistics.fmean(counts)


def cstrack_speed(device: str, quick: bool) -> dict[str, dict]:
    """The firing full-size CSTrack tracker (tiny and small frames in quick mode) in fp32 and fp16: the
    network ``discmot bench`` times (`discmot.engine.firing.firing_network`)."""
    from discmot.engine.bench import BenchOptions, synthetic_frames
    from discmot.engine.firing import firing_network

    preset, size, count = ("tiny", (320, 192), 8) if quick else ("cstrack", (1920, 1080), 100)
    frames = synthetic_frames("cstrack", WARMUP_FRAMES + count, size)
    network = firing_network("cstrack", frames, preset, device).cpu()
    options = BenchOptions(device=device)
    return {
        name: benchlib.measured(
            f"cstrack {name}", speed_numbers, "cstrack", name, options, network, frames, True
        )
        for name in ("fp32", "fp16")
    }


def speed_rows(device: str, quick: bool) -> tuple[list[list[str]], dict]:
    data = {"fdta": fdta_speed(device, quick), "cstrack": cstrack_speed(device, quick)}
    papers = {"fdta": FDTA_PAPER_FPS, "cstrack": CSTRACK_PAPER_FPS}
    rows = []
    for model, by_dtype in data.items():
        for dtype, r in by_dtype.items():
            if "error" in r:
                rows.append([model, dtype, f"**failed**: {r['error']}", "", "", "", ""])
                continue
            rows.append([model, dtype, f"{r['fps']:.1f}", f"{r['fps'] / papers[model]:.2f}x",
                         f"{r['boxes']:.1f}", f"{r['tracks']:.1f}", f"{r['peak_mib']:.0f}"])  # fmt: skip
    return rows, data


def cstrack_stage_rows(speed_data: dict) -> list[list[str]]:
    """One row per CSTrack dtype: each stage's milliseconds per frame, their sum and the NMS candidates."""
    rows = []
    for dtype, r in speed_data["cstrack"].items():
        if "error" in r:
            rows.append([dtype, f"**failed**: {r['error']}", *[""] * (len(CSTRACK_STAGES) + 1)])
            continue
        stages = r["stages"]
        rows.append([dtype, *(f"{stages[stage]:.1f}" for stage in CSTRACK_STAGES),
                     f"{sum(stages.values()):.1f}", f"{r['candidates']:.0f}"])  # fmt: skip
    return rows


# ---------------------------------------------------------------------------------------------------


def run(quick: bool) -> benchlib.BenchResult:
    device = benchlib.cuda_or_skip(quick)
    with tempfile.TemporaryDirectory() as temporary:
        precision, precision_data = precision_rows(Path(temporary), device, quick)
    speed, speed_data = speed_rows(device, quick)
    tables = [
        benchlib.markdown_table(
            ["model (bundled, tiny)", "device", "dtype", "deformable attention", "HOTA",
             "rows as on CPU fp32 (frame, id)", "other rows", "median box deviation px",
             "max box deviation px"], precision),
        benchlib.markdown_table(
            ["tracker at 1920x1080", "dtype, deformable attention (FDTA)", "FPS", "vs paper",
             "boxes out per frame", "tracks alive", "peak memory MiB"], speed),
        benchlib.markdown_table(
            ["CSTrack at 1920x1080, ms per frame", *CSTRACK_STAGES, "sum",
             "NMS candidates per frame"], cstrack_stage_rows(speed_data)),
    ]  # fmt: skip
    notes = [
        "Precision: the bundled checkpoints on the demo scene (`discmot demo`'s, 150 frames at 256x160, "
        "each model at the network input its checkpoint carries, as the demo tracks it: FDTA 160x256, "
        "CSTrack 192x320), results written by `discmot.engine.infer.track` and scored by "
        "`discmot.eval` (DanceTrack rules). Rows are compared with the CPU fp32 run by (frame, id); box "
        "deviation is the largest tlwh coordinate difference of a matched row. FDTA's deformable attention: "
        "`--deform-kernel` pytorch (`grid_sample`) or auto (the fused Triton kernel on CUDA where it "
        "registers, else pytorch). \"TF32 off\": cuDNN's convolutions and cuBLAS's matrix products in "
        "full fp32 (PyTorch's defaults, the other rows: TF32 convolutions, full-fp32 matrix products).",
        f"Frame rates: end to end after {WARMUP_FRAMES} warm-up frames and a reset, frames rendered before "
        "timing; FDTA 50 frames of a synthetic DanceTrack scene (input 800x1422; deformable attention "
        "through `grid_sample` (pytorch) or the fused Triton kernel (triton)), CSTrack 100 frames of a "
        "synthetic MOT scene (input 1088x608). FDTA resizes frames on the GPU with the original's exact "
        "8-bit PIL arithmetic unless `--fast-resize` (float resize) is named. Random weights made to "
        f"fire (FDTA: {FDTA_FIRING_QUERIES} newborn-scoring queries on the first frame; CSTrack: on "
        f"average {CSTRACK_FIRING_CELLS} anchor cells of {CSTRACK_FIRING_FRAMES} frames spread over the "
        "scene above the confidence threshold, since 2026-11-23: a run before then fired on more, see its "
        "CSTrack tracks alive). Tracks alive: FDTA's history columns, CSTrack's tracked tracks (confirmed "
        "or not), after each frame. Peak memory: `torch.cuda.max_memory_allocated` over the timed frames, "
        "each run's model alone on the GPU (since 2026-11-23; before, FDTA's rows also held the float32 "
        "original, 251 MiB for the dancetrack preset; since 2026-11-24 CSTrack's include its CUDA graph's). "
        "cuDNN defaults (TF32 convolutions in fp32; matrix products in full fp32). Since 2026-11-24 "
        "CSTrack's network replays a CUDA graph (`discmot.ops.cuda_graph`) and converts its pixels on the "
        "GPU, FDTA's detection network replays one too, and FDTA's ID decoder attends without cuDNN's "
        "attention kernel (`discmot.trackers.fdta.ATTENTION_BACKENDS`); runs before then: 8.8 (fp32) and "
        "8.1 (fp16) CSTrack FPS on an H100 (2026-11-23), 20.8 and 16.6 (2026-11-24, an earlier call of the "
        "same session).",
        "CSTrack's stages: the same frames again, each stage of `CSTrackTracker.update` timed apart "
        "(`preprocess`: letterbox on the CPU and upload; `network`; `decode`: float32 decoding, "
        "Cluster-DIoU-NMS, embeddings at the box centres, results to the host; the JDE association on "
        "the CPU; `discmot.engine.speed.StageClock`), the GPU synchronised at each boundary, so the sum "
        "(the second pass's frame time) is above the end-to-end frame time by what the synchronisations "
        "cost. NMS candidates: rows above the confidence threshold, the NMS matrix's side.",
        f"Paper: FDTA {FDTA_PAPER_FPS} FPS at 1920x1080 (GPU not named), CSTrack {CSTRACK_PAPER_FPS} FPS "
        "(RTX 2080 Ti, PyTorch 1.6, whole system).",
    ]
    failed = [f"{label}: {r['error']}" for label, r in precision_data.items() if "error" in r]
    failed += [f"{model} {dtype}: {r['error']}" for model, by_dtype in speed_data.items()
               for dtype, r in by_dtype.items() if "error" in r]  # fmt: skip
    return benchlib.BenchResult(
        NAME, TITLE, "\n\n".join(tables), notes, benchlib.gpu_machine_info(device),
        {"precision": precision_data, "speed": speed_data}, ok=not failed, problems=failed,
    )  # fmt: skip
