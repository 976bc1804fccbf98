"""A run folder given as weights (`discmot.models.registry.weights_file`, used by ``track``, ``convert``
and ``load_model``) whose ``model.safetensors`` is older than its latest checkpoint: a smoke run's
weights (``train.max_iterations``), then a ``--resume`` that went on and was stopped. It was loaded as
the run's "final weights", silently those of the early step."""

from __future__ import annotations

import pytest
import torch

from discmot.engine import checkpointing
from discmot.models.fdta.model import FDTA
from discmot.models.fdta.recipe import load_recipe
from discmot.models.registry import weights_file


def run_folder(tmp_path, weights_at: int, checkpoint_at: int | None):
    """A run folder with final weights written at ``weights_at`` and a checkpoint at ``checkpoint_at``."""
    run = tmp_path / "run"
    torch.manual_seed(0)
    recipe = load_recipe("tiny")
    model = FDTA(recipe.model)
    (run / "checkpoints").mkdir(parents=True)
    checkpointing.write_weights(
        run / "model.safetensors", model, "fdta", model.config, recipe.train, global_step=weights_at
    )
    if checkpoint_at is not None:
        payload = {"format": checkpointing.FORMAT, "global_step": checkpoint_at, "epoch": 0}
        checkpointing.write_checkpoint(run / "checkpoints" / "epoch-000-iter-000300.pt", payload)
    return run


def test_final_weights_older_than_the_latest_checkpoint_are_refused_naming_both(tmp_path):
    run = run_folder(tmp_path, weights_at=5, checkpoint_at=300)
    with pytest.raises(ValueError) as refused:
        weights_file(run)
    message = str(refused.value)
    assert "written at step 5" in message and "step 300" in message
    assert "epoch-000-iter-000300.pt" in message and str(run / "model.safetensors") in message
    assert weights_file(run / "model.safetensors") == run / "model.safetensors"  # the file itself: a choice


@pytest.mark.parametrize("checkpoint_at", [None, 5])
def test_final_weights_as_new_as_the_checkpoints_load(tmp_path, checkpoint_at):
    run = run_folder(tmp_path, weights_at=5, checkpoint_at=checkpoint_at)
    assert weights_file(run) == run / "model.safetensors"
