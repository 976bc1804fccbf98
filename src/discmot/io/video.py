"""Frames in, video out: stream frames from a video, an image folder, a glob, a webcam or a sequence folder,
and write annotated videos.

Reading. `open_source` turns what a user typed into a `FrameSource`, an iterable of
``(frame_number, frame_bgr)`` with 1-based frame numbers: frame ``k`` of a video is frame ``k`` of its
sequence. In an image folder or glob whose images are all named by a number (``000001.jpg``), frame ``k``
is the image named ``k``, as in a MOTChallenge sequence (images named from 0, as KITTI's and YOLO
exports', are frame number + 1), so a missing image is a skipped frame, not a shift of every later one;
the source starts at its first image (``000050.jpg``: frames 50, 51, ...), the frames before it are
none of its own, not missing ones. With any other name, or images in more than one folder (a glob such
as ``g/**/*.jpg``), the ``k``-th image in natural order (``img2`` before ``img10``) is frame ``k``.
A folder with no images of its own but an ``img1/`` image folder (a sequence without ``seqinfo.ini``)
is read as that image folder. Frames are decoded one at a time, never all at once. Which frame numbers
a source yields, and how many, where that is known without decoding (progress totals), is
`frame_numbers` and `frames_yielded`; `first_yielded` takes the first N frames a source yields (a count,
as ``discmot bench`` reads them), where `FirstFrames` takes frames ``1..N`` by number (``--max-frames``).

Video files are read with PyAV rather than ``cv2.VideoCapture``: PyAV reports a packet that fails to
decode as an exception, distinct from the end of the stream, while ``VideoCapture.read()`` returns
``False`` for both and so cannot skip a bad frame and go on. Webcams are read with OpenCV. Frames are
those players show: a video's display rotation (phones) is applied, as an image's EXIF orientation is,
so boxes and results are in the displayed picture's coordinates.

A frame that cannot be decoded mid-stream (a corrupt packet, a truncated or garbage image file) is
skipped, as is a frame number with no image: its number is not yielded and the following frames keep
their numbers (so detections and results stay aligned; the tracker simply gets no update for that
frame). The first skipped frame of a pass over a source is logged when it happens (one warning naming
the source or file and the frame number); when the pass ends, one more warning sums up every frame it
skipped as ranges of frame numbers (``frames 61-795 have no image file``), rather than a line per frame.
The numbers skipped so far are in `FrameSource.skipped`. A source that cannot be opened at all raises a
one-line ``ValueError`` naming it: ``"<source>: cannot open video (<why>)"``, ``"<file>: empty file (0
bytes)"`` or, for a file FFmpeg does not read with a suffix that is no video's, ``"<file>: not a video
or image (suffix .txt)"``.

Writing. `VideoWriter` writes H.264 MP4 (yuv420p) with PyAV's bundled FFmpeg, falling back to OpenCV's
``mp4v`` with a logged warning when no H.264 encoder is available. The file appears only when the writer
is closed without error (temporary file + rename).

OpenCV and PyAV are imported inside the functions that use them, so importing this module is cheap.
"""

from __future__ import annotations

import contextlib
import functools
import glob as globlib
import itertools
import logging
import os
import re
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np

from discmot.io.atomic import errors_naming, publish_file, temporary_beside
from discmot.io.mot import IMAGE_SUFFIXES, numbered_frames, read_seqinfo

log = logging.getLogger(__name__)

#: File extensions read as images (lower case).
IMAGE_EXTENSIONS = IMAGE_SUFFIXES  # the image formats read as frames (one list, in io.mot)
#: H.264 encoders tried in order by `VideoWriter`.
H264_ENCODERS = ("libx264", "libopenh264", "h264")
_GLOB_CHARACTERS = re.compile(r"[*?\[]")

Frame = tuple[int, "np.ndarray | None"]


class FrameSource:
    """Frames of one source, streamed.

    Iterating yields ``(frame_number, frame)``: 1-based frame numbers and ``(H, W, 3)`` uint8 BGR frames
    (``None`` only for a `SequenceFrames` without images).

    Attributes:
        name: a short name (video file stem, folder name), e.g. for a results file.
        location: what was opened (path, pattern or camera), used in messages.
        fps: frames per second, ``None`` if unknown.
        size: ``(width, height)`` in pixels, ``None`` if unknown.
        num_frames: the number of frames, ``None`` if unknown (webcam, some containers).
        has_images: ``False`` when the source yields ``None`` instead of images.
        skipped: frame numbers skipped so far (each once) because they could not be decoded or have no
            image.
        first_number: the first frame number known to have an image without decoding any (1 unless
            images are named by numbers that start later). An image folder or glob starts there: the
            numbers before it are not iterated nor skipped.
    """

    first_number = 1

    def __init__(self, name: str, location: str, fps=None, size=None, num_frames=None, has_images=True):
        self.name = name
        self.location = location
        self.fps = fps
        self.size = size
        self.num_frames = num_frames
        self.has_images = has_images
        self.skipped: list[int] = []
        self._skipped_set: set[int] = set()
        self._pass: list[tuple[int, str, str]] | None = None  # the skips of the pass under way
        self._said: set[str] = set()

    def __iter__(self) -> Iterator[Frame]:
        raise NotImplementedError

    def frames_up_to(self, last: int) -> Iterator[Frame]:
        """The frames, for `FirstFrames` to stop after frame ``last``. A source that knows its frame
        numbers without decoding (image files) stops at ``last`` itself, so the numbers after it are
        neither skipped nor warned about."""
        return iter(self)

    def frame_path(self, frame_number: int) -> Path | None:
        """The image file of frame ``frame_number`` (for messages), or ``None`` (a video, a camera)."""
        return None

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.location!r}, fps={self.fps}, size={self.size}, "
            f"num_frames={self.num_frames})"
        )

    def _skip(self, frame_number: int, where: str, reason: str) -> None:
        """Records a skipped frame; logs it when it is the first of the pass (`_skips_summed_up`), or when
        no pass is open (a subclass that opens none: a line per frame, as before passes were summed up)."""
        if frame_number not in self._skipped_set:
            self._skipped_set.add(frame_number)
            self.skipped.append(frame_number)
        if self._pass is not None:
            self._pass.append((frame_number, where, reason))
            if len(self._pass) > 1:
                return
        self._say(f"{where}: frame {frame_number} {reason}; skipped")

    @contextlib.contextmanager
    def _skips_summed_up(self):
        """Around one pass over the frames: the first skipped frame is logged when it happens (a user
        watching a long run sees at once that something is wrong), the others in one line when the pass
        ends, also when it is cut short (`FirstFrames`, Ctrl-C): 735 missing images are one warning."""
        outer, self._pass = self._pass, []
        try:
            yield
        finally:
            skips, self._pass = self._pass, outer
            if len(skips) > 1:
                self._say(skipped_summary(self.location, skips))

    def _say(self, message: str) -> None:
        """A warning, once per source: a split's sequences are iterated for their first frame before
        they are tracked, and that frame's warning is not said twice."""
        if message not in self._said:
            self._said.add(message)
            log.warning("%s", message)


#: Skip reasons said of several frames (the others start with "cannot", which fits both).
_PLURALS = {
    "has no image file": "have no image file",
    "is not a readable image": "are not readable images",
    "is a truncated JPEG": "are truncated JPEGs",
    "is an empty file (0 bytes)": "are empty files (0 bytes)",
}


def skipped_summary(location: str, skips: list[tuple[int, str, str]]) -> str:
    """One line for the ``(frame number, where, reason)`` skips of a pass (`skipped_clauses`).

    >>> skipped_summary("seq", [(61, "seq", "has no image file"), (62, "seq", "has no image file")])
    'seq: 2 frames skipped in all: frames 61-62 have no image file'
    """
    total = len({number for number, _, _ in skips})
    return f"{location}: {total} frames skipped in all: {skipped_clauses(location, skips)}"


def skipped_clauses(location: str, skips: list[tuple[int, str, str]]) -> str:
    """The ``(frame number, where, reason)`` skips of ``location`` as clauses, one per reason: the frames
    as ranges, and the first file named when the skips name files rather than the source itself. A
    caller writes its own lead-in (`skipped_summary`'s "skipped", ``discmot show``'s "drawn on grey").

    >>> skipped_clauses("seq", [(4, "seq", "has no image file"), (9, "seq/9.jpg", "is a truncated JPEG")])
    'frame 4 has no image file; frame 9 is a truncated JPEG (9.jpg)'
    """
    by_reason: dict[str, list[tuple[int, str]]] = {}
    for number, where, reason in skips:
        by_reason.setdefault(reason, []).append((number, where))
    clauses = []
    for reason, frames in by_reason.items():
        numbers = sorted({number for number, _ in frames})
        # the files by name where the source is their folder: the line names that folder already
        files = [Path(w).name if Path(w).parent == Path(location) else w for _, w in frames if w != location]
        named = f" ({files[0]}{', ...' if len(files) > 1 else ''})" if files else ""
        if len(numbers) == 1:
            clauses.append(f"frame {numbers[0]} {reason}{named}")
        else:
            plural = _PLURALS.get(reason) or re.sub(r"^is ", "are ", re.sub(r"^has ", "have ", reason))
            clauses.append(f"frames {frame_ranges(numbers)} {plural}{named}")
    return "; ".join(clauses)


def frame_ranges(numbers: list[int], shown: int = 8) -> str:
    """Sorted frame numbers as ranges: ``[3, 5, 6, 7]`` -> ``"3, 5-7"``; beyond ``shown`` runs, the first
    ones, ``...``, the last one and the count of runs (a line stays a line)."""
    runs: list[list[int]] = []
    for number in numbers:
        if runs and number == runs[-1][1] + 1:
            runs[-1][1] = number
        else:
            runs.append([number, number])
    text = [f"{a}" if a == b else f"{a}-{b}" for a, b in runs]
    if len(text) > shown:
        text = [*text[: shown - 2], "...", text[-1]]
        return ", ".join(text) + f" ({len(runs)} runs)"
    return ", ".join(text)


def open_source(source: str | os.PathLike | int, fps: float | None = None) -> FrameSource:
    """Opens a video file, an image folder, a glob pattern, a webcam index or a MOTChallenge sequence.

    Args:
        source: a video path or URL; a folder of images (``.jpg``, ``.png``, ...), a sequence folder
            with ``seqinfo.ini`` or one with only an ``img1/`` image folder; a glob pattern such as
            ``"frames/*.jpg"``; a webcam index (``0``, ``"0"``).
        fps: the frame rate of an image folder or glob (they have none of their own); ignored otherwise.

    Raises:
        ValueError: the source does not exist, is empty or cannot be opened (one line naming it: see the
            module's docstring), or a folder or pattern has no images.
    """
    if isinstance(source, int) or (
        isinstance(source, str) and source.isdigit() and not Path(source).exists()
    ):
        return Webcam(int(source))
    text = os.fspath(source)
    path = Path(text)
    if path.is_dir():
        if (path / "seqinfo.ini").is_file():
            return SequenceFrames(path)
        return ImageFiles.from_folder(path, fps)
    if path.is_file():
        _check_not_empty(path)
        if path.suffix.lower() in IMAGE_EXTENSIONS:
            return ImageFiles([path], path.stem, text, fps)
        return VideoFile(path)
    if _GLOB_CHARACTERS.search(text):
        return ImageFiles.from_glob(text, fps)
    if "://" in text:
        return VideoFile(text)
    raise ValueError(f"{text}: cannot open video (no such file or folder)")


def _check_not_empty(path: Path) -> None:
    """A 0-byte file is said to be one (FFmpeg would call it invalid data, OpenCV an unreadable image)."""
    with contextlib.suppress(OSError):  # unreadable: opening it says why
        if path.stat().st_size == 0:
            raise ValueError(f"{path}: empty file (0 bytes)")


def check_max_frames(max_frames) -> None:
    """``max_frames`` (frames ``1..max_frames``; None: all) must be a whole number of at least 1."""
    if max_frames is None:
        return
    if isinstance(max_frames, bool) or not isinstance(max_frames, int | np.integer) or max_frames < 1:
        raise ValueError(f"max_frames {max_frames!r}: must be a whole number of at least 1")


class FirstFrames(FrameSource):
    """Frames ``1..last`` of another source (a quick look at a long video), numbered as in the source.

    The frames are numbers, not a count: where images are named by numbers with gaps, or some frames
    cannot be decoded, fewer than ``last`` frames are yielded. It stops reading at frame ``last``, so the
    rest of a video is never decoded. ``num_frames`` is ``last``, or the source's count when that is
    smaller.

    Raises:
        ValueError: the source's first image comes after frame ``last`` (images named from 500 on).
    """

    def __init__(self, source: FrameSource, last: int):
        check_max_frames(last)
        if source.first_number > last:  # said now: it would track nothing and call it undecodable
            first = source.frame_path(source.first_number)
            raise ValueError(
                f"{source.location}: --max-frames {last} ends before the first image, frame "
                f"{source.first_number}{f' ({first})' if first else ''}"
            )
        total = last if source.num_frames is None else min(last, source.num_frames)
        super().__init__(source.name, source.location, source.fps, source.size, total, source.has_images)
        self.source, self.last = source, last
        self.first_number = source.first_number
        self.skipped = source.skipped  # the same list: the frames the source skips are skipped here

    def frame_path(self, frame_number: int) -> Path | None:
        return self.source.frame_path(frame_number)

    def __iter__(self) -> Iterator[Frame]:
        for frame_number, image in self.source.frames_up_to(self.last):
            if frame_number > self.last:  # a skipped frame ``last`` leaves the next one to stop at
                return
            yield frame_number, image
            if frame_number == self.last:
                return


def first_frames(source: FrameSource, last: int | None) -> FrameSource:
    """``source`` limited to frames ``1..last`` (`FirstFrames`), or unchanged when ``last`` is None."""
    return source if last is None else FirstFrames(source, last)


def frame_numbers(source) -> list[int] | None:
    """The frame numbers iterating ``source`` yields, in order, where they are known without decoding a
    frame: an image folder or glob (from ``000050.jpg`` on they start at 50, with gaps where the names
    skip numbers), a sequence folder (its numbered images up to ``seqLength``; without images every
    frame ``1..seqLength``), and `FirstFrames` of one (those up to its last frame). ``None`` for a video
    or camera (its frames are ``1..num_frames`` as far as anyone knows before decoding them) and for
    anything that is no `FrameSource`. An image that turns out undecodable is still in the list."""
    if isinstance(source, FirstFrames):
        numbers = frame_numbers(source.source)
        return None if numbers is None else [number for number in numbers if number <= source.last]
    if isinstance(source, ImageFiles):
        return list(source.frames)  # sorted by number when made
    if isinstance(source, SequenceFrames):
        if not source.has_images:
            return list(range(1, source.num_frames + 1))
        # frames 1..seqLength are read: an image 0 or one past seqLength is none of them
        return sorted(k for k in source.images if 1 <= k <= source.num_frames)
    return None


def frames_yielded(source, count: int | None = None) -> int | None:
    """How many frames iterating ``source`` yields, at most ``count`` (None: no limit): the length of
    `first_yielded` ``(source, count)`` and of the progress bars of ``discmot track`` and ``analyze``
    (whose ``--max-frames`` is already in ``source``, a `FirstFrames`) and ``bench``. It counts the
    frames a source has (`frame_numbers`), not frame numbers from 1: images 50, 52 and 54 are 3 frames.
    ``None`` where it is unknown (a camera, a video that does not say, without ``count``). A frame that
    cannot be decoded is found only when read, so the count is high by those."""
    numbers = frame_numbers(source)
    known = len(numbers) if numbers is not None else getattr(source, "num_frames", None)
    if known is None:
        return count
    return known if count is None else min(known, count)


def first_yielded(source: FrameSource, count: int) -> Iterator[Frame]:
    """The first ``count`` frames ``source`` yields, whatever their numbers (a count, where `FirstFrames`
    takes frame numbers: images from ``000050.jpg`` on give frames 50 to ``49 + count``). Nothing after
    them is read, so no later frame is decoded nor warned about as skipped, and the pass over the source
    ends (its skipped frames summed up) when the last is taken."""
    frames = iter(source)
    try:
        yield from itertools.islice(frames, count)
    finally:
        close = getattr(frames, "close", None)  # a generator: its pass's summary now, not at collection
        if close is not None:
            close()


def natural_key(name: str) -> list:
    """Sort key comparing runs of digits as numbers: ``img2.jpg`` < ``img10.jpg``."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def read_image(path: str | os.PathLike) -> tuple[np.ndarray | None, str]:
    """Decodes an image file to BGR; returns ``(image, "")`` or ``(None, why it is unreadable)``.

    A JPEG without an end-of-image marker after its last scan is reported as truncated instead of being
    decoded into a partly grey picture.
    """
    import cv2

    try:
        data = Path(path).read_bytes()
    except OSError as error:
        return None, f"cannot be read ({error.strerror})"
    if not data:
        return None, "is an empty file (0 bytes)"
    if data[:2] == b"\xff\xd8" and data.rfind(b"\xff\xd9") < data.rfind(b"\xff\xda"):
        return None, "is a truncated JPEG"
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        return None, "is not a readable image"
    return image, ""


# --------------------------------------------------------------------------------------------------
# Sources


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


#: OpenCV's ``LOG_LEVEL_ERROR`` (``cv::utils::logging``: silent 0, fatal 1, error 2, warning 3, ...),
#: which OpenCV 4's Python module does not name.
_OPENCV_LOG_LEVEL_ERROR = 2


def _open_camera_quietly(cv2, index: int):
    """``cv2.VideoCapture(index)`` without OpenCV's own warnings for a camera that is not there: the
    error line that follows says it once, for people."""
    get_level, set_level = _opencv_log_level_functions(cv2)
    level = get_level()
    set_level(_OPENCV_LOG_LEVEL_ERROR)
    try:
        return cv2.VideoCapture(index)
    finally:
        set_level(level)


def _opencv_log_level_functions(cv2):
    """OpenCV's ``(getLogLevel, setLogLevel)``: module functions in OpenCV 4, ``cv2.utils.logging``'s
    in OpenCV 5 (which drops the former); no-ops where neither exists."""
    logging_ = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging_ is not None:
        return logging_.getLogLevel, logging_.setLogLevel
    if hasattr(cv2, "getLogLevel") and hasattr(cv2, "setLogLevel"):
        return cv2.getLogLevel, cv2.setLogLevel
    return (lambda: None), (lambda level: None)


class Webcam(FrameSource):
    """A camera by index, read with OpenCV until it stops delivering frames."""

    def __init__(self, index: int):
        import cv2

        self.capture = _open_camera_quietly(cv2, index)
        if not self.capture.isOpened():
            raise ValueError(f"camera {index}: cannot open video (no such camera, or it is busy)")
        fps = self.capture.get(cv2.CAP_PROP_FPS)
        size = (
            int(self.capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(self.capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        )
        super().__init__(f"camera{index}", f"camera {index}", fps=fps if fps > 0 else None, size=size)

    def __iter__(self) -> Iterator[Frame]:
        frame_number = 0
        try:
            while True:
                ok, frame = self.capture.read()
                if not ok:
                    return
                frame_number += 1
                yield frame_number, frame
        finally:
            self.capture.release()


class ImageFiles(FrameSource):
    """Image files as the frames of a video: frame ``numbers[i]`` is ``paths[i]``; without ``numbers``
    the ``k``-th file is frame ``k``.

    `from_folder` and `from_glob` number the images by their names when all are named by a number
    (`image_numbers`): a frame number between them with no image is skipped with a warning, as in a
    sequence folder, and the later frames keep their numbers.

    Attributes:
        paths: the image files in frame order.
        frames: frame number -> image file.
    """

    def __init__(
        self,
        paths: list[Path],
        name: str,
        location: str,
        fps: float | None = None,
        numbers: list[int] | None = None,
    ):
        numbers = list(range(1, len(paths) + 1)) if numbers is None else list(numbers)
        self.frames = dict(sorted(zip(numbers, paths, strict=True)))
        self.paths = list(self.frames.values())
        size = None
        for path in self.paths:
            image, _ = read_image(path)
            if image is not None:
                size = (image.shape[1], image.shape[0])
                break
        if size is None:
            raise ValueError(
                f"{location}: cannot open video (none of its {len(self.paths)} images is readable)"
            )
        super().__init__(name, location, fps=fps, size=size, num_frames=max(self.frames))
        self.first_number = min(self.frames)

    @classmethod
    def from_folder(cls, folder: Path, fps: float | None = None, name: str | None = None) -> ImageFiles:
        """The images of ``folder``; a folder with none but an ``img1/`` image folder (a sequence without
        ``seqinfo.ini``) is read as that folder, named after ``folder``, with an INFO line."""
        files = list(folder.iterdir())
        paths = _image_files(files)
        if not paths and name is None and holds_images(folder / "img1"):
            rate = (
                f"{fps:g} fps" if fps else "the default frame rate, 30 fps, unless --frame-rate says another"
            )
            log.info("%s: no seqinfo.ini; reading the images of %s at %s", folder, folder / "img1", rate)
            return cls.from_folder(folder / "img1", fps, name=folder.name)
        if not paths:
            raise ValueError(f"{folder}: cannot open video (a folder with no images: {_what_else(files)})")
        return cls(paths, name or folder.name, str(folder), fps, image_numbers(paths, str(folder)))

    @classmethod
    def from_glob(cls, pattern: str, fps: float | None = None) -> ImageFiles:
        paths = _image_files(Path(p) for p in globlib.glob(pattern, recursive=True))
        if not paths:
            raise ValueError(f"{pattern}: cannot open video (the pattern matches no image file)")
        name = Path(pattern).parent.name or "frames"
        return cls(paths, name, pattern, fps, image_numbers(paths, pattern))

    def frame_path(self, frame_number: int) -> Path | None:
        return self.frames.get(frame_number)

    def __iter__(self) -> Iterator[Frame]:
        return self.frames_up_to(self.num_frames)

    def frames_up_to(self, last: int) -> Iterator[Frame]:
        with self._skips_summed_up():
            # from the first image: the numbers before it are no frames of these images, not missing
            # ones (and 3000000.jpg would cost 3 million skips)
            for frame_number in range(self.first_number, min(last, self.num_frames) + 1):
                path = self.frames.get(frame_number)
                if path is None:  # a gap in numbered names
                    self._skip(frame_number, self.location, "has no image file")
                    continue
                image, reason = read_image(path)
                if image is None:
                    self._skip(frame_number, str(path), reason)
                    continue
                yield frame_number, image


#: Image numbers beyond this are no frame numbers (Unix timestamps in ms, ns): images are then numbered
#: by position, not iterated over a billion missing frames.
_LARGEST_FRAME_NUMBER = 10_000_000


def image_numbers(paths: list[Path], location: str) -> list[int] | None:
    """The frame number of each image of ``paths`` when every one is named by a number, else ``None``
    (frames follow the natural order of the names).

    A name ``k`` (``000007.jpg``, ``7.png``) is frame ``k``, the rule of MOTChallenge sequences, so a
    gap in the names is a gap in the frames and results stay aligned with ground truth numbered so;
    names that start at 0 (KITTI's and YOLO exports') are frame ``k + 1``, as MOTChallenge frames start
    at 1 (said once at INFO). Numbers too large to be frame numbers (timestamps), and images in more than
    one folder (a recursive glob: ``a/000001.jpg`` and ``b/000001.jpg`` are not one frame), number by
    position (said once at INFO).

    Raises:
        ValueError: two images are named by the same number (``1.jpg`` and ``001.png``).
    """
    stems = [path.stem for path in paths]
    named = [stem.isascii() and stem.isdigit() for stem in stems]
    if not all(named):
        if any(named):  # a stray cover.jpg among numbered frames: say why the numbers are not used
            other = next(path for path, ok in zip(paths, named, strict=True) if not ok)
            _log_once(
                logging.INFO,
                f"{location}: {named.count(False)} of {len(paths)} images not named by a number (e.g. "
                f"{other.name}): frames are numbered by position, in name order",
            )
        return None
    folders = {path.parent for path in paths}
    if len(folders) > 1:
        _log_once(
            logging.INFO,
            f"{location}: images in {len(folders)} folders: frames are numbered by position, in name order "
            "(each folder's numbers name its own frames)",
        )
        return None
    numbers = [int(stem) for stem in stems]
    if max(numbers) > _LARGEST_FRAME_NUMBER:
        _log_once(
            logging.INFO,
            f"{location}: image numbers up to {max(numbers)} are no frame numbers (timestamps?): frames "
            "are numbered by position, in name order",
        )
        return None
    first: dict[int, Path] = {}
    for number, path in zip(numbers, paths, strict=True):
        if number in first:
            raise ValueError(
                f"{location}: {first[number]} and {path} are both image {number} (images named by "
                "numbers are the frames of those numbers): remove or rename one"
            )
        first[number] = path
    if 0 in first:
        _log_once(
            logging.INFO,
            f"{location}: images numbered from 0 ({first[0].name}): frame k is image k-1 (frame numbers "
            "start at 1, as MOTChallenge's)",
        )
        return [number + 1 for number in numbers]
    return numbers


@functools.cache
def _log_once(level: int, message: str) -> None:
    """Once per process: a source may be opened more than once (`discmot demo`, a split's checks)."""
    log.log(level, "%s", message)


#: Suffixes of files a folder given as a source may hold instead of images (for the error message only).
_VIDEO_NAMES = tuple(".mp4 .m4v .mov .mkv .webm .avi .gif .mts .m2ts .ts .mpg .wmv".split())


def _what_else(files: list[Path]) -> str:
    """Why a folder is no image source: the image suffixes read, and the videos or HEIC photos it holds
    (a folder of phone videos is a folder of sources, one ``discmot track`` each)."""
    videos = sorted((p.name for p in files if p.suffix.lower() in _VIDEO_NAMES), key=natural_key)
    heic = [p.name for p in files if p.suffix.lower() in (".heic", ".heif")]
    if videos:
        shown = ", ".join(videos[:3]) + (", ..." if len(videos) > 3 else "")
        return f"it holds {len(videos)} video(s), {shown}: track each file"
    if heic:
        return f"its {len(heic)} HEIC image(s) are not read: convert them to JPEG or PNG"
    return ", ".join(IMAGE_EXTENSIONS)


def _is_image_file(path: Path) -> bool:
    """An image a folder's frames are read from: a known suffix, and not hidden (macOS's ``._`` copies
    are none, as a glob's ``*`` skips them too)."""
    return path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".") and path.is_file()


def _image_files(paths) -> list[Path]:
    """The image files among ``paths`` (`_is_image_file`) in natural order."""
    return sorted(filter(_is_image_file, paths), key=lambda p: natural_key(str(p)))


def holds_images(folder: Path) -> bool:
    """Whether ``folder`` holds an image file (`_is_image_file`); stops at the first, so a folder of
    100,000 frames is neither listed whole nor sorted."""
    return folder.is_dir() and any(map(_is_image_file, folder.iterdir()))


@functools.cache
def _warn_images_beyond_length(folder: str, count: int, length: int) -> None:
    """Once per folder and process (a split's sequences are opened more than once)."""
    log.warning(
        "%s: %d image(s) after frame %d, the seqLength of its seqinfo.ini, are not tracked",
        folder,
        count,
        length,
    )


class SequenceFrames(FrameSource):
    """A MOTChallenge sequence folder: ``seqinfo.ini`` and, optionally, its image folder (``img1/``).

    Frame ``k`` is the image whose file name is the number ``k`` (``000001.jpg``, ``00000001.jpg``), as in
    MOTChallenge and DanceTrack; a missing or unreadable image is skipped with a warning, and images not
    named by a number are ignored with a warning (when none is, frames follow the names' natural order).
    Without an image folder (precomputed detections need none) it yields ``(k, None)`` for
    ``k = 1..seqLength``.
    """

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        info = read_seqinfo(self.folder / "seqinfo.ini")
        self.images = self._numbered_images(self.folder / info.image_dir)
        size = (info.width, info.height) if info.width and info.height else None
        if size is None and self.images:
            image, _ = read_image(next(iter(self.images.values())))
            size = None if image is None else (image.shape[1], image.shape[0])
        super().__init__(
            self.folder.name,
            str(self.folder),
            fps=info.frame_rate,
            size=size,
            num_frames=info.length,
            has_images=bool(self.images),
        )
        self.first_number = min(self.images, default=1)
        beyond = sum(1 for k in self.images if k > info.length)
        if beyond:
            _warn_images_beyond_length(str(self.folder), beyond, info.length)

    @staticmethod
    def _numbered_images(image_dir: Path) -> dict[int, Path]:
        if not image_dir.is_dir():
            return {}
        paths = _image_files(image_dir.iterdir())
        if not any(p.stem.isdigit() for p in paths):  # not MOTChallenge's naming: frames in name order
            return dict(enumerate(paths, start=1))
        return numbered_frames(image_dir, paths)

    def frame_path(self, frame_number: int) -> Path | None:
        return self.images.get(frame_number)

    def __iter__(self) -> Iterator[Frame]:
        return self.frames_up_to(self.num_frames)

    def frames_up_to(self, last: int) -> Iterator[Frame]:
        with self._skips_summed_up():
            for frame_number in range(1, min(last, self.num_frames) + 1):
                if not self.has_images:
                    yield frame_number, None
                    continue
                path = self.images.get(frame_number)
                image, reason = (None, "has no image file") if path is None else read_image(path)
                if image is None:
                    self._skip(frame_number, str(path or self.folder), reason)
                    continue
                yield frame_number, image


# --------------------------------------------------------------------------------------------------
# Writing


def find_h264_encoder() -> str | None:
    """The first H.264 encoder of `H264_ENCODERS` that PyAV's FFmpeg provides, or ``None``."""
    import av

    for name in H264_ENCODERS:
        try:
            av.codec.Codec(name, "w")
        except (ValueError, av.FFmpegError):
            continue
        return name
    return None


class VideoWriter:
    """Writes BGR frames to a video file (H.264 MP4 through PyAV, else OpenCV ``mp4v``).

    Use as a context manager. Frames of another size are resized to ``size``; odd sizes are padded with
    black to even ones (yuv420p needs them). The file is written under a temporary name beside ``path``
    and renamed onto it on a clean close; when the block raises, the temporary file is removed. An
    `OSError` writing it (a full disk) names ``path``, not the temporary file.

    Args:
        path: output file (``.mp4``; the extension picks the container).
        fps: frame rate (30 when ``None``).
        size: ``(width, height)`` of the frames given to `write`.
        crf: H.264 quality (lower is better, 23 is FFmpeg's default).

    Attributes:
        backend: ``"pyav-<encoder>"`` or ``"opencv-mp4v"``.
        frames_written: frames written so far.
    """

    def __init__(self, path: str | os.PathLike, fps: float | None, size: tuple[int, int], crf: int = 23):
        self.path = Path(path)
        self.fps = fps or 30.0
        self.size = (int(size[0]), int(size[1]))
        if min(self.size) < 1:
            raise ValueError(f"{self.path}: cannot write a video of size {self.size}")
        self.crf = crf
        self.backend = ""
        self.frames_written = 0
        self._tmp: Path | None = None
        self._encoder = None

    def __enter__(self) -> VideoWriter:
        fd, tmp = temporary_beside(self.path, suffix=self.path.suffix)  # the suffix picks the container
        os.close(fd)
        self._tmp = Path(tmp)
        try:
            self._encoder = self._open_encoder()
        except BaseException:
            self._remove_tmp()
            raise
        self.backend = self._encoder.backend
        return self

    def _open_encoder(self):
        encoder = find_h264_encoder()
        if encoder is not None:
            try:
                return _PyAVEncoder(self._tmp, encoder, self.fps, self.size, self.crf)
            except Exception as error:  # an encoder that exists but cannot open (e.g. needs hardware)
                log.warning("%s: H.264 encoder %s failed (%s)", self.path, encoder, error)
        log.warning(
            "%s: no usable H.264 encoder in PyAV; writing MPEG-4 part 2 (mp4v) with OpenCV", self.path
        )
        return _OpenCVEncoder(self._tmp, self.fps, self.size)

    def write(self, frame: np.ndarray) -> None:
        """Appends one ``(H, W, 3)`` uint8 BGR frame."""
        if self._encoder is None:
            raise RuntimeError("VideoWriter.write outside its `with` block")
        with errors_naming(self.path, self._tmp):  # a full disk names the user's file, not the temporary
            self._encoder.write(_fit(frame, self.size))
        self.frames_written += 1

    def __exit__(self, exc_type, exc, tb) -> None:
        encoder, self._encoder = self._encoder, None
        if exc_type is not None:
            with contextlib.suppress(Exception):
                encoder.close()
            self._remove_tmp()
            return
        try:
            with errors_naming(self.path, self._tmp):  # the encoder's last packets and the index
                encoder.close()
                publish_file(self._tmp, self.path)
        except BaseException:
            self._remove_tmp()
            raise

    def _remove_tmp(self) -> None:
        if self._tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                self._tmp.unlink()


def _fit(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resizes to ``size`` if needed, then pads right/bottom with black to even width and height."""
    import cv2

    if (frame.shape[1], frame.shape[0]) != size:
        frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    pad_w, pad_h = size[0] % 2, size[1] % 2
    if pad_w or pad_h:
        frame = cv2.copyMakeBorder(frame, 0, pad_h, 0, pad_w, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    return np.ascontiguousarray(frame)


class _PyAVEncoder:
    def __init__(self, path: Path, encoder: str, fps: float, size: tuple[int, int], crf: int):
        import av

        self.backend = f"pyav-{encoder}"
        self.rate = Fraction(fps).limit_denominator(1001)
        self.container = av.open(str(path), "w")
        try:
            self.stream = self.container.add_stream(encoder, rate=self.rate)
            self.stream.width, self.stream.height = size[0] + size[0] % 2, size[1] + size[1] % 2
            self.stream.pix_fmt = "yuv420p"
            if encoder == "libx264":
                self.stream.options = {"crf": str(crf), "preset": "veryfast"}
            self.stream.codec_context.open()
        except BaseException:
            self.container.close()
            raise
        self.index = 0

    def write(self, frame: np.ndarray) -> None:
        import av

        video_frame = av.VideoFrame.from_ndarray(frame, format="bgr24")
        video_frame.pts = self.index
        video_frame.time_base = 1 / self.rate
        self.index += 1
        self.container.mux(self.stream.encode(video_frame))

    def close(self) -> None:
        try:
            self.container.mux(self.stream.encode(None))
        finally:
            self.container.close()


class _OpenCVEncoder:
    backend = "opencv-mp4v"

    def __init__(self, path: Path, fps: float, size: tuple[int, int]):
        import cv2

        even = (size[0] + size[0] % 2, size[1] + size[1] % 2)
        self.writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, even)
        if not self.writer.isOpened():
            raise ValueError(f"{path}: cannot write video (OpenCV mp4v writer failed to open)")

    def write(self, frame: np.ndarray) -> None:
        self.writer.write(frame)

    def close(self) -> None:
        self.writer.release()
