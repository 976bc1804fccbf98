"""Helpers shared by every test: where the shared data lives, and what happens when something is missing.

The shared folder (`../shared` beside the repository, or ``$DISCMOT_SHARED``) holds real data, videos and
weights that the project must not copy in. On a developer machine a missing file skips the test with a
reason saying what to fetch; in CI (``CI=true``) the same absence is a failure, so a misconfigured runner
cannot turn the parity tests into silent skips.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import struct
from pathlib import Path
from types import ModuleType

import cv2
import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DISCMOT_SHARED", REPO_ROOT.parent / "shared"))


def in_ci() -> bool:
    """True when the ``CI`` environment variable says we run under continuous integration."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1")


def missing(reason: str) -> None:
    """Skips the calling test, or fails it under CI, where every input must be present."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: missing inputs are failures, not skips)", pytrace=False)
    pytest.skip(reason)


def shared_file(rel: str) -> Path:
    """Returns ``SHARED / rel`` if it exists (file or folder), else skips the test (fails it in CI)."""
    path = SHARED / rel
    if not path.exists():
        missing(f"shared data not found: {path} (set DISCMOT_SHARED to the shared folder)")
    return path


def require_module(name: str) -> ModuleType:
    """Imports an optional test-only dependency, silencing its import-time prints; skip/fail when absent."""
    try:
        # trackeval prints "Error importing BURST ..." to stdout on import; it is harmless noise.
        with contextlib.redirect_stdout(io.StringIO()):
            return importlib.import_module(name)
    except ImportError as err:
        missing(f"optional test dependency {name!r} is not installed ({err}); run `make install`")
        raise  # unreachable: missing() always raises


def read_state_dict_contract(path: Path) -> dict[str, tuple[int, ...]]:
    """``{key: shape}`` of a state-dict contract TSV (``#`` comments, a ``key<TAB>shape`` header, then
    ``key<TAB>shape<TAB>dtype`` rows), in file order."""
    contract = {}
    for line in Path(path).read_text().splitlines():
        if line.startswith("#") or line.startswith("key\t") or not line.strip():
            continue
        key, shape = line.split("\t")[:2]
        contract[key] = tuple(int(v) for v in shape.strip("()").split(",") if v.strip())
    return contract


def random_official_checkpoint(path: str | Path, preset_name: str = "dancetrack", seed: int = 0):
    """Writes an official-format FDTA checkpoint with random values for ``preset_name``; returns the model.

    torch and discmot's models are imported here: most tests that use this module need neither.
    """
    import torch

    from discmot.io import checkpoints
    from discmot.models.fdta.model import build_fdta

    with torch.no_grad():
        torch.manual_seed(seed)
        model = build_fdta(preset_name)
        for key, tensor in model.state_dict().items():
            if key.endswith("running_var"):
                tensor.copy_(torch.rand_like(tensor) + 0.5)  # variances must stay positive
            elif tensor.is_floating_point():
                tensor.copy_(torch.randn_like(tensor) * 0.02)
        checkpoints.write_official(path, model)
    return model


def write_jpeg_turned_by_exif(path: Path, image_bgr: np.ndarray) -> None:
    """``image_bgr`` as a JPEG whose EXIF orientation (6) tells viewers to turn it 90 degrees clockwise."""
    jpeg = cv2.imencode(".jpg", image_bgr)[1].tobytes()
    entry = struct.pack(">HHIHH", 0x0112, 3, 1, 6, 0)  # Orientation, SHORT, count 1, value 6
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1) + entry + struct.pack(">I", 0)
    app1 = b"Exif\x00\x00" + tiff
    path.write_bytes(jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + jpeg[2:])
