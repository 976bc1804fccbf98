"""Writing synthetic sequences to disk in the layouts FDTA and CSTrack training read.

DanceTrack/MOTChallenge layout (spec ``fdta.md`` §8.1-8.2)::

    <root>/<split>/<seq>/img1/<frame>.jpg        8 digits (dancetrack, tiny) or 6 (sportsmot, bft, mot)
    <root>/<split>/<seq>/gt/gt.txt               frame,id,x,y,w,h,1,1,visibility
    <root>/<split>/<seq>/seqinfo.ini
    <root>/<split>/<seq>/depth/<frame>.png       8-bit pseudo-depth, named like its image
    <root>/<split>_seqmap.txt

JDE layout for CSTrack (spec ``cstrack.md`` §6.1-6.2), with ``jde=True``::

    <root>/jde/images/<split>/<seq>/img1/<frame>.jpg            (hard links to the images above)
    <root>/jde/labels_with_ids/<split>/<seq>/img1/<frame>.txt   "0 id cx cy w h", normalised
    <root>/jde/synth_<preset>.<split>                           image paths relative to <root>/jde

A sequence is written into a hidden temporary folder and renamed into place when complete, so an
interrupted run never leaves a half-written sequence; the same seed gives byte-identical files.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

from discmot.data.synth.presets import SynthConfig
from discmot.data.synth.render import (
    MAX_FRAMES,
    SynthFrame,
    check_render_request,
    make_scene,
    render_frame,
    synth_config,
)
from discmot.io.atomic import is_plain_folder_name, publish_folder
from discmot.io.depth import DepthAccumulator, inverse_depth
from discmot.io.seqinfo import SeqInfo, read_seqinfo_extra, write_seqinfo
from discmot.io.seqmaps import read_seqmap, write_seqmap

log = logging.getLogger(__name__)

JPEG_QUALITY = 92


def generate_dataset(
    root: str | Path,
    preset: str | SynthConfig = "dancetrack",
    split: str = "train",
    sequences: int = 4,
    frames: int | None = None,
    size: tuple[int, int] | None = None,
    seed: int = 0,
    jde: bool = False,
    progress: bool = False,
) -> list[Path]:
    """Renders ``sequences`` sequences of a preset into ``root`` and returns their folders.

    Args:
        root: dataset root (created if needed).
        preset: a name of `PRESETS` or a `SynthConfig`.
        split: split folder name (``train``, ``val``, ``test``); splits never share scenes.
        frames: frames per sequence (default: the preset's).
        size: ``(width, height)`` (default: the preset's).
        seed: fixes every scene; the same arguments give byte-identical files.
        jde: also write the JDE export for CSTrack training.
        progress: show a progress bar over frames.
    """
    config = synth_config(preset)
    check_render_request(seed, frames, size)
    if frames is not None and frames > MAX_FRAMES:  # here, not in render_sequence: bench, demo and
        # depth re-render scenes of their own length, and `--sequences` is synth's
        raise ValueError(
            f"{frames} frames: a sequence has at most {MAX_FRAMES} (its whole motion is drawn in "
            "memory at once); render more sequences instead (--sequences)"
        )
    if isinstance(sequences, bool) or not isinstance(sequences, int) or sequences < 1:
        raise ValueError(f"sequences must be an integer of at least 1, got {sequences!r}")
    if not is_plain_folder_name(split):
        raise ValueError(f"split must be a plain folder name such as train or val, got {split!r}")
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise NotADirectoryError(f"{root}: a file, not a dataset folder (--out)")
    frames = frames or config.frames
    names = [f"{config.name}-{split}-{k:04d}" for k in range(sequences)]
    _say_what_a_rerun_leaves(root, split, config.name, names, jde)
    bar = _progress_bar(progress, sequences * frames, f"synth {config.name}")
    folders = []
    for index, name in enumerate(names):
        folder = root / split / name
        _write_sequence(folder, config, seed, frames, size or config.size, split, index, bar)
        folders.append(folder)
        if bar is None:  # a log file or a batch job: a line per sequence shows the run is moving
            log.info("%s: %d frames (%d of %d sequences)", folder, frames, index + 1, sequences)
    if bar is not None:
        bar.close()  # before the JDE export logs its line, which would land inside the bar's
    write_seqmap(root / f"{split}_seqmap.txt", _seqmap_with_other_presets(root, split, config.name, names))
    if jde:
        write_jde_export(root, config.name, split, folders)
    return folders


def _say_what_a_rerun_leaves(root: Path, split: str, preset: str, names: list[str], jde: bool) -> None:
    """A render into a folder that holds an earlier one replaces its sequences of the same names, and
    keeps the rest: said, since training and ``jde-export`` read every sequence folder of the split."""
    split_folder = root / split
    if not split_folder.is_dir():
        return
    existing = {p.name for p in split_folder.iterdir() if p.is_dir() and not p.name.startswith(".")}
    replaced = sorted(existing & set(names))
    for name in replaced:
        _refuse_to_replace_what_synth_did_not_write(split_folder / name)
    if replaced:
        noun = "sequence" if len(replaced) == 1 else "sequences"
        log.info(
            "%s: replacing %d %s of an earlier render (%s)", split_folder, len(replaced), noun, replaced[0]
        )
    kept = sorted(n for n in existing - set(names) if n.startswith(f"{preset}-{split}-"))
    if kept:
        log.warning(
            "%s: keeps %s from an earlier render (%d in all): not in the seqmap, but FDTA training and "
            "jde-export read every sequence folder of the split; delete them if they should not be used",
            split_folder,
            kept[0],
            len(kept),
        )
    stale_list = root / "jde" / f"synth_{preset}.{split}"
    if not jde and stale_list.is_file():
        log.warning(
            "%s lists the earlier render's images, which this one replaces: re-run with --jde to refresh "
            "it, or delete it",
            stale_list,
        )


def _refuse_to_replace_what_synth_did_not_write(folder: Path) -> None:
    """A folder this render would replace must be an earlier render's (its ``seqinfo.ini`` has the
    ``[discmot]`` section synth writes): a user's own folder of that name would be deleted whole."""
    seqinfo = folder / "seqinfo.ini"
    try:
        made_by_synth = seqinfo.is_file() and "synthPreset" in read_seqinfo_extra(seqinfo)
    except (OSError, ValueError):  # unreadable or not an ini file (MotFormatError): not one synth wrote
        made_by_synth = False
    if not made_by_synth:
        raise FileExistsError(
            f"{folder}: exists and is not a discmot synth sequence (no [discmot] section in its "
            "seqinfo.ini), so it is not replaced: move it, or render into another --out or --split"
        )


def _write_sequence(
    folder: Path, config: SynthConfig, seed: int, frames: int, size, split: str, index: int, bar
) -> None:
    scene = make_scene(config, seed, frames, size, split, index)
    ground = scene.camera.ground_depth()
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-", dir=folder.parent))
    try:
        for sub in ("img1", "depth", "gt"):
            (staging / sub).mkdir()
        rows = []
        depths = DepthAccumulator()
        for frame in range(scene.num_frames):
            rendered = render_frame(scene, frame, ground)
            stem = f"{rendered.index:0{config.frame_digits}d}"
            (staging / "img1" / f"{stem}.jpg").write_bytes(_encode(".jpg", rendered.image))
            depths.add(stem, inverse_depth(rendered.depth))
            rows.append(gt_rows(rendered))
            if bar is not None:
                bar.update(1)
        depths.write(staging)  # normalised by the sequence's largest inverse depth (spec fdta.md 8.2)
        (staging / "gt" / "gt.txt").write_text("".join(rows), encoding="utf-8")
        width, height = size
        made_by = {
            "synthPreset": config.name,
            "synthSeed": str(seed),
            "synthSplit": split,
            "synthIndex": str(index),
        }
        info = SeqInfo(folder.name, frames, config.frame_rate, width, height)
        write_seqinfo(staging / "seqinfo.ini", info, made_by)
        publish_folder(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def gt_rows(frame: SynthFrame) -> str:
    """The frame's ``gt.txt`` rows: ``frame,id,x,y,w,h,1,1,visibility`` (integer pixel boxes)."""
    return "".join(
        f"{frame.index},{i},{x:.0f},{y:.0f},{w:.0f},{h:.0f},1,1,{v:.4f}\n"
        for i, (x, y, w, h), v in zip(
            frame.ids.tolist(), frame.boxes.tolist(), frame.visibility.tolist(), strict=True
        )
    )


def _encode(extension: str, image: np.ndarray) -> bytes:
    params = (
        [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if extension == ".jpg" else [cv2.IMWRITE_PNG_COMPRESSION, 1]
    )
    ok, data = cv2.imencode(extension, image, params)
    if not ok:
        raise RuntimeError(f"OpenCV could not encode a {extension} image")
    return data.tobytes()


def write_jde_export(root: Path, preset: str, split: str, folders: Iterable[Path]) -> Path:
    """The JDE layout of the rendered sequences under ``root/jde`` (`discmot.data.jde_export`), list
    ``synth_<preset>.<split>``; returns the list file."""
    from discmot.data.jde_export import export_jde

    return export_jde(folders, root / "jde", f"synth_{preset}", split).list_file


def _seqmap_with_other_presets(root: Path, split: str, preset_name: str, names: list[str]) -> list[str]:
    """This run's sequences after those of other presets already in the split's seqmap (two presets
    rendered into one root, as CSTrack's quick start does, are both listed); earlier sequences of this
    preset are replaced, and names whose folder is gone dropped."""
    path = root / f"{split}_seqmap.txt"
    if not path.is_file():
        return names
    ours = f"{preset_name}-{split}-"
    return [n for n in read_seqmap(path) if not n.startswith(ours) and (root / split / n).is_dir()] + names


def _progress_bar(enabled: bool, total: int, description: str):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=description, unit="frame")
