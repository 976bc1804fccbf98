"""Per-frame identified embeddings from FDTA and CSTrack, streamed frame by frame.

Identities come from the ground truth when it is given (detections matched to gt boxes, Hungarian on IoU
>= 0.5, so every pair of rows is known to be two different objects) or else from the model's own tracker
(detections matched the same way to the tracker's output boxes; its ids are then only as right as the
tracker).

Views (the keys of `FrameObjects.embeddings`):

* FDTA ``decoder``: ``FDTA.detect(...)["outputs"][0, q]``, the last decoder layer's embedding of query
  ``q``. This is what the ID decoder reads for the *current* detections (raw, joined with the newborn ID
  word, spec §5.2) and what the Identity Adapter's contrastive loss acts on during training.
* FDTA ``adapted``: what the ID decoder reads for the *trajectory* tokens: ``trajectory_modeling``
  (MOTIP's FFN adapter) applied to ``trajectory_embedding`` (the Temporal Adapter) over each object's
  history. For frame ``t`` the history of every object present at ``t`` is its ``decoder`` embeddings at
  the last ``W`` analysed frames (``W = miss_tolerance - 1``, the tracker's window; missing frames masked
  with the dual mask), laid out ``[1, 1, T, N, F]`` as in `FDTA.id_logits`; the view is the adapters'
  output at the last time step ``t``. The Temporal Adapter is not a per-detection transform (it mixes a
  trajectory's frames), so this is exactly the token the ID decoder would use for that object when it
  identifies the detections of frame ``t + 1``.
* CSTrack ``reid``: the raw ID embedding (512-d for the official model) at each box centre of the stride-8
  embedding map, read by `CSTrackTracker.detections` before association, as the tracker sees it.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from discmot.analysis.embeddings import (
    AnalysisConfig,
    FrameObjects,
    fdta_detections,
    match_detections,
    select_queries,
    tlwh_to_xyxy,
)

#: Human-readable description of every view, for reports.
VIEW_DESCRIPTIONS = {
    "decoder": "FDTA decoder embeddings (DETR `outputs`, before the adapters; what the ID decoder reads "
    "for current detections)",
    "adapted": "FDTA trajectory tokens after the Temporal Adapter + FFN adapter (what the ID decoder reads "
    "for track history)",
    "reid": "CSTrack ID embeddings at the box centres (REN/SAAN branch, before association)",
}

#: How each model's tracker uses the analysed embeddings to assign the ids it outputs.
TRACKER_ID_SOURCES = {
    "fdta": "FDTA's tracker assigns them with the ID decoder, which reads these embeddings",
    "cstrack": "CSTrack's JDE tracker assigns them mostly by the cosine similarity of these embeddings",
}


def tracker_ids_caveat(kind: str) -> str:
    """What re-identification figures mean when the identities are the tracker's output ids (no gt)."""
    return (
        f"Identities here are the model's own tracker's output ids, not ground truth: "
        f"{TRACKER_ID_SOURCES[kind]}. The re-identification rates therefore measure self-consistency (the "
        "embeddings agree with ids they helped assign), not evidence that they discriminate objects; "
        "measure against ground truth for that (a sequence folder with gt/gt.txt as the source, in "
        "discmot analyze and demo; discmot analyze also takes --gt FILE)."
    )


def identify(
    detections_xyxy: np.ndarray,
    references_tlwh: np.ndarray,
    reference_ids: np.ndarray,
    iou_threshold: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Detections matched to reference boxes; returns ``(detection_rows [p], ids [p])`` (detection order)."""
    rows, refs = match_detections(detections_xyxy, tlwh_to_xyxy(references_tlwh), iou_threshold)
    return rows, np.asarray(reference_ids, dtype=np.int64)[refs]


class _RecordingModel:
    """Wraps an FDTA model so its tracker's ``detect`` output can be read back (one detection per frame)."""

    def __init__(self, model):
        self.model = model
        self.config = model.config
        self.last = None

    def detect(self, images, mask=None):
        self.last = self.model.detect(images, mask)
        return self.last

    def id_logits(self, *args):
        return self.model.id_logits(*args)


class FDTAExtractor:
    """FDTA's ``decoder`` and ``adapted`` views of one frame at a time (frames must come in order).

    Args:
        model: an `discmot.models.fdta.model.FDTA` in eval mode.
        config: thresholds.
        input_size: fixed network input ``(h, w)`` (default: the model's resize rule).
        with_tracker: identities from `FDTATracker` (no ground truth) instead of the ``references``.
    """

    views = ("decoder", "adapted")

    def __init__(self, model, config: AnalysisConfig, input_size=None, with_tracker: bool = False):
        from discmot.trackers.fdta import FDTATracker

        self.model, self.config, self.input_size = model, config, input_size
        self.window: deque[tuple[np.ndarray, np.ndarray]] = deque(
            maxlen=max(model.config.runtime.miss_tolerance - 1, 1)
        )
        self.recorder = _RecordingModel(model)
        self.tracker = FDTATracker(self.recorder, input_size=input_size) if with_tracker else None

    def __call__(
        self, frame: int, image_bgr: np.ndarray, references: tuple[np.ndarray, np.ndarray] | None = None
    ) -> FrameObjects:
        """``references = (tlwh [n, 4], ids [n])`` gt boxes (ignored with a tracker)."""
        if self.tracker is None:
            boxes, _, outputs = fdta_detections(
                self.model, image_bgr, self.input_size, self.config.score_threshold
            )
        else:  # one network pass: the tracker's own detect output, recorded on the way
            tracks = self.tracker.update(image_bgr)
            references = (tracks.boxes, tracks.ids)
            boxes, _, outputs = select_queries(
                self.recorder.last, image_bgr.shape[:2], self.config.score_threshold
            )
        assert references is not None  # given without a tracker
        rows, ids = identify(boxes, *references, self.config.iou_threshold)
        decoder = outputs[rows].numpy().astype(np.float32)
        self.window.append((ids, decoder))
        xyxy = boxes[rows]
        tlwh = np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1)
        return FrameObjects(frame, ids, tlwh, {"decoder": decoder, "adapted": self._adapted(ids)})

    def network_input(self, frame_size: tuple[int, int] | None) -> tuple[tuple[int, int] | None, str]:
        """``((h, w) or None, origin)``: the network input for frames of ``frame_size = (w, h)`` (None:
        unknown, then only the rule is known) and where it comes from."""
        from discmot.trackers.fdta_frames import resized_size

        if self.input_size is not None:
            return tuple(self.input_size), "given"
        runtime = self.model.config.runtime
        longer = f"at most {runtime.max_longer_side}" if runtime.max_longer_side else "not limited"
        rule = f"the checkpoint's runtime config: shorter side {runtime.shorter_side}, longer side {longer}"
        if frame_size is None:
            return None, rule
        return resized_size(*frame_size, runtime.shorter_side, runtime.max_longer_side), rule

    def _adapted(self, ids: np.ndarray) -> np.ndarray:
        """``[m, F]`` adapter outputs at the window's last frame for ``ids`` (see the module docstring)."""
        import torch

        if not len(ids):
            return np.zeros((0, self.window[-1][1].shape[1]), np.float32)
        columns = {
            int(i): c for c, i in enumerate(sorted({int(i) for f_ids, _ in self.window for i in f_ids}))
        }
        length, dim = len(self.window), self.window[-1][1].shape[1]
        features = torch.zeros(1, 1, length, len(columns), dim)
        masks = torch.ones(1, 1, length, len(columns), dtype=torch.bool)
        for t, (frame_ids, embeddings) in enumerate(self.window):
            index = torch.tensor([columns[int(i)] for i in frame_ids], dtype=torch.long)
            features[0, 0, t, index] = torch.from_numpy(embeddings)
            masks[0, 0, t, index] = False
        with torch.inference_mode():
            encoded = self.model.trajectory_embedding(features, masks)
            encoded = self.model.trajectory_modeling(encoded)
        last = torch.tensor([columns[int(i)] for i in ids], dtype=torch.long)
        return encoded[0, 0, -1, last].numpy().astype(np.float32)


class CSTrackExtractor:
    """CSTrack's ``reid`` view of one frame at a time.

    Args:
        model: a `discmot.models.cstrack.model.CSTrack` in eval mode.
        config: thresholds (detections at or below ``score_threshold`` are dropped; CSTrack's own
            detection threshold, 0.5, applies first).
        input_size: network input ``(h, w)``, multiples of 32 (default: the model config's).
        with_tracker: identities from `CSTrackTracker`'s association (no ground truth).
    """

    views = ("reid",)

    def __init__(self, model, config: AnalysisConfig, input_size=None, with_tracker: bool = False):
        from discmot.trackers.association import JDETrackerConfig
        from discmot.trackers.cstrack import CSTrackTracker

        self.config, self.with_tracker = config, with_tracker
        self.given_input_size = input_size is not None
        # every track identifies its boxes: the pedestrian output filter only chooses what a result file
        # shows, and on wide boxes (dancers' arms out) it would leave nothing to analyse
        tracker_config = JDETrackerConfig.preset("cstrack", output_filter=False)
        self.tracker = CSTrackTracker(model, input_size=input_size, config=tracker_config)

    def __call__(
        self, frame: int, image_bgr: np.ndarray, references: tuple[np.ndarray, np.ndarray] | None = None
    ) -> FrameObjects:
        """``references = (tlwh [n, 4], ids [n])`` gt boxes (ignored with a tracker)."""
        detections = self.tracker.detections(image_bgr)
        if self.with_tracker:
            tracks = self.tracker.association.update(detections)
            references = (tracks.boxes, tracks.ids)
        keep = np.flatnonzero(detections.scores > self.config.score_threshold)
        assert references is not None  # given without a tracker
        rows, ids = identify(tlwh_to_xyxy(detections.boxes[keep]), *references, self.config.iou_threshold)
        rows = keep[rows]
        assert detections.embeddings is not None  # CSTrack's detections carry their re-ID embeddings
        embeddings = detections.embeddings[rows].astype(np.float32)
        return FrameObjects(frame, ids, detections.boxes[rows], {"reid": embeddings})

    def network_input(self, frame_size: tuple[int, int] | None) -> tuple[tuple[int, int], str]:
        """``((h, w), origin)``: every frame is letterboxed to the tracker's input size, whatever its size."""
        origin = "given" if self.given_input_size else "the checkpoint's config (input_size)"
        input_size = self.tracker.input_size
        assert input_size is not None  # the model config's when none is given
        return input_size, origin


def build_extractor(kind: str, model, config: AnalysisConfig, input_size=None, with_tracker: bool = False):
    """`FDTAExtractor` or `CSTrackExtractor` for ``kind`` (``"fdta"`` / ``"cstrack"``)."""
    if kind == "fdta":
        return FDTAExtractor(model, config, input_size, with_tracker)
    if kind == "cstrack":
        return CSTrackExtractor(model, config, input_size, with_tracker)
    raise ValueError(f"unknown model kind {kind!r} (fdta, cstrack)")
