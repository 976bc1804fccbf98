"""Edge cases of CSTrack's per-image training pipeline and its letterbox (`discmot.data.jde_transforms`,
`discmot.data.letterbox`; spec ``cstrack.md`` §1.3, §6.4) that the contract tests leave open: the
original's defaults, the box filter's strict thresholds, the clip bounds, and the YOLOv5 meaning of the
random-perspective magnitudes (each drawn symmetrically about its neutral value).

Expected values are hand calculations written in the tests (OpenCV's own ``perspectiveTransform`` /
``warpPerspective`` serve as the reference where a warp is applied).
"""

from __future__ import annotations

import dataclasses
import math

import cv2
import numpy as np
import pytest

from discmot.data.jde_transforms import (
    JDETransformConfig,
    augment_hsv,
    box_candidates,
    perspective_matrix,
    random_perspective,
    resize_to_input,
    transform_sample,
)
from discmot.data.letterbox import letterbox, letterbox_hw


class ScriptedRng:
    """A stand-in for ``numpy.random.Generator`` whose ``uniform`` returns the low or high end of every
    range it is asked for, and records the ``(low, high, size)`` of each call."""

    def __init__(self, end: str, flip: float = 0.99):
        self.end = end
        self.calls: list[tuple[float, float, int | None]] = []
        self.flip = flip

    def uniform(self, low, high, size=None):
        self.calls.append((float(low), float(high), size))
        value = low if self.end == "low" else high
        return value if size is None else np.full(size, value, np.float64)

    def random(self):
        return self.flip


def only(**magnitudes) -> JDETransformConfig:
    return JDETransformConfig(size=(100, 50), **magnitudes)


# --------------------------------------------------------------------------------------------------
# defaults (§6.4, §6.7 seeds)


def test_defaults_are_the_original_training_pipeline():
    """§6.4: stretch to 1088x608, every perspective magnitude 0, HSV gains 1 +- (0.015, 0.5, 0.4), flip 0.5,
    box filter w, h > 2 px / area ratio > 0.2 / aspect < 20; global seed 2020 (§6.7 "Seeds: global 2020").
    The 114 border fill is YOLOv5's ``random_perspective`` ``borderValue=(114, 114, 114)``."""
    config = JDETransformConfig()
    assert config.size == (1088, 608) and config.resize == "stretch"
    assert (config.degrees, config.translate, config.scale, config.shear, config.perspective) == (
        0,
        0,
        0,
        0,
        0,
    )
    assert config.hsv_gains == (0.015, 0.5, 0.4) and config.flip_prob == 0.5
    assert (config.min_box_size, config.min_area_ratio, config.max_aspect_ratio) == (2.0, 0.2, 20.0)
    assert config.seed == 2020 and config.border_value == 114
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.flip_prob = 0.0  # a frozen value object, shared by every worker's samples


def test_default_pipeline_output_is_1088_by_608():
    """§6.4 step 1: whatever the input size, the training image is 1088 wide and 608 high."""
    image = np.zeros((30, 50, 3), np.uint8)
    labels = np.array([[0, 1, 0.5, 0.5, 0.5, 0.5]])
    out, targets = transform_sample(image, labels, np.random.default_rng(0))
    assert out.shape == (608, 1088, 3) and targets.shape == (1, 6)


def test_the_smallest_allowed_size_is_4_pixels():
    """`JDETransformConfig` takes sizes of at least 4 pixels a side (4 itself included)."""
    assert JDETransformConfig(size=(4, 4)).size == (4, 4)
    with pytest.raises(ValueError, match="at least 4"):
        JDETransformConfig(size=(3, 8))


# --------------------------------------------------------------------------------------------------
# box filter (§6.4 step 2): strict > 2 px, > 0.2 area ratio, < 20 aspect ratio


def test_box_filter_keeps_boxes_just_over_each_threshold():
    """Boxes not anchored at 0 (the widths are ``x2 - x1``): 2.5 px wide is > 2; 4.5 x 4.5 of 10 x 10 is
    area ratio 0.2025 > 0.2; 59 x 3 is aspect 19.67 < 20 — all kept."""
    config = JDETransformConfig()
    before = np.array([[5, 7, 15, 17]] * 3, np.float64)  # 10 x 10
    after = np.array(
        [
            [6, 8, 8.5, 18],  # 2.5 x 10, area 0.25
            [9, 9, 13.5, 13.5],  # 4.5 x 4.5, area 0.2025
            [3, 4, 62, 7],  # 59 x 3, aspect 19.67, area 1.77
        ],
        np.float64,
    )
    np.testing.assert_array_equal(box_candidates(before, after, config), [True, True, True])


def test_box_filter_drops_boxes_at_each_threshold():
    """The comparisons are strict and each one alone drops a box: width exactly 2 px, height exactly 2 px
    (both with area ratio 0.24 and aspect 6, which pass), an area ratio of exactly 0.2 (4 x 5 of 10 x 10)
    and an aspect ratio of exactly 20 (60 x 3)."""
    config = JDETransformConfig()
    before = np.array([[5, 7, 15, 17]] * 4, np.float64)
    after = np.array(
        [
            [6, 8, 8, 20],  # 2 x 12
            [6, 8, 18, 10],  # 12 x 2
            [9, 9, 13, 14],  # 4 x 5 = 0.2 of 100
            [3, 4, 63, 7],  # 60 x 3: aspect 20
        ],
        np.float64,
    )
    np.testing.assert_array_equal(box_candidates(before, after, config), [False, False, False, False])


def test_box_filter_area_uses_the_warp_scale():
    """YOLOv5 compares the warped area with the original box times the warp's scale: a box shrunk by a
    0.5 scale warp (area 1/4 of before) is kept, its scaled area being the same."""
    config = only(scale=0.5, flip_prob=0.0)
    image = np.zeros((50, 100, 3), np.uint8)
    boxes = np.array([[30.0, 5.0, 70.0, 45.0]])  # 40 x 40 about the centre (50, 25)
    _, kept, keep = random_perspective(image, boxes, ScriptedRng("low"), config)
    # scale 1 - 0.5 about the centre: x 50 +- 10, y 25 +- 10
    assert keep.tolist() == [True]
    np.testing.assert_allclose(kept, [[40, 15, 60, 35]])


# --------------------------------------------------------------------------------------------------
# clip bounds: [1, W-1] x [1, H-1] after the resize (§6.4 step 1), [0, W] x [0, H] after the warp


def test_resize_clips_boxes_at_the_right_and_bottom_edges_to_w_minus_1_and_h_minus_1():
    """§6.4 step 1: "clip x to [1, 1087] and y to [1, 607]", i.e. [1, W-1] x [1, H-1] of the resized image."""
    config = JDETransformConfig(size=(100, 50))
    labels = np.array([[0, 1, 0.95, 0.95, 0.2, 0.2]])  # x 85..105, y 42.5..52.5 at 100 x 50
    _, boxes = resize_to_input(np.zeros((10, 20, 3), np.uint8), labels, config)
    np.testing.assert_allclose(boxes, [[85, 42.5, 99, 49]])


def test_resize_clips_boxes_at_the_left_and_top_edges_to_1():
    config = JDETransformConfig(size=(100, 50), resize="letterbox")
    labels = np.array([[0, 1, 0.02, 0.02, 0.2, 0.2]])  # a 20x10 image letterboxed to 100x50: no padding
    _, boxes = resize_to_input(np.zeros((10, 20, 3), np.uint8), labels, config)
    np.testing.assert_allclose(boxes, [[1, 1, 12, 6]])


def test_warped_boxes_are_clipped_to_the_image_from_zero():
    """A translation of -0.1 x (100, 50) moves box (2, 2, 20, 20) to (-8, -3, 10, 15): its hull is clipped
    to x >= 0, y >= 0 (not 1), and the area it keeps, 10 x 15 of 18 x 18, passes the filter. The pixels the
    shift uncovers (right and bottom) take the border value."""
    config = only(translate=0.1, border_value=7, flip_prob=0.0)
    image = np.full((50, 100, 3), 200, np.uint8)
    out, kept, keep = random_perspective(
        image, np.array([[2.0, 2.0, 20.0, 20.0]]), ScriptedRng("low"), config
    )
    assert keep.tolist() == [True]
    np.testing.assert_allclose(kept, [[0, 0, 10, 15]])
    assert (out[:, 90:] == 7).all() and (out[45:] == 7).all() and (out[:45, :90] == 200).all()


# --------------------------------------------------------------------------------------------------
# random perspective (YOLOv5 meaning of the magnitudes, module docstring)


def test_perspective_draws_every_magnitude_symmetrically_in_the_documented_order():
    """Draw order: perspective x, y in +-perspective; angle in +-degrees; scale in 1 +- scale; shear x, y in
    +-shear degrees; translation x, y in 0.5 +- translate of the size."""
    config = only(perspective=0.001, degrees=10.0, scale=0.25, shear=3.0, translate=0.125)
    rng = ScriptedRng("low")
    perspective_matrix(rng, config, 100, 50)
    assert rng.calls == [
        (-0.001, 0.001, 2),
        (-10.0, 10.0, None),
        (0.75, 1.25, None),
        (-3.0, 3.0, 2),
        (0.375, 0.625, 2),
    ]


@pytest.mark.parametrize(("end", "shift"), [("low", -0.125), ("high", 0.125)])
def test_translation_moves_by_the_drawn_fraction_of_the_size(end, shift):
    matrix, scale = perspective_matrix(ScriptedRng(end), only(translate=0.125), 100, 50)
    expected = np.eye(3)
    expected[:2, 2] = shift * 100, shift * 50
    np.testing.assert_allclose(matrix, expected, atol=1e-12)
    assert scale == 1


@pytest.mark.parametrize(("end", "gain"), [("low", 0.75), ("high", 1.25)])
def test_scale_is_about_the_image_centre(end, gain):
    matrix, scale = perspective_matrix(ScriptedRng(end), only(scale=0.25), 100, 50)
    assert scale == gain
    # (x, y) -> centre + gain * ((x, y) - centre), centre (50, 25)
    expected = np.array([[gain, 0, 50 * (1 - gain)], [0, gain, 25 * (1 - gain)], [0, 0, 1]])
    np.testing.assert_allclose(matrix, expected, atol=1e-12)


def about_centre(linear: np.ndarray, width: int, height: int) -> np.ndarray:
    """The 3x3 homogeneous matrix of the 2x2 map ``linear`` applied about the image centre."""
    centre = np.array([width / 2, height / 2])
    matrix = np.eye(3)
    matrix[:2, :2] = linear
    matrix[:2, 2] = centre - linear @ centre
    return matrix


@pytest.mark.parametrize(("end", "degrees"), [("low", -30.0), ("high", 30.0)])
def test_rotation_angle_takes_both_signs(end, degrees):
    """OpenCV's ``getRotationMatrix2D`` convention: ``[[cos, sin], [-sin, cos]]`` for the angle in degrees,
    about the centre."""
    matrix, _ = perspective_matrix(ScriptedRng(end), only(degrees=30.0), 100, 50)
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    linear = np.array([[c, s], [-s, c]])
    np.testing.assert_allclose(matrix, about_centre(linear, 100, 50), atol=1e-12)


def test_shear_is_given_in_degrees():
    """Shear x and y are ``tan(angle)`` with the angle drawn in +-shear **degrees** (YOLOv5), about the
    centre: 30 degrees -> tan = 1/sqrt(3)."""
    matrix, _ = perspective_matrix(ScriptedRng("high"), only(shear=30.0), 100, 50)
    t = 1 / math.sqrt(3)
    linear = np.array([[1, t], [t, 1]])
    np.testing.assert_allclose(matrix, about_centre(linear, 100, 50), atol=1e-12)


def test_perspective_warp_divides_by_the_homogeneous_coordinate():
    """With a perspective term the box is the hull of its four corners under the projective map (OpenCV's
    ``perspectiveTransform`` as reference, which divides by w), and the image is ``warpPerspective``'d."""
    p = 0.002
    config = only(perspective=p, border_value=0, flip_prob=0.0)
    width, height = 100, 50
    centre = np.array([[1, 0, -width / 2], [0, 1, -height / 2], [0, 0, 1]])
    persp = np.array([[1, 0, 0], [0, 1, 0], [p, p, 1]])
    back = np.array([[1, 0, width / 2], [0, 1, height / 2], [0, 0, 1]])
    matrix = back @ persp @ centre
    box = np.array([[60.0, 30.0, 90.0, 45.0]])
    corners = np.array([[[60, 30], [90, 30], [60, 45], [90, 45]]], np.float64)
    warped = cv2.perspectiveTransform(corners, matrix)[0]
    expected = np.concatenate([warped.min(axis=0), warped.max(axis=0)]).clip(0, [100, 50, 100, 50])
    assert abs(expected[2] - 90) > 1  # the division matters here
    image = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    out, kept, keep = random_perspective(image, box, ScriptedRng("high"), config)
    assert keep.tolist() == [True]
    np.testing.assert_allclose(kept[0], expected, rtol=1e-9)
    np.testing.assert_array_equal(
        out, cv2.warpPerspective(image, matrix, (width, height), borderValue=(0, 0, 0))
    )


# --------------------------------------------------------------------------------------------------
# colour (§6.4 step 3) and evaluation mode


@pytest.mark.parametrize(("end", "expected"), [("low", [0, 60, 153]), ("high", [0, 141, 255])])
def test_value_gain_keeps_black_black_truncates_and_clips_at_255(end, expected):
    """§6.4 step 3: value multiplied and clipped to 255, through a truncating uint8 look-up table. On greys
    (hue 0, saturation 0, value g) the value gain is the whole change: g -> trunc(g * gain), with gain
    1 -+ 0.4 at the ends of the draw: 0 -> 0 (not lifted), 101 -> 60 (60.6) or 141 (141.4), 255 -> 153 or
    255 (357 clipped)."""
    greys = np.array([0, 101, 255], np.uint8)
    image = np.repeat(greys[None, :, None], 3, axis=2)  # 1 x 3 RGB greys
    out = augment_hsv(image, ScriptedRng(end), (0.015, 0.5, 0.4))
    np.testing.assert_array_equal(out[0], np.repeat(np.array(expected, np.uint8)[:, None], 3, axis=1))


def test_hue_wraps_modulo_180():
    """§6.4 step 3: "hue multiplied and taken mod 180" (OpenCV's 8-bit hue is 0..179). RGB (255, 0, 8) is
    HSV (179, 255, 255); with the largest gains 1.015, 1.5, 1.4 the hue becomes trunc(181.685 mod 180) = 1
    and saturation and value clip at 255: HSV (1, 255, 255), which OpenCV shows as RGB (255, 9, 0)."""
    image = np.array([[[255, 0, 8]]], np.uint8)
    assert cv2.cvtColor(image, cv2.COLOR_RGB2HSV).tolist() == [[[179, 255, 255]]]
    expected = cv2.cvtColor(np.array([[[1, 255, 255]]], np.uint8), cv2.COLOR_HSV2RGB)
    np.testing.assert_array_equal(augment_hsv(image, ScriptedRng("high"), (0.015, 0.5, 0.4)), expected)


def test_hsv_default_gains_are_the_originals():
    """§6.4 step 3: `augment_hsv` without gains uses 1 +- (0.015, 0.5, 0.4)."""
    image = np.random.default_rng(2).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    for end in ("low", "high"):
        default = augment_hsv(image, ScriptedRng(end))
        np.testing.assert_array_equal(default, augment_hsv(image, ScriptedRng(end), (0.015, 0.5, 0.4)))


@pytest.mark.parametrize(
    ("draw", "flip_prob", "flipped"), [(0.0, 0.0, False), (0.5, 0.5, False), (0.49, 0.5, True)]
)
def test_flip_happens_when_the_draw_is_below_the_probability(draw, flip_prob, flipped):
    """§6.4 step 5: flip with probability p, i.e. when a uniform draw in [0, 1) is < p: never for p = 0,
    even on a draw of exactly 0."""
    labels = np.array([[0, 1, 0.25, 0.5, 0.25, 0.5]])
    config = JDETransformConfig(size=(100, 50), flip_prob=flip_prob, hsv_gains=(0.0, 0.0, 0.0))
    _, targets = transform_sample(np.zeros((50, 100, 3), np.uint8), labels, ScriptedRng("low", draw), config)
    assert targets[0, 2] == pytest.approx(0.75 if flipped else 0.25)


def test_without_train_the_image_is_only_resized():
    """``train=False``: no warp, no colour change, no flip — an image already at the input size comes back
    unchanged, boxes included."""
    image = np.random.default_rng(3).integers(0, 256, (50, 100, 3), dtype=np.uint8)
    labels = np.array([[0, 4, 0.25, 0.5, 0.2, 0.4]])
    config = JDETransformConfig(size=(100, 50), flip_prob=1.0, hsv_gains=(0.5, 0.9, 0.9))
    out, targets = transform_sample(image, labels, np.random.default_rng(0), config, train=False)
    np.testing.assert_array_equal(out, image)
    np.testing.assert_allclose(targets, labels, atol=1e-6)


@pytest.mark.parametrize(
    ("shape_hw", "train", "interpolation"),
    [
        ((40, 120), False, cv2.INTER_AREA),  # wider than the input only: shrinking
        ((80, 60), False, cv2.INTER_AREA),  # taller than the input only: shrinking
        ((40, 120), True, cv2.INTER_LINEAR),  # augmenting always resizes bilinearly (§6.4 step 1)
        ((20, 60), False, cv2.INTER_LINEAR),  # enlarging
        ((20, 100), False, cv2.INTER_LINEAR),  # as wide as the input, lower: not shrinking
        ((50, 60), False, cv2.INTER_LINEAR),  # as tall as the input, narrower: not shrinking
        ((40, 120), None, cv2.INTER_LINEAR),  # ``train`` defaults to True
    ],
)
def test_the_stretch_uses_area_interpolation_only_to_shrink_without_augmenting(
    shape_hw, train, interpolation
):
    """§6.4 step 1 (INTER_LINEAR when augmenting) and the YOLOv5 loader behind it (INTER_AREA only to
    shrink an image without augmentation)."""
    image = np.random.default_rng(1).integers(0, 256, (*shape_hw, 3), dtype=np.uint8)
    config = JDETransformConfig(size=(100, 50))
    labels = np.zeros((0, 6))
    out, _ = (
        resize_to_input(image, labels, config)
        if train is None
        else resize_to_input(image, labels, config, train)
    )
    expected = cv2.resize(image, (100, 50), interpolation=interpolation)
    other = cv2.INTER_LINEAR if interpolation == cv2.INTER_AREA else cv2.INTER_AREA
    assert not np.array_equal(expected, cv2.resize(image, (100, 50), interpolation=other))
    np.testing.assert_array_equal(out, expected)


# --------------------------------------------------------------------------------------------------
# letterbox (§1.3)


def test_letterbox_pads_with_grey_127_5_rounded_to_128():
    """§1.3: "pad ... with constant grey 127.5 (uint8 image, so effectively 127/128)": OpenCV gives 128."""
    out, ratio, (left, top) = letterbox(np.zeros((10, 20, 3), np.uint8), (20, 20))
    assert (left, top) == (0, 5) and ratio == 1.0
    assert (out[:5] == 128).all() and (out[15:] == 128).all() and (out[5:15] == 0).all()


@pytest.mark.parametrize(
    ("w0", "h0", "size_hw", "borders"),
    [
        # r = min(20/10, 31/10) = 2 -> 20x20; dw = 5.5: left round(5.4) = 5, right round(5.6) = 6
        (10, 10, (20, 31), (0, 0, 5, 6)),
        # dh = 5.5 the same way: top 5, bottom 6
        (10, 10, (31, 20), (5, 6, 0, 0)),
        # dw = 2.5: round(2.4) = 2, round(2.6) = 3; Python's half-to-even alone would give 2 and 2
        (10, 10, (10, 15), (0, 0, 2, 3)),
    ],
)
def test_letterbox_rounds_half_pixels_of_padding_to_the_right_and_bottom(w0, h0, size_hw, borders):
    """§1.3: top = round(dh - 0.1), bottom = round(dh + 0.1), left = round(dw - 0.1),
    right = round(dw + 0.1)."""
    boxed = letterbox_hw(np.zeros((h0, w0, 3), np.uint8), size_hw)
    assert boxed.borders == borders
    assert boxed.image.shape[:2] == size_hw


def test_letterbox_defaults_to_the_1088_by_608_input():
    """§1.3: frames are letterboxed to 1088x608 unless told otherwise: 1920x1080 -> r = 608/1080,
    1081x608 at 3 px left (the spec's example)."""
    out, ratio, (left, top) = letterbox(np.zeros((1080, 1920, 3), np.uint8))
    assert out.shape == (608, 1088, 3)
    assert ratio == pytest.approx(608 / 1080) and (left, top) == (3, 0)
    boxed = letterbox_hw(np.zeros((4, 4, 3), np.uint8), (8, 8))
    with pytest.raises(dataclasses.FrozenInstanceError):
        boxed.ratio = 1.0
