"""Hints `discmot track` gives when an end-to-end model's output is empty: an empty results file alone
does not say why."""

from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest

from discmot.data.synth import generate_dataset
from discmot.engine.demo import bundled_weights
from discmot.engine.track_verb import track

HINT = "no object tracked in"


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    """A folder of blank grey frames, and a split of one synthetic dancing scene."""
    root = tmp_path_factory.mktemp("hints")
    blank = root / "blank"
    blank.mkdir()
    for frame in range(1, 5):
        cv2.imwrite(str(blank / f"{frame:06d}.jpg"), np.full((160, 256, 3), 128, np.uint8))
    generate_dataset(root / "synth", split="val", sequences=1, frames=4, size=(256, 160))
    return blank, root / "synth" / "val"


@pytest.mark.parametrize("kind", ["fdta", "cstrack"])
def test_a_source_where_the_model_tracks_no_one_gets_a_hint(scenes, caplog, tmp_path, kind):
    blank, _ = scenes
    with caplog.at_level(logging.WARNING, logger="discmot"):
        summary = track(
            blank, model=kind, weights=bundled_weights(kind), save_txt=tmp_path / "r.txt", progress=False
        )
    assert summary["rows"] == 0 and (tmp_path / "r.txt").read_text() == ""
    assert f"{HINT} 4 frames" in caplog.text and "--track-thresh" in caplog.text


def test_a_split_where_the_model_tracks_people_gets_no_hint(scenes, caplog, tmp_path):
    _, split = scenes
    with caplog.at_level(logging.WARNING, logger="discmot"):
        summaries = track(
            split, model="fdta", weights=bundled_weights("fdta"), split_out=tmp_path / "out", progress=False
        )
    assert sum(s["rows"] for s in summaries.values()) > 0
    assert HINT not in caplog.text
