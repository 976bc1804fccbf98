"""Audit of CSTrack's per-frame detection (spec ``cstrack.md`` §1.3, §1.4, §7.1, §7.2) against a literal
restatement of the original chain, written from the spec in the original's own tensor operations:
YOLOv5 v2.0 ``Detect`` decoding, ``x[:, 5:] *= x[:, 4:5]`` scoring, Cluster-DIoU-NMS as a matrix iteration
(``triu_``, ``A.equal(B)``, ``maxA <= thr``), the embedding read at ``(x1 + x2) / 16`` before the boxes go
back to the frame, JDE's ``scale_coords`` (without clipping, §1.3) and ``tlbr_to_tlwh`` in float32.

discmot's `detect_frame` must give the same boxes (bit for bit), scores and embeddings.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from discmot.models.cstrack.config import preset
from discmot.trackers.cstrack import detect_frame


def original_decode(raw, anchors_px, stride):
    """YOLOv5 v2.0 ``Detect.forward`` in eval mode for one level ``[1, A, H, W, 6]`` (k == 10)."""
    _, num_anchors, height, width, outputs = raw.shape
    rows, cols = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    grid = torch.stack((cols, rows), 2).view(1, 1, height, width, 2).float()
    y = raw.sigmoid()
    y[..., 0:2] = (y[..., 0:2] * 2.0 - 0.5 + grid) * stride
    y[..., 2:4] = (y[..., 2:4] * 2) ** 2 * anchors_px.view(1, num_anchors, 1, 1, 2)
    return y.view(1, -1, outputs)


def original_diou(boxes, exponent=0.7, eps=1e-7):
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    inter = (torch.min(boxes[:, None, 2:], boxes[:, 2:]) - torch.max(boxes[:, None, :2], boxes[:, :2])).clamp(
        0
    )
    inter = inter[..., 0] * inter[..., 1]
    iou = inter / (area[:, None] + area - inter)
    hull = torch.max(boxes[:, None, 2:], boxes[:, 2:]) - torch.min(boxes[:, None, :2], boxes[:, :2])
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    rho2 = ((centres[:, None, :] - centres[None, :, :]) ** 2).sum(2)
    return iou - (rho2 / ((hull**2).sum(2) + eps)) ** exponent


def original_detections(raw, embedding_map, config, input_hw, frame_hw, conf=0.5, thr=0.6):
    """The original per-frame chain (spec §7.1 steps 2-7): ``(tlwh float64, scores, embeddings,
    number of candidates before the NMS)``."""
    pred = torch.cat(
        [
            original_decode(r, torch.tensor(a), s)
            for r, a, s in zip(raw, config.anchors, config.strides, strict=True)
        ],
        1,
    )
    x = pred[0][pred[0][:, 4] > conf].clone()
    x[:, 5:] *= x[:, 4:5]
    corners = torch.stack(
        [x[:, 0] - x[:, 2] / 2, x[:, 1] - x[:, 3] / 2, x[:, 0] + x[:, 2] / 2, x[:, 1] + x[:, 3] / 2], 1
    )
    x = torch.cat((corners, x[:, 5:6]), 1)[x[:, 5] > conf]
    scores, order = x[:, 4].sort(descending=True, stable=True)
    suppress = original_diou(x[order, :4]).triu_(diagonal=1)
    b = suppress
    for _ in range(200):
        a = b
        max_a = a.max(dim=0)[0]
        b = suppress * (max_a < thr).float().unsqueeze(1).expand_as(a)
        if a.equal(b):
            break
    dets = x[order[max_a <= thr]][:300]
    cols = torch.floor((dets[:, 0] + dets[:, 2]) / 2 / 8).long().clamp(0, embedding_map.shape[2] - 1)
    rows = torch.floor((dets[:, 1] + dets[:, 3]) / 2 / 8).long().clamp(0, embedding_map.shape[1] - 1)
    features = embedding_map[0, rows, cols, :].numpy()
    (height, width), (h0, w0) = input_hw, frame_hw
    gain = min(float(width) / w0, float(height) / h0)  # JDE's scale_coords, no clipping (spec §1.3)
    dets[:, [0, 2]] -= (width - w0 * gain) / 2
    dets[:, [1, 3]] -= (height - h0 * gain) / 2
    dets[:, :4] /= gain
    tlwh = np.asarray(dets[:, :4]).copy()
    tlwh[:, 2:] -= tlwh[:, :2]  # STrack.tlbr_to_tlwh in float32, then np.float
    return tlwh.astype(np.float64), dets[:, 4].double().numpy(), features, len(x)


def clustered_logits(config, input_hw, seed, objects=12):
    """Raw logits per level ``[1, 3, H_i, W_i, 6]`` where every anchor of the cells within one stride of
    ``objects`` random centres fires (obj, cls > 0.5) and the rest stays below 0.5: clusters of boxes of
    similar size, as a trained detector gives around each person, for the NMS to thin out."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.rand(objects, 2, generator=g) * torch.tensor(
        [input_hw[1], input_hw[0]], dtype=torch.float32
    )
    raw = []
    for stride in config.strides:
        height, width = input_hw[0] // stride, input_hw[1] // stride
        logits = torch.randn(1, 3, height, width, 6, generator=g)
        logits[..., :4] *= 0.3
        logits[..., 4:] -= 4.0
        rows, cols = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
        for cx, cy in centres:
            near = ((cols + 0.5) * stride - cx).abs().le(stride) & ((rows + 0.5) * stride - cy).abs().le(
                stride
            )
            logits[..., 4:] += 7.0 * near[:, :, None]  # (a mask after a slice indexes otherwise in torch 2.3)
        raw.append(logits)
    return raw, torch.randn(1, input_hw[0] // 8, input_hw[1] // 8, 16, generator=g)


@pytest.mark.parametrize(("seed", "frame_hw"), [(0, (1080, 1920)), (1, (480, 640)), (2, (200, 90))])
def test_detect_frame_equals_the_originals_chain(seed, frame_hw):
    config, input_hw = preset("cstrack"), (192, 320)  # the official anchors on a small input
    raw, embedding_map = clustered_logits(config, input_hw, seed)
    tlwh, scores, features, candidates = original_detections(raw, embedding_map, config, input_hw, frame_hw)
    got = detect_frame(raw, embedding_map, config, input_hw, frame_hw)
    assert 5 < len(scores) < min(0.8 * candidates, 300)  # the NMS suppressed, the cap did not cut
    np.testing.assert_array_equal(got.boxes, tlwh)
    np.testing.assert_array_equal(got.scores, scores)
    np.testing.assert_array_equal(got.embeddings, features)
