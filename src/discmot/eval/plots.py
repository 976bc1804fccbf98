"""Pictures of evaluation results (``discmot eval --plot``), as TrackEval draws them with PLOT_CURVES, but as
PNG files drawn by `discmot.viz.plots` (OpenCV + numpy; matplotlib is not a dependency):

* ``<cls>_plot.png`` per tracker, beside its summary: HOTA's per-alpha curves (HOTA, DetA, AssA, DetRe,
  DetPr, AssRe, AssPr, LocA, and OWTA when computed) of the COMBINED sequences against the localisation
  threshold alpha (0.05 ... 0.95), each curve's mean in the legend. TrackEval's
  ``HOTA.plot_single_tracker_results`` draws the same curves (it writes a PDF too; its legend gives the
  means as fractions rounded to 2 decimals, and it leaves OWTA out of the lines).
* ``comparison_deta_assa.png`` for two or more trackers: each tracker a numbered point at (DetA, AssA),
  over grey iso-lines HOTA = sqrt(DetA * AssA) = 10, 20, ... 90, as TrackEval's comparison plot
  (``plotting.create_comparison_plot`` with its ``geometric_mean`` background).

Scores are drawn in percent, as the summaries print them. This module imports no OpenCV itself; the
drawing functions do, when called.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection, Mapping, Sequence
from functools import partial
from pathlib import Path

import numpy as np

from discmot.eval.fields import ALPHAS, COMBINED
from discmot.io.atomic import atomic_write_bytes

log = logging.getLogger("discmot")

#: HOTA's per-alpha curves in legend order with their BGR colours: TrackEval's colour families (HOTA red,
#: detection blue, association green, LocA magenta), told apart here by shade, not by dashes; OWTA, which
#: TrackEval leaves undrawn, orange.
CURVES: tuple[tuple[str, tuple[int, int, int]], ...] = (
    ("HOTA", (40, 39, 214)),
    ("DetA", (180, 119, 31)),
    ("AssA", (44, 160, 44)),
    ("DetRe", (235, 175, 110)),
    ("DetPr", (110, 50, 0)),
    ("AssRe", (120, 215, 120)),
    ("AssPr", (20, 85, 20)),
    ("LocA", (200, 50, 200)),
    ("OWTA", (14, 127, 255)),
)
#: ``(height, width)`` in pixels of the per-tracker figure and of the comparison.
PLOT_SIZE = (420, 720)
COMPARISON_SIZE = (560, 720)
COMPARISON_FILE = "comparison_deta_assa.png"
#: HOTA values of the comparison's iso-lines (percent).
ISO_HOTA = tuple(range(10, 100, 10))


def plot_file_name(cls: str = "pedestrian") -> str:
    """The per-tracker figure's file name, beside ``<cls>_summary.txt``."""
    return f"{cls}_plot.png"


def require_hota(metric_names: Sequence[str]) -> None:
    """Raises ``ValueError`` unless HOTA is among ``metric_names``: both figures draw its numbers."""
    if "HOTA" not in metric_names:
        chosen = ", ".join(name for name in metric_names if name != "Count") or "none"
        raise ValueError(
            f"plotting draws HOTA's curves, but the metrics are {chosen}: add HOTA to --metrics "
            "(metrics= in Python) or leave --plot (plot=True) out"
        )


def _mean_percent(values) -> float:
    """The summary's number: np.mean over the 19 alphas (as TrackEval), in percent."""
    return 100 * float(np.mean(np.asarray(values, np.float64)))


def curve_labels(hota: Mapping) -> dict[str, str]:
    """``{field: legend label}`` of the curves present in one HOTA result, e.g. ``"HOTA 45.23"``."""
    return {name: f"{name} {_mean_percent(hota[name]):.2f}" for name, _ in CURVES if name in hota}


def tracker_figure(per_sequence: Mapping, tracker: str, context: str = "") -> np.ndarray:
    """``(PLOT_SIZE..., 3)`` BGR figure of one tracker's COMBINED HOTA curves against alpha.

    ``per_sequence``: ``{sequence or "COMBINED": {"HOTA": {...}, ...}}``; ``context``: the benchmark and
    split, for the title.
    """
    from discmot.viz.plots import line_plot

    hota = per_sequence[COMBINED]["HOTA"]
    labels = curve_labels(hota)
    series = {labels[name]: (ALPHAS, 100 * np.asarray(hota[name], np.float64)) for name in labels}
    count = sum(1 for name in per_sequence if name != COMBINED)
    return line_plot(
        series,
        f"{tracker} - {context}" if context else tracker,
        "alpha (localisation threshold)",
        "score (%)",
        ylim=(0.0, 100.0),
        size=PLOT_SIZE,
        subtitle=f"HOTA and its parts per alpha, {count} sequence{'s' * (count != 1)} combined; "
        "legend: mean over alpha",
        colors=[colour for name, colour in CURVES if name in hota],
        first_on_top=True,  # HOTA over the parts it often meets (OWTA, DetA or AssA when one is 1)
    )


#: How far (percent) the comparison's axes reach past 0 or 100 when a point lies that close to either,
#: so that it is drawn whole.
EDGE = 3.0


def _limits(values: np.ndarray) -> tuple[float, float]:
    """Axis limits in percent: the values with a margin, on multiples of 10, at least 20 apart, within
    0..100 but for `EDGE` past an end a value is near (close trackers are told apart better than on
    the whole 0..100)."""
    low = max(0.0, np.floor((values.min() - 5) / 10) * 10)
    high = min(100.0, np.ceil((values.max() + 5) / 10) * 10)
    if high - low < 20:
        low, high = (low, low + 20) if low + 20 <= 100 else (high - 20, high)
    low -= EDGE * (values.min() < low + EDGE)  # only at 0: elsewhere the margin of 5 is left
    high += EDGE * (values.max() > high - EDGE)
    return float(low), float(high)


def iso_lines(xlim: tuple[float, float], ylim: tuple[float, float], samples: int = 200) -> list:
    """``(label, DetA [n], AssA [n])`` of the curves HOTA = sqrt(DetA * AssA) = 10, 20, ... 90 (percent)
    inside the limits, those that cross them."""
    lines = []
    for level in ISO_HOTA:
        square = float(level) ** 2
        start = max(xlim[0], square / ylim[1]) if ylim[1] > 0 else xlim[1]
        stop = min(xlim[1], square / ylim[0]) if ylim[0] > 0 else xlim[1]
        if start < stop:
            deta = np.geomspace(start, stop, samples)  # even along the hyperbola's bend
            lines.append((f"HOTA {level}", deta, square / deta))
    return lines


def comparison_figure(results: Mapping, context: str = "") -> np.ndarray:
    """``(COMPARISON_SIZE..., 3)`` BGR figure: every tracker's COMBINED (DetA, AssA) in percent, numbered
    by HOTA (best first), over HOTA iso-lines."""
    from discmot.viz.plots import point_chart

    means = {
        tracker: tuple(_mean_percent(per_sequence[COMBINED]["HOTA"][f]) for f in ("HOTA", "DetA", "AssA"))
        for tracker, per_sequence in results.items()
    }
    ranked = sorted(means, key=lambda tracker: -means[tracker][0])  # stable: ties keep the given order
    points = {f"{name} (HOTA {means[name][0]:.2f})": (means[name][1], means[name][2]) for name in ranked}
    coordinates = np.array(list(points.values()), np.float64)
    xlim, ylim = _limits(coordinates[:, 0]), _limits(coordinates[:, 1])
    return point_chart(
        points,
        f"DetA against AssA - {context}" if context else "DetA against AssA",
        "DetA (%)",
        "AssA (%)",
        xlim,
        ylim,
        iso_lines(xlim, ylim),
        size=COMPARISON_SIZE,
        subtitle="COMBINED scores; grey: HOTA = sqrt(DetA * AssA)",
    )


def _write_png(path: Path, image: np.ndarray) -> Path:
    from discmot.viz.plots import encode_png

    atomic_write_bytes(path, encode_png(image))
    return path


def write_plots(
    results: Mapping,
    folders: Mapping[str, Path],
    context: str = "",
    *,
    asked_where: bool = True,
    cls: str = "pedestrian",
    skip: Collection[Path] = (),
) -> list[Path]:
    """Writes each tracker's figure into its folder of ``folders`` and, for two or more trackers, the
    comparison into their common parent folder (the output folder, or the folder of tracker folders);
    each file atomically. Returns the paths written.

    A folder that cannot be written is an error when ``asked_where`` (the user named the output folder),
    else a warning (results in a read-only place keep their scores; the user can give an output folder).
    Nothing is written into a folder of ``skip`` (read-only ones the caller has warned about).
    """
    written = []
    for tracker, per_sequence in results.items():
        path = Path(folders[tracker]) / plot_file_name(cls)
        if path.parent in skip:
            continue
        if _written(path, partial(tracker_figure, per_sequence, tracker, context), asked_where):
            log.info("%s: wrote %s", tracker, path)
            written.append(path)
    parent = comparison_folder([folders[tracker] for tracker in results]) if len(results) >= 2 else None
    if parent is not None and parent not in skip:
        path = parent / COMPARISON_FILE
        if _written(path, partial(comparison_figure, results, context), asked_where):
            log.info("wrote %s", path)
            written.append(path)
    return written


def comparison_folder(tracker_folders: Sequence[str | os.PathLike]) -> Path:
    """Where the comparison of several trackers goes: the folder their folders have in common."""
    return Path(os.path.commonpath([str(Path(folder)) for folder in tracker_folders]))


def _written(path: Path, draw, asked_where: bool) -> bool:
    """Draws and writes one figure; an `OSError` is raised when ``asked_where``, else warned about."""
    try:
        _write_png(path, draw())
    except OSError as error:
        if asked_where:
            raise
        log.warning("could not write %s (%s); use --output-folder", path, error.strerror)
        return False
    return True
