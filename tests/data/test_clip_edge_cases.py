"""Edge cases of the training clip sampler (spec ``fdta.md`` §2.10) and of the ID-label tables (§2.2-2.4)
that the main clip tests leave open.

Sequences are built in memory (`SequenceRecord` with hand-chosen legal frames); expected clips and
patterns are derived here from the spec's rules, never copied from the code's output.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from discmot.data.clip_sampler import (
    ClipSampler,
    can_give_clips,
    clip_sampler_factory,
    warn_sequences_without_clips,
)
from discmot.data.id_tables import build_id_tables
from discmot.data.sequences import SequenceIndex, SequenceRecord


def record(legal: list[bool], name: str = "train/seq", static: bool = False) -> SequenceRecord:
    """A sequence of ``len(legal)`` frames; a legal frame holds one box (track id 1), an illegal none."""
    counts = [1 if ok else 0 for ok in legal]
    rows = sum(counts)
    return SequenceRecord(
        name=name,
        image_files=tuple(Path(f"{t + 1:08d}.jpg") for t in range(len(legal))),
        boxes=np.zeros((rows, 4)),
        ids=np.ones(rows, np.int64),
        offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        legal=np.asarray(legal, bool),
        static=static,
    )


T, F = True, False

# ------------------------------------------------------------------------------------------ sampler


def test_sampler_draws_intervals_and_shuffles_with_seed_1025_plus_epoch():
    """§2.10: python ``random`` seeded 1025 + epoch draws ``randint(1, 4)`` for every start of every
    sequence in order, capped at ``floor((len - s - 1) / (T - 1))``; the list is shuffled by a torch
    generator seeded 1025 + epoch (as DistributedSampler)."""
    index = SequenceIndex([record([T] * 12, "train/a"), record([T] * 9, "train/b")])
    length = 4
    for epoch in (1, 2):
        draws = random.Random(1025 + epoch)
        expected = []
        for sequence, size in enumerate((12, 9)):
            for start in range(size - length + 1):
                interval = min(draws.randint(1, 4), (size - start - 1) // (length - 1))
                expected.append((sequence, tuple(start + k * interval for k in range(length))))
        order = torch.randperm(len(expected), generator=torch.Generator().manual_seed(1025 + epoch))
        expected = [expected[i] for i in order.tolist()]
        clips = ClipSampler(index, length, epoch=epoch).clips()
        assert [(c.sequence, c.frames) for c in clips] == expected


def test_clips_of_one_frame_are_every_legal_frame():
    """§4.6: MOTIP's DETR pre-training samples clips of length 1 (no interval to cap): one clip per
    legal frame."""
    index = SequenceIndex([record([T, F, T, T])])
    clips = ClipSampler(index, 1).clips()
    assert sorted(c.frames for c in clips) == [(0,), (2,), (3,)]


def test_clips_of_two_frames_never_pass_the_sequence_end():
    """§2.10: the interval cap ``floor((len - s - 1) / (T - 1))`` also applies for T = 2: from the last
    start (len - 2) only interval 1 fits."""
    index = SequenceIndex([record([T] * 5)])
    for epoch in range(6):
        clips = ClipSampler(index, 2, epoch=epoch).clips()
        assert sorted(c.frames[0] for c in clips) == [0, 1, 2, 3]
        assert all(c.frames[1] <= 4 and c.frames[1] - c.frames[0] <= min(4, 4 - c.frames[0]) for c in clips)
        assert next(c.frames for c in clips if c.frames[0] == 3) == (3, 4)


def test_sampler_accepts_the_smallest_settings_and_rejects_bad_ones():
    """Clip length 1 and max interval 1 are valid; 0, or a rank outside ``0..world_size - 1``, is not."""
    index = SequenceIndex([record([T] * 3)])
    assert len(ClipSampler(index, 1, max_interval=1)) == 3
    for kwargs in ({"sample_length": 0}, {"sample_length": 2, "max_interval": 0}):
        with pytest.raises(ValueError, match=">= 1"):
            ClipSampler(index, **kwargs)
    with pytest.raises(ValueError, match="rank 2"):
        ClipSampler(index, 1, world_size=2, rank=2)


def test_shards_are_padded_to_equal_length_by_default():
    """Like DistributedSampler (default ``pad``): 5 clips over 4 ranks give every rank 2 clips, as the
    engine's sampler factory hands them out."""
    index = SequenceIndex([record([T] * 5)])
    factory = clip_sampler_factory(index, 1)
    shards = [factory(0, rank, 4, 0) for rank in range(4)]
    assert [len(s) for s in shards] == [2, 2, 2, 2]
    assert [len(ClipSampler(index, 1, world_size=4, rank=r)) for r in range(4)] == [2, 2, 2, 2]


def test_a_resume_position_past_the_shard_leaves_nothing():
    index = SequenceIndex([record([T] * 5)])
    sampler = ClipSampler(index, 1, start=50)
    assert len(sampler) == 0 and list(sampler) == []


def test_static_images_repeat_their_frame_and_count_as_giving_clips(caplog):
    """§2.10: a still image (CrowdHuman) is repeated T times; a legal one gives a clip, so a dataset of
    still images only is accepted without a warning."""
    still = record([T], "crowdhuman/a", static=True)
    assert can_give_clips(still, 4, 4) and not can_give_clips(record([F], static=True), 4, 4)
    index = SequenceIndex([still, record([T], "crowdhuman/b", static=True)])
    assert [c.frames for c in ClipSampler(index, 4).clips()] == [(0, 0, 0, 0)] * 2
    with caplog.at_level(logging.WARNING):
        warn_sequences_without_clips(index, 4, 4)
    assert not caplog.records


def test_no_warning_when_every_sequence_gives_clips(caplog):
    index = SequenceIndex([record([T] * 6, "train/a"), record([T] * 8, "train/b")])
    with caplog.at_level(logging.WARNING):
        warn_sequences_without_clips(index, 4, 4)
    assert not caplog.records


@pytest.mark.parametrize(
    "legal, length, expected, why",
    [
        ([T, F, F, F, T], 3, False, "0, 2, 4 holds illegal 2; 0 and 4 alone are not 3 frames"),
        ([T, T, F], 3, False, "the only clip 0, 1, 2 ends on an illegal frame"),
        ([T, T, T, F, F, F], 3, True, "0, 1, 2 (the illegal frames after it do not matter)"),
        ([T, F, T, F], 3, False, "interval 2 from 0 would need frame 4 (cap floor(3 / 2) = 1)"),
        ([F, T, F, T, F], 3, False, "interval 2 from 1 would need frame 5 (cap floor(3 / 2) = 1)"),
        ([T, F, T, F, T], 3, True, "0, 2, 4 with interval 2 = floor(4 / 2)"),
        ([T, F, F, T, F, F, T], 3, True, "0, 3, 6 with interval 3 = floor(6 / 2)"),
        ([T, F, F, F, T, F, F, F, T], 3, True, "0, 4, 8 with interval 4 = max = floor(8 / 2)"),
        ([T, F, F, F, F, T, F, F, F, F, T], 3, False, "0, 5, 10 needs interval 5 > max 4"),
        ([T, T], 1, True, "a clip of one frame"),
    ],
)
def test_can_give_clips_follows_the_sampling_rule(legal, length, expected, why):
    """§2.10: a sequence gives a clip iff some start s and interval 1..min(4, floor((len - s - 1) /
    (T - 1))) make T frames that are all legal (hand-checked cases)."""
    assert can_give_clips(record(legal), length, 4) is expected, why


# ---------------------------------------------------------------------------------------- ID tables


def test_id_tables_defaults_are_six_groups_and_fifty_labels():
    """§2.2: G = 6 groups, K = 50 labels (0..49) and newborn target 50 by default."""
    rng = np.random.default_rng(0)
    tables = build_id_tables([np.array([4, 9])] * 3, rng, occlusion_prob=0.0, switch_prob=0.0)
    assert tables.trajectory_labels.shape == (6, 3, 2)
    assert tables.trajectory_labels.max() < 50
    assert (tables.unknown_labels[:, 0] == 50).all()  # no history at frame 0: newborn


def test_id_tables_default_augmentation_probabilities_are_one_half():
    """§2.3: AUG_TRAJECTORY_OCCLUSION_PROB = AUG_TRAJECTORY_SWITCH_PROB = 0.5 by default. With 40 slots
    x 6 groups, the share of (group, slot) pairs with an occluded frame is about 0.5 x P(run > 0)
    (below 0.5), and the share of (group, frame) entries that moved about 1 - P(no switch) (above 0.5)
    tell 0.5 from 0.75."""
    rng = np.random.default_rng(3)
    slots, frames = 40, 12
    tables = build_id_tables([np.arange(slots)] * frames, rng)
    occluded = tables.unknown_masks.any(axis=1).mean()  # per (group, slot)
    # P(occluded) = 0.5 * P(begin < T - 1 and u > 0) = 0.5 * 11 / 12 = 0.458 (0.6875 for 0.75)
    assert 0.38 < occluded < 0.54
    base = np.broadcast_to(np.arange(slots), tables.unknown_ann_idx.shape)
    visible = ~tables.unknown_masks
    moved = (tables.trajectory_ann_idx != base) & visible
    # each visible entry is picked with prob 0.5 and then moves with prob ~ 1 - 1/20 (20 picked)
    share = moved.sum() / visible.sum()
    assert 0.4 < share < 0.56


def test_absent_and_occluded_entries_hold_ann_idx_minus_one():
    """Module convention: ``ann_idx`` is exactly -1 wherever the token is absent or occluded."""
    rng = np.random.default_rng(4)
    track_ids = [np.array([1, 2, 3]), np.array([2]), np.array([1, 3]), np.array([1, 2, 3])]
    tables = build_id_tables(track_ids, rng, num_groups=4, occlusion_prob=1.0, switch_prob=0.0)
    for name in ("trajectory", "unknown"):
        idx, mask = getattr(tables, f"{name}_ann_idx"), getattr(tables, f"{name}_masks")
        assert mask.any() and (idx[mask] == -1).all() and (idx[~mask] >= 0).all()


def test_a_subset_of_identities_keeps_distinct_slots_and_ignores_the_others():
    """§2.2 step 1: with more identities than labels, K distinct ones are kept; the others are no slot
    and never appear in the tables (their rows are DETR targets only)."""
    rng = np.random.default_rng(5)
    track_ids = [np.array([3, 8, 1, 5, 9, 2]), np.array([7, 6, 4, 3, 1, 8])]
    tables = build_id_tables(track_ids, rng, num_groups=2, num_id_vocabulary=3, occlusion_prob=0.0)
    slots = tables.slot_track_ids
    assert len(set(slots.tolist())) == 3 and slots.tolist() == sorted(slots.tolist())
    for t, ids in enumerate(track_ids):
        for n, slot_id in enumerate(slots):
            row = tables.unknown_ann_idx[0, t, n]
            if slot_id in ids:
                assert ids[row] == slot_id
            else:
                assert row == -1 and tables.unknown_masks[0, t, n]
    for seed in range(5):  # 5 of 6 identities: drawn without replacement, never a slot twice
        tables = build_id_tables([np.arange(1, 7)], np.random.default_rng(seed), num_id_vocabulary=5)
        assert len(set(tables.slot_track_ids.tolist())) == 5


def test_switch_also_swaps_pairs_of_picked_slots():
    """§2.3: 'if >= 2 are selected' — with 2 slots and switch probability 1, both are picked in every
    (group, frame) and a random permutation of the two swaps them about half the time."""
    rng = np.random.default_rng(6)
    tables = build_id_tables([np.array([1, 2])] * 20, rng, num_groups=6, occlusion_prob=0.0, switch_prob=1.0)
    swapped = (tables.trajectory_ann_idx == [1, 0]).all(axis=2)
    assert 0.3 < swapped.mean() < 0.7
    assert (tables.unknown_ann_idx == [0, 1]).all()


def test_occlusion_runs_of_a_three_frame_clip_are_all_the_allowed_ones():
    """§2.3: begin ~ U{0, 1, 2}, len = ceil((T - 1 - begin) u). For T = 3 the hidden frames are {0} or
    {0, 1} (begin 0), {1} (begin 1), or none (begin 2): each of these appears, nothing else does."""
    rng = np.random.default_rng(7)
    tables = build_id_tables([np.arange(20)] * 3, rng, num_groups=6, occlusion_prob=1.0, switch_prob=0.0)
    patterns = {tuple(np.flatnonzero(tables.unknown_masks[g, :, n])) for g in range(6) for n in range(20)}
    assert patterns == {(), (0,), (1,), (0, 1)}
