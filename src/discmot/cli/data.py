"""`discmot synth`, `discmot depth` and `discmot jde-export`: synthetic datasets, pseudo-depth maps and
CSTrack's training lists."""

from __future__ import annotations

import argparse
import logging

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
    p.add_argument("--preset", default="dancetrack", choices=SYNTH_PRESETS)
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
        "--frames", type=positive_int, metavar="N", help="frames per sequence (default: the preset's)"
    )
    p.add_argument(
        "--size", type=size_wh, metavar="WxH", help="image size, e.g. 320x192 (default: the preset's)"
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
        "scaled by its sequence maximum. Estimators: synthetic (exact depth of discmot synth sequences) and "
        "depth-anything (a local Depth Anything model through the optional transformers package).",
    )
    p.add_argument("--data-root", required=True, metavar="DIR", help="dataset root (or a split folder)")
    p.add_argument(
        "--split", type=folder_name, help="split folder under the root (default: sequences directly under it)"
    )
    p.add_argument("--estimator", required=True, choices=["synthetic", "depth-anything"])
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
        count = write_depth_maps(sequence, estimate, stems)
        log.info("%s: %d depth maps", sequence.name, count)
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
    from pathlib import Path

    from discmot.data.jde_export import export_jde
    from discmot.io.mot import sequence_folders

    split = Path(args.data_root) / args.split
    if not split.is_dir():
        raise FileNotFoundError(f"{split}: split folder not found (expected <data-root>/<split>/<seq>/img1)")
    names = args.sequences or [folder.name for folder in sequence_folders(split)]
    if not names:
        raise FileNotFoundError(f"{split}: no sequence folders with an img1/ folder")
    missing = [n for n in names if not (split / n / "img1").is_dir()]
    if missing:
        raise FileNotFoundError(f"{split}: no sequence folder {missing[0]} (with img1/)")
    done = export_jde([split / n for n in names], args.out, args.name, args.split)
    noun = "sequence" if len(names) == 1 else "sequences"
    log.info("%s: from %d %s", done.list_file, len(names), noun)  # export_jde logged the counts
    print(train_hint(args.out, done.key))
    return 0


def train_hint(out: str, key: str) -> str:
    """The `discmot train` command that trains the CPU-sized CSTrack recipe on an export: its list
    folder is the data root and the entries are relative to it (``lists_dir`` and ``root`` ``.``), which
    the recipe's defaults (its synthetic lists) are not, so these flags are what a user must type."""
    import shlex

    return (
        f"train with: discmot train --config cstrack_tiny --data-root {shlex.quote(str(out))} "
        f"--set 'data.datasets=[{key}]' --set data.lists_dir=. --set data.root=."
    )
