"""Edge cases of CSTrack's loss (spec ``cstrack.md`` §1.4, §5) that ``test_cstrack_loss.py`` leaves open:
the official anchors and defaults as constants, the strict ``g > 1`` of the neighbour-cell rule (both
sides), the clamping of a centre on the bottom edge, `assign_level`'s default anchor ratio and the class
column of a multi-class target, the total with a class term and what the criterion saves.

Expected values are the spec's numbers or hand calculations written here, never outputs of the code
under test.
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
)

ONE_ANCHOR = torch.tensor([[1.0, 1.0]])


def test_official_grid_anchors_are_the_specs_pixel_anchors_over_their_stride():
    """§1.4: ``anchors`` in grid units are P3 (1,3),(1.375,4.25),(2,6); P4 (2,6),(2.8125,8.4375),(4,12);
    P5 (4,12),(5.625,16.875),(8,20) = the cheat sheet's pixel anchors (§0) over strides 8, 16, 32."""
    pixels = (
        ((8, 24), (11, 34), (16, 48)),
        ((32, 96), (45, 135), (64, 192)),
        ((128, 384), (180, 540), (256, 640)),
    )
    by_hand = tuple(
        tuple((w / s, h / s) for w, h in level) for level, s in zip(pixels, (8, 16, 32), strict=True)
    )
    assert by_hand[0] == ((1.0, 3.0), (1.375, 4.25), (2.0, 6.0))
    assert by_hand[2] == ((4.0, 12.0), (5.625, 16.875), (8.0, 20.0))
    assert OFFICIAL_GRID_ANCHORS == by_hand


def test_default_config_is_the_official_loss():
    """§5.3-5.7: beta 0.05, objectness weight 1.0 with balance 4.0/1.0/0.4, eta 0.02, anchor ratio < 4.0,
    objectness target = CIoU (gr 1.0); §5.6: the bias-free classifier is Linear(512 -> nID)."""
    config = CSTrackLossConfig(num_identities=5)
    assert (config.box_weight, config.objectness_weight, config.id_weight) == (0.05, 1.0, 0.02)
    assert config.level_balance == (4.0, 1.0, 0.4)
    assert (config.anchor_ratio_threshold, config.objectness_iou_ratio, config.num_classes) == (4.0, 1.0, 1)
    assert config.embedding_dim == 512
    classifier = CSTrackLoss(config).id_classifier
    assert classifier.weight.shape == (5, 512) and classifier.bias is None


def test_assign_level_defaults_to_the_anchor_ratio_bound_4():
    """§5.2 step 2: a target 5 cells wide on a 1x1 anchor (ratio 5 >= 4) gets no positive by default;
    3.9 cells wide (ratio 3.9 < 4) does."""
    wide = torch.tensor([[0, 1, 4.5 / 8, 4.5 / 8, 5 / 8, 1 / 8]])
    assert len(assign_level(wide, ONE_ANCHOR, (8, 8))) == 0
    narrower = torch.tensor([[0, 1, 4.5 / 8, 4.5 / 8, 3.9 / 8, 1 / 8]])
    assert len(assign_level(narrower, ONE_ANCHOR, (8, 8))) == 1


@pytest.mark.parametrize("axis", [0, 1])
def test_a_centre_exactly_on_grid_line_one_claims_no_low_neighbour(axis):
    """§5.2 step 3: left (up) only if frac(g) < 0.5 **and g > 1**. At g = 1.0 exactly (fraction 0) the
    low neighbour is refused; the high test passes (8 - 1 = 7 > 1, fraction 0) but truncating 1 + 0.5
    gives the centre cell 1 again. So the positives are (centre, high) = cell 1 twice, offsets 0."""
    centre = [4.5 / 8, 4.5 / 8]  # x.5 on the other axis: no neighbours there
    centre[axis] = 1.0 / 8  # g = 1.0 on an 8-cell axis
    targets = torch.tensor([[0, 1, *centre, 1 / 8, 1 / 8]])
    positives = assign_level(targets, ONE_ANCHOR, (8, 8))
    on_axis = positives.col if axis == 0 else positives.row
    off_axis = positives.row if axis == 0 else positives.col
    assert on_axis.tolist() == [1, 1]  # a left/up neighbour would add cell 0
    assert off_axis.tolist() == [4, 4]
    torch.testing.assert_close(positives.boxes[:, axis], torch.zeros(2))


@pytest.mark.parametrize("axis", [0, 1])
def test_a_centre_exactly_one_cell_from_the_far_edge_claims_no_high_neighbour(axis):
    """§5.2 step 3: right (down) only if frac(W - g) < 0.5 **and W - g > 1**. At g = 7.0 on an 8-cell
    axis W - g = 1 exactly: refused. The low test passes (fraction 0, g > 1): cell trunc(6.5) = 6 with
    offset 1.0. Positives: (centre 7, low 6); a high neighbour would repeat cell 7."""
    centre = [4.5 / 8, 4.5 / 8]
    centre[axis] = 7.0 / 8
    targets = torch.tensor([[0, 1, *centre, 1 / 8, 1 / 8]])
    positives = assign_level(targets, ONE_ANCHOR, (8, 8))
    on_axis = positives.col if axis == 0 else positives.row
    assert on_axis.tolist() == [7, 6]
    torch.testing.assert_close(positives.boxes[:, axis], torch.tensor([0.0, 1.0]))


def test_a_centre_on_the_bottom_edge_is_clamped_to_the_last_row():
    """cy = 1 gives gy = H = 8: centre cell row 8 is clamped to 7 (like ``cx = 1`` to the last column);
    the up neighbour (fraction 0, gy > 1) is row trunc(7.5) = 7 too; no down neighbour (H - gy = 0)."""
    targets = torch.tensor([[0, 1, 4.5 / 8, 1.0, 1 / 8, 1 / 8]])
    positives = assign_level(targets, ONE_ANCHOR, (8, 8))
    assert positives.row.tolist() == [7, 7]
    assert positives.col.tolist() == [4, 4]
    torch.testing.assert_close(positives.boxes[:, 1], torch.tensor([1.0, 1.0]))  # 8 - 7


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def test_the_class_term_reads_each_targets_own_class_from_column_six():
    """§5.1/§5.5 with nc = 2: column 1 is the identity, column 6 the class. Both targets sit alone at P3
    cell (4, 4) (gx = gy = 4.5, no neighbours) of their image, class logits (2, -1) at both; classes 1 and
    0. BCE(x, y) = softplus(x) - x y per entry, mean over 2 x 2 entries, times class_weight 0.5:
    class 1 gives softplus(2) + softplus(1), class 0 gives softplus(-2) + softplus(-1)."""
    anchors = (((1.0, 1.0),), ((100.0, 100.0),), ((100.0, 100.0),))
    config = CSTrackLossConfig(num_identities=3, anchors=anchors, embedding_dim=2, num_classes=2)
    predictions = [torch.zeros(2, 1, 8, 8, 7), torch.zeros(2, 1, 4, 4, 7), torch.zeros(2, 1, 2, 2, 7)]
    predictions[0][:, 0, 4, 4, 5:] = torch.tensor([2.0, -1.0])
    targets = torch.tensor(
        [[0, 1, 4.5 / 8, 4.5 / 8, 2 / 8, 2 / 8, 1], [1, 2, 4.5 / 8, 4.5 / 8, 2 / 8, 2 / 8, 0]]
    )
    total, terms = CSTrackLoss(config)(predictions, torch.zeros(2, 8, 8, 2), targets)
    cls = 0.5 * (softplus(2) + softplus(1) + softplus(-2) + softplus(-1)) / 4
    assert terms["cls"].item() == pytest.approx(cls, rel=1e-6)
    # §5.7 with the class term: B (box + obj + cls + 0.02 id), B = 2. Zero box logits predict (0.5, 0.5,
    # 1, 1) against (0.5, 0.5, 2, 2): CIoU 1/4. Objectness logits 0: BCE ln 2 on every entry. Zero
    # embeddings normalise to 0: logits 0 over nID = 3, cross-entropy ln 3.
    box, obj, identity = 0.05 * (1 - 0.25), (4.0 + 1.0 + 0.4) * math.log(2), math.log(3)
    assert terms["id"].item() == pytest.approx(identity, rel=1e-6)
    assert total.item() == pytest.approx(2 * (box + obj + cls + 0.02 * identity), rel=1e-6)


def test_the_criterion_saves_only_its_identity_classifier():
    """§5.6: the classifier is the loss module's only trained state; the anchors come from the config
    (a non-persistent buffer), so a resumed criterion takes them from its config, not a checkpoint."""
    criterion = CSTrackLoss(CSTrackLossConfig(num_identities=5, embedding_dim=4))
    assert list(criterion.state_dict()) == ["id_classifier.weight"]
