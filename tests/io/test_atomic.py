"""Contracts of `discmot.io.atomic`: a reader finds the old output or the whole new one, never a part."""

from __future__ import annotations

import os
import stat

import pytest

from discmot.io import atomic


def process_umask() -> int:
    """Read here, not through the code's own cached `atomic.current_umask`."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


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


def test_check_writable_creates_the_folders_and_leaves_no_file(tmp_path):
    target = tmp_path / "new" / "deeper" / "out.txt"
    atomic.check_writable(target)
    assert target.parent.is_dir() and list(target.parent.iterdir()) == []
    with pytest.raises(IsADirectoryError, match="a folder, not a file"):
        atomic.check_writable(target.parent)


def test_the_cli_names_the_file_in_the_way_of_a_folder_it_creates(tmp_path):
    from discmot.cli import _one_line

    (tmp_path / "f").write_text("x")
    for folder in (tmp_path / "f", tmp_path / "f" / "sub" / "deeper"):
        with pytest.raises(OSError) as error:
            folder.mkdir(parents=True, exist_ok=True)
        assert _one_line(error.value) == f"{tmp_path / 'f'}: not a folder (a file is in the way)"
