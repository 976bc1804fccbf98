"""`discmot demo`: what `make demo` runs."""

from __future__ import annotations

import argparse
import logging

log = logging.getLogger("discmot")


def add_demo(verbs) -> None:
    p = verbs.add_parser(
        "demo",
        help="show discmot at work on bundled or shared data (what `make demo` runs)",
        description="Scores two real MOT17 trackers on the shared MOTChallenge corpus with discmot's "
        "TrackEval-exact evaluator and writes TrackEval-format summaries and JSON. (The tracking demo on "
        "synthetic scenes arrives with the FDTA and CSTrack models.)",
    )
    p.add_argument("--data", metavar="DIR", help="evaluation corpus (default: ../shared/data/evaldata)")
    p.add_argument(
        "--out", default="outputs/demo", metavar="DIR", help="output folder (default: outputs/demo)"
    )
    p.set_defaults(run=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from discmot.eval import report
    from discmot.eval.runner import evaluate

    data = Path(args.data) if args.data else shared_folder() / "data" / "evaldata"
    if not (data / "gt" / "mot_challenge").is_dir():
        raise ValueError(
            f"{data}: evaluation corpus not found (expected gt/mot_challenge and trackers/mot_challenge); "
            "pass --data DIR"
        )
    out = Path(args.out)
    start = time.perf_counter()
    results = evaluate(
        data / "gt" / "mot_challenge",
        data / "trackers" / "mot_challenge",
        benchmark="MOT17",
        split="train",
        output_folder=out,
        json_path=out / "results.json",
    )
    seconds = time.perf_counter() - start
    for tracker, per_sequence in results.items():
        print(report.format_table(per_sequence, None, tracker))
        print()
    sequences = len(next(iter(results.values()))) - 1
    print(
        f"Evaluated {len(results)} trackers x {sequences} MOT17 sequences in {seconds:.2f} s "
        f"(TrackEval-exact HOTA, CLEAR, Identity)."
    )
    print(
        f"Summaries: {out}/<tracker>/pedestrian_summary.txt and pedestrian_detailed.csv; "
        f"all numbers: {out}/results.json"
    )
    return 0


def shared_folder():
    """The project's shared material: $DISCMOT_SHARED, else ``../shared`` beside the checkout or the cwd."""
    import os
    from pathlib import Path

    if os.environ.get("DISCMOT_SHARED"):
        return Path(os.environ["DISCMOT_SHARED"])
    for base in (Path(__file__).resolve().parents[3], Path.cwd()):  # src/discmot/cli/demo.py -> checkout
        if (base.parent / "shared").is_dir():
            return base.parent / "shared"
    return Path.cwd().parent / "shared"
