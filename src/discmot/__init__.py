"""discmot: multi-object tracking with discriminative object embeddings.

The public face. Heavy modules (torch, the models) are imported only when the function that needs them is
called, so ``import discmot`` and the evaluation CLI start fast.
"""

from __future__ import annotations

from discmot._version import __version__

__all__ = ["__version__", "bundled_weights", "evaluate", "load_model", "track"]


def evaluate(*args, **kwargs):
    """Evaluates tracker results against ground truth exactly as TrackEval does.

    See `discmot.eval.runner.evaluate` for the arguments and the returned structure.
    """
    from discmot.eval.runner import evaluate as _evaluate

    return _evaluate(*args, **kwargs)


def bundled_weights(kind):
    """The path of the tiny ``"fdta"`` or ``"cstrack"`` checkpoint shipped with discmot (trained for
    minutes on synthetic scenes: for trying the API and the demo, not for real footage)."""
    from discmot.engine.demo import bundled_weights as _bundled_weights

    return _bundled_weights(kind)


def load_model(kind, weights, preset=None, device=None, dtype=None):
    """The FDTA or CSTrack network of a checkpoint, in eval mode.

    ``kind`` is ``"fdta"`` or ``"cstrack"``; ``weights`` an official file, a discmot .safetensors or a
    ``discmot train`` checkpoint; ``preset`` the architecture of an official file (default: inferred);
    ``device`` and ``dtype`` (``"fp32"``/``"fp16"``/``"bf16"``) where the network is put (default: CPU,
    float32). A checkpoint of the other kind is a one-line error. See `discmot.models.registry.load_model`.
    """
    from discmot.models.registry import load_model as _load_model

    return _load_model(kind, weights, preset, device=device, dtype=dtype)


def track(*args, **kwargs):
    """Tracks a video, image folder, glob, webcam, sequence folder or split (``discmot track``).

    See `discmot.engine.track_verb.track` for the arguments; returns a summary (frames, fps, ids, files).
    """
    from discmot.engine.track_verb import track as _track

    return _track(*args, **kwargs)
