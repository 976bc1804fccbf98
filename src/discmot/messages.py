"""Small pieces of the one-line messages users read, shared by modules that have nothing else in common:
the check that a parameter of the Python API is a path (`require_path`) and the listing of names in a
sentence (`listed_all`). Imports nothing heavy: the CLI's and the readers' modules use it."""

from __future__ import annotations

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
