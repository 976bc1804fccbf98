"""A seeded stream of detections for association benchmarks: ``N`` people moving on a 1920x1080 view.

Each object walks with a constant velocity plus noise, keeps a 128-d appearance vector (plus noise), and
every frame yields its box (tlwh), a score and its embedding. Only numpy: both discmot and peer trackers
can consume it.
"""

from __future__ import annotations

import numpy as np


def detection_stream(
    objects: int, frames: int, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``frames`` tuples ``(boxes (N, 4) tlwh, scores (N,), embeddings (N, 128) float32)``."""
    rng = np.random.default_rng(seed)
    position = rng.uniform([0, 0], [1800, 900], (objects, 2))
    velocity = rng.normal(0, 2.0, (objects, 2))
    size = rng.uniform([25, 60], [60, 160], (objects, 2))
    identity = rng.normal(size=(objects, 128)).astype(np.float32)
    stream = []
    for _ in range(frames):
        position = position + velocity
        velocity = np.where((position < 0) | (position > [1800, 900]), -velocity, velocity)  # bounce
        boxes = np.concatenate([position, size], axis=1) + rng.normal(0, 1.0, (objects, 4))
        scores = rng.uniform(0.65, 0.95, objects)
        embeddings = identity + rng.normal(0, 0.1, identity.shape).astype(np.float32)
        stream.append((boxes, scores, embeddings))
    return stream
