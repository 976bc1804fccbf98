"""Atomic file writes: a reader sees the old file or the whole new one, never a half-written file.

Every output discmot writes (results, summaries, checkpoints) goes through these helpers: the data is
written to a temporary file in the destination folder, flushed and fsynced, then renamed over the target.
A crash or a kill mid-write leaves at most a stray ``.<name>.tmp-*`` file, never a truncated result.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Opens a temporary file next to ``path``; renames it onto ``path`` only if the block succeeds.

    ``mode`` is ``"w"`` (text, default) or ``"wb"`` (binary). Parent folders are created.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open supports modes 'w' and 'wb', not {mode!r}")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.tmp-", dir=target.parent)
    try:
        with os.fdopen(
            fd, mode, encoding=None if "b" in mode else encoding, newline="" if "b" not in mode else None
        ) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o666 & ~current_umask())  # mkstemp creates 0600; give the usual mode
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def current_umask() -> int:
    """The process umask (read without changing it for good)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Writes ``text`` to ``path`` atomically (UTF-8, newlines written as given)."""
    with atomic_open(path, "w") as handle:
        handle.write(text)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Writes ``data`` to ``path`` atomically."""
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def link_or_copy(source: str | os.PathLike, target: str | os.PathLike) -> None:
    """Makes ``target`` a hard link to ``source`` (replacing it), or an atomic copy where links cannot be
    made (another file system, links not allowed)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        if os.path.samefile(source, target):  # already the same file (or the source itself: keep it!)
            return
        target.unlink()
    try:
        os.link(source, target)
    except OSError:
        atomic_write_bytes(target, Path(source).read_bytes())
