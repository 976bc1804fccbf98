"""The comparator behind the parity tests catches what it must and tolerates only what it may.

A comparator that silently accepted everything would make every parity test vacuous, so its policy is
pinned here: integer fields exact, floats 1e-12 absolute, ``MOTP_sum`` 1e-12 relative, arrays element-wise,
missing fields/metrics/sequences reported by name.
"""

from __future__ import annotations

import numpy as np
import pytest
from result_compare import hota_summary_problems, results_problems, sequence_problems, value_problems


def test_integer_fields_are_exact():
    """A count one off is a problem; the same count as int vs float (TrackEval's Frag) is not."""
    assert value_problems("IDSW", 3, 3, "x") == []
    assert value_problems("Frag", 7, 7.0, "x") == []
    assert value_problems("IDSW", 4, 3, "x")
    assert value_problems("HOTA_TP", np.full(19, 5.0), np.full(19, 5.0) + 1e-13, "x")


@pytest.mark.parametrize(("delta", "ok"), [(0.0, True), (9e-13, True), (2e-12, False)])
def test_floats_within_absolute_1e12(delta, ok):
    """1e-12 absolute covers TrackEval's own cross-numpy drift (<= 3.3e-16) with room, nothing more."""
    assert (value_problems("MOTA", 0.5 + delta, 0.5, "x") == []) is ok


@pytest.mark.parametrize(("ours", "ok"), [(1e5 * (1 + 5e-13), True), (1e5 * (1 + 5e-12), False)])
def test_motp_sum_within_relative_1e12(ours, ok):
    """MOTP_sum grows with the data (~1e5), so its tolerance scales with it."""
    assert (value_problems("MOTP_sum", ours, 1e5, "x") == []) is ok


def test_arrays_elementwise_and_shapes():
    """One bad alpha is reported with its index; a wrong length is a problem, not a broadcast."""
    ref = np.linspace(0, 1, 19)
    ours = ref.copy()
    ours[7] += 1e-9
    (problem,) = value_problems("DetA", ours, ref.tolist(), "t/s.HOTA.DetA")
    assert "1 of 19" in problem and "[7]" in problem
    assert value_problems("DetA", ref[:18], ref, "x")
    assert value_problems("DetA", float(ref.mean()), ref, "x")


def test_nan_only_equals_nan():
    """NaN in both is agreement; NaN on one side is not."""
    assert value_problems("MOTA", float("nan"), float("nan"), "x") == []
    assert value_problems("MOTA", float("nan"), 0.0, "x")


def test_missing_fields_metrics_and_sequences_are_named():
    """Every absence is reported with its location, so a missing field is never silently skipped."""
    ref = {
        "trk": {
            "s1": {"CLEAR": {"IDSW": 1, "MOTA": 0.5}, "Count": {"Dets": 3}},
            "COMBINED": {"Count": {"Dets": 3}},
        }
    }
    ours = {"trk": {"s1": {"CLEAR": {"MOTA": 0.5}}}}
    problems = results_problems(ours, ref, ("CLEAR", "Count"))
    text = "\n".join(problems)
    assert "trk/s1.CLEAR.IDSW: missing in ours" in text
    assert "trk/s1.Count: metric missing in ours" in text
    assert "sequences differ" in text
    assert (
        sequence_problems({"CLEAR": {"IDSW": 1, "MOTA": 0.5, "extra": 9}}, ref["trk"]["s1"], "w", ("CLEAR",))
        == []
    )


def test_hota_summary_is_mean_over_alphas():
    """Array fields compare by their mean over alphas; HOTA(0)-style float fields by value."""
    hota = {"DetA": np.arange(19) / 18.0, "HOTA(0)": 0.25}
    assert hota_summary_problems(hota, {"DetA": 0.5, "HOTA(0)": 0.25}, "x") == []
    assert hota_summary_problems(hota, {"DetA": 0.5 + 1e-9}, "x")
    assert hota_summary_problems(hota, {"AssA": 0.5}, "x") == ["x.AssA: missing in ours"]
