"""Edge cases of the video file and camera sources of `discmot.io.video`: how `VideoFile` numbers frames
around undecodable packets (`_FrameNumbering`), how a display matrix turns frames upright
(`_matrix_orientation`, `_as_displayed`), the one-line errors of files that do not open (`_cannot_open`),
the camera source (`Webcam`, with a fake capture: no real device is opened) and the frame source base
(`FrameSource`, `FirstFrames`, `first_yielded`).

Expected values come from the modules' docstrings, docs/tracking.md (frame numbers of damaged videos,
``--max-frames``, webcams) and hand calculations written beside them.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import wave
from fractions import Fraction
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from discmot.io.video import VideoFile
from discmot.io.video import webcam as webcam_module
from discmot.io.video.source import FirstFrames, FrameSource, check_max_frames, first_frames, first_yielded
from discmot.io.video.video_file import (
    _as_displayed,
    _cannot_open,
    _FrameNumbering,
    _matrix_orientation,
    _orientation,
)
from discmot.io.video.webcam import _OPENCV_LOG_LEVEL_ERROR, Webcam, _open_camera_quietly
from helpers import write_mjpeg

VIDEO_LOG = "discmot.io.video"


# --------------------------------------------------------------------------------------------------
# _FrameNumbering: frame numbers in presentation order across undecodable packets


def _numbering(rate=25, time_base=Fraction(1, 12800), start_time=0):
    """A `_FrameNumbering` of a fake stream (25 fps, MP4's 1/12800 s ticks: 512 ticks a frame) and the
    list its skips are recorded in, as ``(number, reason)``."""
    stream = SimpleNamespace(average_rate=rate, guessed_rate=None, time_base=time_base, start_time=start_time)
    skips = []
    numbering = _FrameNumbering(
        stream, "clip.mp4", lambda number, path, reason: skips.append((number, reason))
    )
    return numbering, skips


def test_frames_without_a_loss_are_counted_plainly_whatever_their_timestamps():
    """Docstring: "Without a loss the count is plain (variable-rate videos keep 1, 2, 3, ...)"."""
    numbering, skips = _numbering()
    assert [numbering.next(pts) for pts in (0, 512, 5 * 512, 6 * 512)] == [1, 2, 3, 4]
    numbering.finish()
    assert skips == [] and numbering.last == 4


def test_a_lost_frame_is_numbered_by_the_next_frames_timestamp():
    """Frames at 0 and 1 frame-durations, one lost, then a frame 3 durations after the first: it is
    frame 1 + 3 = 4 (distance round(1024 * 25/12800) = 2 from frame 2), and frame 3 is skipped."""
    numbering, skips = _numbering()
    assert numbering.next(0) == 1 and numbering.next(512) == 2
    numbering.lost("bad packet")
    assert numbering.next(3 * 512) == 4
    assert skips == [(3, "cannot be decoded (bad packet)")]
    assert numbering.next(4 * 512) == 5  # the loss is used up: plain counting again
    numbering.finish()
    assert skips == [(3, "cannot be decoded (bad packet)")] and numbering.last == 5


def test_a_lost_frame_shown_later_leaves_its_gap_where_it_was_shown():
    """Docstring: with B-frames a lost frame may be shown after frames decoded later; the next frame 1
    duration on keeps step 1 (the loss pending), the one 2 durations on jumps over the lost frame."""
    numbering, skips = _numbering()
    assert numbering.next(0) == 1
    numbering.lost("B-frame")
    assert numbering.next(512) == 2 and skips == []
    assert numbering.next(3 * 512) == 4 and skips == [(3, "cannot be decoded (B-frame)")]
    assert numbering.pending == 0


def test_a_jump_is_at_most_the_count_of_lost_frames_further():
    """Docstring: "(at most the lost frames' count further)": 1 lost frame, the next frame 9 durations
    later (a variable-rate gap) is frame 1 + 2, not 1 + 9."""
    numbering, skips = _numbering()
    numbering.next(0)
    numbering.lost("x")
    assert numbering.next(9 * 512) == 3 and [n for n, _ in skips] == [2]


def test_several_lost_frames_are_skipped_by_their_timestamps():
    numbering, skips = _numbering()
    numbering.next(0)
    numbering.lost("x", 3)
    assert numbering.next(3 * 512) == 4 and [n for n, _ in skips] == [2, 3]  # 2 of 3 placed
    assert numbering.pending == 1
    assert numbering.next(4 * 512) == 5  # distance 1: no jump
    numbering.finish()  # the third lost frame comes after the last decoded one
    assert [n for n, _ in skips] == [2, 3, 6] and numbering.last == 6 and numbering.pending == 0


def test_a_lost_first_frame_is_frame_1_skipped():
    """Before any frame the distance counts from the stream's start: the frame at pts 512 (1 duration
    after start 0) is frame 2 when a frame was lost before it; frame 1 is skipped."""
    numbering, skips = _numbering()
    numbering.lost("first")
    assert numbering.next(512) == 2 and skips == [(1, "cannot be decoded (first)")]


def test_a_lost_frame_at_the_start_time_keeps_the_first_decoded_frame_at_1_when_shown_first():
    """Start time 1000 ticks: the first decoded frame at pts 1000 is shown first (distance 0 + 1), so it
    is frame 1 and the loss stays pending, to be placed by later timestamps or at the end."""
    numbering, skips = _numbering(start_time=1000)
    numbering.lost("late")
    assert numbering.next(1000) == 1 and skips == []
    numbering.finish()
    assert skips == [(2, "cannot be decoded (late)")] and numbering.last == 2


def test_without_a_frame_rate_or_timestamp_a_loss_does_not_move_the_numbers():
    for numbering, skips in (_numbering(rate=0), _numbering(time_base=None)):
        numbering.next(0)
        numbering.lost("x")
        assert numbering.next(3 * 512) == 2 and skips == []
    numbering, skips = _numbering()
    numbering.next(0)
    numbering.lost("x")
    assert numbering.next(None) == 2 and skips == []  # a frame without a timestamp


def test_losses_after_the_last_frame_are_skipped_at_the_end():
    """``finish``: "Losses after the last decoded frame" (a truncated file: 3 frames missing)."""
    numbering, skips = _numbering()
    numbering.next(0)
    numbering.next(512)
    numbering.lost("missing from the file", 3)
    numbering.finish()
    assert skips == [(k, "cannot be decoded (missing from the file)") for k in (3, 4, 5)]
    assert numbering.last == 5 and numbering.pending == 0


# --------------------------------------------------------------------------------------------------
# _matrix_orientation / _as_displayed: the display matrix


def _matrix(a: float, b: float, c: float, d: float) -> bytes:
    """FFmpeg's display matrix: 9 native int32, the 2x2 part ``m[0], m[1], m[3], m[4]`` in 16.16."""
    one = 1 << 16
    return np.array(
        [round(a * one), round(b * one), 0, round(c * one), round(d * one), 0, 0, 0, 1 << 30], np.int32
    ).tobytes()


@pytest.mark.parametrize(
    ("abcd", "orientation"),
    [
        ((1, 0, 0, 1), (False, False, False)),
        ((-1, 0, 0, 1), (False, False, True)),  # x' = -x: columns flipped
        ((1, 0, 0, -1), (False, True, False)),  # y' = -y: rows flipped
        ((-1, 0, 0, -1), (False, True, True)),  # 180 degrees
        ((0, -1, 1, 0), (True, True, False)),  # b < 0 < c: counter-clockwise
        ((0, 1, -1, 0), (True, False, True)),  # clockwise
        ((0, 1, 1, 0), (True, False, False)),  # x' = y, y' = x: a transpose
        ((0, -1, -1, 0), (True, True, True)),
        ((2, 0, 0, 2), (False, False, False)),  # a scale keeps the axes
        ((0.5, 0, 0, -0.5), (False, True, False)),  # the signs count, not the sizes
        ((-0.5, 0, 0, 0.5), (False, False, True)),
        ((0, 0.5, 0.5, 0), (True, False, False)),
        ((0, -2, 2, 0), (True, True, False)),
    ],
)
def test_the_display_matrix_gives_transpose_and_flips_as_its_docstring_says(abcd, orientation):
    """`_matrix_orientation` docstring: ``b = c = 0`` keeps the axes (flipped where ``a`` or ``d`` is
    negative); ``a = d = 0`` swaps them, then ``b < 0`` flips the rows and ``c < 0`` the columns."""
    assert _matrix_orientation(_matrix(*abcd), "clip.mp4") == orientation


def test_the_rounding_tolerance_is_relative_to_the_matrix_scale():
    """The tolerance is 1e-3 of the largest entry: in a matrix scaled by 1000, an off-axis 0.5 (5e-4 of
    it) is rounding, so the columns are flipped (a = -1000) rather than the frame read unturned."""
    assert _matrix_orientation(_matrix(-1000, 0.5, 0, 1000), "clip.mp4") == (False, False, True)


def test_only_the_display_matrix_side_data_turns_a_frame():
    """`_orientation`: other side data of a frame (here 36 bytes that would read as a quarter turn) are
    not a display matrix; a frame with none is upright."""

    class SideData:
        def __init__(self, name, data):
            self.type, self.data = SimpleNamespace(name=name), data

        def __bytes__(self):
            return self.data

    quarter = _matrix(0, -1, 1, 0)
    other = SimpleNamespace(side_data=[SideData("SEI_UNREGISTERED", quarter)])
    assert _orientation(other, "clip.mp4") == (False, False, False)
    assert _orientation(SimpleNamespace(side_data=[]), "clip.mp4") == (False, False, False)
    both = SimpleNamespace(
        side_data=[SideData("SEI_UNREGISTERED", _matrix(-1, 0, 0, 1)), SideData("DISPLAYMATRIX", quarter)]
    )
    assert _orientation(both, "clip.mp4") == (True, True, False)


def test_a_tiny_off_axis_part_is_rounding_not_a_tilt():
    """Entries below 1e-3 of the largest are taken as zero (16.16 rounding of cos/sin of 90 degrees)."""
    assert _matrix_orientation(_matrix(0.0001, -1, 1, -0.0001), "clip.mp4") == (True, True, False)
    assert _matrix_orientation(_matrix(-1, 0.0001, 0, 1), "clip.mp4") == (False, False, True)


@pytest.mark.parametrize("abcd", [(0.7071, -0.7071, 0.7071, 0.7071), (1, 0, 0, 0), (0, 1, 0, 0)])
def test_a_matrix_that_is_no_quarter_turn_is_read_unturned_with_a_warning(abcd, caplog):
    """A 45 degree tilt, or a degenerate matrix (a zero row), turns nothing and is warned about."""
    path = f"odd-{abcd}.mp4"  # the warning is said once per path and angle
    with caplog.at_level(logging.WARNING, logger=VIDEO_LOG):
        assert _matrix_orientation(_matrix(*abcd), path) == (False, False, False)
    assert any(path in r.getMessage() and "not a multiple of 90" in r.getMessage() for r in caplog.records)


def test_the_tilt_warning_names_the_angle_in_degrees(caplog):
    """``round(degrees(atan2(-b, a)))``: b = -sin 30, a = cos 30 is a 30 degree turn."""
    s, c = np.sin(np.pi / 6), np.cos(np.pi / 6)
    with caplog.at_level(logging.WARNING, logger=VIDEO_LOG):
        _matrix_orientation(_matrix(c, -s, s, c), "tilt30.mp4")
    assert [r.getMessage() for r in caplog.records] == [
        "tilt30.mp4: display rotation of 30 degrees is not a multiple of 90; frames are read unturned"
    ]


def _image(height=2, width=3) -> np.ndarray:
    """An ``(H, W, 3)`` image whose every pixel differs: value 10 * row + column in all channels."""
    values = 10 * np.arange(height)[:, None] + np.arange(width)[None, :]
    return np.repeat(values[:, :, None], 3, axis=2).astype(np.uint8)


@pytest.mark.parametrize(
    ("orientation", "turn"),
    [
        ((False, False, False), lambda m: m),
        ((True, False, False), lambda m: m.transpose(1, 0, 2)),
        ((True, True, False), lambda m: m.transpose(1, 0, 2)[::-1]),  # counter-clockwise
        ((True, False, True), lambda m: m.transpose(1, 0, 2)[:, ::-1]),  # clockwise
        ((True, True, True), lambda m: m.transpose(1, 0, 2)[::-1, ::-1]),
        ((False, True, False), lambda m: m[::-1]),
        ((False, False, True), lambda m: m[:, ::-1]),
        ((False, True, True), lambda m: m[::-1, ::-1]),
    ],
)
def test_a_frame_is_transposed_then_flipped_as_its_orientation_says(orientation, turn):
    """`Orientation` is ``(transpose, flip rows, flip columns)``, applied in that order; a turn by 90
    degrees gives a ``(W, H, 3)`` frame (`_as_displayed` docstring)."""
    image = _image()
    assert np.array_equal(_as_displayed(image, orientation), turn(image))


def test_a_counter_clockwise_matrix_turns_a_frame_as_numpy_rot90():
    """The two halves together: b < 0 < c (counter-clockwise, docstring) is ``np.rot90`` (which turns
    counter-clockwise) of the stored frame."""
    image = _image()
    turned = _as_displayed(image, _matrix_orientation(_matrix(0, -1, 1, 0), "clip.mp4"))
    assert np.array_equal(turned, np.rot90(image))


# --------------------------------------------------------------------------------------------------
# _cannot_open: one-line errors


def test_a_stream_url_that_does_not_open_keeps_ffmpegs_reason():
    """``"://"`` in the path: a stream URL has no file to be empty nor a suffix to judge, so the reason
    is FFmpeg's, not "not a video or image (no file suffix)"."""
    assert _cannot_open("rtsp://camera.local/live", ValueError("Connection refused")) == (
        "rtsp://camera.local/live: cannot open video (Connection refused)"
    )


def test_an_os_error_keeps_its_reason_whatever_the_suffix(tmp_path):
    error = PermissionError(13, "Permission denied")
    path = str(tmp_path / "notes.txt")
    assert _cannot_open(path, error) == f"{path}: cannot open video (Permission denied)"


def test_a_video_suffix_that_does_not_open_gives_ffmpegs_reason(tmp_path):
    """A suffix of `_VIDEO_SUFFIXES` (here upper case, compared lower case) with a non-empty file."""
    path = tmp_path / "CLIP.MKV"
    path.write_bytes(b"junk")
    assert _cannot_open(str(path), ValueError("boom")) == f"{path}: cannot open video (boom)"
    other = tmp_path / "clip.heif"
    other.write_bytes(b"junk")
    assert _cannot_open(str(other), ValueError("boom")).endswith(
        "HEIC images are not read (convert it to JPEG or PNG)"
    )


# --------------------------------------------------------------------------------------------------
# Webcam (a fake capture: no real device is opened)


class FakeCapture:
    """A `cv2.VideoCapture` stand-in: ``frames`` then ``read()`` fails; properties from ``props``."""

    def __init__(self, frames=(), opened=True, props=None):
        self.frames, self.opened, self.props = list(frames), opened, props or {}
        self.released = 0

    def isOpened(self):  # noqa: N802 - OpenCV's name
        return self.opened

    def get(self, prop):
        return self.props.get(prop, 0.0)

    def read(self):
        return (True, self.frames.pop(0)) if self.frames else (False, None)

    def release(self):
        self.released += 1


def _fake_camera(monkeypatch, capture: FakeCapture) -> list:
    """``cv2.VideoCapture(index)`` returns ``capture``; the indices asked for are recorded."""
    asked = []

    def video_capture(index):
        asked.append(index)
        return capture

    monkeypatch.setattr(cv2, "VideoCapture", video_capture)
    return asked


def test_a_webcam_has_the_cameras_fps_and_size_and_no_frame_count(monkeypatch):
    """`FrameSource`: ``num_frames`` is None for a webcam; fps and size come from the capture."""
    props = {cv2.CAP_PROP_FPS: 30.0, cv2.CAP_PROP_FRAME_WIDTH: 640.0, cv2.CAP_PROP_FRAME_HEIGHT: 480.0}
    asked = _fake_camera(monkeypatch, FakeCapture(props=props))
    camera = Webcam(2)
    assert asked == [2]
    assert (camera.name, camera.location, camera.fps, camera.size, camera.num_frames) == (
        "camera2",
        "camera 2",
        30.0,
        (640, 480),
        None,
    )


@pytest.mark.parametrize("fps", [0.0, -1.0])
def test_a_webcam_that_reports_no_fps_has_an_unknown_fps(monkeypatch, fps):
    """OpenCV reports 0 (or -1) for an unknown rate: ``fps`` is None ("None if unknown")."""
    _fake_camera(monkeypatch, FakeCapture(props={cv2.CAP_PROP_FPS: fps}))
    assert Webcam(0).fps is None


def test_a_webcam_with_a_small_fps_keeps_it(monkeypatch):
    _fake_camera(monkeypatch, FakeCapture(props={cv2.CAP_PROP_FPS: 0.5}))
    assert Webcam(0).fps == 0.5


def test_a_webcam_that_does_not_open_is_a_one_line_error(monkeypatch):
    capture = FakeCapture(opened=False)
    _fake_camera(monkeypatch, capture)
    with pytest.raises(ValueError) as error:
        Webcam(5)
    assert str(error.value) == "camera 5: cannot open video (no such camera, or it is busy)"


def test_a_webcam_yields_frames_1_2_3_until_it_stops_and_releases_the_camera(monkeypatch):
    """ "A camera by index, read with OpenCV until it stops delivering frames", numbered from 1."""
    images = [np.full((4, 6, 3), 10 * k, np.uint8) for k in range(3)]
    capture = FakeCapture(frames=images)
    _fake_camera(monkeypatch, capture)
    frames = list(itertools.islice(Webcam(0), 10))  # at most 10: a camera that never stops is a failure
    assert [k for k, _ in frames] == [1, 2, 3]
    assert all(f is image for (_, f), image in zip(frames, images, strict=True))
    assert capture.released == 1


def test_a_webcam_pass_cut_short_releases_the_camera(monkeypatch):
    """Ctrl-C or ``--max-frames`` on a camera: closing the pass releases the capture."""
    capture = FakeCapture(frames=[np.zeros((4, 6, 3), np.uint8)] * 5)
    _fake_camera(monkeypatch, capture)
    frames = iter(Webcam(0))
    assert next(frames)[0] == 1 and next(frames)[0] == 2 and capture.released == 0
    frames.close()
    assert capture.released == 1


def test_opening_a_camera_quiets_opencv_only_while_it_opens():
    """`_open_camera_quietly`: OpenCV's log level is ERROR (2) during ``VideoCapture`` and put back."""
    calls = []
    level = {"now": 4}

    def video_capture(index):
        calls.append(("open", index, level["now"]))
        return "capture"

    logging_ = SimpleNamespace(
        getLogLevel=lambda: level["now"], setLogLevel=lambda value: level.__setitem__("now", value)
    )
    fake_cv2 = SimpleNamespace(VideoCapture=video_capture, utils=SimpleNamespace(logging=logging_))
    assert _open_camera_quietly(fake_cv2, 7) == "capture"
    assert calls == [("open", 7, _OPENCV_LOG_LEVEL_ERROR)] and _OPENCV_LOG_LEVEL_ERROR == 2
    assert level["now"] == 4


def test_the_log_level_functions_of_opencv_4_5_or_neither():
    get4, set4 = object(), object()
    get5, set5 = object(), object()
    cv4 = SimpleNamespace(getLogLevel=get4, setLogLevel=set4)
    cv5 = SimpleNamespace(utils=SimpleNamespace(logging=SimpleNamespace(getLogLevel=get5, setLogLevel=set5)))
    assert webcam_module._opencv_log_level_functions(cv4) == (get4, set4)
    assert webcam_module._opencv_log_level_functions(cv5) == (get5, set5)
    only_get = SimpleNamespace(getLogLevel=get4)
    get, set_ = webcam_module._opencv_log_level_functions(only_get)
    assert get() is None and set_(3) is None


# --------------------------------------------------------------------------------------------------
# VideoFile: files that open


def test_an_audio_file_is_a_file_with_no_video_stream(tmp_path):
    """A WAV opens in FFmpeg but has no video stream: one line saying so, not a crash."""
    path = tmp_path / "sound.wav"
    with wave.open(str(path), "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(8000)
        sound.writeframes(bytes(1600))
    with pytest.raises(ValueError) as error:
        VideoFile(path)
    assert str(error.value) == f"{path}: cannot open video (it has no video stream)"


def _mjpeg(path, streams: int, frames: int = 2):
    """An MKV of ``streams`` MJPEG video streams of ``frames`` grey 32x24 frames each."""
    return write_mjpeg(path, [np.full((24, 32, 3), 60 * k, np.uint8) for k in range(frames)], streams)


def test_a_video_of_several_streams_says_which_it_reads_and_one_stream_says_nothing(tmp_path, caplog):
    """`_video_stream`: with more than one video stream the stream read is named (INFO); with one there
    is nothing to say."""
    two = _mjpeg(tmp_path / "two.mkv", 2)
    one = _mjpeg(tmp_path / "one.mkv", 1)
    with caplog.at_level(logging.INFO, logger=VIDEO_LOG):
        chosen = VideoFile(two).stream_index
        assert [r.getMessage() for r in caplog.records] == [
            f"{two}: 2 video streams; reading stream {chosen}"
        ]
        caplog.clear()
        source = VideoFile(one)
    assert caplog.records == [] and source.num_frames in (2, None) and [k for k, _ in source] == [1, 2]


def test_an_empty_video_file_is_said_to_be_empty(tmp_path):
    """`_cannot_open`: "an empty file" is named as such (docs/tracking.md: ``clip.mp4: empty file (0
    bytes)``), also when a `VideoFile` is opened directly."""
    path = tmp_path / "clip.mp4"
    path.touch()
    with pytest.raises(ValueError) as error:
        VideoFile(path)
    assert str(error.value) == f"{path}: empty file (0 bytes)"


def _stored_frame() -> np.ndarray:
    """48x64 grey frame: the left 16 columns 200, the top 8 rows (right of them) 100, the rest 0."""
    image = np.zeros((48, 64, 3), np.uint8)
    image[:8] = 100
    image[:, :16] = 200
    return image


def _damaged_mjpeg(path, count: int, damaged=(), rotation=None):
    """``count`` MJPEG frames (`_stored_frame`) with a display rotation; the JPEGs of the frames at the
    0-based indices ``damaged`` are zeroed from their start to their end marker (they cannot decode)."""
    write_mjpeg(path, [_stored_frame()] * count, rotation=rotation)
    data = bytearray(path.read_bytes())
    starts = [i for i in range(len(data) - 1) if data[i : i + 2] == b"\xff\xd8"]
    assert len(starts) == count
    for index in damaged:
        end = data.index(b"\xff\xd9", starts[index]) + 2
        data[starts[index] : end] = bytes(end - starts[index])
    path.write_bytes(bytes(data))
    return path


def test_a_video_whose_frames_all_fail_to_decode_opens_and_skips_every_frame(tmp_path):
    """No frame decodes: the size is the stream's (64x48), nothing is yielded and frames 1-3 are skipped
    (docs/tracking.md: a frame that cannot be decoded is skipped; the others keep their numbers)."""
    path = _damaged_mjpeg(tmp_path / "broken.avi", 3, damaged=(0, 1, 2))
    source = VideoFile(path)
    assert (source.size, source.num_frames) == ((64, 48), 3)
    assert list(source) == [] and source.skipped == [1, 2, 3]


def test_a_rotated_video_whose_first_frame_is_damaged_has_the_displayed_size(tmp_path):
    """The first frame that decodes (not only the first packet) tells the display rotation: frame 1 is
    damaged, frames 2-3 are shown turned by 90 degrees counter-clockwise, and the size is (48, 64)."""
    path = _damaged_mjpeg(tmp_path / "phone.mov", 3, damaged=(0,), rotation=90)
    source = VideoFile(path)
    assert source.size == (48, 64)
    frames = list(source)
    assert [k for k, _ in frames] == [2, 3] and source.skipped == [1]
    expected = np.rot90(_stored_frame())  # 64x48: the left columns become the bottom rows
    for _, frame in frames:
        assert frame.shape == (64, 48, 3) and np.abs(frame.astype(int) - expected).mean() < 6


def test_a_stream_without_an_average_rate_numbers_by_its_guessed_rate():
    """``average_rate or guessed_rate``: a stream that knows only a guessed rate (25 fps) still places a
    lost frame by its timestamps."""
    skips = []
    stream = SimpleNamespace(average_rate=None, guessed_rate=25, time_base=Fraction(1, 12800), start_time=0)
    numbering = _FrameNumbering(stream, "clip.mp4", lambda number, path, reason: skips.append(number))
    numbering.next(0)
    numbering.lost("x")
    assert numbering.next(2 * 512) == 3 and skips == [2]


# --------------------------------------------------------------------------------------------------
# FrameSource, FirstFrames, first_yielded (source.py), with a stub source


class StubSource(FrameSource):
    """Frames ``1..last`` of which ``missing`` have no image file (skipped in a summed-up pass, or one
    line each with ``passes=False``); ``read`` records the numbers reached (how far a pass read)."""

    def __init__(self, last, missing=(), num_frames=None, first_number=1, passes=True):
        super().__init__("stub", "seq", fps=25.0, size=(6, 4), num_frames=num_frames)
        self.last, self.missing, self.passes, self.read = last, set(missing), passes, []
        self.first_number = first_number

    def __iter__(self):
        with self._skips_summed_up() if self.passes else contextlib.nullcontext():
            for number in range(self.first_number, self.last + 1):
                self.read.append(number)
                if number in self.missing:
                    self._skip(number, "seq", "has no image file")
                else:
                    yield number, np.full((4, 6, 3), number, np.uint8)


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == VIDEO_LOG and r.levelno == logging.WARNING]


def test_two_skipped_frames_are_the_first_at_once_and_a_summary_at_the_end(caplog):
    """`_skips_summed_up`: the first skipped frame is said when it happens, all of them in one line at
    the end (docs/tracking.md: ``seq: 735 frames skipped in all: frames 61-795 have no image file``)."""
    source = StubSource(5, missing=(2, 4))
    with caplog.at_level(logging.WARNING, logger=VIDEO_LOG):
        assert [k for k, _ in source] == [1, 3, 5]
    assert _warnings(caplog) == [
        "seq: frame 2 has no image file; skipped",
        "seq: 2 frames skipped in all: frames 2, 4 have no image file",
    ]
    assert source.skipped == [2, 4]


def test_one_skipped_frame_is_one_line_and_no_summary(caplog):
    source = StubSource(3, missing=(3,))
    with caplog.at_level(logging.WARNING, logger=VIDEO_LOG):
        list(source)
    assert _warnings(caplog) == ["seq: frame 3 has no image file; skipped"] and source.skipped == [3]


def test_skips_outside_a_pass_are_a_line_each(caplog):
    """`_skip` docstring: "when no pass is open (a subclass that opens none: a line per frame)"."""
    source = StubSource(4, missing=(1, 2, 4), passes=False)
    with caplog.at_level(logging.WARNING, logger=VIDEO_LOG):
        list(source)
    assert _warnings(caplog) == [f"seq: frame {k} has no image file; skipped" for k in (1, 2, 4)]


def test_a_second_pass_records_and_says_nothing_twice(caplog):
    """``skipped``: "each once"; `_say`: a warning once per source."""
    source = StubSource(4, missing=(2, 3))
    with caplog.at_level(logging.WARNING, logger=VIDEO_LOG):
        list(source)
        list(source)
    assert source.skipped == [2, 3] and len(_warnings(caplog)) == 2


def test_a_pass_inside_a_pass_gives_the_outer_pass_back():
    """Passes nest: after an inner pass the outer one is open again (its skips are summed up there)."""
    source = StubSource(1)
    with source._skips_summed_up():
        outer = source._pass
        with source._skips_summed_up():
            assert source._pass == [] and source._pass is not outer
        assert source._pass is outer
    assert source._pass is None


@pytest.mark.parametrize("value", [1, 2, np.int64(3), None])
def test_max_frames_of_a_whole_number_from_1_is_accepted(value):
    assert check_max_frames(value) is None


@pytest.mark.parametrize("value", [0, -1, True, False, 1.0, "3", np.float64(2.0)])
def test_max_frames_that_is_no_whole_number_from_1_is_refused(value):
    """``max_frames`` "must be a whole number of at least 1" (a bool is no number of frames)."""
    with pytest.raises(ValueError, match=r"must be a whole number of at least 1"):
        check_max_frames(value)


def test_max_frames_at_the_first_image_number_keeps_that_frame():
    """Images named from 50 on: ``--max-frames 50`` is frame 50 (docs: an error only when the first image
    comes *after* frame N)."""
    first = FirstFrames(StubSource(60, first_number=50), 50)
    assert [k for k, _ in first] == [50] and first.first_number == 50
    with pytest.raises(ValueError, match=r"seq: --max-frames 49 ends before the first image, frame 50"):
        FirstFrames(StubSource(60, first_number=50), 49)


@pytest.mark.parametrize(("num_frames", "last", "expected"), [(None, 7, 7), (10, 7, 7), (5, 7, 5), (7, 7, 7)])
def test_first_frames_count_is_last_or_the_sources_smaller_count(num_frames, last, expected):
    """`FirstFrames`: "``num_frames`` is ``last``, or the source's count when that is smaller"."""
    first = FirstFrames(StubSource(20, num_frames=num_frames), last)
    assert first.num_frames == expected
    assert (first.name, first.location, first.fps, first.size) == ("stub", "seq", 25.0, (6, 4))


def test_first_frames_stop_reading_at_frame_last():
    """ "It stops reading at frame ``last``, so the rest of a video is never decoded"."""
    source = StubSource(10)
    assert [k for k, _ in FirstFrames(source, 3)] == [1, 2, 3] and source.read == [1, 2, 3]


def test_a_skipped_frame_last_stops_at_the_next_frame_without_yielding_it(caplog):
    """Frame ``last`` = 3 has no image: frame 4 is read to know, not yielded; only 3 is skipped."""
    source = StubSource(10, missing=(3,))
    first = FirstFrames(source, 3)
    with caplog.at_level(logging.WARNING, logger=VIDEO_LOG):
        assert [k for k, _ in first] == [1, 2]
    assert source.read == [1, 2, 3, 4] and first.skipped == [3] and first.skipped is source.skipped


def test_first_frames_of_none_is_the_source_itself():
    source = StubSource(3)
    assert first_frames(source, None) is source
    assert isinstance(first_frames(source, 2), FirstFrames)


def test_first_yielded_takes_a_count_and_sums_up_the_pass_when_taken(caplog):
    """`first_yielded`: the first ``count`` frames whatever their numbers; nothing after them is read
    and the pass's skipped frames are summed up when the last is taken."""
    source = StubSource(20, missing=(2, 3, 9))
    with caplog.at_level(logging.WARNING, logger=VIDEO_LOG):
        taken = first_yielded(source, 3)
        assert [k for k, _ in taken] == [1, 4, 5]
        assert _warnings(caplog) == [
            "seq: frame 2 has no image file; skipped",
            "seq: 2 frames skipped in all: frames 2-3 have no image file",
        ]
    assert source.read == [1, 2, 3, 4, 5]


def test_a_frame_source_says_what_it_is():
    source = StubSource(3, num_frames=3)
    assert repr(source) == "StubSource('seq', fps=25.0, size=(6, 4), num_frames=3)"
    assert source.frame_path(1) is None and source.has_images
    assert FrameSource("clip", "clip.mp4").first_number == 1  # "1 unless images are named ... later"


def test_a_damaged_last_frame_keeps_ffmpegs_reason_not_missing_from_the_file(tmp_path, caplog):
    """Every packet of the file is there (the last one only damaged): the end of the file is no
    truncation, so the last frame is skipped as undecodable with FFmpeg's reason, not as "missing from
    the file"."""
    path = _damaged_mjpeg(tmp_path / "clip.avi", 3, damaged=(2,))
    source = VideoFile(path)
    with caplog.at_level(logging.WARNING, logger=VIDEO_LOG):
        assert [k for k, _ in source] == [1, 2]
    assert source.skipped == [3]
    (message,) = _warnings(caplog)
    assert (
        message.startswith(f"{path}: frame 3 cannot be decoded (") and "missing from the file" not in message
    )


def test_first_yielded_of_a_source_iterating_a_plain_iterator():
    """A source whose ``__iter__`` returns a plain iterator (no ``close``) is taken from too."""

    class ListSource(FrameSource):
        def __iter__(self):
            return iter([(7, None), (8, None), (9, None)])

    assert [k for k, _ in first_yielded(ListSource("list", "list"), 2)] == [7, 8]


def test_first_yielded_ends_the_pass_when_the_last_frame_is_taken_even_if_the_source_holds_it(caplog):
    """`first_yielded` closes the pass itself ("its skipped frames summed up when the last is taken"),
    not when the garbage collector gets to it: here the source keeps a reference to its generator."""

    class Holding(StubSource):
        def __iter__(self):
            self.current = super().__iter__()
            return self.current

    source = Holding(10, missing=(2, 3))
    with caplog.at_level(logging.WARNING, logger=VIDEO_LOG):
        assert [k for k, _ in first_yielded(source, 2)] == [1, 4]
        assert _warnings(caplog)[-1] == "seq: 2 frames skipped in all: frames 2-3 have no image file"
