"""Audit of CSTrack training (spec ``cstrack.md`` §5-6) against literal restatements of the original.

The restatements below are written from the spec in the original's own tensor operations: YOLOv5 v3's
``build_targets`` (anchor-ratio match, the ``gxy % 1 < 0.5`` / ``gxi`` neighbour rule, ``t.repeat((5, 1,
1))[j]`` ordering), its ``compute_loss`` with ``bbox_iou(..., CIoU=True)`` and the JDE ID loss on the
stride-8 map (§5.7: ``bs * (0.05 box + balanced obj + 0.02 id)``), YOLOv5's warm-up loop
(``np.interp`` of lr, momentum and ``accumulate``, §6.6) and its per-image pipeline (stretch, clip,
identity ``random_perspective`` with ``box_candidates``, LUT HSV, flip, §6.4). discmot's code must give
the same numbers; the documented differences (docs/training.md, "Differences from the original code")
are asserted as such.
"""

from __future__ import annotations

import copy
import math

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from discmot.data.jde_transforms import JDETransformConfig, transform_sample
from discmot.models.cstrack.loss import OFFICIAL_GRID_ANCHORS, CSTrackLoss, CSTrackLossConfig, assign_targets
from discmot.models.cstrack.recipe import load_recipe
from discmot.models.cstrack.training import cstrack_schedule

# ---------------------------------------------------------------- the original's loss (§5)


def original_bbox_iou(box1, box2):
    """YOLOv5 ``bbox_iou(box1, box2, x1y1x2y2=False, CIoU=True)``: box1 ``[4, n]``, box2 ``[n, 4]``."""
    box2 = box2.T
    b1_x1, b1_x2 = box1[0] - box1[2] / 2, box1[0] + box1[2] / 2
    b1_y1, b1_y2 = box1[1] - box1[3] / 2, box1[1] + box1[3] / 2
    b2_x1, b2_x2 = box2[0] - box2[2] / 2, box2[0] + box2[2] / 2
    b2_y1, b2_y2 = box2[1] - box2[3] / 2, box2[1] + box2[3] / 2
    inter = (torch.min(b1_x2, b2_x2) - torch.max(b1_x1, b2_x1)).clamp(0) * (
        torch.min(b1_y2, b2_y2) - torch.max(b1_y1, b2_y1)
    ).clamp(0)
    w1, h1 = b1_x2 - b1_x1, b1_y2 - b1_y1
    w2, h2 = b2_x2 - b2_x1, b2_y2 - b2_y1
    union = (w1 * h1 + 1e-16) + w2 * h2 - inter
    iou = inter / union
    cw = torch.max(b1_x2, b2_x2) - torch.min(b1_x1, b2_x1)
    ch = torch.max(b1_y2, b2_y2) - torch.min(b1_y1, b2_y1)
    c2 = cw**2 + ch**2 + 1e-16
    rho2 = ((b2_x1 + b2_x2) - (b1_x1 + b1_x2)) ** 2 / 4 + ((b2_y1 + b2_y2) - (b1_y1 + b1_y2)) ** 2 / 4
    v = (4 / math.pi**2) * torch.pow(torch.atan(w2 / h2) - torch.atan(w1 / h1), 2)
    with torch.no_grad():
        alpha = v / (1 - iou + v)
    return iou - (rho2 / c2 + v * alpha)


def original_build_targets(p, targets, anchors_all, anchor_t=4.0):
    """YOLOv5 v3 ``build_targets``: per level ``(b, a, gj, gi)``, target boxes and anchors."""
    na, nt = 3, targets.shape[0]
    tbox, indices, anch = [], [], []
    gain = torch.ones(7)
    ai = torch.arange(na).float().view(na, 1).repeat(1, nt)
    targets = torch.cat((targets.repeat(na, 1, 1), ai[:, :, None]), 2)
    g = 0.5
    off = torch.tensor([[0, 0], [1, 0], [0, 1], [-1, 0], [0, -1]]).float() * g
    for i in range(len(p)):
        anchors = anchors_all[i]
        gain[2:6] = torch.tensor(p[i].shape)[[3, 2, 3, 2]]
        t = targets * gain
        if nt:
            r = t[:, :, 4:6] / anchors[:, None]
            j = torch.max(r, 1.0 / r).max(2)[0] < anchor_t
            t = t[j]
            gxy = t[:, 2:4]
            gxi = gain[[2, 3]] - gxy
            j, k = ((gxy % 1.0 < g) & (gxy > 1.0)).T
            l, m = ((gxi % 1.0 < g) & (gxi > 1.0)).T
            j = torch.stack((torch.ones_like(j), j, k, l, m))
            t = t.repeat((5, 1, 1))[j]
            offsets = (torch.zeros_like(gxy)[None] + off[:, None])[j]
        else:
            t = targets[0]
            offsets = 0
        b = t[:, 0].long()
        gxy, gwh = t[:, 2:4], t[:, 4:6]
        gij = (gxy - offsets).long()
        gi, gj = gij.T
        a = t[:, 6].long()
        indices.append((b, a, gj, gi))
        tbox.append(torch.cat((gxy - gij, gwh), 1))
        anch.append(anchors[a])
    return tbox, indices, anch


def original_compute_loss(p, emb, targets, anchors_all, classifier, num_ids):
    """The original ``JDELoss`` (spec §5): returns ``(loss * bs, (lbox, lobj, lid))``."""
    lbox, lobj, lid = torch.zeros(1), torch.zeros(1), torch.zeros(1)
    tbox, indices, anchors = original_build_targets(p, targets, anchors_all)
    bce_obj = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([1.0]))
    balance = [4.0, 1.0, 0.4]
    emb_scale = math.sqrt(2) * math.log(num_ids - 1)
    for i, pi in enumerate(p):
        b, a, gj, gi = indices[i]
        tobj = torch.zeros_like(pi[..., 0])
        if b.shape[0]:
            ps = pi[b, a, gj, gi]
            pxy = ps[:, :2].sigmoid() * 2.0 - 0.5
            pwh = (ps[:, 2:4].sigmoid() * 2) ** 2 * anchors[i]
            ciou = original_bbox_iou(torch.cat((pxy, pwh), 1).T, tbox[i])
            lbox += (1.0 - ciou).mean()
            tobj[b, a, gj, gi] = (1.0 - 1.0) + 1.0 * ciou.detach().clamp(0).type(tobj.dtype)
            if i == 0 and targets.shape[0] > 1:
                height, width = emb.shape[1:3]
                cell = (targets[:, 2:4] * torch.tensor([width, height]).float()).long()
                e = emb_scale * F.normalize(emb[targets[:, 0].long(), cell[:, 1], cell[:, 0]])
                lid += F.cross_entropy(classifier(e), targets[:, 1].long(), ignore_index=0)
        lobj += bce_obj(pi[..., 4], tobj) * balance[i]
    lbox *= 0.05
    return (lbox + lobj + 0.02 * lid) * tobj.shape[0], (lbox, lobj, lid)


GRIDS = [(16, 24), (8, 12), (4, 6)]  # a 128x192 input: small grids make shared cells likely
NUM_IDS = 20
ANCHORS = torch.tensor(OFFICIAL_GRID_ANCHORS) * 0.5  # sized for the small grids


def random_batch(seed: int, batch: int = 2):
    """Raw level outputs, a stride-8 embedding map and targets (with a duplicated box and ID-less rows)."""
    g = torch.Generator().manual_seed(seed)
    preds = [torch.randn(batch, 3, h, w, 6, generator=g) * 2 for h, w in GRIDS]
    emb = torch.randn(batch, GRIDS[0][0], GRIDS[0][1], 16, generator=g)
    n = 10
    targets = torch.zeros(n, 6)
    targets[:, 0] = torch.randint(0, batch, (n,), generator=g)
    targets[:, 1] = torch.randint(0, NUM_IDS, (n,), generator=g)
    targets[:, 2:4] = torch.rand(n, 2, generator=g) * 0.98 + 0.01
    targets[:, 4:6] = torch.rand(n, 2, generator=g) * 0.5 + 0.01
    targets[1, 2:] = targets[0, 2:]  # two identities on one box: every positive written twice
    targets[3, 2:4] = targets[2, 2:4]  # same centre, other size: one objectness entry, two values
    return preds, emb, targets


def criterion() -> CSTrackLoss:
    anchors = tuple(tuple(tuple(a) for a in level) for level in ANCHORS.tolist())
    return CSTrackLoss(CSTrackLossConfig(num_identities=NUM_IDS, anchors=anchors, embedding_dim=16))


@pytest.mark.parametrize("seed", range(6))
def test_positives_equal_the_original_build_targets_in_order(seed):
    preds, _, targets = random_batch(seed)
    tbox, indices, anchors = original_build_targets(preds, targets, ANCHORS)
    ours = assign_targets(targets, GRIDS, ANCHORS)
    for level, (b, a, gj, gi) in enumerate(indices):
        positives = ours[level]
        # the order matters: it decides which value survives where positives share an objectness entry
        for got, expected in zip(
            (positives.image, positives.anchor, positives.row, positives.col), (b, a, gj, gi), strict=True
        ):
            assert torch.equal(got, expected)
        assert torch.equal(positives.boxes, tbox[level])
        assert torch.equal(positives.anchor_wh, anchors[level])


@pytest.mark.parametrize("seed", range(6))
def test_loss_terms_and_gradients_equal_the_original(seed):
    preds, emb, targets = random_batch(seed)
    ours = criterion()
    p1 = [p.clone().requires_grad_() for p in preds]
    e1 = emb.clone().requires_grad_()
    p2 = [p.clone().requires_grad_() for p in preds]
    e2 = emb.clone().requires_grad_()
    total, terms = ours(p1, e1, targets)
    expected, (lbox, lobj, lid) = original_compute_loss(p2, e2, targets, ANCHORS, ours.id_classifier, NUM_IDS)
    total.backward()
    expected.backward()
    assert float(terms["box"]) == pytest.approx(float(lbox.detach()), rel=1e-6)
    assert float(terms["obj"]) == pytest.approx(float(lobj.detach()), rel=1e-6)
    assert float(terms["id"]) == pytest.approx(float(lid.detach()), rel=1e-6)
    assert float(total.detach()) == pytest.approx(float(expected.detach()), rel=1e-6)
    for got, want in zip([*p1, e1], [*p2, e2], strict=True):
        torch.testing.assert_close(got.grad, want.grad, rtol=1e-5, atol=1e-7)
    assert ours.id_classifier.weight.grad is not None


def test_a_batch_without_a_p3_positive_has_no_id_loss_like_the_original():
    # One target far larger than every P3 anchor (ratio > 4): positives on P4/P5 only.
    preds, emb, _ = random_batch(0)
    targets = torch.tensor([[0, 3, 0.5, 0.5, 0.9, 0.9], [1, 4, 0.4, 0.6, 0.9, 0.95]])
    total, terms = criterion()(preds, emb, targets)
    expected, (_, _, lid) = original_compute_loss(preds, emb, targets, ANCHORS, criterion().id_classifier, 20)
    assert float(lid) == 0.0 and float(terms["id"]) == 0.0
    assert float(total) == pytest.approx(float(expected), rel=1e-6)


# ---------------------------------------------------------------- the original's schedule (§6.6)


def original_schedule(nb: int, epochs: int, batch: int, nbs: int = 64, lr0: float = 0.005):
    """YOLOv5 v2's training loop, lr/momentum/accumulate only: per iteration (lrs, momenta, steps?)."""
    lf = lambda x: ((1 + math.cos(x * math.pi / epochs)) / 2) * 0.9 + 0.1  # noqa: E731
    nw = max(3 * nb, 1e3)
    accumulate = max(round(nbs / batch), 1)
    groups = [{"initial_lr": lr0, "lr": lr0, "momentum": 0.95} for _ in range(4)]
    out = []
    for epoch in range(epochs):
        for i in range(nb):
            ni = i + nb * epoch
            if ni <= nw:
                xi = [0, nw]
                accumulate = max(1, np.interp(ni, xi, [1, nbs / batch]).round())
                for j, x in enumerate(groups):
                    x["lr"] = np.interp(ni, xi, [0.1 if j == 2 else 0.0, x["initial_lr"] * lf(epoch)])
                    x["momentum"] = np.interp(ni, xi, [0.9, 0.95])
            else:
                for x in groups:
                    x["lr"] = lr0 if ni <= 20 * nb else lr0 * 0.1
            out.append(([x["lr"] for x in groups], [x["momentum"] for x in groups], ni % accumulate == 0))
    return out


def discmot_schedule(nb: int, epochs: int, batch: int):
    """`CSTrackSchedule` as `cstrack_setup` builds it for the paper's recipe at batch ``batch`` in one
    process (its accumulation ``round(64 / batch)``, the warm-up's ramp ending at ``64 / batch``)."""
    recipe = load_recipe("cstrack_mot17", [f"train.batch_size={batch}", f"train.epochs={epochs}"])
    train = recipe.train_for(1)
    schedule = cstrack_schedule(None, train, recipe.optim, recipe.warmup_accumulate_end(1))
    names = ("no_decay", "decay", "bias", "loss")  # cstrack_param_groups' order: the bias group is j == 2
    optimizer = torch.optim.SGD(
        [{"params": [nn.Parameter(torch.zeros(1))], "name": n} for n in names],
        lr=0.005,
        momentum=0.95,
        nesterov=True,
    )
    out = []
    for epoch in range(epochs):
        for i in range(nb):
            schedule.before_iteration(optimizer, epoch, i, nb)
            groups = optimizer.param_groups
            update = schedule.is_update_step(epoch, i, nb, 0)
            out.append(([g["lr"] for g in groups], [g["momentum"] for g in groups], update))
    return out


@pytest.mark.parametrize("nb", [50, 400])  # warm-up of 1000 iterations / of 3 epochs
def test_schedule_equals_the_yolov5_loop_for_the_paper_batch(nb):
    expected, got = original_schedule(nb, 30, 8), discmot_schedule(nb, 30, 8)
    assert [g[0] for g in got] == [e[0] for e in expected]  # bit for bit (numpy.interp itself)
    assert [g[1] for g in got] == [e[1] for e in expected]
    differ = [k for k, (g, e) in enumerate(zip(got, expected, strict=True)) if g[2] != e[2]]
    # Documented: discmot also steps at the last iteration of an epoch; nowhere else do they differ.
    assert differ and all((k + 1) % nb == 0 and got[k][2] for k in differ)


def test_warmup_accumulation_for_a_batch_that_does_not_divide_the_nominal_one():
    """YOLOv5 ramps the accumulation 1 -> 64 / 12 = 5.33, rounding each value; discmot ramped to the
    rounded 5 and stepped the optimizer at other warm-up iterations (62 of them in this run)."""
    nb = 120
    expected, got = original_schedule(nb, 4, 12), discmot_schedule(nb, 4, 12)
    differ = [k for k, (g, e) in enumerate(zip(got, expected, strict=True)) if g[2] != e[2]]
    assert all((k + 1) % nb == 0 for k in differ)


# ---------------------------------------------------------------- the original's pipeline (§6.4)


def original_box_candidates(box1, box2, wh_thr=2, ar_thr=20, area_thr=0.2):
    w1, h1 = box1[2] - box1[0], box1[3] - box1[1]
    w2, h2 = box2[2] - box2[0], box2[3] - box2[1]
    ar = np.maximum(w2 / (h2 + 1e-16), h2 / (w2 + 1e-16))
    return (w2 > wh_thr) & (h2 > wh_thr) & (w2 * h2 / (w1 * h1 + 1e-16) > area_thr) & (ar < ar_thr)


def original_pipeline(bgr, x, gains, flip, width, height):
    """§6.4 on a BGR image and float64 labels with given HSV gains and flip: (RGB image, (n, 6) rows)."""
    img = cv2.resize(bgr, (width, height), interpolation=cv2.INTER_LINEAR)
    labels = x.copy()
    labels[:, 2] = width * (x[:, 2] - x[:, 4] / 2)
    labels[:, 3] = height * (x[:, 3] - x[:, 5] / 2)
    labels[:, 4] = width * (x[:, 2] + x[:, 4] / 2)
    labels[:, 5] = height * (x[:, 3] + x[:, 5] / 2)
    labels[:, [2, 4]] = labels[:, [2, 4]].clip(1, width - 1)
    labels[:, [3, 5]] = labels[:, [3, 5]].clip(1, height - 1)
    xy = labels[:, 2:6].copy()  # random_perspective with M = I: clip to the image, filter
    xy[:, [0, 2]] = xy[:, [0, 2]].clip(0, width)
    xy[:, [1, 3]] = xy[:, [1, 3]].clip(0, height)
    keep = original_box_candidates(labels[:, 2:6].T * 1.0, xy.T)
    labels = labels[keep]
    labels[:, 2:6] = xy[keep]
    hue, sat, val = cv2.split(cv2.cvtColor(img, cv2.COLOR_BGR2HSV))
    lut = np.arange(0, 256, dtype=np.int16)
    lut_hue = ((lut * gains[0]) % 180).astype(np.uint8)
    lut_sat = np.clip(lut * gains[1], 0, 255).astype(np.uint8)
    lut_val = np.clip(lut * gains[2], 0, 255).astype(np.uint8)
    hsv = cv2.merge((cv2.LUT(hue, lut_hue), cv2.LUT(sat, lut_sat), cv2.LUT(val, lut_val)))
    cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR, dst=img)
    b = labels[:, 2:6].copy()
    labels[:, 2], labels[:, 3] = (b[:, 0] + b[:, 2]) / 2 / width, (b[:, 1] + b[:, 3]) / 2 / height
    labels[:, 4], labels[:, 5] = (b[:, 2] - b[:, 0]) / width, (b[:, 3] - b[:, 1]) / height
    if flip:
        img = np.fliplr(img)
        labels[:, 2] = 1 - labels[:, 2]
    out = np.zeros((len(labels), 6), np.float32)
    out[:, 1:] = labels[:, 1:]
    return np.ascontiguousarray(img[:, :, ::-1]), out


@pytest.mark.parametrize("seed", range(4))
def test_training_pipeline_equals_the_original_chain(seed):
    config = JDETransformConfig(size=(320, 192))
    source = np.random.default_rng(100 + seed)
    h0, w0 = [(270, 480), (120, 160), (150, 200), (180, 320)][seed]
    rgb = source.integers(0, 256, (h0, w0, 3), dtype=np.uint8)
    n = 30
    labels = np.zeros((n, 6))
    labels[:, 1] = source.integers(-1, 50, n)
    labels[:, 2:4] = source.uniform(-0.05, 1.05, (n, 2))
    labels[:, 4] = source.uniform(0.0005, 0.3, n)  # some thinner than 2 px: filtered out
    labels[:, 5] = source.uniform(0.001, 0.5, n)
    rng = np.random.default_rng(seed)
    twin = copy.deepcopy(rng)  # replays discmot's draws: 8 warp values, 3 HSV gains, the flip
    twin.uniform(0, 0, 8)
    gains = twin.uniform(-1, 1, 3) * np.array(config.hsv_gains) + 1
    flip = twin.random() < 0.5

    image, out = transform_sample(rgb, labels, rng, config)
    expected_image, expected = original_pipeline(rgb[:, :, ::-1].copy(), labels, gains, flip, 320, 192)

    assert np.array_equal(image, expected_image)
    out[:, 0] = 0
    assert out.shape == expected.shape
    assert np.array_equal(out[:, [0, 1, 3, 4, 5]], expected[:, [0, 1, 3, 4, 5]])
    # discmot flips cx on the float32 labels, this restatement on float64 ones (the original's label
    # dtype is not in the spec): equal unflipped, within 2 float32 steps at 1 (1.2e-7) flipped.
    if flip:
        np.testing.assert_allclose(out[:, 2], expected[:, 2], rtol=0, atol=2 * 2.0**-24)
    else:
        assert np.array_equal(out[:, 2], expected[:, 2])
