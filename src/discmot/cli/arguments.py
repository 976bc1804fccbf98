"""Argument types and helpers shared by several verbs."""

from __future__ import annotations

import argparse
import logging
import math
import sys
from collections.abc import Mapping

from discmot.io.atomic import is_plain_folder_name

log = logging.getLogger("discmot")


def show_progress(args: argparse.Namespace) -> bool:
    """Whether a verb shows progress bars: when stderr is a terminal and ``--quiet`` was not given."""
    return sys.stderr.isatty() and not args.quiet


def hint_if_cores_busy(
    load_average: float | None = None, cores: int | None = None, environment: Mapping[str, str] | None = None
) -> str | None:
    """Logs (and returns) a hint when other programs keep the CPU cores busy as a verb starts.

    PyTorch and ONNX Runtime run one thread per core, and beside a busy program those threads wait on
    each other: a tiny CSTrack frame took 15 ms on 2 idle cores, 94 ms beside one busy process and 25 ms
    there with ``OMP_NUM_THREADS=1`` (2-core developer machine); the tiny FDTA ran at 3.2 frames/s with
    2 threads on a loaded 2-core machine and 17 with one. Said when at least half the cores are busy
    (load average >= cores / 2, and >= 0.9): at INFO, and at WARNING (shown with ``-q``) where the
    default threads clearly outnumber the free cores, `oversubscribed`. Nothing is said when
    ``OMP_NUM_THREADS`` is set (the user chose), on one core, or where the load average is unknown.
    Call it once the arguments checked out: before an error it is noise.
    The arguments default to the machine's (they are there for tests).
    """
    import os

    environment = os.environ if environment is None else environment
    if "OMP_NUM_THREADS" in environment:
        return None
    if load_average is None:
        try:
            load_average = os.getloadavg()[0]
        except (AttributeError, OSError):  # not on Windows
            return None
    if cores is None:
        from discmot.engine.run_environment import usable_cores

        cores = usable_cores()
    if cores < 2 or load_average < max(0.9, cores / 2):
        return None
    spare = max(1, cores - math.ceil(load_average - 0.5))
    hint = (
        f"other programs keep the CPUs busy (load average {load_average:.1f} on {cores} cores): threads "
        f"that wait on each other can make this several times slower; OMP_NUM_THREADS={spare} may be faster"
    )
    if oversubscribed(load_average, cores):
        hint = (
            f"other programs keep the CPUs busy (load average {load_average:.1f} on {cores} cores): the "
            f"{cores} threads of PyTorch and ONNX Runtime (one a core) wait on each other, which can make "
            f"this several times slower: run it as OMP_NUM_THREADS={spare} discmot ..."
        )
        log.warning(hint)
    else:
        log.info(hint)
    return hint


def oversubscribed(load_average: float, cores: int) -> bool:
    """Whether one thread per core clearly oversubscribes the cores other programs leave free: at least
    three threads per free core, or at most one core free (on 2 cores, one busy program: 6 times slower
    measured)."""
    free = cores - load_average
    return free <= max(1.0, cores / 3)


def model_presets() -> str:
    """The ``--preset`` names per model kind, for help texts: ``FDTA dancetrack/...; CSTrack cstrack/...``."""
    from discmot.models.registry import MODEL_KINDS, MODEL_NAMES, preset_names

    return "; ".join(f"{MODEL_NAMES[kind]} {'/'.join(preset_names(kind))}" for kind in MODEL_KINDS)


def size_hw(text: str) -> tuple[int, int]:
    """``HxW`` (height first, as the network's input) -> ``(height, width)``, each side 32-4096."""
    return _two_sizes(text, "HEIGHTxWIDTH such as 160x256", largest=4096)


def size_wh(text: str) -> tuple[int, int]:
    """``WxH`` (width first, as an image's size) -> ``(width, height)``, each side 32-8192."""
    return _two_sizes(text, "WIDTHxHEIGHT such as 320x192", largest=8192)


def _two_sizes(text: str, expected: str, largest: int) -> tuple[int, int]:
    try:
        first, second = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
    if first < 32 or second < 32:
        raise argparse.ArgumentTypeError(f"size {text} is too small (at least 32x32)")
    if first > largest or second > largest:
        raise argparse.ArgumentTypeError(f"size {text} is too large (each side at most {largest})")
    return first, second


def frame_rate(text: str) -> float:
    """Frames per second: 0 (not given) or a finite rate of at least 0.01 (one frame every 100 s); a
    smaller positive rate is taken for a mistake and refused."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected frames per second, got {text!r}") from None
    if not math.isfinite(value) or value < 0 or 0 < value < 0.01:
        raise argparse.ArgumentTypeError(
            "a frame rate must be a positive number of frames per second, at least 0.01 "
            f"(or 0: not given), got {text}"
        )
    return value


def score(text: str) -> float:
    """A finite number: a score threshold (detectors' and precomputed detections' scores need not lie
    in [0, 1]: MOT17's DPM detections score -1 to 30)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a score, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"a score threshold must be a finite number, got {text}")
    return value


def probability(text: str) -> float:
    """A number in [0, 1]."""
    value = score(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"a probability lies in [0, 1], got {text}")
    return value


def positive_int(text: str) -> int:
    """A whole number >= 1 (a count of frames, a 1-based frame number)."""
    return _int_at_least(text, 1)


def miss_tolerance(text: str) -> int:
    """A whole number >= 2 (FDTA's ``miss_tolerance``: its history window is one frame shorter)."""
    return _int_at_least(text, 2)


def non_negative_int(text: str) -> int:
    """A whole number >= 0 (a random seed)."""
    return _int_at_least(text, 0)


def _int_at_least(text: str, smallest: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < smallest:
        raise argparse.ArgumentTypeError(f"expected a number of at least {smallest}, got {text}")
    return value


def cosine_threshold(text: str) -> float:
    """A cosine similarity in [-1, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not -1 <= value <= 1:  # also refuses nan
        raise argparse.ArgumentTypeError(f"a cosine similarity lies in [-1, 1], got {text}")
    return value


def folder_name(text: str) -> str:
    """A plain folder name (a split): no path separators, not ``.`` or ``..``, not empty."""
    if not is_plain_folder_name(text):
        raise argparse.ArgumentTypeError(f"expected a plain folder name such as train or val, got {text!r}")
    return text
