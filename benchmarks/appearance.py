"""How alike objects look: a fixed random embedding of object crops and similarity statistics (numpy only).

The embedding: three 3x3 convolutions (3 -> 16 -> 32 -> 64 channels, stride 1, zero padding 1, no bias)
with weights drawn once from N(0, 2 / (9 * in_channels)) by a seeded generator, each followed by ReLU,
then global average pooling and L2 normalisation: a 64-d vector per crop. Crops are BGR, resized to
32 x 64 (w x h, the usual person aspect) and scaled to [-1, 1]. Untrained, it sees colour and local
texture statistics only, the cue that separates people in MOT17 and fails in DanceTrack's uniform
costumes (the FDTA paper's point); it is a measuring stick for data, not a re-identification model.

Every feature is a post-ReLU average, so raw cosine similarities are all >= 0 and sit close to 1 for
any two crops; `similarity_statistics` therefore also reports them after subtracting the data's mean
embedding ("centred"), and the rank-1 re-identification rate across frames, which needs no scale.
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

CROP_SIZE = (32, 64)  # (width, height) for cv2.resize
CHANNELS = (3, 16, 32, 64)
#: Boxes with fewer pixels are not embedded (too little to see).
MIN_AREA = 24


class RandomConvEmbedding:
    """The seeded random conv net of the module docstring; `embed` maps crops to unit vectors."""

    def __init__(self, seed: int = 0, channels: tuple[int, ...] = CHANNELS):
        rng = np.random.default_rng(seed)
        self.weights = [
            rng.normal(0.0, np.sqrt(2.0 / (9 * c_in)), size=(3, 3, c_in, c_out)).astype(np.float32)
            for c_in, c_out in zip(channels[:-1], channels[1:], strict=True)
        ]

    def embed(self, crops: np.ndarray) -> np.ndarray:
        """Crops (N, 64, 32, 3) uint8 BGR -> embeddings (N, 64) float32, L2-normalised."""
        x = crops.astype(np.float32) / 127.5 - 1.0
        for weight in self.weights:
            x = np.maximum(_conv3x3(x, weight), 0.0)
        return _normalise(x.mean(axis=(1, 2)))


def _conv3x3(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """'Same' 3x3 convolution of (N, H, W, C_in) with (3, 3, C_in, C_out): nine shifted matrix products."""
    _, h, w, _ = x.shape
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    out = np.zeros((*x.shape[:3], weight.shape[3]), dtype=np.float32)
    for dy in range(3):
        for dx in range(3):
            out += padded[:, dy : dy + h, dx : dx + w] @ weight[dy, dx]
    return out


def _normalise(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def crop_objects(image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Crops (N, 64, 32, 3) of ``boxes`` (N, 4) ``x, y, w, h`` from ``image`` (H, W, 3), clipped to it.

    A box with no pixel inside the image gives an all-zero crop; callers filter such boxes out first.
    """
    height, width = image.shape[:2]
    crops = np.zeros((len(boxes), CROP_SIZE[1], CROP_SIZE[0], 3), dtype=np.uint8)
    for k, (x, y, w, h) in enumerate(np.asarray(boxes, dtype=np.float64).reshape(-1, 4)):
        x0, y0 = max(int(np.floor(x)), 0), max(int(np.floor(y)), 0)
        x1, y1 = min(int(np.ceil(x + w)), width), min(int(np.ceil(y + h)), height)
        if x1 > x0 and y1 > y0:
            crops[k] = cv2.resize(image[y0:y1, x0:x1], CROP_SIZE, interpolation=cv2.INTER_AREA)
    return crops


Embedded = tuple[object, np.ndarray, np.ndarray]  # (sequence key, ids (N,), embeddings (N, D))


Sample = tuple[object, np.ndarray, np.ndarray, np.ndarray]  # (sequence key, image, ids (N,), boxes (N, 4))


def embed_samples(samples: Iterable[Sample], seed: int = 0) -> list[Embedded]:
    """Embeds every object of ``samples``: ``(sequence key, image, ids (N,), boxes (N, 4))`` per frame.

    Boxes smaller than `MIN_AREA` pixels or lying outside the image are dropped.
    """
    net = RandomConvEmbedding(seed)
    embedded = []
    for key, image, ids, boxes in samples:
        height, width = image.shape[:2]
        inside = (boxes[:, 0] < width) & (boxes[:, 1] < height) & (boxes[:, 0] + boxes[:, 2] > 0)
        keep = inside & (boxes[:, 1] + boxes[:, 3] > 0) & (boxes[:, 2] * boxes[:, 3] >= MIN_AREA)
        ids, boxes = ids[keep], boxes[keep]
        embedded.append((key, ids, net.embed(crop_objects(image, boxes)) if len(ids) else np.zeros((0, 64))))
    return embedded


def similarity_statistics(
    embedded: list[Embedded], threshold: float = 0.9, mean: np.ndarray | None = None
) -> dict:
    """Similarity of different objects in the same frame, of one object across consecutive samples.

    Returns ``crops``, ``pairs`` (different-object pairs), ``different_mean`` and ``different_above``
    (mean cosine and the share above ``threshold``), ``same_mean`` (mean cosine of one id in two
    consecutive samples of a sequence), ``rank1`` (share of such ids whose most similar object in the
    later sample is itself), and ``centred_mean`` / ``centred_above``: the same as ``different_*`` after
    subtracting ``mean`` (default: the mean embedding of these crops) and re-normalising. Pass one
    `mean_embedding` of several data sets to make their centred numbers comparable.
    """
    raw = _pair_statistics(embedded, threshold)
    if raw["crops"] == 0:
        return {**raw, "centred_mean": float("nan"), "centred_above": float("nan")}
    mean = mean_embedding([embedded]) if mean is None else mean
    centred = [(key, ids, _normalise(e - mean)) for key, ids, e in embedded]
    shifted = _pair_statistics(centred, threshold)
    return {**raw, "centred_mean": shifted["different_mean"], "centred_above": shifted["different_above"]}


def mean_embedding(sources: Iterable[list[Embedded]]) -> np.ndarray:
    """The mean of every embedding in ``sources`` (each a list from `embed_samples`)."""
    return np.concatenate([e for embedded in sources for _, _, e in embedded]).mean(axis=0)


def _pair_statistics(embedded: list[Embedded], threshold: float) -> dict:
    different, same, rank1, crops = [], [], [], 0
    previous: Embedded | None = None
    for key, ids, emb in embedded:
        crops += len(ids)
        different.append((emb @ emb.T)[np.triu_indices(len(ids), k=1)])
        if previous is not None and previous[0] == key and len(ids):
            across = previous[2] @ emb.T  # (previous objects, current objects)
            column = {track: j for j, track in enumerate(ids.tolist())}
            for i, track in enumerate(previous[1].tolist()):
                if track in column:
                    same.append(float(across[i, column[track]]))
                    rank1.append(int(np.argmax(across[i])) == column[track])
        previous = (key, ids, emb)
    values = np.concatenate(different) if different else np.zeros(0)
    return {
        "crops": crops,
        "pairs": int(values.size),
        "different_mean": float(values.mean()) if values.size else float("nan"),
        "different_above": float((values > threshold).mean()) if values.size else float("nan"),
        "same_mean": float(np.mean(same)) if same else float("nan"),
        "rank1": float(np.mean(rank1)) if rank1 else float("nan"),
    }
