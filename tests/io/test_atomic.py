"""Contracts of `discmot.io.atomic`: a reader finds the old output or the whole new one, never a part."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from discmot.io import atomic
from helpers import os_error_past_a_file_size_limit, process_umask, unwritable_folder


def make_folder(path, text: str):
    path.mkdir()
    (path / "a.txt").write_text(text)
    return path


def test_publish_folder_replaces_an_existing_folder_and_leaves_nothing_beside_it(tmp_path):
    target = make_folder(tmp_path / "seq", "old")
    (target / "only-in-old.txt").write_text("x")
    atomic.publish_folder(make_folder(tmp_path / ".seq.tmp-1", "new"), target)
    assert sorted(p.name for p in target.iterdir()) == ["a.txt"]
    assert (target / "a.txt").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seq"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o777 & ~process_umask()


def test_publish_folder_keeps_the_old_folder_when_the_move_fails(tmp_path, monkeypatch):
    target = make_folder(tmp_path / "seq", "old")
    staging = make_folder(tmp_path / ".seq.tmp-1", "new")
    real_replace = os.replace

    def replace(source, destination):
        if os.fspath(source) == os.fspath(staging):
            raise OSError("disk full")
        real_replace(source, destination)

    monkeypatch.setattr(atomic.os, "replace", replace)
    with pytest.raises(OSError, match="disk full"):
        atomic.publish_folder(staging, target)
    assert (target / "a.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".seq.tmp-1", "seq"]


def test_publish_folder_succeeds_when_the_old_folder_cannot_be_deleted(tmp_path, monkeypatch):
    """Once the new folder is in place the publish has succeeded: a failure while deleting the old one
    (a file that cannot be removed) leaves it beside the target but raises nothing."""
    target = make_folder(tmp_path / "seq", "old")
    staging = make_folder(tmp_path / ".seq.tmp-1", "new")

    def unlink(*args, **kwargs):
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(atomic.os, "unlink", unlink)
    atomic.publish_folder(staging, target)
    monkeypatch.undo()
    assert (target / "a.txt").read_text() == "new"
    left = sorted(p.name for p in tmp_path.iterdir() if p.name != "seq")
    assert len(left) == 1 and left[0].startswith(".seq.old-")


def test_publish_folder_into_a_new_place(tmp_path):
    atomic.publish_folder(make_folder(tmp_path / ".seq.tmp-1", "new"), tmp_path / "seq")
    assert (tmp_path / "seq" / "a.txt").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seq"]


def test_publish_file_renames_with_the_usual_mode(tmp_path):
    tmp = tmp_path / ".out.mp4.tmp-1"
    tmp.write_bytes(b"video")
    tmp.chmod(0o600)
    atomic.publish_file(tmp, tmp_path / "out.mp4")
    assert (tmp_path / "out.mp4").read_bytes() == b"video"
    assert not tmp.exists()
    assert stat.S_IMODE((tmp_path / "out.mp4").stat().st_mode) == 0o666 & ~process_umask()


def test_atomic_open_leaves_the_old_file_when_the_block_fails(tmp_path):
    path = tmp_path / "r.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError), atomic.atomic_open(path) as handle:
        handle.write("half")
        raise RuntimeError("killed")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.txt"]


def test_a_file_in_the_way_of_the_output_folder_is_named(tmp_path):
    (tmp_path / "results").write_text("a file, not a folder")
    for write in (lambda p: atomic.atomic_write_text(p, "x"), atomic.check_writable):
        with pytest.raises(NotADirectoryError) as error:
            write(tmp_path / "results" / "seq" / "out.txt")
        assert error.value.filename == str(tmp_path / "results")
        assert error.value.strerror == "not a folder (a file is in the way)"
    assert (tmp_path / "results").read_text() == "a file, not a folder"


def test_check_writable_leaves_no_folder_and_no_file(tmp_path):
    """It created the missing folders: a command failing after the check left them empty behind."""
    target = tmp_path / "new" / "deeper" / "out.txt"
    atomic.check_writable(target)
    assert list(tmp_path.iterdir()) == []
    target.parent.mkdir(parents=True)
    atomic.check_writable(target)
    assert list(target.parent.iterdir()) == []
    with pytest.raises(IsADirectoryError, match="a folder, not a file"):
        atomic.check_writable(target.parent)


def test_check_writable_names_the_file_under_an_unwritable_folder(tmp_path):
    locked = unwritable_folder(tmp_path)
    for target in (locked / "out.txt", locked / "new" / "out.txt"):  # the second: a folder to be made
        with pytest.raises(OSError) as error:
            atomic.check_writable(target)
        assert error.value.filename == str(target)
    assert not (locked / "new").exists()


def test_the_cli_names_the_file_in_the_way_of_a_folder_it_creates(tmp_path):
    from discmot.cli import _one_line

    (tmp_path / "f").write_text("x")
    for folder in (tmp_path / "f", tmp_path / "f" / "sub" / "deeper"):
        with pytest.raises(OSError) as error:
            folder.mkdir(parents=True, exist_ok=True)
        assert _one_line(error.value) == f"{tmp_path / 'f'}: not a folder (a file is in the way)"


@pytest.mark.parametrize(
    "code",
    [
        "atomic_write_bytes(sys.argv[1], bytes(100_000))",  # fails in the write (past the buffer)
        "atomic_write_text(sys.argv[1], 'x' * 200)",  # fails when atomic_open flushes the buffered text
        "with atomic_open(sys.argv[1], block_only_writes=False) as f:\n    f.write('x' * 200)",
    ],
    ids=["write", "flush", "flush-of-a-busy-block"],
)
def test_a_full_disk_names_the_file_asked_for_and_leaves_nothing(tmp_path, code):
    """A full disk (here: a file size limit, which fails a write as a full disk does) names the target:
    not ``[Errno 28] No space left on device`` alone, nor the temporary file."""
    code = f"from discmot.io.atomic import atomic_open, atomic_write_bytes, atomic_write_text\n{code}"
    raised = os_error_past_a_file_size_limit(code, 100, tmp_path / "out" / "r.txt", cwd=tmp_path)
    assert raised == (str(tmp_path / "out" / "r.txt"), errno.EFBIG)
    assert list((tmp_path / "out").iterdir()) == []


def test_a_failed_rename_names_the_target_not_the_temporary_file(tmp_path):
    (tmp_path / "r.txt").mkdir()
    (tmp_path / "r.txt" / "inside").write_text("x")  # a folder in the way, which cannot be replaced
    with pytest.raises(OSError) as error:
        atomic.atomic_write_text(tmp_path / "r.txt", "rows")
    assert error.value.filename == str(tmp_path / "r.txt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.txt"]


def test_errors_of_a_block_that_does_more_than_write_are_its_own(tmp_path):
    """An error naming no file from a block that does more than write (a tracking loop printing to a
    closed pipe) is not the target's; one naming a file keeps its file whatever the block."""
    with pytest.raises(BrokenPipeError) as error:
        with atomic.atomic_open(tmp_path / "r.txt", block_only_writes=False):
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")
    assert error.value.filename is None
    with pytest.raises(FileNotFoundError) as error, atomic.atomic_open(tmp_path / "r.txt"):
        open(tmp_path / "missing.txt")
    assert error.value.filename == str(tmp_path / "missing.txt")
    assert list(tmp_path.iterdir()) == []


def test_naming_names_the_target_only_for_an_error_naming_no_file_or_the_temporary_one():
    unnamed = OSError(errno.ENOSPC, "No space left on device")
    assert str(atomic.naming(unnamed, "out.txt")) == "[Errno 28] No space left on device: 'out.txt'"
    temporary = OSError(errno.EFBIG, "File too large", ".out.txt.tmp-1")
    assert atomic.naming(temporary, "out.txt", ".out.txt.tmp-1").filename == "out.txt"
    other = FileNotFoundError(errno.ENOENT, "No such file or directory", "in.txt")
    assert atomic.naming(other, "out.txt", ".out.txt.tmp-1") is other
    not_os = ValueError("x")
    assert atomic.naming(not_os, "out.txt") is not_os


def test_a_full_disk_while_saving_a_checkpoint_names_it(tmp_path):
    """torch's zip writer reports a full disk as a RuntimeError naming no file."""
    code = """
        import torch
        from discmot.engine.checkpointing import write_checkpoint
        write_checkpoint(sys.argv[1], {"weights": torch.zeros(100_000)})
    """
    target = tmp_path / "epoch-000.pt"
    filename, errno_code = os_error_past_a_file_size_limit(code, 64 * 1024, str(target), cwd=tmp_path)
    assert (filename, errno_code) == (str(target), errno.EFBIG)
    assert list(tmp_path.iterdir()) == []


def test_check_folder_possible_probes_the_nearest_existing_folder_and_leaves_nothing(tmp_path):
    atomic.check_folder_possible(tmp_path / "a" / "b")
    assert list(tmp_path.iterdir()) == []  # neither the folders nor the probe file
    out = unwritable_folder(tmp_path) / "out"
    with pytest.raises(OSError) as raised:
        atomic.check_folder_possible(out)
    assert raised.value.errno in (errno.EACCES, errno.EPERM, errno.EROFS)
    assert raised.value.filename == str(out)
