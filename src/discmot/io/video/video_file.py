"""A video file or stream URL as frames (`VideoFile`), decoded with PyAV: its frames turned as players show
them (display rotation), numbered in presentation order across undecodable packets, and the one-line
errors for files that do not open."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from discmot.io.video.source import Frame, FrameSource

log = logging.getLogger("discmot.io.video")  # the package's name, as before the split: users filter on it


class VideoFile(FrameSource):
    """A video file or stream URL, decoded with PyAV one packet at a time.

    Frames are yielded as players show them: a display rotation or mirroring in the file (the display
    matrix phones write for a portrait video) is applied to each frame, and ``size`` is the displayed
    ``(width, height)``, so a portrait phone video is tracked upright. The first frame is decoded here
    to learn it (FFmpeg hands the matrix over with the frames).
    """

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        container = _open_container(self.path)
        with container:
            stream = _video_stream(container, self.path)
            self.stream_index = stream.index
            rate = stream.average_rate or stream.guessed_rate
            width, height = stream.codec_context.width, stream.codec_context.height
            first = _first_frame(container, stream)
            if first is not None:
                width, height = first.width, first.height
                if _orientation(first, self.path)[0]:  # turned by 90 degrees: width and height swap
                    width, height = height, width
            super().__init__(
                name=Path(self.path).stem,
                location=self.path,
                fps=float(rate) if rate else None,
                size=(width, height),
                num_frames=stream.frames or None,
            )

    def __iter__(self) -> Iterator[Frame]:
        import av

        with self._skips_summed_up(), _open_container(self.path) as container:
            stream = container.streams[self.stream_index]
            numbering = _FrameNumbering(stream, self.path, self._skip)
            packets = container.demux(stream)
            data_packets = 0
            while True:
                try:
                    packet = next(packets)
                except StopIteration:
                    break
                except av.FFmpegError as error:
                    log.warning(
                        "%s: read error after frame %d (%s); stopping", self.path, numbering.last, error
                    )
                    break
                data_packets += bool(packet.size)
                if not packet.size and stream.frames and data_packets < stream.frames:
                    # the end of a truncated file: frames its index lists are not in it; the frames still
                    # in the decoder take their places from their timestamps
                    numbering.lost("missing from the file", stream.frames - data_packets)
                try:
                    frames = packet.decode()
                except av.FFmpegError as error:
                    if packet.size:  # a data packet holds one frame; the final flush packet holds none
                        numbering.lost(str(error))
                    continue
                for frame in frames:
                    image = _as_displayed(frame.to_ndarray(format="bgr24"), _orientation(frame, self.path))
                    yield numbering.next(frame.pts), image
            numbering.finish()


#: ``(transpose, flip rows, flip columns)`` turning a decoded frame into the displayed one.
Orientation = tuple[bool, bool, bool]
_UPRIGHT: Orientation = (False, False, False)


def _first_frame(container, stream, max_packets: int = 64):
    """The first frame that decodes (within ``max_packets`` packets), or ``None``."""
    import av

    try:
        for count, packet in enumerate(container.demux(stream)):
            with contextlib.suppress(av.FFmpegError):
                frames = packet.decode()
                if frames:
                    return frames[0]
            if count >= max_packets:
                return None
    except av.FFmpegError:
        return None
    return None


def _orientation(frame, path: str) -> Orientation:
    """How to turn a decoded PyAV frame upright, from its display matrix (`_UPRIGHT` without one)."""
    for side_data in frame.side_data:
        if side_data.type.name == "DISPLAYMATRIX":
            return _matrix_orientation(bytes(side_data), path)
    return _UPRIGHT


def _matrix_orientation(matrix: bytes, path: str) -> Orientation:
    """The orientation of FFmpeg's 3x3 display matrix (9 native int32, 16.16 fixed point in its 2x2 part).

    The matrix maps a stored pixel ``(x, y)`` to the displayed ``(a x + c y, b x + d y)`` (plus an
    offset) with ``a, b, c, d = m[0], m[1], m[3], m[4]``. ``b = c = 0`` keeps the axes (flipped where
    ``a`` or ``d`` is negative); ``a = d = 0`` swaps them (a turn by 90 degrees, counter-clockwise for
    ``b < 0 < c``), then ``y' = b x`` flips the rows and ``x' = c y`` the columns where negative. This is
    what FFmpeg's command line does (``autorotate``); OpenCV applies the rotation but not a mirroring.
    """
    a, b, _, c, d = np.frombuffer(matrix, np.int32, count=5).astype(np.float64) / 65536.0
    tolerance = 1e-3 * max(abs(a), abs(b), abs(c), abs(d), 1e-9)
    if abs(b) <= tolerance and abs(c) <= tolerance and a and d:
        return (False, d < 0, a < 0)
    if abs(a) <= tolerance and abs(d) <= tolerance and b and c:
        return (True, b < 0, c < 0)
    _warn_odd_rotation(path, round(float(np.degrees(np.arctan2(-b, a)))))
    return _UPRIGHT


@functools.cache
def _warn_odd_rotation(path: str, degrees: int) -> None:
    log.warning(
        "%s: display rotation of %d degrees is not a multiple of 90; frames are read unturned", path, degrees
    )


def _as_displayed(image: np.ndarray, orientation: Orientation) -> np.ndarray:
    """``(H, W, 3)`` decoded frame -> the displayed frame (``(W, H, 3)`` when turned by 90 degrees).

    OpenCV's copies rather than numpy's strided views: a 4K frame turns in about 20 ms instead of 65."""
    import cv2

    if orientation == _UPRIGHT:
        return image
    transpose, flip_rows, flip_columns = orientation
    turns = {
        (True, True, False): cv2.ROTATE_90_COUNTERCLOCKWISE,
        (True, False, True): cv2.ROTATE_90_CLOCKWISE,
        (False, True, True): cv2.ROTATE_180,
    }
    if orientation in turns:
        return cv2.rotate(image, turns[orientation])
    if transpose:
        image = cv2.transpose(image)
    if flip_rows or flip_columns:  # cv2.flip codes: 0 flips the rows (upside down), 1 the columns
        image = cv2.flip(image, -1 if flip_rows and flip_columns else 0 if flip_rows else 1)
    return image


class _FrameNumbering:
    """Frame numbers of a video's decoded frames, in presentation order: 1, 2, 3, ...

    A packet that fails to decode is one frame lost, but packets come in decode order: with B-frames the
    lost frame may be shown before frames decoded earlier. So a loss is not numbered when it happens; the
    next frames take their numbers from their timestamps' distance to the last frame (at most the lost
    frames' count further), which puts the gap where the lost frame was shown. Without a loss the count
    is plain (variable-rate videos keep 1, 2, 3, ...).
    """

    def __init__(self, stream, path: str, skip):
        rate = stream.average_rate or stream.guessed_rate
        self.frames_per_tick = float(stream.time_base * rate) if rate and stream.time_base else None
        self.path, self.skip = path, skip
        self.last, self.last_pts, self.pending, self.reason = 0, stream.start_time, 0, ""

    def lost(self, reason: str, count: int = 1) -> None:
        self.pending += count
        self.reason = reason

    def next(self, pts: int | None) -> int:
        step = 1
        if self.pending and pts is not None and self.last_pts is not None and self.frames_per_tick:
            distance = round((pts - self.last_pts) * self.frames_per_tick)
            step = max(1, min(self.pending + 1, distance + (1 if self.last == 0 else 0)))
        for number in range(self.last + 1, self.last + step):
            self.skip(number, self.path, f"cannot be decoded ({self.reason})")
        self.pending -= step - 1
        self.last += step
        self.last_pts = pts
        return self.last

    def finish(self) -> None:
        """Losses after the last decoded frame."""
        for number in range(self.last + 1, self.last + self.pending + 1):
            self.skip(number, self.path, f"cannot be decoded ({self.reason})")
        self.last += self.pending
        self.pending = 0


def _open_container(path: str):
    import av

    try:
        container = av.open(path, "r")
    except (av.FFmpegError, OSError, ValueError) as error:
        raise ValueError(_cannot_open(path, error)) from None
    if container.format.name == "tty":  # FFmpeg renders a .txt (.nfo, .asc, ...) as a picture of its text
        container.close()
        raise ValueError(_not_a_video(path))
    if not container.streams.video:
        container.close()
        raise ValueError(f"{path}: cannot open video (it has no video stream)")
    return container


#: Suffixes of the videos FFmpeg reads; another file it cannot open is said to be no video at all.
_VIDEO_SUFFIXES = (
    *".mp4 .m4v .mov .mkv .webm .avi .gif .mts .m2ts .ts .mpg .mpeg .m2v .wmv .asf .flv .f4v .3gp".split(),
    *".3g2 .ogv .ogg .mxf .vob .dv .y4m .h264 .264 .h265 .hevc .265 .ivf .mjpeg .mjpg .nut .rm".split(),
    *".rmvb .apng .avif".split(),
)


def _cannot_open(path: str, error: Exception) -> str:
    """Why FFmpeg cannot open ``path``, in a user's words: an empty file, a file of another kind (its
    suffix is no video's), or FFmpeg's reason for a damaged video."""
    import av

    reason = getattr(error, "strerror", None) or str(error)
    if isinstance(error, OSError) or "://" in path:  # no such file, permission denied: the reason says it
        return f"{path}: cannot open video ({reason})"
    with contextlib.suppress(OSError):
        if os.path.getsize(path) == 0:
            return f"{path}: empty file (0 bytes)"
    suffix = Path(path).suffix.lower()
    if suffix in (".heic", ".heif"):  # phone photos: an image format that is not read
        return f"{path}: HEIC images are not read (convert it to JPEG or PNG)"
    if suffix not in _VIDEO_SUFFIXES:
        return _not_a_video(path)
    if isinstance(error, av.error.InvalidDataError):
        reason += ": damaged, cut short, or not a video"
    return f"{path}: cannot open video ({reason})"


def _not_a_video(path: str) -> str:
    suffix = Path(path).suffix.lower()
    return f"{path}: not a video or image ({f'suffix {suffix}' if suffix else 'no file suffix'})"


def _video_stream(container, path: str):
    """The video stream FFmpeg's tools would pick (`av_find_best_stream`): not a cover picture, the
    default one, the one with most frames seen while probing; the first video stream if none stands out.
    An MKV whose first video stream is its cover image would otherwise be read as a 1-frame video."""
    streams = container.streams.video
    best = container.streams.best("video") or streams[0]
    if len(streams) > 1:
        log.info("%s: %d video streams; reading stream %d", path, len(streams), best.index)
    return best
