"""Pseudo-depth maps for FDTA's Spatial Adapter, in exactly the format and naming its loader reads.

Format (spec ``fdta.md`` §8.2): one 8-bit single-channel PNG per frame, ``<seq>/depth/<stem>.png`` for the
image ``<seq>/img1/<stem>.jpg`` (or ``.png`` with ``imExt=.png``). The map takes the image's own name:
the official generator always wrote 8-digit names, which the loader cannot find for SportsMOT and BFT's
6-digit images. Value ``floor(255 * D / max_seq(D))`` where ``D`` is an inverse-depth-like estimate
(larger = nearer) and the maximum runs over the whole sequence.

Estimators: ``synthetic`` re-renders the exact depth of a ``discmot synth`` sequence from the generator
parameters recorded in its ``seqinfo.ini``; ``depth-anything`` runs a Depth Anything model through the
optional ``transformers`` package on weights the user has locally.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np

from discmot.io.atomic import atomic_write_bytes
from discmot.io.seqinfo import SeqInfo, read_seqinfo, read_seqinfo_extra
from discmot.io.sequence_folders import sequence_folders, training_frame_images, training_image_suffix

#: An estimator gives, for each frame of a sequence, an inverse-depth-like float map ``(H, W)``.
SequenceEstimator = Callable[..., Iterator[tuple[str, np.ndarray]]]


class DepthAccumulator:
    """Collects a sequence's inverse-depth maps, then writes them scaled by the sequence maximum.

    Maps stay in memory up to ``memory_limit`` bytes and spill to a temporary folder beyond, so long or
    large sequences never exhaust memory. `write` produces ``<folder>/depth/<stem>.png``, atomically.
    """

    def __init__(self, memory_limit: int = 512 * 2**20):
        self.memory_limit = memory_limit
        self.stems: list[str] = []
        self.maps: list[np.ndarray | Path] = []
        self.largest = 0.0
        self.held = 0
        self._scratch: tempfile.TemporaryDirectory | None = None

    def add(self, stem: str, inverse_depth: np.ndarray) -> None:
        inverse = np.nan_to_num(np.asarray(inverse_depth, np.float32), nan=0.0, posinf=0.0).clip(min=0)
        self.largest = max(self.largest, float(inverse.max(initial=0.0)))
        if self.held + inverse.nbytes <= self.memory_limit:
            self.maps.append(inverse)
            self.held += inverse.nbytes
        else:
            if self._scratch is None:
                self._scratch = tempfile.TemporaryDirectory(prefix="discmot-depth-")
            path = Path(self._scratch.name) / f"{len(self.stems)}.npy"
            np.save(path, inverse)
            self.maps.append(path)
        self.stems.append(stem)

    def quantise(self, inverse: np.ndarray) -> np.ndarray:
        """``floor(255 * D / max)`` as uint8, exactly: in float64 (a float32 ``D * (255 / max)`` lands just
        under 255 at the maximum for many maxima)."""
        if self.largest <= 0:
            return np.zeros(inverse.shape, np.uint8)
        # 255 * D is exact in float64 for float32 D, the division correctly rounded: values stay <= 255
        scaled = np.multiply(inverse, 255.0, dtype=np.float64)
        np.divide(scaled, self.largest, out=scaled)
        return np.floor(scaled, out=scaled).astype(np.uint8)

    def write(self, folder: str | Path) -> int:
        """Writes every map as ``floor(255 * D / max)``; returns the number written."""
        folder = Path(folder)
        (folder / "depth").mkdir(exist_ok=True)
        try:
            for stem, stored in zip(self.stems, self.maps, strict=True):
                inverse = np.load(stored) if isinstance(stored, Path) else stored
                values = self.quantise(inverse)
                ok, png = cv2.imencode(".png", values, [cv2.IMWRITE_PNG_COMPRESSION, 1])
                if not ok:
                    raise RuntimeError(f"{folder}: could not encode the depth map of {stem}")
                atomic_write_bytes(folder / "depth" / f"{stem}.png", png.tobytes())
        finally:
            if self._scratch is not None:
                self._scratch.cleanup()
        return len(self.stems)


def write_depth_maps(
    sequence: str | Path,
    estimate: SequenceEstimator,
    stems: list[str] | None = None,
    progress: bool = False,
) -> int:
    """Writes ``depth/<stem>.png`` for every frame ``estimate(sequence)`` yields; returns the count.

    ``stems``: the sequence's frame stems when `check_sequence` has already found them (the estimators
    of this module take them instead of reading the image folder again). ``progress``: a bar over the
    sequence's frames on stderr (Depth Anything on a CPU takes seconds a frame, and the maps are written
    only once every frame is estimated: their scale is the sequence's).
    """
    from tqdm import tqdm

    accumulator = DepthAccumulator()
    frames = estimate(Path(sequence)) if stems is None else estimate(Path(sequence), stems=stems)
    total = len(stems) if stems is not None else None
    with tqdm(frames, total=total, desc=Path(sequence).name, unit="frame", disable=not progress) as bar:
        for stem, inverse in bar:
            accumulator.add(stem, inverse)
    return accumulator.write(sequence)


def synthetic_depth(sequence: Path, stems: list[str] | None = None) -> Iterator[tuple[str, np.ndarray]]:
    """Exact inverse depth of a ``discmot synth`` sequence, re-rendered from its recorded parameters."""
    from discmot.data.synth.render import render_sequence

    stems, config, seed, split, index, info = _synthetic_parameters(sequence, stems)
    frames = render_sequence(config, seed, info.length, (info.width, info.height), split, index)
    for frame, stem in zip(frames, stems, strict=True):
        yield stem, inverse_depth(frame.depth)


def check_sequence(sequence: Path, synthetic: bool) -> list[str]:
    """What would stop `write_depth_maps` on ``sequence`` (its frame images; for the synthetic estimator
    its recorded parameters), raised before any sequence of a run is written; returns the frame stems
    to pass on to it."""
    return _synthetic_parameters(sequence)[0] if synthetic else _frame_stems(sequence)


def _synthetic_parameters(sequence: Path, stems: list[str] | None = None):
    """``(frame stems, preset config, seed, split, index, SeqInfo)`` of a ``discmot synth`` sequence."""
    from discmot.data.synth.presets import PRESETS

    seqinfo = sequence / "seqinfo.ini"
    extra = read_seqinfo_extra(seqinfo) if seqinfo.is_file() else {}
    if "synthPreset" not in extra:
        # the estimator a user of their own video tries first: say what works for real frames instead
        found = "no [discmot] section in seqinfo.ini" if seqinfo.is_file() else "no seqinfo.ini"
        raise ValueError(
            f"{sequence}: not a discmot synth sequence ({found}): --estimator synthetic only re-renders "
            "synthetic scenes; for real frames use --estimator depth-anything --model <weights>, or train "
            "without the Spatial Adapter (--set adapters.spatial=false)"
        )
    info = read_seqinfo(seqinfo)
    stems = stems or _frame_stems(sequence)  # before rendering: a missing image is said at once
    try:
        config = PRESETS[extra["synthPreset"]]
        seed, split, index = int(extra["synthSeed"]), extra["synthSplit"], int(extra["synthIndex"])
    except (KeyError, ValueError) as error:
        raise ValueError(
            f"{seqinfo}: the [discmot] section is damaged ({error!r}); render the sequence again"
        ) from None
    if info.width is None or info.height is None:
        raise ValueError(f"{seqinfo}: imWidth and imHeight are needed to render the depth")
    return stems, config, seed, split, index, info


class MissingExtraError(ValueError):
    """An optional dependency the requested feature needs is not installed (the message says which)."""


def depth_anything(model_path: str | Path, device: str = "cpu") -> SequenceEstimator:
    """Depth Anything (relative, larger = nearer) through ``transformers``, from local weights only."""
    if not Path(model_path).exists():  # first: both are missing on a fresh machine, and this one is named
        raise FileNotFoundError(f"{model_path}: Depth Anything weights not found (nothing is downloaded)")
    try:
        import torch
        from transformers import AutoImageProcessor, AutoModelForDepthEstimation
    except ImportError:
        raise MissingExtraError(
            "the depth-anything estimator needs the optional 'transformers' package "
            "(pip install 'discmot[depth]' or pip install transformers) and Depth Anything weights on disk "
            "(--model PATH)"
        ) from None
    try:
        processor = AutoImageProcessor.from_pretrained(model_path, local_files_only=True)
        model = AutoModelForDepthEstimation.from_pretrained(model_path, local_files_only=True)
    except ImportError as error:  # the image processor needs Pillow, which transformers does not pull in
        reason = next((line.strip() for line in str(error).splitlines() if line.strip()), "ImportError")
        raise MissingExtraError(
            f"the depth-anything estimator needs a package transformers could not import ({reason}); "
            "pip install 'discmot[depth]'"
        ) from None
    except OSError as error:
        reason = str(error).splitlines()[0] if str(error) else error.__class__.__name__
        raise FileNotFoundError(f"{model_path}: not a Depth Anything model folder ({reason})") from None
    if getattr(model.config, "depth_estimation_type", None) == "metric":
        raise ValueError(
            f"{model_path}: a metric Depth Anything model (depth: larger = farther); the maps need a "
            "relative one (inverse depth, larger = nearer)"
        )
    model = model.to(device).eval()
    from discmot.data.frames import read_rgb

    def estimate(sequence: Path, stems: list[str] | None = None) -> Iterator[tuple[str, np.ndarray]]:
        stems = stems or _frame_stems(sequence)
        suffix = training_image_suffix(_seqinfo(sequence))
        for stem in stems:
            # read as FDTA training reads it (EXIF orientation ignored, as PIL does): a map of the
            # turned image would be upside down or the wrong size against the frame it teaches
            image = read_rgb(sequence / "img1" / f"{stem}{suffix}")
            with torch.inference_mode():
                inputs = processor(images=image, return_tensors="pt").to(device)
                predicted = model(**inputs).predicted_depth[None]
                resized = torch.nn.functional.interpolate(predicted, size=image.shape[:2], mode="bilinear")
            yield stem, resized[0, 0].float().cpu().numpy()

    return estimate


def inverse_depth(depth: np.ndarray) -> np.ndarray:
    """``1 / depth`` in float32 (0 for infinitely far pixels such as the sky)."""
    return np.float32(1.0) / depth.astype(np.float32)


def _frame_stems(sequence: Path) -> list[str]:
    """The image stems of frames ``1..seqLength`` in frame order, by the rule training reads frames with
    (`discmot.io.sequence_folders.training_frame_images`: ``2.jpg`` before ``10.jpg``, other names ignored
    with a warning)."""
    folder, seqinfo = sequence / "img1", sequence / "seqinfo.ini"
    stems = [image.stem for image in training_frame_images(folder, _seqinfo(sequence), seqinfo)]
    if not stems:
        raise ValueError(f"{folder}: no images named by a frame number")
    return stems


def _seqinfo(sequence: Path) -> SeqInfo | None:
    """The sequence's ``seqinfo.ini``, or ``None`` without one."""
    path = sequence / "seqinfo.ini"
    return read_seqinfo(path) if path.is_file() else None


def sequences_of(data_root: str | Path, split: str | None = None) -> list[Path]:
    """Sequence folders (with ``img1/``) under ``<root>/<split>/`` or directly under ``root``."""
    base = Path(data_root) / split if split else Path(data_root)
    if not base.is_dir():
        raise ValueError(f"{base}: folder not found")
    found = sequence_folders(base)  # as training reads them
    if not found:
        splits = sorted(p.name for p in base.iterdir() if any((q / "img1").is_dir() for q in _folders(p)))
        hint = f" (its split folders: {', '.join(splits)}; pass --split {splits[0]})" if splits else ""
        raise ValueError(f"{base}: no sequence folders with img1/ below it{hint}")
    return found


def _folders(path: Path) -> list[Path]:
    return [p for p in path.iterdir() if p.is_dir()] if path.is_dir() else []
