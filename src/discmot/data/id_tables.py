"""ID-label tables of one training clip: MOTIP's labels, trajectory augmentation and newborn targets.

Spec ``fdta.md`` §2.2-2.4. For a clip of T frames with N identities (at most K = ``num_id_vocabulary``
kept for ID supervision, a random subset when there are more), every one of G groups gets:

* labels: a random permutation of ``0..K-1``; slot n carries label ``perm[n]`` in every frame;
* trajectory tables (history tokens) and unknown tables (current detections), both ``[G, T, N]``:
  ``ann_idx`` = row of the slot's object in frame t's annotations, ``mask`` = True where absent;
* occlusion: per (group, slot) with probability ``occlusion_prob`` a run of frames
  ``[begin, begin + ceil((T - 1 - begin) * u))`` is masked in **both** tables (never the last frame);
* switch: per (group, frame) each slot is picked with probability ``switch_prob``; if two or more are
  picked, their trajectory ``ann_idx``/``mask`` entries are permuted among them, labels stay (so a
  history token can carry another object's embedding under this slot's label);
* newborn targets: the unknown label is K ("newborn") where the slot has no unmasked trajectory token in
  any earlier frame, else ``perm[n]``.

Convention here: ``ann_idx`` is -1 exactly where ``mask`` is True (also for occluded tokens), so a
gather never needs the mask to know a row is absent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class IdTables:
    """The ID supervision of one clip (numpy; the dataset turns it into tensors).

    Attributes:
        slot_track_ids: ``(N,)`` int64 track id of each identity slot (sorted).
        trajectory_labels, unknown_labels: ``(G, T, N)`` int64; unknown labels are K for newborns.
        trajectory_ann_idx, unknown_ann_idx: ``(G, T, N)`` int64 annotation rows, -1 where masked.
        trajectory_masks, unknown_masks: ``(G, T, N)`` bool, True = absent (no token).
    """

    slot_track_ids: np.ndarray
    trajectory_labels: np.ndarray
    trajectory_ann_idx: np.ndarray
    trajectory_masks: np.ndarray
    unknown_labels: np.ndarray
    unknown_ann_idx: np.ndarray
    unknown_masks: np.ndarray

    TABLES = (
        "trajectory_labels",
        "trajectory_ann_idx",
        "trajectory_masks",
        "unknown_labels",
        "unknown_ann_idx",
        "unknown_masks",
    )


def build_id_tables(
    track_ids: list[np.ndarray],
    rng: np.random.Generator,
    num_groups: int = 6,
    num_id_vocabulary: int = 50,
    occlusion_prob: float = 0.5,
    switch_prob: float = 0.5,
) -> IdTables:
    """The tables of §2.2-2.4 for one clip.

    Args:
        track_ids: T arrays ``(n_t,)`` of the track ids of each frame's annotations (after augmentation).
        rng: the clip's random generator.
        num_groups: G.
        num_id_vocabulary: K; identities beyond K are left out of the tables (DETR targets only).
        occlusion_prob, switch_prob: trajectory augmentation probabilities (0 disables it).
    """
    slots = choose_identities(track_ids, num_id_vocabulary, rng)
    ann_idx = base_ann_idx(track_ids, slots)
    num_frames, num_slots = ann_idx.shape
    labels = np.stack([rng.permutation(num_id_vocabulary)[:num_slots] for _ in range(num_groups)])
    labels = np.broadcast_to(labels[:, None, :], (num_groups, num_frames, num_slots)).astype(np.int64)
    trajectory = np.broadcast_to(ann_idx, (num_groups, num_frames, num_slots)).copy()
    trajectory[occlusion_masks(rng, num_groups, num_frames, num_slots, occlusion_prob)] = -1
    unknown = trajectory.copy()  # occlusion hides both token kinds; switching touches trajectories only
    switch_trajectories(trajectory, rng, switch_prob)
    unknown_labels = np.where(has_earlier_token(trajectory >= 0), labels, num_id_vocabulary)
    return IdTables(
        slot_track_ids=slots,
        trajectory_labels=labels,
        trajectory_ann_idx=trajectory,
        trajectory_masks=trajectory < 0,
        unknown_labels=unknown_labels,
        unknown_ann_idx=unknown,
        unknown_masks=unknown < 0,
    )


def choose_identities(track_ids: list[np.ndarray], limit: int, rng: np.random.Generator) -> np.ndarray:
    """``(N,)`` sorted track ids of the clip, a random subset of ``limit`` when there are more."""
    present = np.unique(np.concatenate([np.asarray(i, np.int64) for i in track_ids] or [np.zeros(0, int)]))
    if len(present) > limit:
        present = np.sort(rng.choice(present, size=limit, replace=False))
    return present.astype(np.int64)


def base_ann_idx(track_ids: list[np.ndarray], slots: np.ndarray) -> np.ndarray:
    """``(T, N)`` int64: row of slot n's object in frame t's annotations, -1 when it is absent."""
    table = np.full((len(track_ids), len(slots)), -1, np.int64)
    for t, ids in enumerate(track_ids):
        ids = np.asarray(ids, np.int64)
        position = np.searchsorted(slots, ids)
        found = (position < len(slots)) & (slots[np.minimum(position, len(slots) - 1)] == ids)
        table[t, position[found]] = np.flatnonzero(found)
    return table


def occlusion_masks(
    rng: np.random.Generator, groups: int, frames: int, slots: int, prob: float
) -> np.ndarray:
    """``(G, T, N)`` bool: the frames hidden by the occlusion augmentation (never the last frame)."""
    hidden = np.zeros((groups, frames, slots), bool)
    for g in range(groups):
        for n in range(slots):
            if rng.random() < prob:
                begin = int(rng.integers(frames))
                length = math.ceil((frames - 1 - begin) * rng.random())
                hidden[g, begin : begin + length, n] = True
    return hidden


def switch_trajectories(ann_idx: np.ndarray, rng: np.random.Generator, prob: float) -> None:
    """Permutes, in place, the trajectory entries of randomly picked slots of each (group, frame)."""
    groups, frames, slots = ann_idx.shape
    for g in range(groups):
        for t in range(frames):
            picked = np.flatnonzero(rng.random(slots) < prob)
            if len(picked) >= 2:
                ann_idx[g, t, picked] = ann_idx[g, t, rng.permutation(picked)]


def has_earlier_token(present: np.ndarray) -> np.ndarray:
    """``(G, T, N)`` bool: True where the slot has a trajectory token at some frame ``t' < t``."""
    seen = np.logical_or.accumulate(present, axis=1)
    earlier = np.zeros_like(seen)
    earlier[:, 1:] = seen[:, :-1]
    return earlier
