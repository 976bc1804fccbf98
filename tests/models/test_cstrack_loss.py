"""CSTrack's loss (spec ``cstrack.md`` §5) on hand-made targets.

Expected values are derived by hand (cells, offsets) or computed here with Python ``math`` (CIoU,
cross-entropy), never by calling the function under test.
"""

from __future__ import annotations

import math

import pytest
import torch

from discmot.models.cstrack.loss import (
    OFFICIAL_GRID_ANCHORS,
    CSTrackLoss,
    CSTrackLossConfig,
    assign_level,
    assign_targets,
    box_loss,
    class_loss,
    complete_iou_cxcywh,
    embedding_scale,
    grid_anchors,
    id_loss,
    match_anchors,
    objectness_loss,
    objectness_targets,
    positive_predictions,
    target_embeddings,
)

OFFICIAL_GRIDS = [(76, 136), (38, 68), (19, 34)]


def reference_ciou(pred: tuple[float, ...], target: tuple[float, ...]) -> float:
    """CIoU of two ``(cx, cy, w, h)`` boxes straight from the paper's definition."""
    (pcx, pcy, pw, ph), (tcx, tcy, tw, th) = pred, target
    px1, py1, px2, py2 = pcx - pw / 2, pcy - ph / 2, pcx + pw / 2, pcy + ph / 2
    tx1, ty1, tx2, ty2 = tcx - tw / 2, tcy - th / 2, tcx + tw / 2, tcy + th / 2
    inter = max(0.0, min(px2, tx2) - max(px1, tx1)) * max(0.0, min(py2, ty2) - max(py1, ty1))
    iou = inter / (pw * ph + tw * th - inter)
    c2 = (max(px2, tx2) - min(px1, tx1)) ** 2 + (max(py2, ty2) - min(py1, ty1)) ** 2
    rho2 = (pcx - tcx) ** 2 + (pcy - tcy) ** 2
    v = 4 / math.pi**2 * (math.atan(tw / th) - math.atan(pw / ph)) ** 2
    alpha = v / (1 - iou + v) if v > 0 else 0.0
    return iou - rho2 / c2 - alpha * v


def cells(positives) -> list[tuple[int, int, int]]:
    return list(zip(positives.anchor.tolist(), positives.row.tolist(), positives.col.tolist(), strict=True))


# ---------------------------------------------------------------- assignment (§5.2)


def test_worked_example_of_the_spec():
    # A: gx = 0.3012 * 136 = 40.9632, gy = 0.4123 * 76 = 31.3348 on P3; B: (95.2, 15.2).
    targets = torch.tensor([[0, 5, 0.3012, 0.4123, 0.05, 0.2], [0, 7, 0.7, 0.2, 0.01, 0.03]])
    p3, p4, p5 = assign_targets(targets, OFFICIAL_GRIDS, torch.tensor(OFFICIAL_GRID_ANCHORS))
    a3 = [c for c, label in zip(cells(p3), p3.label.tolist(), strict=True) if label == 5]
    b3 = [c for c, label in zip(cells(p3), p3.label.tolist(), strict=True) if label == 7]
    # A (gw 6.8, gh 15.2) only fits anchor (2, 6); centre, up (frac gy < .5), right (frac(136 - gx) < .5).
    assert sorted(a3) == sorted([(2, 31, 40), (2, 30, 40), (2, 31, 41)])
    # B (1.36, 2.28) fits all three anchors; centre, left, up.
    assert sorted(b3) == sorted((a, r, c) for a in range(3) for r, c in [(15, 95), (15, 94), (14, 95)])
    a_boxes = {
        c: box
        for c, box, label in zip(cells(p3), p3.boxes.tolist(), p3.label.tolist(), strict=True)
        if label == 5
    }
    torch.testing.assert_close(torch.tensor(a_boxes[(2, 31, 40)]), torch.tensor([0.9632, 0.3348, 6.8, 15.2]))
    torch.testing.assert_close(torch.tensor(a_boxes[(2, 30, 40)]), torch.tensor([0.9632, 1.3348, 6.8, 15.2]))
    torch.testing.assert_close(torch.tensor(a_boxes[(2, 31, 41)]), torch.tensor([-0.0368, 0.3348, 6.8, 15.2]))
    # P4: A at gx 20.4816, gy 15.6674 fits all anchors: centre, left, down. B fits none.
    assert sorted(cells(p4)) == sorted((a, r, c) for a in range(3) for r, c in [(15, 20), (15, 19), (16, 20)])
    # P5: A fits anchor 0 only at gx 10.2408, gy 7.8337: centre, left, down.
    assert sorted(cells(p5)) == [(0, 7, 9), (0, 7, 10), (0, 8, 10)]
    assert (len(p3), len(p4), len(p5)) == (12, 9, 3)
    torch.testing.assert_close(p3.anchor_wh[p3.label == 5], torch.tensor([[2.0, 6.0]] * 3))


def test_positive_order_is_kind_then_anchor_then_target():
    # Two targets, both matching both anchors, on an 8x8 grid at gx = gy = 1.25 (centre + left + up).
    targets = torch.tensor(
        [[0, 1, 1.25 / 8, 1.25 / 8, 1 / 8, 1 / 8], [1, 2, 1.25 / 8, 1.25 / 8, 1 / 8, 1 / 8]]
    )
    positives = assign_level(targets, torch.tensor([[1.0, 1.0], [1.5, 1.5]]), (8, 8))
    expected = [(a, t) for _kind in range(3) for a in range(2) for t in range(2)]
    assert list(zip(positives.anchor.tolist(), positives.target.tolist(), strict=True)) == expected
    assert positives.image.tolist() == [0, 1] * 6


def test_anchor_ratio_threshold_is_strict():
    anchors = torch.tensor([[1.0, 1.0]])
    wh = torch.tensor([[4.0, 1.0], [3.999, 1.0], [0.25, 1.0], [0.2501, 0.2501], [1.0, 4.0], [0.0, 1.0]])
    assert match_anchors(wh, anchors, 4.0).tolist() == [[False, True, False, True, False, False]]


@pytest.mark.parametrize(
    ("gx", "expected_cols", "expected_x_offsets"),
    [
        (1.25, [1, 0], [0.25, 1.25]),  # fraction < .5 and gx > 1: left neighbour too
        (0.375, [0], [0.375]),  # fraction < .5 but gx <= 1: no left neighbour
        (7.625, [7], [0.625]),  # 8 - gx = 0.375 <= 1: no right neighbour at the border
        (6.75, [6, 7], [0.75, -0.25]),  # 8 - gx = 1.25: right neighbour
        (3.5, [3], [0.5]),  # exactly half: neither side
    ],
)
def test_neighbour_cells_near_borders(gx, expected_cols, expected_x_offsets):
    # gy = 4.5: fraction .5 and 8 - gy = 3.5, so no vertical neighbours.
    targets = torch.tensor([[0, 1, gx / 8, 4.5 / 8, 1 / 8, 1 / 8]])
    positives = assign_level(targets, torch.tensor([[1.0, 1.0]]), (8, 8))
    assert positives.col.tolist() == expected_cols
    assert positives.row.tolist() == [4] * len(expected_cols)
    torch.testing.assert_close(positives.boxes[:, 0], torch.tensor(expected_x_offsets))
    torch.testing.assert_close(positives.boxes[:, 1], torch.full((len(expected_cols),), 0.5))


def test_integer_centre_claims_both_sides_but_the_far_one_is_the_centre_again():
    # gx = gy = 4.0 on an 8x8 grid: all four neighbour tests pass (fractions 0), but the code shifts
    # right/down by -0.5 and truncates, 4.5 -> 4: those two positives repeat the centre cell.
    targets = torch.tensor([[0, 1, 0.5, 0.5, 1 / 8, 1 / 8]])
    positives = assign_level(targets, torch.tensor([[1.0, 1.0]]), (8, 8))
    # centre, left, up, right (= centre), down (= centre)
    assert list(zip(positives.row.tolist(), positives.col.tolist(), strict=True)) == [
        (4, 4),
        (4, 3),
        (3, 4),
        (4, 4),
        (4, 4),
    ]
    torch.testing.assert_close(
        positives.boxes[:, :2], torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 0.0], [0.0, 0.0]])
    )


def test_rectangular_grid_uses_width_for_x_and_height_for_y():
    targets = torch.tensor([[0, 1, 0.5 + 0.3 / 16, 0.5 + 0.7 / 4, 2 / 16, 2 / 4]])  # grid H=4, W=16
    positives = assign_level(targets, torch.tensor([[2.0, 2.0]]), (4, 16))
    # gx = 8.3 (left neighbour 7), gy = 2.7 (down neighbour 3: 4 - 2.7 = 1.3, fraction .3)
    assert list(zip(positives.row.tolist(), positives.col.tolist(), strict=True)) == [(2, 8), (2, 7), (3, 8)]


def test_edge_centre_is_clamped_into_the_grid():
    targets = torch.tensor([[0, 1, 1.0, 0.5 + 0.5 / 8, 1 / 8, 1 / 8]])  # cx = 1: gx = 8 on an 8-wide grid
    positives = assign_level(targets, torch.tensor([[1.0, 1.0]]), (8, 8))
    assert positives.col.max().item() == 7


def test_empty_targets_give_no_positives():
    positives = assign_level(torch.zeros(0, 6), torch.tensor([[1.0, 1.0]]), (8, 8))
    assert len(positives) == 0 and positives.boxes.shape == (0, 4)


def test_grid_anchors_divide_by_stride():
    pixels = (((8.0, 24.0), (11.0, 34.0), (16.0, 48.0)),) * 3
    assert grid_anchors(pixels, (8, 16, 32))[0] == ((1.0, 3.0), (1.375, 4.25), (2.0, 6.0))
    assert grid_anchors(pixels, (8, 16, 32))[2][0] == (0.25, 0.75)


# ---------------------------------------------------------------- box and objectness (§5.3, §5.4)


@pytest.mark.parametrize(
    ("pred", "target"),
    [
        ((0.5, 0.5, 1.0, 1.0), (0.5, 0.5, 2.0, 2.0)),
        ((0.3, 0.9, 1.2, 3.4), (0.6, 0.4, 2.0, 5.0)),
        ((1.4, -0.2, 0.5, 0.7), (0.1, 0.2, 3.0, 1.0)),  # disjoint: CIoU < 0
    ],
)
def test_ciou_matches_the_definition(pred, target):
    value = complete_iou_cxcywh(
        torch.tensor([pred], dtype=torch.float64), torch.tensor([target], dtype=torch.float64)
    )
    assert value.item() == pytest.approx(reference_ciou(pred, target), abs=1e-12)


def test_ciou_of_identical_boxes_is_one_not_nan():
    box = torch.tensor([[0.5, 0.5, 2.0, 2.0]])
    assert complete_iou_cxcywh(box, box).item() == pytest.approx(1.0)


def _two_target_level() -> tuple[torch.Tensor, torch.Tensor]:
    """An 8x8 level with one anchor (1, 1); target 1 at cell (2, 2) (gwh 2), target 2 at (5, 5) (gwh 1.5).

    Centres at x.5 claim no neighbours. Raw logits 0 at (2, 2) predict (0.5, 0.5, 1, 1); -3 at (5, 5)
    predict a small box near the cell corner (-0.405, -0.405, 0.009, 0.009), disjoint from its target.
    """
    targets = torch.tensor(
        [[0, 1, 2.5 / 8, 2.5 / 8, 2 / 8, 2 / 8], [0, 2, 5.5 / 8, 5.5 / 8, 1.5 / 8, 1.5 / 8]]
    )
    prediction = torch.zeros(1, 1, 8, 8, 6)
    prediction[0, 0, 5, 5, :4] = -3.0
    return targets, prediction.requires_grad_()


def test_box_loss_is_mean_of_one_minus_ciou():
    targets, prediction = _two_target_level()
    positives = assign_level(targets, torch.tensor([[1.0, 1.0]]), (8, 8))
    loss, ciou = box_loss(positive_predictions(prediction, positives), positives)
    small = (2 * (1 / (1 + math.exp(3)))) ** 2
    far = (2 / (1 + math.exp(3)) - 0.5,) * 2 + (small, small)
    expected = [
        reference_ciou((0.5, 0.5, 1.0, 1.0), (0.5, 0.5, 2.0, 2.0)),
        reference_ciou(far, (0.5, 0.5, 1.5, 1.5)),
    ]
    assert expected[0] == pytest.approx(0.25)
    torch.testing.assert_close(ciou, torch.tensor(expected), atol=1e-6, rtol=1e-5)
    assert loss.item() == pytest.approx(1 - sum(expected) / 2, abs=1e-6)
    loss.backward()
    assert prediction.grad[0, 0, 2, 2, :4].abs().sum() > 0


def test_objectness_target_is_detached_clamped_ciou():
    targets, prediction = _two_target_level()
    positives = assign_level(targets, torch.tensor([[1.0, 1.0]]), (8, 8))
    _, ciou = box_loss(positive_predictions(prediction, positives), positives)
    assert ciou[1].item() < 0
    objectness = prediction[..., 4]
    target = objectness_targets(objectness, positives, ciou)
    expected = torch.zeros(1, 1, 8, 8)
    expected[0, 0, 2, 2] = 0.25  # CIoU 0.25; the disjoint one is clamped to 0
    torch.testing.assert_close(target, expected)
    assert not target.requires_grad
    loss = objectness_loss(objectness, target)
    # BCE of logit 0 is ln 2 whatever the target.
    assert loss.item() == pytest.approx(math.log(2))
    loss.backward()
    assert prediction.grad[..., :4].abs().sum() == 0  # the box is not pulled by objectness
    grad = prediction.grad[0, 0, :, :, 4]
    assert grad[2, 2].item() == pytest.approx((0.5 - 0.25) / 64)
    assert grad[0, 0].item() == pytest.approx(0.5 / 64)


def test_objectness_iou_ratio_blends_with_one():
    targets, prediction = _two_target_level()
    positives = assign_level(targets, torch.tensor([[1.0, 1.0]]), (8, 8))
    _, ciou = box_loss(positive_predictions(prediction, positives), positives)
    target = objectness_targets(prediction[..., 4], positives, ciou, iou_ratio=0.5)
    assert target[0, 0, 2, 2].item() == pytest.approx(0.5 + 0.5 * 0.25)
    assert target[0, 0, 5, 5].item() == pytest.approx(0.5)


# ---------------------------------------------------------------- class and ID (§5.5, §5.6)


def test_class_loss_is_zero_for_one_class_and_bce_for_more():
    logits = torch.zeros(3, 1, requires_grad=True)
    assert class_loss(logits, torch.zeros(3, dtype=torch.long), 1).item() == 0.0
    logits = torch.tensor([[2.0, -1.0], [0.0, 3.0]])
    expected = (
        -math.log(1 / (1 + math.exp(-2)))
        - math.log(1 - 1 / (1 + math.exp(1)))
        - math.log(1 - 0.5)
        - math.log(1 / (1 + math.exp(-3)))
    ) / 4
    assert class_loss(logits, torch.tensor([0, 1]), 2).item() == pytest.approx(expected, rel=1e-6)


def test_embedding_scale():
    assert embedding_scale(3) == pytest.approx(math.sqrt(2) * math.log(2))
    assert embedding_scale(8701) == pytest.approx(12.83, abs=0.01)  # spec: about 12.8 for 8.7 K


def test_target_embeddings_use_the_floor_cell_of_every_target():
    embeddings = torch.zeros(2, 76, 136, 2)
    rows, cols = torch.meshgrid(torch.arange(76.0), torch.arange(136.0), indexing="ij")
    embeddings[..., 0], embeddings[..., 1] = rows, cols
    embeddings[1] += 1000
    targets = torch.tensor(
        [[0, 5, 0.3012, 0.4123, 0.05, 0.2], [0, 7, 0.7, 0.2, 0.01, 0.03], [1, 0, 1.0, 1.0, 0.1, 0.1]]
    )
    got = target_embeddings(embeddings, targets)
    # A -> (31, 40), B -> (15, 95) (spec §5.2); a centre on the far corner is clamped to (75, 135).
    torch.testing.assert_close(got, torch.tensor([[31.0, 40.0], [15.0, 95.0], [1075.0, 1135.0]]))


def _identity_classifier() -> torch.nn.Linear:
    classifier = torch.nn.Linear(2, 3, bias=False)
    with torch.no_grad():
        classifier.weight.copy_(torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))
    return classifier


def test_id_loss_is_cross_entropy_on_scaled_normalised_embeddings():
    scale = math.sqrt(2) * math.log(2)  # nID = 3: "none" plus identities 1 and 2
    embeddings = torch.tensor([[3.0, 4.0], [0.0, 2.0], [5.0, 5.0]], requires_grad=True)
    identities = torch.tensor([1, 2, 0])  # the third has no identity and is ignored
    loss = id_loss(embeddings, identities, _identity_classifier(), scale)

    def cross_entropy(logits, label):
        return math.log(sum(math.exp(z) for z in logits)) - logits[label]

    first = cross_entropy([0.0, scale * 0.6, scale * 0.8], 1)  # (3, 4) / 5
    second = cross_entropy([0.0, 0.0, scale], 2)
    assert loss.item() == pytest.approx((first + second) / 2, rel=1e-6)
    loss.backward()
    assert embeddings.grad[:2].abs().sum() > 0 and embeddings.grad[2].abs().sum() == 0


def test_id_loss_without_identities_is_zero_not_nan():
    loss = id_loss(torch.ones(2, 2), torch.tensor([0, 0]), _identity_classifier(), 1.0)
    assert loss.item() == 0.0


# ---------------------------------------------------------------- criterion (§5.7)


def _tiny_config(**overrides) -> CSTrackLossConfig:
    """One anchor per level; only P3's (1, 1) can match the targets below (P4/P5 anchors are huge)."""
    anchors = (((1.0, 1.0),), ((100.0, 100.0),), ((100.0, 100.0),))
    return CSTrackLossConfig(num_identities=3, anchors=anchors, embedding_dim=2, **overrides)


def _tiny_batch() -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
    """Two images, one target each at P3 cell (4, 4) (gx = gy = 4.5, gwh 2: IoU with (1, 1) is 1/4)."""
    predictions = [torch.zeros(2, 1, 8, 8, 6), torch.zeros(2, 1, 4, 4, 6), torch.zeros(2, 1, 2, 2, 6)]
    embeddings = torch.zeros(2, 8, 8, 2)
    embeddings[0, 4, 4] = torch.tensor([2.0, 0.0])
    embeddings[1, 4, 4] = torch.tensor([0.0, 0.5])
    targets = torch.tensor([[0, 1, 4.5 / 8, 4.5 / 8, 2 / 8, 2 / 8], [1, 2, 4.5 / 8, 4.5 / 8, 2 / 8, 2 / 8]])
    return predictions, embeddings, targets


def test_total_is_batch_size_times_weighted_sum():
    predictions, embeddings, targets = _tiny_batch()
    criterion = CSTrackLoss(_tiny_config())
    with torch.no_grad():
        criterion.id_classifier.weight.copy_(torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))
    total, terms = criterion(predictions, embeddings, targets)
    scale = math.sqrt(2) * math.log(2)
    ce = math.log(math.exp(scale) + 2) - scale  # both targets: logits (0, s, 0) / (0, 0, s), right one
    box = 0.05 * (1 - 0.25)  # zero logits predict (0.5, 0.5, 1, 1) against (0.5, 0.5, 2, 2)
    obj = (4.0 + 1.0 + 0.4) * math.log(2)  # logit 0 everywhere: BCE ln 2 whatever the target
    assert terms["box"].item() == pytest.approx(box, rel=1e-6)
    assert terms["obj"].item() == pytest.approx(obj, rel=1e-6)
    assert terms["cls"].item() == 0.0
    assert terms["id"].item() == pytest.approx(ce, rel=1e-6)
    assert total.item() == pytest.approx(2 * (box + obj + 0.02 * ce), rel=1e-6)
    assert terms["total"].item() == pytest.approx(total.item())


def test_id_loss_needs_two_targets_and_a_p3_positive():
    predictions, embeddings, targets = _tiny_batch()
    criterion = CSTrackLoss(_tiny_config())
    _, terms = criterion(predictions, embeddings, targets[:1])
    assert terms["id"].item() == 0.0
    # Targets too large for the P3 anchor (ratio 8): no P3 positive, so no ID loss either.
    big = targets.clone()
    big[:, 4:6] = 1.0
    _, terms = criterion(predictions, embeddings, big)
    assert terms["id"].item() == 0.0 and terms["box"].item() == 0.0


def test_gradients_flow_and_the_class_logit_gets_none():
    torch.manual_seed(0)
    config = CSTrackLossConfig(num_identities=10, embedding_dim=8)
    predictions = [torch.randn(2, 3, h, w, 6, requires_grad=True) for h, w in [(16, 24), (8, 12), (4, 6)]]
    embeddings = torch.randn(2, 16, 24, 8, requires_grad=True)
    targets = torch.tensor(
        [
            [0, 1, 0.3, 0.4, 0.05, 0.2],
            [0, 3, 0.7, 0.5, 0.1, 0.3],
            [1, 9, 0.5, 0.5, 0.2, 0.6],
            [1, 0, 0.2, 0.8, 0.1, 0.2],
        ]
    )
    criterion = CSTrackLoss(config)
    total, terms = criterion(predictions, embeddings, targets)
    total.backward()
    assert torch.isfinite(total)
    assert all(terms[name].item() > 0 for name in ("box", "obj", "id"))
    for prediction in predictions:
        assert prediction.grad[..., :5].abs().sum() > 0
        assert prediction.grad[..., 5].abs().sum() == 0  # nc = 1: class logit untrained (§1.4)
    assert embeddings.grad.abs().sum() > 0 and criterion.id_classifier.weight.grad.abs().sum() > 0


def test_empty_targets_give_a_finite_loss_with_gradient():
    predictions, embeddings, _ = _tiny_batch()
    predictions = [p.requires_grad_() for p in predictions]
    total, terms = CSTrackLoss(_tiny_config())(predictions, embeddings, torch.zeros(0, 6))
    total.backward()
    assert torch.isfinite(total) and terms["box"].item() == 0.0 and terms["id"].item() == 0.0
    assert total.item() == pytest.approx(2 * 5.4 * math.log(2), rel=1e-6)
    assert predictions[0].grad[..., 4].abs().sum() > 0


def test_class_term_with_several_classes_reads_column_six():
    predictions, embeddings, targets = _tiny_batch()
    predictions = [torch.cat((p, torch.zeros_like(p[..., :1])), dim=-1) for p in predictions]  # nc = 2
    targets = torch.cat((targets, torch.tensor([[0.0], [1.0]])), dim=1)
    _, terms = CSTrackLoss(_tiny_config(num_classes=2))(predictions, embeddings, targets)
    assert terms["cls"].item() == pytest.approx(0.5 * math.log(2), rel=1e-6)


def test_config_validation():
    with pytest.raises(ValueError, match="num_identities"):
        CSTrackLossConfig(num_identities=2)
    with pytest.raises(ValueError, match="balance"):
        CSTrackLossConfig(num_identities=5, level_balance=(4.0, 1.0))
