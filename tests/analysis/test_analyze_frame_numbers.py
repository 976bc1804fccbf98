"""``discmot analyze`` on images named from a number other than 1 (``000050.jpg`` on): since image names
are frame numbers, such a folder is frames 50.., its progress total and its "over N frames" line count the
frames it yields, and ``--max-frames N`` is frame numbers 1..N, as ``discmot track --max-frames N`` takes
them (with images from 50 on, ``--max-frames 60`` analyses frames 50-60: 11 frames, not 60)."""

from __future__ import annotations

import json
import logging

import pytest

from discmot.analysis.analyze import analyze, check_matrix_frames
from discmot.cli import main
from discmot.io.video import SequenceFrames, frames_yielded, open_source
from helpers import CSTRACK_TINY, write_frames


def test_analyze_of_a_folder_from_frame_50_counts_its_progress_from_its_first_image(
    tmp_path, monkeypatch, caplog
):
    """Frames 50-52: the bar's total and the start line say 3 frames (they said 52), and the last progress
    line is 3/3, with no time left."""
    from discmot.engine.infer import LoggedProgress

    folder = write_frames(tmp_path / "clip", range(50, 53))
    monkeypatch.setattr(LoggedProgress.__init__, "__defaults__", (0.0,))  # a line after every frame
    with caplog.at_level(logging.INFO, logger="discmot"):
        summary = analyze(folder, "cstrack", CSTRACK_TINY, tmp_path / "out", progress=False)
    lines = [r.getMessage() for r in caplog.records]
    assert "clip: analysing the embeddings of cstrack (reid) over 3 frames" in lines
    progress = [line for line in lines if line.startswith("clip (analyze cstrack): ")]
    assert [line.split(",")[0] for line in progress] == [
        f"clip (analyze cstrack): {k}/3 frames" for k in range(1, 4)
    ]
    assert "left" not in progress[-1]
    assert summary["frames"] == 3


def test_the_frames_analysed_are_counted_from_the_first_image_with_and_without_max_frames(tmp_path):
    source = open_source(write_frames(tmp_path / "clip", range(50, 80)))
    assert [frames_yielded(source, m) for m in (None, 10, 30, 100)] == [30, 10, 30, 30]
    gaps = open_source(write_frames(tmp_path / "gaps", [50, 52, 54]))  # 51, 53: no image, not yielded
    assert [frames_yielded(gaps, m) for m in (None, 2)] == [3, 2]


def test_a_sequence_whose_images_start_at_frame_50_counts_the_frames_it_yields(tmp_path):
    """``SEQ/img1/`` from 000050.jpg, seqLength 57: 8 frames yielded (1-49 are missing images, skipped)."""
    write_frames(tmp_path / "seq" / "img1", range(50, 58))
    (tmp_path / "seq" / "seqinfo.ini").write_text(
        "[Sequence]\nname=seq\nimDir=img1\nframeRate=30\nseqLength=57\nimWidth=128\nimHeight=80\nimExt=.jpg\n"
    )
    source = SequenceFrames(tmp_path / "seq")
    assert frames_yielded(source, None) == 8 == sum(1 for _ in source)
    assert frames_yielded(source, 5) == 5


@pytest.mark.parametrize(
    ("numbers", "frames", "refused"),
    [
        (range(50, 80), [52, 55], None),  # --max-frames 55 analyses 50-55: both get a matrix
        (
            range(50, 80),
            [52, 56],
            "frame 56 (--frames) is beyond --max-frames 55 (frames 50-55 analysed)",
        ),
        ([1, 3, 5, 7, 9, 11], [5], None),  # images 1, 3, 5 are the frames 1..5
        (
            [1, 3, 5, 7, 9, 11],
            [9],
            "frame 9 (--frames) is beyond --max-frames 5 (frames 1-5 analysed)",
        ),
        (range(1, 9), [6], "frame 6 (--frames) is beyond --max-frames 5 (frames 1-5 analysed)"),
        (range(1, 5), [6], None),  # the source ends before frame 5: nothing cut off (a note says it later)
    ],
)
def test_frames_beyond_max_frames_are_those_after_frame_max_frames(tmp_path, numbers, frames, refused):
    source = open_source(write_frames(tmp_path / "clip", numbers))
    max_frames = 55 if numbers == range(50, 80) else 5
    if refused is None:
        check_matrix_frames(source, frames, max_frames)
        return
    with pytest.raises(ValueError) as error:
        check_matrix_frames(source, frames, max_frames)
    assert str(error.value) == refused


def test_analyze_refuses_a_frame_beyond_max_frames_of_a_folder_from_50_before_the_run(tmp_path, capsys):
    folder = write_frames(tmp_path / "clip", range(50, 60))
    argv = ["analyze", str(folder), "--model", "cstrack", "--weights", str(CSTRACK_TINY)]
    assert main([*argv, "--max-frames", "52", "--frames", "53", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err == "discmot: error: frame 53 (--frames) is beyond --max-frames 52 (frames 50-52 analysed)\n"
    assert not (tmp_path / "out").exists()


def test_analyze_max_frames_takes_frame_numbers_as_track_does(tmp_path, caplog):
    """Images 50-79, ``--max-frames 60``: frames 50-60 are analysed (11 frames), what ``discmot track
    --max-frames 60`` tracks; it analysed the first 60 images yielded (here all 30, frames 50-79). The
    start line and the progress total say 11, and nothing after frame 60 is read: image 61 is not a
    readable image and is never warned about."""
    folder = write_frames(tmp_path / "clip", range(50, 80))
    (folder / "000061.jpg").write_bytes(b"not a jpeg")
    argv = ["-q", "analyze", str(folder), "--model", "cstrack", "--weights", str(CSTRACK_TINY)]
    with caplog.at_level(logging.INFO, logger="discmot"):
        assert main([*argv, "--max-frames", "60", "--out", str(tmp_path / "out")]) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["frames"] == 11
    per_frame = summary["views"]["reid"]["per_frame"]
    assert [f["frame"] for f in per_frame] == list(range(50, 61))
    lines = [r.getMessage() for r in caplog.records]
    assert "clip: analysing the embeddings of cstrack (reid) over 11 frames" in lines
    assert not [line for line in lines if "frame 61" in line or "000061" in line]


def test_analyze_refuses_max_frames_that_end_before_the_first_image(tmp_path, capsys):
    """Images from 50 on, ``--max-frames 10``: frames 1-10 have no image; refused before the weights are
    read (a missing weights file is not the error), naming the first image, as track does."""
    folder = write_frames(tmp_path / "clip", range(50, 55))
    argv = ["analyze", str(folder), "--model", "cstrack", "--weights", str(tmp_path / "missing.pt")]
    assert main([*argv, "--max-frames", "10", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "--max-frames 10 ends before the first image, frame 50 (" in err and "000050.jpg" in err
    assert not (tmp_path / "out").exists()


def test_analyze_reads_no_frame_after_its_max_frames(tmp_path, caplog):
    """Images 50-59 and 61, ``max_frames`` 60: frames 50-59 are analysed (60 has no image) and nothing
    after frame 60 is read: frame 61 is neither decoded nor warned about."""
    folder = write_frames(tmp_path / "over", [*range(50, 60), 61])
    (folder / "000061.jpg").write_bytes(b"not a jpeg")
    with caplog.at_level(logging.INFO, logger="discmot"):
        summary = analyze(folder, "cstrack", CSTRACK_TINY, tmp_path / "out", progress=False, max_frames=60)
    assert summary["frames"] == 10
    assert not [r for r in caplog.records if "frame 61" in r.getMessage()]
