"""CSTrack's online tracker, end to end (spec ``cstrack.md`` §1.3, §4, §7).

One BGR frame goes through:

1. `discmot.models.cstrack.postprocess.letterbox` to the network input (the model config's
   ``input_size``, 608x1088 (h, w) for the official model) and `image_to_tensor` (RGB, /255, no
   mean/std);
2. `CSTrack.predict`: the raw per-level logits and the stride-8 ID-embedding map;
3. `detect_frame`: the raw logits decoded in float32, ``obj > conf`` and ``obj * cls > conf``,
   Cluster-DIoU-NMS (0.6, exponent 0.7), at most 300 boxes, score-descending; the raw embedding at each
   box centre is read **before** the boxes are mapped back to the frame (no clipping, no rounding);
4. `JDETracker` with CSTrack's thresholds (`JDETrackerConfig.preset("cstrack")`): the appearance + motion,
   IoU and unconfirmed stages, births, deaths, duplicate removal and the pedestrian output filter
   (``w/h > 0.6`` or area <= 100 not written) of §7.4-7.8, the filter on every input as in the original
   (``discmot track --no-output-filter`` turns it off for objects that are not standing people). It
   L2-normalises each embedding in float32, as the original does.

Differences from the original, on purpose:

* embedding cells left of or above the map (box centres can be a few pixels outside the input) are
  clamped to 0 instead of wrapping around (spec §7.1 step 6);
* track ids start at 1 for every video (the original's global counter runs on across sequences);
* appearance arithmetic: embeddings are normalised as one float32 array and templates kept in float64 (the
  original normalises each vector on its own in float32, a detection's twice, and keeps float32
  templates); costs differ by about 1e-7, which can flip a match only on an exact tie at a threshold;
* NMS orders equal scores stably (the original's CUDA sort leaves their order unspecified);
* in fp16/bf16 the network runs in that dtype but its raw logits are decoded (sigmoids, box geometry) and
  thresholded in float32, from the config's float32 anchors.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from discmot.models import network_input_size
from discmot.models.cstrack.config import CSTrackConfig, check_input_size
from discmot.models.cstrack.postprocess import (
    decode_predictions,
    detect,
    embeddings_at_boxes,
    image_to_tensor,
    letterbox,
    scale_boxes_to_original,
)
from discmot.ops.cuda_graph import network_forward
from discmot.structures import Detections, Tracks
from discmot.trackers.association import JDETracker, JDETrackerConfig
from discmot.trackers.detection_checks import is_integral, is_real
from discmot.trackers.video_state import FrameSizeCheck, tracker_device_and_dtype

#: Cluster-DIoU-NMS threshold and the cap on detections per frame (spec §7.9).
NMS_THRESHOLD = 0.6
MAX_DETECTIONS = 300


def anchor_tensor(model_config: CSTrackConfig, device: str | torch.device) -> torch.Tensor:
    """The config's anchors ``[L, A, 2]``, input pixels, float32 on ``device`` (as `detect_frame` uses)."""
    return torch.tensor(model_config.anchors, dtype=torch.float32, device=device)


def decoded_rows(
    raw: list[torch.Tensor],
    model_config: CSTrackConfig,
    head_k: float = 10.0,
    anchors_px: torch.Tensor | None = None,
) -> torch.Tensor:
    """One image's decoded rows ``[N, 5 + nc]`` (float32, input pixels) from its per-level raw logits
    ``[1, A, H_i, W_i, 5 + nc]`` of any floating dtype (spec §7.1 step 2)."""
    if anchors_px is None:
        anchors_px = anchor_tensor(model_config, raw[0].device)
    return decode_predictions([r.float() for r in raw], anchors_px, model_config.strides, head_k)[0]


def detect_frame(
    raw: list[torch.Tensor],
    embedding_map: torch.Tensor,
    model_config: CSTrackConfig,
    input_hw: tuple[int, int],
    frame_hw: tuple[int, int],
    conf_threshold: float = 0.5,
    nms_threshold: float = NMS_THRESHOLD,
    max_detections: int = MAX_DETECTIONS,
    head_k: float = 10.0,
    anchors_px: torch.Tensor | None = None,
) -> Detections:
    """One frame's detections from the network outputs (spec §7.1 steps 2-7).

    Args:
        raw: per-level logits ``[1, A, H_i, W_i, 5 + nc]`` (any floating dtype; decoded in float32).
        embedding_map: ``[1, H/8, W/8, E]`` ID-embedding map.
        model_config: the model's `CSTrackConfig` (anchors, strides).
        input_hw: ``(H, W)`` of the network input; ``frame_hw``: ``(h0, w0)`` of the frame.
        head_k: the Detect head's ``k`` (10 selects the standard YOLOv5 decoding).
        anchors_px: `anchor_tensor` of ``model_config`` on the outputs' device, when the caller keeps
            one (built from ``model_config`` otherwise).

    Returns:
        `Detections` in NMS order (score-descending): ``tlwh`` frame pixels (computed in float32, then
        float64, as the original), float64 scores and raw float32 embeddings ``(K, E)``.
    """
    decoded = decoded_rows(raw, model_config, head_k, anchors_px)
    boxes, scores = detect(decoded, conf_threshold, nms_threshold, max_detections)
    features = embeddings_at_boxes(embedding_map[0], boxes, model_config.strides[0]).float()
    corners = scale_boxes_to_original(boxes, input_hw, frame_hw)
    tlwh = torch.cat((corners[:, :2], corners[:, 2:4] - corners[:, :2]), dim=1)
    return Detections(
        tlwh.cpu().double().numpy(),
        scores.cpu().double().numpy(),
        features.cpu().numpy(),
    )


def _checked_nms(nms_threshold: float, max_detections: int) -> tuple[float, int]:
    """The NMS settings, refused when they would fail inside the first frame's NMS (a fractional cap) or
    silently change the boxes (a negative cap slices the last ones off; every test against a NaN fails)."""
    if not (is_real(nms_threshold) and 0.0 <= nms_threshold <= 1.0):
        raise ValueError(f"nms_threshold {nms_threshold!r}: an IoU, 0 to 1 (CSTrack's: {NMS_THRESHOLD})")
    if not is_integral(max_detections) or isinstance(max_detections, bool) or max_detections < 1:
        raise ValueError(
            f"max_detections {max_detections!r}: a whole number of boxes, at least 1 "
            f"(CSTrack's: {MAX_DETECTIONS})"
        )
    return float(nms_threshold), int(max_detections)


def network_pass(model, image: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
    """CSTrack's network on ``image`` ``[1, 3, H, W]``: raw per-level logits and the ID-embedding map
    (the stages, not ``predict()``: decoding takes the raw logits to float32 itself)."""
    detection, reid = model.reciprocal(model.features(image))
    return model.detect(detection), model.embeddings(reid)


class CSTrackTracker:
    """CSTrack end to end: ``update(frame_bgr) -> Tracks`` (see the module docstring for the steps).

    One instance tracks one video at a time; `reset` between videos (ids restart at 1).

    Args:
        model: a `discmot.models.cstrack.model.CSTrack` (it is put in eval mode).
        device: where the images go (default: the model's device; a given one must be the model's).
        dtype: the model's floating dtype (default: the model's; a given one must be the model's); images
            are cast to it, decoding and thresholds stay float32.
        input_size: network input ``(h, w)``, multiples of 32 (default: the model config's, 608x1088 for
            the official model).
        config: association settings (default: CSTrack's, `JDETrackerConfig.preset("cstrack")`); its
            ``conf_threshold`` is also the detection threshold (the original's single ``conf_thres``).
        frame_rate: frames per second of the video (lost tracks are kept ``frame_rate`` frames).
        nms_threshold, max_detections: Cluster-DIoU-NMS threshold (0 to 1) and cap (at least 1; 0.6, 300).
        cuda_graph: on CUDA, replay the network from a CUDA graph (`discmot.ops.cuda_graph`: the same
            kernels in one launch; 22 ms a 1080p frame's network took, of which 6 ms GPU work, on an
            H100); ``False`` runs it eagerly.

    Raises:
        TypeError: ``model`` is no CSTrack network, or ``config`` no `JDETrackerConfig`.
        ValueError: an input size that is no multiple of 32, a threshold outside 0 to 1, a cap below 1, or
            a ``device``/``dtype`` the model is not in.
    """

    detects: ClassVar[bool] = True  # end to end: the engine calls update(frame)

    def __init__(
        self,
        model,
        device: str | torch.device | None = None,
        dtype: torch.dtype | str | None = None,
        input_size: tuple[int, int] | None = None,
        config: JDETrackerConfig | None = None,
        frame_rate: float = 30.0,
        nms_threshold: float = NMS_THRESHOLD,
        max_detections: int = MAX_DETECTIONS,
        cuda_graph: bool = True,
    ):
        if not hasattr(getattr(model, "config", None), "anchors"):
            raise TypeError(
                "CSTrackTracker needs a CSTrack model (discmot.load_model('cstrack', ...)), "
                f"got {type(model)}"
            )
        self.model = model
        self.device, self.dtype = tracker_device_and_dtype(model, device, dtype)  # also "bf16"
        input_hw = network_input_size(input_size or model.config.input_size)
        assert input_hw is not None  # None comes only from None: the model config always has a size
        self.input_size = input_hw
        check_input_size(self.input_size)
        self.association = JDETracker(config or JDETrackerConfig.preset("cstrack"), frame_rate=frame_rate)
        self.config = self.association.config
        if not 0.0 <= self.config.conf_threshold <= 1.0:  # the network's scores are probabilities
            raise ValueError(f"conf_threshold {self.config.conf_threshold}: CSTrack's scores lie in 0 to 1")
        self.nms_threshold, self.max_detections = _checked_nms(nms_threshold, max_detections)
        self.anchors_px = anchor_tensor(model.config, self.device)  # once, not a host-to-device copy a frame
        self.forward = network_forward(network_pass, model, cuda_graph)
        self.frames = FrameSizeCheck()
        self.reset()

    def reset(self) -> None:
        """Forgets every track; the next video starts with id 1."""
        self.association.reset()
        self.frames.reset()

    def update(self, frame_bgr: np.ndarray) -> Tracks:
        """Tracks one BGR ``uint8 (H, W, 3)`` frame; returns its confirmed tracks (``tlwh`` frame pixels).

        Raises:
            ValueError: not a uint8 BGR image, or its size differs from the first frame's since `reset`.
        """
        self.frames(frame_bgr)
        return self.association.update(self.detections(frame_bgr))

    def detections(self, frame_bgr: np.ndarray) -> Detections:
        """The detection stage alone: one frame's boxes, scores and raw embeddings (see `detect_frame`)."""
        raw, embedding_map = self.network(self.preprocess(frame_bgr))
        return self.decode(raw, embedding_map, frame_bgr.shape[:2])

    def preprocess(self, frame_bgr: np.ndarray) -> torch.Tensor:
        """The letterboxed network input ``[1, 3, H, W]`` on the tracker's device, in its dtype."""
        boxed = letterbox(frame_bgr, self.input_size)
        return image_to_tensor(boxed.image, self.device)[None].to(self.dtype)

    def network(self, image: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """One `preprocess`ed image's raw per-level logits ``[1, A, H_i, W_i, 5 + nc]`` (the model's
        dtype) and its ID-embedding map ``[1, H/8, W/8, E]``. On CUDA these are the CUDA graph's own
        tensors (``cuda_graph``), overwritten by the next call: decode them first."""
        with torch.inference_mode():
            return self.forward(image)

    def decode(
        self, raw: list[torch.Tensor], embedding_map: torch.Tensor, frame_hw: tuple[int, int]
    ) -> Detections:
        """`detect_frame` with the tracker's thresholds: `network`'s outputs to frame-pixel detections."""
        with torch.inference_mode():
            return detect_frame(
                raw,
                embedding_map,
                self.model.config,
                self.input_size,
                frame_hw,
                self.config.conf_threshold,
                self.nms_threshold,
                self.max_detections,
                float(self.model.head.k),
                self.anchors_px,
            )
