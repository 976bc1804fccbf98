"""The functions that know every kind of source: `open_source` picks the kind for what a user typed, and
`frame_numbers` and `frames_yielded` say, kind by kind, which frames one yields without decoding any."""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

from discmot.io.video.images import IMAGE_EXTENSIONS, ImageFiles
from discmot.io.video.sequence import SequenceFrames
from discmot.io.video.source import FirstFrames, FrameSource
from discmot.io.video.video_file import VideoFile
from discmot.io.video.webcam import Webcam

_GLOB_CHARACTERS = re.compile(r"[*?\[]")


def open_source(source: str | os.PathLike | int, fps: float | None = None) -> FrameSource:
    """Opens a video file, an image folder, a glob pattern, a webcam index or a MOTChallenge sequence.

    Args:
        source: a video path or URL; a folder of images (``.jpg``, ``.png``, ...), a sequence folder
            with ``seqinfo.ini`` or one with only an ``img1/`` image folder; a glob pattern such as
            ``"frames/*.jpg"``; a webcam index (``0``, ``"0"``).
        fps: the frame rate of an image folder or glob (they have none of their own); ignored otherwise.

    Raises:
        ValueError: the source does not exist, is empty or cannot be opened (one line naming it: see the
            package's docstring), or a folder or pattern has no images.
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
