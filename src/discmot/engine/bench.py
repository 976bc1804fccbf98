"""What ``discmot bench`` times and how: its options (`BenchOptions`), the frames (a synthetic scene or
the first frames of a source), the tracker of each dtype (from a checkpoint, or a random network made to
fire), one record per dtype as ``--json`` writes it (`bench_runs`, timed by
`discmot.engine.speed.measure_speed`), and the machine the numbers were measured on.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from discmot.engine.speed import measure_speed

if TYPE_CHECKING:
    from discmot.ops.deform_attn_triton import DeformKernelChoice

# the name these lines had before they left discmot.engine.speed: users filter bench's log by it
log = logging.getLogger("discmot.engine.speed")

#: The synthetic scene each kind is timed on: dancers for FDTA (DanceTrack), pedestrians for CSTrack.
SCENES = {"fdta": "dancetrack", "cstrack": "mot"}


@dataclass(frozen=True)
class BenchOptions:
    """One ``discmot bench`` run of one model kind.

    Attributes:
        weights: a checkpoint; ``None``: the preset's network with random weights made to fire.
        preset: the architecture (without weights; default `discmot.engine.firing.DEFAULT_PRESETS`) or
            an official file's.
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:1``.
        input_size: network input ``(h, w)``; default: the model's.
        fast_resize, deform_kernel: FDTA's, cuda_graph: both models' (`discmot.engine.end_to_end.
            NetworkOptions`).
        warmup: frames tracked before timing (then the tracker is reset).
    """

    weights: str | None = None
    preset: str | None = None
    device: str = "auto"
    input_size: tuple[int, int] | None = None
    fast_resize: bool = False
    deform_kernel: DeformKernelChoice = "auto"
    cuda_graph: bool = True
    warmup: int = 3


def synthetic_frames(kind: str, count: int, size: tuple[int, int], seed: int = 0) -> list[np.ndarray]:
    """``count`` BGR frames of ``size`` = (width, height) of `SCENES`' synthetic scene for ``kind``."""
    from discmot.data.synth import PRESETS, render_sequence

    scene = render_sequence(PRESETS[SCENES[kind]], seed, num_frames=count, size=size, split="bench")
    return [frame.image for frame in scene]


def source_frames(source: str, count: int) -> list[np.ndarray]:
    """The first ``count`` frames a video, image folder, glob or sequence yields
    (`discmot.io.video.open_source`, `discmot.io.video.first_yielded`): a count, not frame numbers, so
    images named from ``000050.jpg`` on give frames 50 to ``49 + count``.

    Fewer than ``count`` frames are returned when the source has fewer (the caller says so: it knows how
    many of them are the warm-up).

    Raises:
        ValueError: the source has no frames (or only a ground truth without images).
    """
    from discmot.io.video import first_yielded, open_source

    frames = []
    for _number, frame in first_yielded(open_source(source), count):
        if frame is None:
            raise ValueError(f"{source}: a sequence without images; time the trackers on frames")
        frames.append(frame)
    if not frames:
        raise ValueError(f"{source}: no frames")
    return frames


def bench_tracker(kind: str, dtype: str, options: BenchOptions, network=None):
    """The tracker ``discmot bench`` times in ``dtype``: from ``options.weights``, loaded as ``discmot
    track`` loads it, else a copy of ``network`` (`discmot.engine.firing.firing_network`'s) in ``dtype``
    on ``options.device``."""
    from discmot.engine.distributed import pick_device
    from discmot.engine.end_to_end import NetworkOptions, build_end_to_end
    from discmot.models.registry import torch_dtype, warn_if_slow_precision

    if options.weights is not None:
        network_options = NetworkOptions(
            weights=options.weights,
            preset=options.preset,
            device=options.device,
            dtype=dtype,
            input_size=options.input_size,
            fast_resize=options.fast_resize,
            deform_kernel=options.deform_kernel,
            cuda_graph=options.cuda_graph,
        )
        return build_end_to_end(kind, network_options)(30.0)
    device, precision = pick_device(options.device), torch_dtype(dtype)
    warn_if_slow_precision(device, precision)
    # a copy per dtype: casting one model back and forth would round its float32 weights
    model = copy.deepcopy(network).to(device=device, dtype=precision)
    if kind == "fdta":
        from discmot.ops.deform_attn_triton import select_deform_kernel
        from discmot.trackers.fdta import FDTATracker

        log.info(
            "FDTA deformable attention on %s: %s", device, select_deform_kernel(options.deform_kernel, device)
        )
        return FDTATracker(
            model,
            device,
            precision,
            input_size=options.input_size,
            fast_resize=options.fast_resize,
            cuda_graph=options.cuda_graph,
        )
    from discmot.trackers.cstrack import CSTrackTracker

    return CSTrackTracker(
        model,
        device,
        precision,
        options.input_size,
        _random_cstrack_association(),
        cuda_graph=options.cuda_graph,
    )


def _random_cstrack_association():
    """CSTrack's association, its pedestrian output filter off (it would only warn that random boxes are
    not people's)."""
    from discmot.trackers.association import JDETrackerConfig

    return JDETrackerConfig.preset("cstrack", None, output_filter=False)


def bench_runs(
    kind: str,
    dtypes: Sequence[str],
    options: BenchOptions,
    frames: Sequence[np.ndarray],
    progress: bool = False,
) -> Iterator[dict]:
    """One record per dtype, yielded as each is measured: what ran (model, weights or preset, device,
    dtype, sizes) and its `SpeedResult`, as plain values (what ``discmot bench --json`` writes)."""
    from discmot.engine.distributed import pick_device
    from discmot.engine.firing import DEFAULT_PRESETS, firing_network
    from discmot.models.registry import MODEL_NAMES

    network = None
    what = options.weights or f"{options.preset or DEFAULT_PRESETS[kind]} with random weights"
    height, width = frames[0].shape[:2]
    log.info(
        "timing %s (%s) in %s: %d warm-up and %d timed frames of %dx%d each",
        MODEL_NAMES[kind],
        what,
        ", ".join(dtypes),
        options.warmup,
        len(frames) - options.warmup,
        width,
        height,
    )
    if options.weights is None:
        device = pick_device(options.device)
        conf = _random_cstrack_association().conf_threshold
        log.info("%s: making the random network fire on the frames first", MODEL_NAMES[kind])
        fired = firing_network(kind, frames, options.preset, device, options.input_size, conf)
        network = fired.cpu()  # each dtype's copy goes to the device: one model there at a time
    for dtype in dtypes:
        tracker = bench_tracker(kind, dtype, options, network)
        name = f"{MODEL_NAMES[kind]} {dtype}"
        result = measure_speed(tracker, kind, frames, options.warmup, progress, name)
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
    from discmot.trackers.fdta_frames import resized_size

    runtime = tracker.runtime
    return list(resized_size(frame.shape[1], frame.shape[0], runtime.shorter_side, runtime.max_longer_side))


def machine(device: str | torch.device) -> dict:
    """The machine the numbers were measured on: CPU, usable cores, torch's threads, ``device``'s GPU,
    torch's version."""
    from discmot.engine.run_environment import cpu_model, usable_cores

    info = {
        "cpu": cpu_model(),
        "cpu_cores": usable_cores(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }
    device = torch.device(device)
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info
