"""Small charts drawn with OpenCV and numpy only: histograms, line plots, heatmaps, scatter plots, points.

matplotlib is not a dependency of discmot, so the embedding report's figures are drawn here directly:
white background, black axes with ticks and labels, a title (and an optional subtitle line), and a legend
or colour bar. Every function returns a ``(H, W, 3)`` uint8 BGR image; `encode_png` turns it into PNG
bytes. OpenCV is imported inside the functions.

This module holds the histograms, line plots, scatter plots and point charts; the heatmap is
`discmot.viz.heatmap`'s and the canvas, axes, text and legends they share `discmot.viz.chart_canvas`'s.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from discmot.viz.chart_canvas import (
    GREY,
    RED,
    SERIES_COLORS,
    SUBTITLE_SPACE,
    Axes,
    draw_axes,
    draw_text,
    encode_png,
    figure,
    legend,
    legend_overflow,
    legend_width,
    nice_ticks,
    plot_axes,
)
from discmot.viz.draw import id_color
from discmot.viz.heatmap import colormap, heatmap

# the charts' callers import them all from here, the heatmap and PNG encoding included
__all__ = [
    "ID_PALETTE",
    "RED",
    "SERIES_COLORS",
    "colormap",
    "encode_png",
    "heatmap",
    "histogram",
    "id_colors",
    "line_plot",
    "point_chart",
    "scatter",
]

#: Colours of identities in scatter plots (BGR), one per id for up to 20 ids in a plot. The first ten are
#: matplotlib's tab10; the other ten were picked to keep every pair at least 27 CIELAB units apart (tab20's
#: light partners of tab10 come within 17 of each other) and none pale against the white background.
#: (`discmot.viz.draw.id_color`, made for video overlays, picks vivid colours, some pale on white.)
ID_PALETTE = (
    (180, 119, 31),
    (14, 127, 255),
    (44, 160, 44),
    (40, 39, 214),
    (189, 103, 148),
    (75, 86, 140),
    (194, 119, 227),
    (127, 127, 127),
    (34, 189, 188),
    (207, 190, 23),
    (230, 50, 240),
    (120, 187, 255),
    (57, 121, 99),
    (212, 190, 250),
    (138, 223, 152),
    (38, 61, 43),
    (232, 199, 174),
    (180, 30, 145),
    (121, 59, 57),
    (108, 68, 179),
)


def histogram(
    counts: dict[str, np.ndarray],
    edges: np.ndarray,
    title: str,
    xlabel: str = "cosine similarity",
    threshold: float | None = None,
    size: tuple[int, int] = (380, 640),
) -> np.ndarray:
    """Histograms (one series per entry of ``counts``, each normalised to fractions of its total) as
    side-by-side bars over the bins ``edges [bins + 1]``; a dashed red line marks ``threshold``."""
    import cv2

    fractions = {name: c / max(int(c.sum()), 1) for name, c in counts.items()}
    top = max((float(f.max()) for f in fractions.values() if len(f)), default=1.0) or 1.0
    image = figure(size, title)
    axes = plot_axes(image, (float(edges[0]), float(edges[-1])), (0.0, top * 1.08))
    draw_axes(
        image,
        axes,
        nice_ticks(edges[0], edges[-1], 8),
        nice_ticks(0, top * 1.08),
        xlabel,
        "fraction of pairs",
    )
    series = len(fractions)
    for k, values in enumerate(fractions.values()):
        color = SERIES_COLORS[k % len(SERIES_COLORS)]
        for i, value in enumerate(values):
            width = (edges[i + 1] - edges[i]) / series
            x0 = axes.x(edges[i] + k * width)
            x1 = max(axes.x(edges[i] + (k + 1) * width) - 1, x0)
            cv2.rectangle(image, (x0, axes.y(value)), (x1, axes.y(0)), color, -1)
    if threshold is not None:
        x = axes.x(threshold)
        for y in range(axes.top, axes.top + axes.height, 8):
            cv2.line(image, (x, y), (x, min(y + 4, axes.top + axes.height)), RED, 1)
    entries = [(name, SERIES_COLORS[k % len(SERIES_COLORS)]) for k, name in enumerate(fractions)]
    legend(image, entries, (axes.left + 8, axes.top + 8))
    if threshold is not None:  # the dashed line's own legend line: a reader of the PNG alone learns it
        x, y = axes.left + 8, axes.top + 8 + 18 * len(entries) + 6
        for start in (0, 8):
            cv2.line(image, (x + start, y), (x + start + 4, y), RED, 1)
        draw_text(image, f"threshold {threshold:g}", (x + 18, y + 5))
    return image


def line_plot(
    series: dict[str, tuple[np.ndarray, np.ndarray]],
    title: str,
    xlabel: str,
    ylabel: str,
    ylim: tuple[float, float] = (0.0, 1.0),
    size: tuple[int, int] = (340, 640),
    subtitle: str = "",
    colors: Sequence[tuple[int, int, int]] | None = None,
    first_on_top: bool = False,
) -> np.ndarray:
    """Lines ``name -> (x [n], y [n])`` with dots (NaN values leave gaps), legend right of the plot area
    (inside it, it would hide lines near its corner: rates near 1 sit at the top left). ``colors``: one
    BGR colour per series (default: `SERIES_COLORS` in turn, which repeat after five series);
    ``first_on_top``: draw the series last to first, so that the first covers any it meets."""
    import cv2

    xs = [float(v) for x, _ in series.values() for v in x]
    xlim = (min(xs, default=0.0), max(xs, default=1.0))
    xlim = xlim if xlim[1] > xlim[0] else (xlim[0] - 1, xlim[0] + 1)
    image = figure(size, title, subtitle)
    legend_space = legend_width(series) + 12
    axes = plot_axes(image, xlim, ylim, legend_space, SUBTITLE_SPACE if subtitle else 0)
    draw_axes(image, axes, nice_ticks(*xlim, 8), nice_ticks(*ylim), xlabel, ylabel)
    palette = list(colors) if colors is not None else SERIES_COLORS
    order = list(enumerate(series.values()))
    for k, (x, y) in reversed(order) if first_on_top else order:
        color = palette[k % len(palette)]
        points = [(axes.x(a), axes.y(b)) if np.isfinite(b) else None for a, b in zip(x, y, strict=True)]
        for a, b in zip(points, points[1:], strict=False):
            if a is not None and b is not None:
                cv2.line(image, a, b, color, 2, cv2.LINE_AA)
        for p in points:
            if p is not None:
                cv2.circle(image, p, 3, color, -1, cv2.LINE_AA)
    entries = [(name, palette[k % len(palette)]) for k, name in enumerate(series)]
    legend(image, entries, (axes.left + axes.width + 12, axes.top))
    return image


def id_colors(ids) -> dict[int, tuple[int, int, int]]:
    """BGR colour of every distinct id in ``ids [N]``: `ID_PALETTE` in increasing id order when there are
    at most 20 (so any 20 ids get 20 well-separated colours, whatever their values), else
    `discmot.viz.draw.id_color` for all."""
    unique = sorted({int(i) for i in np.asarray(ids).reshape(-1)})
    if len(unique) > len(ID_PALETTE):
        return {i: id_color(i) for i in unique}
    return dict(zip(unique, ID_PALETTE, strict=False))


def scatter(
    points: np.ndarray,
    ids: np.ndarray,
    title: str,
    xlabel: str = "dimension 1",
    ylabel: str = "dimension 2",
    size: tuple[int, int] = (480, 640),
    max_legend: int = 20,
) -> np.ndarray:
    """Points ``[N, 2]`` coloured by identity ``ids [N]`` (`id_colors`), legend right."""
    import cv2

    points = np.asarray(points, np.float64).reshape(-1, 2)
    low = points.min(axis=0) if len(points) else np.zeros(2)
    high = points.max(axis=0) if len(points) else np.ones(2)
    pad = (high - low) * 0.05 + 1e-9
    image = figure(size, title)
    axes = plot_axes(image, (low[0] - pad[0], high[0] + pad[0]), (low[1] - pad[1], high[1] + pad[1]), 90)
    draw_axes(image, axes, [], [], xlabel, ylabel)
    colours = id_colors(ids)
    for (px, py), identity in zip(points, ids, strict=True):
        cv2.circle(image, (axes.x(px), axes.y(py)), 4, colours[int(identity)], -1, cv2.LINE_AA)
    unique = sorted(colours)
    entries = [(f"id {i}", colours[i]) for i in unique[:max_legend]]
    legend(image, entries, (axes.left + axes.width + 12, axes.top))
    legend_overflow(image, axes, len(unique) - max_legend, "ids", max_legend)
    return image


def _curve(image: np.ndarray, axes: Axes, label: str, x: np.ndarray, y: np.ndarray) -> None:
    """A thin grey polyline in data coordinates, only where it lies inside ``axes``' limits, with
    ``label`` in grey where it comes closest to the plot area's rising diagonal (so the labels of a
    family of curves, such as iso-lines, stand apart along it rather than bunch at an edge)."""
    import cv2

    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    tolerance = 1e-9 * max(abs(axes.xlim[1]), abs(axes.ylim[1]), 1.0)
    inside = (
        (x >= axes.xlim[0] - tolerance)
        & (x <= axes.xlim[1] + tolerance)
        & (y >= axes.ylim[0] - tolerance)
        & (y <= axes.ylim[1] + tolerance)
    )
    pixels = [(axes.x(a), axes.y(b)) for a, b in zip(x, y, strict=True)]
    for k in range(len(pixels) - 1):
        if inside[k] and inside[k + 1]:
            cv2.line(image, pixels[k], pixels[k + 1], GREY, 1, cv2.LINE_AA)
    if inside.any():
        across = np.abs(
            (x - axes.xlim[0]) * axes.width / _span(axes.xlim)
            - (y - axes.ylim[0]) * axes.height / _span(axes.ylim)
        )
        px, py = pixels[int(np.argmin(np.where(inside, across, np.inf)))]
        draw_text(image, label, (px + 4, py - 4), 0.38, GREY)


def _span(limits: tuple[float, float]) -> float:
    return (limits[1] - limits[0]) or 1.0


def point_chart(
    points: dict[str, tuple[float, float]],
    title: str,
    xlabel: str,
    ylabel: str,
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    curves: Sequence[tuple[str, np.ndarray, np.ndarray]] = (),
    size: tuple[int, int] = (560, 720),
    subtitle: str = "",
    max_legend: int = 20,
) -> np.ndarray:
    """Named points ``name -> (x, y)``, numbered 1, 2, ... in their order, each a dot in its own colour
    (`ID_PALETTE` in turn) with its number beside it; the legend, right of the plot area, gives number
    and name. ``curves`` ``(label, x [n], y [n])`` are drawn first as thin grey labelled lines (iso-lines
    of a score, say), clipped to the limits ``xlim`` and ``ylim``."""
    import cv2

    image = figure(size, title, subtitle)
    labels = [f"{k + 1} {name}" for k, name in enumerate(points)][:max_legend]
    axes = plot_axes(image, xlim, ylim, legend_width(labels) + 12, SUBTITLE_SPACE if subtitle else 0)
    # "+ 0.0" turns a tick at -0.0 (limits a little below 0) into 0, printed "0", not "-0"
    draw_axes(image, axes, nice_ticks(*xlim, 8) + 0.0, nice_ticks(*ylim, 8) + 0.0, xlabel, ylabel)
    for label, xs, ys in curves:
        _curve(image, axes, label, xs, ys)
    colours = [ID_PALETTE[k % len(ID_PALETTE)] for k in range(len(points))]
    for k, (px, py) in enumerate(points.values()):
        x = int(np.clip(axes.x(px), axes.left, axes.left + axes.width))
        y = int(np.clip(axes.y(py), axes.top, axes.top + axes.height))
        cv2.circle(image, (x, y), 6, colours[k], -1, cv2.LINE_AA)
        draw_text(image, str(k + 1), (x + 8, y - 6), thickness=1)
    legend(image, list(zip(labels, colours, strict=False)), (axes.left + axes.width + 12, axes.top))
    legend_overflow(image, axes, len(points) - max_legend, "more", max_legend)
    return image
