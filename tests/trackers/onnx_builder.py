"""Tiny ONNX models written byte by byte, for tests of the ONNX plug-ins without the ``onnx`` package.

An ONNX file is a protobuf ``ModelProto``; the few message fields needed for a one-node graph are encoded
here by hand (field numbers from ``onnx/onnx.proto``). This lets tests build models with any input/output
shape, e.g. a dynamic batch, which the shipped weights (batch fixed at 1) cannot exercise.
"""

from __future__ import annotations

from pathlib import Path

_VARINT, _BYTES = 0, 2
_FLOAT = 1  # TensorProto.FLOAT
_ATTRIBUTE_INTS = 7  # AttributeProto.INTS


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, value: int | bytes | str) -> bytes:
    if isinstance(value, int):
        return _varint(number << 3 | _VARINT) + _varint(value)
    data = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | _BYTES) + _varint(len(data)) + data


def _value_info(name: str, shape: list[int | str]) -> bytes:
    """``ValueInfoProto`` of a float tensor; a str dimension is symbolic (``dim_param``)."""
    dims = b"".join(_field(1, _field(2 if isinstance(d, str) else 1, d)) for d in shape)
    tensor_type = _field(1, _FLOAT) + _field(2, dims)
    return _field(1, name) + _field(2, _field(1, tensor_type))


def channel_mean_model(path: Path, input_shape: list[int | str], output_shape: list[int | str]) -> Path:
    """Writes a model ``output = ReduceMean(images, axes=[2, 3])``: ``[N, C, H, W] -> [N, C]``.

    Used as a stand-in re-identification model: its "embedding" of a crop is the mean of each channel of
    the normalised input, which makes the preprocessing (colour order, mean/std) checkable by hand.
    """
    axes = _field(1, "axes") + _field(20, _ATTRIBUTE_INTS) + _field(8, 2) + _field(8, 3)
    keepdims = _field(1, "keepdims") + _field(3, 0) + _field(20, 2)
    node = (
        _field(1, "images") + _field(2, "output") + _field(3, "mean") + _field(4, "ReduceMean")
        + _field(5, axes) + _field(5, keepdims)
    )  # fmt: skip
    graph = (
        _field(1, node) + _field(2, "test")
        + _field(11, _value_info("images", input_shape)) + _field(12, _value_info("output", output_shape))
    )  # fmt: skip
    opset = _field(1, "") + _field(2, 13)
    path.write_bytes(_field(1, 7) + _field(2, "discmot-tests") + _field(7, graph) + _field(8, opset))
    return path


def constant_output_model(path: Path, input_shape: list[int | str], output, output_shape=None) -> Path:
    """Writes a model whose output is always ``output`` (an ``Identity`` of an initializer).

    The input ``images`` is declared (a detector reads its size) but unused, so a detector's decoding,
    letterbox geometry and NMS can be checked by hand on outputs chosen by the test.

    Args:
        input_shape: the declared input shape, e.g. ``[1, 3, 64, 64]``.
        output: the float array the model returns (stored as float32).
        output_shape: the declared output shape (a str dimension is symbolic); ``output``'s by default.
            When given, the initializer is also declared an (overridable) graph input of that shape, so
            that onnxruntime reports the declared shape rather than the one it infers from the data.
    """
    import numpy as np

    table = np.ascontiguousarray(output, dtype="<f4")
    tensor = (
        b"".join(_field(1, dim) for dim in table.shape) + _field(2, _FLOAT) + _field(8, "table")
        + _field(9, table.tobytes())
    )  # fmt: skip
    node = _field(1, "table") + _field(2, "output") + _field(3, "constant") + _field(4, "Identity")
    declared = list(table.shape) if output_shape is None else output_shape
    overridable = b"" if output_shape is None else _field(11, _value_info("table", output_shape))
    graph = (
        _field(1, node) + _field(2, "test") + _field(5, tensor)
        + _field(11, _value_info("images", input_shape)) + overridable
        + _field(12, _value_info("output", declared))
    )  # fmt: skip
    opset = _field(1, "") + _field(2, 13)
    path.write_bytes(_field(1, 7) + _field(2, "discmot-tests") + _field(7, graph) + _field(8, opset))
    return path
