"""MOTChallenge text files (ground truth, detections, tracker results) read as tables of numbers, and
the checks that give their columns a meaning.

Reading follows TrackEval's parser exactly (spec ``eval.md`` §1.4), because evaluation must see the same
numbers TrackEval sees:

* the delimiter is sniffed by `csv.Sniffer` from the first line, spaces after a delimiter are skipped;
* one trailing delimiter per row is tolerated (its empty last field is dropped);
* CR/CRLF line ends are read as LF; a 0-byte file has no rows;
* numbers are parsed with Python's correctly rounded ``float``.

Where TrackEval would crash with a bare traceback or silently compute garbage, discmot stops with a
`MotFormatError` naming the file, the line and what is wrong: blank lines, rows with a different number
of columns, non-numeric fields, NaN/inf, too few columns. Checks that need a meaning for the columns
(frame range, positive box size, unique ids per frame) are separate functions below, used by readers
that know which kind of file they read.

Row ``i`` of a `MotTable` is line ``i + 1`` of its file (blank lines are errors, so the two never drift).

Writing tracker results is `discmot.io.mot_results`; ``seqinfo.ini`` is `discmot.io.seqinfo`, seqmaps
`discmot.io.seqmaps`, sequence folders and their frames `discmot.io.sequence_folders`.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from discmot.io.fastfloat import parse_decimal_tokens

#: Column indices of the MOTChallenge format (0-based).
FRAME, ID, X, Y, W, H, CONF, CLASS, VISIBILITY = range(9)

log = logging.getLogger(__name__)

#: Delimiters handled by the vectorised fast path; anything else goes through `csv` row by row.
_FAST_DELIMITERS = (",", ";", "\t", " ")
_NUMBER_BYTES = b"0123456789+-.eE"


class MotFormatError(ValueError):
    """A MOTChallenge file (or folder) is not what it should be.

    The message always starts with the path, then ``:line`` when one line is at fault, then what is
    wrong, so a person can open the file at the right place.
    """

    def __init__(self, path: str | Path, message: str, line: int | None = None):
        self.path = Path(path)
        self.line = line
        self.reason = message
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {message}")

    def __reduce__(self):
        # rebuilt from its parts when it crosses a process boundary (``discmot eval --workers``)
        return type(self), (self.path, self.reason, self.line)


@dataclass(frozen=True)
class MotTable:
    """The numbers of one MOTChallenge text file.

    Attributes:
        path: the file read.
        values: float64 array of shape ``(rows, columns)``; row ``i`` is line ``i + 1``.
            A 0-byte file gives shape ``(0, 0)``.
    """

    path: Path
    values: np.ndarray

    @property
    def num_rows(self) -> int:
        return int(self.values.shape[0])

    @property
    def num_columns(self) -> int:
        return int(self.values.shape[1])

    def column(self, index: int) -> np.ndarray:
        """Column ``index`` as a float64 view, shape ``(rows,)``."""
        return self.values[:, index]

    def truncated(self, index: int) -> np.ndarray:
        """Column ``index`` truncated towards zero as int64, like TrackEval's ``int(float(field))``."""
        return np.trunc(self.values[:, index]).astype(np.int64)


# --------------------------------------------------------------------------------------------------
# Parsing


def read_mot_table(path: str | Path, min_columns: int = 0) -> MotTable:
    """Reads a MOTChallenge-style numeric text file with TrackEval's parsing rules.

    Args:
        path: the text file.
        min_columns: rows with fewer columns are an error (0: no requirement); a file without rows
            gives a ``(0, min_columns)`` table, so callers index its columns without a special case.

    Raises:
        MotFormatError: unreadable file, undeterminable delimiter, blank line, inconsistent column
            count, a non-numeric or non-finite field, or fewer than ``min_columns`` columns.
    """
    path = Path(path)
    return mot_table(path, read_mot_bytes(path), min_columns)


def read_mot_bytes(path: Path) -> bytes:
    """The bytes of a MOTChallenge text file; a missing or unreadable one is a `MotFormatError`."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise MotFormatError(path, "file not found") from None
    except OSError as error:
        raise MotFormatError(path, f"cannot read file ({error.strerror})") from None


def mot_table(path: Path, raw: bytes, min_columns: int = 0) -> MotTable:
    """`read_mot_table` of contents already read (``raw``, the bytes of ``path``)."""
    values = parse_mot_bytes(raw, path)
    if not len(values) and min_columns:
        values = np.zeros((0, max(values.shape[1], min_columns)))
    table = MotTable(path, values)
    if table.num_rows and table.num_columns < min_columns:
        raise MotFormatError(
            path, f"has {table.num_columns} columns, at least {min_columns} are needed", line=1
        )
    return table


#: The error for a file that starts with a UTF-8 byte-order mark (as Windows Notepad saved UTF-8 before
#: 2019): TrackEval reads the mark as part of the first number (or, in seqinfo.ini, as text before the
#: section), so it is refused by name rather than skipped.
BOM_REFUSED = "the file starts with a UTF-8 byte-order mark (BOM): save it without one"


def utf8_text(raw: bytes, path: str | Path) -> str:
    """``raw`` decoded as UTF-8, else a `MotFormatError` naming the line and byte at fault, or, for
    UTF-16 (what Windows PowerShell 5's ``>`` and ``Out-File`` write), that encoding by name."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            utf16 = "is UTF-16 text (as Windows PowerShell 5's `>` writes it): save it as UTF-8"
            raise MotFormatError(path, utf16, line=1) from None
        line = raw.count(b"\n", 0, error.start) + 1
        byte = f"byte {raw[error.start]:#04x} at offset {error.start}"
        raise MotFormatError(path, f"is not UTF-8 text ({byte})", line=line) from None


def parse_mot_bytes(raw: bytes, path: str | Path = "<memory>") -> np.ndarray:
    """Parses file contents into a float64 ``(rows, columns)`` array (see `read_mot_table`)."""
    if not raw:
        return np.zeros((0, 0))
    text = utf8_text(raw, path)
    if "\r" in text:  # TrackEval opens files with universal newlines
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    delimiter = sniff_delimiter(text, path)
    values = _parse_fast(text, delimiter)
    if values is None:
        values = _parse_with_csv(text, delimiter, path)
    _check_finite(values, path)
    return values


def sniff_delimiter(text: str, path: str | Path) -> str:
    """The column delimiter of ``text`` (LF line ends), sniffed from its first line as TrackEval does."""
    first_line = text.split("\n", 1)[0] + "\n"
    try:
        return csv.Sniffer().sniff(first_line).delimiter
    except csv.Error:
        raise MotFormatError(path, "cannot determine the column delimiter", line=1) from None


def _parse_fast(text: str, delimiter: str) -> np.ndarray | None:
    """Vectorised parse of well-formed files; ``None`` when the file needs the exact `csv` path.

    It only accepts files whose every character is a digit, sign, dot, exponent, the delimiter, a
    space or a newline, with no empty field, no space inside a field and the same column count on
    every line. For those files splitting on the delimiter is provably the same as `csv` with
    ``skipinitialspace``; everything else (and every error) is handled by `_parse_with_csv`.
    """
    if delimiter not in _FAST_DELIMITERS:
        return None
    data = text.encode("ascii", errors="replace")
    if data.translate(None, _NUMBER_BYTES + b" \n" + delimiter.encode()):
        return None
    if not data.endswith(b"\n"):
        data += b"\n"
    if delimiter != " ":  # space-separated text is already in the single-separator form
        single = _single_separated(data, delimiter.encode())
        if single is None:
            return None
        data = single
    return _numbers_from_single_separated(data)


def _single_separated(data: bytes, sep: bytes) -> bytes | None:
    """Rewrites a delimited file so that exactly one space or newline separates consecutive fields."""
    if b" " in data:
        not_in_field = rb"[^\s" + re.escape(sep) + rb"]"
        if re.search(not_in_field + rb" +" + not_in_field, data):
            return None  # a space inside a field: csv keeps it, float() rejects it
        data = data.replace(b" ", b"")
    if sep + sep in data or b"\n" + sep in data or data.startswith(sep):
        return None  # an empty field
    return data.replace(sep + b"\n", b"\n").replace(sep, b" ")


def _numbers_from_single_separated(data: bytes) -> np.ndarray | None:
    """Parses a newline-terminated text with exactly one separator between tokens into rows."""
    if data.startswith((b"\n", b" ")) or b"\n\n" in data or b"  " in data or b" \n" in data or b"\n " in data:
        return None  # blank line or stray separator: the csv path tells which line
    buffer = np.frombuffer(data, dtype=np.uint8)
    separators = np.flatnonzero(buffer <= 32)
    starts = np.concatenate(([0], separators[:-1] + 1))
    line_breaks = np.flatnonzero(buffer[separators] == 10)
    tokens_per_line = np.diff(line_breaks, prepend=-1)
    if tokens_per_line.min() != tokens_per_line.max():
        return None
    values = parse_decimal_tokens(
        buffer, starts, separators, has_exponent_letters=b"e" in data or b"E" in data
    )
    if values is None:
        return None
    return values.reshape(line_breaks.size, int(tokens_per_line[0]))


def _parse_with_csv(text: str, delimiter: str, path: str | Path) -> np.ndarray:
    """The reference parse, row by row with `csv`, reporting the first bad line."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, skipinitialspace=True)
    rows: list[list[float]] = []
    for row in reader:
        line = reader.line_num
        if row and row[-1] == "":
            row = row[:-1]
        if not row or (len(row) == 1 and not row[0].strip()):
            raise MotFormatError(path, "blank line (TrackEval rejects blank lines, also at the end)", line)
        if rows and len(row) != len(rows[0]):
            raise MotFormatError(path, f"has {len(row)} columns, line 1 has {len(rows[0])}", line)
        rows.append([_to_float(field, column, path, line) for column, field in enumerate(row)])
    return np.asarray(rows, dtype=np.float64)


def _to_float(field: str, column: int, path: str | Path, line: int) -> float:
    try:
        return float(field)
    except ValueError:
        if line == 1 and column == 0 and field.startswith("\ufeff"):
            raise MotFormatError(path, BOM_REFUSED, line) from None
        raise MotFormatError(path, f"column {column + 1} is not a number: {field!r}", line) from None


def _check_finite(values: np.ndarray, path: str | Path) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        row, column = (int(i) for i in np.argwhere(bad)[0])
        raise MotFormatError(
            path, f"column {column + 1} is {float(values[row, column])} (not a finite number)", line=row + 1
        )


# --------------------------------------------------------------------------------------------------
# Checks that give the columns a meaning


def check_column_count(table: MotTable, min_columns: int, what: str) -> None:
    """Requires at least ``min_columns`` columns in a non-empty table."""
    if table.num_rows and table.num_columns < min_columns:
        raise MotFormatError(
            table.path, f"{what} rows need at least {min_columns} columns, found {table.num_columns}", line=1
        )


def check_frames(table: MotTable, num_frames: int | None) -> None:
    """Requires every frame number (truncated like TrackEval) to lie in ``1..num_frames``."""
    if not table.num_rows:
        return
    frames = table.truncated(FRAME)
    upper = np.iinfo(np.int64).max if num_frames is None else num_frames
    bad = np.flatnonzero((frames < 1) | (frames > upper))
    if bad.size:
        row = int(bad[0])
        limit = "frames start at 1" if frames[row] < 1 else f"the sequence has {num_frames} frames"
        raise MotFormatError(
            table.path, f"frame {table.values[row, FRAME]:g} is out of range ({limit})", row + 1
        )


def check_positive_sizes(table: MotTable) -> None:
    """Requires box width and height (columns 5 and 6) to be strictly positive."""
    if not table.num_rows:
        return
    sizes = table.values[:, W : H + 1]
    bad = np.flatnonzero((sizes <= 0).any(axis=1))
    if bad.size:
        row = int(bad[0])
        w, h = sizes[row]
        raise MotFormatError(table.path, f"box width and height must be > 0, found w={w:g} h={h:g}", row + 1)


def warn_if_normalised(table: MotTable) -> None:
    """Warns when every box of a gt file fits in 1 x 1 pixel: coordinates normalised
    to 0-1 (the YOLO habit) rather than the pixels MOTChallenge files hold. Trained on as they are, such
    boxes are specks a network cannot learn, and nothing else would say why training finds nobody."""
    if not table.num_rows:
        return
    x, y, w, h = (table.values[:, column] for column in (X, Y, W, H))
    if max(np.abs(x).max(), np.abs(y).max(), w.max(), h.max()) > 1.0:
        return
    log.warning(
        "%s: every box fits in 1x1 pixel (largest w=%g h=%g): is the gt normalised to 0-1? MOTChallenge "
        "gt holds pixels of the image (x, y of the top-left corner, w, h): multiply by the image size",
        table.path,
        w.max(),
        h.max(),
    )


def check_unique_ids(table: MotTable) -> None:
    """Requires each (frame, id) pair (both truncated) to appear at most once."""
    if table.num_rows < 2:
        return
    frames, ids = table.truncated(FRAME), table.truncated(ID)
    order = np.lexsort((np.arange(table.num_rows), ids, frames))
    same = (frames[order][1:] == frames[order][:-1]) & (ids[order][1:] == ids[order][:-1])
    if same.any():
        position = int(np.flatnonzero(same)[0])
        first, second = int(order[position]), int(order[position + 1])  # row order: the index is a sort key
        raise MotFormatError(
            table.path,
            f"id {ids[second]} appears twice in frame {frames[second]} (first on line {first + 1})",
            second + 1,
        )
