"""Console tables of one tracker's results: the compact table and TrackEval's full per-family blocks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from discmot.eval import fields as F
from discmot.eval.summary import (
    FAMILY_NAMES,
    display_value,
    family_results,
    is_integer,
    metric_family,
    metric_name,
    resolve_metrics,
    split_sequences,
    summary_number,
    summary_values,
)

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
    named_fields = [metric_name(name) for name in names if str(name).lower() not in FAMILY_NAMES]
    named_families = {metric_family(name) for name in names if str(name).lower() in FAMILY_NAMES}
    if not named_fields:
        return [(family, field) for family, field in TABLE_COLUMNS if family in families]
    columns = [(family, field) for family, field in TABLE_COLUMNS if family in named_families]
    columns += [(metric_family(field), field) for field in named_fields]
    return list(dict.fromkeys(columns))


def _cell(result: Mapping, family: str, field: str) -> str:
    """One field of one sequence's result as the compact table prints it: summary fields as TrackEval
    prints them (`display_value`), other rates ×100, counts and `_RAW_NUMBER_FIELDS` as they are."""
    if field in F.SUMMARY_FIELDS[family]:
        return display_value(summary_number(family, field, family_results(result, family)[field]))
    value = family_results(result, family)[field]
    if family == "HOTA" and field in F.HOTA_ARRAY_FIELDS:
        value = float(np.mean(np.asarray(value, dtype=np.float64)))
    if is_integer(family, field):
        return f"{int(value):d}"
    return f"{float(value):1.5g}" if field in _RAW_NUMBER_FIELDS else display_value(float(value))


def _table_rows(results: Mapping, metrics: Sequence[str]) -> list[tuple[str, dict[str, float | int]]]:
    """(label, summary values) for every sequence in sorted order, then COMBINED."""
    sequences, combined = split_sequences(results)
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
    sequences, combined = split_sequences(results_of_one_tracker)
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
