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
   fp16. The weights are random and made to fire: FDTA's class bias is shifted so that about 15 queries
   score above the newborn threshold on the first frame (DanceTrack has about 9 dancers per frame), so the
   ID decoder runs on a full history; CSTrack is re-initialised as `firing_cstrack` says.
"""

from __future__ import annotations

import copy
import statistics
import tempfile
import time
from pathlib import Path

import benchlib

NAME = "gpu_inference"
TITLE = "GPU inference: precision of the trained models and tracker FPS at 1920x1080"
DTYPES = ("fp32", "bf16", "fp16")
FDTA_PAPER_FPS = 13.4
CSTRACK_PAPER_FPS = 16.4
WARMUP_FRAMES = 5
FDTA_DETECTIONS = 15


# ---------------------------------------------------------------------------------------------------
# precision of the trained models


def compare_results(reference: Path, candidate: Path) -> dict:
    """How much of ``reference``'s result rows ``candidate`` reproduces.

    Returns ``{"same_id_share", "extra_rows", "max_px", "median_px"}``: the share of reference rows that
    have a candidate row of the same frame and id, the candidate rows without such a partner, and the
    largest / median absolute coordinate difference (tlwh, pixels) over the matched rows.
    """
    import numpy as np

    from discmot.io.mot import read_results_by_frame

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
    from discmot.engine.demo import (
        BUNDLED_TRACK_OPTIONS,
        SCENE_BENCHMARK,
        DemoConfig,
        bundled_weights,
        render_scene,
    )
    from discmot.engine.track_verb import track
    from discmot.eval import report
    from discmot.eval.runner import evaluate_files

    config = DemoConfig(frames=20) if quick else DemoConfig()
    scene = render_scene(work / "scene", config)
    gt = scene / "gt" / "gt.txt"

    def tracked(kind: str, where: str, dtype: str, kernel: str, path: Path, reference: Path) -> dict:
        """Tracks the scene into ``path``; its HOTA and its rows compared with ``reference``'s."""
        options = {**BUNDLED_TRACK_OPTIONS[kind], **({"deform_kernel": kernel} if kind == "fdta" else {})}
        track(scene, model=kind, weights=bundled_weights(kind), input_size=config.input_size, save_txt=path,
              device=where, dtype=dtype, progress=False, **options)  # fmt: skip
        hota = report.summary_values(evaluate_files(gt, path, config.frames, SCENE_BENCHMARK))["HOTA"]
        return {"HOTA": hota, **compare_results(reference, path)}

    rows, data = [], {}
    for kind in ("fdta", "cstrack"):
        reference = work / f"{kind}-cpu-fp32-pytorch.txt"
        # (device, dtype, FDTA's deformable-attention kernel): "auto" is Triton on CUDA where it registers
        runs = [("cpu", "fp32", "pytorch")] + [(device, dtype, "auto") for dtype in DTYPES]
        if kind == "fdta" and device == "cuda":
            runs.insert(2, (device, "fp32", "pytorch"))
        for where, dtype, kernel in runs:
            kernel_name = kernel if kind == "fdta" else "–"
            path = work / f"{kind}-{where}-{dtype}-{kernel}.txt"
            label = f"{kind} {where} {dtype} {kernel_name}"
            r = data[label] = benchlib.measured(label, tracked, kind, where, dtype, kernel, path, reference)
            if "error" in r:
                rows.append([kind, where, dtype, kernel_name, f"**failed**: {r['error']}", "", "", "", ""])
                continue
            rows.append([
                kind, where, dtype, kernel_name, f"{r['HOTA']:.3f}", f"{100 * r['same_id_share']:.1f}%",
                str(r["extra_rows"]), f"{r['median_px']:.3f}", f"{r['max_px']:.2f}",
            ])  # fmt: skip
    return rows, data


# ---------------------------------------------------------------------------------------------------
# tracker frame rates


def fire_fdta(model, frame, count: int) -> None:
    """Shifts the last decoder layer's class bias so that about ``count`` queries of ``frame`` score above
    the newborn threshold (random weights otherwise detect nothing, and the ID decoder would never run).

    Args:
        model: an FDTA (fp32, on the device it will run on).
        frame: ``[1, 3, H, W]`` normalised image.
    """
    import math

    import torch

    with torch.inference_mode():
        logits = model.detect(frame, None)["pred_logits"][0].float().max(dim=-1).values
    ranked = logits.sort(descending=True).values
    boundary = (ranked[count - 1] + ranked[count]) / 2
    runtime = model.config.runtime
    threshold = max(runtime.det_thresh, runtime.newborn_thresh)  # a new track needs the newborn score
    with torch.no_grad():
        model.detr.class_embed[-1].bias += math.log(threshold / (1 - threshold)) - boundary


def fdta_alive(tracker) -> int:
    """FDTA's tracks alive: the columns of its ID history."""
    return tracker.history.num_tracks


def cstrack_alive(tracker) -> int:
    """CSTrack's tracks alive: its tracked tracks, confirmed or not."""
    return len(tracker.association.tracked)


def timed_tracking(tracker, frames, device: str, alive) -> dict:
    """Frames per second of ``tracker.update`` over ``frames`` after a warm-up and a reset; the mean
    number of boxes output and of tracks alive (``alive(tracker)``) per frame, and the peak device memory
    in MiB."""
    import torch

    for frame in frames[:WARMUP_FRAMES]:
        tracker.update(frame)
    tracker.reset()
    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    boxes, tracks = [], []
    start = time.perf_counter()
    for frame in frames:
        boxes.append(len(tracker.update(frame).ids))  # numpy results: the frame's device work is done
        tracks.append(alive(tracker))
    seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else float("nan")
    return {
        "fps": len(frames) / seconds,
        "boxes": statistics.fmean(boxes),
        "tracks": statistics.fmean(tracks),
        "peak_mib": peak,
    }


def fdta_speed(device: str, quick: bool) -> dict[str, dict]:
    """The firing full-size FDTA tracker (tiny and small frames in quick mode) in every dtype."""
    import torch

    from discmot.data.synth import PRESETS, render_sequence
    from discmot.engine.end_to_end import torch_dtype
    from discmot.models.fdta.model import build_fdta
    from discmot.ops.deform_attn_triton import select_deform_kernel
    from discmot.trackers.fdta import FDTATracker, preprocess_frame

    preset, size, count = ("tiny", (320, 192), 8) if quick else ("dancetrack", (1920, 1080), 50)
    frames = [f.image for f in render_sequence(PRESETS["dancetrack"], 0, num_frames=count, size=size)]
    torch.manual_seed(0)
    model = build_fdta(preset).to(device).eval()
    fire_fdta(model, preprocess_frame(frames[0], model.config.runtime, device=device)[0], FDTA_DETECTIONS)
    kernels = ("pytorch", "triton") if device == "cuda" else ("pytorch",)
    # (kernel, dtype, fast resize): every dtype on each path, then the fastest path's fp32 and bf16 again
    # with --fast-resize (both resizes run on the tracker's device)
    runs = [(kernel, name, False) for kernel in kernels for name in DTYPES]
    runs += [(kernels[-1], name, True) for name in ("fp32", "bf16")]
    results = {}
    for kernel, name, fast in runs:
        if select_deform_kernel(kernel, device) != kernel:
            continue
        dtype = torch_dtype(name)
        # a copy per run: casting one model back and forth would round its fp32 weights
        model_copy = copy.deepcopy(model).to(dtype=dtype)
        tracker = FDTATracker(model_copy, device=device, dtype=dtype, fast_resize=fast)
        label = f"{name}, {kernel}" + (", --fast-resize" if fast else "")
        results[label] = benchlib.measured(
            f"fdta {label}", timed_tracking, tracker, frames, device, fdta_alive
        )
    select_deform_kernel("pytorch", device)
    return results


def firing_cstrack(preset: str, frame, seed: int = 0):
    """A random CSTrack whose features depend on the image and whose head fires on some cells.

    He-normal convolutions make the features depend on the image; their activations then grow past
    fp16's range (65,504) through the residual stages, which a trained network's never do, so the batch
    norms take their statistics from ``frame`` (``[1, 3, H, W]``), as training would have set them.
    """
    import torch

    from discmot.models.cstrack.model import build_cstrack

    torch.manual_seed(seed)
    model = build_cstrack(preset)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
                torch.nn.init.kaiming_normal_(module.weight, a=0.1, nonlinearity="leaky_relu")
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                module.reset_running_stats()
                module.momentum = None  # a cumulative average: after one pass, that pass's statistics
        model.train()(frame)
        for conv in model.head.m:
            conv.bias.view(model.config.num_anchors, -1)[:, 5:] = 5.0
    return model.eval()


CSTRACK_STAGES = (
    "letterbox, upload",
    "network",
    "decoding, NMS, embeddings at boxes, copy back",
    "association",
)


def timed_stage(totals: dict[str, float], stage: str, cuda: bool, function, *args):
    """``function(*args)``, its seconds (the GPU synchronised before the clock stops) added to
    ``totals[stage]``."""
    import torch

    start = time.perf_counter()
    result = function(*args)
    if cuda:
        torch.cuda.synchronize()
    totals[stage] += time.perf_counter() - start
    return result


def cstrack_stages(tracker, frames, device: str) -> dict:
    """Milliseconds per frame of each stage of ``tracker.update`` (`CSTrackTracker.preprocess`,
    `network`, `decode`, the association), the device synchronised at each boundary, after a warm-up and
    a reset; and the mean number of NMS candidates (rows above the confidence threshold) per frame."""
    import torch

    from discmot.models.cstrack.postprocess import candidate_boxes
    from discmot.trackers.cstrack import decoded_rows

    cuda = device.startswith("cuda")
    totals = dict.fromkeys(CSTRACK_STAGES, 0.0)
    for frame in frames[:WARMUP_FRAMES]:
        tracker.update(frame)
    tracker.reset()
    candidates = []
    for frame in frames:
        image = timed_stage(totals, CSTRACK_STAGES[0], cuda, tracker.preprocess, frame)
        raw, embedding_map = timed_stage(totals, CSTRACK_STAGES[1], cuda, tracker.network, image)
        detections = timed_stage(
            totals, CSTRACK_STAGES[2], cuda, tracker.decode, raw, embedding_map, frame.shape[:2]
        )
        timed_stage(totals, CSTRACK_STAGES[3], cuda, tracker.association.update, detections)
        with torch.inference_mode():  # untimed: how much work the NMS had
            decoded = decoded_rows(raw, tracker.model.config, float(tracker.model.head.k), tracker.anchors_px)
            candidates.append(len(candidate_boxes(decoded, tracker.config.conf_threshold)[0]))
    result = {stage: 1000 * seconds / len(frames) for stage, seconds in totals.items()}
    return {**result, "candidates": statistics.fmean(candidates)}


def cstrack_speed(device: str, quick: bool) -> dict[str, dict]:
    """The firing full-size CSTrack tracker (tiny and small frames in quick mode) in fp32 and fp16."""
    import torch

    from discmot.data.synth import PRESETS, render_sequence
    from discmot.models.cstrack.config import preset as cstrack_preset
    from discmot.models.cstrack.postprocess import image_to_tensor, letterbox
    from discmot.trackers.cstrack import CSTrackTracker

    preset, size, count = ("tiny", (320, 192), 8) if quick else ("cstrack", (1920, 1080), 100)
    frames = [f.image for f in render_sequence(PRESETS["mot"], 0, num_frames=count, size=size)]
    input_size = cstrack_preset(preset).input_size
    model = firing_cstrack(preset, image_to_tensor(letterbox(frames[0], input_size).image)[None])
    results = {}
    for name, dtype in (("fp32", torch.float32), ("fp16", torch.float16)):
        tracker = CSTrackTracker(
            copy.deepcopy(model).to(device=device, dtype=dtype), device=device, dtype=dtype
        )
        results[name] = benchlib.measured(
            f"cstrack {name}", timed_tracking, tracker, frames, device, cstrack_alive
        )
        results[name]["stages"] = benchlib.measured(
            f"cstrack {name} stages", cstrack_stages, tracker, frames, device
        )
    return results


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
        stages = r.get("stages", {})
        if "error" in r or "error" in stages:
            rows.append([dtype, f"**failed**: {r.get('error') or stages.get('error')}", *[""] * 5])
            continue
        rows.append([dtype, *(f"{stages[stage]:.1f}" for stage in CSTRACK_STAGES),
                     f"{sum(stages[stage] for stage in CSTRACK_STAGES):.1f}",
                     f"{stages['candidates']:.0f}"])  # fmt: skip
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
        "network input 160x256), results written by `discmot.engine.infer.track` and scored by "
        "`discmot.eval` (DanceTrack rules). Rows are compared with the CPU fp32 run by (frame, id); box "
        "deviation is the largest tlwh coordinate difference of a matched row. FDTA's deformable attention: "
        "`--deform-kernel` pytorch (`grid_sample`) or auto (the fused Triton kernel on CUDA where it "
        "registers, else pytorch).",
        f"Frame rates: end to end after {WARMUP_FRAMES} warm-up frames and a reset, frames rendered before "
        "timing; FDTA 50 frames of a synthetic DanceTrack scene (input 800x1422; deformable attention "
        "through `grid_sample` (pytorch) or the fused Triton kernel (triton)), CSTrack 100 frames of a "
        "synthetic MOT scene (input 1088x608). FDTA resizes frames on the GPU with the original's exact "
        "8-bit PIL arithmetic unless `--fast-resize` (float resize) is named. Random weights made to "
        f"fire (FDTA: about {FDTA_DETECTIONS} newborn-scoring queries on the first frame). Tracks alive: "
        "FDTA's history columns, CSTrack's tracked tracks (confirmed or not), after each frame. Peak "
        "memory: `torch.cuda.max_memory_allocated` over the timed frames. cuDNN defaults (TF32 "
        "convolutions in fp32; matrix products in full fp32).",
        "CSTrack's stages: the same frames again, each stage of `CSTrackTracker.update` timed apart "
        "(`preprocess`: letterbox on the CPU and upload; `network`; `decode`: float32 decoding, "
        "Cluster-DIoU-NMS, embeddings at the box centres, results to the host; the JDE association on "
        "the CPU), the GPU synchronised at each boundary, so the sum is above the end-to-end frame time "
        "by what the synchronisations cost. NMS candidates: rows above the confidence threshold, the "
        "NMS matrix's side.",
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
