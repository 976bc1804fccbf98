"""MOT result rows streamed to their file as tracking goes (`discmot.engine.infer.track_source`).

`TrackedRows` counts the tracked frames for the run's summary and passes their rows on to a `ResultsStream`,
which writes them out a chunk at a time into a temporary file (`open_results_stream`), renamed onto the
results file when tracking ends: memory does not grow with the video's length.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from discmot.io.atomic import atomic_open, errors_naming
from discmot.io.mot_results import sorted_mot_rows
from discmot.structures import Tracks


class TrackedRows:
    """The tracked frames' counts for the summary, and their rows passed on to a `ResultsStream`.

    Nothing grows with the number of frames: rows go to the stream (which writes them out in chunks) and
    only the distinct track ids are kept.
    """

    def __init__(self, location: str, results: ResultsStream | None = None):
        self.location, self.results = location, results
        self.last_frame = 0
        self.count = 0
        self.rows = 0
        self.ids: set[int] = set()

    def add(self, frame_number: int, tracks: Tracks) -> None:
        """Counts one tracked frame (frame numbers must increase: the rows are written in that order)."""
        if frame_number <= self.last_frame:
            raise ValueError(
                f"{self.location}: frame {frame_number} comes after frame {self.last_frame}; a source's "
                "frame numbers must increase"
            )
        self.last_frame = frame_number
        self.count += 1
        if not len(tracks):
            return
        self.rows += len(tracks)
        self.ids.update(tracks.ids.tolist())
        if self.results is not None:
            self.results.add(frame_number, tracks)


class ResultsStream:
    """MOT result rows written to an open file as tracking goes, a chunk of frames at a time, in the
    order `discmot.io.mot_results.sorted_mot_rows` puts them (frames ascending; within a frame by id, or in
    the tracker's order for ``original_format``), so the file is byte for byte the one
    `discmot.io.mot_results.write_mot_results` would write.

    A 10-hour video holds about 20 million rows: kept until the end, they took about 90 bytes each, and
    formatting them all at once about ten times that again.
    """

    #: Rows held before they are formatted and written.
    chunk_rows = 2048

    def __init__(self, handle, path: Path, original_format: bool):
        self.handle, self.path, self.original_format = handle, path, original_format
        self._frames: list[np.ndarray] = []
        self._tracks: list[Tracks] = []
        self._held = 0

    def add(self, frame_number: int, tracks: Tracks) -> None:
        """Takes one frame's tracks (frames in increasing order)."""
        self._frames.append(np.full(len(tracks), frame_number, np.int64))
        self._tracks.append(tracks)
        self._held += len(tracks)
        if self._held >= self.chunk_rows:
            self.flush()

    def flush(self) -> None:
        """Writes the rows held. They are let go just before the write, not after: a Ctrl-C that ends a
        camera while this formats leaves them for the last flush, and one just after the write cannot
        have them written twice (a frame's rows twice is a file evaluation refuses)."""
        if not self._tracks:
            return
        text = sorted_mot_rows(
            np.concatenate(self._frames),
            np.concatenate([t.ids for t in self._tracks]),
            np.concatenate([t.boxes for t in self._tracks]),
            np.concatenate([t.scores for t in self._tracks]),
            self.original_format,
        )
        self._frames, self._tracks, self._held = [], [], 0
        with errors_naming(self.path):  # a full disk: ``[Errno 28] No space left on device`` alone
            self.handle.write(text)

    def finish(self) -> None:
        """Writes the last rows and puts the file on disk, so that a full disk fails here, before the
        other outputs of the run (the video) are published, leaving none of them."""
        self.flush()
        with errors_naming(self.path):
            self.handle.flush()
            os.fsync(self.handle.fileno())


@contextlib.contextmanager
def open_results_stream(path: str | Path, original_format: bool) -> Iterator[ResultsStream]:
    """A `ResultsStream` into a temporary file beside ``path``, renamed onto it when the block ends
    without an error (`discmot.io.atomic.atomic_open`); removed otherwise (an error, Ctrl-C on a file,
    SIGTERM). An error writing it (a full disk) names ``path``, not the temporary file: the stream names
    its writes' errors, `atomic_open` those of flushing and renaming (not those of the tracking loop that
    runs in its block: ``block_only_writes=False``)."""
    path = Path(path)
    with atomic_open(path, block_only_writes=False) as handle:
        yield ResultsStream(handle, path, original_format)  # the caller ends it with finish()
