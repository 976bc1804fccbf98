"""discmot: multi-object tracking with discriminative object embeddings.

The public face: `track` (``discmot track`` as one call), `evaluate` (TrackEval-exact scores of
folders), `evaluate_pair` (the same for one results file against one gt file), `load_model` (the FDTA
or CSTrack network of a checkpoint), `bundled_weights` (the tiny checkpoints shipped for the demo) and
`EvalInputError` (what `evaluate` raises for bad input; a ``ValueError``).
Each is the library's own object, imported on first use (PEP 562), so ``import discmot`` and the
evaluation CLI start fast while ``help(discmot.track)`` and editors see the real signature and
docstring.

Frame by frame (docs/tracking.md, "In Python"): `discmot.trackers.fdta.FDTATracker` and
`discmot.trackers.cstrack.CSTrackTracker` take a `load_model` network and ``update(frame_bgr)`` with
OpenCV's BGR ``uint8 (H, W, 3)`` frames; `discmot.trackers.association.JDETracker` associates your own
detections, ``update(discmot.structures.Detections(boxes_tlwh, scores, embeddings))``; each returns the
frame's `discmot.structures.Tracks` (ids, ``tlwh`` pixel boxes, scores), and ``reset()`` starts a new
video.
"""

from __future__ import annotations

import importlib

from discmot._version import __version__

#: Public name -> the module that defines it (imported on first access).
_PUBLIC = {
    "track": "discmot.engine.track_verb",
    "evaluate": "discmot.eval.runner",
    "evaluate_pair": "discmot.eval.runner",
    "load_model": "discmot.models.registry",
    "bundled_weights": "discmot.engine.demo_config",
    "EvalInputError": "discmot.eval.runner",
}

__all__ = ["__version__", *sorted(_PUBLIC)]


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'discmot' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value  # later accesses skip this function
    return value


def __dir__() -> list[str]:
    """The public names and the subpackages already imported (not this module's own helpers)."""
    submodules = {
        name for name, value in globals().items() if type(value) is type(importlib) and name[0] != "_"
    }
    return sorted({*__all__, *(submodules - {"importlib"}), "__doc__", "__file__", "__path__"})
