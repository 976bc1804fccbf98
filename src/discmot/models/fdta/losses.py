"""FDTA's training losses beyond DETR's: depth distillation, the Identity Adapter, and MOTIP's ID loss.

* `depth_loss` — the Spatial Adapter's DDN loss (spec ``fdta.md`` §3.1.4): softmax focal loss of the
  LID depth-bin logits against the binned pseudo-depth, foreground pixels weighted up.
* `IdentityAdapter`, `identity_adapter_loss`, `identity_adapter_chunk_loss` — the paper's **Identity
  Adapter** (§3.3): a quality-aware supervised InfoNCE on the DETR object embeddings through a small MLP
  (the paper's "consistent feature extractor", CFE; official name ``track_embed``). Training only.
* `id_loss` — MOTIP's ID-label cross-entropy (§2.8).

All functions take plain tensors; `discmot.models.fdta.criterion.FDTACriterion` wires them to a DETR
output dict.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from discmot.models.detr.deformable_detr import MLP
from discmot.models.detr.matcher import Match
from discmot.models.fdta.spatial_adapter import lid_target_classes
from discmot.ops.boxes_torch import box_cxcywh_to_xyxy

# Weight of every class in the depth loss's one-hot targets (kornia's ``one_hot`` eps, kept for parity).
ONE_HOT_EPS = 1e-6


def softmax_focal_loss(
    logits: torch.Tensor, target: torch.Tensor, alpha: float = 0.25, gamma: float = 2.0
) -> torch.Tensor:
    """Per-pixel ``sum_k y_k (-alpha (1 - P_k)^gamma log P_k)`` with ``y = one_hot + 1e-6`` (kornia).

    ``logits [B, C, H, W]``, ``target [B, H, W]`` int64 class -> ``[B, H, W]``.
    """
    prob = logits.softmax(dim=1)
    log_prob = logits.log_softmax(dim=1)
    one_hot = F.one_hot(target, logits.shape[1]).permute(0, 3, 1, 2).to(logits.dtype) + ONE_HOT_EPS
    focal = -alpha * (1 - prob).pow(gamma) * log_prob
    return torch.einsum("bc...,bc...->b...", one_hot, focal)


def _slice_bounds(index: torch.Tensor, length: int) -> torch.Tensor:
    """Python slice semantics of a start or stop ``index`` on a sequence of ``length``."""
    return torch.where(index < 0, index + length, index).clamp(0, length)


def foreground_mask(boxes: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``[height, width]`` bool, True inside any of ``boxes [n, 4]`` (normalised cxcywh).

    As the official DDN balancer: boxes are scaled by the grid size, converted to corners, ``x1, y1``
    floored and ``x2, y2`` ceiled, then ``mask[y1:y2, x1:x2] = True`` with Python slice semantics
    (a negative corner counts from the end).
    """
    scale = torch.tensor([width, height, width, height], dtype=boxes.dtype, device=boxes.device)
    corners = box_cxcywh_to_xyxy(boxes * scale)
    corners = torch.cat([corners[:, :2].floor(), corners[:, 2:].ceil()], dim=1).long()
    x1, x2 = _slice_bounds(corners[:, 0], width), _slice_bounds(corners[:, 2], width)
    y1, y2 = _slice_bounds(corners[:, 1], height), _slice_bounds(corners[:, 3], height)
    cols = torch.arange(width, device=boxes.device)
    rows = torch.arange(height, device=boxes.device)
    in_cols = (cols >= x1[:, None]) & (cols < x2[:, None])
    in_rows = (rows >= y1[:, None]) & (rows < y2[:, None])
    return (in_rows[:, :, None] & in_cols[:, None, :]).any(dim=0)


def depth_loss(
    depth_logits: torch.Tensor,
    depth_maps: torch.Tensor,
    boxes: list[torch.Tensor],
    fg_weight: float,
    bins: int,
    depth_min: float,
    depth_max: float,
    num_boxes: float,
    batch_len: int = 10,
    alpha: float = 0.25,
    gamma: float = 2.0,
) -> torch.Tensor:
    """The Spatial Adapter's depth-distillation (DDN) loss, spec §3.1.4.

    Per frame: the raw depth map is resized bilinearly (align_corners False, no antialias) to the logits
    grid and binned by LID (`lid_target_classes`; 0 and padding fall in the out-of-range class); the
    softmax focal loss of each pixel is weighted by ``fg_weight`` inside the GT boxes, 1 elsewhere, and
    averaged over the frame's pixels. Frames are summed (in chunks of ``batch_len``, only to bound
    memory; the value does not depend on it) and the total is divided by ``num_boxes``.

    Args:
        depth_logits: ``[B, bins + 1, H8, W8]`` (``pred_depth_map_logits``).
        depth_maps: ``[B, 1, H, W]`` raw 8-bit pseudo-depth values 0..255 (any dtype), 0 in padding.
        boxes: ``B`` tensors ``[n_b, 4]`` normalised cxcywh GT boxes.
        fg_weight: foreground pixel weight (6 DanceTrack, 7 SportsMOT, 10 BFT).
        bins, depth_min, depth_max: LID discretisation (150, 1e-3, 256).
        num_boxes: the clip batch's GT box count (as for the DETR losses).

    Returns:
        Scalar loss; its gradient reaches ``depth_logits`` only.
    """
    if depth_logits.shape[1] != bins + 1:
        raise ValueError(f"depth logits have {depth_logits.shape[1]} classes, expected bins + 1 = {bins + 1}")
    height, width = depth_logits.shape[-2:]
    total = depth_logits.new_zeros(())
    for start in range(0, len(depth_logits), batch_len):
        logits = depth_logits[start : start + batch_len]
        resized = F.interpolate(
            depth_maps[start : start + batch_len].float(),
            size=(height, width),
            mode="bilinear",
            align_corners=False,
        )
        target = lid_target_classes(resized[:, 0], bins, depth_min, depth_max)
        foreground = torch.stack(
            [foreground_mask(b, height, width) for b in boxes[start : start + batch_len]]
        )
        weights = torch.where(foreground, fg_weight, 1.0).to(logits.dtype)
        total = total + (weights * softmax_focal_loss(logits, target, alpha, gamma)).sum() / (height * width)
    return total / max(float(num_boxes), 1.0)


class IdentityAdapter(MLP):
    """The Identity Adapter's consistent feature extractor (CFE): Linear -> ReLU -> Linear -> ReLU ->
    Linear, ``dim -> dim`` (keys ``layers.0/1/2``, PyTorch default init). Lives in the criterion."""

    def __init__(self, dim: int = 256):
        super().__init__(dim, dim, dim, 3)


def identity_adapter_loss(
    embeddings: torch.Tensor,
    track_ids: torch.Tensor,
    qualities: torch.Tensor,
    adapter: IdentityAdapter,
    *,
    epoch: int,
    tau: float = 0.1,
    min_quality: float = 0.5,
) -> torch.Tensor:
    """Quality-aware supervised InfoNCE of one group of matched embeddings (spec §3.3 steps 1-7).

    Pairs with ``quality >= min_quality`` are kept; ``z = normalize(adapter(e))``, ``s = z z^T / tau``.
    For each ordered positive pair (same track ID, ``i != j``):
    ``l_ij = -s_ij + log(exp(s_ij) + sum_{k: id_k != id_i} exp(s_ik))``, weighted by the harmonic mean
    ``2 q_i q_j / (q_i + q_j)``. Loss = ``tau`` x mean over anchors with >= 1 positive of the mean over
    their positives. Zero (no graph) in epoch 0 or with fewer than 2 kept embeddings.

    Args:
        embeddings: ``[n, D]`` DETR object embeddings of matched queries.
        track_ids: ``[n]`` their GT track IDs.
        qualities: ``[n]`` GIoU of each match (treated as constants).
        adapter: the CFE.
        epoch: 0-based training epoch (the loss is off in epoch 0).
    """
    zero = embeddings.new_zeros(())
    keep = qualities >= min_quality
    if epoch == 0 or int(keep.sum()) < 2:
        return zero
    quality = qualities[keep].detach().to(embeddings.dtype)
    track_ids = track_ids[keep].to(embeddings.device)
    z = F.normalize(adapter(embeddings[keep]), dim=1)
    similarity = z @ z.T / tau
    same = track_ids[:, None] == track_ids[None, :]
    positive = same & ~torch.eye(len(z), dtype=torch.bool, device=z.device)
    # Shifting every row by a constant leaves l_ij unchanged and keeps exp() finite for any tau.
    shifted = similarity - similarity.max(dim=1, keepdim=True).values.detach()
    exp = shifted.exp()
    negatives = (exp * ~same).sum(dim=1, keepdim=True)
    pair_loss = torch.log(exp + negatives) - shifted
    weight = 2 * quality[:, None] * quality[None, :] / (quality[:, None] + quality[None, :])
    positives_per_anchor = positive.sum(dim=1)
    anchor_loss = torch.where(positive, weight * pair_loss, 0).sum(dim=1) / positives_per_anchor.clamp(min=1)
    anchors = positives_per_anchor > 0
    return tau * anchor_loss[anchors].sum() / anchors.sum().clamp(min=1)


def identity_adapter_chunk_loss(
    embeddings: torch.Tensor,
    matches: list[Match],
    track_ids: list[torch.Tensor],
    adapter: IdentityAdapter,
    *,
    epoch: int,
    tau: float = 0.1,
    min_quality: float = 0.5,
    batch_len: int = 10,
) -> torch.Tensor:
    """`identity_adapter_loss` over the final-layer matches of each ``batch_len``-frame chunk, summed.

    Args:
        embeddings: ``[B, Q, D]`` object embeddings (``outputs`` of the DETR output), frames in order.
        matches: ``B`` final-layer `Match` tuples (query, target, GIoU).
        track_ids: ``B`` tensors ``[n_b]``, the GT track IDs in target order.
        epoch: 0-based epoch (zero loss in epoch 0).

    Returns:
        Scalar sum over chunks (not divided by ``num_boxes``; it grows with the number of chunks).
    """
    total = embeddings.new_zeros(())
    if epoch == 0:
        return total
    for start in range(0, len(matches), batch_len):
        frames = range(start, min(start + batch_len, len(matches)))
        chunk = torch.cat([embeddings[b, matches[b].queries.to(embeddings.device)] for b in frames])
        ids = torch.cat([track_ids[b][matches[b].targets.to(track_ids[b].device)] for b in frames])
        quality = torch.cat([matches[b].giou for b in frames])
        total = total + identity_adapter_loss(
            chunk, ids, quality, adapter, epoch=epoch, tau=tau, min_quality=min_quality
        )
    return total


def count_id_tokens(masks: torch.Tensor) -> int:
    """Tokens `id_loss` supervises: unmasked entries of ``masks [B, G, T, N]`` at ``t >= 1``."""
    return int((~masks[:, :, 1:]).sum())


def id_loss(
    logits: torch.Tensor, labels: torch.Tensor, masks: torch.Tensor, n_valid_avg: float | None = None
) -> torch.Tensor:
    """MOTIP's ID loss (spec §2.8): summed cross-entropy of the unmasked tokens of frames ``t >= 1``.

    Args:
        logits: ``[B, G, T, N, K + 1]`` ID-decoder logits (class ``K`` = newborn).
        labels: ``[B, G, T, N]`` int64 target labels.
        masks: ``[B, G, T, N]`` bool, True = absent / padding (the unknown-token mask).
        n_valid_avg: supervised-token count averaged over processes (the engine all-reduces
            `count_id_tokens`); ``None`` = the local count.

    Returns:
        ``sum CE / max(1, n_valid_avg)``.
    """
    keep = ~masks[:, :, 1:]
    if n_valid_avg is None:
        n_valid_avg = int(keep.sum())
    loss = F.cross_entropy(logits[:, :, 1:][keep], labels[:, :, 1:][keep], reduction="sum")
    return loss / max(1.0, float(n_valid_avg))
