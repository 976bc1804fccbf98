"""`discmot eval`: TrackEval-exact evaluation of MOTChallenge-format results."""

from __future__ import annotations

import argparse
import logging

from discmot.cli.arguments import positive_int, show_progress

log = logging.getLogger("discmot")

#: ``--metrics`` choices: `discmot.eval.runner.METRICS` but Count, which is always computed; written out
#: here because that module imports scipy; tests/test_cli_arguments.py checks that they agree.
METRIC_FAMILIES = ("HOTA", "CLEAR", "Identity")


EVAL_EPILOG = """\
layouts (detected automatically):
  TrackEval:     GT/<BENCH>-<SPLIT>/<seq>/{gt/gt.txt,seqinfo.ini}, seqmap GT/seqmaps/<BENCH>-<SPLIT>.txt,
                 results TRACKERS/<BENCH>-<SPLIT>/<tracker>/data/<seq>.txt
  dataset root:  ROOT/<split>/<seq>/{gt/gt.txt,seqinfo.ini}, seqmap ROOT/<split>_seqmap.txt (DanceTrack,
                 SportsMOT, BFT); results: a folder of <seq>.txt (one tracker) or of tracker folders
  one pair:      one gt file and one results file (a video's), --gt GT.txt --results RES.txt instead of
                 the folder options; the length is --seq-length, else seqLength of SEQ/seqinfo.ini for a
                 gt SEQ/gt/gt.txt, else the files' last frame; summaries only with --output-folder

part of a sequence: --max-frames N (either form) scores frames 1..N alone, what `discmot track
  --max-frames N` tracked (without it, the gt boxes after frame N count as misses)

examples:
  discmot eval --gt-folder data/gt/mot_challenge --trackers-folder data/trackers/mot_challenge \\
      --benchmark MOT17 --split train
  discmot eval --gt-folder DanceTrack --trackers-folder outputs/val --benchmark DanceTrack --split val
  discmot eval --gt-folder GT --trackers-folder TRACKERS --output-folder outputs/eval --plot
  discmot eval --gt annotations/gt.txt --results outputs/clip.txt --benchmark MOT15
  discmot eval --gt MOT15/train/PETS09-S2L1/gt/gt.txt --results r100.txt --benchmark MOT15 --max-frames 100

Numbers are TrackEval's (trackeval 1.3.0 / git 12c8791) to the last bit; see docs/evaluation.md.
"""


def add_eval(verbs) -> None:
    p = verbs.add_parser(
        "eval",
        help="score tracker results against ground truth (TrackEval-exact HOTA, CLEAR, Identity)",
        description="Score MOTChallenge-format tracker results against ground truth with TrackEval's exact "
        "numbers: HOTA, CLEAR (MOTA...), Identity (IDF1...) and Count.",
        epilog=EVAL_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_folder_options(p.add_argument_group("folders of ground truth and results (layouts below)"))
    _add_pair_options(
        p.add_argument_group(
            "one pair of files (instead of --gt-folder and --trackers-folder: e.g. one video's)"
        )
    )
    _add_scoring_options(p.add_argument_group("scoring"))
    _add_output_options(p.add_argument_group("outputs"))
    _add_trackeval_options(p.add_argument_group("TrackEval compatibility (folder form)"))
    p.set_defaults(run=_run_eval)


def _add_folder_options(group) -> None:
    """The folder form: a benchmark's or dataset's ground truth and one or more trackers' results."""
    group.add_argument("--gt-folder", help="ground-truth folder (TrackEval GT_FOLDER or dataset root)")
    group.add_argument("--trackers-folder", help="tracker results folder (TrackEval TRACKERS_FOLDER)")
    group.add_argument("--split", help="split to evaluate (default: train)")
    group.add_argument(
        "--trackers",
        "--trackers-to-eval",
        nargs="+",
        metavar="NAME",
        help="trackers to evaluate (default: all; TrackEval's TRACKERS_TO_EVAL)",
    )
    group.add_argument(
        "--seqmap",
        "--seqmap-file",
        metavar="FILE",
        help="seqmap file listing the sequences (first line is a header; TrackEval's SEQMAP_FILE)",
    )
    group.add_argument(
        "--sequences",
        nargs="+",
        metavar="NAME",
        help="evaluate only these sequences (instead of a seqmap), e.g. one sequence of a benchmark",
    )


def _add_pair_options(group) -> None:
    """The one-pair form: one gt file and one results file."""
    group.add_argument("--gt", metavar="FILE", help="one ground-truth file (MOTChallenge gt.txt rows)")
    group.add_argument("--results", metavar="FILE", help="one results file, scored against --gt")
    group.add_argument(
        "--seq-length",
        type=positive_int,
        metavar="N",
        help="the sequence's length in frames (default: seqLength of SEQ/seqinfo.ini for a gt "
        "SEQ/gt/gt.txt, else the last frame of the files)",
    )


def _add_scoring_options(group) -> None:
    """How either form is scored: the benchmark's rules, the frames, the metrics, the processes."""
    group.add_argument(
        "--max-frames",
        type=positive_int,
        metavar="N",
        help="score frames 1..N only (what `discmot track --max-frames N` tracked): gt and result rows "
        "after frame N are left out and each sequence is N frames long (or its own length if shorter)",
    )
    group.add_argument(
        "--benchmark",
        default="MOT17",
        help="MOT15, MOT16, MOT17, MOT20, DanceTrack, SportsMOT or BFT (default: MOT17)",
    )
    group.add_argument(
        "--metrics",
        nargs="+",
        default=list(METRIC_FAMILIES),
        type=_metric_name,
        choices=_MetricChoices(METRIC_FAMILIES),
        metavar="METRIC",
        help="metric families: HOTA, CLEAR, Identity (default: all; any case; Count is always computed), "
        "or fields of theirs, e.g. CLR_Re DetA: their families are computed and written, and the table "
        "shows the fields named (with --full: every field)",
    )
    group.add_argument(
        "--workers",
        type=positive_int,
        metavar="N",
        help="evaluate sequences in N processes (default: 1; the folder form's: one pair is one sequence)",
    )


def _add_output_options(group) -> None:
    """The files written and the table printed."""
    group.add_argument(
        "--output-folder",
        metavar="DIR",
        help="write <tracker>/pedestrian_summary.txt and pedestrian_detailed.csv here "
        "(default: each tracker's folder, as TrackEval)",
    )
    group.add_argument("--json", metavar="FILE", help="also write all results as JSON")
    group.add_argument(
        "--plot",
        action="store_true",
        help="also draw <tracker>/pedestrian_plot.png (HOTA, DetA, AssA, ... against alpha) beside each "
        "summary and, for two or more trackers, comparison_deta_assa.png (DetA against AssA with HOTA "
        "iso-lines) in the folder holding the tracker folders (or --output-folder); PNG only, needs HOTA "
        "in --metrics",
    )
    group.add_argument(
        "--no-summaries", action="store_true", help="do not write the per-tracker summary files"
    )
    group.add_argument("--full", action="store_true", help="print every summary field, not the compact table")


def _add_trackeval_options(group) -> None:
    """TrackEval's own layout settings of the folder form, under their TrackEval names."""
    group.add_argument("--skip-split-folder", action="store_true", help="TrackEval's SKIP_SPLIT_FOL")
    group.add_argument("--tracker-sub-folder", help="TrackEval's TRACKER_SUB_FOLDER (default: data)")


class _MetricChoices(tuple):
    """``--metrics``' choices: the families (what help and `test_cli_arguments` list); a field of theirs,
    which `_metric_name` has checked, is in it too."""

    def __contains__(self, name) -> bool:
        return True if isinstance(name, str) else super().__contains__(name)


def _metric_name(name: str) -> str:
    """``--metrics`` values as users type them (``identity``, ``IDF1``, ``clr_re``) -> the family or field
    as TrackEval spells it (``Identity``, ``IDF1``, ``CLR_Re``); a field of Count is refused."""
    from discmot.eval.report import metric_family, metric_name

    try:
        family = metric_family(name)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if family == "Count":
        raise argparse.ArgumentTypeError(
            f"{name!r}: Count is always computed; choose HOTA, CLEAR or Identity"
        )
    return metric_name(name)


#: The options of the folder form, which the one-pair form (--gt, --results) does not take.
FOLDER_OPTIONS = (
    "gt_folder",
    "trackers_folder",
    "split",
    "trackers",
    "seqmap",
    "sequences",
    "skip_split_folder",
    "tracker_sub_folder",
    "workers",  # one pair is one sequence: nothing to share out
)


def _run_eval(args: argparse.Namespace) -> int:
    from discmot.eval import report
    from discmot.eval.runner import evaluate, evaluate_pair

    if _pair_form(args):
        if args.plot and args.output_folder is None:  # (evaluate_pair says so too, naming its arguments)
            raise ValueError(
                "--plot needs --output-folder DIR with --gt and --results: nothing is written beside "
                "one results file, whose folder may hold other results"
            )
        results = evaluate_pair(
            args.gt,
            args.results,
            num_frames=args.seq_length,
            benchmark=args.benchmark,
            metrics=args.metrics,
            output_folder=args.output_folder,
            json_path=args.json,
            plot=args.plot,
            write_summaries=not args.no_summaries,
            max_frames=args.max_frames,
        )
    else:
        results = evaluate(
            args.gt_folder,
            args.trackers_folder,
            benchmark=args.benchmark,
            split="train" if args.split is None else args.split,
            trackers=args.trackers,
            seqmap=args.seqmap,
            sequences=args.sequences,
            metrics=args.metrics,
            workers=1 if args.workers is None else args.workers,
            output_folder=args.output_folder,
            json_path=args.json,
            skip_split_folder=args.skip_split_folder,
            tracker_sub_folder="data" if args.tracker_sub_folder is None else args.tracker_sub_folder,
            write_summaries=not args.no_summaries,
            progress=show_progress(args),
            plot=args.plot,
            max_frames=args.max_frames,
        )
    for tracker, per_sequence in results.items():
        print(report.format_table(per_sequence, args.metrics, tracker, full=args.full))
        print()
    return 0


def _pair_form(args: argparse.Namespace) -> bool:
    """Whether the command line is the one-pair form (--gt, --results) or the folder form; a mix of the
    two, or half of either, is a one-line error naming what to give."""
    if args.gt is None and args.results is None:
        if args.seq_length is not None:
            raise ValueError(
                "--seq-length gives the length of the one sequence of --gt and --results; in the folder "
                "form each sequence's seqinfo.ini gives it"
            )
        missing = [
            flag
            for flag, value in (("--gt-folder", args.gt_folder), ("--trackers-folder", args.trackers_folder))
            if value is None
        ]
        if missing:
            raise ValueError(
                f"give {' and '.join(missing)} (folders of ground truth and results), or --gt and --results "
                "(one file each)"
            )
        return False
    if args.gt is None or args.results is None:
        given, other = ("--gt", "--results") if args.results is None else ("--results", "--gt")
        raise ValueError(
            f"{given} needs {other}: the one-pair form scores one results file against one gt file"
        )
    mixed = [
        "--" + name.replace("_", "-") for name in FOLDER_OPTIONS if getattr(args, name) not in (None, False)
    ]
    if mixed:
        raise ValueError(
            f"--gt and --results score one pair of files, not with the folder form's {', '.join(mixed)} "
            "(--gt-folder, --trackers-folder ...): give one form or the other"
        )
    return True
