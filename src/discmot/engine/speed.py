"""How fast an end-to-end tracker runs on this machine: ``discmot bench``.

FDTA or CSTrack tracks frames held in memory (a synthetic scene rendered beforehand, or the first frames of
the user's video, as a decoder would hand them over), after a warm-up and a reset. Measured: frames per
second end to end, milliseconds per frame by stage, boxes out and tracks alive per frame, and the peak
device memory on CUDA.

Without weights the network is its preset's with random weights *made to fire* (`fire_fdta`,
`firing_cstrack`): random weights otherwise detect nothing, and the ID decoder and the association would
never run. The time of a network does not depend on its values, but the work after it depends on how many
boxes it gives; with a checkpoint, that is the checkpoint's own.

Stages are timed by wrapping the tracker's own methods (`StageClock`), so what is timed is the code that
tracks. On CUDA each stage boundary synchronises the device, which costs time itself: the frame rate comes
from a first pass without the clocks, the stages from a second.
"""

from __future__ import annotations

import logging
import math
import statistics
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

log = logging.getLogger(__name__)

#: Each kind's timed stages: ``(stage name, dotted path of the tracker's method that does it)``.
STAGES: dict[str, tuple[tuple[str, str], ...]] = {
    "fdta": (
        ("detection network (DETR + Spatial Adapter)", "model.detect"),
        ("ID prediction (Temporal Adapter + ID decoder)", "model.id_logits"),
    ),
    "cstrack": (
        ("letterbox, upload", "preprocess"),
        ("network", "network"),
        ("decoding, NMS, embeddings at boxes", "decode"),
        ("association", "association.update"),
    ),
}
#: What the frame time holds besides the timed stages.
OTHER_STAGE = {
    "fdta": "frame resize and upload, query selection, label assignment",
    "cstrack": "frame checks and the rest",
}
#: The full-size preset a kind is timed at when neither weights nor a preset are given.
DEFAULT_PRESETS = {"fdta": "dancetrack", "cstrack": "cstrack"}
#: The synthetic scene each kind is timed on: dancers for FDTA (DanceTrack), pedestrians for CSTrack.
SCENES = {"fdta": "dancetrack", "cstrack": "mot"}
#: Queries a random FDTA is made to find on the first frame (DanceTrack has about 9 dancers a frame).
FDTA_FIRING_QUERIES = 15
#: Anchor cells a random CSTrack is made to fire on in the first frame (before NMS).
CSTRACK_FIRING_CELLS = 40
#: The frames a random CSTrack's batch norms and firing are calibrated on.
CSTRACK_FIRING_FRAMES = 4


@dataclass(frozen=True)
class SpeedResult:
    """One tracker's measured speed.

    Attributes:
        frames: frames timed (after the warm-up).
        seconds: their wall-clock time, end to end.
        stage_ms: milliseconds per frame of each stage (`STAGES`, then `OTHER_STAGE`).
        boxes_per_frame: mean number of tracks the tracker output per frame.
        tracks_alive: mean number of tracks it kept per frame (FDTA: history columns; CSTrack: tracked
            tracks, confirmed or not).
        peak_memory_mib: peak device memory allocated by torch over the timed frames (CUDA only).
    """

    frames: int
    seconds: float
    stage_ms: dict[str, float]
    boxes_per_frame: float
    tracks_alive: float
    peak_memory_mib: float | None = None

    @property
    def fps(self) -> float:
        return self.frames / self.seconds

    @property
    def ms_per_frame(self) -> float:
        return 1000 * self.seconds / self.frames


@dataclass
class StageClock:
    """Adds the seconds of every call of some of an object's methods to ``totals[stage]`` while active.

    ``with StageClock(tracker, [("network", "model.detect")]) as clock:`` replaces ``tracker.model.detect``
    by a timed wrapper on that instance, and puts the method back on exit. ``synchronize`` (e.g.
    ``torch.cuda.synchronize``) runs before and after each call, so that a stage's asynchronous device
    work is counted in it and not in the next.
    """

    owner: object
    stages: Sequence[tuple[str, str]]
    synchronize: Callable[[], None] | None = None
    totals: dict[str, float] = field(default_factory=dict)
    _wrapped: list[tuple[object, str]] = field(default_factory=list)

    def __enter__(self) -> StageClock:
        for stage, path in self.stages:
            self.totals.setdefault(stage, 0.0)
            *parents, name = path.split(".")
            holder = self.owner
            for parent in parents:
                holder = getattr(holder, parent)
            if name in vars(holder):
                raise ValueError(f"{path}: already replaced on this instance (a clock inside a clock?)")
            setattr(holder, name, self._timed(stage, getattr(holder, name)))
            self._wrapped.append((holder, name))
        return self

    def __exit__(self, *exc_info) -> None:
        while self._wrapped:
            holder, name = self._wrapped.pop()
            delattr(holder, name)  # the instance attribute goes; the class's method shows again

    def _timed(self, stage: str, method: Callable) -> Callable:
        def timed(*args, **kwargs):
            if self.synchronize is not None:
                self.synchronize()
            start = time.perf_counter()
            result = method(*args, **kwargs)
            if self.synchronize is not None:
                self.synchronize()
            self.totals[stage] += time.perf_counter() - start
            return result

        return timed


def tracks_alive(tracker) -> int:
    """The tracks ``tracker`` keeps now: FDTA's history columns, CSTrack's tracked tracks."""
    history = getattr(tracker, "history", None)
    if history is not None:
        return history.num_tracks
    return len(tracker.association.tracked)


def measure_speed(
    tracker,
    kind: str,
    frames: Sequence[np.ndarray],
    warmup: int = 3,
    progress: bool = False,
) -> SpeedResult:
    """Times ``tracker.update`` over ``frames`` (BGR ``uint8 (H, W, 3)``) after ``warmup`` of them and a
    `reset` (see the module docstring).

    Raises:
        ValueError: no frames, or a warm-up as long as the frames.
    """
    if not frames:
        raise ValueError("no frames to time")
    if not 0 <= warmup < len(frames):
        raise ValueError(f"a warm-up of {warmup} frames leaves none of the {len(frames)} frames to time")
    device = torch.device(tracker.device)
    synchronize = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else None
    for frame in frames[:warmup]:
        tracker.update(frame)
    timed = frames[warmup:]
    if synchronize is None:  # on the CPU the clocks cost two perf_counter calls: one pass does
        with StageClock(tracker, STAGES[kind]) as clock:
            seconds, boxes, alive = _timed_pass(tracker, timed, None, progress)
        staged_seconds, peak = seconds, None
    else:
        torch.cuda.reset_peak_memory_stats(device)
        seconds, boxes, alive = _timed_pass(tracker, timed, synchronize, progress)
        peak = torch.cuda.max_memory_allocated(device) / 2**20
        with StageClock(tracker, STAGES[kind], synchronize) as clock:
            staged_seconds, _, _ = _timed_pass(tracker, timed, synchronize, progress)
    stage_seconds = {**clock.totals, OTHER_STAGE[kind]: staged_seconds - sum(clock.totals.values())}
    return SpeedResult(
        frames=len(timed),
        seconds=seconds,
        stage_ms={stage: 1000 * value / len(timed) for stage, value in stage_seconds.items()},
        boxes_per_frame=statistics.fmean(boxes),
        tracks_alive=statistics.fmean(alive),
        peak_memory_mib=peak,
    )


def _timed_pass(tracker, frames, synchronize, progress: bool) -> tuple[float, list[int], list[int]]:
    """``tracker`` reset, then over ``frames``: the seconds, and per frame the boxes out and tracks kept."""
    tracker.reset()
    if synchronize is not None:
        synchronize()
    boxes, alive = [], []
    start = time.perf_counter()
    for frame in _bar(frames, progress):
        boxes.append(len(tracker.update(frame).ids))  # numpy results: the frame's device work is done
        alive.append(tracks_alive(tracker))
    return time.perf_counter() - start, boxes, alive


def _bar(frames, progress: bool) -> Iterable:
    if not progress:
        return frames
    from tqdm import tqdm

    return tqdm(frames, unit="frame", leave=False)


# ---------------------------------------------------------------------------------------------------
# random networks made to fire


def fire_fdta(model, image: torch.Tensor, count: int = FDTA_FIRING_QUERIES) -> None:
    """Shifts the last decoder layer's class bias so that ``count`` queries of ``image`` score above the
    newborn threshold (random weights otherwise detect nothing, and the ID decoder would never run).

    Args:
        model: an FDTA in float32, on ``image``'s device.
        image: ``[1, 3, H, W]`` normalised image (`discmot.trackers.fdta.preprocess_frame`).
    """
    with torch.inference_mode():
        logits = model.detect(image, None)["pred_logits"][0].float().max(dim=-1).values
    ranked = logits.sort(descending=True).values
    count = min(count, len(ranked) - 1)
    boundary = (ranked[count - 1] + ranked[count]) / 2
    runtime = model.config.runtime
    threshold = max(runtime.det_thresh, runtime.newborn_thresh)  # a new track needs the newborn score
    with torch.no_grad():
        model.detr.class_embed[-1].bias += math.log(threshold / (1 - threshold)) - boundary


def firing_cstrack(
    preset: str,
    images: torch.Tensor,
    seed: int = 0,
    cells: int = CSTRACK_FIRING_CELLS,
    conf_threshold: float = 0.5,
):
    """A random CSTrack whose features depend on the image and whose head fires on about ``cells`` cells
    of each of ``images`` (``[K, 3, H, W]``, letterboxed, in ``[0, 1]``; a few frames of the video).

    He-normal convolutions make the features depend on the image; their activations then grow past
    fp16's range (65,504) through the residual stages, which a trained network's never do, so the batch
    norms take their statistics from ``images``, as training would have set them. The head's class logits
    are raised (+5), and its objectness logits shifted so that on average ``cells`` anchor cells of an
    image score above ``conf_threshold`` (`fire_cstrack`). Calibrated on one frame, the count of another
    frame was 2-7 times it (1920x1080 synthetic pedestrians): several frames give a steadier load.
    """
    from discmot.models.cstrack.model import build_cstrack

    torch.manual_seed(seed)
    model = build_cstrack(preset)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
                torch.nn.init.kaiming_normal_(module.weight, a=0.1, nonlinearity="leaky_relu")
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                module.reset_running_stats()
                module.momentum = None  # a cumulative average: after one pass, that pass's statistics
        model.train()(images)
        for conv in model.head.m:
            conv.bias.view(model.config.num_anchors, -1)[:, 5:] = 5.0
    model.eval()
    fire_cstrack(model, images, cells, conf_threshold)
    return model


def fire_cstrack(model, images: torch.Tensor, cells: int, conf_threshold: float = 0.5) -> None:
    """Shifts the head's objectness biases so that about ``cells`` anchor cells of each of ``images`` pass
    CSTrack's confidence test (objectness and objectness x class above ``conf_threshold``, as
    `discmot.models.cstrack.postprocess.candidate_boxes`): a trained detector leaves tens of candidates a
    frame, an untrained one none or thousands.

    Args:
        model: a CSTrack in float32, on ``images``' device, in eval mode.
        images: ``[K, 3, H, W]`` letterboxed images in ``[0, 1]``.
    """
    with torch.inference_mode():
        raw = model.detect(model.reciprocal(model.features(images))[0])
    rows = torch.cat([level.reshape(len(images), -1, level.shape[-1]) for level in raw], dim=1).float()
    objectness, class_probability = rows[..., 4], rows[..., 5:].sigmoid().max(dim=-1).values

    def passing(shift: float) -> float:
        """Mean cells per image passing the test with the objectness logits shifted by ``shift``."""
        p = (objectness + shift).sigmoid()
        return ((p > conf_threshold) & (p * class_probability > conf_threshold)).sum().item() / len(images)

    low, high = -100.0, 100.0  # passing(low) < cells <= passing(high), unless cells exceeds every cell
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (low, middle) if passing(middle) >= cells else (middle, high)
    with torch.no_grad():
        for conv in model.head.m:
            conv.bias.view(model.config.num_anchors, -1)[:, 4] += high


# ---------------------------------------------------------------------------------------------------
# what ``discmot bench`` times


@dataclass(frozen=True)
class BenchOptions:
    """One ``discmot bench`` run of one model kind.

    Attributes:
        weights: a checkpoint; ``None``: the preset's network with random weights made to fire.
        preset: the architecture (without weights; default `DEFAULT_PRESETS`) or an official file's.
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:1``.
        input_size: network input ``(h, w)``; default: the model's.
        fast_resize, deform_kernel: FDTA's (`discmot.engine.end_to_end.NetworkOptions`).
        warmup: frames tracked before timing (then the tracker is reset).
    """

    weights: str | None = None
    preset: str | None = None
    device: str = "auto"
    input_size: tuple[int, int] | None = None
    fast_resize: bool = False
    deform_kernel: str = "auto"
    warmup: int = 3


def synthetic_frames(kind: str, count: int, size: tuple[int, int], seed: int = 0) -> list[np.ndarray]:
    """``count`` BGR frames of ``size`` = (width, height) of `SCENES`' synthetic scene for ``kind``."""
    from discmot.data.synth import PRESETS, render_sequence

    scene = render_sequence(PRESETS[SCENES[kind]], seed, num_frames=count, size=size, split="bench")
    return [frame.image for frame in scene]


def build_bench_tracker(kind: str, dtype: str, options: BenchOptions, frames: Sequence[np.ndarray]):
    """The tracker ``discmot bench`` times: from ``options.weights`` as ``discmot track`` builds it, else
    the preset's network made to fire on the first of ``frames`` (FDTA) or the first few (CSTrack)."""
    from discmot.engine.end_to_end import NetworkOptions, build_end_to_end

    if options.weights is not None:
        network = NetworkOptions(
            weights=options.weights,
            preset=options.preset,
            device=options.device,
            dtype=dtype,
            input_size=options.input_size,
            fast_resize=options.fast_resize,
            deform_kernel=options.deform_kernel,
        )
        return build_end_to_end(kind, network)(30.0)
    if kind == "fdta":
        return _firing_fdta_tracker(dtype, options, frames[0])
    return _firing_cstrack_tracker(dtype, options, frames[:CSTRACK_FIRING_FRAMES])


def _firing_fdta_tracker(dtype: str, options: BenchOptions, first_frame: np.ndarray):
    from discmot.engine.distributed import pick_device
    from discmot.models.fdta.model import build_fdta
    from discmot.models.registry import torch_dtype
    from discmot.ops.deform_attn_triton import select_deform_kernel
    from discmot.trackers.fdta import FDTATracker, preprocess_frame

    device = pick_device(options.device)
    path = select_deform_kernel(options.deform_kernel, device)
    log.info("FDTA deformable attention on %s: %s", device, path)
    torch.manual_seed(0)
    model = build_fdta(options.preset or DEFAULT_PRESETS["fdta"]).to(device).eval()
    image, _ = preprocess_frame(first_frame, model.config.runtime, options.input_size, device=device)
    fire_fdta(model, image)
    dtype = torch_dtype(dtype)
    return FDTATracker(
        model.to(dtype=dtype),
        device=device,
        dtype=dtype,
        input_size=options.input_size,
        fast_resize=options.fast_resize,
    )


def _firing_cstrack_tracker(dtype: str, options: BenchOptions, frames: Sequence[np.ndarray]):
    from discmot.engine.distributed import pick_device
    from discmot.models.cstrack.config import preset as cstrack_preset
    from discmot.models.cstrack.postprocess import image_to_tensor, letterbox
    from discmot.models.registry import torch_dtype
    from discmot.trackers.association import JDETrackerConfig
    from discmot.trackers.cstrack import CSTrackTracker, check_input_size

    preset = options.preset or DEFAULT_PRESETS["cstrack"]
    input_size = tuple(options.input_size or cstrack_preset(preset).input_size)
    check_input_size(input_size)
    device = pick_device(options.device)
    # the pedestrian output filter off: it would only warn that random boxes are not people's
    config = JDETrackerConfig.preset("cstrack", None, output_filter=False)
    images = torch.stack([image_to_tensor(letterbox(frame, input_size).image) for frame in frames])
    model = firing_cstrack(preset, images, conf_threshold=config.conf_threshold)
    dtype = torch_dtype(dtype)
    return CSTrackTracker(model.to(device=device, dtype=dtype), device, dtype, input_size, config)


def bench_runs(
    kind: str,
    dtypes: Sequence[str],
    options: BenchOptions,
    frames: Sequence[np.ndarray],
    progress: bool = False,
) -> Iterator[dict]:
    """One record per dtype: what ran (model, weights or preset, device, dtype, sizes) and its
    `SpeedResult`, as plain values (what ``discmot bench --json`` writes)."""
    for dtype in dtypes:
        tracker = build_bench_tracker(kind, dtype, options, frames)
        result = measure_speed(tracker, kind, frames, options.warmup, progress)
        yield {
            "model": kind,
            "weights": options.weights,
            "preset": tracker.model.config.name,
            "random_weights_made_to_fire": options.weights is None,
            "device": str(tracker.device),
            "dtype": dtype,
            "frame_size": [int(frames[0].shape[1]), int(frames[0].shape[0])],
            "network_input": _network_input(tracker, frames[0]),
            **asdict(result),
            "fps": result.fps,
            "ms_per_frame": result.ms_per_frame,
        }


def _network_input(tracker, frame: np.ndarray) -> list[int]:
    """The ``[h, w]`` the network sees for ``frame``."""
    if getattr(tracker, "input_size", None) is not None:
        return [int(side) for side in tracker.input_size]
    from discmot.trackers.fdta import resized_size

    runtime = tracker.runtime
    return list(resized_size(frame.shape[1], frame.shape[0], runtime.shorter_side, runtime.max_longer_side))


def source_frames(source: str, count: int) -> list[np.ndarray]:
    """The first ``count`` frames of a video, image folder, glob or sequence (`discmot.io.video.open_source`).

    Raises:
        ValueError: the source has no frames (or only a ground truth without images).
    """
    from discmot.io.video import first_frames, open_source

    frames = []
    for _number, frame in first_frames(open_source(source), count):
        if frame is None:
            raise ValueError(f"{source}: a sequence without images; time the trackers on frames")
        frames.append(frame)
    if not frames:
        raise ValueError(f"{source}: no frames")
    if len(frames) < count:
        log.warning("%s: %d frames, fewer than the %d asked for", source, len(frames), count)
    return frames


def machine() -> dict:
    """The machine the numbers were measured on: CPU, cores, torch's threads, the GPU, torch's version."""
    import os

    from discmot.engine.run_folder import cpu_model

    info = {
        "cpu": cpu_model(),
        "cpu_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
    return info
