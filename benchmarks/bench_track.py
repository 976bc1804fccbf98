"""Tracking real footage end to end: `discmot track` on the shared video and on MOT17-05.

1. ``discmot track vtest.avi --detector yolox_nano.onnx --reid osnet_x0_25_msmt17.onnx`` (the whole
   795-frame PETS09-S2L1 clip: decoding, YOLOX-nano, OSNet for every box, association, results and an
   H.264 video), timed as a child process, then scored with ``discmot.evaluate`` (MOT15 preset) against
   the PETS09-S2L1 gt. Targets: IDF1 and MOTA >= 0.70, under 3 minutes on 2 cores.
2. ``discmot track MOT17-05-FRCNN --detections <public FRCNN detections + DeepSORT 128-d features>``,
   scored with the MOT17 preset beside DeepSORT's own result on the same detections and features (from
   the shared TrackEval reference). Target: higher HOTA.
Peer numbers for the video are the shared README's (trackeval 1.3.0 scores on the same detections).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import benchlib

NAME = "track"
TITLE = "Tracking real footage: `discmot track` with ONNX models and with public detections"
SHARED = Path(os.environ.get("DISCMOT_SHARED", benchlib.REPO_ROOT.parent / "shared"))
PETS_PEERS = [
    ("roboflow trackers C-BIoU", 0.525, 0.793, 0.699),
    ("ByteTrack", 0.498, 0.651, 0.648),
    ("SORT", 0.469, 0.645, 0.613),
]


def score(results: Path, sequence: Path, benchmark: str, work: Path) -> dict:
    """COMBINED metrics of one result file against the shared sequence's gt (TrackEval layout in ``work``)."""
    import discmot

    gt = work / "gt" / f"{benchmark}-train"
    gt.mkdir(parents=True)
    (gt / sequence.name).symlink_to(sequence)
    data = work / "trackers" / f"{benchmark}-train" / "discmot" / "data"
    data.mkdir(parents=True)
    (data / f"{sequence.name}.txt").write_bytes(results.read_bytes())
    (work / "seqmap.txt").write_text(f"name\n{sequence.name}\n")
    res = discmot.evaluate(
        work / "gt", work / "trackers", benchmark=benchmark, seqmap=work / "seqmap.txt", write_summaries=False
    )["discmot"]["COMBINED"]
    return {
        "HOTA": float(res["HOTA"]["HOTA"].mean()),
        "MOTA": res["CLEAR"]["MOTA"],
        "IDF1": res["Identity"]["IDF1"],
        "IDSW": res["CLEAR"]["IDSW"],
    }


def run(quick: bool) -> benchlib.BenchResult:
    pets = SHARED / "data/mot/MOT15/train/PETS09-S2L1"
    mot17 = SHARED / "data/mot/MOT17/train/MOT17-05-FRCNN"
    weights = SHARED / "assets/weights"
    with tempfile.TemporaryDirectory(prefix="bench-track-") as tmp:
        work = Path(tmp)
        seconds = benchlib.run_discmot(
            "track",
            str(SHARED / "assets/videos/vtest.avi"),
            "--detector",
            str(weights / "yolox_nano.onnx"),
            "--reid",
            str(weights / "osnet_x0_25_msmt17.onnx"),
            "--save-txt",
            str(work / "vtest.txt"),
            "--save-video",
            str(work / "vtest.mp4"),
        )
        video = score(work / "vtest.txt", pets, "MOT15", work / "pets")
        public_seconds = benchlib.run_discmot(
            "track",
            str(mot17),
            "--detections",
            str(SHARED / "data/mot/MOT17/deepsort_features/MOT17-05-FRCNN.npy"),
            "--save-txt",
            str(work / "m17.txt"),
        )
        public = score(work / "m17.txt", mot17, "MOT17", work / "m17")
    reference = json.loads((SHARED / "data/evaldata/REFERENCE_trackeval.json").read_text())
    deepsort = reference["benchmarks"]["MOT17"]["trackers"]["DeepSORT"]["MOT17-05-FRCNN"]
    rows = [
        [
            "PETS09-S2L1 video, discmot (YOLOX-nano + OSNet, onnx preset)",
            f"{video['HOTA']:.3f}",
            f"{video['MOTA']:.3f}",
            f"{video['IDF1']:.3f}",
            video["IDSW"],
            f"{seconds:.1f} s (795 frames)",
        ]
    ]
    rows += [
        [f"PETS09-S2L1, {name} (shared README)", f"{h:.3f}", f"{m:.3f}", f"{i:.3f}", "", ""]
        for name, h, m, i in PETS_PEERS
    ]
    rows.append(
        [
            "MOT17-05, discmot (public FRCNN + DeepSORT features, public preset)",
            f"{public['HOTA']:.3f}",
            f"{public['MOTA']:.3f}",
            f"{public['IDF1']:.3f}",
            public["IDSW"],
            f"{public_seconds:.1f} s",
        ]
    )
    rows.append(
        [
            "MOT17-05, DeepSORT (same detections and features)",
            f"{deepsort['HOTA_summary']['HOTA']:.3f}",
            f"{deepsort['CLEAR']['MOTA']:.3f}",
            f"{deepsort['Identity']['IDF1']:.3f}",
            deepsort["CLEAR"]["IDSW"],
            "",
        ]
    )
    table = benchlib.markdown_table(["run", "HOTA", "MOTA", "IDF1", "IDSW", "whole process"], rows)
    met_video = video["IDF1"] >= 0.70 and video["MOTA"] >= 0.70 and seconds < 180
    met_public = public["HOTA"] > deepsort["HOTA_summary"]["HOTA"]
    notes = [
        f"Targets: PETS09 IDF1 and MOTA >= 0.70 in under 3 minutes: {'met' if met_video else 'not met'}; "
        f"MOT17-05 HOTA above DeepSORT's: {'met' if met_public else 'not met'}.",
        "Whole process: `python -m discmot track ...` as a child process (decode, detect, embed, associate, "
        "write results, and for the video an annotated H.264 MP4), wall clock, default onnxruntime threads.",
        "Scores: `discmot.evaluate` (TrackEval-exact), MOT15 preset for PETS09-S2L1, MOT17 for MOT17-05.",
    ]
    return benchlib.BenchResult(
        NAME,
        TITLE,
        table,
        notes,
        benchlib.machine_info(("numpy", "onnxruntime", "av")),
        {"video": video, "public": public, "seconds": seconds},
    )
