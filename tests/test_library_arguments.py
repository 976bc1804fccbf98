"""The Python API refuses what the command line's parser would have refused, naming the argument, before
any work: a script or notebook gets a ValueError that says what is wrong, not an empty result, a hang or
an error from deep inside numpy or torch."""

from __future__ import annotations

import logging
import math
import shutil

import numpy as np
import pytest

import discmot
from discmot.analysis.analyze import analyze
from discmot.data.synth import generate_dataset
from discmot.engine.demo import bundled_weights
from discmot.io.checkpoints import CheckpointError
from discmot.models import network_input_size
from discmot.models.fdta.config import RuntimeConfig
from discmot.structures import Detections
from discmot.trackers.association import JDETrackerConfig


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("api")
    generate_dataset(root, "tiny", split="val", sequences=1, frames=4, seed=5)
    return root


@pytest.fixture(scope="module")
def fdta_model():
    return discmot.load_model("fdta", bundled_weights("fdta"))


@pytest.mark.parametrize(
    "value, expected",
    [(None, None), ((160, 256), (160, 256)), ([160.0, 256], (160, 256)), ("160x256", (160, 256))],
)
def test_network_input_size_takes_a_pair_or_hxw_text(value, expected):
    assert network_input_size(value) == expected


@pytest.mark.parametrize("value", [(0, 5), (-1, 100), "0x5", (1.5, 2), (True, 3), 5, (1, 2, 3), "ax3", "12"])
def test_network_input_size_refuses_what_no_network_can_take(value):
    with pytest.raises(ValueError, match="input_size"):
        network_input_size(value)


@pytest.mark.parametrize("field", ["det_thresh", "newborn_thresh", "id_thresh"])
@pytest.mark.parametrize("value", [5.0, -0.1, math.nan])
def test_fdta_runtime_thresholds_are_probabilities(field, value):
    # det_thresh 5 used to give a silently empty result
    with pytest.raises(ValueError, match=f"{field} .*a probability, 0 to 1"):
        RuntimeConfig(**{field: value})


def test_fdta_runtime_area_and_sides():
    with pytest.raises(ValueError, match="area_thresh"):
        RuntimeConfig(area_thresh=-1.0)
    with pytest.raises(ValueError, match="shorter_side=0"):
        RuntimeConfig(shorter_side=0)


def test_jde_config_says_finite_for_nan_and_refuses_a_negative_buffer():
    with pytest.raises(ValueError, match="must be a finite float, got nan"):
        JDETrackerConfig(conf_threshold=math.nan)
    with pytest.raises(ValueError, match="track_buffer must be at least 0"):
        JDETrackerConfig(track_buffer=-1)


@pytest.mark.parametrize("size", [(0, 0), (-1, 100)])
def test_the_fdta_tracker_checks_its_input_size_when_built(fdta_model, size):
    from discmot.trackers.fdta import FDTATracker

    with pytest.raises(ValueError, match="sides must be positive"):  # was a ZeroDivisionError per frame
        FDTATracker(fdta_model, input_size=size)


def test_a_model_loaded_in_bf16_is_tracked_in_bf16_without_saying_it_twice(fdta_model):
    import copy

    import torch

    from discmot.trackers.fdta import FDTATracker

    model = copy.deepcopy(fdta_model).to(torch.bfloat16)  # as load_model(..., dtype="bf16") gives it
    tracker = FDTATracker(model, input_size=(64, 96))  # was: "..., the tracker runs torch.float32 on cpu"
    assert tracker.dtype == torch.bfloat16
    frame = np.random.default_rng(0).integers(0, 256, (64, 96, 3), dtype=np.uint8)
    assert tracker.update(frame).boxes.shape[1] == 4
    with pytest.raises(ValueError, match=r"tracker runs torch.float32 on cpu: give it .* or leave out"):
        FDTATracker(model, dtype="fp32")


def test_the_fdta_tracker_refuses_a_runtime_that_is_no_runtime_config(fdta_model):
    from discmot.trackers.fdta import FDTATracker

    with pytest.raises(
        TypeError, match=r"runtime must be a RuntimeConfig, e.g. dataclasses.replace.*got dict"
    ):
        FDTATracker(fdta_model, runtime={"det_thresh": 0.2})  # was an AttributeError: no 'miss_tolerance'


def test_the_cstrack_tracker_checks_its_size_and_threshold():
    from discmot.trackers.cstrack import CSTrackTracker

    model = discmot.load_model("cstrack", bundled_weights("cstrack"))
    with pytest.raises(ValueError, match="sides must be positive"):
        CSTrackTracker(model, input_size=(0, 0))  # 0 is a multiple of 32
    with pytest.raises(ValueError, match="scores lie in 0 to 1"):
        CSTrackTracker(model, config=JDETrackerConfig.preset("cstrack", conf_threshold=5.0))


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"max_frames": 1.5}, "max_frames 1.5"),
        ({"max_frames": 0}, "max_frames 0"),
        ({"track_thresh": 5.0}, "det_thresh 5.0"),
        ({"input_size": (0, 10)}, "sides must be positive"),
    ],
)
def test_track_refuses_bad_arguments_without_a_false_warning(tiny_root, tmp_path, caplog, kwargs, words):
    sequence = next((tiny_root / "val").iterdir())
    weights = bundled_weights("fdta")

    with caplog.at_level(logging.WARNING), pytest.raises(ValueError, match=words):
        discmot.track(sequence, model="fdta", weights=weights, **kwargs)

    # "nothing will be written" is said once the run goes ahead, not before an error
    assert "nothing will be written" not in caplog.text


def test_evaluate_takes_one_name_where_it_takes_several(tiny_root, tmp_path):
    trackers = tmp_path / "trackers"
    for sequence in (tiny_root / "val").iterdir():
        (trackers / "mine" / "data").mkdir(parents=True, exist_ok=True)
        shutil.copy(sequence / "gt" / "gt.txt", trackers / "mine" / "data" / f"{sequence.name}.txt")
    name = sequence.name
    common = {"benchmark": "DanceTrack", "split": "val", "write_summaries": False}

    one = discmot.evaluate(tiny_root, trackers, trackers="mine", sequences=name, metrics="HOTA", **common)
    listed = discmot.evaluate(
        tiny_root, trackers, trackers=["mine"], sequences=[name], metrics=["HOTA"], **common
    )

    assert set(one) == {"mine"} and set(one["mine"]) == {name, "COMBINED"}
    assert set(one["mine"]["COMBINED"]) == {"HOTA", "Count"}
    assert (
        one["mine"]["COMBINED"]["HOTA"]["HOTA"].tolist()
        == listed["mine"]["COMBINED"]["HOTA"]["HOTA"].tolist()
    )
    with pytest.raises(discmot.EvalInputError, match="trackers is empty"):
        discmot.evaluate(tiny_root, trackers, trackers=[], **common)
    with pytest.raises(discmot.EvalInputError, match="benchmark None"):
        discmot.evaluate(tiny_root, trackers, **{**common, "benchmark": None})


def test_analyze_checks_its_arguments_before_loading_anything(tiny_root, tmp_path):
    sequence = next((tiny_root / "val").iterdir())
    missing = tmp_path / "no-such-weights.pth"  # the checks come first: nothing is loaded

    with pytest.raises(ValueError, match="max_frames 0"):
        analyze(sequence, "fdta", missing, tmp_path / "out", max_frames=0)
    with pytest.raises(ValueError, match="sides must be positive"):
        analyze(sequence, "fdta", missing, tmp_path / "out", input_size=(-1, 100))
    with pytest.raises(ValueError, match="frame 3 .* beyond --max-frames 2"):
        analyze(sequence, "fdta", missing, tmp_path / "out", frames=3, max_frames=2)  # one frame, an int


@pytest.mark.parametrize("kind", ["fdta", "cstrack"])
def test_a_safetensors_file_named_pth_is_named_as_such(tmp_path, kind):
    renamed = tmp_path / "weights.pth"
    shutil.copy(bundled_weights(kind), renamed)

    with pytest.raises(CheckpointError, match="a safetensors file, not a PyTorch one: name it .safetensors"):
        discmot.load_model(kind, renamed)


def test_dir_lists_the_public_names_not_the_modules_helpers():
    names = dir(discmot)
    assert {"track", "evaluate", "load_model", "bundled_weights", "EvalInputError"} <= set(names)
    assert not {"importlib", "annotations", "_PUBLIC", "_version"} & set(names)


def test_detections_check_the_length_of_their_classes():
    boxes, scores = np.zeros((2, 4)), np.ones(2)
    assert Detections(boxes, scores, classes=np.array([0, 2])).classes.tolist() == [0, 2]
    with pytest.raises(ValueError, match=r"classes \(3,\) for 2 boxes"):
        Detections(boxes, scores, classes=np.array([0, 0, 1]))


@pytest.mark.parametrize(
    "keywords, named",
    [
        ({"source": np.zeros((4, 48, 64, 3), np.uint8)}, "source must be a path, glob or webcam index"),
        ({"model": "fdta", "weights": "MODEL"}, "weights must be a checkpoint path"),
        ({"classes": "person"}, "classes must be COCO class ids"),
        ({"classes": (0, 2.5)}, "classes must be COCO class ids"),
        ({"classes": 2.0}, "classes must be COCO class ids"),  # these three: "... is not iterable"
        ({"classes": None}, "classes must be COCO class ids"),
    ],
)
def test_track_refuses_what_is_no_path_or_class_id_in_one_line(keywords, named, fdta_model, tmp_path):
    """Frames or a loaded model given to `track` failed in pathlib ("expected str, bytes or os.PathLike
    object, not ndarray"), and ``classes="person"`` in int() on its letters."""
    keywords = {"source": str(tmp_path / "clip.mp4"), **keywords}
    if keywords.get("weights") == "MODEL":
        keywords["weights"] = fdta_model
    with pytest.raises(TypeError, match=named) as raised:
        discmot.track(**keywords)
    assert "\n" not in str(raised.value)
    assert list(tmp_path.iterdir()) == []


def test_track_takes_numpy_class_ids_as_ints(fdta_model, tmp_path):
    """``classes=np.int64(2)`` failed with "'numpy.int64' object is not iterable"; it is an id, so with
    FDTA it gets the same refusal as ``classes=2`` (the detector's classes do not apply)."""
    for classes in (2, np.int64(2)):
        with pytest.raises(ValueError, match="--classes") as raised:
            discmot.track(str(tmp_path / "clip.mp4"), model="fdta", weights="w.pth", classes=classes)
        assert "\n" not in str(raised.value)
