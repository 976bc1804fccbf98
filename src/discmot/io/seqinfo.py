"""MOTChallenge ``seqinfo.ini``: read with TrackEval's rules (only ``seqLength`` is required), errors
named by line, and written atomically in MOTChallenge's key order with an optional ``[discmot]`` section."""

from __future__ import annotations

import configparser
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from discmot.io.atomic import atomic_open
from discmot.io.mot import BOM_REFUSED, MotFormatError, utf8_text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SeqInfo:
    """The ``[Sequence]`` section of a MOTChallenge ``seqinfo.ini``."""

    name: str
    length: int
    frame_rate: float | None = None
    width: int | None = None
    height: int | None = None
    image_dir: str = "img1"
    image_ext: str = ".jpg"


def _ini_problem(error: configparser.Error, lines: list[str]) -> tuple[str, int | None]:
    """What is wrong with an ini file of ``lines``, in words, and the line (configparser's messages name
    the ``source`` again and quote lines with their escapes)."""
    if isinstance(error, configparser.DuplicateOptionError):
        assert error.lineno is not None  # read_string always gives it (it is None only for read_dict)
        written = re.split(r"[=:]", lines[error.lineno - 1], maxsplit=1)[0].strip()  # not lower-cased
        return f"{written} given twice in [{error.section}]", error.lineno
    if isinstance(error, configparser.DuplicateSectionError):
        return f"section [{error.section}] given twice", error.lineno
    if isinstance(error, configparser.MissingSectionHeaderError):
        return f"text before the [Sequence] header: {error.line.strip()!r}", error.lineno
    if isinstance(error, configparser.ParsingError) and error.errors:
        line = error.errors[0][0]  # (line number, the line's repr)
        return f"not a key=value line: {lines[line - 1].strip()!r}", line
    return f"not a valid ini file ({error.__class__.__name__})", None


def _parse_ini(path: Path, keep_key_case: bool = False) -> configparser.ConfigParser:
    """The parsed ini file at ``path``; `MotFormatError` naming the file and line when it is not UTF-8
    or not an ini file. Keys are matched case-blind (as TrackEval reads ``seqLength``) unless
    ``keep_key_case``."""
    text = utf8_text(path.read_bytes(), path)
    if text.startswith("\ufeff"):  # configparser would call it text before any section
        raise MotFormatError(path, BOM_REFUSED, line=1)
    parser = configparser.ConfigParser(interpolation=None)  # a '%' in a name is just a character
    if keep_key_case:  # typeshed declares optionxform a method, though the docs say to assign it
        parser.optionxform = str  # type: ignore[method-assign, assignment]
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as error:
        raise MotFormatError(path, *_ini_problem(error, text.splitlines())) from None
    return parser


def read_seqinfo(path: str | Path) -> SeqInfo:
    """Reads ``seqinfo.ini``; only ``seqLength`` is required (as in TrackEval)."""
    path = Path(path)
    if not path.is_file():
        raise MotFormatError(
            path,
            "seqinfo.ini not found (it gives the sequence length, seqLength, and imWidth, imHeight, "
            "frameRate: docs/datasets.md has a template)",
        )
    parser = _parse_ini(path)
    if not parser.has_section("Sequence"):
        raise MotFormatError(path, "no [Sequence] section")
    section = parser["Sequence"]
    length = _ini_int(section, "seqLength", path, required=True)
    assert length is not None  # a required key is there or raised
    if length < 1:
        raise MotFormatError(path, f"seqLength={length}: a sequence has at least 1 frame")
    return SeqInfo(
        name=section.get("name", path.parent.name),
        length=length,
        frame_rate=_ini_number(section, "frameRate", path),
        width=_ini_int(section, "imWidth", path),
        height=_ini_int(section, "imHeight", path),
        image_dir=section.get("imDir", "img1"),
        image_ext=section.get("imExt", ".jpg"),
    )


def _ini_number(section: configparser.SectionProxy, key: str, path: Path) -> float | None:
    """An optional number; a value that is none is ignored with a warning (TrackEval never reads it)."""
    if key not in section:
        return None
    try:
        return float(section[key])
    except ValueError:
        log.warning("%s: %s is not a number (%r): ignored", path, key, section[key])
        return None


def _ini_int(section: configparser.SectionProxy, key: str, path: Path, required: bool = False) -> int | None:
    """An integer (``1920.0`` counts); a bad optional one is ignored with a warning, a bad required one
    is an error (as ``seqLength`` is in TrackEval)."""
    if key not in section:
        if required:
            raise MotFormatError(path, f"[Sequence] has no {key}")
        return None
    try:
        return int(section[key])
    except ValueError:
        if required:
            raise MotFormatError(path, f"{key} is not an integer: {section[key]!r}") from None
    number = _ini_number(section, key, path)
    if number is not None and number.is_integer():
        return int(number)
    if number is not None:
        log.warning("%s: %s is not an integer (%r): ignored", path, key, section[key])
    return None


def write_seqinfo(path: str | Path, info: SeqInfo, extra: dict[str, str] | None = None) -> None:
    """Writes ``seqinfo.ini`` atomically, in the key order MOTChallenge uses.

    ``extra`` keys go to a separate ``[discmot]`` section (e.g. how a synthetic sequence was made), which
    MOTChallenge tools ignore.
    """
    lines = ["[Sequence]", f"name={info.name}", f"imDir={info.image_dir}"]
    if info.frame_rate is not None:
        lines.append(f"frameRate={info.frame_rate:g}")
    lines.append(f"seqLength={info.length}")
    if info.width is not None and info.height is not None:
        lines += [f"imWidth={info.width}", f"imHeight={info.height}"]
    lines.append(f"imExt={info.image_ext}")
    if extra:
        lines += ["", "[discmot]", *(f"{key}={value}" for key, value in extra.items())]
    with atomic_open(path) as handle:
        handle.write("\n".join(lines) + "\n\n")


def read_seqinfo_extra(path: str | Path) -> dict[str, str]:
    """The ``[discmot]`` section of a ``seqinfo.ini`` (empty when absent), keys in their written case;
    `MotFormatError` (a `ValueError`) naming the file and line when it is not an ini file."""
    parser = _parse_ini(Path(path), keep_key_case=True)
    return dict(parser["discmot"]) if parser.has_section("discmot") else {}
