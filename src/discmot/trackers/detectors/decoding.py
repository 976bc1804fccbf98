"""What the grid detectors share once their outputs are decoded into boxes and per-class scores.

* `output_layout`: which export an output shape is (YOLOX, YOLOv5, YOLOv8/YOLO11), from how its rows
  relate to the input size;
* `select_detections`: the class filter, the score threshold, the mapping back to frame pixels,
  clipping, and per-class NMS (`discmot.ops.boxes`);
* the checks of the options and of the model's input every detector makes.

numpy only; the detectors (`discmot.trackers.detectors.yolox`, ``.ultralytics``) do the rest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np

from discmot.ops.boxes import batched_nms, box_area, clip_tlbr
from discmot.structures import Detections, tlbr_to_tlwh
from discmot.trackers.detectors.onnx_runtime import OnnxModel

#: Strides of the three output grids of YOLOX, YOLOv5 and YOLOv8/YOLO11 (P3-P5 models).
GRID_STRIDES = (8, 16, 32)
#: Anchors per grid cell of YOLOv5 (YOLOX and YOLOv8 are anchor-free: one row per cell).
YOLOV5_ANCHORS = 3

Layout = Literal["yolox", "yolov5", "yolov8"]


def grid_cells(input_size: tuple[int, int], strides: tuple[int, ...] = GRID_STRIDES) -> int:
    """Cells of the stride-8/16/32 grids over an ``(H, W)`` input: 8400 for 640x640, 3549 for 416x416."""
    return sum((input_size[0] // stride) * (input_size[1] // stride) for stride in strides)


def output_layout(input_size: tuple[int, int], output_shape: tuple) -> Layout | None:
    """The export an output shape comes from, or ``None`` when no decoder knows it.

    With ``N`` = `grid_cells`: YOLOX gives ``[1, N, 5 + C]`` (one row per cell), YOLOv5
    ``[1, 3N, 5 + C]`` (three anchors per cell) and YOLOv8/YOLO11 ``[1, 4 + C, N]`` (one column per
    cell), all with at least one class ``C``.

    Args:
        input_size: ``(H, W)`` of the network input.
        output_shape: the model's output shape, e.g. ``(1, 84, 8400)``.
    """
    cells = grid_cells(input_size)
    if len(output_shape) != 3 or output_shape[0] != 1:
        return None
    _, rows, columns = output_shape
    if rows == cells and columns >= 6:
        return "yolox"
    if rows == YOLOV5_ANCHORS * cells and columns >= 6:
        return "yolov5"
    if columns == cells and rows >= 5:
        return "yolov8"
    return None


def probed_output_shape(model: OnnxModel, input_size: tuple[int, int]) -> tuple:
    """The model's declared output shape, or, where it is dynamic, the shape it gives on a black input."""
    declared = model.outputs[0].shape
    if declared and None not in declared:
        return declared
    return tuple(model.run(np.zeros((1, 3, *input_size), dtype=np.float32)).shape)


def probe_note(model: OnnxModel, shape: tuple) -> str:
    """For errors: `` (its dynamic output gives [1, 84, 8400])`` when ``shape`` was probed, else ``""``."""
    if shape == model.outputs[0].shape:
        return ""
    return f" (its dynamic output gives [{', '.join(map(str, shape))}])"


def select_detections(
    boxes: np.ndarray,
    class_scores: np.ndarray,
    *,
    classes: np.ndarray | None,
    conf: float,
    nms: float,
    scale: float,
    frame_size: tuple[int, int],
    offset: tuple[float, float] = (0.0, 0.0),
) -> Detections:
    """Decoded network rows -> the frame's detections.

    Args:
        boxes: ``(A, 4)`` float64 ``tlbr`` boxes in network-input pixels.
        class_scores: ``(A, C)`` scores of each class (for YOLOX and YOLOv5, objectness x class score).
        classes: ``(K,)`` int64 class ids kept (`checked_classes`), or ``None`` for all.
        conf: minimum score of a kept box.
        nms: IoU above which the lower-scored of two boxes of the same class is suppressed.
        scale: the letterbox resize factor (network pixels per frame pixel).
        frame_size: ``(height, width)`` of the frame.
        offset: ``(left, top)`` letterbox padding in network pixels, subtracted before dividing by
            ``scale``.

    Returns:
        `Detections` with ``tlwh`` frame boxes, scores and int64 classes, by decreasing score.
    """
    classes, scores = best_allowed_class(class_scores, classes)
    confident = scores >= conf
    height, width = frame_size
    # Clipped before NMS: that is what reproduces YOLOX's shared detections at the frame border.
    shift = np.array([offset[0], offset[1], offset[0], offset[1]], dtype=np.float64)
    boxes = clip_tlbr((boxes[confident] - shift) / scale, width, height)
    scores, classes = scores[confident], classes[confident]
    visible = box_area(boxes) > 0  # boxes wholly in the padding clip to nothing
    boxes, scores, classes = boxes[visible], scores[visible], classes[visible]
    keep = batched_nms(boxes, scores, classes, nms)
    return Detections(tlbr_to_tlwh(boxes[keep]), scores[keep], None, classes[keep])


def best_allowed_class(class_scores: np.ndarray, classes: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The best-scoring allowed class of each row: ``(A,)`` int64 class ids and ``(A,)`` scores.

    Only allowed classes compete, so a person is not lost because the same cell scores higher as,
    say, a chair; ``classes=None`` allows all.
    """
    allowed = np.arange(class_scores.shape[1]) if classes is None else classes
    best = class_scores[:, allowed].argmax(axis=1)
    rows = np.arange(len(class_scores))
    return allowed[best].astype(np.int64), class_scores[:, allowed][rows, best]


def checked_input_size(
    model: OnnxModel, input_size: tuple[int, int] | None, kind: str, expected: str
) -> tuple[int, int]:
    """``(H, W)`` of a detector's ``[1, 3, H, W]`` float input, from the model or ``input_size``.

    A model of another shape is the one-line `OnnxModel.wrong_model` error for ``kind``/``expected``.
    """
    shape = model.input.shape
    if len(shape) != 4 or shape[0] not in (1, None) or shape[1] != 3 or model.input.type != "tensor(float)":
        raise model.wrong_model(kind, expected)
    size = tuple(input_size) if input_size is not None else shape[2:]
    if None in size:
        raise ValueError(f"{model.path}: the model's input size is dynamic; pass input_size=(height, width)")
    if any(dim is not None and dim != wanted for dim, wanted in zip(shape[2:], size, strict=True)):
        raise ValueError(f"{model.path}: input_size {size} differs from the model's input {shape[2:]}")
    return int(size[0]), int(size[1])


def checked_classes(classes, num_classes: int, path: Path) -> np.ndarray | None:
    """Sorted unique ``(K,)`` int64 class ids within the model's ``num_classes``, or ``None`` (all)."""
    if classes is None:
        return None
    classes = np.unique(np.asarray(classes, dtype=np.int64))
    if classes.size == 0 or classes.min() < 0 or classes.max() >= num_classes:
        raise ValueError(
            f"{path}: classes must be ids in 0..{num_classes - 1} or None, got {classes.tolist()}"
        )
    return classes


def checked_selection(
    owner: str, model: OnnxModel, num_classes: int, classes, conf: float, nms: float
) -> tuple[np.ndarray | None, float, float]:
    """A detector's ``(classes, conf, nms)`` options checked (`checked_classes`, `checked_fraction`)."""
    return (
        checked_classes(classes, num_classes, model.path),
        checked_fraction(owner, "conf", conf),
        checked_fraction(owner, "nms", nms),
    )


def checked_fraction(owner: str, name: str, value: float) -> float:
    """A score or IoU threshold: a number from 0 to 1 (a string or nan would pass ``float()``)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating) or not 0 <= value <= 1:
        raise ValueError(f"{owner}: {name} {value!r}: a threshold from 0 to 1")
    return float(value)
