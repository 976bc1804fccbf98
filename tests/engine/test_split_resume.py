"""Going on with a stopped split: ``discmot track SPLIT --split-out DIR --skip-existing``.

A split of three tiny synthetic sequences whose ``det/det.txt`` are their ground-truth boxes, tracked by
the real JDE cascade: a sequence whose results file is already there is kept untouched (same bytes, same
inode, same modification time), the others are tracked as an uninterrupted run tracks them, a run
stopped half-way (a bad sequence, Ctrl-C) and resumed gives the uninterrupted run's files, and the flag
without a split is a one-line error.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import discmot
from discmot.cli import main
from discmot.data.synth import generate_dataset
from discmot.engine.infer import track_split
from discmot.engine.track_verb import tracker_factory
from discmot.io.mot import read_mot_table
from discmot.structures import Tracks

NAMES = ("one", "two", "three")
#: A modification time far in the past: a rewritten file could not keep it, however coarse the clock.
LONG_AGO = 946684800  # 2000-01-01


@pytest.fixture(scope="module")
def split(tmp_path_factory) -> Path:
    """``<root>/train`` with three sequences (with images) whose ``det/det.txt`` are the gt boxes."""
    root = tmp_path_factory.mktemp("resume")
    for folder in generate_dataset(root, "tiny", sequences=len(NAMES)):
        gt = read_mot_table(folder / "gt" / "gt.txt").values
        (folder / "det").mkdir()
        rows = [f"{int(r[0])},-1,{r[2]:g},{r[3]:g},{r[4]:g},{r[5]:g},1,-1,-1,-1\n" for r in gt]
        (folder / "det" / "det.txt").write_text("".join(rows))
    return root / "train"


@pytest.fixture(scope="module")
def full_run(split, tmp_path_factory) -> dict[str, bytes]:
    """The results files of one uninterrupted ``discmot track SPLIT --split-out`` run, by file name."""
    out = tmp_path_factory.mktemp("full")
    assert main(["track", str(split), "--split-out", str(out)]) == 0
    return files_of(out / "jde" / "data")


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def sequence_names(split: Path) -> list[str]:
    return sorted(p.name for p in split.iterdir())


def identity(path: Path) -> tuple[int, int]:
    """The inode and modification time of ``path``: both change when the file is written anew."""
    status = path.stat()
    return status.st_ino, status.st_mtime_ns


def test_skip_existing_keeps_the_files_there_and_tracks_only_the_missing_one(
    split, full_run, tmp_path, capsys, caplog
):
    out = tmp_path / "out"
    assert main(["track", str(split), "--split-out", str(out)]) == 0
    data = out / "jde" / "data"
    first, missing, last = sequence_names(split)
    (data / f"{missing}.txt").unlink()
    kept = {name: data / f"{name}.txt" for name in (first, last)}
    for path in kept.values():
        os.utime(path, (LONG_AGO, LONG_AGO))
    before = {name: identity(path) for name, path in kept.items()}
    capsys.readouterr()
    with caplog.at_level(logging.DEBUG, logger="discmot"):
        status = main(["track", str(split), "--split-out", str(out), "--skip-existing"])
    printed = capsys.readouterr().out
    assert status == 0
    assert files_of(data) == full_run  # the kept ones unchanged, the missing one as a whole run wrote it
    assert {name: identity(path) for name, path in kept.items()} == before  # not written again
    # only the tracked sequence is printed (and the eval hint)
    assert f"{missing}: " in printed and f"{first}: " not in printed and f"{last}: " not in printed
    assert "evaluate with: discmot eval" in printed
    assert (
        f"{split}: kept the results of 2 of 3 sequences already in {data} (--skip-existing); "
        "tracking the other 1" in caplog.messages
    )
    assert f"{first}: kept {kept[first]} (--skip-existing)" in caplog.messages  # -v names each one


def test_with_every_result_there_nothing_is_tracked_and_no_model_loaded(split, full_run, tmp_path, caplog):
    """``discmot.track`` returns the summaries of the sequences it tracked: none. The checkpoint, which
    does not exist, is never opened: the model is loaded for the first sequence tracked."""
    data = tmp_path / "out" / "cstrack" / "data"
    data.mkdir(parents=True)
    for name, content in full_run.items():
        (data / name).write_bytes(content)
    missing_weights = tmp_path / "missing.pt"
    with caplog.at_level(logging.INFO, logger="discmot"):
        summaries = discmot.track(
            split, model="cstrack", weights=missing_weights, split_out=tmp_path / "out", skip_existing=True
        )
    assert summaries == {} and files_of(data) == full_run
    assert caplog.messages == [
        f"{split}: every sequence's results (3) are already in {data} (--skip-existing): nothing to track"
    ]
    (data / next(iter(full_run))).unlink()  # one left to track: now the model is needed, and missing
    with pytest.raises((ValueError, OSError), match="missing.pt"):
        discmot.track(
            split, model="cstrack", weights=missing_weights, split_out=tmp_path / "out", skip_existing=True
        )
    # loaded with the first tracker, before the results folder is made: a failed load leaves no folder
    with pytest.raises((ValueError, OSError), match="missing.pt"):
        discmot.track(split, model="cstrack", weights=missing_weights, split_out=tmp_path / "new")
    assert not (tmp_path / "new").exists()


def test_a_bad_sequence_stops_the_split_and_skip_existing_goes_on(split, full_run, tmp_path, capsys, caplog):
    """A split stopped by a bad sequence (its detections unreadable) says how to go on; once the file is
    mended, ``--skip-existing`` tracks the rest and the folder holds what an uninterrupted run writes."""
    copy = Path(shutil.copytree(split, tmp_path / "split", ignore=shutil.ignore_patterns("img1")))
    first, bad, _ = sequence_names(copy)
    det = copy / bad / "det" / "det.txt"
    good = det.read_bytes()
    det.write_text("1,-1,not,a,box\n")
    out = tmp_path / "out"
    with caplog.at_level(logging.WARNING, logger="discmot"):
        status = main(["track", str(copy), "--split-out", str(out)])
    data = out / "jde" / "data"
    assert status == 2 and str(det) in capsys.readouterr().err
    assert sorted(files_of(data)) == [f"{first}.txt"]
    assert caplog.messages[-1] == (
        f"{copy}: stopped in sequence {bad}; the results of the 1 of 3 sequences before it are complete, "
        f"in {data}; to go on, run the same command with --skip-existing: it tracks only the sequences "
        "without results there"
    )
    os.utime(data / f"{first}.txt", (LONG_AGO, LONG_AGO))
    before = identity(data / f"{first}.txt")
    det.write_bytes(good)
    assert main(["track", str(copy), "--split-out", str(out), "--skip-existing"]) == 0
    assert files_of(data) == full_run and identity(data / f"{first}.txt") == before


class StopsAtSequence:
    """The real JDE tracker factory, but the tracker of the ``stop_at``-th sequence built (1-based) is
    stopped by Ctrl-C at its third frame."""

    def __init__(self, stop_at: int):
        self.make, self.stop_at, self.built = tracker_factory("jde", preset="public"), stop_at, 0

    def __call__(self, frame_rate: float):
        self.built += 1
        tracker = self.make(frame_rate)
        if self.built == self.stop_at:
            update, seen = tracker.update, []

            def update_or_stop(detections, frame=None):
                seen.append(1)
                if len(seen) == 3:
                    raise KeyboardInterrupt
                return update(detections, frame)

            tracker.update = update_or_stop
        return tracker


def test_ctrl_c_twice_then_resumed_gives_the_uninterrupted_files(split, full_run, tmp_path, caplog):
    """Stopped in the second sequence, resumed and stopped again in the third, resumed again: the files
    are those of one uninterrupted run (`track_split` with the CLI's tracker, ``--tracker-preset public``
    being its default with precomputed detections); the second stop counts the sequence kept."""
    out, data = tmp_path / "out", tmp_path / "out" / "jde" / "data"
    first, second, third = sequence_names(split)
    common = {"tracker_name": "jde", "progress": False}
    with pytest.raises(KeyboardInterrupt):
        track_split(split, out, StopsAtSequence(2), **common)
    assert sorted(files_of(data)) == [f"{first}.txt"]
    with caplog.at_level(logging.WARNING, logger="discmot"), pytest.raises(KeyboardInterrupt):
        track_split(split, out, StopsAtSequence(2), skip_existing=True, **common)  # the 2nd built: third
    assert sorted(files_of(data)) == [f"{first}.txt", f"{second}.txt"]
    assert caplog.messages[-1].startswith(
        f"{split}: stopped in sequence {third}; the results of 2 of 3 sequences are complete (1 kept from "
        f"before), in {data}; to go on"
    )
    summaries = track_split(split, out, StopsAtSequence(0), skip_existing=True, **common)
    assert list(summaries) == [third] and summaries[third]["frames"] > 0
    assert files_of(data) == full_run


def test_an_earlier_runs_files_are_named_as_kept_by_skip_existing(split, tmp_path, caplog):
    """Files of the later sequences from an earlier run, left by a stop, would be kept by
    ``--skip-existing``: the stop's message says so."""
    out, data = tmp_path / "out", tmp_path / "out" / "jde" / "data"
    data.mkdir(parents=True)
    (data / f"{sequence_names(split)[2]}.txt").write_text("1,1,1,1,1,1,1,-1,-1,-1\n")
    with caplog.at_level(logging.WARNING, logger="discmot"), pytest.raises(KeyboardInterrupt):
        track_split(split, out, StopsAtSequence(2), tracker_name="jde", progress=False)
    assert caplog.messages[-1].endswith(
        "; 1 of the other sequences' files there are from an earlier run; to go on, run the same command "
        "with --skip-existing: it tracks only the sequences without results there and keeps the earlier "
        "run's files (delete them first to track those again)"
    )


class StillBox:
    """An end-to-end stand-in (``detects = True``): one track with the same box in every frame."""

    detects = True

    def reset(self) -> None:
        pass

    def update(self, frame: np.ndarray) -> Tracks:
        return Tracks(np.array([1]), np.array([[1.0, 2.0, 3.0, 4.0]]), np.array([1.0]))


def test_the_first_frame_check_covers_only_the_sequences_tracked(split, tmp_path):
    """An end-to-end split checks that each sequence has a readable image before writing anything; a
    sequence kept by ``skip_existing`` is not read at all, so its images may since have gone bad."""
    copy = Path(shutil.copytree(split, tmp_path / "split"))
    broken, *others = sequence_names(copy)
    for image in (copy / broken / "img1").iterdir():
        image.write_bytes(b"not an image")
    data = tmp_path / "out" / "e2e" / "data"
    data.mkdir(parents=True)
    (data / f"{broken}.txt").write_text("1,1,1,1,1,1,1,-1,-1,-1\n")
    common = {"tracker_name": "e2e", "progress": False, "needs_detections": False}
    with pytest.raises(ValueError, match=f"{broken}: no readable image"):
        track_split(copy, tmp_path / "out", lambda rate: StillBox(), **common)
    summaries = track_split(copy, tmp_path / "out", lambda rate: StillBox(), skip_existing=True, **common)
    assert list(summaries) == others
    assert sorted(files_of(data)) == sorted(f"{name}.txt" for name in (broken, *others))


@pytest.mark.parametrize("model", ["jde", "cstrack"])
def test_skip_existing_without_a_split_is_one_line(split, tmp_path, capsys, model):
    sequence = split / sequence_names(split)[0]
    argv = ["track", str(sequence), "--save-txt", str(tmp_path / "r.txt"), "--skip-existing"]
    if model == "cstrack":  # refused before the (missing) checkpoint would be loaded
        argv += ["--model", "cstrack", "--weights", str(tmp_path / "missing.pt")]
    status = main(argv)
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and "--skip-existing" in err and str(sequence) in err
    assert not (tmp_path / "r.txt").exists()
