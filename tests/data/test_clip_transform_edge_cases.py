"""Edge cases of FDTA's clip-consistent augmentation (`discmot.data.transforms`, spec ``fdta.md`` §8.3,
legality §2.10) that the contract tests leave open: the official defaults, `AugmentConfig.rescaled`, the
box-count bounds of a legal frame, the evaluation resize, the Pillow backend, the random crop's size and
position ranges, and the geometry of `multi_simulate` (one steady pan-and-zoom per clip, its fallback and
its reversal).

Expected values are hand calculations written in the tests; Pillow (``Image.crop`` / ``Image.resize`` with
``BILINEAR``, the original's resampling per §8.3) and OpenCV serve as the references for resampled pixels.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import replace

import cv2
import numpy as np
import pytest
from PIL import Image

from discmot.data.transforms import (
    MAX_BOXES_PER_FRAME,
    AugmentConfig,
    ClipFrames,
    crop_clip,
    multi_simulate,
    random_crop,
    resize_clip,
    resize_for_eval,
)


def noise_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def still_clip(image: np.ndarray, boxes, length: int, depth: bool = False) -> ClipFrames:
    """``length`` copies of one image with the same boxes (ids 1, 2, ...), as a static clip reads."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    ids = np.arange(1, len(boxes) + 1, dtype=np.int64)
    depths = [np.ascontiguousarray(image[..., 0]) for _ in range(length)] if depth else None
    return ClipFrames([image] * length, depths, [boxes.copy() for _ in range(length)], [ids] * length)


def pillow_resize(array: np.ndarray, width: int, height: int) -> np.ndarray:
    return np.asarray(Image.fromarray(array).resize((width, height), Image.BILINEAR))


# --------------------------------------------------------------------------------------------------
# configuration


def test_augment_config_defaults_are_the_official_pipeline():
    """§8.3: flip p = 0.5; resize (a) to 480, 512, ..., 800 with the longer side <= 1440; branch (b) with
    p = 0.5, shorter side to 400/500/600 then crops of 384..600; colour factors U[0.6, 1.4], hue U[-0.2, 0.2];
    MultiSimulate shifts up to 6 % and reverses with p = 0.5; evaluation resize to 800 (§9: ``Resize(800,
    max_size=1440)``). A frozen value object, shared by the loader's workers."""
    default = AugmentConfig()
    assert default.scales == (480, 512, 544, 576, 608, 640, 672, 704, 736, 768, 800)
    assert (default.flip_prob, default.crop_prob, default.reverse_prob) == (0.5, 0.5, 0.5)
    assert default.max_size == 1440 and default.eval_scale == 800
    assert default.crop_scales == (400, 500, 600)
    assert (default.crop_min, default.crop_max) == (384, 600)
    assert default.brightness == default.contrast == default.saturation == (0.6, 1.4)
    assert default.hue == (-0.2, 0.2)
    assert default.shift_ratio == 0.06
    assert default.color_jitter is True and default.resize_backend == "pillow"
    with pytest.raises(dataclasses.FrozenInstanceError):
        default.flip_prob = 1.0


@pytest.mark.parametrize("field", ["scales", "crop_scales"])
def test_an_empty_list_of_scales_is_refused(field):
    """A resize needs at least one size to draw from; an empty list is refused when the config is made."""
    with pytest.raises(ValueError, match="must not be empty"):
        AugmentConfig(**{field: ()})


def test_an_unknown_resize_backend_is_refused():
    """Only ``"pillow"`` (the original's PIL bilinear, §8.3) and ``"opencv"`` exist; another name is refused
    when the config is made, not at the first resize."""
    assert AugmentConfig(resize_backend="opencv").resize_backend == "opencv"
    with pytest.raises(ValueError, match="resize_backend"):
        AugmentConfig(resize_backend="bicubic")


def test_rescaled_shrinks_the_crop_branch_and_the_evaluation_size_by_the_largest_scales_ratio():
    """ratio = max(new scales) / max(official scales) = 224 / 800 = 0.28 (by hand):
    crop scales 400, 500, 600 -> 112, 140, 168; crop range 384..600 -> round(107.52) = 108 .. 168;
    evaluation size 800 -> 224; the new scales and cap are taken as given."""
    small = AugmentConfig().rescaled((160, 192, 224), max_size=400)
    assert small.scales == (160, 192, 224) and small.max_size == 400
    assert small.crop_scales == (112, 140, 168)
    assert (small.crop_min, small.crop_max) == (108, 168)
    assert small.eval_scale == 224
    assert replace(AugmentConfig(), eval_scale=None).rescaled((160, 224), 400).eval_scale is None


def test_rescaled_keeps_every_crop_size_at_least_one_pixel():
    """ratio = 1 / 800: 400, 500, 600, 384 scale to 0.5, 0.625, 0.75, 0.48, which round to 0 or 1;
    every size is raised to 1, never more."""
    tiny = AugmentConfig().rescaled((1,), max_size=8)
    assert tiny.crop_scales == (1, 1, 1)
    assert (tiny.crop_min, tiny.crop_max) == (1, 1)


@pytest.mark.parametrize(
    ("count", "legal"), [(0, False), (1, True), (MAX_BOXES_PER_FRAME, True), (MAX_BOXES_PER_FRAME + 1, False)]
)
def test_a_legal_frame_holds_one_to_300_boxes(count, legal):
    """§2.10 / §8.1: a frame is legal with >= 1 box and <= 300 boxes (DETR's query count); a clip is
    legal when every frame is."""
    assert MAX_BOXES_PER_FRAME == 300
    image = np.zeros((8, 8, 3), np.uint8)
    boxes = np.tile([0.0, 0.0, 4.0, 4.0], (count, 1))
    frame = ClipFrames([image], None, [boxes], [np.arange(count)])
    assert frame.legal() is legal
    one_box = (np.array([[0.0, 0.0, 4.0, 4.0]]), np.array([7]))
    two_frames = ClipFrames([image, image], None, [one_box[0], boxes], [one_box[1], np.arange(count)])
    assert two_frames.legal() is legal


# --------------------------------------------------------------------------------------------------
# resizing


def test_resize_for_eval_sets_the_shorter_side_and_caps_the_longer_one():
    """Evaluation mode: shorter side -> ``eval_scale``; with ``long / short * s > max_size`` the scale
    becomes ``floor(max_size * short / long)`` (§8.3 (a)). 60 x 100 at 30 -> 30 x 50 (boxes halved); at 30
    with max_size 40: 100 / 60 * 30 = 50 > 40, s = floor(40 * 60 / 100) = 24 -> 24 x 40; without an
    ``eval_scale`` the frames are kept."""
    image = noise_image(60, 100)
    clip = still_clip(image, [[10, 20, 50, 40]], 2)
    half = resize_for_eval(clip, replace(AugmentConfig(), eval_scale=30, max_size=1000))
    assert half.size == (30, 50) and len(half.images) == 2
    np.testing.assert_allclose(half.boxes[1], [[5, 10, 25, 20]])
    capped = resize_for_eval(clip, replace(AugmentConfig(), eval_scale=30, max_size=40))
    assert capped.size == (24, 40)
    np.testing.assert_allclose(capped.boxes[0], [[4, 8, 20, 16]])
    kept = resize_for_eval(clip, replace(AugmentConfig(), eval_scale=None))
    assert kept.size == (60, 100) and (kept.images[0] == image).all()


@pytest.mark.parametrize("backend", ["pillow", "opencv"])
def test_each_resize_backend_resamples_like_its_library(backend):
    """§8.3: "Resizing uses PIL bilinear for images and depth maps" (the default backend); the opt-in
    ``"opencv"`` backend is OpenCV's ``INTER_LINEAR``. Same size and same resampling for both kinds."""
    image = noise_image(37, 53, seed=4)
    depth = np.ascontiguousarray(noise_image(37, 53, seed=5)[..., 1])
    clip = ClipFrames([image], [depth], [np.array([[5.0, 5.0, 20.0, 30.0]])], [np.array([1])])
    out = resize_clip(clip, 20, 31, backend)
    for got, source in ((out.images[0], image), (out.depths[0], depth)):
        if backend == "pillow":
            expected = pillow_resize(source, 31, 20)
        else:
            expected = cv2.resize(source, (31, 20), interpolation=cv2.INTER_LINEAR)
        assert got.shape == expected.shape and (got == expected).all()


# --------------------------------------------------------------------------------------------------
# the random crop of branch (b)


def test_crop_drops_boxes_left_without_width_or_height():
    """§8.3 4(b): "boxes with non-positive width/height removed": a box ending exactly at the crop's left
    or top edge has zero width / height after clipping and is dropped with its id; a box reaching one pixel
    inside stays, clipped."""
    image = noise_image(100, 100)
    boxes = np.array([[0, 40, 30, 60], [40, 0, 60, 30], [0, 40, 31, 60], [40, 0, 60, 31]], np.float64)
    clip = ClipFrames([image], None, [boxes], [np.array([1, 2, 3, 4])])
    out = crop_clip(clip, top=30, left=30, height=50, width=50)
    assert out.ids[0].tolist() == [3, 4]
    np.testing.assert_allclose(out.boxes[0], [[0, 10, 1, 30], [10, 0, 30, 1]])


def test_random_crop_sizes_and_positions_stay_in_range():
    """§8.3 4(b): ``h_c = randint(crop_min, min(crop_max, H))``, ``w_c`` likewise, at a uniformly random
    position inside the frame. On a 100 x 200 frame (shorter side already the crop scale, so no resize)
    with crops of 30..60, every crop is 30..60 per side, lies inside the frame (the pixel values encode
    their coordinates) and a box over the whole frame becomes the whole crop."""
    height, width = 100, 200
    ys, xs = np.mgrid[:height, :width]
    image = np.stack([ys, xs % 256, xs // 256], axis=2).astype(np.uint8)
    clip = still_clip(image, [[0, 0, width, height]], 2)
    config = replace(AugmentConfig(), crop_scales=(100,), crop_min=30, crop_max=60)
    sizes = set()
    for seed in range(40):
        out = random_crop(clip, np.random.default_rng(seed), config)
        h, w = out.size
        assert 30 <= h <= 60 and 30 <= w <= 60
        sizes.add((h, w))
        corner = out.images[0][0, 0].astype(int)
        top, left = corner[0], corner[1] + 256 * corner[2]
        assert 0 <= top <= height - h and 0 <= left <= width - w
        assert (out.images[1] == image[top : top + h, left : left + w]).all()  # one window for the clip
        for boxes in out.boxes:
            np.testing.assert_allclose(boxes, [[0, 0, w, h]])
    assert len(sizes) > 10


def test_a_crop_range_equal_to_the_frame_crops_the_whole_frame():
    """``randint`` includes both ends: with crop_min = crop_max = the frame's side (100) the crop is the
    whole frame at position (0, 0), never a pixel more or shifted."""
    image = noise_image(100, 100, seed=2)
    clip = still_clip(image, [[10, 10, 40, 50]], 2)
    config = replace(AugmentConfig(), crop_scales=(100,), crop_min=100, crop_max=100)
    for seed in range(5):
        out = random_crop(clip, np.random.default_rng(seed), config)
        assert out.size == (100, 100) and (out.images[0] == image).all()
        np.testing.assert_allclose(out.boxes[1], [[10, 10, 40, 50]])


# --------------------------------------------------------------------------------------------------
# MultiSimulate (§8.3 step 2)


def windows(size: int, largest: int) -> list[tuple[int, int]]:
    """Candidate ``(offset, length)`` windows along one axis for shifts ``1 <= |d| <= largest``: the window
    keeps ``size - |d|`` pixels and is anchored at either end of the frame (the shift's sign)."""
    return [(offset, size - d) for d in range(1, largest + 1) for offset in (0, d)]


def simulated_boxes(box: np.ndarray, x: tuple[int, int], y: tuple[int, int], width, height, length):
    """Frame k+1 = frame k cropped to the window and resized back to ``width x height`` (by hand)."""
    out = [box]
    shift = np.array([x[0], y[0], x[0], y[0]], np.float64)
    scale = np.array([width / x[1], height / y[1], width / x[1], height / y[1]])
    for _ in range(1, length):
        out.append(np.clip(out[-1] - shift, 0, [x[1], y[1], x[1], y[1]]) * scale)
    return out


def follows(boxes: list[np.ndarray], box: np.ndarray, x, y, width: int, height: int) -> bool:
    """The clip's boxes are the hand-simulated chain of ``box`` through the windows ``x`` and ``y``."""
    expected = simulated_boxes(box, x, y, width, height, len(boxes))
    return all(np.allclose(got, want, atol=1e-6) for got, want in zip(boxes, expected, strict=True))


def test_multi_simulate_is_one_steady_pan_and_zoom_with_shifts_of_either_sign():
    """§8.3 step 2: one shift per clip with ``1 <= |dx| <= ceil(0.06 W)`` = 6 and ``|dy| <= ceil(0.06 H)`` = 3
    on a 100 x 50 image; each next frame is the previous one cropped by the shift (a window of ``W - |dx|``
    by ``H - |dy|`` at one end of the frame) and resized back. Without reversal frame 0 is the image;
    frame 1 is Pillow's crop + bilinear resize of it; the boxes follow the same window every frame ("boxes
    shifted, clipped, scaled": the second box sticks out of the image and is clipped to each window); over
    seeds the window sits at both ends of both axes (both signs of the shift)."""
    height, width, length = 50, 100, 4
    image = noise_image(height, width, seed=7)
    box = np.array([[30.0, 15.0, 60.0, 35.0], [70.0, 30.0, 120.0, 70.0]])
    config = replace(AugmentConfig(), reverse_prob=0.0)
    anchors, shifts = set(), set()
    for seed in range(16):
        out = multi_simulate(still_clip(image, box, length), np.random.default_rng(seed), config)
        assert len(out.images) == length and (out.images[0] == image).all()
        matches = [
            (x, y)
            for x in windows(width, math.ceil(0.06 * width))
            for y in windows(height, math.ceil(0.06 * height))
            if follows(out.boxes, box, x, y, width, height)
        ]
        assert len(matches) == 1, (seed, out.boxes)
        (x_off, x_len), (y_off, y_len) = matches[0]
        crop = Image.fromarray(image).crop((x_off, y_off, x_off + x_len, y_off + y_len))
        assert (out.images[1] == np.asarray(crop.resize((width, height), Image.BILINEAR))).all()
        anchors.add((x_off == 0, y_off == 0))
        shifts.add(width - x_len)
    assert anchors == {(True, True), (True, False), (False, True), (False, False)}
    assert len(shifts) >= 3  # |dx| is drawn from 1..6, not always the same


def test_shift_magnitudes_run_from_one_pixel_to_the_ceiling_of_ratio_times_size():
    """``|d|`` is uniform in ``1 .. ceil(ratio * size)``: with a ratio of 1.5 % on 100 x 50 the bounds are
    ceil(1.5) = 2 across and ceil(0.75) = 1 down, so every clip pans by exactly one pixel vertically (a
    sub-pixel ratio still moves) and by one or two pixels horizontally, both of which occur."""
    height, width, length = 50, 100, 3
    box = np.array([[30.0, 15.0, 60.0, 35.0]])
    config = replace(AugmentConfig(), reverse_prob=0.0, shift_ratio=0.015)
    shifts = set()
    for seed in range(12):
        clip = still_clip(noise_image(height, width), box, length)
        out = multi_simulate(clip, np.random.default_rng(seed), config)
        matches = [
            x[1]
            for x in windows(width, 2)
            for y in windows(height, 1)
            if follows(out.boxes, box, x, y, width, height)
        ]
        assert len(matches) == 1, (seed, out.boxes)
        shifts.add(width - matches[0])
    assert shifts == {1, 2}


def test_the_shift_sign_is_a_fair_coin_per_axis():
    """MultiSimulate's shift has a random sign per axis, each sign with probability 1/2: over 1000 clips the
    window is anchored at the left (top) end about half of the time (binomial sd 1.6 %; bound 10 %)."""
    image = noise_image(10, 20)
    clip = still_clip(image, [[2.0, 2.0, 8.0, 8.0]], 2)
    config = replace(AugmentConfig(), reverse_prob=0.0, shift_ratio=0.1)
    at_left = at_top = 0
    draws = 1000
    for seed in range(draws):
        out = multi_simulate(clip, np.random.default_rng(seed), config)
        # an anchored-at-0 window leaves the box's top-left corner in place, scaled by size / window
        x1, y1 = out.boxes[1][0, :2]
        at_left += bool(x1 > 2.0)
        at_top += bool(y1 > 2.0)
    assert abs(at_left / draws - 0.5) < 0.1 and abs(at_top / draws - 0.5) < 0.1


@pytest.mark.parametrize("reverse_prob", [0.0, 1.0])
def test_multi_simulate_reverses_the_clip_by_its_probability(reverse_prob):
    """§8.3 step 2: "with prob 0.5 the whole simulated sequence is reversed": never with probability 0
    (frame 0 is the image, later frames are zoomed), always with 1 (the last frame is the image)."""
    image = noise_image(50, 100, seed=3)
    box = np.array([[30.0, 15.0, 60.0, 35.0]])
    config = replace(AugmentConfig(), reverse_prob=reverse_prob)
    for seed in range(3):
        out = multi_simulate(still_clip(image, box, 3), np.random.default_rng(seed), config)
        original, simulated = (-1, 0) if reverse_prob else (0, -1)
        assert (out.images[original] == image).all()
        np.testing.assert_allclose(out.boxes[original], box)
        assert not (out.images[simulated] == image).all()


def test_multi_simulate_keeps_the_unchanged_copies_when_any_frame_loses_its_boxes():
    """§8.3 step 2: "if any frame becomes illegal the original sequence is used". A one-pixel box in the
    bottom-right corner is cut away by any window anchored at the top or the left end, and kept by windows
    anchored at the bottom-right, so some seeds lose it and others do not. The result is always legal, and
    whenever the box would be lost it is the unchanged clip."""
    image = noise_image(50, 100, seed=1)
    clip = still_clip(image, [[99.0, 49.0, 100.0, 50.0]], 4, depth=True)
    config = replace(AugmentConfig(), reverse_prob=0.0)
    kept = 0
    for seed in range(12):
        out = multi_simulate(clip, np.random.default_rng(seed), config)
        assert out.legal()
        unchanged = all((a == image).all() for a in out.images)
        kept += unchanged
        if unchanged:
            assert out is clip or all(np.array_equal(b, clip.boxes[0]) for b in out.boxes)
        assert out.depths is not None and len(out.depths) == 4
    assert 0 < kept < 12


def test_multi_simulate_resamples_depth_maps_like_the_images():
    """§8.3 step 2: "Depth maps follow identically": a depth map equal to the image's red channel stays
    equal to it through every crop and bilinear resize; without depth maps none are made up."""
    image = noise_image(50, 100, seed=6)
    box = np.array([[30.0, 15.0, 60.0, 35.0]])
    config = replace(AugmentConfig(), reverse_prob=0.0)
    out = multi_simulate(still_clip(image, box, 3, depth=True), np.random.default_rng(0), config)
    assert out.depths is not None and len(out.depths) == 3
    for picture, depth in zip(out.images, out.depths, strict=True):
        assert (depth == picture[..., 0]).all()
    assert not (out.images[2] == image).all()
    assert multi_simulate(still_clip(image, box, 3), np.random.default_rng(0), config).depths is None
