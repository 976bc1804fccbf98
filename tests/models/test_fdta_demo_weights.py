"""The committed demo model (`discmot/assets`): the tiny FDTA trained by ``discmot train --config tiny``
on synthetic DanceTrack. It must be small, carry its config, and have learned to detect: on a synthetic
sequence it has never seen (a fresh seed) it finds the dancers, which a randomly initialised network of
the same shape does not.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import discmot
from discmot.data.synth import generate_dataset
from discmot.models.fdta.checkpoint import load_fdta, save_fdta
from discmot.models.fdta.model import build_fdta
from discmot.models.fdta.recipe import load_recipe

DEMO = Path(str(resources.files("discmot") / "assets" / "fdta_tiny_synth_dancetrack.safetensors"))


def det_a(tmp_path: Path, weights: Path) -> float:
    out = tmp_path / f"out-{weights.stem}"
    discmot.track(
        tmp_path / "data" / "val", model="fdta", weights=weights, input_size=(160, 256), split_out=out,
        tracker_name="fdta", progress=False,
    )  # fmt: skip
    results = discmot.evaluate(
        tmp_path / "data", out, benchmark="DanceTrack", split="val", write_summaries=False
    )
    return float(results["fdta"]["COMBINED"]["HOTA"]["DetA"].mean())


def test_demo_weights_are_small_and_carry_their_config():
    assert DEMO.is_file(), f"{DEMO} is missing: it is committed with the repository"
    assert DEMO.stat().st_size <= 20 * 2**20
    model = load_fdta(DEMO)
    assert model.config.name == "tiny"


def test_demo_weights_track_at_the_scale_their_recipe_trains_at():
    # Without --input-size a model tracks at its config's runtime size: the tiny recipe's largest training
    # scale, not the bare preset's 96 px (the weights were trained at shorter sides 128-160).
    runtime = load_fdta(DEMO).config.runtime
    recipe = load_recipe("tiny")
    assert runtime == recipe.model.runtime
    assert (runtime.shorter_side, runtime.max_longer_side) == (
        max(recipe.clips.augment.scales),
        recipe.clips.augment.max_size,
    )


def test_demo_weights_detect_dancers_on_an_unseen_sequence(tmp_path):
    generate_dataset(
        tmp_path / "data", "dancetrack", split="val", sequences=1, frames=20, seed=99, size=(256, 160)
    )
    random_weights = tmp_path / "random.safetensors"
    save_fdta(random_weights, build_fdta(load_fdta(DEMO).config))  # same shape, random weights
    trained, untrained = det_a(tmp_path, DEMO), det_a(tmp_path, random_weights)
    assert trained > 0.3, trained
    assert trained > untrained + 0.2, (trained, untrained)
