"""Contracts of CSTrack's per-image training pipeline (`discmot.data.jde_transforms`, spec ``cstrack.md``
§1.3, §6.4): letterbox sizes and padding by hand, boxes that stay on their objects through the warp and
the flip, the original's box filter and HSV look-up tables, reproducible samples, and the dataset over
the synthetic JDE export.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

import helpers
from discmot.data.frames import read_rgb
from discmot.data.jde import JDEIndex
from discmot.data.jde_dataset import JDEDataset, JDEKey, collate_jde, jde_sampler_factory
from discmot.data.jde_transforms import (
    JDETransformConfig,
    augment_hsv,
    box_candidates,
    hflip,
    resize_to_input,
    transform_sample,
)
from discmot.data.letterbox import letterbox
from discmot.data.synth import PRESETS, generate_dataset

TINY_SIZE = PRESETS["tiny"].size  # (128, 80)


# --------------------------------------------------------------------------------------------------
# letterbox (§1.3) and the training resize


@pytest.mark.parametrize(
    ("w0", "h0", "size", "resized", "pads"),
    [
        # r = min(32/30, 64/40) = 16/15 -> 43x32; dw = 10.5 -> left round(10.4) = 10, right round(10.6) = 11
        (40, 30, (64, 32), (43, 32), (10, 11, 0, 0)),
        # the spec's examples at the full input size
        (1920, 1080, (1088, 608), (1081, 608), (3, 4, 0, 0)),
        (640, 480, (1088, 608), (811, 608), (138, 139, 0, 0)),
        # r = min(40/20, 30/30) = 1 -> 30x20; dh = 10 -> 10 / 10
        (30, 20, (30, 40), (30, 20), (0, 0, 10, 10)),
    ],
)
def test_letterbox_size_and_padding_by_hand(w0, h0, size, resized, pads):
    image = np.full((h0, w0, 3), 255, np.uint8)
    out, ratio, (left, top) = letterbox(image, size)
    width, height = size
    assert out.shape == (height, width, 3)
    assert ratio == pytest.approx(min(height / h0, width / w0))
    right, bottom = width - left - resized[0], height - top - resized[1]
    assert (left, right, top, bottom) == pads
    assert np.all(out[top : top + resized[1], left : left + resized[0]] == 255)
    pad = np.ones((height, width), bool)
    pad[top : top + resized[1], left : left + resized[0]] = False
    assert np.all(out[pad] == 128)  # grey 127.5, rounded by OpenCV


def test_stretch_resize_clips_boxes_to_the_original_bounds():
    config = JDETransformConfig(size=(100, 50))
    image = np.zeros((20, 40, 3), np.uint8)
    labels = np.array([[0, 1, 0.5, 0.5, 0.2, 0.4], [0, 2, 0.05, 0.95, 0.2, 0.2]])
    out, boxes = resize_to_input(image, labels, config)
    assert out.shape == (50, 100, 3)
    # independent x/y scale: cx 50, cy 25, w 20, h 20; the second box is cut at x = 1 and y = 49
    np.testing.assert_allclose(boxes, [[40, 15, 60, 35], [1, 42.5, 15, 49]])


def test_letterbox_resize_moves_boxes_with_the_image():
    config = JDETransformConfig(size=(64, 32), resize="letterbox")
    image = np.zeros((30, 40, 3), np.uint8)
    labels = np.array([[0, 1, 0.5, 0.5, 0.5, 0.5]])
    out, boxes = resize_to_input(image, labels, config)
    # 43x32 at left 10: box x 10 + 43 * (0.25, 0.75), y 32 * (0.25, 0.75)
    np.testing.assert_allclose(boxes, [[10 + 10.75, 8, 10 + 32.25, 24]])


# --------------------------------------------------------------------------------------------------
# geometry: warp and flip keep boxes on their objects


def rectangle_image(width: int, height: int, box: tuple[int, int, int, int]) -> np.ndarray:
    image = np.zeros((height, width, 3), np.uint8)
    x1, y1, x2, y2 = box
    image[y1:y2, x1:x2] = 255
    return image


def white_extent(image: np.ndarray) -> np.ndarray:
    """``x1, y1, x2, y2`` of the bright pixels, as continuous pixel-edge coordinates."""
    ys, xs = np.nonzero(image[..., 0] > 127)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float64)


def labels_to_xyxy(labels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    width, height = size
    cxcy, wh = labels[:, 2:4] * (width, height), labels[:, 4:6] * (width, height)
    return np.concatenate([cxcy - wh / 2, cxcy + wh / 2], axis=1)


STRONG_WARP = JDETransformConfig(
    size=(96, 64),
    degrees=15.0,
    translate=0.1,
    scale=0.2,
    shear=5.0,
    border_value=0,
    hsv_gains=(0.0, 0.0, 0.0),
    flip_prob=0.0,
)


@pytest.mark.parametrize("seed", range(6))
def test_warp_keeps_the_box_on_the_rectangle(seed):
    box = (36, 22, 60, 46)
    image = rectangle_image(96, 64, box)
    width, height = 96, 64
    labels = np.array(
        [[0, 7, (box[0] + box[2]) / 2 / width, (box[1] + box[3]) / 2 / height, 24 / 96, 24 / 64]]
    )
    out, targets = transform_sample(image, labels, np.random.default_rng(seed), STRONG_WARP)
    assert out.shape == (64, 96, 3) and targets.shape == (1, 6) and targets[0, 1] == 7
    warped = labels_to_xyxy(targets.astype(np.float64), STRONG_WARP.size)[0]
    extent = white_extent(out)
    # the hull of the warped corners is the rotated rectangle's extent, up to resampling at its edges
    np.testing.assert_allclose(extent, warped, atol=1.5)
    assert not np.array_equal(out, image)  # the warp did move the picture


def test_all_zero_magnitudes_leave_the_image_unchanged():
    image = np.random.default_rng(0).integers(0, 256, (64, 96, 3), dtype=np.uint8)
    config = JDETransformConfig(size=(96, 64), hsv_gains=(0.0, 0.0, 0.0), flip_prob=0.0)
    labels = np.array([[0, 1, 0.5, 0.5, 0.25, 0.5]])
    out, targets = transform_sample(image, labels, np.random.default_rng(0), config)
    # (the HSV round trip with unit gains is not exact on random colours, so compare with it)
    unit_hsv = cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_RGB2HSV), cv2.COLOR_HSV2RGB)
    np.testing.assert_array_equal(out, unit_hsv)
    np.testing.assert_allclose(targets, labels, atol=1e-6)


def test_flip_mirrors_boxes():
    box = (10, 5, 30, 45)
    image = rectangle_image(80, 50, box)
    labels = np.array([[0, 3, 20 / 80, 25 / 50, 20 / 80, 40 / 50]], np.float32)
    flipped, out = hflip(image, labels)
    np.testing.assert_allclose(out[0, 2:], [1 - 20 / 80, 25 / 50, 20 / 80, 40 / 50])
    np.testing.assert_allclose(white_extent(flipped), labels_to_xyxy(out, (80, 50))[0])
    np.testing.assert_array_equal(white_extent(flipped), [50, 5, 70, 45])


def test_pipeline_flip_keeps_boxes_on_objects():
    box = (8, 10, 30, 50)
    image = rectangle_image(96, 64, box)
    labels = np.array([[0, 1, 19 / 96, 30 / 64, 22 / 96, 40 / 64]])
    config = replace(STRONG_WARP, degrees=0.0, scale=0.0, shear=0.0, translate=0.0, flip_prob=1.0)
    out, targets = transform_sample(image, labels, np.random.default_rng(0), config)
    assert targets[0, 2] > 0.5  # moved to the right half
    np.testing.assert_allclose(
        white_extent(out), labels_to_xyxy(targets.astype(float), config.size)[0], atol=1e-4
    )


def test_box_filter_thresholds():
    config = JDETransformConfig()
    before = np.array([[0, 0, 10, 10]] * 4, np.float64)
    after = np.array(
        [
            [0, 0, 10, 10],  # kept
            [0, 0, 2, 10],  # width not > 2
            [0, 0, 4, 4],  # area 16 / 100 <= 0.2
            [0, 0, 10, 0.49],  # aspect ratio > 20 (and too thin)
        ],
        np.float64,
    )
    np.testing.assert_array_equal(box_candidates(before, after, config), [True, False, False, False])
    pipeline_labels = np.array([[0, 1, 0.5, 0.5, 0.5, 0.5], [0, 2, 0.5, 0.5, 0.01, 0.5]])
    _, kept = transform_sample(np.zeros((40, 40, 3), np.uint8), pipeline_labels, np.random.default_rng(0))
    assert kept[:, 1].tolist() == [1]  # the second is 10.9 x 304 px at 1088x608: aspect ratio 28 > 20


# --------------------------------------------------------------------------------------------------
# colour


def reference_hsv_bgr(image_bgr: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """The original's look-up-table HSV jitter, on a BGR image."""
    hue, sat, val = cv2.split(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2HSV))
    x = np.arange(0, 256, dtype=np.int16)
    lut_hue = ((x * factors[0]) % 180).astype(np.uint8)
    lut_sat = np.clip(x * factors[1], 0, 255).astype(np.uint8)
    lut_val = np.clip(x * factors[2], 0, 255).astype(np.uint8)
    merged = cv2.merge((cv2.LUT(hue, lut_hue), cv2.LUT(sat, lut_sat), cv2.LUT(val, lut_val)))
    return cv2.cvtColor(merged, cv2.COLOR_HSV2BGR)


def test_hsv_on_rgb_equals_the_original_on_bgr():
    image = np.random.default_rng(1).integers(0, 256, (16, 24, 3), dtype=np.uint8)
    gains = (0.015, 0.5, 0.4)
    out = augment_hsv(image, np.random.default_rng(5), gains)
    factors = np.random.default_rng(5).uniform(-1, 1, 3) * np.asarray(gains) + 1
    expected = reference_hsv_bgr(np.ascontiguousarray(image[..., ::-1]), factors)[..., ::-1]
    np.testing.assert_array_equal(out, expected)
    assert np.all(np.abs(factors - 1) <= gains)


# --------------------------------------------------------------------------------------------------
# the dataset over the synthetic export


@pytest.fixture(scope="module")
def synth_index(tmp_path_factory) -> JDEIndex:
    root = tmp_path_factory.mktemp("jde-synth")
    generate_dataset(root, preset="tiny", sequences=2, frames=3, seed=2, jde=True)
    return JDEIndex.from_list(root / "jde" / "synth_tiny.train", root / "jde")


def small_config(**changes) -> JDETransformConfig:
    return JDETransformConfig(size=TINY_SIZE, **changes)


def test_dataset_yields_every_target_of_the_export(synth_index):
    dataset = JDEDataset(synth_index, small_config(), train=False)
    assert len(dataset) == 6 and dataset.num_identities == synth_index.num_identities
    total = 0
    for i in range(len(dataset)):
        sample = dataset[i]
        record = synth_index[i]
        image, targets = sample["image"], sample["targets"]
        assert image.shape == (3, TINY_SIZE[1], TINY_SIZE[0]) and image.dtype == torch.float32
        assert 0.0 <= image.min() and image.max() <= 1.0 and image.max() > 0.5
        assert targets.shape == (len(record.labels), 6)  # synthetic boxes are all large enough to keep
        assert torch.all(targets[:, 0] == 0)
        np.testing.assert_array_equal(targets[:, 1].numpy(), record.labels[:, 1])
        # the network size is the image size: boxes only move where clipped to [1, W-1] x [1, H-1]
        np.testing.assert_allclose(targets[:, 2:].numpy(), record.labels[:, 2:], atol=2 / TINY_SIZE[1])
        assert sample["original_size"] == (TINY_SIZE[1], TINY_SIZE[0])
        total += len(targets)
    assert total > 0


def test_training_images_are_turned_by_their_exif_orientation_as_cv2_imread_does(tmp_path):
    """The original reads training images with ``cv2.imread``, which applies a JPEG's EXIF orientation;
    FDTA's reader (PIL's way) does not."""
    root = tmp_path / "data"
    generate_dataset(root, preset="tiny", sequences=1, frames=1, seed=2, jde=True)
    index = JDEIndex.from_list(root / "jde" / "synth_tiny.train", root / "jde")
    image = index[0].image
    stored = cv2.imread(str(image), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    image.unlink()  # a hard link to the sequence's frame: write a new file, not through the link
    helpers.write_jpeg_turned_by_exif(image, stored)
    width, height = TINY_SIZE
    assert read_rgb(image).shape == (height, width, 3)
    turned = read_rgb(image, exif_orientation=True)
    np.testing.assert_array_equal(turned, cv2.cvtColor(cv2.imread(str(image)), cv2.COLOR_BGR2RGB))
    assert turned.shape == (width, height, 3)
    dataset = JDEDataset(index, small_config(), train=False)
    assert dataset[0]["original_size"] == (width, height)  # (h0, w0) of the turned picture


def test_training_samples_keep_targets_and_resize(synth_index):
    dataset = JDEDataset(synth_index, JDETransformConfig(size=(96, 64)))
    for i in range(len(dataset)):
        sample = dataset[JDEKey(0, i)]
        assert sample["image"].shape == (3, 64, 96)
        targets = sample["targets"]
        assert len(targets) <= len(synth_index[i].labels)
        assert torch.all((targets[:, 2:4] >= 0) & (targets[:, 2:4] <= 1))
        assert torch.all(targets[:, 4:] > 0)


def test_same_seed_same_sample(synth_index):
    dataset = JDEDataset(synth_index, small_config(degrees=5.0, scale=0.1))
    first, again = dataset[JDEKey(3, 2)], dataset[JDEKey(3, 2)]
    assert torch.equal(first["image"], again["image"]) and torch.equal(first["targets"], again["targets"])
    other = JDEDataset(synth_index, small_config(degrees=5.0, scale=0.1))  # a fresh copy, as in a worker
    assert torch.equal(other[JDEKey(3, 2)]["image"], first["image"])
    dataset.set_epoch(3)
    assert torch.equal(dataset[2]["image"], first["image"])  # a plain index means the current epoch
    assert not torch.equal(dataset[JDEKey(4, 2)]["image"], first["image"])
    reseeded = JDEDataset(synth_index, small_config(degrees=5.0, scale=0.1, seed=1))
    assert not torch.equal(reseeded[JDEKey(3, 2)]["image"], first["image"])


def test_samples_do_not_depend_on_the_worker_count(synth_index):
    dataset = JDEDataset(synth_index, small_config())
    keys = jde_sampler_factory(len(dataset), seed=0)(1, 0, 1)

    def batches(workers: int) -> list[dict]:
        loader = torch.utils.data.DataLoader(
            dataset, batch_size=3, sampler=keys, collate_fn=collate_jde, num_workers=workers
        )
        return list(loader)

    for a, b in zip(batches(0), batches(2), strict=True):
        assert torch.equal(a["images"], b["images"]) and torch.equal(a["targets"], b["targets"])


def test_collate_writes_the_image_index(synth_index):
    dataset = JDEDataset(synth_index, small_config(), train=False)
    samples = [dataset[i] for i in range(3)]
    batch = collate_jde(samples)
    assert batch["images"].shape == (3, 3, TINY_SIZE[1], TINY_SIZE[0])
    counts = [len(s["targets"]) for s in samples]
    assert batch["targets"].shape == (sum(counts), 6)
    expected = torch.cat([torch.full((n,), float(b)) for b, n in enumerate(counts)])
    assert torch.equal(batch["targets"][:, 0], expected)
    assert torch.equal(batch["targets"][:, 1:], torch.cat([s["targets"][:, 1:] for s in samples]))
    assert all(torch.all(s["targets"][:, 0] == 0) for s in samples)  # samples are not modified
    assert batch["paths"] == [str(synth_index[i].image) for i in range(3)]


def test_sampler_shards_cover_the_epoch_once():
    factory = jde_sampler_factory(10, seed=3)
    shards = [factory(2, rank, 3) for rank in range(3)]
    assert [len(s) for s in shards] == [3, 3, 3]
    indices = [k.index for s in shards for k in s]
    assert len(set(indices)) == 9 and all(k.epoch == 2 for s in shards for k in s)
    assert factory(2, 1, 3) == shards[1] and factory(2, 1, 3, start=1) == shards[1][1:]
    assert factory(3, 0, 1) != factory(2, 0, 1)
    assert [k.index for k in jde_sampler_factory(4, shuffle=False)(0, 0, 1)] == [0, 1, 2, 3]


def test_bad_config():
    with pytest.raises(ValueError, match="resize"):
        JDETransformConfig(resize="crop")


def test_missing_image_file_names_it(tmp_path: Path, synth_index):
    record = synth_index[0]
    moved = tmp_path / "moved.jpg"
    record.image.rename(moved)
    try:
        with pytest.raises(FileNotFoundError, match=record.image.name):
            JDEDataset(synth_index, small_config())[0]
    finally:
        moved.rename(record.image)
