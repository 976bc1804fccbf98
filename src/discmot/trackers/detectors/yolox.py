"""YOLOX detector from an ONNX export whose output is not decoded (e.g. the official ``yolox_nano.onnx``).

The model sees a BGR 0-255 image letterboxed into its fixed input (resized by one factor, placed at the
top-left, padded with grey 114, no mean/std) and gives, for each cell of the stride 8/16/32 grids, an xy
offset, a log width/height, an objectness and one score per class (both already sigmoided). This module
adds what the export leaves out: the grid decode, then (`discmot.trackers.detectors.decoding`, shared
with the Ultralytics exports) the class filter, clipping to the frame and NMS.

Run with ``conf=0.1, nms=0.45`` it reproduces ``MOT15/train/PETS09-S2L1/det/det_yolox_nano.txt`` of the
shared data (every frame of ``vtest.avi``) to its printed precision: same boxes, coordinates within
0.006 px, scores within 1e-5. That parity fixed three choices: score = objectness x class score, boxes
clipped to the frame before NMS, and NMS with IoU strictly above the threshold suppressing.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from discmot.ops.boxes import cxcywh_to_tlbr
from discmot.structures import Detections
from discmot.trackers.detectors.decoding import (
    checked_input_size,
    checked_selection,
    grid_cells,
    select_detections,
)
from discmot.trackers.detectors.frames import check_bgr_frame
from discmot.trackers.detectors.onnx_runtime import OnnxModel

#: Strides of YOLOX's three output grids, in the order the export concatenates them.
YOLOX_STRIDES = (8, 16, 32)
#: Grey value of the letterbox padding, the value YOLOX was trained with.
PAD_VALUE = 114


class YoloxDetector:
    """Detects objects of the chosen COCO classes in BGR frames.

    Args:
        model_path: ONNX file with input ``[1, 3, H, W]`` and output ``[1, A, 5 + classes]`` (or that
            file already loaded, as `discmot.trackers.detectors.onnx_detector` does).
        conf: minimum score (objectness x class score) of a kept box. The default 0.3 keeps people
            reliably while dropping most clutter, for trackers that trust every detection (DeepSORT,
            the JDE cascade). Trackers with a second, low-score association stage (ByteTrack) want 0.1,
            the threshold the shared ``det_yolox_nano.txt`` was made with.
        nms: IoU above which the lower-scored of two boxes of the same class is suppressed.
        classes: COCO class ids to keep (person = 0, car = 2), or ``None`` for all classes.
        input_size: ``(height, width)`` of the network input; read from the model when ``None``
            (required for a model exported with a dynamic input size).
        device: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
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
        self.input_size = _checked_input_size(self.model, input_size)
        self.num_classes = _checked_num_classes(self.model, self.input_size)
        self.classes, self.conf_threshold, self.nms_threshold = checked_selection(
            "YoloxDetector", self.model, self.num_classes, classes, conf, nms
        )
        self.grid, self.strides = yolox_grid(self.input_size)

    def __call__(self, frame_bgr: np.ndarray) -> Detections:
        """Detects in one ``(H, W, 3)`` uint8 BGR frame; boxes are in its pixels, without embeddings."""
        check_bgr_frame(frame_bgr)
        image, scale = letterbox(frame_bgr, self.input_size)
        raw = self.model.run(image.transpose(2, 0, 1)[None].astype(np.float32))
        return self.postprocess(raw, scale, frame_bgr.shape[:2])

    def postprocess(self, raw: np.ndarray, scale: float, frame_size: tuple[int, int]) -> Detections:
        """Turns the raw network output into the frame's detections.

        Args:
            raw: ``(1, A, 5 + C)`` model output.
            scale: the letterbox resize factor (network pixels per frame pixel).
            frame_size: ``(height, width)`` of the original frame.
        """
        expected = (1, len(self.grid), 5 + self.num_classes)
        if raw.shape != expected:
            raise ValueError(f"{self.model.path}: output has shape {raw.shape}, expected {expected}")
        boxes, class_scores = decode_yolox_output(raw[0], self.grid, self.strides)
        return select_detections(
            boxes,
            class_scores,
            classes=self.classes,
            conf=self.conf_threshold,
            nms=self.nms_threshold,
            scale=scale,
            frame_size=frame_size,
        )


def letterbox(frame: np.ndarray, input_size: tuple[int, int]) -> tuple[np.ndarray, float]:
    """Resizes ``frame`` by one factor to fit ``input_size`` and pads it at the bottom/right with 114.

    Args:
        frame: ``(H, W, 3)`` uint8 image.
        input_size: ``(height, width)`` of the result.

    Returns:
        The ``(height, width, 3)`` uint8 letterboxed image and the resize factor, so that a network
        coordinate divided by it is a frame coordinate.
    """
    height, width = input_size
    scale = min(height / frame.shape[0], width / frame.shape[1])
    # int() (floor), not round(): YOLOX's own preprocessing sizes the resized image this way.
    resized_size = (int(frame.shape[1] * scale), int(frame.shape[0] * scale))
    resized = cv2.resize(frame, resized_size, interpolation=cv2.INTER_LINEAR)
    image = np.full((height, width, 3), PAD_VALUE, dtype=np.uint8)
    image[: resized.shape[0], : resized.shape[1]] = resized
    return image, scale


def yolox_grid(input_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The cell of every output row: ``(A, 2)`` float64 cell ``x, y`` and ``(A, 1)`` float64 stride.

    Rows run over the stride-8 grid first, each grid row by row, as the YOLOX export concatenates them.
    """
    cells, strides = [], []
    for stride in YOLOX_STRIDES:
        rows, columns = input_size[0] // stride, input_size[1] // stride
        y, x = np.meshgrid(np.arange(rows), np.arange(columns), indexing="ij")
        cells.append(np.stack([x.ravel(), y.ravel()], axis=1))
        strides.append(np.full((rows * columns, 1), stride))
    return np.concatenate(cells).astype(np.float64), np.concatenate(strides).astype(np.float64)


def decode_yolox_output(
    raw: np.ndarray, grid: np.ndarray, strides: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Decodes one image's output rows into boxes and per-class scores.

    Args:
        raw: ``(A, 5 + C)``: xy offset, log wh, objectness, C class scores (sigmoided).
        grid: ``(A, 2)`` cell ``x, y`` of each row (`yolox_grid`).
        strides: ``(A, 1)`` stride of each row.

    Returns:
        ``(A, 4)`` float64 ``tlbr`` boxes in network-input pixels and ``(A, C)`` float64 scores
        (objectness x class score).
    """
    raw = raw.astype(np.float64)
    centres = (raw[:, :2] + grid) * strides
    sizes = np.exp(raw[:, 2:4]) * strides
    boxes = cxcywh_to_tlbr(np.concatenate([centres, sizes], axis=1))
    return boxes, raw[:, 4:5] * raw[:, 5:]


def _expected_yolox() -> str:
    return "input [1, 3, H, W] (H, W multiples of 32) and output [1, A, 5 + classes]"


def _checked_input_size(model: OnnxModel, input_size: tuple[int, int] | None) -> tuple[int, int]:
    size = checked_input_size(model, input_size, "a YOLOX", _expected_yolox())
    if any(dim % YOLOX_STRIDES[-1] for dim in size):
        raise ValueError(f"{model.path}: input size {size} is not a multiple of {YOLOX_STRIDES[-1]}")
    return size


def _checked_num_classes(model: OnnxModel, input_size: tuple[int, int]) -> int:
    """The class count from the output shape; a mismatch in the number of rows means another model."""
    shape = model.outputs[0].shape
    rows = grid_cells(input_size, YOLOX_STRIDES)
    if len(shape) != 3 or shape[1] not in (rows, None) or shape[2] is None or shape[2] < 6:
        raise model.wrong_model("a YOLOX", _expected_yolox() + f", A = {rows}")
    return shape[2] - 5
