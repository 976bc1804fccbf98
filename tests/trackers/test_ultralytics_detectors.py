"""Ultralytics ONNX exports (YOLOv5, YOLOv8/YOLO11) and the choice of decoder from the output shape.

No Ultralytics model is available offline, so the models here are written byte by byte
(`onnx_builder.constant_output_model`): their output is a table chosen by the test, and every decoded
box below is worked out by hand from it (letterbox offset, un-padding, clipping, class filter, NMS).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from onnx_builder import constant_output_model

import discmot
from discmot.trackers.detectors import UltralyticsDetector, YoloxDetector, onnx_detector
from discmot.trackers.detectors.decoding import grid_cells, output_layout
from discmot.trackers.detectors.ultralytics import ultralytics_letterbox
from helpers import require_module, shared_file

require_module("onnxruntime")

INPUT = [1, 3, 64, 64]
CELLS = 8 * 8 + 4 * 4 + 2 * 2  # one per cell of the stride 8, 16 and 32 grids of a 64x64 input
# A 96x64 frame (width x height) is resized by r = 2/3 to 64x43 (round(42.67)) and padded 21 rows:
# top = round(10.5 - 0.1) = 10, bottom 11, left 0.
FRAME = np.zeros((64, 96, 3), np.uint8)

# Rows cx, cy, w, h in network pixels; objectness; class 0 and class 1 scores (YOLOv5's, sigmoided).
ROWS = {
    # frame box: x (26, 38) * 1.5 = (39, 57); y (21 - 10, 39 - 10) * 1.5 = (16.5, 43.5); score 0.72
    "person": [32, 30, 12, 18, 0.9, 0.8, 0.1],
    # one pixel to the right, IoU 16.5 / 19.5 with "person", lower score: suppressed by NMS
    "duplicate": [33, 30, 12, 18, 0.9, 0.7, 0.1],
    # the same box as "person" but a class-1 object (0.5 x 0.9 = 0.45): NMS is per class
    "other_class": [32, 30, 12, 18, 0.5, 0.2, 0.9],
    # x (-4, 12) -> (-6, 18), y (8, 16) -> (-3, 9): clipped to (0, 0, 18, 9); score 0.54
    "border": [4, 12, 16, 8, 0.6, 0.9, 0.0],
    # wholly in the top padding: y (2, 6) -> (-12, -6), clipped to nothing and dropped despite 0.95
    "padding": [50, 4, 6, 4, 1.0, 0.95, 0.0],
    # 0.5 x 0.5 = 0.25 < conf 0.3: objectness multiplies
    "faint": [20, 40, 10, 10, 0.5, 0.5, 0.1],
}
PERSON_TLWH = [39.0, 16.5, 18.0, 27.0]
BORDER_TLWH = [0.0, 0.0, 18.0, 9.0]


def yolov5_table() -> np.ndarray:
    """``(1, 3 * CELLS, 7)``: the rows spread over the anchors, every other row zero (score 0)."""
    table = np.zeros((3 * CELLS, 7), np.float32)
    for index, row in zip((0, 5, 100, 101, 200, 3 * CELLS - 1), ROWS.values(), strict=True):
        table[index] = row
    return table[None]


def yolov8_table() -> np.ndarray:
    """``(1, 6, CELLS)``: the same boxes, scores already objectness x class score, one column each."""
    table = np.zeros((6, CELLS), np.float32)
    for index, row in zip((0, 3, 40, 41, 60, CELLS - 1), ROWS.values(), strict=True):
        box, objectness, classes = row[:4], row[4], np.array(row[5:])
        table[:, index] = [*box, *(objectness * classes)]
    return table[None]


@pytest.fixture(params=["yolov5", "yolov8"])
def ultralytics_model(request, tmp_path):
    table = yolov5_table() if request.param == "yolov5" else yolov8_table()
    return request.param, constant_output_model(tmp_path / f"{request.param}.onnx", INPUT, table)


# --------------------------------------------------------------------------------------------------
# decoding by hand


def test_people_by_hand(ultralytics_model):
    layout, path = ultralytics_model
    detector = onnx_detector(path)
    assert isinstance(detector, UltralyticsDetector) and detector.layout == layout
    assert detector.input_size == (64, 64) and detector.num_classes == 2
    detections = detector(FRAME)
    np.testing.assert_allclose(detections.boxes, [PERSON_TLWH, BORDER_TLWH], atol=1e-4)
    np.testing.assert_allclose(detections.scores, [0.9 * 0.8, 0.6 * 0.9], rtol=1e-6)
    assert detections.classes.tolist() == [0, 0] and detections.embeddings is None


def test_all_classes_keep_an_overlapping_box_of_another_class(ultralytics_model):
    _, path = ultralytics_model
    detections = onnx_detector(path, classes=None)(FRAME)
    np.testing.assert_allclose(detections.boxes, [PERSON_TLWH, BORDER_TLWH, PERSON_TLWH], atol=1e-4)
    np.testing.assert_allclose(detections.scores, [0.72, 0.54, 0.45], rtol=1e-6)
    assert detections.classes.tolist() == [0, 0, 1]


def test_class_one_alone_and_thresholds(ultralytics_model):
    _, path = ultralytics_model
    cars = UltralyticsDetector(path, classes=(1,))(FRAME)
    np.testing.assert_allclose(cars.boxes, [PERSON_TLWH], atol=1e-4)
    assert cars.classes.tolist() == [1]
    # conf 0.2 lets the faint box in (x (15, 25) * 1.5, y (35 - 10, 45 - 10) * 1.5); nms 0.9 the duplicate
    loose = UltralyticsDetector(path, conf=0.2, nms=0.9)(FRAME)
    np.testing.assert_allclose(loose.scores, [0.72, 0.63, 0.54, 0.25], rtol=1e-6)
    np.testing.assert_allclose(loose.boxes[1], [40.5, 16.5, 18, 27], atol=1e-4)
    np.testing.assert_allclose(loose.boxes[3], [22.5, 37.5, 15, 15], atol=1e-4)


def test_tall_frame_is_padded_left_and_right(tmp_path):
    """A 64x96 (w x h) frame: r = 2/3, resized to 43x64, left = round(10.5 - 0.1) = 10 px."""
    table = np.zeros((1, 6, CELLS), np.float32)
    table[0, :, 0] = [30, 32, 12, 18, 0.8, 0.0]  # x (24, 36) -> (21, 39); y (23, 41) -> (34.5, 61.5)
    detector = UltralyticsDetector(constant_output_model(tmp_path / "v8.onnx", INPUT, table))
    detections = detector(np.zeros((96, 64, 3), np.uint8))
    np.testing.assert_allclose(detections.boxes, [[21.0, 34.5, 18.0, 27.0]], atol=1e-4)


@pytest.mark.parametrize(
    ("frame_hw", "resized_hw", "left_top"),
    [((64, 96), (43, 64), (0, 10)), ((96, 64), (64, 43), (10, 0)), ((32, 32), (64, 64), (0, 0))],
)
def test_letterbox_is_centred_grey_rgb_0_1(frame_hw, resized_hw, left_top):
    blue, green, red = 10, 20, 200
    frame = np.empty((*frame_hw, 3), np.uint8)
    frame[:] = (blue, green, red)
    image, scale, offset = ultralytics_letterbox(frame, (64, 64))
    assert image.shape == (1, 3, 64, 64) and image.dtype == np.float32 and image.flags.c_contiguous
    assert scale == pytest.approx(min(64 / frame_hw[0], 64 / frame_hw[1])) and offset == left_top
    left, top = left_top
    inside = np.zeros((64, 64), bool)
    inside[top : top + resized_hw[0], left : left + resized_hw[1]] = True
    for channel, value in enumerate((red, green, blue)):
        np.testing.assert_allclose(image[0, channel][inside], value / 255, rtol=1e-6)
        np.testing.assert_allclose(image[0, channel][~inside], 114 / 255, rtol=1e-6)


# --------------------------------------------------------------------------------------------------
# which decoder


@pytest.mark.parametrize(
    ("input_size", "shape", "layout"),
    [
        ((64, 64), (1, 84, 7), "yolox"),
        ((64, 64), (1, 252, 7), "yolov5"),
        ((64, 64), (1, 6, 84), "yolov8"),
        ((416, 416), (1, 3549, 85), "yolox"),  # yolox_nano.onnx
        ((640, 640), (1, 25200, 85), "yolov5"),  # yolov5s.onnx
        ((640, 640), (1, 84, 8400), "yolov8"),  # yolov8n.onnx, yolo11n.onnx
        ((384, 640), (1, 84, 5040), "yolov8"),  # a rectangular export
        ((64, 64), (1, 100, 7), None),
        ((64, 64), (1, 84, 5), None),  # no class column
        ((64, 64), (1, 300, 6), None),  # an export with NMS inside (boxes, score, class)
        ((64, 64), (1, 512), None),
    ],
)
def test_output_layout(input_size, shape, layout):
    assert output_layout(input_size, shape) == layout


def test_grid_cells():
    assert grid_cells((640, 640)) == 8400 and grid_cells((416, 416)) == 3549 and grid_cells((64, 64)) == CELLS


def test_a_yolox_shaped_model_is_still_yolox(tmp_path):
    table = np.zeros((1, CELLS, 7), np.float32)
    table[0, 0] = [0.5, 0.5, np.log(2), np.log(2), 1.0, 0.9, 0.0]  # cell (0, 0): centre 4, size 16
    detector = onnx_detector(constant_output_model(tmp_path / "yolox.onnx", INPUT, table))
    assert isinstance(detector, YoloxDetector)
    # YOLOX's letterbox is top-left: the 96x64 frame is only scaled by 2/3, box (-4, -4, 12, 12) * 1.5
    np.testing.assert_allclose(detector(FRAME).boxes, [[0, 0, 18, 18]], atol=1e-4)


def test_the_shared_yolox_nano_is_yolox():
    detector = onnx_detector(shared_file("assets/weights/yolox_nano.onnx"), conf=0.1)
    assert isinstance(detector, YoloxDetector)
    assert detector.input_size == (416, 416) and detector.conf_threshold == 0.1


def test_a_dynamic_output_shape_is_probed(tmp_path):
    path = constant_output_model(tmp_path / "dyn.onnx", INPUT, yolov5_table(), [1, "rows", "columns"])
    detector = onnx_detector(path)
    assert detector.layout == "yolov5"
    np.testing.assert_allclose(detector(FRAME).boxes, [PERSON_TLWH, BORDER_TLWH], atol=1e-4)


def test_an_output_no_decoder_knows_is_one_line_naming_file_and_shapes(tmp_path):
    path = constant_output_model(tmp_path / "odd.onnx", INPUT, np.zeros((1, 100, 7), np.float32))
    with pytest.raises(ValueError, match=r"odd.onnx: not a YOLOX or Ultralytics YOLO detector") as error:
        onnx_detector(path)
    message = str(error.value)
    assert "\n" not in message
    assert "input images [1, 3, 64, 64], output output [1, 100, 7]" in message and "N = 84" in message
    with pytest.raises(ValueError, match=r"odd.onnx: not an Ultralytics YOLO model"):
        UltralyticsDetector(path)
    dynamic = constant_output_model(tmp_path / "dyn.onnx", INPUT, np.zeros((1, 100, 7)), [1, "a", "b"])
    with pytest.raises(ValueError, match=r"\(its dynamic output gives \[1, 100, 7\]\)") as error:
        onnx_detector(dynamic)
    assert str(error.value).endswith("output output [1, ?, ?]")


def test_wrong_input_and_options(tmp_path):
    path = constant_output_model(tmp_path / "v8.onnx", INPUT, yolov8_table())
    with pytest.raises(ValueError, match=r"v8.onnx: classes must be ids in 0\.\.1"):
        onnx_detector(path, classes=(2,))
    with pytest.raises(ValueError, match=r"UltralyticsDetector: conf 1.5: a threshold from 0 to 1"):
        onnx_detector(path, conf=1.5)
    grey = constant_output_model(tmp_path / "grey.onnx", [1, 1, 64, 64], yolov8_table())
    with pytest.raises(ValueError, match=r"grey.onnx: not a YOLOX or Ultralytics YOLO detector model"):
        onnx_detector(grey)


def test_track_uses_an_ultralytics_detector(tmp_path):
    """``discmot track --detector`` takes a YOLOv8 export: the tracks sit on the hand-computed boxes."""
    frames = tmp_path / "frames"
    frames.mkdir()
    for number in range(1, 4):
        cv2.imwrite(str(frames / f"{number:06d}.png"), FRAME)
    model = constant_output_model(tmp_path / "v8.onnx", INPUT, yolov8_table())
    discmot.track(frames, detector=model, save_txt=tmp_path / "out.txt", progress=False)
    rows = np.loadtxt(tmp_path / "out.txt", delimiter=",", ndmin=2)
    assert len(rows) > 0
    for box in rows[:, 2:6]:
        assert np.allclose(box, PERSON_TLWH, atol=0.01) or np.allclose(box, BORDER_TLWH, atol=0.01)
