"""Detections computed beforehand, served frame by frame like a detector's output.

Two files are read:

* a MOTChallenge ``det.txt``: rows ``frame, id, x, y, w, h, score[, ...]`` (7 or more columns, the
  extra ones ignored), e.g. the public detections of MOT15/MOT17;
* a ``.npy`` float array whose rows are the same 7 columns followed by an appearance vector, as Deep SORT's
  ``generate_detections.py`` writes them (``MOT17-05-FRCNN.npy``: 7 + 128 columns).

Every row is checked once when loading; a bad row stops with a `MotFormatError` naming the file and the
line (text) or row (npy) and what is wrong, rather than surfacing later as a wrong track.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from discmot.io.mot import CONF, FRAME, H, MotFormatError, W, X, read_mot_table
from discmot.structures import Detections

#: Columns before the appearance vector: frame, id, x, y, w, h, score.
DET_COLUMNS = 7
#: A full MOTChallenge row: the det columns and three -1 world coordinates.
MOT_COLUMNS = 10


class PrecomputedDetections:
    """All detections of one sequence, indexed by frame number.

    ``detections[frame]`` gives that frame's `Detections` (an empty one for a frame without rows), with
    embeddings when the file had them (float32, as stored: not re-normalised).

    Args:
        frames: ``(N,)`` int64 frame number of each row (1-based).
        boxes: ``(N, 4)`` float64 ``tlwh`` boxes.
        scores: ``(N,)`` float64 scores.
        embeddings: ``(N, D)`` float32 appearance vectors, or ``None``.
    """

    def __init__(
        self, frames: np.ndarray, boxes: np.ndarray, scores: np.ndarray, embeddings: np.ndarray | None = None
    ):
        # Files need not be sorted (MOT17's public det.txt is not); a stable sort keeps the row order
        # within a frame, so detection i of a frame is the i-th row of that frame in the file.
        order = np.argsort(frames, kind="stable")
        self._row_frames = np.asarray(frames, dtype=np.int64)[order]
        self._boxes = np.asarray(boxes, dtype=np.float64)[order]
        self._scores = np.asarray(scores, dtype=np.float64)[order]
        self._embeddings = None if embeddings is None else np.asarray(embeddings, dtype=np.float32)[order]

    @classmethod
    def from_mot(cls, path: str | Path, min_score: float | None = None) -> PrecomputedDetections:
        """Reads a MOTChallenge ``det.txt``; rows scoring below ``min_score`` are dropped."""
        table = read_mot_table(path, min_columns=DET_COLUMNS)
        values = table.values
        _check_det_rows(values, lambda row, message: MotFormatError(path, message, line=row + 1))
        return cls._from_rows(values, None, min_score)

    @classmethod
    def from_npy(cls, path: str | Path, min_score: float | None = None) -> PrecomputedDetections:
        """Reads a ``(N, 7 + D)`` ``.npy`` of det rows and appearance vectors; see `from_mot`."""
        values = _load_npy_rows(Path(path))
        _check_det_rows(values, lambda row, message: MotFormatError(path, f"row {row} (0-based): {message}"))
        return cls._from_rows(values[:, :DET_COLUMNS], values[:, DET_COLUMNS:], min_score)

    @classmethod
    def _from_rows(
        cls, rows: np.ndarray, embeddings: np.ndarray | None, min_score: float | None
    ) -> PrecomputedDetections:
        if min_score is not None:
            confident = rows[:, CONF] >= min_score
            rows = rows[confident]
            embeddings = None if embeddings is None else embeddings[confident]
        return cls(rows[:, FRAME].astype(np.int64), rows[:, X : H + 1], rows[:, CONF], embeddings)

    @property
    def frames(self) -> np.ndarray:
        """Sorted ``(F,)`` int64 frame numbers that have at least one detection."""
        return np.unique(self._row_frames)

    @property
    def num_frames_hint(self) -> int:
        """The last frame with a detection (0 when there are none): a lower bound on the sequence length."""
        return int(self._row_frames[-1]) if len(self._row_frames) else 0

    @property
    def num_rows(self) -> int:
        """Number of detections over all frames."""
        return len(self._row_frames)

    @property
    def embedding_dim(self) -> int | None:
        """``D`` when the file had appearance vectors, else ``None``."""
        return None if self._embeddings is None else self._embeddings.shape[1]

    def __getitem__(self, frame: int) -> Detections:
        """The detections of 1-based ``frame`` (copies: callers may modify them)."""
        start, stop = np.searchsorted(self._row_frames, [frame, frame + 1])
        if start == stop:
            return Detections.empty(self.embedding_dim)
        rows = slice(start, stop)
        embeddings = None if self._embeddings is None else self._embeddings[rows].copy()
        return Detections(self._boxes[rows].copy(), self._scores[rows].copy(), embeddings)


def load_precomputed(path: str | Path, min_score: float | None = None) -> PrecomputedDetections:
    """`PrecomputedDetections.from_npy` for a ``.npy`` file, `PrecomputedDetections.from_mot` for ``.txt``."""
    path = Path(path)
    if path.suffix.lower() == ".npy":
        return PrecomputedDetections.from_npy(path, min_score)
    if path.suffix.lower() == ".txt":
        return PrecomputedDetections.from_mot(path, min_score)
    raise MotFormatError(path, "expected a MOTChallenge det .txt or a .npy of det rows + features")


def _load_npy_rows(path: Path) -> np.ndarray:
    """The file's ``(N, 7 + D)`` float64 array, with a clear error for anything else."""
    try:
        # allow_pickle=False: an object array from an untrusted file must not run code when loaded.
        values = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise MotFormatError(path, "file not found") from None
    except (ValueError, OSError, EOFError) as error:
        raise MotFormatError(path, f"not a readable .npy array ({error})") from None
    expected = f"a 2-d numeric array of {DET_COLUMNS} MOT det columns followed by a feature vector"
    if not isinstance(values, np.ndarray) or values.dtype.kind not in "fiu" or values.ndim != 2:
        shape = getattr(values, "shape", None)
        raise MotFormatError(
            path, f"expected {expected}, found {getattr(values, 'dtype', type(values))} {shape}"
        )
    if values.shape[1] <= DET_COLUMNS and values.shape[0]:
        raise MotFormatError(
            path, f"expected {expected} (more than {DET_COLUMNS} columns), found {values.shape}"
        )
    if values.shape[1] == MOT_COLUMNS and len(values) and np.all(values[:, DET_COLUMNS:] == -1):
        raise MotFormatError(
            path,
            f"columns {DET_COLUMNS + 1}-{MOT_COLUMNS} are MOTChallenge's -1 placeholders, not appearance "
            "features: a .npy holds det rows followed by features; keep plain detections in a .txt",
        )
    values = values.astype(np.float64).reshape(-1, max(values.shape[1], DET_COLUMNS + 1))
    bad = np.argwhere(~np.isfinite(values))
    if bad.size:
        row, column = (int(i) for i in bad[0])
        raise MotFormatError(
            path, f"row {row} (0-based): column {column + 1} is {values[row, column]} (not finite)"
        )
    return values


def _check_det_rows(values: np.ndarray, error) -> None:
    """Raises ``error(row, message)`` for the first row with a bad frame number or a non-positive size."""
    frames = values[:, FRAME]
    bad_frame = (frames < 1) | (frames != np.floor(frames))
    bad_size = (values[:, W] <= 0) | (values[:, H] <= 0)
    bad = np.flatnonzero(bad_frame | bad_size)
    if not bad.size:
        return
    row = int(bad[0])
    if bad_frame[row]:
        raise error(row, f"frame {frames[row]:g} is not a frame number (integers from 1)")
    raise error(row, f"box width and height must be > 0, found w={values[row, W]:g} h={values[row, H]:g}")
