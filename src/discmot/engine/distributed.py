"""Processes, devices, seeds and RNG states for training: the engine's only contact with torch.distributed.

A run is one process, or several started by ``torchrun`` (which sets ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``). `init_distributed` reads that environment, picks the
device (``cuda:<LOCAL_RANK>`` on a GPU machine, else the CPU) and the backend (NCCL on CUDA, gloo on the
CPU), and is a no-op in a single process. Every helper here works the same with one process, so callers
never branch on the world size.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import signal
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NoReturn, cast

import numpy as np
import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands: its rank among ``world_size`` processes and its device."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        """True on rank 0, the process that writes files."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def pick_device(device: str | torch.device | None, local_rank: int = 0) -> torch.device:
    """``None``/``"auto"`` -> ``cuda:<local_rank>`` when CUDA is available, else the CPU.

    A bare ``"cuda"`` also becomes ``cuda:<local_rank>``, so each torchrun process gets its own GPU.

    Raises:
        ValueError: a device name torch does not know, or a CUDA device this PyTorch cannot use (a CPU
            build, no GPU, or an index past the last GPU), said in one line.
    """
    if device is None or str(device) == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(device)
    except RuntimeError:
        raise ValueError(f"device {device!r}: not a device name (cpu, cuda, cuda:1, ...)") from None
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", local_rank)
    if device.type == "cuda":
        _check_cuda(device)
    elif device.type != "cpu":
        try:
            torch.empty(0, device=device)
        except RuntimeError:  # e.g. "mps" on a PyTorch built without it
            raise ValueError(
                f"device {device}: this PyTorch {torch.__version__} cannot use it; use cpu"
            ) from None
    return device


def _check_cuda(device: torch.device) -> None:
    if not torch.cuda.is_available():
        build = (
            "a CPU-only build" if torch.version.cuda is None else f"CUDA {torch.version.cuda}, no GPU found"
        )
        raise ValueError(
            f"device {device}: this PyTorch {torch.__version__} cannot use CUDA ({build}); use cpu"
        )
    if device.index >= torch.cuda.device_count():
        raise ValueError(f"device {device}: only {torch.cuda.device_count()} CUDA device(s) here")


def launcher_rank() -> int:
    """This process's rank as torchrun's environment gives it (``RANK``), 0 without torchrun: readable
    before, and without, joining the process group."""
    return int(os.environ.get("RANK", "0"))


def init_distributed(device: str | torch.device | None = None) -> DistInfo:
    """Joins the torchrun process group (once) and returns this process's rank, world size and device.

    Without torchrun's environment (or with ``WORLD_SIZE=1``) nothing is initialised. The backend is NCCL
    for CUDA devices and gloo otherwise. Under torchrun the process also stops when its launcher is
    gone (`stop_with_launcher`).
    """
    global _joined_process_group
    stop_with_launcher()
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = launcher_rank()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = pick_device(device, local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if world_size > 1 and not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        kwargs = {"device_id": device} if device.type == "cuda" else {}
        # mypy checks a **dict against every parameter, not the one key it holds (hence the ignore)
        dist.init_process_group(
            backend=backend,
            rank=rank,
            world_size=world_size,
            **kwargs,  # type: ignore[arg-type]
        )
        _joined_process_group = True
    return DistInfo(rank=rank, world_size=world_size, local_rank=local_rank, device=device)


#: Set to end the thread of `stop_with_launcher`; None while no such thread runs.
_launcher_gone_watch: threading.Event | None = None


def stop_with_launcher(interval: float = 1.0) -> bool:
    """Under torchrun (``TORCHELASTIC_RUN_ID`` set): a daemon thread that sends this process a SIGTERM
    when its parent, the torchrun launcher, is gone; returns whether one runs (started once).

    torchrun starts its workers in sessions of their own and forwards the signals it gets, but a
    launcher killed outright (SIGKILL, the OOM killer) forwards nothing: its workers, adopted by init,
    trained on unseen for the rest of the run, still writing checkpoints into the run folder and
    holding its lock (and their GPUs) against the resume (2026-11-24). The SIGTERM stops them as
    torchrun's own would: after the iteration in progress (`discmot.engine.signals`).
    """
    global _launcher_gone_watch
    if "TORCHELASTIC_RUN_ID" not in os.environ or _launcher_gone_watch is not None:
        return _launcher_gone_watch is not None
    launcher, stop = os.getppid(), threading.Event()

    def watch() -> None:
        while not stop.wait(interval):
            if os.getppid() != launcher:  # re-parented: the launcher has died
                os.kill(os.getpid(), signal.SIGTERM)
                return

    _launcher_gone_watch = stop
    threading.Thread(target=watch, name="discmot-launcher-watch", daemon=True).start()
    return True


def cleanup_distributed() -> None:
    """Leaves the process group, if one was joined, and ends the `stop_with_launcher` thread."""
    global _launcher_gone_watch
    if _launcher_gone_watch is not None:
        _launcher_gone_watch.set()
        _launcher_gone_watch = None
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


#: Whether this process joined a process group (`init_distributed`): `exit_process` then skips Python's
#: shutdown.
_joined_process_group = False


def joined_process_group() -> bool:
    """Whether this process joined a process group (`init_distributed`), left since or not."""
    return _joined_process_group


def exit_process(status: int | str | None = 0) -> NoReturn:
    """Ends the process with ``status`` (as `sys.exit` reads it: None is 0, a text is printed to stderr
    and is status 1): `sys.exit` normally; at once (``os._exit``, after flushing the logging handlers,
    stdout and stderr) in a process that joined a process group.

    Why: torch 2.13's DDP keeps its gloo process group, and so gloo's worker threads, alive past
    `cleanup_distributed`, and a worker thread frees each finished collective after the caller has
    seen it finish. Collectives issued in the backward pass hold a Python object (the context torch
    stashes for it), so freeing one needs the interpreter; when that comes after the interpreter began
    shutting down, the thread is ended inside a C++ destructor: "terminate called without an active
    exception", SIGABRT, and torchrun reports a run that had finished as failed (measured 2026-11-24 on
    the 2-core developer machine: 2 of 60 two-process toy runs under load, and 7 of 74 runs of a bare
    gloo + DDP script; 0 of 60 with the DDP wrapper freed by hand before the group is left, which
    does not carry over to the engine: there the group stays held after the wrapper is gone). Nothing
    is left to write at this point (checkpoints and weights are written and renamed, TensorBoard
    closed), so Python's shutdown is skipped instead (0 of 60 toy runs under load aborted then). The
    command line and scripts that call `discmot.engine.train.launch` under torchrun end with this.
    """
    if not _joined_process_group:
        sys.exit(status)
    if status is None:
        status = 0
    elif not isinstance(status, int):
        print(status, file=sys.stderr)
        status = 1
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
    os._exit(status)


def _active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """The sum of ``tensor`` over all processes (a new tensor; the input itself with one process)."""
    if not _active():
        return tensor
    total = tensor.detach().clone()
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return total


def reduce_mean(tensor: torch.Tensor) -> torch.Tensor:
    """The mean of ``tensor`` over all processes."""
    if not _active():
        return tensor
    return reduce_sum(tensor) / dist.get_world_size()


def all_min_max(value: int, device: torch.device) -> tuple[int, int]:
    """The smallest and largest ``value`` over all processes."""
    if not _active():
        return value, value
    both = torch.tensor([-value, value], dtype=torch.int64, device=device)
    dist.all_reduce(both, op=dist.ReduceOp.MAX)
    return -int(both[0]), int(both[1])


def gather_objects(obj) -> list:
    """``[obj of rank 0, obj of rank 1, ...]`` on every process (``[obj]`` with one process)."""
    if not _active():
        return [obj]
    gathered = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, obj)
    return gathered


def barrier() -> None:
    if _active():
        dist.barrier()


# --------------------------------------------------------------------------------------------------
# Seeds and RNG states


def seed_everything(seed: int) -> None:
    """Seeds python's ``random``, numpy's global generator and torch (CPU and every CUDA device)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def deterministic_on(device: torch.device, requested: bool | None) -> bool:
    """Whether a run on ``device`` uses deterministic kernels: ``train.deterministic`` when set; unset
    (None), on for the CPU and off on CUDA.

    On the CPU the kernels it changes are the accumulating index writes of the backward pass (the
    gradients of ``x[index]`` reads): with 2 threads they add in varying order, so two runs of one
    command parted within their first 10 iterations. The deterministic ones cost the tiny FDTA about
    4-6% per iteration (2 cores; docs/training.md), a price worth a run that can be repeated. On CUDA
    they replace cuDNN's and cuBLAS's fastest algorithms, so there it stays a choice.
    """
    return requested if requested is not None else device.type == "cpu"


def configure_determinism(deterministic: bool) -> None:
    """TF32 off always (spec ``fdta.md`` §4.3); deterministic kernels only, or not, as ``deterministic``
    says (set both ways: the setting is global to the process, which may have trained before).

    Deterministic CUDA matmuls need ``CUBLAS_WORKSPACE_CONFIG``; it is set here when absent (it must be
    set before the first cuBLAS call to take effect). A kernel with no deterministic version is warned
    about, not refused: on CUDA the backward passes of ``grid_sample`` (FDTA's deformable attention) and
    of upsampling (CSTrack's neck) have none, so there a run is as repeatable as PyTorch allows and says
    where it is not. On the CPU every kernel the models use has one.
    """
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = deterministic
    torch.use_deterministic_algorithms(deterministic, warn_only=True)


@contextlib.contextmanager
def process_settings_kept() -> Iterator[None]:
    """Gives back, on exit, the process-wide settings a training run changes: TF32, cuDNN's and
    deterministic-algorithm switches, ``CUBLAS_WORKSPACE_CONFIG``, and the python/numpy/torch global
    RNGs (seeded by the run; CUDA's too when CUDA was in use before). A script or notebook that
    trains, then does other work, finds them as they were."""
    switches = (
        torch.backends.cuda.matmul.allow_tf32,
        torch.backends.cudnn.allow_tf32,
        torch.backends.cudnn.benchmark,
        torch.backends.cudnn.deterministic,
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
    )
    generators = random.getstate(), np.random.get_state(), torch.get_rng_state()
    # CUDA's generators only when CUDA is already in use: reading them would start it for a CPU run
    cuda_generators = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
    workspace = os.environ.get("CUBLAS_WORKSPACE_CONFIG")
    try:
        yield
    finally:
        if workspace is None:
            os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None)
        else:
            os.environ["CUBLAS_WORKSPACE_CONFIG"] = workspace
        if cuda_generators is not None:
            torch.cuda.set_rng_state_all(cuda_generators)
        tf32_matmul, tf32_cudnn, benchmark, cudnn_deterministic, deterministic, warn_only = switches
        torch.backends.cuda.matmul.allow_tf32 = tf32_matmul
        torch.backends.cudnn.allow_tf32 = tf32_cudnn
        torch.backends.cudnn.benchmark = benchmark
        torch.backends.cudnn.deterministic = cudnn_deterministic
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
        random.setstate(generators[0])
        np.random.set_state(generators[1])
        torch.set_rng_state(generators[2])


def capture_rng_state(device: torch.device) -> dict:
    """This process's python, numpy, torch (and CUDA device) RNG states as tensors and plain values.

    The numpy state's key array is stored as an int64 tensor so the checkpoint loads with
    ``torch.load(weights_only=True)``.
    """
    # the legacy tuple: numpy's stub types the no-argument call as legacy=False's dict
    name, keys, pos, has_gauss, cached = cast(
        "tuple[str, np.ndarray, int, int, float]", np.random.get_state()
    )
    state = {
        "python": random.getstate(),
        "numpy": {
            "name": name,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "torch": torch.get_rng_state(),
    }
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device).cpu()
    return state


def restore_rng_state(state: dict, device: torch.device) -> None:
    """Inverse of `capture_rng_state`."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    n = state["numpy"]
    np.random.set_state(
        (n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"])
    )
    torch.set_rng_state(state["torch"].cpu())
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"].cpu(), device)
