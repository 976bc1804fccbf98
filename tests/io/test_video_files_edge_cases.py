"""Edge cases of the file sources and the writer of `discmot.io.video`: which kind `open_source` picks
(URLs), the frame numbers and counts `frame_numbers` / `frames_yielded` know without decoding (their
boundaries), image folders and globs (`ImageFiles`, `image_numbers`, `read_image`) and `VideoWriter`.

Expected values come from the docstrings of `discmot.io.video.kinds`, `.images` and `.writer` and from
hand calculations written beside them.
"""

from __future__ import annotations

import logging
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from discmot.io.video import (
    IMAGE_EXTENSIONS,
    FirstFrames,
    FrameSource,
    ImageFiles,
    SequenceFrames,
    VideoFile,
    VideoWriter,
    frame_numbers,
    frames_yielded,
    image_numbers,
    open_source,
    read_image,
)
from helpers import write_image_sequence


def _images(folder: Path, names: list[str], size=(32, 24)) -> Path:
    """Grey images named ``names`` in ``folder`` (``size`` = (width, height)), brightness 20, 40, ..."""
    folder.mkdir(parents=True, exist_ok=True)
    for k, name in enumerate(names):
        cv2.imwrite(str(folder / name), np.full((size[1], size[0], 3), 20 + 20 * k, np.uint8))
    return folder


# --------------------------------------------------------------------------------------------------
# kinds: open_source, frame_numbers, frames_yielded


def test_a_url_is_opened_as_a_video_stream(tmp_path):
    """``open_source`` docstring: a source is "a video path or URL"; text with ``://`` that is no file,
    folder or glob is a `VideoFile` (here FFmpeg's ``file://`` protocol, which needs no network)."""
    path = tmp_path / "clip.mp4"
    with VideoWriter(path, 10, (32, 24)) as writer:
        for k in range(3):
            writer.write(np.full((24, 32, 3), 40 * k, np.uint8))
    source = open_source(f"file://{path}")
    assert isinstance(source, VideoFile)
    assert source.name == "clip" and [k for k, _ in source] == [1, 2, 3]


def test_frames_yielded_of_a_source_of_unknown_length_is_the_count_asked_for():
    """``frames_yielded``: ``None`` where the length is unknown *without* ``count``; with a count, at most
    ``count`` frames are yielded, and the count is all that is known."""
    camera = FrameSource("0", "camera 0")  # num_frames None, as a webcam's
    assert frames_yielded(camera) is None
    assert frames_yielded(camera, 5) == 5


def test_first_frames_keep_the_image_of_their_last_frame_number(tmp_path):
    """``frame_numbers`` of `FirstFrames` are the source's numbers "up to its last frame", inclusive:
    images 1..4 cut at frame 3 are frames 1, 2, 3 (and 3 frames yielded)."""
    source = ImageFiles.from_folder(_images(tmp_path / "f", [f"{k:06d}.jpg" for k in range(1, 5)]))
    first = FirstFrames(source, 3)
    assert frame_numbers(first) == [1, 2, 3]
    assert frames_yielded(first) == 3
    assert [k for k, _ in first] == [1, 2, 3]


def test_a_sequences_frame_numbers_include_image_1_and_the_image_of_its_seqlength(tmp_path):
    """``frame_numbers`` of a sequence folder: its numbered images in ``1..seqLength``, both ends
    included (frames 1..seqLength are read)."""
    source = SequenceFrames(write_image_sequence(tmp_path / "seq", 3, [f"{k:06d}.jpg" for k in (1, 2, 3)]))
    assert frame_numbers(source) == [1, 2, 3]
    assert frames_yielded(source) == 3


# --------------------------------------------------------------------------------------------------
# images: read_image, image_numbers, ImageFiles


def test_an_empty_image_file_is_said_to_be_empty(tmp_path):
    """``read_image`` says why an image is unreadable: a 0-byte file is an empty file, not an undecodable
    one (``cv2.imdecode`` of no bytes would raise)."""
    (tmp_path / "000001.jpg").write_bytes(b"")
    assert read_image(tmp_path / "000001.jpg") == (None, "is an empty file (0 bytes)")


def test_a_jpeg_start_without_any_scan_is_unreadable_not_truncated(tmp_path):
    """``read_image``: a JPEG "without an end-of-image marker after its last scan" is truncated; bytes
    with a JPEG start marker but no scan (``FF DA``) and no end marker (``FF D9``) have no last scan, so
    they are just not a readable image."""
    (tmp_path / "a.jpg").write_bytes(b"\xff\xd8" + b"junk" * 10)
    assert read_image(tmp_path / "a.jpg") == (None, "is not a readable image")


def test_the_largest_frame_number_is_ten_million_and_one_more_is_a_timestamp():
    """``_LARGEST_FRAME_NUMBER``: image numbers *beyond* 10,000,000 are no frame numbers; 10,000,000
    itself is one. One such number among small ones (its maximum) turns the whole folder positional."""
    folder = Path("frames")
    assert image_numbers([folder / "10000000.jpg"], "x") == [10_000_000]
    assert image_numbers([folder / "10000001.jpg"], "x") is None
    assert image_numbers([folder / "000001.jpg", folder / "10000001.jpg"], "x") is None


def test_numbered_images_in_two_folders_of_a_recursive_glob_are_numbered_by_position(tmp_path):
    """``image_numbers``: images in more than one folder (a recursive glob: ``a/000001.jpg`` and
    ``b/000001.jpg`` are not one frame) number by position, in name order. ``**`` reaches any depth
    (``b/c/``): 3 images, frames 1..3."""
    _images(tmp_path / "a", ["000001.jpg", "000002.jpg"])
    _images(tmp_path / "b" / "c", ["000001.jpg"])
    paths = [tmp_path / "a" / "000001.jpg", tmp_path / "a" / "000002.jpg"]
    paths.append(tmp_path / "b" / "c" / "000001.jpg")
    assert image_numbers(paths, "x") is None
    source = open_source(str(tmp_path / "**" / "*.jpg"))
    assert source.paths == paths
    assert [k for k, _ in source] == [1, 2, 3]


def test_names_with_no_number_at_all_are_not_said_to_be_unnumbered(tmp_path, caplog):
    """``image_numbers`` says at INFO why the numbers are not used only when *some* names are numbers (a
    stray ``cover.jpg``); a folder where none is says nothing."""
    folder = _images(tmp_path / "shots", ["a.jpg", "b.jpg"])
    with caplog.at_level(logging.INFO, logger="discmot.io.video"):
        assert image_numbers([folder / "a.jpg", folder / "b.jpg"], str(folder)) is None
    assert not [r for r in caplog.records if "not named by a number" in r.getMessage()]


def test_a_glob_is_named_after_its_folder_or_frames_without_one(tmp_path, monkeypatch):
    """``from_glob``: the source's name (that of its results file) is the pattern's folder, ``frames``
    for a pattern with no folder."""
    _images(tmp_path / "shots", ["1.jpg", "2.jpg"])
    assert ImageFiles.from_glob(str(tmp_path / "shots" / "*.jpg")).name == "shots"
    monkeypatch.chdir(tmp_path / "shots")
    assert ImageFiles.from_glob("*.jpg").name == "frames"


def test_a_folder_of_other_files_lists_the_image_suffixes_read(tmp_path):
    """``_what_else``: with neither videos nor HEIC photos in it, the error of a folder with no images
    lists the suffixes read as images (`IMAGE_EXTENSIONS`), not a count of HEIC images."""
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "notes.txt").write_text("no image")
    with pytest.raises(ValueError) as error:
        open_source(folder)
    assert str(error.value) == (
        f"{folder}: cannot open video (a folder with no images: {', '.join(IMAGE_EXTENSIONS)})"
    )
    assert "HEIC" not in str(error.value)


def test_a_folder_whose_img1_holds_images_among_other_files_is_read_as_it(tmp_path):
    """``holds_images``: whether a folder holds *an* image file; an ``img1/`` with a ``Thumbs.db`` beside
    its images is still the image folder of a sequence without ``seqinfo.ini``."""
    _images(tmp_path / "seq" / "img1", ["000001.jpg", "000002.jpg"])
    (tmp_path / "seq" / "img1" / "Thumbs.db").write_bytes(b"\x00" * 16)
    source = open_source(tmp_path / "seq")
    assert isinstance(source, ImageFiles) and source.name == "seq"
    assert [k for k, _ in source] == [1, 2]


@pytest.mark.parametrize(
    ("names", "shown"),
    [
        (["c.mp4", "a.mov", "b.mkv"], "3 video(s), a.mov, b.mkv, c.mp4: track"),
        (["d.avi", "c.mp4", "a.mov", "b.mkv"], "4 video(s), a.mov, b.mkv, c.mp4, ...: track"),
    ],
    ids=["three-all-shown", "four-three-shown"],
)
def test_a_folder_of_videos_names_at_most_three_of_them(tmp_path, names, shown):
    """``_what_else``: a folder holding videos instead of images names the first 3 in natural order, and
    ``, ...`` only when there are more than 3 (the suffix alone makes a video here)."""
    folder = tmp_path / "phone"
    folder.mkdir()
    for name in names:
        (folder / name).write_bytes(b"\x00" * 8)
    with pytest.raises(ValueError) as error:
        open_source(folder)
    assert str(error.value) == (
        f"{folder}: cannot open video (a folder with no images: it holds {shown} each file)"
    )


# --------------------------------------------------------------------------------------------------
# writer: VideoWriter


def _write(path: Path, frames: list[np.ndarray], fps=10, size=None, **kwargs) -> VideoWriter:
    size = size or (frames[0].shape[1], frames[0].shape[0])
    with VideoWriter(path, fps, size, **kwargs) as writer:
        for frame in frames:
            writer.write(frame)
    return writer


def _no_h264(monkeypatch) -> None:
    monkeypatch.setattr("discmot.io.video.writer.find_h264_encoder", lambda: None)


@pytest.mark.parametrize("size", [(0, 48), (64, 0), (-2, 48)])
def test_a_video_without_pixels_is_refused(tmp_path, size):
    """``VideoWriter``: a size with a side under 1 pixel is a ValueError naming the file; nothing is
    written."""
    with pytest.raises(ValueError, match=r"cannot write a video of size"):
        VideoWriter(tmp_path / "v.mp4", 10, size)
    assert list(tmp_path.iterdir()) == []


def test_a_one_pixel_video_is_padded_to_two_by_two_at_30_fps(tmp_path):
    """1 x 1 is the smallest size written (sides of at least 1); odd sides are padded to even ones, so it
    reads back 2 x 2. ``fps=None`` is 30 fps (``VideoWriter``'s docstring)."""
    writer = _write(tmp_path / "dot.mp4", [np.full((1, 1, 3), 200, np.uint8)] * 2, fps=None)
    assert writer.backend.startswith("pyav-")
    source = open_source(tmp_path / "dot.mp4")
    assert (source.size, source.fps, len(list(source))) == ((2, 2), 30.0, 2)


@pytest.mark.parametrize(("size", "width", "height"), [((63, 48), 64, 48), ((64, 45), 64, 46)])
def test_an_odd_side_is_padded_with_black_not_stretched(tmp_path, size, width, height):
    """docs/tracking.md (``--save-video``): an odd width or height is padded "with one black column or
    row", each on its own (63 x 48 -> 64 x 48, 64 x 45 -> 64 x 46), on the right or at the bottom. A white
    frame reads back white in each of its rows and columns, with a black last column or row (H.264 keeps
    it near 0 and the picture near 255)."""
    writer = _write(tmp_path / "odd.mp4", [np.full((size[1], size[0], 3), 255, np.uint8)])
    assert writer.backend.startswith("pyav-")  # H.264 takes the padded size: no fallback to mp4v
    source = open_source(tmp_path / "odd.mp4")
    ((_, frame),) = list(source)
    assert frame.shape[:2] == (height, width)
    picture = frame[: size[1], : size[0]]  # every row and column of it, the first ones too
    assert picture.mean(axis=(1, 2)).min() > 200 and picture.mean(axis=(0, 2)).min() > 200
    padding = frame[:, size[0] :] if width > size[0] else frame[size[1] :, :]
    assert padding.mean() < 30


@pytest.mark.parametrize(("size", "even"), [((65, 49), (66, 50)), ((63, 48), (64, 48)), ((64, 45), (64, 46))])
def test_the_mp4v_fallback_resizes_and_pads_every_frame(tmp_path, monkeypatch, size, even):
    """``VideoWriter``: "Frames of another size are resized to ``size``; odd sizes are padded with black
    to even ones" - with OpenCV's writer too, which drops a frame of another size than its own without
    a word: a white frame and a smaller one both read back, white with a black last column or row."""
    _no_h264(monkeypatch)
    frames = [np.full((size[1], size[0], 3), 255, np.uint8), np.full((20, 30, 3), 255, np.uint8)]
    writer = _write(tmp_path / "v.mp4", frames, size=size)
    assert writer.backend == "opencv-mp4v" and writer.frames_written == 2
    source = open_source(tmp_path / "v.mp4")
    read = list(source)
    assert source.size == even and [k for k, _ in read] == [1, 2]
    for _, frame in read:
        assert frame[: size[1], : size[0]].mean() > 200
        if even[0] > size[0]:
            assert frame[:, size[0] :].mean() < 30
        if even[1] > size[1]:
            assert frame[size[1] :, :].mean() < 30


def test_no_h264_encoder_is_one_warning_not_a_failed_encoder_named_none(tmp_path, monkeypatch, caplog):
    """Without an H.264 encoder no PyAV encoder is tried: the one warning says OpenCV's mp4v is used."""
    _no_h264(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="discmot.io.video"):
        _write(tmp_path / "v.mp4", [np.zeros((24, 32, 3), np.uint8)])
    assert [r.getMessage() for r in caplog.records] == [
        f"{tmp_path / 'v.mp4'}: no usable H.264 encoder in PyAV; writing MPEG-4 part 2 (mp4v) with OpenCV"
    ]


def test_an_mp4v_writer_that_cannot_open_is_an_error_and_leaves_nothing(tmp_path, monkeypatch):
    """``_OpenCVEncoder``: an OpenCV writer that fails to open (here: a suffix naming no container) is a
    ValueError at once, not a video silently left empty; the temporary file is removed."""
    _no_h264(monkeypatch)
    with pytest.raises(ValueError, match=r"OpenCV mp4v writer failed to open"):
        with VideoWriter(tmp_path / "v.nocontainer", 10, (32, 24)):
            pass
    assert list(tmp_path.iterdir()) == []


def test_writing_outside_the_with_block_is_an_error(tmp_path):
    """``VideoWriter.write`` before ``__enter__``: a RuntimeError saying so, nothing written."""
    writer = VideoWriter(tmp_path / "v.mp4", 10, (32, 24))
    with pytest.raises(RuntimeError, match=r"outside its `with` block"):
        writer.write(np.zeros((24, 32, 3), np.uint8))
    assert writer.frames_written == 0 and list(tmp_path.iterdir()) == []


def test_the_first_frame_is_at_time_zero(tmp_path):
    """Frame ``k`` (from 0) is at ``k / fps`` seconds: the video starts at 0, with no leading gap."""
    _write(tmp_path / "v.mp4", [np.zeros((24, 32, 3), np.uint8)] * 3, fps=10)
    with av.open(str(tmp_path / "v.mp4")) as container:
        times = [frame.time for frame in container.decode(video=0)]
    assert times == pytest.approx([0.0, 0.1, 0.2])


@pytest.mark.parametrize(("crf", "option"), [({}, b"crf=23.0"), ({"crf": 30}, b"crf=30.0")])
def test_libx264_encodes_at_the_crf_asked_for_23_by_default(tmp_path, crf, option):
    """``crf``: "H.264 quality (lower is better, 23 is FFmpeg's default)". libx264 writes the options it
    encoded with into the stream (its SEI message), where the crf can be read."""
    writer = _write(tmp_path / "v.mp4", [np.zeros((24, 32, 3), np.uint8)], **crf)
    if writer.backend != "pyav-libx264":
        pytest.skip(f"libx264 not in this FFmpeg ({writer.backend})")
    assert option in (tmp_path / "v.mp4").read_bytes()


def test_an_mp4v_writer_that_cannot_open_names_the_video_asked_for(tmp_path, monkeypatch):
    """``VideoWriter`` names the user's ``path`` in its errors, not the temporary file beside it (its
    docstring, for an OSError; the package's one-line errors name the file given): a writer that cannot
    open says ``<path>: cannot write video (...)``. It named the temporary file, removed at once."""
    _no_h264(monkeypatch)
    path = tmp_path / "v.nocontainer"
    with pytest.raises(ValueError) as error:
        with VideoWriter(path, 10, (32, 24)):
            pass
    assert str(error.value).startswith(f"{path}: cannot write video")
