"""Ultralytics detectors from their standard ONNX exports, without NMS in the graph.

Two output layouts, told apart by `discmot.trackers.detectors.decoding.output_layout`:

* YOLOv5 (``python export.py --include onnx``): ``[1, 3N, 5 + C]``, rows ``cx, cy, w, h`` in input
  pixels, objectness, C class scores (sigmoided); score = objectness x class score.
* YOLOv8 / YOLO11 (``yolo export format=onnx``): ``[1, 4 + C, N]`` (one column per grid cell),
  ``cx, cy, w, h`` in input pixels then C class scores (sigmoided); no objectness.

Both see the frame as Ultralytics' ``LetterBox`` makes it: resized by one factor to
``round(w * r) x round(h * r)`` (INTER_LINEAR), padded with grey 114 centred (``left = round(dw / 2 - 0.1)``,
the odd pixel right/bottom), RGB, scaled to 0-1. Boxes go back to the frame by removing that padding
and dividing by ``r``; the class filter, clipping and NMS are the ones YOLOX uses
(`discmot.trackers.detectors.decoding.select_detections`).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from discmot.data.letterbox import letterbox_hw
from discmot.ops.boxes import cxcywh_to_tlbr
from discmot.structures import Detections
from discmot.trackers.detectors.decoding import (
    Layout,
    checked_input_size,
    checked_selection,
    grid_cells,
    output_layout,
    probe_note,
    probed_output_shape,
    select_detections,
)
from discmot.trackers.detectors.frames import check_bgr_frame
from discmot.trackers.detectors.onnx_runtime import OnnxModel

#: Grey value of Ultralytics' letterbox padding.
PAD_VALUE = 114
#: What a model of each Ultralytics layout looks like, for error messages.
EXPECTED = (
    "input [1, 3, H, W] and output [1, 3N, 5 + classes] (YOLOv5) or [1, 4 + classes, N] (YOLOv8/YOLO11)"
)


class UltralyticsDetector:
    """Detects objects of the chosen classes in BGR frames with a YOLOv5 or YOLOv8/YOLO11 ONNX export.

    Args:
        model_path: the ONNX file, or that file already loaded (`discmot.trackers.detectors.onnx_detector`
            does so to pick the detector).
        conf: minimum score of a kept box (YOLOv5: objectness x class score; YOLOv8: class score).
        nms: IoU above which the lower-scored of two boxes of the same class is suppressed.
        classes: class ids to keep (COCO models: person = 0, car = 2), or ``None`` for all classes.
        input_size: ``(height, width)`` of the network input; read from the model when ``None``
            (required for a model exported with a dynamic input size).
        device: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.

    Attributes:
        layout: ``"yolov5"`` or ``"yolov8"`` (YOLOv8 and YOLO11 share it), read from the output shape.
    """

    def __init__(
        self,
        model_path: str | Path | OnnxModel,
        conf: float = 0.3,
        nms: float = 0.45,
        classes: tuple[int, ...] | None = (0,),
        input_size: tuple[int, int] | None = None,
        device: str = "cpu",
    ):
        self.model = model_path if isinstance(model_path, OnnxModel) else OnnxModel(model_path, device)
        self.input_size = checked_input_size(self.model, input_size, "an Ultralytics YOLO", EXPECTED)
        self.layout, self.num_classes = _checked_layout(self.model, self.input_size)
        self.classes, self.conf_threshold, self.nms_threshold = checked_selection(
            "UltralyticsDetector", self.model, self.num_classes, classes, conf, nms
        )

    def __call__(self, frame_bgr: np.ndarray) -> Detections:
        """Detects in one ``(H, W, 3)`` uint8 BGR frame; boxes are in its pixels, without embeddings."""
        check_bgr_frame(frame_bgr)
        image, scale, offset = ultralytics_letterbox(frame_bgr, self.input_size)
        return self.postprocess(self.model.run(image), scale, offset, frame_bgr.shape[:2])

    def postprocess(
        self, raw: np.ndarray, scale: float, offset: tuple[int, int], frame_size: tuple[int, int]
    ) -> Detections:
        """Turns the raw network output into the frame's detections.

        Args:
            raw: ``(1, 3N, 5 + C)`` (YOLOv5) or ``(1, 4 + C, N)`` (YOLOv8) model output.
            scale: the letterbox resize factor (network pixels per frame pixel).
            offset: ``(left, top)`` letterbox padding in network pixels.
            frame_size: ``(height, width)`` of the original frame.
        """
        expected = expected_output_shape(self.layout, self.input_size, self.num_classes)
        if raw.shape != expected:
            raise ValueError(f"{self.model.path}: output has shape {raw.shape}, expected {expected}")
        decode = decode_yolov5_output if self.layout == "yolov5" else decode_yolov8_output
        boxes, class_scores = decode(raw[0])
        return select_detections(
            boxes,
            class_scores,
            classes=self.classes,
            conf=self.conf_threshold,
            nms=self.nms_threshold,
            scale=scale,
            frame_size=frame_size,
            offset=offset,
        )


def ultralytics_letterbox(
    frame: np.ndarray, input_size: tuple[int, int]
) -> tuple[np.ndarray, float, tuple[int, int]]:
    """A BGR frame -> Ultralytics' network input, with the geometry to map boxes back.

    Args:
        frame: ``(h, w, 3)`` uint8 BGR image.
        input_size: ``(H, W)`` of the network input.

    Returns:
        The ``(1, 3, H, W)`` float32 RGB 0-1 input, the resize factor ``r = min(H / h, W / w)`` and the
        ``(left, top)`` padding in network pixels.
    """
    # The same letterbox as YOLOv5/CSTrack inference (round-half-to-even sizes, centred padding), with
    # Ultralytics' INTER_LINEAR resize and grey 114.
    boxed = letterbox_hw(frame, input_size, (PAD_VALUE,) * 3, cv2.INTER_LINEAR)
    top, _, left, _ = boxed.borders
    rgb = cv2.cvtColor(boxed.image, cv2.COLOR_BGR2RGB)
    image = np.ascontiguousarray(rgb.transpose(2, 0, 1)[None], dtype=np.float32) / np.float32(255)
    return image, boxed.ratio, (left, top)


def decode_yolov5_output(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(3N, 5 + C)`` rows -> ``(3N, 4)`` float64 ``tlbr`` boxes (input pixels) and ``(3N, C)`` float64
    scores, objectness x class score."""
    raw = raw.astype(np.float64)
    return cxcywh_to_tlbr(raw[:, :4]), raw[:, 4:5] * raw[:, 5:]


def decode_yolov8_output(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(4 + C, N)`` columns -> ``(N, 4)`` float64 ``tlbr`` boxes (input pixels) and ``(N, C)`` float64
    class scores."""
    rows = raw.astype(np.float64).T
    return cxcywh_to_tlbr(rows[:, :4]), rows[:, 4:]


def expected_output_shape(layout: Layout, input_size: tuple[int, int], num_classes: int) -> tuple:
    """The output shape of a model of ``layout`` with this input size and class count."""
    cells = grid_cells(input_size)
    if layout == "yolov5":
        return (1, 3 * cells, 5 + num_classes)
    if layout == "yolov8":
        return (1, 4 + num_classes, cells)
    return (1, cells, 5 + num_classes)


def _checked_layout(model: OnnxModel, input_size: tuple[int, int]) -> tuple[Layout, int]:
    """The Ultralytics layout and class count of ``model``; any other output is a one-line error."""
    shape = probed_output_shape(model, input_size)
    layout = output_layout(input_size, shape)
    if layout not in ("yolov5", "yolov8"):
        cells = grid_cells(input_size)
        raise model.wrong_model(
            "an Ultralytics YOLO",
            f"{EXPECTED}, N = {cells} for input {input_size[0]}x{input_size[1]}{probe_note(model, shape)}",
        )
    return layout, shape[2] - 5 if layout == "yolov5" else shape[1] - 4
