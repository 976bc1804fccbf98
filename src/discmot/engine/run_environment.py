"""What a run records of how it was made (``environment.json``, ``resumes.jsonl``): git revision, package
versions, machine, command line, torchrun's layout, seed; and the hash of a file it starts from."""

from __future__ import annotations

import contextlib
import datetime as _dt
import importlib.metadata
import os
import platform
import socket
import subprocess
import sys
from pathlib import Path

from discmot._version import __version__

PACKAGES = ("torch", "numpy", "scipy", "safetensors", "tqdm", "PyYAML", "opencv-python-headless", "av")


def git_revision(path: Path | None = None) -> dict:
    """``{"commit": sha, "dirty": bool}`` of the git checkout holding ``path`` (the package by default);
    ``{"commit": None}`` when it is not a checkout or git is missing."""
    path = path or Path(__file__).resolve().parent

    def git(*args: str) -> str:
        # git prints UTF-8 (file names too, with core.quotePath off), not the locale's encoding
        return subprocess.run(
            ["git", *args],
            cwd=path,
            capture_output=True,
            encoding="utf-8",
            errors="replace",
            timeout=10,
            check=True,
        ).stdout

    try:
        commit = git("rev-parse", "HEAD").strip()
        status = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return {"commit": None}
    return {"commit": commit, "dirty": bool(status.strip())}


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version(), "discmot": __version__}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def file_record(path: str | Path) -> dict[str, str]:
    """``{"path": absolute path, "sha256": hex digest}`` of a file a run starts from (pre-trained
    weights), for ``config.yaml``: the path alone does not say which weights were there."""
    import hashlib

    path = Path(path).resolve()
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"path": str(path), "sha256": digest.hexdigest()}


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else whatever ``platform`` knows."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown"


def usable_cores() -> int:
    """The cores this process may run on (its affinity, as in a container), else the CPU count."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def environment(seed: int, world_size: int, device: str) -> dict:
    """Everything needed to say how a run was made (see `discmot.engine.run_folder`'s docstring)."""
    return {
        "git": git_revision(),
        "versions": package_versions(),
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "command": [sys.executable, *sys.argv],
        "seed": seed,
        "world_size": world_size,
        "launcher": launcher(),
        "device": device,
        "torch_threads": _torch_threads(),  # CPU results depend on it (reduction order)
        "time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def launcher() -> dict | None:
    """How torchrun laid out the processes when it started this one (its workers carry
    ``TORCHELASTIC_RUN_ID``): ``{"name": "torchrun", "nproc_per_node", "nnodes", "restart_count"}``;
    None otherwise. The command line a worker sees is ``python -m discmot train ...`` alone."""
    if "TORCHELASTIC_RUN_ID" not in os.environ:
        return None
    per_node = max(int(os.environ.get("LOCAL_WORLD_SIZE", "1")), 1)
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    return {
        "name": "torchrun",
        "nproc_per_node": per_node,
        "nnodes": max(world_size // per_node, 1),
        "restart_count": int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")),
    }


def _torch_threads() -> int:
    """The intra-op threads of this process (torchrun sets ``OMP_NUM_THREADS=1`` per process)."""
    import torch

    return torch.get_num_threads()
