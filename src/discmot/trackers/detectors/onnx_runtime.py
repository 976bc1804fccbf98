"""A checked ONNX Runtime session: the one place that imports onnxruntime and picks execution providers.

onnxruntime is an optional extra (``pip install 'discmot[onnx]'``), imported only when a model is
loaded, so ``import discmot`` and the commands that need no ONNX model stay fast and work without it.
Every failure a user can cause (extra not installed, wrong path, not an ONNX file, a model of the wrong
kind, an unavailable device) becomes one line naming the file and what was expected.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np

MISSING_ONNXRUNTIME = "onnxruntime is not installed: pip install 'discmot[onnx]'"


class OnnxRuntimeMissingError(ImportError):
    """The optional ``onnxruntime`` package is not installed."""


def import_onnxruntime() -> ModuleType:
    """Imports onnxruntime, or raises `OnnxRuntimeMissingError` saying how to install it."""
    try:
        return importlib.import_module("onnxruntime")
    except ImportError as error:
        raise OnnxRuntimeMissingError(MISSING_ONNXRUNTIME) from error


def execution_providers(device: str, available: list[str]) -> list:
    """The ONNX Runtime providers for ``device`` (``"cpu"``, ``"cuda"`` or ``"cuda:N"``).

    CUDA falls back to CPU only for operators CUDA lacks; asking for CUDA where onnxruntime has no CUDA
    provider is an error rather than a silent CPU run, so timings and device choices are never a surprise.
    """
    kind, colon, index = device.partition(":")
    if kind == "cpu" and not colon:
        return ["CPUExecutionProvider"]
    if kind != "cuda" or (colon and not index.isdigit()):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    if "CUDAExecutionProvider" not in available:
        raise RuntimeError(
            f"device={device!r} needs onnxruntime with CUDA (pip install onnxruntime-gpu); "
            f"this onnxruntime offers only {', '.join(available)}"
        )
    return [("CUDAExecutionProvider", {"device_id": int(index or 0)}), "CPUExecutionProvider"]


@dataclass(frozen=True)
class TensorInfo:
    """Name and shape of a model input or output; symbolic dimensions are ``None``."""

    name: str
    shape: tuple
    type: str

    def describe(self) -> str:
        dims = ", ".join("?" if dim is None else str(dim) for dim in self.shape)
        return f"{self.name} [{dims}]"


def _tensor_info(node) -> TensorInfo:
    shape = tuple(dim if isinstance(dim, int) and dim > 0 else None for dim in (node.shape or ()))
    return TensorInfo(node.name, shape, node.type)


class OnnxModel:
    """An inference session on one single-input ONNX model.

    Args:
        path: the ``.onnx`` file.
        device: ``"cpu"`` (default), ``"cuda"`` or ``"cuda:N"``.

    Attributes:
        path: the model file.
        input: name/shape of the only input (e.g. ``images [1, 3, 416, 416]``).
        outputs: names/shapes of the outputs.
    """

    def __init__(self, path: str | Path, device: str = "cpu"):
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: ONNX model file not found")
        ort = import_onnxruntime()
        providers = execution_providers(device, ort.get_available_providers())
        self.session = _load_session(ort, self.path, providers)
        if (
            providers[0] != "CPUExecutionProvider"
            and "CUDAExecutionProvider" not in self.session.get_providers()
        ):
            # ORT falls back to CPU with only a log line when CUDA fails to start (driver, cuDNN missing).
            raise RuntimeError(f"{self.path}: device={device!r} was asked for but CUDA failed to start")
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise ValueError(f"{self.path}: expected a model with one input, it has {len(inputs)}")
        self.input = _tensor_info(inputs[0])
        self.outputs = [_tensor_info(node) for node in self.session.get_outputs()]

    def describe(self) -> str:
        """``input images [1, 3, 256, 128], output output [1, 512]``: for error messages."""
        outputs = ", ".join(output.describe() for output in self.outputs)
        return f"input {self.input.describe()}, output {outputs}"

    def wrong_model(self, kind: str, expected: str) -> ValueError:
        """The one-line error for a model that is not of the ``kind`` a plug-in needs."""
        return ValueError(f"{self.path}: not {kind} model: expected {expected}; it has {self.describe()}")

    def run(self, batch: np.ndarray) -> np.ndarray:
        """Runs the model on ``batch`` (float32, the input's shape) and returns its first output."""
        return self.session.run(None, {self.input.name: batch})[0]


def _load_session(ort: ModuleType, path: Path, providers: list):
    options = ort.SessionOptions()
    options.log_severity_level = 3  # ORT warns about unused initialisers in exported models: noise
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=providers)
    except Exception as error:  # onnxruntime raises its own unexported exception types
        lines = str(error).strip().splitlines()
        reason = lines[0][:300] if lines else type(error).__name__
        raise ValueError(f"{path}: not a loadable ONNX model ({reason})") from None
