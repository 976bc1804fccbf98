"""Result files that cover less than their sequence: one that ends well before its ground truth
(`early_end`, a run over part of the video) and, under ``max_frames``, gt and result files whose every
row lies after the frames scored. Both are scored as TrackEval scores them, and said."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from discmot.data.layouts import EvalPlan
from discmot.eval.motchallenge import FrameGroupedRows
from discmot.eval.preprocess import SequenceData
from discmot.eval.suspicious import listed

if TYPE_CHECKING:
    from discmot.eval.scoring import Outcome

# The runner's name: users filter evaluation warnings by it, and docs/evaluation.md shows it.
log = logging.getLogger("discmot.eval.runner")


class EarlyEnd(NamedTuple):
    """A result file that stops well before its ground truth (`early_end`): its last frame, the last
    frame with a scored gt box, and the scored gt boxes after its last frame (all misses) of ``gt_boxes``."""

    last_result_frame: int
    last_gt_frame: int
    gt_after: int
    gt_boxes: int


#: `early_end`'s thresholds: the share of the gt boxes after the results' last frame, and how far into the
#: sequence that frame may lie. Real trackers whose last tracks end a few frames before the sequence does
#: stay below both (every tracker of the shared MOTChallenge reference results runs to the last frame);
#: a `--max-frames` run over the first part of a video is far above them.
EARLY_END_GT_SHARE = 0.10
EARLY_END_LENGTH_SHARE = 0.90


def early_end(data: SequenceData, tracker: FrameGroupedRows) -> EarlyEnd | None:
    """How a result file ends early, or None: it ends early when its last frame (a row of the file, also
    one that preprocessing removed) comes before frame ``EARLY_END_LENGTH_SHARE`` x the sequence's length
    (before frame 90 of 100) and at least ``EARLY_END_GT_SHARE`` of the scored gt boxes lie after it. An
    empty file is not one (it has its own warning). Scores are untouched: the boxes after it are misses,
    as TrackEval counts them."""
    with_rows = np.flatnonzero(np.diff(tracker.offsets))
    with_gt = np.flatnonzero(np.diff(data.gt_offsets))
    if with_rows.size == 0 or with_gt.size == 0:
        return None
    last = int(with_rows[-1]) + 1  # 1-based frame number
    after = int(data.gt_offsets[-1] - data.gt_offsets[last])
    if after < EARLY_END_GT_SHARE * data.num_gt_dets or last >= EARLY_END_LENGTH_SHARE * data.num_timesteps:
        return None
    return EarlyEnd(last, int(with_gt[-1]) + 1, after, data.num_gt_dets)


def rows_after_cut(rows: FrameGroupedRows) -> int:
    """The rows of a file that is not empty but has none in the frames scored (``max_frames`` cut every
    one away), else 0: scored as nothing without a word, which the file's size alone does not tell
    (`warn_empty_results` looks at it before any file is read)."""
    return rows.table.num_rows if rows.rows.size == 0 else 0


def warn_endings(plan: EvalPlan, per_sequence: dict[str, dict[str, Outcome]], max_frames: int | None) -> None:
    """The warnings about result files that end early (`early_end`), tracker by tracker and sequence by
    sequence, then, under ``max_frames``, about the files it cut every row away from."""
    for tracker, outcomes_of_tracker in per_sequence.items():
        for sequence, outcome in outcomes_of_tracker.items():
            if outcome.ending is not None:
                _warn_early_end(tracker, sequence, outcome.ending)
    if max_frames is not None:
        _warn_cut_away(plan, per_sequence, max_frames)


def _warn_cut_away(plan: EvalPlan, per_sequence: dict[str, dict[str, Outcome]], max_frames: int) -> None:
    """Under ``max_frames``, a gt or result file with rows but none in frames ``1..max_frames`` is scored
    as an empty one (as TrackEval scores the file cut there) and said like one: a results file of a
    later part of the video, or a ``--max-frames`` smaller than meant. A gt file is said once."""
    for sequence in plan.sequences:
        outcomes = [per_sequence[tracker][sequence.name] for tracker in plan.tracker_files]
        gt_rows = max((outcome.gt_rows_cut_away for outcome in outcomes), default=0)
        if gt_rows:
            log.warning(
                "%s: none of its %s rows lies in frames 1-%d (--max-frames), so every result row there "
                "counts as a false positive",
                sequence.gt_file,
                f"{gt_rows:,}",
                max_frames,
            )
    for tracker, files in plan.tracker_files.items():
        cut_away = [
            f"{files[name]} ({outcome.result_rows_cut_away:,} rows)"
            for name, outcome in per_sequence[tracker].items()
            if outcome.result_rows_cut_away
        ]
        if cut_away:
            log.warning(
                "%s: result file(s) with no row in frames 1-%d (--max-frames), every ground-truth box there "
                "counts as a miss: %s",
                tracker,
                max_frames,
                listed(cut_away),
            )


def _warn_early_end(tracker: str, sequence: str, ending: EarlyEnd) -> None:
    """A result of part of the sequence (``discmot track --max-frames``) scored against all of its gt: the
    numbers are right for the whole sequence but rarely what was meant, so it is said, with the option
    that scores the frames tracked alone."""
    log.warning(
        "%s/%s: results end at frame %d but the ground truth runs to frame %d (%s of %s gt boxes after it "
        "count as misses): a run over part of the sequence (--max-frames N)? eval's --max-frames N scores "
        "frames 1-N alone",
        tracker,
        sequence,
        ending.last_result_frame,
        ending.last_gt_frame,
        f"{ending.gt_after:,}",
        f"{ending.gt_boxes:,}",
    )
