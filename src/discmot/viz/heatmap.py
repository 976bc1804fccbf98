"""Heatmaps: a matrix as coloured cells with its labels and a colour bar (OpenCV's VIRIDIS map), drawn with
OpenCV and numpy only, as the other charts of `discmot.viz.plots`. OpenCV is imported inside the functions.
"""

from __future__ import annotations

import numpy as np

from discmot.viz.chart_canvas import (
    BLACK,
    FONT_SCALE,
    SUBTITLE_SPACE,
    WHITE,
    draw_text,
    draw_vertical_text,
    figure,
)


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
    image = figure((top + m * cell + 70, width), title, subtitle)
    colours = colormap(matrix, vmin, vmax)
    for i in range(m):
        for j in range(n):
            x, y = left + j * cell, top + i * cell
            cv2.rectangle(
                image, (x, y), (x + cell - 1, y + cell - 1), tuple(int(c) for c in colours[i, j]), -1
            )
            if cell >= 34:
                text_color = BLACK if matrix[i, j] > (vmin + vmax) / 2 else WHITE
                draw_text(
                    image,
                    f"{matrix[i, j]:.2f}",
                    (x + cell // 2, y + cell // 2 + 4),
                    0.35,
                    text_color,
                    "centre",
                )
    for i, label in enumerate(row_labels):
        draw_text(image, str(label), (left - 6, top + i * cell + cell // 2 + 4), align="right")
    for j, label in enumerate(col_labels):
        draw_text(image, str(label), (left + j * cell + cell // 2, top + m * cell + 16), align="centre")
    draw_text(image, xlabel, (left + n * cell // 2, top + m * cell + 40), align="centre")
    draw_vertical_text(image, ylabel, (14, top + m * cell // 2))
    bar_x = left + n * cell + 25
    label_x = _colour_bar(image, (bar_x, top), max(m * cell, 100), vmin, vmax) + 14
    if colorbar_label:
        draw_vertical_text(image, colorbar_label, (label_x, top + max(m * cell, 100) // 2))
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
        draw_text(image, f"{value:g}", (x + 23, ty + 4))
        right = max(
            right, x + 23 + cv2.getTextSize(f"{value:g}", cv2.FONT_HERSHEY_SIMPLEX, FONT_SCALE, 1)[0][0]
        )
    return right
