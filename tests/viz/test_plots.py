"""The OpenCV charts: right size, valid PNG, and the data actually drawn where the axes say."""

from __future__ import annotations

import cv2
import numpy as np

from discmot.viz import plots
from discmot.viz.draw import id_color


def decode(png: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)


def test_histogram_draws_bars_and_encodes_to_png():
    edges = np.linspace(-1, 1, 5)
    image = plots.histogram(
        {"a": np.array([0, 1, 0, 3]), "b": np.array([2, 0, 0, 0])}, edges, "t", threshold=0.9
    )
    assert image.shape == (380, 640, 3) and image.dtype == np.uint8
    assert (decode(plots.encode_png(image)) == image).all()
    assert (image == plots.SERIES_COLORS[0]).all(axis=2).any() and (image == plots.SERIES_COLORS[1]).all(
        axis=2
    ).any()


def test_heatmap_colours_cells_by_value():
    image = plots.heatmap(np.array([[1.0, -1.0]]), [1], [1, 2], "t", "x", "y", cell=40)
    top = plots.colormap(np.array(1.0), -1, 1)
    bottom = plots.colormap(np.array(-1.0), -1, 1)
    assert (image[55, 85] == top).all() and (image[55, 125] == bottom).all()  # cell centres (80 + 40 j, 50)


def lab(bgr_colours) -> np.ndarray:
    """``[n, 3]`` CIELAB (L in 0..100) of BGR uint8 colours: distances there follow perceived difference."""
    pixels = np.asarray(bgr_colours, np.float32).reshape(-1, 1, 3) / 255
    return cv2.cvtColor(pixels, cv2.COLOR_BGR2LAB).reshape(-1, 3)


def plot_area(image: np.ndarray) -> tuple[int, int, int, int]:
    """``(left, top, right, bottom)`` of the black rectangle framing a chart's plot area."""
    black = (image == 0).all(axis=2)
    columns = np.flatnonzero(black.sum(axis=0) > 150)  # the frame's vertical sides
    rows = np.flatnonzero(black.sum(axis=1) > 300)  # its horizontal sides
    return columns[0], rows[0], columns[-1], rows[-1]


def test_scatter_colours_up_to_20_ids_far_apart():
    # 20 ids, with values far from 1..20 (tracker ids): each gets its own, clearly different colour
    ids = np.arange(101, 121)
    points = np.stack([np.arange(20.0), np.zeros(20)], axis=1)
    image = plots.scatter(points, ids, "t")
    _, top, right, _ = plot_area(image)
    # the legend's 12-pixel squares, one per 18-pixel line, 12 pixels right of the plot area
    legend = np.array([image[top + 18 * k + 6, right + 18] for k in range(20)])
    for k, colour in enumerate(legend):
        assert (image == colour).all(axis=2).sum() > 144, ids[k]  # the square and the id's dot
    values = lab(legend)
    distances = np.linalg.norm(values[:, None] - values[None], axis=2)[np.triu_indices(20, k=1)]
    # id_color gave ids 1 and 14 colours 6 apart and ids 1 and 9 hues 21 degrees apart
    assert distances.min() > 25
    assert values[:, 0].max() < 90  # lightness: none fades into the white background


def test_more_than_20_ids_fall_back_to_the_video_colours():
    ids = np.arange(1, 23)
    assert plots.id_colors(ids) == {i: id_color(i) for i in range(1, 23)}


def test_line_plot_legend_leaves_the_plot_area_to_the_data():
    # two rates near 1, where the reid curves sit at small gaps (the top left)
    x = np.array([1.0, 5.0, 20.0, 50.0])
    series = {"decoder": (x, np.full(4, 0.95)), "adapted": (x, np.full(4, 0.9))}
    image = plots.line_plot(series, "t", "gap", "rate")
    left, top, right, bottom = plot_area(image)
    inside = image[top + 1 : bottom, left + 1 : right]
    assert not (inside == 0).all(axis=2).any()  # no legend text over the data
    for k, y in enumerate((0.95, 0.9)):
        rows = np.flatnonzero((inside == plots.SERIES_COLORS[k]).all(axis=2).any(axis=1))
        line_row = round((1 - y) * (bottom - top))
        assert abs(rows - line_row).max() <= 5  # only the line and its dots, no legend square
        legend = (image[:, right + 1 :] == plots.SERIES_COLORS[k]).all(axis=2)
        assert legend.sum() >= 100  # the legend square, right of the plot area


def test_subtitle_goes_under_the_title_and_moves_the_plot_area_down():
    series = {"a": (np.array([1.0, 2.0]), np.array([0.5, 0.5]))}
    plain = plots.line_plot(series, "t", "x", "y")
    with_subtitle = plots.line_plot(series, "t", "x", "y", subtitle="ids from the tracker")
    assert plot_area(with_subtitle)[1] > plot_area(plain)[1]
    # below the title's baseline (y = 24), above the old plot top, centre columns (no tick labels there)
    band = (slice(30, plot_area(plain)[1]), slice(200, 440))
    assert (with_subtitle[band] != 255).any() and (plain[band] == 255).all()


def test_line_plot_draws_nan_as_a_gap():
    line = plots.line_plot({"a": (np.array([1, 2, 3]), np.array([0.1, np.nan, 0.5]))}, "t", "frame", "f")
    assert line.shape == (340, 640, 3)


def test_heatmap_colour_bar_is_named_beside_its_ticks():
    matrix = np.array([[1.0, -1.0], [0.5, 0.0]])
    plain = plots.heatmap(matrix, [1, 2], [1, 2], "t", "x", "y", cell=40)
    named = plots.heatmap(matrix, [1, 2], [1, 2], "t", "x", "y", cell=40, colorbar_label="cosine similarity")
    # right of the bar (80 + 2 * 40 + 25 = 185, 16 wide) and its tick values ("-1", "0", "1": < 25 px)
    beyond_ticks = slice(185 + 16 + 4 + 30, None)
    assert not (plain[:, beyond_ticks] < 128).any()  # nothing named what the colours measure
    ink = np.argwhere((named[:, beyond_ticks] < 128).all(axis=2))
    assert len(ink) > 100  # the rotated label
    rows = ink[:, 0]
    assert rows.max() - rows.min() > 2 * (ink[:, 1].max() - ink[:, 1].min())  # written upwards
    assert named.shape[1] - (beyond_ticks.start + ink[:, 1].max()) > 5  # and inside the image


def test_histogram_legend_names_the_threshold_line():
    edges = np.linspace(-1, 1, 5)
    counts = {"a": np.array([0, 1, 0, 3])}
    with_line = plots.histogram(counts, edges, "t", threshold=0.9)
    without = plots.histogram(counts, edges, "t")
    left, top, _, _ = plot_area(without)
    # the legend's second line (18 pixels under the first, which starts 8 pixels into the plot area)
    line = (slice(top + 8 + 18, top + 8 + 36), slice(left + 8, left + 120))
    assert not (without[line] < 128).all(axis=2).any()
    red = (with_line[line] == plots.RED).all(axis=2).sum()
    dark = (with_line[line] < 100).all(axis=2).sum()
    assert red >= 8 and dark > 40  # the dashes in the line's red, and the words
