"""CSTrack end to end (`discmot.trackers.cstrack`, ``discmot track --model cstrack``).

A seeded ``tiny`` CSTrack with random weights stands in for trained ones: its convolutions are
re-initialised with He-normal weights so that the features (and thus the boxes and embeddings) depend
on the image, and the class bias is raised so that ``obj * cls`` passes the 0.5 threshold wherever the
objectness does. The association itself is tested in tests/trackers/test_association.py; here: the
stages are wired as the spec says (checked by hand on one frame), ids, reset, frame sizes, dtypes, and
the CLI giving the API's rows.
"""

from __future__ import annotations

import copy

import cv2
import numpy as np
import pytest
import torch

import discmot
from discmot.cli import main
from discmot.data.synth import generate_dataset
from discmot.engine.end_to_end import cstrack_factory
from discmot.io.video import open_source
from discmot.models.cstrack.checkpoint import save_cstrack
from discmot.models.cstrack.model import build_cstrack
from discmot.models.cstrack.postprocess import (
    decode_predictions,
    detect,
    image_to_tensor,
    letterbox,
    scale_boxes_to_original,
)
from discmot.structures import Tracks
from discmot.trackers.association import JDETrackerConfig
from discmot.trackers.cstrack import CSTrackTracker

FRAMES = 10
SIZE = (320, 192)  # (w, h) of the frames: the tiny preset's network input
# random weights draw boxes of any shape; the pedestrian output filter (on by default, as in the original)
# would drop most of them, so the tests of the tracking itself turn it off
UNFILTERED = JDETrackerConfig.preset("cstrack", output_filter=False)


def random_tiny_cstrack(seed: int = 0):
    torch.manual_seed(seed)
    model = build_cstrack("tiny")
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
                torch.nn.init.kaiming_normal_(module.weight, a=0.1, nonlinearity="leaky_relu")
        for conv in model.head.m:
            conv.bias.view(model.config.num_anchors, -1)[:, 5:] = 5.0
    return model.eval()


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """``(sequence folder, its frames, model, safetensors of the model, root)``."""
    root = tmp_path_factory.mktemp("cstrack-track")
    folder = generate_dataset(root / "synth", "mot", sequences=1, frames=FRAMES, size=SIZE)[0]
    frames = [image for _, image in open_source(folder)]
    model = random_tiny_cstrack()
    weights = root / "tiny.safetensors"
    save_cstrack(weights, model)
    return folder, frames, model, weights, root


def track_all(tracker: CSTrackTracker, frames) -> list:
    return [tracker.update(frame) for frame in frames]


# --------------------------------------------------------------------------------------------------
# The tracker


def test_tracks_a_synthetic_sequence_with_ids_from_one(scene):
    _, frames, model, _, _ = scene
    tracker = CSTrackTracker(model, frame_rate=30, config=UNFILTERED)
    assert all(len(tracker.detections(frame)) > 0 for frame in frames)
    tracks = track_all(tracker, frames)
    assert len(tracks[0]) == 0  # every track is born unconfirmed, also on frame 1 (spec §7.4 step 5)
    assert all(len(t) > 0 for t in tracks[1:])
    ids = np.concatenate([t.ids for t in tracks])
    assert ids.min() == 1 and all(len(np.unique(t.ids)) == len(t) for t in tracks)
    assert any(len(set(a.ids) & set(b.ids)) for a, b in zip(tracks[1:], tracks[2:], strict=False))
    assert all(np.isfinite(t.boxes).all() and (t.boxes[:, 2:] > 0).all() for t in tracks)


def test_reset_restarts_ids_and_repeats_the_run(scene):
    _, frames, model, _, _ = scene
    tracker = CSTrackTracker(model)
    first = track_all(tracker, frames[:4])
    tracker.reset()
    second = track_all(tracker, frames[:4])
    for a, b in zip(first, second, strict=True):
        assert np.array_equal(a.ids, b.ids) and np.array_equal(a.boxes, b.boxes)


def test_a_frame_of_another_size_is_an_error(scene):
    _, frames, model, _, _ = scene
    tracker = CSTrackTracker(model)
    tracker.update(frames[0])
    with pytest.raises(ValueError, match=r"frame 2 is 160x96 but the video started at 320x192"):
        tracker.update(np.ascontiguousarray(frames[1][::2, ::2]))
    tracker.reset()
    tracker.update(np.ascontiguousarray(frames[1][::2, ::2]))  # a new video may have another size
    with pytest.raises(ValueError, match="uint8"):
        tracker.update(frames[0].astype(np.float32))


def test_the_model_must_already_be_in_the_trackers_dtype(scene):
    _, frames, model, _, _ = scene
    with pytest.raises(ValueError, match=r"float32 on cpu, the tracker runs torch.bfloat16 on cpu: give it"):
        CSTrackTracker(model, dtype=torch.bfloat16)
    half = copy.deepcopy(model).to(torch.bfloat16)
    assert isinstance(CSTrackTracker(half, dtype=torch.bfloat16).update(frames[0]), Tracks)


def test_the_tracker_takes_the_models_device_and_dtype_when_not_given(scene):
    _, frames, model, _, _ = scene
    half = copy.deepcopy(model).to(torch.bfloat16)  # as discmot.load_model(..., dtype="bf16") gives it
    tracker = CSTrackTracker(half, config=UNFILTERED)  # was: "the tracker runs torch.float32"
    assert (tracker.device, tracker.dtype) == (torch.device("cpu"), torch.bfloat16)
    given = CSTrackTracker(half, "cpu", "bf16", config=UNFILTERED)
    for frame in frames[:3]:
        ours, theirs = tracker.update(frame), given.update(frame)
        assert ours.ids.tolist() == theirs.ids.tolist() and np.array_equal(ours.boxes, theirs.boxes)
    with pytest.raises(ValueError, match=r"device 'gpu': not a device name \(cpu, cuda, cuda:1"):
        CSTrackTracker(model, device="gpu")  # was torch's RuntimeError listing every device type
    with pytest.raises(ValueError, match=r"^the model's weights are torch.float64: .*model.float\(\)"):
        CSTrackTracker(copy.deepcopy(model).double())  # not "unknown dtype", which no argument gave


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"config": "cstrack"}, TypeError, "config must be a JDETrackerConfig"),  # was an AttributeError
        ({"nms_threshold": 5.0}, ValueError, "nms_threshold 5.0: an IoU, 0 to 1"),  # suppressed nothing
        ({"nms_threshold": float("nan")}, ValueError, "nms_threshold nan"),
        ({"max_detections": -1}, ValueError, "max_detections -1: a whole number of boxes, at least 1"),
        ({"max_detections": 2.5}, ValueError, "max_detections 2.5"),  # was a slicing TypeError in NMS
    ],
)
def test_bad_settings_are_refused_when_the_tracker_is_built(scene, kwargs, error, words):
    _, _, model, _, _ = scene
    with pytest.raises(error, match=words):
        CSTrackTracker(model, **kwargs)


def test_the_input_size_must_be_multiples_of_32(scene):
    _, _, model, _, _ = scene
    with pytest.raises(ValueError, match="multiples of 32"):
        CSTrackTracker(model, input_size=(200, 320))


def test_detections_and_track_embeddings_follow_the_stages_by_hand(scene):
    """Frame 3 (resized to 288x200, so the letterbox scales by 0.96 and pads 22 px left and right),
    re-done with the stage functions: letterbox, features, REN, head, SAAN, float32 decoding, thresholds
    and NMS, the raw embedding at ``floor(centre / 8)`` read before mapping the boxes back; the tracks born
    from it hold those embeddings L2-normalised in float32."""
    _, frames, model, _, _ = scene
    frame = cv2.resize(frames[2], (288, 200), interpolation=cv2.INTER_AREA)
    height, width = model.config.input_size
    boxed = letterbox(frame, (height, width))
    assert boxed.image.shape == (192, 320, 3) and boxed.borders == (0, 0, 22, 22)
    image = image_to_tensor(boxed.image)[None]
    with torch.inference_mode():
        detection, reid = model.reciprocal(model.features(image))
        raw = model.detect(detection)
        embedding_map = model.embeddings(reid)[0]
        anchors = torch.tensor(model.config.anchors)
        decoded = decode_predictions(raw, anchors, model.config.strides)
        assert torch.equal(decoded, model.decode(raw))  # the pure decoding is the head's
    boxes, scores = detect(decoded[0], 0.5, 0.6, 300)
    cols = torch.floor((boxes[:, 0] + boxes[:, 2]) / 16).long().clamp(0, width // 8 - 1)
    rows = torch.floor((boxes[:, 1] + boxes[:, 3]) / 16).long().clamp(0, height // 8 - 1)
    features = np.stack([embedding_map[r, c].numpy() for r, c in zip(rows, cols, strict=True)])
    corners = scale_boxes_to_original(boxes, (height, width), frame.shape[:2])
    tlwh = torch.cat((corners[:, :2], corners[:, 2:] - corners[:, :2]), 1).double().numpy()

    tracker = CSTrackTracker(model)
    found = tracker.detections(frame)
    assert len(found) == len(scores) > 1 and np.all(np.diff(found.scores) <= 0)
    assert np.array_equal(found.boxes, tlwh) and np.array_equal(found.scores, scores.double().numpy())
    assert found.embeddings.dtype == np.float32 and np.array_equal(found.embeddings, features)

    tracker.update(frame)  # no tracks yet: every detection starts one, in NMS order
    unit = features / np.linalg.norm(features, axis=1, keepdims=True)
    table = tracker.association.table
    assert np.array_equal(table.track_id, np.arange(1, len(scores) + 1))
    assert np.array_equal(table.template, unit.astype(np.float64))
    assert np.array_equal(table.tlwh, tlwh)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_precision_runs_with_float32_decoding(scene, dtype):
    _, frames, _, weights, _ = scene
    precision = {torch.bfloat16: "bf16", torch.float16: "fp16"}[dtype]
    tracker = cstrack_factory(weights, dtype=precision, output_filter=False)(30)
    assert next(tracker.model.parameters()).dtype == dtype
    found = tracker.detections(frames[0])
    assert len(found) > 0 and found.embeddings.dtype == np.float32 and found.boxes.dtype == np.float64
    tracks = track_all(tracker, frames[:3])
    assert len(tracks[2]) > 0 and tracks[2].ids.min() >= 1


def test_factory_settings(scene):
    _, _, _, weights, _ = scene
    tracker = cstrack_factory(weights, input_size=(160, 256), benchmark="MOT17", conf_threshold=0.6)(25)
    assert tracker.input_size == (160, 256) and tracker.association.max_time_lost == 25
    assert tracker.config.output_filter and tracker.config.conf_threshold == 0.6
    default = cstrack_factory(weights)(30)
    # the original writes through its pedestrian filter on every input, benchmark or not
    assert default.config.output_filter and default.config.conf_threshold == 0.5
    assert default.config.embedding_threshold == 0.4 and default.config.iou_threshold == 0.5
    unfiltered = cstrack_factory(weights, benchmark="MOT17", output_filter=False)(30)
    assert not unfiltered.config.output_filter


# --------------------------------------------------------------------------------------------------
# discmot track --model cstrack


def test_cli_writes_the_rows_of_the_api(scene, tmp_path, capsys):
    folder, frames, model, weights, _ = scene
    out, video = tmp_path / "cli.txt", tmp_path / "cli.mp4"
    argv = ["track", str(folder), "--model", "cstrack", "--weights", str(weights), "--no-output-filter"]
    status = main([*argv, "--save-txt", str(out), "--save-video", str(video)])
    assert status == 0 and f"{folder.name}: {FRAMES} frames" in capsys.readouterr().out
    tracker = CSTrackTracker(model, frame_rate=30, config=UNFILTERED)  # the seqinfo.ini frame rate
    tracks = track_all(tracker, frames)
    # the original's rows: frame, id, the unrounded Kalman box, confidence 1, in the tracker's order
    expected = "".join(
        f"{k + 1},{i},{x!r},{y!r},{w!r},{h!r},1,-1,-1,-1\n"
        for k, t in enumerate(tracks)
        for i, (x, y, w, h) in zip(t.ids.tolist(), t.boxes.tolist(), strict=True)
    )
    assert out.read_text() == expected and out.stat().st_size > 0
    assert open_source(video).num_frames == FRAMES

    split = tmp_path / "split"
    summaries = discmot.track(
        folder.parent, model="cstrack", weights=weights, split_out=split, output_filter=False
    )
    assert list(summaries) == [folder.name]
    split_result = split / "cstrack" / "data" / f"{folder.name}.txt"
    assert split_result.read_text() == out.read_text()

    # by default the original's pedestrian filter drops boxes of area <= 100 or w/h > 0.6 from the file
    filtered = tmp_path / "filtered.txt"
    assert main([*argv[:-1], "--save-txt", str(filtered)]) == 0
    kept = [
        line
        for line in expected.splitlines(keepends=True)
        if (lambda w, h: w * h > 100 and not w / h > 0.6)(*map(float, line.split(",")[4:6]))
    ]
    assert len(kept) < len(expected.splitlines()) and filtered.read_text() == "".join(kept)


def fdta_file(root, suffix: str):
    from discmot.models.fdta.checkpoint import save_fdta
    from discmot.models.fdta.model import build_fdta

    path = root / f"fdta{suffix}"
    if not path.exists():
        model = build_fdta("tiny")
        if suffix == ".safetensors":
            save_fdta(path, model)
        else:
            torch.save({"model": model.state_dict()}, path)
    return path


@pytest.mark.parametrize(
    "argv, words",
    [
        (
            ["--weights", "{fdta.safetensors}"],
            'an FDTA checkpoint, not CSTrack weights (give --model fdta; in Python load_model("fdta", ...))',
        ),
        (["--weights", "{fdta.pth}"], "an FDTA checkpoint, not CSTrack weights"),
        ([], "--model cstrack needs --weights"),
        ([], "the demo's tiny one (trained on synthetic scenes only): --weights bundled"),
        (["--weights", "{tmp}/missing.pt"], "missing.pt"),
        (["--weights", "{cstrack}", "--detections", "d.txt"], "detects for itself"),
        (["--weights", "{cstrack}", "--input-size", "100x320"], "multiples of 32"),
        (["--weights", "{tmp}/missing.pt", "--input-size", "100x320"], "--input-size): CSTrack's"),  # first
    ],
)
def test_cli_bad_input_is_one_line(scene, tmp_path, capsys, argv, words):
    folder, _, _, weights, root = scene
    names = {
        "{fdta.safetensors}": lambda: str(fdta_file(root, ".safetensors")),
        "{fdta.pth}": lambda: str(fdta_file(root, ".pth")),
        "{cstrack}": lambda: str(weights),
    }
    argv = [names[a]() if a in names else a.format(tmp=tmp_path) for a in argv]
    status = main(["track", str(folder), "--model", "cstrack", *argv])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and err.startswith("discmot: error: ") and words in err
