"""Long and interrupted tracking runs (`discmot.engine.infer`): what a 10-hour video or a split of 100
sequences needs that a 20-second clip does not show.

Results are streamed to their temporary file as tracking goes (memory stays flat, and the file is byte
for byte what `discmot.io.mot_results.write_mot_results` writes from all rows at once); a full disk names the
results file and leaves nothing; a split stopped halfway keeps its finished sequences and says so.
"""

from __future__ import annotations

import errno
import logging
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from discmot.engine import results_stream
from discmot.engine.infer import track_source, track_split
from discmot.io.mot_results import write_mot_results
from discmot.io.video import FrameSource
from discmot.structures import Detections, Tracks
from helpers import os_error_past_a_file_size_limit


class Stream(FrameSource):
    """``length`` frames numbered ``numbers`` (default 1..length): blank images, or none."""

    def __init__(self, length: int, images: bool = False, numbers: list[int] | None = None):
        super().__init__("stream", "<stream>", 30, (64, 48), length, has_images=images)
        self.numbers = numbers or list(range(1, length + 1))

    def __iter__(self):
        image = np.zeros((48, 64, 3), np.uint8) if self.has_images else None
        for k in self.numbers:
            yield k, image


class RandomTracks:
    """A stand-in tracker: each frame, 0-6 tracks with ids out of order, fractional boxes, float32 or
    float64 scores (whatever it is given is ignored; ``end_to_end`` makes it take the frame alone)."""

    def __init__(self, seed: int = 0, end_to_end: bool = False):
        self.detects = end_to_end
        self.seed = seed
        self.reset()

    def reset(self) -> None:
        self.rng = np.random.default_rng(self.seed)
        self.frames, self.ids, self.boxes, self.scores = [], [], [], []

    def update(self, *_frame_or_detections) -> Tracks:
        n = int(self.rng.integers(0, 7))
        ids = self.rng.permutation(40)[:n].astype(np.int64)
        boxes = self.rng.uniform(0, 500, (n, 4)) / 7
        scores = self.rng.uniform(0, 1, n).astype(self.rng.choice([np.float32, np.float64]))
        self.frames.append(np.full(n, len(self.frames) + 1))
        self.ids.append(ids), self.boxes.append(boxes), self.scores.append(scores)
        return Tracks(ids, boxes, scores)

    def all_rows(self):
        """Every row given, concatenated: what the engine used to hold until the end."""
        return tuple(np.concatenate(x) for x in (self.frames, self.ids, self.boxes, self.scores))


class NoDetections:
    def __getitem__(self, frame_number: int) -> Detections:
        return Detections.empty()


@pytest.mark.parametrize("end_to_end", [False, True], ids=["rounded", "original-format"])
def test_streamed_results_are_the_bytes_written_from_all_rows_at_once(tmp_path, monkeypatch, end_to_end):
    """Written a few frames at a time (a small chunk here, so that many chunks are joined), the file is
    the one `write_mot_results` makes from every row: sorted by frame then id, or in the tracker's order
    with unrounded boxes for FDTA/CSTrack's original format."""
    monkeypatch.setattr(results_stream.ResultsStream, "chunk_rows", 7)
    tracker = RandomTracks(end_to_end=end_to_end)
    options = {} if end_to_end else {"detections": NoDetections()}
    summary = track_source(
        Stream(300, images=end_to_end), tracker, save_txt=tmp_path / "r.txt", progress=False, **options
    )
    frames, ids, boxes, scores = tracker.all_rows()
    write_mot_results(tmp_path / "expected.txt", frames, ids, boxes, scores, original_format=end_to_end)
    assert (tmp_path / "r.txt").read_bytes() == (tmp_path / "expected.txt").read_bytes()
    assert summary["rows"] == len(frames) > 500
    assert summary["ids"] == len(np.unique(ids))


class Crowd:
    """Every frame the same 20 boxes as tracks, ids changing every 100 frames (a long busy video)."""

    def reset(self) -> None:
        self.frame = 0

    def update(self, detections: Detections, frame=None) -> Tracks:
        self.frame += 1
        ids = np.arange(20) + 20 * (self.frame // 100)
        boxes = np.c_[np.arange(20.0) * 7 + self.frame % 50, np.full((20, 3), 10.0)]
        return Tracks(ids, boxes, np.full(20, 0.9))


def test_a_long_run_holds_no_rows_in_memory(tmp_path):
    """40,000 rows: held until the end they took 25 MB at the peak (formatting them all at once), and
    a 10-hour video's 20 million rows took gigabytes; streamed, the peak does not grow with the length."""
    track_source(Stream(50), Crowd(), detections=NoDetections(), save_txt=tmp_path / "warm.txt")  # imports
    tracemalloc.start()
    try:
        summary = track_source(
            Stream(2000), Crowd(), detections=NoDetections(), save_txt=tmp_path / "r.txt", progress=False
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert summary["rows"] == 40_000
    assert (tmp_path / "r.txt").read_text().count("\n") == 40_000
    assert peak < 6e6, f"{peak / 1e6:.1f} MB at the peak"


def test_frame_numbers_that_do_not_increase_are_an_error_and_nothing_is_written(tmp_path):
    """Rows are written in frame order as they come: a source going back cannot be sorted afterwards."""
    with pytest.raises(ValueError, match=r"<stream>: frame 2 comes after frame 3"):
        track_source(
            Stream(4, numbers=[1, 3, 2, 4]), Crowd(), detections=NoDetections(), save_txt=tmp_path / "r.txt"
        )
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_names_the_results_file_and_leaves_no_file(tmp_path):
    """A disk that fills up mid-run (here: a file size limit, which fails the write as a full disk does)
    stops the run with the error naming the results file, not its temporary file, and nothing is left."""
    code = """
        from test_long_runs import Crowd, NoDetections, Stream
        from discmot.engine.infer import track_source
        track_source(Stream(3000), Crowd(), detections=NoDetections(), save_txt=sys.argv[1])
    """
    raised = os_error_past_a_file_size_limit(
        code, 65536, tmp_path / "r.txt", cwd=tmp_path, paths=[Path(__file__).parent]
    )
    assert raised == (str(tmp_path / "r.txt"), errno.EFBIG)
    assert list(tmp_path.iterdir()) == []


class StopsInSequence:
    """Tracker factory whose third sequence is stopped by Ctrl-C (or SIGTERM's exit) at its 5th frame."""

    def __init__(self, stop: BaseException):
        self.stop, self.built = stop, 0

    def __call__(self, frame_rate: float) -> Crowd:
        self.built += 1
        tracker, stop = Crowd(), self.stop if self.built == 3 else None
        update = tracker.update

        def update_or_stop(detections, frame=None):
            if stop is not None and tracker.frame == 4:
                raise stop
            return update(detections, frame)

        tracker.update = update_or_stop
        return tracker


def make_split(root: Path, count: int = 5, length: int = 20) -> Path:
    for k in range(count):
        folder = root / f"seq{k}"
        (folder / "det").mkdir(parents=True)
        (folder / "seqinfo.ini").write_text(f"[Sequence]\nname=seq{k}\nframeRate=30\nseqLength={length}\n")
        (folder / "det" / "det.txt").write_text("".join(f"{f},-1,5,5,20,30,0.9\n" for f in range(1, 21)))
    return root


@pytest.mark.parametrize("stop", [KeyboardInterrupt(), SystemExit(143)], ids=["ctrl-c", "sigterm"])
def test_a_stopped_split_keeps_its_finished_sequences_and_says_so(tmp_path, caplog, stop):
    split = make_split(tmp_path / "split")
    data = tmp_path / "out" / "jde" / "data"
    data.mkdir(parents=True)
    (data / "seq4.txt").write_text("1,1,1,1,1,1,1,-1,-1,-1\n")  # an earlier run's file
    with caplog.at_level(logging.WARNING), pytest.raises(type(stop)):
        track_split(split, tmp_path / "out", StopsInSequence(stop), tracker_name="jde", progress=False)
    assert sorted(p.name for p in data.iterdir()) == ["seq0.txt", "seq1.txt", "seq4.txt"]  # no temporary
    assert (data / "seq1.txt").read_text().count("\n") == 20 * 20
    assert caplog.messages[-1] == (
        f"{split}: stopped in sequence seq2; the results of the 2 of 5 sequences before it are complete, "
        f"in {data}; 1 of the other sequences' files there are from an earlier run; to go on, run the same "
        "command with --skip-existing: it tracks only the sequences without results there and keeps the "
        "earlier run's files (delete them first to track those again)"
    )


def test_a_full_disk_at_the_last_rows_leaves_no_video_either(tmp_path):
    """The results' last rows are written and synced before the video is published: a disk that fills
    up there (the run's rows, fewer than a chunk, all go out at the end) leaves neither file."""
    code = """
        from test_long_runs import Crowd, NoDetections, Stream
        from discmot.engine.infer import track_source
        track_source(Stream(60, images=True), Crowd(), detections=NoDetections(), save_txt=sys.argv[1],
                     save_video=sys.argv[2])
    """
    raised = os_error_past_a_file_size_limit(
        code, 16384, tmp_path / "r.txt", tmp_path / "v.mp4", cwd=tmp_path, paths=[Path(__file__).parent]
    )
    assert raised == (str(tmp_path / "r.txt"), errno.EFBIG)
    assert list(tmp_path.iterdir()) == []
