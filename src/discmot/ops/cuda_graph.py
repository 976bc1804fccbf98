"""A network's forward pass replayed from a CUDA graph: one launch instead of hundreds.

At batch 1 a convolutional network of hundreds of small layers is bound by the CPU that launches its
kernels, not by the GPU that runs them: CSTrack's network at 608x1088 on an H100 launched 720 kernels a
frame, 22 ms of wall time for 6 ms of GPU work (docs/benchmarks.md, section ``gpu_inference``). A CUDA
graph records those launches once and replays them as one, with the same kernels on the same memory, so
the outputs are those of the eager pass.

`GraphedForward` wraps ``fn(input) -> outputs`` for inputs of a fixed shape (a tracker's network input).
It falls back to calling ``fn`` as is on a CPU input, and for good where capturing fails (an operation
that waits for the host cannot be recorded), so wrapping never changes what is computed.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

import torch

log = logging.getLogger(__name__)

#: Eager calls on a side stream before capturing: cuDNN and cuBLAS pick their algorithms and allocate
#: their workspaces on first use, which a graph cannot record.
WARMUP_CALLS = 2


class GraphedForward:
    """``fn(input)`` replayed from a CUDA graph for CUDA inputs.

    The first call with an input of a new shape, dtype or device (or after ``module``'s parameters were
    moved, e.g. by ``.to()`` or ``.half()``, which a graph would not see) runs ``fn`` `WARMUP_CALLS` times
    on a side stream and records a third run as the graph; every call then copies its input into the
    recorded one and replays. Call it inside the same autograd mode each time (the trackers call it under
    ``torch.inference_mode()``). Settings read while recording stay recorded: a graph does not follow a
    later change of TF32 or of the deformable-attention kernel (`select_deform_kernel`); a new tracker
    records anew.

    The returned tensors are the graph's own and the next call overwrites them: read (or copy) them
    before calling again. The graph keeps the memory of one forward pass for as long as it lives.

    Args:
        fn: the forward pass, ``[B, ...] tensor -> a tensor or lists/tuples/dicts of tensors``; its only
            input is the tensor (weights and settings are read from the module, as a graph records them).
            A function of the module, not a method of the object holding this one: a bound method would
            make a reference cycle that keeps the graph's memory until Python's next garbage collection.
        module: the network ``fn`` runs, whose parameters' placement is checked at each call.
        enabled: ``False`` always calls ``fn`` as is (to compare with, or to rule the graph out).
    """

    def __init__(self, fn: Callable[[torch.Tensor], Any], module: torch.nn.Module, enabled: bool = True):
        self.fn = fn
        self.module = module
        self.enabled = enabled
        # (a stand-in model that is no torch module runs eagerly: ``enabled`` False, nothing to watch)
        names = [name for name, _ in module.named_parameters()] if enabled else []
        # the first and last parameters, by name: looked up at each call (the walk over all parameters
        # took 0.7 ms a call for the full-size FDTA's 606)
        self.watched = tuple(dict.fromkeys(names[:1] + names[-1:]))
        self.graph: torch.cuda.CUDAGraph | None = None
        self.key: tuple | None = None
        self.static_input: torch.Tensor | None = None
        self.static_output: Any = None

    @property
    def captured(self) -> bool:
        """Whether calls on CUDA inputs replay a graph (after a first CUDA call that captured it)."""
        return self.graph is not None

    def __call__(self, image: torch.Tensor) -> Any:
        if not self.enabled or image.device.type != "cuda":
            return self.fn(image)
        key = (tuple(image.shape), image.dtype, image.device, self._parameter_placement())
        # the graph's device must be the current one, to record on it and to replay there (cuda:1)
        with torch.cuda.device(image.device):
            if key != self.key and not self._capture(image, key):
                return self.fn(image)
            assert self.static_input is not None  # recorded by `_capture` together with `self.key`
            self.static_input.copy_(image)
            assert self.graph is not None
            self.graph.replay()
        return self.static_output

    def _parameter_placement(self) -> tuple:
        """The first and last parameters' addresses and dtypes: ``.to()``, ``.half()`` or ``.cuda()`` move
        every parameter, and a parameter replaced by another is read anew by its name; a state dict loaded
        in place keeps them, and the graph reads the new values."""
        watched = (self.module.get_parameter(name) for name in self.watched)
        return tuple((tensor.data_ptr(), tensor.dtype) for tensor in watched)

    def _capture(self, image: torch.Tensor, key: tuple) -> bool:
        """Warms up and records ``fn`` on a copy of ``image``; ``False`` (and graphs off for good, with one
        warning) where recording fails. Errors of the warm-up passes (out of memory, say) are raised: an
        eager pass would meet them too."""
        # the old graph's memory goes before the new one's; and its key: a warm-up pass that raises (out
        # of memory) left the old key, and a call of the old shape then replayed no graph
        self.graph = self.static_output = self.key = None
        self.static_input = image.clone()
        side = torch.cuda.Stream(image.device)
        side.wait_stream(torch.cuda.current_stream(image.device))
        with torch.cuda.stream(side):
            for _ in range(WARMUP_CALLS):
                self.fn(self.static_input)
        torch.cuda.current_stream(image.device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph, stream=side):
                self.static_output = self.fn(self.static_input)
        except RuntimeError as error:  # an operation that syncs with the host cannot be recorded
            self.enabled, self.static_output, self.static_input = False, None, None
            # PyTorch leaves CUDA's random generator recording after a failed capture: tracking needs
            # no random numbers, but the process's later CUDA random calls fail
            log.warning(
                "the network runs without a CUDA graph (recording it failed: %s); CUDA's random number "
                "generator is unusable in this process from now on: pass cuda_graph=False to the tracker "
                "to avoid that",
                str(error).splitlines()[0],
            )
            return False
        self.graph, self.key = graph, key
        return True


def network_forward(network_pass: Callable[..., Any], model, cuda_graph: bool = True) -> GraphedForward:
    """A tracker's forward pass ``network_pass(model, input)``, put in eval mode and replayed from a CUDA
    graph on CUDA inputs (``cuda_graph``); a stand-in model that is no torch module runs as is. The pass
    is bound with `functools.partial`, not as a method of the tracker: a bound method would make a
    tracker <-> graph reference cycle that keeps the graph's memory until the next garbage collection."""
    is_module = isinstance(model, torch.nn.Module)
    if is_module:
        model.eval()
    return GraphedForward(functools.partial(network_pass, model), model, enabled=cuda_graph and is_module)
