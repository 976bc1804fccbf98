"""MOTChallenge-layout sequences -> CSTrack's JDE training layout (spec ``cstrack.md`` §6.1-6.2).

Any dataset whose sequences are ``<seq>/img1/<frame>.jpg`` + ``gt/gt.txt`` + ``seqinfo.ini`` (MOT16/17/20,
DanceTrack, SportsMOT, BFT, discmot's synthetic scenes, your own annotations in that format) becomes::

    <out>/images/<split>/<seq>/img1/<frame>.jpg              hard links to the images (copies across drives)
    <out>/labels_with_ids/<split>/<seq>/img1/<frame>.txt      "0 identity cx cy w h", normalised by the size
    <out>/<name>.<split>                                      the list file, entries relative to <out>
                                                             (recipe key <name>_<split>; a split with
                                                             "_": <name>_train.half for train_half)

Which boxes are kept: rows whose 7th column ("consider") is 0 are dropped, and when an 8th column (class)
exists only class 1 (pedestrian in MOT16/17/20; every box in DanceTrack/SportsMOT/BFT and synthetic gt) is
kept, the rule of the JDE/FairMOT label scripts the CSTrack authors used. MOT15's gt has no class: its
8th-10th columns are world coordinates, -1 where unknown; a sequence whose 8th column is -1 on every row
is read that way (only "consider" filters, as the scripts' MOT15 variant does), and so is a column 8
that is not a whole number on every row. A class outside MOT's 1-13 is warned about, naming its line.
A sequence that would export no box is an error: its images would be listed with empty labels, and the
people in them learned as background; one with boxes on fewer than half its frames is warned about.
Identities are renumbered 1, 2, 3, ... over the whole split in (sequence name, gt id) order, so two
sequences' "id 1" never become one identity of the ID classifier; they start at 1 like those scripts'
labels, because the original's identity mapping (``data.faithful_ids``) reads 0 as "no identity". Every
image gets a label file, empty when it has no box. A box reaching past the frame is written as it is
(its centre may fall outside 0..1, as the scripts write it); training clips boxes to the image (§6.4).
A box wholly outside its frame, or reaching more than a frame past it, is left out with a warning:
training refuses such label rows.
An id twice in one frame is an error naming both lines: the scripts would write both rows and the ID
classifier would learn two people as one identity. (FDTA's training index only warns and leaves such
frames out, the legality rule of its spec.)
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from discmot.data.frames import check_image_size, turned_by_exif
from discmot.data.jde import boxes_out_of_range, label_path_for, list_file_for
from discmot.io.atomic import atomic_write_text, link_or_copy
from discmot.io.mot import (
    check_frames,
    check_positive_sizes,
    check_unique_ids,
    read_mot_table,
    warn_if_normalised,
)
from discmot.io.seqinfo import SeqInfo, read_seqinfo
from discmot.io.sequence_folders import frame_images

log = logging.getLogger(__name__)

#: gt columns (0-based) of the "consider" flag and the class.
CONSIDER_COLUMN, CLASS_COLUMN = 6, 7
PEDESTRIAN_CLASS = 1
#: The largest MOTChallenge class id (13: crowd, added for MOT20; TrackEval's table has 1-13).
MAX_CLASS = 13
#: What a JDE list may name: the original derives label paths by replacing ``.jpg``/``.png`` (spec §6.1).
IMAGE_SUFFIXES = (".jpg", ".png")
#: What the no-box error advises.
NO_BOX_ADVICE = (
    "fix the gt, or leave the sequence out (every image of an exported sequence is a training image, and a "
    "person without a box in it is learned as background)"
)


@dataclass(frozen=True)
class JDEExport:
    """What `export_jde` wrote: the list file, the key a recipe names it by (``data.datasets``), and
    counts (``identities`` = distinct identities)."""

    list_file: Path
    images: int
    boxes: int
    identities: int
    key: str = ""


def list_key(name: str, split: str) -> str:
    """The recipe key (``data.datasets``) of an export: ``<name>_<split>``, e.g. ``mine_train``."""
    return f"{name}_{split}"


def kept_rows(values: np.ndarray, class_column: bool | None = None) -> np.ndarray:
    """Boolean mask of the gt rows that become training boxes (see the module docstring);
    ``class_column``: `has_class_column` of ``values`` when already known."""
    keep = np.ones(len(values), bool)
    if values.shape[1] > CONSIDER_COLUMN:
        keep &= values[:, CONSIDER_COLUMN] != 0
    if has_class_column(values) if class_column is None else class_column:
        keep &= values[:, CLASS_COLUMN] == PEDESTRIAN_CLASS
    return keep


def has_class_column(values: np.ndarray) -> bool:
    """Whether the 8th column is a class: a whole number on every row, not -1 on all of them. In
    MOT15's layout it is a world coordinate: -1 where unknown, and in half of its training sequences
    real positions such as -4.1554. (A class outside MOTChallenge's 1-13 does not make the column a
    coordinate: `odd_class_row` finds it, and only class 1 is kept.)"""
    if values.shape[1] <= CLASS_COLUMN or len(values) == 0:
        return False
    column = values[:, CLASS_COLUMN]
    return bool(np.all(column == np.round(column)) and not np.all(column == -1))


def odd_class_row(values: np.ndarray) -> int | None:
    """The first row (0-based) of a class column whose class is not one of MOTChallenge's 1-13 (a
    0-based or another dataset's class numbering, where class 1 may not mean pedestrian), else None."""
    odd = np.flatnonzero((values[:, CLASS_COLUMN] < 1) | (values[:, CLASS_COLUMN] > MAX_CLASS))
    return int(odd[0]) if len(odd) else None


def label_text(boxes: np.ndarray, identities: np.ndarray, width: int, height: int) -> str:
    """``class identity cx cy w h`` lines for ``(n, 4)`` tlwh pixel boxes (class is always 0)."""
    return "".join(
        f"0 {i} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}\n"
        for i, (cx, cy, w, h) in zip(
            identities.tolist(), normalised_cxcywh(boxes, width, height).tolist(), strict=True
        )
    )


def normalised_cxcywh(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    """``(n, 4)`` tlwh pixel boxes as ``cx, cy, w, h`` fractions of a ``width x height`` image."""
    x, y, w, h = (boxes[:, k] for k in range(4))
    return np.stack([(x + w / 2) / width, (y + h / 2) / height, w / width, h / height], axis=1)


def _frame_images(folder: Path, info: SeqInfo) -> list[tuple[int, Path]]:
    """``(frame number, image)`` of ``folder/img1`` for frames ``1..seqLength``, in frame order.

    Images not named by a frame number are ignored with a warning, numbered ones after ``seqLength`` too
    (the rules of FDTA training's loader). The first image must have ``seqinfo.ini``'s size, since the
    labels are normalised by it.

    Raises:
        FileNotFoundError: a frame up to ``seqLength`` has no image.
        ValueError: a ``.jpeg``/``.JPG`` image (a JDE list cannot name it), or the first image's size is
            not ``seqinfo.ini``'s.
    """
    image_dir = folder / "img1"
    if not image_dir.is_dir():
        raise FileNotFoundError(f"{image_dir}: image folder not found")
    paths = []
    for path in sorted(image_dir.iterdir()):
        if path.suffix in IMAGE_SUFFIXES:
            paths.append(path)
        elif path.suffix.lower() in (*IMAGE_SUFFIXES, ".jpeg"):  # an image the list could not name
            raise ValueError(
                f"{path}: a JDE list can only name .jpg and .png images (their label paths are derived "
                "by replacing that suffix); rename the images"
            )
    if info.length < 1:
        raise ValueError(f"{folder / 'seqinfo.ini'}: seqLength={info.length}: no frames to export")
    images = frame_images(image_dir, paths, info.length, folder / "seqinfo.ini")
    check_image_size(images[0], info.width, info.height, folder / "seqinfo.ini")
    if turned_by_exif(images[0]):
        log.warning(
            "%s: its EXIF orientation turns it; CSTrack training reads frames turned (the original's "
            "cv2.imread), and the boxes are misplaced unless the gt was drawn on the turned picture: "
            "re-save the frames without the orientation tag if it is in the stored pixels",
            images[0],
        )
    return list(enumerate(images, start=1))


def export_jde(sequences: Iterable[Path], out: str | Path, name: str, split: str) -> JDEExport:
    """Writes the JDE layout of ``sequences`` (sequence folders) under ``out``; returns what it wrote.

    Every sequence is read and checked before anything is written, so bad input leaves no partial export.

    Raises:
        FileNotFoundError: a sequence without ``gt/gt.txt`` or ``seqinfo.ini``, or without the image of
            a frame up to ``seqLength``.
        MotFormatError / ValueError: a malformed gt file or ``seqinfo.ini``, images of another size than
            ``seqinfo.ini`` says, ``.jpeg`` images.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"{out}: a file, not a folder for the JDE layout (--out)")
    read = [_read_sequence(folder) for folder in sorted({Path(s) for s in sequences})]
    for sequence in read:
        _check_label_path(sequence.folder, sequence.images[0][1], split)
    empty = [s for s in read if not len(s.table)]
    if empty:  # its images would be listed with empty labels: the people in them trained as background
        raise ValueError(f"no box to export from {empty[0].folder}: {_why_no_box(empty[0])}; {NO_BOX_ADVICE}")
    listed: list[str] = []
    boxes, next_identity = 0, 1
    for folder, info, table, images, *_ in read:
        assert info.width is not None and info.height is not None  # `_read_sequence` refused them missing
        _warn_of_earlier_files(out, split, folder, images)
        gt_ids = np.unique(table[:, 1].astype(np.int64))
        identities = np.searchsorted(gt_ids, table[:, 1].astype(np.int64)) + next_identity
        next_identity += len(gt_ids)
        frames = table[:, 0].astype(np.int64)
        for frame, image in images:
            entry, label_entry = _entries(split, folder, image)
            link_or_copy(image, out / entry)
            rows = frames == frame
            label = out / label_entry
            label.parent.mkdir(parents=True, exist_ok=True)
            text = label_text(table[rows, 2:6], identities[rows], info.width, info.height)
            atomic_write_text(label, text)
            listed.append(entry)
            boxes += int(rows.sum())
    # Named by the rule training reads keys with (`list_file_for`: the last "_" of the key becomes the
    # "."), so that the key is found again: <name>.<split>, except for a split holding "_" (train_half
    # -> <name>_train.half), whose <name>.train_half no key could name.
    key = list_key(name, split)
    list_file = list_file_for(out, key)
    atomic_write_text(list_file, "\n".join(listed) + "\n")
    num_identities = next_identity - 1
    log.info("%s: %d images, %d boxes, %d identities", list_file, len(listed), boxes, num_identities)
    return JDEExport(list_file, len(listed), boxes, num_identities, key)


def _entries(split: str, folder: Path, image: Path) -> tuple[str, str]:
    """An exported image's list entry and its label file, both relative to the export folder."""
    within = f"{split}/{folder.name}/img1"
    return f"images/{within}/{image.name}", f"labels_with_ids/{within}/{image.stem}.txt"


def _warn_of_earlier_files(out: Path, split: str, folder: Path, images: list[tuple[int, Path]]) -> None:
    """Files an earlier export of this sequence left in ``out`` that this one does not write (it had
    more frames): not in the new list, so not trained on, but said rather than deleted silently."""
    entries = [_entries(split, folder, image) for _, image in images]
    written = {out / e for pair in entries for e in pair}
    earlier = []
    for entry in entries[0]:  # the sequence's image folder, then its label folder
        parent = (out / entry).parent
        if parent.is_dir():
            earlier += [p for p in sorted(parent.iterdir()) if p.is_file() and p not in written]
    if earlier:
        log.warning(
            "%s: %d file(s) of an earlier export are not part of this one (e.g. %s): not in the list, so "
            "not trained on; delete them if unwanted",
            folder.name,
            len(earlier),
            earlier[0],
        )


def _check_label_path(folder: Path, image: Path, split: str) -> None:
    """CSTrack training finds a label by replacing ``images`` and ``.jpg``/``.png`` anywhere in the
    image's list entry (the original's rule, `label_path_for`): a sequence or split name holding one of
    them would send it to another file, so it is refused before anything is written."""
    entry, expected = _entries(split, folder, image)
    if label_path_for(entry) != expected:
        raise ValueError(
            f"{folder}: CSTrack training would look for its labels at {label_path_for(entry)}, not "
            f"{expected}: it replaces 'images', '.jpg' and '.png' anywhere in an image's path (as the "
            "original does); rename the sequence (or split) folder"
        )


def _why_no_box(sequence: _Sequence) -> str:
    if not sequence.gt_rows:
        return "its gt file has no rows"
    if sequence.outside:
        return f"each of its {sequence.outside} considered box(es) lies wholly outside its frame"
    classes = ", ".join(str(c) for c in sequence.classes[:5])
    found = f" (its considered rows' classes: {classes})" if classes else ""
    return (
        f"every gt row has consider=0 or a class other than {PEDESTRIAN_CLASS} (pedestrian) in its 7th/8th "
        f"column{found}"
    )


class _Sequence(NamedTuple):
    """One sequence read and checked: its training rows ``table`` ``(n, >= 6)`` of ``gt_rows`` gt rows."""

    folder: Path
    info: SeqInfo
    table: np.ndarray
    images: list[tuple[int, Path]]
    gt_rows: int
    outside: int = 0  # considered boxes left out: wholly outside the frame
    classes: tuple[int, ...] = ()  # the classes of its considered rows, when it exports no box


def _read_sequence(folder: Path) -> _Sequence:
    """One sequence's seqinfo, its training rows and its frame images, all checked."""
    info = read_seqinfo(folder / "seqinfo.ini")
    if info.width is None or info.height is None:
        raise ValueError(f"{folder / 'seqinfo.ini'}: imWidth and imHeight are needed for JDE labels")
    if not (folder / "gt" / "gt.txt").is_file():  # a test split: MOTChallenge publishes no gt for it
        raise FileNotFoundError(
            f"{folder / 'gt' / 'gt.txt'}: not found: jde-export exports annotated boxes, and a test split "
            "has none; export the train split, or leave this sequence out (--sequences)"
        )
    gt = read_mot_table(folder / "gt" / "gt.txt", min_columns=6)
    check_frames(gt, info.length)  # as eval checks a gt file: each error names the file and line
    check_positive_sizes(gt)
    warn_if_normalised(gt)
    check_unique_ids(gt)
    class_column = has_class_column(gt.values)
    keep = kept_rows(gt.values, class_column)
    if len(gt.values) and gt.values.shape[1] > CLASS_COLUMN and not class_column:
        log.info(
            "%s: no class column (MOT15 layout: world coordinates in column 8), every considered box kept",
            gt.path,
        )
    elif class_column and (row := odd_class_row(gt.values)) is not None:
        log.warning(
            "%s:%d: class %d is none of MOTChallenge's 1-13; only class 1 (pedestrian there) is exported, "
            "so check what this file's class numbers mean",
            gt.path,
            row + 1,
            int(gt.values[row, CLASS_COLUMN]),
        )
    table = gt.values[keep]
    outside = boxes_out_of_range(normalised_cxcywh(table[:, 2:6], info.width, info.height))
    if outside.any():
        first = table[np.flatnonzero(outside)[0]]
        log.warning(
            "%s: %d box(es) wholly outside the %dx%d frame (or reaching more than a frame past it) are "
            "not exported, e.g. frame %d id %d",
            gt.path,
            int(outside.sum()),
            info.width,
            info.height,
            int(first[0]),
            int(first[1]),
        )
    images = _frame_images(folder, info)
    table = table[~outside]
    _warn_if_mostly_unlabelled(folder, table, len(images))
    # what the no-box error names (a 0-based class numbering): found only for a sequence that needs it
    classes = _considered_classes(gt.values) if class_column and not len(table) else ()
    return _Sequence(folder, info, table, images, len(keep), int(outside.sum()), classes)


def _considered_classes(values: np.ndarray) -> tuple[int, ...]:
    """The distinct classes (column 8) of the rows not marked consider=0."""
    considered = values[values[:, CONSIDER_COLUMN] != 0]
    return tuple(int(c) for c in np.unique(considered[:, CLASS_COLUMN]))


def _warn_if_mostly_unlabelled(folder: Path, rows: np.ndarray, frames: int) -> None:
    """Every image is exported and trained on, so a sequence annotated on every k-th frame only (or
    whose boxes stop early) teaches its unlabelled people as background: said, naming it."""
    labelled = len(np.unique(rows[:, 0])) if len(rows) else 0
    if rows.size and labelled * 2 < frames:
        log.warning(
            "%s: only %d of its %d frames have a box; every frame is exported, and the people in the "
            "others are learned as background (sparse gt? leave the sequence out or annotate every frame)",
            folder,
            labelled,
            frames,
        )
