"""What `pip install discmot` (not the editable install the Makefile makes) puts on a user's machine.

The development environment imports discmot from ``src/`` directly, so a data file outside
``[tool.setuptools.package-data]`` (or a module the package finder skips) works in every other test and
is still missing from the wheel: a user would meet it as a missing bundled model or an ImportError.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from helpers import REPO_ROOT

PACKAGE_DIR = REPO_ROOT / "src" / "discmot"


def _pyproject() -> dict:
    if importlib.util.find_spec("tomllib") is not None:
        import tomllib
    else:  # Python 3.10
        tomllib = pytest.importorskip("tomli", reason="reading pyproject.toml on Python 3.10 needs tomli")
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _source_files() -> list[Path]:
    """Every file of the package in the checkout, caches and compiled files left out."""
    return sorted(
        p
        for p in PACKAGE_DIR.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo")
    )


def test_every_data_file_is_declared_package_data():
    patterns = _pyproject()["tool"]["setuptools"]["package-data"]["discmot"]
    undeclared = [
        rel
        for rel in (p.relative_to(PACKAGE_DIR).as_posix() for p in _source_files() if p.suffix != ".py")
        if not any(fnmatch.fnmatchcase(rel, pattern) for pattern in patterns)
    ]
    assert not undeclared, (
        f"files not matched by package-data {patterns} (missing from the wheel): {undeclared}"
    )


def test_bundled_models_and_recipes_are_data_files():
    # the check above passes vacuously if the assets move; the demo needs these very files
    data = {p.relative_to(PACKAGE_DIR).parts[0] for p in _source_files() if p.suffix != ".py"}
    assert {"assets", "configs"} <= data


def test_built_wheel_holds_every_module_data_file_and_the_license(tmp_path):
    """Builds the wheel from a copy of the sources (the checkout stays clean) and lists what is inside."""
    setuptools = pytest.importorskip("setuptools", reason="building the wheel offline needs setuptools here")
    if int(setuptools.__version__.split(".")[0]) < 77:  # pyproject's build-system requirement
        pytest.skip(f"setuptools {setuptools.__version__} here; the build needs >= 77 (pyproject.toml)")
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (REPO_ROOT / name).is_file():
            shutil.copy2(REPO_ROOT / name, source / name)
    shutil.copytree(
        REPO_ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    wheels = tmp_path / "wheels"
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
    subprocess.run([*pip_wheel, "-w", str(wheels), "."], cwd=source, check=True)
    (wheel,) = wheels.glob("discmot-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    shipped = {n for n in names if n.startswith("discmot/")}
    expected = {"discmot/" + p.relative_to(PACKAGE_DIR).as_posix() for p in _source_files()}
    assert expected - shipped == set(), f"missing from the wheel: {sorted(expected - shipped)}"
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), "the license text is not shipped"
