"""Fixtures available to every test. Plain functions live in `helpers.py` (importable as ``helpers``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import helpers


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared data folder (``$DISCMOT_SHARED`` or ``../shared``); skips/fails if it does not exist."""
    return helpers.shared_file("")


@pytest.fixture(scope="session")
def shared_file() -> Callable[[str], Path]:
    """`helpers.shared_file`: ``shared_file("data/evaldata")`` gives the path or skips (fails under CI)."""
    return helpers.shared_file
