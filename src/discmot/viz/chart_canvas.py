"""What every chart of `discmot.viz.plots` and `discmot.viz.heatmap` is drawn with: colours, the white
canvas and its title, the plot area (`Axes`) with ticks and labels, text (also rotated) and legends, and
PNG encoding. OpenCV is imported inside the functions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WHITE = (255, 255, 255)
BLACK = (0, 0, 0)
GREY = (170, 170, 170)
RED = (40, 40, 220)
#: Colours of successive series in line plots and histograms (BGR).
SERIES_COLORS = ((180, 119, 31), (14, 127, 255), (44, 160, 44), (40, 39, 214), (189, 103, 148))
FONT_SCALE = 0.45
MARGIN = (70, 40, 30, 55)  # left, top, right, bottom (pixels around the plot area)


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of a BGR uint8 image."""
    import cv2

    ok, data = cv2.imencode(".png", image)
    if not ok:
        raise ValueError("cannot encode the figure as PNG")
    return data.tobytes()


def draw_text(
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


def draw_vertical_text(image: np.ndarray, text: str, centre: tuple[int, int]) -> None:
    """Draws ``text`` rotated 90 degrees counter-clockwise, centred on ``centre`` (a y-axis label)."""
    import cv2

    (width, height), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, FONT_SCALE, 1)
    patch: np.ndarray = np.full((height + base + 4, width + 4, 3), 255, np.uint8)  # cv2.rotate's too
    draw_text(patch, text, (2, height + 2))
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


def figure(size: tuple[int, int], title: str, subtitle: str = "") -> np.ndarray:
    """A white ``(height, width)`` canvas with a centred title and, if given, a smaller subtitle below."""
    image = np.full((size[0], size[1], 3), 255, np.uint8)
    draw_text(image, title, (size[1] // 2, 24), 0.55, align="centre", thickness=1)
    if subtitle:
        draw_text(image, subtitle, (size[1] // 2, 24 + SUBTITLE_SPACE), 0.42, (60, 60, 60), "centre")
    return image


def plot_axes(image: np.ndarray, xlim, ylim, right_space: int = 0, top_space: int = 0) -> Axes:
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


def draw_axes(image: np.ndarray, axes: Axes, xticks, yticks, xlabel: str, ylabel: str, fmt="{:g}") -> None:
    """Axis lines, ticks with values, light grid lines and axis labels."""
    import cv2

    bottom, right = axes.top + axes.height, axes.left + axes.width
    for value in yticks:
        y = axes.y(value)
        cv2.line(image, (axes.left, y), (right, y), (235, 235, 235), 1)
        cv2.line(image, (axes.left - 4, y), (axes.left, y), BLACK, 1)
        draw_text(image, fmt.format(value), (axes.left - 7, y + 4), align="right")
    for value in xticks:
        x = axes.x(value)
        cv2.line(image, (x, bottom), (x, bottom + 4), BLACK, 1)
        draw_text(image, fmt.format(value), (x, bottom + 18), align="centre")
    cv2.rectangle(image, (axes.left, axes.top), (right, bottom), BLACK, 1)
    draw_text(image, xlabel, (axes.left + axes.width // 2, bottom + 40), align="centre")
    draw_vertical_text(image, ylabel, (14, axes.top + axes.height // 2))


def nice_ticks(low: float, high: float, count: int = 5) -> np.ndarray:
    """About ``count`` round tick values covering ``[low, high]``."""
    span = max(high - low, 1e-9)
    step = 10 ** np.floor(np.log10(span / count))
    step *= min((m for m in (1, 2, 5, 10) if span / (step * m) <= count), default=10)
    return np.arange(np.ceil(low / step) * step, high + step * 1e-6, step)


def legend_width(labels) -> int:
    """Pixels a `legend` of ``labels`` takes horizontally (square, gap, the widest label)."""
    import cv2

    widths = [cv2.getTextSize(str(label), cv2.FONT_HERSHEY_SIMPLEX, FONT_SCALE, 1)[0][0] for label in labels]
    return 18 + max(widths, default=0)


def legend(
    image: np.ndarray, entries: list[tuple[str, tuple[int, int, int]]], corner: tuple[int, int]
) -> None:
    """Coloured squares with labels, one per line, starting at the top-left ``corner``."""
    import cv2

    x, y = corner
    for label, color in entries:
        cv2.rectangle(image, (x, y), (x + 12, y + 12), color, -1)
        draw_text(image, label, (x + 18, y + 11))
        y += 18


def legend_overflow(image: np.ndarray, axes: Axes, hidden: int, noun: str, shown: int) -> None:
    """``+N <noun>`` under a legend of ``shown`` entries when ``hidden`` more did not fit."""
    if hidden > 0:
        draw_text(image, f"+{hidden} {noun}", (axes.left + axes.width + 12, axes.top + 18 * shown + 12))
