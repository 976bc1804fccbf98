"""Edge cases of FDTA's training losses that the main loss tests leave open (spec ``fdta.md`` §2.8, §2.9,
§3.1.4, §3.3).

Expected values are hand calculations (Python ``math`` and loops) written here, never outputs of the
code under test.
"""

from __future__ import annotations

import math

import pytest
import torch
from fdta_loss_references import identity_cfe, reference_ia_loss, sigmoid_focal, softmax_focal

from discmot.models.detr.criterion import LOSS_WEIGHTS, loss_weights, sigmoid_focal_loss
from discmot.models.detr.matcher import HungarianMatcher, Match
from discmot.models.fdta.config import preset
from discmot.models.fdta.criterion import FDTACriterion
from discmot.models.fdta.losses import (
    IdentityAdapter,
    depth_loss,
    identity_adapter_chunk_loss,
    identity_adapter_loss,
    softmax_focal_loss,
)

# -------------------------------------------------------------------------------------- depth loss


def test_depth_loss_rejects_logits_without_bins_plus_one_channels():
    """§3.1.2 step 5 / §3.1.3: the logits have ``N + 1`` channels (the extra one is "out of range"); a
    head built for another bin count is an error, not a silently wrong target class."""
    logits = torch.zeros(1, 3, 1, 1)  # 3 channels = 2 bins + 1
    depth = torch.full((1, 1, 2, 2), 100.0)
    with pytest.raises(ValueError, match="bins"):
        depth_loss(logits, depth, [torch.zeros(0, 4)], 6.0, 3, 1e-3, 256.0, num_boxes=1)


def test_softmax_focal_loss_defaults_are_alpha_quarter_gamma_two():
    """§3.1.4 step 3: the softmax focal loss uses alpha 0.25, gamma 2 by default (an uncertain pixel,
    where gamma changes the value)."""
    values = [0.5, -1.0, 2.0]
    loss = softmax_focal_loss(torch.tensor(values).reshape(1, 3, 1, 1), torch.tensor([[[0]]]))
    torch.testing.assert_close(loss, torch.tensor([[[softmax_focal(values, 0)]]]))


def test_depth_loss_resizes_the_depth_map_with_align_corners_false():
    """§3.1.4 step 1: bilinear resize with align_corners False. A 1x2 map [0, 200] resized to the 1x1
    logits grid is the mean 100 (align_corners True would sample the first pixel, 0 = out of range).

    2 LID bins over 1e-3..256: step = 2 (256 - 1e-3) / (2 * 3); index of 100 =
    floor(-0.5 + 0.5 sqrt(1 + 8 (100 - 1e-3) / step)) = floor(1.11) = 1.
    """
    step = 2 * (256.0 - 1e-3) / (2 * 3)
    cls = math.floor(-0.5 + 0.5 * math.sqrt(1 + 8 * (100 - 1e-3) / step))
    assert cls == 1
    values = [0.3, -0.2, 0.9]
    logits = torch.tensor(values).reshape(1, 3, 1, 1)
    depth = torch.tensor([[[[0.0, 200.0]]]])
    loss = depth_loss(logits, depth, [torch.zeros(0, 4)], 6.0, 2, 1e-3, 256.0, num_boxes=1)
    # one pixel, background weight 1, pixel mean over 1 pixel, one frame, num_boxes 1
    torch.testing.assert_close(loss, torch.tensor(softmax_focal(values, cls)))


# ------------------------------------------------------------------------------- identity adapter


def test_identity_adapter_is_a_256_wide_three_layer_mlp_by_default():
    """§0 / §3.3 step 4: the CFE is Linear(256,256) x 3 with biases: 197,376 parameters."""
    adapter = IdentityAdapter()
    assert [tuple(p.shape) for p in adapter.parameters()] == [(256, 256), (256,)] * 3
    assert sum(p.numel() for p in adapter.parameters()) == 197_376


def test_identity_loss_stays_finite_and_exact_for_a_small_tau():
    """§3.3 steps 5-7 with tau = 0.01: similarities reach 1/tau = 100, whose exp() overflows float32,
    yet the loss must equal the formula (it is invariant to a per-anchor shift of the similarities).

    z = [1,0], [0,1] (id 7), [0.8,0.6] (id 9): s_01 = 0, s_02 = 80, s_12 = 60 (all / tau);
    anchor 0: log(1 + e^80), anchor 1: log(1 + e^60), each weighted 2*0.9*0.6/1.5 = 0.72.
    """
    tau = 0.01
    z = [[1.0, 0.0], [0.0, 1.0], [0.8, 0.6]]
    q = [0.9, 0.6, 0.7]
    loss = identity_adapter_loss(
        torch.tensor(z), torch.tensor([7, 7, 9]), torch.tensor(q), identity_cfe(), epoch=1, tau=tau
    )
    expected = tau * 0.72 * (math.log1p(math.exp(80)) + math.log1p(math.exp(60))) / 2
    assert math.isfinite(loss.item())
    torch.testing.assert_close(loss, torch.tensor(expected))
    torch.testing.assert_close(loss, torch.tensor(reference_ia_loss(z, [7, 7, 9], q, tau)))


def test_identity_chunk_loss_keeps_matches_with_giou_from_one_half_by_default():
    """§3.3 step 2: the chunk loss (as the criterion calls it, no explicit threshold) keeps every match
    with GIoU >= 0.5, so GIoUs 0.5 and 0.6 are both supervised."""
    embeddings = torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[0.8, 0.6], [0.6, 0.8]]])
    matches = [Match(torch.tensor([0, 1]), torch.tensor([0, 1]), torch.tensor([0.5, 0.6])) for _ in range(2)]
    track_ids = [torch.tensor([1, 2]), torch.tensor([1, 2])]
    loss = identity_adapter_chunk_loss(embeddings, matches, track_ids, identity_cfe(), epoch=1)
    z = [[1.0, 0.0], [0.0, 1.0], [0.8, 0.6], [0.6, 0.8]]
    expected = reference_ia_loss(z, [1, 2, 1, 2], [0.5, 0.6, 0.5, 0.6], 0.1)
    assert expected > 0
    torch.testing.assert_close(loss, torch.tensor(expected))


# ------------------------------------------------------------------------------------- FDTA criterion


def frames_with_one_box(embeddings: list[list[float]], ids: list[int], dim: int) -> tuple[dict, list]:
    """One query per frame predicting exactly the frame's only GT box (GIoU 1, so every match is kept
    with quality 1); the query's object embedding is ``embeddings[b]`` padded with zeros to ``dim``."""
    frames = len(ids)
    box = [0.5, 0.5, 0.2, 0.2]
    outputs = {
        "pred_logits": torch.zeros(frames, 1, 1),
        "pred_boxes": torch.tensor([[box]] * frames),
        "aux_outputs": [],
        "outputs": torch.nn.functional.pad(torch.tensor(embeddings), (0, dim - 2))[:, None],
    }
    targets = [
        {"boxes": torch.tensor([box]), "labels": torch.zeros(1, dtype=torch.int64), "id": torch.tensor([i])}
        for i in ids
    ]
    return outputs, targets


def test_fdta_criterion_contrastive_loss_uses_ten_frame_chunks_and_tau_0_1():
    """§3.3 (chunks of DETR_CRITERION_BATCH_LEN = 10 frames, tau = 0.1) with the criterion's defaults:
    12 frames; id 7 in frames 0 and 1 (a positive pair inside chunk 0), id 50 in frames 9 and 10 (split
    by the chunk border, so no pair), the rest unique. The loss is the hand value of chunk 0 alone."""
    config = preset("tiny")
    dim = config.detr.hidden_dim
    criterion = FDTACriterion(config, depth_fg_weight=6.0)
    with torch.no_grad():
        for layer in criterion.track_embed.layers:  # the identity on non-negative inputs
            layer.weight.copy_(torch.eye(dim))
            layer.bias.zero_()
    angles = [b * math.pi / 2 / 11 for b in range(12)]
    z = [[math.cos(a), math.sin(a)] for a in angles]
    ids = [7, 7, 102, 103, 104, 105, 106, 107, 108, 50, 50, 61]
    outputs, targets = frames_with_one_box(z, ids, dim)
    losses, matches = criterion(outputs, targets, num_boxes=12.0, epoch=1)
    assert all(m.giou.tolist() == [1.0] for m in matches)
    expected = reference_ia_loss(z[:10], ids[:10], [1.0] * 10, 0.1)  # chunk 1 (frames 10, 11): no pair
    torch.testing.assert_close(losses["loss_contrastive"], torch.tensor(expected))


def test_fdta_criterion_without_depth_maps_has_no_depth_loss():
    """§1.1 / §3.1.4: the depth maps are only carried to the loss; a call without them (the DETR output
    still holds depth logits) gives no ``loss_depth`` instead of failing."""
    config = preset("tiny")
    criterion = FDTACriterion(config, depth_fg_weight=6.0)
    outputs, targets = frames_with_one_box([[1.0, 0.0]], [3], config.detr.hidden_dim)
    outputs["pred_depth_map_logits"] = torch.zeros(1, config.spatial.bins + 1, 2, 2)
    losses, _ = criterion(outputs, targets, num_boxes=1.0, epoch=0)
    assert "loss_depth" not in losses and {"loss_ce", "loss_contrastive"} <= set(losses)


# ------------------------------------------------------------------------------------- DETR losses


@pytest.mark.parametrize(
    "kwargs, alpha, gamma",
    [({}, 0.25, 2.0), ({"gamma": 1.0}, 0.25, 1.0), ({"alpha": -1.0}, -1.0, 2.0), ({"alpha": 0.0}, 0.0, 2.0)],
)
def test_sigmoid_focal_loss_defaults_odd_gamma_and_alpha_switch(kwargs, alpha, gamma):
    """§2.9: alpha 0.25 and gamma 2 by default; an odd gamma keeps the ``(1 - p_t)`` form; a negative
    alpha switches the class weighting off and alpha 0 (>= 0) still applies it (Deformable DETR)."""
    logits = torch.tensor([[[0.7], [-0.4], [1.3]]])  # 1 frame, 3 queries, 1 class
    targets = torch.tensor([[[1.0], [0.0], [0.0]]])
    terms = [sigmoid_focal(v, t, alpha, gamma) for v, t in [(0.7, True), (-0.4, False), (1.3, False)]]
    loss = sigmoid_focal_loss(logits, targets, num_boxes=2.0, **kwargs)
    torch.testing.assert_close(loss, torch.tensor(sum(terms) / 3 / 2))  # mean over queries, / num_boxes


def test_default_loss_weights_cover_the_final_and_five_aux_layers():
    """§4.2: final + aux 0..4 DETR terms (2 / 5 / 2), then depth, contrastive and ID at 1.0."""
    weights = loss_weights()
    assert weights == LOSS_WEIGHTS and len(weights) == 6 * 3 + 3
    assert weights["loss_bbox_4"] == 5.0 and "loss_ce_5" not in weights


# ------------------------------------------------------------------------------------------ matcher


def test_matcher_default_cost_weights_are_the_spec_values():
    """§2.9 / §6.1: DETR_SET_COST_CLASS 2, DETR_SET_COST_BBOX 5, DETR_SET_COST_GIOU 2, focal alpha 0.25."""
    matcher = HungarianMatcher()
    assert (matcher.cost_class, matcher.cost_bbox, matcher.cost_giou) == (2.0, 5.0, 2.0)
    assert (matcher.focal_alpha, matcher.gamma) == (0.25, 2.0)


def one_target(box: list[float]) -> list[dict]:
    return [{"boxes": torch.tensor([box]), "labels": torch.zeros(1, dtype=torch.int64)}]


def test_matcher_prefers_the_higher_giou_when_l1_and_class_tie():
    """§2.9: the GIoU term is ``-GIoU`` (higher GIoU = lower cost). Target 0.2x0.2 at the centre; query 0
    is 0.1 wider (L1 0.1, GIoU = 0.04 / 0.06 = 2/3), query 1 is shifted by 0.1 (L1 0.1, IoU 0.02 / 0.06
    = 1/3, hull = union, GIoU 1/3); same logits. Query 0 must win."""
    boxes = torch.tensor([[[0.5, 0.5, 0.3, 0.2], [0.6, 0.5, 0.2, 0.2]]])
    outputs = {"pred_logits": torch.zeros(1, 2, 1), "pred_boxes": boxes}
    (match,) = HungarianMatcher()(outputs, one_target([0.5, 0.5, 0.2, 0.2]))
    assert match.queries.tolist() == [0]
    torch.testing.assert_close(match.giou, torch.tensor([2 / 3]))


def test_matcher_box_cost_is_l1_not_euclidean():
    """§2.9: ``||b_hat - b||_1`` on cxcywh. Query 0 is off by (0.1, 0.1) (L1 0.2, L2 0.141), query 1 by
    (0.15, 0) (L1 0.15, L2 0.15); with only the box term, L1 picks query 1."""
    boxes = torch.tensor([[[0.6, 0.6, 0.2, 0.2], [0.65, 0.5, 0.2, 0.2]]])
    outputs = {"pred_logits": torch.zeros(1, 2, 1), "pred_boxes": boxes}
    (match,) = HungarianMatcher(cost_class=0.0, cost_giou=0.0)(outputs, one_target([0.5, 0.5, 0.2, 0.2]))
    assert match.queries.tolist() == [1]


def test_matcher_class_cost_stays_finite_for_saturated_probabilities():
    """§2.9: ``pos = 0.25 (1-p)^2 (-log(p + 1e-8))``, ``neg = 0.75 p^2 (-log(1 - p + 1e-8))``. In float32
    sigmoid(40) is exactly 1 and sigmoid(-200) exactly 0: costs -0.75 ln(1e8) and 0.25 ln(1e8)
    (-13.8155, 4.6052), and matching still works."""
    logits = torch.tensor([[40.0], [-200.0]])
    assert logits.sigmoid().tolist() == [[1.0], [0.0]]
    cost = HungarianMatcher().class_cost(logits, torch.tensor([0]))
    ln = math.log(1e8)
    torch.testing.assert_close(cost[:, 0], torch.tensor([-0.75 * ln, 0.25 * ln]))
    boxes = torch.tensor([[[0.5, 0.5, 0.2, 0.2]] * 2])
    (match,) = HungarianMatcher()(
        {"pred_logits": logits[None], "pred_boxes": boxes}, one_target([0.5, 0.5, 0.2, 0.2])
    )
    assert match.queries.tolist() == [0]
