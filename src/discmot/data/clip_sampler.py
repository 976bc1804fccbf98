"""FDTA's clip sampler (spec §2.10, MOTIP's NaiveSampler): which frames form each training clip,
shuffled per epoch and sharded per rank, and the check, when a dataset is built, that its sequences give
clips at all. The draws are part of a run's reproducibility: `ClipSampler`'s docstring says which
generator draws what. `discmot.data.clips` turns the clips into tensors.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

from discmot.data.sequences import SequenceIndex, SequenceRecord

# the logger of `discmot.data.clips`, where this warning was logged from before: users filter by its name
log = logging.getLogger("discmot.data.clips")


@dataclass(frozen=True)
class Clip:
    """One training sample: a sequence of the index and T 0-based frame positions in it."""

    sequence: int
    frames: tuple[int, ...]
    epoch: int = 0


class ClipSampler:
    """The clips of one epoch, shuffled identically on every rank, then this rank's shard.

    For every sequence and start ``s`` with ``s + T <= length``: ``interval = min(randint(1,
    max_interval), floor((length - s - 1) / (T - 1)))`` and frames ``s + k * interval``; clips with an
    illegal frame are dropped. Static images give one clip, the frame repeated T times. Intervals come
    from ``random.Random(seed + epoch)``, the shuffle from ``torch.randperm`` with a generator seeded
    ``seed + epoch``.

    Sharding follows ``torch.utils.data.DistributedSampler``: with ``pad`` the list is extended by its
    first clips to a multiple of ``world_size`` (every rank gets the same number of clips, so no rank
    waits at the end of an epoch), then rank r takes positions ``r, r + world_size, ...``. ``start``
    skips the first clips of this rank's shard (resuming mid-epoch); ``len()`` counts what remains.
    """

    def __init__(
        self,
        index: SequenceIndex,
        sample_length: int,
        max_interval: int = 4,
        epoch: int = 0,
        seed: int = 1025,
        world_size: int = 1,
        rank: int = 0,
        start: int = 0,
        pad: bool = True,
    ):
        if sample_length < 1 or max_interval < 1:
            raise ValueError("sample_length and max_interval must be >= 1")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is outside 0..{world_size - 1}")
        self.index = index
        self.sample_length = sample_length
        self.max_interval = max_interval
        self.seed = seed
        self.world_size = world_size
        self.rank = rank
        self.pad = pad
        self.set_epoch(epoch, start)

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """Selects the epoch (and the position in this rank's shard to resume from)."""
        self.epoch = epoch
        self.start = start
        self._shard: list[Clip] | None = None

    def clips(self) -> list[Clip]:
        """All legal clips of the epoch in shuffled order (the same list on every rank)."""
        intervals = random.Random(self.seed + self.epoch)
        clips = []
        for sequence, record in enumerate(self.index.records):
            for frames in self._sequence_clips(record, intervals):
                if record.legal[list(frames)].all():
                    clips.append(Clip(sequence, frames, self.epoch))
        if not clips:
            raise ValueError(self._no_clip_message())
        import torch  # (only where tensors are built)

        # a torch generator seeded seed + epoch, as a DistributedSampler shuffles (the original's sampler)
        order = torch.randperm(len(clips), generator=torch.Generator().manual_seed(self.seed + self.epoch))
        return [clips[i] for i in order.tolist()]

    def _no_clip_message(self) -> str:
        return no_clip_message(self.index, self.sample_length)

    def _sequence_clips(self, record: SequenceRecord, intervals: random.Random) -> Iterator[tuple[int, ...]]:
        length, count = record.length, self.sample_length
        if record.static:
            yield (0,) * count
            return
        for start in range(length - count + 1):
            interval = intervals.randint(1, self.max_interval)
            if count > 1:
                interval = min(interval, (length - start - 1) // (count - 1))
            yield tuple(start + k * interval for k in range(count))

    def shard(self) -> list[Clip]:
        """This rank's clips of the epoch, from the beginning (ignoring ``start``)."""
        if self._shard is None:
            clips = self.clips()
            if self.pad:
                total = math.ceil(len(clips) / self.world_size) * self.world_size
                clips = (clips * math.ceil(total / len(clips)))[:total]
            self._shard = clips[self.rank :: self.world_size]
        return self._shard

    def __iter__(self) -> Iterator[Clip]:
        return iter(self.shard()[self.start :])

    def __len__(self) -> int:
        return max(len(self.shard()) - self.start, 0)


def no_clip_message(index: SequenceIndex, sample_length: int) -> str:
    """Why no clip is legal, with each sequence's count of legal frames (those with 1 to 300 boxes,
    each id once): every frame of a clip must be legal, so sparse annotations make no clip."""
    counts = [f"{record.name}: {_why_idle(record)}" for record in index.records[:5]]
    more = f", and {len(index) - 5} more" if len(index) > 5 else ""
    return (
        f"no legal clip of {sample_length} frames in {len(index)} sequence(s): every frame of "
        "a clip needs 1 to 300 boxes with unique ids, and a sequence must be at least as long as the "
        "clip. "
        f"{'; '.join(counts)}{more}"
    )


def can_give_clips(record: SequenceRecord, sample_length: int, max_interval: int) -> bool:
    """Whether some start and step (1..``max_interval``, capped as the sampler caps it) give a clip of
    legal frames only: a sequence for which none does never trains (gt on every 5th frame, too short)."""
    if record.static:
        return bool(record.legal[0])
    length = record.length
    for start in range(length - sample_length + 1):
        room = (length - start - 1) // (sample_length - 1) if sample_length > 1 else max_interval
        for step in range(1, min(max_interval, room) + 1):
            if record.legal[start : start + step * (sample_length - 1) + 1 : step].all():
                return True
    return False


def warn_sequences_without_clips(index: SequenceIndex, sample_length: int, max_interval: int) -> None:
    """Names the sequences that give no clip (when others do), so that a sparsely annotated one is not
    silently left out of training.

    Raises:
        ValueError: no sequence gives a clip (`no_clip_message`): said when the dataset is built, before
            a run folder exists, rather than by the sampler at the first epoch.
    """
    # still images (CrowdHuman) are left out: one with no box, or over 300, is not a sparse sequence
    gives = [can_give_clips(r, sample_length, max_interval) for r in index.records]
    if not any(gives):
        raise ValueError(no_clip_message(index, sample_length))
    idle = [r for r, given in zip(index.records, gives, strict=True) if not given and not r.static]
    if idle:
        log.warning(
            "%d sequence(s) give no training clip of %d frames (every frame of a clip needs 1 to 300 boxes "
            "with unique ids, frames at most %d apart) and are not trained on: %s",
            len(idle),
            sample_length,
            max_interval,
            ", ".join(f"{r.name} ({_why_idle(r)})" for r in idle[:5])
            + (f", and {len(idle) - 5} more" if len(idle) > 5 else ""),
        )


def _why_idle(record: SequenceRecord) -> str:
    """What a sequence that gives no clip has: no box at all (an empty gt.txt), or too few legal frames."""
    if not len(record.ids):
        return "its gt has no box"
    return f"{int(record.legal.sum())} of {record.length} frames legal"


def clip_sampler_factory(index: SequenceIndex, sample_length: int, max_interval: int = 4, seed: int = 1025):
    """``(epoch, rank, world_size, start) -> list[Clip]``: the engine's sampler-factory protocol."""

    def clips_for(epoch: int, rank: int, world_size: int, start: int) -> list[Clip]:
        return list(ClipSampler(index, sample_length, max_interval, epoch, seed, world_size, rank, start))

    return clips_for
