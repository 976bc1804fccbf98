"""Association speed: discmot's JDE cascade against a maintained peer tracker, per frame.

The same seeded detection stream (`detection_stream.py`: 20, 50 or 200 moving objects, 200 frames) is fed
to discmot's `JDETracker` (the full cascade with 128-d embeddings, and IoU only) and to roboflow
``trackers``' ByteTrack. Each side runs in its own child process (`association_timing.py`) pinned to one
CPU; only ``update`` calls are timed, median of 3 runs after a warm-up. The peer is installed into
``.bench-deps/`` (pip ``--target``, no dependency resolution) so it never enters the project's
environment. Target: at most 1 ms per frame at 50 objects.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import benchlib

NAME = "association"
TITLE = "Association: JDE cascade per-frame time vs roboflow `trackers` ByteTrack"
PEER_DIR = benchlib.REPO_ROOT / ".bench-deps"
PEER_PACKAGES = (
    "trackers==2.6.1",
    "supervision",
    "pydeprecate",
    "pillow",
    "matplotlib",
    "defusedxml",
    "requests",
    "urllib3",
    "idna",
    "charset-normalizer",
    "certifi",
    "rich",
    "markdown-it-py",
    "mdurl",
    "pygments",
)
TARGET_MS = 1.0


def ensure_peer() -> str | None:
    """Installs the peer into ``.bench-deps`` if needed; returns a problem description or None."""
    probe = [sys.executable, "-c", "import trackers, supervision"]
    env = {**os.environ, "PYTHONPATH": str(PEER_DIR)}
    if subprocess.run(probe, env=env, capture_output=True).returncode == 0:
        return None
    install = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "-q",
        "--no-deps",
        "--target",
        str(PEER_DIR),
        *PEER_PACKAGES,
    ]
    if subprocess.run(install, capture_output=True).returncode != 0:
        return "could not install roboflow trackers into .bench-deps"
    return (
        None if subprocess.run(probe, env=env, capture_output=True).returncode == 0 else "peer import failed"
    )


def time_tracker(tracker: str, objects: int, frames: int, repeats: int) -> float:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(PEER_DIR), str(benchlib.BENCH_DIR)]),
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    cmd = [
        sys.executable,
        str(benchlib.BENCH_DIR / "association_timing.py"),
        tracker,
        str(objects),
        "--frames",
        str(frames),
        "--repeats",
        str(repeats),
    ]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])["ms_per_frame"]


def run(quick: bool) -> benchlib.BenchResult:
    frames, repeats = (60, 1) if quick else (200, 3)
    problem = ensure_peer()
    rows, data = [], {}
    for objects in (20, 50, 200):
        ours = time_tracker("jde", objects, frames, repeats)
        iou_only = time_tracker("jde-iou", objects, frames, repeats)
        peer = None if problem else time_tracker("bytetrack", objects, frames, repeats)
        data[objects] = {"jde": ours, "jde_iou": iou_only, "bytetrack": peer}
        ratio = f"{peer / ours:.2f}x" if peer else "n/a"
        rows.append([objects, f"{ours:.3f}", f"{iou_only:.3f}", f"{peer:.3f}" if peer else "n/a", ratio])
    table = benchlib.markdown_table(
        [
            "objects / frame",
            "discmot JDE cascade (ms)",
            "discmot, IoU only (ms)",
            "ByteTrack (ms)",
            "ByteTrack / discmot",
        ],
        rows,
    )
    at_50 = data[50]["jde"]
    notes = [
        f"Target: at most {TARGET_MS} ms per frame at 50 objects: "
        f"{'met' if at_50 <= TARGET_MS else 'not met'} ({at_50:.3f} ms).",
        "Stream: `benchmarks/detection_stream.py` (seeded; constant-velocity people on a 1920x1080 view, "
        f"1 px box noise, 128-d embeddings with noise), {frames} frames; each tracker in its own process "
        f"pinned to one CPU, median of {repeats} timed runs after a warm-up; only `update` is timed.",
        "discmot JDE cascade: appearance + Kalman gating, IoU, unconfirmed stages (spec cstrack.md 7.4); "
        "IoU only: the same tracker given no embeddings. ByteTrack: roboflow `trackers` 2.6.1 "
        "`ByteTrackTracker` defaults (no appearance), installed into `.bench-deps/` for this benchmark only.",
    ]
    if problem:
        notes.append(f"Peer not measured: {problem}.")
    return benchlib.BenchResult(
        NAME, TITLE, table, notes, benchlib.machine_info(("numpy", "scipy")), data, ok=True
    )
