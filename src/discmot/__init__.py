"""discmot: multi-object tracking with discriminative object embeddings.

The public face. Heavy modules (torch, the models) are imported only when the function that needs them is
called, so ``import discmot`` and the evaluation CLI start fast.
"""

from __future__ import annotations

from discmot._version import __version__

__all__ = ["__version__", "evaluate", "track"]


def evaluate(*args, **kwargs):
    """Evaluates tracker results against ground truth exactly as TrackEval does.

    See `discmot.eval.runner.evaluate` for the arguments and the returned structure.
    """
    from discmot.eval.runner import evaluate as _evaluate

    return _evaluate(*args, **kwargs)


def track(*args, **kwargs):
    """Tracks a video, image folder, glob, webcam, sequence folder or split (``discmot track``).

    See `discmot.engine.infer.track` for the arguments; returns a summary (frames, fps, ids, files).
    """
    from discmot.engine.infer import track as _track

    return _track(*args, **kwargs)
