"""`analyze`: run a model over a source, compute the embedding statistics, write PNGs + HTML + JSON.

The flow reads straight through: frames are streamed from `discmot.io.video.open_source`, each frame's
identified embeddings are extracted (`discmot.analysis.extract`), then the statistics
(`discmot.analysis.embeddings`), figures (`discmot.analysis.figures`) and the report
(`discmot.analysis.report`) are made and every file is written atomically. Only the per-frame embeddings
of the identified objects are kept in memory, never the frames.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from discmot.analysis.embeddings import (
    AnalysisConfig,
    FrameObjects,
    ViewStatistics,
    histogram_edges,
    view_statistics,
)
from discmot.analysis.figures import matrix_figures, projection_figures, statistics_figures
from discmot.analysis.report import Figure, render_html
from discmot.io.sequence_folders import default_ground_truth
from discmot.models import network_input_size
from discmot.models.registry import load_model

log = logging.getLogger(__name__)

#: Frames given a similarity matrix when none are chosen.
DEFAULT_MATRIX_FRAMES = 3


def read_gt(path: str | Path) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """MOTChallenge gt -> ``{frame: (tlwh [n, 4] float64, ids [n] int64)}``.

    Rows whose 7th column (the "consider" flag) is 0 are dropped: MOT17 marks ignore regions and other
    classes that way; DanceTrack and synthetic gt have 1 everywhere, so nothing changes for them.
    """
    from discmot.io.mot import check_positive_sizes, check_unique_ids, read_mot_table
    from discmot.io.mot_results import rows_by_frame

    table = read_mot_table(path, min_columns=6)
    check_positive_sizes(table)  # as eval checks a gt file: errors name the file and line
    check_unique_ids(table)
    values = table.values
    if not len(values):
        log.warning("%s: no ground-truth rows: no object is identified, so the figures will be empty", path)
    if values.shape[1] >= 7:
        values = values[values[:, 6] != 0]
    return {
        frame: (rows[:, 2:6].astype(np.float64), rows[:, 1].astype(np.int64))
        for frame, rows in rows_by_frame(values).items()
    }


def resolve_gt(source: str | Path, gt: str | Path | None) -> Path | None:
    """The gt file: ``gt`` when given (it must exist), else the source's own
    (`discmot.io.sequence_folders.default_ground_truth`: ``SOURCE/gt/gt.txt``, or for ``SEQ/img1`` its
    parent's), else None."""
    if gt is not None:
        if Path(gt).is_dir():
            raise IsADirectoryError(f"{gt}: a folder, not a ground-truth file (give its gt/gt.txt)")
        if not Path(gt).is_file():
            raise FileNotFoundError(f"{gt}: no such ground-truth file")
        return Path(gt)
    return default_ground_truth(source)


def collect(extractor, source, gt: dict | None, progress: bool, name: str = "analyze") -> list[FrameObjects]:
    """Runs ``extractor`` over every frame of ``source`` (`analyze` passes frames ``1..max_frames`` of
    one, a `discmot.io.video.FirstFrames`, which reads nothing after its last frame); returns every
    frame's objects.

    ``progress``: a bar named ``name``; without one (a log file, ``-q``), ``discmot track``'s log line
    every minute with the frames done, the speed and the time left (a full-size FDTA frame takes seconds
    on a CPU: an analysis of a whole video is minutes to hours); its total is
    `discmot.io.video.frames_yielded`'s: the frames the source has, not frame numbers from 1
    (``000050.jpg``-``000079.jpg``: 30 frames; with ``--max-frames 60``, 11)."""
    from discmot.engine.progress import progress_bar
    from discmot.io.video import frames_yielded

    collected = []
    with progress_bar(name, frames_yielded(source), progress) as bar:
        for number, image in source:
            if image is None:
                raise ValueError(f"{source.location}: the source has no images to run the model on")
            empty = (np.zeros((0, 4)), np.zeros(0, np.int64))
            collected.append(extractor(number, image, gt.get(number, empty) if gt is not None else None))
            bar.update()
    return collected


def check_matrix_frames(source, frames: list[int], max_frames: int | None) -> None:
    """``--frames`` after frame ``max_frames`` are refused before the run (they would get no matrix):
    ``--max-frames N`` is frame numbers ``1..N``, as in ``discmot track``, so with images named from 50
    on ``--max-frames 60`` analyses frames 50-60. ``source``: as opened, not yet cut at ``max_frames``
    (a source that ends before it cuts nothing off: its frames past the end get a note afterwards)."""
    from discmot.io.video import frame_numbers

    if max_frames is None or not frames:
        return
    numbers = frame_numbers(source)
    if numbers is not None and (not numbers or numbers[-1] <= max_frames):
        return
    beyond = [frame for frame in frames if frame > max_frames]
    if not beyond:
        return
    analysed = [n for n in numbers if n <= max_frames] if numbers is not None else [1, max_frames]
    span = (
        "no frame"  # images from after max_frames on (`analyze` says so sooner, `FirstFrames`)
        if not analysed
        else f"frame {analysed[0]}"
        if analysed[0] == analysed[-1]
        else f"frames {analysed[0]}-{analysed[-1]}"
    )
    # known before anything runs: said now, not after minutes of analysis
    raise ValueError(f"frame {beyond[0]} (--frames) is beyond --max-frames {max_frames} ({span} analysed)")


def matrix_frames(frames: list[FrameObjects], chosen, lag: int) -> tuple[list[int], list[str]]:
    """Frames that get a similarity matrix (frames ``t`` and ``t - lag`` analysed, an id in both), and
    notes on requested frames that cannot have one, each saying why. Without a choice, up to 3 evenly
    spaced frames, or a note when no frame can have a matrix. A frame asked for twice gets one matrix."""
    ids = {f.frame: f.ids for f in frames}
    usable = [t for t in ids if t - lag in ids and np.intersect1d(ids[t], ids[t - lag]).size]
    if not chosen:
        if len(ids) < 2:
            return [], [f"no similarity matrix: only {len(ids)} frame analysed"]
        if not usable:
            return [], [f"no similarity matrix: no object identified in two analysed frames {lag} apart"]
        index = np.unique(np.linspace(0, len(usable) - 1, DEFAULT_MATRIX_FRAMES).round().astype(int))
        return [usable[i] for i in index], []
    chosen = list(dict.fromkeys(chosen))  # `--frames 5 5`: one matrix, not the same one twice
    notes = [f"frame {t}: no matrix ({_no_matrix_reason(t, lag, ids)})" for t in chosen if t not in usable]
    return [t for t in chosen if t in usable], notes


def _no_matrix_reason(t: int, lag: int, ids: dict[int, np.ndarray]) -> str:
    """Why frame ``t`` has no matrix, given the analysed frames' ``ids``, in words."""
    if t not in ids:
        analysed = f"frames {min(ids)}-{max(ids)}" if len(ids) > 1 else f"frame {min(ids)}" if ids else "none"
        return f"not analysed; analysed: {analysed}"
    if t - lag < 1:
        return f"frame {t - lag}, the templates' frame, does not exist"
    if t - lag not in ids:
        return f"frame {t - lag}, the templates' frame, was not analysed"
    return f"no object identified in both frame {t - lag} and frame {t}"


def nothing_identified(frames: list[FrameObjects], with_gt: bool, config: AnalysisConfig) -> str | None:
    """A note when no frame has an identified object (every number and figure is then empty), saying
    what to check; None otherwise."""
    if any(len(objects) for objects in frames):
        return None
    count = f"{len(frames)} analysed frame{'s' if len(frames) != 1 else ''}"
    if with_gt:
        return (
            f"no object identified in the {count}: no detection (score > {config.score_threshold:g}) "
            f"matched a ground-truth box at IoU >= {config.iou_threshold:g}. Is the gt this source's, and "
            "do the weights detect these objects at this input size (--input-size)?"
        )
    return (
        f"no object identified in the {count}: the model's own tracker kept no detection with score > "
        f"{config.score_threshold:g}. Do the weights detect these objects at this input size (--input-size)?"
    )


def _finite(value):
    """JSON has no NaN: NaN -> None."""
    return None if isinstance(value, float) and math.isnan(value) else value


def view_summary(stats: ViewStatistics, frames: int, description: str) -> dict:
    """One view's statistics as JSON-ready values (NaN -> None; ``reason`` says why a rate is None)."""
    return {
        "description": description,
        "frames": frames,
        "pairs": stats.pairs,
        "above": stats.above,
        "fraction_above": _finite(stats.fraction_above),
        "mean_similarity": _finite(stats.mean_similarity),
        "histogram": stats.histogram.tolist(),
        "per_frame": [
            {"frame": f, "objects": m, "pairs": p, "fraction_above": _finite(r)}
            for f, m, p, r in stats.per_frame
        ],
        "reid": [
            {
                "lag": r.lag,
                "queries": r.queries,
                "hits": r.hits,
                "rank1": _finite(r.rank1),
                "chance": _finite(r.chance),
                "reason": r.reason or None,
            }
            for r in stats.reid
        ],
    }


def settings_summary(config: AnalysisConfig, input_size: tuple[int, int] | None, origin: str) -> dict:
    """The analysis settings and the network input ``(h, w)`` (None: unknown) with where it comes from; the
    input size changes the embeddings, so a report without it cannot be compared with another."""
    return {
        **{k: getattr(config, k) for k in config.__dataclass_fields__},
        "input_size": list(input_size) if input_size else None,
        "input_size_origin": origin,
    }


def write_outputs(out: Path, figures: list[Figure], summary: dict) -> None:
    """PNGs, ``summary.json`` and ``report.html`` in ``out``, each written atomically; the per-frame and
    per-view figures of an earlier run into ``out`` that this one did not draw are removed."""
    from discmot.io.atomic import atomic_write_bytes, atomic_write_text

    for figure in figures:
        atomic_write_bytes(out / figure.name, figure.png)
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=1) + "\n")
    atomic_write_text(out / "report.html", render_html(summary, figures))
    # An earlier run into the same folder may have drawn other frames or views: its figures would sit
    # beside this report without belonging to it. Only this verb's own per-frame and per-view names.
    written = {figure.name for figure in figures}
    for pattern in ("matrix_*_frame*.png", "projection_*.png"):
        for stale in out.glob(pattern):
            if stale.name not in written:
                stale.unlink()


def analyze(
    source: str | Path,
    model: str,
    weights: str | Path,
    out: str | Path,
    gt: str | Path | None = None,
    frames: int | list[int] | tuple[int, ...] = (),
    input_size: tuple[int, int] | None = None,
    max_frames: int | None = None,
    config: AnalysisConfig | None = None,
    progress: bool = False,
    on_start: Callable[[], object] | None = None,
) -> dict:
    """Embedding diagnostics of ``model`` (``"fdta"``/``"cstrack"``) on ``source``; returns the summary.

    Writes to ``out``: ``histogram.png``, ``fraction_per_frame.png``, ``reid.png``,
    ``matrix_<view>_frame<t>.png`` for the chosen ``frames`` (default: 3 spread over the video),
    ``projection_<view>.png``, ``summary.json`` and ``report.html``. Identities come from ``gt`` (or
    ``SOURCE/gt/gt.txt``) if any, else from the model's own tracker: then ``identity_source`` is
    ``"tracker"``, ``reid_caveat`` says why the re-identification rates are self-consistency only, and a
    warning is logged. ``max_frames``: frames ``1..max_frames`` only, frame numbers as ``discmot track
    --max-frames`` takes them (images from ``000050.jpg`` on, ``max_frames`` 60: frames 50-60), nothing
    after them read. ``progress``: a bar (else a log line every minute, `collect`); ``on_start``:
    called once the options, the weights, the source and the gt checked out, before the first frame is
    analysed (``discmot analyze`` says there whether busy cores will slow it down).

    Raises:
        FileNotFoundError: missing weights or gt. ValueError: unknown model kind, a checkpoint of another
        kind, an unreadable source, one whose first image comes after frame ``max_frames``.
        NotADirectoryError: a file where ``out`` would be. IsADirectoryError: a folder given as ``gt``.
    """
    from discmot.analysis.extract import build_extractor
    from discmot.io.atomic import check_folder_possible
    from discmot.io.video import check_max_frames

    config = config or AnalysisConfig()
    frames = [frames] if isinstance(frames, int) else list(frames)
    check_max_frames(max_frames)
    input_size = network_input_size(input_size)
    gt_path = resolve_gt(source, gt)
    check_folder_possible(out)  # now, not after minutes of analysis
    stream = _frames_to_analyse(source, frames, max_frames)
    network = load_model(model, weights)
    truth = read_gt(gt_path) if gt_path else None
    caveat = _no_gt_caveat(source, model, truth)
    extractor = build_extractor(model, network, config, input_size, with_tracker=truth is None)
    if on_start is not None:
        on_start()
    objects = _analysed_objects(extractor, stream, truth, model, progress)
    stats = {view: view_statistics(objects, view, config) for view in extractor.views}
    chosen, notes, empty = _matrix_choice(source, objects, frames, truth is not None, config)
    figures = statistics_figures(stats, config, model, caveat)
    matrix_figs, matrices = matrix_figures(objects, extractor.views, chosen, config.template_lag, model)
    projection_figs, methods = projection_figures(objects, extractor.views, config, model)
    notes += _projection_notes(extractor.views, methods, empty)
    summary = {
        "model": model,
        "weights": str(weights),
        "source": str(source),
        **_identity_summary(gt_path, caveat),
        "frames": len(objects),
        "settings": settings_summary(config, *extractor.network_input(stream.size)),
        # linspace leaves float noise (0.9000000000000001) that reads as a bug in a JSON file
        "histogram_edges": np.round(histogram_edges(config.bins), 6).tolist(),
        "views": _views_summary(stats, len(objects)),
        "matrices": matrices,
        "projection": methods,
        "notes": notes,
    }
    write_outputs(Path(out), figures + matrix_figs + projection_figs, summary)
    return summary


def _frames_to_analyse(source: str | Path, frames: list[int], max_frames: int | None):
    """``source``'s frames ``1..max_frames`` (all without it), as `discmot track --max-frames` tracks them
    (images from 000050.jpg and ``max_frames`` 60: frames 50-60), once it is found to have images and
    the matrix ``frames`` asked for to be among them; one whose first image comes after ``max_frames``
    is refused."""
    from discmot.io.video import first_frames, open_source

    opened = open_source(source)  # before the weights: --frames are checked against its frame numbers
    if not opened.has_images:  # a sequence folder without img1/: said before the busy-cores hint
        raise ValueError(f"{opened.location}: the source has no images to run the model on")
    stream = first_frames(opened, max_frames)
    check_matrix_frames(opened, frames, max_frames)
    return stream


def _no_gt_caveat(source: str | Path, model: str, truth: dict | None) -> str | None:
    """Without ground truth, why the re-identification rates of the model's own tracker ids are
    self-consistency only (also logged as a warning); None with ground truth."""
    from discmot.analysis.extract import tracker_ids_caveat

    caveat = None if truth is not None else tracker_ids_caveat(model)
    if caveat:  # the numbers would read as evidence otherwise; said once, before the run
        log.warning("%s: no ground truth. %s", source, caveat)
    return caveat


def _analysed_objects(
    extractor, stream, truth: dict | None, model: str, progress: bool
) -> list[FrameObjects]:
    """Every frame's identified objects (`collect`), after a log line that says the long part starts."""
    from discmot.io.video import frames_yielded

    count = frames_yielded(stream)
    log.info(  # the long part starts: said at once, then a bar or a line every minute (`collect`)
        "%s: analysing the embeddings of %s (%s) over %s",
        stream.name,
        model,
        ", ".join(extractor.views),
        f"{count} frames" if count else "every frame",
    )
    return collect(extractor, stream, truth, progress, f"{stream.name} (analyze {model})")


def _matrix_choice(
    source: str | Path, objects: list[FrameObjects], frames: list[int], with_gt: bool, config: AnalysisConfig
) -> tuple[list[int], list[str], str | None]:
    """The frames that get a similarity matrix (`matrix_frames`), the notes so far, and the note that no
    object was identified (`nothing_identified`; None if some were). The notes are also logged as
    warnings when every figure is empty or ``frames`` were asked for."""
    chosen, notes = matrix_frames(objects, list(frames), config.template_lag)
    empty = nothing_identified(objects, with_gt, config)
    if empty:  # every figure is empty: the one reason replaces the notes on each missing figure
        notes = [empty]
    if empty or frames:  # also in the report; said here since the figures are empty or were asked for
        for note in notes:
            log.warning("%s: %s", source, note)
    return chosen, notes, empty


def _projection_notes(views, methods: dict[str, str], empty: str | None) -> list[str]:
    """Notes on the embedding maps: views without one, and t-SNE replaced by PCA."""
    notes = []
    missing = [view for view in views if view not in methods]
    if missing and not empty:  # (with nothing identified, that note already says why)
        notes.append(f"no embedding map of {', '.join(missing)}: fewer than 3 identified embeddings")
    if any(not m.startswith("t-SNE") for m in methods.values()):
        notes.append(
            "t-SNE skipped: scikit-learn is not installed (pip install 'discmot[analysis]'); PCA shown"
        )
    return notes


def _identity_summary(gt_path: Path | None, caveat: str | None) -> dict:
    """Where the summary's identities come from: the gt file, else the model's own tracker."""
    return {
        "gt": str(gt_path) if gt_path else None,
        "identities": "ground truth (Hungarian IoU matching)" if gt_path else "the tracker's output ids",
        "identity_source": "gt" if gt_path else "tracker",
        "reid_caveat": caveat,
    }


def _views_summary(stats: dict[str, ViewStatistics], frames: int) -> dict:
    """Each view's statistics (`view_summary`), described."""
    from discmot.analysis.extract import VIEW_DESCRIPTIONS

    return {view: view_summary(s, frames, VIEW_DESCRIPTIONS[view]) for view, s in stats.items()}
