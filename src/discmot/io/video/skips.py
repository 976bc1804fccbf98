"""Skipped frames in one line: the skips of a pass over a source summed up by reason, the frame
numbers as ranges (``frames 61-795 have no image file``)."""

from __future__ import annotations

import re
from pathlib import Path

#: Skip reasons said of several frames (the others start with "cannot", which fits both).
_PLURALS = {
    "has no image file": "have no image file",
    "is not a readable image": "are not readable images",
    "is a truncated JPEG": "are truncated JPEGs",
    "is an empty file (0 bytes)": "are empty files (0 bytes)",
}


def skipped_summary(location: str, skips: list[tuple[int, str, str]]) -> str:
    """One line for the ``(frame number, where, reason)`` skips of a pass (`skipped_clauses`).

    >>> skipped_summary("seq", [(61, "seq", "has no image file"), (62, "seq", "has no image file")])
    'seq: 2 frames skipped in all: frames 61-62 have no image file'
    """
    total = len({number for number, _, _ in skips})
    return f"{location}: {total} frames skipped in all: {skipped_clauses(location, skips)}"


def skipped_clauses(location: str, skips: list[tuple[int, str, str]]) -> str:
    """The ``(frame number, where, reason)`` skips of ``location`` as clauses, one per reason: the frames
    as ranges, and the first file named when the skips name files rather than the source itself. A
    caller writes its own lead-in (`skipped_summary`'s "skipped", ``discmot show``'s "drawn on grey").

    >>> skipped_clauses("seq", [(4, "seq", "has no image file"), (9, "seq/9.jpg", "is a truncated JPEG")])
    'frame 4 has no image file; frame 9 is a truncated JPEG (9.jpg)'
    """
    by_reason: dict[str, list[tuple[int, str]]] = {}
    for number, where, reason in skips:
        by_reason.setdefault(reason, []).append((number, where))
    clauses = []
    for reason, frames in by_reason.items():
        numbers = sorted({number for number, _ in frames})
        # the files by name where the source is their folder: the line names that folder already
        files = [Path(w).name if Path(w).parent == Path(location) else w for _, w in frames if w != location]
        named = f" ({files[0]}{', ...' if len(files) > 1 else ''})" if files else ""
        if len(numbers) == 1:
            clauses.append(f"frame {numbers[0]} {reason}{named}")
        else:
            plural = _PLURALS.get(reason) or re.sub(r"^is ", "are ", re.sub(r"^has ", "have ", reason))
            clauses.append(f"frames {frame_ranges(numbers)} {plural}{named}")
    return "; ".join(clauses)


def frame_ranges(numbers: list[int], shown: int = 8) -> str:
    """Sorted frame numbers as ranges: ``[3, 5, 6, 7]`` -> ``"3, 5-7"``; beyond ``shown`` runs, the first
    ones, ``...``, the last one and the count of runs (a line stays a line)."""
    runs: list[list[int]] = []
    for number in numbers:
        if runs and number == runs[-1][1] + 1:
            runs[-1][1] = number
        else:
            runs.append([number, number])
    text = [f"{a}" if a == b else f"{a}-{b}" for a, b in runs]
    if len(text) > shown:
        text = [*text[: shown - 2], "...", text[-1]]
        return ", ".join(text) + f" ({len(runs)} runs)"
    return ", ".join(text)
