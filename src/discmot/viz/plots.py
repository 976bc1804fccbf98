"""Small charts drawn with OpenCV and numpy only: histograms, line plots, heatmaps, scatter plots, points.

matplotlib is not a dependency of discmot, so the embedding report's figures are drawn here directly:
white background, black axes with ticks and labels, a title (and an optional subtitle line), and a legend
or colour bar. Every function returns a ``(H, W, 3)`` uint8 BGR image; `encode_png` turns it into PNG
bytes. OpenCV is imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from discmot.viz.draw import id_color

WHITE = (255, 255, 255)
BLACK = (0, 0, 0)
GREY = (170, 170, 170)
RED = (40, 40, 220)
#: Colours of successive series in line plots and histograms (BGR).
SERIES_COLORS = ((180, 119, 31), (14, 127, 255), (44, 160, 44), (40, 39, 214), (189, 103, 148))
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
FONT_SCALE = 0.45
MARGIN = (70, 40, 30, 55)  # left, top, right, bottom (pixels around the plot area)


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of a BGR uint8 image."""
    import cv2

    ok, data = cv2.imencode(".png", image)
    if not ok:
        raise ValueError("cannot encode the figure as PNG")
    return data.tobytes()


def _text(
    image: np.ndarray,
    text: str,
    org: tuple[int, int],
    scale: float = FONT_SCALE,
    color=BLACK,
    align: str = "left",
    thickness: int = 1,
) -> None:
    """Draws ``text`` with its baseline at ``org``; ``align`` is left, centre or right of ``org[0]``."""
    import cv2

    width = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)[0][0]
    x = org[0] - {"left": 0, "centre": width // 2, "right": width}[align]
    cv2.putText(
        image, text, (int(x), int(org[1])), cv2.FONT_HERSHEY_SIMPLEX, scale, color, thickness, cv2.LINE_AA
    )


def _vertical_text(image: np.ndarray, text: str, centre: tuple[int, int]) -> None:
    """Draws ``text`` rotated 90 degrees counter-clockwise, centred on ``centre`` (a y-axis label)."""
    import cv2

    (width, height), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, FONT_SCALE, 1)
    patch = np.full((height + base + 4, width + 4, 3), 255, np.uint8)
    _text(patch, text, (2, height + 2))
    patch = cv2.rotate(patch, cv2.ROTATE_90_COUNTERCLOCKWISE)
    top = max(centre[1] - patch.shape[0] // 2, 0)
    left = max(centre[0] - patch.shape[1] // 2, 0)
    region = image[top : top + patch.shape[0], left : left + patch.shape[1]]
    region[...] = np.minimum(region, patch[: region.shape[0], : region.shape[1]])


@dataclass(frozen=True)
class Axes:
    """A plot area: pixel rectangle ``(left, top, width, height)`` and data limits."""

    left: int
    top: int
    width: int
    height: int
    xlim: tuple[float, float]
    ylim: tuple[float, float]

    def x(self, value: float) -> int:
        span = (self.xlim[1] - self.xlim[0]) or 1.0
        return int(round(self.left + (value - self.xlim[0]) / span * self.width))

    def y(self, value: float) -> int:
        span = (self.ylim[1] - self.ylim[0]) or 1.0
        return int(round(self.top + self.height - (value - self.ylim[0]) / span * self.height))


#: Extra space above the plot area taken by a subtitle line (pixels).
SUBTITLE_SPACE = 18


def _figure(size: tuple[int, int], title: str, subtitle: str = "") -> np.ndarray:
    """A white ``(height, width)`` canvas with a centred title and, if given, a smaller subtitle below."""
    image = np.full((size[0], size[1], 3), 255, np.uint8)
    _text(image, title, (size[1] // 2, 24), 0.55, align="centre", thickness=1)
    if subtitle:
        _text(image, subtitle, (size[1] // 2, 24 + SUBTITLE_SPACE), 0.42, (60, 60, 60), "centre")
    return image


def _plot_axes(image: np.ndarray, xlim, ylim, right_space: int = 0, top_space: int = 0) -> Axes:
    left, top, right, bottom = MARGIN
    height, width = image.shape[:2]
    return Axes(
        left,
        top + top_space,
        width - left - right - right_space,
        height - top - top_space - bottom,
        xlim,
        ylim,
    )


def _draw_axes(image: np.ndarray, axes: Axes, xticks, yticks, xlabel: str, ylabel: str, fmt="{:g}") -> None:
    """Axis lines, ticks with values, light grid lines and axis labels."""
    import cv2

    bottom, right = axes.top + axes.height, axes.left + axes.width
    for value in yticks:
        y = axes.y(value)
        cv2.line(image, (axes.left, y), (right, y), (235, 235, 235), 1)
        cv2.line(image, (axes.left - 4, y), (axes.left, y), BLACK, 1)
        _text(image, fmt.format(value), (axes.left - 7, y + 4), align="right")
    for value in xticks:
        x = axes.x(value)
        cv2.line(image, (x, bottom), (x, bottom + 4), BLACK, 1)
        _text(image, fmt.format(value), (x, bottom + 18), align="centre")
    cv2.rectangle(image, (axes.left, axes.top), (right, bottom), BLACK, 1)
    _text(image, xlabel, (axes.left + axes.width // 2, bottom + 40), align="centre")
    _vertical_text(image, ylabel, (14, axes.top + axes.height // 2))


def _nice_ticks(low: float, high: float, count: int = 5) -> np.ndarray:
    """About ``count`` round tick values covering ``[low, high]``."""
    span = max(high - low, 1e-9)
    step = 10 ** np.floor(np.log10(span / count))
    step *= min((m for m in (1, 2, 5, 10) if span / (step * m) <= count), default=10)
    return np.arange(np.ceil(low / step) * step, high + step * 1e-6, step)


def _legend_width(labels) -> int:
    """Pixels a `_legend` of ``labels`` takes horizontally (square, gap, the widest label)."""
    import cv2

    widths = [cv2.getTextSize(str(label), cv2.FONT_HERSHEY_SIMPLEX, FONT_SCALE, 1)[0][0] for label in labels]
    return 18 + max(widths, default=0)


def _legend(
    image: np.ndarray, entries: list[tuple[str, tuple[int, int, int]]], corner: tuple[int, int]
) -> None:
    """Coloured squares with labels, one per line, starting at the top-left ``corner``."""
    import cv2

    x, y = corner
    for label, color in entries:
        cv2.rectangle(image, (x, y), (x + 12, y + 12), color, -1)
        _text(image, label, (x + 18, y + 11))
        y += 18


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
    image = _figure(size, title)
    axes = _plot_axes(image, (float(edges[0]), float(edges[-1])), (0.0, top * 1.08))
    _draw_axes(
        image,
        axes,
        _nice_ticks(edges[0], edges[-1], 8),
        _nice_ticks(0, top * 1.08),
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
    _legend(image, entries, (axes.left + 8, axes.top + 8))
    if threshold is not None:  # the dashed line's own legend line: a reader of the PNG alone learns it
        x, y = axes.left + 8, axes.top + 8 + 18 * len(entries) + 6
        for start in (0, 8):
            cv2.line(image, (x + start, y), (x + start + 4, y), RED, 1)
        _text(image, f"threshold {threshold:g}", (x + 18, y + 5))
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
    image = _figure(size, title, subtitle)
    legend_space = _legend_width(series) + 12
    axes = _plot_axes(image, xlim, ylim, legend_space, SUBTITLE_SPACE if subtitle else 0)
    _draw_axes(image, axes, _nice_ticks(*xlim, 8), _nice_ticks(*ylim), xlabel, ylabel)
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
    _legend(image, entries, (axes.left + axes.width + 12, axes.top))
    return image


def colormap(values: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    """``[...]`` values -> ``[..., 3]`` uint8 BGR colours of OpenCV's VIRIDIS map over ``[vmin, vmax]``."""
    import cv2

    scaled = np.clip((np.asarray(values, np.float64) - vmin) / ((vmax - vmin) or 1.0), 0, 1)
    levels = np.round(scaled * 255).astype(np.uint8).reshape(-1, 1)
    return cv2.applyColorMap(levels, cv2.COLORMAP_VIRIDIS).reshape(*scaled.shape, 3)


def heatmap(
    matrix: np.ndarray,
    row_labels: list,
    col_labels: list,
    title: str,
    xlabel: str,
    ylabel: str,
    vmin: float = -1.0,
    vmax: float = 1.0,
    cell: int | None = None,
    subtitle: str = "",
    colorbar_label: str = "",
) -> np.ndarray:
    """A matrix ``[m, n]`` as coloured cells with row/column labels, the values printed in the cells when
    they fit, and a colour bar from ``vmin`` to ``vmax`` on the right, named ``colorbar_label`` (what the
    colours measure) beside its ticks."""
    import cv2

    m, n = matrix.shape
    cell = cell or int(np.clip(360 // max(m, n, 1), 14, 48))
    left, top = 80, 50 + (SUBTITLE_SPACE if subtitle else 0)
    width = max(left + n * cell + max(_colour_bar_width(vmin, vmax, colorbar_label), 120), 420)
    image = _figure((top + m * cell + 70, width), title, subtitle)
    colours = colormap(matrix, vmin, vmax)
    for i in range(m):
        for j in range(n):
            x, y = left + j * cell, top + i * cell
            cv2.rectangle(
                image, (x, y), (x + cell - 1, y + cell - 1), tuple(int(c) for c in colours[i, j]), -1
            )
            if cell >= 34:
                text_color = BLACK if matrix[i, j] > (vmin + vmax) / 2 else WHITE
                _text(
                    image,
                    f"{matrix[i, j]:.2f}",
                    (x + cell // 2, y + cell // 2 + 4),
                    0.35,
                    text_color,
                    "centre",
                )
    for i, label in enumerate(row_labels):
        _text(image, str(label), (left - 6, top + i * cell + cell // 2 + 4), align="right")
    for j, label in enumerate(col_labels):
        _text(image, str(label), (left + j * cell + cell // 2, top + m * cell + 16), align="centre")
    _text(image, xlabel, (left + n * cell // 2, top + m * cell + 40), align="centre")
    _vertical_text(image, ylabel, (14, top + m * cell // 2))
    bar_x = left + n * cell + 25
    label_x = _colour_bar(image, (bar_x, top), max(m * cell, 100), vmin, vmax) + 14
    if colorbar_label:
        _vertical_text(image, colorbar_label, (label_x, top + max(m * cell, 100) // 2))
    return image


def _colour_bar_ticks(vmin: float, vmax: float) -> tuple[float, float, float]:
    return vmax, (vmin + vmax) / 2, vmin


def _colour_bar_width(vmin: float, vmax: float, label: str) -> int:
    """Pixels right of the cells that the colour bar takes: gap, bar, ticks, their values and the label."""
    import cv2

    ticks = max(
        cv2.getTextSize(f"{v:g}", cv2.FONT_HERSHEY_SIMPLEX, FONT_SCALE, 1)[0][0]
        for v in _colour_bar_ticks(vmin, vmax)
    )
    return 25 + 23 + ticks + (14 + 10 + 10 if label else 0)


def _colour_bar(image: np.ndarray, corner: tuple[int, int], height: int, vmin: float, vmax: float) -> int:
    """A vertical colour bar (16 px wide) at ``corner`` with ticks at ``vmin``, the middle and ``vmax``.
    Returns the x just right of its widest tick label."""
    import cv2

    x, y = corner
    height = min(height, image.shape[0] - y - 10)
    values = np.linspace(vmax, vmin, height)
    image[y : y + height, x : x + 16] = colormap(values, vmin, vmax)[:, None, :]
    cv2.rectangle(image, (x, y), (x + 16, y + height - 1), BLACK, 1)
    right = x + 23
    for value in _colour_bar_ticks(vmin, vmax):
        ty = y + int(round((vmax - value) / ((vmax - vmin) or 1.0) * (height - 1)))
        cv2.line(image, (x + 16, ty), (x + 20, ty), BLACK, 1)
        _text(image, f"{value:g}", (x + 23, ty + 4))
        right = max(
            right, x + 23 + cv2.getTextSize(f"{value:g}", cv2.FONT_HERSHEY_SIMPLEX, FONT_SCALE, 1)[0][0]
        )
    return right


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
    image = _figure(size, title)
    axes = _plot_axes(image, (low[0] - pad[0], high[0] + pad[0]), (low[1] - pad[1], high[1] + pad[1]), 90)
    _draw_axes(image, axes, [], [], xlabel, ylabel)
    colours = id_colors(ids)
    for (px, py), identity in zip(points, ids, strict=True):
        cv2.circle(image, (axes.x(px), axes.y(py)), 4, colours[int(identity)], -1, cv2.LINE_AA)
    unique = sorted(colours)
    entries = [(f"id {i}", colours[i]) for i in unique[:max_legend]]
    _legend(image, entries, (axes.left + axes.width + 12, axes.top))
    _legend_overflow(image, axes, len(unique) - max_legend, "ids", max_legend)
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
        _text(image, label, (px + 4, py - 4), 0.38, GREY)


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

    image = _figure(size, title, subtitle)
    labels = [f"{k + 1} {name}" for k, name in enumerate(points)][:max_legend]
    axes = _plot_axes(image, xlim, ylim, _legend_width(labels) + 12, SUBTITLE_SPACE if subtitle else 0)
    # "+ 0.0" turns a tick at -0.0 (limits a little below 0) into 0, printed "0", not "-0"
    _draw_axes(image, axes, _nice_ticks(*xlim, 8) + 0.0, _nice_ticks(*ylim, 8) + 0.0, xlabel, ylabel)
    for label, x, y in curves:
        _curve(image, axes, label, x, y)
    colours = [ID_PALETTE[k % len(ID_PALETTE)] for k in range(len(points))]
    for k, (px, py) in enumerate(points.values()):
        x = int(np.clip(axes.x(px), axes.left, axes.left + axes.width))
        y = int(np.clip(axes.y(py), axes.top, axes.top + axes.height))
        cv2.circle(image, (x, y), 6, colours[k], -1, cv2.LINE_AA)
        _text(image, str(k + 1), (x + 8, y - 6), thickness=1)
    _legend(image, list(zip(labels, colours, strict=False)), (axes.left + axes.width + 12, axes.top))
    _legend_overflow(image, axes, len(points) - max_legend, "more", max_legend)
    return image


def _legend_overflow(image: np.ndarray, axes: Axes, hidden: int, noun: str, shown: int) -> None:
    """``+N <noun>`` under a legend of ``shown`` entries when ``hidden`` more did not fit."""
    if hidden > 0:
        _text(image, f"+{hidden} {noun}", (axes.left + axes.width + 12, axes.top + 18 * shown + 12))
