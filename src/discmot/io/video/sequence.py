"""A MOTChallenge sequence folder as frames (`SequenceFrames`): ``seqinfo.ini`` and its numbered images."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from discmot.io.seqinfo import read_seqinfo
from discmot.io.sequence_folders import numbered_frames
from discmot.io.video.images import image_files, read_image
from discmot.io.video.source import Frame, FrameSource

log = logging.getLogger("discmot.io.video")  # the package's name, as before the split: users filter on it


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
        paths = image_files(image_dir.iterdir())
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
