"""Atomic file writes: a reader sees the old file or the whole new one, never a half-written file.

Every output discmot writes (results, summaries, checkpoints) goes through these helpers: the data is
written to a temporary file in the destination folder, flushed and fsynced, then renamed over the target.
A crash or a kill mid-write leaves at most a stray ``.<name>.tmp-*`` file, never a truncated result.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, TypeVar

#: A path of either kind; a mapping's key type is invariant, so ``dict[Path, str]`` needs a variable.
_PathT = TypeVar("_PathT", bound="str | os.PathLike")


@contextlib.contextmanager
def atomic_open(
    path: str | os.PathLike,
    mode: str = "w",
    encoding: str | None = "utf-8",
    *,
    block_only_writes: bool = True,
) -> Iterator[IO]:
    """Opens a temporary file next to ``path``; renames it onto ``path`` only if the block succeeds.

    ``mode`` is ``"w"`` (text, default) or ``"wb"`` (binary). Parent folders are created. An `OSError`
    flushing, syncing or renaming the file (a full disk: ENOSPC; a file size limit: EFBIG) names ``path``,
    the file asked for, not the temporary file or none; so does one naming no file raised in the block,
    taken for a write to the handle, unless ``block_only_writes`` is False (a block that does more than
    write, such as a tracking loop, names its own writes' errors with `errors_naming`). The temporary
    file is removed whatever the error.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open supports modes 'w' and 'wb', not {mode!r}")
    target = Path(path)
    with _temporary_file(target, mode, encoding, block_only_writes) as (handle, tmp_name):
        yield handle
    _replace(tmp_name, target)


def atomic_write_texts(texts: Mapping[_PathT, str]) -> None:
    """Writes files that belong together (a summary and its details) so that a reader finds the old ones
    or the new ones, not a mix: every text goes to its temporary file first, and they are renamed onto
    their files only once all are written. A full disk leaves the old files as they were (and no
    temporary file). Only a rename failing after another succeeded (in the same folder: all but never)
    leaves a mix; its error names the files already replaced.
    """
    finished: list[tuple[str, Path]] = []
    try:
        for path, text in texts.items():
            with _temporary_file(Path(path), "w", "utf-8", True) as (handle, tmp_name):
                handle.write(text)
            finished.append((tmp_name, Path(path)))
        for done, (tmp_name, target) in enumerate(finished):
            _replace(tmp_name, target, replaced=[path for _, path in finished[:done]])
    except BaseException:
        for tmp_name, _ in finished:  # those renamed are gone already
            _remove(tmp_name)
        raise


@contextlib.contextmanager
def _temporary_file(target: Path, mode: str, encoding: str | None, block_only_writes: bool):
    """A handle on a new temporary file beside ``target``, and the file's name. When the block ends the
    file is flushed to disk, closed and given the usual mode, ready to be renamed; on an error it is
    removed (the error named as `atomic_open` says)."""
    fd, tmp_name = temporary_beside(target)
    text = "b" not in mode
    try:
        handle = os.fdopen(fd, mode, encoding=encoding if text else None, newline="" if text else None)
        try:
            with errors_naming(target, tmp_name) if block_only_writes else contextlib.nullcontext():
                yield handle, tmp_name
        except BaseException:
            with contextlib.suppress(OSError):  # flushing what the block left: its error is the one
                handle.close()
            raise
        with errors_naming(target, tmp_name):
            with handle:  # closed even when flushing fails (a close would flush again, and fail again)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp_name, 0o666 & ~current_umask())  # mkstemp creates 0600; give the usual mode
    except BaseException:
        _remove(tmp_name)
        raise


def _replace(tmp_name: str, target: Path, replaced: Sequence[Path] = ()) -> None:
    """Renames ``tmp_name`` onto ``target``, or removes it; an error names ``target`` (not the temporary
    file) and the files of the same set already ``replaced``."""
    try:
        os.replace(tmp_name, target)
    except BaseException as error:
        _remove(tmp_name)
        if not isinstance(error, OSError) or error.errno is None:
            raise
        mixed = f" ({', '.join(map(str, replaced))} already replaced: write them again)" if replaced else ""
        raise type(error)(error.errno, f"{error.strerror}{mixed}", str(target)) from None


def _remove(tmp_name: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp_name)


def naming(
    error: BaseException, path: str | os.PathLike, temporary: str | os.PathLike | None = None
) -> BaseException:
    """``error`` naming ``path`` when it is an `OSError` naming no file (a write to an open file names
    none: ``[Errno 28] No space left on device``) or the temporary file ``temporary`` written for
    ``path``; otherwise ``error`` itself. The user asked for ``path``; the temporary name means nothing
    to them and is gone once the error is raised."""
    if not isinstance(error, OSError) or error.errno is None:
        return error
    names_temporary = temporary is not None and str(error.filename) == str(temporary)
    if error.filename is not None and not names_temporary:
        return error
    return type(error)(error.errno, error.strerror, str(path))


@contextlib.contextmanager
def errors_naming(path: str | os.PathLike, temporary: str | os.PathLike | None = None) -> Iterator[None]:
    """Raises an `OSError` of the block as `naming` ``path`` (for writes to a file opened for ``path``,
    whose errors name no file or the temporary one)."""
    try:
        yield
    except OSError as error:
        named = naming(error, path, temporary)
        if named is error:
            raise
        raise named from None


def check_writable(path: str | os.PathLike) -> None:
    """Raises the `OSError` that writing ``path`` would raise at the end of a long run (a read-only or
    foreign folder, a file where a folder should be), now, naming ``path`` (or the file in the way).
    `check_folder_possible` of its folder: nothing is left behind, no folder is created (a command that
    fails after this check left an empty output folder)."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(21, "a folder, not a file", str(path))
    try:
        check_folder_possible(path.parent)
    except NotADirectoryError:
        raise  # names the file in the way
    except OSError as error:
        raise type(error)(error.errno, error.strerror, str(path)) from None


#: The message of a folder that cannot be created because a file has its name (or a parent's).
FILE_IN_THE_WAY = "not a folder (a file is in the way)"


def file_in_the_way(folder: str | os.PathLike | None) -> Path | None:
    """The existing file among ``folder`` and its parents that stops ``folder`` from being created."""
    if folder is None:
        return None
    folder = Path(folder)
    return next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)


def check_folder_possible(folder: str | os.PathLike) -> None:
    """Before a long run that writes into ``folder`` only at its end: raises `NotADirectoryError` naming
    the file that stops ``folder`` (or a parent) from being a folder, or the `OSError` (permission denied,
    read-only file system) that creating a file in it, or in its nearest existing parent, gives, naming
    ``folder``. Nothing is left behind: the probe file is removed and no folder is created."""
    blocking = file_in_the_way(folder)
    if blocking is not None:
        raise NotADirectoryError(20, FILE_IN_THE_WAY, str(blocking))
    folder = Path(folder)
    existing = next(p for p in (folder, *folder.parents, Path(".")) if p.is_dir())
    try:  # a real file, not os.access: root passes os.access on a folder it cannot write (read-only mount)
        handle, probe = tempfile.mkstemp(prefix=".discmot-write-check-", dir=existing)
    except OSError as error:
        raise type(error)(error.errno, error.strerror, str(folder)) from None
    os.close(handle)
    os.unlink(probe)


def is_plain_folder_name(text: str) -> bool:
    """A name that stays inside the folder it is joined to (a split, a sequence): not empty, not ``.``
    or ``..``, no path separator."""
    return bool(text) and text not in (".", "..") and "/" not in text and "\\" not in text


def temporary_beside(target: Path, suffix: str = "") -> tuple[int, str]:
    """``mkstemp`` in ``target``'s folder (created if missing), named ``.<name>.tmp-*<suffix>`` (a
    video encoder picks the container by the suffix); errors name ``target`` or the path in the way, not
    the temporary file."""
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise NotADirectoryError(20, FILE_IN_THE_WAY, str(file_in_the_way(parent) or parent)) from None
    try:
        return tempfile.mkstemp(prefix=f".{target.name}.tmp-", suffix=suffix, dir=parent)
    except OSError as error:
        raise type(error)(error.errno, error.strerror, str(target)) from None


@functools.cache
def current_umask() -> int:
    """The process umask, read once: reading it means setting it, which would race with other threads
    creating files if it were done on every write."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def publish_file(tmp_path: str | os.PathLike, target: str | os.PathLike) -> None:
    """Renames a finished temporary file onto ``target`` after flushing it to disk and giving it the
    usual mode (``mkstemp`` creates 0600): for writers that must write the temporary file themselves
    (video encoders), with the guarantees of `atomic_open`."""
    with open(tmp_path, "rb+") as handle:
        os.fsync(handle.fileno())
    os.chmod(tmp_path, 0o666 & ~current_umask())
    os.replace(tmp_path, target)


def publish_folder(staging: str | os.PathLike, target: str | os.PathLike) -> None:
    """Moves a finished staging folder onto ``target``, replacing an existing folder there.

    A folder cannot be renamed over a non-empty one, so an existing ``target`` is first renamed aside and
    deleted only after the new folder is in place. If the move fails, the old folder is put back; a crash
    between the renames leaves it under ``.<name>.old-*`` beside ``target``: never neither of them.
    """
    staging, target = Path(staging), Path(target)
    os.chmod(staging, 0o777 & ~current_umask())  # mkdtemp creates 0700
    if not target.exists():
        os.replace(staging, target)
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    os.replace(target, aside / target.name)
    try:
        os.replace(staging, target)
    except BaseException:
        os.replace(aside / target.name, target)
        aside.rmdir()
        raise
    shutil.rmtree(aside, ignore_errors=True)


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
