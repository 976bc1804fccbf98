"""The tracking demo (`discmot demo`, `make demo`): render, track, evaluate, draw, diagnose, in one folder.

With no source, a synthetic DanceTrack scene held out from training (the ``val`` split; the bundled models
were trained on ``train`` scenes, which never coincide) is rendered with its ground truth, then each model
tracks it and is scored by `discmot.eval.runner.evaluate` on the written result files, exactly what
``discmot eval`` would read. The tracks are drawn from those same files, so the video shows what was
scored. With a user's source (video, image folder or sequence folder), the same runs on it; it is scored
only when it is a sequence folder with ``gt/gt.txt``.

Output folder::

    data/val/<scene>/            the rendered scene (img1/, gt/gt.txt, seqinfo.ini) and val_seqmap.txt
    results/<model>/data/*.txt   MOTChallenge results (TrackEval layout), pedestrian_summary.txt
    metrics.json, metrics.md     every metric / the table HOTA DetA AssA IDF1 MOTA
    demo.mp4, demo.gif           the models side by side (H.264; a small looping preview)
    analysis/<model>/            `discmot analyze` report: report.html, PNGs, summary.json

Its inputs (the bundled checkpoints, `DemoModel`, `DemoConfig`) are in `discmot.engine.demo_config`, the
drawing of the video and GIF in `discmot.engine.demo_video`; here are the other steps and `run_demo`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

from discmot.engine.demo_config import BUNDLED_TRACK_OPTIONS, DemoConfig, DemoModel, bundled_weights
from discmot.engine.demo_video import draw_video
from discmot.io.atomic import atomic_write_text

log = logging.getLogger(__name__)

#: The columns of the demo's metrics table (TrackEval summary fields).
TABLE_FIELDS = ("HOTA", "DetA", "AssA", "IDF1", "MOTA", "IDSW")
#: The demo scene's benchmark rules (DanceTrack: no distractor classes, every gt box counts).
SCENE_BENCHMARK = "DanceTrack"
SCENE_SPLIT = "val"


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
    """`discmot.eval.runner.evaluate` of ``models``' results (folders of ``results_root``; others there, e.g.
    of an earlier demo, are ignored) on the scene: ``{model: results}``. Writes TrackEval's summary files and
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
        `discmot.eval.runner.evaluate`'s results, absent without ground truth), ``not_scored`` (why there
        are no scores, else ``None``), ``table`` (Markdown), ``video``,
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
    if source is None:
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
) -> tuple[dict, dict, dict]:
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
