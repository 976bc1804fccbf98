"""``--no-cuda-graph`` (``cuda_graph=False``) reaches the trackers that `discmot track` and `discmot bench`
build, and is refused where no network of discmot's runs (``--model jde``)."""

from __future__ import annotations

import pytest

from discmot.cli import main
from discmot.engine.bench import BenchOptions, bench_tracker
from discmot.engine.demo import bundled_weights
from discmot.engine.end_to_end import NetworkOptions, build_end_to_end
from discmot.engine.track_verb import track


@pytest.mark.parametrize("kind", ["fdta", "cstrack"])
@pytest.mark.parametrize("cuda_graph", [True, False])
def test_track_and_bench_hand_the_choice_to_their_trackers(kind, cuda_graph):
    tracker = build_end_to_end(kind, NetworkOptions(bundled_weights(kind), cuda_graph=cuda_graph))(30.0)
    assert tracker.forward.enabled is cuda_graph
    options = BenchOptions(weights=str(bundled_weights(kind)), device="cpu", cuda_graph=cuda_graph)
    assert bench_tracker(kind, "fp32", options).forward.enabled is cuda_graph


def test_the_command_line_option_turns_the_graph_off(monkeypatch, tmp_path):
    from discmot.engine import track_verb

    seen = []  # the network options each run builds its tracker from (the real builder still builds it)
    real = track_verb.build_end_to_end
    monkeypatch.setattr(track_verb, "build_end_to_end", lambda m, n, a=None: seen.append(n) or real(m, n, a))
    frames = tmp_path / "frames"
    from helpers import write_frames

    write_frames(frames, range(1, 4))
    argv = ["-q", "track", str(frames), "--model", "cstrack", "--weights", "bundled", "--no-output-filter"]
    assert main([*argv, "--no-cuda-graph"]) == 0
    assert main(argv) == 0
    assert [options.cuda_graph for options in seen] == [False, True]


def test_jde_refuses_it_as_the_other_network_options():
    with pytest.raises(ValueError, match="--no-cuda-graph is an option of --model fdta and cstrack"):
        track("unused.mp4", model="jde", detections="unused.txt", cuda_graph=False)
