"""Edge cases of CSTrack's detection post-processing (spec ``cstrack.md`` §7.1, §7.2) that
``test_cstrack_postprocess.py`` leaves open: the strict score threshold, the best class with several
classes, the NMS defaults and its ``<`` / ``<=`` boundaries in the box-by-box form, the 300-box cap and
the switch to the box-by-box NMS above the matrix limit, the matrix iteration's cap, the default stride of
the embedding lookup and `clip_boxes`' axes.

Expected values are the spec's numbers or hand calculations written here, never outputs of the code
under test.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from discmot.models.cstrack import postprocess
from discmot.models.cstrack.postprocess import (
    candidate_boxes,
    clip_boxes,
    cluster_diou_nms,
    detect,
    embeddings_at_boxes,
    greedy_diou_nms,
    image_to_tensor,
)

# Concentric boxes: the centre distance is 0, so DIoU' = IoU exactly. [1, 1, 3, 3] in [0, 0, 4, 4]:
# IoU = 4 / 16 = 0.25, exactly representable.
OUTER, INNER = [0.0, 0.0, 4.0, 4.0], [1.0, 1.0, 3.0, 3.0]


def test_image_to_tensor_puts_the_result_on_the_requested_device():
    """The result lies on ``device`` (converted there): a non-CPU device is not silently ignored. The
    "meta" device stands in for a GPU on a machine without one."""
    image = np.zeros((2, 3, 3), dtype=np.uint8)
    tensor = image_to_tensor(image, device="meta")
    assert tensor.device.type == "meta" and tensor.shape == (3, 2, 3) and tensor.dtype == torch.float32
    assert image_to_tensor(image, device="cpu").device.type == "cpu"


def test_a_score_of_exactly_the_threshold_is_dropped():
    """§7.1 step 3: keep ``obj x cls > conf_thres``, strictly. obj 1.0 passes step 2 (1.0 > 0.5), its
    score 1.0 x 0.5 = 0.5 is not above 0.5; 1.0 x 0.75 = 0.75 is."""
    decoded = torch.tensor([[10.0, 10.0, 4.0, 8.0, 1.0, 0.5], [20.0, 20.0, 4.0, 4.0, 1.0, 0.75]])
    boxes, scores = candidate_boxes(decoded, 0.5)
    torch.testing.assert_close(scores, torch.tensor([0.75]))
    torch.testing.assert_close(boxes, torch.tensor([[18.0, 18.0, 22.0, 22.0]]))


def test_with_several_classes_the_score_is_objectness_times_the_best_class():
    """Step 2 filters on the objectness column, step 3 scores with the best class (nc = 2 here): obj 0.9
    with classes (0.1, 0.9) scores 0.81 and stays although its first class is below 0.5; obj 0.9 with
    (0.5, 0.5) scores 0.45 and goes."""
    decoded = torch.tensor(
        [
            [10.0, 10.0, 4.0, 8.0, 0.9, 0.1, 0.9],
            [30.0, 30.0, 4.0, 8.0, 0.9, 0.5, 0.5],
            [50.0, 50.0, 2.0, 2.0, 0.8, 0.75, 0.25],
        ]
    )
    boxes, scores = candidate_boxes(decoded, 0.5)
    torch.testing.assert_close(scores, torch.tensor([0.81, 0.6]))
    torch.testing.assert_close(boxes, torch.tensor([[8.0, 6.0, 12.0, 14.0], [49.0, 49.0, 51.0, 51.0]]))


@pytest.mark.parametrize("nms", [cluster_diou_nms, greedy_diou_nms])
def test_nms_defaults_are_threshold_0_6_and_exponent_0_7(nms):
    """§7.2 / §7.9: nms_thres 0.6, penalty exponent 0.7.

    * Concentric boxes [0,0,10,10] and [0.5,0.5,9.5,9.5]: DIoU' = IoU = 81/100 = 0.81 >= 0.6, so the
      lower-scored one goes (a threshold of 0.9 would keep it).
    * [0,0,10,30] and [0,6,10,36]: IoU 240/360, rho^2 36, c^2 1396: DIoU' = 0.667 - (36/1396)^0.7 =
      0.589 < 0.6, both stay (exponent 1 would give 0.641 and drop one).
    """
    concentric = torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.5, 0.5, 9.5, 9.5]])
    assert nms(concentric, torch.tensor([0.9, 0.8])).tolist() == [0]
    shifted = torch.tensor([[0.0, 0.0, 10.0, 30.0], [0.0, 6.0, 10.0, 36.0]])
    assert 240 / 360 - (36 / 1396) ** 0.7 < 0.6 < 240 / 360 - 36 / 1396
    assert nms(shifted, torch.tensor([0.9, 0.8])).tolist() == [0, 1]


def test_box_by_box_nms_keeps_a_single_box():
    assert greedy_diou_nms(torch.tensor([[0.0, 0.0, 4.0, 4.0]]), torch.tensor([0.7])).tolist() == [0]


@pytest.mark.parametrize("nms", [cluster_diou_nms, greedy_diou_nms])
def test_a_box_at_exactly_the_threshold_is_kept_but_suppresses_nothing(nms):
    """§7.2 boundary: a box is kept iff its DIoU' with kept higher-ranked boxes is <= threshold, but only
    boxes below the threshold (``<``) suppress. With threshold 0.25: A = OUTER; B = INNER (DIoU'(A, B)
    = 0.25: kept, not suppressing); C = INNER again (DIoU'(A, C) = 0.25, DIoU'(B, C) = 1, but B does not
    suppress): kept too."""
    boxes = torch.tensor([OUTER, INNER, INNER])
    assert nms(boxes, torch.tensor([0.9, 0.8, 0.7]), 0.25).tolist() == [0, 1, 2]
    # just below 0.25 the same boxes are suppressed by A
    assert nms(boxes, torch.tensor([0.9, 0.8, 0.7]), 0.2499).tolist() == [0]


def _disjoint_rows(count: int) -> torch.Tensor:
    """``count`` decoded rows of 4x4 boxes 10 px apart (no overlap, DIoU' < 0), scores all distinct."""
    index = torch.arange(count, dtype=torch.float32)
    centre_x, centre_y = (index % 20) * 10 + 5, torch.div(index, 20, rounding_mode="floor") * 10 + 5
    confidence = (0.6 + 0.39 * index / count).sqrt()  # obj = cls, score = 0.6 + 0.39 i / count > 0.5
    size = torch.full((count,), 4.0)
    return torch.stack((centre_x, centre_y, size, size, confidence, confidence), dim=1)


def test_detect_keeps_at_most_300_boxes_by_default_the_best_scored():
    """§7.1 step 5: at most 300 boxes, the highest scores, in descending score order."""
    decoded = _disjoint_rows(320)
    boxes, scores = detect(decoded)
    assert boxes.shape == (300, 4)
    expected_scores = decoded[:, 4] * decoded[:, 5]
    torch.testing.assert_close(scores, expected_scores.flip(0)[:300])  # row i scores higher with i
    torch.testing.assert_close(boxes[0], torch.tensor([193.0, 153.0, 197.0, 157.0]))  # row 319


def test_detect_runs_the_box_by_box_nms_only_above_the_matrix_limit(monkeypatch):
    """Above ``MATRIX_NMS_LIMIT`` candidates `detect` uses `greedy_diou_nms` (memory linear in the count),
    at or below it the matrix form."""

    def refuse(*args, **kwargs):
        raise AssertionError("the other NMS form was expected")

    monkeypatch.setattr(postprocess, "MATRIX_NMS_LIMIT", 2)
    monkeypatch.setattr(postprocess, "cluster_diou_nms", refuse)
    boxes, _ = detect(_disjoint_rows(3))  # 3 > 2: box by box
    assert boxes.shape == (3, 4)
    monkeypatch.setattr(postprocess, "cluster_diou_nms", cluster_diou_nms)
    monkeypatch.setattr(postprocess, "greedy_diou_nms", refuse)
    boxes, _ = detect(_disjoint_rows(2))  # exactly the limit: the matrix form
    assert boxes.shape == (2, 4)


def test_the_matrix_iteration_cap_counts_single_iterations():
    """§7.2: a chain A > B > C (DIoU'(A, B) 0.795, DIoU'(B, C) 0.610, DIoU'(A, C) 0.446, worked out in
    ``test_chain_suppression_needs_the_iterations``) needs two iterations: the first is Fast NMS (B and
    C go), the second frees C (B, suppressed, no longer counts). A cap of 2 allows exactly that."""
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 0.0, 11.0, 10.0], [3.0, 0.0, 13.0, 10.0]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    assert cluster_diou_nms(boxes, scores, 0.6, max_iterations=2).tolist() == [0, 2]


def test_embeddings_are_read_on_the_stride_8_grid_by_default():
    """§7.1 step 6: col = floor(cx / 8), row = floor(cy / 8). Centre (17, 9): cell (1, 2); with a stride
    of 9 it would be (1, 1)."""
    rows, cols = torch.meshgrid(torch.arange(4.0), torch.arange(5.0), indexing="ij")
    embedding_map = torch.stack((rows, cols), dim=2)  # value = (row, col)
    features = embeddings_at_boxes(embedding_map, torch.tensor([[15.0, 7.0, 19.0, 11.0]]))
    torch.testing.assert_close(features, torch.tensor([[1.0, 2.0]]))


def test_clip_boxes_clamps_x_to_the_width_and_y_to_the_height():
    """x1, x2 into [0, W], y1, y2 into [0, H], each coordinate on its own axis (frame 100 wide, 50 high)."""
    boxes = torch.tensor([[-5.0, 10.0, 120.0, 40.0], [20.0, -3.0, 30.0, 60.0]])
    expected = torch.tensor([[0.0, 10.0, 100.0, 40.0], [20.0, 0.0, 30.0, 50.0]])
    torch.testing.assert_close(clip_boxes(boxes, (50, 100)), expected)
