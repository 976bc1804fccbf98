"""The embedding report's figures: statistics plots, similarity matrices and 2-D maps, each a `Figure`.

Every title names the model and the embedding view, so a PNG read on its own says what it shows. The
charts are drawn by `discmot.viz.plots` (OpenCV, no matplotlib).
"""

from __future__ import annotations

import numpy as np

from discmot.analysis.embeddings import (
    AnalysisConfig,
    FrameObjects,
    SimilarityMatrix,
    ViewStatistics,
    cross_similarity,
    histogram_edges,
    project_2d,
)
from discmot.analysis.report import Figure, format_number

#: Subtitle of the re-identification plot when the identities are the tracker's own ids.
TRACKER_IDS_SUBTITLE = "ids from the model's own tracker: self-consistency, not ground truth"


def statistics_figures(
    views: dict[str, ViewStatistics], config: AnalysisConfig, model: str, caveat: str | None = None
) -> list[Figure]:
    """The histogram, the per-frame fraction line plot and the re-identification plot; ``caveat`` (the
    tracker-ids warning, None with gt) goes under the re-identification plot."""
    return [
        _histogram_figure(views, config, model),
        _fraction_figure(views, config, model),
        _reid_figure(views, model, caveat),
    ]


def _histogram_figure(views: dict[str, ViewStatistics], config: AnalysisConfig, model: str) -> Figure:
    from discmot.viz import plots

    t = config.similarity_threshold
    # "n/a" without pairs, as the terminal and the report's table print it (not Python's "nan")
    label = ", ".join(f"{v}: {format_number(s.fraction_above, '{:.3f}')}" for v, s in views.items())
    image = plots.histogram(
        {v: s.histogram for v, s in views.items()},
        histogram_edges(config.bins),
        f"{model}: cosine similarity of different objects (> {t:g}: {label})",
        threshold=t,
    )
    return Figure(
        "histogram.png",
        "Similarity between different objects",
        f"Distribution of the cosine similarity between the embeddings of two different objects in the "
        f"same frame, over all analysed frames (bars: fraction of pairs per bin; red dashes: {t:g}). "
        "FDTA reports over 80% above 0.9 for DETR embeddings on DanceTrack.",
        plots.encode_png(image),
    )


def _fraction_figure(views: dict[str, ViewStatistics], config: AnalysisConfig, model: str) -> Figure:
    from discmot.viz import plots

    t = config.similarity_threshold
    series = {
        v: (np.array([p[0] for p in s.per_frame]), np.array([p[3] for p in s.per_frame]))
        for v, s in views.items()
    }
    image = plots.line_plot(
        series,
        f"{model}: fraction of different-object pairs above {t:g}, per frame",
        "frame",
        f"fraction > {t:g}",
    )
    return Figure(
        "fraction_per_frame.png",
        "Fraction above the threshold, per frame",
        "Per frame: the fraction of different-object pairs whose cosine similarity exceeds the "
        "threshold (gaps: frames with fewer than two objects).",
        plots.encode_png(image),
    )


def _reid_figure(views: dict[str, ViewStatistics], model: str, caveat: str | None) -> Figure:
    from discmot.viz import plots

    series = {
        v: (np.array([r.lag for r in s.reid], float), np.array([r.rank1 for r in s.reid]))
        for v, s in views.items()
    }
    # Every view holds the same identified objects, so one chance line serves all.
    first = next(iter(views.values())).reid
    series["chance"] = (np.array([r.lag for r in first], float), np.array([r.chance for r in first]))
    image = plots.line_plot(
        series,
        f"{model}: rank-1 re-identification across a gap",
        "gap (frames)",
        "rank-1 rate",
        subtitle=TRACKER_IDS_SUBTITLE if caveat else "",
    )
    caption = (
        "For each object, is the most similar embedding among the objects a given number of frames "
        "earlier the same object? Rank-1 rate against the gap, with the rate of a random pick "
        "(chance). Position is not used: at long gaps this is what the embedding alone tells about "
        "identity, the cue that brings an object back after an occlusion."
    )
    missing = "; ".join(f"gap {r.lag}: {r.reason}" for r in first if r.reason)
    caption += f" No point where there is no value ({missing})." if missing else ""
    caption += f" {caveat}" if caveat else ""
    return Figure("reid.png", "Re-identification across a gap", caption, plots.encode_png(image))


def matrix_figures(
    frames: list[FrameObjects], views, chosen: list[int], lag: int, model: str
) -> tuple[list[Figure], list]:
    """One heatmap per chosen frame and view: the ids of frame t (rows) vs their templates at t - lag
    (columns), the same ids in the same order on both axes; also the matrices for ``summary.json``."""
    by_frame = {f.frame: f for f in frames}
    figures, records = [], []
    for t in chosen:
        for view in views:
            similarity = cross_similarity(by_frame[t], by_frame[t - lag], view)
            name = f"matrix_{view}_frame{t}.png"
            figures.append(_matrix_figure(similarity, name, model, view, t, lag))
            records.append(
                {
                    "view": view,
                    "frame": t,
                    "template_frame": t - lag,
                    "ids": similarity.ids.tolist(),
                    "left_out_current_ids": similarity.only_current.tolist(),
                    "left_out_template_ids": similarity.only_templates.tolist(),
                    "matrix": np.round(similarity.matrix, 6).tolist(),
                    "png": name,
                }
            )
    return figures, records


def left_out_count(similarity: SimilarityMatrix) -> str:
    """``"2 ids left out, in one frame only"``, or ``""`` when every id is in both frames."""
    if not similarity.left_out:
        return ""
    return f"{similarity.left_out} id{'s' if similarity.left_out > 1 else ''} left out, in one frame only"


def left_out_text(similarity: SimilarityMatrix, frame: int, template_frame: int) -> str:
    """`left_out_count` with the ids: ``"2 ids left out, in one frame only (6: frame 21; 11: frame 20)"``."""
    if not similarity.left_out:
        return ""
    parts = [
        f"{', '.join(map(str, ids.tolist()))}: frame {number}"
        for ids, number in ((similarity.only_current, frame), (similarity.only_templates, template_frame))
        if len(ids)
    ]
    return f"{left_out_count(similarity)} ({'; '.join(parts)})"


def _matrix_figure(
    similarity: SimilarityMatrix, name: str, model: str, view: str, t: int, lag: int
) -> Figure:
    from discmot.viz import plots

    ids = similarity.ids.tolist()
    image = plots.heatmap(
        similarity.matrix,
        ids,
        ids,
        f"{model} {view}: frame {t} vs templates at {t - lag}",
        f"template id (frame {t - lag})",
        f"detection id (frame {t})",
        subtitle=left_out_count(similarity),
        colorbar_label="cosine similarity",
    )
    caption = (
        f"Cosine similarity between the objects of frame {t} (rows) and the track templates, the same "
        f"objects' embeddings at frame {t - lag} (columns), for the {len(ids)} ids present in both frames, "
        "in the same id order on both axes, so the diagonal holds the same-object pairs; as CSTrack's "
        "Fig. 6: discriminative embeddings give a bright diagonal only."
    )
    left_out = left_out_text(similarity, t, t - lag)
    caption += f" {left_out[0].upper()}{left_out[1:]}." if left_out else ""
    return Figure(name, f"Similarity matrix, {model} {view}, frame {t}", caption, plots.encode_png(image))


def _projection_input(frames: list[FrameObjects], view: str, limit: int) -> tuple[np.ndarray, np.ndarray]:
    embeddings = np.concatenate([f.embeddings[view] for f in frames])
    ids = np.concatenate([f.ids for f in frames])
    if len(ids) > limit:  # evenly spaced rows keep every part of the video
        rows = np.linspace(0, len(ids) - 1, limit).round().astype(int)
        embeddings, ids = embeddings[rows], ids[rows]
    return embeddings, ids


def projection_figures(
    frames: list[FrameObjects], views, config: AnalysisConfig, model: str
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
        image = plots.scatter(points, ids, f"{model} {view}: {method}")
        figures.append(
            Figure(
                f"projection_{view}.png",
                f"Embedding map, {model} {view}",
                f"{method} of {len(ids)} embeddings, one colour per identity: well-separated "
                "embeddings form one tight cluster per identity.",
                plots.encode_png(image),
            )
        )
    return figures, methods
