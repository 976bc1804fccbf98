"""The paper's diagnosis of indiscriminative embeddings: among the DETR object embeddings of different
objects in the same frame, the fraction whose cosine similarity exceeds 0.9.

For each frame of a sequence, the network's queries with score > 0.3 are matched one-to-one to the ground
truth boxes (Hungarian on IoU, IoU >= 0.5); the matched queries' embeddings (``outputs``, the features the
ID decoder reads) of every pair of different objects are compared.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from discmot.io.mot import read_mot_table
from discmot.models.fdta.model import FDTA
from discmot.ops.boxes import box_iou
from discmot.trackers.fdta import preprocess_frame


def frame_embeddings(model: FDTA, image_bgr: np.ndarray, gt_xyxy: np.ndarray, input_size) -> np.ndarray:
    """``[m, F]`` L2-normalised embeddings of the queries matched to ``gt_xyxy [n, 4]`` (pixels)."""
    image, (width, height) = preprocess_frame(image_bgr, model.config.runtime, input_size)
    with torch.inference_mode():
        out = model.detect(image)
    scores = out["pred_logits"][0, :, 0].sigmoid().numpy()
    cxcywh = out["pred_boxes"][0].numpy()
    corners = np.concatenate([cxcywh[:, :2] - cxcywh[:, 2:] / 2, cxcywh[:, :2] + cxcywh[:, 2:] / 2], axis=1)
    boxes = corners * np.array([width, height, width, height])
    keep = np.flatnonzero(scores > 0.3)
    if not len(keep) or not len(gt_xyxy):
        return np.zeros((0, out["outputs"].shape[-1]), np.float32)
    iou = box_iou(boxes[keep], gt_xyxy)
    rows, cols = linear_sum_assignment(-iou)
    matched = keep[rows[iou[rows, cols] >= 0.5]]
    embeddings = out["outputs"][0, torch.from_numpy(matched)].numpy()
    return embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True).clip(min=1e-12)


def similar_fraction(
    model: FDTA, sequence: Path, input_size=None, threshold: float = 0.9
) -> tuple[float, int]:
    """``(fraction of different-object pairs with cosine > threshold, number of pairs)`` over a sequence."""
    table = read_mot_table(sequence / "gt" / "gt.txt", min_columns=6)
    frames = table.values[:, 0].astype(int)
    xywh = table.values[:, 2:6]
    above = total = 0
    for image_file in sorted((sequence / "img1").iterdir()):
        frame = int(image_file.stem)
        rows = frames == frame
        gt = xywh[rows].astype(np.float64)
        gt_xyxy = np.concatenate([gt[:, :2], gt[:, :2] + gt[:, 2:]], axis=1)
        embeddings = frame_embeddings(model, cv2.imread(str(image_file)), gt_xyxy, input_size)
        if len(embeddings) < 2:
            continue
        similarity = embeddings @ embeddings.T
        pairs = similarity[np.triu_indices(len(embeddings), k=1)]
        above += int((pairs > threshold).sum())
        total += len(pairs)
    return (above / total if total else float("nan")), total
