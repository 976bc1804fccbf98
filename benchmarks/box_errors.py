"""Where a tracker's boxes miss: the overlap and the signed error of each box side, by gt visibility.

Per frame, result boxes and gt boxes (rows with the "consider" flag 1) are paired one to one by a
Hungarian assignment maximising IoU, as `oracle_ids` pairs them; pairs with IoU >= ``min_iou`` count.
For each pair the error of the result box ``(x, y, w, h)`` against its gt box is taken relative to the
gt box's size: ``dx = (x - x_gt) / w_gt``, ``dy = (y - y_gt) / h_gt``, ``dw = (w - w_gt) / w_gt``,
``dh = (h - h_gt) / h_gt``. Pairs are grouped by the gt row's visibility (column 9). A mean ``dw``
above 0 with ``dx`` about ``-dw / 2`` says boxes are too wide on both sides; HOTA's localisation
accuracy (LocA) is the mean IoU of the matches, so this says which side of the box loses it. The
correlation of the result boxes' aspect ratio (w / h) with their gt boxes' says whether the boxes follow
the objects' changing shape (1: exactly; 0: not at all), e.g. a dancer's arms spreading and falling.

Run: ``python benchmarks/box_errors.py RESULTS_DIR GT_SPLIT_DIR`` (``RESULTS_DIR/<seq>.txt``, gt at
``GT_SPLIT_DIR/<seq>/gt/gt.txt``). Only for analysis: the pairing reads the ground truth.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from discmot.io.mot import read_mot_table
from discmot.io.mot_results import read_results_by_frame, rows_by_frame
from iou_tracker import iou_matrix

VISIBILITY_BINS = (0.0, 0.5, 0.8, 1.01)  # last edge above 1: visibility 1.0 falls in the last bin


@dataclass(frozen=True)
class BoxErrors:
    """Paired boxes of one visibility bin: ``count`` pairs, their mean IoU, per side ``(dx, dy, dw, dh)``
    the mean signed (``bias``) and mean absolute (``spread``) relative error, and the correlation of
    result and gt aspect ratios (``aspect_correlation``; NaN for fewer than 2 pairs or a constant one)."""

    low: float
    high: float
    count: int
    mean_iou: float
    bias: tuple[float, float, float, float]
    spread: tuple[float, float, float, float]
    aspect_correlation: float


def paired_errors(result_file: Path, gt_file: Path, min_iou: float = 0.5) -> np.ndarray:
    """``(P, 7)`` rows ``visibility, iou, dx, dy, dw, dh, gt w / h``, one per paired result and gt box."""
    gt = read_mot_table(gt_file, min_columns=9).values
    gt = gt[gt[:, 6] != 0]
    gt_by_frame = rows_by_frame(gt)
    rows = [np.zeros((0, 7))]
    for frame, (_, boxes, _) in read_results_by_frame(result_file).items():
        truth = gt_by_frame.get(frame)
        if truth is None or len(boxes) == 0:
            continue
        overlap = iou_matrix(boxes, truth[:, 2:6])
        result_rows, gt_rows = linear_sum_assignment(-overlap)
        kept = overlap[result_rows, gt_rows] >= min_iou
        result_rows, gt_rows = result_rows[kept], gt_rows[kept]
        gt_boxes = truth[gt_rows, 2:6]
        scale = np.concatenate([gt_boxes[:, 2:], gt_boxes[:, 2:]], axis=1)
        errors = (boxes[result_rows] - gt_boxes) / scale
        aspect = gt_boxes[:, 2] / gt_boxes[:, 3]
        rows.append(np.column_stack([truth[gt_rows, 8], overlap[result_rows, gt_rows], errors, aspect]))
    return np.concatenate(rows)


def box_errors(pairs: np.ndarray, edges: tuple[float, ...] = VISIBILITY_BINS) -> list[BoxErrors]:
    """`paired_errors` rows summarised per visibility bin ``[edges[i], edges[i + 1])``; empty bins kept."""
    summary = []
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        in_bin = pairs[(pairs[:, 0] >= low) & (pairs[:, 0] < high)]
        if len(in_bin):
            bias = tuple(float(v) for v in in_bin[:, 2:6].mean(0))
            spread = tuple(float(v) for v in np.abs(in_bin[:, 2:6]).mean(0))
            mean_iou = float(in_bin[:, 1].mean())
        else:
            bias = spread = (float("nan"),) * 4
            mean_iou = float("nan")
        summary.append(
            BoxErrors(low, min(high, 1.0), len(in_bin), mean_iou, bias, spread, _aspect_correlation(in_bin))
        )
    return summary


def _aspect_correlation(pairs: np.ndarray) -> float:
    """Pearson correlation of result and gt aspect ratios over `paired_errors` rows ``pairs``."""
    gt_aspect = pairs[:, 6]
    result_aspect = gt_aspect * (1 + pairs[:, 4]) / (1 + pairs[:, 5])
    if len(pairs) < 2 or gt_aspect.std() == 0 or result_aspect.std() == 0:
        return float("nan")
    return float(np.corrcoef(gt_aspect, result_aspect)[0, 1])


def format_table(summary: list[BoxErrors]) -> str:
    """A markdown table of `box_errors`."""
    lines = [
        "| gt visibility | pairs | mean IoU | bias dx / dy / dw / dh | mean abs. dx / dy / dw / dh "
        "| w/h corr. |",
        "|---|---|---|---|---|---|",
    ]
    for row in summary:
        bias = " / ".join(f"{v:+.3f}" for v in row.bias)
        spread = " / ".join(f"{v:.3f}" for v in row.spread)
        lines.append(
            f"| {row.low:.1f}-{row.high:.1f} | {row.count} | {row.mean_iou:.3f} | {bias} | {spread} "
            f"| {row.aspect_correlation:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False
    )
    parser.add_argument("results", type=Path, help="folder of <seq>.txt result files")
    parser.add_argument("gt_split", type=Path, help="split folder with <seq>/gt/gt.txt")
    parser.add_argument("--min-iou", type=float, default=0.5, help="pairs below this IoU are not counted")
    args = parser.parse_args(argv)
    results = sorted(args.results.glob("*.txt"))
    if not results:
        parser.error(f"no result files (*.txt) in {args.results}")
    pairs = [paired_errors(r, args.gt_split / r.stem / "gt" / "gt.txt", args.min_iou) for r in results]
    for result, sequence_pairs in zip(results, pairs, strict=True):
        print(f"{result.stem}\n{format_table(box_errors(sequence_pairs))}\n")
    print(f"all sequences\n{format_table(box_errors(np.concatenate(pairs)))}")


if __name__ == "__main__":
    main()
