"""Contracts of the track drawing (`discmot.viz.draw`): stable distinct colours, boxes and labels where the
tracks are, trails that follow the box bottoms and forget old tracks, and no heavy imports."""

from __future__ import annotations

import itertools
import subprocess
import sys

import cv2
import numpy as np

from discmot.structures import Detections, Tracks
from discmot.viz.draw import (
    COCO_CLASS_NAMES,
    TrailHistory,
    caption_avoid,
    draw_caption,
    draw_detections,
    draw_label,
    draw_tracks,
    id_color,
    track_label,
)
from helpers import require_opencv_5


def tracks(ids, boxes, scores=None) -> Tracks:
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.ones(len(ids)) if scores is None else np.asarray(scores, dtype=np.float64)
    return Tracks(np.asarray(ids, np.int64), boxes, scores)


def lab(bgr_colours) -> np.ndarray:
    """``[n, 3]`` CIELAB (L in 0..100) of BGR uint8 colours: distances there follow perceived difference."""
    pixels = np.asarray(bgr_colours, np.float32).reshape(-1, 1, 3) / 255
    return cv2.cvtColor(pixels, cv2.COLOR_BGR2LAB).reshape(-1, 3)


def test_id_colors_are_stable_and_distinct():
    colors = [id_color(i) for i in range(0, 64)]
    assert colors == [id_color(i) for i in range(0, 64)]
    assert all(len(c) == 3 and all(isinstance(v, int) and 0 <= v <= 255 for v in c) for c in colors)
    assert len(set(colors[1:25])) == 24  # any 24 consecutive ids: 24 colours


def test_ids_alive_together_get_clearly_different_colours():
    # the golden-ratio hues drew ids 5 and 26 both orange, 2, 7, 15 and 23 all green in one crowd of the
    # demo video, and ids 1 and 14 at 5.5 CIELAB units
    values = lab([id_color(i) for i in range(64)])
    for a, b in itertools.combinations(range(64), 2):
        if b - a < 24:  # ids given out close in time, so often on screen together
            difference = values[a] - values[b]
            assert np.linalg.norm(difference) > 28, (a, b)
            # shades of one hue look alike in a thin line: differ in hue and chroma, not only lightness
            assert np.linalg.norm(difference * [0.5, 1, 1]) > 27, (a, b)
    hsv = cv2.cvtColor(np.uint8([id_color(i) for i in range(24)]).reshape(-1, 1, 3), cv2.COLOR_BGR2HSV)
    assert hsv[..., 2].min() >= 0.8 * 255  # bright enough for a box over a dark street


def test_draw_tracks_draws_boxes_in_the_id_colour_and_a_label():
    frame = np.zeros((120, 160, 3), np.uint8)
    result = draw_tracks(frame, tracks([3], [[40, 50, 30, 40]]))
    assert result is frame
    assert tuple(int(v) for v in frame[70, 40]) == id_color(3)  # left edge of the box
    assert tuple(int(v) for v in frame[70, 70]) == id_color(3)  # right edge
    assert not frame[60:80, 45:65].any()  # inside stays untouched
    label_area = frame[30:50, 40:60]
    assert (label_area == id_color(3)).all(axis=2).sum() > 50  # the filled label background


def label_pixels(frame: np.ndarray, track_id: int, rows: slice) -> int:
    return int((frame[rows] == id_color(track_id)).all(axis=2).sum())


def test_crowded_labels_move_down_instead_of_covering_each_other():
    # three boxes whose top-left corners are 3 px apart: their labels would land on one spot
    boxes = [[40, 50, 30, 40], [43, 50, 30, 40], [46, 50, 30, 40]]
    alone = np.zeros((120, 160, 3), np.uint8)
    draw_tracks(alone, tracks([1], boxes[:1]))
    one_label = label_pixels(alone, 1, slice(0, 50))  # the label above the box
    crowded = np.zeros((120, 160, 3), np.uint8)
    draw_tracks(crowded, tracks([1, 2, 7], boxes))
    above = slice(0, 50)
    assert label_pixels(crowded, 1, above) >= 0.9 * one_label  # the first label stays whole
    # the others moved below it, inside the boxes, and stay nearly whole too (box edges pass by)
    below = slice(50, 120)
    assert label_pixels(crowded, 2, below) > 0.6 * one_label
    assert label_pixels(crowded, 7, below) > 0.6 * one_label


def test_caption_sits_in_the_top_right_corner():
    frame = np.full((120, 160, 3), 200, np.uint8)
    assert draw_caption(frame, "frame 12") is frame
    changed = (frame != 200).any(axis=2)
    rows, cols = np.nonzero(changed)
    assert rows.min() == 0 and cols.max() == 159  # the corner
    assert rows.max() < 30 and cols.min() > 60  # and only there
    assert (frame[rows, cols] == 32).all(axis=1).mean() > 0.5  # a dark box behind light text


def test_draw_tracks_with_scores_and_boxes_outside_the_frame():
    frame = np.zeros((60, 80, 3), np.uint8)
    draw_tracks(frame, tracks([1, 2], [[-20, -10, 40, 30], [70, 50, 40, 40]], [0.5, 0.9]), show_scores=True)
    assert frame.any()
    draw_tracks(frame, Tracks.empty())


def test_trails_follow_box_bottom_centres_and_are_drawn():
    trails = TrailHistory(length=5)
    frame = np.zeros((100, 200, 3), np.uint8)
    for step in range(8):
        current = tracks([7], [[10 + 20 * step, 20, 10, 30]])
        trails.update(current)
    assert trails[7] == [(15 + 20 * step, 50) for step in range(3, 8)]  # the last 5 points
    draw_tracks(frame, current, trails)
    column = frame[45:56, 100].astype(float)  # across the trail, away from the box
    brightest = column[column.sum(axis=1).argmax()]
    color = np.array(id_color(7), float)
    assert np.allclose(brightest / brightest.max(), color / color.max(), atol=0.05)  # anti-aliased


def test_trails_forget_tracks_not_seen_for_length_frames():
    trails = TrailHistory(length=3)
    trails.update(tracks([1, 2], [[0, 0, 10, 10], [20, 20, 10, 10]]))
    for _ in range(2):
        trails.update(tracks([1], [[0, 0, 10, 10]]))
    assert trails[2] == [(25, 30)]
    trails.update(tracks([1], [[0, 0, 10, 10]]))
    assert trails[2] == [] and 2 not in trails.points


def test_draw_detections():
    frame = np.zeros((60, 80, 3), np.uint8)
    detections = Detections(np.array([[10.0, 10, 20, 20]]), np.array([0.75]))
    draw_detections(frame, detections)
    assert tuple(int(v) for v in frame[20, 10]) == (200, 200, 200)


def test_track_modules_import_no_heavy_libraries():
    code = (
        "import sys, discmot.viz.draw, discmot.io.video, discmot.engine.infer, discmot.cli\n"
        "heavy = [m for m in ('torch', 'onnxruntime', 'av', 'cv2', 'tqdm') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def stem_width(image: np.ndarray) -> int:
    """Widest run of dark pixels across the middle row of the dark text in ``image``."""
    dark = image.max(axis=2) < 128
    rows = np.flatnonzero(dark.any(axis=1))
    widest = run = 0
    for pixel in dark[(rows[0] + rows[-1]) // 2]:
        run = run + 1 if pixel else 0
        widest = max(widest, run)
    return widest


def test_label_strokes_thicken_with_the_frame():
    # a 1-pixel stroke at 1080p fades when the video is watched shrunk to a window
    # OpenCV 4.8.1 draws 3-pixel stems in 22-pixel text at 1080p
    require_opencv_5("the stroke widths asserted here")
    heights = {}
    for height in (576, 1080, 2160):
        frame = np.zeros((height, height * 16 // 9, 3), np.uint8)
        x1, y1, x2, y2 = draw_label(frame, "1", (100, 100), (255, 255, 255))  # black text on white
        label = frame[y1:y2, x1:x2]
        text_rows = np.flatnonzero((label.max(axis=2) < 128).any(axis=1))
        heights[height] = (stem_width(label), text_rows[-1] - text_rows[0] + 1)
    assert heights[576][0] >= 1
    for height in (1080, 2160):  # the old fixed stroke: 3 of 24 and 5 of 49 pixels
        stem, text_height = heights[height]
        assert stem >= text_height / 7, (height, heights)
    assert heights[2160][0] > heights[1080][0]


def test_labels_stay_inside_the_frame_and_their_box_at_every_size():
    for height, width in ((160, 256), (1080, 1920)):
        frame = np.zeros((height, width, 3), np.uint8)
        # boxes leaving the frame top-left and right, and a corner label at the bottom right
        x1, y1, x2, y2 = draw_label(frame, "123", (-40, -30), (255, 255, 255))
        assert 0 <= x1 and 0 <= y1 and x2 < width and y2 < height
        drawn = frame.any(axis=2)
        assert not drawn[y2 + 1 :].any() and not drawn[:, x2 + 1 :].any()  # the text stays on its box
        frame[:] = 0
        x1, y1, x2, y2 = draw_label(frame, "123", (width - 5, height), (255, 255, 255), above=False)
        assert 0 <= x1 and 0 <= y1 and x2 < width and y2 < height
        drawn = frame.any(axis=2)
        assert not drawn[:y1].any() and not drawn[:, :x1].any()


def test_track_labels_name_the_class_when_tracks_carry_one():
    assert track_label(12) == "12"  # a single-class tracker's labels are unchanged
    assert track_label(12, score=0.874) == "12 0.87"
    assert track_label(12, 2) == "car 12"  # COCO: 0 person, 2 car, 7 truck, 79 toothbrush
    assert track_label(3, 0, 0.5) == "person 3 0.50"
    assert (COCO_CLASS_NAMES[7], COCO_CLASS_NAMES[79], len(COCO_CLASS_NAMES)) == ("truck", "toothbrush", 80)
    assert track_label(5, 80) == "class 80 5"  # beyond COCO's names: the id, said to be a class
    assert track_label(5, -1) == "class -1 5"


def label_width(frame: np.ndarray, track_id: int, rows: slice) -> int:
    """Columns of ``rows`` holding the track's colour: the filled label background's width."""
    return int((frame[rows] == id_color(track_id)).all(axis=2).any(axis=0).sum())


def test_draw_tracks_writes_the_class_name_of_tracks_with_classes():
    require_opencv_5("the label glyphs compared here")
    plain, classed = np.zeros((120, 200, 3), np.uint8), np.zeros((120, 200, 3), np.uint8)
    box = [[20, 60, 30, 40]]
    draw_tracks(plain, tracks([4], box))
    with_class = tracks([4], box)
    draw_tracks(classed, Tracks(with_class.ids, with_class.boxes, with_class.scores, np.array([2])))
    assert (classed[60:] == plain[60:]).all()  # the same box; only the label differs
    above_box = slice(40, 58)
    # "car 4" is a wider label than "4", drawn as draw_label draws that text
    expected = np.zeros_like(plain)
    draw_label(expected, "car 4", (20, 60), id_color(4))
    assert label_width(classed, 4, above_box) == label_width(expected, 4, above_box)
    assert label_width(classed, 4, above_box) > 2 * label_width(plain, 4, above_box)


def test_a_label_in_the_top_right_corner_is_not_hidden_under_the_caption():
    """The caption (frame number) is drawn after the tracks; a label placed where it goes would vanish."""
    frame = np.zeros((160, 256, 3), np.uint8)
    # the box starts below the caption (16 px high here), its label above the box reaches into it
    tracks = Tracks(np.array([1]), np.array([[200.0, 20.0, 50.0, 80.0]]), np.array([0.9]))
    assert caption_avoid(frame, "frame 123")[0][3] < 20
    fill = np.array(id_color(1), np.uint8)
    label_pixels = (draw_tracks(frame.copy(), tracks) == fill).all(axis=2).sum()  # box and label

    def visible(avoid) -> int:
        drawn = draw_caption(draw_tracks(frame.copy(), tracks, avoid=avoid), "frame 123")
        return int((drawn == fill).all(axis=2).sum())

    assert visible(()) < label_pixels - 50  # without: the caption covers most of the label's fill
    assert visible(caption_avoid(frame, "frame 123")) >= label_pixels * 0.9
    assert caption_avoid(np.zeros((80, 48, 3), np.uint8), "frame 123") == []  # wider than half
