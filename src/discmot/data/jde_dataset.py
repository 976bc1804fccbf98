"""The JDE dataset of CSTrack training (spec ``cstrack.md`` §6.2, §6.4): samples through the per-image
pipeline (`discmot.data.jde_transforms`), the epoch sampler and the batch collation.

`JDEDataset` seeds a ``numpy.random.Generator`` per ``(seed, epoch, index)``, so a sample is the same
whichever worker loads it. torch is imported only where tensors are built.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from discmot.data.frames import read_rgb
from discmot.data.jde import JDEIndex
from discmot.data.jde_transforms import JDETransformConfig, transform_sample

__all__ = ["JDEDataset", "JDEKey", "collate_jde", "jde_sampler_factory"]


class JDEKey(NamedTuple):
    """A sample of one epoch: what `jde_sampler_factory` yields and `JDEDataset` accepts."""

    epoch: int
    index: int  # type: ignore[assignment]  # the public field name deliberately shadows tuple.index


class JDEDataset:
    """Map-style dataset of CSTrack training samples over a `discmot.data.jde.JDEIndex`.

    ``dataset[key]`` takes a `JDEKey` (or a plain index, then of epoch `epoch`, see `set_epoch`) and returns
    a dict:
        ``image``: float32 ``(3, H, W)`` RGB in ``[0, 1]``;
        ``targets``: float32 ``(n, 6)`` rows ``0, identity, cx, cy, w, h`` (spec §5.1; column 0 becomes the
        image's batch position in `collate_jde`; identity 0 means none), box normalised to ``(W, H)``;
        ``path``: the image file; ``original_size``: ``(h0, w0)``.

    A sample's randomness comes from a generator seeded by ``(config.seed, epoch, index)``, so it does
    not depend on the worker that loads it. It is not a ``torch.utils.data.Dataset`` subclass (that would
    import torch with this module); DataLoader only needs ``__getitem__`` and ``__len__``.
    """

    def __init__(self, index: JDEIndex, config: JDETransformConfig | None = None, train: bool = True):
        self.index = index
        self.config = JDETransformConfig() if config is None else config
        self.train = train
        self.epoch = 0

    @property
    def num_identities(self) -> int:
        """nID, the size of the ID classifier (identities run over ``0 .. nID - 1``)."""
        return self.index.num_identities

    def set_epoch(self, epoch: int) -> None:
        """The epoch plain integer indices refer to."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, key: int | JDEKey) -> dict:
        epoch, i = (key.epoch, key.index) if isinstance(key, tuple) else (self.epoch, int(key))
        image, labels, original_size = self.load(i, self.sample_rng(epoch, i))
        return _to_tensors(image, labels, str(self.index[i].image), original_size)

    def sample_rng(self, epoch: int, index: int) -> np.random.Generator:
        """The generator of sample ``index`` in ``epoch``."""
        return np.random.default_rng([self.config.seed, epoch, index])

    def load(self, index: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
        """Image ``index`` through the pipeline: ``(H, W, 3)`` uint8 RGB, ``(m, 6)`` float32 labels and
        the original ``(h0, w0)``."""
        record = self.index[index]
        image = read_rgb(record.image, exif_orientation=True)  # the original's cv2.imread turns it
        original_size = (int(image.shape[0]), int(image.shape[1]))
        image, labels = transform_sample(image, record.labels, rng, self.config, self.train)
        return image, labels, original_size


def _to_tensors(image: np.ndarray, labels: np.ndarray, path: str, original_size) -> dict:
    import torch

    targets = torch.from_numpy(labels)
    targets[:, 0] = 0
    tensor = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float().div_(255)
    return {"image": tensor, "targets": targets, "path": path, "original_size": tuple(original_size)}


def collate_jde(samples: list[dict]) -> dict:
    """Batches `JDEDataset` samples.

    Returns a dict with ``images``: float32 ``(B, 3, H, W)``; ``targets``: float32 ``(sum n_b, 6)`` rows
    ``b, identity, cx, cy, w, h`` (``b`` the image's position in the batch); ``paths``;
    ``original_sizes``.
    """
    import torch

    targets = []
    for b, sample in enumerate(samples):
        rows = sample["targets"].clone()
        rows[:, 0] = b
        targets.append(rows)
    return {
        "images": torch.stack([s["image"] for s in samples]),
        "targets": torch.cat(targets),
        "paths": [s["path"] for s in samples],
        "original_sizes": [s["original_size"] for s in samples],
    }


def jde_sampler_factory(length: int, seed: int = 2020, shuffle: bool = True):
    """A ``sampler_factory`` for ``engine.train.Trainer``: ``(epoch, rank, world_size, start)`` ->
    `JDEKey` list.

    Images of all datasets are shuffled uniformly per epoch (§6.2: no per-dataset weights); the order is
    cut to a multiple of ``world_size``, rank ``r`` takes every ``world_size``-th key from ``r`` and
    skips the first ``start`` (already trained on when resuming mid-epoch).
    """

    def keys_for(epoch: int, rank: int, world_size: int, start: int = 0) -> list[JDEKey]:
        order = np.random.default_rng([seed, epoch]).permutation(length) if shuffle else np.arange(length)
        order = order[: length - length % world_size][rank::world_size][start:]
        return [JDEKey(epoch, int(i)) for i in order]

    return keys_for
