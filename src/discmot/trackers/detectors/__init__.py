"""Detector and embedder plug-ins: what turns a frame into `Detections` for a tracking-by-detection tracker.

* `onnx_detector`: loads an ONNX detector export and returns the detector its output shape calls for:
* `YoloxDetector`: a YOLOX ONNX export (letterbox, grid decode, class filter, NMS), or
* `UltralyticsDetector`: a YOLOv5 or YOLOv8/YOLO11 ONNX export (Ultralytics' centred letterbox, the same
  class filter and NMS).
* `OnnxReidEmbedder`: a person re-identification ONNX model (e.g. OSNet), one unit vector per box.
* `PrecomputedDetections` / `load_precomputed`: MOTChallenge ``det.txt`` or ``.npy`` rows with features.

The ONNX plug-ins need the optional extra ``pip install 'discmot[onnx]'``; onnxruntime is imported only
when a model is loaded.
"""

from discmot.trackers.detectors.factory import onnx_detector
from discmot.trackers.detectors.onnx_runtime import MISSING_ONNXRUNTIME, OnnxModel, OnnxRuntimeMissingError
from discmot.trackers.detectors.precomputed import PrecomputedDetections, load_precomputed
from discmot.trackers.detectors.reid import OnnxReidEmbedder
from discmot.trackers.detectors.ultralytics import UltralyticsDetector
from discmot.trackers.detectors.yolox import YoloxDetector

__all__ = [
    "MISSING_ONNXRUNTIME",
    "OnnxModel",
    "OnnxReidEmbedder",
    "OnnxRuntimeMissingError",
    "PrecomputedDetections",
    "UltralyticsDetector",
    "YoloxDetector",
    "load_precomputed",
    "onnx_detector",
]
