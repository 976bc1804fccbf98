"""More edge cases of the training config (`discmot.engine.train_config`): the FDTA recipe's batch size,
which it takes from `TrainConfig`'s default, and the errors for ``train.param_groups`` entries that are
no mapping.

Expected values come from spec ``fdta.md`` §6.1 and the docstrings, never from the code under test.
"""

from __future__ import annotations

import re

import pytest

from discmot.config import RecipeKeyError
from discmot.engine.train_config import fdta_train_config, param_group_rules


@pytest.mark.parametrize("dataset", ["dancetrack", "sportsmot", "bft"])
def test_the_fdta_recipes_train_one_clip_per_process(dataset):
    """Spec ``fdta.md`` §6.1: ``BATCH_SIZE 1`` in the base config, which no dataset's config changes
    (§6.2)."""
    assert fdta_train_config(dataset).batch_size == 1


@pytest.mark.parametrize(
    "entry",
    [
        "backbone",  # a bare name where a mapping belongs
        ["name", "backbone"],  # a YAML list (``- [name, backbone]``) where a mapping belongs
    ],
)
def test_a_param_group_entry_that_is_no_mapping_is_refused_by_its_index(entry):
    """`param_group_rules`: "errors name the entry and its fault": an entry that is no mapping (even
    one holding the word ``name``) is ``train.param_groups[i]=...: expected a mapping with a name``."""
    rule = {"name": "backbone", "match": ["backbone.0"], "lr_scale": 0.1}
    message = f"train.param_groups[1]={entry!r}: expected a mapping with a name"
    with pytest.raises(RecipeKeyError, match="^" + re.escape(message)):
        param_group_rules([rule, entry])
