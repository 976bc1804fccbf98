"""The demo's inputs: the checkpoints shipped with discmot and the options they are run with, the
trackers of a demo (`DemoModel`) and what it renders and writes (`DemoConfig`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

#: The checkpoints shipped in ``discmot/assets`` (trained with ``discmot train --config tiny`` /
#: ``cstrack_tiny`` on synthetic scenes; docs/model_zoo.md has their numbers).
BUNDLED_WEIGHTS = {
    "fdta": "fdta_tiny_synth_dancetrack.safetensors",
    "cstrack": "cstrack_tiny_synth.safetensors",
}
#: `discmot.engine.infer.track` options the bundled models are run with. The tiny CSTrack also tracks
#: synthetic dancers, whose boxes (arms and legs out, partly occluded) are often wider than the original's
#: pedestrian output filter lets through (w/h > 0.6: on a held-out synthetic DanceTrack sequence it drops
#: nearly every box), so the demo and its benchmark write its results unfiltered.
BUNDLED_TRACK_OPTIONS: dict[str, dict] = {"fdta": {}, "cstrack": {"output_filter": False}}


@dataclass(frozen=True)
class DemoModel:
    """One tracker of the demo: the model kind, its checkpoint and network input ``(h, w)`` (``None``: the
    model's own, as ``discmot track`` without ``--input-size``)."""

    kind: str
    weights: Path
    input_size: tuple[int, int] | None = None


@dataclass(frozen=True)
class DemoConfig:
    """What the demo renders and writes. The defaults take about half a minute on 2 CPU cores."""

    frames: int = 150
    #: ``(width, height)``: the size of the synthetic DanceTrack scenes the bundled models were trained on.
    scene_size: tuple[int, int] = (256, 160)
    scene_seed: int = 0
    #: Network input ``(h, w)`` of every model; ``None``: each model's own, the size its checkpoint
    #: carries (CSTrack's ``input_size``, FDTA's resize rule), which ``discmot track`` uses without
    #: ``--input-size``, so that the demo shows what a user's ``discmot track`` gives. The bundled FDTA
    #: resizes the 256x160 scene to 160x256; the bundled CSTrack, trained on 320x192 frames, takes 192x320.
    input_size: tuple[int, int] | None = None
    #: Drawn frames are enlarged by this factor in the MP4 (small synthetic frames are hard to read), when
    #: the panels side by side still fit `demo_video.MAX_VIDEO_SIZE` (`demo_video.video_scale`).
    video_scale: int = 2
    #: The GIF's width, both panels: a README column. Its boxes and labels are drawn at this size.
    gif_width: int = 720
    gif_fps: float = 10.0
    #: Every ``gif_step``-th frame goes into the GIF, at most ``gif_frames`` of them; a longer source
    #: takes a longer step, so that the preview spans all of it (`demo_video.gif_stride`).
    gif_step: int = 3
    gif_frames: int = 50
    #: Colour change (0-255 units) below which a GIF pixel is not re-coded (`discmot.io.gif.encode_gif`).
    gif_tolerance: float = 16.0
    #: Frames given to the embedding diagnostics: enough for their longest gap (50 frames) to be measured.
    analyze_frames: int = 80
    models: tuple[str, ...] = field(default=("fdta", "cstrack"))
    #: With a user's source: only its frames ``1..source_frames`` (``None``: all of them).
    source_frames: int | None = None


def bundled_weights(kind: str) -> Path:
    """The bundled checkpoint of ``kind`` (``"fdta"`` or ``"cstrack"``)."""
    if kind not in BUNDLED_WEIGHTS:
        raise ValueError(f"no bundled weights for {kind!r}; choose from {', '.join(BUNDLED_WEIGHTS)}")
    path = Path(str(resources.files("discmot") / "assets" / BUNDLED_WEIGHTS[kind]))
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the bundled {kind} weights are missing from the installation")
    return path
