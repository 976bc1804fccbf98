"""MOTChallenge text files: ground truth, detections, tracker results, ``seqinfo.ini`` and seqmaps.

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
"""

from __future__ import annotations

import configparser
import csv
import io
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from discmot.io.atomic import atomic_open
from discmot.io.fastfloat import parse_decimal_tokens
from discmot.messages import require_path

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
        data = _single_separated(data, delimiter.encode())
        if data is None:
            return None
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


# --------------------------------------------------------------------------------------------------
# seqinfo.ini and seqmaps


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


def default_ground_truth(source: str | Path) -> Path | None:
    """The ``gt/gt.txt`` that belongs to a source given alone (`discmot track`, ``show``, ``analyze``):
    a sequence folder's own (a folder with ``seqinfo.ini``, ``img1/`` or ``gt/``), or, for an image
    folder such as ``SEQ/img1``, its parent's; ``None`` when there is none, and for a video, a glob or a
    camera (their ground truth is given explicitly)."""
    folder = Path(source)
    if not folder.is_dir():
        return None
    own = folder / "gt" / "gt.txt"
    if own.is_file() or (folder / "seqinfo.ini").is_file() or (folder / "img1").is_dir():
        return own if own.is_file() else None  # a sequence folder: its own gt or none
    parents = folder.parent / "gt" / "gt.txt"
    return parents if parents.is_file() else None


def _ini_problem(error: configparser.Error, lines: list[str]) -> tuple[str, int | None]:
    """What is wrong with an ini file of ``lines``, in words, and the line (configparser's messages name
    the ``source`` again and quote lines with their escapes)."""
    if isinstance(error, configparser.DuplicateOptionError):
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


def read_seqinfo(path: str | Path) -> SeqInfo:
    """Reads ``seqinfo.ini``; only ``seqLength`` is required (as in TrackEval)."""
    path = Path(path)
    if not path.is_file():
        raise MotFormatError(
            path,
            "seqinfo.ini not found (it gives the sequence length, seqLength, and imWidth, imHeight, "
            "frameRate: docs/datasets.md has a template)",
        )
    text = utf8_text(path.read_bytes(), path)
    if text.startswith("\ufeff"):  # configparser would call it text before any section
        raise MotFormatError(path, BOM_REFUSED, line=1)
    parser = configparser.ConfigParser(interpolation=None)  # a '%' in a name is just a character
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as error:
        raise MotFormatError(path, *_ini_problem(error, text.splitlines())) from None
    if not parser.has_section("Sequence"):
        raise MotFormatError(path, "no [Sequence] section")
    section = parser["Sequence"]
    length = _ini_int(section, "seqLength", path, required=True)
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


def sequence_folders(base: Path) -> list[Path]:
    """The sequence folders of a split folder, sorted: those with an ``img1/`` folder, the layout
    training, ``depth`` and ``jde-export`` read (as the original's loaders, which hard-code it). Hidden
    folders (a half-written ``discmot synth`` sequence) are not sequences. A folder whose seqinfo.ini
    names another ``imDir`` that exists is left out with a warning naming it, not silently."""
    found = []
    for folder in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if (folder / "img1").is_dir():
            found.append(folder)
        elif (image_dir := _other_image_dir(folder)) is not None:
            log.warning(
                "%s: left out: its seqinfo.ini says imDir=%s, and training, depth and jde-export read "
                "img1/ (rename the folder to img1)",
                folder,
                image_dir,
            )
    return found


def _other_image_dir(folder: Path) -> str | None:
    """The ``imDir`` of ``folder``'s seqinfo.ini when it is not ``img1`` and exists, else None."""
    try:
        image_dir = read_seqinfo(folder / "seqinfo.ini").image_dir
    except MotFormatError:
        return None
    return image_dir if image_dir != "img1" and (folder / image_dir).is_dir() else None


def numbered_frames(folder: Path, images: Iterable[Path]) -> dict[int, Path]:
    """Frame number -> image among the ``images`` of a sequence's image ``folder``.

    An image named by a number is that frame (``000001.jpg``, ``00000001.jpg``), as in MOTChallenge and
    DanceTrack, whose loaders build frame paths from numbers. Other names are not frames: they are
    ignored, with one warning (hidden files, such as macOS ``._`` copies, silently).
    """
    frames, others = {}, []
    for path in images:
        if path.stem.isdigit():
            frames[int(path.stem)] = path
        elif not path.name.startswith("."):
            others.append(path)
    if others:
        log.warning(
            "%s: %d image(s) not named by a frame number ignored, e.g. %s",
            folder,
            len(others),
            min(others).name,
        )
    return frames


def frame_images(image_dir: Path, images: Iterable[Path], length: int | None, seqinfo: Path) -> list[Path]:
    """The images of frames ``1..length`` in frame order, by the rule of `numbered_frames`.

    ``length`` is ``seqinfo``'s ``seqLength`` (``None``: no seqinfo.ini, as many frames as numbered
    images). Numbered images after it are not used, with a warning (BFT's loader counts images,
    DanceTrack's and SportsMOT's read seqLength).

    Raises:
        FileNotFoundError: a frame up to ``length`` has no image.
    """
    frames = numbered_frames(image_dir, images)
    count = len(frames) if length is None else length
    missing = [frame for frame in range(1, count + 1) if frame not in frames]
    if missing:
        where = f"seqLength={count} in {seqinfo}" if length is not None else f"{len(frames)} images"
        raise FileNotFoundError(
            f"{image_dir}: no image for frame {missing[0]} ({len(missing)} of {where} missing)"
        )
    if len(frames) > count:
        log.warning(
            "%s: %d numbered images but seqLength=%d in %s: frames after %d are not used",
            image_dir,
            len(frames),
            count,
            seqinfo,
            count,
        )
    return [frames[frame] for frame in range(1, count + 1)]


#: Image formats (lower case) read as frames (`discmot.io.video`) and named when a sequence's are missing.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def training_image_suffix(info: SeqInfo | None) -> str:
    """The suffix of a sequence's training frames: ``.png`` when ``seqinfo.ini``'s ``imExt`` says so,
    else ``.jpg``, the original's (whatever ``imExt`` says, and without a seqinfo.ini, as BFT has none)."""
    if info is not None and info.image_ext.lower().lstrip(".") == "png":
        return ".png"
    return ".jpg"


def training_frame_images(image_dir: Path, info: SeqInfo | None, seqinfo: Path) -> list[Path]:
    """`frame_images` of the frames FDTA training and ``discmot depth`` read: those with the sequence's
    `training_image_suffix`. Frames missing because the folder holds another format are said to be so.
    """
    suffix = training_image_suffix(info)
    try:
        images = frame_images(image_dir, image_dir.glob(f"*{suffix}"), info and info.length, seqinfo)
    except FileNotFoundError as error:
        raise FileNotFoundError(f"{error}{_missing_frames_hints(image_dir, suffix, info)}") from None
    if not images:  # no seqinfo.ini: no length to miss a frame of, and an empty folder has none
        raise FileNotFoundError(
            f"{image_dir}: no {suffix} frames{_missing_frames_hints(image_dir, suffix, info)}"
        )
    return images


def _missing_frames_hints(image_dir: Path, suffix: str, info) -> str:
    """Why frames of ``suffix`` are missing: another image format, or names that are no frame numbers."""
    return _other_format_hint(image_dir, suffix, info) + _unnumbered_hint(image_dir, suffix)


def _unnumbered_hint(image_dir: Path, suffix: str) -> str:
    """``"; its images are not named by a frame number ..."`` when the folder's images (any format) have
    names such as ``frame_000000.PNG`` (an annotation tool's export): they are no frames whatever their
    format (`numbered_frames`), so renaming them is the fix, not imExt."""
    images = [
        p for p in image_dir.glob("*") if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    ]
    unnumbered = sorted(p.name for p in images if not p.stem.isdigit())
    if not unnumbered:
        return ""
    some = "its images are" if len(unnumbered) == len(images) else f"{len(unnumbered)} of its images are"
    return (
        f"; {some} not named by a frame number (e.g. {unnumbered[0]}): name each after its frame in "
        f"gt.txt's first column, frame 1 as 000001{suffix} (docs/datasets.md, 'Your own dataset')"
    )


def _other_format_hint(image_dir: Path, suffix: str, info: SeqInfo | None) -> str:
    """``"; ... this folder has .png images: ..."`` when the folder holds frames of another format."""
    suffixes = {path.suffix for path in image_dir.glob("*")}
    others = sorted(s for s in suffixes if s.lower() in IMAGE_SUFFIXES and s != suffix)
    if not others:
        return ""
    same = (".jpg", ".jpeg") if suffix == ".jpg" else (suffix,)
    if all(o.lower() in same for o in others):  # .JPG, .jpeg, .PNG: the name, not the format, differs
        remedy = f"rename them to <frame>{suffix} (the original's loaders build that name)"
    elif info is None:
        remedy = "add a seqinfo.ini with imExt=.png for PNG frames, or convert them to .jpg"
    elif suffix == ".png":
        remedy = "correct imExt in seqinfo.ini"
    else:
        remedy = "set imExt=.png in seqinfo.ini for PNG frames, or convert them to .jpg"
    if info is None:
        where = "no seqinfo.ini: .jpg"
    elif info.image_ext == suffix or suffix == ".png":  # imExt=PNG, png: read as .png too
        where = "seqinfo.ini's imExt"
    else:
        where = f"seqinfo.ini's imExt={info.image_ext}: any but .png is read as .jpg"
    found = ", ".join(others)
    return f"; the frames are read as {suffix} ({where}) and this folder has {found} images: {remedy}"


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
    """The ``[discmot]`` section of a ``seqinfo.ini`` (empty when absent)."""
    parser = configparser.ConfigParser()
    parser.optionxform = str  # keep key case
    parser.read_string(Path(path).read_text(encoding="utf-8"), source=str(path))
    return dict(parser["discmot"]) if parser.has_section("discmot") else {}


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


# --------------------------------------------------------------------------------------------------
# Writing results


def format_mot_rows(
    frames: np.ndarray,
    ids: np.ndarray,
    boxes: np.ndarray,
    scores: np.ndarray | None = None,
    original_format: bool = False,
) -> str:
    """Formats tracker results as MOTChallenge rows ``frame,id,x,y,w,h,conf,-1,-1,-1``.

    Args:
        frames: ``(N,)`` 1-based frame numbers.
        ids: ``(N,)`` track ids.
        boxes: ``(N, 4)`` boxes as ``x, y, w, h`` (top-left corner, size) in pixels.
        scores: ``(N,)`` confidences; 1 when omitted.
        original_format: the rows FDTA's and CSTrack's original code writes: every box value unrounded
            (Python's float repr) and the confidence column ``1`` (``scores`` ignored). Otherwise boxes
            have 2 decimals and the confidence 4 significant digits.
    """
    frames = np.asarray(frames, dtype=np.int64).tolist()
    ids = np.asarray(ids, dtype=np.int64).tolist()
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4).tolist()
    if original_format:
        return "".join(
            f"{f},{i},{x!r},{y!r},{w!r},{h!r},1,-1,-1,-1\n"
            for f, i, (x, y, w, h) in zip(frames, ids, boxes, strict=True)
        )
    scores = np.ones(len(frames)) if scores is None else np.asarray(scores, dtype=np.float64)
    lines = [
        f"{f},{i},{x:.2f},{y:.2f},{w:.2f},{h:.2f},{s:.4g},-1,-1,-1\n"
        for f, i, (x, y, w, h), s in zip(frames, ids, boxes, scores.tolist(), strict=True)
    ]
    return "".join(lines)


def write_mot_results(
    path: str | Path,
    frames: np.ndarray,
    ids: np.ndarray,
    boxes: np.ndarray,
    scores: np.ndarray | None = None,
    original_format: bool = False,
) -> None:
    """Writes tracker results atomically (`sorted_mot_rows`): one row per box, ``frames`` and ``ids``
    ``(N,)``, ``boxes`` ``(N, 4)`` ``tlwh`` pixels, ``scores`` ``(N,)`` (1 when omitted); lists or arrays.

    Raises:
        TypeError: ``path`` that is no path (str or os.PathLike).
        ValueError: columns of different lengths, or boxes that are not ``(N, 4)`` (one line saying which).
    """
    require_path(path, "path", "write_mot_results")
    boxes = _box_rows(boxes)
    lengths = {"frames": len(np.atleast_1d(frames)), "ids": len(np.atleast_1d(ids)), "boxes": len(boxes)}
    if scores is not None:
        lengths["scores"] = len(np.atleast_1d(scores))
    if len(set(lengths.values())) > 1:
        (first, count), *others = lengths.items()
        listed = ", ".join(f"{name} {n}" for name, n in others)
        rows = "row" if count == 1 else "rows"
        raise ValueError(
            f"write_mot_results: {first} has {count} {rows}, {listed}: give one row per box in each"
        )
    with atomic_open(path) as handle:
        handle.write(sorted_mot_rows(frames, ids, boxes, scores, original_format))


def _box_rows(boxes) -> np.ndarray:
    """``boxes`` as ``(N, 4)`` float64; an empty list is ``(0, 4)``."""
    try:
        boxes = np.asarray(boxes, dtype=np.float64)
    except (TypeError, ValueError):  # rows of different lengths: numpy's "inhomogeneous shape"
        raise ValueError("write_mot_results: boxes must be (N, 4), one x, y, w, h row per box") from None
    if boxes.size == 0:
        return boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(
            f"write_mot_results: boxes must be (N, 4), one x, y, w, h row per box, got shape {boxes.shape}"
        )
    return boxes


def sorted_mot_rows(
    frames: np.ndarray,
    ids: np.ndarray,
    boxes: np.ndarray,
    scores: np.ndarray | None = None,
    original_format: bool = False,
) -> str:
    """The text of tracker results (see `format_mot_rows`), sorted by frame then id; in the
    ``original_format`` sorted by frame only, each frame's rows in the order given (the tracker's)."""
    frames = np.asarray(frames, dtype=np.int64)
    ids = np.asarray(ids, dtype=np.int64)
    order = np.argsort(frames, kind="stable") if original_format else np.lexsort((ids, frames))
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)[order]
    scores = None if scores is None else np.asarray(scores)[order]
    return format_mot_rows(frames[order], ids[order], boxes, scores, original_format)


def rows_by_frame(values: np.ndarray) -> dict[int, np.ndarray]:
    """Rows of a MOT table (``(N, C)``, frame in column 0) grouped by frame -> ``{frame: rows}``, each
    group in file order; an empty table (no rows, e.g. a 0-byte file's ``(0, 0)``) gives ``{}``. One stable
    sort instead of a scan per frame (long videos have 10^4 frames)."""
    if len(values) == 0:
        return {}
    frames = values[:, 0].astype(np.int64)
    order = np.argsort(frames, kind="stable")
    starts = np.flatnonzero(np.diff(frames[order], prepend=frames[order][:1] - 1))
    groups = np.split(values[order], starts[1:])
    return {int(group[0, 0]): group for group in groups}


def read_results_by_frame(path: str | Path) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """A tracker result file -> ``{frame: (ids (n,) int64, tlwh boxes (n, 4) float64, scores (n,))}``
    for the frames that have rows (a missing 7th column reads as score 1)."""
    table = read_mot_table(path, min_columns=6)
    return {
        frame: (
            rows[:, 1].astype(np.int64),
            rows[:, 2:6].astype(np.float64),
            rows[:, 6] if rows.shape[1] >= 7 else np.ones(len(rows)),
        )
        for frame, rows in rows_by_frame(table.values).items()
    }
