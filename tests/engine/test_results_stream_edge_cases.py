"""Edge cases of `discmot.engine.results_stream` that the long-run tests leave open: the summary's counts,
when a chunk is written (``chunk_rows`` rows held: at exactly that many, counted afresh after each write),
and a stream that got no rows.

Expected values are hand counts from the module's docstrings: frames must increase, a frame with no tracks
is counted but passes nothing on, rows are written once ``chunk_rows`` (2048) are held.
"""

from __future__ import annotations

import errno
import io
from pathlib import Path

import numpy as np
import pytest

from discmot.engine.results_stream import ResultsStream, TrackedRows, open_results_stream
from discmot.structures import Tracks


def tracks(*ids: int) -> Tracks:
    """One frame's tracks with these ids (boxes and scores do not matter here)."""
    n = len(ids)
    return Tracks(np.array(ids, np.int64), np.full((n, 4), 10.0), np.full(n, 0.5))


def written(handle: io.StringIO) -> list[tuple[int, int]]:
    """``(frame, id)`` of each row written so far."""
    return [tuple(int(v) for v in line.split(",")[:2]) for line in handle.getvalue().splitlines()]


def test_tracked_rows_count_frames_rows_and_distinct_ids_and_pass_on_only_frames_with_tracks():
    """Three frames (ids 3 and 1; none; 3): 3 frames, 3 rows, 2 distinct ids; the stream gets 2 frames."""
    handle = io.StringIO()
    stream = ResultsStream(handle, Path("out.txt"), original_format=False)
    tracked = TrackedRows("video.mp4", stream)
    tracked.add(1, tracks(3, 1))
    tracked.add(2, Tracks.empty())
    tracked.add(5, tracks(3))
    assert (tracked.count, tracked.rows, tracked.ids, tracked.last_frame) == (3, 3, {1, 3}, 5)
    stream.flush()
    assert written(handle) == [(1, 1), (1, 3), (5, 3)]  # by frame, then id


class Recorder:
    """A stand-in `ResultsStream` recording the frames it is given."""

    def __init__(self):
        self.frames: list[int] = []

    def add(self, frame_number: int, tracks: Tracks) -> None:
        self.frames.append(frame_number)


def test_a_frame_without_tracks_is_counted_but_not_passed_on():
    """Nothing grows with the number of frames: a frame with no tracks is counted and goes no further."""
    recorder = Recorder()
    tracked = TrackedRows("video.mp4", recorder)
    for frame in range(1, 6):
        tracked.add(frame, tracks(7) if frame in (2, 4) else Tracks.empty())
    assert (tracked.count, tracked.rows, recorder.frames) == (5, 2, [2, 4])


def test_tracked_rows_take_frame_1_first_and_refuse_a_repeated_frame():
    """MOT frames start at 1; a frame number equal to the last one does not increase: refused, naming the
    source."""
    tracked = TrackedRows("video.mp4")
    tracked.add(1, tracks(1))
    with pytest.raises(ValueError, match="video.mp4: frame 1 comes after frame 1; a source's frame numbers"):
        tracked.add(1, tracks(2))
    assert (tracked.count, tracked.rows) == (1, 1)


def test_rows_are_written_once_exactly_chunk_rows_are_held():
    """2047 rows are held; the 2048th (``chunk_rows``) makes the stream write all of them."""
    handle = io.StringIO()
    stream = ResultsStream(handle, Path("out.txt"), original_format=False)
    assert ResultsStream.chunk_rows == 2048
    stream.add(1, tracks(*range(2047)))
    assert handle.getvalue() == ""
    stream.add(2, tracks(0))
    assert len(written(handle)) == 2048


def test_the_count_of_held_rows_starts_again_from_zero_after_a_write(monkeypatch):
    """With ``chunk_rows`` 4: 4 rows are written at once; the next 3 are held (3 < 4), the 4th writes them."""
    monkeypatch.setattr(ResultsStream, "chunk_rows", 4)
    handle = io.StringIO()
    stream = ResultsStream(handle, Path("out.txt"), original_format=False)
    stream.add(1, tracks(1, 2, 3, 4))
    assert len(written(handle)) == 4
    stream.add(2, tracks(1, 2, 3))
    assert len(written(handle)) == 4
    stream.add(3, tracks(1))
    assert len(written(handle)) == 8


def test_a_stream_that_got_no_rows_finishes_as_an_empty_file(tmp_path):
    """A video in which nothing was tracked: the results file exists and is empty (0 bytes), which
    evaluation reads as "no detections" (eval.md §1.2)."""
    path = tmp_path / "out.txt"
    with open_results_stream(path, original_format=False) as stream:
        stream.finish()
    assert path.read_bytes() == b""


def test_an_os_error_of_the_tracking_loop_is_not_taken_for_a_write_of_the_results_file(tmp_path):
    """The block of `open_results_stream` is a tracking loop: an `OSError` naming no file raised there (a
    camera's read failing) is raised as it is, not renamed to name the results file (its writes name it
    themselves); the results file is not created."""
    path = tmp_path / "out.txt"
    with pytest.raises(OSError) as raised:
        with open_results_stream(path, original_format=False):
            raise OSError(errno.EIO, "Input/output error")
    assert raised.value.filename is None and str(path) not in str(raised.value)
    assert list(tmp_path.iterdir()) == []
