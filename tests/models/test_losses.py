"""FDTA's losses on hand-made inputs (spec ``fdta.md`` §2.8, §2.9, §3.1.4, §3.3, §4.2).

Every expected value is computed here independently (Python ``math`` and loops), not with the code under
test.
"""

from __future__ import annotations

import math

import pytest
import torch
from fdta_loss_references import identity_cfe, reference_ia_loss, sigmoid_focal, softmax_focal

from discmot.models.detr.criterion import (
    LOSS_WEIGHTS,
    DETRCriterion,
    count_boxes,
    loss_weights,
    weighted_total,
)
from discmot.models.detr.matcher import HungarianMatcher
from discmot.models.fdta.config import preset
from discmot.models.fdta.criterion import FDTACriterion
from discmot.models.fdta.losses import (
    IdentityAdapter,
    count_id_tokens,
    depth_loss,
    foreground_mask,
    id_loss,
    identity_adapter_chunk_loss,
    identity_adapter_loss,
    softmax_focal_loss,
)
from discmot.models.fdta.spatial_adapter import lid_target_classes

ALPHA = 0.25


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def giou_xyxy(a, b) -> float:
    inter = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    hull = (max(a[2], b[2]) - min(a[0], b[0])) * (max(a[3], b[3]) - min(a[1], b[1]))
    return inter / union - (hull - union) / hull


def xyxy(cxcywh) -> list[float]:
    cx, cy, w, h = cxcywh
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]


def target(boxes, ids=None) -> dict:
    boxes = torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4)
    ids = torch.arange(len(boxes)) if ids is None else torch.tensor(ids)
    return {"boxes": boxes, "labels": torch.zeros(len(boxes), dtype=torch.int64), "id": ids}


# --------------------------------------------------------------------------------------- matcher


def test_matcher_obvious_assignment_and_giou():
    targets = [target([[0.25, 0.25, 0.2, 0.2], [0.75, 0.75, 0.2, 0.2]])]
    boxes = torch.tensor([[[0.75, 0.75, 0.2, 0.1], [0.5, 0.1, 0.05, 0.05], [0.25, 0.25, 0.2, 0.2]]])
    logits = torch.tensor([[[1.0], [-3.0], [1.0]]])
    (match,) = HungarianMatcher()({"pred_logits": logits, "pred_boxes": boxes}, targets)
    assert match.queries.tolist() == [0, 2] and match.targets.tolist() == [1, 0]
    # query 0 is the target's horizontal middle half: IoU = GIoU = 0.5; query 2 is exact
    torch.testing.assert_close(match.giou, torch.tensor([0.5, 1.0]))
    assert not match.giou.requires_grad


def test_matcher_cost_terms_decide():
    matcher = HungarianMatcher()
    logits = torch.tensor([[0.3], [-1.2]])
    p = [sigmoid(0.3), sigmoid(-1.2)]
    expected = [0.25 * (1 - q) ** 2 * -math.log(q + 1e-8) - 0.75 * q**2 * -math.log(1 - q + 1e-8) for q in p]
    cost = matcher.class_cost(logits, torch.tensor([0, 0]))
    torch.testing.assert_close(cost[:, 0], torch.tensor(expected))
    # Same boxes for both queries: the class cost alone decides (the confident query wins).
    boxes = torch.tensor([[[0.5, 0.5, 0.2, 0.2]] * 2])
    (match,) = matcher({"pred_logits": logits[None], "pred_boxes": boxes}, [target([[0.4, 0.5, 0.2, 0.2]])])
    assert match.queries.tolist() == [0]


def test_matcher_empty_frame():
    outputs = {"pred_logits": torch.zeros(2, 3, 1), "pred_boxes": torch.full((2, 3, 4), 0.5)}
    matches = HungarianMatcher()(outputs, [target([]), target([[0.5, 0.5, 0.1, 0.1]])])
    assert len(matches[0].queries) == 0 and len(matches[0].giou) == 0 and len(matches[1].queries) == 1


# ------------------------------------------------------------------------------------- DETR losses


def tiny_outputs(requires_grad: bool = False) -> dict:
    """1 frame, 2 queries; query 0 near the target, query 1 far. Two aux layers with swapped queries."""
    logits = torch.tensor([[[0.7], [-0.4]]])
    boxes = torch.tensor([[[0.52, 0.48, 0.2, 0.3], [0.1, 0.1, 0.05, 0.05]]])
    outputs = {"pred_logits": logits, "pred_boxes": boxes}
    outputs["aux_outputs"] = [
        {"pred_logits": logits.flip(1), "pred_boxes": boxes.flip(1)},
        {"pred_logits": logits.clone(), "pred_boxes": boxes.clone()},
    ]
    if requires_grad:
        for layer in [outputs, *outputs["aux_outputs"]]:
            layer["pred_logits"].requires_grad_(True)
            layer["pred_boxes"].requires_grad_(True)
    return outputs


TINY_TARGET = [0.5, 0.5, 0.2, 0.25]


@pytest.mark.parametrize("num_boxes", [1.0, 3.0])
def test_detr_losses_against_formulas(num_boxes):
    losses, matches = DETRCriterion()(tiny_outputs(), [target([TINY_TARGET])], num_boxes)
    predicted = [0.52, 0.48, 0.2, 0.3]
    ce = sigmoid_focal(0.7, True) + sigmoid_focal(-0.4, False)
    l1 = sum(abs(a - b) for a, b in zip(predicted, TINY_TARGET, strict=True))
    giou = giou_xyxy(xyxy(predicted), xyxy(TINY_TARGET))
    assert matches[0].queries.tolist() == [0]
    torch.testing.assert_close(losses["loss_ce"], torch.tensor(ce / num_boxes))
    torch.testing.assert_close(losses["loss_bbox"], torch.tensor(l1 / num_boxes))
    torch.testing.assert_close(losses["loss_giou"], torch.tensor((1 - giou) / num_boxes))
    # aux layer 0 has the queries swapped: its own matching picks query 1, same values
    for key in ("loss_ce", "loss_bbox", "loss_giou"):
        torch.testing.assert_close(losses[f"{key}_0"], losses[key])
        torch.testing.assert_close(losses[f"{key}_1"], losses[key])


def test_detr_losses_sum_over_frames():
    outputs = tiny_outputs()
    outputs = {k: torch.cat([outputs[k], outputs[k].flip(1)]) for k in ("pred_logits", "pred_boxes")}
    second = [0.1, 0.12, 0.06, 0.05]
    losses, matches = DETRCriterion()(outputs, [target([TINY_TARGET]), target([second])], 2.0)
    assert [m.queries.tolist() for m in matches] == [[0], [0]]
    frame0, frame1 = [0.52, 0.48, 0.2, 0.3], [0.1, 0.1, 0.05, 0.05]
    ce = (
        sigmoid_focal(0.7, True)
        + sigmoid_focal(-0.4, False)
        + sigmoid_focal(-0.4, True)
        + sigmoid_focal(0.7, False)
    )
    l1 = sum(abs(a - b) for a, b in zip(frame0 + frame1, TINY_TARGET + second, strict=True))
    giou = giou_xyxy(xyxy(frame0), xyxy(TINY_TARGET)) + giou_xyxy(xyxy(frame1), xyxy(second))
    torch.testing.assert_close(losses["loss_ce"], torch.tensor(ce / 2))
    torch.testing.assert_close(losses["loss_bbox"], torch.tensor(l1 / 2))
    torch.testing.assert_close(losses["loss_giou"], torch.tensor((2 - giou) / 2))


def test_detr_loss_keys_weights_and_gradients():
    outputs = tiny_outputs(requires_grad=True)
    targets = [target([TINY_TARGET])]
    losses, _ = DETRCriterion()(outputs, targets, count_boxes(targets))
    assert set(losses) == {f"{k}{s}" for k in ("loss_ce", "loss_bbox", "loss_giou") for s in ("", "_0", "_1")}
    weights = loss_weights(num_aux_layers=2)
    assert weights["loss_ce_1"] == 2.0 and weights["loss_bbox_0"] == 5.0 and weights["loss_giou"] == 2.0
    assert len(LOSS_WEIGHTS) == 6 * 3 + 3 and LOSS_WEIGHTS["loss_giou_4"] == 2.0
    assert LOSS_WEIGHTS["loss_depth"] == LOSS_WEIGHTS["loss_contrastive"] == LOSS_WEIGHTS["loss_id"] == 1.0
    total = weighted_total({**losses, "class_error": torch.tensor(100.0)}, weights)
    expected = sum(weights[k] * v for k, v in losses.items())
    torch.testing.assert_close(total, expected)
    total.backward()
    for layer in [outputs, *outputs["aux_outputs"]]:
        assert layer["pred_logits"].grad.abs().sum() > 0
        # only the matched query's box gets a box gradient
        matched = 0 if layer["pred_logits"][0, 0, 0] > 0 else 1
        assert layer["pred_boxes"].grad[0, matched].abs().sum() > 0
        assert layer["pred_boxes"].grad[0, 1 - matched].abs().sum() == 0


def test_count_boxes_clamped():
    assert count_boxes([target([]), target([])]) == 1.0
    assert count_boxes([target([TINY_TARGET]), target([TINY_TARGET] * 2)]) == 3.0


# -------------------------------------------------------------------------------------- depth loss


def test_lid_targets_of_spec_depths():
    depths = torch.tensor([0.0, 1, 2, 10, 50, 100, 128, 200, 254, 255, 256])
    classes = lid_target_classes(depths, 150, 1e-3, 256.0)
    assert classes.tolist() == [150, 8, 12, 29, 66, 93, 105, 132, 149, 149, 150]


# 2 bins (+ out of range) over 1e-3..256: 50 -> class 0, 200 -> class 1, 0 -> class 2
BINS, DMIN, DMAX = 2, 1e-3, 256.0
PIXEL_LOGITS = [[0.5, -1.0, 2.0], [1.5, 0.0, -0.5], [-2.0, 1.0, 0.3], [0.0, 0.0, 0.0]]  # row-major 2x2


def depth_inputs() -> tuple[torch.Tensor, torch.Tensor]:
    """Logits ``[1, 3, 2, 2]`` and a 4x4 depth map whose 2x2 blocks average to 50, 200, 0, 50."""
    logits = torch.tensor(PIXEL_LOGITS).T.reshape(1, 3, 2, 2)
    blocks = [[40, 60, 40, 60], [190, 210, 200, 200], [0, 0, 0, 0], [50, 50, 50, 50]]
    depth = torch.zeros(1, 1, 4, 4)
    for index, values in enumerate(blocks):
        row, col = divmod(index, 2)
        depth[0, 0, 2 * row : 2 * row + 2, 2 * col : 2 * col + 2] = torch.tensor(values).reshape(2, 2)
    return logits, depth


def test_depth_loss_hand_2x2():
    logits, depth = depth_inputs()
    classes = [0, 1, 2, 0]
    per_pixel = [softmax_focal(v, c) for v, c in zip(PIXEL_LOGITS, classes, strict=True)]
    # box covering the top-left pixel only, and one covering the top row
    cases = {
        (0.25, 0.25, 0.5, 0.5): [2, 1, 1, 1],
        (0.5, 0.25, 0.2, 0.2): [2, 2, 1, 1],
    }
    for box, weights in cases.items():
        loss = depth_loss(logits, depth, [torch.tensor([box])], 2.0, BINS, DMIN, DMAX, num_boxes=1)
        expected = sum(w * f for w, f in zip(weights, per_pixel, strict=True)) / 4
        torch.testing.assert_close(loss, torch.tensor(expected))
        loss4 = depth_loss(logits, depth, [torch.tensor([box])], 2.0, BINS, DMIN, DMAX, num_boxes=4)
        torch.testing.assert_close(loss4, torch.tensor(expected / 4))
    no_box = depth_loss(logits, depth, [torch.zeros(0, 4)], 2.0, BINS, DMIN, DMAX, num_boxes=1)
    torch.testing.assert_close(no_box, torch.tensor(sum(per_pixel) / 4))


def test_softmax_focal_keeps_one_hot_eps():
    # A confident, correct pixel: the true class contributes ~0, the 1e-6 on the others dominates.
    logits = torch.tensor([20.0, -30.0, -30.0]).reshape(1, 3, 1, 1)
    loss = softmax_focal_loss(logits, torch.zeros(1, 1, 1, dtype=torch.int64))
    torch.testing.assert_close(loss, torch.tensor([[[softmax_focal([20.0, -30.0, -30.0], 0)]]]))
    assert loss.item() == pytest.approx(2 * 1e-6 * ALPHA * 50, rel=1e-3)


def test_depth_loss_sums_frames_and_chunks():
    logits, depth = depth_inputs()
    logits3, depth3 = logits.repeat(3, 1, 1, 1), depth.repeat(3, 1, 1, 1)
    logits3[1] *= 2
    boxes = [torch.tensor([[0.25, 0.25, 0.5, 0.5]]), torch.zeros(0, 4), torch.tensor([[0.5, 0.5, 1.0, 1.0]])]
    per_frame = [
        depth_loss(logits3[i : i + 1], depth3[i : i + 1], boxes[i : i + 1], 6.0, BINS, DMIN, DMAX, 1)
        for i in range(3)
    ]
    for batch_len in (1, 2, 10):
        loss = depth_loss(logits3, depth3, boxes, 6.0, BINS, DMIN, DMAX, num_boxes=2, batch_len=batch_len)
        torch.testing.assert_close(loss, sum(per_frame) / 2)


def test_depth_loss_gradient_reaches_only_logits():
    logits, depth = depth_inputs()
    logits.requires_grad_(True)
    depth.requires_grad_(True)
    boxes = torch.tensor([[0.25, 0.25, 0.5, 0.5]], requires_grad=True)
    depth_loss(logits, depth, [boxes], 6.0, BINS, DMIN, DMAX, num_boxes=1).backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0
    assert depth.grad is None and boxes.grad is None


def test_foreground_mask_matches_official_slicing():
    height, width = 3, 5
    boxes = torch.tensor(
        [[0.5, 0.5, 0.2, 0.3], [0.0, 0.2, 0.5, 0.2], [0.95, 0.9, 0.3, 0.4], [0.31, 0.52, 0.02, 0.02]]
    )
    for box in boxes:
        expected = torch.zeros(height, width, dtype=torch.bool)
        scaled = box * torch.tensor([width, height, width, height])
        x1, y1, x2, y2 = xyxy(scaled.tolist())
        x1, y1, x2, y2 = math.floor(x1), math.floor(y1), math.ceil(x2), math.ceil(y2)
        expected[y1:y2, x1:x2] = True  # Python slicing, negative starts included
        assert torch.equal(foreground_mask(box[None], height, width), expected), box


# ------------------------------------------------------------------------------- identity adapter


THREE = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])


@pytest.mark.parametrize("tau", [0.1, 0.5])
def test_identity_loss_three_embeddings_by_hand(tau):
    loss = identity_adapter_loss(
        THREE, torch.tensor([7, 7, 9]), torch.tensor([0.9, 0.6, 0.7]), identity_cfe(), epoch=1, tau=tau
    )
    w = 2 * 0.9 * 0.6 / 1.5  # harmonic mean of the two positives' GIoUs = 0.72
    s01, s02, s12 = 0.8 / tau, 0.0, 0.6 / tau
    anchor0 = w * (-s01 + math.log(math.exp(s01) + math.exp(s02)))
    anchor1 = w * (-s01 + math.log(math.exp(s01) + math.exp(s12)))
    torch.testing.assert_close(loss, torch.tensor(tau * (anchor0 + anchor1) / 2))


def test_identity_loss_off_cases():
    adapter, ids, q = identity_cfe(), torch.tensor([7, 7, 9]), torch.tensor([0.9, 0.6, 0.7])
    epoch0 = identity_adapter_loss(THREE.requires_grad_(False), ids, q, adapter, epoch=0)
    assert epoch0.item() == 0 and not epoch0.requires_grad
    single = identity_adapter_loss(THREE[:1], ids[:1], q[:1], adapter, epoch=3)
    assert single.item() == 0
    filtered = identity_adapter_loss(THREE, ids, torch.tensor([0.9, 0.3, 0.49]), adapter, epoch=3)
    assert filtered.item() == 0  # one embedding left after the GIoU >= 0.5 filter
    distinct = identity_adapter_loss(THREE, torch.tensor([1, 2, 3]), q, adapter, epoch=3)
    assert distinct.item() == 0  # no positives


def test_identity_loss_giou_filter_inclusive():
    adapter, q3 = identity_cfe(), [0.9, 0.6, 0.7]
    four = torch.cat([THREE, torch.tensor([[0.6, 0.8]])])
    ids = torch.tensor([7, 7, 9, 7])
    base = identity_adapter_loss(THREE, ids[:3], torch.tensor(q3), adapter, epoch=1)
    dropped = identity_adapter_loss(four, ids, torch.tensor([*q3, 0.4999]), adapter, epoch=1)
    kept = identity_adapter_loss(four, ids, torch.tensor([*q3, 0.5]), adapter, epoch=1)
    torch.testing.assert_close(dropped, base)
    z = [[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [0.6, 0.8]]
    torch.testing.assert_close(kept, torch.tensor(reference_ia_loss(z, [7, 7, 9, 7], [*q3, 0.5], 0.1)))


def test_identity_loss_random_against_loops_and_gradients():
    torch.manual_seed(0)
    adapter = IdentityAdapter(8)
    embeddings = torch.randn(7, 8, requires_grad=True)
    ids, q = torch.tensor([1, 2, 1, 3, 2, 1, 4]), torch.rand(7) * 0.5 + 0.5
    q.requires_grad_(True)
    loss = identity_adapter_loss(embeddings, ids, q, adapter, epoch=2)
    z = torch.nn.functional.normalize(adapter(embeddings), dim=1).tolist()
    torch.testing.assert_close(loss, torch.tensor(reference_ia_loss(z, ids.tolist(), q.tolist(), 0.1)))
    loss.backward()
    assert embeddings.grad.abs().sum() > 0 and q.grad is None
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in adapter.parameters())
    assert [k for k in adapter.state_dict()] == [
        f"layers.{i}.{p}" for i in range(3) for p in ("weight", "bias")
    ]


def frame_matches(giou_values):
    from discmot.models.detr.matcher import Match

    n = len(giou_values)
    return Match(torch.arange(n), torch.arange(n), torch.tensor(giou_values))


def test_identity_chunk_loss_splits_at_ten_frames():
    torch.manual_seed(1)
    adapter = IdentityAdapter(4)
    frames = 12
    embeddings = torch.randn(frames, 3, 4)
    matches = [frame_matches([0.9, 0.8, 0.3]) for _ in range(frames)]  # query 2 always filtered out
    # id 100 + frame // 10 on query 0: positives within a chunk; query 1 alternates ids across frames
    track_ids = [torch.tensor([100 + b // 10, 200 + b % 2, 300 + b]) for b in range(frames)]
    loss = identity_adapter_chunk_loss(embeddings, matches, track_ids, adapter, epoch=1)
    expected = 0
    for frames_ in (range(0, 10), range(10, 12)):
        e = torch.cat([embeddings[b, :2] for b in frames_])
        ids = torch.cat([track_ids[b][:2] for b in frames_])
        q = torch.tensor([0.9, 0.8] * len(frames_))
        expected = expected + identity_adapter_loss(e, ids, q, adapter, epoch=1)
    torch.testing.assert_close(loss, expected)
    assert identity_adapter_chunk_loss(embeddings, matches, track_ids, adapter, epoch=0).item() == 0
    # an identity seen only in frames 9 and 10 has no positive pair: chunks never mix
    split = [torch.tensor([b, 50 if b in (9, 10) else 60 + b]) for b in range(frames)]
    two = [frame_matches([0.9, 0.9]) for _ in range(frames)]
    assert identity_adapter_chunk_loss(embeddings[:, :2], two, split, adapter, epoch=1).item() == 0


# -------------------------------------------------------------------------------------------- ID loss


def test_id_loss_drops_first_frame_masked_and_normalises():
    torch.manual_seed(0)
    logits = torch.randn(1, 1, 3, 2, 4, requires_grad=True)
    labels = torch.tensor([[[[0, 1], [3, 2], [1, 3]]]])
    masks = torch.tensor([[[[False, False], [False, True], [False, False]]]])
    assert count_id_tokens(masks) == 3
    kept = [(1, 0), (2, 0), (2, 1)]
    ce = 0.0
    for t, n in kept:
        row = logits[0, 0, t, n].tolist()
        ce += -row[labels[0, 0, t, n]] + math.log(sum(math.exp(v) for v in row))
    torch.testing.assert_close(id_loss(logits, labels, masks), torch.tensor(ce / 3))
    torch.testing.assert_close(id_loss(logits, labels, masks, n_valid_avg=6), torch.tensor(ce / 6))
    torch.testing.assert_close(id_loss(logits, labels, masks, n_valid_avg=0.25), torch.tensor(ce))
    id_loss(logits, labels, masks).backward()
    grad = logits.grad[0, 0].abs().sum(-1)
    assert grad[0].sum() == 0 and grad[1, 1] == 0  # t = 0 and the masked token
    assert (grad[1, 0] > 0) and (grad[2] > 0).all()
    empty = id_loss(logits, labels, torch.ones_like(masks))
    assert empty.item() == 0


# ------------------------------------------------------------------------------------- FDTA criterion


def test_fdta_criterion_keys_epoch_and_depth_gradient_isolation():
    config = preset("tiny")
    torch.manual_seed(0)
    criterion = FDTACriterion(config, depth_fg_weight=6.0)
    frames, queries, dim, bins = 3, 4, config.detr.hidden_dim, config.spatial.bins
    outputs = {
        "pred_logits": torch.randn(frames, queries, 1, requires_grad=True),
        "pred_boxes": torch.rand(frames, queries, 4).mul(0.3).add(0.2).requires_grad_(True),
        "aux_outputs": [],
        "outputs": torch.randn(frames, queries, dim, requires_grad=True),
        "pred_depth_map_logits": torch.randn(frames, bins + 1, 4, 6, requires_grad=True),
    }
    targets = [target([[0.3, 0.3, 0.2, 0.2], [0.6, 0.6, 0.2, 0.3]], ids=[5, 6]) for _ in range(frames)]
    depth = torch.randint(0, 256, (frames, 1, 32, 48), dtype=torch.uint8)
    losses, matches = criterion(outputs, targets, count_boxes(targets), epoch=0, depth_maps=depth)
    assert set(losses) == {"loss_ce", "loss_bbox", "loss_giou", "loss_depth", "loss_contrastive"}
    assert losses["loss_contrastive"].item() == 0 and len(matches) == frames
    grads = torch.autograd.grad(
        losses["loss_depth"],
        [outputs[k] for k in ("pred_logits", "pred_boxes", "outputs", "pred_depth_map_logits")],
        allow_unused=True,
    )
    assert grads[0] is None and grads[1] is None and grads[2] is None and grads[3].abs().sum() > 0
    assert list(criterion.state_dict()) == [
        f"track_embed.layers.{i}.{p}" for i in range(3) for p in ("weight", "bias")
    ]
