"""Argument types shared by several verbs."""

from __future__ import annotations

import argparse
import logging
import math

log = logging.getLogger("discmot")


def size_hw(text: str) -> tuple[int, int]:
    """``HxW`` (height first, as the network's input) -> ``(height, width)``."""
    return _two_sizes(text, "HEIGHTxWIDTH such as 160x256")


def size_wh(text: str) -> tuple[int, int]:
    """``WxH`` (width first, as an image's size) -> ``(width, height)``."""
    return _two_sizes(text, "WIDTHxHEIGHT such as 320x192")


def _two_sizes(text: str, expected: str) -> tuple[int, int]:
    try:
        first, second = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
    if first < 32 or second < 32:
        raise argparse.ArgumentTypeError(f"size {text} is too small (at least 32x32)")
    return first, second


def frame_rate(text: str) -> float:
    """Frames per second: a finite number >= 0 (0: not given)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected frames per second, got {text!r}") from None
    if not math.isfinite(value) or value < 0 or 0 < value < 0.01:
        raise argparse.ArgumentTypeError(
            f"a frame rate must be a positive number of frames per second, got {text}"
        )
    return value
