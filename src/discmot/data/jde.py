"""JDE-format training data for CSTrack (spec ``cstrack.md`` §6.1-6.3), read and validated with numpy.

Layout: an image list file names one image per line, relative to a dataset root; each image has a
``labels_with_ids`` text file with one row ``class identity cx cy w h`` per box, normalised by the image
size. Several datasets are trained together: their identities are shifted into one global range so the
ID classifier sees each person of each dataset as its own class (§6.3).

Every problem is reported before training starts, as a `JDEDataError` (a ``ValueError``) whose message
begins with the file and line at fault. This module imports no torch, so it stays cheap to load.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np

__all__ = [
    "JDEDataError",
    "JDEDatasetSummary",
    "JDEImage",
    "JDEIndex",
    "JDESource",
    "identity_offsets",
    "label_path_for",
    "list_file_for",
    "map_identities",
    "parse_labels",
    "read_image_list",
    "read_labels",
]

#: Columns of a label row: class, identity, cx, cy, w, h.
LABEL_COLUMNS = 6

#: How far (in image sizes) a box corner may lie outside the image. Real MOTChallenge-derived labels
#: keep boxes of people cut by the border unclipped, so corners slightly outside are legitimate; a
#: corner a whole image away means pixel units or a broken converter.
MAX_OUTSIDE = 1.0


class JDEDataError(ValueError):
    """A JDE list or label file is unusable; the message starts with ``file:line``."""


# --------------------------------------------------------------------------------------------------
# Label files (§6.1)


def label_path_for(image_entry: str) -> str:
    """The label file of an image, derived exactly like the original does.

    The original replaces ``images`` by ``labels_with_ids`` and ``.png``/``.jpg`` by ``.txt`` anywhere in
    the string. We apply the replacement to the list entry (the path relative to the dataset root), not
    to the joined path: identical whenever the root does not contain those words, and still right when
    it does (where the original silently looks in the wrong folder).
    """
    return image_entry.replace("images", "labels_with_ids").replace(".png", ".txt").replace(".jpg", ".txt")


def read_labels(path: str | Path) -> np.ndarray:
    """The validated rows of a label file, ``(n, 6)`` float64 ``class, identity, cx, cy, w, h``.

    Raises:
        FileNotFoundError: no such file.
        JDEDataError: a bad row (see `parse_labels`).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise JDEDataError(f"{path}: not a text file ({error})") from None
    return parse_labels(text, str(path))


def parse_labels(text: str, source: str = "<labels>") -> np.ndarray:
    """Parses and validates label text; ``source`` names it in errors.

    Blank lines and ``#`` comments are skipped (as ``numpy.loadtxt``, which the original uses, does).
    Each row must have 6 numbers: an integer class >= 0 (single-class data: its value is not used), an
    integer identity >= 0 or -1 ("no identity"), and a finite box with ``w, h > 0`` that overlaps the
    image and whose corners lie at most `MAX_OUTSIDE` image sizes outside it.

    Returns:
        ``(n, 6)`` float64 rows in file order (``(0, 6)`` for an empty file).

    Raises:
        JDEDataError: naming ``source:line`` and what is wrong with it.
    """
    numbered = [(k, line.split("#", 1)[0].split()) for k, line in enumerate(text.splitlines(), start=1)]
    numbered = [(k, fields) for k, fields in numbered if fields]
    rows = np.empty((len(numbered), LABEL_COLUMNS), np.float64)
    for row, (k, fields) in enumerate(numbered):
        rows[row] = _parse_row(fields, source, k)
    for check in (_check_finite, _check_integers, _check_sizes, _check_range):
        bad, reason = check(rows)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise JDEDataError(f"{source}:{numbered[row][0]}: {reason}: {' '.join(numbered[row][1])!r}")
    return rows


def _parse_row(fields: list[str], source: str, line: int) -> list[float]:
    if len(fields) != LABEL_COLUMNS:
        raise JDEDataError(
            f"{source}:{line}: expected {LABEL_COLUMNS} columns (class identity cx cy w h), "
            f"found {len(fields)}: {' '.join(fields)!r}"
        )
    try:
        return [float(value) for value in fields]
    except ValueError:
        raise JDEDataError(f"{source}:{line}: not a number in {' '.join(fields)!r}") from None


def _check_finite(rows: np.ndarray) -> tuple[np.ndarray, str]:
    return ~np.isfinite(rows).all(axis=1), "NaN or infinite value"


def _check_integers(rows: np.ndarray) -> tuple[np.ndarray, str]:
    cls, identity = rows[:, 0], rows[:, 1]
    bad = (cls != np.trunc(cls)) | (cls < 0) | (identity != np.trunc(identity)) | (identity < -1)
    return bad, "class must be an integer >= 0 and identity an integer >= -1"


def _check_sizes(rows: np.ndarray) -> tuple[np.ndarray, str]:
    return (rows[:, 4] <= 0) | (rows[:, 5] <= 0), "box width and height must be > 0"


def _check_range(rows: np.ndarray) -> tuple[np.ndarray, str]:
    reason = "box out of range (coordinates must be normalised to the image, in [0, 1])"
    return boxes_out_of_range(rows[:, 2:6]), reason


def boxes_out_of_range(boxes: np.ndarray) -> np.ndarray:
    """``(n,)`` bool for normalised ``(n, 4)`` ``cx, cy, w, h`` boxes that training refuses: wholly outside
    the image, or reaching more than one image size past it."""
    low = boxes[:, :2] - boxes[:, 2:] / 2
    high = boxes[:, :2] + boxes[:, 2:] / 2
    outside = (low >= 1) | (high <= 0) | (low < -MAX_OUTSIDE) | (high > 1 + MAX_OUTSIDE)
    # numpy's stubs do not track rank: reducing the (n, 2) array over axis 1 is an (n,) array, never a scalar
    return cast(np.ndarray, outside.any(axis=1))


# --------------------------------------------------------------------------------------------------
# Image list files (§6.2)


def list_file_for(lists_dir: str | Path, key: str) -> Path:
    """The list file of a config key: ``mot17_train`` -> ``<lists_dir>/mot17.train`` (last ``_`` only)."""
    name, sep, split = key.rpartition("_")
    if not sep or not name or not split:
        raise ValueError(f"image list key {key!r} must look like <name>_<split>, e.g. 'mot17_train'")
    return Path(lists_dir) / f"{name}.{split}"


def read_image_list(list_file: str | Path, root: str | Path) -> list[tuple[Path, Path]]:
    """``(image, label)`` paths of a list file's entries, in file order.

    Entries are paths relative to ``root`` (an absolute entry stays absolute, as with ``os.path.join``).
    Blank lines are skipped (the original would turn one into the root folder and fail later).

    Raises:
        FileNotFoundError: the list file is missing.
        JDEDataError: ``list_file:line`` of an entry whose image or label file is missing, or whose
            extension gives no separate label path; a list file that is not UTF-8.
    """
    list_file, root = Path(list_file), Path(root)
    if not list_file.is_file():
        raise FileNotFoundError(f"{list_file}: image list not found")
    try:
        text = list_file.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise JDEDataError(f"{list_file}: not a UTF-8 text file ({error})") from None
    pairs = []
    for line, entry in enumerate(text.splitlines(), start=1):
        entry = entry.strip()
        if entry:
            pairs.append(_entry_paths(entry, root, f"{list_file}:{line}"))
    return pairs


def _entry_paths(entry: str, root: Path, where: str) -> tuple[Path, Path]:
    label_entry = label_path_for(entry)
    if label_entry == entry or not label_entry.endswith(".txt"):
        raise JDEDataError(
            f"{where}: cannot derive a label file from {entry!r} (JDE images end in .jpg or .png and lie "
            "below an 'images' folder, their labels below 'labels_with_ids')"
        )
    image, label = root / entry, root / label_entry
    if not image.is_file():
        raise JDEDataError(f"{where}: image {image} not found")
    if not label.is_file():
        raise JDEDataError(f"{where}: label file {label} of image {image} not found")
    return image, label


# --------------------------------------------------------------------------------------------------
# Identity bookkeeping (§6.3)


def identity_offsets(max_ids: Sequence[int]) -> tuple[list[int], int]:
    """Per-dataset identity offsets and the classifier size from each dataset's largest identity.

    ``n_d = max_id_d + 1`` (0 for a dataset without identities, ``max_id = -1``); ``start_1 = 0``,
    ``start_{d+1} = start_d + n_d``; ``nID = 1 + sum(n_d)``.

    Example: max ids ``(3, -1, 9)`` -> starts ``[0, 4, 4]``, nID ``15``.
    """
    starts, total = [], 0
    for max_id in max_ids:
        starts.append(total)
        total += int(max_id) + 1
    return starts, total + 1


def map_identities(identities: np.ndarray, start: int, faithful: bool = False) -> np.ndarray:
    """Global identities of one dataset's rows; 0 always means "no identity".

    ``faithful=False`` (default, the clean mapping the spec recommends): ``k -> start + k + 1``.
    ``faithful=True`` reproduces the original: ``k -> start + k``, so identity 0 of the first dataset
    collides with "no identity" and is ignored by the ID loss. Either way ``-1 -> 0`` and every result
    is below ``nID`` of `identity_offsets`.
    """
    identities = np.asarray(identities, np.int64)
    shifted = identities + start + (0 if faithful else 1)
    return np.where(identities == -1, 0, shifted)


# --------------------------------------------------------------------------------------------------
# Multi-dataset index


@dataclass(frozen=True)
class JDESource:
    """One training dataset: its image list and the root its entries are relative to."""

    name: str
    list_file: Path
    root: Path


@dataclass(frozen=True)
class JDEImage:
    """One training image.

    Attributes:
        image, label: file paths.
        dataset: position of its dataset in the index.
        labels: ``(n, 6)`` float64 ``class, identity, cx, cy, w, h`` with the global identity
            (0 = none), box normalised to the image.
    """

    image: Path
    label: Path
    dataset: int
    labels: np.ndarray


@dataclass(frozen=True)
class JDEDatasetSummary:
    """Identity bookkeeping of one dataset: its largest local identity (-1: none), n_d and start_d."""

    name: str
    images: int
    boxes: int
    max_id: int
    num_ids: int
    start: int


class JDEIndex:
    """The images of several JDE datasets, in order, with identities mapped to one global range (§6.3).

    ``index[i]`` is a `JDEImage`; ``index.num_identities`` is nID, the ID classifier's size (identities
    run over ``0 .. nID - 1``, 0 meaning none). Datasets are concatenated in the given order, which fixes
    the offsets. Every list and label file is read and validated at construction, so a bad dataset
    fails before training starts.
    """

    def __init__(self, sources: Sequence[JDESource], faithful_ids: bool = False):
        if not sources:
            raise ValueError("a JDE index needs at least one dataset")
        per_dataset = [_read_source(source) for source in sources]
        max_ids = [_max_identity(labels) for _, labels in per_dataset]
        starts, self.num_identities = identity_offsets(max_ids)
        self.faithful_ids = faithful_ids
        self.images: list[JDEImage] = []
        summaries = []
        for d, (source, (pairs, labels)) in enumerate(zip(sources, per_dataset, strict=True)):
            for (image, label), rows in zip(pairs, labels, strict=True):
                rows = rows.copy()
                rows[:, 1] = map_identities(rows[:, 1], starts[d], faithful_ids)
                self.images.append(JDEImage(image, label, d, rows))
            boxes = sum(len(rows) for rows in labels)
            summaries.append(
                JDEDatasetSummary(source.name, len(pairs), boxes, max_ids[d], max_ids[d] + 1, starts[d])
            )
        self.datasets: tuple[JDEDatasetSummary, ...] = tuple(summaries)

    @classmethod
    def from_list(cls, list_file: str | Path, root: str | Path, faithful_ids: bool = False) -> JDEIndex:
        """A one-dataset index, e.g. the synthetic export: ``(<out>/jde/synth_<preset>.train, <out>/jde)``."""
        list_file = Path(list_file)
        return cls([JDESource(list_file.name, list_file, Path(root))], faithful_ids)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> JDEImage:
        return self.images[i]

    def __repr__(self) -> str:
        names = ", ".join(f"{d.name} ({d.images})" for d in self.datasets)
        return f"JDEIndex({len(self)} images, nID={self.num_identities}: {names})"


def _read_source(source: JDESource) -> tuple[list[tuple[Path, Path]], list[np.ndarray]]:
    pairs = read_image_list(source.list_file, source.root)
    return pairs, [read_labels(label) for _, label in pairs]


def _max_identity(labels: list[np.ndarray]) -> int:
    """Largest identity over a dataset's rows, -1 when it has none (the original's starting value)."""
    return int(max((rows[:, 1].max() for rows in labels if len(rows)), default=-1))


#: Suffixes of files that are not JDE image lists (a list is named <name>.<split>).
NOT_LISTS = frozenset(".txt .jpg .jpeg .png .ini .yaml .yml .json .jsonl .csv .md .pt".split())


def check_image_lists(data, data_root: Path, recipe_name: str) -> None:
    """Stops before training when a list file of ``data.datasets`` (``data``: a CSTrack recipe's data
    section) is missing, saying which lists the data root does have and the ``--set`` flags that train on
    them: a ``discmot jde-export`` of one's own data is not what the built-in recipes name (cstrack_tiny
    reads ``jde/synth_mot.train`` and ``jde/synth_dancetrack.train``), and the bare "not found" left the
    user to work out three keys."""
    missing = [source.list_file for source in data.sources(data_root) if not source.list_file.is_file()]
    if not missing:
        return
    where = f"{missing[0]}: image list not found (data.datasets of recipe {recipe_name}, under --data-root)"
    folders = dict.fromkeys([data_root / data.lists_dir, data_root, data_root / "jde"])
    for folder in folders:
        found = image_lists(folder)
        if found:
            raise FileNotFoundError(
                f"{where}; {folder} has {', '.join(p.name for p in found)}: train on "
                f"{'it' if len(found) == 1 else 'them'} with {_set_flags(found, folder, data_root, data)}"
            )
    raise FileNotFoundError(
        f"{where}; no image list in {', '.join(str(f) for f in folders)}: write one from sequence folders "
        "with discmot jde-export --data-root DATASET --split train --out DIR --name NAME, which prints the "
        "command that trains on it"
    )


def image_lists(folder) -> list:
    """The JDE image lists in ``folder``: files named ``<name>.<split>`` whose first entry is a .jpg or
    .png path (read from the first 4 KiB only)."""
    if not folder.is_dir():
        return []
    lists = []
    for path in sorted(folder.iterdir()):
        if not path.is_file() or not path.suffix or path.suffix.lower() in NOT_LISTS:
            continue
        with open(path, "rb") as handle:
            head = handle.read(4096).decode("utf-8", errors="replace").split()
        if head and head[0].lower().endswith((".jpg", ".png")):
            lists.append(path)
    return lists


def _set_flags(lists, folder, data_root, data) -> str:
    """``--set`` flags naming ``lists`` (those of a train split when there are any) in ``folder``: their
    keys, and the list folder and entry root (the lists' folder, as jde-export and synth --jde write
    them) where the recipe's differ."""
    train = [p for p in lists if p.suffix == ".train"] or lists
    keys = ",".join(f"{p.stem}_{p.suffix[1:]}" for p in train)
    relative = os.path.relpath(folder, data_root)
    flags = [f"--set 'data.datasets=[{keys}]'"]
    if os.path.normpath(data.lists_dir) != relative:
        flags.append(f"--set data.lists_dir={relative}")
    with open(train[0], encoding="utf-8", errors="replace") as handle:
        first_entry = handle.readline().strip()
    if os.path.normpath(data.root) != relative and (folder / first_entry).is_file():
        flags.append(f"--set data.root={relative}")
    return " ".join(flags)
