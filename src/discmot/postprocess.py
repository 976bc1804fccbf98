"""Post-processing of tracker results: short gaps in tracks filled by linear interpolation.

Many MOT17/MOT20 results in papers (ByteTrack, OC-SORT, StrongSORT, MOTRv2, ...) are post-processed this
way: a track missing for a few frames between two of its boxes gets linearly interpolated boxes in the
missing frames. It is no part of FDTA's or CSTrack's own pipelines, whose result files stay as their
originals write them; ``discmot interpolate`` applies it to any results file afterwards
(track -> interpolate -> eval).

It lives beside the package's stages rather than in `discmot.trackers`: it runs on result files of any
tracker (also another project's), holds no per-video state and follows no `Tracker` protocol, and like
`discmot.io` and `discmot.eval` it needs numpy only (no torch), so the verb starts fast.

Files are edited line by line: every row of the input is written back as the very text it had (an
original-format file's unrounded boxes stay unrounded), and only the inserted rows are formatted, by
`discmot.io.mot_results.format_mot_rows` (boxes to 2 decimals, the score to 4 significant digits).
"""

from __future__ import annotations

import csv
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from discmot.io.atomic import atomic_write_texts
from discmot.io.mot import (
    CONF,
    FRAME,
    ID,
    H,
    MotFormatError,
    MotTable,
    X,
    check_frames,
    check_positive_sizes,
    check_unique_ids,
    mot_table,
    read_mot_bytes,
    sniff_delimiter,
)
from discmot.io.mot_results import format_mot_rows

log = logging.getLogger(__name__)

#: Longest gap filled by default, in missing frames (the papers' scripts default to 20 too, counted
#: their way: see `interpolate_tracks`).
DEFAULT_MAX_GAP = 20
#: The end of the name of `discmot eval`'s summary file, ``<cls>_summary.txt`` (`discmot.eval.report`).
SUMMARY_SUFFIX = "_summary.txt"
#: Columns a results row needs: frame, id, x, y, w, h, score (as `discmot eval` requires).
MIN_COLUMNS = 7


@dataclass(frozen=True)
class InterpolationSummary:
    """What `interpolate_results` did to one file.

    Attributes:
        source, out: the results file read and the file written.
        rows_added: interpolated rows inserted.
        tracks_touched: ids that got at least one inserted row.
        tracks: distinct ids in the file.
    """

    source: Path
    out: Path
    rows_added: int
    tracks_touched: int
    tracks: int


# --------------------------------------------------------------------------------------------------
# Arrays


def interpolate_tracks(rows: np.ndarray, max_gap: int = DEFAULT_MAX_GAP) -> np.ndarray:
    """Fills the gaps of at most ``max_gap`` frames in each track with linearly interpolated rows.

    For each id, two consecutive boxes in frames ``a < b`` with ``1 <= b - a - 1 <= max_gap`` missing
    frames between them get one row in each frame ``a + k`` (``0 < k < b - a``), at ``t = k / (b - a)``:

    * ``x, y, w, h``: ``left + (right - left) * t``. Box positions are ``tlwh``; interpolating them
      linearly gives the same boxes as interpolating the corners (``x2 = x + w`` is linear too) or the
      centre.
    * the score (column 7, MOTChallenge's ``conf``): interpolated linearly too, as StrongSORT's and
      BoxMOT's linear interpolation do (they interpolate every column; ByteTrack's script writes 1).
      TrackEval never reads it for results.
    * the columns after it (``-1,-1,-1``, a class, ...): copied from the earlier box.

    Longer gaps are left alone. The papers' scripts (ByteTrack's ``n_dti``, StrongSORT's and BoxMOT's
    ``interval``, both 20) fill ``1 <= missing frames <= interval - 2``: ``max_gap = interval - 2``
    fills the same gaps (their scripts' other steps are not reproduced here).

    Args:
        rows: ``(N, C)`` results, ``C >= 7``: ``frame, id, x, y, w, h, score, ...``; frames and ids are
            read truncated towards zero, as `discmot eval` reads them.
        max_gap: the most missing frames a gap may have to be filled, at least 1.

    Returns:
        ``(N + M, C)`` float64: the ``N`` rows unchanged (bit for bit) and the ``M`` inserted ones
        (whole frame and id numbers), sorted by frame then id, as `discmot.io.mot_results.sorted_mot_rows`
        sorts a results file.

    Raises:
        ValueError: ``max_gap`` is not a whole number >= 1, ``rows`` is not 2-D with at least 7
            finite columns, or an id appears twice in one frame (`MotFormatError` naming ``rows:R``,
            ``R`` the 1-based row).
    """
    values = _checked_rows(rows)
    merged = np.concatenate([values, _interpolated(values, max_gap)[0]])
    return merged[_frame_id_order(merged)]


def _interpolated(rows: np.ndarray, max_gap: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``(M, C)`` rows to insert into the checked ``rows`` (``(N, C)``), ordered by id then frame,
    and for each the index of its gap's earlier row in ``rows`` (``(M,)``)."""
    _check_max_gap(max_gap)
    frames, ids = np.trunc(rows[:, FRAME]), np.trunc(rows[:, ID])
    left, right, missing = _gaps(frames, ids, max_gap)
    step = np.arange(int(missing.sum())) - np.repeat(np.cumsum(missing) - missing, missing) + 1
    fraction = (step / np.repeat(missing + 1, missing))[:, None]  # t = k / (b - a)
    earlier = np.repeat(left, missing)
    before, after = rows[earlier], rows[np.repeat(right, missing)]
    inserted = before.copy()  # the columns after the score: the earlier box's
    inserted[:, FRAME] = frames[earlier] + step
    inserted[:, ID] = ids[earlier]
    inserted[:, X : CONF + 1] = before[:, X : CONF + 1] + (after - before)[:, X : CONF + 1] * fraction
    return inserted, earlier


def _gaps(frames: np.ndarray, ids: np.ndarray, max_gap: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(left, right, missing)``, each ``(G,)``: the rows before and after each gap to fill (indices
    into ``frames``) and its count of missing frames, ordered by id then frame."""
    order = np.lexsort((frames, ids))
    missing = np.diff(frames[order]) - 1
    same_track = ids[order][1:] == ids[order][:-1]
    fill = np.flatnonzero(same_track & (missing >= 1) & (missing <= max_gap))
    return order[fill], order[fill + 1], missing[fill].astype(np.int64)


def _frame_id_order(values: np.ndarray) -> np.ndarray:
    """The order of rows by (truncated) frame, then id: `sorted_mot_rows`' ``lexsort((ids, frames))``."""
    return np.lexsort((np.trunc(values[:, ID]), np.trunc(values[:, FRAME])))


def _check_max_gap(max_gap: int) -> None:
    if isinstance(max_gap, bool) or not isinstance(max_gap, int | np.integer) or max_gap < 1:
        raise ValueError(f"max_gap {max_gap!r}: give the most missing frames to fill, a whole number >= 1")


def _checked_rows(rows: np.ndarray) -> np.ndarray:
    """``rows`` as float64 ``(N, C)`` after the checks `interpolate_tracks` documents."""
    values = np.asarray(rows, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] < MIN_COLUMNS:
        raise ValueError(
            f"rows of shape {values.shape}: give (N, >= {MIN_COLUMNS}) rows frame,id,x,y,w,h,score,..."
        )
    if not np.isfinite(values).all():
        row = int(np.argwhere(~np.isfinite(values))[0, 0])
        raise ValueError(f"rows: row {row + 1} holds a value that is not a finite number")
    check_unique_ids(MotTable(Path("rows"), values))
    return values


# --------------------------------------------------------------------------------------------------
# Files


def interpolate_results(
    results: str | os.PathLike, out: str | os.PathLike, max_gap: int = DEFAULT_MAX_GAP
) -> list[InterpolationSummary]:
    """Writes ``results`` with its tracks' short gaps filled (`interpolate_tracks`) to ``out``.

    Args:
        results: a results file, or a folder of ``<seq>.txt`` results files (TrackEval's
            ``<tracker>/data``; hidden files are not results).
        out: the file to write, or for a folder the folder receiving one file per input, same names.
        max_gap: the most missing frames a gap may have to be filled, at least 1.

    Every input is read and checked before anything is written, as `discmot eval` checks results
    (at least 7 columns, frames >= 1, boxes of positive size, each id once per frame: errors name the
    file and line), then all outputs are written atomically and together. Input rows keep their text;
    the output is sorted by frame then id, in the input's delimiter and line ends.

    Returns:
        One `InterpolationSummary` per file, in name order.

    Raises:
        MotFormatError: a bad results file.
        ValueError: no results to read, ``out`` would overwrite an input or is of the wrong kind (a
            folder for a file), ``max_gap`` below 1.
    """
    _check_max_gap(max_gap)
    pairs = _file_pairs(Path(results), Path(out))
    texts, summaries = {}, []
    for source, target in pairs:
        texts[target], summary = _interpolated_file(source, target, max_gap)
        summaries.append(summary)
    atomic_write_texts(texts)
    for done in summaries:
        log.info(
            "%s: %d row%s added in %d of %d tracks (gaps of 1-%d frames) -> %s",
            done.source,
            done.rows_added,
            "" if done.rows_added == 1 else "s",
            done.tracks_touched,
            done.tracks,
            max_gap,
            done.out,
        )
    return summaries


def _file_pairs(results: Path, out: Path) -> list[tuple[Path, Path]]:
    """``(input, output)`` files: one pair for a file, one per ``*.txt`` file for a folder."""
    if results.is_dir():
        sources = _results_files(results)
        if not sources:
            inside = results / "data"  # TrackEval's <tracker>/data/<seq>.txt: the tracker folder was given
            hint = f": give {inside}, TrackEval's folder of results" if inside.is_dir() else ""
            raise ValueError(f"{results}: no results files (<seq>.txt) in this folder{hint}")
        if out.exists() and not out.is_dir():
            raise ValueError(f"{out}: not a folder: with a folder of results, --out names the output folder")
        if out.suffix.lower() == ".txt" and not out.is_dir():  # else a folder named like a file is made
            raise ValueError(
                f"{out}: a file name, but {results} is a folder of results: --out names the output "
                "folder (one file per input, same names)"
            )
        _refuse_same(results, out, "folder")
        return [(source, out / source.name) for source in sources]
    if not results.is_file():
        raise ValueError(f"{results}: no such results file or folder")
    if out.is_dir():
        raise ValueError(f"{out}: is a folder: with one results file, --out names the output file")
    _refuse_same(results, out, "file")
    return [(results, out)]


def _results_files(folder: Path) -> list[Path]:
    """The ``*.txt`` results files of ``folder``, in name order: not hidden ones (another tool's
    half-written files), and not the ``<cls>_summary.txt`` that `discmot eval` writes beside its
    ``<cls>_detailed.csv`` into each tracker's folder, which for a folder of ``<seq>.txt`` is this one
    (read as results it would stop the run at its header line)."""
    sources = []
    for path in sorted(folder.glob("*.txt")):
        if not path.is_file() or path.name.startswith("."):
            continue
        if path.name.endswith(SUMMARY_SUFFIX) and _detailed_beside(path).is_file():
            log.info("%s: left out: discmot eval's summary, not a results file", path)
            continue
        sources.append(path)
    return sources


def _detailed_beside(summary: Path) -> Path:
    """``<cls>_detailed.csv`` beside ``<cls>_summary.txt``: the pair `discmot.eval.report` writes."""
    return summary.with_name(summary.name.removesuffix(SUMMARY_SUFFIX) + "_detailed.csv")


def _refuse_same(results: Path, out: Path, kind: str) -> None:
    """Refuses an ``out`` that is the input (also through a link): the input stays as it was."""
    same = out.exists() and os.path.samefile(results, out)
    if same or out.resolve() == results.resolve():
        raise ValueError(
            f"{out}: is the input {kind}: interpolate leaves its input as it is; "
            f"give another --out (and move it over the input afterwards if that is what you want)"
        )


def _interpolated_file(source: Path, target: Path, max_gap: int) -> tuple[str, InterpolationSummary]:
    """The text of ``source`` with its gaps filled, and what was done."""
    raw = read_mot_bytes(source)  # once: parsed here, and its lines kept as they are
    table = mot_table(source, raw, min_columns=MIN_COLUMNS)
    check_frames(table, None)
    check_positive_sizes(table)
    check_unique_ids(table)
    text = raw.decode("utf-8")  # (UTF-8 checked by the parse) the line ends are kept, as given
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")[: table.num_rows]
    inserted, earlier = _interpolated(table.values, max_gap)
    delimiter = sniff_delimiter(lines[0], source) if lines else ","
    lines += _inserted_lines(inserted, earlier, lines, delimiter, source)
    order = _frame_id_order(np.concatenate([table.values, inserted]))
    newline = _line_end(text)
    summary = InterpolationSummary(
        source,
        target,
        rows_added=len(inserted),
        tracks_touched=len(np.unique(inserted[:, ID])),
        tracks=len(np.unique(table.truncated(ID))),
    )
    return "".join(lines[i] + newline for i in order), summary


def _line_end(text: str) -> str:
    """The line end of ``text``: CRLF, a lone CR (an old Mac file, which TrackEval reads as well) or LF."""
    if "\r\n" in text:
        return "\r\n"
    return "\r" if "\r" in text else "\n"


def _inserted_lines(
    inserted: np.ndarray, earlier: np.ndarray, lines: list[str], delimiter: str, path: Path
) -> list[str]:
    """The file lines of ``inserted`` (``(M, C)``): frame to score as `format_mot_rows` writes them,
    the columns after the score as they read in the line of the earlier box (row ``earlier``)."""
    if not len(inserted):
        return []
    written = format_mot_rows(inserted[:, FRAME], inserted[:, ID], inserted[:, X : H + 1], inserted[:, CONF])
    tails: dict[int, list[str]] = {}
    result = []
    for line, row in zip(written.splitlines(), earlier.tolist(), strict=True):
        if row not in tails:
            tails[row] = _fields(lines[row], delimiter, path, row + 1)[MIN_COLUMNS:]
        result.append(delimiter.join(line.split(",")[:MIN_COLUMNS] + tails[row]))
    return result


def _fields(line: str, delimiter: str, path: Path, number: int) -> list[str]:
    """The fields of one line as TrackEval's reader splits them (a trailing delimiter dropped)."""
    fields = next(csv.reader([line], delimiter=delimiter, skipinitialspace=True))
    if fields and fields[-1] == "":
        fields = fields[:-1]
    if len(fields) < MIN_COLUMNS:  # the table parsed, so this is a line split differently: say where
        raise MotFormatError(path, f"cannot split this line into {MIN_COLUMNS} columns", number)
    return [field.strip() for field in fields]
