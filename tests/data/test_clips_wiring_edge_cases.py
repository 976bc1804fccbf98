"""Edge cases of FDTA's clip dataset (`discmot.data.clips`, spec ``fdta.md`` §2.2-2.3, §2.10, §8): that the
trajectory-augmentation probabilities of `ClipConfig` (and of a recipe's ``clips`` section) reach the ID
tables in training and never in evaluation, the original's defaults, static clips that repeat one frame,
and the sample's boxes and frame numbers.

Every expectation is a property stated by the spec, checked against "base" tables built by hand from the
sample's own track ids (§2.2 step 2: ``ann_idx`` = index of the slot's object in the frame, -1 if absent).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from discmot.data.clips import Clip, ClipConfig, ClipDataset, ClipSampler, SequenceIndex, collate_clips
from discmot.data.frames import FrameReadError
from discmot.data.id_tables import IdTables
from discmot.data.static import StaticImageIndex
from discmot.data.synth import generate_dataset
from discmot.data.transforms import AugmentConfig

FRAMES = 6
#: small frames, no colour jitter: fast, and the tables do not depend on the image augmentation
AUGMENT = replace(AugmentConfig().rescaled((64,), max_size=128), color_jitter=False)


@pytest.fixture(scope="module")
def tiny_index(tmp_path_factory) -> SequenceIndex:
    root = tmp_path_factory.mktemp("tiny-clips")
    generate_dataset(root, "tiny", split="train", sequences=1, frames=12, seed=1)
    return SequenceIndex.from_root(root, "train")


def config(**changes) -> ClipConfig:
    return ClipConfig(**{"sample_length": FRAMES, "depth": False, "augment": AUGMENT, **changes})


def clips_of(index: SequenceIndex) -> list[Clip]:
    return ClipSampler(index, FRAMES).clips()[:4]


def base_ann_idx(sample: dict) -> np.ndarray:
    """``[T, N]`` index of each slot's object in each frame's annotations, -1 where absent (§2.2 step 2)."""
    slots = sample["slot_track_ids"].numpy()
    base = np.full((len(sample["track_ids"]), len(slots)), -1, np.int64)
    for t, ids in enumerate(sample["track_ids"]):
        for i, track in enumerate(ids.numpy().tolist()):
            where = np.flatnonzero(slots == track)
            if where.size:
                base[t, where[0]] = i
    return base


def tables(sample: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        base_ann_idx(sample),
        sample["trajectory_ann_idx"].numpy(),
        sample["unknown_ann_idx"].numpy(),
    )


# --------------------------------------------------------------------------------------------------
# the probabilities reach the tables (§2.3)


def test_probabilities_zero_leave_every_group_at_the_base_tables(tiny_index):
    """§2.3: "The MOTIP 'without trajectory augmentation' configs set both probabilities to 0": then the
    trajectory and the unknown tables of every group are the base table, masks where absent."""
    dataset = ClipDataset(tiny_index, config(occlusion_prob=0.0, switch_prob=0.0))
    for clip in clips_of(tiny_index):
        sample = dataset[clip]
        base, trajectory, unknown = tables(sample)
        assert base.shape[1] >= 2
        assert (trajectory == base).all() and (unknown == base).all()
        assert (sample["trajectory_masks"].numpy() == (base < 0)).all()


def test_occlusion_probability_of_the_config_occludes_both_tables_alike(tiny_index):
    """§2.3 occlusion with probability 1 (and no switch): every (group, slot) draws a run, which hides the
    object in the trajectory **and** unknown tables alike; present objects get hidden somewhere, never in
    the clip's last frame."""
    dataset = ClipDataset(tiny_index, config(occlusion_prob=1.0, switch_prob=0.0))
    hidden = 0
    for clip in clips_of(tiny_index):
        base, trajectory, unknown = tables(dataset[clip])
        assert (trajectory == unknown).all()  # no switch
        assert ((trajectory == base) | (trajectory == -1)).all()
        assert (trajectory[:, -1] == base[-1]).all()
        hidden += int(((trajectory == -1) & (base >= 0)).sum())
    assert hidden > 0


def test_switch_probability_of_the_config_permutes_trajectories_only(tiny_index):
    """§2.3 switch with probability 1 (and no occlusion): unknown tables stay the base; each frame's
    trajectory entries are the base entries of that frame in some order, and some are moved."""
    dataset = ClipDataset(tiny_index, config(occlusion_prob=0.0, switch_prob=1.0))
    moved = 0
    for clip in clips_of(tiny_index):
        base, trajectory, unknown = tables(dataset[clip])
        assert (unknown == base).all()
        for g, t in np.ndindex(trajectory.shape[:2]):
            assert sorted(trajectory[g, t]) == sorted(base[t])
        moved += int((trajectory != base).sum())
    assert moved > 0


def test_evaluation_mode_ignores_the_augmentation_probabilities(tiny_index):
    """The class contract (evaluation: "the ID tables have no occlusion or switch") even with both
    probabilities 1 in the config."""
    dataset = ClipDataset(tiny_index, config(occlusion_prob=1.0, switch_prob=1.0), train=False)
    for clip in clips_of(tiny_index):
        base, trajectory, unknown = tables(dataset[clip])
        assert (trajectory == base).all() and (unknown == base).all()


def test_a_recipes_clips_section_sets_the_probabilities():
    """The recipe's ``clips: {occlusion_prob, switch_prob}`` become the dataset's `ClipConfig` values."""
    from discmot.models.fdta.recipe import load_recipe

    recipe = load_recipe("tiny", ["clips.occlusion_prob=0.25", "clips.switch_prob=0"])
    assert (recipe.clips.occlusion_prob, recipe.clips.switch_prob) == (0.25, 0.0)


# --------------------------------------------------------------------------------------------------
# defaults (§2.1-2.3, §2.10, §6.1)


def test_defaults_are_fdta_on_dancetrack():
    """T = 30 (§2.10 ``SAMPLE_LENGTHS`` for DanceTrack), intervals up to 4, G = 6 groups, K = 50 labels,
    occlusion and switch 0.5 (§2.3), seed 1025 (§2.10), depth maps read (the Spatial Adapter, §8.2)."""
    default = ClipConfig()
    assert (default.sample_length, default.max_interval, default.num_groups) == (30, 4, 6)
    assert default.num_id_vocabulary == 50
    assert (default.occlusion_prob, default.switch_prob) == (0.5, 0.5)
    assert default.seed == 1025 and default.depth is True
    with pytest.raises(dataclasses.FrozenInstanceError):
        default.switch_prob = 0.0  # a frozen value object, shared by the loader's workers


@pytest.mark.parametrize(
    ("field", "low", "high"),
    [
        ("sample_length", 1, None),
        ("max_interval", 1, None),
        ("num_groups", 1, None),
        ("num_id_vocabulary", 1, None),
        ("occlusion_prob", 0.0, 1.0),
        ("switch_prob", 0.0, 1.0),
    ],
)
def test_config_bounds_are_inclusive(field, low, high):
    """The smallest settings (1 frame, interval 1, 1 group, 1 label) and the probabilities 0 and 1 are
    all valid; one step beyond is refused."""
    assert getattr(ClipConfig(**{field: low}), field) == low
    if high is not None:
        assert getattr(ClipConfig(**{field: high}), field) == high
    with pytest.raises(ValueError):
        ClipConfig(**{field: low - 1 if high is None else high + 1})


# --------------------------------------------------------------------------------------------------
# the sample


def test_sample_boxes_are_normalised_centres_and_sizes_and_frames_are_one_based(tiny_index):
    """§8.3 steps 1, 5 and 8: gt ``x, y, w, h`` pixels -> ``cx, cy, w, h`` divided by the frame size; the
    meta's frame numbers are the files' 1-based numbers. In evaluation mode without a rescale the frame
    keeps its size, so the gt rows give the expected boxes directly."""
    dataset = ClipDataset(tiny_index, config(augment=replace(AUGMENT, eval_scale=None)), train=False)
    clip = Clip(0, (2, 3))
    sample = dataset[clip]
    record = tiny_index[0]
    height, width = sample["meta"]["size"]
    assert sample["meta"]["frames"] == [3, 4]
    for t, frame in enumerate(clip.frames):
        xywh, ids = record.annotations(frame)
        expected = np.stack(
            [
                (xywh[:, 0] + xywh[:, 2] / 2) / width,
                (xywh[:, 1] + xywh[:, 3] / 2) / height,
                xywh[:, 2] / width,
                xywh[:, 3] / height,
            ],
            axis=1,
        )
        np.testing.assert_allclose(sample["boxes"][t].numpy(), expected, rtol=1e-6)
        assert sample["track_ids"][t].numpy().tolist() == ids.tolist()


def write_one_static_image(root: Path) -> Path:
    images, gts = root / "train" / "images", root / "train" / "gts"
    images.mkdir(parents=True)
    gts.mkdir(parents=True)
    image = np.full((48, 64, 3), 90, np.uint8)
    image[8:30, 10:30] = (200, 40, 40)
    cv2.imwrite(str(images / "a.jpg"), image[:, :, ::-1])
    (gts / "a.txt").write_text("0 1 10 8 20 22\n0 2 40 20 12 20\n")
    return root


def test_a_static_clip_reads_its_one_frame_for_every_position(tmp_path):
    """§2.10: static images repeat the single frame T times; `read_frames` gives T equal frames with the
    image's boxes (x, y, w, h -> x1, y1, x2, y2)."""
    index = StaticImageIndex.from_root(write_one_static_image(tmp_path), "train")
    clip = ClipSampler(index, 4).clips()[0]
    assert clip.frames == (0, 0, 0, 0)
    frames = ClipDataset(index, config(sample_length=4)).read_frames(clip)
    assert len(frames.images) == len(frames.boxes) == 4 and frames.depths is None
    for image, boxes, ids in zip(frames.images, frames.boxes, frames.ids, strict=True):
        assert (image == frames.images[0]).all()
        np.testing.assert_allclose(boxes, [[10, 8, 30, 30], [40, 20, 52, 40]])
        assert ids.tolist() == [1, 2]


def test_training_is_the_default_mode_and_augments_the_frames(tiny_index):
    """``ClipDataset(index, config)`` trains: the §8.3 augmentation runs. With a flip of probability 1 and
    a final resize to the frames' own shorter side (80 px), every box is mirrored, ``cx -> 1 - cx``, against
    the same clip in evaluation mode without rescale (step 3: ``x1' = W - x2``, ``x2' = W - x1``)."""
    mirror = replace(AUGMENT, flip_prob=1.0, crop_prob=0.0, scales=(80,), max_size=1000, eval_scale=None)
    clip = Clip(0, (0, 1, 2))
    trained = ClipDataset(tiny_index, config(augment=mirror))[clip]
    plain = ClipDataset(tiny_index, config(augment=mirror), train=False)[clip]
    assert trained["meta"]["size"] == plain["meta"]["size"]
    for got, raw in zip(trained["boxes"], plain["boxes"], strict=True):
        expected = raw.clone()
        expected[:, 0] = 1 - raw[:, 0]
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)


def test_indexing_by_anything_but_a_clip_is_a_type_error(tiny_index):
    dataset = ClipDataset(tiny_index, config())
    with pytest.raises(TypeError, match="Clip objects"):
        dataset[0]


def test_a_frame_of_another_size_than_the_first_is_named_when_read(tmp_path):
    """Every frame of a sequence must have its first frame's size (the gt boxes are pixels of it): a
    resized frame fails when read, naming itself and the first frame."""
    generate_dataset(tmp_path, "tiny", split="train", sequences=1, frames=4, seed=1)
    index = SequenceIndex.from_root(tmp_path, "train")
    odd = index[0].image_files[2]
    cv2.imwrite(str(odd), np.zeros((40, 64, 3), np.uint8))
    dataset = ClipDataset(index, config(sample_length=2))
    dataset.read_frames(Clip(0, (0, 1)))  # frames of the right size
    with pytest.raises(
        FrameReadError, match=re.escape(str(odd)) + ".*" + re.escape(index[0].image_files[0].name)
    ):
        dataset.read_frames(Clip(0, (0, 2)))


def test_a_static_clip_reads_its_image_once(tmp_path, monkeypatch):
    """A static clip repeats one frame T times: the file is read once, not T times."""
    import discmot.data.clips as clips_module

    index = StaticImageIndex.from_root(write_one_static_image(tmp_path), "train")
    reads = []
    real = clips_module.read_rgb
    monkeypatch.setattr(clips_module, "read_rgb", lambda path: reads.append(path) or real(path))
    ClipDataset(index, config(sample_length=5)).read_frames(Clip(0, (0,) * 5))
    assert len(reads) == 1


def test_a_missing_depth_map_of_a_static_image_is_named(tmp_path):
    """Depth maps are required when ``depth`` is on, also for static images named by an id, not a frame
    number ("a.jpg": no renamed-map hint applies): a FileNotFoundError naming the map."""
    index = StaticImageIndex.from_root(write_one_static_image(tmp_path), "train")
    with pytest.raises(FileNotFoundError, match="depth map not found") as caught:
        ClipDataset(index, config(depth=True))
    assert "rename" not in str(caught.value)


# --------------------------------------------------------------------------------------------------
# collation (§8.3 last paragraph: pad to the batch's largest size, bottom/right, mask True)


def hand_sample(frames: int, groups: int, slots: int, height: int, width: int, depth: bool) -> dict:
    tables = {}
    for name in IdTables.TABLES:
        kind = name.split("_", 1)[1]
        dtype = torch.bool if kind == "masks" else torch.int64
        tables[name] = torch.zeros((groups, frames, slots), dtype=dtype)
    return {
        "images": torch.full((frames, 3, height, width), 7, dtype=torch.uint8),
        "depths": torch.full((frames, 1, height, width), 9, dtype=torch.uint8) if depth else None,
        "boxes": [torch.zeros((slots, 4))] * frames,
        "track_ids": [torch.arange(slots)] * frames,
        "slot_track_ids": torch.arange(slots),
        "meta": {"frames": list(range(1, frames + 1))},
        **tables,
    }


def test_collating_one_sample_without_depth_maps():
    """A batch of one clip (the original's ``BATCH_SIZE: 1``, §4.1) and no depth maps (MOTIP-style)."""
    batch = collate_clips([hand_sample(frames=2, groups=1, slots=3, height=5, width=4, depth=False)])
    assert batch["images"].shape == (1, 2, 3, 5, 4) and batch["depths"] is None
    assert batch["masks"].shape == (1, 2, 5, 4) and not batch["masks"].any()
    assert batch["trajectory_labels"].shape == (1, 1, 2, 3) and batch["slot_track_ids"].tolist() == [
        [0, 1, 2]
    ]


def test_collated_depth_maps_have_one_channel_and_zero_padding():
    small = hand_sample(frames=2, groups=1, slots=1, height=3, width=4, depth=True)
    large = hand_sample(frames=2, groups=1, slots=2, height=5, width=2, depth=True)
    batch = collate_clips([small, large])
    assert batch["depths"].shape == (2, 2, 1, 5, 4) and batch["images"].shape == (2, 2, 3, 5, 4)
    assert (batch["depths"][0, :, :, :3, :4] == 9).all() and (batch["depths"][0, :, :, 3:] == 0).all()
    assert (batch["depths"][1, :, :, :, :2] == 9).all() and (batch["depths"][1, :, :, :, 2:] == 0).all()
    assert batch["masks"][0, :, 3:].all() and batch["masks"][1, :, :, 2:].all()
    assert batch["slot_track_ids"].tolist() == [[0, -1], [0, 1]]


@pytest.mark.parametrize(
    ("samples", "message"),
    [
        ([], "at least one sample"),
        ([hand_sample(2, 1, 1, 3, 3, True), hand_sample(2, 2, 1, 3, 3, True)], "same \\(groups, frames\\)"),
        ([hand_sample(2, 1, 1, 3, 3, True), hand_sample(3, 1, 1, 3, 3, True)], "same \\(groups, frames\\)"),
        ([hand_sample(2, 1, 1, 3, 3, True), hand_sample(2, 1, 1, 3, 3, False)], "every sample of a batch"),
    ],
)
def test_collation_refuses_batches_it_cannot_stack(samples, message):
    with pytest.raises(ValueError, match=message):
        collate_clips(samples)
