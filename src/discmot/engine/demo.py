"""The tracking demo (`discmot demo`, `make demo`): render, track, evaluate, draw, diagnose, in one folder.

With no source, a synthetic DanceTrack scene held out from training (the ``val`` split; the bundled
models were trained on ``train`` scenes, which never coincide) is rendered with its ground truth, then
each model tracks it and is scored by `discmot.eval.evaluate` on the written result files, exactly what
``discmot eval`` would read. The tracks are drawn from those same files, so the video shows what was
scored. With a user's source (video, image folder or sequence folder), the same runs on it; it is scored
only when it is a sequence folder with ``gt/gt.txt``.

Output folder::

    data/val/<scene>/            the rendered scene (img1/, gt/gt.txt, seqinfo.ini) and val_seqmap.txt
    results/<model>/data/*.txt   MOTChallenge results (TrackEval layout), pedestrian_summary.txt
    metrics.json, metrics.md     every metric / the table HOTA DetA AssA IDF1 MOTA
    demo.mp4, demo.gif           the models side by side (H.264; a small looping preview)
    analysis/<model>/            `discmot analyze` report: report.html, PNGs, summary.json
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from discmot.io.atomic import atomic_write_text

log = logging.getLogger(__name__)

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
#: The columns of the demo's metrics table (TrackEval summary fields).
TABLE_FIELDS = ("HOTA", "DetA", "AssA", "IDF1", "MOTA", "IDSW")
#: The demo scene's benchmark rules (DanceTrack: no distractor classes, every gt box counts).
SCENE_BENCHMARK = "DanceTrack"
SCENE_SPLIT = "val"
#: Black columns between the panels of the demo video and GIF.
PANEL_GAP = 4
#: ``(w, h)``: small frames are enlarged in the MP4 only while all panels fit this screen.
MAX_VIDEO_SIZE = (1920, 1080)
#: Height of the title bar above each panel (`discmot.viz.draw.with_title`'s default).
TITLE_BAR = 22


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
    #: the panels side by side still fit `MAX_VIDEO_SIZE` (`video_scale`).
    video_scale: int = 2
    #: The GIF's width, both panels: a README column. Its boxes and labels are drawn at this size.
    gif_width: int = 720
    gif_fps: float = 10.0
    #: Every ``gif_step``-th frame goes into the GIF, at most ``gif_frames`` of them; a longer source
    #: takes a longer step, so that the preview spans all of it (`gif_stride`).
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


def render_scene(root: Path, config: DemoConfig) -> Path:
    """Renders the held-out synthetic DanceTrack scene under ``root``; returns its sequence folder."""
    from discmot.data.synth import generate_dataset

    (folder,) = generate_dataset(
        root,
        "dancetrack",
        split=SCENE_SPLIT,
        sequences=1,
        frames=config.frames,
        size=config.scene_size,
        seed=config.scene_seed,
    )
    return folder


def track_with(
    model: DemoModel, source: Path, results: Path, progress: bool, max_frames: int | None = None
) -> dict:
    """Tracks frames ``1..max_frames`` (all: ``None``) of ``source`` with ``model`` and writes ``results``
    (MOTChallenge rows); the track summary."""
    from discmot.engine.track_verb import track

    return track(
        source,
        model=model.kind,
        weights=model.weights,
        input_size=model.input_size,
        save_txt=results,
        progress=progress,
        max_frames=max_frames,
        **BUNDLED_TRACK_OPTIONS[model.kind],
    )


def score_scene(data_root: Path, results_root: Path, models: list[str], out: Path) -> dict:
    """`discmot.eval.evaluate` of ``models``' results (folders of ``results_root``; others there, e.g. of an
    earlier demo, are ignored) on the scene: ``{model: results}``. Writes TrackEval's summary files and
    pictures beside the results (``<model>/pedestrian_plot.png``; with two models also
    ``comparison_deta_assa.png``, `discmot.eval.plots`) and all numbers to ``out/metrics.json``."""
    from discmot.eval.runner import evaluate

    return evaluate(
        data_root,
        results_root,
        benchmark=SCENE_BENCHMARK,
        split=SCENE_SPLIT,
        trackers=models,
        json_path=out / "metrics.json",
        plot=True,
    )


def score_sequence(sequence: Path, results: dict[str, Path], out: Path) -> dict:
    """A user's sequence folder with ``gt/gt.txt`` and ``seqinfo.ini``: every model's results scored on
    it (MOT17 rules) by `discmot.evaluate_pair`, as ``discmot eval --gt --results`` scores them (its
    length: the ``seqLength``; COMBINED: TrackEval's combination of the one sequence)."""
    from discmot.eval import report
    from discmot.eval.runner import evaluate_pair

    scored = {}
    for name, path in results.items():
        (scored[name],) = evaluate_pair(sequence / "gt" / "gt.txt", path).values()
    report.write_json(out / "metrics.json", scored)
    return scored


def metrics_table(scores: dict) -> str:
    """A Markdown table of `TABLE_FIELDS` per model, printed as TrackEval prints them (×100, 5 digits)."""
    from discmot.eval import report

    lines = ["| model | " + " | ".join(TABLE_FIELDS) + " |", "|---" * (len(TABLE_FIELDS) + 1) + "|"]
    for name, per_sequence in scores.items():
        values = report.summary_values(per_sequence["COMBINED"])
        cells = [report.display_value(values[f]) for f in TABLE_FIELDS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def compose_frame(
    image: np.ndarray, number: int, rows: dict[str, dict], trails: dict, scale: float
) -> np.ndarray:
    """One frame of the demo video: for each model, its tracks of frame ``number`` (``rows``: model ->
    `discmot.io.mot_results.read_results_by_frame`) drawn with trails on a copy of ``image`` resized by
    ``scale`` under a title bar; the panels side by side (`PANEL_GAP` apart) -> ``(H', W', 3)`` uint8 BGR.

    Boxes and labels are drawn at the output size, so that a small output (the GIF) gets labels of the
    legible minimum size instead of large ones shrunk with the whole frame."""
    from discmot.viz.draw import draw_tracks, side_by_side, with_title

    resized = resize_frame(image, scale)
    panels = []
    for name, by_frame in rows.items():
        tracks = frame_tracks(by_frame, number, scale)
        trails[name].update(tracks)
        panels.append(with_title(draw_tracks(resized.copy(), tracks, trails[name]), f"{name}  #{number}"))
    return side_by_side(panels, gap=PANEL_GAP)


def resize_frame(image: np.ndarray, scale: float) -> np.ndarray:
    """``image`` resized by ``scale``: whole-pixel enlargements keep the pixels sharp (small synthetic
    frames), reductions average (no aliasing), other enlargements interpolate."""
    import cv2

    if scale == 1:
        return image
    if scale > 1 and float(scale).is_integer():
        interpolation = cv2.INTER_NEAREST
    else:
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=interpolation)


def frame_tracks(by_frame: dict, number: int, scale: float):
    """The `discmot.structures.Tracks` of frame ``number`` of one model's result rows, boxes times
    ``scale``."""
    from discmot.structures import Tracks

    ids, boxes, scores = by_frame.get(number, (np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0)))
    return Tracks(ids, np.asarray(boxes) * scale, np.asarray(scores, np.float64))


def video_scale(frame_size: tuple[int, int], panels: int, config: DemoConfig) -> int:
    """The MP4's enlargement of frames of ``frame_size = (w, h)``: ``config.video_scale`` when the panels
    side by side still fit a 1920x1080 screen, else 1 (enlarging a real video only makes the file big)."""
    width, height = frame_size
    wide = panels * width * config.video_scale + PANEL_GAP * (panels - 1)
    high = height * config.video_scale + TITLE_BAR  # each panel's title above it
    return config.video_scale if wide <= MAX_VIDEO_SIZE[0] and high <= MAX_VIDEO_SIZE[1] else 1


def gif_scale(frame_size: tuple[int, int], panels: int, scale: int, config: DemoConfig) -> float:
    """The GIF's resize of the source frames: the panels side by side ``config.gif_width`` wide, never
    larger than in the MP4 (``scale``)."""
    room = config.gif_width - PANEL_GAP * (panels - 1)
    return min(float(scale), room / (panels * frame_size[0]))


def draw_video(
    source: Path, results: dict[str, Path], mp4: Path, gif: Path, config: DemoConfig, progress: bool
) -> dict:
    """Draws every model's tracks (read back from its result file) on the source's frames, the models
    side by side, into an H.264 ``mp4`` and a small looping ``gif``; returns their frame counts.
    ``progress``: a bar; else (a log file, ``-q``) ``discmot track``'s log line every minute."""
    from discmot.engine.progress import progress_bar
    from discmot.io.gif import write_gif
    from discmot.io.mot_results import read_results_by_frame
    from discmot.io.video import VideoWriter, first_frames, frames_yielded, open_source
    from discmot.viz.draw import TrailHistory

    frames = first_frames(open_source(source), config.source_frames)
    rows = {name: read_results_by_frame(path) for name, path in results.items()}
    trails = {name: TrailHistory() for name in results}
    gif_trails = {name: TrailHistory() for name in results}  # points at the GIF's size
    scale = video_scale(frames.size, len(rows), config)
    small = gif_scale(frames.size, len(rows), scale, config)
    stride = gif_stride(frames_yielded(frames), config)
    log.info("%s: drawing the tracks of %s into %s and %s", frames.name, ", ".join(rows), mp4.name, gif.name)
    preview: list[np.ndarray] = []
    with contextlib.ExitStack() as stack:
        bar = stack.enter_context(progress_bar(f"{frames.name} (draw)", frames_yielded(frames), progress))
        writer = None
        for number, image in frames:
            if image is None:
                raise ValueError(f"{frames.location}: the source has no images to draw on")
            canvas = compose_frame(image, number, rows, trails, scale)
            if writer is None:  # the canvas size is known once the first frame is composed
                size = (canvas.shape[1], canvas.shape[0])
                writer = stack.enter_context(VideoWriter(mp4, frames.fps or 25.0, size))
            writer.write(canvas)
            if len(preview) < config.gif_frames:
                if (number - 1) % stride == 0:  # drawn again at the GIF's size: legible labels
                    preview.append(compose_frame(image, number, rows, gif_trails, small))
                else:  # the trails still follow every frame
                    for name, by_frame in rows.items():
                        gif_trails[name].update(frame_tracks(by_frame, number, small))
            bar.update(1)
        if writer is None:
            raise ValueError(f"{frames.location}: no frames to draw")
    write_gif(gif, preview, config.gif_fps, tolerance=config.gif_tolerance)
    return {"mp4_frames": writer.frames_written, "gif_frames": len(preview)}


def gif_stride(num_frames: int | None, config: DemoConfig) -> int:
    """The GIF takes every ``stride``-th frame: ``config.gif_step``, or more for a source too long for
    ``config.gif_frames`` frames at that step (an unknown length keeps the step)."""
    if num_frames is None:
        return config.gif_step
    return max(config.gif_step, math.ceil(num_frames / config.gif_frames))


def diagnose(model: DemoModel, source: Path, out: Path, config: DemoConfig, progress: bool) -> dict:
    """`discmot.analysis.analyze.analyze` of ``model`` on the first ``config.analyze_frames`` frames (of
    the ``config.source_frames`` the demo tracks), `last_analysed_frame`."""
    from discmot.analysis.analyze import analyze

    return analyze(
        source,
        model.kind,
        model.weights,
        out,
        input_size=model.input_size,
        max_frames=last_analysed_frame(source, config),
        progress=progress,
    )


def last_analysed_frame(source: Path, config: DemoConfig) -> int:
    """``analyze``'s ``max_frames`` for the demo: the frame number of the source's
    ``config.analyze_frames``-th frame (its last one when it has fewer) among the frames tracked (``1..
    config.source_frames``). ``max_frames`` is frame numbers ``1..N`` as in ``discmot track``, and
    ``--analyze-frames`` a count: images named from ``000050.jpg`` on with the default 80 are frames
    50-129, not 50-80 (too short for the 50-frame gap), nor an error when they start after frame 80.
    A video's frames are ``1..``: the count itself."""
    from discmot.io.video import first_frames, frame_numbers, open_source

    count = config.analyze_frames
    numbers = frame_numbers(first_frames(open_source(source), config.source_frames))
    last = numbers[min(count, len(numbers)) - 1] if numbers else count
    return last if config.source_frames is None else min(last, config.source_frames)


def _check_inputs(models: list[DemoModel], source: str | Path | None, out: Path) -> None:
    """What would stop the demo is found before any model runs and before anything is written: a missing
    checkpoint, a CSTrack input size, a source without images, an output folder that cannot be one."""
    from discmot.io.atomic import check_folder_possible
    from discmot.io.video import open_source
    from discmot.models.registry import check_weights_kind
    from discmot.trackers.cstrack import check_input_size

    for model in models:
        check_weights_kind(model.kind, model.weights)  # also a missing file; nothing is written yet
        if model.kind == "cstrack" and model.input_size is not None:
            check_input_size(model.input_size)
    if source is not None:
        if isinstance(source, int) or str(source).isdigit():  # it is read twice: tracked, then drawn
            raise ValueError(f"--source {source}: the demo cannot use a webcam; record a clip first")
        frames = open_source(source)
        if not frames.has_images:
            raise ValueError(f"{frames.location}: has no images to track and draw")
    check_folder_possible(out)


def run_demo(
    out: str | Path,
    config: DemoConfig | None = None,
    source: str | Path | None = None,
    models: list[DemoModel] | None = None,
    progress: bool = False,
    on_start: Callable[[], object] | None = None,
) -> dict:
    """The whole demo into ``out``; returns what it did (see the module docstring for the files).

    Args:
        out: output folder (created; files of an earlier demo there are replaced, each atomically).
        config: scene and output settings.
        source: a video, image folder or sequence folder instead of the synthetic scene.
        models: the trackers (default: the bundled tiny FDTA and CSTrack of ``config.models``, each at
            ``config.input_size``, by default its own).
        progress: progress bars on stderr (else a log line every minute, as ``discmot track``'s).
        on_start: called once the checkpoints, the source and ``out`` checked out, before anything runs
            (``discmot demo`` can say there whether busy cores will slow it down).

    Returns:
        ``source``, ``tracking`` (per model: `discmot.engine.infer.track`'s summary), ``scores`` (per model:
        `discmot.eval.evaluate`'s results, absent without ground truth), ``not_scored`` (why there are no
        scores, else ``None``), ``table`` (Markdown), ``video``,
        ``gif``, ``reports`` (per model: report.html), ``analysis`` (per model: view -> fraction of
        different-object similarities above 0.9), ``input_size`` (per model: the network input ``[h, w]``
        it ran at) and ``seconds`` per step.
    """
    config = config or DemoConfig()
    if models is None:
        models = [DemoModel(k, bundled_weights(k), config.input_size) for k in config.models]
    out = Path(out)
    _check_inputs(models, source, out)
    if on_start is not None:
        on_start()
    out.mkdir(parents=True, exist_ok=True)
    lap = _Stopwatch()
    rendered = source is None
    if rendered:
        source = render_scene(out / "data", config)
        log.info("rendered the held-out synthetic DanceTrack scene %s (%d frames)", source, config.frames)
        lap("render")
    source = Path(source)
    results = {m.kind: out / "results" / m.kind / "data" / f"{_sequence_name(source)}.txt" for m in models}
    summary: dict = {"source": str(source), "rendered": rendered}
    summary["tracking"] = _track_all(models, source, results, progress, lap, config.source_frames)
    scores, summary["not_scored"] = _score(source, results, out, [m.kind for m in models], rendered, config)
    if scores is not None:
        summary["scores"] = scores
        summary["table"] = metrics_table(scores)
        atomic_write_text(out / "metrics.md", summary["table"])
        lap("evaluate")
    summary.update(draw_video(source, results, out / "demo.mp4", out / "demo.gif", config, progress))
    summary["video"], summary["gif"] = str(out / "demo.mp4"), str(out / "demo.gif")
    lap("draw")
    summary["reports"], summary["analysis"], summary["input_size"] = _analyze_all(
        models, source, out, config, progress, lap
    )
    summary["seconds"] = lap.seconds
    _write_index(out, summary)
    return summary


class _Stopwatch:
    """``lap(step)`` records the seconds since the previous lap (or creation) under ``step``."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self._clock = time.perf_counter()

    def __call__(self, step: str) -> None:
        now = time.perf_counter()
        self.seconds[step] = now - self._clock
        self._clock = now


def _track_all(
    models: list[DemoModel],
    source: Path,
    results: dict[str, Path],
    progress: bool,
    lap: _Stopwatch,
    max_frames: int | None = None,
) -> dict:
    """Each model over ``source`` into ``results[kind]``; per model `track_with`'s summary."""
    tracking = {}
    for model in models:
        run = tracking[model.kind] = track_with(model, source, results[model.kind], progress, max_frames)
        log.info("%s: %d frames at %.1f fps", model.kind, run["frames"], run["fps"])
        lap(f"track {model.kind}")
    return tracking


def _score(
    source: Path, results: dict[str, Path], out: Path, kinds: list[str], rendered: bool, config: DemoConfig
) -> tuple[dict | None, str | None]:
    """``(scores, None)`` for the rendered scene or a sequence folder with ground truth, tracked whole;
    else ``(None, why it is not scored)``."""
    from discmot.io.seqinfo import read_seqinfo

    if rendered:
        return score_scene(out / "data", out / "results", kinds, out), None
    if not ((source / "gt" / "gt.txt").is_file() and (source / "seqinfo.ini").is_file()):
        return None, "no ground truth (a sequence folder with gt/gt.txt and seqinfo.ini is scored)"
    length = read_seqinfo(source / "seqinfo.ini").length
    if config.source_frames is not None and config.source_frames < length:
        # its gt covers frames the demo did not track: scoring them as misses would say nothing
        return None, f"only its first {config.source_frames} of {length} frames were tracked (--frames)"
    return score_sequence(source, results, out), None


def _analyze_all(
    models: list[DemoModel], source: Path, out: Path, config: DemoConfig, progress: bool, lap: _Stopwatch
) -> tuple[dict, dict]:
    """`diagnose` per model: ``(report.html paths, view -> fraction of similarities above 0.9, network
    input [h, w] on the source)``; the input is the one tracking used too (both take ``model.input_size``,
    else the model's own)."""
    reports, analysis, input_sizes = {}, {}, {}
    for model in models:
        diagnosed = diagnose(model, source, out / "analysis" / model.kind, config, progress)
        reports[model.kind] = str(out / "analysis" / model.kind / "report.html")
        analysis[model.kind] = {view: stats["fraction_above"] for view, stats in diagnosed["views"].items()}
        input_sizes[model.kind] = diagnosed["settings"]["input_size"]
        lap(f"analyze {model.kind}")
    return reports, analysis, input_sizes


def _sequence_name(source: Path) -> str:
    return source.stem if source.is_file() else source.name


def _write_index(out: Path, summary: dict) -> None:
    """``demo.json``: the run's summary without the bulky per-sequence metric arrays."""
    kept = {k: v for k, v in summary.items() if k != "scores"}
    atomic_write_text(out / "demo.json", json.dumps(kept, indent=1, default=str) + "\n")
