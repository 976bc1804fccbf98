"""The demo's ``--analyze-frames N`` is a count (the first N frames tracked), while ``analyze``'s
``max_frames`` is frame numbers 1..N as in ``discmot track``: `discmot.engine.demo.diagnose` turns the one
into the other, so a source whose images are named from ``000050.jpg`` on gets its first N frames, and
never a frame the demo did not track."""

from __future__ import annotations

import pytest

from discmot.engine.demo import DemoConfig, DemoModel, diagnose, last_analysed_frame
from helpers import CSTRACK_TINY, write_frames


@pytest.mark.parametrize(
    ("numbers", "analyze_frames", "source_frames", "last"),
    [
        (range(1, 200), 80, None, 80),  # frames from 1 (the rendered scene): the count is the frame
        (range(50, 200), 80, None, 129),  # the first 80 of frames 50..: 50-129
        (range(100, 120), 80, None, 119),  # fewer than 80: all of them (it failed: 80 < 100)
        (range(50, 200), 80, 60, 60),  # tracked 50-60 only: analysed 50-60, no later frame
        ([1, 3, 5, 7, 9], 3, None, 5),  # gaps: the 3rd image is frame 5
    ],
)
def test_the_demo_gives_analyze_the_last_of_its_first_n_frames(
    tmp_path, numbers, analyze_frames, source_frames, last
):
    folder = write_frames(tmp_path / "clip", numbers)
    config = DemoConfig(analyze_frames=analyze_frames, source_frames=source_frames)
    assert last_analysed_frame(folder, config) == last


@pytest.mark.parametrize(("source_frames", "analysed"), [(None, [50, 51, 52]), (51, [50, 51])])
def test_the_demo_analyses_the_first_frames_of_a_folder_from_50(tmp_path, source_frames, analysed):
    """``--analyze-frames 3`` on images 50-59: frames 50-52 (analyze was given max_frames 3, which ends
    before the first image, and failed after the tracking and drawing); with ``--frames 51`` (tracked
    50-51), 50-51 only (it analysed 50-52, a frame the demo had not tracked)."""
    folder = write_frames(tmp_path / "clip", range(50, 60))
    config = DemoConfig(analyze_frames=3, source_frames=source_frames)
    model = DemoModel("cstrack", CSTRACK_TINY, None)
    summary = diagnose(model, folder, tmp_path / "out", config, progress=False)
    assert [f["frame"] for f in summary["views"]["reid"]["per_frame"]] == analysed
