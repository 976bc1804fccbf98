"""`discmot demo`: what `make demo` runs."""

from __future__ import annotations

import argparse
import logging

from discmot.cli.arguments import hint_if_cores_busy, show_progress, size_hw
from discmot.models.registry import MODEL_KINDS

log = logging.getLogger("discmot")

DEMO_EPILOG = """\
what it does (no arguments):
  1. renders a synthetic DanceTrack scene held out from training (data/val/dancetrack-val-0000),
  2. tracks it with the bundled tiny FDTA and tiny CSTrack (trained on CPU on synthetic scenes), each
     at its own input size, as discmot track does (FDTA 160x256, CSTrack 192x320; --input-size: both),
  3. scores both with discmot's TrackEval-exact evaluator (metrics.md, metrics.json),
  4. draws both side by side into demo.mp4 (H.264) and demo.gif (a small preview),
  5. writes the embedding diagnostics of each model (analysis/<model>/report.html).

The bundled models are tiny networks trained on small synthetic scenes: on real video they find few
people (docs/model_zoo.md). The bundled CSTrack runs here without the original's pedestrian output
filter (most synthetic dancer boxes are wider than it allows); discmot track applies it by default.

examples:
  discmot demo
  discmot demo --source clip.mp4 --model fdta --weights dancetrack.pth --input-size 800x1440
  discmot demo --source MOT17/train/MOT17-04-SDP --model cstrack --weights cstrack.pt
  discmot demo --eval-corpus ../shared/data/evaldata
"""


#: ``--eval-corpus`` given without a folder: the shared corpus. Not an empty string, which the command
#: line refuses as an unset shell variable.
SHARED_CORPUS = object()
#: The options of the tracking demo, which `--eval-corpus` (scoring existing results) does not use.
TRACKING_OPTIONS = ("--source", "--model", "--weights", "--input-size", "--frames", "--analyze-frames")


def add_demo(verbs) -> None:
    p = verbs.add_parser(
        "demo",
        help="see discmot work: track a held-out synthetic scene with both bundled models (make demo)",
        description="Render a held-out synthetic DanceTrack scene, track it with the bundled tiny FDTA and "
        "CSTrack, evaluate both, and write an annotated MP4, a GIF preview, the metrics table and the "
        "embedding reports to one folder. --source runs the same on your own video or sequence.",
        epilog=DEMO_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        help="output folder (default: outputs/demo; with --eval-corpus outputs/demo-eval-corpus)",
    )
    _add_tracked_options(
        p.add_argument_group("what is tracked (default: the synthetic scene, both bundled models)")
    )
    _add_frame_options(p.add_argument_group("frames"))
    _add_corpus_options(p.add_argument_group("scoring existing results instead of tracking"))
    p.set_defaults(run=_run_demo)


def _add_tracked_options(group) -> None:
    """Your own source, model, weights or input size instead of the demo's."""
    group.add_argument(
        "--source",
        metavar="SOURCE",
        help="your video, image folder or sequence folder instead of the synthetic scene (a sequence "
        "with gt/gt.txt is also scored)",
    )
    group.add_argument(
        "--model",
        choices=MODEL_KINDS,
        help="track with this model only (default: both bundled models)",
    )
    group.add_argument(
        "--weights", metavar="CKPT", help="checkpoint for --model (default: the bundled tiny one)"
    )
    group.add_argument(
        "--input-size",
        type=size_hw,
        metavar="HxW",
        help="network input of every model, height first (default: each model's own, as discmot track "
        "without --input-size: 160x256 for the bundled FDTA on the synthetic scene, 192x320 for the "
        "bundled CSTrack)",
    )


def _add_frame_options(group) -> None:
    """How many frames are tracked and given to the embedding diagnostics."""
    group.add_argument(
        "--frames",
        type=int,
        metavar="N",
        help="frames of the synthetic scene (default: 150), or only the first N frames of --source "
        "(default: all)",
    )
    group.add_argument(
        "--analyze-frames",
        type=int,
        metavar="N",
        help="frames given to the embedding diagnostics (default: 80, enough for their 50-frame gap)",
    )


def _add_corpus_options(group) -> None:
    """The evaluation demo, which scores a corpus's results instead of tracking."""
    group.add_argument(
        "--eval-corpus",
        nargs="?",
        const=SHARED_CORPUS,
        metavar="DIR",
        help="instead: score the real MOT17 trackers of an evaluation corpus (default: "
        "../shared/data/evaldata) with the TrackEval-exact evaluator",
    )


def _run_demo(args: argparse.Namespace) -> int:
    if args.eval_corpus is not None:
        given = [flag for flag in TRACKING_OPTIONS if getattr(args, flag[2:].replace("-", "_")) is not None]
        if given:  # silently ignored, they would read as if the corpus had been tracked with them
            raise ValueError(f"--eval-corpus scores existing results: {', '.join(given)} do not apply")
        corpus = None if args.eval_corpus is SHARED_CORPUS else args.eval_corpus
        return _run_evaluation_demo(corpus, args.out or "outputs/demo-eval-corpus")
    args.out = args.out or "outputs/demo"
    from dataclasses import replace

    from discmot.engine.demo import run_demo
    from discmot.engine.demo_config import DemoConfig, DemoModel, bundled_weights

    if args.weights and not args.model:
        raise ValueError("--weights needs --model (fdta or cstrack)")
    if any(value is not None and value < 2 for value in (args.frames, args.analyze_frames)):
        raise ValueError("--frames and --analyze-frames must be at least 2")
    config = DemoConfig(analyze_frames=args.analyze_frames or DemoConfig.analyze_frames)
    if args.source is None:
        config = replace(config, frames=args.frames or DemoConfig.frames)
    else:
        config = replace(config, source_frames=args.frames)
        if not args.weights:
            log.warning(
                "the bundled models are tiny networks trained on small synthetic scenes: on real video "
                "expect few and misplaced boxes (docs/model_zoo.md); --model and --weights run a real one"
            )
    if args.model:
        config = replace(config, models=(args.model,))
    # None: each model at its own input size, what `discmot track` without --input-size gives
    models = [DemoModel(kind, bundled_weights(kind), args.input_size) for kind in config.models]
    if args.weights:
        models = [DemoModel(args.model, args.weights, args.input_size)]
    summary = run_demo(
        args.out,
        config,
        source=args.source,
        models=models,
        progress=show_progress(args),
        on_start=hint_if_cores_busy,  # once the inputs checked out: before an error it is noise
    )
    _print_summary(summary, args.out)
    return 0


def _print_summary(summary: dict, out: str) -> None:
    from discmot.eval import report

    print(f"source: {summary['source']}")
    for name, run in summary["tracking"].items():
        size = "x".join(str(side) for side in summary["input_size"][name] or ()) or "its own size"
        print(
            f"{name}: tracked {run['frames']} frames, input {size}, at {run['fps']:.1f} fps, {run['ids']} ids"
        )
    if "scores" in summary:
        for name, per_sequence in summary["scores"].items():
            print()
            print(report.format_table(per_sequence, None, name))
        print(summary["table"])
        if summary["rendered"]:
            print(
                f"same numbers from: discmot eval --gt-folder {out}/data --trackers-folder {out}/results "
                "--benchmark DanceTrack --split val"
            )
    for name, fractions in summary["analysis"].items():
        shown = ", ".join(f"{view} {_fraction(value)}" for view, value in fractions.items())
        print(f"{name}: fraction of different-object embedding similarities above 0.9: {shown}")
    if summary.get("not_scored"):
        print(f"not scored: {summary['not_scored']}")
    seconds = sum(summary["seconds"].values())
    print(f"done in {seconds:.0f} s. Files in {out}/:")
    files = _written_files(summary, out)
    column = max(len(name) for name, _ in files)
    for name, what in files:
        print(f"  {name:<{column}}  {what}")


def _written_files(summary: dict, out: str) -> list[tuple[str, str]]:
    """``(path relative to out, what it holds)`` of every file the demo wrote, in the closing list."""
    from pathlib import PurePath

    drawn = f"{summary['mp4_frames']} frames drawn, {summary['gif_frames']} in the GIF"
    files = [("demo.mp4, demo.gif", drawn)]
    if "scores" in summary:
        files.append(("metrics.md, metrics.json", "the table above / every metric"))
    names = {PurePath(run["save_txt"]).name for run in summary["tracking"].values()}
    files.append((f"results/<model>/data/{names.pop() if len(names) == 1 else ''}", "each model's tracks"))
    if summary["rendered"] and "scores" in summary:
        files.append(("results/<model>/pedestrian_plot.png", "HOTA and its parts against alpha"))
        if len(summary["tracking"]) > 1:
            files.append(("results/comparison_deta_assa.png", "the models' DetA against AssA"))
    if summary["rendered"]:
        files.append(("data/", "the rendered scene with its ground truth"))
    for name, path in summary["reports"].items():
        files.append((path.removeprefix(out.rstrip("/") + "/"), f"embedding diagnostics of {name}"))
    files.append(("demo.json", "what ran, with the seconds of each step"))
    return files


def _fraction(value: float | None) -> str:
    return "n/a (fewer than two objects identified per frame)" if value is None else f"{value:.3f}"


def _run_evaluation_demo(corpus: str | None, out_folder: str) -> int:
    import time
    from pathlib import Path

    from discmot.eval import report
    from discmot.eval.runner import evaluate

    data = Path(corpus) if corpus else shared_folder() / "data" / "evaldata"
    if not (data / "gt" / "mot_challenge").is_dir():
        raise ValueError(
            f"{data}: evaluation corpus not found (expected gt/mot_challenge and trackers/mot_challenge); "
            "pass --eval-corpus DIR"
        )
    out = Path(out_folder)
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
