"""Metric selection and summary numbers: what a metric name means, and one result's summary values.

A name is read as TrackEval spells its families and fields, in any case (a field selects its family);
``Count`` is always added, because TrackEval always runs it. The summary values are the raw numbers
behind TrackEval's summary file and console tables (`discmot.eval.report`, `discmot.eval.tables`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from discmot.eval import fields as F

# The detailed CSV's columns (`discmot.eval.report`) live here because they are also names that
# `metric_family` reads: every field a family computes.

#: Detailed-CSV scalar columns per family: TrackEval's ``float_fields + integer_fields``.
DETAILED_SCALARS: dict[str, tuple[str, ...]] = {
    "HOTA": F.HOTA_FLOAT_FIELDS,
    "CLEAR": F.CLEAR_FLOAT_FIELDS + F.CLEAR_ALL_INTEGER_FIELDS,
    "Identity": F.IDENTITY_FLOAT_FIELDS + F.IDENTITY_INTEGER_FIELDS,
    "Count": F.COUNT_INTEGER_FIELDS,  # "Frames" is not a Count field in TrackEval, so it is not written
}

#: Detailed-CSV per-alpha columns: TrackEval's ``float_array_fields + integer_array_fields``.
DETAILED_ARRAYS: dict[str, tuple[str, ...]] = {"HOTA": F.HOTA_ARRAY_FIELDS}


def _family_of_names() -> dict[str, str]:
    """``{lower-cased name: family}`` for every family name and every field a family computes."""
    family_of: dict[str, str] = {}
    for family in F.METRIC_NAMES:
        fields = (
            *F.SUMMARY_FIELDS[family],
            *F.INTEGER_FIELDS[family],
            *DETAILED_SCALARS[family],
            *DETAILED_ARRAYS.get(family, ()),
        )
        family_of.update({name.lower(): family for name in (family, *fields)})
    return family_of


#: What `metric_family` understands; no field name occurs in two families (checked by the tests).
_FAMILY_OF_NAME: dict[str, str] = _family_of_names()
FAMILY_NAMES = frozenset(name.lower() for name in F.METRIC_NAMES)
#: ``{lower-cased name: the name as TrackEval spells it}`` for the names of `_FAMILY_OF_NAME`.
_SPELLING: dict[str, str] = {
    name.lower(): name
    for family in F.METRIC_NAMES
    for name in (
        family,
        *F.SUMMARY_FIELDS[family],
        *F.INTEGER_FIELDS[family],
        *DETAILED_SCALARS[family],
        *DETAILED_ARRAYS.get(family, ()),
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
        wanted = [name for name in available if name.lower() in FAMILY_NAMES]
    else:
        wanted = [metrics] if isinstance(metrics, str) else list(metrics)
    chosen = {metric_family(name) for name in wanted} | {"Count"}
    return tuple(name for name in F.METRIC_NAMES if name in chosen)


def family_results(result: Mapping, metric: str) -> Mapping:
    """The dict of one metric family inside a per-sequence result, with a clear error if missing."""
    try:
        return result[metric]
    except KeyError:
        raise KeyError(
            f"metric family {metric!r} was requested but is not in the results (present: {sorted(result)})"
        ) from None


def is_integer(metric: str, field: str) -> bool:
    """Whether ``field`` of ``metric`` is an integer count (printed ``%d``)."""
    return field in F.INTEGER_FIELDS[metric]


def summary_number(metric: str, field: str, value) -> float | int:
    """One raw summary number: arrays -> mean over alphas, counts -> int, the rest -> float."""
    if metric == "HOTA" and field in F.HOTA_ARRAY_FIELDS:
        # np.mean (pairwise summation) is what TrackEval uses; sum()/19 can differ in the last bit.
        return float(np.mean(np.asarray(value, dtype=np.float64)))
    if is_integer(metric, field):
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
        family = family_results(result_of_one_seq, metric)
        for field in F.SUMMARY_FIELDS[metric]:
            values[field] = summary_number(metric, field, family[field])
    return values


def display_value(value: float | int) -> str:
    """TrackEval's printed form: counts ``%d``, rates ×100 with 5 significant digits."""
    if isinstance(value, int):
        return f"{value:d}"
    return f"{100 * value:1.5g}"


def split_sequences(per_sequence: Mapping) -> tuple[list[str], Mapping]:
    """Sorted sequence names (TrackEval's row order) and the COMBINED result."""
    if F.COMBINED not in per_sequence:
        raise KeyError(f"results have no {F.COMBINED!r} entry (keys: {sorted(per_sequence)})")
    return sorted(name for name in per_sequence if name != F.COMBINED), per_sequence[F.COMBINED]
