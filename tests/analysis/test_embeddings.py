"""Embedding diagnostics: exact statistics on hand-made embeddings, and `discmot analyze` end to end on a
synthetic sequence with the bundled tiny FDTA and CSTrack weights (report, PNGs, JSON agree)."""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from discmot.analysis.embeddings import (
    AnalysisConfig,
    FrameObjects,
    cross_similarity,
    fraction_above,
    histogram_edges,
    match_detections,
    pair_similarities,
    project_2d,
    reidentification,
    similarity_histogram,
    view_statistics,
)
from discmot.cli import main

ASSETS = Path(__file__).resolve().parents[2] / "src" / "discmot" / "assets"
FDTA_WEIGHTS = ASSETS / "fdta_tiny_synth_dancetrack.safetensors"
CSTRACK_WEIGHTS = ASSETS / "cstrack_tiny_synth.safetensors"
FRAMES = 10


def unit_at(angles_deg) -> np.ndarray:
    """2-D unit vectors at the given angles: cosines between them are cos(angle differences)."""
    radians = np.deg2rad(np.asarray(angles_deg, dtype=np.float64))
    return np.stack([np.cos(radians), np.sin(radians)], axis=1)


# --------------------------------------------------------------------------------------------------
# Statistics on hand-made embeddings


def test_three_objects_with_known_cosines():
    # Angles 0, 20, 90 degrees: cos 20 = 0.9397 (> 0.9), cos 90 = 0, cos 70 = 0.3420; scaled rows are
    # normalised first, so the lengths do not matter.
    embeddings = unit_at([0, 20, 90]) * np.array([[1.0], [3.0], [0.5]])
    values = pair_similarities(embeddings, np.array([1, 2, 3]))
    np.testing.assert_allclose(values, [np.cos(np.deg2rad(20)), 0.0, np.cos(np.deg2rad(70))], atol=1e-12)
    assert fraction_above(values, 0.9) == pytest.approx(1 / 3)
    assert fraction_above(values, 0.3) == pytest.approx(2 / 3)
    # 4 bins over [-1, 1]: [-1, -.5), [-.5, 0), [0, .5), [.5, 1]; 0.0 falls in the third, 0.34 too.
    assert similarity_histogram(values, 4).tolist() == [0, 0, 2, 1]
    np.testing.assert_allclose(histogram_edges(4), [-1, -0.5, 0, 0.5, 1])


def test_same_id_pairs_are_not_counted_and_cosine_one_lands_in_the_last_bin():
    embeddings = unit_at([0, 0, 0])
    assert len(pair_similarities(embeddings, np.array([5, 5, 5]))) == 0
    values = pair_similarities(embeddings, np.array([5, 5, 6]))
    assert len(values) == 2
    assert similarity_histogram(values, 4).tolist() == [0, 0, 0, 2]
    assert np.isnan(fraction_above(np.zeros(0)))


def test_view_statistics_aggregate_pairs_within_frames_only():
    config = AnalysisConfig(bins=4)
    frame1 = FrameObjects(1, np.array([1, 2, 3]), np.zeros((3, 4)), {"v": unit_at([0, 20, 90])})
    frame2 = FrameObjects(2, np.array([1, 2]), np.zeros((2, 4)), {"v": unit_at([0, 180])})
    frame3 = FrameObjects(3, np.array([1]), np.zeros((1, 4)), {"v": unit_at([45])})
    stats = view_statistics([frame1, frame2, frame3], "v", config)
    assert (stats.pairs, stats.above) == (4, 1)
    assert stats.fraction_above == pytest.approx(0.25)
    assert stats.histogram.tolist() == [1, 0, 2, 1]
    expected_mean = (np.cos(np.deg2rad(20)) + 0 + np.cos(np.deg2rad(70)) - 1) / 4
    assert stats.mean_similarity == pytest.approx(expected_mean)
    assert [p[:3] for p in stats.per_frame] == [(1, 3, 3), (2, 2, 1), (3, 1, 0)]
    assert np.isnan(stats.per_frame[2][3])


def test_reidentification_picks_the_most_similar_earlier_object_by_identity():
    # Frame 1: ids 1, 2, 3 at 0, 90, 180 degrees. Frame 2: id 1 at 80 degrees (closest to id 2: a miss),
    # id 3 at 170 (closest to itself: a hit), id 4 (not in frame 1: not a query).
    frame1 = FrameObjects(1, np.array([1, 2, 3]), np.zeros((3, 4)), {"v": unit_at([0, 90, 180])})
    frame2 = FrameObjects(2, np.array([1, 3, 4]), np.zeros((3, 4)), {"v": unit_at([80, 170, 0])})
    # Frame 3: id 2 only; frame 1 is two frames back, frame 2 (no id 2) gives no query.
    frame3 = FrameObjects(3, np.array([2]), np.zeros((1, 4)), {"v": unit_at([95])})
    frames = [frame1, frame2, frame3]
    gap1 = reidentification(frames, "v", 1)
    assert (gap1.lag, gap1.queries, gap1.hits) == (1, 2, 1)
    assert gap1.rank1 == pytest.approx(0.5) and gap1.chance == pytest.approx(1 / 3)
    gap2 = reidentification(frames, "v", 2)
    assert (gap2.queries, gap2.hits, gap2.rank1) == (1, 1, 1.0)
    # A single earlier object is no choice at all: not counted.
    lone = FrameObjects(4, np.array([2]), np.zeros((1, 4)), {"v": unit_at([0])})
    assert reidentification([frame3, lone], "v", 1).queries == 0
    assert np.isnan(reidentification([frame3, lone], "v", 1).rank1)
    stats = view_statistics(frames, "v", AnalysisConfig(reid_lags=(1, 2, 7)))
    assert [(r.lag, r.queries, r.hits) for r in stats.reid] == [(1, 2, 1), (2, 1, 1), (7, 0, 0)]
    with pytest.raises(ValueError, match="reid_lags"):
        AnalysisConfig(reid_lags=(0, 5))


def test_a_gap_without_a_rate_says_why():
    frames = [FrameObjects(t, np.array([1, 2]), np.zeros((2, 4)), {"v": unit_at([0, 90])}) for t in (1, 2, 5)]
    assert reidentification(frames, "v", 1).reason == ""
    assert reidentification(frames, "v", 50).reason == "gap longer than the 3 analysed frames span"
    assert reidentification(frames, "v", 2).reason == "no two analysed frames 2 apart"
    lone = [FrameObjects(t, np.array([1]), np.zeros((1, 4)), {"v": unit_at([0])}) for t in (1, 2)]
    assert reidentification(lone, "v", 1).reason == (
        "no object found again 1 frame later among two or more earlier objects"
    )


def test_a_single_frame_or_frames_without_objects_say_so_instead_of_blaming_the_gap():
    one = [FrameObjects(1, np.array([1, 2]), np.zeros((2, 4)), {"v": unit_at([0, 90])})]
    assert reidentification(one, "v", 1).reason == "only 1 frame analysed"  # was "the 1 analysed frames"
    empty = [
        FrameObjects(t, np.zeros(0, np.int64), np.zeros((0, 4)), {"v": np.zeros((0, 2))}) for t in (1, 2, 3)
    ]
    assert reidentification(empty, "v", 1).reason == "no object identified in the 3 analysed frames"
    assert reidentification(empty, "v", 5).reason == "gap longer than the 3 analysed frames span"


def test_a_frame_asked_for_twice_gets_one_matrix_and_each_refusal_says_why():
    from discmot.analysis.analyze import matrix_frames

    frames = [
        FrameObjects(t, np.array(ids), np.zeros((len(ids), 4)), {"v": unit_at([0, 90][: len(ids)])})
        for t, ids in ((1, [1, 2]), (2, [1, 2]), (3, [3]), (5, [3]))
    ]
    chosen, notes = matrix_frames(frames, [2, 2, 1, 3, 5, 9], lag=1)
    assert chosen == [2]  # `--frames 2 2` drew (and listed) the same matrix twice
    assert notes == [
        "frame 1: no matrix (frame 0, the templates' frame, does not exist)",
        "frame 3: no matrix (no object identified in both frame 2 and frame 3)",
        "frame 5: no matrix (frame 4, the templates' frame, was not analysed)",
        "frame 9: no matrix (not analysed; analysed: frames 1-5)",
    ]
    assert matrix_frames(frames[2:], [], lag=1) == (
        [],
        ["no similarity matrix: no object identified in two analysed frames 1 apart"],
    )
    assert matrix_frames(frames[:1], [], lag=1) == ([], ["no similarity matrix: only 1 frame analysed"])


def test_the_histogram_title_says_n_a_without_pairs_as_the_table_does():
    from discmot.analysis.figures import statistics_figures
    from discmot.viz import plots

    config = AnalysisConfig()
    lone = [FrameObjects(1, np.array([1]), np.zeros((1, 4)), {"v": unit_at([0])})]
    histogram = statistics_figures({"v": view_statistics(lone, "v", config)}, config, "cstrack")[0]
    expected = plots.histogram(
        {"v": np.zeros(config.bins, np.int64)},
        histogram_edges(config.bins),
        "cstrack: cosine similarity of different objects (> 0.9: v: n/a)",  # was "v: nan"
        threshold=0.9,
    )
    assert histogram.png == plots.encode_png(expected)


def test_cross_similarity_shows_the_ids_of_both_frames_in_the_same_order_on_both_axes():
    # id 5 only in the current frame, id 9 only among the templates: both are left out, so the matrix
    # is square and same-object pairs are its diagonal
    current = FrameObjects(5, np.array([7, 5, 3]), np.zeros((3, 4)), {"v": unit_at([90, 30, 0])})
    templates = FrameObjects(4, np.array([3, 9, 7]), np.zeros((3, 4)), {"v": unit_at([10, 45, 90])})
    similarity = cross_similarity(current, templates, "v")
    assert similarity.ids.tolist() == [3, 7]
    assert similarity.only_current.tolist() == [5] and similarity.only_templates.tolist() == [9]
    assert similarity.left_out == 2
    # rows: current 3 (0 deg), 7 (90 deg); columns: templates 3 (10 deg), 7 (90 deg)
    c10, c80 = np.cos(np.deg2rad(10)), np.cos(np.deg2rad(80))
    np.testing.assert_allclose(similarity.matrix, [[c10, 0], [c80, 1]], atol=1e-12)


def test_a_missing_id_leaves_same_object_cells_on_the_diagonal():
    """The report's case: id 6 missing from the current frame of ten objects (ids 1..10)."""
    angles = {i: 36.0 * i for i in range(1, 11)}  # one direction per id, the same in both frames
    present = [i for i in angles if i != 6]
    current = FrameObjects(
        21, np.array(present), np.zeros((9, 4)), {"v": unit_at([angles[i] for i in present])}
    )
    templates = FrameObjects(20, np.arange(1, 11), np.zeros((10, 4)), {"v": unit_at(list(angles.values()))})
    similarity = cross_similarity(current, templates, "v")
    assert similarity.matrix.shape == (9, 9) and similarity.ids.tolist() == present
    np.testing.assert_allclose(np.diag(similarity.matrix), 1.0, atol=1e-12)
    assert (similarity.matrix[~np.eye(9, dtype=bool)] < 1 - 1e-6).all()
    assert similarity.only_templates.tolist() == [6] and similarity.only_current.tolist() == []


def test_matching_keeps_only_iou_at_least_the_threshold():
    detections = np.array([[0, 0, 10, 10], [100, 100, 110, 110], [50, 0, 60, 10]], dtype=float)
    gt = np.array([[52, 0, 62, 10], [0, 0, 10, 10]], dtype=float)
    rows, cols = match_detections(detections, gt, 0.5)
    assert rows.tolist() == [0, 2] and cols.tolist() == [1, 0]  # IoU(det 2, gt 0) = 8/12 >= 0.5
    rows, _ = match_detections(detections, gt, 0.7)
    assert rows.tolist() == [0]


def test_pca_projection_is_labelled_and_two_dimensional():
    points, method = project_2d(np.random.default_rng(0).normal(size=(12, 6)), method="pca")
    assert points.shape == (12, 2) and method.startswith("PCA")


def test_tsne_map_keeps_objects_apart_and_repeats_with_its_seed():
    pytest.importorskip("sklearn", reason="t-SNE is the optional analysis extra (scikit-learn)")
    rng = np.random.default_rng(0)
    # three objects, 15 noisy embeddings each, pointing three different ways in 16-D
    centres = np.eye(16)[:3] * 4
    embeddings = np.concatenate([c + rng.normal(scale=0.3, size=(15, 16)) for c in centres])
    points, method = project_2d(embeddings, seed=3)
    assert method.startswith("t-SNE") and points.shape == (45, 2) and np.isfinite(points).all()
    groups = points.reshape(3, 15, 2)
    means = groups.mean(axis=1)
    spread = np.linalg.norm(groups - means[:, None], axis=2).max()
    closest = min(np.linalg.norm(means[i] - means[j]) for i in range(3) for j in range(i))
    assert closest > 2 * spread  # each object's points lie together, away from the others
    again, _ = project_2d(embeddings, seed=3)
    np.testing.assert_array_equal(again, points)


# --------------------------------------------------------------------------------------------------
# `discmot analyze` end to end


@pytest.fixture(scope="module")
def sequences(tmp_path_factory) -> dict[str, Path]:
    from discmot.data.synth import generate_dataset

    root = tmp_path_factory.mktemp("synth")
    return {
        preset: generate_dataset(
            root / preset, preset, split="val", sequences=1, frames=FRAMES, seed=99, size=(256, 160)
        )[0]
        for preset in ("dancetrack", "mot")
    }


@pytest.fixture(scope="module")
def fdta_report(sequences, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fdta")
    argv = ["analyze", str(sequences["dancetrack"]), "--model", "fdta", "--weights", str(FDTA_WEIGHTS)]
    assert main([*argv, "--input-size", "160x256", "--frames", "3", "8", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def cstrack_report(sequences, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cstrack")
    argv = ["analyze", str(sequences["mot"]), "--model", "cstrack", "--weights", str(CSTRACK_WEIGHTS)]
    assert main([*argv, "--input-size", "192x320", "--max-frames", "8", "--out", str(out)]) == 0
    return out


class ReportParser(HTMLParser):
    """Collects <img> sources and the table cells carrying ``data-key``."""

    def __init__(self):
        super().__init__()
        self.images: list[str] = []
        self.cells: dict[str, str] = {}
        self.open_tags: list[str] = []
        self._key: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs["src"])
        elif tag not in ("meta", "br"):
            self.open_tags.append(tag)
        if tag == "td" and "data-key" in attrs:
            self._key = attrs["data-key"]

    def handle_endtag(self, tag):
        assert self.open_tags and self.open_tags[-1] == tag, f"</{tag}> closes {self.open_tags[-1:]}"
        self.open_tags.pop()
        self._key = None if tag == "td" else self._key

    def handle_data(self, data):
        if self._key is not None:
            self.cells[self._key] = self.cells.get(self._key, "") + data


def check_report(out: Path) -> dict:
    """The report is well formed, its images are valid PNGs, its numbers are summary.json's."""
    import cv2

    summary = json.loads((out / "summary.json").read_text())
    parser = ReportParser()
    parser.feed((out / "report.html").read_text())
    parser.close()
    assert parser.open_tags == []
    prefix = "data:image/png;base64,"
    assert parser.images and all(src.startswith(prefix) for src in parser.images)
    for src in parser.images:
        image = cv2.imdecode(np.frombuffer(base64.b64decode(src[len(prefix) :]), np.uint8), cv2.IMREAD_COLOR)
        assert image is not None and image.shape[0] > 100 and image.shape[1] > 100
    assert len(parser.images) == len(list(out.glob("*.png")))
    for view, stats in summary["views"].items():
        for key in ("frames", "pairs", "above"):
            assert int(parser.cells[f"{view}.{key}"]) == stats[key]
        for key in ("fraction_above", "mean_similarity"):
            assert float(parser.cells[f"{view}.{key}"]) == pytest.approx(stats[key], abs=5e-5)
        assert sum(stats["histogram"]) == stats["pairs"]
        assert [r["lag"] for r in stats["reid"]] == summary["settings"]["reid_lags"]
        for r in stats["reid"]:
            cell = parser.cells[f"{view}.reid.{r['lag']}.rank1"]
            if r["queries"]:
                assert 0 <= r["hits"] <= r["queries"]
                assert float(cell.split()[0]) == pytest.approx(r["rank1"], abs=5e-4)
                assert float(cell.split()[1].strip("()")) == pytest.approx(r["chance"], abs=5e-4)
            else:
                assert r["rank1"] is None and cell.startswith("n/a")
    return summary


def test_fdta_report_files_and_numbers(fdta_report):
    summary = check_report(fdta_report)
    assert set(summary["views"]) == {"decoder", "adapted"}
    assert summary["frames"] == FRAMES and summary["identities"].startswith("ground truth")
    assert summary["identity_source"] == "gt" and summary["reid_caveat"] is None
    assert 'class="caveat"' not in (fdta_report / "report.html").read_text()
    for name in (
        "histogram.png",
        "fraction_per_frame.png",
        "reid.png",
        "projection_decoder.png",
        "projection_adapted.png",
    ):
        assert (fdta_report / name).is_file()
    assert {(m["view"], m["frame"]) for m in summary["matrices"]} == {
        (v, t) for v in ("decoder", "adapted") for t in (3, 8)
    }
    assert (fdta_report / "matrix_adapted_frame8.png").is_file()
    assert summary["views"]["decoder"]["pairs"] == summary["views"]["adapted"]["pairs"] > 0


def test_the_report_names_the_gt_file_the_identities_come_from(fdta_report):
    summary = json.loads((fdta_report / "summary.json").read_text())
    assert summary["gt"].endswith("gt.txt")
    # the report said "ground truth" without which file: runs against two gt files read the same
    assert f"identities from ground truth (Hungarian IoU matching) in <code>{summary['gt']}</code>" in (
        report_text(fdta_report)
    )


def test_cstrack_report_files_and_numbers(cstrack_report):
    summary = check_report(cstrack_report)
    assert set(summary["views"]) == {"reid"} and summary["frames"] == 8
    assert summary["views"]["reid"]["pairs"] > 0
    assert len(summary["matrices"]) == 3 and (cstrack_report / "projection_reid.png").is_file()


def test_fdta_fraction_equals_the_benchmark_protocol(fdta_report, sequences):
    """The paper's protocol as benchmarks/fdta_embeddings.py computed it before the refactor."""
    import cv2
    import torch
    from scipy.optimize import linear_sum_assignment

    from discmot.io.mot import read_mot_table
    from discmot.models.fdta.checkpoint import load_fdta
    from discmot.ops.boxes import box_iou
    from discmot.trackers.fdta import preprocess_frame

    model = load_fdta(FDTA_WEIGHTS)
    sequence = sequences["dancetrack"]
    table = read_mot_table(sequence / "gt" / "gt.txt", min_columns=6).values
    above = total = 0
    for image_file in sorted((sequence / "img1").iterdir()):
        gt = table[table[:, 0] == int(image_file.stem), 2:6]
        gt_xyxy = np.concatenate([gt[:, :2], gt[:, :2] + gt[:, 2:]], axis=1)
        image, (width, height) = preprocess_frame(
            cv2.imread(str(image_file)), model.config.runtime, (160, 256)
        )
        with torch.inference_mode():
            out = model.detect(image)
        scores = out["pred_logits"][0, :, 0].sigmoid().numpy()
        cxcywh = out["pred_boxes"][0].numpy()
        corners = np.concatenate([cxcywh[:, :2] - cxcywh[:, 2:] / 2, cxcywh[:, :2] + cxcywh[:, 2:] / 2], 1)
        keep = np.flatnonzero(scores > 0.3)
        iou = box_iou(corners[keep] * np.array([width, height, width, height]), gt_xyxy)
        rows, cols = linear_sum_assignment(-iou)
        matched = keep[rows[iou[rows, cols] >= 0.5]]
        embeddings = out["outputs"][0, torch.from_numpy(matched)].numpy()
        embeddings = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True).clip(min=1e-12)
        pairs = (embeddings @ embeddings.T)[np.triu_indices(len(embeddings), k=1)]
        above += int((pairs > 0.9).sum())
        total += len(pairs)
    decoder = json.loads((fdta_report / "summary.json").read_text())["views"]["decoder"]
    assert (decoder["above"], decoder["pairs"]) == (above, total)

    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from fdta_embeddings import similar_fraction

    fraction, pairs = similar_fraction(model, sequence, (160, 256))
    assert pairs == total and fraction == pytest.approx(above / total)


def report_text(out: Path) -> str:
    """report.html with its images dropped and its entities decoded, for searching its words."""
    text = re.sub(r"data:image/png;base64,[^\"]*", "", (out / "report.html").read_text())
    return html.unescape(text)


def figure_caption(out: Path, title: str) -> str:
    """The caption of the report's figure titled ``title``."""
    match = re.search(
        rf"<h3>{re.escape(title)}</h3>.*?<figcaption>(.*?)</figcaption>", report_text(out), re.S
    )
    assert match, title
    return match.group(1)


def test_gaps_longer_than_the_run_say_why(fdta_report):
    # 10 frames analysed: frames 1..10 are at most 9 apart, so gaps 20 and 50 have no rate
    summary = json.loads((fdta_report / "summary.json").read_text())
    parser = ReportParser()
    parser.feed((fdta_report / "report.html").read_text())
    for view in ("decoder", "adapted"):
        for gap in (20, 50):
            assert (
                parser.cells[f"{view}.reid.{gap}.rank1"]
                == "n/a (gap longer than the 10 analysed frames span)"
            )
        assert summary["views"][view]["reid"][0]["reason"] is None  # gap 1 has a rate
    caption = figure_caption(fdta_report, "Re-identification across a gap")
    assert "gap 20: gap longer than the 10 analysed frames span; gap 50: gap longer than the 10" in caption


def test_report_records_the_network_input_and_round_histogram_edges(fdta_report):
    summary = json.loads((fdta_report / "summary.json").read_text())
    assert summary["settings"]["input_size"] == [160, 256]  # --input-size 160x256
    assert summary["settings"]["input_size_origin"] == "given"
    assert "network input 160x256 (h x w; given)" in report_text(fdta_report)
    assert summary["histogram_edges"] == [k / 10 for k in range(-10, 11)]  # -1.0, -0.9, ..., 1.0


def test_matrices_are_square_over_the_ids_of_both_frames(fdta_report, cstrack_report):
    for out in (fdta_report, cstrack_report):
        for record in json.loads((out / "summary.json").read_text())["matrices"]:
            assert len(record["matrix"]) == len(record["ids"]) > 0
            assert all(len(row) == len(record["ids"]) for row in record["matrix"])
            assert not set(record["ids"]) & set(
                record["left_out_current_ids"] + record["left_out_template_ids"]
            )


def test_matrix_figures_name_the_model_and_the_ids_left_out():
    from discmot.analysis.figures import matrix_figures
    from discmot.viz import plots

    earlier = FrameObjects(1, np.array([1, 2, 3]), np.zeros((3, 4)), {"v": unit_at([0, 90, 180])})
    current = FrameObjects(2, np.array([1, 3, 4]), np.zeros((3, 4)), {"v": unit_at([0, 180, 45])})
    figures, records = matrix_figures([earlier, current], ["v"], [2], 1, "cstrack")
    assert records[0]["ids"] == [1, 3] and records[0]["matrix"] == [[1.0, -1.0], [-1.0, 1.0]]
    assert (records[0]["left_out_current_ids"], records[0]["left_out_template_ids"]) == ([4], [2])
    assert figures[0].title == "Similarity matrix, cstrack v, frame 2"
    assert "2 ids left out, in one frame only (4: frame 2; 2: frame 1)." in figures[0].caption
    expected = plots.heatmap(
        np.array([[1.0, -1.0], [-1.0, 1.0]]),
        [1, 3],
        [1, 3],
        "cstrack v: frame 2 vs templates at 1",
        "template id (frame 1)",
        "detection id (frame 2)",
        subtitle="2 ids left out, in one frame only",
        colorbar_label="cosine similarity",
    )
    assert figures[0].png == plots.encode_png(expected)


def test_without_gt_identities_come_from_the_tracker(sequences, tmp_path, caplog):
    # a plain image folder, outside its sequence: no gt to infer (SEQ/img1 would take SEQ/gt/gt.txt)
    images = Path(shutil.copytree(sequences["dancetrack"] / "img1", tmp_path / "frames"))
    out = tmp_path / "out"
    argv = ["analyze", str(images), "--model", "fdta", "--weights", str(FDTA_WEIGHTS)]
    with caplog.at_level("WARNING", logger="discmot"):
        assert main([*argv, "--frames", "99", "--out", str(out)]) == 0  # the source has 10 frames
    summary = check_report(out)
    assert summary["identities"] == "the tracker's output ids" and summary["gt"] is None
    assert "frame 99: no matrix" in caplog.text  # a frame asked for and not there is said, not dropped
    # the ids were assigned by the ID decoder reading these embeddings: the rates are no evidence
    assert summary["identity_source"] == "tracker"
    assert "ID decoder" in summary["reid_caveat"] and "self-consistency" in summary["reid_caveat"]
    assert caplog.text.count("no ground truth") == 1
    text = report_text(out)
    assert f'<p class="caveat"><b>Self-consistency only.</b> {summary["reid_caveat"]}</p><table>' in text
    assert summary["reid_caveat"] in figure_caption(out, "Re-identification across a gap")
    # no --input-size: the bundled checkpoint's rule (shorter side 160, longer <= 288) on 256x160 frames
    assert summary["settings"]["input_size"] == [160, 256]
    assert "shorter side 160, longer side at most 288" in summary["settings"]["input_size_origin"]


def test_cstrack_without_gt_says_its_tracker_matched_by_these_embeddings(sequences, tmp_path, caplog):
    images = Path(shutil.copytree(sequences["mot"] / "img1", tmp_path / "frames"))  # no gt beside it
    out = tmp_path / "out"
    argv = [
        "analyze",
        str(images),
        "--model",
        "cstrack",
        "--weights",
        str(CSTRACK_WEIGHTS),
        "--max-frames",
        "4",
    ]
    with caplog.at_level("WARNING", logger="discmot"):
        assert main([*argv, "--out", str(out)]) == 0
    summary = check_report(out)
    assert summary["identity_source"] == "tracker" and "JDE tracker" in summary["reid_caveat"]
    assert caplog.text.count("no ground truth") == 1
    # no --input-size: the bundled tiny CSTrack's config input size, 192x320
    assert summary["settings"]["input_size"] == [192, 320]
    assert "network input 192x320 (h x w; the checkpoint's config (input_size))" in report_text(out)


def test_a_frame_beyond_max_frames_is_refused_before_the_run(sequences, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["analyze", str(sequences["dancetrack"]), "--model", "fdta", "--weights", str(FDTA_WEIGHTS)]
    assert main([*argv, "--max-frames", "4", "--frames", "2", "9", "--out", str(out)]) == 2
    assert "frame 9 (--frames) is beyond --max-frames 4 (frames 1-4 analysed)" in capsys.readouterr().err
    assert not out.exists()


def test_cstrack_tracker_ids_are_not_filtered_to_pedestrian_shapes(sequences, tmp_path):
    # most dancer boxes are wider than CSTrack's pedestrian output filter allows (w/h 0.6): with it the
    # tracker identified almost nothing, and there was nothing left to analyse
    out = tmp_path / "out"
    argv = ["analyze", str(sequences["dancetrack"] / "img1"), "--model", "cstrack", "--weights"]
    assert main([*argv, str(CSTRACK_WEIGHTS), "--max-frames", "6", "--out", str(out)]) == 0
    summary = check_report(out)
    assert summary["views"]["reid"]["pairs"] > 50, summary["views"]["reid"]["pairs"]


def test_clear_errors(sequences, tmp_path, capsys):
    seq = str(sequences["dancetrack"])
    out = str(tmp_path / "out")
    assert main(["analyze", seq, "--model", "cstrack", "--weights", str(FDTA_WEIGHTS), "--out", out]) == 2
    assert "not CSTrack" in capsys.readouterr().err
    assert main(["analyze", seq, "--model", "fdta", "--weights", str(tmp_path / "no.pth"), "--out", out]) == 2
    assert "no such checkpoint" in capsys.readouterr().err
    argv = [
        "analyze",
        seq,
        "--model",
        "fdta",
        "--weights",
        str(FDTA_WEIGHTS),
        "--gt",
        str(tmp_path / "gt.txt"),
    ]
    assert main([*argv, "--out", out]) == 2
    assert "no such ground-truth file" in capsys.readouterr().err


def test_a_checkpoint_of_the_other_kind_is_one_line_as_in_track(sequences, tmp_path, capsys):
    """analyze loads through `discmot.models.registry.load_model`, as ``discmot track`` does."""
    seq, out = str(sequences["dancetrack"]), str(tmp_path / "out")
    for kind, weights, words in (
        (
            "cstrack",
            FDTA_WEIGHTS,
            'an FDTA checkpoint, not CSTrack weights (give --model fdta; in Python load_model("fdta", ...))',
        ),
        (
            "fdta",
            CSTRACK_WEIGHTS,
            "a CSTrack checkpoint, not FDTA weights "
            '(give --model cstrack; in Python load_model("cstrack", ...))',
        ),
    ):
        assert main(["analyze", seq, "--model", kind, "--weights", str(weights), "--out", out]) == 2
        assert capsys.readouterr().err == f"discmot: error: {weights}: {words}\n"
    assert not (tmp_path / "out").exists()


def test_report_opens_in_headless_chromium(fdta_report):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("no `chromium` binary on PATH; the report's structure is checked by check_report instead")
    result = subprocess.run(
        [
            chromium,
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--dump-dom",
            (fdta_report / "report.html").as_uri(),
        ],
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0 and b"Embedding diagnostics" in result.stdout


def test_a_gt_file_eval_would_refuse_is_refused_naming_the_line(tmp_path):
    from discmot.analysis.analyze import read_gt
    from discmot.io.mot import MotFormatError

    (tmp_path / "twice.txt").write_text("1,4,0,0,10,10,1,1,1\n1,4,20,0,10,10,1,1,1\n")
    with pytest.raises(MotFormatError, match=r"twice.txt:2: .*4"):
        read_gt(tmp_path / "twice.txt")
    (tmp_path / "flat.txt").write_text("1,4,0,0,10,0,1,1,1\n")
    with pytest.raises(MotFormatError, match=r"flat.txt:1: .*width and height"):
        read_gt(tmp_path / "flat.txt")


def test_a_second_run_into_the_same_folder_leaves_only_its_own_figures(fdta_report, tmp_path):
    """Frames or views an earlier run drew, and this one did not, are removed; other files stay."""
    from discmot.analysis.analyze import write_outputs
    from discmot.analysis.report import Figure

    out = Path(shutil.copytree(fdta_report, tmp_path / "report"))
    figures = [Figure(p.name, p.stem, "", p.read_bytes()) for p in sorted(out.glob("*.png"))]
    summary = json.loads((out / "summary.json").read_text())
    stale = ["matrix_decoder_frame999.png", "projection_old.png"]
    for name in [*stale, "notes.txt"]:
        (out / name).write_bytes(b"an earlier run's")
    write_outputs(out, figures, summary)
    assert not any((out / name).exists() for name in stale) and (out / "notes.txt").exists()
    assert sorted(p.name for p in out.glob("*.png")) == sorted(f.name for f in figures)
    check_report(out)  # (it also counts the folder's PNGs against the report's images)
