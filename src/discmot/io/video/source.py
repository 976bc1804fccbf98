"""The frame source every kind of source is (`FrameSource`: frames streamed as ``(frame_number, frame)``,
skipped frames recorded and warned about once per pass), and taking its first frames: by number
(`FirstFrames`, ``--max-frames``) or by count (`first_yielded`, ``discmot bench``)."""

from __future__ import annotations

import contextlib
import itertools
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from discmot.io.video.skips import skipped_summary

log = logging.getLogger("discmot.io.video")  # the package's name, as before the split: users filter on it

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
