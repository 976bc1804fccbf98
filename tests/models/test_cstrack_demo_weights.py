"""The committed demo CSTrack (`discmot/assets`): the tiny CSTrack trained by ``discmot train --config
cstrack_tiny`` on synthetic MOT and DanceTrack scenes. It must be small, carry its config, and have learned
to track: on synthetic sequences it has never seen (a fresh seed) it finds and follows the pedestrians and
the dancers, which a randomly initialised network of the same shape does not.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import discmot
from discmot.data.synth import generate_dataset
from discmot.engine.demo import BUNDLED_TRACK_OPTIONS
from discmot.models.cstrack.checkpoint import load_cstrack, save_cstrack
from discmot.models.cstrack.model import build_cstrack

DEMO = Path(str(resources.files("discmot") / "assets" / "cstrack_tiny_synth.safetensors"))


def hota(tmp_path: Path, weights: Path, input_size=None, **options) -> dict:
    out = tmp_path / f"out-{weights.stem}-{len(options)}"
    options = {**BUNDLED_TRACK_OPTIONS["cstrack"], **options}  # as the demo runs it: unfiltered
    discmot.track(
        tmp_path / "data" / "val", model="cstrack", weights=weights, split_out=out, tracker_name="cstrack",
        progress=False, input_size=input_size, **options,
    )  # fmt: skip
    results = discmot.evaluate(tmp_path / "data", out, split="val", write_summaries=False)
    combined = results["cstrack"]["COMBINED"]["HOTA"]
    return {key: float(combined[key].mean()) for key in ("HOTA", "DetA", "AssA")}


def test_demo_weights_are_small_and_carry_their_config():
    assert DEMO.is_file(), f"{DEMO} is missing: it is committed with the repository"
    assert DEMO.stat().st_size <= 20 * 2**20
    model = load_cstrack(DEMO)
    assert model.config.name == "tiny"


def test_demo_weights_track_pedestrians_on_an_unseen_sequence(tmp_path):
    generate_dataset(tmp_path / "data", "mot", split="val", sequences=1, frames=40, seed=99, size=(320, 192))
    random_weights = tmp_path / "random.safetensors"
    save_cstrack(random_weights, build_cstrack("tiny"))
    trained, untrained = hota(tmp_path, DEMO), hota(tmp_path, random_weights)
    assert trained["HOTA"] > 0.25 and trained["AssA"] > 0.15, trained
    assert trained["HOTA"] > untrained["HOTA"] + 0.2, (trained, untrained)


def test_demo_weights_detect_dancers_on_an_unseen_dancetrack_sequence(tmp_path):
    """The demo scene's kind: identical dancers at 256x160 (held-out numbers: docs/model_zoo.md)."""
    generate_dataset(
        tmp_path / "data", "dancetrack", split="val", sequences=1, frames=30, seed=99, size=(256, 160)
    )
    trained = hota(tmp_path, DEMO, input_size=(160, 256))
    assert trained["DetA"] > 0.25 and trained["HOTA"] > 0.15, trained
    # why the demo turns the original's pedestrian filter off: most dancer boxes are wider than w/h 0.6
    filtered = hota(tmp_path, DEMO, input_size=(160, 256), output_filter=True)
    assert filtered["DetA"] < trained["DetA"] / 2, (filtered, trained)
