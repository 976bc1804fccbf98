"""A stand-in for ``transformers`` (the optional ``depth`` extra, absent in CI): what
`discmot.io.depth.depth_anything` calls of it. The "depth" its model predicts is the image's brightness,
so a written map shows the image it was given."""

from __future__ import annotations

import sys
import types

import numpy as np


class StandInDepthModel:
    """``AutoModelForDepthEstimation``. ``loaded`` records the keyword arguments of every
    ``from_pretrained`` call (the processor's too); ``kind`` is the model's depth type; ``error``, when
    set, is what loading raises."""

    loaded: list[dict] = []
    kind = "relative"
    error: Exception | None = None

    class Output:
        def __init__(self, depth):
            self.predicted_depth = depth

    def __init__(self):
        self.config = types.SimpleNamespace(depth_estimation_type=self.kind)

    @classmethod
    def from_pretrained(cls, path, **kwargs):
        cls.loaded.append(kwargs)
        if cls.error is not None:
            raise cls.error
        return cls()

    def to(self, device):
        return self

    def eval(self):
        return self

    def __call__(self, images):
        """images [1, H, W, 3] -> Output with predicted_depth [1, H, W]."""
        return self.Output(images.mean(dim=-1)[None])


class StandInProcessor:
    """``AutoImageProcessor``: passes the image on as a float tensor [1, H, W, 3]."""

    @classmethod
    def from_pretrained(cls, path, **kwargs):
        StandInDepthModel.loaded.append(kwargs)
        return cls()

    def __call__(self, images, return_tensors):
        import torch

        tensor = torch.from_numpy(np.ascontiguousarray(images)).float()
        return type("Inputs", (dict,), {"to": lambda self, device: self})({"images": tensor})


def install_stand_in_transformers(monkeypatch, processor: type = StandInProcessor) -> None:
    """Makes ``import transformers`` give the stand-in (with ``processor`` as its image processor) for
    the test, with an empty ``StandInDepthModel.loaded``."""
    fake = types.ModuleType("transformers")
    fake.AutoImageProcessor, fake.AutoModelForDepthEstimation = processor, StandInDepthModel
    monkeypatch.setitem(sys.modules, "transformers", fake)
    monkeypatch.setattr(StandInDepthModel, "loaded", [])
