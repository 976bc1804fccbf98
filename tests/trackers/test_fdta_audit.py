"""An independent check of FDTA's runtime tracker against spec ``fdta.md`` §5.2, read literally.

`SpecTracker` re-states the per-frame algorithm from the spec's text with its own data structures (the
history as a list of ``{label: key}`` rows, the ID queue as a plain list), not from discmot's code.
`RandomFDTA` stands in for the network (not for the tracker under test): random detections with scores
around the thresholds, repeated objects (tied ID probabilities), more objects than ID labels (label
recycling) and gaps longer than the window (track expiry). Both trackers see the same frames; every
emitted row (id, box, score) and every history handed to the ID decoder must agree exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch

from discmot.models.fdta.config import FDTAConfig, IDDecoderConfig, RuntimeConfig
from discmot.trackers.fdta import FDTATracker
from helpers import exact_logit

FRAME = np.zeros((30, 50, 3), dtype=np.uint8)  # W = 50, H = 30
WIDTH, HEIGHT = 50, 30
FEATURE_DIM = 3


def id_logits_rule(
    history: list[dict[int, int]], keys: list[int], salt: int, num_labels: int
) -> torch.Tensor:
    """``[M, K + 1]`` float32 ID logits for detections of objects ``keys`` given the history rows.

    Label ``l`` scores high for an object whose key that label's track carried in the window (the more
    recently, the higher), newborn scores a fixed middle value; coarse integer steps make ties common.
    ``salt`` varies the pattern per frame.
    """
    logits = torch.zeros(len(keys), num_labels + 1, dtype=torch.float32)
    for m, key in enumerate(keys):
        for label in range(num_labels):
            logits[m, label] = float((key * 7 + label * 3 + salt) % 4)
        logits[m, num_labels] = 2.0
        for age, row in enumerate(reversed(history)):
            for label, seen in row.items():
                if seen == key:
                    logits[m, label] = max(float(logits[m, label]), 6.0 - (age % 3))
    return logits


@dataclass
class Detection:
    key: int  # the object (its embedding is [key, 0, 0])
    logit: float  # float32 class logit
    box: tuple[float, float, float, float]  # normalised cx, cy, w, h (float32 values)


def random_video(seed: int, frames: int, max_queries: int, keys: int) -> list[list[Detection]]:
    rng = np.random.default_rng(seed)
    video = []
    for _ in range(frames):
        queries = []
        for _ in range(rng.integers(0, max_queries + 1)):
            score = float(rng.choice([0.25, 0.3, 0.45, 0.6, 0.7, 0.95]) + rng.choice([0.0, 0.0, 1e-3, -1e-3]))
            # the two thresholds exactly (a score of float32(0.6) is no newborn), other scores near them
            exact = score in (0.3, 0.6)
            logit = exact_logit(score) if exact else float(np.float32(math.log(score / (1 - score))))
            box = tuple(float(np.float32(v)) for v in rng.uniform([0.1, 0.1, 0.0, 0.0], [0.9, 0.9, 0.3, 0.3]))
            if rng.random() < 0.05:
                box = (box[0], box[1], 0.0, box[3])  # an empty box: area 0 is not > 0
            queries.append(Detection(int(rng.integers(0, keys)), logit, box))
        video.append(queries)
    return video


@dataclass
class RandomFDTA:
    """The model interface of `FDTATracker`: scripted detections, ID logits by `id_logits_rule`."""

    video: list[list[Detection]]
    num_labels: int
    miss_tolerance: int
    frame_index: int = -1
    histories: list[list[dict[int, int]]] = field(default_factory=list)  # as handed to id_logits

    def __post_init__(self):
        self.config = FDTAConfig(
            id_decoder=IDDecoderConfig(num_id_vocabulary=self.num_labels),
            runtime=RuntimeConfig(shorter_side=16, max_longer_side=32, miss_tolerance=self.miss_tolerance),
        )

    def detect(self, images, mask=None):
        self.frame_index += 1
        queries = self.video[self.frame_index]
        logits = torch.tensor([[q.logit] for q in queries], dtype=torch.float32).reshape(-1, 1)
        boxes = torch.tensor([q.box for q in queries], dtype=torch.float32).reshape(-1, 4)
        features = torch.zeros(len(queries), FEATURE_DIM)
        features[:, 0] = torch.tensor([float(q.key) for q in queries])
        return {"pred_logits": logits[None], "pred_boxes": boxes[None], "outputs": features[None]}

    def id_logits(self, features, labels, times, masks, unknown_features, unknown_times, unknown_masks):
        history_frames = features.shape[2]
        assert times[0, 0].tolist() == [[t] * labels.shape[3] for t in range(history_frames)]
        assert unknown_times.flatten().tolist() == [history_frames] * unknown_times.numel()
        assert not unknown_masks.any()
        rows = []
        for t in range(history_frames):
            row = {}
            for n in range(labels.shape[3]):
                if not masks[0, 0, t, n]:
                    row[int(labels[0, 0, t, n])] = int(features[0, 0, t, n, 0])
                else:
                    assert not features[0, 0, t, n].any()  # a missing token is zeros
            rows.append(row)
        self.histories.append(rows)
        keys = [int(k) for k in unknown_features[0, 0, 0, :, 0].tolist()]
        return id_logits_rule(rows, keys, self.frame_index, self.num_labels)[None, None, None]


class SpecTracker:
    """Spec §5.2, step by step, in plain Python (the reference)."""

    def __init__(self, num_labels: int, miss_tolerance: int):
        self.K = num_labels
        self.miss_tolerance = miss_tolerance
        self.id_queue = list(range(num_labels))
        self.label_to_id: dict[int, int] = {}
        self.next_id = 0
        self.rows: list[dict[int, int]] = []  # history: one {label: key} per frame
        self.columns: list[int] = []  # the labels with a history column
        self.frame_index = -1
        self.histories: list[list[dict[int, int]]] = []

    def touch(self, label: int) -> None:
        self.id_queue.remove(label)
        self.id_queue.append(label)

    def update(self, queries: list[Detection]):
        self.frame_index += 1
        # 1. score = sigmoid(logit) > 0.3 and w*W*h*H > 0, strict, in float32
        dets = []
        for q in queries:
            score = float(torch.sigmoid(torch.tensor(q.logit, dtype=torch.float32)))
            area = np.float32(q.box[2]) * np.float32(WIDTH) * np.float32(q.box[3]) * np.float32(HEIGHT)
            if score > np.float32(0.3) and area > 0:
                dets.append((q, score))
        # 2. ID prediction, object-max
        labels = [self.K] * len(dets)
        if self.rows and dets:
            if self.columns:
                visible = [{lb: k for lb, k in row.items() if lb in self.columns} for row in self.rows]
                self.histories.append(visible)
                logits = id_logits_rule(visible, [q.key for q, _ in dets], self.frame_index, self.K)
                probs = logits.float().softmax(-1)
                best = [int(torch.argmax(p)) for p in probs]  # first maximum
                label_best = {lb: max(float(probs[i, lb]) for i in range(len(dets))) for lb in range(self.K)}
                taken = set()
                for i, lb in enumerate(best):
                    p = float(probs[i, lb])
                    if (
                        lb in self.columns
                        and p >= np.float32(0.2)
                        and p == label_best[lb]
                        and lb not in taken
                    ):
                        labels[i] = lb
                        taken.add(lb)
        # 3. newborns need score > 0.6
        kept = [(d, lb) for d, lb in zip(dets, labels, strict=True) if lb != self.K or d[1] > np.float32(0.6)]
        # 4. touch assigned labels; cap newborns to K - #assigned (first ones in query order)
        assigned = [lb for _, lb in kept if lb != self.K]
        for lb in assigned:
            self.touch(lb)
        room = self.K - len(assigned)
        capped, newborns = [], 0
        for d, lb in kept:
            if lb == self.K:
                newborns += 1
                if newborns > room:
                    continue
            capped.append((d, lb))
        # 5. newborns take the least recently used labels, ending their old tracks
        fresh = self.id_queue[: newborns if newborns <= room else room]
        final, fresh_iter = [], iter(fresh)
        for d, lb in capped:
            if lb == self.K:
                lb = next(fresh_iter)
                if lb in self.columns:
                    self.columns.remove(lb)
                    for row in self.rows:
                        row.pop(lb, None)
                self.label_to_id[lb] = self.next_id
                self.next_id += 1
            final.append((d, lb))
        # 6. emit (x, y, w, h) = (cx - w/2, cy - h/2, w, h) * (W, H, W, H) in float32
        out = []
        for (q, score), lb in final:
            cx, cy, w, h = (np.float32(v) for v in q.box)
            box = [
                (cx - w / np.float32(2)) * np.float32(WIDTH),
                (cy - h / np.float32(2)) * np.float32(HEIGHT),
                w * np.float32(WIDTH),
                h * np.float32(HEIGHT),
            ]
            out.append((self.label_to_id[lb], [float(v) for v in box], score))
        # 7. touch every label of the frame
        for _, lb in final:
            self.touch(lb)
        # 8. keep the last MISS_TOLERANCE - 2 rows, add columns for new labels, append the row
        keep = self.miss_tolerance - 2
        self.rows = self.rows[max(len(self.rows) - keep, 0) :] if keep > 0 else []
        for _, lb in final:
            if lb not in self.columns:
                self.columns.append(lb)
        self.rows.append({lb: q.key for (q, _), lb in final})
        # 9. drop columns masked in every kept row
        self.columns = [lb for lb in self.columns if any(lb in row for row in self.rows)]
        return out


@pytest.mark.parametrize(
    ("seed", "num_labels", "miss_tolerance", "max_queries", "keys"),
    [
        (0, 4, 5, 6, 9),  # recycling: more objects than labels
        (1, 6, 3, 4, 8),  # short window: tracks expire
        (2, 50, 30, 8, 60),  # the official sizes
        (3, 3, 2, 5, 5),  # a window of one frame
        (4, 5, 8, 9, 12),  # newborn cap with assigned labels in the same frame
    ],
)
def test_tracker_rows_match_a_literal_reading_of_the_spec(
    seed, num_labels, miss_tolerance, max_queries, keys
):
    video = random_video(seed, frames=50, max_queries=max_queries, keys=keys)
    model = RandomFDTA(video, num_labels, miss_tolerance)
    tracker = FDTATracker(model)
    reference = SpecTracker(num_labels, miss_tolerance)
    emitted = 0
    for index, queries in enumerate(video):
        tracks = tracker.update(FRAME)
        expected = reference.update(queries)
        got = [
            (int(i), [float(v) for v in box], float(s))
            for i, box, s in zip(tracks.ids, tracks.boxes, tracks.scores, strict=True)
        ]
        assert got == expected, f"frame {index + 1}"
        emitted += len(got)
    assert model.histories == reference.histories
    assert emitted > 40 and reference.next_id > num_labels  # the video did exercise recycling
