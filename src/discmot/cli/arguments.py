"""Argument types shared by several verbs."""

from __future__ import annotations

import argparse
import logging

log = logging.getLogger("discmot")


def size_hw(text: str) -> tuple[int, int]:
    """``HxW`` (height first, as the network's input)."""
    width, height = size_wh(text)[::-1]
    return height, width


def size_wh(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 320x192, got {text!r}") from None
    if width < 32 or height < 32:
        raise argparse.ArgumentTypeError(f"image size {text} is too small (at least 32x32)")
    return width, height
