"""The package type-checks: ``mypy`` over ``src/discmot`` (pyproject's ``[tool.mypy]``) finds no error, so
the annotations that ``py.typed`` hands to users' type checkers and IDEs agree with the code."""

from __future__ import annotations

import subprocess
import sys

from helpers import REPO_ROOT, require_module


def test_the_package_type_checks(tmp_path):
    require_module("mypy")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "mypy-cache")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_the_package_says_it_is_typed():
    assert (REPO_ROOT / "src" / "discmot" / "py.typed").is_file()
