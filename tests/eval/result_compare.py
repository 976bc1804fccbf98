"""Field-by-field comparison of two result structures ``{tracker: {seq: {metric: {field: value}}}}``.

The tolerance policy is the project's TrackEval-parity contract (spec/eval.md §0): every integer field
(counts, including the integer-valued float arrays HOTA_TP/FN/FP and TrackEval's float ``Frag``) must be
equal; every other float within 1e-12 absolute, except the unbounded accumulator ``MOTP_sum`` (a sum of
IoUs, ~1e5 on MOT17) which gets 1e-12 relative. Arrays are compared element-wise. NaN equals NaN.

Functions return a list of human-readable problems instead of asserting, so one test can report every
discrepancy at once.
"""

from __future__ import annotations

import numpy as np

ABS_TOL = 1e-12
REL_TOL = 1e-12

INTEGER_FIELDS = frozenset(
    {
        "HOTA_TP", "HOTA_FN", "HOTA_FP",
        "CLR_TP", "CLR_FN", "CLR_FP", "IDSW", "MT", "PT", "ML", "Frag", "CLR_Frames",
        "IDTP", "IDFN", "IDFP",
        "Dets", "GT_Dets", "IDs", "GT_IDs", "Frames",
    }
)  # fmt: skip
RELATIVE_TOLERANCE_FIELDS = frozenset({"MOTP_sum"})
HOTA_ARRAY_FIELDS = (
    "HOTA", "DetA", "AssA", "DetRe", "DetPr", "AssRe", "AssPr", "LocA", "OWTA",
    "HOTA_TP", "HOTA_FN", "HOTA_FP",
)  # fmt: skip
NUM_ALPHAS = 19
MAX_REPORTED = 60


def value_problems(field: str, ours, ref, where: str) -> list[str]:
    """Problems between one field's values (scalar or per-alpha array) under the tolerance policy."""
    try:
        ours_arr = np.asarray(ours, dtype=float)
    except (TypeError, ValueError):
        return [f"{where}: not numeric in ours: {ours!r}"]
    ref_arr = np.asarray(ref, dtype=float)
    if ours_arr.shape != ref_arr.shape:
        return [f"{where}: shape {ours_arr.shape} in ours, {ref_arr.shape} in reference"]
    diff = np.abs(ours_arr - ref_arr)
    if field in INTEGER_FIELDS:
        close = ours_arr == ref_arr
    elif field in RELATIVE_TOLERANCE_FIELDS:
        close = diff <= REL_TOL * np.abs(ref_arr)
    else:
        close = diff <= ABS_TOL
    close |= np.isnan(ours_arr) & np.isnan(ref_arr)
    if close.all():
        return []
    if ref_arr.ndim == 0:
        return [
            f"{where}: ours {ours_arr.item()!r} != reference {ref_arr.item()!r} (|diff| {diff.item():.3g})"
        ]
    bad = np.flatnonzero(~close)
    detail = ", ".join(f"[{i}] ours {ours_arr[i]!r} ref {ref_arr[i]!r}" for i in bad[:4])
    return [f"{where}: {bad.size} of {ref_arr.size} entries differ: {detail}"]


def metric_problems(ours: dict, ref: dict, where: str) -> list[str]:
    """Every field of the reference metric dict must exist in ours and agree."""
    problems = []
    for field, ref_value in ref.items():
        if field not in ours:
            problems.append(f"{where}.{field}: missing in ours (ours has {sorted(ours)})")
        else:
            problems += value_problems(field, ours[field], ref_value, f"{where}.{field}")
    return problems


def sequence_problems(ours: dict, ref: dict, where: str, metrics=None) -> list[str]:
    """Compares ``{metric: {field: value}}`` for one sequence (or COMBINED) for the given/all metrics."""
    problems = []
    for metric in metrics or ref:
        if metric not in ours:
            problems.append(f"{where}.{metric}: metric missing in ours (ours has {sorted(ours)})")
        else:
            problems += metric_problems(ours[metric], ref[metric], f"{where}.{metric}")
    return problems


def results_problems(ours: dict, ref: dict, metrics=("HOTA", "CLEAR", "Identity", "Count")) -> list[str]:
    """Compares whole result structures: same trackers, same sequences (+COMBINED), every field."""
    problems = []
    if set(ours) != set(ref):
        problems.append(f"trackers differ: ours {sorted(ours)}, reference {sorted(ref)}")
    for tracker in sorted(set(ours) & set(ref)):
        if set(ours[tracker]) != set(ref[tracker]):
            problems.append(
                f"{tracker}: sequences differ: ours {sorted(ours[tracker])}, ref {sorted(ref[tracker])}"
            )
        for seq in sorted(set(ours[tracker]) & set(ref[tracker])):
            problems += sequence_problems(ours[tracker][seq], ref[tracker][seq], f"{tracker}/{seq}", metrics)
    return problems


def hota_summary_problems(ours_hota: dict, ref_summary: dict, where: str) -> list[str]:
    """TrackEval's summary values: array fields are the mean over alphas, float fields are themselves."""
    problems = []
    for field, ref_value in ref_summary.items():
        if field not in ours_hota:
            problems.append(f"{where}.{field}: missing in ours")
            continue
        value = ours_hota[field]
        ours_value = float(np.mean(value)) if field in HOTA_ARRAY_FIELDS else value
        problems += value_problems(field, ours_value, ref_value, f"{where}.{field} (summary)")
    return problems


def hota_array_shape_problems(ours_hota: dict, where: str) -> list[str]:
    """The API contract: each HOTA array field is a numpy array of one float per alpha (19)."""
    problems = []
    for field in HOTA_ARRAY_FIELDS:
        value = ours_hota.get(field)
        if not isinstance(value, np.ndarray) or value.shape != (NUM_ALPHAS,):
            shape = getattr(value, "shape", None)
            problems.append(
                f"{where}.{field}: expected numpy array of shape (19,), got {type(value)} {shape}"
            )
    return problems


def format_problems(problems: list[str]) -> str:
    """One line per problem, capped so a systematic bug still yields a readable failure message."""
    shown = problems[:MAX_REPORTED]
    more = len(problems) - len(shown)
    tail = [f"... and {more} more"] if more else []
    return f"{len(problems)} discrepancies:\n" + "\n".join(shown + tail)
