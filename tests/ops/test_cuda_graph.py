"""`discmot.ops.cuda_graph.GraphedForward`: replayed outputs equal eager ones, captured once per input
shape and per placement of the weights, and eager wherever a graph cannot be (CPU, host syncs).

The CUDA tests run where CUDA is (a lent GPU); CI has none and runs the CPU ones.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from discmot.ops.cuda_graph import GraphedForward

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (a graph is a CUDA object)")


def small_network(device: str) -> torch.nn.Module:
    torch.manual_seed(0)
    layers = [torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.LeakyReLU(0.1)]
    layers += [torch.nn.Conv2d(8, 4, 3, stride=2, padding=1)]
    return torch.nn.Sequential(*layers).to(device).eval()


def two_outputs(network: torch.nn.Module, calls: list):
    """``image -> {"map": [B, 4, H/2, W/2], "pooled": [(B, 4)]}``, counting the passes in ``calls``."""

    def forward(image):
        calls.append(tuple(image.shape))
        feature = network(image)
        return {"map": feature, "pooled": [feature.mean(dim=(2, 3))]}

    return forward


def test_a_cpu_input_runs_the_function_itself():
    network, calls = small_network("cpu"), []
    graphed = GraphedForward(two_outputs(network, calls), network)
    image = torch.randn(1, 3, 16, 24)
    with torch.inference_mode():
        out = graphed(image)
        expected = network(image)
    assert torch.equal(out["map"], expected) and calls == [(1, 3, 16, 24)]
    assert not graphed.captured


@pytest.mark.parametrize("kind", ["cstrack", "fdta"])
def test_a_tracker_and_its_graph_go_without_a_garbage_collection(kind):
    # the graph holds a forward pass's GPU memory: a tracker per sequence must give it back when dropped,
    # not at Python's next collection (a bound method as the graphed function made a reference cycle)
    import gc
    import weakref

    from discmot.models.cstrack.config import preset as cstrack_preset
    from discmot.models.cstrack.model import CSTrack
    from discmot.models.fdta.model import build_fdta
    from discmot.trackers.cstrack import CSTrackTracker
    from discmot.trackers.fdta import FDTATracker

    network = CSTrack(cstrack_preset("tiny")) if kind == "cstrack" else build_fdta("tiny")
    tracker = (CSTrackTracker if kind == "cstrack" else FDTATracker)(network)
    graphed = weakref.ref(tracker.forward)
    gc.disable()
    try:
        del tracker
        assert graphed() is None
    finally:
        gc.enable()


@needs_cuda
def test_replays_equal_eager_passes_and_capture_happens_once_per_shape():
    network, calls = small_network("cuda"), []
    graphed = GraphedForward(two_outputs(network, calls), network)
    with torch.inference_mode():
        for shape in [(1, 3, 32, 48)] * 4 + [(1, 3, 64, 32)] * 2:
            image = torch.randn(shape, device="cuda")
            out = graphed(image)
            expected = network(image)
            assert torch.equal(out["map"], expected)
            assert torch.equal(out["pooled"][0], expected.mean(dim=(2, 3)))
    assert graphed.captured
    # each shape: the warm-up calls and the recorded one run the function; the replays do not
    assert calls.count((1, 3, 32, 48)) == 3 and calls.count((1, 3, 64, 32)) == 3


@needs_cuda
def test_a_warm_up_that_raises_leaves_the_earlier_shape_recorded_anew():
    # the key of the graph a failed capture dropped stayed: the next call of that shape replayed nothing
    network, calls = small_network("cuda"), []
    forward = two_outputs(network, calls)

    def fails_on_wide(image):
        if image.shape[-1] == 64:
            raise torch.cuda.OutOfMemoryError("stand-in for a pass that does not fit")
        return forward(image)

    graphed = GraphedForward(fails_on_wide, network)
    small = torch.randn(1, 3, 32, 48, device="cuda")
    with torch.inference_mode():
        graphed(small)
        with pytest.raises(torch.cuda.OutOfMemoryError):
            graphed(torch.randn(1, 3, 32, 64, device="cuda"))
        out = graphed(small)
        assert torch.equal(out["map"], network(small))
    assert graphed.captured and calls.count((1, 3, 32, 48)) == 6  # recorded twice: 3 passes each


@needs_cuda
def test_weights_moved_or_changed_in_place_are_what_the_replay_uses():
    network, calls = small_network("cuda"), []
    graphed = GraphedForward(two_outputs(network, calls), network)
    image = torch.randn(1, 3, 32, 48, device="cuda")
    with torch.inference_mode():
        graphed(image)
        network[0].weight.mul_(2)  # in place: the recorded kernels read the same memory
        assert torch.equal(graphed(image)["map"], network(image))
        assert len(calls) == 3
        network.half()  # new tensors: recorded anew
        out = graphed(image.half())
        assert torch.equal(out["map"], network(image.half())) and len(calls) == 6


SYNCING_SCRIPT = """
import logging, torch
from discmot.ops.cuda_graph import GraphedForward
logging.basicConfig(level=logging.WARNING)
torch.manual_seed(0)
network = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU()).cuda().eval()
def syncing(image):  # .item() waits for the host: a graph cannot record it
    return network(image) * (network(image).sum().item() > float("-inf"))
graphed = GraphedForward(syncing, network)
images = [torch.randn(1, 3, 16, 16, device="cuda") for _ in range(3)]
with torch.inference_mode():
    print(all(torch.equal(graphed(image), network(image)) for image in images), graphed.captured)
"""


@needs_cuda
def test_a_function_that_waits_for_the_host_runs_eagerly_with_one_warning():
    # in a process of its own: a failed capture leaves CUDA's random generator unusable in the process
    done = subprocess.run(
        [sys.executable, "-c", SYNCING_SCRIPT], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.split() == ["True", "False"]
    assert done.stderr.count("runs without a CUDA graph") == 1


@needs_cuda
@pytest.mark.parametrize("kind", ["cstrack", "fdta"])
def test_trackers_give_the_same_tracks_with_and_without_the_graph(kind):
    from discmot.engine.bench import synthetic_frames
    from discmot.engine.firing import firing_network
    from discmot.trackers.cstrack import CSTrackTracker
    from discmot.trackers.fdta import FDTATracker

    frames = synthetic_frames(kind, 6, (320, 192))
    network = firing_network(kind, frames, "tiny", "cuda")
    build = CSTrackTracker if kind == "cstrack" else FDTATracker
    graphed, eager = build(network, cuda_graph=True), build(network, cuda_graph=False)
    for frame in frames:
        a, b = graphed.update(frame), eager.update(frame)
        assert np.array_equal(a.ids, b.ids) and np.array_equal(a.boxes, b.boxes)
    assert graphed.forward.captured and not eager.forward.captured
