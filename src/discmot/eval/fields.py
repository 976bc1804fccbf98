"""Names, kinds and orders of every metric field, exactly as TrackEval names them.

One place for the vocabulary shared by the metrics (which fill these fields), the report writers (which
order columns by them) and the tests (which compare them with TrackEval's own output).

Result structure used throughout `discmot.eval`::

    {tracker: {sequence_or_"COMBINED": {"HOTA": {...}, "CLEAR": {...}, "Identity": {...}, "Count": {...}}}}

Inside a metric's dict: integer fields are Python ``int``; float fields Python ``float``; HOTA's array
fields are float64 ``numpy`` arrays of length 19 (one value per alpha in `ALPHAS`). `to_json_ready`
turns arrays into lists for JSON.
"""

from __future__ import annotations

import numpy as np

#: TrackEval's alpha grid, built the same way (``np.arange``) so every float is bit-identical.
ALPHAS: np.ndarray = np.arange(0.05, 0.99, 0.05)

#: Machine epsilon of float64, used by TrackEval in every threshold comparison.
EPS: float = float(np.finfo(float).eps)

HOTA_INTEGER_ARRAY_FIELDS = ("HOTA_TP", "HOTA_FN", "HOTA_FP")
HOTA_FLOAT_ARRAY_FIELDS = ("HOTA", "DetA", "AssA", "DetRe", "DetPr", "AssRe", "AssPr", "LocA", "OWTA")
HOTA_FLOAT_FIELDS = ("HOTA(0)", "LocA(0)", "HOTALocA(0)")
HOTA_ARRAY_FIELDS = HOTA_FLOAT_ARRAY_FIELDS + HOTA_INTEGER_ARRAY_FIELDS
#: Summary columns of HOTA: array fields are reported as their mean over alphas.
HOTA_SUMMARY_FIELDS = HOTA_FLOAT_ARRAY_FIELDS + HOTA_FLOAT_FIELDS

CLEAR_MAIN_FLOAT_FIELDS = ("MOTA", "MOTP", "MODA", "CLR_Re", "CLR_Pr", "MTR", "PTR", "MLR", "sMOTA")
CLEAR_EXTRA_FLOAT_FIELDS = ("CLR_F1", "FP_per_frame", "MOTAL", "MOTP_sum")
CLEAR_INTEGER_FIELDS = ("CLR_TP", "CLR_FN", "CLR_FP", "IDSW", "MT", "PT", "ML", "Frag")
CLEAR_EXTRA_INTEGER_FIELDS = ("CLR_Frames",)
CLEAR_FLOAT_FIELDS = CLEAR_MAIN_FLOAT_FIELDS + CLEAR_EXTRA_FLOAT_FIELDS
CLEAR_ALL_INTEGER_FIELDS = CLEAR_INTEGER_FIELDS + CLEAR_EXTRA_INTEGER_FIELDS
CLEAR_SUMMARY_FIELDS = CLEAR_MAIN_FLOAT_FIELDS + CLEAR_INTEGER_FIELDS

IDENTITY_FLOAT_FIELDS = ("IDF1", "IDR", "IDP")
IDENTITY_INTEGER_FIELDS = ("IDTP", "IDFN", "IDFP")
IDENTITY_SUMMARY_FIELDS = IDENTITY_FLOAT_FIELDS + IDENTITY_INTEGER_FIELDS

COUNT_INTEGER_FIELDS = ("Dets", "GT_Dets", "IDs", "GT_IDs")
COUNT_EXTRA_INTEGER_FIELDS = ("Frames",)
COUNT_SUMMARY_FIELDS = COUNT_INTEGER_FIELDS

#: Metric families in TrackEval's evaluation order; Count always runs last.
METRIC_NAMES = ("HOTA", "CLEAR", "Identity", "Count")

SUMMARY_FIELDS = {
    "HOTA": HOTA_SUMMARY_FIELDS,
    "CLEAR": CLEAR_SUMMARY_FIELDS,
    "Identity": IDENTITY_SUMMARY_FIELDS,
    "Count": COUNT_SUMMARY_FIELDS,
}

INTEGER_FIELDS = {
    "HOTA": (),
    "CLEAR": CLEAR_ALL_INTEGER_FIELDS,
    "Identity": IDENTITY_INTEGER_FIELDS,
    "Count": COUNT_INTEGER_FIELDS + COUNT_EXTRA_INTEGER_FIELDS,
}

COMBINED = "COMBINED"


def to_json_ready(results: dict) -> dict:
    """Deep-copies a result structure, turning numpy arrays into lists and numpy scalars into Python."""
    if isinstance(results, dict):
        return {key: to_json_ready(value) for key, value in results.items()}
    if isinstance(results, np.ndarray):
        return results.tolist()
    if isinstance(results, np.generic):
        return results.item()
    return results
