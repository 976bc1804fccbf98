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


def test_scatter_and_line_plot_use_the_id_colours():
    image = plots.scatter(np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([3, 4]), "t")
    for identity in (3, 4):
        assert (image == id_color(identity)).all(axis=2).sum() > 20
    line = plots.line_plot({"a": (np.array([1, 2, 3]), np.array([0.1, np.nan, 0.5]))}, "t", "frame", "f")
    assert line.shape == (340, 640, 3)
