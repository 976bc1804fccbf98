"""`analyze`: run a model over a source, compute the embedding statistics, write PNGs + HTML + JSON.

The flow reads straight through: frames are streamed from `discmot.io.video.open_source`, each frame's
identified embeddings are extracted (`discmot.analysis.extract`), then the statistics
(`discmot.analysis.embeddings`), figures (`discmot.viz.plots`) and the report
(`discmot.analysis.report`) are made and every file is written atomically. Only the per-frame embeddings
of the identified objects are kept in memory, never the frames.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np

from discmot.analysis.embeddings import (
    AnalysisConfig,
    FrameObjects,
    ViewStatistics,
    cross_similarity,
    histogram_edges,
    project_2d,
    view_statistics,
)
from discmot.analysis.report import Figure, render_html
from discmot.models.registry import load_model

log = logging.getLogger(__name__)

#: Frames given a similarity matrix when none are chosen.
DEFAULT_MATRIX_FRAMES = 3


def read_gt(path: str | Path) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """MOTChallenge gt -> ``{frame: (tlwh [n, 4] float64, ids [n] int64)}``.

    Rows whose 7th column (the "consider" flag) is 0 are dropped: MOT17 marks ignore regions and other
    classes that way; DanceTrack and synthetic gt have 1 everywhere, so nothing changes for them.
    """
    from discmot.io.mot import check_positive_sizes, check_unique_ids, read_mot_table, rows_by_frame

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
    """The gt file: ``gt`` when given (it must exist), else ``SOURCE/gt/gt.txt`` if present, else None."""
    if gt is not None:
        if not Path(gt).is_file():
            raise FileNotFoundError(f"{gt}: no such ground-truth file")
        return Path(gt)
    inferred = Path(source) / "gt" / "gt.txt"
    return inferred if inferred.is_file() else None


def collect(extractor, source, gt: dict | None, max_frames: int | None, progress: bool) -> list[FrameObjects]:
    """Runs ``extractor`` over the source's frames (at most ``max_frames``); returns every frame's objects."""
    from tqdm import tqdm

    total = min(filter(None, (source.num_frames, max_frames)), default=None)
    collected = []
    with tqdm(total=total, desc="analyze", unit="frame", disable=not progress) as bar:
        for number, image in source:
            if max_frames is not None and len(collected) >= max_frames:
                break
            if image is None:
                raise ValueError(f"{source.location}: the source has no images to run the model on")
            empty = (np.zeros((0, 4)), np.zeros(0, np.int64))
            collected.append(extractor(number, image, gt.get(number, empty) if gt is not None else None))
            bar.update()
    return collected


def matrix_frames(frames: list[FrameObjects], chosen, lag: int) -> tuple[list[int], list[str]]:
    """Frames that get a similarity matrix (frame ``t`` and ``t - lag`` analysed, objects in both), and
    notes on requested frames that cannot have one. Without a choice, up to 3 evenly spaced frames."""
    sizes = {f.frame: len(f) for f in frames}
    usable = [t for t in sizes if sizes[t] and sizes.get(t - lag, 0)]
    if not chosen:
        index = np.unique(np.linspace(0, len(usable) - 1, DEFAULT_MATRIX_FRAMES).round().astype(int))
        return ([usable[i] for i in index] if usable else []), []
    notes = [
        f"frame {t}: no matrix (frame {t} or {t - lag} not analysed or without objects)"
        for t in chosen
        if t not in usable
    ]
    return [t for t in chosen if t in usable], notes


def _finite(value):
    """JSON has no NaN: NaN -> None."""
    return None if isinstance(value, float) and math.isnan(value) else value


def view_summary(stats: ViewStatistics, frames: int, description: str) -> dict:
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
            }
            for r in stats.reid
        ],
    }


def _projection_input(frames: list[FrameObjects], view: str, limit: int) -> tuple[np.ndarray, np.ndarray]:
    embeddings = np.concatenate([f.embeddings[view] for f in frames])
    ids = np.concatenate([f.ids for f in frames])
    if len(ids) > limit:  # evenly spaced rows keep every part of the video
        rows = np.linspace(0, len(ids) - 1, limit).round().astype(int)
        embeddings, ids = embeddings[rows], ids[rows]
    return embeddings, ids


def statistics_figures(views: dict[str, ViewStatistics], config: AnalysisConfig, model: str) -> list[Figure]:
    """The histogram and the per-frame fraction line plot."""
    from discmot.viz import plots

    edges = histogram_edges(config.bins)
    t = config.similarity_threshold
    label = ", ".join(f"{v}: {s.fraction_above:.3f}" for v, s in views.items())
    hist = plots.histogram(
        {v: s.histogram for v, s in views.items()},
        edges,
        f"{model}: cosine similarity of different objects (> {t:g}: {label})",
        threshold=t,
    )
    series = {
        v: (np.array([p[0] for p in s.per_frame]), np.array([p[3] for p in s.per_frame]))
        for v, s in views.items()
    }
    line = plots.line_plot(
        series,
        f"{model}: fraction of different-object pairs above {t:g}, per frame",
        "frame",
        f"fraction > {t:g}",
    )
    reid_series = {
        v: (np.array([r.lag for r in s.reid], float), np.array([r.rank1 for r in s.reid]))
        for v, s in views.items()
    }
    # Every view holds the same identified objects, so one chance line serves all.
    first = next(iter(views.values())).reid
    reid_series["chance"] = (np.array([r.lag for r in first], float), np.array([r.chance for r in first]))
    reid = plots.line_plot(
        reid_series, f"{model}: rank-1 re-identification across a gap", "gap (frames)", "rank-1 rate"
    )
    return [
        Figure(
            "histogram.png",
            "Similarity between different objects",
            f"Distribution of the cosine similarity between the embeddings of two different objects in the "
            f"same frame, over all analysed frames (bars: fraction of pairs per bin; red dashes: {t:g}). "
            "FDTA reports over 80% above 0.9 for DETR embeddings on DanceTrack.",
            plots.encode_png(hist),
        ),
        Figure(
            "fraction_per_frame.png",
            "Fraction above the threshold, per frame",
            "Per frame: the fraction of different-object pairs whose cosine similarity exceeds the "
            "threshold (gaps: frames with fewer than two objects).",
            plots.encode_png(line),
        ),
        Figure(
            "reid.png",
            "Re-identification across a gap",
            "For each object, is the most similar embedding among the objects a given number of frames "
            "earlier the same object? Rank-1 rate against the gap, with the rate of a random pick "
            "(chance). Position is not used: at long gaps this is what the embedding alone tells about "
            "identity, the cue that brings an object back after an occlusion.",
            plots.encode_png(reid),
        ),
    ]


def matrix_figures(
    frames: list[FrameObjects], views, chosen: list[int], lag: int
) -> tuple[list[Figure], list]:
    """One heatmap per chosen frame and view: detections of frame t (rows) vs templates at t - lag."""
    from discmot.viz import plots

    by_frame = {f.frame: f for f in frames}
    figures, records = [], []
    for t in chosen:
        for view in views:
            matrix, rows, cols = cross_similarity(by_frame[t], by_frame[t - lag], view)
            name = f"matrix_{view}_frame{t}.png"
            image = plots.heatmap(
                matrix,
                rows.tolist(),
                cols.tolist(),
                f"{view}: frame {t} vs templates at {t - lag}",
                f"template id (frame {t - lag})",
                f"detection id (frame {t})",
            )
            figures.append(
                Figure(
                    name,
                    f"Similarity matrix, {view}, frame {t}",
                    "Cosine similarity between the detections of the current frame (rows) and the track "
                    "templates, the same objects' embeddings earlier (columns), sorted by id; as "
                    "CSTrack's Fig. 6: discriminative embeddings give a bright diagonal only.",
                    plots.encode_png(image),
                )
            )
            records.append(
                {
                    "view": view,
                    "frame": t,
                    "template_frame": t - lag,
                    "row_ids": rows.tolist(),
                    "col_ids": cols.tolist(),
                    "matrix": np.round(matrix, 6).tolist(),
                    "png": name,
                }
            )
    return figures, records


def projection_figures(
    frames: list[FrameObjects], views, config: AnalysisConfig
) -> tuple[list[Figure], dict]:
    """One 2-D map per view (t-SNE with scikit-learn, else PCA, labelled)."""
    from discmot.viz import plots

    figures, methods = [], {}
    for view in views:
        embeddings, ids = _projection_input(frames, view, config.max_projection_points)
        if len(ids) < 3:
            continue
        points, method = project_2d(embeddings, config.seed)
        methods[view] = method
        image = plots.scatter(points, ids, f"{view}: {method}")
        figures.append(
            Figure(
                f"projection_{view}.png",
                f"Embedding map, {view}",
                f"{method} of {len(ids)} embeddings, one colour per identity: well-separated "
                "embeddings form one tight cluster per identity.",
                plots.encode_png(image),
            )
        )
    return figures, methods


def write_outputs(out: Path, figures: list[Figure], summary: dict) -> None:
    """PNGs, ``summary.json`` and ``report.html`` in ``out``, each written atomically."""
    from discmot.io.atomic import atomic_write_bytes, atomic_write_text

    for figure in figures:
        atomic_write_bytes(out / figure.name, figure.png)
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=1) + "\n")
    atomic_write_text(out / "report.html", render_html(summary, figures))


def analyze(
    source: str | Path,
    model: str,
    weights: str | Path,
    out: str | Path,
    gt: str | Path | None = None,
    frames: list[int] | tuple[int, ...] = (),
    input_size: tuple[int, int] | None = None,
    max_frames: int | None = None,
    config: AnalysisConfig | None = None,
    progress: bool = False,
) -> dict:
    """Embedding diagnostics of ``model`` (``"fdta"``/``"cstrack"``) on ``source``; returns the summary.

    Writes to ``out``: ``histogram.png``, ``fraction_per_frame.png``, ``matrix_<view>_frame<t>.png`` for the
    chosen ``frames`` (default: 3 spread over the video), ``projection_<view>.png``, ``summary.json`` and
    ``report.html``. Identities come from ``gt`` (or ``SOURCE/gt/gt.txt``) if any, else from the tracker.

    Raises:
        FileNotFoundError: missing weights or gt. ValueError: unknown model kind, a checkpoint of another
        kind, an unreadable source.
    """
    from discmot.analysis.extract import VIEW_DESCRIPTIONS, build_extractor
    from discmot.io.video import open_source

    config = config or AnalysisConfig()
    gt_path = resolve_gt(source, gt)
    network = load_model(model, weights)
    stream = open_source(source)
    truth = read_gt(gt_path) if gt_path else None
    extractor = build_extractor(model, network, config, input_size, with_tracker=truth is None)
    objects = collect(extractor, stream, truth, max_frames, progress)
    stats = {view: view_statistics(objects, view, config) for view in extractor.views}
    chosen, notes = matrix_frames(objects, list(frames), config.template_lag)
    for note in notes:  # also in the report; said here since the user asked for those frames
        log.warning("%s: %s", source, note)
    figures = statistics_figures(stats, config, model)
    matrix_figs, matrices = matrix_figures(objects, extractor.views, chosen, config.template_lag)
    projection_figs, methods = projection_figures(objects, extractor.views, config)
    if any(not m.startswith("t-SNE") for m in methods.values()):
        notes.append(
            "t-SNE skipped: scikit-learn is not installed (pip install 'discmot[analysis]'); PCA shown"
        )
    summary = {
        "model": model,
        "weights": str(weights),
        "source": str(source),
        "gt": str(gt_path) if gt_path else None,
        "identities": "ground truth (Hungarian IoU matching)"
        if truth is not None
        else "the tracker's output ids",
        "frames": len(objects),
        "settings": {k: getattr(config, k) for k in config.__dataclass_fields__},
        "histogram_edges": histogram_edges(config.bins).tolist(),
        "views": {v: view_summary(s, len(objects), VIEW_DESCRIPTIONS[v]) for v, s in stats.items()},
        "matrices": matrices,
        "projection": methods,
        "notes": notes,
    }
    write_outputs(Path(out), figures + matrix_figs + projection_figs, summary)
    return summary
