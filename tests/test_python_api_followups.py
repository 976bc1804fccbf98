"""The Python API's rough edges found by a library user's journey (session 29): tracks kept in memory with
``track(on_frame=)``, one-line errors where a path is expected, ``load_model(kind, "bundled")``, the
caller's torch RNG kept by ``load_model``, ``write_mot_results``' column checks, and messages that name
the Python spelling beside the command line's."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pytest
import torch
from torch import nn

import discmot
from discmot.cli import main
from discmot.data.synth import generate_dataset
from discmot.engine.train import TrainConfig, TrainSetup, launch
from discmot.eval.runner import evaluate_files
from discmot.io.mot import read_mot_table
from discmot.io.mot_results import write_mot_results
from discmot.structures import Detections
from discmot.trackers.association import JDETracker


@pytest.fixture(scope="module")
def sequence(tmp_path_factory):
    """A 4-frame synthetic sequence whose ``det/det.txt`` holds its ground-truth boxes (score 1): the
    JDE cascade tracks it without a network."""
    root = tmp_path_factory.mktemp("api")
    (folder,) = generate_dataset(root, "tiny", split="val", sequences=1, frames=4, seed=5)
    gt = read_mot_table(folder / "gt" / "gt.txt", min_columns=6).values
    rows = [f"{int(r[0])},-1,{r[2]:.2f},{r[3]:.2f},{r[4]:.2f},{r[5]:.2f},1\n" for r in gt]
    (folder / "det").mkdir()
    (folder / "det" / "det.txt").write_text("".join(rows))
    return folder


# --------------------------------------------------------------------------------------------------
# 1. track(on_frame=): the tracks without a file


def test_on_frame_gets_each_frames_tracks_as_the_results_file_gets_them(sequence, tmp_path):
    calls = []
    summary = discmot.track(
        sequence, save_txt=tmp_path / "r.txt", progress=False, on_frame=lambda n, t: calls.append((n, t))
    )
    assert [n for n, _ in calls] == [1, 2, 3, 4]  # every frame, those without a track too
    assert len(calls[0][1]) == 0 and sum(len(t) for _, t in calls) == summary["rows"] > 0
    frames = np.concatenate([np.full(len(t), n) for n, t in calls])
    ids, boxes, scores = (
        np.concatenate([getattr(t, k) for _, t in calls]) for k in ("ids", "boxes", "scores")
    )
    write_mot_results(tmp_path / "kept.txt", frames, ids, boxes, scores)
    assert (tmp_path / "kept.txt").read_bytes() == (tmp_path / "r.txt").read_bytes()


def test_without_outputs_python_is_told_the_keywords_and_the_command_line_its_options(
    sequence, caplog, capsys
):
    with caplog.at_level(logging.WARNING, logger="discmot"):
        discmot.track(sequence, progress=False)
    said = caplog.text
    assert "save_txt=" in said and "on_frame=" in said and "--save-txt" not in said
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="discmot"):
        discmot.track(sequence, progress=False, on_frame=lambda n, t: None)
    assert "nothing will be written" not in caplog.text  # the caller takes the tracks
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="discmot"):
        assert main(["track", str(sequence)]) == 0
    assert "nothing will be written: give --save-txt FILE and/or --save-video FILE" in caplog.text
    assert "on_frame" not in caplog.text + capsys.readouterr().err


def test_on_frame_is_refused_for_a_split_and_when_not_callable(sequence, tmp_path):
    split = sequence.parent
    with pytest.raises(ValueError, match="a folder of sequences: on_frame takes the tracks of one source"):
        discmot.track(split, split_out=tmp_path / "out", on_frame=print)
    with pytest.raises(ValueError, match="a folder of sequences: on_frame"):  # before the split_out error
        discmot.track(split, model="fdta", weights="bundled", on_frame=print)
    with pytest.raises(TypeError, match="on_frame must be a function"):
        discmot.track(sequence, on_frame=[])
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------------------------------
# 2.-4. load_model: paths, "bundled", the caller's RNG


@pytest.mark.parametrize("weights", [None, nn.Linear(1, 1)])
def test_load_model_says_weights_must_be_a_path(weights):
    with pytest.raises(TypeError) as error:
        discmot.load_model("cstrack", weights)
    message = str(error.value)
    assert message.startswith(
        f"load_model: weights must be a path (str or os.PathLike), got {type(weights).__name__}"
    )
    assert 'discmot.bundled_weights("cstrack")' in message and "\n" not in message


def test_load_model_takes_bundled_as_track_does():
    model = discmot.load_model("fdta", "bundled")
    expected = discmot.load_model("fdta", discmot.bundled_weights("fdta"))
    assert model.state_dict().keys() == expected.state_dict().keys()
    assert all(torch.equal(a, expected.state_dict()[k]) for k, a in model.state_dict().items())


def test_load_model_leaves_the_global_torch_rng_as_it_was():
    torch.manual_seed(1)
    expected = torch.rand(5)
    torch.manual_seed(1)
    discmot.load_model("cstrack", discmot.bundled_weights("cstrack"))
    assert torch.equal(torch.rand(5), expected)


def test_a_checkpoint_of_the_other_kind_names_both_spellings():
    with pytest.raises(
        Exception, match=r'\(give --model cstrack; in Python load_model\("cstrack", \.\.\.\)\)$'
    ):
        discmot.load_model("fdta", discmot.bundled_weights("cstrack"))


# --------------------------------------------------------------------------------------------------
# 2. evaluation: paths


def test_evaluation_says_which_path_is_missing(sequence):
    gt = sequence / "gt" / "gt.txt"
    path = "must be a path (str or os.PathLike), got"
    cases = [
        (lambda: discmot.evaluate(None, None), f"evaluate: gt_folder {path} NoneType"),
        (lambda: discmot.evaluate(sequence.parent, 3), f"evaluate: trackers_folder {path} int"),
        (lambda: discmot.evaluate_pair(gt, None), f"evaluate_pair: results_file {path} NoneType"),
        (lambda: evaluate_files(None, gt), f"evaluate_files: gt_file {path} NoneType"),
    ]
    for call, words in cases:
        with pytest.raises(TypeError) as error:
            call()
        assert str(error.value).startswith(words)


def test_evaluate_pair_is_public_beside_evaluate(sequence, tmp_path):
    from discmot.eval import runner

    assert discmot.evaluate_pair is runner.evaluate_pair and "evaluate_pair" in discmot.__all__
    gt = sequence / "gt" / "gt.txt"
    shutil.copy(gt, tmp_path / "mine.txt")
    scores = discmot.evaluate_pair(gt, tmp_path / "mine.txt")
    (tracker,) = scores
    assert scores[tracker]["COMBINED"]["HOTA"]["HOTA"].mean() == pytest.approx(1.0)


# --------------------------------------------------------------------------------------------------
# 5. write_mot_results: columns


@pytest.mark.parametrize(
    "columns, words",
    [
        (([1, 2, 3], [1, 2], [[0, 0, 1, 1]] * 3), "frames has 3 rows, ids 2, boxes 3"),
        (([1, 2, 3], [1, 2, 3], []), "frames has 3 rows, ids 3, boxes 0"),
        (([1], [1], [[0, 0, 1, 1]], [0.5, 0.6]), "frames has 1 row, ids 1, boxes 1, scores 2"),
        (([1], [1], [0, 0, 1, 1]), r"boxes must be \(N, 4\), one x, y, w, h row per box, got shape \(4,\)"),
        (([1, 2], [1, 2], [[0, 0, 1, 1], [0, 0, 1]]), r"boxes must be \(N, 4\)"),
    ],
)
def test_write_mot_results_names_the_columns_that_do_not_fit(tmp_path, columns, words):
    with pytest.raises(ValueError, match=f"^write_mot_results: {words}"):
        write_mot_results(tmp_path / "r.txt", *columns)
    assert not list(tmp_path.iterdir())


def test_write_mot_results_takes_empty_lists_and_refuses_no_path(tmp_path):
    write_mot_results(tmp_path / "none.txt", [], [], [], [])  # a video where nobody was tracked
    assert (tmp_path / "none.txt").read_text() == ""
    with pytest.raises(TypeError, match="^write_mot_results: path must be a path .*got NoneType$"):
        write_mot_results(None, [1], [1], [[0, 0, 1, 1]])


# --------------------------------------------------------------------------------------------------
# 6.-7. messages


def test_non_finite_detections_name_their_rows_before_the_fp16_cause():
    boxes = np.array([[0, 0, 10, 20], [np.nan, 0, 10, 20], [5, 5, 10, 20], [5, np.inf, 10, 20]], float)
    with pytest.raises(ValueError) as error:
        JDETracker().update(Detections(boxes, np.full(4, 0.9)))
    message = str(error.value)
    assert message.startswith("frame 1: the detections carry non-finite boxes, NaN or inf, in rows 1, 3;")
    assert message.index("rows 1, 3") < message.index("fp16") and "overflow" in message
    scores = np.array([0.9, np.nan])
    with pytest.raises(ValueError, match="NaN scores, in row 1; from discmot's own networks in fp16"):
        JDETracker().update(Detections(boxes[[0, 2]], scores))


def test_a_second_launch_into_a_run_folder_names_resume_and_run_dir(tmp_path):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "epoch-000.pt").write_bytes(b"")  # the name alone makes it a checkpoint there
    data = torch.utils.data.TensorDataset(torch.zeros(4, 2), torch.zeros(4, 1))
    model = nn.Linear(2, 1)

    def build(info):
        return TrainSetup(model, lambda m, batch, context: (m(batch[0]).pow(2).mean(), {}), data)

    config = TrainConfig(epochs=1, batch_size=2, progress=False)
    with pytest.raises(FileExistsError) as error:
        launch(build, config, run)
    assert str(error.value).endswith(
        "continue it with --resume (resume=True in Python), or start in another --run-dir (run_dir)"
    )
