"""docs/code_map.md names every module of the package, and no module that is not there: a module added,
moved or removed without its line on the map fails here (the map is read by people, so it is written by
hand; this keeps it true)."""

from __future__ import annotations

import re
from pathlib import Path

import discmot

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "code_map.md"
PACKAGE = Path(discmot.__file__).resolve().parent

# `io/video/writer.py`-like paths in backticks: the map names modules relative to src/discmot
MODULE_PATH = re.compile(r"`((?:[a-z0-9_]+/)*[a-z0-9_]+\.py)`")


def mapped_modules(text: str) -> set[str]:
    """The module paths a page names in backticks."""
    return set(MODULE_PATH.findall(text))


def package_modules(package: Path) -> set[str]:
    """Every module of the package, relative to it, but empty ``__init__.py`` files (nothing to map)."""
    return {
        path.relative_to(package).as_posix()
        for path in package.rglob("*.py")
        if not (path.name == "__init__.py" and not path.read_text(encoding="utf-8").strip())
    }


def test_the_module_paths_are_found_in_a_table_row():
    row = "| `io/video/writer.py`, `cli/track.py` | see `VideoWriter` and `discmot.py` |"
    assert mapped_modules(row) == {"io/video/writer.py", "cli/track.py", "discmot.py"}
    assert mapped_modules("`VideoWriter` and `--save-video out.mp4`") == set()


def test_empty_package_markers_are_left_out(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "__init__.py").write_text("\n", encoding="utf-8")
    (tmp_path / "sub" / "mod.py").write_text("x = 1\n", encoding="utf-8")
    (tmp_path / "__init__.py").write_text('"""The package."""\n', encoding="utf-8")
    assert package_modules(tmp_path) == {"__init__.py", "sub/mod.py"}


def test_the_code_map_names_every_module_and_only_those():
    named = mapped_modules(PAGE.read_text(encoding="utf-8"))
    present = package_modules(PACKAGE)
    assert not present - named, f"modules missing from {PAGE.name}: {sorted(present - named)}"
    assert not named - present, f"{PAGE.name} names modules that do not exist: {sorted(named - present)}"
