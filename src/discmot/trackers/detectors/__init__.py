"""Detector and embedder plug-ins: what turns a frame into `Detections` for a tracking-by-detection tracker.

* `YoloxDetector`: a YOLOX ONNX export (letterbox, grid decode, class filter, NMS).
* `OnnxReidEmbedder`: a person re-identification ONNX model (e.g. OSNet), one unit vector per box.
* `PrecomputedDetections` / `load_precomputed`: MOTChallenge ``det.txt`` or ``.npy`` rows with features.

The ONNX plug-ins need the optional extra ``pip install 'discmot[onnx]'``; onnxruntime is imported only
when a model is loaded.
"""

from discmot.trackers.detectors.onnx_runtime import MISSING_ONNXRUNTIME, OnnxModel, OnnxRuntimeMissingError
from discmot.trackers.detectors.precomputed import PrecomputedDetections, load_precomputed
from discmot.trackers.detectors.reid import OnnxReidEmbedder
from discmot.trackers.detectors.yolox import YoloxDetector

__all__ = [
    "MISSING_ONNXRUNTIME",
    "OnnxModel",
    "OnnxReidEmbedder",
    "OnnxRuntimeMissingError",
    "PrecomputedDetections",
    "YoloxDetector",
    "load_precomputed",
]
