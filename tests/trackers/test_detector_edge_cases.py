"""Edge cases of the ONNX detector decoding (`discmot.trackers.detectors`): boundaries and branches the
parity and by-hand tests leave open (mutation testing, third pass).

The models are `onnx_builder.constant_output_model` stand-ins whose output table is chosen here; every
expected box is worked out by hand from the documented conventions (docs/tracking.md "Detector and ReID
plug-ins"; /work/shared/README: ``det_yolox_nano.txt`` keeps "score >= 0.1"):

* YOLOX: rows ``x, y, log w, log h, objectness, class scores`` per cell of the stride 8/16/32 grids
  (stride 8 first, row by row), centre ``(xy + cell) * stride``, size ``exp(wh) * stride``, letterbox
  resized by ``r`` and placed at the top-left, so a frame coordinate is a network one divided by ``r``;
* YOLOv5: ``[1, 3N, 5 + C]`` rows ``cx, cy, w, h, objectness, class scores``;
* YOLOv8/YOLO11: ``[1, 4 + C, N]`` columns ``cx, cy, w, h, class scores``.
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx_builder import channel_mean_model, constant_output_model

from discmot.io.mot import MotFormatError
from discmot.trackers.detectors import (
    OnnxReidEmbedder,
    UltralyticsDetector,
    YoloxDetector,
    onnx_detector,
    onnx_runtime,
)
from discmot.trackers.detectors.decoding import output_layout
from discmot.trackers.detectors.precomputed import PrecomputedDetections, load_precomputed
from discmot.trackers.detectors.reid import IMAGENET_MEAN, IMAGENET_STD, l2_normalise
from discmot.trackers.detectors.ultralytics import expected_output_shape
from discmot.trackers.detectors.yolox import letterbox
from helpers import require_module

require_module("onnxruntime")

INPUT = [1, 3, 64, 64]
CELLS = 8 * 8 + 4 * 4 + 2 * 2  # cells of the stride 8, 16 and 32 grids of a 64x64 input
SQUARE = np.zeros((64, 64, 3), np.uint8)  # r = 1, no padding: network pixels are frame pixels


def yolov8_one_box(cx, cy, w, h, *scores) -> np.ndarray:
    """``(1, 4 + C, CELLS)`` with one box in column 0 and zero scores elsewhere."""
    table = np.zeros((1, 4 + len(scores), CELLS), np.float32)
    table[0, :, 0] = [cx, cy, w, h, *scores]
    return table


# --------------------------------------------------------------------------------------------------
# which decoder: one class is enough


@pytest.mark.parametrize(
    ("shape", "layout"),
    [((1, CELLS, 6), "yolox"), ((1, 3 * CELLS, 6), "yolov5"), ((1, 5, CELLS), "yolov8")],
)
def test_a_one_class_export_has_a_layout(shape, layout):
    """docs/tracking.md: ``[1, N, 5 + C]`` YOLOX, ``[1, 3N, 5 + C]`` YOLOv5, ``[1, 4 + C, N]`` YOLOv8,
    with at least one class: C = 1 gives 6 columns (YOLOX/YOLOv5) or 5 rows (YOLOv8)."""
    assert output_layout((64, 64), shape) == layout


@pytest.mark.parametrize(
    ("layout", "shape"), [("yolox", (1, CELLS, 7)), ("yolov5", (1, 3 * CELLS, 7)), ("yolov8", (1, 6, CELLS))]
)
def test_expected_output_shape_of_each_layout(layout, shape):
    """The shape each layout has with a 64x64 input (N = 84 cells) and 2 classes (docs/tracking.md),
    the one `output_layout` reads back as that layout."""
    assert expected_output_shape(layout, (64, 64), 2) == shape
    assert output_layout((64, 64), shape) == layout


def test_a_one_class_yolox_model_loads_and_decodes(tmp_path):
    """A single-class YOLOX export ``[1, N, 6]``: cell (0, 0) of stride 8 with offset 0.5 and log size
    log 2 is centre 4, size 16, tlbr (-4, -4, 12, 12), clipped to (0, 0, 12, 12) on the 64x64 frame;
    score 0.8 x 0.5 = 0.4."""
    table = np.zeros((1, CELLS, 6), np.float32)
    table[0, 0] = [0.5, 0.5, np.log(2), np.log(2), 0.8, 0.5]
    detector = YoloxDetector(constant_output_model(tmp_path / "one.onnx", INPUT, table))
    assert detector.num_classes == 1
    detections = detector(SQUARE)
    np.testing.assert_allclose(detections.boxes, [[0, 0, 12, 12]], atol=1e-5)
    np.testing.assert_allclose(detections.scores, [0.4], rtol=1e-6)


# --------------------------------------------------------------------------------------------------
# the score threshold is a minimum


def test_a_score_equal_to_conf_is_kept(tmp_path):
    """``conf`` is the minimum score of a kept box (YoloxDetector's docstring; the shared
    det_yolox_nano.txt was made keeping "score >= 0.1"): a class score of exactly 0.5 (a float32 that
    is exact) passes conf 0.5. Box cx, cy, w, h = 32, 32, 10, 20 on an unpadded 64x64 frame:
    tlwh (27, 22, 10, 20)."""
    path = constant_output_model(tmp_path / "v8.onnx", INPUT, yolov8_one_box(32, 32, 10, 20, 0.5))
    detections = UltralyticsDetector(path, conf=0.5)(SQUARE)
    np.testing.assert_allclose(detections.boxes, [[27, 22, 10, 20]], atol=1e-5)
    assert detections.scores.tolist() == [0.5]
    assert len(UltralyticsDetector(path, conf=0.51)(SQUARE)) == 0


# --------------------------------------------------------------------------------------------------
# the model's input size


def test_an_input_size_differing_in_one_dimension_is_refused(tmp_path):
    """``input_size`` must match every fixed dimension of the model's input, not only when both differ."""
    path = constant_output_model(tmp_path / "v8.onnx", INPUT, yolov8_one_box(32, 32, 10, 20, 0.9))
    for size in ((64, 96), (96, 64)):
        with pytest.raises(ValueError, match=r"v8.onnx: input_size \(\d+, \d+\) differs from the model's"):
            UltralyticsDetector(path, input_size=size)


def test_a_dynamic_input_size_must_be_given(tmp_path):
    """A model exported with a dynamic input size cannot say its size: the detector asks for
    ``input_size`` in one line; given, it decodes as usual (box tlwh (27, 22, 10, 20), unpadded)."""
    path = constant_output_model(
        tmp_path / "dyn.onnx", [1, 3, "height", "width"], yolov8_one_box(32, 32, 10, 20, 0.9)
    )
    with pytest.raises(ValueError, match=r"dyn.onnx: the model's input size is dynamic; pass input_size"):
        UltralyticsDetector(path)
    detector = UltralyticsDetector(path, input_size=(64, 64))
    assert detector.input_size == (64, 64)
    np.testing.assert_allclose(detector(SQUARE).boxes, [[27, 22, 10, 20]], atol=1e-5)


# --------------------------------------------------------------------------------------------------
# error messages


def test_a_fixed_output_shape_is_not_called_dynamic(tmp_path):
    """The "(its dynamic output gives ...)" note is for a probed, dynamic output only: a model whose
    declared output no decoder knows is described by that declared shape alone."""
    path = constant_output_model(tmp_path / "odd.onnx", INPUT, np.zeros((1, 100, 7), np.float32))
    for make in (onnx_detector, UltralyticsDetector):
        with pytest.raises(ValueError, match=r"odd.onnx: not ") as error:
            make(path)
        assert "dynamic" not in str(error.value) and str(error.value).endswith("output output [1, 100, 7]")


# --------------------------------------------------------------------------------------------------
# options


def test_the_default_nms_suppresses_an_overlap_of_iou_0_54(tmp_path):
    """The default nms is 0.45 (docs/tracking.md: ``UltralyticsDetector(model, conf=0.3, nms=0.45, ...)``,
    and the same for ``onnx_detector``).
    Two 10x20 person boxes 3 px apart: intersection 7 x 20 = 140, union 400 - 140 = 260, IoU 0.538 >
    0.45: the lower-scored one is suppressed by default, kept with nms=0.6."""
    table = np.zeros((1, 6, CELLS), np.float32)
    table[0, :, 0] = [32, 32, 10, 20, 0.9, 0.0]
    table[0, :, 1] = [35, 32, 10, 20, 0.8, 0.0]
    path = constant_output_model(tmp_path / "v8.onnx", INPUT, table)
    np.testing.assert_allclose(UltralyticsDetector(path)(SQUARE).scores, [0.9], rtol=1e-6)
    np.testing.assert_allclose(onnx_detector(path)(SQUARE).scores, [0.9], rtol=1e-6)  # its default too
    np.testing.assert_allclose(UltralyticsDetector(path, nms=0.6)(SQUARE).scores, [0.9, 0.8], rtol=1e-6)


def test_the_thresholds_0_and_1_are_allowed(tmp_path):
    """conf and nms are "a threshold from 0 to 1", both ends included."""
    path = constant_output_model(tmp_path / "v8.onnx", INPUT, yolov8_one_box(32, 32, 10, 20, 0.9))
    for conf, nms in ((0, 1), (1, 0), (0.0, 1.0), (1.0, 0.0)):
        detector = UltralyticsDetector(path, conf=conf, nms=nms)
        assert (detector.conf_threshold, detector.nms_threshold) == (conf, nms)


@pytest.mark.parametrize("classes", [(-1, 0), (0, 2), (1, 2)])
def test_a_class_list_with_one_bad_id_is_refused(tmp_path, classes):
    """Every id in ``classes`` must be one of the model's (0..C-1, C = 2 here), not only the first one
    or a single one: a -1 would silently pick the last class, a 2 fail later as an index error."""
    table = yolov8_one_box(32, 32, 10, 20, 0.9, 0.1)
    path = constant_output_model(tmp_path / "v8.onnx", INPUT, table)
    with pytest.raises(ValueError, match=r"classes must be ids in 0\.\.1 or None"):
        UltralyticsDetector(path, classes=classes)


# --------------------------------------------------------------------------------------------------
# a rectangular YOLOX input: the grid runs row by row, the letterbox only scales


def test_a_rectangular_yolox_grid_by_hand(tmp_path):
    """Input 64 (H) x 96 (W): the stride-8 grid has 8 rows of 12 cells (96 rows of the output), then
    stride 16 (4 x 6 = 24), then stride 32 (2 x 3 = 6): 126 rows, each grid row by row. A 128x192 frame
    is resized by r = min(64/128, 96/192) = 0.5 and placed at the top-left, so frame = network / 0.5.

    * row 2 * 12 + 5 = 29 (stride 8, cell x 5, y 2), offsets 0.5, log w, h = log 2, log 4: centre
      (44, 20), size 16 x 32, tlbr (36, 4, 52, 36) -> frame tlwh (72, 8, 32, 64); score 1 x 0.8;
    * row 96 + 3 * 6 + 1 = 115 (stride 16, cell x 1, y 3), offsets 0, log sizes 0: centre (16, 48),
      size 16, tlbr (8, 40, 24, 56) -> (16, 80, 32, 32); score 0.5 x 0.9 = 0.45;
    * row 120 + 1 * 3 + 2 = 125 (stride 32, cell x 2, y 1), offsets 0.25, 0.5: centre (72, 48), size 32,
      tlbr (56, 32, 88, 64) -> (112, 64, 64, 64); score 0.6 x 1.0.
    """
    table = np.zeros((1, 126, 6), np.float32)
    table[0, 29] = [0.5, 0.5, np.log(2), np.log(4), 1.0, 0.8]
    table[0, 115] = [0.0, 0.0, 0.0, 0.0, 0.5, 0.9]
    table[0, 125] = [0.25, 0.5, 0.0, 0.0, 0.6, 1.0]
    detector = YoloxDetector(constant_output_model(tmp_path / "rect.onnx", [1, 3, 64, 96], table))
    assert detector.input_size == (64, 96)
    detections = detector(np.zeros((128, 192, 3), np.uint8))
    np.testing.assert_allclose(
        detections.boxes, [[72, 8, 32, 64], [112, 64, 64, 64], [16, 80, 32, 32]], atol=1e-4
    )
    np.testing.assert_allclose(detections.scores, [0.8, 0.6, 0.45], rtol=1e-6)


# --------------------------------------------------------------------------------------------------
# what clipping leaves


def test_a_box_clipped_to_a_sliver_is_kept(tmp_path):
    """Only boxes clipped to nothing (wholly outside the frame or in the padding) are dropped: a 1x1 box
    centred on the frame's corner clips to (0, 0, 0.5, 0.5), area 0.25, and is kept."""
    path = constant_output_model(tmp_path / "v8.onnx", INPUT, yolov8_one_box(0, 0, 1, 1, 0.9))
    detections = UltralyticsDetector(path)(SQUARE)
    np.testing.assert_allclose(detections.boxes, [[0, 0, 0.5, 0.5]], atol=1e-6)


# --------------------------------------------------------------------------------------------------
# YOLOX's letterbox: one factor, the smaller one, floor-sized, top-left


def test_yolox_letterbox_of_a_tall_frame_is_floor_sized_at_the_top_left():
    """YOLOX's preprocessing (``preproc`` in yolox/data/data_augment.py): r = min(H / h, W / w), the
    frame resized to ``int(w * r) x int(h * r)`` and pasted at the top-left of a grey-114 canvas. A
    100 (h) x 70 (w) frame into 64x64: r = min(0.64, 0.914...) = 0.64, resized to int(44.8) = 44 columns
    and 64 rows (round() would give 45)."""
    frame = np.full((100, 70, 3), 200, np.uint8)
    image, scale = letterbox(frame, (64, 64))
    assert scale == pytest.approx(0.64) and image.shape == (64, 64, 3) and image.dtype == np.uint8
    assert (image[:, :44] == 200).all() and (image[:, 44:] == 114).all()


def test_yolox_boxes_of_a_tall_frame_are_divided_by_the_height_ratio(tmp_path):
    """A 128 (h) x 64 (w) frame into 64x64: r = min(64 / 128, 64 / 64) = 0.5. Cell (0, 0) of stride 8,
    offsets 0.5 and log sizes log 2: network tlbr (-4, -4, 12, 12), frame (-8, -8, 24, 24), clipped to
    tlwh (0, 0, 24, 24)."""
    table = np.zeros((1, CELLS, 7), np.float32)
    table[0, 0] = [0.5, 0.5, np.log(2), np.log(2), 1.0, 0.9, 0.0]
    detector = YoloxDetector(constant_output_model(tmp_path / "yolox.onnx", INPUT, table))
    np.testing.assert_allclose(detector(np.zeros((128, 64, 3), np.uint8)).boxes, [[0, 0, 24, 24]], atol=1e-4)


def test_a_yolox_input_not_a_multiple_of_32_is_refused(tmp_path):
    """YOLOX's grids need H and W multiples of the largest stride, 32: a 64x80 input is refused by
    name, even with one dimension (64) a multiple."""
    path = constant_output_model(tmp_path / "odd.onnx", [1, 3, 64, 80], np.zeros((1, 104, 7), np.float32))
    with pytest.raises(ValueError, match=r"odd.onnx: input size \(64, 80\) is not a multiple of 32"):
        YoloxDetector(path)


def test_a_yolox_model_whose_dynamic_output_has_the_wrong_rows_is_named_when_run(tmp_path):
    """A YOLOX model declaring its rows dynamic is checked when it runs: 100 rows where a 64x64 input
    has N = 84 cells is a one-line error naming the file and both shapes (not a numpy broadcast error)."""
    table = np.zeros((1, 100, 7), np.float32)
    detector = YoloxDetector(constant_output_model(tmp_path / "dyn.onnx", INPUT, table, [1, "rows", 7]))
    with pytest.raises(ValueError, match=r"dyn.onnx: output has shape \(1, 100, 7\), expected \(1, 84, 7\)"):
        detector(SQUARE)


@pytest.mark.parametrize(
    ("table", "wrong", "expected"),
    [((1, 252, 7), (1, 253, 7), r"\(1, 252, 7\)"), ((1, 6, 84), (1, 6, 85), r"\(1, 6, 84\)")],
)
def test_an_ultralytics_output_of_the_wrong_shape_is_named(tmp_path, table, wrong, expected):
    """`UltralyticsDetector.postprocess` checks the raw output against its layout: 3N = 252 rows for
    YOLOv5, N = 84 columns for YOLOv8 with a 64x64 input and 2 classes."""
    path = constant_output_model(tmp_path / "m.onnx", INPUT, np.zeros(table, np.float32))
    detector = UltralyticsDetector(path)
    with pytest.raises(ValueError, match=rf"m.onnx: output has shape .*, expected {expected}"):
        detector.postprocess(np.zeros(wrong, np.float32), 1.0, (0, 0), (64, 64))


# --------------------------------------------------------------------------------------------------
# the re-identification embedder (a channel-mean stand-in model: its vector of a one-colour crop is
# the normalised colour, see test_detectors.test_embedder_preprocessing_is_rgb_imagenet)


@pytest.fixture
def mean_embedder(tmp_path) -> OnnxReidEmbedder:
    return OnnxReidEmbedder(channel_mean_model(tmp_path / "mean.onnx", ["batch", 3, 16, 8], ["batch", 3]))


def test_boxes_reaching_one_pixel_into_the_frame_embed_that_pixel(mean_embedder):
    """Crop corners are rounded and clipped to the frame (reid.py's docstring): a box from x = -10 to 1
    keeps column 0, one from y = -10 to 1 keeps row 0; the crop is then the frame's colour (BGR 200, 30,
    90 -> RGB 90, 30, 200), whose vector is ((rgb / 255 - mean) / std) normalised."""
    frame = np.empty((40, 40, 3), np.uint8)
    frame[:] = (200, 30, 90)
    boxes = np.array([[-10.0, 10.0, 11.0, 20.0], [10.0, -10.0, 10.0, 11.0]])
    expected = (np.array([90, 30, 200]) / 255 - IMAGENET_MEAN) / IMAGENET_STD
    embeddings = mean_embedder(frame, boxes)
    np.testing.assert_allclose(embeddings, [expected / np.linalg.norm(expected)] * 2, rtol=1e-5)


def test_no_boxes_give_no_vectors(mean_embedder):
    """An empty box list, in any empty shape, gives ``(0, D)`` (D = 3 for the stand-in)."""
    frame = np.zeros((40, 40, 3), np.uint8)
    for empty in ([], np.zeros(0), np.zeros((0, 4))):
        assert mean_embedder(frame, empty).shape == (0, 3)


@pytest.mark.parametrize(
    "boxes",
    [[[1.0, 2.0, np.nan, 4.0]], [[1.0, 2.0, 3.0, np.inf]], [[1.0, 2.0, 3.0, 4.0, 5.0]], [1.0, 2.0, 3.0, 4.0]],
)
def test_boxes_that_are_not_finite_n_by_4_are_refused(mean_embedder, boxes):
    with pytest.raises(ValueError, match=r"boxes must be a finite \(N, 4\) tlwh array"):
        mean_embedder(np.zeros((40, 40, 3), np.uint8), np.array(boxes))


def test_the_embedder_batch_size_is_at_least_1_and_32_by_default(tmp_path):
    """``batch_size`` (crops per call of a dynamic-batch model) defaults to 32; 0 is refused."""
    model = channel_mean_model(tmp_path / "mean.onnx", ["batch", 3, 16, 8], ["batch", 3])
    assert OnnxReidEmbedder(model).batch_size == 32
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        OnnxReidEmbedder(model, batch_size=0)


def test_boxes_wholly_outside_the_frame_on_any_side_get_the_zero_vector(mean_embedder):
    """A box with no pixel inside the frame gets the zero vector (`OnnxReidEmbedder.__call__`): left,
    right, above, below a 40x40 frame, and a box whose rounded corners coincide (x 10.2 to 10.4)."""
    frame = np.full((40, 40, 3), 100, np.uint8)
    boxes = np.array(
        [
            [-30.0, 10.0, 20.0, 10.0],
            [45.0, 10.0, 20.0, 10.0],
            [10.0, -30.0, 10.0, 20.0],
            [10.0, 45.0, 10.0, 20.0],
            [10.2, 10.0, 0.2, 10.0],
            [10.0, 10.2, 10.0, 0.2],
        ]
    )
    assert not mean_embedder(frame, boxes).any()


def test_l2_normalise_scales_every_nonzero_row_and_leaves_zero_rows(recwarn):
    """Rows of any length are scaled to unit length (3-4-5 triangles: norms 0.5 and 5); a zero row stays
    zero, without a division warning."""
    vectors = np.array([[0.0, 0.0, 0.0], [0.3, 0.4, 0.0], [3.0, 4.0, 0.0]], np.float32)
    np.testing.assert_allclose(l2_normalise(vectors), [[0, 0, 0], [0.6, 0.8, 0], [0.6, 0.8, 0]], rtol=1e-6)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_a_reid_model_with_a_dynamic_crop_size_is_refused(tmp_path):
    """The crop size comes from the model: an input ``[N, 3, H, W]`` with a dynamic H or W is not a
    re-identification model discmot can feed."""
    for name, shape in (("h", [1, 3, "height", 8]), ("w", [1, 3, 16, "width"])):
        model = channel_mean_model(tmp_path / f"{name}.onnx", shape, [1, 3])
        with pytest.raises(ValueError, match=rf"{name}.onnx: not a re-identification model"):
            OnnxReidEmbedder(model)


# --------------------------------------------------------------------------------------------------
# devices (onnx_runtime.execution_providers, and OnnxModel's check that CUDA started): no GPU needed


CUDA_AND_CPU = ["CUDAExecutionProvider", "CPUExecutionProvider"]


@pytest.mark.parametrize(
    ("device", "device_id"), [("cuda", 0), ("cuda:0", 0), ("cuda:1", 1), ("cuda:12", 12)]
)
def test_a_cuda_device_asks_for_that_gpu_then_the_cpu(device, device_id):
    """``"cuda"`` is GPU 0, ``"cuda:N"`` GPU N; the CPU provider follows for operators CUDA lacks."""
    providers = onnx_runtime.execution_providers(device, CUDA_AND_CPU)
    assert providers == [("CUDAExecutionProvider", {"device_id": device_id}), "CPUExecutionProvider"]


@pytest.mark.parametrize("device", ["cuda:x", "cpu:0", "gpu", "cuda:-1", "cuda:", "cpu:"])
def test_a_device_not_cpu_cuda_or_cuda_n_is_refused(device):
    with pytest.raises(ValueError, match="device must be 'cpu', 'cuda' or 'cuda:N'"):
        onnx_runtime.execution_providers(device, CUDA_AND_CPU)


class _FakeNode:
    def __init__(self, name, shape):
        self.name, self.shape, self.type = name, shape, "tensor(float)"


class _FakeSession:
    """What `OnnxModel` reads of an onnxruntime session."""

    def __init__(self, providers, inputs=1):
        self.providers = providers
        self.inputs = [_FakeNode(f"in{k}", [1, 3, 64, 64]) for k in range(inputs)]

    def get_providers(self):
        return self.providers

    def get_inputs(self):
        return self.inputs

    def get_outputs(self):
        return [_FakeNode("out", [1, 10])]


def _fake_runtime(monkeypatch, session):
    """onnxruntime offering CUDA, whose session for any file is ``session``."""

    class FakeOrt:
        @staticmethod
        def get_available_providers():
            return CUDA_AND_CPU

    monkeypatch.setattr(onnx_runtime, "import_onnxruntime", lambda: FakeOrt)
    monkeypatch.setattr(onnx_runtime, "_load_session", lambda ort, path, providers: session)


def test_cuda_that_failed_to_start_is_an_error_not_a_silent_cpu_run(tmp_path, monkeypatch):
    """onnxruntime falls back to the CPU with only a log line when CUDA fails to start (OnnxModel): a
    session asked for CUDA that runs on the CPU alone is refused; one running CUDA, or asked for the
    CPU, is fine."""
    path = tmp_path / "m.onnx"
    path.write_bytes(b"")
    _fake_runtime(monkeypatch, _FakeSession(["CPUExecutionProvider"]))
    with pytest.raises(RuntimeError, match=r"m.onnx: device='cuda' was asked for but CUDA failed to start"):
        onnx_runtime.OnnxModel(path, "cuda")
    assert onnx_runtime.OnnxModel(path, "cpu").input.shape == (1, 3, 64, 64)
    _fake_runtime(monkeypatch, _FakeSession(CUDA_AND_CPU))
    assert onnx_runtime.OnnxModel(path, "cuda:0").outputs[0].shape == (1, 10)


def test_a_model_with_two_inputs_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "two.onnx"
    path.write_bytes(b"")
    _fake_runtime(monkeypatch, _FakeSession(["CPUExecutionProvider"], inputs=2))
    with pytest.raises(ValueError, match=r"two.onnx: expected a model with one input, it has 2"):
        onnx_runtime.OnnxModel(path)


# --------------------------------------------------------------------------------------------------
# precomputed detections


def test_a_det_row_of_height_0_is_refused_naming_its_line(tmp_path):
    """Width and height must both be > 0 (`_check_det_rows`): a zero height on line 2 is named."""
    (tmp_path / "det.txt").write_text("1,-1,10,20,30,40,0.9\n2,-1,10,20,30,0,0.8\n")
    with pytest.raises(MotFormatError, match=r"det.txt:2: box width and height must be > 0, found w=30 h=0"):
        load_precomputed(tmp_path / "det.txt")


@pytest.mark.parametrize(
    ("array", "found"),
    [
        (np.ones(9), r"float64 \(9,\)"),
        (np.full((2, 9), "a"), r"<U1 \(2, 9\)"),
        (np.ones((1, 2, 9)), r"float64 \(1, 2, 9\)"),
    ],
)
def test_a_npy_that_is_not_a_2d_numeric_table_is_refused(tmp_path, array, found):
    """A .npy of det rows + features is a 2-d number table: a 1-d, a text or a 3-d array is named."""
    np.save(tmp_path / "bad.npy", array)
    with pytest.raises(MotFormatError, match=rf"bad.npy: expected a 2-d numeric array .*found {found}"):
        load_precomputed(tmp_path / "bad.npy")


def test_boxes_of_a_pixel_or_less_are_positive_sizes(tmp_path):
    """Only a width or height <= 0 is refused: a 1x1 and a 0.5x0.5 box are boxes."""
    (tmp_path / "det.txt").write_text("1,-1,10,20,1,1,0.9\n2,-1,10,20,0.5,0.5,0.8\n")
    detections = load_precomputed(tmp_path / "det.txt")
    np.testing.assert_array_equal(detections[2].boxes, [[10, 20, 0.5, 0.5]])


def test_the_frame_hint_is_the_last_frame_with_a_detection_or_0():
    """`num_frames_hint`: the largest frame number with a row (rows given unsorted), 0 with none."""
    detections = PrecomputedDetections(np.array([5, 1, 2]), np.ones((3, 4)), np.ones(3))
    assert detections.num_frames_hint == 5 and detections.frames.tolist() == [1, 2, 5]
    assert PrecomputedDetections(np.zeros(0), np.zeros((0, 4)), np.zeros(0)).num_frames_hint == 0


def test_a_npy_with_one_feature_column_is_read(tmp_path):
    """7 det columns and a 1-d appearance feature (8 columns) are det rows + features."""
    rows = np.array([[1, -1, 10, 20, 30, 40, 0.9, 0.25], [2, -1, 10, 20, 30, 40, 0.8, -0.5]])
    np.save(tmp_path / "one.npy", rows)
    detections = load_precomputed(tmp_path / "one.npy")
    assert detections.embedding_dim == 1 and detections[2].embeddings.tolist() == [[-0.5]]


def test_an_empty_npy_is_no_detections(tmp_path):
    """A sequence without detections saved as an empty ``(0, 7)`` array loads as no rows."""
    np.save(tmp_path / "empty.npy", np.zeros((0, 7)))
    detections = load_precomputed(tmp_path / "empty.npy")
    assert detections.num_rows == 0 and detections.num_frames_hint == 0 and len(detections[1]) == 0
