"""`discmot analyze`: embedding diagnostics (similarity statistics, matrices, projections, report)."""

from __future__ import annotations

import argparse
import logging

from discmot.cli.arguments import cosine_threshold, hint_if_cores_busy, positive_int, show_progress, size_hw
from discmot.models.registry import MODEL_KINDS

log = logging.getLogger("discmot")


ANALYZE_EPILOG = """\
what the pictures show:
  histogram.png            cosine similarity between embeddings of two DIFFERENT objects in the same frame,
                           over all frames, and the fraction above the threshold (default 0.9), per view.
                           FDTA (CVPR 2026) reports that over 80% of these similarities exceed 0.9 for DETR
                           embeddings on DanceTrack. For fdta the two views are the same model's decoder
                           output and adapted embedding: not a model with and without adapters, so they
                           say what its adapters do to its own embeddings, not what training with them
                           does (on the demo scene the bundled tiny FDTA's is slightly higher after them).
  fraction_per_frame.png   the same fraction, frame by frame.
  reid.png                 rank-1 re-identification across a gap of 1, 5, 20, 50 frames: is the most
                           similar object that many frames earlier (cosine only, no position) the same
                           object? With the rate of a random pick (chance). Long gaps are what brings an
                           object back after an occlusion.
  matrix_<view>_frame<t>.png
                           cosine similarity between the detections of frame t (rows) and the track
                           templates, the same objects' embeddings at frame t-1 (columns), sorted by id,
                           as CSTrack's Fig. 6 (IEEE TIP 2022): discriminative embeddings give a bright
                           diagonal on a dark background.
  projection_<view>.png    t-SNE of the embeddings coloured by identity (needs the optional scikit-learn:
                           pip install 'discmot[analysis]'; otherwise PCA, labelled as such).
views: fdta "decoder" (DETR decoder outputs, before the adapters) and "adapted" (after the Temporal
Adapter + FFN adapter, what the ID decoder reads for track history); cstrack "reid" (ID embeddings at the
box centres). Identities come from --gt (or SOURCE/gt/gt.txt; SEQ/gt/gt.txt for SEQ/img1): detections
matched to gt boxes by Hungarian on IoU >= 0.5; without gt, from the model's own tracker.

example:
  discmot analyze data/DanceTrack/val/dancetrack0004 --model fdta --weights fdta.pth --frames 10 50 \\
      --out outputs/analyze
"""


def add_analyze(verbs) -> None:
    p = verbs.add_parser(
        "analyze",
        help="embedding diagnostics: different-object similarities, similarity matrices, t-SNE; HTML",
        description="Run FDTA or CSTrack over a video, image folder or sequence and measure how "
        "discriminative its object embeddings are. Writes PNG figures, a self-contained report.html and "
        "summary.json to --out.",
        epilog=ANALYZE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "source", metavar="SOURCE", help="video, image folder, glob or MOTChallenge sequence folder"
    )
    p.add_argument("--model", required=True, choices=MODEL_KINDS, help="network kind of --weights")
    p.add_argument("--weights", required=True, metavar="CKPT", help="FDTA or CSTrack checkpoint (any format)")
    p.add_argument(
        "--gt",
        metavar="FILE",
        help="MOTChallenge gt file (default: SOURCE/gt/gt.txt; for SEQ/img1, SEQ/gt/gt.txt)",
    )
    p.add_argument(
        "--frames",
        type=positive_int,
        nargs="+",
        default=[],
        metavar="T",
        help="frames (1-based) that get a similarity matrix (default: 3 spread over the video)",
    )
    p.add_argument(
        "--input-size",
        type=size_hw,
        metavar="HxW",
        help="network input, height first (default: the checkpoint's: FDTA its resize rule, CSTrack its "
        "input size; recorded in the report, since it changes the embeddings)",
    )
    p.add_argument(
        "--max-frames",
        type=positive_int,
        metavar="N",
        help="analyse frames 1..N only, what `discmot track --max-frames N` tracks (frame numbers, not a "
        "count: images from 000050.jpg on with N=60 are frames 50-60)",
    )
    p.add_argument(
        "--threshold",
        type=cosine_threshold,
        default=0.9,
        help="cosine similarity in [-1, 1]: the fraction of different-object pairs strictly above it is "
        "reported (default: 0.9, the FDTA paper's)",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.set_defaults(run=_run_analyze)


def _run_analyze(args: argparse.Namespace) -> int:
    from discmot.analysis.analyze import analyze
    from discmot.analysis.embeddings import AnalysisConfig

    summary = analyze(
        args.source,
        args.model,
        args.weights,
        args.out,
        gt=args.gt,
        frames=args.frames,
        input_size=args.input_size,
        max_frames=args.max_frames,
        config=AnalysisConfig(similarity_threshold=args.threshold),
        progress=show_progress(args),
        on_start=hint_if_cores_busy,  # after the errors of bad input, before the slow part
    )
    for view, stats in summary["views"].items():
        fraction = stats["fraction_above"]
        shown = "n/a" if fraction is None else f"{fraction:.3f}"
        print(f"{view}: {stats['pairs']} different-object pairs, fraction > {args.threshold:g}: {shown}")
        rates = ", ".join(
            f"{r['lag']}: n/a ({r['reason']})"
            if r["rank1"] is None
            else f"{r['lag']}: {r['rank1']:.3f} (chance {r['chance']:.3f})"
            for r in stats["reid"]
        )
        print(f"{view}: rank-1 re-identification across a gap of (frames) {rates}")
    if summary.get("reid_caveat"):  # the whole caveat was logged as the run started
        print(
            "note: no ground truth, so these rates only say that the embeddings agree with the ids they "
            "helped assign"
        )
    print(f"report: {args.out}/report.html")
    return 0
