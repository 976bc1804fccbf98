"""Edge cases of the synthetic scenes (`discmot.data.synth`): the camera model, the panned background, the
visible-box rule, the painter's order and the written gt rows.

Expected values come from docs/synthetic.md, the modules' docstrings (scene.py: the pinhole camera
``u = W/2 + f (X - camera_x) / Z``, ``v = horizon + f (camera_height - Y) / Z``, ground depth
``Z = f camera_height / (v - horizon)``; render.py: boxes are the extent of the pixels an actor still owns,
visibility that count over its whole body, hidden below 10% or 4 pixels) and hand calculation on tiny,
hand-made inputs.
"""

from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest

from discmot.data.synth import figures, generate_dataset, render_sequence, writer
from discmot.data.synth.presets import PRESETS
from discmot.data.synth.render import (
    SynthFrame,
    _visible_boxes,
    check_render_request,
    make_scene,
    render_frame,
    sequence_rng,
)
from discmot.data.synth.scene import Actor, Camera, Scene
from discmot.data.synth.writer import gt_rows
from discmot.io.seqinfo import read_seqinfo, read_seqinfo_extra
from discmot.io.seqmaps import read_seqmap


def _actor(track_id: int, z: float = 10.0, present: bool = True, frames: int = 1) -> Actor:
    """A figure standing still at depth ``z`` (its look does not matter to the tests using it)."""
    colors = {part: (10 * track_id, 20, 30) for part in ("shirt", "pants", "skin", "hair", "accent")}
    return Actor(
        track_id=track_id,
        kind="figure",
        colors=colors,
        size=1.7,
        x=np.zeros(frames),
        y=np.zeros(frames),
        z=np.full(frames, z),
        phase=np.zeros(frames),
        present=np.full(frames, present),
    )


# --------------------------------------------------------------------------------------------------
# scene.py: the camera


def test_camera_projects_with_the_pinhole_formula_of_the_module_docstring():
    """``u = W/2 + f (X - camera_x) / Z`` and ``v = horizon + f (camera_height - Y) / Z``, by hand."""
    camera = Camera(width=100, height=60, focal=50.0, horizon=20.0, camera_height=2.0)
    u, v = camera.project(1.0, 0.5, 10.0, camera_x=0.5)
    assert (u, v) == pytest.approx((50 + 50 * 0.5 / 10, 20 + 50 * 1.5 / 10))  # (52.5, 27.5)
    u, v = camera.project(1.0, 0.5, 10.0)  # the camera on the axis by default
    assert (u, v) == pytest.approx((55.0, 27.5))


def test_ground_depth_is_focal_times_height_over_rows_below_the_horizon_and_inf_at_and_above_it():
    """Pixel centres (row + 0.5) on or above the horizon see the sky; below it the ground at
    ``Z = f h / (row + 0.5 - horizon)`` (scene.py docstring). Horizon 2.5: centres 0.5 .. 5.5 lie at
    -2, -1, 0, 1, 2, 3 from it, so rows 0-2 are sky and rows 3-5 are 15 / 1, 15 / 2 and 15 / 3 m."""
    camera = Camera(width=3, height=6, focal=10.0, horizon=2.5, camera_height=1.5)
    depth = camera.ground_depth()
    assert depth.shape == (6, 3) and depth.dtype == np.float32
    assert np.all(np.isinf(depth[:3]))
    np.testing.assert_allclose(depth[3:], np.repeat([[15.0], [7.5], [5.0]], 3, axis=1), rtol=1e-6)


def test_ground_depth_of_a_horizon_above_the_image_is_finite_everywhere():
    """A camera looking down (horizon row -1.5): row r's centre lies r + 2 rows below it."""
    camera = Camera(width=2, height=3, focal=4.0, horizon=-1.5, camera_height=3.0)
    np.testing.assert_allclose(camera.ground_depth()[:, 0], [12 / 2, 12 / 3, 12 / 4], rtol=1e-6)


# --------------------------------------------------------------------------------------------------
# scene.py: the panned background and backdrop


def _panned_scene(camera_x: list[float], **kwargs) -> Scene:
    camera = Camera(width=10, height=2, focal=10.0, horizon=0.0, camera_height=1.0)
    background = np.zeros((2, 20, 3), np.uint8)
    background[:, :, 0] = np.arange(20, dtype=np.uint8)  # each column shows its own index
    return Scene(camera, [], np.asarray(camera_x, np.float64), background, **kwargs)


def test_background_offset_starts_centred_and_pans_one_column_per_metre_by_default():
    """span = 20 - 10 columns; the camera at 0 sees the middle (offset 5); ``background_metres_per_column``
    is 1 by default, so 2 m right is 7 columns and 3 m is 8; the offset is clamped to [0, span]."""
    scene = _panned_scene([0.0, 2.0, 3.0, -100.0, 100.0, -4.0])
    assert [scene.background_offset(k) for k in range(6)] == [5, 7, 8, 0, 10, 1]
    np.testing.assert_array_equal(scene.background_view(1)[0, :, 0], np.arange(7, 17))
    np.testing.assert_array_equal(scene.background_view(3)[0, :, 0], np.arange(0, 10))
    np.testing.assert_array_equal(scene.background_view(4)[0, :, 0], np.arange(10, 20))


def test_background_offset_divides_the_pan_by_metres_per_column():
    """With 0.5 m per column, 2 m of pan is round(2 / 0.5) = 4 columns: offset 5 + 4."""
    scene = _panned_scene([2.0, -1.0], background_metres_per_column=0.5)
    assert [scene.background_offset(0), scene.background_offset(1)] == [9, 3]


def test_backdrop_view_is_the_panned_window_of_the_backdrop_or_all_inf_without_one():
    backdrop = np.tile(np.arange(20, dtype=np.float32), (2, 1))
    scene = _panned_scene([2.0], backdrop_depth=backdrop)
    np.testing.assert_array_equal(scene.backdrop_view(0), backdrop[:, 7:17])
    empty = _panned_scene([2.0]).backdrop_view(0)
    assert empty.shape == (2, 10) and empty.dtype == np.float32 and np.all(np.isinf(empty))


# --------------------------------------------------------------------------------------------------
# render.py: which requests are refused


@pytest.mark.parametrize("size", [(32, 32), (8192, 32), (32, 8192), [64, 48], (np.int64(40), np.int64(33))])
def test_render_request_accepts_each_side_from_32_to_8192_inclusive(size):
    """render.py: ``MIN_SIDE, MAX_SIDE = 32, 8192``, both ends allowed; a list or numpy integers are whole
    pixels too. Seed 0 and one frame are the smallest allowed."""
    check_render_request(0, 1, size)
    check_render_request(np.int64(3), np.int64(2), None)


@pytest.mark.parametrize(
    "seed, frames, size, words",
    [
        (0, 1, (31, 64), "32 to 8192"),
        (0, 1, (64, 8193), "32 to 8192"),
        (0, 1, (64, 48, 3), "whole pixels"),
        (0, 1, (True, 48), "whole pixels"),
        (True, 1, None, "seed"),
        (0, True, None, "at least 1"),
    ],
)
def test_render_request_refuses_a_side_just_outside_32_to_8192_and_bools(seed, frames, size, words):
    with pytest.raises(ValueError, match=words):
        check_render_request(seed, frames, size)


def test_sequence_generators_differ_by_split_and_index_and_repeat_for_the_same_arguments():
    """docs/synthetic.md: every scene is drawn from ``(seed, preset, split, sequence index)``; splits
    never share scenes."""

    def draw(*args):
        return sequence_rng(*args).integers(0, 2**62, size=4).tolist()

    reference = draw(0, "tiny", "train", 0)
    assert draw(0, "tiny", "train", 0) == reference
    others = [draw(1, "tiny", "train", 0), draw(0, "mot", "train", 0), draw(0, "tiny", "val", 0)]
    others.append(draw(0, "tiny", "train", 1))
    assert all(other != reference for other in others)


# --------------------------------------------------------------------------------------------------
# render.py: a frame of a hand-made scene

BACKGROUND = (200, 200, 200)  # no actor colour below is this grey


def _figure(track_id: int, x: float, z: float, colour: tuple[int, int, int], frames: int = 1) -> Actor:
    """A standing figure whose every body part has one colour, so its pixels can be found in the image."""
    actor = _actor(track_id, z, frames=frames)
    actor.x[:] = x
    actor.colors = dict.fromkeys(("shirt", "pants", "skin", "hair", "accent"), colour)
    return actor


def _scene(
    actors: list[Actor],
    width: int = 64,
    frames: int = 1,
    backdrop_rows: int = 0,
    height: int = 48,
    horizon: float = 20.0,
) -> Scene:
    """Camera 1.5 m high, focal 100 px, horizon on row 20: a figure of 1.7 m at 10 m is 17 px tall with
    its feet on row 20 + 100 * 1.5 / 10 = 35. The backdrop (if any) is 11 m away on the top rows."""
    camera = Camera(width=width, height=height, focal=100.0, horizon=horizon, camera_height=1.5)
    background = np.empty((height, width, 3), np.uint8)
    background[:] = BACKGROUND
    backdrop = None
    if backdrop_rows:
        backdrop = np.full((height, width), np.inf, np.float32)
        backdrop[:backdrop_rows] = 11.0
    return Scene(camera, actors, np.zeros(frames), background, backdrop_depth=backdrop)


def _render(scene: Scene, frame: int = 0):
    return render_frame(scene, frame, scene.camera.ground_depth())


def _mask(image: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    return np.all(image == np.asarray(colour, np.uint8), axis=2)


def _extent(mask: np.ndarray) -> list[float]:
    """``x, y, w, h`` of the bounding box of a mask's pixels, whole pixels (docs/synthetic.md, gt)."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return [cols[0], rows[0], cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1]


def test_a_lone_figure_gets_the_extent_of_its_pixels_full_visibility_and_its_own_depth():
    scene = _scene([_figure(5, 0.0, 10.0, (0, 0, 255))])
    frame = _render(scene)
    mine = _mask(frame.image, (0, 0, 255))
    assert mine.sum() > 20 and np.all(_mask(frame.image, BACKGROUND) | mine)
    assert frame.index == 1 and frame.ids.tolist() == [5]
    assert frame.boxes.tolist() == [_extent(mine)]
    assert frame.visibility.tolist() == [1.0]
    assert np.all(frame.depth[mine] == 10.0)  # a flat cut-out at the depth of its feet
    np.testing.assert_array_equal(frame.depth[~mine], scene.camera.ground_depth()[~mine])


def test_the_nearer_figure_is_painted_over_the_farther_and_cuts_its_box_and_visibility():
    """Painter's algorithm: the farther figure keeps only the pixels the nearer one leaves; its box is
    their extent and its visibility their count over its pixels when drawn alone (docs/synthetic.md)."""
    far, near = (0, 0, 255), (255, 0, 0)
    alone = _mask(_render(_scene([_figure(1, 0.0, 10.0, far)])).image, far)
    near_alone = _mask(_render(_scene([_figure(2, 0.3, 9.0, near)])).image, near)
    # the near figure listed first: the order of `actors` must not matter, only depth
    frame = _render(_scene([_figure(2, 0.3, 9.0, near), _figure(1, 0.0, 10.0, far)]))
    left = _mask(frame.image, far)
    np.testing.assert_array_equal(left, alone & ~near_alone)
    assert 0.1 * alone.sum() <= left.sum() < alone.sum()  # partly hidden, still visible
    assert frame.ids.tolist() == [1, 2]  # rows by id
    assert frame.boxes.tolist() == [_extent(left), _extent(near_alone)]
    np.testing.assert_allclose(frame.visibility, [left.sum() / alone.sum(), 1.0])
    assert np.all(frame.depth[left] == 10.0) and np.all(frame.depth[near_alone] == 9.0)


def test_figures_at_one_depth_are_painted_in_id_order_and_a_covered_one_has_no_box():
    """Equal depth: the larger id is painted last, on top; the one under it shows no pixel, so no row."""
    frame = _render(_scene([_figure(4, 0.0, 10.0, (0, 255, 0)), _figure(3, 0.0, 10.0, (0, 0, 255))]))
    assert frame.ids.tolist() == [4]
    assert not _mask(frame.image, (0, 0, 255)).any()
    assert frame.boxes.tolist() == [_extent(_mask(frame.image, (0, 255, 0)))]


def test_an_absent_figure_is_not_painted():
    actor = _figure(1, 0.0, 10.0, (0, 0, 255), frames=2)
    actor.present[1] = False
    scene = _scene([actor], frames=2)
    assert _render(scene, 0).ids.tolist() == [1]
    later = _render(scene, 1)
    assert later.index == 2 and later.ids.tolist() == [] and later.boxes.shape == (0, 4)
    assert np.all(_mask(later.image, BACKGROUND))


@pytest.mark.parametrize("x", [2.9, -3.2])
def test_a_figure_cut_by_the_border_has_visibility_over_its_whole_unclipped_body(x):
    """Visibility counts the pixels the whole body covers drawn alone, unclipped: here the same figure
    fully inside a camera 64 columns wider (the same figure, moved by a whole 32 pixels). x = 2.9 m puts
    the feet on column 32 + 100 * 2.9 / 10 = 61 (cut by the right border), -3.2 m on column 0 (left)."""
    colour = (0, 0, 255)
    cut = _render(_scene([_figure(1, x, 10.0, colour)]))
    whole = _render(_scene([_figure(1, x, 10.0, colour)], width=128))  # feet 32 columns further right
    inside, body = _mask(cut.image, colour), _mask(whole.image, colour)
    assert 0.1 * body.sum() < inside.sum() < body.sum()
    np.testing.assert_array_equal(inside, body[:, 32:96])
    assert cut.boxes.tolist() == [_extent(inside)]
    assert cut.boxes[0, 0] == 0 if x < 0 else cut.boxes[0, 0] + cut.boxes[0, 2] == 64
    assert cut.visibility[0] == pytest.approx(inside.sum() / body.sum())


@pytest.mark.parametrize(
    "z, cut, whole, rows",
    [
        (3.5, {}, {"height": 96}, slice(0, 48)),  # feet on row 20 + 150 / 3.5 = 63: cut by the bottom
        (10.0, {"horizon": -5.0}, {"height": 80, "horizon": 27.0}, slice(32, 80)),  # head above row 0
    ],
)
def test_a_figure_cut_by_the_top_or_bottom_border_has_visibility_over_its_whole_body(z, cut, whole, rows):
    """As for the side borders: the whole body counted in a taller camera that holds it (a horizon 32
    rows lower moves it down by whole pixels)."""
    colour = (0, 0, 255)
    inside = _mask(_render(_scene([_figure(1, 0.0, z, colour)], **cut)).image, colour)
    body = _mask(_render(_scene([_figure(1, 0.0, z, colour)], **whole)).image, colour)
    frame = _render(_scene([_figure(1, 0.0, z, colour)], **cut))
    assert 0.1 * body.sum() < inside.sum() < body.sum()
    np.testing.assert_array_equal(inside, body[rows])
    assert frame.boxes.tolist() == [_extent(inside)]
    assert frame.visibility[0] == pytest.approx(inside.sum() / body.sum())


def test_a_figure_entirely_outside_the_image_has_no_row():
    frame = _render(_scene([_figure(1, 20.0, 10.0, (0, 0, 255))]))
    assert frame.ids.tolist() == [] and np.all(_mask(frame.image, BACKGROUND))


def test_many_stacked_figures_look_like_the_top_one_alone():
    """Sixty figures (more than 51, so more part codes than a byte holds) at one place and depth: the
    last painted (largest id) covers the others, so the frame is that figure drawn alone."""
    colours = [(k, 255 - k, 7) for k in range(1, 61)]
    stack = _render(_scene([_figure(k, 0.0, 10.0, colours[k - 1]) for k in range(1, 61)]))
    top = _render(_scene([_figure(60, 0.0, 10.0, colours[59])]))
    np.testing.assert_array_equal(stack.image, top.image)
    assert stack.ids.tolist() == [60] and stack.boxes.tolist() == top.boxes.tolist()
    np.testing.assert_array_equal(stack.depth, top.depth)


def test_empty_scene_depth_is_the_nearer_of_the_backdrop_and_the_ground():
    """docs/synthetic.md: the backdrop at a fixed distance (here 11 m on rows 0-29), the ground per row
    below the horizon (row 20), the sky infinitely far. Row 25's ground is 150 / 5.5 = 27.3 m: the
    backdrop is nearer; row 40's ground is 150 / 20.5 = 7.3 m: the ground is nearer."""
    frame = _render(_scene([], backdrop_rows=30))
    assert np.all(frame.depth[:30] == np.float32(11.0))
    np.testing.assert_allclose(frame.depth[40], 150 / 20.5, rtol=1e-6)
    assert np.all(np.isinf(_render(_scene([])).depth[:20]))
    assert frame.ids.tolist() == [] and frame.boxes.shape == (0, 4) and frame.visibility.shape == (0,)


def test_visible_box_rule_keeps_exactly_4_pixels_and_exactly_10_percent_and_clips_to_the_image():
    """render.py: hidden below ``MIN_VISIBLE_PIXELS`` (4) pixels or below ``MIN_VISIBLE_FRACTION`` (10%)
    of the body; both ends kept. Hand-made owner map (``slots``) and painted list ``(actor, bounds, full)``.
    """
    slots = np.zeros((10, 12), np.int64)
    slots[2, 3:6] = 1  # id 7: 4 pixels of 40, an L: box x 3-5, y 2-3
    slots[3, 3] = 1
    slots[5, 0:3] = 2  # id 3: 3 pixels of 3: too few
    slots[7:9, 9:12] = 3  # id 5: 6 pixels of 61: under 10%
    slots[0:2, 0:2] = 4  # id 2: 4 pixels, its bounds reaching outside the image (top-left)
    slots[9, 6:11] = 5  # id 9: 5 pixels of 50: exactly 10%
    painted = [
        (_actor(7), (2, 1, 7, 5), 40),
        (_actor(3), (0, 4, 4, 7), 3),
        (_actor(5), (8, 6, 13, 10), 61),
        (_actor(2), (-3, -2, 2, 2), 16),
        (_actor(9), (5, 8, 12, 11), 50),
    ]
    ids, boxes, visibility = _visible_boxes(slots, painted)
    assert ids.dtype == np.int64 and boxes.dtype == np.float64
    assert ids.tolist() == [2, 7, 9]  # sorted by id, like MOTChallenge gt
    assert boxes.tolist() == [[0, 0, 2, 2], [3, 2, 3, 2], [6, 9, 5, 1]]
    np.testing.assert_allclose(visibility, [4 / 16, 4 / 40, 5 / 50])


def test_visibility_is_capped_at_1():
    """SynthFrame: visibility in (0, 1]."""
    slots = np.ones((3, 3), np.int64)
    _, _, visibility = _visible_boxes(slots, [(_actor(1), (0, 0, 3, 3), 8)])
    assert visibility.tolist() == [1.0]


# --------------------------------------------------------------------------------------------------
# figures.py: bodies, bounds, fixed point


def _posed(kind: str, style: int, phase: float, traits: dict | None = None) -> Actor:
    actor = _actor(1)
    actor.kind, actor.style, actor.phase[:] = kind, style, phase
    actor.traits = dict(traits or {})
    return actor


def _drawn(shapes, size: int = 400) -> np.ndarray:
    canvas = np.zeros((size, size), np.uint8)
    figures.paint(canvas, figures.to_fixed(shapes), None, value=1)
    return canvas.astype(bool)


POSES = [
    ("figure", style, phase, traits)
    for style in (0, 1, 2, 3)
    for phase in (0.0, 1.3, 2.9, 4.4)
    for traits in ({}, {"shoulders": 1.2, "limbs": 1.3, "head": 1.1, "hair": 0.9, "arms": 0.4, "spin": 0.5})
] + [("bird", 0, phase, {"heading": heading}) for phase in (0.0, 1.57, 4.71) for heading in (1.0, -1.0)]


@pytest.mark.parametrize("kind, style, phase, traits", POSES)
def test_primitives_bounds_enclose_every_painted_pixel(kind, style, phase, traits):
    """figures.py: ``primitives_bounds`` are integer pixel bounds (exclusive end) enclosing all shapes;
    render.py clips the box search to them, so a pixel outside would be lost from an actor's box."""
    shapes = figures.primitives(_posed(kind, style, phase, traits), 0, 200.3, 260.7, 90.0 / 1.7)
    x0, y0, x1, y1 = figures.primitives_bounds(shapes)
    drawn = _drawn(shapes)
    assert drawn.any()
    outside = drawn.copy()
    outside[y0:y1, x0:x1] = False
    assert not outside.any()


@pytest.mark.parametrize("kind, style, phase, traits", POSES[::5])
def test_painting_at_an_origin_is_the_window_of_painting_at_0(kind, style, phase, traits):
    """``paint(..., origin=(x0, y0))`` subtracts the origin from every coordinate: the actor's own mask
    (render.py counts the unclipped body with it) is the same pixels as in the full canvas."""
    shapes = figures.primitives(_posed(kind, style, phase, traits), 0, 200.3, 260.7, 90.0 / 1.7)
    x0, y0, x1, y1 = figures.primitives_bounds(shapes)
    own = np.zeros((y1 - y0, x1 - x0), np.uint8)
    figures.paint(own, figures.to_fixed(shapes), None, value=1, origin=(x0, y0))
    np.testing.assert_array_equal(own.astype(bool), _drawn(shapes)[y0:y1, x0:x1])


STANDING = [(0, 0.0), (0, 1.2), (1, 3.1), (1, 5.0), (2, 0.0), (3, 1.0), (3, 4.0)]


@pytest.mark.parametrize("style, phase", STANDING)
def test_a_figure_stands_on_its_feet_and_a_walker_is_its_size_tall(style, phase):
    """figures.py / scene.py: the feet at pixel ``(u, v)``; ``size`` is the body height (1.7 m at 50 px
    per metre: 85 px), head to feet for a walker (styles 0-1: arms hang; a dancer's raised arms may
    reach above the head). Allowed: a few percent for the pose and the stroke width."""
    h = 85.0
    drawn = _drawn(figures.primitives(_posed("figure", style, phase), 0, 200.0, 300.0, h / 1.7))
    rows = np.flatnonzero(drawn.any(axis=1))
    cols = np.flatnonzero(drawn.any(axis=0))
    assert abs(rows[-1] + 1 - 300.0) <= 0.05 * h  # lowest pixel at the feet
    assert cols[0] < 200 < cols[-1]  # standing over u
    if style < 2:
        assert abs((rows[-1] + 1 - rows[0]) - h) <= 0.06 * h  # head to feet
        assert (cols[-1] - cols[0]) < 0.6 * h  # a walker is taller than wide


@pytest.mark.parametrize("phase", [0.0, 1.0, 2.5])
def test_a_bird_is_centred_on_its_body_and_its_wingspan_wide(phase):
    """A bird's ``(u, v)`` is its body centre and ``size`` its wingspan (0.5 m at 120 px per metre)."""
    actor = _posed("bird", 0, phase)
    actor.size = 0.5
    span = 60.0
    drawn = _drawn(figures.primitives(actor, 0, 200.0, 200.0, span / 0.5))
    cols = np.flatnonzero(drawn.any(axis=0))
    assert abs((cols[-1] + 1 - cols[0]) - span) <= 0.05 * span
    assert abs((cols[0] + cols[-1] + 1) / 2 - 200.0) <= 0.05 * span
    assert drawn[200, 200]  # the body covers its centre


def test_to_fixed_converts_to_sixteenths_of_a_pixel_with_minimum_sizes():
    """figures.py: drawn with 1/16-pixel precision (cv2 shift 4): coordinates times 16, rounded; a line
    at least 1 px thick, a circle's radius and an ellipse's half-axes at least half a pixel (8/16)."""
    shapes = [
        ("poly", "shirt", np.array([[1.0, 2.0], [3.5, 4.25], [0.03, 5.0]])),
        ("line", "pants", (1.0, 2.0), (3.0, 4.0), 0.3),
        ("line", "pants", (0.0, 0.0), (1.0, 1.0), 2.6),
        ("circle", "skin", (2.0, 3.0), 0.1),
        ("circle", "skin", (2.0, 3.0), 1.5),
        ("ellipse", "hair", (1.0, 1.0), (0.2, 2.0), 30.0),
    ]
    fixed = figures.to_fixed(shapes)
    np.testing.assert_array_equal(fixed[0][2], [[16, 32], [56, 68], [0, 80]])
    assert fixed[0][2].dtype == np.int32
    assert fixed[1][2:] == ((16, 32), (48, 64), 1) and fixed[2][2:] == ((0, 0), (16, 16), 3)
    assert fixed[3][2:] == ((32, 48), 8) and fixed[4][2:] == ((32, 48), 24)
    assert fixed[5][2:] == ((16, 16), (8, 32), 30.0)
    assert [f[:2] for f in fixed] == [s[:2] for s in shapes]


def test_painting_in_colours_uses_each_shapes_colour_key():
    canvas = np.zeros((20, 20), np.uint8)
    shapes = [("circle", "skin", (5.0, 5.0), 2.0), ("circle", "hair", (14.0, 14.0), 2.0)]
    figures.paint(canvas, figures.to_fixed(shapes), {"skin": 3, "hair": 9})
    assert canvas[5, 5] == 3 and canvas[14, 14] == 9 and canvas[0, 0] == 0


# --------------------------------------------------------------------------------------------------
# writer.py: the written files


def test_gt_rows_are_frame_id_integer_box_1_1_and_visibility_to_4_decimals():
    """docs/synthetic.md (Files, Ground truth): ``frame,id,x,y,w,h,1,1,visibility``, whole pixels,
    visibility with 4 decimals; the MOTChallenge gt columns of spec eval.md."""
    frame = SynthFrame(
        index=3,
        image=np.zeros((4, 4, 3), np.uint8),
        depth=np.ones((4, 4), np.float32),
        ids=np.array([2, 11], np.int64),
        boxes=np.array([[0.0, 1.0, 10.0, 20.0], [5.0, 6.0, 7.0, 8.0]]),
        visibility=np.array([1.0, 1 / 3]),
    )
    assert gt_rows(frame) == "3,2,0,1,10,20,1,1,1.0000\n3,11,5,6,7,8,1,1,0.3333\n"
    empty = SynthFrame(1, frame.image, frame.depth, np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0))
    assert gt_rows(empty) == ""


def test_written_images_are_jpeg_quality_92_of_the_rendered_frames_with_6_digit_names_for_mot(tmp_path):
    """docs/synthetic.md: ``img1/<frame>.jpg``, JPEG quality 92, ``000001.jpg`` for mot (6 digits);
    OpenCV's encoder at that quality is the reference."""
    (folder,) = generate_dataset(tmp_path, "mot", split="val", sequences=1, frames=2, size=(64, 48), seed=4)
    assert sorted(p.name for p in (folder / "img1").iterdir()) == ["000001.jpg", "000002.jpg"]
    assert sorted(p.name for p in (folder / "depth").iterdir()) == ["000001.png", "000002.png"]
    for frame in render_sequence("mot", 4, 2, size=(64, 48), split="val"):
        ok, expected = cv2.imencode(".jpg", frame.image, [cv2.IMWRITE_JPEG_QUALITY, 92])
        assert ok and (folder / "img1" / f"{frame.index:06d}.jpg").read_bytes() == expected.tobytes()


def test_seqinfo_names_the_scene_it_was_rendered_from(tmp_path):
    """docs/synthetic.md: a ``[discmot]`` section (synthPreset, synthSeed, synthSplit, synthIndex) from
    which ``discmot depth --estimator synthetic`` re-renders the depth; seqLength, frameRate and the size
    as asked (spec eval.md, seqinfo.ini)."""
    folders = generate_dataset(tmp_path, "tiny", split="val", sequences=2, frames=3, size=(48, 40), seed=9)
    assert [f.name for f in folders] == ["tiny-val-0000", "tiny-val-0001"]
    info = read_seqinfo(folders[1] / "seqinfo.ini")
    assert (info.name, info.length, info.frame_rate) == ("tiny-val-0001", 3, 10)
    assert (info.width, info.height) == (48, 40)
    extra = read_seqinfo_extra(folders[1] / "seqinfo.ini")
    assert {k: extra[k] for k in ("synthPreset", "synthSeed", "synthSplit", "synthIndex")} == {
        "synthPreset": "tiny",
        "synthSeed": "9",
        "synthSplit": "val",
        "synthIndex": "1",
    }
    assert not [p for p in (tmp_path / "val").iterdir() if p.name.startswith(".")]  # no staging left


def test_the_second_sequence_is_the_scene_of_index_1(tmp_path):
    """``generate_dataset`` writes sequence ``index`` of ``split`` (render.py, render_sequence)."""
    folders = generate_dataset(tmp_path, "tiny", sequences=2, frames=2, seed=1)
    rows = np.loadtxt(folders[1] / "gt" / "gt.txt", delimiter=",", ndmin=2)
    frame = next(iter(render_sequence("tiny", 1, 2, index=1)))
    first = rows[rows[:, 0] == 1]
    np.testing.assert_array_equal(first[:, 1], frame.ids)
    np.testing.assert_array_equal(first[:, 2:6], frame.boxes)


def test_the_seqmap_drops_a_listed_sequence_whose_folder_is_gone(tmp_path):
    """writer.py: other presets' sequences are kept in the seqmap, names whose folder is gone dropped."""
    generate_dataset(tmp_path, "mot", sequences=2, frames=1, size=(48, 40))
    shutil.rmtree(tmp_path / "train" / "mot-train-0001")
    generate_dataset(tmp_path, "tiny", sequences=1, frames=1)
    assert read_seqmap(tmp_path / "train_seqmap.txt") == ["mot-train-0000", "tiny-train-0000"]


def test_a_rerun_counts_the_sequences_it_replaces_and_only_keeps_its_own_presets(tmp_path, caplog):
    """Said in the log (writer.py): ``replacing 2 sequences``; another preset's folders are not 'kept'."""
    generate_dataset(tmp_path, "mot", sequences=1, frames=1, size=(48, 40))
    generate_dataset(tmp_path, "tiny", sequences=2, frames=1)
    with caplog.at_level("INFO", logger="discmot"):
        generate_dataset(tmp_path, "tiny", sequences=2, frames=1)
    assert "replacing 2 sequences of an earlier render (tiny-train-0000)" in caplog.text
    assert "keeps" not in caplog.text and "lists the earlier" not in caplog.text


def test_without_jde_no_jde_folder_is_written_and_the_defaults_are_4_sequences_of_seed_0(tmp_path):
    """docs/synthetic.md: ``<root>/jde/`` only with ``--jde``; ``discmot synth`` renders 4 sequences by
    default (``generate_dataset(..., sequences=4, seed=0)``)."""
    folders = generate_dataset(tmp_path, "tiny", frames=1)
    assert [f.name for f in folders] == [f"tiny-train-{k:04d}" for k in range(4)]
    assert not (tmp_path / "jde").exists()
    assert read_seqinfo_extra(folders[0] / "seqinfo.ini")["synthSeed"] == "0"


def test_a_sequence_may_have_exactly_max_frames(tmp_path, monkeypatch):
    """docs/synthetic.md: a sequence has *at most* 10,000 frames, so the cap itself is allowed (the cap
    lowered to 2 here, so as not to render 10,000 frames)."""
    monkeypatch.setattr(writer, "MAX_FRAMES", 2)
    (folder,) = generate_dataset(tmp_path, "tiny", sequences=1, frames=2)
    assert read_seqinfo(folder / "seqinfo.ini").length == 2
    with pytest.raises(ValueError, match="at most 2"):
        generate_dataset(tmp_path / "longer", "tiny", sequences=1, frames=3)


@pytest.mark.parametrize(
    "seqinfo",
    [
        b"[Sequence]\nname=tiny-train-0000\nseqLength=1\n",
        b"[Sequence]\nname=\xff\xfe not UTF-8\n",
        b"not an ini file\n",  # configparser's MissingSectionHeaderError, once a traceback
    ],
)
def test_a_users_folder_whose_seqinfo_has_no_discmot_section_is_not_replaced(tmp_path, seqinfo):
    """docs/synthetic.md: a folder with a sequence's name that synth did not write (no ``[discmot]``
    section in its ``seqinfo.ini``, or no ini file at all) is never replaced: the run stops before
    writing anything."""
    mine = tmp_path / "train" / "tiny-train-0000"
    (mine / "img1").mkdir(parents=True)
    (mine / "seqinfo.ini").write_bytes(seqinfo)
    with pytest.raises(FileExistsError, match="not a discmot synth sequence"):
        generate_dataset(tmp_path, "tiny", sequences=1, frames=1)
    assert sorted(p.name for p in mine.iterdir()) == ["img1", "seqinfo.ini"]
    assert not (tmp_path / "train_seqmap.txt").exists()


def test_a_progress_bar_replaces_the_line_per_sequence(tmp_path, caplog):
    """writer.py: without a bar (a log file, a batch job) each finished sequence is logged; with one, not."""
    with caplog.at_level("INFO", logger="discmot"):
        generate_dataset(tmp_path / "bar", "tiny", sequences=1, frames=1, progress=True)
    assert "(1 of 1 sequences)" not in caplog.text
    with caplog.at_level("INFO", logger="discmot"):
        generate_dataset(tmp_path / "log", "tiny", sequences=1, frames=1)
    assert "tiny-train-0000: 1 frames (1 of 1 sequences)" in caplog.text


@pytest.mark.parametrize("phase", np.linspace(0.0, 2 * np.pi, 9))
def test_a_walkers_legs_alternate_half_a_gait_cycle_apart(phase):
    """figures.py: a walking gait (styles 0-1); the left leg at phase p moves as the right one does half a
    cycle later, at p + pi. A dance step (styles 2+) kicks the legs in turn, mirrored (angles negated):
    the left leg at p is the right one mirrored a step later (its kick runs at half the phase rate)."""
    left, right = figures._leg_angles(0, phase, -1.0), figures._leg_angles(0, phase + np.pi, 1.0)
    assert left == pytest.approx(right, abs=1e-12)
    left, right = figures._leg_angles(2, phase, -1.0), figures._leg_angles(2, phase + 2 * np.pi, 1.0)
    assert left == pytest.approx((-right[0], -right[1]), abs=1e-12)


@pytest.mark.parametrize("origin", [(150, 0), (0, 170)])
def test_painting_at_an_origin_on_one_axis_only_shifts_every_shape(origin):
    """``origin`` is subtracted from every coordinate even when one of its two parts is 0 (an actor
    whose bounds start on row 0 or column 0); a torso polygon left unshifted would land elsewhere."""
    shapes = figures.primitives(_posed("figure", 0, 0.7), 0, 200.3, 260.7, 90.0 / 1.7)
    fixed = figures.to_fixed(shapes)
    full = np.zeros((400, 400), np.uint8)
    figures.paint(full, fixed, None, value=1)
    own = np.zeros((400 - origin[1], 400 - origin[0]), np.uint8)
    figures.paint(own, fixed, None, value=1, origin=origin)
    np.testing.assert_array_equal(own, full[origin[1] :, origin[0] :])


# --------------------------------------------------------------------------------------------------
# presets.py: the documented table


def test_presets_have_the_sizes_rates_and_names_of_the_docs_table():
    """docs/synthetic.md, Presets: frame rate, image name digits (8 for dancetrack and tiny), default
    size x frames (320x192 x 200; tiny 128x80 x 12) and the cast (objects alive)."""
    table = {
        "dancetrack": (20, 8, (320, 192), 200, (10, 14)),
        "sportsmot": (25, 6, (320, 192), 200, (10, 13)),
        "bft": (25, 6, (320, 192), 200, (20, 32)),
        "mot": (30, 6, (320, 192), 200, (8, 14)),
        "tiny": (10, 8, (128, 80), 12, (4, 4)),
    }
    assert list(PRESETS) == list(table)
    for name, (rate, digits, size, frames, objects) in table.items():
        config = PRESETS[name]
        assert (config.name, config.frame_rate, config.frame_digits) == (name, rate, digits)
        assert (config.size, config.frames, config.objects) == (size, frames, objects)


@pytest.mark.parametrize("preset", ["dancetrack", "sportsmot", "bft"])
def test_a_whole_cast_preset_draws_its_count_within_the_documented_range(preset):
    """presets.py, SynthConfig.objects: dancetrack, sportsmot and bft draw a count in ``(min, max)``, both
    ends included, for the whole sequence. Over 40 seeds every count is in range and both ends occur
    for dancetrack (5 values: each end missed by all 40 seeds with probability (4/5)^40, about 1e-4)."""
    low, high = PRESETS[preset].objects
    counts = {len(make_scene(PRESETS[preset], seed, 2, size=(64, 48)).actors) for seed in range(40)}
    assert low <= min(counts) and max(counts) <= high
    if preset == "dancetrack":
        assert {low, high} <= counts
