"""`onnx_detector`: the right detector for an ONNX detector export, chosen from its output shape."""

from __future__ import annotations

from pathlib import Path

from discmot.trackers.detectors.decoding import (
    checked_input_size,
    grid_cells,
    output_layout,
    probe_note,
    probed_output_shape,
)
from discmot.trackers.detectors.onnx_runtime import OnnxModel
from discmot.trackers.detectors.ultralytics import UltralyticsDetector
from discmot.trackers.detectors.yolox import YoloxDetector

#: The model kinds `onnx_detector` knows, for error messages.
KNOWN = "a YOLOX or Ultralytics YOLO detector"


def _expected(cells: str) -> str:
    return (
        f"input [1, 3, H, W] and output [1, N, 5 + classes] (YOLOX), [1, 3N, 5 + classes] (YOLOv5) "
        f"or [1, 4 + classes, N] (YOLOv8/YOLO11), N = {cells}"
    )


def onnx_detector(
    model_path: str | Path,
    conf: float = 0.3,
    nms: float = 0.45,
    classes: tuple[int, ...] | None = (0,),
    input_size: tuple[int, int] | None = None,
    device: str = "cpu",
) -> YoloxDetector | UltralyticsDetector:
    """Loads an ONNX detector and returns the detector that decodes its output.

    With ``N`` the cells of the stride-8/16/32 grids of the input (8400 for 640x640): an output
    ``[1, N, 5 + C]`` is YOLOX (`YoloxDetector`), ``[1, 3N, 5 + C]`` YOLOv5 and ``[1, 4 + C, N]``
    YOLOv8/YOLO11 (`UltralyticsDetector`). Any other is a one-line ``ValueError`` naming the file and
    its shapes. The arguments are those of the detectors (see `YoloxDetector`).
    """
    model = OnnxModel(model_path, device)
    size = checked_input_size(model, input_size, KNOWN, _expected("the cells of strides 8, 16, 32"))
    shape = probed_output_shape(model, size)
    layout = output_layout(size, shape)
    if layout is None:
        cells = f"{grid_cells(size)} for input {size[0]}x{size[1]}{probe_note(model, shape)}"
        raise model.wrong_model(KNOWN, _expected(cells))
    kind = YoloxDetector if layout == "yolox" else UltralyticsDetector
    return kind(model, conf=conf, nms=nms, classes=classes, input_size=size)
