"""FDTA training clips: the clip dataset and its collation (the sampler, `discmot.data.clip_sampler`, is
re-exported here with the rest of the training data's public names).

Flow: `discmot.data.sequences.SequenceIndex` (annotations and frame legality) -> `ClipSampler` (§2.10:
which frames form each clip, shuffled per epoch, sharded per rank) -> `ClipDataset` (reads frames,
augments them with `discmot.data.transforms`, builds the ID tables of `discmot.data.id_tables`) ->
`collate_clips` (a padded batch). torch is imported only where tensors are built.

Missing or corrupt files raise errors naming the file; missing depth maps, and a dataset that gives no
clip at all, already when the dataset is built, so a bad dataset fails before the first step, not in the
middle of an epoch. A frame of another size than its sequence's first is found only when it is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from discmot.config import check_field_ranges
from discmot.data.clip_sampler import Clip, ClipSampler, clip_sampler_factory
from discmot.data.frames import FrameReadError, read_depth, read_rgb
from discmot.data.id_tables import IdTables, build_id_tables
from discmot.data.sequences import SequenceIndex, SequenceRecord
from discmot.data.transforms import AugmentConfig, ClipFrames, augment_clip, resize_for_eval

__all__ = [
    "Clip",
    "ClipConfig",
    "ClipDataset",
    "ClipSampler",
    "SequenceIndex",
    "clip_sampler_factory",
    "collate_clips",
]


# --------------------------------------------------------------------------------------------------
# The dataset


@dataclass(frozen=True)
class ClipConfig:
    """How a clip becomes a training sample (defaults: FDTA on DanceTrack).

    Attributes:
        sample_length: T, frames per clip (30 DanceTrack, 60 SportsMOT, 20 BFT).
        max_interval: the largest step between a clip's frames (``SAMPLE_INTERVALS``, 4 in every
            original config); each clip draws its step from 1..max_interval (§2.10).
        num_groups: G, label groups per clip (``AUG_NUM_GROUPS``).
        num_id_vocabulary: K, ID labels; label K means "newborn".
        occlusion_prob, switch_prob: trajectory augmentation (§2.3); 0 disables it.
        depth: read the depth maps (FDTA's Spatial Adapter); False for MOTIP-style training.
        augment: the image augmentation of §8.3 (and the evaluation size).
        seed: base of the per-clip random generators.
    """

    sample_length: int = 30
    max_interval: int = 4
    num_groups: int = 6
    num_id_vocabulary: int = 50
    occlusion_prob: float = 0.5
    switch_prob: float = 0.5
    depth: bool = True
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    seed: int = 1025

    def __post_init__(self):
        check_field_ranges(self, CLIP_RANGES)


#: `ClipConfig` fields -> ``(lowest, highest or None)``: beyond them a run would fail mid-epoch or
#: sample nonsense (a probability above 1).
CLIP_RANGES = {
    "sample_length": (1, None),
    "max_interval": (1, None),
    "num_groups": (1, None),
    "num_id_vocabulary": (1, None),
    "occlusion_prob": (0, 1),
    "switch_prob": (0, 1),
}


class ClipDataset:
    """Turns a `Clip` into tensors: ``dataset[clip]`` (usable as a map-style DataLoader dataset).

    In training mode each clip is augmented (§8.3) and its trajectories augmented (§2.3); in evaluation
    mode frames are only resized to ``augment.eval_scale`` and the ID tables have no occlusion or switch.
    Randomness comes from a generator seeded by ``(config.seed, clip.epoch, clip.sequence, clip.frames)``,
    so a clip looks the same whichever worker process loads it.

    Raises (at construction): FileNotFoundError when ``config.depth`` and depth maps are missing.
    """

    def __init__(self, index: SequenceIndex, config: ClipConfig | None = None, train: bool = True):
        config = ClipConfig() if config is None else config
        self.index = index
        self.config = config
        self.train = train
        if config.depth:
            _require_depth_files(index)

    def __getitem__(self, clip: Clip) -> dict:
        if not isinstance(clip, Clip):
            raise TypeError(f"ClipDataset is indexed by Clip objects (from ClipSampler), not {type(clip)}")
        return self.load(clip)

    def clip_rng(self, clip: Clip) -> np.random.Generator:
        """The generator of ``clip``'s augmentation and ID tables."""
        return np.random.default_rng([self.config.seed, clip.epoch, clip.sequence, *clip.frames])

    def read_frames(self, clip: Clip) -> ClipFrames:
        """The clip's images, depth maps and boxes (``x1, y1, x2, y2`` pixels) as stored on disk."""
        record = self.index[clip.sequence]
        cache: dict[int, tuple] = {}  # a static clip repeats one frame: read it once
        for frame in clip.frames:
            if frame not in cache:
                cache[frame] = self._read_frame(record, frame)
        images, depths, boxes, ids = zip(*(cache[f] for f in clip.frames), strict=True)
        return ClipFrames(list(images), list(depths) if self.config.depth else None, list(boxes), list(ids))

    @staticmethod
    def _check_frame_size(record: SequenceRecord, frame: int, size: tuple[int, int]) -> None:
        """Requires frame ``frame`` of ``record`` to be the ``(H, W)`` of its first frame, as the index
        found it (checked against ``seqinfo.ini`` when the index is built; reading every image header
        then would cost a pass over the dataset): the gt boxes are pixels of one size, and a clip's
        frames are augmented as one size, so a resized frame would train on misplaced boxes without a
        word.

        Raises:
            FrameReadError: the frame has another size (the message names both files).
        """
        first = record.frame_size
        if first is not None and tuple(size) != tuple(first):
            raise FrameReadError(
                f"{record.image_files[frame]}: {size[1]}x{size[0]}, but the first frame of its sequence, "
                f"{record.image_files[0]}, is {first[1]}x{first[0]}: a sequence's frames must be one size "
                "(its gt boxes are pixels of it); resize the frames that differ, with their gt rows"
            )

    def _read_frame(self, record: SequenceRecord, frame: int) -> tuple:
        image_file = record.image_files[frame]
        image = read_rgb(image_file)
        if not record.static:  # before its depth map: the frame, not the map, is then the odd one
            self._check_frame_size(record, frame, image.shape[:2])
        depth = (
            read_depth(record.depth_file(frame), image_file, image.shape[:2]) if self.config.depth else None
        )
        xywh, ids = record.annotations(frame)
        xyxy = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
        return image, depth, xyxy, ids.copy()

    def load(self, clip: Clip, rng: np.random.Generator | None = None) -> dict:
        """The sample of ``clip`` (see `collate_clips` for the batched form).

        Returns a dict with
            ``images``: uint8 ``[T, 3, H, W]`` RGB; ``depths``: uint8 ``[T, 1, H, W]`` or ``None``;
            ``boxes``: T float32 ``[n_t, 4]`` normalised ``cx, cy, w, h``; ``track_ids``: T int64 ``[n_t]``;
            ``trajectory_labels/ann_idx/masks``, ``unknown_labels/ann_idx/masks``: ``[G, T, N]``
            (int64, int64, bool); ``slot_track_ids``: int64 ``[N]``; ``meta``: sequence name, frame
            numbers, original and final ``(H, W)``.
        """
        rng = self.clip_rng(clip) if rng is None else rng
        record = self.index[clip.sequence]
        frames = self.read_frames(clip)
        original_size = frames.size
        if self.train:
            frames = augment_clip(frames, rng, self.config.augment, static=record.static)
        else:
            frames = resize_for_eval(frames, self.config.augment)
        tables = build_id_tables(
            frames.ids,
            rng,
            self.config.num_groups,
            self.config.num_id_vocabulary,
            self.config.occlusion_prob if self.train else 0.0,
            self.config.switch_prob if self.train else 0.0,
        )
        meta = {
            "sequence": record.name,
            "frames": [f + 1 for f in clip.frames],
            "original_size": tuple(original_size),
            "size": tuple(frames.size),
        }
        return _to_tensors(frames, tables, meta)


def _require_depth_files(index: SequenceIndex) -> None:
    missing = index.missing_depth_files()
    if missing:
        depth, image = missing[0]
        renamed = _renamed_map(depth, image)
        hint = (
            f" {renamed.name} is there: maps named with {len(renamed.stem)} digits, the images with "
            f"{len(image.stem)} (FDTA's tools/gen_depthmaps.py names every map with 8 digits, spec "
            f"fdta.md 8.2): rename each to its image's name ({renamed.name} -> {depth.name}) to use them."
            if renamed is not None
            else ""
        )
        raise FileNotFoundError(
            f"{depth}: depth map not found (needed for the image {image}); {len(missing)} depth map(s) "
            f"missing in all.{hint} {'Or g' if hint else 'G'}enerate them with `discmot depth`, or train "
            "without the Spatial Adapter: --set adapters.spatial=false."
        )
    bad = index.badly_formatted_depth_files()
    if bad:
        depth, kind = bad[0]
        coloured = kind.endswith(("RGB", "RGBA", "palette", "alpha"))
        why = "a colour-mapped depth image cannot be used: regenerate them" if coloured else "regenerate them"
        raise FrameReadError(
            f"{depth}: depth maps must be 8-bit single-channel PNGs of their image's size, this one is "
            f"{kind} ({len(bad)} such map(s) found, sizes checked on each sequence's first; {why} with "
            "`discmot depth`)"
        )


def _renamed_map(depth: Path, image: Path) -> Path | None:
    """A map beside the missing ``depth`` with its image's frame number written with another digit
    count (``00000001.png`` for ``img1/000001.jpg``: the original generator's names for SportsMOT and
    BFT), or None."""
    if not image.stem.isdigit():
        return None
    number = int(image.stem)
    for digits in range(len(str(number)), 11):
        other = depth.with_name(f"{number:0{digits}d}{depth.suffix}")
        if other.name != depth.name and other.is_file():
            return other
    return None


def _to_tensors(frames: ClipFrames, tables: IdTables, meta: dict) -> dict:
    import torch

    height, width = frames.size
    scale = np.array([width, height, width, height], np.float64)
    sample = {
        "images": torch.from_numpy(np.stack(frames.images)).permute(0, 3, 1, 2).contiguous(),
        "depths": None if frames.depths is None else torch.from_numpy(np.stack(frames.depths)[:, None]),
        "boxes": [torch.from_numpy(_xyxy_to_cxcywh(b / scale).astype(np.float32)) for b in frames.boxes],
        "track_ids": [torch.from_numpy(np.asarray(i, np.int64)) for i in frames.ids],
        "slot_track_ids": torch.from_numpy(tables.slot_track_ids),
        "meta": meta,
    }
    for name in IdTables.TABLES:
        sample[name] = torch.from_numpy(np.ascontiguousarray(getattr(tables, name)))
    return sample


def _xyxy_to_cxcywh(boxes: np.ndarray) -> np.ndarray:
    boxes = boxes.reshape(-1, 4)
    return np.concatenate([(boxes[:, :2] + boxes[:, 2:]) / 2, boxes[:, 2:] - boxes[:, :2]], axis=1)


# --------------------------------------------------------------------------------------------------
# Collation

#: Padding values of the ID tables: padded slots are masked, with label and annotation -1.
_TABLE_PADDING = {"labels": -1, "ann_idx": -1, "masks": True}


def collate_clips(samples: list[dict]) -> dict:
    """Batches samples of one clip length T and group count G.

    Returns a dict with
        ``images``: uint8 ``[B, T, 3, H, W]`` zero-padded bottom/right to the largest size;
        ``masks``: bool ``[B, T, H, W]``, True on padding (also the padding of ``depths``);
        ``depths``: uint8 ``[B, T, 1, H, W]`` or ``None``;
        ``boxes``, ``track_ids``: B lists of T tensors; ``meta``: B dicts;
        the six ID tables ``[B, G, T, N_max]`` and ``slot_track_ids`` ``[B, N_max]``, padded with
        mask True and label / annotation index / track id -1.
    """
    import torch

    if not samples:
        raise ValueError("collate_clips needs at least one sample")
    shapes = {tuple(s["trajectory_labels"].shape[:2]) for s in samples}
    if len(shapes) != 1:
        raise ValueError(f"samples of one batch need the same (groups, frames), found {sorted(shapes)}")
    with_depth = {s["depths"] is not None for s in samples}
    if len(with_depth) != 1:
        raise ValueError("either every sample of a batch has depth maps or none has")
    height = max(s["images"].shape[2] for s in samples)
    width = max(s["images"].shape[3] for s in samples)
    frames = samples[0]["images"].shape[0]
    images = torch.zeros((len(samples), frames, 3, height, width), dtype=torch.uint8)
    masks = torch.ones((len(samples), frames, height, width), dtype=torch.bool)
    depths = (
        torch.zeros((len(samples), frames, 1, height, width), dtype=torch.uint8)
        if True in with_depth
        else None
    )
    for b, sample in enumerate(samples):
        h, w = sample["images"].shape[2:]
        images[b, :, :, :h, :w] = sample["images"]
        masks[b, :, :h, :w] = False
        if depths is not None:
            depths[b, :, :, :h, :w] = sample["depths"]
    batch = {
        "images": images,
        "masks": masks,
        "depths": depths,
        "boxes": [s["boxes"] for s in samples],
        "track_ids": [s["track_ids"] for s in samples],
        "meta": [s["meta"] for s in samples],
    }
    slots = max(s["trajectory_labels"].shape[2] for s in samples)
    for name in IdTables.TABLES:
        batch[name] = _pad_last(samples, name, slots, _TABLE_PADDING[name.split("_", 1)[1]])
    batch["slot_track_ids"] = _pad_last(samples, "slot_track_ids", slots, -1)
    return batch


def _pad_last(samples: list[dict], name: str, size: int, value):
    """Stacks ``samples[*][name]`` padded along the last dimension to ``size`` with ``value``."""
    import torch

    first = samples[0][name]
    out = torch.full((len(samples), *first.shape[:-1], size), value, dtype=first.dtype)
    for b, sample in enumerate(samples):
        out[b, ..., : sample[name].shape[-1]] = sample[name]
    return out
