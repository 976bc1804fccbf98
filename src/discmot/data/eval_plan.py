"""The records of an evaluation's inputs and outputs on disk: `EvalPlan`, its `SequenceFiles`, and the
`LayoutError` raised when the folders do not hold what evaluation needs.

`discmot.data.layouts` (folders) and `discmot.data.eval_file_pair` (one pair of files) build plans;
`discmot.eval` reads them. Paths only (no numpy).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["EvalPlan", "LayoutError", "SequenceFiles"]


class LayoutError(ValueError):
    """The folders do not hold what evaluation needs; the message says what was expected where."""


@dataclass(frozen=True)
class SequenceFiles:
    """One sequence to evaluate: its name, gt file and length (from ``seqinfo.ini``).

    Without ``seqinfo.ini`` (TrackEval stops there) ``num_frames`` is ``None`` and each tracker's results
    are scored as if the sequence ended at the last frame of its images (``last_image``, the largest
    frame number in ``img1/``), its gt rows or those results (`discmot.eval.runner`): frames after the
    last row of both gt and results add nothing to any sum, so every score is that of the true length but
    for the frame counts (Count's ``Frames``, CLEAR's ``CLR_Frames``) and CLEAR's ``FP_per_frame``.
    """

    name: str
    gt_file: Path
    num_frames: int | None
    last_image: int = 0


@dataclass(frozen=True)
class EvalPlan:
    """Everything an evaluation run reads and writes.

    Attributes:
        sequences: in sorted name order (TrackEval's serial order).
        tracker_files: ``{tracker: {sequence: result file}}``.
        output_folders: ``{tracker: folder for pedestrian_summary.txt / pedestrian_detailed.csv}``.
        seqmap: the seqmap file used, if any.
    """

    sequences: list[SequenceFiles]
    tracker_files: dict[str, dict[str, Path]] = field(default_factory=dict)
    output_folders: dict[str, Path] = field(default_factory=dict)
    seqmap: Path | None = None
