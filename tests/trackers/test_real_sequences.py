"""Acceptance on real footage: the JDE cascade with real detections and appearance features.

Both runs use precomputed detections from the shared folder (so they take about a second):
* PETS09-S2L1 (MOT15, = ``vtest.avi``) with YOLOX-nano boxes and OSNet embeddings: IDF1 and MOTA >= 0.70
  (a bare IoU tracker on the same detections gets 0.38 / 0.60);
* MOT17-05 with the public FRCNN detections and DeepSORT's 128-d features: HOTA above DeepSORT's 0.474
  on the very same detections and features.
The full pipeline with the ONNX models on the video is the slow test in tests/engine.
"""

from __future__ import annotations

import numpy as np
import pytest

import discmot
from discmot.io.mot_results import write_mot_results
from discmot.io.seqinfo import read_seqinfo
from discmot.structures import Detections
from discmot.trackers.association import JDETracker, JDETrackerConfig

DEEPSORT_MOT17_05_HOTA = 0.4737863311096391  # shared REFERENCE_trackeval.json, DeepSORT on MOT17-05-FRCNN


def track_npy(npy_path, seqinfo_path, config: JDETrackerConfig) -> np.ndarray:
    """Tracks a sequence whose detections+features are rows ``frame,id,x,y,w,h,score,feature...``."""
    rows = np.load(npy_path)
    frames = rows[:, 0].astype(int)
    info = read_seqinfo(seqinfo_path)
    tracker = JDETracker(config, frame_rate=info.frame_rate)
    out = []
    for f in range(1, info.length + 1):
        sel = rows[frames == f]
        detections = Detections(sel[:, 2:6].copy(), sel[:, 6].copy(), sel[:, 7:].astype(np.float32))
        tracks = tracker.update(detections)
        out += [(f, i, *box) for i, box in zip(tracks.ids, tracks.boxes, strict=True)]
    return np.array(out)


def score(tmp_path, sequence_folder, results, benchmark):
    """TrackEval-exact COMBINED metrics of ``results`` against the sequence's gt."""
    sequence = sequence_folder.name
    trackers = tmp_path / "trackers" / f"{benchmark}-train" / "jde" / "data"
    trackers.mkdir(parents=True)
    write_mot_results(trackers / f"{sequence}.txt", results[:, 0], results[:, 1], results[:, 2:6])
    gt_split = tmp_path / "gt" / f"{benchmark}-train"
    gt_split.mkdir(parents=True)
    (gt_split / sequence).symlink_to(sequence_folder)
    seqmap = tmp_path / "seqmap.txt"
    seqmap.write_text(f"name\n{sequence}\n")
    res = discmot.evaluate(
        tmp_path / "gt", tmp_path / "trackers", benchmark=benchmark, seqmap=seqmap, write_summaries=False
    )
    return res["jde"]["COMBINED"]


def test_pets09_with_yolox_and_osnet(tmp_path, shared_file):
    folder = shared_file("data/mot/MOT15/train/PETS09-S2L1")
    results = track_npy(
        folder / "det" / "det_yolox_nano_osnet.npy", folder / "seqinfo.ini", JDETrackerConfig.preset("onnx")
    )
    combined = score(tmp_path, folder, results, "MOT15")
    assert combined["Identity"]["IDF1"] >= 0.70
    assert combined["CLEAR"]["MOTA"] >= 0.70


def test_mot17_05_beats_deepsort_on_the_same_detections_and_features(tmp_path, shared_file):
    npy = shared_file("data/mot/MOT17/deepsort_features/MOT17-05-FRCNN.npy")
    folder = shared_file("data/mot/MOT17/train/MOT17-05-FRCNN")
    results = track_npy(npy, folder / "seqinfo.ini", JDETrackerConfig.preset("public"))
    combined = score(tmp_path, folder, results, "MOT17")
    assert float(np.mean(combined["HOTA"]["HOTA"])) > DEEPSORT_MOT17_05_HOTA


def test_unknown_preset_is_an_error():
    with pytest.raises(ValueError, match="unknown tracker preset"):
        JDETrackerConfig.preset("nope")
