"""Synthetic scenes (``discmot synth``): generation speed, association difficulty, appearance similarity.

Three measurements, every preset:

1. **Speed.** Frames per second of ``generate_dataset`` (rendering plus writing every file) on one core:
   a child process (`synth_speed.py`) with single-thread BLAS/OpenMP environment, pinned to one CPU,
   ``cv2.setNumThreads(1)``, timing one call after a 2-frame warm-up. Target: dancetrack at 320x192 at
   least 200 frames/s. Median of 3 runs (1 in quick mode).
2. **Association difficulty.** A plain IoU tracker (`iou_tracker.py`: Hungarian frame-to-frame IoU
   matching at IoU >= 0.3, no motion, no appearance, tracks die after one missed frame) runs on the gt
   boxes with 2% Gaussian jitter (seeded) and is scored by ``discmot.evaluate`` (DanceTrack rules).
   Lower IDF1 means more identity switches and fragments for overlap alone: a harder scene. A SORT-like
   Kalman + IoU tracker with one second of memory (`gt_trackers.py`) on the same boxes says how much
   motion adds. The same trackers on real gt from the shared folder (SportsMOT, MOT17, MOT20, MOT15) give
   orientation.
3. **Appearance similarity.** A fixed random conv net (`appearance.py`) embeds every object crop;
   reported: mean cosine similarity between different objects of the same frame and the share of such
   pairs above 0.9 (raw, and centred on the data's mean embedding), the same object's similarity with
   itself 10 frames later, and the rank-1 re-identification rate across those 10 frames. The same on
   the shared real video ``vtest.avi`` (PETS09-S2L1 gt boxes) for orientation.

Quick mode (``--quick``) runs every part on fewer, shorter sequences in well under a minute.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import benchlib
from gt_trackers import JITTER, track_gt_split

NAME = "synth"
TITLE = "Synthetic scenes: `discmot synth` speed, association difficulty, appearance similarity"

BENCH_PRESETS = ("dancetrack", "sportsmot", "bft", "mot")
SPEED_PRESETS = (*BENCH_PRESETS, "tiny")
SPEED_SIZE = (320, 192)
SPEED_TARGET_FPS = 200.0
SEED = 0
SIMILAR = 0.9

SHARED = Path(os.environ.get("DISCMOT_SHARED", benchlib.REPO_ROOT.parent / "shared"))
#: Real sequences for orientation: (folder under shared/data/mot, benchmark rules, tracked gt classes).
REAL_SEQUENCES = (
    ("SportsMOT/train/v_1LwtoLPw2TU_c012", "SportsMOT", True),
    ("MOT17/train/MOT17-05-FRCNN", "MOT17", True),
    ("MOT20/train/MOT20-01", "MOT20", True),
    ("MOT15/train/PETS09-S2L1", "MOT15", False),
)
REAL_VIDEO = ("assets/videos/vtest.avi", "data/mot/MOT15/train/PETS09-S2L1/gt/gt.txt")


@dataclass(frozen=True)
class Plan:
    """How much of everything to run: full (for the docs) or quick (a smoke run)."""

    speed_repeats: int
    speed_sequences: int
    speed_frames: int
    sequences: int
    frames: int
    similarity_sequences: int
    similarity_frames: int
    similarity_step: int


FULL = Plan(3, 4, 200, 4, 200, 4, 200, 10)
QUICK = Plan(1, 1, 60, 2, 80, 1, 60, 10)


def _log(message: str) -> None:
    print(f"[{NAME}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------------
# 1. speed


def speed_child(preset: str, out: Path, sequences: int, frames: int) -> dict:
    """Runs `synth_speed.py` once (at 320x192) in a single-core child; returns its JSON result."""
    from synth_speed import SINGLE_THREAD_ENV

    cmd = [
        benchlib.python_executable(), str(benchlib.BENCH_DIR / "synth_speed.py"),
        "--preset", preset, "--out", str(out), "--sequences", str(sequences),
        "--frames", str(frames), "--size", f"{SPEED_SIZE[0]}x{SPEED_SIZE[1]}", "--seed", str(SEED),
    ]  # fmt: skip
    log = out.with_suffix(".log")
    child = benchlib.run_child(cmd, log, env={**os.environ, **SINGLE_THREAD_ENV})
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {child.returncode}:\n{benchlib.log_tail(log)}")
    return json.loads(log.read_text().strip().splitlines()[-1])


def measure_speed(plan: Plan, work: Path) -> dict[str, dict]:
    """``{preset: {"fps": median frames/s at 320x192, "runs": [...], "kib_per_frame": ...}}``."""
    speed = {}
    for preset in SPEED_PRESETS:
        runs = [
            speed_child(preset, work / f"speed-{preset}-{rep}", plan.speed_sequences, plan.speed_frames)
            for rep in range(plan.speed_repeats)
        ]
        fps = [r["fps"] for r in runs]
        kib = runs[0]["bytes"] / runs[0]["frames"] / 1024
        speed[preset] = {"fps": benchlib.median(fps), "runs": fps, "kib_per_frame": kib}
        _log(f"speed {preset}: {speed[preset]['fps']:.0f} frames/s at 320x192")
    return speed


# --------------------------------------------------------------------------------------------------
# 2. association difficulty


def combined_scores(root: Path, trackers: Path, benchmark: str) -> dict:
    """HOTA / IDF1 / MOTA / IDSW (COMBINED) of the flat tracker folder ``trackers`` on ``root``."""
    import numpy as np

    from discmot import evaluate

    results = evaluate(root, trackers, benchmark=benchmark, split="train", write_summaries=False)
    combined = next(iter(results.values()))["COMBINED"]
    return {
        "HOTA": float(np.mean(combined["HOTA"]["HOTA"])),
        "IDF1": combined["Identity"]["IDF1"],
        "MOTA": combined["CLEAR"]["MOTA"],
        "IDSW": combined["CLEAR"]["IDSW"],
        "Frag": combined["CLEAR"]["Frag"],
    }


def gt_statistics(root: Path, split: str = "train") -> dict:
    """Objects per frame, mean visibility, and the share of ids that vanish and come back (per sequence)."""
    import numpy as np

    from discmot.io.mot import read_mot_table
    from discmot.io.seqinfo import read_seqinfo
    from discmot.io.seqmaps import read_seqmap

    rows, frames, ids, gapped, visibility = 0, 0, 0, 0, []
    for name in read_seqmap(root / f"{split}_seqmap.txt"):
        values = read_mot_table(root / split / name / "gt" / "gt.txt").values
        frames += read_seqinfo(root / split / name / "seqinfo.ini").length
        rows += len(values)
        visibility.append(values[:, 8])
        for track in np.unique(values[:, 1]):
            seen = np.sort(values[values[:, 1] == track, 0])
            ids += 1
            gapped += int(np.any(np.diff(seen) > 1))
    return {
        "objects_per_frame": rows / max(frames, 1),
        "mean_visibility": float(np.mean(np.concatenate(visibility))) if rows else float("nan"),
        "ids": ids,
        "reappearing_ids": gapped,
    }


def reference_scores(root: Path, work: Path, benchmark: str, classes: bool = False) -> dict:
    """The IoU tracker's scores on the jittered gt boxes of ``root``'s train split, plus the HOTA of the
    Kalman tracker on the same boxes (``"HOTA_kalman"``); result files go under ``work``."""
    track_gt_split(root, "train", work / "iou", SEED, "iou", classes)
    track_gt_split(root, "train", work / "kalman", SEED, "kalman", classes)
    kalman = combined_scores(root, work / "kalman", benchmark)
    return {**combined_scores(root, work / "iou", benchmark), "HOTA_kalman": kalman["HOTA"]}


def measure_difficulty(plan: Plan, work: Path) -> dict[str, dict]:
    """Generates each benchmark preset (fixed seed), tracks its gt boxes with the reference trackers,
    scores them."""
    from discmot.data.synth import generate_dataset

    difficulty = {}
    for preset in BENCH_PRESETS:
        root = work / f"difficulty-{preset}"
        generate_dataset(root, preset=preset, sequences=plan.sequences, frames=plan.frames, seed=SEED)
        scores = reference_scores(root, work / preset, "DanceTrack")
        difficulty[preset] = {**gt_statistics(root), **scores}
        _log(f"difficulty {preset}: IDF1 {difficulty[preset]['IDF1']:.3f}")
    return difficulty


def measure_real_difficulty(work: Path) -> dict[str, dict]:
    """The same trackers on real shared gt (linked into a dataset-root layout under ``work``)."""
    real = {}
    for rel, benchmark, classes in REAL_SEQUENCES:
        source = SHARED / "data" / "mot" / rel
        if not (source / "gt" / "gt.txt").is_file():
            _log(f"real sequence missing, skipped: {source}")
            continue
        root = work / f"real-{source.name}"
        (root / "train" / source.name / "gt").mkdir(parents=True)
        (root / "train" / source.name / "gt" / "gt.txt").symlink_to(source / "gt" / "gt.txt")
        (root / "train" / source.name / "seqinfo.ini").symlink_to(source / "seqinfo.ini")
        (root / "train_seqmap.txt").write_text(f"name\n{source.name}\n")
        scores = reference_scores(root, work / source.name, benchmark, classes)
        real[f"{source.name} ({benchmark}, real)"] = scores
    return real


# --------------------------------------------------------------------------------------------------
# 3. appearance similarity


def synth_samples(preset: str, plan: Plan):
    """``(sequence, image, ids, boxes)`` of every ``similarity_step``-th frame of the preset's sequences."""
    from discmot.data.synth import PRESETS, render_sequence

    for k in range(plan.similarity_sequences):
        for frame in render_sequence(PRESETS[preset], SEED + k, plan.similarity_frames, size=None):
            if (frame.index - 1) % plan.similarity_step == 0:
                yield k, frame.image, frame.ids, frame.boxes


def video_samples(plan: Plan):
    """``(0, image, ids, boxes)`` from the shared real video ``vtest.avi`` and its PETS09-S2L1 gt."""
    import cv2
    import numpy as np

    from discmot.io.mot import read_mot_table

    video, gt_file = (SHARED / rel for rel in REAL_VIDEO)
    gt = read_mot_table(gt_file).values
    capture = cv2.VideoCapture(str(video))
    try:
        for index in range(1, plan.similarity_frames * plan.similarity_sequences + 1):
            ok, image = capture.read()
            if not ok:
                break
            rows = gt[(gt[:, 0] == index) & (gt[:, 6] > 0)]
            if (index - 1) % plan.similarity_step == 0:
                yield 0, image, rows[:, 1].astype(np.int64), rows[:, 2:6]
    finally:
        capture.release()


def measure_similarity(plan: Plan) -> dict[str, dict]:
    """Similarity statistics per benchmark preset, plus the real video when the shared folder has it."""
    from appearance import embed_samples, mean_embedding, similarity_statistics

    sources = {preset: synth_samples(preset, plan) for preset in BENCH_PRESETS}
    if all((SHARED / rel).is_file() for rel in REAL_VIDEO):
        sources["vtest.avi (PETS09-S2L1, real)"] = video_samples(plan)
    embedded = {name: embed_samples(samples, seed=SEED) for name, samples in sources.items()}
    common = mean_embedding(embedded.values())
    stats = {name: similarity_statistics(e, SIMILAR, mean=common) for name, e in embedded.items()}
    for name, s in stats.items():
        _log(f"similarity {name}: centred {s['centred_mean']:.3f}, rank-1 {s['rank1']:.2f}")
    return stats


# --------------------------------------------------------------------------------------------------
# report


def _f(value: float, digits: int = 3) -> str:
    return "n/a" if value != value else f"{value:.{digits}f}"


def speed_table(speed: dict) -> str:
    from discmot.data.synth import PRESETS

    headers = ["preset", "frames/s at 320x192, 1 core", "runs (frames/s)", "KiB written per frame"]
    headers += ["preset's default size"]
    rows = [
        [p, f"**{s['fps']:.0f}**", ", ".join(f"{v:.0f}" for v in s["runs"]), f"{s['kib_per_frame']:.0f}"]
        + ["x".join(map(str, PRESETS[p].size))]
        for p, s in speed.items()
    ]
    return benchlib.markdown_table(headers, rows)


def difficulty_table(difficulty: dict, real: dict) -> str:
    headers = ["data", "objects/frame", "mean visibility", "ids re-appearing", "HOTA", "IDF1", "MOTA", "IDSW"]
    headers += ["HOTA, Kalman tracker"]
    rows = [
        [p, f"{d['objects_per_frame']:.1f}", _f(d["mean_visibility"], 2)]
        + [
            f"{d['reappearing_ids']}/{d['ids']}",
            _f(d["HOTA"]),
            f"**{_f(d['IDF1'])}**",
            _f(d["MOTA"]),
            d["IDSW"],
            _f(d["HOTA_kalman"]),
        ]
        for p, d in difficulty.items()
    ]
    rows += [
        [n, "", "", "", _f(d["HOTA"]), _f(d["IDF1"]), _f(d["MOTA"]), d["IDSW"], _f(d["HOTA_kalman"])]
        for n, d in real.items()
    ]
    return benchlib.markdown_table(headers, rows)


def similarity_table(similarity: dict) -> str:
    headers = ["data", "crops", "pairs", "mean cosine, different objects", f"share > {SIMILAR}"]
    headers += ["centred: mean cosine", f"centred: share > {SIMILAR}", "same object: mean cosine"]
    headers += ["re-id rank-1"]
    rows = [
        [n, s["crops"], s["pairs"], _f(s["different_mean"]), _f(s["different_above"], 2)]
        + [f"**{_f(s['centred_mean'])}**", _f(s["centred_above"], 2), _f(s["same_mean"])]
        + [f"**{_f(s['rank1'], 2)}**"]
        for n, s in similarity.items()
    ]
    return benchlib.markdown_table(headers, rows)


def _verdict(ok: bool) -> str:
    return "yes" if ok else "**no**"


def build_notes(plan: Plan, quick: bool, speed: dict, difficulty: dict, similarity: dict) -> list[str]:
    """Verdicts first, then exactly how each number was measured."""
    hardest = min(difficulty, key=lambda p: difficulty[p]["IDF1"])
    alike = max(BENCH_PRESETS, key=lambda p: similarity[p]["centred_mean"])
    rank1 = ", ".join(f"{p} {similarity[p]['rank1']:.2f}" for p in BENCH_PRESETS)
    fps = speed["dancetrack"]["fps"]
    notes = [
        f"Target: dancetrack at 320x192 at least {SPEED_TARGET_FPS:.0f} frames/s on one core: "
        f"{'met' if fps >= SPEED_TARGET_FPS else '**not met**'} ({fps:.0f}).",
        "dancetrack is the hardest preset for the IoU tracker (lowest IDF1): "
        f"{_verdict(hardest == 'dancetrack')} (lowest: {hardest}). Its objects look most alike (highest "
        f"centred cosine between different objects): {_verdict(alike == 'dancetrack')} (highest: {alike}); "
        f"re-id rank-1: {rank1}.",
        f"Speed: `generate_dataset` rendering and writing every file (JPEG images, depth PNGs, gt, seqinfo, "
        f"seqmap), {plan.speed_sequences} sequences x {plan.speed_frames} frames per run at 320x192, "
        f"median of {plan.speed_repeats} runs. One child process per run (`benchmarks/synth_speed.py`), "
        "pinned to one CPU, `OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=MKL_NUM_THREADS=1`, "
        "`cv2.setNumThreads(1)`, timed after a 2-frame warm-up call.",
        f"Difficulty: {plan.sequences} sequences x {plan.frames} frames per preset at the preset's default "
        f"size, seed {SEED}. Tracker `benchmarks/iou_tracker.py`: Hungarian IoU matching frame to frame, "
        "pairs below IoU 0.3 dropped, a new id for every unmatched box, a track ends at its first missed "
        f"frame; input: gt boxes with Gaussian jitter of {JITTER:.0%} of the box size on centre and size "
        "(seeded per sequence). Scored by `discmot.evaluate` (DanceTrack rules; real rows with their own "
        "benchmark's). 'ids re-appearing': ids whose gt has a gap of at least one frame. 'HOTA, Kalman "
        "tracker': `benchmarks/gt_trackers.py`, SORT-like: Hungarian IoU matching (pairs below 0.3 dropped) "
        "against each track's constant-velocity Kalman prediction (discmot's `KalmanFilterXYAH`), a track "
        "kept for one second of missed frames (the sequence's frame rate); same boxes, only the identities "
        "differ.",
        "Real rows: shared gt only (no video), same tracker and jitter; MOT17/MOT20 gt boxes are amodal "
        "(full extent, occluded people included, tracked rows: conf 1, class 1), synthetic gt boxes are the "
        "visible extent. Frame rates differ: SportsMOT 25, MOT17-05 14, MOT20-01 25, PETS09-S2L1 7 frames/s.",
        f"Appearance: `benchmarks/appearance.py` (3 random 3x3 conv layers + ReLU, 16/32/64 channels, "
        f"global average pooling, L2; seed {SEED}) on 64x32 crops of every visible object of at least "
        f"{24} pixels, every {plan.similarity_step}th frame of {plan.similarity_sequences} sequences x "
        f"{plan.similarity_frames} frames per preset (`render_sequence`, default size). 'pairs': "
        "different objects in the same frame. Raw cosines of post-ReLU averages are all close to 1; "
        "'centred' subtracts the mean embedding of all crops of the table (every row) first, "
        "so those numbers compare across rows. 'same object' and 're-id "
        f"rank-1' compare an object with itself {plan.similarity_step} frames later (rank-1: it is the "
        f"most similar of that frame's objects). Real row: every {plan.similarity_step}th frame of "
        f"{_video_span(plan)} of `vtest.avi` with PETS09-S2L1 gt boxes (amodal).",
    ]
    if quick:
        notes.insert(0, "**Quick smoke run** (short sequences, 1 repetition): not for quoting.")
    return notes


def _video_span(plan: Plan) -> str:
    """Which frames of the 795-frame real video the similarity samples cover."""
    frames = plan.similarity_frames * plan.similarity_sequences
    return "all 795 frames" if frames >= 795 else f"the first {frames} frames"


def run(quick: bool = False) -> benchlib.BenchResult:
    """Runs the three measurements and returns the docs section."""
    plan = QUICK if quick else FULL
    with tempfile.TemporaryDirectory(prefix="discmot-bench-synth-") as tmp:
        work = Path(tmp)
        speed = measure_speed(plan, work)
        difficulty = measure_difficulty(plan, work)
        real = measure_real_difficulty(work)
    similarity = measure_similarity(plan)
    table = "\n".join([speed_table(speed), difficulty_table(difficulty, real), similarity_table(similarity)])
    return benchlib.BenchResult(
        name=NAME,
        title=TITLE,
        table=table,
        notes=build_notes(plan, quick, speed, difficulty, similarity),
        machine=benchlib.machine_info(("numpy", "scipy", "opencv-python-headless", "discmot")),
        data={"speed": speed, "difficulty": difficulty, "real": real, "similarity": similarity},
    )
