"""How many frames a source yields, and which: one rule (`discmot.io.video.frame_numbers`,
`frames_yielded`, `first_yielded`) for ``discmot track``'s progress total, ``discmot analyze``'s and the
frames ``discmot bench`` times. Images named by numbers keep them as frame numbers, so a folder from
``000050.jpg`` on, or one with gaps (50, 52, 54), yields fewer frames than its last number."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from discmot.cli import main
from discmot.engine.bench import source_frames
from discmot.engine.infer import LoggedProgress, frames_progress_bar
from discmot.io.video import (
    SequenceFrames,
    first_frames,
    first_yielded,
    frame_numbers,
    frames_yielded,
    open_source,
)


def write_frames(folder: Path, numbers, size=(64, 96)) -> Path:
    """JPEGs named ``%06d.jpg`` by ``numbers``, each a different grey (``number`` itself), so a frame
    read back says which image it was."""
    folder.mkdir(parents=True, exist_ok=True)
    for k in numbers:
        cv2.imwrite(str(folder / f"{k:06d}.jpg"), np.full((*size, 3), k, np.uint8))
    return folder


def grey_of(frame: np.ndarray) -> int:
    """The number a `write_frames` image was written with (JPEG keeps a flat grey to within 1)."""
    return int(round(float(frame.mean())))


def write_sequence(folder: Path, numbers, length: int) -> SequenceFrames:
    write_frames(folder / "img1", numbers)
    (folder / "seqinfo.ini").write_text(
        f"[Sequence]\nname={folder.name}\nimDir=img1\nframeRate=25\nseqLength={length}\n"
        "imWidth=96\nimHeight=64\nimExt=.jpg\n"
    )
    return SequenceFrames(folder)


# --- bench: the first N frames the source yields, whatever their numbers --------------------------------


def test_bench_reads_the_first_frames_a_folder_from_50_yields(tmp_path):
    """``--warmup 3 --frames 57`` read frames 50-60 (11, the count taken for a last frame number); a
    count below 50 was refused as '--max-frames 13 ends before the first image'."""
    folder = write_frames(tmp_path / "clip", range(50, 80))
    assert [grey_of(f) for f in source_frames(str(folder), 60)] == list(range(50, 80))  # all 30
    assert [grey_of(f) for f in source_frames(str(folder), 13)] == list(range(50, 63))


def test_bench_reads_images_with_gaps_as_consecutive_frames(tmp_path):
    gaps = write_frames(tmp_path / "gaps", [50, 52, 54, 56])
    assert [grey_of(f) for f in source_frames(str(gaps), 3)] == [50, 52, 54]


def test_bench_of_a_folder_from_50_times_the_frames_it_has(tmp_path, caplog):
    """The verb itself on images 50-54 with ``--warmup 1 --frames 9``: it failed with 'from50: --max-frames
    10 ends before the first image', naming an option bench does not have; now the 5 frames are read, 4 of
    them timed, with bench's own warning that the folder is short."""
    folder = write_frames(tmp_path / "from50", range(50, 55))
    out = tmp_path / "bench.json"
    argv = ["bench", str(folder), "--model", "cstrack", "--preset", "tiny", "--device", "cpu"]
    with caplog.at_level(logging.WARNING, logger="discmot"):
        assert main([*argv, "--frames", "9", "--warmup", "1", "--json", str(out)]) == 0
    assert "5 frames, fewer than the 10 asked for (--warmup 1 + --frames 9): timing 4" in caplog.text
    assert json.loads(out.read_text())["runs"][0]["frames"] == 4


def test_first_yielded_reads_nothing_after_the_frames_taken(tmp_path, caplog):
    """Frame 55 has no image: taking the 5 frames 50-54 does not get to it, so it is not warned about."""
    source = open_source(write_frames(tmp_path / "clip", [50, 51, 52, 53, 54, 56]))
    with caplog.at_level(logging.WARNING):
        assert [k for k, _ in first_yielded(source, 5)] == [50, 51, 52, 53, 54]
    assert source.skipped == [] and not caplog.records
    assert [k for k, _ in first_yielded(source, 6)] == [50, 51, 52, 53, 54, 56]
    assert source.skipped == [55]


# --- the count: what the progress bars of track, analyze and bench show -----------------------------


@pytest.mark.parametrize(
    ("numbers", "count"),
    [(range(50, 80), None), ([50, 52, 54], None), ([50, 52, 54], 2), ([1, 2, 3], 10), ([7], 1)],
)
def test_frames_yielded_is_the_length_of_first_yielded(tmp_path, numbers, count):
    source = open_source(write_frames(tmp_path / "clip", numbers))
    taken = list(source) if count is None else list(first_yielded(source, count))
    assert frames_yielded(source, count) == len(taken)
    assert frame_numbers(source) == list(numbers)


def test_track_progress_counts_the_images_of_a_folder_with_gaps(tmp_path):
    """Images 50, 52, 54: 3 frames (the total was 5, the last number less the first plus one); with
    ``--max-frames 53`` (frames up to number 53) the 2 frames 50 and 52 (it was 4)."""
    source = open_source(write_frames(tmp_path / "gaps", [50, 52, 54]))
    assert frames_progress_bar(source, False).total == 3
    limited = first_frames(source, 53)
    assert frames_progress_bar(limited, False).total == 2 == len(list(limited))


def test_track_progress_of_a_sequence_counts_the_frames_it_yields(tmp_path):
    """A sequence's images 000000-000004.jpg with seqLength 5: frames 1-4 are read (image 0 is none of
    frames 1..seqLength, frame 5 has no image): 4, where the total was 6. Without images (precomputed
    detections) every frame 1..seqLength is yielded."""
    sequence = write_sequence(tmp_path / "seq", range(5), length=5)
    assert frames_progress_bar(sequence, False).total == 4 == len(list(sequence))
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "seqinfo.ini").write_text("[Sequence]\nname=bare\nimDir=img1\nframeRate=25\nseqLength=6\n")
    assert frames_progress_bar(SequenceFrames(bare), False).total == 6 == len(list(SequenceFrames(bare)))


def test_a_video_is_counted_by_its_length(tmp_path):
    """A video's frame numbers are not known before decoding: its count is the length it says it has."""
    from discmot.io.video import VideoWriter

    path = tmp_path / "clip.mp4"
    with VideoWriter(path, 25, (96, 64)) as writer:
        for k in range(6):
            writer.write(np.full((64, 96, 3), 40 * k, np.uint8))
    video = open_source(path)
    assert frame_numbers(video) is None
    assert (frames_yielded(video), frames_yielded(video, 4)) == (6, 4)
    assert frames_progress_bar(first_frames(video, 4), False).total == 4


def test_track_of_a_folder_with_gaps_ends_its_progress_at_3_of_3(tmp_path, monkeypatch, caplog):
    """``discmot track`` off a terminal: the progress lines of images 50, 52, 54 end at 3/3 (they said
    3/5 and 'left' time for frames that do not exist)."""
    folder = write_frames(tmp_path / "gaps", [50, 52, 54])
    detections = tmp_path / "det.txt"
    detections.write_text("".join(f"{k},-1,10,10,20,30,0.9,-1,-1,-1\n" for k in (50, 52, 54)))
    monkeypatch.setattr(LoggedProgress.__init__, "__defaults__", (0.0,))  # a line after every frame
    argv = ["track", str(folder), "--detections", str(detections), "--save-txt", str(tmp_path / "r.txt")]
    with caplog.at_level(logging.INFO, logger="discmot"):
        assert main(argv) == 0
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("gaps: ")]
    progress = [line.split(",")[0] for line in lines if " frames, " in line and "/" in line]
    assert progress == ["gaps: 1/3 frames", "gaps: 2/3 frames", "gaps: 3/3 frames"]
