"""Evaluation results on disk: TrackEval's summary/detailed files and JSON; and the one name for all of
the results' presentation, re-exporting metric selection and summary numbers (`discmot.eval.summary`)
and the console tables (`discmot.eval.tables`), which callers reach as ``report.<name>``.

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
from discmot.eval.summary import (
    DETAILED_ARRAYS,
    DETAILED_SCALARS,
    display_value,
    family_results,
    is_integer,
    metric_family,
    metric_name,
    resolve_metrics,
    split_sequences,
    summary_values,
)
from discmot.eval.tables import TABLE_COLUMNS, TABLE_WIDTH, format_table, table_columns
from discmot.io.atomic import atomic_write_text, atomic_write_texts

__all__ = [
    "TABLE_COLUMNS",
    "TABLE_WIDTH",
    "detailed_csv_text",
    "display_value",
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

#: TrackEval labels alpha columns ``int(100 * alpha)`` (truncation); computed the same way, not typed in.
ALPHA_LABELS: tuple[int, ...] = tuple(int(100 * alpha) for alpha in F.ALPHAS)

#: Integer counts that TrackEval stores as floats (``np.sum`` over a float array), so ``7.0`` in the CSV.
_FLOAT_STORED_COUNTS = frozenset({"Frag"})


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
        header += DETAILED_SCALARS[metric]
        for field in DETAILED_ARRAYS.get(metric, ()):
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
        zero_ints.update(DETAILED_SCALARS[metric])
    if metric == "CLEAR" and family["CLR_TP"] == 0:
        zero_ints.add("MOTP_sum")
    return frozenset(zero_ints)


def _scalar_cell(metric: str, field: str, value, zero_ints: frozenset[str]) -> str:
    """One scalar as TrackEval's `csv` writes it: ``repr`` of floats, ``str`` of ints."""
    if field in zero_ints and value == 0:
        return "0"
    if is_integer(metric, field) and field not in _FLOAT_STORED_COUNTS:
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
        family = family_results(result, metric)
        zero_ints = _int_zero_fields(metric, family, combined=combined, all_early=all_early)
        cells += [_scalar_cell(metric, field, family[field], zero_ints) for field in DETAILED_SCALARS[metric]]
        for field in DETAILED_ARRAYS.get(metric, ()):
            cells += _array_cells(family[field])
    return cells


def detailed_csv_text(per_sequence: Mapping[str, Mapping], metrics: Sequence[str] | None = None) -> str:
    """Exactly TrackEval's ``<cls>_detailed.csv`` for one tracker's results (sequences + COMBINED)."""
    sequences, combined = split_sequences(per_sequence)
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
    _, combined = split_sequences(per_sequence)
    summary_path = folder / f"{cls}_summary.txt"
    detailed_path = folder / f"{cls}_detailed.csv"
    summary, detailed = summary_text(combined, metrics), detailed_csv_text(per_sequence, metrics)
    atomic_write_texts({summary_path: summary, detailed_path: detailed})
    return summary_path, detailed_path


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
