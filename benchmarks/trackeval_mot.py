"""Reference side of the evaluation benchmark: TrackEval 1.3.0 on a MOTChallenge folder, one process.

Takes the same arguments as ``discmot eval`` so both sides of ``bench_eval`` read the same files and do the
same work: parse the ground truth and tracker files, compute HOTA, CLEAR and Identity (Count always runs),
and write the summary and detailed files for every tracker under ``--output-folder``.

Configuration follows TrackEval's own ``scripts/run_mot_challenge.py`` with three changes that keep the
comparison fair: ``USE_PARALLEL`` off (discmot evaluates in one process too), no plots (``bench_eval``
times ``discmot eval`` without ``--plot``, and TrackEval's plots would need matplotlib) and no console
tables (printing is not evaluation; discmot prints only a short summary). Exits non-zero if any tracker
failed to evaluate.

Usage::

    python benchmarks/trackeval_mot.py --gt-folder G --trackers-folder T --output-folder O \\
        --benchmark MOT17 --split train --trackers MoTT DeepSORT
"""

from __future__ import annotations

import argparse
import sys


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line, named like ``discmot eval``'s options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--gt-folder", required=True)
    parser.add_argument("--trackers-folder", required=True)
    parser.add_argument("--output-folder", required=True)
    parser.add_argument("--benchmark", default="MOT17")
    parser.add_argument("--split", default="train")
    parser.add_argument("--trackers", nargs="+", default=None)
    parser.add_argument("--metrics", nargs="+", default=["HOTA", "CLEAR", "Identity"])
    return parser.parse_args(argv)


def configs(args: argparse.Namespace) -> tuple[dict, dict]:
    """TrackEval's evaluator and dataset configs for ``args``."""
    eval_config = {
        "USE_PARALLEL": False,
        "BREAK_ON_ERROR": True,
        "LOG_ON_ERROR": None,  # the default writes error_log.txt inside site-packages
        "PRINT_RESULTS": False,
        "PRINT_CONFIG": False,
        "TIME_PROGRESS": False,
        "OUTPUT_SUMMARY": True,
        "OUTPUT_DETAILED": True,
        "PLOT_CURVES": False,
    }
    dataset_config = {
        "GT_FOLDER": args.gt_folder,
        "TRACKERS_FOLDER": args.trackers_folder,
        "OUTPUT_FOLDER": args.output_folder,
        "TRACKERS_TO_EVAL": args.trackers,
        "BENCHMARK": args.benchmark,
        "SPLIT_TO_EVAL": args.split,
        "PRINT_CONFIG": False,
    }
    return eval_config, dataset_config


def main(argv: list[str] | None = None) -> int:
    """Runs the evaluation; returns 0 when every tracker was evaluated."""
    args = parse_args(argv)
    # Imported here, not at module level, so the harness can import this module for free.
    import trackeval

    eval_config, dataset_config = configs(args)
    metric_classes = {
        "HOTA": trackeval.metrics.HOTA,
        "CLEAR": trackeval.metrics.CLEAR,
        "Identity": trackeval.metrics.Identity,
    }
    metrics = [metric_classes[name]({"THRESHOLD": 0.5, "PRINT_CONFIG": False}) for name in args.metrics]
    evaluator = trackeval.Evaluator(eval_config)
    dataset = trackeval.datasets.MotChallenge2DBox(dataset_config)
    _, messages = evaluator.evaluate([dataset], metrics)
    failed = {tracker: msg for msgs in messages.values() for tracker, msg in msgs.items() if msg != "Success"}
    for tracker, msg in failed.items():
        print(f"trackeval failed on {tracker}: {msg}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
