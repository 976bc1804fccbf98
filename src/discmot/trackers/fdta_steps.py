"""FDTA's per-frame tracking steps on plain tensors (spec ``fdta.md`` §5.2, steps 1-4 and 6), each
callable on its own: the detection filter, the ID assignment protocols (`ASSIGNMENTS`), the newborn
filter and cap, and the boxes in frame pixels. `discmot.trackers.fdta.FDTATracker` runs them in order.

Thresholds are compared in float32 with the threshold rounded to float32, as the original's tensor
comparisons do (a score of exactly ``float32(0.6)`` is not ``> 0.6``).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from discmot.models.fdta.config import RuntimeConfig


def select_detections(
    logits: torch.Tensor, boxes: torch.Tensor, runtime: RuntimeConfig, image_size: tuple[int, int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Step 1: the queries with ``score > det_thresh`` and ``w·W·h·H > area_thresh`` (both strict).

    Args:
        logits: ``[Q, C]`` class logits (score = max sigmoid over the classes).
        boxes: ``[Q, 4]`` normalised ``cx, cy, w, h``.
        image_size: ``(W, H)`` of the original frame.

    Returns:
        ``(indices [M] long``, in query order, ``scores [M] float32)``.
    """
    scores = logits.float().sigmoid().max(dim=-1).values
    width, height = image_size
    boxes = boxes.float()
    area = boxes[:, 2] * width * boxes[:, 3] * height
    indices = torch.nonzero((scores > runtime.det_thresh) & (area > runtime.area_thresh)).flatten()
    return indices, scores[indices]


def object_max_assignment(
    probs: torch.Tensor, history_labels: Iterable[int], id_thresh: float
) -> torch.Tensor:
    """Step 2, ``ASSIGNMENT_PROTOCOL: object-max``.

    Detection ``i`` takes its most likely label ``l = argmax probs[i]`` only if ``l`` is a label of the
    history, ``probs[i, l] >= id_thresh``, ``probs[i, l]`` is the best probability of ``l`` over all
    detections, and no earlier detection (query order) took ``l`` (this settles ties); otherwise it is
    newborn.

    Args:
        probs: ``[M, K + 1]`` probabilities (last column: newborn).
        history_labels: the labels that have a column in the history.

    Returns:
        ``[M]`` long labels on ``probs``' device, ``K`` for newborn.
    """
    labels = _all_newborn(probs)
    if probs.shape[0] == 0:
        return labels
    newborn = probs.shape[1] - 1
    best_prob, best_label = probs.max(dim=-1)
    label_best = probs.max(dim=0).values.clone()
    label_best[newborn] = 0.0
    # The acceptance tests inline, before the first-taker loop (not `_accepted_labels` after it): on the
    # per-frame path this takes half the time, as only eligible detections reach the Python loop.
    known = set(history_labels)
    in_history = torch.tensor([label in known for label in best_label.tolist()], device=probs.device)
    eligible = in_history & (best_prob >= id_thresh) & (best_prob == label_best[best_label])
    taken: set[int] = set()
    for index in torch.nonzero(eligible).flatten().tolist():
        label = int(best_label[index])
        if label not in taken:
            labels[index] = label
            taken.add(label)
    return labels


def hungarian_assignment(
    probs: torch.Tensor, history_labels: Iterable[int], id_thresh: float
) -> torch.Tensor:
    """Step 2, ``ASSIGNMENT_PROTOCOL: hungarian`` (in the original's code; no official config uses it).

    A one-to-one assignment of detections to labels minimising the summed ``1 - probs`` (scipy's
    ``linear_sum_assignment``), with the newborn column repeated ``M - 1`` more times so that every
    detection may be newborn. Then object-max's acceptance tests: a detection keeps its label only if
    the label is in the history and its probability is ``>= id_thresh``; otherwise it is newborn. As in
    the original, the assignment runs over every label, so it may give a detection a label without a
    track, which the acceptance test then turns newborn even where a track's label was free for it.
    Arguments and result as `object_max_assignment`'s.
    """
    count, newborn = probs.shape[0], probs.shape[1] - 1
    if count == 0:
        return _all_newborn(probs)
    costs = 1 - probs.float()  # float32, as the original computes it: ties round the same way
    costs = torch.cat((costs, costs[:, newborn:].expand(count, count - 1)), dim=1)
    rows, columns = linear_sum_assignment(costs.cpu().numpy())
    labels = _all_newborn(probs)
    labels[torch.from_numpy(rows).to(labels.device)] = (
        torch.from_numpy(columns).to(labels.device).clamp(max=newborn)
    )
    return _accepted_labels(labels, probs, history_labels, id_thresh)


def id_max_assignment(probs: torch.Tensor, history_labels: Iterable[int], id_thresh: float) -> torch.Tensor:
    """Step 2, ``ASSIGNMENT_PROTOCOL: id-max`` (in the original's code; no official config uses it).

    Each label of the history picks its most likely detection (the first in query order on ties); a
    detection picked by several labels takes the one it has the highest probability for (the smallest
    label on ties). The spec names this protocol without its tie rules; these are discmot's. Then
    object-max's acceptance tests (label in the history, probability ``>= id_thresh``); every other
    detection is newborn. The newborn column is never picked. Arguments and result as
    `object_max_assignment`'s.
    """
    labels = _all_newborn(probs)
    if probs.shape[0] == 0:
        return labels
    newborn = probs.shape[1] - 1
    best = probs[:, :newborn].max(dim=0)  # max returns the first maximum
    label_prob: list[float] = best.values.tolist()  # (plain numbers: a loop)
    label_detection: list[int] = best.indices.tolist()
    picked: dict[int, tuple[float, int]] = {}  # detection -> (probability, label) of its pick so far
    for label in sorted(set(history_labels)):
        detection = label_detection[label]
        if label_prob[label] > picked.get(detection, (-1.0, 0))[0]:
            picked[detection] = (label_prob[label], label)
    for detection, (_, label) in picked.items():
        labels[detection] = label
    return _accepted_labels(labels, probs, history_labels, id_thresh)


def _all_newborn(probs: torch.Tensor) -> torch.Tensor:
    """``[M]`` long, every detection newborn (``K``), on ``probs``' device."""
    return torch.full((probs.shape[0],), probs.shape[1] - 1, dtype=torch.long, device=probs.device)


def _accepted_labels(
    labels: torch.Tensor, probs: torch.Tensor, history_labels: Iterable[int], id_thresh: float
) -> torch.Tensor:
    """``labels`` with every label that is not in the history or has a probability below ``id_thresh``
    turned newborn (``K``): the acceptance tests all protocols share."""
    newborn = probs.shape[1] - 1
    in_history = torch.zeros(newborn + 1, dtype=torch.bool)  # per label; the newborn label never
    in_history[list(history_labels)] = True
    label_probs = probs.gather(1, labels[:, None]).flatten()
    accepted = in_history.to(probs.device)[labels] & (label_probs >= id_thresh)
    return torch.where(accepted, labels, newborn)


#: ``RuntimeConfig.assignment_protocol`` -> its step 2.
ASSIGNMENTS = {
    "object-max": object_max_assignment,
    "hungarian": hungarian_assignment,
    "id-max": id_max_assignment,
}


def keep_confident_newborns(
    labels: torch.Tensor, scores: torch.Tensor, num_labels: int, newborn_thresh: float
) -> torch.Tensor:
    """Step 3: ``[M]`` bool, False for newborns (label ``num_labels``) with ``score <= newborn_thresh``."""
    return (labels != num_labels) | (scores > newborn_thresh)


def cap_newborns(labels: torch.Tensor, num_labels: int) -> torch.Tensor:
    """Step 4: ``[M]`` bool keeping every assigned detection and the first ``num_labels - #assigned``
    newborns in query order (more newborns than free labels: the later ones are dropped)."""
    newborn = labels == num_labels
    free = num_labels - int((~newborn).sum())
    return ~newborn | (torch.cumsum(newborn.long(), 0) <= free)


def boxes_to_pixels(boxes: torch.Tensor, image_size: tuple[int, int]) -> np.ndarray:
    """Step 6: normalised ``[M, 4]`` ``cx, cy, w, h`` -> ``(M, 4)`` float64 ``tlwh`` pixels (computed in
    float32 like the original, then widened)."""
    cx, cy, w, h = boxes.float().cpu().unbind(-1)
    width, height = image_size
    scale = torch.tensor([width, height, width, height], dtype=torch.float32)
    return (torch.stack([cx - 0.5 * w, cy - 0.5 * h, w, h], dim=-1) * scale).double().numpy()
