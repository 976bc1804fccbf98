"""The sequence index of FDTA training: per-frame annotations and legality of every sequence.

Layouts (spec ``fdta.md`` §8.1-8.2; DanceTrack, SportsMOT, BFT and ``discmot synth``)::

    <root>/<split>/<seq>/img1/<frame>.jpg     frame numbers 1..length (8 or 6 digits)
    <root>/<split>/<seq>/gt/gt.txt            frame,id,x,y,w,h,... (every row used, category 0)
    <root>/<split>/<seq>/seqinfo.ini          seqLength; absent for BFT (length = number of images)
    <root>/<split>/<seq>/depth/<frame>.png    8-bit pseudo-depth named like its image

CrowdHuman's still images are indexed by `discmot.data.static.StaticImageIndex` into the same records.

A frame is **legal** when it has 1 to 300 boxes with unique ids (§2.10); the sampler only forms clips
of legal frames, so empty or crowded frames are skipped instead of crashing training (a gt with an id
twice in a frame is warned about, naming the line). Missing files, malformed annotations, boxes without
a positive width and height, and a first image whose size is not ``seqinfo.ini``'s raise errors naming
the file when the index is built. Rows that are trained on although they say they are no pedestrian
(``consider`` 0, another class: MOT17's ignore regions) and boxes wholly outside the image are warned
about with their line, and trained on as the original does.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from discmot.data.frames import check_image_size, stored_size
from discmot.data.jde_export import CLASS_COLUMN, CONSIDER_COLUMN, kept_rows
from discmot.data.transforms import MAX_BOXES_PER_FRAME
from discmot.io.mot import (
    FRAME,
    ID,
    H,
    MotFormatError,
    MotTable,
    W,
    X,
    Y,
    check_frames,
    check_positive_sizes,
    check_unique_ids,
    read_mot_table,
    warn_if_normalised,
)
from discmot.io.seqinfo import read_seqinfo
from discmot.io.sequence_folders import sequence_folders, training_frame_images

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SequenceRecord:
    """One sequence (or one static image) and its annotations.

    Attributes:
        name: unique name, ``<split>/<sequence>``.
        image_files: the image of each frame, in frame order (frame number = position + 1).
        boxes: ``(R, 4)`` float64 ``x, y, w, h`` pixels of every annotation, grouped by frame.
        ids: ``(R,)`` int64 track ids, row-aligned with ``boxes``.
        offsets: ``(length + 1,)`` int64: frame k's rows are ``offsets[k]:offsets[k + 1]``.
        legal: ``(length,)`` bool: 1..300 boxes with unique ids.
        static: a still image that the sampler repeats to make a clip (CrowdHuman).
        frame_size: ``(height, width)`` of the first frame, which every frame must have (its gt boxes
            are pixels of it), as `load_sequence` found it; ``None``: not known (not checked).
    """

    name: str
    image_files: tuple[Path, ...]
    boxes: np.ndarray
    ids: np.ndarray
    offsets: np.ndarray
    legal: np.ndarray
    static: bool = False
    frame_size: tuple[int, int] | None = None

    @property
    def length(self) -> int:
        return len(self.image_files)

    def annotations(self, frame: int) -> tuple[np.ndarray, np.ndarray]:
        """``(boxes (n, 4) xywh, ids (n,))`` of 0-based ``frame``."""
        rows = slice(self.offsets[frame], self.offsets[frame + 1])
        return self.boxes[rows], self.ids[rows]

    def depth_file(self, frame: int) -> Path:
        """The depth map of 0-based ``frame``: ``img1/<stem>.jpg`` -> ``depth/<stem>.png``."""
        image = self.image_files[frame]
        return image.parent.parent / "depth" / f"{image.stem}.png"


def records_from_rows(
    name: str,
    image_files: Sequence[Path],
    frames: np.ndarray,
    values: np.ndarray,
    static: bool = False,
    frame_size: tuple[int, int] | None = None,
) -> SequenceRecord:
    """A record from annotation rows: ``frames`` 0-based ``(R,)``, ``values`` ``(R, 5)`` = id, x, y, w, h;
    ``frame_size``: ``(height, width)`` of its frames when known."""
    length = len(image_files)
    order = np.argsort(frames, kind="stable")  # by frame; within a frame the file's order, as the original
    frames, values = frames[order], values[order]
    ids = np.trunc(values[:, 0]).astype(np.int64)
    offsets = np.searchsorted(frames, np.arange(length + 1)).astype(np.int64)
    counts = np.diff(offsets)
    duplicate = np.zeros(length, bool)
    by_id = np.lexsort((ids, frames))  # duplicates become neighbours
    repeated = (frames[by_id][1:] == frames[by_id][:-1]) & (ids[by_id][1:] == ids[by_id][:-1])
    duplicate[frames[by_id][1:][repeated]] = True
    legal = (counts >= 1) & (counts <= MAX_BOXES_PER_FRAME) & ~duplicate
    boxes = values[:, 1:5].copy()
    return SequenceRecord(name, tuple(image_files), boxes, ids, offsets, legal, static, frame_size)


class SequenceIndex:
    """The sequences of one or more dataset splits, with per-frame annotations and legality."""

    def __init__(self, records: Sequence[SequenceRecord]):
        self.records = list(records)

    @classmethod
    def from_root(cls, root: str | Path, split: str, sequences: Sequence[str] | None = None) -> SequenceIndex:
        """Indexes ``<root>/<split>/<seq>`` for every sequence folder (or only ``sequences``).

        Raises:
            FileNotFoundError: the split folder, a sequence folder, its ``img1/`` or an image is missing.
            MotFormatError: ``gt.txt`` or ``seqinfo.ini`` is malformed or names frames out of range.
        """
        base = Path(root) / split
        if not base.is_dir():
            raise FileNotFoundError(missing_split_message(Path(root), split))
        names = sorted(sequences) if sequences is not None else _sequence_names(base)
        if not names:
            raise FileNotFoundError(f"{base}: no sequence folders with an img1/ folder")
        return cls([load_sequence(base / name, f"{split}/{name}") for name in names])

    @classmethod
    def merge(cls, *indices: SequenceIndex) -> SequenceIndex:
        """One index over several (e.g. DanceTrack + CrowdHuman), in the order given."""
        return cls([record for index in indices for record in index.records])

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, sequence: int) -> SequenceRecord:
        return self.records[sequence]

    def missing_depth_files(self) -> list[tuple[Path, Path]]:
        """``(depth map, image)`` pairs whose depth map does not exist (one directory listing per folder)."""
        missing, listed = [], {}
        for record in self.records:
            for frame, image in enumerate(record.image_files):
                depth = record.depth_file(frame)
                if depth.parent not in listed:
                    listed[depth.parent] = set(_listdir(depth.parent))
                if depth.name not in listed[depth.parent]:
                    missing.append((depth, image))
        return missing

    def badly_formatted_depth_files(self) -> list[tuple[Path, str]]:
        """``(depth map, what it is)`` for depth maps that are not 8-bit single-channel PNGs, read from each
        file's PNG header (26 bytes), so that a wrong set fails before training starts. Call it once
        `missing_depth_files` found none."""
        bad = []
        for record in self.records:
            for frame in range(len(record.image_files)):
                depth = record.depth_file(frame)
                kind, size = _png_header(depth)
                if kind != "8-bit grey":
                    bad.append((depth, kind))
                elif (
                    frame == 0
                    and not record.static
                    and size != (image_size := stored_size(record.image_files[0]))
                ):
                    # a whole set made at another size (or from EXIF-turned frames), found mid-epoch
                    # otherwise; one decode a sequence (a still image's map, and each later frame's, is
                    # checked against its image when read)
                    assert size is not None  # `_png_header` reads a size from every PNG it names
                    bad.append((depth, f"{size[0]}x{size[1]}, its image {image_size[0]}x{image_size[1]}"))
        return bad


def missing_split_message(root: Path, split: str) -> str:
    """Why ``root/split`` is not there, and what to pass instead when ``root`` holds sequence folders
    itself (one's own videos with no split level), is a sequence folder, or has other split folders."""
    message = f"{root / split}: split folder not found (expected <root>/<split>/<seq>/img1)"
    if not root.is_dir():
        return message
    if (root / "img1").is_dir():
        return f"{message}; {root} is a sequence folder: the data root holds <split>/<seq> folders"
    if sequence_folders(root):  # the sequences are right here: this folder is a split folder
        named = root.resolve()  # ".", ".." and "seq/.." have no name to give as the split
        flags = f"--data-root {named.parent} --set split={named.name}"
        return f"{message}; {root} holds sequence folders itself: {flags}"
    others = sorted(p.name for p in root.iterdir() if p.is_dir() and sequence_folders(p))
    if others:
        return f"{message}; split folders here: {', '.join(others)} (--set split={others[0]})"
    return message


def _png_header(path: Path) -> tuple[str, tuple[int, int] | None]:
    """``("8-bit grey", (width, height))``, another bit depth / colour type, or ``("not a PNG", None)``,
    from the IHDR chunk."""
    with path.open("rb") as handle:
        head = handle.read(26)
    if len(head) < 26 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return "not a PNG", None
    colour = {0: "grey", 2: "RGB", 3: "palette", 4: "grey + alpha", 6: "RGBA"}.get(head[25], "unknown colour")
    size = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    return f"{head[24]}-bit {colour}", size


def _sequence_names(base: Path) -> list[str]:
    """Sequence folders of a split (`discmot.io.sequence_folders.sequence_folders`)."""
    return [folder.name for folder in sequence_folders(base)]


def _listdir(folder: Path) -> list[str]:
    try:
        return [entry.name for entry in folder.iterdir()]
    except FileNotFoundError:
        return []


def warn_rows_of_other_kinds(table: MotTable) -> None:
    """Warns when gt rows say they are no pedestrian to track (``consider`` 0, or a class other than 1
    in a class column, by `discmot.data.jde_export.kept_rows`' rule): FDTA training, as the original
    (spec §8.1), trains on every row as an object, so MOTChallenge's ignore regions, distractors and
    vehicles, or a CVAT export's other labels, become targets without a word otherwise. Only a warning:
    a class-agnostic tracker of several classes is trained on them on purpose."""
    other = np.flatnonzero(~kept_rows(table.values)) if table.num_rows else np.zeros(0, np.int64)
    if not other.size:
        return
    row = int(other[0])
    consider = table.values[row, CONSIDER_COLUMN]
    what = f"consider={consider:g}" if consider == 0 else f"class={table.values[row, CLASS_COLUMN]:g}"
    log.warning(
        "%s:%d: %d of %d rows have consider=0 or a class other than 1 (this one %s) and are trained on as "
        "objects to track, like every row (as the original FDTA); delete them from gt.txt if they are "
        "not (MOT17's ignore regions, distractors and vehicles are not)",
        table.path,
        row + 1,
        other.size,
        table.num_rows,
        what,
    )


def warn_boxes_outside(table: MotTable, width: int, height: int) -> None:
    """Warns about boxes that do not overlap the ``width x height`` image at all (an annotation or
    coordinate mistake: gt in another frame size, or normalised); a box partly outside, a person at
    the border, is normal. Trained on as they are, as the original does."""
    if not table.num_rows:
        return
    x, y, w, h = (table.values[:, column] for column in (X, Y, W, H))
    outside = np.flatnonzero((x >= width) | (y >= height) | (x + w <= 0) | (y + h <= 0))
    if outside.size:
        row = int(outside[0])
        log.warning(
            "%s:%d: %d box(es) lie wholly outside the %dx%d image (this one x=%g y=%g w=%g h=%g); they are "
            "trained on as they are: check that the gt is in pixels of these images",
            table.path,
            row + 1,
            outside.size,
            width,
            height,
            *(table.values[row, column] for column in (X, Y, W, H)),
        )


def load_sequence(folder: Path, name: str) -> SequenceRecord:
    """Reads one sequence folder: images by frame number, ``gt/gt.txt``, length from ``seqinfo.ini``."""
    image_dir, info = folder / "img1", folder / "seqinfo.ini"
    if not image_dir.is_dir():
        raise FileNotFoundError(f"{image_dir}: image folder not found")
    seqinfo = read_seqinfo(info) if info.is_file() else None
    images = training_frame_images(image_dir, seqinfo, info)  # .jpg (the original's) or imExt=.png
    if seqinfo is not None and images:
        check_image_size(images[0], seqinfo.width, seqinfo.height, info)
    table = read_mot_table(folder / "gt" / "gt.txt", min_columns=6)
    check_frames(table, len(images))
    check_positive_sizes(table)
    warn_if_normalised(table)
    try:
        check_unique_ids(table)
    except MotFormatError as error:  # not an error: the legality rule leaves such frames out (spec 2.10)
        log.warning("%s; clips over frames with an id twice are not trained on", error)
    warn_rows_of_other_kinds(table)
    frame_size = None
    if images:  # the first image's size: seqinfo's (checked above) or its own
        width, height = (
            (seqinfo.width, seqinfo.height)
            if seqinfo is not None and seqinfo.width and seqinfo.height
            else stored_size(images[0])
        )
        warn_boxes_outside(table, width, height)
        frame_size = (height, width)
    frames, values = table.truncated(FRAME) - 1, table.values[:, ID : ID + 5]
    return records_from_rows(name, images, frames, values, frame_size=frame_size)
