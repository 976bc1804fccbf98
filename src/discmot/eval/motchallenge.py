"""MOTChallenge sequences for evaluation: benchmark presets, and loading and validating gt and results.

Spec ``eval.md`` §1.4-1.5 (parsing, checks) and §11 (benchmarks). What is loaded here is preprocessed
by `discmot.eval.preprocess` (§3).

MOTChallenge class ids: 1 pedestrian, 2 person_on_vehicle, 3 car, 4 bicycle, 5 motorbike,
6 non_mot_vehicle, 7 static_person, 8 distractor, 9 occluder, 10 occluder_on_ground, 11 occluder_full,
12 reflection, 13 crowd.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from discmot.io.mot import (
    FRAME,
    MotTable,
    X,
    check_column_count,
    check_frames,
    check_positive_sizes,
    check_unique_ids,
    read_mot_table,
)

PEDESTRIAN = 1
VALID_GT_CLASSES = range(1, 14)
DISTRACTORS = frozenset({2, 7, 8, 12})  # person_on_vehicle, static_person, distractor, reflection


@dataclass(frozen=True)
class BenchmarkPreset:
    """How a benchmark's ground truth is preprocessed before scoring (spec ``eval.md`` §3, §11).

    Attributes:
        name: the benchmark name as given by the user.
        preprocess: False for MOT15: no distractor removal and no class filter (only rows with
            ``conf == 0`` are ignored); True for every other benchmark.
        distractor_classes: gt classes whose matched tracker boxes are removed.
    """

    name: str
    preprocess: bool = True
    distractor_classes: frozenset[int] = DISTRACTORS


#: Named presets. DanceTrack, SportsMOT and BFT are evaluated with TrackEval's MOT17 code path, whose
#: preprocessing is a no-op on their ground truth (every row is ``conf 1, class 1``).
PRESETS: dict[str, BenchmarkPreset] = {
    "MOT15": BenchmarkPreset("MOT15", preprocess=False, distractor_classes=frozenset()),
    "MOT16": BenchmarkPreset("MOT16"),
    "MOT17": BenchmarkPreset("MOT17"),
    "MOT20": BenchmarkPreset("MOT20", distractor_classes=DISTRACTORS | {6}),  # + non_mot_vehicle
    "DanceTrack": BenchmarkPreset("DanceTrack"),
    "SportsMOT": BenchmarkPreset("SportsMOT"),
    "BFT": BenchmarkPreset("BFT"),
}


def benchmark_preset(name: str) -> BenchmarkPreset:
    """The preset of a benchmark name (case-insensitive); other names get MOT17's rules, as in TrackEval."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"benchmark {name!r}: give a name such as MOT17 or DanceTrack")
    for key, preset in PRESETS.items():
        if key.lower() == name.lower():
            return preset
    return BenchmarkPreset(name)


# --------------------------------------------------------------------------------------------------
# Loading


@dataclass(frozen=True)
class FrameGroupedRows:
    """The rows of one MOT file regrouped by frame, keeping file order inside each frame.

    Attributes:
        table: the file's numbers.
        rows: ``(N,)`` indices into ``table.values``, sorted by frame (stable).
        offsets: ``(num_frames + 1,)``; rows of frame ``t`` (0-based) are ``rows[offsets[t]:offsets[t+1]]``.
    """

    table: MotTable
    rows: np.ndarray
    offsets: np.ndarray

    @property
    def path(self) -> Path:
        return self.table.path

    @property
    def num_rows(self) -> int:
        return int(self.rows.size)

    def column(self, index: int) -> np.ndarray:
        """Column ``index`` of the regrouped rows, ``(N,)`` float64."""
        return self.table.values[self.rows, index] if self.num_rows else np.zeros(0)

    def truncated(self, index: int) -> np.ndarray:
        """Column ``index`` truncated to int64, as TrackEval's ``int(float(x))``."""
        return np.trunc(self.column(index)).astype(np.int64)

    def boxes(self) -> np.ndarray:
        """``(N, 4)`` float64 boxes ``x, y, w, h`` (computed once; do not modify)."""
        return self._boxes

    @cached_property
    def _boxes(self) -> np.ndarray:
        return self.table.values[self.rows, X : X + 4] if self.num_rows else np.zeros((0, 4))

    def line(self, position: int) -> int:
        """The file line of regrouped row ``position``."""
        return int(self.rows[position]) + 1


def load_mot_sequence_file(
    path: str | Path, num_frames: int, min_columns: int, what: str, max_frames: int | None = None
) -> FrameGroupedRows:
    """Reads and validates a gt or tracker file of a sequence of ``num_frames`` frames.

    Checks (each a `MotFormatError` naming file and line): parsing (see `read_mot_table`), column
    count, frames in ``1..num_frames``, box width and height > 0, unique ids within each frame. With
    ``max_frames`` the rows of frames ``1..max_frames`` alone are kept (``offsets`` then cover
    ``min(num_frames, max_frames)`` frames): the file as if cut there (`discmot eval --max-frames`); the
    whole file is checked all the same, and lines keep their numbers.
    """
    table = read_mot_table(path)
    check_column_count(table, min_columns, what)
    check_frames(table, num_frames)
    check_positive_sizes(table)
    check_unique_ids(table)
    return group_rows_by_frame(table, num_frames if max_frames is None else min(num_frames, max_frames))


def last_frame(path: str | Path) -> int:
    """The largest (truncated) frame number of a MOT file's rows, 0 for none: the length of a sequence
    without seqinfo.ini (`discmot.data.layouts.SequenceFiles`). Parse errors are raised as by the loaders."""
    table = read_mot_table(path)
    return int(table.truncated(FRAME).max()) if table.num_rows else 0


def group_rows_by_frame(table: MotTable, num_frames: int) -> FrameGroupedRows:
    """Regroups validated rows by (truncated) frame number, stable within a frame; rows after frame
    ``num_frames`` are left out (a file scored over its first frames only, `load_mot_sequence_file`)."""
    if table.num_rows == 0:
        return FrameGroupedRows(table, np.zeros(0, np.int64), np.zeros(num_frames + 1, np.int64))
    frames = table.truncated(FRAME)
    kept = np.flatnonzero(frames <= num_frames)  # indices into the table: lines keep their numbers
    rows = kept[np.argsort(frames[kept], kind="stable")]
    offsets = np.concatenate(([0], np.cumsum(np.bincount(frames[kept] - 1, minlength=num_frames))))
    return FrameGroupedRows(table, rows, offsets)


def load_ground_truth(path: str | Path, num_frames: int, max_frames: int | None = None) -> FrameGroupedRows:
    """Ground truth needs 8 columns: frame, id, box, conf (zero-marked flag), class. ``max_frames``: keep
    frames ``1..max_frames`` only (`load_mot_sequence_file`)."""
    return load_mot_sequence_file(path, num_frames, min_columns=8, what="ground-truth", max_frames=max_frames)


def load_tracker_result(path: str | Path, num_frames: int, max_frames: int | None = None) -> FrameGroupedRows:
    """Tracker results need 7 columns: frame, id, box, conf (conf itself is never used). ``max_frames``:
    keep frames ``1..max_frames`` only (`load_mot_sequence_file`)."""
    return load_mot_sequence_file(path, num_frames, min_columns=7, what="tracker", max_frames=max_frames)
