"""`discmot show`: a results file drawn over its sequence, with CLEAR's errors marked frame by frame."""

from __future__ import annotations

import argparse

from discmot.cli.arguments import positive_int, show_progress

SHOW_EPILOG = """\
markers (with ground truth: --gt, or SEQUENCE/gt/gt.txt):
  box in its id's colour       matched to a gt box (IoU >= 0.5, CLEAR's matching, as discmot eval)
  red dashed box, "FP 7"       false positive: result box matched to no gt box
  thin white box, "FN 12"      miss: gt box (id 12) matched to no result box
  yellow ring, "IDSW 4->5"     ID switch: the gt box was matched to id 4 at its previous match, now to 5
  grey dashed box              removed by the benchmark's preprocessing (it covers a distractor such as a
                               static person), not scored
  caption: the frame number and the FP, FN and IDSW counted so far in the frames drawn; the last log
  line gives the sequence's totals, which are discmot eval's CLR_FP, CLR_FN and IDSW.
Without ground truth the results are drawn as discmot track --save-video draws them. --results may
also name a results folder, as with a split: the sequence's <seq>.txt in it is drawn.

SOURCE may also be any source discmot track reads (a video file, an image folder, a glob), with the
ground truth given by --gt (an image folder's gt/gt.txt, or SEQ/img1's SEQ/gt/gt.txt, is the default;
a video has none). Frame numbers are the source's own, as discmot track writes them: frame k of a video
is its k-th frame.

a whole split (SPLIT: a folder of sequence folders, as discmot track SPLIT --split-out OUT tracks it):
  --results names a folder of <seq>.txt files (or a tracker folder with data/<seq>.txt, as OUT/<tracker>);
  --out names a folder: one OUT_FOLDER/<seq>.mp4 per sequence with a results file (the others: a warning),
  each against its own SEQ/gt/gt.txt. --worst N draws only the N sequences with the most errors
  (FP + FN + IDSW, discmot eval's CLR_FP + CLR_FN + IDSW), listed in one log line; the run ends with a
  table of every sequence's totals and video. --frames and --gt name one sequence's frames and file: not
  with a split.

examples:
  discmot show MOT17/train/MOT17-05-FRCNN --results outputs/mot17/jde/data/MOT17-05-FRCNN.txt \\
      --out outputs/MOT17-05-errors.mp4
  discmot show MOT17/train/MOT17-05-FRCNN --results res.txt --frames 120-180 --out idsw.mp4
  discmot show MOT17/train/MOT17-05-FRCNN --results res.txt --frames 150 --out frame150.png
  discmot show vtest.avi --results outputs/vtest.txt --gt annotations/gt.txt --out vtest-errors.mp4
  discmot show DanceTrack/val/dancetrack0004 --results val/dancetrack0004.txt --benchmark DanceTrack \\
      --out dance.mp4
  discmot show MOT17/train --results outputs/mot17-train/jde --out outputs/mot17-show
  discmot show MOT17/train --results outputs/mot17-train/jde/data --worst 2 --out outputs/mot17-worst
"""


def add_show(verbs) -> None:
    p = verbs.add_parser(
        "show",
        help="draw a results file over its sequence, marking false positives, misses and ID switches",
        description="Draw a MOTChallenge results file over the frames of its sequence into an H.264 video "
        "(or one frame into an image), or every sequence of a split into a folder of videos. With ground "
        "truth every box is marked by what discmot eval's CLEAR matching made of it: matches, false "
        "positives, misses and ID switches.",
        epilog=SHOW_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "sequence",
        metavar="SOURCE|SEQUENCE|SPLIT",
        help="MOTChallenge sequence folder (seqinfo.ini + img1/), a split (a folder of them), or a source "
        "as discmot track takes it: a video file, an image folder, a glob",
    )
    _add_results_options(p.add_argument_group("the results and their ground truth"))
    _add_output_options(p.add_argument_group("outputs"))
    p.set_defaults(run=_run_show)


def _add_results_options(group) -> None:
    """The results drawn, and the ground truth and rules they are matched with."""
    group.add_argument(
        "--results",
        required=True,
        metavar="FILE|FOLDER",
        help="results file: frame,id,x,y,w,h,...; or a folder of <seq>.txt (or of data/<seq>.txt), with a "
        "split or a sequence (its <seq>.txt there)",
    )
    group.add_argument(
        "--gt",
        metavar="FILE",
        help="ground truth (default: SEQUENCE/gt/gt.txt when it exists, also in an image folder; a video "
        "has none; not with a split)",
    )
    group.add_argument(
        "--benchmark",
        default="MOT17",
        help="preprocessing rules, as discmot eval's: MOT15, MOT16, MOT17, MOT20, DanceTrack, SportsMOT "
        "or BFT (default: MOT17)",
    )


def _add_output_options(group) -> None:
    """Where the video or image goes, and which frames or sequences are drawn."""
    group.add_argument(
        "--out",
        required=True,
        metavar="FILE|FOLDER",
        help="video (.mp4 .m4v .mov .mkv .avi) or, with --frames N, an image (.png .jpg); with a split, "
        "a folder for <seq>.mp4 videos",
    )
    group.add_argument(
        "--frames",
        type=frame_range,
        metavar="A-B",
        help="draw frames A to B only (1-based, inclusive), or one frame N (default: all; not with a split)",
    )
    group.add_argument(
        "--worst",
        type=positive_int,
        metavar="N",
        help="with a split: draw only the N sequences with the most errors (FP + FN + IDSW)",
    )


def frame_range(text: str) -> tuple[int, int]:
    """``A-B`` -> ``(A, B)``; ``N`` -> ``(N, N)``: 1-based frame numbers, ``A <= B``."""
    first, dash, last = text.partition("-")
    try:
        numbers = int(first), int(last if dash else first)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected FIRST-LAST such as 100-200, or one frame N, got {text!r}"
        ) from None
    if numbers[0] < 1 or numbers[1] < numbers[0]:
        raise argparse.ArgumentTypeError(f"frames {text}: give FIRST-LAST with 1 <= FIRST <= LAST")
    return numbers


def _run_show(args: argparse.Namespace) -> int:
    from pathlib import Path

    from discmot.engine.split_folders import is_split_folder
    from discmot.viz.show import show_sequence
    from discmot.viz.show_split import sequence_results, show_split

    if is_split_folder(args.sequence):
        _refuse_with_split(args)
        show_split(
            args.sequence,
            args.results,
            args.out,
            benchmark=args.benchmark,
            worst=args.worst,
            progress=show_progress(args),
        )
        return 0
    if args.worst is not None:
        raise ValueError(
            f"{args.sequence}: --worst picks sequences of a split; this is not a folder of sequences"
        )
    results = Path(args.results)
    if results.is_dir():  # the folder a split is shown from: this sequence's file in it
        source = Path(args.sequence).resolve()
        results = sequence_results(results, source.name if source.is_dir() else source.stem)
    show_sequence(
        args.sequence,
        results,
        args.out,
        gt=args.gt,
        benchmark=args.benchmark,
        frames=args.frames,
        progress=show_progress(args),
    )
    return 0


def _refuse_with_split(args: argparse.Namespace) -> None:
    """``--frames`` and ``--gt`` name one sequence's frames and file: no meaning over a split."""
    if args.frames is not None:
        raise ValueError(
            f"{args.sequence}: --frames draws part of one sequence, and the sequences of a split differ in "
            "length; give one sequence folder"
        )
    if args.gt is not None:
        raise ValueError(
            f"{args.sequence}: --gt names one sequence's ground truth; with a split each sequence's "
            "gt/gt.txt is used"
        )
