"""FDTA's ID assignment protocols (spec ``fdta.md`` §5.2 step 2): per-frame time of each, as a ratio to
the default ``object-max`` measured in the same rounds.

Input: seeded ID probabilities ``[M, 51]`` (50 labels + newborn; softmax of logits with one peaked label
per detection, as a trained decoder gives) for M = 10, 30 and 60 detections, and a history holding 25
of the labels. Each protocol runs over the same 100 frames per round; rounds alternate the protocols,
and the ratio is the median over rounds of (protocol time / object-max time) within a round. The check:
every output is a valid labelling (each non-newborn label at most once, from the history, with a
probability of at least ``id_thresh``).
"""

from __future__ import annotations

import statistics
import time

import benchlib

NAME = "fdta_assignment"
TITLE = "FDTA ID assignment protocols: per-frame time against object-max"
DETECTIONS = (10, 30, 60)
LABELS = 50
ID_THRESH = 0.2


def frames(count: int, detections: int, seed: int):
    """``count`` probability matrices ``[detections, LABELS + 1]`` and the history labels."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    history = set(range(0, LABELS, 2))
    out = []
    for _ in range(count):
        logits = torch.randn(detections, LABELS + 1, generator=generator)
        peaks = torch.randint(0, LABELS + 1, (detections,), generator=generator)
        logits[torch.arange(detections), peaks] += 6.0
        out.append(logits.softmax(dim=-1))
    return out, history


def valid(labels, probs, history) -> bool:
    """Each assigned label once, from the history, with a probability of at least ``ID_THRESH``."""
    assigned = [(i, int(label)) for i, label in enumerate(labels.tolist()) if label != LABELS]
    chosen = [label for _, label in assigned]
    return len(chosen) == len(set(chosen)) and all(
        label in history and float(probs[i, label]) >= ID_THRESH for i, label in assigned
    )


def seconds_per_frame(assign, inputs, history) -> float:
    start = time.perf_counter()
    for probs in inputs:
        assign(probs, history, ID_THRESH)
    return (time.perf_counter() - start) / len(inputs)


def run(quick: bool) -> benchlib.BenchResult:
    from discmot.trackers.fdta_steps import ASSIGNMENTS

    rounds = 3 if quick else 15
    rows, data, problems = [], {}, []
    for detections in DETECTIONS:
        inputs, history = frames(20 if quick else 100, detections, seed=detections)
        for name, assign in ASSIGNMENTS.items():
            if not all(valid(assign(p, history, ID_THRESH), p, history) for p in inputs):
                problems.append(f"{name} gave an invalid labelling at {detections} detections")
        times = {name: [] for name in ASSIGNMENTS}
        for _ in range(rounds):
            for name, assign in ASSIGNMENTS.items():
                times[name].append(seconds_per_frame(assign, inputs, history))
        base = times["object-max"]
        cells = [detections, f"{statistics.median(base) * 1e6:.0f}"]
        data[detections] = {"object-max_us": statistics.median(base) * 1e6}
        for name in ASSIGNMENTS:
            if name == "object-max":
                continue
            ratio = statistics.median(t / b for t, b in zip(times[name], base, strict=True))
            data[detections][name] = ratio
            cells.append(f"{ratio:.2f}x")
        rows.append(cells)
    headers = ["detections / frame", "object-max (µs / frame)"]
    headers += [f"{name} / object-max" for name in ASSIGNMENTS if name != "object-max"]
    notes = [
        f"{LABELS} labels + newborn, a history of {LABELS // 2} labels, ID threshold {ID_THRESH}; "
        f"{rounds} interleaved rounds, each protocol over the same frames; ratio: median of the per-round "
        "ratios. CPU, one process, torch's default threads.",
        "For scale: the bundled tiny FDTA tracks at about 26 frames/s on this CPU (model zoo above), 38 ms "
        "a frame; the full-size one takes seconds a frame.",
    ]
    return benchlib.BenchResult(
        NAME,
        TITLE,
        benchlib.markdown_table(headers, rows),
        notes,
        benchlib.machine_info(("numpy", "scipy", "torch")),
        data,
        ok=not problems,
        problems=problems,
    )
