#!/usr/bin/env python
"""FDTA trained from scratch on the CPU: the `tiny` recipe on synthetic DanceTrack, scored on held-out
sequences, and the adapter mini-ablation (issue 6). Too long for ``make bench`` (tens of minutes per
run), so it is a script of its own; it writes the ``fdta_ablation`` section of docs/benchmarks.md.

1. ``discmot synth --preset dancetrack``: ``--train-sequences`` training sequences and 2 validation
   sequences (other seeds: splits never share scenes) of 150 frames at 256x160.
2. ``discmot train --config tiny`` for each variant (baseline without adapters, one adapter each, all
   three) and seed, timed.
3. ``discmot track <val> --model fdta`` at the largest training size, then ``discmot.evaluate``: HOTA,
   DetA, AssA, IDF1, MOTA on the held-out sequences, and the paper's diagnosis (`fdta_embeddings`): the
   fraction of different-object embedding pairs in a frame with cosine similarity > 0.9; and the HOTA
   of the same boxes with the ground truth's identities and with a plain IoU tracker's (`oracle_ids`):
   the ceiling of a perfect association on that variant's detections, and what overlap alone gives.

    python benchmarks/fdta_ablation.py                                  # the whole ablation, seed 3407
    python benchmarks/fdta_ablation.py --variants full --epochs 5       # the reference run alone
    python benchmarks/fdta_ablation.py --seeds 1 2 --epochs 2 --dir runs/ablation   # shorter, kept
    python benchmarks/fdta_ablation.py --variants +SA --seeds 1 --set train.lr=2e-4 --dir runs/ablation
    python benchmarks/fdta_ablation.py --seeds 3407 1 --finished-only --dir runs/old --dir runs/new

Runs already finished in ``--dir`` (their ``model.safetensors`` exists) are not retrained and their scores
are reused, so an interrupted ablation continues where it stopped, and several instances with different
``--seeds`` can share one ``--dir`` (one thread each: ``OMP_NUM_THREADS=1``) before a last call with all
seeds writes the table. Targets (issue 6): the full recipe trains within
60 minutes on 2 cores and reaches HOTA >= 0.5 (checked only at the recipe's own schedule and width).
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
import tempfile
from functools import partial
from pathlib import Path

import benchlib
from discmot.engine.run_folder import read_metrics

NAME = "fdta_ablation"
TITLE = "FDTA trained on CPU: the tiny recipe on synthetic DanceTrack and the adapter mini-ablation"
OFF = {
    "spatial": "adapters.spatial=false",
    "temporal": "adapters.temporal=false",
    "identity": "adapters.identity=false",
}
VARIANTS = {
    "baseline (MOTIP)": list(OFF.values()),
    "+SA": [OFF["temporal"], OFF["identity"]],
    "+TA": [OFF["spatial"], OFF["identity"]],
    "+IA": [OFF["spatial"], OFF["temporal"]],
    "full": [],
}
SIZE = "256x160"
INPUT_SIZE = "160x256"  # the recipe trains at shorter sides 128-160; track at the largest
# the association references: HOTA of the tracker's own boxes relabelled (`oracle_ids`)
REFERENCES = ("HOTA, gt ids", "HOTA, IoU tracker")
METRICS = ("HOTA", "DetA", "AssA", "IDF1", "MOTA", *REFERENCES, "similar>0.9", "final ID loss")
# training runs are long: let the children's output through
discmot = partial(benchlib.run_discmot, capture=False)


def make_data(root: Path, train_sequences: int) -> None:
    """Synthetic DanceTrack train/val splits under ``root`` (kept if already there)."""
    if (root / "val").is_dir():
        return
    for split, count in (("train", train_sequences), ("val", 2)):
        discmot("synth", "--preset", "dancetrack", "--out", str(root), "--split", split,
                "--sequences", str(count), "--frames", "150", "--size", SIZE)  # fmt: skip


def training_log(run: Path) -> dict:
    """Iterations, seconds of training and the ID loss at the end (mean of the last 10 logged steps)."""
    lines = read_metrics(run)
    last = lines[-10:]
    id_loss = sum(line["loss_id"] for line in last) / len(last)
    elapsed = [line["elapsed_s"] for line in lines if "elapsed_s" in line]
    if len(elapsed) == len(lines):
        # elapsed_s restarts at each --resume (the log is cut back to the checkpoint): add the segments
        seconds = sum(a for a, b in zip(elapsed, elapsed[1:], strict=False) if b < a) + elapsed[-1]
    else:  # logs of discmot before elapsed_s: start (environment) to final weights
        seconds = (run / "model.safetensors").stat().st_mtime - (run / "environment.json").stat().st_mtime
    return {"steps": lines[-1]["step"], "seconds": seconds, "final ID loss": id_loss}


def recipe_text(config: dict) -> str:
    """The ``lr, epochs, lr step, width`` cell of a resolved recipe (``FDTARecipe.as_dict()``, as a run's
    ``config.yaml`` holds it): how runs of different recipes are told apart (width: the DETR's
    ``hidden_dim``)."""
    train, width = config["train"], config["model"]["detr"]["hidden_dim"]
    return f"{train['lr']:g}, {train['epochs']}, {', '.join(str(m) for m in train['milestones'])}, {width}"


def recipe_of(run: Path) -> str:
    """The recipe cell of a run, from its resolved config (runs of older recipes say theirs)."""
    from discmot.config import load_yaml

    return recipe_text(load_yaml((run / "config.yaml").read_text()))


def shipped_recipe() -> str:
    """The recipe cell of the `tiny` recipe as the package ships it now."""
    from discmot.models.fdta.recipe import load_recipe

    return recipe_text(load_recipe("tiny").as_dict())


def run_tag(name: str, seed: int) -> str:
    """The folder name of one variant and seed under ``runs/`` and ``outputs/``."""
    return f"{name.replace(' ', '_')}-seed{seed}"


def is_finished(work: Path, name: str, seed: int) -> bool:
    return (work / "runs" / run_tag(name, seed) / "model.safetensors").is_file()


def train_and_score(work: Path, data: Path, name: str, seed: int, extra: list[str]) -> dict:
    """Trains one variant and seed (unless finished before) and scores it on the val split."""
    tag = run_tag(name, seed)
    run = work / "runs" / tag
    weights = run / "model.safetensors"
    if not weights.is_file():
        overrides = [f"--set={o}" for o in [*VARIANTS[name], f"train.seed={seed}", *extra]]
        resume = ["--resume"] if (run / "checkpoints").is_dir() else []
        discmot("train", "--config", "tiny", "--data-root", str(data), "--run-dir", str(run),
                "--set=train.progress=false", *resume, *overrides)  # fmt: skip
    return scored(run, data, work / "outputs" / tag, seed) | {"recipe": recipe_of(run)}


def scored(run: Path, data: Path, out: Path, seed: int) -> dict:
    """Tracks the val split with a run's weights and scores it, or reads the scores kept in ``out``
    (when newer than the weights and holding every column)."""
    weights = run / "model.safetensors"
    cached = out / "scores.json"
    if cached.is_file() and cached.stat().st_mtime > weights.stat().st_mtime:
        result = json.loads(cached.read_text())
        missing = set(METRICS) - set(result["scores"])
        if not missing:
            return result
        if missing <= set(REFERENCES) and (out / "fdta" / "data").is_dir():
            # a reference column added since the run was scored: computed from its kept output
            result["scores"] |= references(data, out)
            benchlib.write_text_atomic(cached, json.dumps(result))
            return result
    discmot("track", str(data / "val"), "--model", "fdta", "--weights", str(weights),
            "--input-size", INPUT_SIZE, "--split-out", str(out), "--tracker-name", "fdta")  # fmt: skip
    log = training_log(run)
    scores = score(data, out) | {"similar>0.9": similarity(weights, data / "val")}
    scores |= references(data, out)
    scores["final ID loss"] = log.pop("final ID loss")
    result = {"seed": seed, **log, "scores": scores}
    benchlib.write_text_atomic(cached, json.dumps(result))
    return result


def score(data: Path, out: Path, tracker: str = "fdta") -> dict:
    """HOTA, DetA, AssA, IDF1, MOTA of the COMBINED row on the held-out split (DanceTrack rules)."""
    import discmot

    combined = discmot.evaluate(
        data, out, benchmark="DanceTrack", split="val", trackers=[tracker], write_summaries=False
    )
    combined = combined[tracker]["COMBINED"]
    hota = {key: float(combined["HOTA"][key].mean()) for key in ("HOTA", "DetA", "AssA")}
    return hota | {"IDF1": float(combined["Identity"]["IDF1"]), "MOTA": float(combined["CLEAR"]["MOTA"])}


def references(data: Path, out: Path) -> dict[str, float]:
    """HOTA of the tracker's own boxes (``out/fdta/data``) with the gt identities (perfect association)
    and with the plain IoU tracker's (overlap only), written beside it as trackers of their own."""
    from oracle_ids import iou_folder, oracle_folder

    tracker_data = out / "fdta" / "data"
    oracle_folder(tracker_data, data / "val", out / "fdta_gt_ids" / "data")
    iou_folder(tracker_data, out / "fdta_iou" / "data")
    return {
        "HOTA, gt ids": score(data, out, "fdta_gt_ids")["HOTA"],
        "HOTA, IoU tracker": score(data, out, "fdta_iou")["HOTA"],
    }


def similarity(weights: Path, split: Path) -> float:
    """Fraction of different-object embedding pairs with cosine > 0.9 over the held-out sequences."""
    from discmot.models.fdta.checkpoint import load_fdta
    from fdta_embeddings import similar_fraction

    model = load_fdta(weights)
    size = tuple(int(v) for v in INPUT_SIZE.split("x"))
    counts = [
        similar_fraction(model, sequence, size) for sequence in sorted(split.iterdir()) if sequence.is_dir()
    ]
    pairs = sum(n for _, n in counts)
    return sum(f * n for f, n in counts if n) / pairs if pairs else float("nan")


def mean_spread(values: list[float]) -> str:
    """``mean ± sample standard deviation`` (the value alone for one seed)."""
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def by_recipe(results: dict[str, list[dict]]) -> list[tuple[str, str, list[dict]]]:
    """``(recipe, variant, runs)`` per variant and recipe (seeds of one recipe pooled), recipes in order
    of lr and variants in their given order within one."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for name, runs in results.items():
        for run in runs:
            groups.setdefault((run["recipe"], name), []).append(run)
    ordered = sorted(groups.items(), key=lambda item: float(item[0][0].split(",")[0]))
    return [(recipe, name, runs) for (recipe, name), runs in ordered]


def table(results: dict[str, list[dict]]) -> str:
    """One row per variant and recipe."""
    rows = []
    for recipe, name, runs in by_recipe(results):
        cells = [mean_spread([r["scores"][key] for r in runs]) for key in METRICS]
        minutes = statistics.mean(r["seconds"] for r in runs) / 60
        speed = statistics.mean(r["steps"] / r["seconds"] for r in runs)
        seeds = ", ".join(str(r["seed"]) for r in runs)
        rows.append([name, recipe, seeds, *cells, f"{minutes:.1f}", f"{speed:.2f}"])
    headers = ["variant", "lr, epochs, lr step, width", "seeds", *METRICS, "train minutes", "iterations/s"]
    return benchlib.markdown_table(headers, rows)


def check(results: dict[str, list[dict]], recipe_overridden: bool) -> list[str]:
    """The issue's targets, for the full model trained with the recipe as it ships (other recipes are
    reported, not checked)."""
    problems = []
    shipped = shipped_recipe()
    runs = [] if recipe_overridden else results.get("full", [])
    for full in [run for run in runs if run["recipe"] == shipped]:
        if full["scores"]["HOTA"] < 0.5:
            problems.append(f"full recipe (seed {full['seed']}) HOTA {full['scores']['HOTA']:.3f} < 0.5")
        if full["seconds"] > 3600:
            problems.append(f"full recipe (seed {full['seed']}) trained {full['seconds'] / 60:.1f} min > 60")
    return problems


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[3407], help="training seeds")
    parser.add_argument("--epochs", type=int, help="epochs instead of the recipe's (lr step one before)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="recipe override passed to every training run, e.g. train.lr=2e-4 (repeatable)",
    )
    parser.add_argument("--train-sequences", type=int, default=6, help="synthetic training sequences")
    parser.add_argument(
        "--dir",
        type=Path,
        action="append",
        help="keep data, runs and outputs here (and resume from it); with --finished-only repeatable, "
        "to report several ablation folders (e.g. one per recipe) in one table",
    )
    parser.add_argument("--no-docs", action="store_true", help="print the section, leave the docs alone")
    parser.add_argument(
        "--finished-only",
        action="store_true",
        help="with --dir: report the variant/seed runs already trained there, train nothing new",
    )
    args = parser.parse_args(argv)
    if args.dir and len(args.dir) > 1 and not args.finished_only:
        parser.error("several --dir only with --finished-only (training goes to one folder)")
    if args.finished_only and not args.dir:
        parser.error("--finished-only reports the runs of a --dir")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    extra = args.set + (
        []
        if args.epochs is None
        else [f"train.epochs={args.epochs}", f"train.milestones=[{args.epochs - 1}]"]
    )
    results: dict[str, list[dict]] = {name: [] for name in args.variants}
    with tempfile.TemporaryDirectory() as temporary:
        for work in args.dir or [Path(temporary)]:
            data = work / "data"
            make_data(data, args.train_sequences)
            for name in args.variants:
                seeds = [s for s in args.seeds if not args.finished_only or is_finished(work, name, s)]
                results[name] += [train_and_score(work, data, name, seed, extra) for seed in seeds]
    results = {name: runs for name, runs in results.items() if runs}
    problems = check(results, args.epochs is not None or bool(args.set))
    schedule = (
        "the schedule and DETR width in each row's 'lr, epochs, lr step, width' column (read from the "
        "run's config.yaml: runs of an earlier recipe file keep theirs; the file now says "
        f"{shipped_recipe()})"
        if args.epochs is None
        else f"{args.epochs} epochs (lr x0.1 for the last)"
    )
    notes = [
        f"Training data: {args.train_sequences} synthetic DanceTrack sequences x 150 frames at 256x160 "
        "(synth seed 0); scored on 2 held-out sequences of the val split (up to 13 dancers in identical "
        "costumes) with `discmot.evaluate` (DanceTrack rules).",
        f"Recipe `tiny` (src/discmot/configs/fdta/tiny.yaml), {schedule}; one process, fp32, 2 threads; "
        "training seeds as listed per row (mean ± sample standard deviation over seeds when "
        "several). Iterations/s counts clips per second including data loading.",
        "similar>0.9: among the embeddings of different objects in one frame (queries matched to the ground "
        "truth at IoU >= 0.5), the fraction of pairs with cosine similarity above 0.9 (the paper's "
        "diagnosis; lower is more discriminative). Final ID loss: the ID decoder's cross-entropy averaged "
        "over the last logged steps (chance level ln(K+1) = ln 11 = 2.40 for the recipe's 10 ID labels).",
        "HOTA, gt ids: the variant's own output boxes with every identity taken from the ground truth "
        "(`benchmarks/oracle_ids.py`: per frame a Hungarian IoU pairing, IoU >= 0.5; unpaired boxes keep "
        "ids of their own): the HOTA of a perfect association on that variant's detections. "
        "HOTA, IoU tracker: the same boxes with the ids of the plain IoU tracker "
        "(`benchmarks/iou_tracker.py`: frame-to-frame Hungarian IoU >= 0.3, a track ends at its first "
        "missed frame): the association that overlap alone gives; a learned association scoring about "
        "the same has learned nothing more.",
        "Reproduce: `python benchmarks/fdta_ablation.py "
        + shlex.join(sys.argv[1:] if argv is None else argv)
        + "`.",
    ]
    if any(len(runs) == 1 for _, _, runs in by_recipe(results)):
        notes.append(
            "Variants with one training seed have no measured spread, so HOTA differences of a few "
            "hundredths between variants are not resolved. Train minutes are wall-clock on a machine "
            "that other jobs sometimes shared (see the issue notes); iterations/s is the cleaner figure."
        )
    result = benchlib.BenchResult(
        NAME, TITLE, table(results), notes, benchlib.machine_info(("numpy", "torch")), results,
        ok=not problems, problems=problems,
    )  # fmt: skip
    print(result.render())
    if not args.no_docs:
        benchlib.update_docs(benchlib.DOCS_PATH, result)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
