"""Edge cases of the embedding diagnostics (`discmot analyze`'s library) that the end-to-end tests leave open.

Expected values come from docs/tracking.md ("Embedding diagnostics: `discmot analyze`": FDTA keeps queries
with score > 0.3, matches at IoU >= 0.5, counts cosines above 0.9 in a 20-bin histogram over [-1, 1],
re-identification gaps 1, 5, 20, 50, templates at t-1), the modules' docstrings and hand calculations on
axis-aligned or known-angle unit vectors whose cosines are exact.
"""

from __future__ import annotations

import numpy as np
import pytest

from discmot.analysis.embeddings import (
    AnalysisConfig,
    FrameObjects,
    fraction_above,
    match_detections,
    project_2d,
    reidentification,
    select_queries,
    similarity_histogram,
    tlwh_to_xyxy,
    view_statistics,
)


def unit_at(angles_deg) -> np.ndarray:
    """2-D unit vectors at the given angles: cosines between them are cos(angle differences)."""
    radians = np.deg2rad(np.asarray(angles_deg, dtype=np.float64))
    return np.stack([np.cos(radians), np.sin(radians)], axis=1)


def frame_of(number: int, ids, vectors) -> FrameObjects:
    vectors = np.asarray(vectors, dtype=np.float64)
    return FrameObjects(number, np.asarray(ids, dtype=np.int64), np.zeros((len(vectors), 4)), {"v": vectors})


# --------------------------------------------------------------------------------------------------
# Settings


def test_default_settings_are_the_documented_ones():
    """docs/tracking.md: score > 0.3, IoU >= 0.5, threshold 0.9, a 20-bin histogram, gaps 1/5/20/50,
    matrices against the same objects at t-1."""
    config = AnalysisConfig()
    assert (config.score_threshold, config.iou_threshold, config.similarity_threshold) == (0.3, 0.5, 0.9)
    assert config.bins == 20 and config.template_lag == 1
    assert config.reid_lags == (1, 5, 20, 50)


@pytest.mark.parametrize("bad", [{"bins": 0}, {"template_lag": 0}, {"max_projection_points": 2}])
def test_each_invalid_setting_is_refused_on_its_own(bad):
    """Each of bins < 1, template_lag < 1, max_projection_points < 3 is refused alone (not only together)."""
    with pytest.raises(ValueError, match="invalid analysis settings"):
        AnalysisConfig(**bad)


def test_the_smallest_valid_settings_are_accepted():
    config = AnalysisConfig(bins=1, template_lag=1, max_projection_points=3, reid_lags=(1,))
    assert (config.bins, config.max_projection_points) == (1, 3)


# --------------------------------------------------------------------------------------------------
# Threshold boundaries


def test_a_cosine_exactly_at_the_threshold_is_not_above_it():
    """'strictly above' (AnalysisConfig docstring): 0.9 itself does not count."""
    assert fraction_above(np.array([0.9, 0.95, 0.5, 0.9]), 0.9) == pytest.approx(0.25)


def test_view_statistics_count_only_pairs_strictly_above_the_threshold():
    """Axis vectors give exact cosines: ids 1, 2, 3 at x, y, x -> pairs 0, 1, 0. With threshold 0 only the
    pair at cosine 1 is above (the two at exactly 0 are not)."""
    frame = frame_of(1, [1, 2, 3], [[1, 0], [0, 1], [1, 0]])
    stats = view_statistics([frame], "v", AnalysisConfig(similarity_threshold=0.0, bins=4, reid_lags=(1,)))
    assert (stats.pairs, stats.above) == (3, 1)
    assert stats.fraction_above == pytest.approx(1 / 3)
    assert stats.per_frame[0][3] == pytest.approx(1 / 3)
    assert stats.mean_similarity == pytest.approx(1 / 3)
    # 4 bins over [-1, 1]: 0 falls in [0, 0.5), 1 in the closed last bin
    assert stats.histogram.tolist() == [0, 0, 2, 1]


def test_a_detection_at_iou_exactly_the_threshold_is_kept():
    """IoU >= 0.5 (docs/tracking.md): det [0, 0, 10, 10] vs box [0, 0, 20, 10] -> 100 / 200 = 0.5 exactly."""
    rows, cols = match_detections(np.array([[0.0, 0, 10, 10]]), np.array([[0.0, 0, 20, 10]]), 0.5)
    assert rows.tolist() == [0] and cols.tolist() == [0]


def test_matching_with_nothing_on_one_side_returns_empty_int_arrays():
    for detections, boxes in (
        (np.zeros((0, 4)), np.array([[0.0, 0, 1, 1]])),
        (np.array([[0.0, 0, 1, 1]]), np.zeros((0, 4))),
    ):
        rows, cols = match_detections(detections, boxes)
        assert rows.dtype == np.int64 and cols.dtype == np.int64
        assert len(rows) == 0 and len(cols) == 0


def test_tlwh_boxes_become_corners():
    """x, y, w, h -> x1, y1, x1 + w, y1 + h; a single flat box is one row."""
    np.testing.assert_array_equal(tlwh_to_xyxy([[10, 20, 30, 40]]), [[10, 20, 40, 60]])
    np.testing.assert_array_equal(tlwh_to_xyxy([1, 2, 3, 4]), [[1, 2, 4, 6]])
    assert tlwh_to_xyxy(np.zeros((0, 4))).shape == (0, 4)


def test_histogram_clips_rounded_cosines_into_the_end_bins():
    """'values clipped to [-1, 1] first, since a rounded cosine of identical vectors can be 1 + 1e-16':
    values just outside [-1, 1] land in the first and last bins instead of being dropped."""
    counts = similarity_histogram(np.array([-1 - 1e-12, 1 + 1e-12, 1.2, -1.4]), 4)
    assert counts.tolist() == [2, 0, 0, 2]


# --------------------------------------------------------------------------------------------------
# Re-identification


def test_no_frames_at_all_say_no_frame_analysed():
    rate = reidentification([], "v", 1)
    assert rate.queries == 0 and np.isnan(rate.rank1) and np.isnan(rate.chance)
    assert rate.reason == "no frame analysed"


def test_a_gap_equal_to_the_span_is_measured_not_called_too_long():
    """Frames 1 and 5 span 4: a gap of 4 pairs them (two queries, both hits); a gap of 5 is too long."""
    frames = [frame_of(t, [1, 2], unit_at([0, 90])) for t in (1, 5)]
    gap4 = reidentification(frames, "v", 4)
    assert (gap4.queries, gap4.hits, gap4.reason) == (2, 2, "")
    assert gap4.chance == pytest.approx(0.5)
    assert reidentification(frames, "v", 5).reason == "gap longer than the 2 analysed frames span"


def test_a_later_frame_without_known_objects_does_not_spoil_the_count():
    """Frame 2 holds only a new id 9 (not in frame 1: no query, nothing added to the chance); frame 3
    re-finds both ids of frame 1 at gap 2 (two queries, two hits, chance 1/2)."""
    frames = [
        frame_of(1, [1, 2], unit_at([0, 90])),
        frame_of(2, [9], unit_at([45])),
        frame_of(3, [2, 1], unit_at([85, 5])),
    ]
    gap1 = reidentification(frames, "v", 1)
    # frame 2 -> frame 1: id 9 unknown; frame 3 -> frame 2: frame 2 has one object only (no choice)
    assert (gap1.queries, gap1.hits) == (0, 0)
    gap2 = reidentification(frames, "v", 2)
    assert (gap2.queries, gap2.hits) == (2, 2) and gap2.chance == pytest.approx(0.5)


def test_some_frames_with_objects_and_some_without_blame_the_gap_not_the_objects():
    """'no object identified' only when *no* frame has an object; frames 1, 2 hold lone objects, frame 3
    none: the reason is about finding objects again."""
    frames = [
        frame_of(1, [1], unit_at([0])),
        frame_of(2, [1], unit_at([0])),
        frame_of(3, [], np.zeros((0, 2))),
    ]
    assert reidentification(frames, "v", 1).reason == (
        "no object found again 1 frame later among two or more earlier objects"
    )


# --------------------------------------------------------------------------------------------------
# FDTA query selection


def _detect_output(logits, boxes_cxcywh, features):
    import torch

    return {
        "pred_logits": torch.tensor(logits, dtype=torch.float32).reshape(1, -1, 1),
        "pred_boxes": torch.tensor(boxes_cxcywh, dtype=torch.float32).reshape(1, -1, 4),
        "outputs": torch.tensor(features, dtype=torch.float32).reshape(1, len(logits), -1),
    }


def test_select_queries_keeps_scores_strictly_above_and_scales_boxes_to_the_frame():
    """Queries with sigmoid score > threshold (at or below: dropped), boxes cx, cy, w, h normalised ->
    corners in pixels of a 100 x 200 (h x w) frame; embeddings of the kept queries in query order."""
    import torch

    logits = [2.0, -3.0, 0.0, 1.0]  # scores 0.881, 0.047, 0.5, 0.731
    boxes = [[0.5, 0.5, 0.2, 0.4], [0.1, 0.1, 0.1, 0.1], [0.25, 0.75, 0.5, 0.5], [0.5, 0.5, 0.2, 0.2]]
    assert float(torch.tensor(0.0).sigmoid()) == 0.5
    features = [[1.0, 0.0], [2.0, 0.0], [3.0, 0.0], [4.0, 0.0]]
    # threshold 0.5 = sigmoid(0), query 2's score exactly: "at or below" is dropped, queries 0 and 3 remain
    threshold = 0.5
    xyxy, scores, outputs = select_queries(_detect_output(logits, boxes, features), (100, 200), threshold)
    # query 0: x 0.4..0.6 of 200, y 0.3..0.7 of 100; query 3: x 0.4..0.6 of 200, y 0.4..0.6 of 100
    np.testing.assert_allclose(xyxy, [[80, 30, 120, 70], [80, 40, 120, 60]], atol=1e-4)
    np.testing.assert_allclose(scores, [1 / (1 + np.exp(-2.0)), 1 / (1 + np.exp(-1.0))], atol=1e-6)
    assert outputs.dtype == torch.float32
    np.testing.assert_array_equal(outputs.numpy(), [[1.0, 0.0], [4.0, 0.0]])


def test_select_queries_default_threshold_is_0_3():
    """Scores 0.25 and 0.35 (logits log(s / (1 - s))): only 0.35 passes FDTA's > 0.3."""
    logits = [float(np.log(0.25 / 0.75)), float(np.log(0.35 / 0.65))]
    out = _detect_output(logits, [[0.5, 0.5, 0.2, 0.2]] * 2, [[1.0], [2.0]])
    _, scores, outputs = select_queries(out, (10, 10))
    np.testing.assert_allclose(scores, [0.35], atol=1e-6)
    assert outputs.numpy().tolist() == [[2.0]]


# --------------------------------------------------------------------------------------------------
# 2-D map


def test_pca_map_is_centred_and_keeps_cosine_geometry():
    """PCA of L2-normalised rows: row lengths do not matter, the points are centred, and with 2-D
    embeddings the map is a rotation of the centred unit vectors, so distances are kept (x at 0 and y at
    90 degrees are sqrt(2) apart, two rows at 0 degrees coincide)."""
    embeddings = unit_at([0, 0, 90]) * np.array([[1.0], [5.0], [0.2]])
    points, _ = project_2d(embeddings, method="pca")
    np.testing.assert_allclose(points.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(points[0] - points[2]), np.sqrt(2), atol=1e-12)
    np.testing.assert_allclose(points[0], points[1], atol=1e-12)


def test_pca_of_one_dimensional_embeddings_is_padded_to_two_columns():
    points, _ = project_2d(np.array([[2.0], [-1.0], [3.0]]), method="pca")
    assert points.shape == (3, 2)
    np.testing.assert_allclose(points[:, 1], 0.0)
    # unit rows are +1, -1, +1: centred 1/3, -5/3... up to sign, the spread between -1 and +1 is 2
    np.testing.assert_allclose(abs(points[0, 0] - points[1, 0]), 2.0, atol=1e-12)


def test_auto_map_needs_more_than_three_points_for_tsne():
    """'t-SNE when scikit-learn is installed, else PCA' and t-SNE only for more than 3 points."""
    pytest.importorskip("sklearn", reason="t-SNE is the optional analysis extra (scikit-learn)")
    _, method = project_2d(unit_at([0, 120, 240]), method="auto")
    assert method == "PCA"
    points, method = project_2d(unit_at([0, 90, 180, 270]), method="auto")  # 4 points: t-SNE
    assert method.startswith("t-SNE") and points.shape == (4, 2)
    with pytest.raises(ValueError, match="unknown projection method"):
        project_2d(unit_at([0, 90]), method="umap")


def test_view_statistics_of_no_frames_have_no_pairs():
    """Nothing analysed: zero pairs, NaN fraction and mean (the report's n/a), an all-zero histogram."""
    stats = view_statistics([], "v", AnalysisConfig(bins=4, reid_lags=(1,)))
    assert (stats.pairs, stats.above, stats.per_frame) == (0, 0, [])
    assert np.isnan(stats.fraction_above) and np.isnan(stats.mean_similarity)
    assert stats.histogram.tolist() == [0, 0, 0, 0]
    assert stats.reid[0].reason == "no frame analysed"


# --------------------------------------------------------------------------------------------------
# Extractors on scripted models (discmot.analysis.extract)


class ScriptedFDTA:
    """Stands in for an FDTA model: `detect` returns scripted outputs, one per frame, and the adapters are
    closed-form: the Temporal Adapter is a running sum over time of the features plus 1000 per masked step
    (so the last step of an object is the sum of its window's embeddings + 1000 x its missing frames), the
    FFN adapter doubles."""

    def __init__(self, outputs, miss_tolerance: int = 3):
        from types import SimpleNamespace

        from discmot.models.fdta.config import RuntimeConfig

        runtime = RuntimeConfig(shorter_side=16, max_longer_side=32, miss_tolerance=miss_tolerance)
        self.config = SimpleNamespace(runtime=runtime)
        self.outputs = list(outputs)
        self.masks = []

    def detect(self, images, mask=None):
        return self.outputs.pop(0)

    def trajectory_embedding(self, features, masks):
        # laid out [1, 1, T, N, F] as in FDTA.id_logits (extract module docstring), masks [1, 1, T, N]
        assert features.dim() == 5 and features.shape[:2] == (1, 1) and masks.shape == features.shape[:4]
        self.masks.append(masks.clone())
        return features.cumsum(dim=2) + 1000.0 * masks.float().cumsum(dim=2)[..., None]

    def trajectory_modeling(self, encoded):
        return 2.0 * encoded


# a 40 x 20 (w x h) frame; gt id 7 at tlwh (0, 0, 10, 10), id 3 at (20, 0, 10, 10)
FRAME = np.zeros((20, 40, 3), np.uint8)
GT = (np.array([[0.0, 0, 10, 10], [20.0, 0, 10, 10]]), np.array([7, 3]))
BOX_ID7 = [5 / 40, 5 / 20, 10 / 40, 10 / 20]  # normalised cx, cy, w, h of gt id 7
BOX_ID3 = [25 / 40, 5 / 20, 10 / 40, 10 / 20]
HIGH, LOW = 3.0, -3.0  # logits: scores 0.95 and 0.05


def test_fdta_extractor_identifies_queries_by_gt_and_windows_the_adapters_input():
    """Frame 1: queries [id 3, dropped (low score), id 7]; frame 2: id 7 only; frame 3: id 3 only.
    miss_tolerance 3 -> a window of 2 frames (the tracker's W = miss_tolerance - 1), so at frame 3 the
    window holds frames 2 and 3: id 3 is masked at frame 2 and present at frame 3 (its frame 1 embedding
    has left the window)."""
    from discmot.analysis.extract import FDTAExtractor

    model = ScriptedFDTA(
        [
            _detect_output([HIGH, LOW, HIGH], [BOX_ID3, BOX_ID3, BOX_ID7], [[1.0, 0], [9.0, 9], [0.0, 1]]),
            _detect_output([LOW, HIGH], [BOX_ID3, BOX_ID7], [[9.0, 9], [0.0, 3]]),
            _detect_output([HIGH, LOW], [BOX_ID3, BOX_ID7], [[5.0, 0], [9.0, 9]]),
        ]
    )
    extractor = FDTAExtractor(model, AnalysisConfig(), input_size=(16, 16))
    assert extractor.window.maxlen == 2

    first = extractor(1, FRAME, GT)
    assert first.frame == 1 and first.ids.tolist() == [3, 7]  # query order
    np.testing.assert_allclose(first.boxes, [[20, 0, 10, 10], [0, 0, 10, 10]], atol=1e-4)
    np.testing.assert_array_equal(first.embeddings["decoder"], [[1, 0], [0, 1]])
    np.testing.assert_allclose(first.embeddings["adapted"], [[2, 0], [0, 2]])

    second = extractor(2, FRAME, GT)
    assert second.ids.tolist() == [7]
    # id 7 present in both frames: 2 x ((0, 1) + (0, 3)), nothing masked
    np.testing.assert_allclose(second.embeddings["adapted"], [[0, 8]])
    # columns: ids 3, 7 (sorted); id 3 missing at frame 2 (masked), present at frame 1
    assert model.masks[-1][0, 0].tolist() == [[False, False], [True, False]]

    third = extractor(3, FRAME, GT)
    assert third.ids.tolist() == [3]
    # window = frames 2, 3: id 3 masked at 2 (+1000), (5, 0) at 3; doubled
    np.testing.assert_allclose(third.embeddings["adapted"], [[2 * (5 + 1000), 2 * 1000]])
    assert model.masks[-1].shape == (1, 1, 2, 2)


def test_fdta_extractor_frame_without_identified_objects_gives_empty_views():
    from discmot.analysis.extract import FDTAExtractor

    model = ScriptedFDTA(
        [_detect_output([LOW, HIGH], [BOX_ID3, [0.9, 0.9, 0.1, 0.1]], [[1.0, 2, 3], [4, 5, 6]])]
    )
    objects = FDTAExtractor(model, AnalysisConfig(), input_size=(16, 16))(1, FRAME, GT)
    assert len(objects) == 0 and objects.boxes.shape == (0, 4)
    assert objects.embeddings["decoder"].shape == (0, 3) and objects.embeddings["adapted"].shape == (0, 3)
    assert objects.embeddings["adapted"].dtype == np.float32


def test_fdta_extractor_window_is_at_least_one_frame():
    """miss_tolerance 2 -> W = 1: only the current frame feeds the adapters."""
    from discmot.analysis.extract import FDTAExtractor

    model = ScriptedFDTA([], miss_tolerance=2)
    assert FDTAExtractor(model, AnalysisConfig(), input_size=(16, 16)).window.maxlen == 1


def test_fdta_network_input_is_the_given_size_or_the_checkpoint_rule():
    """Given: itself, 'given'. Else the runtime rule (shorter side 16, longer at most 32): a 40 x 20 frame
    -> shorter 20 -> 16, longer 40 -> int(16 * 40 / 20) = 32 (not above 32) -> (h, w) = (16, 32); no frame
    size -> only the rule."""
    from discmot.analysis.extract import FDTAExtractor

    model = ScriptedFDTA([])
    assert FDTAExtractor(model, AnalysisConfig(), input_size=[16, 24]).network_input((40, 20)) == (
        (16, 24),
        "given",
    )
    extractor = FDTAExtractor(model, AnalysisConfig())
    size, rule = extractor.network_input((40, 20))
    assert size == (16, 32) and "shorter side 16" in rule and "at most 32" in rule
    assert extractor.network_input(None) == (None, rule)


def test_build_extractor_picks_the_kind_and_refuses_others():
    from discmot.analysis.extract import FDTAExtractor, build_extractor

    model = ScriptedFDTA([])
    extractor = build_extractor("fdta", model, AnalysisConfig())
    assert isinstance(extractor, FDTAExtractor) and extractor.tracker is None
    with pytest.raises(ValueError, match="unknown model kind"):
        build_extractor("motr", model, AnalysisConfig())


def test_cstrack_extractor_drops_scores_at_or_below_the_threshold_and_keeps_box_order():
    """CSTrackExtractor docstring: 'detections at or below score_threshold are dropped'. Scripted
    detections (tlwh): id 3's box at score 0.3 exactly (dropped), id 7's box at 0.8, id 3's box again at 0.9;
    rows of the kept ones in detection order."""
    from types import SimpleNamespace

    from discmot.analysis.extract import CSTrackExtractor

    detections = SimpleNamespace(
        scores=np.array([0.3, 0.8, 0.9]),
        boxes=np.array([[20.0, 0, 10, 10], [0.0, 0, 10, 10], [20.0, 0, 10, 10]]),
        embeddings=np.array([[1.0, 0], [0.0, 1], [0.6, 0.8]]),
    )
    extractor = object.__new__(CSTrackExtractor)  # no network: the tracker is scripted
    extractor.config, extractor.with_tracker, extractor.given_input_size = AnalysisConfig(), False, False
    extractor.tracker = SimpleNamespace(detections=lambda image: detections, input_size=(192, 320))
    objects = extractor(4, FRAME, GT)
    assert objects.frame == 4 and objects.ids.tolist() == [7, 3]
    np.testing.assert_array_equal(objects.boxes, [[0, 0, 10, 10], [20, 0, 10, 10]])
    np.testing.assert_array_equal(objects.embeddings["reid"], np.array([[0, 1], [0.6, 0.8]], np.float32))
    assert objects.embeddings["reid"].dtype == np.float32
    assert extractor.network_input(None) == ((192, 320), "the checkpoint's config (input_size)")
    extractor.given_input_size = True
    assert extractor.network_input((40, 20)) == ((192, 320), "given")


# --------------------------------------------------------------------------------------------------
# The HTML report (discmot.analysis.report)


def test_numbers_print_n_a_for_nan_and_none_only():
    from discmot.analysis.report import format_number

    assert format_number(float("nan"), "{:.4f}") == "n/a" and format_number(None, "{:d}") == "n/a"
    assert format_number(0.25, "{:.4f}") == "0.2500" and format_number(3, "{:d}") == "3"
    assert format_number(0.0, "{:.4f}") == "0.0000"


def test_a_reid_cell_is_rank1_with_chance_or_n_a_with_the_reason():
    """reid_cell docstring: '0.917 (0.104)' (rank-1, chance), or 'n/a (<why>)'."""
    from discmot.analysis.report import reid_cell

    assert reid_cell({"rank1": 11 / 12, "chance": 0.104, "reason": ""}) == "0.917 (0.104)"
    assert reid_cell({"rank1": 0.0, "chance": 0.5}) == "0.000 (0.500)"
    why = "gap longer than the 40 analysed frames span"
    assert reid_cell({"rank1": None, "chance": None, "reason": why}) == f"n/a ({why})"
    assert reid_cell({"rank1": None, "chance": None, "reason": ""}) == "n/a (no query)"


def test_the_network_input_reads_h_x_w_with_its_origin_or_the_rule_alone():
    from discmot.analysis.report import network_input_text

    given = {"input_size": [160, 256], "input_size_origin": "given"}
    assert network_input_text(given) == "160x256 (h x w; given)"  # the docstring's example
    assert network_input_text({"input_size": None, "input_size_origin": "the rule"}) == "the rule"
    assert network_input_text({"input_size": [8, 16], "input_size_origin": None}) == "8x16 (h x w; unknown)"
    assert network_input_text({}) == "unknown"


def _summary(**extra) -> dict:
    stats = {
        "description": "decoder <embeddings>",
        "frames": 3,
        "pairs": 4,
        "above": 1,
        "fraction_above": 0.25,
        "mean_similarity": float("nan"),
        "reid": [
            {"lag": 1, "rank1": 0.5, "chance": 1 / 3, "reason": ""},
            {"lag": 50, "rank1": None, "chance": None, "reason": "x"},
        ],
    }
    summary = {
        "model": "fdta",
        "weights": "w.safetensors",
        "source": "seq",
        "identities": "ground truth",
        "settings": {
            "similarity_threshold": 0.9,
            "reid_lags": [1, 50],
            "input_size": [160, 256],
            "input_size_origin": "given",
        },
        "views": {"decoder": stats},
    }
    summary.update(extra)
    return summary


def test_the_report_table_cells_carry_the_summary_numbers():
    """Module docstring: every number cell carries data-key '<view>.<statistic>'; NaN prints n/a; the
    threshold is stated as 'cosine > 0.9'; reid cells are '<view>.reid.<lag>.rank1'."""
    from discmot.analysis.report import Figure, render_html

    page = render_html(_summary(), [Figure("h.png", "Histogram", "caption", b"\x89PNG")])
    assert page.startswith("<!DOCTYPE html>\n") and page.endswith("</body></html>\n")
    for key, text in (
        ("frames", "3"),
        ("pairs", "4"),
        ("above", "1"),
        ("fraction_above", "0.2500"),
        ("mean_similarity", "n/a"),
    ):
        assert f'<td data-key="decoder.{key}">{text}</td>' in page
    assert '<td data-key="decoder.reid.1.rank1">0.500 (0.333)</td>' in page
    assert '<td data-key="decoder.reid.50.rank1">n/a (x)</td>' in page
    assert "cosine &gt; 0.9." in page and "160x256 (h x w; given)" in page
    assert "decoder &lt;embeddings&gt;" in page  # escaped
    assert 'src="data:image/png;base64,iVBORw=="' in page
    assert "<script" not in page and "Self-consistency only" not in page and "<h2>Notes</h2>" not in page


def test_the_report_names_gt_file_caveat_and_notes_only_when_given():
    from discmot.analysis.report import render_html

    page = render_html(_summary(gt="gt/gt.txt", reid_caveat="tracker ids", notes=["frame 9: no matrix"]), [])
    assert "identities from ground truth in <code>gt/gt.txt</code>" in page
    assert '<p class="caveat"><b>Self-consistency only.</b> tracker ids</p>' in page
    assert "<h2>Notes</h2><ul><li>frame 9: no matrix</li></ul>" in page


def test_without_scikit_learn_the_map_is_pca_and_says_how_to_get_tsne(monkeypatch):
    """docs/tracking.md: t-SNE with the optional scikit-learn; 'PCA, labelled so, without it'."""
    import sys

    from discmot.analysis.embeddings import tsne_available

    monkeypatch.setitem(sys.modules, "sklearn.manifold", None)  # import fails as if not installed
    assert tsne_available() is False
    points, method = project_2d(unit_at([0, 60, 120, 180, 240]), method="auto")
    assert points.shape == (5, 2)
    assert method.startswith("PCA (t-SNE needs scikit-learn") and "discmot[analysis]" in method


# --------------------------------------------------------------------------------------------------
# Figures (discmot.analysis.figures)


def test_left_out_ids_are_counted_and_listed_by_frame():
    """left_out_text docstring: '2 ids left out, in one frame only (6: frame 21; 11: frame 20)'."""
    from discmot.analysis.embeddings import SimilarityMatrix
    from discmot.analysis.figures import left_out_count, left_out_text

    ids = np.array([1, 2])
    both = SimilarityMatrix(np.eye(2), ids, np.array([6]), np.array([11]))
    assert left_out_text(both, 21, 20) == "2 ids left out, in one frame only (6: frame 21; 11: frame 20)"
    one = SimilarityMatrix(np.eye(2), ids, np.zeros(0, np.int64), np.array([4, 9]))
    assert left_out_text(one, 21, 20) == "2 ids left out, in one frame only (4, 9: frame 20)"
    lone = SimilarityMatrix(np.eye(2), ids, np.array([3]), np.zeros(0, np.int64))
    assert left_out_count(lone) == "1 id left out, in one frame only"
    none = SimilarityMatrix(np.eye(2), ids, np.zeros(0, np.int64), np.zeros(0, np.int64))
    assert left_out_count(none) == "" and left_out_text(none, 21, 20) == ""


def test_matrix_records_compare_frame_t_with_its_templates_lag_frames_earlier():
    """Frame 7 vs templates at 7 - 2 = 5 (lag 2): ids 3, 7 in both; id 5 only at 7, id 9 only at 5. The
    record's matrix is rounded to 6 decimals: cos 10 deg = 0.984808, cos 80 deg = 0.173648."""
    from discmot.analysis.figures import matrix_figures

    frames = [
        frame_of(5, [3, 9, 7], unit_at([10, 45, 90])),
        frame_of(6, [1, 2], unit_at([0, 90])),
        frame_of(7, [7, 5, 3], unit_at([90, 30, 0])),
    ]
    figures, records = matrix_figures(frames, ["v"], [7], 2, "fdta")
    assert [f.name for f in figures] == ["matrix_v_frame7.png"]
    assert figures[0].title == "Similarity matrix, fdta v, frame 7"
    assert figures[0].caption.endswith(" 2 ids left out, in one frame only (5: frame 7; 9: frame 5).")
    assert figures[0].png.startswith(b"\x89PNG")
    record = records[0]
    assert (record["view"], record["frame"], record["template_frame"], record["png"]) == (
        "v",
        7,
        5,
        "matrix_v_frame7.png",
    )
    assert record["ids"] == [3, 7]
    assert (record["left_out_current_ids"], record["left_out_template_ids"]) == ([5], [9])
    assert record["matrix"] == [[0.984808, 0.0], [0.173648, 1.0]]


def test_projection_subsamples_evenly_and_needs_three_embeddings():
    """max_projection_points 3 of 5 embeddings: a map of 3 points per view (PCA: t-SNE needs more than 3);
    a run with only two identified embeddings gets no map at all."""
    from discmot.analysis.figures import projection_figures

    frames = [
        FrameObjects(t, np.array([t]), np.zeros((1, 4)), {"a": unit_at([20 * t]), "b": unit_at([-20 * t])})
        for t in range(1, 6)
    ]
    config = AnalysisConfig(max_projection_points=3)
    figures, methods = projection_figures(frames, ["a", "b"], config, "cstrack")
    assert [f.name for f in figures] == ["projection_a.png", "projection_b.png"] and list(methods) == [
        "a",
        "b",
    ]
    assert methods["a"].startswith("PCA")
    assert figures[0].caption.startswith(f"{methods['a']} of 3 embeddings")
    assert figures[0].title == "Embedding map, cstrack a"
    assert projection_figures(frames[:2], ["a", "b"], config, "cstrack") == ([], {})


def test_projection_input_takes_evenly_spaced_rows():
    from discmot.analysis.figures import _projection_input

    frames = [frame_of(t, [10 + t], unit_at([20 * t])) for t in range(7)]
    embeddings, ids = _projection_input(frames, "v", 4)
    # linspace(0, 6, 4) = 0, 2, 4, 6
    assert ids.tolist() == [10, 12, 14, 16]
    np.testing.assert_allclose(embeddings, unit_at([0, 40, 80, 120]))
    assert _projection_input(frames, "v", 7)[1].tolist() == list(range(10, 17))


def test_reid_caption_names_the_gaps_without_a_value_and_the_caveat():
    from discmot.analysis.figures import statistics_figures

    frames = [frame_of(t, [1, 2], unit_at([0, 90])) for t in (1, 2)]
    config = AnalysisConfig(reid_lags=(1, 5))
    stats = {"v": view_statistics(frames, "v", config)}
    figures = statistics_figures(stats, config, "fdta", caveat="Tracker ids.")
    assert [f.name for f in figures] == ["histogram.png", "fraction_per_frame.png", "reid.png"]
    caption = figures[2].caption
    assert "No point where there is no value (gap 5: gap longer than the 2 analysed frames span)." in caption
    assert "gap 1:" not in caption and caption.endswith(" Tracker ids.")
    plain = statistics_figures(stats, config, "fdta")[2].caption
    assert not plain.endswith("Tracker ids.")


def test_cstrack_extractor_tracker_keeps_every_track_shape():
    """Every track identifies its boxes: CSTrack's pedestrian output filter (w/h <= 0.6) is off in the
    analysis tracker, else wide dancer boxes leave nothing to analyse (extract.py, and the end-to-end
    test_cstrack_tracker_ids_are_not_filtered_to_pedestrian_shapes). Ground truth is the default source of
    identities; the bundled tiny CSTrack's own input size is 192 x 320."""
    from pathlib import Path

    from discmot import load_model
    from discmot.analysis.extract import CSTrackExtractor

    weights = (
        Path(__file__).resolve().parents[2] / "src" / "discmot" / "assets" / "cstrack_tiny_synth.safetensors"
    )
    from discmot.analysis.extract import build_extractor

    extractor = build_extractor("cstrack", load_model("cstrack", weights), AnalysisConfig())
    assert isinstance(extractor, CSTrackExtractor)
    assert extractor.tracker.association.config.output_filter is False
    assert extractor.with_tracker is False and extractor.given_input_size is False
    assert extractor.network_input(None) == ((192, 320), "the checkpoint's config (input_size)")


def test_fraction_plot_puts_frame_numbers_on_x_and_each_frames_fraction_on_y(monkeypatch):
    """fraction_per_frame.png: x = the frame ('frame' axis), y = that frame's fraction above the threshold
    (frame 4: ids at x, y, x -> 1 of 3 pairs above 0.9; frame 9: x, y -> 0 of 1; frame 10: one object, no
    pairs -> NaN, a gap). The re-identification plot: x = gaps, y = rank-1, plus the chance line."""
    from discmot.analysis.figures import statistics_figures
    from discmot.viz import plots

    calls = []
    original = plots.line_plot

    def recording_line_plot(series, *args, **kwargs):
        calls.append((series, args))
        return original(series, *args, **kwargs)

    monkeypatch.setattr(plots, "line_plot", recording_line_plot)
    frames = [
        frame_of(4, [1, 2, 3], [[1, 0], [0, 1], [1, 0]]),
        frame_of(9, [1, 2], [[1, 0], [0, 1]]),
        frame_of(10, [1], [[1, 0]]),
    ]
    config = AnalysisConfig(reid_lags=(1, 5))
    statistics_figures({"v": view_statistics(frames, "v", config)}, config, "fdta")
    (fraction, fraction_args), (reid, reid_args) = calls
    assert fraction_args[1:] == ("frame", "fraction > 0.9")
    np.testing.assert_array_equal(fraction["v"][0], [4, 9, 10])
    np.testing.assert_allclose(fraction["v"][1], [1 / 3, 0.0, np.nan])
    assert list(reid) == ["v", "chance"] and reid_args[1:] == ("gap (frames)", "rank-1 rate")
    np.testing.assert_array_equal(reid["v"][0], [1, 5])
    # gap 1: frame 10 (one object) vs frame 9 (ids 1, 2): id 1 re-found; chance 1/2; gap 5: 9 vs 4, both hit
    np.testing.assert_allclose(reid["v"][1], [1.0, 1.0])
    np.testing.assert_allclose(reid["chance"][1], [0.5, (1 / 3 + 1 / 3) / 2])


# --------------------------------------------------------------------------------------------------
# analyze.py helpers


def test_gt_rows_with_consider_flag_0_are_dropped():
    """docs/tracking.md: 'gt rows with the "consider" flag 0 (MOT17 ignore regions) are dropped'; rows are
    grouped by frame as (tlwh float64, ids int64)."""
    import tempfile
    from pathlib import Path

    from discmot.analysis.analyze import read_gt

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "gt.txt"
        path.write_text("1,4,0,0,10,20,1,1,1\n1,5,30,0,10,10,0,1,1\n2,4,1,2,3,4,1,1,1\n2,5,5,5,5,5,0,1,1\n")
        truth = read_gt(path)
    assert sorted(truth) == [1, 2]
    boxes, ids = truth[1]
    assert ids.tolist() == [4] and ids.dtype == np.int64 and boxes.dtype == np.float64
    np.testing.assert_array_equal(boxes, [[0, 0, 10, 20]])
    np.testing.assert_array_equal(truth[2][0], [[1, 2, 3, 4]])


def test_default_matrix_frames_are_three_spread_over_the_usable_frames():
    """Without --frames: up to 3 evenly spaced frames among those with an id also at t - lag (docs:
    'default three frames spread over the run'). Frames 1..9 with one id each: usable 2..9 (8 frames),
    linspace(0, 7, 3) = 0, 3.5, 7 -> rounded 0, 4, 7 -> frames 2, 6, 9; two usable frames give two."""
    from discmot.analysis.analyze import DEFAULT_MATRIX_FRAMES, matrix_frames

    assert DEFAULT_MATRIX_FRAMES == 3
    frames = [frame_of(t, [1], unit_at([0])) for t in range(1, 10)]
    assert matrix_frames(frames, [], lag=1) == ([2, 6, 9], [])
    assert matrix_frames(frames[:3], [], lag=1) == ([2, 3], [])
    # lag 2: usable 3..9 -> linspace(0, 6, 3) = 0, 3, 6 -> frames 3, 6, 9
    assert matrix_frames(frames, [], lag=2) == ([3, 6, 9], [])


def test_a_frame_whose_template_frame_is_frame_1_gets_a_matrix_and_frame_0_does_not_exist():
    from discmot.analysis.analyze import matrix_frames

    frames = [frame_of(t, [1, 2], unit_at([0, 90])) for t in (1, 2, 3)]
    assert matrix_frames(frames, [3, 2], lag=2) == (
        [3],
        ["frame 2: no matrix (frame 0, the templates' frame, does not exist)"],
    )
    lone = [frame_of(3, [1], unit_at([0]))]
    assert matrix_frames(lone, [5], lag=1) == ([], ["frame 5: no matrix (not analysed; analysed: frame 3)"])


def test_nothing_identified_says_what_to_check_with_and_without_gt():
    from discmot.analysis.analyze import nothing_identified

    config = AnalysisConfig()
    empty = [frame_of(t, [], np.zeros((0, 2))) for t in (1, 2)]
    with_gt = nothing_identified(empty, True, config)
    assert with_gt.startswith("no object identified in the 2 analysed frames: no detection (score > 0.3)")
    assert "IoU >= 0.5" in with_gt
    one = nothing_identified(empty[:1], False, config)
    assert one.startswith("no object identified in the 1 analysed frame: the model's own tracker")
    assert nothing_identified([*empty, frame_of(3, [1], unit_at([0]))], True, config) is None


def test_view_summary_is_json_ready():
    """summary.json: NaN -> null (JSON has no NaN), a rate without queries carries its reason, a measured
    one has reason null; the histogram a plain list."""
    import json

    from discmot.analysis.analyze import settings_summary, view_summary

    frames = [frame_of(1, [1, 2], [[1, 0], [0, 1]]), frame_of(2, [1], [[1, 0]])]  # exact cosine 0
    config = AnalysisConfig(bins=4, reid_lags=(1, 5))
    summary = view_summary(view_statistics(frames, "v", config), 2, "described")
    assert (summary["description"], summary["frames"], summary["pairs"], summary["above"]) == (
        "described",
        2,
        1,
        0,
    )
    assert summary["fraction_above"] == 0.0 and summary["mean_similarity"] == 0.0
    assert summary["histogram"] == [0, 0, 1, 0]
    assert summary["per_frame"] == [
        {"frame": 1, "objects": 2, "pairs": 1, "fraction_above": 0.0},
        {"frame": 2, "objects": 1, "pairs": 0, "fraction_above": None},
    ]
    gap1, gap5 = summary["reid"]
    assert gap1 == {"lag": 1, "queries": 1, "hits": 1, "rank1": 1.0, "chance": 0.5, "reason": None}
    assert (gap5["rank1"], gap5["chance"], gap5["queries"]) == (None, None, 0)
    assert gap5["reason"] == "gap longer than the 2 analysed frames span"
    json.dumps(summary, allow_nan=False)  # no NaN left
    settings = settings_summary(config, (160, 256), "given")
    assert settings["input_size"] == [160, 256] and settings["input_size_origin"] == "given"
    assert (
        settings["similarity_threshold"] == 0.9 and settings["bins"] == 4 and settings["reid_lags"] == (1, 5)
    )
    assert settings_summary(config, None, "rule")["input_size"] is None


def test_projection_notes_name_views_without_a_map_and_pca_in_place_of_tsne():
    from discmot.analysis.analyze import _projection_notes

    notes = _projection_notes(["decoder", "adapted"], {"decoder": "PCA"}, None)
    assert notes[0] == "no embedding map of adapted: fewer than 3 identified embeddings"
    assert notes[1].startswith("t-SNE skipped: scikit-learn is not installed")
    assert _projection_notes(["reid"], {"reid": "t-SNE (cosine embeddings, scikit-learn)"}, None) == []
    # with nothing identified, that note already says why the maps are missing
    assert _projection_notes(["reid"], {}, "no object identified ...") == []


def test_identity_summary_says_gt_file_or_tracker():
    """docs/tracking.md: summary.json has "identity_source": "tracker" (else "gt") and reid_caveat."""
    from pathlib import Path

    from discmot.analysis.analyze import _identity_summary

    gt = _identity_summary(Path("seq/gt/gt.txt"), None)
    assert (gt["identity_source"], gt["gt"], gt["reid_caveat"]) == ("gt", str(Path("seq/gt/gt.txt")), None)
    tracker = _identity_summary(None, "caveat")
    assert (tracker["identity_source"], tracker["gt"], tracker["reid_caveat"]) == ("tracker", None, "caveat")
    assert tracker["identities"] == "the tracker's output ids"


def test_gt_with_six_or_seven_columns_is_read_and_an_empty_one_is_warned_about(tmp_path, caplog):
    """read_gt takes MOT rows of at least 6 columns; the 7th, when present, is the consider flag."""
    from discmot.analysis.analyze import read_gt

    caplog.set_level("WARNING", logger="discmot.analysis.analyze")
    (tmp_path / "six.txt").write_text("1,4,0,0,10,20\n1,5,30,0,10,10\n")
    assert read_gt(tmp_path / "six.txt")[1][1].tolist() == [4, 5]
    (tmp_path / "seven.txt").write_text("1,4,0,0,10,20,1\n1,5,30,0,10,10,0\n")
    assert read_gt(tmp_path / "seven.txt")[1][1].tolist() == [4]
    assert "no ground-truth rows" not in caplog.text  # rows were there
    (tmp_path / "empty.txt").write_text("")
    with caplog.at_level("WARNING", logger="discmot.analysis.analyze"):
        assert read_gt(tmp_path / "empty.txt") == {}
    assert "no ground-truth rows" in caplog.text


def test_a_given_gt_file_is_used_and_a_missing_one_refused(tmp_path):
    from discmot.analysis.analyze import resolve_gt

    (tmp_path / "gt.txt").write_text("1,4,0,0,10,20,1,1,1\n")
    assert resolve_gt(tmp_path / "video.mp4", tmp_path / "gt.txt") == tmp_path / "gt.txt"
    with pytest.raises(FileNotFoundError, match="no such ground-truth file"):
        resolve_gt(tmp_path / "video.mp4", tmp_path / "missing.txt")
    with pytest.raises(IsADirectoryError):
        resolve_gt(tmp_path / "video.mp4", tmp_path)


def test_no_matrix_reasons_at_frame_1_and_with_two_frames_analysed():
    """Frames 2 and 3 analysed: frame 2's templates (frame 1) exist but were not analysed; a frame outside
    names the span 'frames 2-3'."""
    from discmot.analysis.analyze import matrix_frames

    frames = [frame_of(t, [1], unit_at([0])) for t in (2, 3)]
    assert matrix_frames(frames, [2, 7], lag=1) == (
        [],
        [
            "frame 2: no matrix (frame 1, the templates' frame, was not analysed)",
            "frame 7: no matrix (not analysed; analysed: frames 2-3)",
        ],
    )
