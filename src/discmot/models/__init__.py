"""The networks (FDTA, CSTrack and their parts) and what they share.

This package's own namespace imports nothing heavy: the model modules import torch themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn


def parameter_count(model: nn.Module) -> int:
    """Number of parameters (buffers excluded), a shared tensor counted once (``parameters()`` yields it
    once): e.g. FDTA's box heads, registered in both the DETR and its decoder, and the ID decoder's one
    classifier, registered once per layer; 65,700,686 for FDTA's dancetrack preset (the spec's count)."""
    return sum(p.numel() for p in model.parameters())


def network_input_size(value) -> tuple[int, int] | None:
    """A network input size as ``(h, w)`` ints, from a pair or the command line's ``"HxW"`` text
    (None stays None: the model's own rule).

    Raises:
        ValueError: not two whole numbers, or a side below 1.
    """
    if value is None:
        return None
    pair = value.lower().split("x") if _is_hxw(value) else value
    try:
        height, width = (int(side) if isinstance(side, str) else side for side in pair)
        if any(isinstance(side, bool) or int(side) != side for side in (height, width)):
            raise ValueError
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"input_size {value!r}: give (height, width): (160, 256) or '160x256'") from None
    if height < 1 or width < 1:
        raise ValueError(f"input_size {value!r}: sides must be positive")
    return int(height), int(width)


def _is_hxw(value) -> bool:
    return isinstance(value, str) and all(side.strip().isdigit() for side in value.lower().split("x"))
