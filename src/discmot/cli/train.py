"""`discmot train`: FDTA or CSTrack from a recipe, one process or many under torchrun."""

from __future__ import annotations

import argparse
import logging
import os
import signal
from pathlib import Path

from discmot.cli.arguments import hint_if_cores_busy

log = logging.getLogger("discmot")


TRAIN_EPILOG = """\
recipes (--config): a built-in name or a YAML file (see docs/training.md)
  FDTA:    dancetrack, sportsmot, bft (the paper's, spec fdta.md §6), tiny (CPU-sized, `discmot synth`
           data); dancetrack_detr, sportsmot_detr, bft_detr (the detector alone: MOTIP's pre-training
           stage, spec §4.6, whose weights start the full recipe through --detr-pretrain); sections
           preset, model, schedule, split, adapters, clips, augment, step, train
  CSTrack: cstrack_mot17 (the paper's, spec cstrack.md §6: the 8-list JDE mix), cstrack_tiny (CPU-sized,
           two `discmot synth --jde` exports into one folder: --preset mot and --preset dancetrack); a
           file says `model_kind: cstrack` and has the sections preset, model, data, transform, loss,
           optim, train

examples:
  discmot synth --preset dancetrack --out data/synth --sequences 6 --frames 150 --size 256x160
  discmot train --config tiny --data-root data/synth --run-dir runs/tiny
  discmot train --config tiny --data-root data/synth --set adapters.spatial=false --set train.epochs=2
  discmot train --config tiny --data-root data/synth --run-dir runs/tiny --resume
  discmot train --config tiny --data-root data/synth --run-dir runs/smoke --set train.max_iterations=20
  discmot train --config tiny --set train.lr=1e-3 --print-config
  torchrun --nproc_per_node 8 -m discmot train --config dancetrack --data-root datasets/DanceTrack \\
      --detr-pretrain pretrains/r50_deformable_detr_coco_dancetrack.pth --run-dir runs/fdta_dancetrack
  discmot train --config dancetrack_detr --data-root datasets/MyDance \\
      --detr-pretrain r50_deformable_detr_coco.pth
  discmot train --config dancetrack --data-root datasets/MyDance \\
      --detr-pretrain runs/dancetrack_detr/model.safetensors
  discmot synth --preset mot --out data/synth_cs --sequences 6 --frames 200 --size 320x192 --jde
  discmot synth --preset dancetrack --out data/synth_cs --sequences 6 --frames 150 --size 256x160 --jde
  discmot train --config cstrack_tiny --data-root data/synth_cs --run-dir runs/cstrack_tiny
  discmot train --config cstrack_mot17 --data-root datasets/jde --pretrained yolov5l.pt

FDTA on real datasets needs depth maps first: discmot depth --data-root DIR --split train --estimator ...
CSTrack's --data-root holds the JDE datasets and the list files (data.lists_dir, data.root).

The run folder gets config.yaml, environment.json, metrics.jsonl, checkpoints/ and, at the end,
model.safetensors (the EMA weights for CSTrack), which `discmot track --model fdta|cstrack --weights`
loads.
"""


def add_train(verbs) -> None:
    p = verbs.add_parser(
        "train",
        help="train FDTA or CSTrack from a recipe (one process, or many through torchrun)",
        description="Train FDTA (Deformable-DETR + ID decoder + Spatial/Temporal/Identity adapters) on a "
        "dataset root in DanceTrack layout (<root>/<split>/<seq>/{img1,gt/gt.txt,depth}), or CSTrack "
        "(YOLOv5 + REN + SAAN) on JDE image lists (labels_with_ids). Under torchrun every process runs "
        "this command and trains on its shard; gradients are averaged.",
        epilog=TRAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_recipe_options(p.add_argument_group("the recipe and its data"))
    _add_run_folder_options(p.add_argument_group("the run folder"))
    _add_start_options(p.add_argument_group("weights to start from"))
    p.add_argument(
        "--device", help="cpu, cuda, cuda:N (default: cuda when available; LOCAL_RANK under torchrun)"
    )
    p.set_defaults(run=_run_train)


def _add_recipe_options(group) -> None:
    """The recipe, its overrides and the data it trains on."""
    group.add_argument("--config", required=True, metavar="RECIPE", help="built-in recipe name or YAML file")
    group.add_argument(
        "--data-root",
        metavar="DIR",
        help="dataset root (FDTA: holding the split folder; CSTrack: the recipe's lists and images); "
        "required unless --print-config",
    )
    group.add_argument(
        "--print-config",
        action="store_true",
        help="print every value the recipe resolves to (with the --set flags; what the run's config.yaml "
        "records) and exit without training",
    )
    group.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a recipe value, e.g. train.epochs=2 or adapters.temporal=false (repeatable)",
    )


def _add_run_folder_options(group) -> None:
    """Where the run is written, and resuming one."""
    group.add_argument("--run-dir", metavar="DIR", help="run folder (default: runs/<recipe name>)")
    group.add_argument(
        "--resume",
        nargs="?",
        const=True,
        default=None,
        metavar="CKPT",
        help="resume from the latest checkpoint of the run folder, or from CKPT (one in RUN/checkpoints/ "
        "continues in RUN unless --run-dir is given, as does --config RUN/recipe.yaml --resume); a finished "
        "run is left as it is",
    )


def _add_start_options(group) -> None:
    """Pre-trained weights that initialise the network (FDTA's detector, CSTrack's YOLOv5)."""
    group.add_argument(
        "--detr-pretrain",
        metavar="FILE",
        help="FDTA: the detector to start from: a Deformable-DETR pre-train or official checkpoint (.pth), "
        "or the detr.* tensors of discmot FDTA weights (.safetensors, e.g. a *_detr run's output)",
    )
    group.add_argument(
        "--pretrained",
        metavar="PT",
        help="CSTrack: YOLOv5/CSTrack weights (official formats) whose matching tensors initialise the "
        "network, e.g. COCO YOLOv5-L v2.0 for layers 0-23",
    )


def _run_train(args: argparse.Namespace) -> int:
    from discmot.config import read_recipe, recipe_text
    from discmot.engine.train import launch

    recipe_file = read_recipe(args.config)
    wrong = {"fdta": ("--pretrained", args.pretrained), "cstrack": ("--detr-pretrain", args.detr_pretrain)}
    flag, given = wrong[recipe_file.kind]
    if given:
        raise ValueError(f"{flag} does not apply to {recipe_file.kind} recipe {args.config}")
    if args.print_config:
        print(resolved_recipe_text(recipe_file, args.set), end="")
        return 0
    if args.data_root is None:
        raise ValueError("--data-root DIR is required: the dataset to train on (--print-config needs none)")
    data_root = Path(args.data_root)
    if recipe_file.kind == "cstrack":
        recipe, build = _cstrack_build(recipe_file, args, data_root)
    else:
        recipe, build = _fdta_build(recipe_file, args, data_root)
    run_dir = _run_dir(args, recipe.name)
    # once the recipe, its --set values and the data root checked out: before an error it is noise.
    # torchrun sets OMP_NUM_THREADS=1 for its workers: no hint there
    hint_if_cores_busy()
    recipe_used = recipe_text(recipe_file, args.set)
    try:
        launch(build, recipe.train, run_dir, resume=args.resume, device=args.device, recipe=recipe_used)
    except (KeyboardInterrupt, SystemExit) as stop:
        if isinstance(stop, KeyboardInterrupt) or stop.code == 128 + signal.SIGTERM:
            _say_where_to_resume(args, run_dir, recipe.train.epochs)
        raise
    return 0


def _run_dir(args: argparse.Namespace, recipe_name: str) -> Path:
    """``--run-dir``; else, for ``--resume RUN/checkpoints/FILE``, that checkpoint's run folder ``RUN``
    (it went on in ``runs/<recipe>``, a second folder, 2026-11-24); else, for ``--config RUN/recipe.yaml
    --resume``, that run folder (it started again in ``runs/<run>-repeat``, 2026-11-24); else
    ``runs/<recipe name>`` (for a run folder's recipe without ``--resume``: ``runs/<run>-repeat``)."""
    if args.run_dir:
        return Path(args.run_dir)
    if isinstance(args.resume, str):
        folder = Path(args.resume).parent
        if folder.name == "checkpoints" and (folder.parent / "config.yaml").is_file():
            return folder.parent
    if args.resume is True and _is_run_recipe(Path(args.config)):
        from discmot.engine.distributed import launcher_rank

        run = Path(args.config).parent
        if launcher_rank() == 0:
            log.info(
                "%s is the recipe of run folder %s: resuming there (--run-dir DIR for another)",
                args.config,
                run,
            )
        return run
    return Path("runs") / recipe_name


def _is_run_recipe(path: Path) -> bool:
    """Whether ``path`` is a run folder's own ``recipe.yaml`` (beside its config.yaml and checkpoints/)."""
    folder = path.parent
    return (
        path.name == "recipe.yaml"
        and path.is_file()
        and (folder / "config.yaml").is_file()
        and (folder / "checkpoints").is_dir()
    )


def _say_where_to_resume(args: argparse.Namespace, run_dir: Path, epochs: int) -> None:
    """After Ctrl-C or a SIGTERM: the newest checkpoint (where it stands) and the command that continues
    from it, or that nothing is saved yet. Said by rank 0 alone; never fails (the run is ending)."""
    from discmot.engine import checkpointing
    from discmot.engine.distributed import launcher_rank

    if launcher_rank() != 0:
        return
    try:
        newest = checkpointing.latest_checkpoint(run_dir / "checkpoints")
    except OSError:
        return
    if newest is None:
        log.warning("stopped before the first checkpoint: nothing of this run is saved in %s", run_dir)
        return
    position = checkpointing.resume_point(newest)
    assert position is not None  # latest_checkpoint finds only files of checkpoint names
    where = checkpointing.describe_position(*position, epochs)
    log.warning(
        "newest checkpoint: %s (%s); continue with: %s", newest, where, _resume_command(args, run_dir)
    )


def _resume_command(args: argparse.Namespace, run_dir: Path) -> str:
    """This command as it continues the run in ``run_dir`` from its newest checkpoint: the same recipe,
    ``--set`` flags and files (a changed one would be warned about), ``--run-dir`` and ``--resume``."""
    import shlex

    words = ["--config", args.config, *[word for item in args.set for word in ("--set", item)]]
    words += ["--data-root", str(args.data_root), "--run-dir", str(run_dir)]
    for flag, value in (
        ("--detr-pretrain", args.detr_pretrain),
        ("--pretrained", args.pretrained),
        ("--device", args.device),
    ):
        if value:
            words += [flag, value]
    processes = int(os.environ.get("LOCAL_WORLD_SIZE", os.environ.get("WORLD_SIZE", "1")))
    start = f"torchrun --nproc_per_node {processes} -m discmot train" if processes > 1 else "discmot train"
    return f"{start} {shlex.join(words)} --resume"


def resolved_recipe_text(recipe_file, overrides: list[str]) -> str:
    """Every value ``recipe_file`` resolves to with the ``--set`` ``overrides``, as YAML under a comment
    that says what it is (the recipe's own file is what ``--config`` takes)."""
    import yaml

    from discmot.engine.run_config import plain

    if recipe_file.kind == "cstrack":  # each model's recipe type: one name could not type both
        from discmot.models.cstrack.recipe import resolve_file as resolve_cstrack

        resolved = resolve_cstrack(recipe_file, overrides).as_dict()
    else:
        from discmot.models.fdta.recipe import resolve_file

        resolved = resolve_file(recipe_file, overrides).as_dict()
    header = f"# every value of {recipe_file.where}" + "".join(f"\n#   --set {item}" for item in overrides)
    header += "\n# (resolved: what a run's config.yaml records; --config takes the recipe itself, not this)"
    return header + "\n" + yaml.safe_dump(plain(resolved), sort_keys=False)


def _fdta_build(recipe_file, args: argparse.Namespace, data_root):
    from discmot.data.sequences import missing_split_message
    from discmot.models.fdta.recipe import resolve_file
    from discmot.models.fdta.training import fdta_setup

    recipe = resolve_file(recipe_file, args.set)
    for split in recipe.split:
        if not (data_root / split).is_dir():  # with the flags that read the folder the user has
            raise ValueError(missing_split_message(data_root, split))
    build = fdta_setup(recipe.model, data_root, recipe.split, recipe.clips, recipe.step, args.detr_pretrain)
    return recipe, build


def _cstrack_build(recipe_file, args: argparse.Namespace, data_root):
    from discmot.models.cstrack.recipe import resolve_file
    from discmot.models.cstrack.training import cstrack_setup

    recipe = resolve_file(recipe_file, args.set)
    if not data_root.is_dir():
        raise FileNotFoundError(f"{data_root}: data root not found")
    return recipe, cstrack_setup(recipe, data_root, args.pretrained)
