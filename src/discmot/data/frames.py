"""Reading training frames and their depth maps, with errors that name the file at fault.

Images are decoded like ``PIL.Image.open(path).convert("RGB")`` (FDTA's loader): no EXIF rotation, RGB
channel order; CSTrack's loader reads them with ``cv2.imread``, which turns a JPEG by its EXIF
orientation (``exif_orientation=True``).
A JPEG without its end-of-image marker or a PNG without its ``IEND`` chunk is reported as truncated
instead of being decoded into a partly grey picture (OpenCV only warns about those). Depth maps must
be 8-bit single-channel PNGs of the image's size (spec ``fdta.md`` §8.2).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


class FrameReadError(ValueError):
    """An image or depth map exists but cannot be used; the message starts with its path."""


def read_rgb(path: str | Path, exif_orientation: bool = False) -> np.ndarray:
    """The image at ``path`` as ``(H, W, 3)`` uint8 RGB, turned by its EXIF orientation if asked (as
    ``cv2.imread`` does; PIL, FDTA's reader, does not).

    Raises:
        FileNotFoundError: no such file.
        FrameReadError: unreadable, truncated or not an image.
    """
    path = Path(path)
    flags = cv2.IMREAD_COLOR if exif_orientation else cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION
    image = _decode(path, flags)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_depth(path: str | Path, image_path: str | Path, size: tuple[int, int]) -> np.ndarray:
    """The depth map of ``image_path`` as ``(H, W)`` uint8; ``size`` is the image's ``(H, W)``.

    Raises:
        FileNotFoundError: the depth map is missing (the message names the image it belongs to).
        FrameReadError: unreadable, not 8-bit single-channel, or not the image's size.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: depth map not found (needed for the image {image_path}; generate depth maps with "
            "`discmot depth` or train without the Spatial Adapter: --set adapters.spatial=false)"
        )
    depth = _decode(path, cv2.IMREAD_UNCHANGED)
    if depth.ndim != 2 or depth.dtype != np.uint8:
        channels = 1 if depth.ndim == 2 else depth.shape[2]
        raise FrameReadError(
            f"{path}: depth maps must be 8-bit single-channel PNGs, found {channels} channel(s) of "
            f"{depth.dtype}" + (" (a colour-mapped depth image cannot be used)" if channels > 1 else "")
        )
    if depth.shape != tuple(size):
        raise FrameReadError(
            f"{path}: depth map is {depth.shape[1]}x{depth.shape[0]}, its image {image_path} is "
            f"{size[1]}x{size[0]}"
        )
    return depth


def _decode(path: Path, flags: int) -> np.ndarray:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: file not found") from None
    except OSError as error:
        raise FrameReadError(f"{path}: cannot read file ({error.strerror})") from None
    problem = _truncation(raw)
    if problem:
        raise FrameReadError(f"{path}: {problem}")
    image = cv2.imdecode(np.frombuffer(raw, np.uint8), flags) if raw else None
    if image is None:
        raise FrameReadError(f"{path}: not a readable image ({len(raw)} bytes)")
    return image


def _truncation(raw: bytes) -> str | None:
    """Why ``raw`` is a truncated JPEG or PNG, or ``None``."""
    if raw.startswith(b"\xff\xd8") and raw.rfind(b"\xff\xd9") < 0:
        return "truncated JPEG (no end-of-image marker)"
    if raw.startswith(b"\x89PNG") and b"IEND" not in raw[-16:]:
        return "truncated PNG (no IEND chunk)"
    return None


def stored_size(image: Path) -> tuple[int, int]:
    """``(width, height)`` of an image's stored pixels, as training reads it (EXIF orientation ignored)."""
    height, width = _decode(Path(image), cv2.IMREAD_GRAYSCALE | cv2.IMREAD_IGNORE_ORIENTATION).shape[:2]
    return width, height


def turned_by_exif(image: Path) -> bool:
    """Whether ``image``'s EXIF orientation turns or mirrors it when read as ``cv2.imread`` reads it
    (two decodes of one image: meant for the first frame of a sequence)."""
    plain = _decode(Path(image), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    turned = _decode(Path(image), cv2.IMREAD_COLOR)
    return plain.shape != turned.shape or not np.array_equal(plain, turned)


def check_image_size(image: Path, width: int | None, height: int | None, seqinfo: Path) -> None:
    """Requires ``image`` to be ``width x height`` as ``seqinfo`` says (``None``: not given, not checked).

    gt boxes are pixels of that size, so an image of another size (a video resized without its gt) would
    train on misplaced boxes without a word.

    Raises:
        FrameReadError: unreadable, or of another size.
    """
    if width is None or height is None:
        return
    decoded = _decode(Path(image), cv2.IMREAD_UNCHANGED)
    if decoded.shape[1] != width or decoded.shape[0] != height:
        raise FrameReadError(
            f"{image}: {decoded.shape[1]}x{decoded.shape[0]}, but {seqinfo} says imWidth={width}, "
            f"imHeight={height} (gt boxes are in its pixels): correct seqinfo.ini, or the gt and the images"
        )
