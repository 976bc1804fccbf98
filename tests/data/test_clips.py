"""Contracts of FDTA's training data: sequence index, clip sampler (§2.10), ID tables (§2.2-2.4),
clip-consistent augmentation (§8.3), collation, CrowdHuman static clips, and errors on bad files.

Geometry is checked on scenes of flat coloured rectangles (each with its own depth value), where the
box of every object must stay the tight extent of its colour through flips, resizes and crops.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from discmot.data import pil_ops
from discmot.data.clip_sampler import can_give_clips, warn_sequences_without_clips
from discmot.data.clips import (
    Clip,
    ClipConfig,
    ClipDataset,
    ClipSampler,
    SequenceIndex,
    clip_sampler_factory,
    collate_clips,
)
from discmot.data.frames import FrameReadError, read_depth
from discmot.data.id_tables import build_id_tables
from discmot.data.static import StaticImageIndex
from discmot.data.synth import generate_dataset
from discmot.data.transforms import (
    AugmentConfig,
    ClipFrames,
    augment_clip,
    crop_clip,
    hflip,
    random_crop,
    resized_size,
)
from discmot.io.mot import MotFormatError

SMALL = AugmentConfig().rescaled((96, 112, 128), max_size=224)
FRAMES = 30

#: Rectangles of the test scenes: (colour RGB, depth value); far apart in colour so blur never confuses them.
RECTANGLES = [((230, 30, 30), 200), ((30, 220, 40), 120), ((40, 60, 235), 60)]


@pytest.fixture(scope="module")
def dance_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("dance")
    generate_dataset(root, "dancetrack", split="train", sequences=2, frames=FRAMES, seed=3)
    return root


def fresh_tiny(tmp_path: Path, frames: int = 16) -> Path:
    generate_dataset(tmp_path, "tiny", split="train", sequences=1, frames=frames, seed=1)
    return tmp_path


# --------------------------------------------------------------------------------------------------
# rectangle scenes


def rectangle_frame(boxes: np.ndarray, size=(96, 160)) -> tuple[np.ndarray, np.ndarray]:
    """Image and depth map with rectangle i filled with ``RECTANGLES[i]`` (boxes xyxy, integers)."""
    image = np.full((*size, 3), 8, np.uint8)
    depth = np.zeros(size, np.uint8)
    for (x1, y1, x2, y2), (colour, value) in zip(boxes.astype(int), RECTANGLES, strict=False):
        image[y1:y2, x1:x2] = colour
        depth[y1:y2, x1:x2] = value
    return image, depth


def rectangle_clip(length: int = 4) -> ClipFrames:
    """A clip of three rectangles (ids 1, 2, 3), two of them moving, always 19+ pixels apart."""
    images, depths, boxes = [], [], []
    for t in range(length):
        frame_boxes = np.array(
            [[10 + t, 10, 40 + t, 50], [70, 30 + t, 100, 80 + t], [120, 5, 150, 35]], float
        )
        image, depth = rectangle_frame(frame_boxes)
        images.append(image)
        depths.append(depth)
        boxes.append(frame_boxes)
    return ClipFrames(images, depths, boxes, [np.array([1, 2, 3])] * length)


def assert_boxes_follow_content(frames: ClipFrames, tolerance: float = 2.0) -> None:
    """Every box is the tight extent of its rectangle's colour (image) and of its depth value (depth map).

    Depth values blend at edges under resampling, so the depth extent is taken in a window around the box
    (which holds only this rectangle), and the box interior must hold exactly the rectangle's value.
    """
    for image, depth, boxes, ids in zip(frames.images, frames.depths, frames.boxes, frames.ids, strict=True):
        assert image.shape[:2] == depth.shape
        for box, track in zip(boxes, ids, strict=True):
            colour, value = RECTANGLES[track - 1]
            near = np.abs(image.astype(int) - colour).max(axis=2) < 60
            assert np.abs(_extent(near) - box).max() <= tolerance, (track, _extent(near), box)
            margin = int(tolerance) + 2
            x1, y1 = (max(int(v) - margin, 0) for v in box[:2])
            x2, y2 = (int(v) + margin for v in box[2:])
            window = np.zeros(depth.shape, bool)
            window[y1:y2, x1:x2] = True
            half = window & (depth >= value // 2)  # a blurred step crosses half its height at the edge
            assert np.abs(_extent(half) - box).max() <= tolerance, (track, _extent(half), box)
            inner = depth[
                int(box[1]) + margin : int(box[3]) - margin, int(box[0]) + margin : int(box[2]) - margin
            ]
            assert (inner == value).all()


def _extent(mask: np.ndarray) -> np.ndarray:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return np.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1], float)


def write_rectangle_sequence(root: Path, name: str = "rect-0001", length: int = 12) -> Path:
    """A DanceTrack-layout sequence of `rectangle_clip` frames (PNG-exact depth, JPEG images)."""
    folder = root / "train" / name
    for sub in ("img1", "depth", "gt"):
        (folder / sub).mkdir(parents=True)
    clip = rectangle_clip(length)
    rows = []
    for t in range(length):
        cv2.imwrite(
            str(folder / "img1" / f"{t + 1:08d}.jpg"),
            clip.images[t][:, :, ::-1],
            [cv2.IMWRITE_JPEG_QUALITY, 98],
        )
        cv2.imwrite(str(folder / "depth" / f"{t + 1:08d}.png"), clip.depths[t])
        for (x1, y1, x2, y2), track in zip(clip.boxes[t], clip.ids[t], strict=True):
            rows.append(f"{t + 1},{track},{x1:g},{y1:g},{x2 - x1:g},{y2 - y1:g},1,1,1\n")
    (folder / "gt" / "gt.txt").write_text("".join(rows))
    (folder / "seqinfo.ini").write_text(
        f"[Sequence]\nname={name}\nseqLength={length}\nimWidth=160\nimHeight=96\n"
    )
    return root


# --------------------------------------------------------------------------------------------------
# index and sampler


def test_index_reads_layout(dance_root):
    index = SequenceIndex.from_root(dance_root, "train")
    assert [r.name for r in index.records] == ["train/dancetrack-train-0000", "train/dancetrack-train-0001"]
    record = index[0]
    assert record.length == FRAMES and record.legal.all()
    boxes, ids = record.annotations(0)
    assert boxes.shape == (len(ids), 4) and len(np.unique(ids)) == len(ids)
    assert record.depth_file(0) == dance_root / "train" / "dancetrack-train-0000" / "depth" / "00000001.png"
    assert not index.missing_depth_files()


def test_sampler_clips_follow_the_rule(dance_root):
    index = SequenceIndex.from_root(dance_root, "train")
    length = 8
    clips = ClipSampler(index, length).clips()
    starts = {(c.sequence, c.frames[0]) for c in clips}
    assert len(clips) == len(starts) == 2 * (FRAMES - length + 1)  # every start once (all frames legal)
    for clip in clips:
        steps = set(np.diff(clip.frames).tolist())
        assert len(clip.frames) == length and len(steps) == 1
        interval, start = steps.pop(), clip.frames[0]
        assert 1 <= interval <= min(4, (FRAMES - start - 1) // (length - 1))
        assert clip.frames[-1] < FRAMES
    assert {1, 2, 3} <= {c.frames[1] - c.frames[0] for c in clips} <= {1, 2, 3, 4}


def test_sampler_is_deterministic_per_epoch(dance_root):
    index = SequenceIndex.from_root(dance_root, "train")
    first = ClipSampler(index, 5, epoch=2).clips()
    assert first == ClipSampler(index, 5, epoch=2).clips()
    other = ClipSampler(index, 5, epoch=3).clips()
    assert [c.frames for c in first] != [c.frames for c in other]
    sampler = ClipSampler(index, 5, epoch=3)
    sampler.set_epoch(2)
    assert [(c.sequence, c.frames) for c in sampler] == [(c.sequence, c.frames) for c in first]


@pytest.mark.parametrize("pad", [False, True])
def test_sampler_shards_cover_the_list(dance_root, pad):
    index = SequenceIndex.from_root(dance_root, "train")
    full = ClipSampler(index, 6).clips()
    shards = [list(ClipSampler(index, 6, world_size=4, rank=r, pad=pad)) for r in range(4)]
    merged = [c for shard in shards for c in shard]
    if pad:
        assert len({len(s) for s in shards}) == 1
        assert set(merged) == set(full) and len(merged) - len(full) < 4
    else:
        assert sorted(merged, key=full.index) == full  # every clip exactly once


def test_sampler_resumes_mid_epoch(dance_root):
    index = SequenceIndex.from_root(dance_root, "train")
    whole = list(ClipSampler(index, 7, epoch=1, world_size=2, rank=1))
    resumed = ClipSampler(index, 7, epoch=1, world_size=2, rank=1, start=5)
    assert len(resumed) == len(whole) - 5 and list(resumed) == whole[5:]
    assert clip_sampler_factory(index, 7)(1, 1, 2, 5) == whole[5:]  # the engine's sampler protocol


def test_illegal_frames_are_never_sampled(tmp_path):
    root = fresh_tiny(tmp_path)
    gt = next((root / "train").glob("*/gt/gt.txt"))
    rows = gt.read_text().splitlines()
    kept = [r for r in rows if not r.startswith("5,")]  # frame 5 loses every box
    duplicate = next(r for r in rows if r.startswith("9,"))
    gt.write_text("\n".join([*kept, duplicate]) + "\n")  # frame 9 gets a duplicate id
    index = SequenceIndex.from_root(root, "train")
    assert np.flatnonzero(~index[0].legal).tolist() == [4, 8]
    clips = ClipSampler(index, 3).clips()
    assert clips and all(4 not in c.frames and 8 not in c.frames for c in clips)
    with pytest.raises(ValueError, match=f"no legal clip.*{index[0].name}: 14 of 16 frames legal$"):
        ClipSampler(index, 16).clips()


def test_a_sequence_that_gives_no_clip_is_named_when_others_train(tmp_path, caplog):
    """gt on every 5th frame makes no clip (frames at most 4 apart must all be annotated): the
    sequence used to be left out of training without a word while the others trained."""
    generate_dataset(tmp_path, "tiny", split="train", sequences=2, frames=16, seed=1)
    gt = sorted((tmp_path / "train").glob("*/gt/gt.txt"))[1]
    rows = gt.read_text().splitlines()
    gt.write_text("\n".join(r for r in rows if int(r.split(",")[0]) % 5 == 1) + "\n")
    index = SequenceIndex.from_root(tmp_path, "train")

    assert [can_give_clips(r, 4, 4) for r in index.records] == [True, False]
    assert can_give_clips(index.records[1], 4, 5)  # frames 1, 6, 11, 16: a step of 5 would do
    used = {clip.sequence for epoch in range(3) for clip in ClipSampler(index, 4, epoch=epoch).clips()}
    assert used == {0}
    with caplog.at_level("WARNING"):
        warn_sequences_without_clips(index, 4, 4)
    sparse = index.records[1].name
    assert "1 sequence(s) give no training clip of 4 frames" in caplog.text
    assert f"{sparse} (4 of 16 frames legal)" in caplog.text


# --------------------------------------------------------------------------------------------------
# ID tables


def random_track_ids(rng, frames=12, pool=9) -> list[np.ndarray]:
    return [
        np.sort(rng.choice(np.arange(1, pool + 1), size=rng.integers(1, pool), replace=False))
        for _ in range(frames)
    ]


@pytest.mark.parametrize("seed", range(5))
def test_id_tables_labels_and_newborns(seed):
    rng = np.random.default_rng(seed)
    track_ids = random_track_ids(rng)
    tables = build_id_tables(track_ids, rng, num_groups=4, num_id_vocabulary=10)
    groups, frames, slots = tables.trajectory_labels.shape
    assert (groups, frames) == (4, 12) and tables.slot_track_ids.tolist() == sorted(
        {int(i) for t in track_ids for i in t}
    )
    labels = tables.trajectory_labels
    assert (labels == labels[:, :1]).all()  # one label per slot for the whole clip
    for g in range(groups):
        assert len(set(labels[g, 0].tolist())) == slots and labels[g, 0].max() < 10
    for name in ("trajectory", "unknown"):
        assert ((getattr(tables, f"{name}_ann_idx") < 0) == getattr(tables, f"{name}_masks")).all()
    earlier = np.zeros_like(tables.trajectory_masks)
    for t in range(1, frames):
        earlier[:, t] = (~tables.trajectory_masks[:, :t]).any(axis=1)
    assert ((tables.unknown_labels == 10) == ~earlier).all()
    assert (tables.unknown_labels[earlier] == labels[earlier]).all()
    present = ~tables.unknown_masks  # unknown tokens are never switched: they point at their own object
    for g, t, n in zip(*np.nonzero(present), strict=True):
        assert track_ids[t][tables.unknown_ann_idx[g, t, n]] == tables.slot_track_ids[n]


def test_occlusion_masks_both_tables_but_never_the_last_frame():
    rng = np.random.default_rng(0)
    track_ids = [np.arange(1, 7)] * 10
    tables = build_id_tables(
        track_ids, rng, num_groups=6, num_id_vocabulary=50, occlusion_prob=1.0, switch_prob=0.0
    )
    assert (tables.trajectory_masks == tables.unknown_masks).all()
    assert tables.unknown_masks[:, :-1].any() and not tables.unknown_masks[:, -1].any()
    for g, n in np.ndindex(6, 6):  # each occlusion is one contiguous run
        hidden = np.flatnonzero(tables.unknown_masks[g, :, n])
        assert len(hidden) == 0 or hidden[-1] - hidden[0] + 1 == len(hidden)


def test_switch_permutes_only_trajectory_tables():
    rng = np.random.default_rng(1)
    track_ids = [np.arange(1, 9)] * 8
    tables = build_id_tables(
        track_ids, rng, num_groups=3, num_id_vocabulary=50, occlusion_prob=0.0, switch_prob=1.0
    )
    base = np.broadcast_to(np.arange(8), (3, 8, 8))
    assert (tables.unknown_ann_idx == base).all()
    assert (np.sort(tables.trajectory_ann_idx, axis=2) == base).all()  # a permutation per (group, frame)
    assert (tables.trajectory_ann_idx != base).any()
    assert (tables.trajectory_labels == tables.trajectory_labels[:, :1]).all()


def test_more_identities_than_labels_keeps_a_random_subset():
    rng = np.random.default_rng(2)
    tables = build_id_tables([np.arange(1, 31)] * 3, rng, num_groups=2, num_id_vocabulary=20)
    assert len(tables.slot_track_ids) == 20 and set(tables.slot_track_ids) <= set(range(1, 31))
    assert tables.trajectory_labels.shape == (2, 3, 20)


# --------------------------------------------------------------------------------------------------
# transforms


def test_resized_size_rule():
    assert resized_size(1080, 1920, 800, 1440) == (800, 1422)  # 1422 < 1440: no cap
    assert resized_size(1080, 1920, 608, 1440) == (608, 1081)  # round(608 * 16 / 9) = 1081
    assert resized_size(1920, 1080, 608, 1440) == (1081, 608)
    assert resized_size(600, 800, 600, None) == (600, 800)
    assert resized_size(100, 1000, 480, 1440) == (144, 1440)  # scale = floor(1440 * 100 / 1000)


@pytest.mark.parametrize("crop_prob", [0.0, 1.0])
@pytest.mark.parametrize("flip_prob", [0.0, 1.0])
def test_augmentation_keeps_boxes_on_their_objects(flip_prob, crop_prob):
    config = replace(SMALL, flip_prob=flip_prob, crop_prob=crop_prob, color_jitter=False)
    cropped = False
    for seed in range(6):
        out = augment_clip(rectangle_clip(), np.random.default_rng(seed), config)
        assert min(out.size) in config.scales or max(out.size) == config.max_size
        assert len({image.shape for image in out.images}) == 1
        assert_boxes_follow_content(out)
        height, width = out.size
        cropped |= abs(width / height - 160 / 96) > 0.05 or any(len(ids) < 3 for ids in out.ids)
        if flip_prob and not crop_prob:  # rectangle 3 starts on the right
            assert out.boxes[0][2, 2] < width / 2
    assert cropped == bool(crop_prob)


def test_crop_drops_boxes_outside_and_falls_back_when_a_frame_empties():
    clip = rectangle_clip()
    cropped = crop_clip(clip, top=0, left=0, height=60, width=60)
    assert all(ids.tolist() == [1] for ids in cropped.ids)  # rectangles 2 and 3 lie outside
    assert_boxes_follow_content(cropped)
    lonely = replace(
        clip, boxes=[b[2:] for b in clip.boxes], ids=[i[2:] for i in clip.ids]
    )  # only the corner one
    config = replace(SMALL, crop_min=20, crop_max=25, crop_scales=(96,))
    outcomes = set()
    for seed in range(30):
        out = random_crop(lonely, np.random.default_rng(seed), config)
        assert out.legal()
        outcomes.add(out.size == (96, 160))
    assert outcomes == {True, False}  # some crops kept the rectangle, the others were skipped


def test_flip_twice_is_identity():
    clip = rectangle_clip()
    twice = hflip(hflip(clip))
    assert all((a == b).all() for a, b in zip(twice.images, clip.images, strict=True))
    assert all(np.allclose(a, b) for a, b in zip(twice.boxes, clip.boxes, strict=True))


def test_colour_jitter_changes_images_only():
    clip = rectangle_clip()
    config = replace(SMALL, flip_prob=0.0, crop_prob=0.0, scales=(96,))
    out = augment_clip(clip, np.random.default_rng(5), config)
    assert all((a == b).all() for a, b in zip(out.depths, clip.depths, strict=True))
    assert any((a != b).any() for a, b in zip(out.images, clip.images, strict=True))


#: SHA-256 prefixes of Pillow 13.0.0's outputs on `_golden_image` (computed once with Pillow installed).
PILLOW_GOLDEN = {
    "resize_rgb_20x13": "f8e7df7cbbbb6a83",
    "resize_l_20x13": "f20ac1bdc1c13f8c",
    "resize_rgb_107x80": "eb6b76e296fbf3df",
    "resize_l_107x80": "6b302693cd4f6a9d",
    "resize_rgb_45x11": "1ef24a35c4bc7ebc",
    "resize_l_45x11": "5556cb43b4643453",
    "resize_rgb_31x37": "c285347b16862566",
    "resize_l_31x37": "fe7af9614a8970b2",
    "resize_rgb_53x37": "7711f7f394c1a18c",
    "resize_l_53x37": "f3da35c84e6c5edd",
    "brightness_0.6": "9277f8c6b0a40c89",
    "contrast_0.6": "3ea5873807b2bc96",
    "saturation_0.6": "265917986a9dd3a2",
    "brightness_1.37": "9e8f389100b1318f",
    "contrast_1.37": "eecba0b7d587b02b",
    "saturation_1.37": "058cc1f22c50ce58",
    "hue_-0.2": "f1d917973c9525a1",
    "hue_0.13": "858063a401617afe",
}


def _golden_image() -> np.ndarray:
    image = np.random.default_rng(20261121).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    image[:8, :8] = 128  # a grey patch: zero saturation
    return image


def test_pil_ops_match_pillow_outputs():
    image = _golden_image()
    digest = {}
    for name in PILLOW_GOLDEN:
        kind, _, arg = name.rpartition("_")
        if kind.startswith("resize"):
            width, height = (int(v) for v in arg.split("x"))
            source = image if kind == "resize_rgb" else np.ascontiguousarray(image[..., 1])
            out = pil_ops.resize_bilinear(source, width, height)
        else:
            function = {
                "brightness": pil_ops.adjust_brightness,
                "contrast": pil_ops.adjust_contrast,
                "saturation": pil_ops.adjust_saturation,
                "hue": pil_ops.adjust_hue,
            }[kind]
            out = function(image, float(arg))
        digest[name] = hashlib.sha256(np.ascontiguousarray(out).tobytes()).hexdigest()[:16]
    assert digest == PILLOW_GOLDEN


def test_the_tensor_resize_matches_pillow_too():
    """`resize_bilinear_tensor` (the tracker's, run on its device) gives Pillow's bytes, as the numpy one."""
    image = _golden_image()
    resizes = [name for name in PILLOW_GOLDEN if name.startswith("resize")]
    assert resizes
    for name in resizes:
        kind, _, arg = name.rpartition("_")
        width, height = (int(v) for v in arg.split("x"))
        source = image if kind == "resize_rgb" else np.ascontiguousarray(image[..., 1])
        out = pil_ops.resize_bilinear_tensor(torch.from_numpy(source), width, height)
        assert out.dtype == torch.uint8
        assert hashlib.sha256(out.contiguous().numpy().tobytes()).hexdigest()[:16] == PILLOW_GOLDEN[name]


# --------------------------------------------------------------------------------------------------
# dataset and collation


def test_dataset_sample_on_disk_layout(tmp_path):
    root = write_rectangle_sequence(tmp_path)
    index = SequenceIndex.from_root(root, "train")
    config = ClipConfig(sample_length=4, num_groups=3, augment=replace(SMALL, color_jitter=False))
    dataset = ClipDataset(index, config)
    for clip in list(ClipSampler(index, 4))[:6]:
        sample = dataset[clip]
        frames, _, height, width = sample["images"].shape
        assert str(sample["images"].dtype) == "torch.uint8" and str(sample["depths"].dtype) == "torch.uint8"
        assert tuple(sample["depths"].shape) == (frames, 1, height, width)
        # one column per object of the clip (3 rectangles; a random crop may leave fewer)
        objects = len(set(np.concatenate([i.numpy() for i in sample["track_ids"]]).tolist()))
        assert 1 <= objects <= 3 and tuple(sample["trajectory_labels"].shape) == (3, 4, objects)
        assert sample["meta"]["frames"] == [f + 1 for f in clip.frames]
        scale = np.array([width, height, width, height])
        boxes = []
        for cxcywh in sample["boxes"]:
            b = cxcywh.numpy().astype(np.float64)
            boxes.append(np.concatenate([b[:, :2] - b[:, 2:] / 2, b[:, :2] + b[:, 2:] / 2], axis=1) * scale)
        frames_back = ClipFrames(
            [i.permute(1, 2, 0).numpy() for i in sample["images"]],
            [d[0].numpy() for d in sample["depths"]],
            boxes,
            [i.numpy() for i in sample["track_ids"]],
        )
        assert_boxes_follow_content(frames_back, tolerance=2.5)
        assert (dataset[clip]["images"] == sample["images"]).all()  # the same clip always looks the same


def test_eval_mode_has_no_augmentation(dance_root):
    index = SequenceIndex.from_root(dance_root, "train")
    config = ClipConfig(sample_length=5, augment=replace(SMALL, eval_scale=None))
    dataset = ClipDataset(index, config, train=False)
    clip = Clip(0, (0, 1, 2, 3, 4))
    sample = dataset[clip]
    raw = dataset.read_frames(clip)
    assert (sample["images"][0].permute(1, 2, 0).numpy() == raw.images[0]).all()
    assert (sample["trajectory_masks"] == sample["unknown_masks"]).all()  # no occlusion, no switch


def test_collate_pads_images_and_tables(dance_root):
    index = SequenceIndex.from_root(dance_root, "train")
    config = ClipConfig(sample_length=4, num_groups=2, augment=SMALL)
    dataset = ClipDataset(index, config)
    samples = [dataset[c] for c in list(ClipSampler(index, 4))[:6]]
    batch = collate_clips(samples)
    height, width = batch["images"].shape[-2:]
    slots = batch["trajectory_labels"].shape[-1]
    assert height == max(s["images"].shape[2] for s in samples) and width == max(
        s["images"].shape[3] for s in samples
    )
    for b, sample in enumerate(samples):
        _, _, h, w = sample["images"].shape
        n = sample["trajectory_labels"].shape[-1]
        assert (batch["images"][b, :, :, :h, :w] == sample["images"]).all()
        assert (batch["images"][b, :, :, h:] == 0).all() and (batch["images"][b, :, :, :, w:] == 0).all()
        assert (
            not batch["masks"][b, :, :h, :w].any()
            and batch["masks"][b, :, h:].all()
            and batch["masks"][b, :, :, w:].all()
        )
        assert (batch["depths"][b, :, :, :h, :w] == sample["depths"]).all()
        assert (batch["unknown_labels"][b, ..., :n] == sample["unknown_labels"]).all()
        assert (batch["trajectory_labels"][b, ..., n:] == -1).all() and batch["trajectory_masks"][
            b, ..., n:
        ].all()
        assert (batch["unknown_ann_idx"][b, ..., n:] == -1).all() and (
            batch["slot_track_ids"][b, n:] == -1
        ).all()
    assert slots == max(s["trajectory_labels"].shape[-1] for s in samples)


def test_dataloader_runs_an_epoch_slice(dance_root):
    torch = pytest.importorskip("torch")
    index = SequenceIndex.from_root(dance_root, "train")
    sampler = ClipSampler(index, 3, start=40)
    dataset = ClipDataset(index, ClipConfig(sample_length=3, num_groups=2, augment=SMALL))
    loader = torch.utils.data.DataLoader(dataset, batch_size=2, sampler=sampler, collate_fn=collate_clips)
    batches = list(loader)
    assert len(batches) == len(loader) == (len(sampler) + 1) // 2
    assert batches[0]["images"].shape[:3] == (2, 3, 3)


# --------------------------------------------------------------------------------------------------
# static images


def write_crowdhuman(root: Path) -> Path:
    images, gts, depths = (root / "train" / sub for sub in ("images", "gts", "depth"))
    for folder in (images, gts, depths):
        folder.mkdir(parents=True)
    boxes = np.array([[20, 20, 50, 60], [70, 30, 100, 70], [115, 10, 140, 40]], float)
    image, depth = rectangle_frame(boxes)
    for name, rows in (("273271,1", boxes), ("empty", boxes[:0])):
        cv2.imwrite(str(images / f"{name}.jpg"), image[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 98])
        cv2.imwrite(str(depths / f"{name}.png"), depth)
        lines = [
            f"0 {i + 1} {x1:g} {y1:g} {x2 - x1:g} {y2 - y1:g}\n" for i, (x1, y1, x2, y2) in enumerate(rows)
        ]
        (gts / f"{name}.txt").write_text("".join(lines))
    return root


def test_static_images_become_moving_clips(tmp_path):
    index = StaticImageIndex.from_root(write_crowdhuman(tmp_path), "train")
    assert [r.static for r in index.records] == [True, True] and index[1].legal.tolist() == [False]
    clips = ClipSampler(index, 5).clips()
    assert clips == [Clip(0, (0,) * 5)]  # the empty image is skipped by legality
    dataset = ClipDataset(index, ClipConfig(sample_length=5, augment=SMALL))
    frames = dataset.read_frames(clips[0])
    config = replace(SMALL, flip_prob=0.0, crop_prob=0.0, color_jitter=False, scales=(96,))
    for seed in range(3):
        out = augment_clip(frames, np.random.default_rng(seed), config, static=True)
        assert_boxes_follow_content(out, tolerance=2.5)
        assert not all(np.allclose(out.boxes[0], b) for b in out.boxes[1:])  # the objects move
    sample = dataset[clips[0]]
    assert sample["images"].shape[0] == 5 and sample["meta"]["sequence"] == "train/273271,1"


# --------------------------------------------------------------------------------------------------
# bad inputs


def test_missing_depth_map_is_named(tmp_path):
    root = fresh_tiny(tmp_path)
    depth = sorted((root / "train").glob("*/depth/00000007.png"))[0]
    index = SequenceIndex.from_root(root, "train")
    config = ClipConfig(sample_length=4, augment=SMALL)
    dataset = ClipDataset(index, config)
    depth.unlink()
    with pytest.raises(FileNotFoundError, match=f"{depth}.*00000007.jpg"):
        ClipDataset(index, config)
    with pytest.raises(FileNotFoundError, match=f"{depth}.*00000007.jpg"):
        dataset[Clip(0, (5, 6, 7, 8))]
    ClipDataset(index, replace(config, depth=False))[Clip(0, (5, 6, 7, 8))]  # fine without depth


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_unreadable_image_is_named(tmp_path, damage):
    root = fresh_tiny(tmp_path)
    image = sorted((root / "train").glob("*/img1/00000003.jpg"))[0]
    raw = image.read_bytes()
    image.write_bytes(
        {"garbage": b"not a jpeg at all", "truncated": raw[: len(raw) // 2], "empty": b""}[damage]
    )
    dataset = ClipDataset(SequenceIndex.from_root(root, "train"), ClipConfig(sample_length=3, augment=SMALL))
    with pytest.raises(FrameReadError, match=str(image)):
        dataset[Clip(0, (1, 2, 3))]


@pytest.mark.parametrize("kind", ["colour-mapped", "16-bit"])
def test_badly_formatted_depth_is_rejected_before_training_starts(tmp_path, kind):
    root = fresh_tiny(tmp_path)
    depth = sorted((root / "train").glob("*/depth/00000002.png"))[0]
    grey = cv2.imread(str(depth), cv2.IMREAD_UNCHANGED)
    if kind == "colour-mapped":  # the official generator's default output
        cv2.imwrite(str(depth), cv2.applyColorMap(grey, cv2.COLORMAP_INFERNO))
    else:
        cv2.imwrite(str(depth), grey.astype(np.uint16) * 257)
    expected = "8-bit RGB" if kind == "colour-mapped" else "16-bit grey"
    with pytest.raises(
        FrameReadError, match=f"{depth}.*single-channel PNGs of their image's size, this one is {expected}"
    ) as error:
        ClipDataset(SequenceIndex.from_root(root, "train"), ClipConfig(sample_length=3, augment=SMALL))
    # the colour-map explanation only where it applies
    assert ("colour-mapped depth image cannot be used" in str(error.value)) == (kind == "colour-mapped")
    # read on its own (the dataset check bypassed), the map is refused as well
    dataset = ClipDataset(
        SequenceIndex.from_root(root, "train"), ClipConfig(sample_length=3, augment=SMALL, depth=False)
    )
    with pytest.raises(FrameReadError, match=f"{depth}.*single-channel"):
        read_depth(depth, dataset.index[0].image_files[1], grey.shape)


def test_depth_maps_of_another_size_are_rejected_before_training_starts(tmp_path):
    """A set made at another size (or from EXIF-turned frames) failed mid-epoch, at its first use."""
    root = fresh_tiny(tmp_path)
    for depth in (root / "train").glob("*/depth/*.png"):
        grey = cv2.imread(str(depth), cv2.IMREAD_UNCHANGED)
        cv2.imwrite(str(depth), cv2.resize(grey, (grey.shape[0], grey.shape[1])))  # turned: h x w swapped
    with pytest.raises(FrameReadError, match=r"00000001.png: .* this one is 80x128, its image 128x80"):
        ClipDataset(SequenceIndex.from_root(root, "train"), ClipConfig(sample_length=3, augment=SMALL))


def test_broken_sequence_folders_are_named(tmp_path):
    root = fresh_tiny(tmp_path)
    folder = next((root / "train").iterdir())
    missing_image = folder / "img1" / "00000010.jpg"
    missing_image.unlink()
    with pytest.raises(FileNotFoundError, match=f"{folder / 'img1'}: no image for frame 10"):
        SequenceIndex.from_root(root, "train")
    shutil.copy(folder / "img1" / "00000009.jpg", missing_image)
    (folder / "gt" / "gt.txt").write_text("1,1,2,3,4\n")
    with pytest.raises(MotFormatError, match="gt.txt"):
        SequenceIndex.from_root(root, "train")
    with pytest.raises(FileNotFoundError, match="split folder"):
        SequenceIndex.from_root(root, "val")


def test_annotations_keep_the_files_order_within_a_frame_and_duplicates_make_a_frame_illegal():
    from discmot.data.sequences import records_from_rows

    frames = np.array([1, 0, 1, 0, 2, 2])
    values = np.array(
        [[9, 0, 0, 5, 5], [7, 1, 1, 5, 5], [3, 2, 2, 5, 5], [2, 3, 3, 5, 5], [4, 0, 0, 1, 1]]
        + [[4, 1, 1, 1, 1]],
        float,
    )
    record = records_from_rows("seq", [Path(f"{k}.jpg") for k in range(3)], frames, values)
    assert record.annotations(0)[1].tolist() == [7, 2] and record.annotations(1)[1].tolist() == [9, 3]
    assert record.legal.tolist() == [True, True, False]  # frame 2 holds id 4 twice


def test_images_not_named_by_frame_number_are_ignored_with_a_warning(tmp_path, caplog):
    root = fresh_tiny(tmp_path)
    folder = next((root / "train").iterdir())
    clean = SequenceIndex.from_root(root, "train")
    shutil.copy(folder / "img1" / "00000001.jpg", folder / "img1" / "._00000001.jpg")  # macOS metadata
    shutil.copy(folder / "img1" / "00000001.jpg", folder / "img1" / "thumbnail.jpg")
    with caplog.at_level("WARNING"):
        index = SequenceIndex.from_root(root, "train")
    assert [r.image_files for r in index.records] == [r.image_files for r in clean.records]
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 1 and "1 image(s)" in warned[0] and "thumbnail.jpg" in warned[0]


def test_more_images_than_seqlength_are_said(tmp_path, caplog):
    """BFT's original loader counts the images, DanceTrack's reads seqLength: a disagreement is warned."""
    root = fresh_tiny(tmp_path)
    folder = next((root / "train").iterdir())
    frames = sorted((folder / "img1").glob("*.jpg"))
    shutil.copy(frames[-1], folder / "img1" / f"{int(frames[-1].stem) + 1:08d}.jpg")
    with caplog.at_level("WARNING"):
        index = SequenceIndex.from_root(root, "train")
    assert len(index.records[0].image_files) == len(frames)
    assert any(
        f"{len(frames) + 1} numbered images but seqLength={len(frames)}" in r.getMessage()
        for r in caplog.records
    )


def test_bad_gt_boxes_and_wrong_image_sizes_are_named_before_training(tmp_path, caplog):
    """What eval and jde-export refuse, training refuses too: a box without a positive size (file:line),
    and images of another size than seqinfo.ini says (the gt would be in the wrong pixels)."""
    root = fresh_tiny(tmp_path)
    folder = next((root / "train").iterdir())
    gt = folder / "gt" / "gt.txt"
    rows = gt.read_text().splitlines(keepends=True)
    frame, track = rows[0].split(",")[:2]
    gt.write_text("".join(rows) + f"{frame},999,10,10,-20,40,1,1,1\n")
    with pytest.raises(MotFormatError, match=f"{gt}:{len(rows) + 1}: box width and height must be > 0"):
        SequenceIndex.from_root(root, "train")

    gt.write_text("".join(rows) + f"{frame},{track},10,10,20,40,1,1,1\n")  # the id twice in that frame
    with caplog.at_level("WARNING"):
        index = SequenceIndex.from_root(root, "train")
    assert f"{gt}:{len(rows) + 1}: id {track} appears twice in frame {frame}" in caplog.text
    assert "not trained on" in caplog.text and not index.records[0].legal[int(frame) - 1]

    gt.write_text("".join(rows))
    info = folder / "seqinfo.ini"
    info.write_text(info.read_text().replace("imWidth=", "imWidth=1"))
    with pytest.raises(FrameReadError, match=r"00000001\.jpg: \d+x\d+, but .*seqinfo\.ini says imWidth=1"):
        SequenceIndex.from_root(root, "train")


def test_png_frames_are_read_when_seqinfo_says_so_and_named_when_it_does_not(tmp_path):
    from discmot.io.depth import check_sequence

    root = fresh_tiny(tmp_path)
    folder = next((root / "train").iterdir())
    jpg_index = SequenceIndex.from_root(root, "train")
    for image in (folder / "img1").glob("*.jpg"):
        cv2.imwrite(str(image.with_suffix(".png")), cv2.imread(str(image)))
        image.unlink()
    with pytest.raises(
        FileNotFoundError, match=r"frame 1 .*read as \.jpg .* has \.png images: set imExt=\.png"
    ):
        SequenceIndex.from_root(root, "train")
    info = folder / "seqinfo.ini"
    info.write_text(info.read_text().replace("imExt=.jpg", "imExt=.png"))
    index = SequenceIndex.from_root(root, "train")
    assert [p.with_suffix(".jpg") for p in index[0].image_files] == list(jpg_index[0].image_files)
    assert all(p.suffix == ".png" for p in index[0].image_files)
    assert index[0].annotations(3)[1].tolist() == jpg_index[0].annotations(3)[1].tolist()
    assert check_sequence(folder, synthetic=False) == [p.stem for p in index[0].image_files]


def test_the_format_hint_fits_the_case(tmp_path):
    from discmot.io.sequence_folders import training_frame_images

    root = fresh_tiny(tmp_path)
    folder = next((root / "train").iterdir())
    info_path = folder / "seqinfo.ini"
    info_path.write_text(info_path.read_text().replace("imExt=.jpg", "imExt=.png"))  # but the frames are .jpg
    with pytest.raises(
        FileNotFoundError, match=r"read as \.png \(seqinfo.ini's imExt\) .* has \.jpg images: correct"
    ):
        SequenceIndex.from_root(root, "train")
    info_path.unlink()  # BFT's layout: no seqinfo.ini, so no length to miss a frame of
    for image in (folder / "img1").glob("*.jpg"):
        image.rename(image.with_suffix(".png"))
    with pytest.raises(
        FileNotFoundError, match=r"no \.jpg frames; .*no seqinfo.ini.* add a seqinfo.ini with imExt"
    ):
        training_frame_images(folder / "img1", None, info_path)


def test_upper_case_jpg_frames_are_told_to_be_renamed(tmp_path):
    """Frames named .JPG under imExt=.JPG: the hint spoke of seqinfo's imExt and of PNG frames."""
    root = fresh_tiny(tmp_path)
    folder = next((root / "train").iterdir())
    for image in (folder / "img1").glob("*.jpg"):
        image.rename(image.with_suffix(".JPG"))
    info_path = folder / "seqinfo.ini"
    info_path.write_text(info_path.read_text().replace("imExt=.jpg", "imExt=.JPG"))
    with pytest.raises(
        FileNotFoundError,
        match=r"read as \.jpg \(seqinfo.ini's imExt=\.JPG: any but \.png is read as \.jpg\) and this "
        r"folder has \.JPG images: rename them to <frame>\.jpg",
    ):
        SequenceIndex.from_root(root, "train")


def test_an_empty_frames_folder_without_seqinfo_says_so(tmp_path):
    """Without seqinfo.ini the length is the number of images: 0 made the gt's first line the error."""
    root = fresh_tiny(tmp_path)
    folder = next((root / "train").iterdir())
    (folder / "seqinfo.ini").unlink()
    for image in (folder / "img1").iterdir():
        image.unlink()
    with pytest.raises(FileNotFoundError, match=r"img1: no \.jpg frames$"):
        SequenceIndex.from_root(root, "train")
