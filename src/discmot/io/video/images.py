"""Image files as frames: decoding one (`read_image`), ordering names (`natural_key`), and a folder or glob
of images read as a video (`ImageFiles`), numbered by the images' names where all are numbers
(`image_numbers`)."""

from __future__ import annotations

import functools
import glob as globlib
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from discmot.io.sequence_folders import IMAGE_SUFFIXES
from discmot.io.video.source import Frame, FrameSource

log = logging.getLogger("discmot.io.video")  # the package's name, as before the split: users filter on it

#: File extensions read as images (lower case).
IMAGE_EXTENSIONS = IMAGE_SUFFIXES  # the image formats read as frames (one list, in io.sequence_folders)


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
        paths = image_files(files)
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
        paths = image_files(Path(p) for p in globlib.glob(pattern, recursive=True))
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


def image_files(paths) -> list[Path]:
    """The image files among ``paths`` (`_is_image_file`) in natural order."""
    return sorted(filter(_is_image_file, paths), key=lambda p: natural_key(str(p)))


def holds_images(folder: Path) -> bool:
    """Whether ``folder`` holds an image file (`_is_image_file`); stops at the first, so a folder of
    100,000 frames is neither listed whole nor sorted."""
    return folder.is_dir() and any(map(_is_image_file, folder.iterdir()))
