#!/usr/bin/env python
"""Times one ``generate_dataset`` call on one core and prints the result as one JSON line.

Run by ``bench_synth.py`` as a child process, with ``OMP_NUM_THREADS=1``, ``OPENBLAS_NUM_THREADS=1`` and
``MKL_NUM_THREADS=1`` in its environment (they only take effect if set before numpy and OpenCV load,
hence a child). Here the process is also pinned to a single CPU and OpenCV's own thread pool is set to
one thread, so the number is single-core throughput whatever the machine. A 2-frame warm-up call into a
separate folder comes first, so one-time costs (imports inside the generator, first JPEG encoder use) are
not counted; the timed call then renders and writes every file (images, depth maps, gt, seqinfo, seqmap).

    python benchmarks/synth_speed.py --preset dancetrack --out /tmp/x --frames 200 --size 320x192
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

SINGLE_THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def pin_to_one_core() -> int:
    """Restricts this process to one of the CPUs it may use (the lowest numbered); returns it."""
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return cpu


def parse_size(text: str) -> tuple[int, int] | None:
    """``"320x192"`` -> ``(320, 192)``; ``"default"`` -> None (the preset's own size)."""
    if text == "default":
        return None
    width, height = text.lower().split("x")
    return int(width), int(height)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--preset", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sequences", type=int, default=4)
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--size", type=parse_size, default=(320, 192), help="WxH or 'default'")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.update(SINGLE_THREAD_ENV)  # for anything started later; numpy/cv2 need them at load
    cpu = pin_to_one_core()
    import cv2

    cv2.setNumThreads(1)
    from discmot.data.synth import generate_dataset

    common = dict(preset=args.preset, split="train", size=args.size, seed=args.seed)
    generate_dataset(args.out / "warmup", sequences=1, frames=2, **common)
    start = time.perf_counter()
    folders = generate_dataset(args.out / "run", sequences=args.sequences, frames=args.frames, **common)
    seconds = time.perf_counter() - start
    written = sum(p.stat().st_size for p in (args.out / "run").rglob("*") if p.is_file())
    frames = args.sequences * args.frames
    result = {
        "preset": args.preset,
        "frames": frames,
        "seconds": seconds,
        "fps": frames / seconds,
        "bytes": written,
        "folders": [str(p) for p in folders],
        "cpu": cpu,
        "cv2_threads": cv2.getNumThreads(),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
