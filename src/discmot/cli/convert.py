"""`discmot convert`: checkpoints between the official formats and discmot's safetensors."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Mapping

from discmot.cli.arguments import model_presets
from discmot.messages import listed_all
from discmot.models.registry import MODEL_KINDS, preset_names

log = logging.getLogger("discmot")

CONVERT_EPILOG = """\
what IN may be:
  FDTA/MOTIP   {'model': state_dict} as released, with or without 'optimizer', 'scheduler', 'args'...;
               also {'state_dict': ...} or a bare state dict; fp16/bf16 tensors are widened to fp32
  CSTrack      a state dict as above, or the old trainer's pickled fp16 model object (read with an
               allow-listed unpickler: nothing in the file is executed)
  own files    a .safetensors written by discmot, a 'discmot train' checkpoint (epoch-NNN.pt: its
               weights as the run's model.safetensors would hold them, EMA ones where the run kept an
               EMA), or a 'discmot train' run folder (its final model.safetensors, as 'discmot track'
               reads it)
  keys saved from inside DataParallel/DDP ('module.' before every key) are read as the model's own.
not a full model: MOTIP's Deformable-DETR pre-trains (r50_deformable_detr_*.pth) are for
  'discmot train --detr-pretrain'. A file whose shapes fit no preset (another ID vocabulary, number of
  classes, embedding size) is refused, naming the config field, the key and both shapes.
metadata kept: a trained model's train_config and global_step (a training checkpoint's: its run's
  training config and its step), in a .pth/.pt as a 'discmot_metadata' entry the original ignores.
OUT is written atomically (a crash leaves no half-written file); an existing OUT is kept unless
--overwrite is given, and IN itself is never replaced.

examples:
  discmot convert dancetrack.pth dancetrack.safetensors
  discmot convert cstrack.pt cstrack.safetensors         # the released pickled fp16 model
  discmot convert dancetrack.safetensors dancetrack.pth  # back to the official format
"""


def add_convert(verbs) -> None:
    p = verbs.add_parser(
        "convert",
        help="convert FDTA/CSTrack checkpoints between the official formats and discmot .safetensors",
        description="Load a checkpoint strictly (every key and shape checked) and write it in the other\n"
        "format: official FDTA/MOTIP .pth or CSTrack .pt <-> a discmot .safetensors holding the resolved\n"
        "config. The output suffix picks the format (.safetensors, or .pth/.pt for the official one);\n"
        "the weights are written in fp32, equal to IN's bit for bit (fp16/bf16 are widened exactly;\n"
        "CSTrack's anchors/anchor_grid buffers are the config's, as the original's loader takes them).",
        epilog=CONVERT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "source",
        metavar="IN",
        help="checkpoint to read (.pth/.pt official, or .safetensors), or a discmot train run folder",
    )
    p.add_argument("target", metavar="OUT", help="checkpoint to write (.safetensors or .pth/.pt)")
    p.add_argument(
        "--model",
        choices=MODEL_KINDS,
        help="which model the checkpoint is for (default: inferred from its metadata or keys)",
    )
    p.add_argument(
        "--preset",
        choices=preset_names(),
        help=f"preset of an official file: {model_presets()} (default: inferred from its shapes)",
    )
    p.add_argument(
        "--overwrite", action="store_true", help="replace OUT if it exists (default: refuse, keeping it)"
    )
    p.set_defaults(run=_run_convert)


def _run_convert(args: argparse.Namespace) -> int:
    from pathlib import Path

    from discmot.io.checkpoint_files import carried_metadata, guess_file_kind, save_model
    from discmot.models.registry import MODEL_NAMES, load_model, weights_file

    if Path(args.source).is_dir():  # a run folder: its final weights, as track reads it
        args.source = str(weights_file(args.source))
    _check_target(args.source, args.target, args.overwrite)  # before a missing IN: nothing is read yet
    kind = args.model or guess_file_kind(args.source)
    if kind == "unknown":
        raise ValueError(
            f"{args.source}: neither an FDTA nor a CSTrack checkpoint by its keys; give --model if it is one"
        )
    model = load_model(kind, args.source, args.preset)  # one line for a file of the other model
    presets: Mapping[str, object]  # the kind's preset configs, by name
    if kind == "cstrack":
        from discmot.models.cstrack.config import PRESETS as presets
    else:
        from discmot.models.fdta.config import PRESETS as presets
    save_model(args.target, model, kind, carried_metadata(args.source))
    log.info("wrote %s (%s, %s)", args.target, MODEL_NAMES[kind], _architecture(model.config, presets))
    return 0


def _check_target(source: str, target: str, overwrite: bool = False) -> None:
    """The output suffix picks the format; an unknown one, a folder, the source itself, or an existing
    file without ``overwrite`` (a released checkpoint a typo would replace) is refused."""
    from pathlib import Path

    from discmot.io.atomic import check_folder_possible

    path = Path(target)
    if path.suffix.lower() not in (".safetensors", ".pth", ".pt"):
        raise ValueError(f"{target}: the output suffix picks the format: .safetensors, .pth or .pt")
    if path.is_dir():
        raise ValueError(f"{target}: a folder; give a file name")
    if path.exists() and path.resolve() == Path(source).resolve():
        raise ValueError(f"{target}: the output would overwrite the input; write elsewhere")
    if path.exists() and not overwrite:
        raise ValueError(f"{target}: exists; pass --overwrite to replace it")
    try:
        check_folder_possible(path.parent)  # before the (seconds long) loading
    except OSError as error:
        folder = path.parent
        if isinstance(error, NotADirectoryError) or not folder.is_dir():
            raise
        # an existing folder that takes no file (/proc, a read-only mount) reads "No such file" otherwise
        reason = (error.strerror or error.__class__.__name__).lower()
        raise ValueError(
            f"{target}: the folder {folder} exists but no file can be written in it ({reason}); "
            "write elsewhere"
        ) from None


def _architecture(config, presets: Mapping[str, object]) -> str:
    """``the tiny preset``, or for a config no preset equals what differs, in words: ``the dancetrack
    preset, with its spatial and temporal adapters off`` (a MOTIP checkpoint), ``the tiny preset, with
    its own detr, id_decoder and runtime settings``."""
    import dataclasses

    preset = presets.get(config.name)
    if preset == config:
        return f"the {config.name} preset"
    if preset is None:
        return f"an architecture of its own, named {config.name!r}"
    changed = [
        f.name for f in dataclasses.fields(config) if getattr(config, f.name) != getattr(preset, f.name)
    ]
    off = [name for name in changed if getattr(getattr(config, name), "enabled", True) is False]
    other = [name for name in changed if name not in off]
    parts = [f"its {listed_all(off)} adapter{'s' if len(off) > 1 else ''} off"] if off else []
    parts += [f"its own {listed_all(other)} settings"] if other else []
    return f"the {config.name} preset, with {' and '.join(parts)}"
