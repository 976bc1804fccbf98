"""MOTChallenge-layout sequences -> CSTrack's JDE training layout (spec ``cstrack.md`` §6.1-6.2).

Any dataset whose sequences are ``<seq>/img1/<frame>.jpg`` + ``gt/gt.txt`` + ``seqinfo.ini`` (MOT16/17/20,
DanceTrack, SportsMOT, BFT, discmot's synthetic scenes, your own annotations in that format) becomes::

    <out>/images/<split>/<seq>/img1/<frame>.jpg              hard links to the images (copies across drives)
    <out>/labels_with_ids/<split>/<seq>/img1/<frame>.txt      "0 identity cx cy w h", normalised by the size
    <out>/<name>.<split>                                      the list file, entries relative to <out>

Which boxes are kept: rows whose 7th column ("consider") is 0 are dropped, and when an 8th column (class)
exists only class 1 (pedestrian in MOT16/17/20; every box in DanceTrack/SportsMOT/BFT and synthetic gt) is
kept, the rule of the JDE/FairMOT label scripts the CSTrack authors used. Identities are renumbered
1, 2, 3, ... over the whole split in (sequence name, gt id) order, so two sequences' "id 1" never become
one identity of the ID classifier; they start at 1 like those scripts' labels, because the original's
identity mapping (``data.faithful_ids``) reads 0 as "no identity". Every image gets a label file, empty
when it has no box.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from discmot.io.atomic import atomic_write_text, link_or_copy
from discmot.io.mot import read_mot_table, read_seqinfo

log = logging.getLogger(__name__)

#: gt columns (0-based) of the "consider" flag and the class.
CONSIDER_COLUMN, CLASS_COLUMN = 6, 7
PEDESTRIAN_CLASS = 1
#: What a JDE list may name: the original derives label paths by replacing ``.jpg``/``.png`` (spec §6.1).
IMAGE_SUFFIXES = (".jpg", ".png")


@dataclass(frozen=True)
class JDEExport:
    """What `export_jde` wrote: the list file and counts (``identities`` = distinct identities)."""

    list_file: Path
    images: int
    boxes: int
    identities: int


def kept_rows(values: np.ndarray) -> np.ndarray:
    """Boolean mask of the gt rows that become training boxes (see the module docstring)."""
    keep = np.ones(len(values), bool)
    if values.shape[1] > CONSIDER_COLUMN:
        keep &= values[:, CONSIDER_COLUMN] != 0
    if values.shape[1] > CLASS_COLUMN:
        keep &= values[:, CLASS_COLUMN] == PEDESTRIAN_CLASS
    return keep


def label_text(boxes: np.ndarray, identities: np.ndarray, width: int, height: int) -> str:
    """``class identity cx cy w h`` lines for ``(n, 4)`` tlwh pixel boxes (class is always 0)."""
    return "".join(
        f"0 {i} {(x + w / 2) / width:.6f} {(y + h / 2) / height:.6f} {w / width:.6f} {h / height:.6f}\n"
        for i, (x, y, w, h) in zip(identities.tolist(), boxes.tolist(), strict=True)
    )


def _frame_images(folder: Path) -> list[tuple[int, Path]]:
    """``(frame number, image)`` of ``folder/img1`` in frame order; a non-numeric name is an error."""
    images = []
    for path in sorted((folder / "img1").iterdir()):
        if path.suffix not in IMAGE_SUFFIXES:
            if path.suffix.lower() in (*IMAGE_SUFFIXES, ".jpeg"):  # an image the list could not name
                raise ValueError(
                    f"{path}: a JDE list can only name .jpg and .png images (their label paths are derived "
                    "by replacing that suffix); rename the images"
                )
            continue
        if not path.stem.isdigit():
            raise ValueError(f"{path}: image names must be frame numbers (000001.jpg)")
        images.append((int(path.stem), path))
    if not images:
        raise FileNotFoundError(f"{folder / 'img1'}: no images")
    return sorted(images)


def export_jde(sequences: Iterable[Path], out: str | Path, name: str, split: str) -> JDEExport:
    """Writes the JDE layout of ``sequences`` (sequence folders) under ``out``; returns what it wrote.

    Raises:
        FileNotFoundError: a sequence without ``img1/`` images, ``gt/gt.txt`` or ``seqinfo.ini``.
        MotFormatError / ValueError: a malformed gt file or ``seqinfo.ini``, non-numeric image names.
    """
    out = Path(out)
    listed: list[str] = []
    boxes, next_identity = 0, 1
    for folder in sorted(Path(s) for s in sequences):
        info = read_seqinfo(folder / "seqinfo.ini")
        if info.width is None or info.height is None:
            raise ValueError(f"{folder / 'seqinfo.ini'}: imWidth and imHeight are needed for JDE labels")
        table = read_mot_table(folder / "gt" / "gt.txt", min_columns=6).values
        table = table[kept_rows(table)]
        gt_ids = np.unique(table[:, 1].astype(np.int64))
        identities = np.searchsorted(gt_ids, table[:, 1].astype(np.int64)) + next_identity
        next_identity += len(gt_ids)
        frames = table[:, 0].astype(np.int64)
        for frame, image in _frame_images(folder):
            relative = Path("images") / split / folder.name / "img1" / image.name
            link_or_copy(image, out / relative)
            rows = frames == frame
            label = out / "labels_with_ids" / split / folder.name / "img1" / f"{image.stem}.txt"
            label.parent.mkdir(parents=True, exist_ok=True)
            text = label_text(table[rows, 2:6], identities[rows], info.width, info.height)
            atomic_write_text(label, text)
            listed.append(relative.as_posix())
            boxes += int(rows.sum())
    list_file = out / f"{name}.{split}"
    atomic_write_text(list_file, "\n".join(listed) + "\n")
    identities = next_identity - 1
    log.info("%s: %d images, %d boxes, %d identities", list_file, len(listed), boxes, identities)
    return JDEExport(list_file, len(listed), boxes, identities)
