"""`discmot convert`: checkpoints between the official formats and discmot's safetensors."""

from __future__ import annotations

import argparse
import logging

from discmot.cli.arguments import model_presets
from discmot.models.registry import MODEL_KINDS, preset_names

log = logging.getLogger("discmot")


def add_convert(verbs) -> None:
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
        choices=MODEL_KINDS,
        help="which model the checkpoint is for (default: inferred from its metadata or keys)",
    )
    p.add_argument(
        "--preset",
        choices=preset_names(),
        help=f"preset of an official file: {model_presets()} (default: inferred from its shapes)",
    )
    p.set_defaults(run=_run_convert)


def _run_convert(args: argparse.Namespace) -> int:
    from discmot.io.checkpoints import guess_file_kind

    _check_target(args.source, args.target)
    kind = args.model or guess_file_kind(args.source)
    if kind == "unknown":
        raise ValueError(
            f"{args.source}: neither an FDTA nor a CSTrack checkpoint by its keys; give --model if it is one"
        )
    if kind == "cstrack":
        from discmot.models.cstrack.checkpoint import convert as convert_cstrack
        from discmot.models.cstrack.config import PRESETS

        model = convert_cstrack(args.source, args.target, args.preset)
        log.info("wrote %s (CSTrack, %s)", args.target, _architecture(model.config, PRESETS))
        return 0
    from discmot.models.fdta.checkpoint import convert
    from discmot.models.fdta.config import PRESETS

    model = convert(args.source, args.target, args.preset)
    log.info("wrote %s (FDTA, %s)", args.target, _architecture(model.config, PRESETS))
    return 0


def _check_target(source: str, target: str) -> None:
    """The output suffix picks the format; an unknown one, a folder or the source itself is refused."""
    from pathlib import Path

    path = Path(target)
    if path.suffix.lower() not in (".safetensors", ".pth", ".pt"):
        raise ValueError(f"{target}: the output suffix picks the format: .safetensors, .pth or .pt")
    if path.is_dir():
        raise ValueError(f"{target}: a folder; give a file name")
    if path.exists() and path.resolve() == Path(source).resolve():
        raise ValueError(f"{target}: the output would overwrite the input; write elsewhere")


def _architecture(config, presets: dict) -> str:
    """``the tiny preset``, or ``the tiny preset with changes`` for a config no preset equals."""
    if presets.get(config.name) == config:
        return f"the {config.name} preset"
    return f"the {config.name} preset with changes"
