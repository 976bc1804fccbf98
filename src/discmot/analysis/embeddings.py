"""Embedding diagnostics: how similar are the embeddings of *different* objects?

Both source papers argue with pictures of embeddings. FDTA (§1, Fig. 1) reports that over 80% of the
cosine similarities between DETR object embeddings of different objects on DanceTrack exceed 0.9, and that
its adapters separate them; CSTrack (Fig. 6) shows cosine-similarity matrices between the detections of the
current frame and the track templates. This module computes those numbers on plain arrays:

* `match_detections`: detections matched one-to-one to known boxes (Hungarian on IoU, IoU >= 0.5), so the
  identity of every kept embedding is known (ground truth ids, or a tracker's output ids);
* `pair_similarities`, `similarity_histogram`, `fraction_above`: the per-frame distribution of cosine
  similarities between different objects (fixed bins over [-1, 1]) and the fraction above a threshold;
* `cross_similarity`: the matrix between the objects of frame ``t`` and the templates (the same objects'
  embeddings at an earlier frame), for the ids in both frames, the same id order on both axes;
* `project_2d`: a 2-D map of embeddings (t-SNE with the optional scikit-learn, else PCA);
* `fdta_detections` / `select_queries` / `fdta_matched_embeddings`: FDTA's decoder embeddings of one
  frame, the latter the paper's diagnosis protocol (queries with score > 0.3 matched to gt), also used by
  ``benchmarks/fdta_embeddings.py``.

numpy and scipy are imported at module level; torch only inside the functions that run a model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from discmot.ops.boxes import box_iou

if TYPE_CHECKING:  # for annotations only: torch is imported where a model runs
    import torch

#: The paper's thresholds: FDTA keeps queries with score > 0.3, matches at IoU >= 0.5, counts cos > 0.9.
SCORE_THRESHOLD = 0.3
IOU_THRESHOLD = 0.5
SIMILARITY_THRESHOLD = 0.9
#: Frame gaps at which re-identification is measured: next frame, a short and a long occlusion (1 and 2.5 s
#: at 20 frames/s, DanceTrack's rate).
REID_LAGS = (1, 5, 20, 50)


@dataclass(frozen=True)
class AnalysisConfig:
    """Settings of an embedding analysis.

    Attributes:
        score_threshold: detections at or below this score are ignored (FDTA's 0.3).
        iou_threshold: a detection takes an identity only if its IoU with the box is at least this.
        similarity_threshold: the fraction of different-object pairs with cosine strictly above this is
            reported (the paper's 0.9).
        bins: number of equal histogram bins over [-1, 1].
        template_lag: the templates of frame ``t`` are the same objects' embeddings at frame ``t - lag``.
        reid_lags: frame gaps at which the re-identification rank-1 rate is measured (`reidentification`).
        max_projection_points: at most this many embeddings (evenly subsampled) go into the 2-D map.
        seed: seed of the t-SNE and of the subsampling.
    """

    score_threshold: float = SCORE_THRESHOLD
    iou_threshold: float = IOU_THRESHOLD
    similarity_threshold: float = SIMILARITY_THRESHOLD
    bins: int = 20
    template_lag: int = 1
    reid_lags: tuple[int, ...] = REID_LAGS
    max_projection_points: int = 1500
    seed: int = 0

    def __post_init__(self):
        if self.bins < 1 or self.template_lag < 1 or self.max_projection_points < 3:
            raise ValueError(f"invalid analysis settings: {self}")
        if not self.reid_lags or min(self.reid_lags) < 1:
            raise ValueError(f"reid_lags must be positive frame gaps, got {self.reid_lags}")


@dataclass(frozen=True)
class FrameObjects:
    """The identified objects of one frame.

    Attributes:
        frame: 1-based frame number.
        ids: ``[m]`` int64 identities (gt ids or tracker ids), unique within the frame.
        boxes: ``[m, 4]`` float64 ``tlwh`` detection boxes in frame pixels.
        embeddings: view name -> ``[m, F]`` float32 raw (not normalised) embeddings, same row order.
    """

    frame: int
    ids: np.ndarray
    boxes: np.ndarray
    embeddings: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)


# --------------------------------------------------------------------------------------------------
# Matching detections to known boxes


def match_detections(
    detections_xyxy: np.ndarray, boxes_xyxy: np.ndarray, iou_threshold: float = IOU_THRESHOLD
) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one matching maximising the total IoU (Hungarian), pairs with IoU >= ``iou_threshold`` kept.

    Args:
        detections_xyxy: ``[k, 4]`` detection corners; ``boxes_xyxy``: ``[n, 4]`` reference corners (gt).

    Returns:
        ``(detection_rows [p], box_rows [p])`` int64, in increasing detection row order.
    """
    from scipy.optimize import linear_sum_assignment

    if not len(detections_xyxy) or not len(boxes_xyxy):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    iou = box_iou(detections_xyxy, boxes_xyxy)
    rows, cols = linear_sum_assignment(-iou)
    good = iou[rows, cols] >= iou_threshold
    return rows[good].astype(np.int64), cols[good].astype(np.int64)


def tlwh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    """``[n, 4]`` ``x, y, w, h`` -> ``[n, 4]`` ``x1, y1, x2, y2`` (float64)."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1)


# --------------------------------------------------------------------------------------------------
# Statistics


def l2_normalize(embeddings: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero); ``[m, F]`` -> ``[m, F]`` float64."""
    embeddings = np.asarray(embeddings, dtype=np.float64)
    return embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True).clip(min=1e-12)


def pair_similarities(embeddings: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Cosine similarities ``[P]`` of every pair ``i < j`` of rows with different ids (row-major order)."""
    if len(embeddings) < 2:
        return np.zeros(0, np.float64)
    unit = l2_normalize(embeddings)
    rows, cols = np.triu_indices(len(unit), k=1)
    ids = np.asarray(ids)
    different = ids[rows] != ids[cols]
    return (unit @ unit.T)[rows[different], cols[different]]


def histogram_edges(bins: int) -> np.ndarray:
    """``[bins + 1]`` equal-width bin edges over [-1, 1]."""
    return np.linspace(-1.0, 1.0, bins + 1)


def similarity_histogram(similarities: np.ndarray, bins: int) -> np.ndarray:
    """``[bins]`` int64 counts over `histogram_edges` (last bin closed; values clipped to [-1, 1] first,
    since a rounded cosine of identical vectors can be 1 + 1e-16)."""
    values = np.clip(np.asarray(similarities, dtype=np.float64), -1.0, 1.0)
    return np.histogram(values, bins=histogram_edges(bins))[0].astype(np.int64)


def fraction_above(similarities: np.ndarray, threshold: float = SIMILARITY_THRESHOLD) -> float:
    """Fraction of ``similarities`` strictly above ``threshold``; NaN when there are none."""
    similarities = np.asarray(similarities)
    return float((similarities > threshold).mean()) if len(similarities) else float("nan")


@dataclass(frozen=True)
class SimilarityMatrix:
    """Cosine similarities between the objects of one frame and the templates (see `cross_similarity`).

    Attributes:
        matrix: ``[k, k]``; ``matrix[i, j]`` compares the object ``ids[i]`` of the current frame with the
            template of ``ids[j]``, so same-object pairs are exactly the diagonal.
        ids: ``[k]`` int64 ids present in both frames, increasing.
        only_current: ids of the current frame without a template (left out), increasing.
        only_templates: ids of the template frame absent from the current frame (left out), increasing.
    """

    matrix: np.ndarray
    ids: np.ndarray
    only_current: np.ndarray
    only_templates: np.ndarray

    @property
    def left_out(self) -> int:
        """Number of ids left out because they were in only one of the two frames."""
        return len(self.only_current) + len(self.only_templates)


def _rows_of(frame_ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Row index in ``frame_ids [m]`` (unique) of each of ``wanted [k]`` (all present)."""
    order = np.argsort(frame_ids, kind="stable")
    return order[np.searchsorted(frame_ids[order], wanted)]


def cross_similarity(current: FrameObjects, templates: FrameObjects, view: str) -> SimilarityMatrix:
    """Cosine similarities between the objects of one frame and their templates, for the ids in both.

    Rows (current frame) and columns (templates) hold the same ids in the same increasing order, so a
    discriminative embedding shows a bright diagonal on a dark background. An id in only one frame has no
    counterpart to sit on the diagonal with; it is left out (and listed) rather than shifting every later
    same-object cell off the diagonal.
    """
    ids = np.intersect1d(current.ids, templates.ids).astype(np.int64)
    rows = l2_normalize(current.embeddings[view][_rows_of(current.ids, ids)])
    cols = l2_normalize(templates.embeddings[view][_rows_of(templates.ids, ids)])
    return SimilarityMatrix(
        rows @ cols.T,
        ids,
        np.setdiff1d(current.ids, templates.ids).astype(np.int64),
        np.setdiff1d(templates.ids, current.ids).astype(np.int64),
    )


@dataclass(frozen=True)
class ReidRate:
    """Nearest-neighbour re-identification of objects ``lag`` frames apart (see `reidentification`).

    Attributes:
        lag: frame gap.
        queries: objects of a frame ``t`` whose identity is among the candidates, the objects of frame
            ``t - lag`` (counted only where that frame has at least two).
        hits: queries whose most similar candidate (cosine) has their identity.
        chance: expected rank-1 rate of a random pick, the mean of ``1 / candidates`` over the queries.
        reason: why there are no queries (empty when there are), for a report's "n/a".
    """

    lag: int
    queries: int
    hits: int
    chance: float
    reason: str = ""

    @property
    def rank1(self) -> float:
        """``hits / queries`` (NaN without queries)."""
        return self.hits / self.queries if self.queries else float("nan")


def reidentification(frames: list[FrameObjects], view: str, lag: int) -> ReidRate:
    """Rank-1 re-identification of every object from the objects ``lag`` frames earlier.

    For each analysed frame ``t`` whose frame ``t - lag`` was analysed and holds at least two objects, each
    object of ``t`` whose identity is also in ``t - lag`` is a query; it is re-identified when the most
    cosine-similar object of ``t - lag`` has its identity (ties: the first in row order). Position is not
    used, so at large lags this measures what the embedding alone says about identity, the cue a tracker
    needs after an occlusion.
    """
    by_frame = {objects.frame: objects for objects in frames}
    queries = hits = 0
    chance = 0.0
    for objects in frames:
        earlier = by_frame.get(objects.frame - lag)
        if earlier is None or len(earlier) < 2 or not len(objects):
            continue
        known = np.isin(objects.ids, earlier.ids)
        if not known.any():
            continue
        similarity = l2_normalize(objects.embeddings[view][known]) @ l2_normalize(earlier.embeddings[view]).T
        best = earlier.ids[similarity.argmax(axis=1)]
        queries += int(known.sum())
        hits += int((best == objects.ids[known]).sum())
        chance += known.sum() / len(earlier)
    if not queries:
        return ReidRate(lag, 0, 0, float("nan"), no_reid_reason(frames, lag))
    return ReidRate(lag, queries, hits, chance / queries)


def no_reid_reason(frames: list[FrameObjects], lag: int) -> str:
    """Why `reidentification` at ``lag`` found no query in ``frames``, in words."""
    numbers = {objects.frame for objects in frames}
    if not numbers:
        return "no frame analysed"
    if len(numbers) == 1:
        return "only 1 frame analysed"
    if lag > max(numbers) - min(numbers):
        return f"gap longer than the {len(numbers)} analysed frames span"
    if not any(len(objects) for objects in frames):  # else the reasons below would blame the gap
        return f"no object identified in the {len(numbers)} analysed frames"
    if not any(n - lag in numbers for n in numbers):
        return f"no two analysed frames {lag} apart"
    frames_later = f"{lag} frame{'s' if lag > 1 else ''} later"
    return f"no object found again {frames_later} among two or more earlier objects"


@dataclass(frozen=True)
class ViewStatistics:
    """Different-object similarity statistics of one embedding view over a run.

    Attributes:
        pairs, above: number of different-object pairs, and of those above the threshold.
        fraction_above: ``above / pairs`` (NaN without pairs).
        mean_similarity: mean cosine over the pairs (NaN without pairs).
        histogram: ``[bins]`` counts over `histogram_edges`.
        per_frame: ``(frame, objects, pairs, fraction_above)`` for every frame analysed.
        reid: one `ReidRate` per lag of the config.
    """

    pairs: int
    above: int
    fraction_above: float
    mean_similarity: float
    histogram: np.ndarray
    per_frame: list[tuple[int, int, int, float]]
    reid: tuple[ReidRate, ...]


def view_statistics(frames: list[FrameObjects], view: str, config: AnalysisConfig) -> ViewStatistics:
    """Aggregates the different-object pairs of every frame (pairs never cross frames)."""
    per_frame, all_values = [], []
    for objects in frames:
        values = pair_similarities(objects.embeddings[view], objects.ids)
        per_frame.append(
            (objects.frame, len(objects), len(values), fraction_above(values, config.similarity_threshold))
        )
        all_values.append(values)
    values = np.concatenate(all_values) if all_values else np.zeros(0)
    return ViewStatistics(
        pairs=len(values),
        above=int((values > config.similarity_threshold).sum()),
        fraction_above=fraction_above(values, config.similarity_threshold),
        mean_similarity=float(values.mean()) if len(values) else float("nan"),
        histogram=similarity_histogram(values, config.bins),
        per_frame=per_frame,
        reid=tuple(reidentification(frames, view, lag) for lag in config.reid_lags),
    )


# --------------------------------------------------------------------------------------------------
# 2-D map


def tsne_available() -> bool:
    """Whether scikit-learn (the optional ``analysis`` extra) can be imported."""
    try:
        import sklearn.manifold  # noqa: F401
    except ImportError:
        return False
    return True


def project_2d(embeddings: np.ndarray, seed: int = 0, method: str = "auto") -> tuple[np.ndarray, str]:
    """A 2-D map ``[N, 2]`` of ``[N, F]`` embeddings (L2-normalised first, i.e. by cosine geometry).

    ``method`` is ``"tsne"`` (needs scikit-learn), ``"pca"`` or ``"auto"`` (t-SNE when scikit-learn is
    installed, else PCA). Returns the points and a label saying which method made them.
    """
    unit = l2_normalize(embeddings)
    if method == "auto":
        method = "tsne" if tsne_available() and len(unit) > 3 else "pca"
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(min(30.0, max(2.0, (len(unit) - 1) / 3)))
        points = TSNE(2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(unit)
        return points, "t-SNE (cosine embeddings, scikit-learn)"
    if method != "pca":
        raise ValueError(f"unknown projection method {method!r} (tsne, pca, auto)")
    centred = unit - unit.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    points = centred @ components[:2].T
    label = "PCA" if tsne_available() else "PCA (t-SNE needs scikit-learn: pip install discmot[analysis])"
    return np.pad(points, ((0, 0), (0, 2 - points.shape[1]))), label


# --------------------------------------------------------------------------------------------------
# FDTA: decoder embeddings of one frame


def fdta_detections(
    model, image_bgr: np.ndarray, input_size=None, score_threshold: float = SCORE_THRESHOLD
) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    """FDTA's queries with score > ``score_threshold`` on one BGR frame (see `select_queries`)."""
    import torch

    from discmot.trackers.fdta_frames import preprocess_frame

    image, _ = preprocess_frame(image_bgr, model.config.runtime, input_size)
    with torch.inference_mode():
        out = model.detect(image)
    return select_queries(out, image_bgr.shape[:2], score_threshold)


def select_queries(
    out: dict, frame_hw: tuple[int, int], score_threshold: float = SCORE_THRESHOLD
) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    """The queries of an ``FDTA.detect`` output (batch item 0) with score > ``score_threshold``.

    Returns:
        ``(xyxy [k, 4]`` frame pixels, ``scores [k]``, ``outputs [k, F]`` float32 torch tensor: the decoder
        embeddings, ``out["outputs"]``, the features the ID decoder reads), query order.
    """
    import torch

    height, width = frame_hw
    scores = out["pred_logits"][0, :, 0].float().sigmoid().numpy()
    cxcywh = out["pred_boxes"][0].float().numpy()
    corners = np.concatenate([cxcywh[:, :2] - cxcywh[:, 2:] / 2, cxcywh[:, :2] + cxcywh[:, 2:] / 2], axis=1)
    keep = np.flatnonzero(scores > score_threshold)
    boxes = corners[keep] * np.array([width, height, width, height])
    return boxes, scores[keep], out["outputs"][0, torch.from_numpy(keep)].float()


def fdta_matched_embeddings(
    model,
    image_bgr: np.ndarray,
    gt_xyxy: np.ndarray,
    input_size=None,
    score_threshold: float = SCORE_THRESHOLD,
    iou_threshold: float = IOU_THRESHOLD,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The paper's protocol on one frame: queries above the score matched to ``gt_xyxy [n, 4]`` (pixels).

    Returns:
        ``(embeddings [p, F]`` float32 raw decoder embeddings, ``gt_rows [p]``, ``xyxy [p, 4]``), in query
        order.
    """
    boxes, _, outputs = fdta_detections(model, image_bgr, input_size, score_threshold)
    rows, gt_rows = match_detections(boxes, np.asarray(gt_xyxy, dtype=np.float64), iou_threshold)
    return outputs[rows].numpy().astype(np.float32), gt_rows, boxes[rows]
