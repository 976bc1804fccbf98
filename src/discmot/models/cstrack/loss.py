"""CSTrack's training loss (spec ``cstrack.md`` §5; the official ``JDELoss``).

The paper's terms map to these functions:

* positives of the detection loss: `assign_level` (the YOLOv5 v2/v3 anchor-ratio rule, up to three cells
  per target and anchor, every level independently, §5.2);
* box regression ("CIoU loss", weight beta = 0.05): `box_loss` on the decoded positives (§5.3);
* objectness ("detection confidence"): `objectness_targets` (detached, clamped CIoU as the target) and
  `objectness_loss` (BCE over every cell), weighted 4.0 / 1.0 / 0.4 over P3 / P4 / P5 (§5.4);
* classification: `class_loss`, which is identically zero for the single pedestrian class (§5.5);
* ID loss: `id_loss`, cross-entropy of an identity classifier over scaled, L2-normalised embeddings taken
  at the target centres of the stride-8 embedding map (§5.6);
* total: ``B * (L_box + L_obj + L_cls + eta * L_id)`` with a fixed eta = 0.02 (§5.7), `CSTrackLoss`.

Where the paper and the code disagree (spec §12, items 2-4) this follows the code: BCE objectness with
the CIoU target instead of the paper's focal loss over floor-cell positives, no class term, the scaled
normalised embedding with a bias-free classifier and ignore index 0.

This module does not import the model: anchors (grid units) and sizes come in through
`CSTrackLossConfig`, predictions and embeddings as plain tensors (§4).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from discmot.ops.boxes_torch import box_cxcywh_to_xyxy, paired_complete_iou

GridAnchors = tuple[tuple[tuple[float, float], ...], ...]

#: The official anchors divided by their level's stride (the Detect head's ``anchors`` buffer, §1.4).
OFFICIAL_GRID_ANCHORS: GridAnchors = (
    ((1.0, 3.0), (1.375, 4.25), (2.0, 6.0)),
    ((2.0, 6.0), (2.8125, 8.4375), (4.0, 12.0)),
    ((4.0, 12.0), (5.625, 16.875), (8.0, 20.0)),
)

# YOLOv5's neighbour-cell rule: the centre cell plus left, up, right, down, each shifted by half a cell.
_NEIGHBOUR_OFFSETS = ((0.0, 0.0), (0.5, 0.0), (0.0, 0.5), (-0.5, 0.0), (0.0, -0.5))


@dataclass(frozen=True)
class CSTrackLossConfig:
    """Hyper-parameters of the CSTrack loss (defaults: the official values, spec §5).

    Attributes:
        num_identities: classifier size nID = 1 + number of identities (index 0 means "no identity").
        anchors: (w, h) in grid units of their level, three per level, levels P3/P4/P5.
        num_classes: detection classes; 1 for pedestrians (then there is no class loss).
        embedding_dim: channels of the embedding map (512 officially).
        box_weight: weight of the summed per-level CIoU losses (YOLOv5 ``giou`` 0.05 = paper's beta).
        objectness_weight: weight of the balanced objectness BCE sum (1.0).
        class_weight: weight of the class BCE, used only when ``num_classes > 1`` (YOLOv5's ``cls`` 0.5;
            the official model never reaches it).
        id_weight: eta, the fixed weight of the ID loss (0.02).
        level_balance: objectness weight per level (4.0, 1.0, 0.4 for P3, P4, P5).
        anchor_ratio_threshold: a target matches an anchor if its side ratios are all below this (4.0).
        objectness_iou_ratio: YOLOv5's ``gr``: objectness target ``1 - gr + gr * clamp(CIoU, 0)`` (1.0).
    """

    num_identities: int
    anchors: GridAnchors = OFFICIAL_GRID_ANCHORS
    num_classes: int = 1
    embedding_dim: int = 512
    box_weight: float = 0.05
    objectness_weight: float = 1.0
    class_weight: float = 0.5
    id_weight: float = 0.02
    level_balance: tuple[float, ...] = (4.0, 1.0, 0.4)
    anchor_ratio_threshold: float = 4.0
    objectness_iou_ratio: float = 1.0

    def __post_init__(self) -> None:
        # The embedding scale sqrt(2) ln(nID - 1) is 0 for nID = 2 and undefined below: no ID learning.
        if self.num_identities < 3:
            raise ValueError(
                f"num_identities must be >= 3 (1 + at least 2 identities), got {self.num_identities}"
            )
        if len(self.level_balance) != len(self.anchors):
            raise ValueError(
                f"{len(self.anchors)} anchor levels but {len(self.level_balance)} balance weights"
            )


def grid_anchors(anchors_px: Sequence[Sequence[Sequence[float]]], strides: Sequence[int]) -> GridAnchors:
    """Anchors in input pixels (a model config's ``anchors``) -> grid units of their level."""
    return tuple(
        tuple((w / s, h / s) for w, h in level) for level, s in zip(anchors_px, strides, strict=True)
    )


def embedding_scale(num_identities: int) -> float:
    """The JDE embedding scale ``sqrt(2) * ln(nID - 1)`` (about 12.8 for 8.7 K identities, §5.6)."""
    return math.sqrt(2) * math.log(num_identities - 1)


@dataclass(frozen=True)
class LevelPositives:
    """The positives of one level: ``n`` (target, anchor, cell) triples, all tensors of length ``n``.

    Attributes:
        image: int64 ``[n]`` batch index.
        anchor: int64 ``[n]`` anchor index within the level.
        row, col: int64 ``[n]`` cell (``gj``, ``gi``).
        boxes: ``[n, 4]`` target ``(x, y, w, h)`` in grid units, ``x, y`` relative to the cell's corner
            (in ``(-0.5, 1.5)``, the range of the prediction ``2 sigmoid - 0.5``).
        anchor_wh: ``[n, 2]`` the matched anchor's ``(w, h)`` in grid units.
        label: int64 ``[n]`` column 1 of the target row (the identity, spec §5.1).
        target: int64 ``[n]`` row of the target in the batch's target tensor.
    """

    image: torch.Tensor
    anchor: torch.Tensor
    row: torch.Tensor
    col: torch.Tensor
    boxes: torch.Tensor
    anchor_wh: torch.Tensor
    label: torch.Tensor
    target: torch.Tensor

    def __len__(self) -> int:
        return self.image.shape[0]


def match_anchors(target_wh: torch.Tensor, anchors: torch.Tensor, threshold: float) -> torch.Tensor:
    """YOLOv5's anchor-ratio test: ``[A, n]`` bool, True where ``max(w/aw, aw/w, h/ah, ah/h) < threshold``.

    ``target_wh`` ``[n, 2]`` and ``anchors`` ``[A, 2]`` in grid units. Computed as ``r = wh / anchor`` and
    ``1 / r`` as the code does, so boundary cases round identically. A target may match 0 to A anchors.
    """
    ratio = target_wh[None, :, :] / anchors[:, None, :]
    return torch.max(ratio, 1.0 / ratio).max(dim=2).values < threshold


def neighbour_cells(gxy: torch.Tensor, grid_wh: torch.Tensor) -> torch.Tensor:
    """Which of the 5 cells (centre, left, up, right, down) each centre claims: ``[5, n]`` bool.

    ``gxy`` ``[n, 2]`` centres in grid units, ``grid_wh`` ``[2]`` = (W, H). Left/up when the fractional
    part is below 0.5 and the coordinate above 1; right/down by the same test on ``grid - gxy`` (the v3
    form). ``%`` is Python-style remainder as in the code. An exactly integer coordinate passes both
    tests, but `assign_level` then finds the right/down cell by truncating ``g + 0.5``, which is the
    centre cell again: such a target gets its centre cell two or three times, as in the code.
    """
    near_low = ((gxy % 1.0 < 0.5) & (gxy > 1.0)).T
    reflected = grid_wh - gxy
    near_high = ((reflected % 1.0 < 0.5) & (reflected > 1.0)).T
    centre = torch.ones_like(near_low[0])
    return torch.stack((centre, near_low[0], near_low[1], near_high[0], near_high[1]))


def assign_level(
    targets: torch.Tensor, anchors: torch.Tensor, grid_hw: tuple[int, int], ratio_threshold: float = 4.0
) -> LevelPositives:
    """Positives of one level by the YOLOv5 v2/v3 rule (spec §5.2).

    Args:
        targets: ``[n, 6+]`` rows ``(image, identity, cx, cy, w, h, ...)``, box normalised to the input.
        anchors: ``[A, 2]`` anchor ``(w, h)`` in grid units of this level.
        grid_hw: ``(H, W)`` of the level's grid.
        ratio_threshold: the anchor-ratio bound (4.0).

    Returns:
        The positives ordered as the code orders them: neighbour kind (centre, left, up, right, down),
        then anchor, then target. Cells are clamped into the grid; the code would index out of range for
        a centre exactly on the right/bottom edge (``cx = 1``), which its data pipeline never produces.
    """
    height, width = grid_hw
    gain = targets.new_tensor([width, height, width, height])
    scaled = targets[:, 2:6] * gain
    anchor_idx, target_idx = match_anchors(scaled[:, 2:4], anchors, ratio_threshold).nonzero(as_tuple=True)
    gxy = scaled[target_idx, :2]
    kind, pair = neighbour_cells(gxy, gain[:2]).nonzero(as_tuple=True)
    target_idx, anchor_idx, gxy = target_idx[pair], anchor_idx[pair], gxy[pair]
    offsets = targets.new_tensor(_NEIGHBOUR_OFFSETS)[kind]
    cells = (gxy - offsets).long()
    cells = torch.stack((cells[:, 0].clamp(0, width - 1), cells[:, 1].clamp(0, height - 1)), dim=1)
    return LevelPositives(
        image=targets[target_idx, 0].long(),
        anchor=anchor_idx,
        row=cells[:, 1],
        col=cells[:, 0],
        boxes=torch.cat((gxy - cells, scaled[target_idx, 2:4]), dim=1),
        anchor_wh=anchors[anchor_idx],
        label=targets[target_idx, 1].long(),
        target=target_idx,
    )


def assign_targets(
    targets: torch.Tensor,
    grid_sizes: Sequence[tuple[int, int]],
    anchors: torch.Tensor,
    ratio_threshold: float = 4.0,
) -> list[LevelPositives]:
    """`assign_level` for every level. ``anchors`` ``[L, A, 2]`` grid units, ``grid_sizes`` ``L x (H, W)``."""
    return [
        assign_level(targets, level_anchors, size, ratio_threshold)
        for level_anchors, size in zip(anchors, grid_sizes, strict=True)
    ]


def positive_predictions(prediction: torch.Tensor, positives: LevelPositives) -> torch.Tensor:
    """The raw outputs ``[n, 5 + nc]`` at the positives of a level prediction ``[B, A, H, W, 5 + nc]``."""
    return prediction[positives.image, positives.anchor, positives.row, positives.col]


def decode_positive_boxes(raw: torch.Tensor, anchor_wh: torch.Tensor) -> torch.Tensor:
    """Predicted ``(x, y, w, h)`` ``[n, 4]`` in grid units from raw outputs ``[n, 4+]`` (§5.3).

    ``xy = 2 sigmoid(t_xy) - 0.5`` (relative to the cell corner), ``wh = (2 sigmoid(t_wh))^2 * anchor``.
    The head's learnable ``k`` plays no part here, which is why it never receives a gradient (§1.4).
    """
    xy = raw[:, :2].sigmoid() * 2.0 - 0.5
    wh = (raw[:, 2:4].sigmoid() * 2) ** 2 * anchor_wh
    return torch.cat((xy, wh), dim=1)


def complete_iou_cxcywh(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """CIoU ``[n]`` of paired ``[n, 4]`` ``(cx, cy, w, h)`` boxes, prediction first (it carries the eps)."""
    return paired_complete_iou(box_cxcywh_to_xyxy(predicted), box_cxcywh_to_xyxy(target))


def box_loss(raw: torch.Tensor, positives: LevelPositives) -> tuple[torch.Tensor, torch.Tensor]:
    """One level's box loss: mean over its positives of ``1 - CIoU`` (§5.3).

    Args:
        raw: ``[n, 5 + nc]`` raw outputs at the positives (`positive_predictions`).
        positives: the level's positives.

    Returns:
        ``(loss, ciou)``: a scalar (0 when there are no positives) and the CIoU ``[n]`` (with gradient).
    """
    ciou = complete_iou_cxcywh(decode_positive_boxes(raw, positives.anchor_wh), positives.boxes)
    if ciou.numel() == 0:
        return raw.new_zeros(()), ciou
    return (1.0 - ciou).mean(), ciou


def objectness_targets(
    objectness: torch.Tensor, positives: LevelPositives, ciou: torch.Tensor, iou_ratio: float = 1.0
) -> torch.Tensor:
    """Objectness targets shaped like ``objectness`` ``[B, A, H, W]`` (§5.4).

    Zero everywhere but at the positives, which get ``1 - gr + gr * clamp(CIoU, min=0)`` with the CIoU
    **detached** (the box is not pulled by the objectness loss). Several positives on one entry: one of
    their values survives, unspecified which, as in the code.
    """
    target = torch.zeros_like(objectness)
    quality = ciou.detach().clamp(min=0).to(target.dtype)
    target[positives.image, positives.anchor, positives.row, positives.col] = (
        1.0 - iou_ratio
    ) + iou_ratio * quality
    return target


def objectness_loss(objectness: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """BCE-with-logits averaged over all ``B * A * H * W`` entries (no focal term, pos_weight 1)."""
    return F.binary_cross_entropy_with_logits(objectness, target)


def class_loss(class_logits: torch.Tensor, classes: torch.Tensor, num_classes: int) -> torch.Tensor:
    """BCE of the class logits ``[n, nc]`` against one-hot ``classes`` ``[n]`` (§5.5).

    The code skips the term for ``nc == 1``, so the class logit of the pedestrian model never gets a
    gradient and keeps its initial bias; this returns a zero without graph then (and with no positives).
    """
    if num_classes <= 1 or class_logits.shape[0] == 0:
        return class_logits.new_zeros(())
    one_hot = torch.zeros_like(class_logits)
    one_hot[torch.arange(classes.shape[0], device=classes.device), classes] = 1.0
    return F.binary_cross_entropy_with_logits(class_logits, one_hot)


def positive_classes(targets: torch.Tensor, positives: LevelPositives) -> torch.Tensor:
    """Class index ``[n]`` of each positive: column 6 of its target row if present, else 0.

    Column 1 carries the identity (§5.1), so the class, needed only for ``nc > 1``, has its own column.
    """
    if targets.shape[1] < 7:
        return torch.zeros_like(positives.target)
    return targets[positives.target, 6].long()


def target_embeddings(embeddings: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Embeddings ``[n, D]`` at every target's centre cell of a map ``[B, H, W, D]`` (§5.6).

    Cell ``(floor(cy * H), floor(cx * W))`` of the target's image, for all targets (anchor-matched or
    not). Indices are clamped into the map (the code would fail on ``cx = 1`` exactly).
    """
    _, height, width, _ = embeddings.shape
    cells = (targets[:, 2:4] * targets.new_tensor([width, height])).long()
    cols, rows = cells[:, 0].clamp(0, width - 1), cells[:, 1].clamp(0, height - 1)
    return embeddings[targets[:, 0].long(), rows, cols]


def id_loss(
    embeddings: torch.Tensor, identities: torch.Tensor, classifier: nn.Module, scale: float
) -> torch.Tensor:
    """Cross-entropy of the identity classifier on ``scale * e / |e|`` (§5.6).

    Args:
        embeddings: ``[n, D]`` raw embeddings of the targets.
        identities: int64 ``[n]``; 0 means "no identity" and is ignored.
        classifier: maps ``[n, D]`` to logits ``[n, nID]`` (a bias-free ``nn.Linear``).
        scale: `embedding_scale` of nID.

    Returns:
        The mean over targets with an identity; 0 (no graph) if there are none, where PyTorch's mean over
        nothing would be ``nan``.
    """
    if not bool((identities != 0).any()):
        return embeddings.new_zeros(())
    logits = classifier(scale * F.normalize(embeddings, dim=1))
    return F.cross_entropy(logits, identities, ignore_index=0)


class CSTrackLoss(nn.Module):
    """CSTrack's training criterion (the official ``JDELoss``); owns the identity classifier.

    The classifier is a trainable part of training only (optimised without weight decay, spec §6.5 group
    3, not saved with the model). The code's BatchNorm1d "bottleneck" is never used and is left out.
    """

    anchors: torch.Tensor  # a buffer, registered in __init__

    def __init__(self, config: CSTrackLossConfig) -> None:
        super().__init__()
        self.config = config
        self.register_buffer("anchors", torch.tensor(config.anchors, dtype=torch.float32), persistent=False)
        self.id_classifier = nn.Linear(config.embedding_dim, config.num_identities, bias=False)
        self.id_scale = embedding_scale(config.num_identities)

    def forward(
        self, predictions: Sequence[torch.Tensor], embeddings: torch.Tensor, targets: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Total loss and its terms.

        Args:
            predictions: raw head outputs per level, ``[B, A, H_i, W_i, 5 + nc]`` (training-mode ``det``).
            embeddings: the stride-8 embedding map ``[B, H_0, W_0, D]`` (channels last, §4).
            targets: ``[n, 6]`` rows ``(image, identity, cx, cy, w, h)``, boxes normalised to the input,
                identity 0 = none (§5.1); with ``num_classes > 1`` a 7th column holds the class.

        Returns:
            ``(total, terms)``: ``total = B * (box + obj + cls + id_weight * id)``; ``terms`` holds the
            detached scalars ``box``, ``obj``, ``cls`` (weighted as they enter the sum), ``id`` (the
            unweighted cross-entropy) and ``total``.
        """
        grid_sizes = [(p.shape[2], p.shape[3]) for p in predictions]
        anchors = self.anchors.to(targets.dtype)
        level_positives = assign_targets(targets, grid_sizes, anchors, self.config.anchor_ratio_threshold)
        box, obj, cls = self._detection_terms(predictions, targets, level_positives)
        identity = self._identity_term(embeddings, targets, level_positives[0])
        total = predictions[0].shape[0] * (box + obj + cls + self.config.id_weight * identity)
        terms = {"box": box, "obj": obj, "cls": cls, "id": identity, "total": total}
        return total, {name: value.detach() for name, value in terms.items()}

    def _detection_terms(
        self,
        predictions: Sequence[torch.Tensor],
        targets: torch.Tensor,
        level_positives: list[LevelPositives],
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Weighted box, objectness and class sums over the levels (§5.3-5.5, 5.7)."""
        config = self.config
        box = obj = cls = predictions[0].new_zeros(())
        for prediction, positives, balance in zip(
            predictions, level_positives, config.level_balance, strict=True
        ):
            raw = positive_predictions(prediction, positives)
            level_box, ciou = box_loss(raw, positives)
            objectness = prediction[..., 4]
            target = objectness_targets(objectness, positives, ciou, config.objectness_iou_ratio)
            box = box + level_box
            obj = obj + balance * objectness_loss(objectness, target)
            cls = cls + class_loss(raw[:, 5:], positive_classes(targets, positives), config.num_classes)
        return config.box_weight * box, config.objectness_weight * obj, config.class_weight * cls

    def _identity_term(
        self, embeddings: torch.Tensor, targets: torch.Tensor, p3_positives: LevelPositives
    ) -> torch.Tensor:
        """The ID loss, evaluated (as in the code) only with >= 2 targets and >= 1 positive on P3."""
        if targets.shape[0] < 2 or len(p3_positives) == 0:
            return embeddings.new_zeros(())
        features = target_embeddings(embeddings, targets)
        return id_loss(features, targets[:, 1].long(), self.id_classifier, self.id_scale)
