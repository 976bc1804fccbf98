"""Every ``discmot.…`` name written in backticks in the README, docs/ and the package's own docstrings and
comments names something that exists: a module, or an attribute reached from one (a class, a function, a
method, a dataclass field). A module split or a rename that leaves a page or a docstring pointing at the
old place fails here, naming the file."""

from __future__ import annotations

import dataclasses
import importlib
import re
from pathlib import Path

import discmot

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path(discmot.__file__).resolve().parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# `discmot.eval.runner.evaluate` or `discmot.eval.runner.evaluate(...)`: the dotted name after a backtick
REFERENCE = re.compile(r"`(discmot(?:\.[A-Za-z_][A-Za-z0-9_]*)+)")


class OptionalDependencyMissing(Exception):
    """The name's module needs a package this environment lacks (an extra): it cannot be checked here."""


def references(text: str) -> set[str]:
    """The dotted ``discmot.…`` names in backticks in ``text``."""
    return set(REFERENCE.findall(text))


def _attribute(owner, name: str):
    """``owner.name``, or a dataclass field of that name (no class attribute without a default)."""
    if hasattr(owner, name):
        return getattr(owner, name)
    fields = getattr(owner, "__dataclass_fields__", {})
    if name in fields:
        return fields[name]
    raise AttributeError(name)


def resolves(name: str) -> bool:
    """Whether the longest importable module prefix of ``name`` has the rest as attributes."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        module = ".".join(parts[:cut])
        try:
            obj = importlib.import_module(module)
        except ModuleNotFoundError as error:
            if error.name and not f"{module}.".startswith(f"{error.name}."):  # not this name: a dependency
                raise OptionalDependencyMissing(error.name) from error
            continue
        try:
            for attribute in parts[cut:]:
                obj = _attribute(obj, attribute)
        except AttributeError:
            return False
        return True
    return False


def unresolved(files: list[Path]) -> dict[str, list[str]]:
    """``{name: files}`` of the names in ``files`` that do not resolve (those needing a missing extra left
    out)."""
    missing: dict[str, list[str]] = {}
    for path in files:
        for name in sorted(references(path.read_text(encoding="utf-8"))):
            try:
                if resolves(name):
                    continue
            except OptionalDependencyMissing:
                continue
            missing.setdefault(name, []).append(str(path.relative_to(ROOT)))
    return missing


@dataclasses.dataclass
class _Record:
    kept: int


def test_the_resolution_finds_modules_attributes_and_fields_and_refuses_the_rest():
    assert references("see `discmot.eval.runner.evaluate` and `discmot.io.mot`, not discmot.x") == {
        "discmot.eval.runner.evaluate",
        "discmot.io.mot",
    }
    assert resolves("discmot.eval.runner.evaluate")
    assert resolves("discmot.io.video.VideoWriter.write")
    assert resolves(f"{__name__}._Record.kept")
    assert not resolves("discmot.eval.evaluate")
    assert not resolves("discmot.io.no_such_module")


def test_names_in_the_readme_and_docs_exist():
    assert not unresolved(PAGES)


def test_names_in_the_packages_docstrings_and_comments_exist():
    assert not unresolved(sorted(PACKAGE.rglob("*.py")))
