"""The paper's diagnosis of indiscriminative embeddings: among the DETR object embeddings of different
objects in the same frame, the fraction whose cosine similarity exceeds 0.9.

For each frame of a sequence, the network's queries with score > 0.3 are matched one-to-one to the ground
truth boxes (Hungarian on IoU, IoU >= 0.5); the matched queries' embeddings (``outputs``, the features the
ID decoder reads) of every pair of different objects are compared. The protocol lives in the library
(`discmot.analysis.embeddings`, also behind ``discmot analyze``); this script keeps the benchmark's API.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from discmot.analysis.embeddings import (
    fdta_matched_embeddings,
    l2_normalize,
    pair_similarities,
    tlwh_to_xyxy,
)
from discmot.io.mot import read_mot_table


def frame_embeddings(model, image_bgr: np.ndarray, gt_xyxy: np.ndarray, input_size) -> np.ndarray:
    """``[m, F]`` L2-normalised embeddings of the queries matched to ``gt_xyxy [n, 4]`` (pixels)."""
    embeddings, _, _ = fdta_matched_embeddings(model, image_bgr, gt_xyxy, input_size)
    return l2_normalize(embeddings).astype(np.float32)


def similar_fraction(model, sequence: Path, input_size=None, threshold: float = 0.9) -> tuple[float, int]:
    """``(fraction of different-object pairs with cosine > threshold, number of pairs)`` over a sequence."""
    table = read_mot_table(sequence / "gt" / "gt.txt", min_columns=6)
    frames = table.values[:, 0].astype(int)
    above = total = 0
    for image_file in sorted((sequence / "img1").iterdir()):
        rows = frames == int(image_file.stem)
        gt_xyxy = tlwh_to_xyxy(table.values[rows, 2:6])
        embeddings, gt_rows, _ = fdta_matched_embeddings(
            model, cv2.imread(str(image_file)), gt_xyxy, input_size
        )
        pairs = pair_similarities(embeddings, gt_rows)  # one gt row per object: every pair is two objects
        above += int((pairs > threshold).sum())
        total += len(pairs)
    return (above / total if total else float("nan")), total
