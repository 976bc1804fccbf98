"""Sequence folders: which folders of a split are sequences, a source's own ground truth, and the
images of a sequence's frames (named by frame number), with hints naming why frames are missing."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from discmot.io.mot import MotFormatError
from discmot.io.seqinfo import SeqInfo, read_seqinfo

log = logging.getLogger(__name__)


def default_ground_truth(source: str | Path) -> Path | None:
    """The ``gt/gt.txt`` that belongs to a source given alone (`discmot track`, ``show``, ``analyze``):
    a sequence folder's own (a folder with ``seqinfo.ini``, ``img1/`` or ``gt/``), or, for an image
    folder such as ``SEQ/img1``, its parent's; ``None`` when there is none, and for a video, a glob or a
    camera (their ground truth is given explicitly)."""
    folder = Path(source)
    if not folder.is_dir():
        return None
    own = folder / "gt" / "gt.txt"
    if own.is_file() or (folder / "seqinfo.ini").is_file() or (folder / "img1").is_dir():
        return own if own.is_file() else None  # a sequence folder: its own gt or none
    parents = folder.parent / "gt" / "gt.txt"
    return parents if parents.is_file() else None


def sequence_folders(base: Path) -> list[Path]:
    """The sequence folders of a split folder, sorted: those with an ``img1/`` folder, the layout
    training, ``depth`` and ``jde-export`` read (as the original's loaders, which hard-code it). Hidden
    folders (a half-written ``discmot synth`` sequence) are not sequences. A folder whose seqinfo.ini
    names another ``imDir`` that exists is left out with a warning naming it, not silently."""
    found = []
    for folder in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if (folder / "img1").is_dir():
            found.append(folder)
        elif (image_dir := _other_image_dir(folder)) is not None:
            log.warning(
                "%s: left out: its seqinfo.ini says imDir=%s, and training, depth and jde-export read "
                "img1/ (rename the folder to img1)",
                folder,
                image_dir,
            )
    return found


def _other_image_dir(folder: Path) -> str | None:
    """The ``imDir`` of ``folder``'s seqinfo.ini when it is not ``img1`` and exists, else None."""
    try:
        image_dir = read_seqinfo(folder / "seqinfo.ini").image_dir
    except MotFormatError:
        return None
    return image_dir if image_dir != "img1" and (folder / image_dir).is_dir() else None


def numbered_frames(folder: Path, images: Iterable[Path]) -> dict[int, Path]:
    """Frame number -> image among the ``images`` of a sequence's image ``folder``.

    An image named by a number is that frame (``000001.jpg``, ``00000001.jpg``), as in MOTChallenge and
    DanceTrack, whose loaders build frame paths from numbers. Other names are not frames: they are
    ignored, with one warning (hidden files, such as macOS ``._`` copies, silently).
    """
    frames, others = {}, []
    for path in images:
        if path.stem.isdigit():
            frames[int(path.stem)] = path
        elif not path.name.startswith("."):
            others.append(path)
    if others:
        log.warning(
            "%s: %d image(s) not named by a frame number ignored, e.g. %s",
            folder,
            len(others),
            min(others).name,
        )
    return frames


def frame_images(image_dir: Path, images: Iterable[Path], length: int | None, seqinfo: Path) -> list[Path]:
    """The images of frames ``1..length`` in frame order, by the rule of `numbered_frames`.

    ``length`` is ``seqinfo``'s ``seqLength`` (``None``: no seqinfo.ini, as many frames as numbered
    images). Numbered images after it are not used, with a warning (BFT's loader counts images,
    DanceTrack's and SportsMOT's read seqLength).

    Raises:
        FileNotFoundError: a frame up to ``length`` has no image.
    """
    frames = numbered_frames(image_dir, images)
    count = len(frames) if length is None else length
    missing = [frame for frame in range(1, count + 1) if frame not in frames]
    if missing:
        where = f"seqLength={count} in {seqinfo}" if length is not None else f"{len(frames)} images"
        raise FileNotFoundError(
            f"{image_dir}: no image for frame {missing[0]} ({len(missing)} of {where} missing)"
        )
    if len(frames) > count:
        log.warning(
            "%s: %d numbered images but seqLength=%d in %s: frames after %d are not used",
            image_dir,
            len(frames),
            count,
            seqinfo,
            count,
        )
    return [frames[frame] for frame in range(1, count + 1)]


#: Image formats (lower case) read as frames (`discmot.io.video`) and named when a sequence's are missing.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def training_image_suffix(info: SeqInfo | None) -> str:
    """The suffix of a sequence's training frames: ``.png`` when ``seqinfo.ini``'s ``imExt`` says so,
    else ``.jpg``, the original's (whatever ``imExt`` says, and without a seqinfo.ini, as BFT has none)."""
    if info is not None and info.image_ext.lower().lstrip(".") == "png":
        return ".png"
    return ".jpg"


def training_frame_images(image_dir: Path, info: SeqInfo | None, seqinfo: Path) -> list[Path]:
    """`frame_images` of the frames FDTA training and ``discmot depth`` read: those with the sequence's
    `training_image_suffix`. Frames missing because the folder holds another format are said to be so.
    """
    suffix = training_image_suffix(info)
    try:
        length = None if info is None else info.length
        images = frame_images(image_dir, image_dir.glob(f"*{suffix}"), length, seqinfo)
    except FileNotFoundError as error:
        raise FileNotFoundError(f"{error}{_missing_frames_hints(image_dir, suffix, info)}") from None
    if not images:  # no seqinfo.ini: no length to miss a frame of, and an empty folder has none
        raise FileNotFoundError(
            f"{image_dir}: no {suffix} frames{_missing_frames_hints(image_dir, suffix, info)}"
        )
    return images


def _missing_frames_hints(image_dir: Path, suffix: str, info) -> str:
    """Why frames of ``suffix`` are missing: another image format, or names that are no frame numbers."""
    return _other_format_hint(image_dir, suffix, info) + _unnumbered_hint(image_dir, suffix)


def _unnumbered_hint(image_dir: Path, suffix: str) -> str:
    """``"; its images are not named by a frame number ..."`` when the folder's images (any format) have
    names such as ``frame_000000.PNG`` (an annotation tool's export): they are no frames whatever their
    format (`numbered_frames`), so renaming them is the fix, not imExt."""
    images = [
        p for p in image_dir.glob("*") if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    ]
    unnumbered = sorted(p.name for p in images if not p.stem.isdigit())
    if not unnumbered:
        return ""
    some = "its images are" if len(unnumbered) == len(images) else f"{len(unnumbered)} of its images are"
    return (
        f"; {some} not named by a frame number (e.g. {unnumbered[0]}): name each after its frame in "
        f"gt.txt's first column, frame 1 as 000001{suffix} (docs/datasets.md, 'Your own dataset')"
    )


def _other_format_hint(image_dir: Path, suffix: str, info: SeqInfo | None) -> str:
    """``"; ... this folder has .png images: ..."`` when the folder holds frames of another format."""
    suffixes = {path.suffix for path in image_dir.glob("*") if not path.name.startswith(".")}  # ._ copies
    others = sorted(s for s in suffixes if s.lower() in IMAGE_SUFFIXES and s != suffix)
    if not others:
        return ""
    same = (".jpg", ".jpeg") if suffix == ".jpg" else (suffix,)
    if all(o.lower() in same for o in others):  # .JPG, .jpeg, .PNG: the name, not the format, differs
        remedy = f"rename them to <frame>{suffix} (the original's loaders build that name)"
    elif info is None:
        remedy = "add a seqinfo.ini with imExt=.png for PNG frames, or convert them to .jpg"
    elif suffix == ".png":
        remedy = "correct imExt in seqinfo.ini"
    else:
        remedy = "set imExt=.png in seqinfo.ini for PNG frames, or convert them to .jpg"
    if info is None:
        where = "no seqinfo.ini: .jpg"
    elif info.image_ext == suffix or suffix == ".png":  # imExt=PNG, png: read as .png too
        where = "seqinfo.ini's imExt"
    else:
        where = f"seqinfo.ini's imExt={info.image_ext}: any but .png is read as .jpg"
    found = ", ".join(others)
    return f"; the frames are read as {suffix} ({where}) and this folder has {found} images: {remedy}"
