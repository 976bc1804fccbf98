"""CSTrack's inference pre- and post-processing (spec ``cstrack.md`` §1.3, §1.4, §7.1, §7.2).

One frame goes through, in order:

1. `letterbox` (aspect-preserving resize with cv2.INTER_AREA and grey padding) and `image_to_tensor`;
2. the network; its raw per-level outputs are decoded by `decode_predictions` (the Detect head's
   inference formula, as a pure function);
3. `detect`: confidence filtering (`candidate_boxes`), the Cluster-DIoU-NMS of the code
   (`cluster_diou_nms`, which replaces the paper's standard NMS, spec §12 item 7) and the 300-box cap;
4. `embeddings_at_boxes`: the raw 512-d embedding at each box centre, read in network-input pixels;
5. `scale_boxes_to_original`: boxes back to the frame (no clipping, no rounding, as the code).

Everything works on one image except `decode_predictions` (batched). Boxes are ``xyxy`` pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import cv2
import numpy as np
import torch

from discmot.data.letterbox import Letterboxed, letterbox_hw
from discmot.ops.boxes_torch import box_cxcywh_to_xyxy, distance_box_iou

#: Network input (height, width) of the official tracker.
INPUT_SIZE = (608, 1088)
#: Padding value of the letterbox; cv2 rounds it to 128 for uint8 images.
PAD_COLOUR = (127.5, 127.5, 127.5)


def letterbox(
    image: np.ndarray, size: tuple[int, int] = INPUT_SIZE, colour: tuple[float, float, float] = PAD_COLOUR
) -> Letterboxed:
    """Resize ``image`` ``[h0, w0, 3]`` keeping its aspect ratio and pad it to ``size`` = (H, W) (§1.3).

    `discmot.data.letterbox.letterbox_hw` with cv2.INTER_AREA (see there for the rounding: 7
    missing pixels give 3 + 4).
    """
    return letterbox_hw(image, size, colour, cv2.INTER_AREA)


def image_to_tensor(image_bgr: np.ndarray, device: torch.device | str | None = None) -> torch.Tensor:
    """``[H, W, 3]`` uint8 BGR -> ``[3, H, W]`` float32 RGB in ``[0, 1]`` (no mean/std, §1.3) on ``device``
    (default: the CPU).

    On the CPU numpy's strided conversion is the fastest (1.2 ms at 608x1088 against 4.2 ms for torch's,
    developer machine). For another device the uint8 pixels go there first and are converted there
    (`pixels_to_tensor`): a quarter of float32's bytes to upload, and on an H100 the CPU's conversion and
    the float32 upload had cost 11-19 ms a 1080p frame (2026-11-24).
    """
    if device is not None and torch.device(device).type != "cpu":
        return pixels_to_tensor(torch.from_numpy(np.ascontiguousarray(image_bgr)).to(device))
    rgb = np.ascontiguousarray(image_bgr[:, :, ::-1].transpose(2, 0, 1), dtype=np.float32)
    return torch.from_numpy(rgb) / 255.0


def pixels_to_tensor(pixels_bgr: torch.Tensor) -> torch.Tensor:
    """`image_to_tensor` of a uint8 ``[H, W, 3]`` BGR tensor, on its device, with the same values: the
    divisor is a tensor because CUDA divides by a Python scalar as a multiplication by its reciprocal,
    which rounds differently from numpy's float32 ``/ 255.0`` (the original's)."""
    rgb = pixels_bgr.flip(-1).permute(2, 0, 1).contiguous().float()
    return rgb / torch.tensor(255.0, device=rgb.device)


def scale_boxes_to_original(
    boxes: torch.Tensor, input_hw: tuple[int, int], original_hw: tuple[int, int]
) -> torch.Tensor:
    """Boxes ``[K, 4]`` xyxy in letterboxed-input pixels -> original-frame pixels (YOLOv5 ``scale_coords``).

    ``gain = min(H / h0, W / w0)``, ``pad = ((W - w0 gain) / 2, (H - h0 gain) / 2)`` from the shapes (not
    from the rounded borders), ``x = (x - pad_x) / gain``. Unlike YOLOv5 the tracker neither clips nor
    rounds (spec §1.3); use `clip_boxes` where a caller needs boxes inside the frame.
    """
    height, width = input_hw
    h0, w0 = original_hw
    gain = min(height / h0, width / w0)
    pad_x, pad_y = (width - w0 * gain) / 2, (height - h0 * gain) / 2
    scaled = boxes.clone()
    scaled[:, [0, 2]] -= pad_x
    scaled[:, [1, 3]] -= pad_y
    scaled[:, :4] /= gain
    return scaled


def clip_boxes(boxes: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
    """Boxes ``[K, 4]`` xyxy clamped to ``[0, W] x [0, H]`` (not part of the official tracker path)."""
    height, width = hw
    x = boxes[:, [0, 2]].clamp(0, width)
    y = boxes[:, [1, 3]].clamp(0, height)
    return torch.stack((x[:, 0], y[:, 0], x[:, 1], y[:, 1]), dim=1)


def make_grid(height: int, width: int, device: torch.device | None = None) -> torch.Tensor:
    """Cell corners ``[H, W, 2]`` float32: ``grid[r, c] = (c, r)`` (x = column, y = row)."""
    rows, cols = torch.meshgrid(
        torch.arange(height, device=device), torch.arange(width, device=device), indexing="ij"
    )
    return torch.stack((cols, rows), dim=2).float()


@lru_cache(maxsize=32)
def _cached_grid(height: int, width: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """`make_grid` in ``dtype``, built once per level size, device and dtype (a tracker decodes the same
    three levels every frame). Read-only: callers never write into it."""
    with torch.inference_mode(False), torch.no_grad():  # a plain tensor, usable in and out of inference mode
        return make_grid(height, width, device).to(dtype)


def decode_level(raw: torch.Tensor, anchors_px: torch.Tensor, stride: float, k: float = 10.0) -> torch.Tensor:
    """Decode one level ``[B, A, H, W, 5 + nc]`` of raw logits -> ``[B, A*H*W, 5 + nc]`` (§1.4).

    ``cx = (2 sigmoid(tx) - 0.5 + col) * stride`` (for ``k == 10``; otherwise the code's
    ``((sigmoid(tx) - 0.5) k + col) * stride``), ``w = (2 sigmoid(tw))^2 * anchor_w`` with ``anchors_px``
    ``[A, 2]`` in pixels; objectness and class scores are sigmoids. Order: anchor, row, column.
    """
    batch, num_anchors, height, width, outputs = raw.shape
    y = raw.sigmoid()
    grid = _cached_grid(height, width, raw.device, raw.dtype)
    if k == 10.0:
        xy = (y[..., 0:2] * 2.0 - 0.5 + grid) * stride
    else:
        xy = ((y[..., 0:2] - 0.5) * k + grid) * stride
    wh = (y[..., 2:4] * 2) ** 2 * anchors_px.to(raw.dtype).view(1, num_anchors, 1, 1, 2)
    decoded = torch.cat((xy, wh, y[..., 4:]), dim=-1)
    return decoded.view(batch, num_anchors * height * width, outputs)


def decode_predictions(
    raw_levels: Sequence[torch.Tensor], anchors_px: torch.Tensor, strides: Sequence[float], k: float = 10.0
) -> torch.Tensor:
    """All levels decoded and concatenated: ``[B, N, 5 + nc]`` rows ``(cx, cy, w, h, obj, cls...)`` in
    input pixels, ``N = sum_i A H_i W_i`` (40,698 at 1088x608), levels P3, P4, P5 in order.

    ``raw_levels``: ``[B, A, H_i, W_i, 5 + nc]`` logits; ``anchors_px``: ``[L, A, 2]`` pixels (the head's
    ``anchor_grid`` ``[L, 1, A, 1, 1, 2]`` works as it is). Equal to the head's own decoding; this pure
    form serves callers holding only tensors (e.g. outputs of an exported model).
    """
    return torch.cat(
        [
            decode_level(raw, level_anchors, stride, k)
            for raw, level_anchors, stride in zip(raw_levels, anchors_px, strides, strict=True)
        ],
        dim=1,
    )


def candidate_boxes(decoded: torch.Tensor, conf_threshold: float = 0.5) -> tuple[torch.Tensor, torch.Tensor]:
    """Confident boxes of one image's decoded rows ``[N, 5 + nc]`` (§7.1 steps 2-4).

    Keeps rows with ``obj > conf_threshold``, scores them ``obj * cls`` (the best class when
    ``nc > 1``) and keeps scores ``> conf_threshold``. Returns ``(boxes [M, 4] xyxy, scores [M])`` in
    the original row order. With one class the untrained class probability still scales the score.
    """
    rows = decoded[decoded[:, 4] > conf_threshold]
    scores = (rows[:, 5:] * rows[:, 4:5]).max(dim=1).values
    keep = scores > conf_threshold
    return box_cxcywh_to_xyxy(rows[keep, :4]), scores[keep]


#: Above this many candidate boxes `detect` runs `greedy_diou_nms` instead of the matrix form: the
#: pairwise matrix grows with the square of the count (40,698 rows at 1088x608 are 6.6 GB in fp32) and
#: each iteration re-reads it. Trained weights leave tens of candidates per frame; untrained or
#: degenerate ones can leave thousands.
MATRIX_NMS_LIMIT = 4096


def cluster_diou_nms(
    boxes: torch.Tensor,
    scores: torch.Tensor,
    threshold: float = 0.6,
    exponent: float = 0.7,
    max_iterations: int = 200,
) -> torch.Tensor:
    """Cluster-DIoU-NMS in the code's matrix form (spec §7.2); returns kept indices, best score first.

    Boxes ``[K, 4]`` xyxy are ranked by score (descending, ties by input order: a stable sort). With
    ``D`` the strictly upper triangle of the pairwise ``IoU - (rho^2 / (c^2 + 1e-7))^exponent``, iterate
    ``B = D * (max of column i of B < threshold)`` per row ``i``: a box keeps its power to suppress only
    while it is itself kept. Stop when ``B`` no longer changes (at most ``max_iterations``); box ``j`` is
    kept iff the column maximum of the last iterate is ``<= threshold`` (the code's boundary; the loop
    uses ``<``). The fixed point equals greedy DIoU-NMS with the same criterion.
    """
    if boxes.shape[0] == 0:
        return torch.zeros(0, dtype=torch.long, device=boxes.device)
    order = torch.sort(scores, descending=True, stable=True).indices
    ranked = boxes[order]
    diou = distance_box_iou(ranked, ranked, exponent=exponent, eps=1e-7).triu(diagonal=1)
    column_max, _ = cluster_fixed_point(diou, threshold, max_iterations)
    return order[column_max <= threshold]


def cluster_fixed_point(
    diou: torch.Tensor, threshold: float, max_iterations: int = 200
) -> tuple[torch.Tensor, int]:
    """The matrix iteration of `cluster_diou_nms` on its ranked upper-triangle ``diou`` ``[K, K]``: the
    column maxima ``[K]`` of the last iterate and the number of iterations run.

    It stops when an iterate repeats the previous one. A NaN entry (a degenerate box: an IoU of 0 / 0)
    stays NaN in every iterate (NaN times 0 is NaN), and the original's ``torch.equal`` check never holds
    with one, so the original runs all ``max_iterations``. Here NaN counts as equal to NaN in the same
    place: each iterate is a function of the one before, so once two agree every later one is the same,
    and the result is the original's in a few iterations instead of 200.
    """
    same = _equal_with_nan if bool(diou.isnan().any()) else torch.equal
    current, iterations = diou, 0
    while iterations < max_iterations:
        iterations += 1
        previous = current
        column_max = previous.max(dim=0).values
        current = diou * (column_max < threshold).to(diou.dtype).unsqueeze(1)
        if same(previous, current):
            break
    return column_max, iterations


def _equal_with_nan(a: torch.Tensor, b: torch.Tensor) -> bool:
    """`torch.equal` with NaN equal to NaN, for iterates whose NaN entries sit in the same places."""
    return torch.equal(a.nan_to_num(nan=0.0), b.nan_to_num(nan=0.0))


def greedy_diou_nms(
    boxes: torch.Tensor,
    scores: torch.Tensor,
    threshold: float = 0.6,
    exponent: float = 0.7,
    max_kept: int | None = None,
) -> torch.Tensor:
    """`cluster_diou_nms`'s fixed point, computed box by box; kept indices, best score first.

    Same ranking (stable, score-descending) and the same two boundaries: box ``j`` is kept iff the
    largest DIoU' with the *suppressing* boxes ranked above it (and 0) is ``<= threshold``, and it
    suppresses others only if that value is ``< threshold``. Each suppressing box costs one row of
    DIoU' against the boxes ranked below it, so memory is linear in the count, and the loop stops
    after ``max_kept`` boxes (the first ``max_kept`` of the full result: later boxes cannot change
    them). Equal to the matrix form wherever that converges within its iteration cap.
    """
    if boxes.shape[0] == 0:
        return torch.zeros(0, dtype=torch.long, device=boxes.device)
    order = torch.sort(scores, descending=True, stable=True).indices
    ranked = boxes[order]
    # The matrix form's column maxima include the zeros of its lower triangle: start at 0, not -inf.
    column_max = torch.zeros(ranked.shape[0], dtype=ranked.dtype, device=ranked.device)
    kept: list[int] = []
    for j in range(ranked.shape[0]):
        value = float(column_max[j])
        if not value <= threshold:  # a NaN is neither kept nor suppressing, as in the matrix form
            continue
        kept.append(j)
        if max_kept is not None and len(kept) >= max_kept:
            break
        if value < threshold and j + 1 < ranked.shape[0]:
            row = distance_box_iou(ranked[j : j + 1], ranked[j + 1 :], exponent=exponent, eps=1e-7)[0]
            column_max[j + 1 :] = torch.maximum(column_max[j + 1 :], row)
    return order[torch.tensor(kept, dtype=torch.long, device=boxes.device)]


def detect(
    decoded: torch.Tensor, conf_threshold: float = 0.5, nms_threshold: float = 0.6, max_detections: int = 300
) -> tuple[torch.Tensor, torch.Tensor]:
    """One image's detections from its decoded rows ``[N, 5 + nc]`` (§7.1 steps 2-5).

    Returns ``(boxes [K, 4] xyxy input pixels, scores [K])``, score-descending, ``K <= max_detections``.
    Class-agnostic (the official model has one class). Above `MATRIX_NMS_LIMIT` candidates the NMS runs
    box by box (`greedy_diou_nms`: the same result wherever the matrix iteration converges within its
    cap) so that untrained weights cannot exhaust memory.
    """
    boxes, scores = candidate_boxes(decoded, conf_threshold)
    if boxes.shape[0] > MATRIX_NMS_LIMIT:
        keep = greedy_diou_nms(boxes, scores, nms_threshold, max_kept=max_detections)
    else:
        keep = cluster_diou_nms(boxes, scores, nms_threshold)[:max_detections]
    return boxes[keep], scores[keep]


def embedding_cells(
    boxes: torch.Tensor, map_hw: tuple[int, int], stride: int = 8
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(rows, cols)`` int64 ``[K]`` of the embedding cells under the centres of ``boxes`` ``[K, 4]`` (§7.1).

    ``col = floor((x1 + x2) / 2 / stride)``, ``row`` likewise, clamped into the map. The code clamps only
    the high side and hard-codes 76x136; a centre left of or above the input (possible, up to about
    ``-stride / 2``) would wrap around there and is clamped to 0 here.
    """
    height, width = map_hw
    centres = (boxes[:, :2] + boxes[:, 2:4]) / 2
    cells = torch.floor(centres / stride).long()
    return cells[:, 1].clamp(0, height - 1), cells[:, 0].clamp(0, width - 1)


def embeddings_at_boxes(embedding_map: torch.Tensor, boxes: torch.Tensor, stride: int = 8) -> torch.Tensor:
    """Raw embeddings ``[K, D]`` at the box centres of one image's map ``[H, W, D]`` (channels last, §4).

    Read **before** `scale_boxes_to_original`, with boxes in network-input pixels. Not normalised: the
    tracker L2-normalises each feature (§7.3).
    """
    height, width = embedding_map.shape[:2]
    rows, cols = embedding_cells(boxes, (height, width), stride)
    return embedding_map[rows, cols]
