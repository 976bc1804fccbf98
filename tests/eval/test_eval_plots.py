"""`discmot eval --plot` (`evaluate(plot=True)`): the PNG figures of HOTA against alpha per tracker and the
DetA/AssA comparison of trackers, checked by where their pixels lie, not against golden images.

The data is the 3-frame benchmark of test_eval_journey.py: a tracker copying the gt (every score 1), one
with a shifted box and a late start (HOTA 0.78), and one whose boxes overlap nothing (HOTA 0).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from test_eval_journey import FAR_ROWS, GT_ROWS, TRACKER_ROWS, eval_argv, write_benchmark

from discmot.cli import main
from discmot.eval import fields as F
from discmot.eval import plots, report
from discmot.eval.runner import EvalInputError, evaluate
from discmot.viz.plots import ID_PALETTE
from helpers import unwritable_folder

#: The gt itself as results: every score of every alpha is 1.
PERFECT_ROWS = [",".join(row.split(",")[:6]) + ",1,-1,-1,-1" for row in GT_ROWS]
TRACKERS = {"perfect": PERFECT_ROWS, "trk": TRACKER_ROWS, "far": FAR_ROWS}


@pytest.fixture
def evaluated(tmp_path):
    """``(results, the folder of tracker folders)`` after ``discmot eval --plot`` in TrackEval's layout."""
    gt, trackers = write_benchmark(tmp_path, TRACKERS)
    assert main(eval_argv(gt, trackers, "--plot", "--json", str(tmp_path / "r.json"))) == 0
    return report.read_json(tmp_path / "r.json"), trackers / "MOT17-train"


def read_png(path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, f"{path} does not decode as an image"
    return image


def plot_area(image: np.ndarray) -> tuple[int, int, int, int]:
    """``(left, top, right, bottom)`` of the black frame around a chart's plot area."""
    black = (image == 0).all(axis=2)
    columns = np.flatnonzero(black.sum(axis=0) > 150)  # the frame's vertical sides
    rows = np.flatnonzero(black.sum(axis=1) > 300)  # its horizontal sides
    return columns[0], rows[0], columns[-1], rows[-1]


def score_area(image: np.ndarray) -> tuple[int, int, float, float]:
    """``(left, right, top, bottom)`` of a figure of scores against alpha: the columns of the first and
    last alpha, the rows of 100 % and 0 %. Curves at 100 % cover the frame's top side and the tick
    there, so the rows come from a line fitted to the y ticks (0, 20, ... 100 from the bottom) still
    showing 4 pixels left of the frame."""
    black = (image == 0).all(axis=2)
    columns = np.flatnonzero(black.sum(axis=0) > 150)  # the frame's vertical sides
    ticks = np.flatnonzero(black[:, columns[0] - 4])[::-1]  # from the bottom (0 %) up
    values = np.array([20.0 * k for k in range(len(ticks))])  # assumes the 0 % tick is uncovered
    slope, bottom = np.polyfit(values, ticks, 1)
    return columns[0], columns[-1], bottom + 100 * slope, bottom


def pixels_of(image: np.ndarray, colour) -> np.ndarray:
    """``[n, 2]`` (row, column) of the pixels exactly ``colour`` (BGR)."""
    return np.argwhere((image == np.asarray(colour, np.uint8)).all(axis=2))


def test_each_tracker_gets_its_figure_beside_its_summary_and_the_trackers_a_comparison(evaluated):
    _, split_folder = evaluated
    for tracker in TRACKERS:
        folder = split_folder / tracker
        assert (folder / "pedestrian_summary.txt").is_file()
        figure = read_png(folder / "pedestrian_plot.png")
        assert figure.shape == (*plots.PLOT_SIZE, 3)
        for name, colour in plots.CURVES:  # every curve drawn (legend square 13 x 13 at least)
            assert len(pixels_of(figure, colour)) >= 169, (tracker, name)
    # in the folder of tracker folders: one per split (TRACKERS/MOT17-val/ would get its own)
    comparison = read_png(split_folder / plots.COMPARISON_FILE)
    assert comparison.shape == (*plots.COMPARISON_SIZE, 3)
    assert sorted(p.name for p in split_folder.iterdir()) == sorted([*TRACKERS, plots.COMPARISON_FILE])


def curve_rows(image: np.ndarray, colour, area) -> dict[int, float]:
    """``{alpha index: median row}`` of ``colour``'s pixels at each alpha's column (the x axis runs from
    the first alpha to the last), where any are visible."""
    left, right, top, bottom = area
    found = {}
    for k, alpha in enumerate(F.ALPHAS):
        x = round(left + (alpha - F.ALPHAS[0]) / (F.ALPHAS[-1] - F.ALPHAS[0]) * (right - left))
        band = image[round(top) - 6 : round(bottom) + 7, x - 1 : x + 2]
        rows = np.flatnonzero((band == np.asarray(colour, np.uint8)).all(axis=2).any(axis=1))
        if len(rows):
            found[k] = float(np.median(rows)) + round(top) - 6
    return found


def test_the_curves_lie_at_the_scores_of_each_alpha(evaluated):
    results, split_folder = evaluated
    for tracker in ("perfect", "trk"):
        image = read_png(split_folder / tracker / "pedestrian_plot.png")
        area = score_area(image)
        _, _, top, bottom = area
        hota = results[tracker][F.COMBINED]["HOTA"]
        for name, colour in plots.CURVES:
            expected = bottom - np.asarray(hota[name]) * (bottom - top)  # y axis 0..100 %
            for k, row in curve_rows(image, colour, area).items():
                assert abs(row - expected[k]) <= 4, (tracker, name, k)
        # HOTA is drawn on top: visible at every alpha, whatever curves it meets
        assert len(curve_rows(image, plots.CURVES[0][1], area)) == len(F.ALPHAS), tracker
    perfect = read_png(split_folder / "perfect" / "pedestrian_plot.png")
    left, right, top, bottom = score_area(perfect)
    inside = perfect[:, left - 4 : right + 5]  # (the legend is further right)
    for _, colour in plots.CURVES:  # every score is 100: nothing lower than the top's dots
        assert (abs(pixels_of(inside, colour)[:, 0] - top) <= 4).all()


def test_the_legend_gives_each_curves_mean_as_the_summary_prints_it(evaluated):
    results, split_folder = evaluated
    header, values = (split_folder / "trk" / "pedestrian_summary.txt").read_text().splitlines()[:2]
    summary = dict(zip(header.split(), map(float, values.split()), strict=True))
    labels = plots.curve_labels(results["trk"][F.COMBINED]["HOTA"])
    assert list(labels) == [name for name, _ in plots.CURVES]
    for name, label in labels.items():
        shown, value = label.split()
        assert shown == name and abs(float(value) - summary[name]) <= 0.0051, label


def test_the_comparison_puts_each_tracker_where_its_deta_and_assa_are(evaluated):
    _, split_folder = evaluated
    image = read_png(split_folder / plots.COMPARISON_FILE)
    left, top, right, bottom = plot_area(image)
    inside = image[top + 1 : bottom, left + 1 : right]
    height, width = inside.shape[:2]
    # numbered by HOTA: perfect 1, trk 2, far 3 -> the first three palette colours
    centres = [pixels_of(inside, colour).mean(axis=0) for colour in ID_PALETTE[:3]]
    (perfect_row, perfect_col), (trk_row, trk_col), (far_row, far_col) = centres
    assert perfect_row < 0.1 * height and perfect_col > 0.9 * width  # DetA = AssA = 100: top right
    assert far_row > 0.9 * height and far_col < 0.1 * width  # 0, 0: bottom left
    # trk: DetA 73 < AssA 84, both between the others
    assert perfect_col > trk_col > far_col and perfect_row < trk_row < far_row
    assert bottom - top - trk_row > trk_col  # higher (AssA) than right (DetA), in a square-ish area
    neutral = (inside[..., 0] == inside[..., 2]) & (inside[..., 1] == inside[..., 2])
    assert (neutral & (inside[..., 0] >= 120) & (inside[..., 0] <= 215)).sum() > 1500  # the grey iso-lines


def test_iso_lines_are_hota_levels_within_the_limits():
    lines = plots.iso_lines((40.0, 100.0), (20.0, 80.0))
    assert [label for label, _, _ in lines] == [f"HOTA {h}" for h in range(30, 90, 10)]  # 90: 8100 > 100 * 80
    for label, deta, assa in lines:
        level = int(label.split()[1])
        assert np.allclose(np.sqrt(deta * assa), level)
        assert deta.min() >= 40 and deta.max() <= 100 and assa.min() >= 20 - 1e-9 and assa.max() <= 80 + 1e-9


def test_one_tracker_gets_no_comparison_and_no_plot_writes_no_picture(tmp_path):
    gt, trackers = write_benchmark(tmp_path, {"trk": TRACKER_ROWS, "far": FAR_ROWS})
    out = tmp_path / "out"
    evaluate(gt, trackers, trackers="trk", output_folder=out, plot=True)
    assert sorted(p.name for p in out.rglob("*.png")) == ["pedestrian_plot.png"]
    evaluate(gt, trackers, output_folder=tmp_path / "plain")
    assert not list((tmp_path / "plain").rglob("*.png"))
    # with --output-folder the comparison goes there, beside the tracker folders
    evaluate(gt, trackers, output_folder=out, plot=True, write_summaries=False)
    assert (out / plots.COMPARISON_FILE).is_file()
    assert not list(trackers.rglob("*.png"))  # nothing beside the results


def test_plot_without_hota_is_a_one_line_error_before_any_work(tmp_path, capsys):
    gt, trackers = write_benchmark(tmp_path, {"trk": TRACKER_ROWS})
    out = tmp_path / "out"
    assert (
        main(eval_argv(gt, trackers, "--metrics", "CLEAR", "IDF1", "--plot", "--output-folder", str(out)))
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "plotting draws HOTA's curves, but the metrics are CLEAR, Identity: add HOTA to --metrics" in err
    assert not out.exists()  # nothing evaluated, nothing written
    with pytest.raises(EvalInputError, match="add HOTA to --metrics"):
        evaluate(gt, trackers, metrics="MOTA", plot=True)


def test_an_output_folder_that_cannot_be_written_is_an_error_naming_it(tmp_path, capsys):
    gt, trackers = write_benchmark(tmp_path, {"trk": TRACKER_ROWS})
    folder = unwritable_folder(tmp_path)
    argv = eval_argv(gt, trackers, "--plot", "--no-summaries", "--output-folder", str(folder))
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(folder) in err
    assert not list(tmp_path.rglob("*.png"))


def test_a_tracker_folder_refusing_the_picture_only_loses_it_with_a_warning(tmp_path, caplog):
    """Beside the results (no --output-folder), as for the summaries: said, and the rest is written. A
    folder in the picture's place makes the write fail even for root, whom permissions do not stop."""
    gt, trackers = write_benchmark(tmp_path, {"trk": TRACKER_ROWS, "far": FAR_ROWS})
    blocked = trackers / "MOT17-train" / "trk" / "pedestrian_plot.png"
    (blocked / "x").mkdir(parents=True)
    with caplog.at_level("WARNING", logger="discmot"):
        evaluate(gt, trackers, plot=True)
    assert f"could not write {blocked} (" in caplog.text and "use --output-folder" in caplog.text
    assert (trackers / "MOT17-train" / "far" / "pedestrian_plot.png").is_file()
    assert (trackers / "MOT17-train" / plots.COMPARISON_FILE).is_file()
    assert (trackers / "MOT17-train" / "trk" / "pedestrian_summary.txt").is_file()
    with pytest.raises(OSError) as error:  # where the user named the folder: an error naming the file
        evaluate(gt, trackers, plot=True, output_folder=trackers / "MOT17-train")
    assert error.value.filename == str(blocked)
