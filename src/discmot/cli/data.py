"""`discmot synth`, `discmot depth` and `discmot jde-export`: synthetic datasets, pseudo-depth maps and
CSTrack's training lists."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from discmot.cli.arguments import folder_name, non_negative_int, positive_int, show_progress, size_wh

log = logging.getLogger("discmot")

#: ``discmot synth --preset`` choices, written out here because their source,
#: `discmot.data.synth.presets.PRESETS`, imports OpenCV; tests/test_cli_arguments.py checks that they agree.
SYNTH_PRESETS = ("dancetrack", "sportsmot", "bft", "mot", "tiny")


def add_synth(verbs) -> None:
    p = verbs.add_parser(
        "synth",
        help="render synthetic tracking sequences with exact depth (DanceTrack/MOT and JDE layouts)",
        description="Render seeded synthetic multi-object tracking sequences: images, gt.txt (visible boxes "
        "and visibility), seqinfo.ini, 8-bit pseudo-depth maps for FDTA, a seqmap, and optionally the JDE "
        "export for CSTrack. The same seed gives byte-identical files.",
        epilog="presets: dancetrack (identical costumes, crossings, depth-ordered occlusion), sportsmot "
        "(fast runs, camera pan, two teams), bft (small similar birds flocking), mot (varied pedestrians, "
        "entries and exits), tiny (unit tests)",
    )
    p.add_argument(
        "--preset", default="dancetrack", choices=SYNTH_PRESETS, help="scene preset (default: dancetrack)"
    )
    p.add_argument("--out", required=True, metavar="DIR", help="dataset root to write")
    p.add_argument(
        "--split",
        type=folder_name,
        default="train",
        help="split folder (default: train); splits never share scenes",
    )
    p.add_argument(
        "--sequences", type=positive_int, default=4, metavar="N", help="number of sequences (default: 4)"
    )
    p.add_argument(
        "--frames",
        type=positive_int,
        metavar="N",
        help="frames per sequence, at most 10000 (default: the preset's: 12 for tiny, 200 for the others)",
    )
    p.add_argument(
        "--size",
        type=size_wh,
        metavar="WxH",
        help="image size, each side 32-8192 (default: the preset's: 128x80 for tiny, 320x192 for the others)",
    )
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default: 0)")
    p.add_argument(
        "--jde", action="store_true", help="also write the JDE layout (labels_with_ids) for CSTrack"
    )
    p.set_defaults(run=_run_synth)


def _run_synth(args: argparse.Namespace) -> int:
    from discmot.data.synth import generate_dataset

    folders = generate_dataset(
        args.out,
        args.preset,
        split=args.split,
        sequences=args.sequences,
        frames=args.frames,
        size=args.size,
        seed=args.seed,
        jde=args.jde,
        progress=show_progress(args),
    )
    noun = "sequence" if len(folders) == 1 else "sequences"
    log.info("wrote %d %s %s to %s", len(folders), args.preset, noun, folders[0].parent)
    return 0


def add_depth(verbs) -> None:
    p = verbs.add_parser(
        "depth",
        help="write FDTA pseudo-depth maps (depth/<stem>.png per image) for a dataset",
        description="Write the 8-bit pseudo-depth maps FDTA's Spatial Adapter is trained on: one PNG per "
        "image, named like the image (<seq>/depth/<stem>.png for <seq>/img1/<stem>.jpg), inverse depth "
        "scaled by its sequence maximum; maps already there are replaced. Estimators: synthetic (exact "
        "depth of discmot synth sequences) and depth-anything (a local Depth Anything model through the "
        "optional transformers package).",
    )
    p.add_argument("--data-root", required=True, metavar="DIR", help="dataset root (or a split folder)")
    p.add_argument(
        "--split", type=folder_name, help="split folder under the root (default: sequences directly under it)"
    )
    p.add_argument(
        "--estimator",
        required=True,
        choices=["synthetic", "depth-anything"],
        help="synthetic: re-render discmot synth scenes; depth-anything: needs --model and pip install "
        "'discmot[depth]'",
    )
    p.add_argument("--model", metavar="PATH", help="local Depth Anything weights (depth-anything estimator)")
    p.add_argument("--device", default="cpu", help="device for depth-anything (default: cpu)")
    p.set_defaults(run=_run_depth)


def _run_depth(args: argparse.Namespace) -> int:
    from discmot.io.depth import (
        check_sequence,
        depth_anything,
        sequences_of,
        synthetic_depth,
        write_depth_maps,
    )

    if args.estimator == "depth-anything":
        if not args.model:
            raise ValueError("--estimator depth-anything needs --model PATH (local Depth Anything weights)")
        estimate = depth_anything(args.model, args.device)
    else:
        estimate = synthetic_depth
    synthetic = args.estimator == "synthetic"
    # every sequence checked first: bad input leaves no half-done split
    checked = [(s, check_sequence(s, synthetic)) for s in sequences_of(args.data_root, args.split)]
    for sequence, stems in checked:
        # said, since maps of another estimator (the paper's Video-Depth-Anything ones) are not kept
        earlier = sum(1 for _ in (sequence / "depth").glob("*.png")) if (sequence / "depth").is_dir() else 0
        count = write_depth_maps(sequence, estimate, stems, progress=show_progress(args))
        replaced = f" (replacing the {earlier} maps that were in {sequence / 'depth'})" if earlier else ""
        log.info("%s: %d depth maps%s", sequence.name, count, replaced)
    return 0


def add_jde_export(verbs) -> None:
    p = verbs.add_parser(
        "jde-export",
        help="convert MOTChallenge-layout sequences to CSTrack's JDE training layout (labels_with_ids)",
        description="Write CSTrack's training layout for a dataset in MOTChallenge layout (<seq>/img1, "
        "gt/gt.txt, seqinfo.ini): images (hard links), labels_with_ids/ ('0 identity cx cy w h', "
        "normalised) and the list file <out>/<name>.<split>. Boxes with consider flag 0 or a class other "
        "than 1 are dropped; identities are renumbered from 1 over the split, unique across sequences.",
        epilog="example (jde-export then prints the command that trains on what it wrote; a recipe file "
        "says the same with data: {datasets: [mot17_train], lists_dir: ., root: .}):\n"
        "  discmot jde-export --data-root datasets/MOT17 --split train --out datasets/jde --name mot17\n"
        "  discmot train --config cstrack_tiny --data-root datasets/jde --set 'data.datasets=[mot17_train]' "
        "--set data.lists_dir=. --set data.root=.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data-root", required=True, metavar="DIR", help="dataset root holding <split>/<seq>/")
    p.add_argument(
        "--split", type=folder_name, default="train", help="split folder under the root (default: train)"
    )
    p.add_argument("--out", required=True, metavar="DIR", help="JDE root to write (list entries relative)")
    p.add_argument(
        "--name",
        type=folder_name,
        required=True,
        help="dataset name: the list file is <out>/<name>.<split> (its entries are relative to <out>)",
    )
    p.add_argument("--sequences", nargs="+", metavar="SEQ", help="only these sequences (default: all)")
    p.set_defaults(run=_run_jde_export)


def _run_jde_export(args: argparse.Namespace) -> int:
    from discmot.data.jde_export import export_jde
    from discmot.io.sequence_folders import sequence_folders

    split = Path(args.data_root) / args.split
    if not split.is_dir():
        raise FileNotFoundError(f"{split}: split folder not found{_splits_hint(Path(args.data_root))}")
    names = list(dict.fromkeys(args.sequences or [folder.name for folder in sequence_folders(split)]))
    if not names:
        raise FileNotFoundError(f"{split}: no sequence folders with an img1/ folder{_no_images_hint(split)}")
    missing = [n for n in names if not (split / n / "img1").is_dir()]
    if missing:
        raise FileNotFoundError(_missing_sequence(split, missing[0]))
    done = export_jde([split / n for n in names], args.out, args.name, args.split)
    noun = "sequence" if len(names) == 1 else "sequences"
    log.info("%s: from %d %s", done.list_file, len(names), noun)  # export_jde logged the counts
    print(train_hint(args.out, done.key))
    return 0


def _splits_hint(root: Path) -> str:
    """`` (its split folders: train; pass --split train)``, or what is wrong with the root itself."""
    if not root.is_dir():
        return f" ({root} does not exist)"
    folders = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    splits = [name for name in folders if any((root / name).glob("*/img1"))]
    if splits:
        return f" (its split folders: {', '.join(splits)}; pass --split {splits[0]})"
    return f" (its folders: {', '.join(folders[:5])})" if folders else f" ({root} is empty)"


def _no_images_hint(split: Path) -> str:
    """Sequence folders with gt but no frames (a ground-truth-only download such as MOTChallenge's
    label archive) are named: the export links the images, so it needs them."""
    gt_only = sorted(p.name for p in split.iterdir() if (p / "gt").is_dir())
    if not gt_only:
        return ""
    return (
        f" ({len(gt_only)} folder(s) such as {gt_only[0]} have gt/ but no frames: jde-export links the "
        "images into the export, so put each sequence's frames in <seq>/img1/)"
    )


def _missing_sequence(split: Path, name: str) -> str:
    """Why ``--sequences NAME`` cannot be exported: no such folder (the ones there are named) or no
    frames in it."""
    if (split / name).is_dir():
        return f"{split / name}: no img1/ folder (the frames jde-export links into the export)"
    there = sorted(p.name for p in split.iterdir() if (p / "img1").is_dir())
    listed = f" (its sequences: {', '.join(there[:5])}{', ...' if len(there) > 5 else ''})" if there else ""
    return f"{split}: no sequence folder {name}{listed}"


def train_hint(out: str, key: str) -> str:
    """The `discmot train` command that trains the CPU-sized CSTrack recipe on an export: its list
    folder is the data root and the entries are relative to it (``lists_dir`` and ``root`` ``.``), which
    the recipe's defaults (its synthetic lists) are not, so these flags are what a user must type."""
    import shlex

    return (
        f"train with: discmot train --config cstrack_tiny --data-root {shlex.quote(str(out))} "
        f"--set 'data.datasets=[{key}]' --set data.lists_dir=. --set data.root=."
    )
