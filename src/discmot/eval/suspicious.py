"""Warnings about suspicious evaluation input and results: empty gt or result files, and trackers whose
boxes never match the ground truth. The numbers stay TrackEval's; these only say what is likely a mistake."""

from __future__ import annotations

import logging
from pathlib import Path

from discmot.data.layouts import EvalPlan
from discmot.eval.fields import ALPHAS
from discmot.messages import listed_all

# The runner's name: users filter evaluation warnings by it, and docs/evaluation.md shows it.
log = logging.getLogger("discmot.eval.runner")


def warn_empty_ground_truth(plan: EvalPlan) -> None:
    """An empty gt file is scored (as TrackEval does: every result row a false positive, MOTA of the
    combined sequences can fall far below 0) but is more often a copying mistake than a scene without
    people, so it is said."""
    for sequence in plan.sequences:
        gt_file = Path(sequence.gt_file)
        if gt_file.stat().st_size == 0:  # (blank lines alone are the loader's error: no delimiter)
            log.warning(
                "%s: empty: no ground-truth object in the whole sequence, so every result row counts as "
                "a false positive",
                sequence.gt_file,
            )


def listed(names: list[str], limit: int = 5) -> str:
    """``a, b, c`` or ``a, b, c, d, e and 7 more``: names in a one-line message."""
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown} and {len(names) - limit} more"


def warn_empty_results(plan: EvalPlan) -> None:
    """An empty result file is valid (TrackEval scores it: every gt box a miss) but is as often a crashed
    run as a sequence without detections; one warning per tracker names its empty files."""
    for tracker, files in plan.tracker_files.items():
        empty = [str(path) for _, path in sorted(files.items()) if Path(path).stat().st_size == 0]
        if empty:
            log.warning(
                "%s: empty result file(s), every ground-truth box there counts as a miss: %s",
                tracker,
                listed(empty),
            )


#: Index of alpha 0.5 in HOTA's per-alpha arrays: HOTA_TP there counts matches at IoU >= 0.5.
_ALPHA_HALF = int(abs(ALPHAS - 0.5).argmin())


def _matches(result: dict) -> int | None:
    """Matched boxes (IoU >= 0.5) of one sequence's result, from whichever family was computed (None:
    only Count, which cannot tell)."""
    if "CLEAR" in result:
        return result["CLEAR"]["CLR_TP"]
    if "Identity" in result:  # IDTP > 0 needs a pair at IoU >= 0.5, as CLR_TP does
        return result["Identity"]["IDTP"]
    if "HOTA" in result:
        return int(result["HOTA"]["HOTA_TP"][_ALPHA_HALF])
    return None


def _zero_scores(families) -> str:
    """What no match at IoU >= 0.5 does to the families computed, in words: CLEAR and Identity match only
    there; HOTA also matches at its lower IoU thresholds (alpha < 0.5), so it stays above 0."""
    zero = [field for family, field in (("CLEAR", "MOTP"), ("Identity", "IDF1")) if family in families]
    parts = [f"{' and '.join(zero)} {'is' if len(zero) == 1 else 'are'} 0"] if zero else []
    if "CLEAR" in families:
        parts.append("MOTA counts every result box as a false positive")
    if "HOTA" in families:
        parts.append("HOTA and DetA count only the matches at IoU thresholds below 0.5")
    return listed_all(parts) if parts else ""


def warn_unmatched(results: dict) -> None:
    """A tracker whose boxes never overlap the gt at IoU >= 0.5 scores 0 in CLEAR and Identity (and near
    0 in HOTA): faithful numbers, but nearly always a mistake in its files (another sequence's results,
    0-based frames shifted, corners instead of width/height), so the sequences where it happens are
    named, with what it does to the scores (the table may show HOTA above 0). ``results``:
    ``{tracker: {sequence: metrics}}`` without the combined row (`evaluate_files` scores a sequence
    named COMBINED too)."""
    for tracker, per_sequence in results.items():
        unmatched = [
            sequence
            for sequence, result in per_sequence.items()
            if result["Count"]["Dets"] > 0 and result["Count"]["GT_Dets"] > 0 and _matches(result) == 0
        ]
        if unmatched:
            effect = _zero_scores(per_sequence[unmatched[0]])
            log.warning(
                "%s: no result box matches a ground-truth box at IoU >= 0.5 in %s%s; results of another "
                "sequence, frames counted from 0, or boxes not <left>,<top>,<width>,<height>?",
                tracker,
                listed(unmatched),
                f", so there {effect}" if effect else "",
            )
