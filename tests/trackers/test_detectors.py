"""Detector and embedder plug-ins: parity with the shared YOLOX/OSNet outputs, loaders, and bad input.

The parity references were made outside discmot from ``vtest.avi`` (= MOT15 PETS09-S2L1):
``det_yolox_nano.txt`` (YOLOX-nano, letterbox 416, score >= 0.1, NMS 0.45, two decimals printed) and
``det_yolox_nano_osnet.npy`` (the same rows + L2-normalised OSNet-x0.25 embeddings).
"""

from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest
import torch
from onnx_builder import channel_mean_model

from discmot.io.mot import MotFormatError
from discmot.ops.boxes import box_iou
from discmot.structures import Detections, tlwh_to_tlbr
from discmot.trackers.detectors import (
    MISSING_ONNXRUNTIME,
    OnnxReidEmbedder,
    OnnxRuntimeMissingError,
    PrecomputedDetections,
    YoloxDetector,
    load_precomputed,
)
from discmot.trackers.detectors.frames import check_bgr_frame
from discmot.trackers.detectors.reid import IMAGENET_MEAN, IMAGENET_STD
from helpers import require_module, require_opencv_5, shared_file

require_module("onnxruntime")  # every detector and embedder here runs an ONNX model

PETS = "data/mot/MOT15/train/PETS09-S2L1/det"
YOLOX = "assets/weights/yolox_nano.onnx"
OSNET = "assets/weights/osnet_x0_25_msmt17.onnx"
PARITY_FRAMES = (1, 100, 400)


@pytest.fixture(scope="module")
def vtest_frames() -> dict[int, np.ndarray]:
    """Frames 1, 100 and 400 of vtest.avi (decoded in order: seeking an AVI is not frame-exact)."""
    capture = cv2.VideoCapture(str(shared_file("assets/videos/vtest.avi")))
    frames = {}
    for number in range(1, max(PARITY_FRAMES) + 1):
        if number in PARITY_FRAMES:
            ok, frames[number] = capture.read()
        else:
            ok = capture.grab()  # no conversion to BGR for frames we skip
        assert ok, f"vtest.avi ended before frame {number}"
    capture.release()
    return frames


@pytest.fixture(scope="module")
def reference_rows() -> np.ndarray:
    """The shared npy: ``(N, 7 + 512)`` rows = det columns + OSNet embedding."""
    return np.load(shared_file(f"{PETS}/det_yolox_nano_osnet.npy"))


@pytest.fixture(scope="module")
def yolox_low_conf() -> YoloxDetector:
    return YoloxDetector(shared_file(YOLOX), conf=0.1)


@pytest.fixture(scope="module")
def osnet() -> OnnxReidEmbedder:
    return OnnxReidEmbedder(shared_file(OSNET))


def match_reference(ours: Detections, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each reference row, the index of our best-overlapping box and that IoU."""
    iou = box_iou(tlwh_to_tlbr(reference[:, 2:6]), tlwh_to_tlbr(ours.boxes))
    return iou.argmax(axis=1), iou.max(axis=1)


# --------------------------------------------------------------------------------------------------
# YOLOX parity


@pytest.mark.parametrize("frame", PARITY_FRAMES)
def test_yolox_reproduces_shared_detections(frame, vtest_frames, reference_rows, yolox_low_conf):
    require_opencv_5("the shared detections' frames (vtest.avi decoded)")
    detections = yolox_low_conf(vtest_frames[frame])
    reference = reference_rows[reference_rows[:, 0] == frame]
    assert len(detections) == len(reference)
    match, iou = match_reference(detections, reference)
    assert iou.min() > 0.995
    # The file prints two decimals (coordinates) and five (scores).
    np.testing.assert_allclose(detections.boxes[match], reference[:, 2:6], atol=0.006)
    np.testing.assert_allclose(detections.scores[match], reference[:, 6], atol=1e-5)
    assert detections.embeddings is None
    assert detections.classes.tolist() == [0] * len(detections)
    assert np.all(np.diff(detections.scores) <= 0)


def test_yolox_default_threshold_keeps_confident_rows(vtest_frames, reference_rows):
    detector = YoloxDetector(shared_file(YOLOX))
    assert detector.conf_threshold == 0.3 and detector.input_size == (416, 416)
    detections = detector(vtest_frames[100])
    reference = reference_rows[(reference_rows[:, 0] == 100) & (reference_rows[:, 6] >= 0.3)]
    assert len(detections) == len(reference)
    assert match_reference(detections, reference)[1].min() > 0.995


def test_yolox_boxes_are_clipped_to_the_frame(yolox_low_conf, vtest_frames):
    frame = vtest_frames[400]
    boxes = tlwh_to_tlbr(yolox_low_conf(frame).boxes)
    assert boxes.min() >= 0
    assert boxes[:, 2].max() <= frame.shape[1] and boxes[:, 3].max() <= frame.shape[0]


def test_yolox_all_classes_and_blank_frame():
    detector = YoloxDetector(shared_file(YOLOX), classes=None)
    assert detector.num_classes == 80
    blank = detector(np.full((240, 320, 3), 114, np.uint8))
    assert len(blank) == 0 and blank.boxes.shape == (0, 4)


# --------------------------------------------------------------------------------------------------
# OSNet parity and the embedder contract


@pytest.mark.parametrize("frame", PARITY_FRAMES)
def test_osnet_reproduces_shared_embeddings(frame, vtest_frames, reference_rows, yolox_low_conf, osnet):
    image = vtest_frames[frame]
    reference = reference_rows[reference_rows[:, 0] == frame]
    # Our unrounded boxes are what the reference embedded; the printed boxes differ by < 0.005 px.
    detections = yolox_low_conf(image)
    match, _ = match_reference(detections, reference)
    embeddings = osnet(image, detections.boxes[match])
    assert embeddings.shape == (len(reference), 512) and embeddings.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1, atol=1e-5)
    assert np.sum(embeddings * reference[:, 7:], axis=1).min() > 0.9999
    # From the printed boxes a corner at exactly .5 may round to the other pixel: still close.
    from_file_boxes = osnet(image, reference[:, 2:6])
    assert np.sum(from_file_boxes * reference[:, 7:], axis=1).min() > 0.98


def test_embedder_edge_cases(osnet, vtest_frames):
    image = vtest_frames[1]
    boxes = np.array([[-10.0, -10.0, 20.0, 40.0], [760.0, 500.0, 40.0, 100.0], [2000.0, 10.0, 30.0, 60.0]])
    embeddings = osnet(image, boxes)
    np.testing.assert_allclose(np.linalg.norm(embeddings[:2], axis=1), 1, atol=1e-5)
    assert not embeddings[2].any(), "a box outside the frame gets the zero vector"
    assert osnet(image, np.zeros((0, 4))).shape == (0, 512)
    with_embeddings = osnet.embed_detections(image, Detections(boxes[:2], np.ones(2)))
    np.testing.assert_array_equal(with_embeddings.embeddings, embeddings[:2])


@pytest.mark.parametrize(("batch_dim", "batch_size"), [("batch", 1), ("batch", 2), ("batch", 64), (2, 64)])
def test_embedder_batches_give_the_same_vectors(tmp_path, batch_dim, batch_size):
    """Dynamic batch (chunks of ``batch_size``) and fixed batch 2 (last chunk padded) agree exactly."""
    model = channel_mean_model(tmp_path / "mean.onnx", [batch_dim, 3, 16, 8], [batch_dim, 3])
    embedder = OnnxReidEmbedder(model, batch_size=batch_size)
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, size=(60, 80, 3), dtype=np.uint8)
    boxes = np.column_stack([rng.uniform(0, 60, (5, 2)), rng.uniform(5, 20, (5, 2))])
    together = embedder(frame, boxes)
    one_by_one = np.concatenate([embedder(frame, box[None]) for box in boxes])
    np.testing.assert_allclose(together, one_by_one, rtol=1e-6)


def test_embedder_preprocessing_is_rgb_imagenet(tmp_path):
    """With a channel-mean stand-in model the vector of a one-colour crop can be computed by hand."""
    embedder = OnnxReidEmbedder(channel_mean_model(tmp_path / "mean.onnx", [1, 3, 16, 8], [1, 3]))
    blue, green, red = 200, 30, 90
    frame = np.zeros((40, 40, 3), np.uint8)
    frame[10:30, 10:20] = (blue, green, red)
    expected = (np.array([red, green, blue]) / 255 - IMAGENET_MEAN) / IMAGENET_STD
    embedding = embedder(frame, np.array([[10.0, 10.0, 10.0, 20.0]]))[0]
    np.testing.assert_allclose(embedding, expected / np.linalg.norm(expected), rtol=1e-5)


# --------------------------------------------------------------------------------------------------
# Precomputed detections


def test_precomputed_mot_det_files_group_rows_by_frame():
    for name in ("det.txt", "det_frcnn_sort.txt", "det_yolox_nano.txt"):
        path = shared_file(f"{PETS}/{name}")
        rows = np.loadtxt(path, delimiter=",")
        detections = load_precomputed(path)
        frames, counts = np.unique(rows[:, 0].astype(int), return_counts=True)
        np.testing.assert_array_equal(detections.frames, frames)
        assert detections.num_frames_hint == frames.max() and detections.num_rows == len(rows)
        assert [len(detections[f]) for f in frames] == counts.tolist()
        assert detections[frames[0]].embeddings is None
    first = load_precomputed(shared_file(f"{PETS}/det_yolox_nano.txt"))[1]
    np.testing.assert_allclose(first.boxes[0], [642.84, 239.50, 41.04, 82.95])
    assert first.scores[0] == pytest.approx(0.84895)


def test_precomputed_unsorted_file_and_min_score():
    """MOT17's public det.txt is not sorted by frame; rows of a frame keep their file order."""
    path = shared_file("data/mot/MOT17/train/MOT17-02-FRCNN/det/det.txt")
    rows = np.loadtxt(path, delimiter=",")
    detections = PrecomputedDetections.from_mot(path, min_score=0.5)
    in_frame = rows[(rows[:, 0] == 300) & (rows[:, 6] >= 0.5)]
    np.testing.assert_array_equal(detections[300].boxes, in_frame[:, 2:6])
    assert detections.num_rows == int((rows[:, 6] >= 0.5).sum())


def test_precomputed_npy_has_embeddings():
    path = shared_file("data/mot/MOT17/deepsort_features/MOT17-05-FRCNN.npy")
    rows = np.load(path)
    detections = load_precomputed(path)
    assert detections.embedding_dim == 128
    frames, counts = np.unique(rows[:, 0].astype(int), return_counts=True)
    assert [len(detections[f]) for f in frames] == counts.tolist()
    frame = detections[int(frames[0])]
    assert frame.embeddings.dtype == np.float32 and frame.embeddings.shape == (counts[0], 128)
    np.testing.assert_allclose(frame.embeddings, rows[rows[:, 0] == frames[0], 7:], rtol=1e-6)
    empty = detections[10_000]
    assert len(empty) == 0 and empty.embeddings.shape == (0, 128)


# --------------------------------------------------------------------------------------------------
# Bad input


def test_missing_model_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.onnx: ONNX model file not found"):
        YoloxDetector(tmp_path / "nope.onnx")


def test_wrong_model_kind_names_file_and_shapes():
    with pytest.raises(
        ValueError, match=r"osnet_x0_25_msmt17.onnx: not a YOLOX model.*\[1, 3, 256, 128\]"
    ) as error:
        YoloxDetector(shared_file(OSNET))
    assert "\n" not in str(error.value)
    with pytest.raises(
        ValueError, match=r"yolox_nano.onnx: not a re-identification model.*\[1, 3, 416, 416\]"
    ):
        OnnxReidEmbedder(shared_file(YOLOX))


def test_not_an_onnx_file(tmp_path):
    fake = tmp_path / "weights.onnx"
    fake.write_text("this is not a model")
    with pytest.raises(ValueError, match="weights.onnx: not a loadable ONNX model"):
        OnnxReidEmbedder(fake)


def test_onnxruntime_missing(monkeypatch):
    """Simulates the optional extra being absent: a None entry makes ``import onnxruntime`` fail."""
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(OnnxRuntimeMissingError, match=r"pip install 'discmot\[onnx\]'") as error:
        YoloxDetector(shared_file(YOLOX))
    assert isinstance(error.value, ImportError) and str(error.value) == MISSING_ONNXRUNTIME


def test_bad_device_and_options(tmp_path):
    model = shared_file(YOLOX)
    with pytest.raises(ValueError, match="device must be"):
        YoloxDetector(model, device="tpu")
    onnxruntime = pytest.importorskip("onnxruntime")
    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        with pytest.raises(RuntimeError, match="needs onnxruntime with CUDA"):
            YoloxDetector(model, device="cuda")
    with pytest.raises(ValueError, match=r"classes must be ids in 0\.\.79"):
        YoloxDetector(model, classes=(80,))
    with pytest.raises(ValueError, match="differs from the model's input"):
        YoloxDetector(model, input_size=(320, 320))
    with pytest.raises(ValueError, match=r"expected an \(H, W, 3\) uint8 BGR frame"):
        YoloxDetector(model)(np.zeros((10, 10), np.float32))


def test_det_file_with_bad_rows(tmp_path):
    good = "1,-1,10,20,30,40,0.9\n2,-1,10,20,30,40,0.8\n"
    cases = {
        "text.txt": (good + "3,-1,abc,20,30,40,0.7\n", r"text.txt:3: column 3 is not a number"),
        "width.txt": (good + "3,-1,10,20,0,40,0.7\n", r"width.txt:3: box width and height must be > 0"),
        "frame.txt": ("0,-1,10,20,30,40,0.7\n", r"frame.txt:1: frame 0 is not a frame number"),
        "columns.txt": ("1,-1,10,20,30,40\n", r"columns.txt:1: has 6 columns, at least 7"),
        "ragged.txt": (good + "3,-1,10,20,30\n", r"ragged.txt:3: has 5 columns, line 1 has 7"),
    }
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(MotFormatError, match=message):
            load_precomputed(tmp_path / name)


def test_npy_with_bad_content(tmp_path):
    np.save(tmp_path / "seven.npy", np.ones((3, 7)))
    with pytest.raises(MotFormatError, match=r"seven.npy: expected .*more than 7 columns.*\(3, 7\)"):
        load_precomputed(tmp_path / "seven.npy")
    rows = np.ones((3, 10))
    rows[2, 8] = np.nan
    np.save(tmp_path / "nan.npy", rows)
    with pytest.raises(MotFormatError, match=r"nan.npy: row 2 \(0-based\): column 9 is nan"):
        load_precomputed(tmp_path / "nan.npy")
    mot_rows = np.array([[1, -1, 10, 20, 30, 40, 0.9, -1, -1, -1]] * 2)  # a det.txt saved as .npy
    np.save(tmp_path / "mot.npy", mot_rows)
    with pytest.raises(MotFormatError, match="mot.npy: columns 8-10 are MOTChallenge's -1 placeholders"):
        load_precomputed(tmp_path / "mot.npy")
    mot_rows[1, 9] = 0.5  # a 3-d feature that happens to start with -1s is a feature
    np.save(tmp_path / "three.npy", mot_rows)
    assert load_precomputed(tmp_path / "three.npy").embedding_dim == 3
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(MotFormatError, match="objects.npy: not a readable .npy array"):
        load_precomputed(tmp_path / "objects.npy")
    (tmp_path / "det.csv").write_text("1,-1,10,20,30,40,0.9\n")
    with pytest.raises(MotFormatError, match="det.csv: expected a MOTChallenge det .txt or a .npy"):
        load_precomputed(tmp_path / "det.csv")


@pytest.mark.parametrize(
    "frame, hint",
    [
        (np.zeros((48, 64), np.uint8), "cv2.COLOR_GRAY2BGR"),
        (np.zeros((48, 64, 4), np.uint8), "cv2.COLOR_BGRA2BGR"),
        (np.zeros((3, 48, 64), np.uint8), "frame.transpose(1, 2, 0)"),
        (np.zeros((48, 64, 3), np.float32), "astype(np.uint8)"),
        (torch.zeros(48, 64, 3, dtype=torch.uint8), "frame.numpy()"),
    ],
)
def test_a_frame_in_another_format_is_refused_with_its_conversion(frame, hint):
    with pytest.raises((TypeError, ValueError), match=r"expected an \(H, W, 3\) uint8 BGR frame") as raised:
        check_bgr_frame(frame)
    assert hint in str(raised.value)
