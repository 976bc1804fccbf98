#!/usr/bin/env python
"""Child process of ``bench_association``: times one tracker's per-frame update on a detection stream.

    python association_timing.py {jde,jde-iou,bytetrack} OBJECTS [--frames N] [--repeats R]

Prints one JSON object: ``{"tracker", "objects", "ms_per_frame" (median of repeats), "all"}``. The
stream (`detection_stream`) is built before timing; only the tracker's ``update`` calls are timed, on
one CPU. The peer (roboflow ``trackers``) is imported from ``PYTHONPATH`` (``.bench-deps``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

from detection_stream import detection_stream


def jde_updates(stream, embeddings: bool):
    from discmot.structures import Detections
    from discmot.trackers.association import JDETracker

    frames = [Detections(b, s, e if embeddings else None) for b, s, e in stream]
    tracker = JDETracker()
    return lambda: [tracker.update(d) for d in frames], tracker.reset


def bytetrack_updates(stream):
    import numpy as np
    import supervision as sv

    from trackers import ByteTrackTracker

    frames = [
        sv.Detections(
            xyxy=np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], 1),
            confidence=s,
            class_id=np.zeros(len(s), int),
        )
        for b, s, _ in stream
    ]
    state = {"tracker": ByteTrackTracker()}
    return lambda: [state["tracker"].update(d) for d in frames], lambda: state.update(
        tracker=ByteTrackTracker()
    )


def main() -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False)
    parser.add_argument("tracker", choices=["jde", "jde-iou", "bytetrack"])
    parser.add_argument("objects", type=int)
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    stream = detection_stream(args.objects, args.frames)
    if args.tracker == "bytetrack":
        run, reset = bytetrack_updates(stream)
    else:
        run, reset = jde_updates(stream, embeddings=args.tracker == "jde")
    run()  # warm-up (imports, caches)
    times = []
    for _ in range(args.repeats):
        reset()
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) / args.frames * 1000)
    print(
        json.dumps(
            {
                "tracker": args.tracker,
                "objects": args.objects,
                "ms_per_frame": statistics.median(times),
                "all": times,
            }
        )
    )


if __name__ == "__main__":
    main()
