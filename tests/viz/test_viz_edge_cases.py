"""Edge cases of the drawing code (`discmot.viz.draw`, `discmot.viz.error_drawing`, `discmot.viz.heatmap`):
pixels read back from tiny frames, with expected positions and colours worked out by hand from the docstrings
and docs/evaluation.md (what ``discmot show`` draws)."""

from __future__ import annotations

import cv2
import numpy as np

from discmot.structures import Tracks
from discmot.viz import errors
from discmot.viz import heatmap as heatmap_module
from discmot.viz.draw import (
    TrailHistory,
    caption_avoid,
    draw_caption,
    draw_dashed_rectangle,
    draw_label,
    draw_tracks,
    id_color,
    line_width,
    side_by_side,
    with_legend,
)
from discmot.viz.error_drawing import LEGEND, draw_errors

WHITE = (255, 255, 255)


def label_size(text: str, frame_height: int) -> tuple[int, int]:
    """``(width, box_h)`` of a label as the draw_label docstring lays it out: the text's OpenCV size at the
    label font (scale max(0.4, H / 1200), stroke 1 below 900 px), the box ``height + baseline + 2`` tall
    and ``width + 2`` wide (both inclusive)."""
    scale = max(0.4, frame_height / 1200)
    (width, height), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    return width, height + baseline + 2


def test_a_label_above_a_box_at_the_top_edge_is_clamped_to_row_0():
    """draw_label keeps labels inside the frame: one that would start above it starts on its first row."""
    frame = np.zeros((60, 120, 3), np.uint8)
    x1, y1, x2, y2 = draw_label(frame, "7", (30, 3), WHITE)
    assert (x1, y1) == (30, 0)
    assert (frame[0, x1 : x2 + 1] == WHITE).all()  # the filled background reaches the top row


def test_a_label_at_the_right_and_bottom_edges_ends_on_the_last_pixel():
    """The label's last column and row (inclusive) are the frame's last: pushed in just as far as needed."""
    frame = np.zeros((60, 120, 3), np.uint8)
    width, box_h = label_size("7", 60)
    x1, y1, x2, y2 = draw_label(frame, "7", (119, 59), WHITE, above=False)
    assert (x2, y2) == (119, 59)
    assert (x1, y1) == (119 - width - 2, 59 - box_h)
    assert (frame[59, x1 : x2 + 1] == WHITE).all() and (frame[y1 : y2 + 1, 119] == WHITE).all()


def test_a_label_that_would_leave_a_short_wide_frame_below_an_avoided_rectangle_stays_put():
    """draw_label / _free_row: moved down past the ``avoid`` rectangles, "``y`` itself when that would leave
    the frame" -- the frame's height decides, not its width (40 x 200 here)."""
    frame = np.zeros((40, 200, 3), np.uint8)
    _, box_h = label_size("1", 40)
    assert 30 + box_h > 40  # below the avoided rows 0..30 the label would not fit
    x1, y1, x2, y2 = draw_label(frame, "1", (50, 10), WHITE, above=False, avoid=[(0, 0, 200, 30)])
    assert (y1, y2) == (10, 10 + box_h)


def test_the_caption_text_lies_on_its_dark_box():
    """draw_caption: light text on a dark box in the top-right corner; `caption_avoid` gives that box, and
    every light text pixel is inside it, off its left and bottom edges."""
    frame = np.zeros((120, 200, 3), np.uint8)
    (x1, y1, x2, y2) = caption_avoid(frame, "frame 12")[0]
    draw_caption(frame, "frame 12")
    assert (y1, x2) == (0, 200)
    rows, cols = np.nonzero(frame.max(axis=2) > 100)
    assert len(rows) > 30
    assert cols.min() > x1 and rows.max() < y2  # the text inside its box, not on the frame beyond it
    assert (frame[y2, x1:] == 32).all() and (frame[:y2, x1] == 32).all()  # the box's bottom and left edge


def test_a_caption_wider_than_the_frame_starts_at_column_0():
    frame = np.zeros((40, 30, 3), np.uint8)
    x1, _, x2, _ = caption_avoid(np.zeros((120, 200, 3), np.uint8), "frame 12345")[0]
    assert x2 - x1 > 30  # wider than the narrow frame
    draw_caption(frame, "frame 12345")
    assert (frame[0, :] == 32).all()  # the dark box fills the top row from the first column


def test_side_by_side_puts_the_panels_left_to_right_with_black_gaps():
    a = np.full((5, 3, 3), 10, np.uint8)
    b = np.full((5, 2, 3), 20, np.uint8)
    c = np.full((5, 4, 3), 30, np.uint8)
    joined = side_by_side([a, b, c], gap=2)
    assert joined.shape == (5, 3 + 2 + 2 + 2 + 4, 3)
    assert joined[0, :, 0].tolist() == [10, 10, 10, 0, 0, 20, 20, 0, 0, 30, 30, 30, 30]


def dashed_mask(shape, corners, dash: int) -> np.ndarray:
    """The pixels of draw_dashed_rectangle's docstring worked out by hand for thickness 1: each side from
    its first corner (x1 or y1), dashes ``[o, min(o + dash, length)]`` (inclusive) for ``o`` = 0, 2 dash, ...,
    clipped to the frame."""
    height, width = shape
    big = np.zeros((height + 400, width + 400), bool)  # the frame at offset 200: sides may leave it
    x1, y1, x2, y2 = corners
    for (ax, ay), (bx, by) in (
        ((x1, y1), (x2, y1)),
        ((x1, y2), (x2, y2)),
        ((x1, y1), (x1, y2)),
        ((x2, y1), (x2, y2)),
    ):
        length = max(abs(bx - ax), abs(by - ay))
        sx, sy = np.sign(bx - ax), np.sign(by - ay)
        for offset in range(0, length + 1, 2 * dash):
            for step in range(offset, min(offset + dash, length) + 1):
                big[200 + ay + sy * step, 200 + ax + sx * step] = True
    return big[200 : 200 + height, 200 : 200 + width]


def test_dashed_rectangle_inside_the_frame_starts_each_side_on_a_dash():
    frame = np.zeros((40, 60, 3), np.uint8)
    draw_dashed_rectangle(frame, (10, 5, 41, 30), (0, 0, 255))  # thickness 1: dashes of 4 px, gaps as long
    drawn = (frame == (0, 0, 255)).all(axis=2)
    assert (drawn == dashed_mask((40, 60), (10, 5, 41, 30), 4)).all()
    assert drawn[5, 10:15].all() and not drawn[5, 15:18].any() and drawn[5, 18]  # 10..14 on, 15..17 off


def test_dashed_rectangle_partly_outside_the_frame_keeps_its_dash_phase():
    """Only the visible dashes are walked (`_visible_dash_offsets`), but they sit where the whole side's
    dashes would: counted from the side's first corner, beyond the frame."""
    for corners in ((-30, -21, 41, 30), (13, 9, 70, 52), (95, 30, 10, -13)):  # the last one reversed
        frame = np.zeros((40, 60, 3), np.uint8)
        draw_dashed_rectangle(frame, corners, (0, 0, 255), dash=3)
        drawn = (frame == (0, 0, 255)).all(axis=2)
        assert (drawn == dashed_mask((40, 60), corners, 3)).all(), corners


def test_the_box_line_is_thicker_than_one_pixel_on_a_1080p_frame():
    """line_width: "grows with the frame's size"; draw_tracks draws boxes with it."""
    small, large = np.zeros((120, 160, 3), np.uint8), np.zeros((1080, 1920, 3), np.uint8)
    assert line_width(small) == 1 and line_width(large) >= 3
    draw_tracks(large, Tracks(np.array([3]), np.array([[400.0, 300.0, 200.0, 400.0]]), np.ones(1)))
    row = (large[500, 380:420] == id_color(3)).all(axis=1)  # across the left side at x = 400
    assert row.sum() >= 3  # OpenCV draws an even width w as w + 1 pixels


def light_columns(image: np.ndarray) -> np.ndarray:
    return np.flatnonzero((image.max(axis=2) > 150).any(axis=0))


def test_the_legend_caption_starts_at_the_left_margin_and_an_entry_after_its_sample():
    """with_legend: the caption first, without a sample; then per entry a sample line in its colour, then
    its text (light grey) right of it."""
    frame = np.zeros((30, 400, 3), np.uint8)
    caption_only = with_legend(frame, [], "frame 7")[30:]
    assert 6 <= light_columns(caption_only)[0] <= 8
    entry = with_legend(frame, [("FP", (0, 0, 255), "solid")])[30:]
    red = np.flatnonzero((entry == (0, 0, 255)).all(axis=2).any(axis=0))
    assert 5 <= red[0] <= 6  # the sample line starts at the margin (its 2-pixel width rounds its end)
    text = light_columns(entry[..., :2])  # blue and green: the grey text, not the red sample
    assert text[0] > red[-1] + 3


def legend_row_height(texts, frame_height: int) -> int:
    """A legend row: the tallest text (height + baseline at the label font) + 6 pixels."""
    scale = max(0.4, frame_height / 1200)
    sizes = [cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1) for text in texts]
    return max(height + baseline for (_, height), baseline in sizes) + 6


def test_the_legend_wraps_into_rows_that_stay_inside_the_frame():
    texts = [text for text, _, _ in LEGEND]
    narrow = with_legend(np.zeros((60, 30, 3), np.uint8), [], "frame 10")  # wider than the frame: one row
    assert narrow.shape == (60 + legend_row_height(["frame 10"], 60) + 4, 30, 3)
    row = legend_row_height(["frame 10", *texts], 60)
    for width in (200, 260, 320):
        out = with_legend(np.zeros((60, width, 3), np.uint8), LEGEND, "frame 10")
        bar = out[60:]
        assert (bar[:, width - 4 :] == 32).all(), width  # nothing written into the right margin
        assert (bar.shape[0] - 4) % row == 0 and bar.shape[0] > row + 4, width  # wrapped, whole rows


GREY = 128


def frame_errors(**status) -> errors.FrameErrors:
    """One frame's classified boxes made by hand: tracker rows ``(id, box, status, switched_from)``, gt rows
    ``(id, box, status)``."""
    tracker, gt = status["tracker"], status["gt"]
    return errors.FrameErrors(
        np.array([row[0] for row in tracker], np.int64),
        np.array([row[1] for row in tracker], np.float64).reshape(-1, 4),
        np.array([row[2] for row in tracker], np.int8),
        np.array([row[3] for row in tracker], np.int64),
        np.array([row[0] for row in gt], np.int64),
        np.array([row[1] for row in gt], np.float64).reshape(-1, 4),
        np.array([row[2] for row in gt], np.int8),
    )


def label_box(text: str, frame_height: int) -> tuple[int, int]:
    """``(last column, last row)`` offsets of a label from its top-left corner (inclusive): text width + 2,
    text height + baseline + 2, at the label font of a frame under 480 pixels high (scale 0.4, stroke 1)."""
    (width, height), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.4, 1)
    assert frame_height < 480
    return width + 2, height + baseline + 2


def test_draw_errors_marks_each_kind_of_box_as_the_docs_table_says():
    """docs/evaluation.md, ``discmot show``'s marker table, on a 200 x 240 grey frame (line width 1):
    a match in its id's colour; a false positive as a red dashed box labelled ``FP 7`` above; a miss as a
    thin white box on a dark rim labelled ``FN 12`` below; an ID switch as a yellow ring just outside the box
    (``2 * line width`` out, as wide) labelled ``IDSW 4->11`` below it; a removed box as a grey dashed box
    (one pixel thinner than the others, at least 1)."""
    frame = np.full((200, 240, 3), GREY, np.uint8)
    boxes = frame_errors(
        tracker=[
            (5, (10, 40, 20, 30), errors.MATCHED, 0),
            (7, (60, 40, 30, 30), errors.FALSE_POSITIVE, 0),
            (9, (110, 40, 30, 30), errors.IGNORED, 0),
            (11, (40, 120, 20, 30), errors.SWITCH, 4),
        ],
        gt=[
            (1, (12, 42, 20, 30), errors.GT_MATCHED),
            (12, (170, 40, 40, 60), errors.MISSED),
            (13, (112, 42, 30, 30), errors.GT_IGNORED),
        ],
    )
    trails = TrailHistory()
    out = draw_errors(frame, boxes, trails, "frame 1")
    assert out.shape[0] > 200 and out.shape[1:] == (240, 3) and (out[:200] == frame).all()

    def at(y, x) -> tuple:
        return tuple(int(v) for v in frame[y, x])

    # the match: its box in its id's colour; its gt box is not drawn as a miss
    assert at(55, 10) == id_color(5) and at(60, 12) == (GREY,) * 3
    # the false positive: pure red dashes of 4 px from the corner, gaps as long; the FP label above
    red = (0, 0, 255)
    assert [at(y, 60) == red for y in range(41, 50)] == [True] * 4 + [False] * 3 + [True] * 2
    fp_right, fp_bottom = label_box("FP 7", 200)
    assert at(40 - fp_bottom, 60) == red and at(40 - fp_bottom, 60 + fp_right) == red
    assert at(40 - fp_bottom - 1, 60) == (GREY,) * 3 and at(40 - fp_bottom, 61 + fp_right) == (GREY,) * 3
    # the removed box: grey (equal channels, not the frame's grey) dashes, 1 pixel wide
    grey = at(42, 110)
    assert grey[0] == grey[1] == grey[2] != GREY and at(46, 110) == (GREY,) * 3
    assert at(42, 109) == (GREY,) * 3 and at(42, 111) == (GREY,) * 3
    # the miss: a 1-pixel white line on a black rim (OpenCV's width 3: 2 pixels each side), FN label below
    rim = [(GREY,) * 3] + [(0,) * 3] * 2 + [(255,) * 3] + [(0,) * 3] * 2 + [(GREY,) * 3]
    assert [at(70, x) for x in range(167, 174)] == rim
    fn_right, fn_bottom = label_box("FN 12", 200)
    assert at(100 + fn_bottom, 170) == (255,) * 3 and at(100 + fn_bottom, 170 + fn_right) == (255,) * 3
    assert at(101 + fn_bottom, 170) == (GREY,) * 3
    # the ID switch: a yellow ring 2 px out, 2 px wide (OpenCV: 3 columns 37..39), the box inside it
    yellow = (0, 255, 255)
    g = (GREY,) * 3
    assert [at(135, x) for x in range(36, 41)] == [g, yellow, yellow, yellow, id_color(11)]  # left
    assert [at(135, x) for x in range(60, 65)] == [id_color(11), yellow, yellow, yellow, g]  # right
    assert [at(y, 59) for y in range(116, 121)] == [g, yellow, yellow, yellow, id_color(11)]  # top
    assert at(151, 45) == yellow  # the bottom side, above the label
    # its label below the ring: top at the box bottom + 2 line widths (152)
    sw_right, sw_bottom = label_box("IDSW 4->11", 200)
    assert at(152 + sw_bottom, 40) == yellow and at(152 + sw_bottom, 40 + sw_right) == yellow
    assert at(153 + sw_bottom, 40) == (GREY,) * 3 and at(152 + sw_bottom, 41 + sw_right) == (GREY,) * 3
    # the trails follow the scored tracker boxes (bottom centres), not the removed one
    assert (trails[5], trails[7], trails[11], trails[9]) == ([(20, 70)], [(75, 70)], [(50, 150)], [])


def test_a_sequences_frame_count_is_the_number_of_frames_classified(tmp_path):
    gt = tmp_path / "gt.txt"
    gt.write_text("1,1,10,10,20,40,1,1,1\n3,1,12,10,20,40,1,1,1\n")
    results = tmp_path / "results.txt"
    results.write_text("1,5,10,10,20,40,1,-1,-1,-1\n")
    found = errors.classify_files(gt, results, 4)
    assert found.num_frames == 4
    assert found.totals() == {"FP": 0, "FN": 1, "IDSW": 0}  # gt 1 in frame 3: missed


def viridis(level: int) -> tuple:
    """OpenCV's VIRIDIS colour (BGR) of a 0..255 level."""
    return tuple(int(v) for v in cv2.applyColorMap(np.uint8([[level]]), cv2.COLORMAP_VIRIDIS)[0, 0])


def test_colormap_maps_vmin_to_vmax_linearly_onto_viridis_and_clips():
    """colormap: ``[vmin, vmax]`` -> VIRIDIS levels 0..255 (rounded), values beyond clipped to the ends."""
    values = np.array([0.0, 1.0, 2.0, 4.0, 9.0, -3.0])
    expected = [viridis(level) for level in (0, 64, 128, 255, 255, 0)]  # round(255 v / 4)
    assert [tuple(int(c) for c in colour) for colour in heatmap_module.colormap(values, 0, 4)] == expected


def test_heatmap_cells_their_printed_values_and_the_colour_bar():
    """heatmap: cells ``cell`` pixels square from (80, 50); values printed in black on cells above the
    middle of ``[vmin, vmax]`` and white below it when cells are at least 34 px; a colour bar 25 px right
    of the cells, 16 px wide and max(m * cell, 100) px high, from vmax at the top to vmin at the bottom,
    with a black frame and ticks at vmax, the middle and vmin (the bar stops 10 px above the image's bottom).
    """
    matrix = np.array([[1.5, 0.5]])
    image = heatmap_module.heatmap(matrix, [1], [1, 2], "t", "x", "y", vmin=0, vmax=2, cell=34)
    high, low = viridis(round(255 * 0.75)), viridis(round(255 * 0.25))
    cells = image[50:84, 80:148]
    assert tuple(int(v) for v in image[50, 113]) == high and tuple(int(v) for v in image[83, 114]) == low
    assert tuple(int(v) for v in image[84, 100]) != high and tuple(int(v) for v in image[50, 148]) != low
    assert (cells[:, :34] == 0).all(axis=2).any() and not (cells[:, :34] == 255).all(axis=2).any()
    assert (cells[:, 34:] == 255).all(axis=2).any() and not (cells[:, 34:] == 0).all(axis=2).any()
    small = heatmap_module.heatmap(matrix, [1], [1, 2], "t", "x", "y", vmin=0, vmax=2, cell=33)
    assert (small[50:83, 80:113] == high).all()  # 33 px: no printed value
    # the bar would reach 100 px; it stops 10 px above the image's bottom: 50 + 34 + 70 - 50 - 10 = 94 px
    x, y, height = 80 + 2 * 34 + 25, 50, 94
    assert image.shape[0] == 154
    bar = image[y : y + height, x : x + 17]
    assert (bar[:, 0] == 0).all() and (bar[:, 16] == 0).all() and (bar[0] == 0).all() and (bar[-1] == 0).all()
    for k in range(1, height - 1):  # the fill: value 2 - 2 k / 93 at row k
        assert tuple(int(v) for v in bar[k, 8]) == viridis(round(255 * (1 - k / 93))), k
    for tick in (0, round(93 / 2), 93):  # vmax, the middle, vmin
        assert (image[y + tick, x + 17 : x + 21] == 0).all(), tick
        assert (image[y + tick - 3 : y + tick + 2, x + 23 : x + 40] < 100).any(), tick  # its value
