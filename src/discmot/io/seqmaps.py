"""MOTChallenge seqmaps: the list of a split's sequence names, read as TrackEval reads it."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from discmot.io.atomic import atomic_open
from discmot.io.mot import MotFormatError, utf8_text


def read_seqmap(path: str | Path) -> list[str]:
    """Reads a seqmap like TrackEval: the first row is a header and is skipped, then one name per row.

    The name is the first comma-separated field, not stripped of spaces (TrackEval keeps them);
    rows whose first field is empty are skipped.
    """
    return read_seqmap_with_header(path)[1]


def read_seqmap_with_header(path: str | Path) -> tuple[str | None, list[str]]:
    """``(header, names)``: the first field of the first row (``name`` by convention; None if empty) and
    `read_seqmap`'s names, from one read of the file."""
    path = Path(path)
    if not path.is_file():
        raise MotFormatError(path, "seqmap file not found")
    text = utf8_text(path.read_bytes(), path)
    rows = list(csv.reader(io.StringIO(text, newline="")))  # newline="": as TrackEval's open() for csv
    header = rows[0][0] if rows and rows[0] else None
    return header, [row[0] for row in rows[1:] if row and row[0] != ""]


def write_seqmap(path: str | Path, names: list[str]) -> None:
    """Writes a seqmap (header ``name`` then one sequence per line) atomically."""
    with atomic_open(path) as handle:
        handle.write("\n".join(["name", *names]) + "\n")
