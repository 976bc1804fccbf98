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
