"""`discmot interpolate`: short gaps in tracks filled by linear interpolation (`discmot.postprocess`)."""

from __future__ import annotations

import argparse

from discmot.cli.arguments import positive_int

INTERPOLATE_EPILOG = """\
Many papers' MOT17/MOT20 results (ByteTrack, OC-SORT, StrongSORT, MOTRv2) are post-processed this way:
a track missing for a few frames between two of its boxes gets linearly interpolated boxes (and scores)
in those frames; the columns after the score are copied from the earlier box. Gaps longer than
--max-gap (default 20) are left alone. The papers' scripts fill a gap when its two boxes are fewer than
their interval of 20 frames apart (ByteTrack's n_dti, StrongSORT's interval), that is gaps of 1 to 18
missing frames: --max-gap 18 fills those gaps (other steps of their scripts are not reproduced here).
FDTA's and CSTrack's own pipelines do not interpolate: it is a step of its own, between tracking and
evaluation.

Each input row is written back as the text it had; the inserted rows have boxes to 2 decimals. The
output is sorted by frame, then id. Nothing is written over an input: write to another file or folder.

pipeline (track -> interpolate -> eval):
  discmot track MOT17/train --split-out results/ --benchmark MOT17
  discmot interpolate results/jde/data --out results/jde-interpolated/data
  discmot eval --gt-folder MOT17 --trackers-folder results --benchmark MOT17 --split train

one file:
  discmot interpolate MOT17-05.txt --out MOT17-05-interpolated.txt --max-gap 18   # the papers' gaps
"""


def add_interpolate(verbs) -> None:
    p = verbs.add_parser(
        "interpolate",
        help="fill short gaps in tracks with linearly interpolated boxes (post-processing before eval)",
        description="Fill the gaps of up to --max-gap frames in each track of MOTChallenge results with "
        "linearly interpolated rows, for one results file or a folder of <seq>.txt files.",
        epilog=INTERPOLATE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "results",
        metavar="RESULTS",
        help="results file (frame,id,x,y,w,h,score,...), or a folder of <seq>.txt results files",
    )
    p.add_argument(
        "--out",
        required=True,
        metavar="PATH",
        help="output file, or for a folder of results the output folder (one file per input, same names)",
    )
    p.add_argument(
        "--max-gap",
        type=positive_int,
        default=20,
        metavar="N",
        help="fill gaps of 1 to N missing frames (default: 20)",
    )
    p.set_defaults(run=_run_interpolate)


def _run_interpolate(args: argparse.Namespace) -> int:
    from discmot.postprocess import interpolate_results

    interpolate_results(args.results, args.out, max_gap=args.max_gap)
    return 0
