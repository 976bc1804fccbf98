"""`discmot track --model fdta` end to end on a synthetic sequence, in fp32, bf16 and fp16.

The official code crashes in fp16 (the Temporal Adapter's position encoding); here every precision must
run and agree with fp32. A tiny random model whose class bias is raised so that queries fire stands in
for trained weights (the tracking logic is tested in tests/trackers/test_fdta_tracker.py).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import discmot
from discmot.data.synth import generate_dataset
from discmot.engine.end_to_end import AssociationOptions, NetworkOptions, build_end_to_end
from discmot.io.mot import read_mot_table
from discmot.models.fdta.checkpoint import save_fdta
from discmot.models.fdta.model import build_fdta


def end_to_end_factory(model: str, weights, *, fast_resize: bool = False, overrides: dict | None = None):
    """``frame_rate -> tracker`` as ``discmot track`` builds it, from keywords."""
    network = NetworkOptions(weights, fast_resize=fast_resize)
    return build_end_to_end(model, network, AssociationOptions(**(overrides or {})))


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    root = tmp_path_factory.mktemp("fdta-track")
    folder = generate_dataset(root / "synth", "tiny", sequences=1, frames=6)[0]
    torch.manual_seed(0)
    model = build_fdta("tiny")
    with torch.no_grad():
        for head in model.detr.class_embed:
            head.bias.fill_(2.0)
    weights = root / "tiny.safetensors"
    save_fdta(weights, model)
    return folder, weights, root


def run(scene, dtype: str, fast_resize: bool = False, input_size=None) -> np.ndarray:
    folder, weights, root = scene
    out = root / f"out_{dtype}_{fast_resize}_{input_size}.txt"
    options = {"dtype": dtype, "fast_resize": fast_resize, "input_size": input_size}
    summary = discmot.track(folder / "img1", model="fdta", weights=weights, save_txt=out, **options)
    assert summary["frames"] == 6
    return read_mot_table(out).values


def test_result_rows_are_the_originals(scene):
    reference = run(scene, "fp32")
    # 1-based frames, global ids from 0, confidence 1, boxes unrounded (float32 values, not 2 decimals)
    assert reference[:, 0].min() == 1 and reference[:, 1].min() == 0 and (reference[:, 6] == 1).all()
    assert np.abs(reference[:, 2:6] * 100 - np.round(reference[:, 2:6] * 100)).max() > 1e-3


@pytest.mark.parametrize("dtype", ["bf16", "fp16"])
def test_half_precision_runs_and_agrees_with_fp32(scene, dtype):
    reference, half = run(scene, "fp32"), run(scene, dtype)
    assert half.shape == reference.shape and np.array_equal(half[:, :2], reference[:, :2])
    assert np.abs(half[:, 2:6] - reference[:, 2:6]).max() < 2.0  # pixels at 128x80


def test_fast_resize_stays_close_to_the_originals_resize(scene):
    # the frames are 128x80; the network input 96x160 makes both ways resize
    reference = run(scene, "fp32", input_size=(96, 160))
    fast = run(scene, "fp32", fast_resize=True, input_size=(96, 160))
    assert fast.shape == reference.shape and np.array_equal(fast[:, :2], reference[:, :2])
    assert np.abs(fast[:, 2:6] - reference[:, 2:6]).max() < 2.0
    # the option reaches the tracker (its effect on the pixels: test_fdta_tracker's preprocess tests)
    assert end_to_end_factory("fdta", scene[1], fast_resize=True)(30).fast_resize
    assert not end_to_end_factory("fdta", scene[1])(30).fast_resize
    with pytest.raises(ValueError, match="FDTA option"):
        discmot.track(scene[0] / "img1", model="cstrack", weights=scene[1], fast_resize=True)


def test_fdta_without_weights_is_a_clear_error(scene):
    folder, _, _ = scene
    with pytest.raises(ValueError, match="--weights"):
        discmot.track(folder / "img1", model="fdta")


def test_fdta_over_a_split_writes_trackeval_layout_for_eval(scene, tmp_path):
    """The original's evaluate mode: a whole split -> <out>/<tracker>/data/<seq>.txt -> discmot eval."""
    folder, weights, _ = scene
    summaries = discmot.track(folder.parent, model="fdta", weights=weights, split_out=tmp_path / "out")
    assert list(summaries) == [folder.name]
    assert (tmp_path / "out" / "fdta" / "data" / f"{folder.name}.txt").is_file()
    results = discmot.evaluate(
        folder.parents[1], tmp_path / "out", benchmark="DanceTrack", split="train", write_summaries=False
    )
    assert set(results) == {"fdta"} and "HOTA" in results["fdta"]["COMBINED"]


def test_the_two_thresholds_set_fdtas_runtime(scene):
    """``--track-thresh`` (or ``--conf``) and ``--birth-thresh`` are FDTA's ``det_thresh`` and
    ``newborn_thresh``: an undertrained model's weak detections can be looked at."""
    folder, weights, root = scene
    tracker = end_to_end_factory("fdta", weights, overrides={"conf_threshold": 0.05, "birth_threshold": 0.1})(
        30
    )
    assert (tracker.runtime.det_thresh, tracker.runtime.newborn_thresh) == (0.05, 0.1)
    assert end_to_end_factory("fdta", weights)(30).runtime == build_fdta("tiny").config.runtime

    def rows(**options) -> int:
        out = root / f"thresholds_{sorted(options.items())}.txt"
        discmot.track(folder / "img1", model="fdta", weights=weights, save_txt=out, **options)
        return len(read_mot_table(out).values)

    # the class bias 2.0 gives scores of about 0.88: a threshold of 0.95 keeps no detection, or births none
    default = rows()
    assert default > 0
    assert rows(track_thresh=0.95) == rows(conf=0.95) == rows(birth_thresh=0.95) == 0
    assert rows(track_thresh=0.5, birth_thresh=0.5) == default  # below every score: nothing changes


def test_the_fdta_runtime_options_set_its_runtime(scene, tmp_path):
    """``--id-assignment``, ``--id-thresh`` and ``--miss-tolerance`` replace the checkpoint's runtime
    fields; bad values and other models are refused before anything is loaded."""
    folder, weights, _ = scene
    changed = {"assignment_protocol": "hungarian", "id_thresh": 0.1, "miss_tolerance": 5}
    runtime = build_end_to_end("fdta", NetworkOptions(weights, fdta_runtime=changed))(30).runtime
    assert (runtime.assignment_protocol, runtime.id_thresh, runtime.miss_tolerance) == ("hungarian", 0.1, 5)
    assert end_to_end_factory("fdta", weights)(30).runtime == build_fdta("tiny").config.runtime
    out = tmp_path / "t.txt"
    summary = discmot.track(
        folder / "img1", model="fdta", weights=weights, save_txt=out, id_assignment="id-max", miss_tolerance=3
    )
    assert summary["frames"] == 6 and len(read_mot_table(out).values) > 0
    with pytest.raises(ValueError, match="--id-assignment is an FDTA option"):
        discmot.track(folder / "img1", model="cstrack", weights=weights, id_assignment="hungarian")
    with pytest.raises(ValueError, match="--miss-tolerance is an FDTA option"):
        discmot.track(folder / "img1", model="jde", miss_tolerance=5)
    bad = {
        "--id-assignment greedy: .*choose from object-max, hungarian, id-max": {"id_assignment": "greedy"},
        "--id-thresh 1.5: .*a probability": {"id_thresh": 1.5},
        "^--miss-tolerance 1: miss_tolerance 1: must be at least 2$": {"miss_tolerance": 1},
        r"--miss-tolerance 2.5: .*expected int": {"miss_tolerance": 2.5},
    }
    for message, options in bad.items():
        with pytest.raises(ValueError, match=message):
            discmot.track(folder / "img1", model="fdta", weights=weights, **options)
    # the tiny preset's ID decoder has 8 relative positions: it cannot look back 9 frames
    with pytest.raises(ValueError, match="miss_tolerance 9 exceeds the model's rel_pe_length 8"):
        discmot.track(folder / "img1", model="fdta", weights=weights, miss_tolerance=9)


def test_the_input_size_may_be_the_command_lines_text(scene):
    assert np.array_equal(run(scene, "fp32", input_size="96x160"), run(scene, "fp32", input_size=(96, 160)))
    with pytest.raises(ValueError, match=r"input_size '96:160': give \(height, width\)"):
        run(scene, "fp32", input_size="96:160")
