"""Presentation of evaluation results: TrackEval's summary/detailed files, console tables and JSON.

The two files TrackEval writes per tracker are reproduced byte for byte:

* ``<cls>_summary.txt``: a space-separated header and one row of COMBINED values (floats ×100 as
  ``"{0:1.5g}"``, integers ``"%d"``). Its column order is TrackEval's fixed ``default_order``, which is
  **not** the order of CLEAR's printed table (``sMOTA`` moves after ``Frag``).
* ``<cls>_detailed.csv``: one row per sequence (sorted), then ``COMBINED``, raw values. TrackEval writes
  Python/numpy numbers through `csv`, so a value's *type* shows in the file (``7.0`` vs ``7``). The result
  structure of `discmot.eval` normalises types (Python ``int``/``float``), so the writers re-derive the
  types TrackEval would have had (see `_int_zero_fields`).

Both files use ``\\r\\n`` line endings (the `csv` module's default) and end with one.

Result structure (see `discmot.eval.fields`)::

    {tracker: {sequence_or_"COMBINED": {"HOTA": {...}, "CLEAR": {...}, "Identity": {...}, "Count": {...}}}}

Every ``metrics`` argument below takes metric-family names (case-insensitive) or ``None`` for "the
families present in the results". ``Count`` is always added, because TrackEval always runs it.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from discmot.eval import fields as F
from discmot.io.atomic import atomic_write_text, atomic_write_texts

__all__ = [
    "detailed_csv_text",
    "format_table",
    "metric_family",
    "metric_name",
    "read_json",
    "resolve_metrics",
    "summary_text",
    "summary_values",
    "table_columns",
    "write_json",
    "write_tracker_outputs",
]

#: TrackEval's ``write_summary_results`` column order (utils.py ``default_order``).
SUMMARY_FILE_ORDER: tuple[str, ...] = (
    *F.HOTA_SUMMARY_FIELDS,
    *(field for field in F.CLEAR_MAIN_FLOAT_FIELDS if field != "sMOTA"),  # sMOTA ...
    *F.CLEAR_INTEGER_FIELDS,
    "sMOTA",  # ... which TrackEval's default order puts after Frag
    *F.IDENTITY_SUMMARY_FIELDS,
    *F.COUNT_SUMMARY_FIELDS,
)

#: Detailed-CSV scalar columns per family: TrackEval's ``float_fields + integer_fields``.
_DETAILED_SCALARS: dict[str, tuple[str, ...]] = {
    "HOTA": F.HOTA_FLOAT_FIELDS,
    "CLEAR": F.CLEAR_FLOAT_FIELDS + F.CLEAR_ALL_INTEGER_FIELDS,
    "Identity": F.IDENTITY_FLOAT_FIELDS + F.IDENTITY_INTEGER_FIELDS,
    "Count": F.COUNT_INTEGER_FIELDS,  # "Frames" is not a Count field in TrackEval, so it is not written
}

#: Detailed-CSV per-alpha columns: TrackEval's ``float_array_fields + integer_array_fields``.
_DETAILED_ARRAYS: dict[str, tuple[str, ...]] = {"HOTA": F.HOTA_ARRAY_FIELDS}

#: TrackEval labels alpha columns ``int(100 * alpha)`` (truncation); computed the same way, not typed in.
ALPHA_LABELS: tuple[int, ...] = tuple(int(100 * alpha) for alpha in F.ALPHAS)

#: Integer counts that TrackEval stores as floats (``np.sum`` over a float array), so ``7.0`` in the CSV.
_FLOAT_STORED_COUNTS = frozenset({"Frag"})

#: Columns of the compact console table: (family, field).
TABLE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("HOTA", "HOTA"),
    ("HOTA", "DetA"),
    ("HOTA", "AssA"),
    ("HOTA", "LocA"),
    ("CLEAR", "MOTA"),
    ("CLEAR", "MOTP"),
    ("Identity", "IDF1"),
    ("CLEAR", "IDSW"),
    ("CLEAR", "Frag"),
)

#: Console width the tables are laid out for.
TABLE_WIDTH = 110


# --------------------------------------------------------------------------------------------------
# Metric selection and summary numbers


def _family_of_names() -> dict[str, str]:
    """``{lower-cased name: family}`` for every family name and every field a family computes."""
    family_of: dict[str, str] = {}
    for family in F.METRIC_NAMES:
        fields = (
            *F.SUMMARY_FIELDS[family],
            *F.INTEGER_FIELDS[family],
            *_DETAILED_SCALARS[family],
            *_DETAILED_ARRAYS.get(family, ()),
        )
        family_of.update({name.lower(): family for name in (family, *fields)})
    return family_of


#: What `metric_family` understands; no field name occurs in two families (checked by the tests).
_FAMILY_OF_NAME: dict[str, str] = _family_of_names()
_FAMILY_NAMES = frozenset(name.lower() for name in F.METRIC_NAMES)
#: ``{lower-cased name: the name as TrackEval spells it}`` for the names of `_FAMILY_OF_NAME`.
_SPELLING: dict[str, str] = {
    name.lower(): name
    for family in F.METRIC_NAMES
    for name in (
        family,
        *F.SUMMARY_FIELDS[family],
        *F.INTEGER_FIELDS[family],
        *_DETAILED_SCALARS[family],
        *_DETAILED_ARRAYS.get(family, ()),
    )
}


def metric_family(name: str) -> str:
    """The metric family (HOTA, CLEAR, Identity or Count) that ``name`` means, in any case: a family name
    or one of its fields, as users type them (``IDF1`` -> Identity, ``mota`` -> CLEAR, ``DetA`` -> HOTA).

    TrackEval computes and reports whole families, so a field selects its family. Raises ``ValueError``
    for a name that is neither.
    """
    family = _FAMILY_OF_NAME.get(str(name).lower())
    if family is None:
        raise ValueError(
            f"unknown metric {name!r}; choose from HOTA, CLEAR, Identity (or a field of theirs, "
            "e.g. IDF1, MOTA, DetA, which selects its family)"
        )
    return family


def metric_name(name: str) -> str:
    """``name`` as TrackEval spells it (``clr_re`` -> ``CLR_Re``, ``identity`` -> ``Identity``); a
    ``ValueError`` as `metric_family`'s for a name that is no family or field."""
    metric_family(name)
    return _SPELLING[str(name).lower()]


def resolve_metrics(
    metrics: Iterable[str] | None, available: Iterable[str] = F.METRIC_NAMES
) -> tuple[str, ...]:
    """Canonical, TrackEval-ordered family names for ``metrics`` (``None``: the known ones in ``available``).

    Names are read by `metric_family` (any case; a field selects its family). ``Count`` is always
    included, as TrackEval always runs it. Unknown requested names raise ``ValueError``.
    """
    if metrics is None:  # the families among the keys of a result (not its fields)
        wanted = [name for name in available if name.lower() in _FAMILY_NAMES]
    else:
        wanted = [metrics] if isinstance(metrics, str) else list(metrics)
    chosen = {metric_family(name) for name in wanted} | {"Count"}
    return tuple(name for name in F.METRIC_NAMES if name in chosen)


def _family(result: Mapping, metric: str) -> Mapping:
    """The dict of one metric family inside a per-sequence result, with a clear error if missing."""
    try:
        return result[metric]
    except KeyError:
        raise KeyError(
            f"metric family {metric!r} was requested but is not in the results (present: {sorted(result)})"
        ) from None


def _is_integer(metric: str, field: str) -> bool:
    """Whether ``field`` of ``metric`` is an integer count (printed ``%d``)."""
    return field in F.INTEGER_FIELDS[metric]


def _summary_number(metric: str, field: str, value) -> float | int:
    """One raw summary number: arrays -> mean over alphas, counts -> int, the rest -> float."""
    if metric == "HOTA" and field in F.HOTA_ARRAY_FIELDS:
        # np.mean (pairwise summation) is what TrackEval uses; sum()/19 can differ in the last bit.
        return float(np.mean(np.asarray(value, dtype=np.float64)))
    if _is_integer(metric, field):
        return int(value)
    return float(value)


def summary_values(
    result_of_one_seq: Mapping, metrics: Sequence[str] | None = None
) -> dict[str, float | int]:
    """The flat summary fields of one sequence (or COMBINED) as raw numbers, not ×100.

    Keys are TrackEval's summary fields of each requested family in family order (HOTA, CLEAR,
    Identity, Count); HOTA's per-alpha fields are their mean over the 19 alphas.
    """
    values: dict[str, float | int] = {}
    for metric in resolve_metrics(metrics, result_of_one_seq):
        family = _family(result_of_one_seq, metric)
        for field in F.SUMMARY_FIELDS[metric]:
            values[field] = _summary_number(metric, field, family[field])
    return values


def display_value(value: float | int) -> str:
    """TrackEval's printed form: counts ``%d``, rates ×100 with 5 significant digits."""
    if isinstance(value, int):
        return f"{value:d}"
    return f"{100 * value:1.5g}"


# --------------------------------------------------------------------------------------------------
# TrackEval files


def _csv_text(rows: Iterable[Sequence[str]], delimiter: str = ",") -> str:
    """Rows of strings as TrackEval's `csv` writer emits them (``\\r\\n`` endings, minimal quoting)."""
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return buffer.getvalue()


def summary_text(combined: Mapping, metrics: Sequence[str] | None = None) -> str:
    """Exactly TrackEval's ``<cls>_summary.txt`` for the COMBINED result ``combined``."""
    values = summary_values(combined, metrics)
    fields = [field for field in SUMMARY_FILE_ORDER if field in values]
    # TrackEval appends fields missing from its default order at the end; ours never are, but keep it.
    fields += [field for field in values if field not in SUMMARY_FILE_ORDER]
    return _csv_text([fields, [display_value(values[field]) for field in fields]], delimiter=" ")


def _detailed_header(metrics: Sequence[str]) -> list[str]:
    """The detailed CSV's header: ``seq``, scalar fields, then ``<field>___<alpha>`` and ``___AUC``."""
    header = ["seq"]
    for metric in metrics:
        header += _DETAILED_SCALARS[metric]
        for field in _DETAILED_ARRAYS.get(metric, ()):
            header += [f"{field}___{label}" for label in ALPHA_LABELS] + [f"{field}___AUC"]
    return header


def _early_exit(metric: str, family: Mapping) -> bool:
    """Whether TrackEval left this per-sequence result at its early exit (no gt or no tracker dets).

    Derived from the family's own counts (TP+FP = tracker dets, TP+FN = gt dets), so it works for any
    subset of families.
    """
    if metric == "HOTA":
        tp, fn, fp = (float(np.asarray(family[name])[0]) for name in F.HOTA_INTEGER_ARRAY_FIELDS)
    elif metric == "CLEAR":
        tp, fn, fp = family["CLR_TP"], family["CLR_FN"], family["CLR_FP"]
    elif metric == "Identity":
        tp, fn, fp = family["IDTP"], family["IDFN"], family["IDFP"]
    else:
        return False
    return tp + fp == 0 or tp + fn == 0


def _int_zero_fields(metric: str, family: Mapping, *, combined: bool, all_early: bool) -> frozenset[str]:
    """Fields TrackEval holds as the *int* ``0`` it initialised them with: the CSV shows ``0``, not ``0.0``.

    * Per-sequence early exits return the ``res[field] = 0`` initialisers untouched (float fields too).
    * Combined rows recompute every ratio as numpy floats, but ``Frag`` is a plain sum: it stays int
      only if every sequence exited early.
    * ``MOTP_sum`` is only incremented on frames with matches, so it is int ``0`` whenever CLR_TP is 0.
    """
    zero_ints: set[str] = set()
    if combined:
        if metric == "CLEAR" and all_early:
            zero_ints.add("Frag")
    elif _early_exit(metric, family):
        zero_ints.update(_DETAILED_SCALARS[metric])
    if metric == "CLEAR" and family["CLR_TP"] == 0:
        zero_ints.add("MOTP_sum")
    return frozenset(zero_ints)


def _scalar_cell(metric: str, field: str, value, zero_ints: frozenset[str]) -> str:
    """One scalar as TrackEval's `csv` writes it: ``repr`` of floats, ``str`` of ints."""
    if field in zero_ints and value == 0:
        return "0"
    if _is_integer(metric, field) and field not in _FLOAT_STORED_COUNTS:
        return str(int(value))
    return repr(float(value))


def _array_cells(values) -> list[str]:
    """The 19 per-alpha values of one HOTA array field, then their mean (TrackEval's ``___AUC``)."""
    array = np.asarray(values, dtype=np.float64)
    return [repr(float(x)) for x in array] + [repr(float(np.mean(array)))]


def _detailed_row(result: Mapping, metrics: Sequence[str], *, combined: bool, all_early: bool) -> list[str]:
    """The cells (without the sequence label) of one detailed-CSV row."""
    cells: list[str] = []
    for metric in metrics:
        family = _family(result, metric)
        zero_ints = _int_zero_fields(metric, family, combined=combined, all_early=all_early)
        cells += [
            _scalar_cell(metric, field, family[field], zero_ints) for field in _DETAILED_SCALARS[metric]
        ]
        for field in _DETAILED_ARRAYS.get(metric, ()):
            cells += _array_cells(family[field])
    return cells


def _split_sequences(per_sequence: Mapping) -> tuple[list[str], Mapping]:
    """Sorted sequence names (TrackEval's row order) and the COMBINED result."""
    if F.COMBINED not in per_sequence:
        raise KeyError(f"results have no {F.COMBINED!r} entry (keys: {sorted(per_sequence)})")
    return sorted(name for name in per_sequence if name != F.COMBINED), per_sequence[F.COMBINED]


def detailed_csv_text(per_sequence: Mapping[str, Mapping], metrics: Sequence[str] | None = None) -> str:
    """Exactly TrackEval's ``<cls>_detailed.csv`` for one tracker's results (sequences + COMBINED)."""
    sequences, combined = _split_sequences(per_sequence)
    metrics = resolve_metrics(metrics, combined)
    # Only CLEAR's combined Frag depends on this; "all of no sequences" is True, as TrackEval's sum([]) = 0.
    all_early = "CLEAR" in metrics and all(
        _early_exit("CLEAR", per_sequence[seq]["CLEAR"]) for seq in sequences
    )
    rows = [_detailed_header(metrics)]
    for seq in sequences:
        rows.append([seq] + _detailed_row(per_sequence[seq], metrics, combined=False, all_early=False))
    rows.append([F.COMBINED] + _detailed_row(combined, metrics, combined=True, all_early=all_early))
    return _csv_text(rows)


def write_tracker_outputs(
    folder: str | os.PathLike,
    per_sequence: Mapping[str, Mapping],
    metrics: Sequence[str] | None = None,
    *,
    cls: str = "pedestrian",
) -> tuple[Path, Path]:
    """Writes ``<cls>_summary.txt`` and ``<cls>_detailed.csv`` into ``folder`` (created if needed), as a
    pair: both are written to temporary files before either replaces an older one, so a bad input or a
    full disk leaves the old pair (`discmot.io.atomic.atomic_write_texts`).

    Returns the two paths (summary, detailed).
    """
    folder = Path(folder)
    _, combined = _split_sequences(per_sequence)
    summary_path = folder / f"{cls}_summary.txt"
    detailed_path = folder / f"{cls}_detailed.csv"
    summary, detailed = summary_text(combined, metrics), detailed_csv_text(per_sequence, metrics)
    atomic_write_texts({summary_path: summary, detailed_path: detailed})
    return summary_path, detailed_path


# --------------------------------------------------------------------------------------------------
# Console tables


def _render(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Aligned text lines: title, header, rows, a rule before the last (COMBINED) row.

    The first column is left-aligned, the numbers right-aligned, two spaces between columns.
    """
    table = [list(header)] + [list(row) for row in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        numbers = [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        cells = [row[0].ljust(widths[0]), *numbers]
        return "  ".join(cells).rstrip()

    body = [line(row) for row in table[1:]]
    rule = "-" * len(line(table[0]))
    return [title, line(table[0])] + body[:-1] + [rule, body[-1]]


#: Fields outside the summaries that are no rate, printed as they are (not ×100): a mean count per frame,
#: a sum of IoUs, HOTA's per-alpha match counts (their mean over the alphas).
_RAW_NUMBER_FIELDS = frozenset({"FP_per_frame", "MOTP_sum", *F.HOTA_INTEGER_ARRAY_FIELDS})


def table_columns(metrics: Iterable[str] | None, families: Sequence[str]) -> list[tuple[str, str]]:
    """The compact table's (family, field) columns: for family names alone the default columns of those
    families (`TABLE_COLUMNS`); with field names (``--metrics CLR_Re DetA``) the fields named, in the
    order given, after the default columns of any family also named. ``families``: those computed."""
    names = [] if metrics is None else [metrics] if isinstance(metrics, str) else list(metrics)
    named_fields = [metric_name(name) for name in names if str(name).lower() not in _FAMILY_NAMES]
    named_families = {metric_family(name) for name in names if str(name).lower() in _FAMILY_NAMES}
    if not named_fields:
        return [(family, field) for family, field in TABLE_COLUMNS if family in families]
    columns = [(family, field) for family, field in TABLE_COLUMNS if family in named_families]
    columns += [(metric_family(field), field) for field in named_fields]
    return list(dict.fromkeys(columns))


def _cell(result: Mapping, family: str, field: str) -> str:
    """One field of one sequence's result as the compact table prints it: summary fields as TrackEval
    prints them (`display_value`), other rates ×100, counts and `_RAW_NUMBER_FIELDS` as they are."""
    if field in F.SUMMARY_FIELDS[family]:
        return display_value(_summary_number(family, field, _family(result, family)[field]))
    value = _family(result, family)[field]
    if family == "HOTA" and field in F.HOTA_ARRAY_FIELDS:
        value = float(np.mean(np.asarray(value, dtype=np.float64)))
    if _is_integer(family, field):
        return f"{int(value):d}"
    return f"{float(value):1.5g}" if field in _RAW_NUMBER_FIELDS else display_value(float(value))


def _table_rows(results: Mapping, metrics: Sequence[str]) -> list[tuple[str, dict[str, float | int]]]:
    """(label, summary values) for every sequence in sorted order, then COMBINED."""
    sequences, combined = _split_sequences(results)
    rows = [(seq, summary_values(results[seq], metrics)) for seq in sequences]
    return rows + [(F.COMBINED, summary_values(combined, metrics))]


def _chunks(fields: Sequence[str], rows, limit: int = TABLE_WIDTH) -> list[list[str]]:
    """Splits a family's fields into the fewest equal-sized groups whose table lines fit in ``limit``."""
    label = max(len(name) for name, _ in rows + [("Sequence", None)])
    widths = [
        2 + max(len(field), *(len(display_value(values[field])) for _, values in rows)) for field in fields
    ]
    for count in range(1, len(fields) + 1):
        size = -(-len(fields) // count)  # ceiling division: groups of (nearly) equal size read better
        starts = range(0, len(fields), size)
        if all(label + sum(widths[i : i + size]) <= limit for i in starts):
            break
    return [list(fields[i : i + size]) for i in starts]


def _full_tables(rows, metrics: Sequence[str], tracker_name: str) -> list[str]:
    """Every summary field, one block per family (TrackEval's layout), wrapped to the console width."""
    lines: list[str] = []
    for metric in metrics:
        for part, fields in enumerate(_chunks(F.SUMMARY_FIELDS[metric], rows)):
            title = f"{metric}: {tracker_name}" + (" (continued)" if part else "")
            body = [[label] + [display_value(values[f]) for f in fields] for label, values in rows]
            lines += [""] + _render(title, ["Sequence", *fields], body)
    return lines


def format_table(
    results_of_one_tracker: Mapping,
    metrics: Sequence[str] | None = None,
    tracker_name: str = "tracker",
    *,
    full: bool = False,
) -> str:
    """A readable console table of one tracker's results: sequences (sorted), then COMBINED.

    Compact form: HOTA DetA AssA LocA MOTA MOTP IDF1 (×100, 5 significant digits, as TrackEval prints)
    and the IDSW/Frag counts, restricted to the requested families; where ``metrics`` names fields
    (``["CLR_Re", "DetA"]``), those fields instead (`table_columns`). ``full=True`` prints every summary
    field, one block per family, like TrackEval's console output (wrapped at 110 characters).
    """
    sequences, combined = _split_sequences(results_of_one_tracker)
    families = resolve_metrics(metrics, combined)
    if full:
        rows = _table_rows(results_of_one_tracker, families)
        return "\n".join(_full_tables(rows, families, tracker_name)[1:]) + "\n"
    columns = table_columns(metrics, families)
    if not columns:  # only Count requested: show its fields instead of an empty table
        columns = [("Count", field) for field in F.COUNT_SUMMARY_FIELDS]
    labelled = [(seq, results_of_one_tracker[seq]) for seq in sequences] + [(F.COMBINED, combined)]
    body = [[label] + [_cell(result, *column) for column in columns] for label, result in labelled]
    header = ["Sequence", *(field for _, field in columns)]
    return "\n".join(_render(f"Tracker: {tracker_name}", header, body)) + "\n"


# --------------------------------------------------------------------------------------------------
# JSON


def write_json(path: str | os.PathLike, results: Mapping) -> Path:
    """Writes the whole result structure as JSON, atomically; arrays become lists.

    Floats are written with Python's shortest round-tripping repr, so `read_json` gives back the
    identical float64 values.
    """
    path = Path(path)
    atomic_write_text(path, json.dumps(F.to_json_ready(dict(results)), indent=1) + "\n")
    return path


def _restore_arrays(node):
    """Turns HOTA's per-alpha lists back into float64 arrays anywhere in a loaded result structure."""
    if not isinstance(node, dict):
        return node
    restored = {key: _restore_arrays(value) for key, value in node.items()}
    hota = restored.get("HOTA")
    if isinstance(hota, dict):
        for field in F.HOTA_ARRAY_FIELDS:
            if isinstance(hota.get(field), list):
                hota[field] = np.asarray(hota[field], dtype=np.float64)
    return restored


def read_json(path: str | os.PathLike) -> dict:
    """Reads a file written by `write_json` back into the result structure (HOTA arrays as numpy)."""
    with open(path, encoding="utf-8") as handle:
        return _restore_arrays(json.load(handle))
