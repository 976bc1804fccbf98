"""Person re-identification embeddings from an ONNX model (e.g. torchreid's OSNet ``osnet_x0_25_msmt17``).

Each box is cut out of the frame, resized to the model's input (256 x 128 for OSNet) with bilinear
interpolation, converted to RGB, scaled to 0-1 and normalised with the ImageNet mean/std; the model's
vectors are L2-normalised, so a dot product is a cosine similarity.

Crop pixels are the box corners rounded to the nearest integer and clipped to the frame. With these
choices the embeddings of the shared ``det_yolox_nano_osnet.npy`` (made from unrounded YOLOX boxes) are
reproduced with cosine > 0.99999 (all 6587 boxes); from the boxes as printed in that file (two
decimals), a corner that lands on .5 may round the other way, which still gives cosine > 0.98.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from discmot.structures import Detections, tlwh_to_tlbr
from discmot.trackers.detectors.frames import check_bgr_frame
from discmot.trackers.detectors.onnx_runtime import OnnxModel

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


class OnnxReidEmbedder:
    """Computes one appearance vector per box.

    Args:
        model_path: ONNX file with input ``[N, 3, H, W]`` (RGB, ImageNet mean/std) and output ``[N, D]``.
        device: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        batch_size: crops per model call when the model's batch dimension is dynamic. A model exported
            with a fixed batch (OSNet's is 1) is always called with that batch, the last one padded.

    Attributes:
        input_size: ``(H, W)`` of a crop, read from the model.
        dim: ``D``, the embedding length.
    """

    def __init__(self, model_path: str | Path, device: str = "cpu", batch_size: int = 32):
        self.model = OnnxModel(model_path, device)
        self.input_size, self.dim, fixed_batch = _checked_reid_shapes(self.model)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.batch_size = fixed_batch or batch_size
        self.pad_batches = fixed_batch is not None

    def __call__(self, frame_bgr: np.ndarray, boxes_tlwh: np.ndarray) -> np.ndarray:
        """Embeds the boxes of one frame.

        Args:
            frame_bgr: ``(H, W, 3)`` uint8 BGR frame.
            boxes_tlwh: ``(N, 4)`` ``x, y, w, h`` boxes in frame pixels.

        Returns:
            ``(N, D)`` float32 unit vectors. A box with no pixel inside the frame gets the zero vector:
            it has cosine 0 with everything, so appearance neither links nor separates it, and no made-up
            crop (an edge sliver) pretends to be the object.
        """
        check_bgr_frame(frame_bgr)
        boxes_tlwh = _checked_boxes(boxes_tlwh)
        crops = crop_boxes(frame_bgr, boxes_tlwh)
        embeddings = np.zeros((len(crops), self.dim), dtype=np.float32)
        inside = [i for i, crop in enumerate(crops) if crop is not None]
        if inside:
            batch = np.stack([reid_input(crop, self.input_size) for crop in crops if crop is not None])
            embeddings[inside] = l2_normalise(self._run_in_batches(batch))
        return embeddings

    def embed_detections(self, frame_bgr: np.ndarray, detections: Detections) -> Detections:
        """``detections`` with their embeddings computed on ``frame_bgr``."""
        embeddings = self(frame_bgr, detections.boxes)
        return Detections(detections.boxes, detections.scores, embeddings, detections.classes)

    def _run_in_batches(self, inputs: np.ndarray) -> np.ndarray:
        """``(N, 3, H, W)`` -> ``(N, D)`` raw model outputs, in chunks the model accepts."""
        outputs = []
        for start in range(0, len(inputs), self.batch_size):
            chunk = inputs[start : start + self.batch_size]
            size = len(chunk)
            if self.pad_batches and size < self.batch_size:
                chunk = np.concatenate(
                    [chunk, np.zeros((self.batch_size - size, *chunk.shape[1:]), chunk.dtype)]
                )
            outputs.append(self.model.run(chunk)[:size])
        return np.concatenate(outputs).astype(np.float32)


def crop_boxes(frame: np.ndarray, boxes_tlwh: np.ndarray) -> list[np.ndarray | None]:
    """Views of ``frame`` under each box (corners rounded, clipped); ``None`` for a box outside the frame."""
    corners = np.rint(tlwh_to_tlbr(boxes_tlwh))
    height, width = frame.shape[:2]
    corners[:, 0::2] = corners[:, 0::2].clip(0, width)
    corners[:, 1::2] = corners[:, 1::2].clip(0, height)
    crops = []
    for x1, y1, x2, y2 in corners.astype(np.int64).tolist():
        crops.append(frame[y1:y2, x1:x2] if x2 > x1 and y2 > y1 else None)
    return crops


def reid_input(crop_bgr: np.ndarray, input_size: tuple[int, int]) -> np.ndarray:
    """One BGR uint8 crop -> ``(3, H, W)`` float32 RGB, ImageNet-normalised network input."""
    resized = cv2.resize(crop_bgr, (input_size[1], input_size[0]), interpolation=cv2.INTER_LINEAR)
    rgb = cv2.cvtColor(resized, cv2.COLOR_BGR2RGB).astype(np.float32) / 255
    return ((rgb - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1)


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length; a zero row stays zero (no division by zero)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


def _checked_boxes(boxes_tlwh: np.ndarray) -> np.ndarray:
    boxes = np.asarray(boxes_tlwh, dtype=np.float64)
    if boxes.size == 0:
        return boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4 or not np.isfinite(boxes).all():
        raise ValueError(f"boxes must be a finite (N, 4) tlwh array, got shape {boxes.shape}")
    return boxes


def _checked_reid_shapes(model: OnnxModel) -> tuple[tuple[int, int], int, int | None]:
    """``(H, W)``, ``D`` and the fixed batch size (``None`` if dynamic) of a re-identification model."""
    expected = "input [N, 3, H, W] with fixed H, W and output [N, D] (one vector per crop)"
    shape, output = model.input.shape, model.outputs[0].shape
    if (
        len(shape) != 4
        or shape[1] != 3
        or None in shape[2:]
        or model.input.type != "tensor(float)"
        or len(output) != 2
        or output[1] is None
    ):
        raise model.wrong_model("a re-identification", expected)
    return (shape[2], shape[3]), output[1], shape[0]
