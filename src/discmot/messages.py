"""Small pieces of the one-line messages users read, shared by modules that have nothing else in common:
the check that a parameter of the Python API is a path (`require_path`), the listing of names in a
sentence (`listed_all`) and the names a mistyped one was likely meant to be (`close_names`,
`names_hint`). Imports nothing heavy: the CLI's and the readers' modules use it."""

from __future__ import annotations

import difflib
import os


def require_path(
    value,
    name: str,
    function: str = "",
    what: str = "a path (str or os.PathLike)",
    hint: str = "",
    kinds: tuple[type, ...] = (str, os.PathLike),
) -> None:
    """A one-line TypeError where pathlib would say "expected str, bytes or os.PathLike object, not
    NoneType" deep inside: ``"<function>: <name> must be <what>, got <type><hint>"``.

    Args:
        value: what the caller gave.
        name: the parameter's name, as the caller spells it.
        function: the public function called (``"load_model"``), or ``""`` for none in the line.
        what: what the parameter must be.
        hint: said after the type (with its own lead: ``"; ..."``, ``": ..."``), e.g. how to do what the
            caller may have meant.
        kinds: the types accepted (a bool is never an int here: ``True`` is no webcam index).

    >>> require_path(None, "path", "write_mot_results")
    Traceback (most recent call last):
    ...
    TypeError: write_mot_results: path must be a path (str or os.PathLike), got NoneType
    """
    if isinstance(value, bool) or not isinstance(value, kinds):
        lead = f"{function}: " if function else ""
        raise TypeError(f"{lead}{name} must be {what}, got {type(value).__name__}{hint}")


def listed_all(names: list[str]) -> str:
    """Every name in a sentence: ``a``, ``a and b``, ``a, b and c``.

    >>> listed_all(["a", "b", "c"])
    'a, b and c'
    """
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def close_names(name: str, names: list[str], n: int = 3) -> list[str]:
    """Up to ``n`` of ``names`` that ``name`` was likely meant to be: the ones it begins (``MOT17-05`` for
    ``MOT17-05-FRCNN``: then only those, as ``MOT17-02-FRCNN`` is about as close by its letters), else the
    closest by `difflib` (ratio >= 0.6, as the CLI's option typos).

    >>> close_names("jdee", ["jde", "jde-interpolated", "sort"])
    ['jde']
    >>> close_names("MOT17-05", ["MOT17-02-FRCNN", "MOT17-05-FRCNN"])
    ['MOT17-05-FRCNN']
    """
    extended = [other for other in names if other != name and other.startswith(name)]
    return extended[:n] if extended else difflib.get_close_matches(name, names, n=n, cutoff=0.6)


def names_hint(name: str, names: list[str], what: str, few: int = 5) -> str:
    """What a "not found" line adds for a ``name`` that is none of ``names`` (sorted): the close ones and,
    when they are few, all of them; ``""`` when there is none.

    >>> names_hint("jdee", ["jde", "jde-interpolated"], "trackers")
    ' (did you mean jde? the trackers there: jde and jde-interpolated)'
    >>> names_hint("x", ["a", "b", "c", "d", "e", "f", "g"], "sequences")
    ' (the sequences there: a, b, c, d, e and 2 more)'
    """
    if not names:
        return ""
    close = close_names(name, names)
    parts = []
    if close:
        either = close[0] if len(close) == 1 else f"{', '.join(close[:-1])} or {close[-1]}"
        parts.append(f"did you mean {either}?")
    if len(names) <= few:
        parts.append(f"the {what} there: {listed_all(names)}")
    elif not close:
        parts.append(f"the {what} there: {', '.join(names[:few])} and {len(names) - few} more")
    return f" ({' '.join(parts)})"
