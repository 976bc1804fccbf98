"""Edge cases of CSTrack's training dataset and sampler (`discmot.data.jde_dataset`, spec ``cstrack.md``
§6.2, §6.4, §6.7) that the contract tests leave open: the epoch a fresh dataset reads plain indices in,
the image tensor's scale (uint8 / 255), and the sampler's defaults (shuffled, the original's seed 2020).

Expected values come from the spec; the per-sample pipeline itself (`discmot.data.jde_transforms`) is
tested elsewhere and only supplies the uint8 image the tensor must equal after the division.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from discmot.data.jde import JDEIndex
from discmot.data.jde_dataset import JDEDataset, JDEKey, jde_sampler_factory
from discmot.data.jde_transforms import JDETransformConfig
from discmot.data.synth import PRESETS, generate_dataset

TINY_SIZE = PRESETS["tiny"].size


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> JDEIndex:
    root = tmp_path_factory.mktemp("jde-edge")
    generate_dataset(root, preset="tiny", sequences=1, frames=3, seed=4, jde=True)
    return JDEIndex.from_list(root / "jde" / "synth_tiny.train", root / "jde")


def test_a_fresh_dataset_reads_plain_indices_in_epoch_0(index):
    """Until `set_epoch` is called, ``dataset[i]`` is the sample ``JDEKey(0, i)`` (the first epoch), not
    that of a later epoch (whose HSV gains and flip are drawn anew)."""
    dataset = JDEDataset(index, JDETransformConfig(size=TINY_SIZE))
    plain, first = dataset[1], dataset[JDEKey(0, 1)]
    assert torch.equal(plain["image"], first["image"]) and torch.equal(plain["targets"], first["targets"])
    assert not torch.equal(plain["image"], dataset[JDEKey(1, 1)]["image"])


@pytest.mark.parametrize("train", [False, True])
def test_the_image_tensor_is_the_rgb_pipeline_output_divided_by_255(index, train):
    """§6.4 step 6: "CHW uint8; the training loop divides by 255": the sample's float32 ``(3, H, W)`` image is
    the pipeline's uint8 RGB image over 255, exactly (not over 256: 255 must map to 1.0)."""
    dataset = JDEDataset(index, JDETransformConfig(size=TINY_SIZE), train=train)
    image, _, _ = dataset.load(0, dataset.sample_rng(0, 0))
    expected = torch.from_numpy(image.astype(np.float32) / np.float32(255)).permute(2, 0, 1)
    got = dataset[JDEKey(0, 0)]["image"]
    assert got.dtype == torch.float32 and got.shape == (3, TINY_SIZE[1], TINY_SIZE[0])
    torch.testing.assert_close(got, expected, rtol=0, atol=0)


def test_the_sampler_shuffles_with_the_original_seed_by_default():
    """§6.2: images of all datasets are "concatenated and shuffled uniformly"; §6.7: the original's global
    seed is 2020. The default factory is the shuffled one seeded 2020, and its order is a permutation."""
    default = jde_sampler_factory(50)(0, 0, 1)
    assert default == jde_sampler_factory(50, seed=2020, shuffle=True)(0, 0, 1)
    indices = [key.index for key in default]
    assert sorted(indices) == list(range(50)) and indices != list(range(50))
    assert all(key.epoch == 0 for key in default)
