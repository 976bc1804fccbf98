"""CSTrack's inference pre/post-processing (spec ``cstrack.md`` §1.3, §1.4, §7.1, §7.2) on hand-made inputs.

Expected values are derived by hand in the comments or computed here with Python ``math``; the NMS is
also compared with a greedy DIoU-NMS written in this file.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from discmot.data.letterbox import letterbox as training_letterbox
from discmot.models.cstrack.postprocess import (
    MATRIX_NMS_LIMIT,
    candidate_boxes,
    clip_boxes,
    cluster_diou_nms,
    cluster_fixed_point,
    decode_level,
    decode_predictions,
    detect,
    embedding_cells,
    embeddings_at_boxes,
    image_to_tensor,
    letterbox,
    make_grid,
    pixels_to_tensor,
    scale_boxes_to_original,
)
from discmot.models.cstrack.postprocess import (
    greedy_diou_nms as box_by_box_diou_nms,
)

# ---------------------------------------------------------------- letterbox (§1.3)


def test_letterbox_100x50_into_64x64():
    image = np.full((50, 100, 3), 10, dtype=np.uint8)
    boxed = letterbox(image, (64, 64))
    # r = min(64 / 50, 64 / 100) = 0.64 -> 64 x 32; dh = 16: top round(15.9) = 16, bottom round(16.1) = 16
    assert boxed.ratio == pytest.approx(0.64)
    assert (boxed.dw, boxed.dh) == (0.0, 16.0)
    assert boxed.borders == (16, 16, 0, 0)
    assert boxed.image.shape == (64, 64, 3) and boxed.image.dtype == np.uint8
    # 127.5 is rounded half to even by OpenCV's saturate_cast: 128
    assert (boxed.image[:16] == 128).all() and (boxed.image[48:] == 128).all()
    assert (boxed.image[16:48] == 10).all()


@pytest.mark.parametrize(
    ("w0", "h0", "resized_w", "borders"),
    [
        # r = 608 / 1080; 1920 r = 1080.9 -> 1081; dw = 3.5 -> left round(3.4) = 3, right round(3.6) = 4
        (1920, 1080, 1081, (0, 0, 3, 4)),
        # r = 608 / 480; 640 r = 810.7 -> 811; dw = 138.5 -> 138 / 139
        (640, 480, 811, (0, 0, 138, 139)),
    ],
)
def test_letterbox_official_size_examples(w0, h0, resized_w, borders):
    boxed = letterbox(np.zeros((h0, w0, 3), dtype=np.uint8))
    assert boxed.image.shape == (608, 1088, 3)
    assert boxed.borders == borders
    assert boxed.dw == pytest.approx((1088 - resized_w) / 2)
    left, right = borders[2], borders[3]
    assert (boxed.image[:, :left] == 128).all() and (boxed.image[:, 1088 - right :] == 128).all()
    assert (boxed.image[:, left : 1088 - right] == 0).all()


def test_letterbox_rounds_half_to_even():
    # 3x2 into height 3: r = 1.5, 3 r = 4.5 -> round() = 4 (Python), then dw = 48: borders 48 / 48
    boxed = letterbox(np.zeros((2, 3, 3), dtype=np.uint8), (3, 100))
    assert boxed.borders == (0, 0, 48, 48)
    assert boxed.image.shape == (3, 100, 3)


@pytest.mark.parametrize(
    ("h0", "w0", "size_hw"), [(50, 100, (64, 64)), (1080, 1920, (608, 1088)), (37, 23, (64, 32))]
)
def test_letterbox_equals_the_training_letterbox_given_width_first(h0, w0, size_hw):
    """One implementation: the training pipeline's letterbox takes ``(W, H)`` and returns a tuple."""
    image = np.random.default_rng(0).integers(0, 256, (h0, w0, 3), dtype=np.uint8)
    boxed = letterbox(image, size_hw)
    padded, ratio, (left, top) = training_letterbox(image, size_hw[::-1])
    assert np.array_equal(boxed.image, padded) and boxed.ratio == ratio
    assert (boxed.borders[2], boxed.borders[0]) == (left, top)


def test_image_to_tensor_is_rgb_chw_over_255():
    image = np.zeros((2, 3, 3), dtype=np.uint8)
    image[..., 0], image[..., 2] = 255, 51  # B, R
    tensor = image_to_tensor(image)
    assert tensor.shape == (3, 2, 3) and tensor.dtype == torch.float32
    torch.testing.assert_close(tensor[:, 0, 0], torch.tensor([0.2, 0.0, 1.0]))


def test_the_device_side_conversion_gives_the_numpy_values_bit_for_bit():
    # every byte value, in each channel: what a GPU tracker uploads and converts (`pixels_to_tensor`, here
    # on the CPU; on an H100 its CUDA result equalled the CPU's too, 2026-11-24) against numpy's float32
    values = np.tile(np.arange(256, dtype=np.uint8), 12)
    image = np.random.default_rng(0).permutation(values).reshape(32, 32, 3)
    expected = image[:, :, ::-1].transpose(2, 0, 1).astype(np.float32) / np.float32(255.0)
    assert np.array_equal(pixels_to_tensor(torch.from_numpy(image)).numpy(), expected)
    assert np.array_equal(image_to_tensor(image).numpy(), expected)
    if torch.cuda.is_available():  # where a scalar divisor would round differently (a lent GPU; CI has none)
        assert np.array_equal(image_to_tensor(image, "cuda").cpu().numpy(), expected)


def test_scale_boxes_back_without_clipping():
    # 100x50 frame in a 64x64 input: gain 0.64, pad (0, 16)
    boxes = torch.tensor([[0.0, 16.0, 64.0, 48.0], [-6.4, 0.0, 32.0, 32.0]])
    back = scale_boxes_to_original(boxes, (64, 64), (50, 100))
    torch.testing.assert_close(back, torch.tensor([[0.0, 0.0, 100.0, 50.0], [-10.0, -25.0, 50.0, 25.0]]))
    assert boxes[1, 0].item() == pytest.approx(-6.4)  # input untouched
    torch.testing.assert_close(clip_boxes(back, (50, 100))[1], torch.tensor([0.0, 0.0, 50.0, 25.0]))


def test_scale_boxes_uses_unrounded_padding():
    # 1920x1080: gain = 608 / 1080, pad_x = (1088 - 1920 gain) / 2 = 3.5556 (the image has 3 px left)
    gain = 608 / 1080
    pad_x = (1088 - 1920 * gain) / 2
    back = scale_boxes_to_original(
        torch.tensor([[100.0, 50.0, 200.0, 150.0]], dtype=torch.float64), (608, 1088), (1080, 1920)
    )
    expected = [(100 - pad_x) / gain, 50 / gain, (200 - pad_x) / gain, 150 / gain]
    torch.testing.assert_close(back[0], torch.tensor(expected, dtype=torch.float64))


# ---------------------------------------------------------------- decoding (§1.4)


def test_decode_zero_logits():
    raw = torch.zeros(1, 2, 2, 3, 6)
    anchors = torch.tensor([[10.0, 20.0], [30.0, 40.0]])
    decoded = decode_level(raw, anchors, 8)
    assert decoded.shape == (1, 12, 6)
    # sigmoid 0.5: cx = (2 * 0.5 - 0.5 + col) * 8 = (col + 0.5) * 8, w = (2 * 0.5)^2 * anchor_w
    # order anchor, row, column: index = a * 6 + row * 3 + col
    row = decoded[0, 1 * 6 + 1 * 3 + 2]
    torch.testing.assert_close(row, torch.tensor([20.0, 12.0, 30.0, 40.0, 0.5, 0.5]))
    torch.testing.assert_close(decoded[0, 0], torch.tensor([4.0, 4.0, 10.0, 20.0, 0.5, 0.5]))


def test_decode_hand_values_and_k():
    raw = torch.zeros(1, 1, 1, 2, 6)
    raw[0, 0, 0, 1] = torch.tensor([math.log(3), 0.0, math.log(3), -math.log(3), 0.0, math.log(4)])
    decoded = decode_level(raw, torch.tensor([[8.0, 24.0]]), 16)
    # sigmoid(ln 3) = 0.75: cx = (1.5 - 0.5 + 1) * 16 = 32; w = 1.5^2 * 8 = 18; h = 0.5^2 * 24 = 6
    torch.testing.assert_close(decoded[0, 1], torch.tensor([32.0, 8.0, 18.0, 6.0, 0.5, 0.8]))
    # k != 10: cx = ((0.75 - 0.5) * 4 + 1) * 16 = 32, cy = (0 * 4 + 0) * 16 = 0
    decoded = decode_level(raw, torch.tensor([[8.0, 24.0]]), 16, k=4.0)
    torch.testing.assert_close(decoded[0, 1, :2], torch.tensor([32.0, 0.0]))


def test_decode_reuses_its_grid_in_and_out_of_inference_mode():
    """The cell grid is made once per level size, device and dtype; decoding stays differentiable."""
    from discmot.models.cstrack.postprocess import _cached_grid

    raw = torch.randn(1, 2, 3, 4, 6)
    anchors = torch.tensor([[10.0, 20.0], [30.0, 40.0]])
    _cached_grid.cache_clear()
    with torch.inference_mode():
        first = decode_level(raw, anchors, 8)
    assert _cached_grid.cache_info().misses == 1 and _cached_grid.cache_info().hits == 0
    trained = raw.clone().requires_grad_(True)
    again = decode_level(trained, anchors, 8)
    again.sum().backward()
    assert _cached_grid.cache_info().hits == 1  # the second decoding of a 3x4 level reused the grid
    assert torch.equal(first, again.detach()) and trained.grad is not None
    cx = (raw[..., 0].sigmoid() * 2 - 0.5 + make_grid(3, 4)[..., 0]) * 8
    torch.testing.assert_close(first.view(1, 2, 3, 4, 6)[..., 0], cx)  # other kernels: FMA may round apart


def test_decode_predictions_concatenates_levels_in_order():
    raw = [torch.zeros(2, 3, 4, 6, 6), torch.zeros(2, 3, 2, 3, 6), torch.zeros(2, 3, 1, 2, 6)]
    anchors = torch.arange(18.0).view(3, 3, 2) + 1
    decoded = decode_predictions(raw, anchors, (8, 16, 32))
    assert decoded.shape == (2, 3 * (24 + 6 + 2), 6)
    # first P4 row: anchor (7, 8) at cell (0, 0) of stride 16 -> centre 8
    torch.testing.assert_close(decoded[1, 72], torch.tensor([8.0, 8.0, 7.0, 8.0, 0.5, 0.5]))


# ---------------------------------------------------------------- selection and NMS (§7.1, §7.2)


def test_candidate_boxes_threshold_obj_then_obj_times_cls():
    decoded = torch.tensor(
        [
            [10.0, 10.0, 4.0, 8.0, 0.9, 0.9],  # score 0.81: kept
            [10.0, 10.0, 4.0, 8.0, 0.9, 0.5],  # obj passes, score 0.45 does not
            [10.0, 10.0, 4.0, 8.0, 0.5, 1.0],  # obj must be strictly above 0.5
            [20.0, 30.0, 2.0, 2.0, 0.6, 0.95],  # score 0.57: kept
        ]
    )
    boxes, scores = candidate_boxes(decoded, 0.5)
    torch.testing.assert_close(boxes, torch.tensor([[8.0, 6.0, 12.0, 14.0], [19.0, 29.0, 21.0, 31.0]]))
    torch.testing.assert_close(scores, torch.tensor([0.81, 0.57]))


def reference_diou(a: np.ndarray, b: np.ndarray, exponent: float = 0.7) -> float:
    """IoU - (centre distance^2 / (enclosing diagonal^2 + 1e-7))^exponent of two xyxy boxes."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    rho2 = ((a[0] + a[2] - b[0] - b[2]) / 2) ** 2 + ((a[1] + a[3] - b[1] - b[3]) / 2) ** 2
    c2 = (max(a[2], b[2]) - min(a[0], b[0])) ** 2 + (max(a[3], b[3]) - min(a[1], b[1])) ** 2
    return inter / union - (rho2 / (c2 + 1e-7)) ** exponent


def greedy_diou_nms(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> list[int]:
    """Textbook greedy NMS with the DIoU' criterion: keep the best, drop those >= threshold, repeat."""
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    kept: list[int] = []
    for i in order:
        if all(reference_diou(boxes[k], boxes[i]) < threshold for k in kept):
            kept.append(i)
    return kept


CHAIN = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 0.0, 11.0, 10.0], [3.0, 0.0, 13.0, 10.0]])
CHAIN_SCORES = torch.tensor([0.9, 0.8, 0.7])


def test_chain_suppression_needs_the_iterations():
    # DIoU'(A, B) = 90/110 - (1/221)^0.7 = 0.795, DIoU'(B, C) = 80/120 - (4/244)^0.7 = 0.610 >= 0.6,
    # DIoU'(A, C) = 70/130 - (9/269)^0.7 = 0.446. B is suppressed by A, so it cannot suppress C.
    boxes = CHAIN.numpy().astype(float)
    assert reference_diou(boxes[0], boxes[1]) > 0.6 and reference_diou(boxes[1], boxes[2]) > 0.6
    assert reference_diou(boxes[0], boxes[2]) < 0.6
    assert cluster_diou_nms(CHAIN, CHAIN_SCORES, 0.6).tolist() == [0, 2]
    # One iteration is Fast NMS: C still counts B's overlap and goes too.
    assert cluster_diou_nms(CHAIN, CHAIN_SCORES, 0.6, max_iterations=1).tolist() == [0]


def test_distance_penalty_keeps_a_box_plain_iou_nms_drops():
    boxes = torch.tensor([[0.0, 0.0, 10.0, 30.0], [0.0, 6.0, 10.0, 36.0]])
    # IoU = 240 / 360 = 0.667 >= 0.6: greedy IoU-NMS keeps only the first box. The centres are 6 apart
    # and the enclosing diagonal^2 is 10^2 + 36^2 = 1396: DIoU' = 0.667 - (36/1396)^0.7 = 0.589 < 0.6.
    diou = 240 / 360 - (36 / (1396 + 1e-7)) ** 0.7
    assert diou == pytest.approx(0.5894, abs=1e-4)
    assert cluster_diou_nms(boxes, torch.tensor([0.8, 0.9]), 0.6).tolist() == [1, 0]


def test_nms_orders_by_score_and_breaks_ties_by_input_order():
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [50.0, 50.0, 60.0, 60.0], [0.0, 0.0, 10.0, 10.0]])
    assert cluster_diou_nms(boxes, torch.tensor([0.5, 0.9, 0.5]), 0.6).tolist() == [1, 0]
    assert cluster_diou_nms(boxes[[2, 1, 0]], torch.tensor([0.5, 0.9, 0.5]), 0.6).tolist() == [1, 0]


def test_nms_threshold_boundary_and_empty_input():
    assert cluster_diou_nms(torch.zeros(0, 4), torch.zeros(0), 0.6).numel() == 0
    # identical boxes: DIoU' = 1; a threshold of exactly 1 keeps both (final test is <=)
    boxes = torch.tensor([[0.0, 0.0, 4.0, 4.0], [0.0, 0.0, 4.0, 4.0]])
    assert cluster_diou_nms(boxes, torch.tensor([0.9, 0.8]), 1.0).tolist() == [0, 1]
    assert cluster_diou_nms(boxes, torch.tensor([0.9, 0.8]), 0.99).tolist() == [0]


@pytest.mark.parametrize("seed", range(5))
def test_cluster_nms_equals_greedy_diou_nms(seed):
    rng = np.random.default_rng(seed)
    corners = rng.uniform(0, 60, size=(40, 2))
    boxes = np.concatenate([corners, corners + rng.uniform(5, 30, size=(40, 2))], axis=1)
    scores = rng.permutation(40) / 40 + 0.01
    kept = cluster_diou_nms(torch.tensor(boxes), torch.tensor(scores), 0.6).tolist()
    assert kept == greedy_diou_nms(boxes, scores, 0.6)


def crowded_boxes(count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` boxes jittered around 15 centres (many overlap), random scores with a few exact ties."""
    generator = torch.Generator().manual_seed(seed)
    centres = torch.rand(15, 2, generator=generator) * 100
    picked = centres[torch.randint(0, 15, (count,), generator=generator)]
    centre = picked + torch.randn(count, 2, generator=generator) * 2
    size = torch.rand(count, 2, generator=generator) * 10 + 20
    scores = torch.randint(0, count // 2, (count,), generator=generator).float() / count
    return torch.cat([centre - size / 2, centre + size / 2], dim=1).double(), scores


@pytest.mark.parametrize("threshold", [0.3, 0.6, 0.9])
@pytest.mark.parametrize("seed", range(3))
def test_box_by_box_nms_equals_the_matrix_form(threshold, seed):
    boxes, scores = crowded_boxes(300, seed)
    matrix = cluster_diou_nms(boxes, scores, threshold)
    assert 0 < matrix.numel() < 300
    assert torch.equal(box_by_box_diou_nms(boxes, scores, threshold), matrix)
    # stopping after k boxes gives the first k of the whole result
    assert torch.equal(box_by_box_diou_nms(boxes, scores, threshold, max_kept=5), matrix[:5])


def test_box_by_box_nms_keeps_the_matrix_forms_boundaries():
    # identical boxes (DIoU' = 1): kept at threshold 1 (final test <=), suppressed below it
    boxes = torch.tensor([[0.0, 0.0, 4.0, 4.0], [0.0, 0.0, 4.0, 4.0]])
    assert box_by_box_diou_nms(boxes, torch.tensor([0.9, 0.8]), 1.0).tolist() == [0, 1]
    assert box_by_box_diou_nms(boxes, torch.tensor([0.9, 0.8]), 0.99).tolist() == [0]
    # a box suppressed by A cannot suppress C (the chain of the matrix form's iterations)
    assert box_by_box_diou_nms(CHAIN, CHAIN_SCORES, 0.6).tolist() == [0, 2]
    assert box_by_box_diou_nms(torch.zeros(0, 4), torch.zeros(0), 0.6).numel() == 0
    # a NaN overlap (non-finite activations give NaN boxes) drops the box in both forms
    with_nan = torch.cat([CHAIN, torch.full((1, 4), float("nan"))])
    nan_scores = torch.tensor([0.9, 0.8, 0.7, 0.6])
    assert cluster_diou_nms(with_nan, nan_scores, 0.6).tolist() == [0, 2]
    assert box_by_box_diou_nms(with_nan, nan_scores, 0.6).tolist() == [0, 2]


def iterate_to_the_cap(diou: torch.Tensor, threshold: float, cap: int = 200) -> torch.Tensor:
    """The original's loop as the spec states it (`torch.equal` as the stop), column maxima at the end."""
    current = diou
    for _ in range(cap):
        previous = current
        column_max = previous.max(dim=0).values
        current = diou * (column_max < threshold).to(diou.dtype).unsqueeze(1)
        if torch.equal(previous, current):
            break
    return column_max


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_nan_overlap_stops_the_matrix_iteration_early_with_the_originals_result(seed):
    """Two identical zero-width boxes overlap by 0 / 0 = NaN. NaN stays NaN in every iterate, so the
    original's `torch.equal` stop never holds and it runs all 200 iterations; the same fixed point is
    reached in a few."""
    boxes, scores = crowded_boxes(60, seed)
    degenerate = torch.tensor([[30.0, 30.0, 30.0, 60.0], [30.0, 30.0, 30.0, 60.0]])
    boxes = torch.cat([boxes, degenerate])
    scores = torch.cat([scores, torch.tensor([0.55, 0.45])])
    order = torch.sort(scores, descending=True, stable=True).indices
    ranked = boxes[order]
    from discmot.ops.boxes_torch import distance_box_iou

    diou = distance_box_iou(ranked, ranked, exponent=0.7, eps=1e-7).triu(diagonal=1)
    assert diou.isnan().any()
    column_max, iterations = cluster_fixed_point(diou, 0.6)
    assert iterations < 20
    assert torch.equal(column_max.nan_to_num(nan=-9.0), iterate_to_the_cap(diou, 0.6).nan_to_num(nan=-9.0))
    # and the kept boxes are the box-by-box form's (the NaN box is dropped by both)
    kept = cluster_diou_nms(boxes, scores, 0.6)
    assert torch.equal(kept, box_by_box_diou_nms(boxes, scores, 0.6))
    assert 61 not in kept.tolist()


def test_detect_with_more_candidates_than_the_matrix_limit_gives_the_matrix_result():
    count = MATRIX_NMS_LIMIT + 100
    boxes, scores = crowded_boxes(count, seed=7)
    # decoded rows (cx, cy, w, h, obj, cls) whose score obj * cls is the wanted one, all above 0.5
    confidence = (0.51 + 0.49 * scores).sqrt()
    centre, size = (boxes[:, :2] + boxes[:, 2:]) / 2, boxes[:, 2:] - boxes[:, :2]
    decoded = torch.cat([centre, size, confidence[:, None], confidence[:, None]], dim=1).float()
    candidates, candidate_scores = candidate_boxes(decoded)
    assert candidates.shape[0] == count
    expected = cluster_diou_nms(candidates, candidate_scores, 0.6)[:300]
    kept_boxes, kept_scores = detect(decoded)
    torch.testing.assert_close(kept_boxes, candidates[expected], rtol=0, atol=0)
    torch.testing.assert_close(kept_scores, candidate_scores[expected], rtol=0, atol=0)


def test_detect_filters_suppresses_and_caps():
    decoded = torch.tensor(
        [
            [5.0, 5.0, 10.0, 10.0, 0.9, 0.9],
            [6.0, 5.0, 10.0, 10.0, 0.95, 0.95],  # overlaps the first (DIoU' 0.795): wins, it scores higher
            [40.0, 40.0, 10.0, 10.0, 0.8, 0.8],
            [80.0, 80.0, 10.0, 10.0, 0.3, 0.9],  # objectness too low
        ]
    )
    boxes, scores = detect(decoded)
    torch.testing.assert_close(scores, torch.tensor([0.9025, 0.64]))
    torch.testing.assert_close(boxes[0], torch.tensor([1.0, 0.0, 11.0, 10.0]))
    boxes, scores = detect(decoded, max_detections=1)
    assert boxes.shape == (1, 4)


# ---------------------------------------------------------------- embeddings (§7.1)


def test_embedding_lookup_at_box_centres():
    rows, cols = torch.meshgrid(torch.arange(4.0), torch.arange(5.0), indexing="ij")
    embedding_map = torch.stack((rows, cols), dim=2)  # [4, 5, 2]: value = (row, col)
    boxes = torch.tensor(
        [
            [0.0, 0.0, 16.0, 16.0],  # centre (8, 8) -> cell (1, 1)
            [10.0, 20.0, 20.0, 25.0],  # centre (15, 22.5) -> (2, 1)
            [-12.0, -10.0, 4.0, 2.0],  # centre (-4, -4): floor -1 -> clamped to (0, 0)
            [30.0, 20.0, 60.0, 50.0],  # centre (45, 35) -> (4, 5) -> clamped to (3, 4)
            [7.9, 7.9, 8.0, 8.0],  # centre (7.95, 7.95) -> (0, 0)
        ]
    )
    features = embeddings_at_boxes(embedding_map, boxes, stride=8)
    torch.testing.assert_close(
        features, torch.tensor([[1.0, 1.0], [2.0, 1.0], [0.0, 0.0], [3.0, 4.0], [0.0, 0.0]])
    )
    row_idx, col_idx = embedding_cells(boxes, (4, 5), stride=8)
    assert row_idx.tolist() == [1, 2, 0, 3, 0] and col_idx.tolist() == [1, 1, 0, 4, 0]


def test_official_map_clamps_to_75_and_135():
    boxes = torch.tensor([[1080.0, 600.0, 1096.0, 616.0]])  # centre (1088, 608): cell (76, 136)
    assert [t.item() for t in embedding_cells(boxes, (76, 136))] == [75, 135]
