"""How fast an end-to-end tracker runs on this machine: ``discmot bench``.

FDTA or CSTrack tracks frames held in memory (a synthetic scene rendered beforehand, or the first frames of
the user's video, as a decoder would hand them over), after a warm-up and a reset. Measured: frames per
second end to end, milliseconds per frame by stage, boxes out and tracks alive per frame, and the peak
device memory on CUDA.

Without weights the network is its preset's with random weights made to fire
(`discmot.engine.firing`); with a checkpoint, it is loaded as ``discmot track`` loads it.

Stages are timed by wrapping the tracker's own methods (`StageClock`), so what is timed is the code that
tracks. On a GPU each stage boundary synchronises the device, which costs time itself: the frame rate
comes from a first pass without the clocks, the stages from a second.

This module holds the timing (`measure_speed`, `StageClock`); what is timed, its options, frames and
trackers, is `discmot.engine.bench`'s.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

log = logging.getLogger(__name__)

#: Each kind's timed stages: ``(stage name, dotted path of the tracker's method that does it)``.
STAGES: dict[str, tuple[tuple[str, str], ...]] = {
    "fdta": (
        ("detection network (DETR + Spatial Adapter)", "detection_network"),
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
    "fdta": "frame resize and upload, query selection, history inputs, ID softmax and label assignment",
    "cstrack": "frame checks and the rest",
}


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
        peak_memory_mib: peak memory torch allocated on the device over the timed frames (CUDA only).
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
        try:
            for stage, path in self.stages:
                self.totals.setdefault(stage, 0.0)
                holder, name = method_holder(self.owner, path)
                if name in vars(holder):
                    raise ValueError(f"{path}: already replaced on this instance (a clock inside a clock?)")
                setattr(holder, name, self._timed(stage, getattr(holder, name)))
                self._wrapped.append((holder, name))
        except BaseException:
            self.__exit__()  # a bad path leaves no method of the earlier ones wrapped
            raise
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


def method_holder(owner: object, path: str) -> tuple[object, str]:
    """The object holding the method named by the dotted ``path`` from ``owner``, and the method's name:
    ``(tracker.model, "detect")`` for ``"model.detect"``."""
    *parents, name = path.split(".")
    for parent in parents:
        owner = getattr(owner, parent)
    return owner, name


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
    name: str = "bench",
) -> SpeedResult:
    """Times ``tracker.update`` over ``frames`` (BGR ``uint8 (H, W, 3)``) after ``warmup`` of them and a
    `reset` (see the module docstring).

    ``progress``: a tqdm bar; else (a log file, ``-q``) a log line named ``name`` every half minute, and
    after the first warm-up frame a rough estimate of the time the whole measurement takes (a full-size
    FDTA frame takes 16 s on a CPU: 23 frames are minutes).

    Raises:
        ValueError: no frames, or a warm-up as long as the frames.
    """
    if not frames:
        raise ValueError("no frames to time")
    if not 0 <= warmup < len(frames):
        raise ValueError(f"a warm-up of {warmup} frames leaves none of the {len(frames)} frames to time")
    device = torch.device(tracker.device)
    synchronize = _synchronizer(device)
    passes = 1 if synchronize is None else 2  # see the module docstring
    for number, frame in enumerate(frames[:warmup]):
        start = time.perf_counter()
        tracker.update(frame)
        if number == 0:  # with its first-call set-up: an estimate on the safe side
            _log_estimate(name, time.perf_counter() - start, warmup - 1 + passes * (len(frames) - warmup))
    timed = frames[warmup:]
    if synchronize is None:  # on the CPU the clocks cost two perf_counter calls: one pass does
        with StageClock(tracker, STAGES[kind]) as clock:
            seconds, boxes, alive = _timed_pass(tracker, timed, None, progress, name)
        staged_seconds, peak = seconds, None
    else:
        cuda = device.type == "cuda"
        if cuda:
            torch.cuda.reset_peak_memory_stats(device)
        seconds, boxes, alive = _timed_pass(tracker, timed, synchronize, progress, name)
        peak = torch.cuda.max_memory_allocated(device) / 2**20 if cuda else None
        with StageClock(tracker, STAGES[kind], synchronize) as clock:
            staged_seconds, _, _ = _timed_pass(tracker, timed, synchronize, progress, name)
    stage_seconds = {**clock.totals, OTHER_STAGE[kind]: staged_seconds - sum(clock.totals.values())}
    return SpeedResult(
        frames=len(timed),
        seconds=seconds,
        stage_ms={stage: 1000 * value / len(timed) for stage, value in stage_seconds.items()},
        boxes_per_frame=statistics.fmean(boxes),
        tracks_alive=statistics.fmean(alive),
        peak_memory_mib=peak,
    )


def _synchronizer(device: torch.device) -> Callable[[], None] | None:
    """What waits for ``device``'s queued work: none for the CPU, ``torch.cuda.synchronize`` for CUDA,
    ``torch.accelerator.synchronize`` for another accelerator (e.g. ``mps``, ``xpu``)."""
    if device.type == "cpu":
        return None
    if device.type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    return lambda: torch.accelerator.synchronize(device)


def _log_estimate(name: str, seconds: float, frames_left: int) -> None:
    """Logs how long the rest of a measurement will take, from one frame's ``seconds``, when that is
    long enough to wait for (a second or more)."""
    from discmot.engine.progress import duration_text  # "1 h 46 min", as track's progress

    if seconds * frames_left >= 1:
        log.info(
            "%s: the first frame took %.1f s: about %s for the %d frames left",
            name,
            seconds,
            duration_text(seconds * frames_left),
            frames_left,
        )


def _timed_pass(
    tracker, frames, synchronize, progress: bool, name: str = "bench"
) -> tuple[float, list[int], list[int]]:
    """``tracker`` reset, then over ``frames``: the seconds, and per frame the boxes out and tracks kept."""
    tracker.reset()
    if synchronize is not None:
        synchronize()
    boxes, alive = [], []
    start = time.perf_counter()
    for frame in _bar(frames, progress, name):
        boxes.append(len(tracker.update(frame).ids))  # numpy results: the frame's device work is done
        alive.append(tracks_alive(tracker))
    return time.perf_counter() - start, boxes, alive


def _bar(frames, progress: bool, name: str = "bench") -> Iterator:
    """``frames`` with `discmot.engine.progress.progress_bar`: a tqdm bar, or without one a log line every
    `LOG_INTERVAL` seconds, as ``discmot track`` writes into a log file."""
    from discmot.engine.progress import progress_bar

    with progress_bar(name, len(frames), progress, interval=LOG_INTERVAL) as bar:
        for frame in frames:
            yield frame
            bar.update(1)


#: Seconds between two progress lines of ``discmot bench`` without a progress bar.
LOG_INTERVAL = 30.0
