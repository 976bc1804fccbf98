"""Contracts of frame sources and the video writer (`discmot.io.video`).

Sources yield ``(1-based frame number, BGR frame)`` one at a time; an undecodable frame is skipped with one
warning naming the source and the frame, and the frames after it keep their numbers; a source that cannot
be opened is a ``ValueError`` saying so. The writer produces H.264 MP4 through PyAV, falls back to OpenCV
``mp4v`` with a warning, and leaves no file behind when its block fails.
"""

from __future__ import annotations

import errno
import logging
import shutil
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from discmot.data.synth import generate_dataset
from discmot.io import video
from discmot.io.video import (
    FirstFrames,
    ImageFiles,
    SequenceFrames,
    VideoFile,
    VideoWriter,
    natural_key,
    open_source,
    read_image,
)
from discmot.io.video.webcam import _opencv_log_level_functions
from helpers import os_error_past_a_file_size_limit, shared_file, write_mjpeg


def gray_frames(count: int, size=(64, 48)) -> list[np.ndarray]:
    """Frames whose brightness encodes their index (survives lossy coding to +-8)."""
    return [np.full((size[1], size[0], 3), 20 + 20 * k, np.uint8) for k in range(count)]


def write_video(path: Path, frames: list[np.ndarray], fps: float = 10) -> VideoWriter:
    size = (frames[0].shape[1], frames[0].shape[0])
    with VideoWriter(path, fps, size) as writer:
        for frame in frames:
            writer.write(frame)
    return writer


def codec_of(path: Path) -> str:
    with av.open(str(path)) as container:
        return container.streams.video[0].codec_context.name


def write_images(folder: Path, names: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for k, name in enumerate(names):
        cv2.imwrite(str(folder / name), np.full((24, 32, 3), 20 + 20 * k, np.uint8))


# --------------------------------------------------------------------------------------------------
# Writer


def test_writer_writes_h264_that_reads_back(tmp_path):
    path = tmp_path / "out" / "clip.mp4"
    writer = write_video(path, gray_frames(12))
    assert writer.backend.startswith("pyav-") and writer.frames_written == 12
    assert codec_of(path) == "h264"
    source = open_source(path)
    assert isinstance(source, VideoFile)
    assert (source.num_frames, source.size, source.fps, source.name) == (12, (64, 48), 10.0, "clip")
    frames = list(source)
    assert [k for k, _ in frames] == list(range(1, 13))
    levels = [int(frame.mean()) for _, frame in frames]
    assert np.allclose(levels, [20 + 20 * k for k in range(12)], atol=8)
    assert sorted(p.name for p in path.parent.iterdir()) == ["clip.mp4"]  # no temporary file left


def test_writer_pads_odd_sizes_and_resizes_other_frames(tmp_path):
    path = tmp_path / "odd.mp4"
    with VideoWriter(path, 25, (65, 49)) as writer:
        writer.write(np.zeros((49, 65, 3), np.uint8))
        writer.write(np.zeros((20, 30, 3), np.uint8))  # another size: resized
    source = open_source(path)
    assert source.size == (66, 50) and source.fps == 25.0
    assert len(list(source)) == 2


def test_writer_falls_back_to_opencv_mp4v_with_a_warning(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr("discmot.io.video.writer.find_h264_encoder", lambda: None)
    path = tmp_path / "fallback.mp4"
    with caplog.at_level(logging.WARNING, logger="discmot.io.video"):
        writer = write_video(path, gray_frames(6))
    assert writer.backend == "opencv-mp4v"
    assert any("no usable H.264 encoder" in r.getMessage() for r in caplog.records)
    assert codec_of(path) == "mpeg4"
    assert len(list(open_source(path))) == 6


def test_writer_removes_its_temporary_file_on_error(tmp_path):
    path = tmp_path / "broken.mp4"
    with pytest.raises(RuntimeError, match="boom"):
        with VideoWriter(path, 10, (32, 32)) as writer:
            writer.write(np.zeros((32, 32, 3), np.uint8))
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("frames", "limit"), [(200, 20_000), (1, 2_000)], ids=["in-a-write", "at-the-close"])
def test_a_full_disk_names_the_video_asked_for_and_leaves_nothing(tmp_path, frames, limit):
    """A disk that fills up (here: a file size limit, failing the write as a full disk does) while frames
    are written, or when the encoder's last packets and the index are, names ``--save-video``'s file."""
    code = f"""
        import numpy as np
        from discmot.io.video import VideoWriter
        noise = np.random.default_rng(0).integers(0, 256, ({frames}, 48, 64, 3), dtype=np.uint8)
        with VideoWriter(sys.argv[1], 30, (64, 48)) as writer:
            assert writer.backend.startswith("pyav-"), writer.backend  # OpenCV reports no write error
            for frame in noise:
                writer.write(frame)
    """
    raised = os_error_past_a_file_size_limit(code, limit, tmp_path / "v.mp4", cwd=tmp_path)
    assert raised == (str(tmp_path / "v.mp4"), errno.EFBIG)
    assert list(tmp_path.iterdir()) == []


def test_find_h264_encoder_finds_one():
    assert video.find_h264_encoder() in video.H264_ENCODERS


# --------------------------------------------------------------------------------------------------
# Image folders and globs


def test_image_folder_is_read_in_natural_order(tmp_path):
    write_images(tmp_path / "frames", ["f1.png", "f2.png", "f10.png"])  # written brightness 20, 40, 60
    source = open_source(tmp_path / "frames", fps=12.5)
    assert isinstance(source, ImageFiles)
    assert (source.name, source.size, source.num_frames, source.fps) == ("frames", (32, 24), 3, 12.5)
    frames = list(source)
    assert [k for k, _ in frames] == [1, 2, 3]
    assert [int(f[0, 0, 0]) for _, f in frames] == [20, 40, 60]


def test_glob_source(tmp_path):
    write_images(tmp_path / "frames", ["a_2.jpg", "a_1.jpg", "b_1.jpg"])
    (tmp_path / "frames" / "notes.txt").write_text("not an image")
    source = open_source(str(tmp_path / "frames" / "a_*.jpg"))
    assert isinstance(source, ImageFiles) and source.fps is None
    assert [p.name for p in source.paths] == ["a_1.jpg", "a_2.jpg"]
    assert [k for k, _ in source] == [1, 2]


def test_corrupt_images_mid_stream_are_skipped_with_a_warning(tmp_path, caplog):
    folder = tmp_path / "frames"
    write_images(folder, [f"{k:06d}.jpg" for k in range(1, 6)])
    noise = np.random.default_rng(0).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    data = cv2.imencode(".jpg", noise)[1].tobytes()
    (folder / "000003.jpg").write_bytes(data[: len(data) * 3 // 4])  # truncated in the middle of the scan
    (folder / "000004.jpg").write_bytes(b"this is not a jpeg" * 10)  # garbage
    source = open_source(folder)
    with caplog.at_level(logging.WARNING, logger="discmot.io.video"):
        numbers = [k for k, _ in source]
    assert numbers == [1, 2, 5]
    assert source.skipped == [3, 4]
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2  # the first when it happens, then every one summed up at the end
    assert messages[0] == f"{folder / '000003.jpg'}: frame 3 is a truncated JPEG; skipped"
    assert messages[1] == (
        f"{folder}: 2 frames skipped in all: frame 3 is a truncated JPEG (000003.jpg); "
        "frame 4 is not a readable image (000004.jpg)"
    )


def test_read_image_accepts_complete_jpeg_and_png(tmp_path):
    write_images(tmp_path, ["a.jpg", "b.png"])
    for name in ("a.jpg", "b.png"):
        image, reason = read_image(tmp_path / name)
        assert image is not None and image.shape == (24, 32, 3) and reason == ""


def test_natural_key():
    names = ["img10.jpg", "img2.jpg", "IMG1.jpg", "img2b.jpg"]
    assert sorted(names, key=natural_key) == ["IMG1.jpg", "img2.jpg", "img2b.jpg", "img10.jpg"]


# --------------------------------------------------------------------------------------------------
# Bad input


def test_corrupt_video_packet_is_skipped_and_numbering_stays_aligned(tmp_path, caplog):
    """An MJPEG AVI whose 5th frame is zeroed: frame 5 is skipped, frames 6-10 keep their numbers."""
    path = tmp_path / "clip.avi"
    write_mjpeg(path, gray_frames(10))
    data = bytearray(path.read_bytes())
    starts = [i for i in range(len(data) - 1) if data[i : i + 2] == b"\xff\xd8"]
    data[starts[4] : starts[5] - 8] = bytes(starts[5] - 8 - starts[4])
    path.write_bytes(bytes(data))
    source = open_source(path)
    with caplog.at_level(logging.WARNING, logger="discmot.io.video"):
        frames = list(source)
    assert [k for k, _ in frames] == [1, 2, 3, 4, 6, 7, 8, 9, 10]
    levels = [f.mean() for k, f in frames if k > 5]
    assert np.allclose(levels, [20 + 20 * (k - 1) for k in range(6, 11)], atol=8)
    assert source.skipped == [5]
    assert [r.getMessage() for r in caplog.records][0].startswith(f"{path}: frame 5 cannot be decoded")


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda d: d / "missing.mp4", "cannot open video (no such file or folder)"),
        (lambda d: (d / "junk.mp4").write_bytes(b"\x00junk" * 100) and d / "junk.mp4", "cannot open video"),
        (lambda d: (d / "empty").mkdir() or d / "empty", "cannot open video (a folder with no images"),
        (lambda d: str(d / "*.png"), "the pattern matches no image file"),
        (
            lambda d: (d / "bad.jpg").write_bytes(b"junk") and d / "bad.jpg",
            "none of its 1 images is readable",
        ),
    ],
)
def test_unreadable_sources_raise_a_clear_error(tmp_path, make, words):
    source = make(tmp_path)
    with pytest.raises(ValueError, match="cannot open video") as error:
        open_source(source)
    assert str(error.value).startswith(str(source)) and words in str(error.value)


def test_missing_webcam_raises_a_clear_error(capfd):
    # OpenCV 4 and 5 name their log level functions differently: whichever is installed is used
    get_level = _opencv_log_level_functions(cv2)[0]
    level = get_level()
    with pytest.raises(ValueError, match="camera 97: cannot open video"):
        open_source("97")
    assert "WARN" not in capfd.readouterr().err  # OpenCV's own lines are kept out of the way
    assert get_level() == level is not None  # and its log level is put back


# --------------------------------------------------------------------------------------------------
# Sequence folders


@pytest.fixture(scope="module")
def tiny_sequence(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tiny")
    return generate_dataset(root, "tiny", sequences=1)[0]


def test_sequence_frames_with_images(tiny_sequence):
    source = open_source(tiny_sequence)
    assert isinstance(source, SequenceFrames) and source.has_images
    assert (source.num_frames, source.fps, source.size, source.name) == (
        12,
        10.0,
        (128, 80),
        tiny_sequence.name,
    )
    frames = list(source)
    assert [k for k, _ in frames] == list(range(1, 13))
    assert frames[0][1].shape == (80, 128, 3)


def test_frame_path_is_the_image_file_of_a_frame_number(tiny_sequence, tmp_path):
    """For messages about one frame (its size): the file of frame k, None where there is no file."""
    sequence = open_source(tiny_sequence)
    images = sorted((tiny_sequence / "img1").iterdir())
    assert [sequence.frame_path(k) for k in (1, 12, 13)] == [images[0], images[11], None]
    write_images(tmp_path / "f", ["a2.png", "a10.png"])
    folder, a2, a10 = open_source(tmp_path / "f"), tmp_path / "f" / "a2.png", tmp_path / "f" / "a10.png"
    assert [folder.frame_path(k) for k in (0, 1, 2, 3)] == [None, a2, a10, None]
    assert FirstFrames(folder, 1).frame_path(2) == a10  # numbered as the source
    write_video(tmp_path / "v.mp4", gray_frames(2))
    assert open_source(tmp_path / "v.mp4").frame_path(1) is None


def test_sequence_frames_without_images_yield_none(tiny_sequence, tmp_path):
    shutil.copy(tiny_sequence / "seqinfo.ini", tmp_path / "seqinfo.ini")
    source = SequenceFrames(tmp_path)
    assert not source.has_images and source.size == (128, 80) and source.fps == 10.0
    assert list(source) == [(k, None) for k in range(1, 13)]


def test_sequence_frames_skip_a_missing_image(tiny_sequence, tmp_path, caplog):
    copy = shutil.copytree(tiny_sequence, tmp_path / "seq")
    next(p for p in (copy / "img1").iterdir() if p.stem.lstrip("0") == "7").unlink()
    source = SequenceFrames(copy)
    with caplog.at_level(logging.WARNING, logger="discmot.io.video"):
        numbers = [k for k, _ in source]
    assert numbers == [k for k in range(1, 13) if k != 7] and source.skipped == [7]
    assert "frame 7 has no image file; skipped" in caplog.records[0].getMessage()


def test_first_frames_stop_at_the_last_frame_number_and_keep_the_numbers(tiny_sequence, tmp_path):
    copy = shutil.copytree(tiny_sequence, tmp_path / "seq")
    next(p for p in (copy / "img1").iterdir() if p.stem.lstrip("0") == "5").unlink()
    first = FirstFrames(SequenceFrames(copy), 5)
    assert (first.num_frames, first.name, first.fps, first.size) == (5, copy.name, 10.0, (128, 80))
    assert [k for k, _ in first] == [1, 2, 3, 4]  # frame 5 has no image: the source skips it
    assert first.skipped == [5]
    assert [k for k, _ in FirstFrames(SequenceFrames(copy), 100)] == [k for k in range(1, 13) if k != 5]
    assert FirstFrames(SequenceFrames(copy), 100).num_frames == 12
    with pytest.raises(ValueError, match="at least 1"):
        FirstFrames(SequenceFrames(copy), 0)


def test_first_frames_of_a_video(tmp_path):
    path = tmp_path / "v.mp4"
    write_video(path, gray_frames(10))
    first = FirstFrames(VideoFile(path), 4)
    read = list(first)
    assert [k for k, _ in read] == [1, 2, 3, 4]
    assert [abs(int(image.mean()) - (20 + 20 * k)) <= 8 for k, (_, image) in enumerate(read)] == [True] * 4


def test_sequence_frames_ignore_images_not_named_by_a_number(tiny_sequence, tmp_path, caplog):
    """A stray image beside numbered frames (a thumbnail, a copy) is not a frame and shifts none of them;
    a folder with no numbered image at all is read in name order."""
    copy = shutil.copytree(tiny_sequence, tmp_path / "seq")
    first = sorted((copy / "img1").iterdir())[0]
    shutil.copy(first, copy / "img1" / "0_thumb.jpg")  # sorts before every frame
    with caplog.at_level(logging.WARNING, logger="discmot"):
        source = SequenceFrames(copy)
    assert "1 image(s) not named by a frame number ignored, e.g. 0_thumb.jpg" in caplog.text
    assert source.images[1] == first and len(source.images) == 12
    (copy / "img1" / "0_thumb.jpg").unlink()
    for number, path in enumerate(sorted((copy / "img1").iterdir()), 1):
        path.rename(path.with_name(f"frame_{number}.jpg"))
    renamed = SequenceFrames(copy).images
    assert [renamed[k].name for k in (1, 2, 10)] == ["frame_1.jpg", "frame_2.jpg", "frame_10.jpg"]


# --------------------------------------------------------------------------------------------------
# Real video


def test_vtest_avi_opens_with_795_frames():
    path = shared_file("assets/videos/vtest.avi")
    source = open_source(path)
    assert (source.num_frames, source.size, source.fps, source.name) == (795, (768, 576), 10.0, "vtest")
    first = []
    for frame_number, frame in source:
        first.append((frame_number, frame.shape, frame.dtype))
        if frame_number == 3:
            break
    assert first == [(k, (576, 768, 3), np.uint8) for k in (1, 2, 3)]


# --------------------------------------------------------------------------------------------------
# Damaged videos: frame k stays frame k


def numbered_clip(path: Path, count: int, faststart: bool = False) -> list[np.ndarray]:
    """An H.264 MP4 with B-frames (x264's defaults) whose frame k shows a bright bar at column 8k."""
    frames = []
    for k in range(count):
        image = np.full((64, 96, 3), 40, np.uint8)
        image[:, 3 * k : 3 * k + 3] = 250
        frames.append(image)
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        for image in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")))
        container.mux(stream.encode())
    return frames


def shown_frame(image: np.ndarray, frames: list[np.ndarray]) -> int:
    """The 1-based number of the clip frame ``image`` shows."""
    distances = [np.abs(image.astype(np.int16) - f).mean() for f in frames]
    return int(np.argmin(distances)) + 1


@pytest.fixture
def x264():
    try:
        av.codec.Codec("libx264", "w")
    except Exception:  # noqa: BLE001 - any missing-encoder error means the same
        pytest.skip("this PyAV has no libx264 encoder")


def test_a_frame_that_does_not_decode_keeps_the_others_numbers(tmp_path, x264, caplog):
    """Packets come in decode order: with B-frames the lost frame (here decode index 10) is shown
    before frames decoded earlier, so counting decoded frames shifted them by one (a helper's find)."""
    clip = tmp_path / "clip.mp4"
    frames = numbered_clip(clip, 30)
    with av.open(str(clip)) as container:
        packets = [(p.pts, p.pos) for p in container.demux(container.streams.video[0]) if p.size]
    assert packets != sorted(packets), "the clip must have B-frames"
    data = bytearray(clip.read_bytes())
    position = packets[10][1]
    data[position : position + 4] = b"\xff\xff\xff\xff"
    (tmp_path / "bad.mp4").write_bytes(bytes(data))
    source = open_source(tmp_path / "bad.mp4")
    with caplog.at_level(logging.WARNING, logger="discmot.io.video"):
        decoded = list(source)
    assert len(decoded) == 29 and len(source.skipped) == 1
    assert [shown_frame(image, frames) for _, image in decoded] == [k for k, _ in decoded]
    assert source.skipped[0] not in [k for k, _ in decoded]


def test_a_truncated_video_keeps_the_numbers_of_what_is_left(tmp_path, x264):
    """A download cut short: the index lists every frame, the data of the last ones is gone."""
    clip = tmp_path / "clip.mp4"
    frames = numbered_clip(clip, 8, faststart=True)
    data = clip.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: int(len(data) * 0.9)])
    source = open_source(tmp_path / "cut.mp4")
    decoded = list(source)
    assert decoded and [shown_frame(image, frames) for _, image in decoded] == [k for k, _ in decoded]
    assert sorted(source.skipped + [k for k, _ in decoded]) == list(range(1, 9))
