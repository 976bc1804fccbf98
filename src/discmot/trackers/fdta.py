"""FDTA's runtime tracker (spec ``fdta.md`` §5): DETR detections, ID labels from the ID decoder.

The ID decoder does not output track ids: it classifies each detection into one of ``K`` *ID labels*
(``K = 50``: `IDDecoderConfig.num_id_vocabulary`) or into the *newborn* label ``K``. A label is a slot
that a track occupies while it is in the history window; the tracker maps each bound label to a *global
id* and recycles labels least-recently-used first. The per-frame algorithm of spec §5.2, step by step:

1. `select_detections`: ``sigmoid(logit) > det_thresh`` and ``w·W·h·H > area_thresh`` (strict), no NMS;
2. `object_max_assignment` on ``softmax(id_logits)`` (history empty: everything newborn), or the
   original's two alternatives, `hungarian_assignment` and `id_max_assignment`
   (``RuntimeConfig.assignment_protocol``);
3. `keep_confident_newborns`: a newborn needs ``score > newborn_thresh`` (strict);
4. assigned labels are touched in the `LabelQueue`; `cap_newborns` keeps the first ``K - #assigned``
   newborns in query order;
5. newborns take the least recently used labels; an old track still holding one ends (its `TrackHistory`
   column is deleted) and a new global id is bound to the label;
6. the frame's tracks are emitted (boxes in original pixels, ``tlwh``);
7. every label used in the frame is touched (query order);
8. `TrackHistory.append`: the window keeps ``miss_tolerance - 1`` frames, times re-indexed ``0..T-1``;
9. columns unseen in every kept frame are dropped (the track expired).

Steps 1-4 and 6 are functions on plain tensors in `discmot.trackers.fdta_steps`; frames are loaded by
`discmot.trackers.fdta_frames` (`preprocess_frame`, the original's 8-bit PIL resize, or ``fast_resize``).
Global ids count from 0, as in the original (``ids_from_one=True`` adds 1).

Deviations from the original, on purpose:

* newborn cap (step 4): the original crashes when it must cap newborns while some detection was assigned
  (spec §12); here the intended rule is applied.
* a history with rows but no column (every track expired) is treated like an empty history: every
  detection is newborn and the ID decoder is not called (the original would feed it an empty batch).
* ``miss_tolerance`` must be at least 2 and at most the ID decoder's ``rel_pe_length``. At 2 the
  window keeps no earlier frame, as spec step 8 says (the original's slice ``[-MISS_TOLERANCE + 2:]``
  is ``[-0:]`` there and keeps every frame; no config uses 2).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice
from typing import ClassVar

import numpy as np
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

from discmot.models import network_input_size
from discmot.models.fdta.config import RuntimeConfig
from discmot.ops.cuda_graph import network_forward
from discmot.structures import Tracks
from discmot.trackers.fdta_frames import normalised_image, preprocess_frame, resized_size
from discmot.trackers.fdta_steps import (
    ASSIGNMENTS,
    boxes_to_pixels,
    cap_newborns,
    keep_confident_newborns,
    select_detections,
)
from discmot.trackers.video_state import FrameSizeCheck, tracker_device_and_dtype

# with the frame loading that was defined here (documented and imported from here)
__all__ = [
    "ATTENTION_BACKENDS",
    "FDTATracker",
    "LabelQueue",
    "TrackHistory",
    "detection_pass",
    "preprocess_frame",
    "resized_size",
]


# --------------------------------------------------------------------------------------------------
# The ID labels and the history (spec §5.2 steps 4-5, 7-9)


class LabelQueue:
    """The ``K`` ID labels in least-recently-used order (the original's ``id_queue``): touching a label
    moves it to the end, new tracks take labels from the front."""

    def __init__(self, num_labels: int):
        self._order: OrderedDict[int, None] = OrderedDict.fromkeys(range(num_labels))

    def touch(self, labels: Iterable[int]) -> None:
        for label in labels:
            self._order.move_to_end(label)

    def least_recent(self, n: int) -> list[int]:
        """The ``n`` least recently used labels, oldest first."""
        return list(islice(self._order, n))

    def order(self) -> list[int]:
        return list(self._order)


class TrackHistory:
    """The ID decoder's memory: a ``[T, N]`` grid of tokens, one row per frame of the window (oldest
    first, at most ``window`` rows) and one column per label in the history.

    A token is the DETR embedding of the detection that carried the column's label in that frame, or
    zeros with ``mask`` True where the track was not seen.
    """

    def __init__(self, window: int):
        if window < 1:
            raise ValueError(f"the history window must hold at least one frame, got {window}")
        self.window = window
        self.features: torch.Tensor | None = None  # [T, N, F]
        self.masks = torch.zeros((0, 0), dtype=torch.bool)  # [T, N], True = not seen
        self.labels: list[int] = []  # label of each column

    @property
    def num_frames(self) -> int:
        return self.masks.shape[0]

    @property
    def num_tracks(self) -> int:
        return len(self.labels)

    def remove(self, label: int) -> None:
        """Deletes the column of ``label`` (its track ends); nothing if it has none."""
        if label in self.labels:
            self._keep_columns([c for c, other in enumerate(self.labels) if other != label])

    def append(self, features: torch.Tensor, labels: list[int]) -> None:
        """Steps 8-9: adds a frame whose detection ``i`` (``features [M, F]``) carries ``labels[i]``.

        Keeps the last ``window - 1`` rows, adds a column per label not in the history (query order), adds
        the row, then drops the columns unseen in every kept row.
        """
        dim = features.shape[1]
        if self.features is None:
            self.features = features.new_zeros((0, 0, dim))
            self.masks = self.masks.to(features.device)
        start = max(self.num_frames - (self.window - 1), 0)
        self.features, self.masks = self.features[start:], self.masks[start:]
        new = [label for label in labels if label not in self.labels]
        self.features = torch.cat(
            [self.features, self.features.new_zeros((self.num_frames, len(new), dim))], 1
        )
        self.masks = torch.cat([self.masks, self.masks.new_ones((self.num_frames, len(new)))], 1)
        self.labels += new
        row = self.features.new_zeros((1, self.num_tracks, dim))
        row_mask = self.masks.new_ones((1, self.num_tracks))
        index = {label: column for column, label in enumerate(self.labels)}
        columns = torch.tensor([index[label] for label in labels], dtype=torch.long, device=row.device)
        row[0, columns] = features.to(row.dtype)
        row_mask[0, columns] = False
        self.features = torch.cat([self.features, row])
        self.masks = torch.cat([self.masks, row_mask])
        self._keep_columns(torch.nonzero(~self.masks.all(dim=0)).flatten().tolist())

    def model_inputs(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``features [1, 1, T, N, F]``, ``labels [1, 1, T, N]`` long, ``times [1, 1, T, N]`` long
        (``0..T-1``), ``masks [1, 1, T, N]`` bool, as `FDTA.id_logits` takes them."""
        assert self.features is not None  # set by the first `append`, which every track comes from
        device = self.masks.device
        labels = torch.tensor(self.labels, dtype=torch.long, device=device).repeat(self.num_frames, 1)
        times = torch.arange(self.num_frames, device=device)[:, None].repeat(1, self.num_tracks)
        return self.features[None, None], labels[None, None], times[None, None], self.masks[None, None]

    def _keep_columns(self, columns: list[int]) -> None:
        index = torch.tensor(columns, dtype=torch.long, device=self.masks.device)
        assert self.features is not None  # columns exist only after the first `append`
        self.features = self.features[:, index]
        self.masks = self.masks[:, index]
        self.labels = [self.labels[c] for c in columns]


# --------------------------------------------------------------------------------------------------
# The tracker


@dataclass
class _FrameDetections:
    """The detections of a frame still in play: ``scores [M]``, ``boxes [M, 4]`` (CPU), ``features
    [M, F]`` (model device and dtype), ``labels [M]`` (CPU)."""

    scores: torch.Tensor
    boxes: torch.Tensor
    features: torch.Tensor
    labels: torch.Tensor

    def select(self, keep: torch.Tensor) -> _FrameDetections:
        return _FrameDetections(
            self.scores[keep],
            self.boxes[keep],
            self.features[keep.to(self.features.device)],
            self.labels[keep],
        )


#: The attention kernels PyTorch may choose from for the ID decoder: all but cuDNN's. In fp16/bf16 on an
#: H100 PyTorch 2.11 picked cuDNN's, which plans each new problem shape on the CPU, and the ID decoder's
#: shapes change with the history from frame to frame: 4.4 ms of CPU time a call on average (the
#: detection network's fixed shapes are planned once and keep cuDNN's kernel).
ATTENTION_BACKENDS = (SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH)


def detection_pass(model, image: torch.Tensor) -> dict[str, torch.Tensor]:
    """``model.detect`` of ``image`` ``[1, 3, H, W]``: what the tracker reads of it (``pred_logits``,
    ``pred_boxes`` and the query ``outputs``)."""
    out = model.detect(image, None)
    return {key: out[key] for key in ("pred_logits", "pred_boxes", "outputs")}


class FDTATracker:
    """FDTA/MOTIP's runtime tracker around a model with ``detect`` and ``id_logits`` (see
    `discmot.models.fdta.model.FDTA`).

    One instance tracks one video at a time; `reset` between videos. Ids are the original's global ids
    (from 0), or ``global id + 1`` with ``ids_from_one``.

    Args:
        model: the FDTA model (it is put in eval mode).
        device: where the inputs go (default: the model's device; a given one must be the model's).
        dtype: the model's floating dtype (default: the model's; a given one must be the model's); images
            and history tokens are cast to it, the ID softmax and all threshold tests run in float32.
        input_size: a fixed network input ``(h, w)`` instead of the config's shorter/longer side rule.
        ids_from_one: output ``global id + 1`` instead of the original's global ids (from 0).
        fast_resize: resize frames in float (`preprocess_frame`) instead of the original's 8-bit PIL way.
        runtime: thresholds and window instead of the checkpoint's ``model.config.runtime`` (e.g.
            ``dataclasses.replace(model.config.runtime, det_thresh=0.2)``).
        cuda_graph: on CUDA, replay the detection network from a CUDA graph (`discmot.ops.cuda_graph`:
            the same kernels in one launch); ``False`` runs it eagerly.

    Raises:
        TypeError: ``model`` is no FDTA network, or ``runtime`` no `RuntimeConfig`.
        ValueError: a ``miss_tolerance`` beyond the ID decoder's reach, a bad ``input_size``, or a
            ``device``/``dtype`` the model is not in.
    """

    detects: ClassVar[bool] = True  # end to end: the engine calls update(frame)

    def __init__(
        self,
        model,
        device: str | torch.device | None = None,
        dtype: torch.dtype | str | None = None,
        input_size: tuple[int, int] | None = None,
        ids_from_one: bool = False,
        fast_resize: bool = False,
        runtime: RuntimeConfig | None = None,
        cuda_graph: bool = True,
    ):
        if not hasattr(getattr(model, "config", None), "runtime"):
            raise TypeError(
                f"FDTATracker needs an FDTA model (discmot.load_model('fdta', ...)), got {type(model)}"
            )
        self.model = model
        if runtime is not None and not isinstance(runtime, RuntimeConfig):
            raise TypeError(
                "runtime must be a RuntimeConfig, e.g. dataclasses.replace(model.config.runtime, "
                f"det_thresh=0.2), got {type(runtime).__name__}"
            )
        self.runtime: RuntimeConfig = runtime or model.config.runtime
        self.num_labels: int = model.config.id_decoder.num_id_vocabulary
        window_limit = model.config.id_decoder.rel_pe_length
        if self.runtime.miss_tolerance > window_limit:
            raise ValueError(
                f"miss_tolerance {self.runtime.miss_tolerance} exceeds the model's rel_pe_length "
                f"{window_limit}: its ID decoder looks back at most {window_limit - 1} frames"
            )
        self.device, self.dtype = tracker_device_and_dtype(model, device, dtype)  # also "bf16"
        self.input_size = network_input_size(input_size)
        self.id_offset = 1 if ids_from_one else 0
        self.fast_resize = fast_resize
        self.forward = network_forward(detection_pass, model, cuda_graph)
        self.frames = FrameSizeCheck()
        self.reset()

    def reset(self) -> None:
        """Forgets every track; the next video starts with id 0 (1 with ``ids_from_one``)."""
        self.queue = LabelQueue(self.num_labels)
        self.label_to_id: dict[int, int] = {}
        self.next_id = 0
        self.history = TrackHistory(self.runtime.miss_tolerance - 1)
        self.frames.reset()

    def update(self, frame_bgr: np.ndarray) -> Tracks:
        """Tracks one BGR ``uint8 (H, W, 3)`` frame; returns its tracks (``tlwh`` in frame pixels).

        Raises:
            ValueError: not a uint8 BGR image, or its size differs from the first frame's since `reset`.
        """
        self.frames(frame_bgr)  # checks the frame, so preprocess_frame's own check is skipped
        image, image_size = normalised_image(
            frame_bgr, self.runtime, self.input_size, self.fast_resize, self.device
        )
        with torch.inference_mode():
            found = self._detect(image, image_size)
            found.labels = self._predict_labels(found.features)
            found = found.select(
                keep_confident_newborns(
                    found.labels, found.scores, self.num_labels, self.runtime.newborn_thresh
                )
            )
            self.queue.touch(found.labels[found.labels != self.num_labels].tolist())
            found = found.select(cap_newborns(found.labels, self.num_labels))
            self._bind_newborns(found.labels)
            tracks = self._tracks(found, image_size)
            self.queue.touch(found.labels.tolist())
            self.history.append(found.features.to(self.dtype), found.labels.tolist())
        return tracks

    def detection_network(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        """``model.detect`` of one normalised image ``[1, 3, H, W]`` (the tracker's device and dtype): its
        ``pred_logits``, ``pred_boxes`` and query ``outputs``. On CUDA these are the CUDA graph's own
        tensors (``cuda_graph``), overwritten by the next call."""
        return self.forward(image)

    def _detect(self, image: torch.Tensor, image_size: tuple[int, int]) -> _FrameDetections:
        out = self.detection_network(image.to(device=self.device, dtype=self.dtype))
        boxes = out["pred_boxes"][0]
        indices, scores = select_detections(out["pred_logits"][0], boxes, self.runtime, image_size)
        labels = torch.full((len(indices),), self.num_labels, dtype=torch.long)
        return _FrameDetections(
            scores.cpu(), boxes[indices].float().cpu(), out["outputs"][0][indices], labels
        )

    def _predict_labels(self, features: torch.Tensor) -> torch.Tensor:
        """Step 2: labels ``[M]`` (CPU) from the ID decoder; all newborn without history or detections."""
        count = features.shape[0]
        if count == 0 or self.history.num_tracks == 0:
            return torch.full((count,), self.num_labels, dtype=torch.long)
        unknown_times = torch.full(
            (1, 1, 1, count), self.history.num_frames, dtype=torch.long, device=self.device
        )
        unknown_masks = torch.zeros((1, 1, 1, count), dtype=torch.bool, device=self.device)
        with sdpa_kernel(list(ATTENTION_BACKENDS)):
            logits = self.model.id_logits(
                *self.history.model_inputs(),
                features.to(self.dtype)[None, None, None],
                unknown_times,
                unknown_masks,
            )
        probs = logits[0, 0, 0].float().softmax(dim=-1).cpu()
        assign = ASSIGNMENTS[self.runtime.assignment_protocol]
        return assign(probs, self.history.labels, self.runtime.id_thresh)

    def _bind_newborns(self, labels: torch.Tensor) -> None:
        """Step 5: the newborns (query order) take the least recently used labels, in place; a track still
        holding such a label ends, and the label is bound to a new global id."""
        newborns = torch.nonzero(labels == self.num_labels).flatten().tolist()
        for index, label in zip(newborns, self.queue.least_recent(len(newborns)), strict=True):
            self.history.remove(label)
            self.label_to_id[label] = self.next_id
            self.next_id += 1
            labels[index] = label

    def _tracks(self, found: _FrameDetections, image_size: tuple[int, int]) -> Tracks:
        ids = [self.label_to_id[label] + self.id_offset for label in found.labels.tolist()]
        return Tracks(
            np.array(ids, dtype=np.int64),
            boxes_to_pixels(found.boxes, image_size),
            found.scores.double().numpy(),
        )
