"""The ``discmot`` command line: each verb parses its arguments and calls the library, nothing more.

Heavy modules (torch, the models, video IO) are imported inside the verb that needs them, so that
``discmot eval`` starts in a fraction of a second.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

log = logging.getLogger("discmot")

EVAL_EPILOG = """\
layouts (detected automatically):
  TrackEval:     GT/<BENCH>-<SPLIT>/<seq>/{gt/gt.txt,seqinfo.ini}, seqmap GT/seqmaps/<BENCH>-<SPLIT>.txt,
                 results TRACKERS/<BENCH>-<SPLIT>/<tracker>/data/<seq>.txt
  dataset root:  ROOT/<split>/<seq>/{gt/gt.txt,seqinfo.ini}, seqmap ROOT/<split>_seqmap.txt (DanceTrack,
                 SportsMOT, BFT); results: a folder of <seq>.txt (one tracker) or of tracker folders

examples:
  discmot eval --gt-folder data/gt/mot_challenge --trackers-folder data/trackers/mot_challenge \\
      --benchmark MOT17 --split train
  discmot eval --gt-folder DanceTrack --trackers-folder outputs/val --benchmark DanceTrack --split val

Numbers are TrackEval's (trackeval 1.3.0 / git 12c8791) to the last bit; see docs/evaluation.md.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="discmot",
        description="Multi-object tracking with discriminative object embeddings (FDTA, CSTrack).",
    )
    parser.add_argument("--version", action="version", version=f"discmot {_version()}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("-q", "--quiet", action="store_true", help="only log warnings and errors")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")
    _add_eval(verbs)
    _add_track(verbs)
    _add_synth(verbs)
    _add_convert(verbs)
    _add_depth(verbs)
    _add_train(verbs)
    _add_demo(verbs)
    return parser


def _add_eval(verbs) -> None:
    p = verbs.add_parser(
        "eval",
        help="score tracker results against ground truth (TrackEval-exact HOTA, CLEAR, Identity)",
        description="Score MOTChallenge-format tracker results against ground truth with TrackEval's exact "
        "numbers: HOTA, CLEAR (MOTA...), Identity (IDF1...) and Count.",
        epilog=EVAL_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--gt-folder", required=True, help="ground-truth folder (TrackEval GT_FOLDER or dataset root)"
    )
    p.add_argument(
        "--trackers-folder", required=True, help="tracker results folder (TrackEval TRACKERS_FOLDER)"
    )
    p.add_argument(
        "--benchmark",
        default="MOT17",
        help="MOT15, MOT16, MOT17, MOT20, DanceTrack, SportsMOT or BFT (default: MOT17)",
    )
    p.add_argument("--split", default="train", help="split to evaluate (default: train)")
    p.add_argument("--trackers", nargs="+", metavar="NAME", help="trackers to evaluate (default: all)")
    p.add_argument(
        "--seqmap", metavar="FILE", help="seqmap file listing the sequences (first line is a header)"
    )
    p.add_argument(
        "--metrics",
        nargs="+",
        default=["HOTA", "CLEAR", "Identity"],
        choices=["HOTA", "CLEAR", "Identity"],
        help="metric families (Count is always computed)",
    )
    p.add_argument("--workers", type=int, default=1, metavar="N", help="evaluate sequences in N processes")
    p.add_argument(
        "--output-folder",
        metavar="DIR",
        help="write <tracker>/pedestrian_summary.txt and pedestrian_detailed.csv here "
        "(default: each tracker's folder, as TrackEval)",
    )
    p.add_argument("--json", metavar="FILE", help="also write all results as JSON")
    p.add_argument("--skip-split-folder", action="store_true", help="TrackEval's SKIP_SPLIT_FOL")
    p.add_argument(
        "--tracker-sub-folder", default="data", help="TrackEval's TRACKER_SUB_FOLDER (default: data)"
    )
    p.add_argument("--no-summaries", action="store_true", help="do not write the per-tracker summary files")
    p.add_argument("--full", action="store_true", help="print every summary field, not the compact table")
    p.set_defaults(run=_run_eval)


def _run_eval(args: argparse.Namespace) -> int:
    from discmot.eval import report
    from discmot.eval.runner import evaluate

    results = evaluate(
        args.gt_folder,
        args.trackers_folder,
        benchmark=args.benchmark,
        split=args.split,
        trackers=args.trackers,
        seqmap=args.seqmap,
        metrics=args.metrics,
        workers=args.workers,
        output_folder=args.output_folder,
        json_path=args.json,
        skip_split_folder=args.skip_split_folder,
        tracker_sub_folder=args.tracker_sub_folder,
        write_summaries=not args.no_summaries,
        progress=sys.stderr.isatty() and not args.quiet,
    )
    for tracker, per_sequence in results.items():
        print(report.format_table(per_sequence, args.metrics, tracker, full=args.full))
        print()
    return 0


TRACK_EPILOG = """\
sources:
  a video file (vtest.avi, clip.mp4), an image folder (natural order: 2.jpg before 10.jpg), a glob
  ('frames/*.jpg', quoted), a webcam index (0; Ctrl-C stops and keeps what was tracked), a MOTChallenge
  sequence folder (seqinfo.ini + img1/; with det/det.txt no detector is needed and images are optional),
  or a split folder of sequences (writes <split-out>/<tracker-name>/data/<seq>.txt for `discmot eval`)

examples:
  discmot track vtest.avi --detector yolox_nano.onnx --reid osnet_x0_25_msmt17.onnx \\
      --save-txt out/vtest.txt --save-video out/vtest.mp4
  discmot track MOT15/train/PETS09-S2L1 --det-file det_yolox_nano_osnet.npy --save-txt out/PETS09-S2L1.txt
  discmot track frames/ --detections dets.txt --frame-rate 25 --save-video out/frames.mp4
  discmot track MOT17/train --benchmark MOT17 --split-out outputs/mot17-train
  discmot eval --gt-folder MOT17 --split train --trackers-folder outputs/mot17-train
  discmot track clip.mp4 --model cstrack --weights cstrack.pt --save-txt out/clip.txt \
      --save-video out/clip.mp4
  discmot track MOT17/test --model cstrack --weights cstrack.pt --benchmark MOT17 --dtype fp16 \
      --device cuda --split-out outputs/mot17-test
  discmot track clip.mp4 --model fdta --weights dancetrack.pth --dtype bf16 --save-txt out/clip.txt

Result rows are MOTChallenge's frame,id,x,y,w,h,score,-1,-1,-1 with 1-based frames: frame k of a video is
frame k of its sequence. A frame that cannot be decoded is skipped with a warning; tracking goes on.
"""


def _add_track(verbs) -> None:
    p = verbs.add_parser(
        "track",
        help="track objects in a video, image folder, glob, webcam, sequence or benchmark split",
        description="Run a tracker over a source: frames are streamed, detected (ONNX detector + ReID model) "
        "or read from precomputed detections, associated, and written as MOTChallenge results and/or an "
        "annotated H.264 video. --model fdta and --model cstrack detect for themselves from --weights.",
        epilog=TRACK_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "source", metavar="SOURCE", help="video, image folder, glob, webcam index, sequence or split"
    )
    p.add_argument(
        "--model",
        default="jde",
        choices=["jde", "fdta", "cstrack"],
        help="tracker: jde (the JDE/CSTrack cascade on a detector's boxes, default), fdta or cstrack (end "
        "to end from --weights; cstrack = CSTrack's network + the cascade with the original's thresholds)",
    )
    p.add_argument(
        "--weights",
        metavar="CKPT",
        help="FDTA or CSTrack checkpoint (official .pth/.pt, discmot .safetensors or a discmot train "
        "checkpoint); required by --model fdta/cstrack",
    )
    p.add_argument(
        "--preset",
        choices=["dancetrack", "sportsmot", "bft", "tiny", "cstrack", "cstrack_s"],
        help="model preset of an official file: FDTA dancetrack/sportsmot/bft/tiny, CSTrack cstrack/"
        "cstrack_s/tiny (default: inferred from the shapes)",
    )
    p.add_argument(
        "--dtype",
        default="fp32",
        choices=["fp32", "fp16", "bf16"],
        help="FDTA/CSTrack network precision (decoding and thresholds stay fp32; default: fp32)",
    )
    p.add_argument(
        "--input-size",
        type=_size_hw,
        metavar="HxW",
        help="network input, height first (FDTA default: 800 short side; CSTrack default: the model's, "
        "608x1088 for the official one, multiples of 32)",
    )
    p.add_argument("--detector", metavar="PATH.onnx", help="YOLOX ONNX detector")
    p.add_argument("--reid", metavar="PATH.onnx", help="ReID ONNX model for appearance embeddings")
    p.add_argument(
        "--conf",
        type=float,
        metavar="SCORE",
        help="detector score threshold (default: the detector's, 0.3; CSTrack's 0.5); drops precomputed "
        "detections below it",
    )
    p.add_argument(
        "--classes",
        type=int,
        nargs="+",
        default=[0],
        metavar="ID",
        help="detector classes to keep (default: 0, person)",
    )
    p.add_argument(
        "--device", default="cpu", help="device of the ONNX models or the FDTA/CSTrack network (default: cpu)"
    )
    p.add_argument(
        "--detections", metavar="FILE", help="precomputed detections (MOT det.txt, or .npy with features)"
    )
    p.add_argument(
        "--det-file",
        default="det.txt",
        metavar="NAME",
        help="detections file in each sequence's det/ folder (default: det.txt)",
    )
    p.add_argument("--save-txt", metavar="FILE", help="write MOTChallenge results here")
    p.add_argument("--save-video", metavar="FILE", help="write an annotated video here (.mp4)")
    p.add_argument(
        "--benchmark",
        metavar="NAME",
        help="tracker preset: MOT15/16/17/20 turn on the pedestrian output filter",
    )
    p.add_argument(
        "--tracker-preset",
        choices=["onnx", "public", "cstrack"],
        help="association settings: onnx (default with --detector: tracks kept by detections >= 0.3, born "
        "from >= 0.7, detection boxes written), public (default with precomputed detections: every "
        "detection used), cstrack (CSTrack's own thresholds, default with --model cstrack); see "
        "docs/tracking.md",
    )
    p.add_argument("--track-thresh", type=float, metavar="SCORE", help="ignore detections below (preset's)")
    p.add_argument("--birth-thresh", type=float, metavar="SCORE", help="score to start a track (preset's)")
    p.add_argument(
        "--kalman-boxes", action="store_true", help="write Kalman-smoothed boxes instead of detection boxes"
    )
    p.add_argument(
        "--frame-rate", type=float, metavar="FPS", help="frame rate (default: the source's, else 30)"
    )
    p.add_argument("--split-out", metavar="DIR", help="output folder when SOURCE is a folder of sequences")
    p.add_argument(
        "--tracker-name",
        metavar="NAME",
        help="tracker folder name under --split-out (default: the model name)",
    )
    p.set_defaults(run=_run_track)


def _run_track(args: argparse.Namespace) -> int:
    from discmot.engine.infer import track

    result = track(
        args.source,
        model=args.model,
        detector=args.detector,
        reid=args.reid,
        conf=args.conf,
        classes=tuple(args.classes),
        device=args.device,
        detections=args.detections,
        det_file=args.det_file,
        save_txt=args.save_txt,
        save_video=args.save_video,
        benchmark=args.benchmark,
        frame_rate=args.frame_rate,
        split_out=args.split_out,
        tracker_name=args.tracker_name,
        progress=sys.stderr.isatty() and not args.quiet,
        tracker_preset=args.tracker_preset,
        track_thresh=args.track_thresh,
        birth_thresh=args.birth_thresh,
        kalman_boxes=args.kalman_boxes,
        weights=args.weights,
        model_preset=args.preset,
        dtype=args.dtype,
        input_size=args.input_size,
    )
    if "name" not in result:  # a split: {sequence: summary}
        for summary in result.values():
            print(_track_line(summary))
        print(_eval_hint(args.source, args.split_out, args.benchmark))
        return 0
    print(_track_line(result))
    return 130 if result["interrupted"] else 0


def _track_line(summary: dict) -> str:
    line = (
        f"{summary['name']}: {summary['frames']} frames in {summary['seconds']:.1f} s "
        f"({summary['fps']:.1f} fps), {summary['ids']} ids"
    )
    if summary["skipped"]:
        line += f", {len(summary['skipped'])} undecodable frames skipped"
    for key, what in (("save_txt", "results"), ("save_video", "video")):
        if summary[key]:
            line += f"; {what}: {summary[key]}"
    return line


def _eval_hint(split_folder: str, out: str, benchmark: str | None) -> str:
    from pathlib import Path

    split = Path(split_folder).resolve()
    prefix, _, name = split.name.rpartition("-")
    if prefix and name in ("train", "val", "test", "all"):  # TrackEval's <BENCH>-<SPLIT> folders
        benchmark = prefix
    else:
        name = split.name
    options = f"--benchmark {benchmark} --split {name}" if benchmark else f"--split {name}"
    return f"evaluate with: discmot eval --gt-folder {split.parent} --trackers-folder {out} {options}"


def _add_synth(verbs) -> None:
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
        "--preset", default="dancetrack", choices=["dancetrack", "sportsmot", "bft", "mot", "tiny"]
    )
    p.add_argument("--out", required=True, metavar="DIR", help="dataset root to write")
    p.add_argument(
        "--split", default="train", help="split folder (default: train); splits never share scenes"
    )
    p.add_argument("--sequences", type=int, default=4, metavar="N", help="number of sequences (default: 4)")
    p.add_argument("--frames", type=int, metavar="N", help="frames per sequence (default: the preset's)")
    p.add_argument(
        "--size", type=_size, metavar="WxH", help="image size, e.g. 320x192 (default: the preset's)"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument(
        "--jde", action="store_true", help="also write the JDE layout (labels_with_ids) for CSTrack"
    )
    p.set_defaults(run=_run_synth)


def _size_hw(text: str) -> tuple[int, int]:
    """``HxW`` (height first, as the network's input)."""
    width, height = _size(text)[::-1]
    return height, width


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 320x192, got {text!r}") from None
    if width < 32 or height < 32:
        raise argparse.ArgumentTypeError(f"image size {text} is too small (at least 32x32)")
    return width, height


def _run_synth(args: argparse.Namespace) -> int:
    from discmot.data.synth import generate_dataset

    if args.sequences < 1 or (args.frames is not None and args.frames < 1):
        raise ValueError("--sequences and --frames must be at least 1")
    folders = generate_dataset(
        args.out,
        args.preset,
        split=args.split,
        sequences=args.sequences,
        frames=args.frames,
        size=args.size,
        seed=args.seed,
        jde=args.jde,
        progress=sys.stderr.isatty() and not args.quiet,
    )
    log.info("wrote %d %s sequences to %s", len(folders), args.preset, folders[0].parent)
    return 0


def _add_convert(verbs) -> None:
    p = verbs.add_parser(
        "convert",
        help="convert FDTA/CSTrack checkpoints between the official formats and discmot .safetensors",
        description="Load a checkpoint strictly (every key and shape checked) and write it in the other "
        "format: an official FDTA/MOTIP .pth ({'model': state_dict}) or CSTrack .pt (a state dict, or the "
        "old trainer's pickled fp16 model, read through an allow-listed unpickler) <-> a discmot "
        ".safetensors holding the resolved config. The format is chosen by the output suffix; CSTrack "
        "files are written as fp32 state dicts.",
    )
    p.add_argument("source", metavar="IN", help="checkpoint to read (.pth/.pt official, or .safetensors)")
    p.add_argument("target", metavar="OUT", help="checkpoint to write (.safetensors or .pth/.pt)")
    p.add_argument(
        "--model",
        choices=["fdta", "cstrack"],
        help="which model the checkpoint is for (default: inferred from its metadata or keys)",
    )
    p.add_argument(
        "--preset",
        choices=["dancetrack", "sportsmot", "bft", "tiny", "cstrack", "cstrack_s"],
        help="preset of an official file: FDTA dancetrack/sportsmot/bft/tiny or CSTrack cstrack/cstrack_s/"
        "tiny (default: inferred from its shapes)",
    )
    p.set_defaults(run=_run_convert)


def _run_convert(args: argparse.Namespace) -> int:
    from discmot.io.checkpoints import guess_file_kind

    kind = args.model or guess_file_kind(args.source)
    if kind == "cstrack":
        from discmot.models.cstrack.checkpoint import convert as convert_cstrack

        model = convert_cstrack(args.source, args.target, args.preset)
        log.info("wrote %s (CSTrack %s preset)", args.target, model.config.name)
        return 0
    from discmot.models.fdta.checkpoint import convert

    model = convert(args.source, args.target, args.preset)
    log.info("wrote %s (FDTA %s preset)", args.target, model.config.name)
    return 0


def _add_depth(verbs) -> None:
    p = verbs.add_parser(
        "depth",
        help="write FDTA pseudo-depth maps (depth/<stem>.png per image) for a dataset",
        description="Write the 8-bit pseudo-depth maps FDTA's Spatial Adapter is trained on: one PNG per "
        "image, named like the image (<seq>/depth/<stem>.png for <seq>/img1/<stem>.jpg), inverse depth "
        "scaled by its sequence maximum. Estimators: synthetic (exact depth of discmot synth sequences) and "
        "depth-anything (a local Depth Anything model through the optional transformers package).",
    )
    p.add_argument("--data-root", required=True, metavar="DIR", help="dataset root (or a split folder)")
    p.add_argument("--split", help="split folder under the root (default: sequences directly under it)")
    p.add_argument("--estimator", required=True, choices=["synthetic", "depth-anything"])
    p.add_argument("--model", metavar="PATH", help="local Depth Anything weights (depth-anything estimator)")
    p.add_argument("--device", default="cpu", help="device for depth-anything (default: cpu)")
    p.set_defaults(run=_run_depth)


def _run_depth(args: argparse.Namespace) -> int:
    from discmot.io.depth import depth_anything, sequences_of, synthetic_depth, write_depth_maps

    if args.estimator == "depth-anything":
        if not args.model:
            raise ValueError("--estimator depth-anything needs --model PATH (local Depth Anything weights)")
        estimate = depth_anything(args.model, args.device)
    else:
        estimate = synthetic_depth
    for sequence in sequences_of(args.data_root, args.split):
        count = write_depth_maps(sequence, estimate)
        log.info("%s: %d depth maps", sequence.name, count)
    return 0


TRAIN_EPILOG = """\
recipes (--config): a built-in name or a YAML file (see docs/training.md)
  FDTA:    dancetrack, sportsmot, bft (the paper's, spec fdta.md §6), tiny (CPU-sized, `discmot synth`
           data); sections preset, model, schedule, split, adapters, clips, augment, step, train
  CSTrack: cstrack_mot17 (the paper's, spec cstrack.md §6: the 8-list JDE mix), cstrack_tiny (CPU-sized,
           `discmot synth --preset mot --jde` data); a file says `model_kind: cstrack` and has the
           sections preset, model, data, transform, loss, optim, train

examples:
  discmot synth --preset dancetrack --out data/synth --sequences 6 --frames 150 --size 256x160
  discmot train --config tiny --data-root data/synth --run-dir runs/tiny
  discmot train --config tiny --data-root data/synth --set adapters.spatial=false --set train.epochs=2
  discmot train --config tiny --data-root data/synth --run-dir runs/tiny --resume
  torchrun --nproc_per_node 8 -m discmot train --config dancetrack --data-root datasets/DanceTrack \\
      --detr-pretrain pretrains/r50_deformable_detr_coco_dancetrack.pth --run-dir runs/fdta_dancetrack
  discmot synth --preset mot --out data/synth_mot --sequences 6 --frames 200 --size 320x192 --jde
  discmot train --config cstrack_tiny --data-root data/synth_mot --run-dir runs/cstrack_tiny
  discmot train --config cstrack_mot17 --data-root datasets/jde --pretrained yolov5l.pt

FDTA on real datasets needs depth maps first: discmot depth --data-root DIR --split train --estimator ...
CSTrack's --data-root holds the JDE datasets and the list files (data.lists_dir, data.root).

The run folder gets config.yaml, environment.json, metrics.jsonl, checkpoints/ and, at the end,
model.safetensors (the EMA weights for CSTrack), which `discmot track --model fdta|cstrack --weights`
loads.
"""


def _add_train(verbs) -> None:
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
    p.add_argument("--config", required=True, metavar="RECIPE", help="built-in recipe name or YAML file")
    p.add_argument(
        "--data-root",
        required=True,
        metavar="DIR",
        help="dataset root (FDTA: holding the split folder; CSTrack: the recipe's lists and images)",
    )
    p.add_argument("--run-dir", metavar="DIR", help="run folder (default: runs/<recipe name>)")
    p.add_argument(
        "--resume",
        nargs="?",
        const=True,
        default=None,
        metavar="CKPT",
        help="resume from the latest checkpoint of the run folder, or from CKPT",
    )
    p.add_argument("--detr-pretrain", metavar="PTH", help="FDTA: Deformable-DETR pre-train to start from")
    p.add_argument(
        "--pretrained",
        metavar="PT",
        help="CSTrack: YOLOv5/CSTrack weights (official formats) whose matching tensors initialise the "
        "network, e.g. COCO YOLOv5-L v2.0 for layers 0-23",
    )
    p.add_argument(
        "--device", help="cpu, cuda, cuda:N (default: cuda when available; LOCAL_RANK under torchrun)"
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a recipe value, e.g. train.epochs=2 or adapters.temporal=false (repeatable)",
    )
    p.set_defaults(run=_run_train)


def _run_train(args: argparse.Namespace) -> int:
    from pathlib import Path

    from discmot.config import read_recipe
    from discmot.engine.train import launch

    recipe_file = read_recipe(args.config)
    wrong = {"fdta": ("--pretrained", args.pretrained), "cstrack": ("--detr-pretrain", args.detr_pretrain)}
    flag, given = wrong[recipe_file.kind]
    if given:
        raise ValueError(f"{flag} does not apply to {recipe_file.kind} recipe {args.config}")
    data_root = Path(args.data_root)
    if recipe_file.kind == "cstrack":
        recipe, build = _cstrack_build(recipe_file, args, data_root)
    else:
        recipe, build = _fdta_build(recipe_file, args, data_root)
    run_dir = Path(args.run_dir or Path("runs") / recipe.name)
    weights = launch(build, recipe.train, run_dir, resume=args.resume, device=args.device)
    if weights is not None:
        log.info("wrote %s", weights)
    return 0


def _fdta_build(recipe_file, args: argparse.Namespace, data_root):
    from discmot.models.fdta.recipe import resolve_file
    from discmot.models.fdta.training import fdta_setup

    recipe = resolve_file(recipe_file, args.overrides)
    if not (data_root / recipe.split).is_dir():
        raise ValueError(
            f"{data_root / recipe.split}: split folder not found (recipe split {recipe.split!r})"
        )
    build = fdta_setup(recipe.model, data_root, recipe.split, recipe.clips, recipe.step, args.detr_pretrain)
    return recipe, build


def _cstrack_build(recipe_file, args: argparse.Namespace, data_root):
    from discmot.models.cstrack.recipe import resolve_file
    from discmot.models.cstrack.training import cstrack_setup

    recipe = resolve_file(recipe_file, args.overrides)
    if not data_root.is_dir():
        raise FileNotFoundError(f"{data_root}: data root not found")
    return recipe, cstrack_setup(recipe, data_root, args.pretrained)


def _add_demo(verbs) -> None:
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

    data = Path(args.data) if args.data else _shared_folder() / "data" / "evaldata"
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


def _shared_folder():
    """The project's shared material: $DISCMOT_SHARED, else ``../shared`` beside the checkout or the cwd."""
    import os
    from pathlib import Path

    if os.environ.get("DISCMOT_SHARED"):
        return Path(os.environ["DISCMOT_SHARED"])
    for base in (Path(__file__).resolve().parents[2], Path.cwd()):
        if (base.parent / "shared").is_dir():
            return base.parent / "shared"
    return Path.cwd().parent / "shared"


def _version() -> str:
    from discmot._version import __version__

    return __version__


def _configure_logging(verbose: bool, quiet: bool) -> None:
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``discmot`` console script; returns the exit status.

    Input errors (a ``ValueError``, ``FileNotFoundError`` or ``FileExistsError`` from the library: bad
    files, folders, options, a run folder that would be overwritten) are printed as one
    line ``discmot: error: ...`` with exit status 2, without a traceback.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose, args.quiet)
    run: Callable[[argparse.Namespace], int] | None = getattr(args, "run", None)
    if run is None:
        parser.print_help()
        return 2
    try:
        return run(args)
    except (ValueError, FileNotFoundError, FileExistsError) as error:
        if args.verbose:
            raise
        print(f"discmot: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("discmot: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
