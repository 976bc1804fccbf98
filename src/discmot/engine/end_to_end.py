"""End-to-end trackers built from a checkpoint: FDTA and CSTrack take whole frames and ``--weights``.

`build_end_to_end` loads the model once and returns ``frame_rate -> tracker`` for `discmot.engine.infer`;
what it loads and how is one `NetworkOptions`, CSTrack's association one `AssociationOptions`. torch is
imported only when a builder is called.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, cast

from discmot.models.registry import MODEL_KINDS, load_model, torch_dtype

if TYPE_CHECKING:
    from pathlib import Path

    import torch

    from discmot.models.cstrack.model import CSTrack
    from discmot.models.fdta.model import FDTA
    from discmot.ops.deform_attn_triton import DeformKernelChoice
    from discmot.trackers.base import EndToEndTracker

log = logging.getLogger(__name__)

#: The trackers that detect for themselves: they take whole frames and a checkpoint (``--weights``).
END_TO_END = MODEL_KINDS
#: How to get the demo's tiny checkpoint of model ``KIND``, said when no ``--weights`` is given: these
#: builders are reached from the command line and from Python (``fdta_tracker(None, ...)``).
BUNDLED_HINT = (
    "; for the demo's tiny model (trained on synthetic scenes only): --weights bundled on the command "
    'line, discmot.bundled_weights("KIND") in Python'
)


@dataclass(frozen=True)
class NetworkOptions:
    """Which end-to-end network is loaded and how it runs (``discmot track --weights --preset --device
    --dtype --input-size --fast-resize --deform-kernel --no-cuda-graph``, and FDTA's ``--id-assignment
    --id-thresh --miss-tolerance``).

    Attributes:
        weights: the checkpoint (official .pth/.pt, discmot .safetensors or a ``discmot train`` one).
        preset: the architecture of an official file (default: inferred from its shapes).
        device: where the network runs (``cpu``, ``cuda``, ``cuda:1``).
        dtype: ``fp32``, ``fp16`` or ``bf16``.
        input_size: an explicit network input ``(h, w)`` (default: the model's rule).
        fast_resize: FDTA only: resize frames in float (`discmot.trackers.fdta.preprocess_frame`).
        deform_kernel: FDTA only: the deformable-attention path
            (`discmot.ops.deform_attn_triton.select_deform_kernel`).
        fdta_runtime: FDTA only: `discmot.models.fdta.config.RuntimeConfig` fields that replace the
            checkpoint's (``assignment_protocol``, ``id_thresh``, ``miss_tolerance``).
        cuda_graph: on CUDA, replay the network from a CUDA graph (`discmot.ops.cuda_graph`); ``False``
            runs it eagerly.
    """

    weights: str | Path | None
    preset: str | None = None
    device: str = "cpu"
    dtype: str = "fp32"
    input_size: tuple[int, int] | None = None
    fast_resize: bool = False
    deform_kernel: DeformKernelChoice = "auto"
    fdta_runtime: Mapping[str, object] = field(default_factory=dict)
    cuda_graph: bool = True


@dataclass(frozen=True)
class AssociationOptions:
    """The JDE association cascade's settings (``--model jde`` and ``cstrack``): a
    `discmot.trackers.association.TRACKER_PRESETS` entry, the benchmark's output filter, and
    `JDETrackerConfig` fields that override the preset's (``None``: the preset's).

    Attributes:
        benchmark: MOT15-20 turn on CSTrack's pedestrian output filter.
        preset: the settings preset (default: the caller's, by the kind of detections).
        conf_threshold, birth_threshold: detection and track-birth score thresholds.
        output_detection_boxes: write the matched detection box (False: the Kalman estimate).
        output_filter: CSTrack's pedestrian output filter on or off.
    """

    benchmark: str | None = None
    preset: str | None = None
    conf_threshold: float | None = None
    birth_threshold: float | None = None
    output_detection_boxes: bool | None = None
    output_filter: bool | None = None

    def overrides(self) -> dict[str, float | bool]:
        """The `JDETrackerConfig` fields that were given."""
        fields = {
            "conf_threshold": self.conf_threshold,
            "birth_threshold": self.birth_threshold,
            "output_detection_boxes": self.output_detection_boxes,
            "output_filter": self.output_filter,
        }
        return {name: value for name, value in fields.items() if value is not None}


def build_end_to_end(
    model: str, network: NetworkOptions, association: AssociationOptions | None = None
) -> Callable[[float], EndToEndTracker]:
    """``frame_rate -> tracker`` for ``"fdta"`` or ``"cstrack"``; the checkpoint is loaded once, here.

    ``association`` sets CSTrack's cascade (default: the ``cstrack`` preset, the original's thresholds);
    for FDTA only its two thresholds apply, as the checkpoint's ``runtime.det_thresh`` (detections kept)
    and ``runtime.newborn_thresh`` (tracks born).
    """
    association = association or AssociationOptions()
    if model == "fdta":
        tracker = fdta_tracker(
            network.weights,
            network.preset,
            network.device,
            network.dtype,
            network.input_size,
            fast_resize=network.fast_resize,
            deform_kernel=network.deform_kernel,
            det_thresh=association.conf_threshold,
            newborn_thresh=association.birth_threshold,
            runtime_overrides=network.fdta_runtime,
            cuda_graph=network.cuda_graph,
        )
        return lambda _frame_rate: tracker  # no frame-rate setting; track_source resets it per video
    if model == "cstrack":
        return cstrack_factory(
            network.weights,
            preset_name=network.preset,
            device=network.device,
            dtype=network.dtype,
            input_size=network.input_size,
            benchmark=association.benchmark,
            tracker_preset=association.preset,
            cuda_graph=network.cuda_graph,
            **association.overrides(),
        )
    raise ValueError(f"unknown end-to-end model {model!r}; choose from {', '.join(END_TO_END)}")


def fdta_tracker(
    weights,
    preset_name: str | None,
    device: str | torch.device,
    dtype: str | torch.dtype,
    input_size,
    fast_resize: bool = False,
    deform_kernel: DeformKernelChoice = "auto",
    det_thresh: float | None = None,
    newborn_thresh: float | None = None,
    runtime_overrides: Mapping[str, object] | None = None,
    cuda_graph: bool = True,
):
    """The FDTA runtime tracker on a checkpoint (official or discmot format) in ``dtype`` on ``device``.

    ``deform_kernel`` picks the deformable-attention path (`select_deform_kernel`): ``auto`` (the fused
    Triton kernel on CUDA when it is installed and checks equal, else PyTorch), ``pytorch`` or ``triton``.
    ``det_thresh``, ``newborn_thresh`` and ``runtime_overrides`` (other `RuntimeConfig` fields, e.g.
    ``{"assignment_protocol": "hungarian", "miss_tolerance": 20}``) replace the checkpoint's runtime
    settings when given. ``cuda_graph``: `FDTATracker`'s.
    """
    from discmot.engine.distributed import pick_device
    from discmot.ops.deform_attn_triton import select_deform_kernel
    from discmot.trackers.fdta import FDTATracker

    if weights is None:
        raise ValueError(
            "--model fdta needs --weights CHECKPOINT (official .pth or discmot .safetensors)"
            + BUNDLED_HINT.replace("KIND", "fdta")
        )
    device = pick_device(device)
    path = select_deform_kernel(deform_kernel, device)  # before loading: a bad choice fails fast
    log.info("FDTA deformable attention on %s: %s", device, path)
    dtype = torch_dtype(dtype)
    # load_model returns the network of the kind it is given (annotated as any nn.Module)
    model = cast("FDTA", load_model("fdta", weights, preset_name, device=device, dtype=dtype))
    thresholds = {"det_thresh": det_thresh, "newborn_thresh": newborn_thresh}
    settings = {k: v for k, v in thresholds.items() if v is not None} | dict(runtime_overrides or {})
    # mixed field types, which RuntimeConfig checks itself: mypy checks a **dict against every field
    runtime = replace(model.config.runtime, **settings)  # type: ignore[arg-type]
    size = (
        f"{input_size[0]}x{input_size[1]}"
        if input_size
        else f"shorter side {runtime.shorter_side}, longer at most {runtime.max_longer_side}"
    )
    log.info("%s: FDTA, %s, input %s, %s on %s", weights, _network_summary(model), size, _name(dtype), device)
    return FDTATracker(
        model,
        device=device,
        dtype=dtype,
        input_size=input_size,
        fast_resize=fast_resize,
        runtime=runtime,
        cuda_graph=cuda_graph,
    )


def cstrack_factory(
    weights,
    preset_name: str | None = None,
    device: str | torch.device = "cpu",
    dtype: str | torch.dtype = "fp32",
    input_size: tuple[int, int] | None = None,
    benchmark: str | None = None,
    tracker_preset: str | None = None,
    cuda_graph: bool = True,
    **overrides,
) -> Callable[[float], EndToEndTracker]:
    """``frame_rate -> CSTrackTracker``, every tracker sharing one model loaded from ``weights`` (official
    .pt/.pth, discmot .safetensors or a ``discmot train`` checkpoint) in ``dtype`` on ``device``;
    ``cuda_graph``: `CSTrackTracker`'s."""
    from discmot.engine.distributed import pick_device
    from discmot.trackers.association import JDETrackerConfig
    from discmot.trackers.cstrack import CSTrackTracker, check_input_size

    if weights is None:
        raise ValueError(
            "--model cstrack needs --weights CHECKPOINT (official .pt/.pth, discmot .safetensors or a "
            "discmot train checkpoint)" + BUNDLED_HINT.replace("KIND", "cstrack")
        )
    if input_size is not None:
        check_input_size(input_size)  # before the model loads (seconds for the official one)
    device = pick_device(device)
    dtype = torch_dtype(dtype)
    config = JDETrackerConfig.preset(tracker_preset or "cstrack", benchmark, **overrides)
    # load_model returns the network of the kind it is given (annotated as any nn.Module)
    model = cast("CSTrack", load_model("cstrack", weights, preset_name, device=device, dtype=dtype))
    size = input_size or model.config.input_size
    log.info(
        "%s: CSTrack, %s, input %dx%d, %s on %s",
        weights,
        _network_summary(model),
        *size,
        _name(dtype),
        device,
    )
    return lambda frame_rate: CSTrackTracker(
        model, device, dtype, input_size, config, frame_rate, cuda_graph=cuda_graph
    )


def _name(dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _network_summary(model) -> str:
    """``"the dancetrack preset (65,700,686 parameters)"``: what a log line says of a loaded network."""
    from discmot.models import parameter_count

    return f"the {model.config.name} preset ({parameter_count(model):,} parameters)"
