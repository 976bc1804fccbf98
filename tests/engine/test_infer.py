"""Contracts of the tracking loop (`discmot.engine.infer`, ``discmot track``).

On tiny synthetic sequences whose detections are their ground truth: results have 1-based frames and
score as `discmot.evaluate` expects, a video comes out, an undecodable frame is skipped while tracking goes
on, images are optional with precomputed detections, a split is written in TrackEval's layout, and bad
input gives one clear line. The stand-in tracker below (greedy IoU, defined here only) keeps these tests
independent of the real trackers; the CLI tests use the real JDE tracker.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import discmot
from discmot.cli import main
from discmot.data.synth import generate_dataset
from discmot.engine.demo import bundled_weights
from discmot.engine.infer import find_sequences, is_split_folder, track_source, track_split
from discmot.engine.track_verb import track
from discmot.io.mot import read_mot_table
from discmot.io.video import FrameSource, VideoWriter, open_source
from discmot.structures import Detections, Tracks, tlwh_to_tlbr
from helpers import shared_file


class IouStandIn:
    """Greedy IoU tracker: a detection continues the previous frame's best-overlapping track (IoU > 0.3)."""

    def __init__(self, frame_rate: float = 30.0):
        self.frame_rate = frame_rate
        self.reset()

    def reset(self) -> None:
        self.previous = Tracks.empty()
        self.next_id = 1
        self.seen_embeddings: list[np.ndarray | None] = []

    def update(self, detections: Detections, frame: np.ndarray | None = None) -> Tracks:
        self.seen_embeddings.append(detections.embeddings)
        ids = np.zeros(len(detections), np.int64)
        free = set(range(len(self.previous)))
        overlaps = iou(detections.boxes, self.previous.boxes)
        for k in np.argsort(-detections.scores, kind="stable"):
            best = max(free, key=lambda j: overlaps[k, j], default=None)
            if best is not None and overlaps[k, best] > 0.3:
                ids[k] = self.previous.ids[best]
                free.discard(best)
            else:
                ids[k], self.next_id = self.next_id, self.next_id + 1
        self.previous = Tracks(ids, detections.boxes.copy(), detections.scores.copy())
        return self.previous


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = tlwh_to_tlbr(a.reshape(-1, 4))[:, None], tlwh_to_tlbr(b.reshape(-1, 4))[None]
    inter = np.clip(np.minimum(a[..., 2:], b[..., 2:]) - np.maximum(a[..., :2], b[..., :2]), 0, None).prod(-1)
    area = lambda boxes: (boxes[..., 2:] - boxes[..., :2]).prod(-1)  # noqa: E731
    return inter / (area(a) + area(b) - inter)


class TableDetections:
    """Precomputed detections from a MOT det file (the `FrameDetections` protocol), test-side."""

    def __init__(self, path: Path):
        values = read_mot_table(path).values
        self.by_frame = {int(f): values[values[:, 0] == f] for f in np.unique(values[:, 0])}
        self.num_frames_hint = max(self.by_frame)

    def __getitem__(self, frame_number: int) -> Detections:
        rows = self.by_frame.get(frame_number, np.zeros((0, 7)))
        return Detections(rows[:, 2:6].copy(), rows[:, 6].copy())


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """A tiny two-sequence dataset root whose ``det/det.txt`` are the gt boxes (id -1, score 1)."""
    root = tmp_path_factory.mktemp("tiny")
    for folder in generate_dataset(root, "tiny", sequences=2):
        gt = read_mot_table(folder / "gt" / "gt.txt").values
        (folder / "det").mkdir()
        rows = [f"{int(r[0])},-1,{r[2]:g},{r[3]:g},{r[4]:g},{r[5]:g},1,-1,-1,-1\n" for r in gt]
        (folder / "det" / "det.txt").write_text("".join(rows))
    return root


def sequences(root: Path) -> list[Path]:
    return sorted((root / "train").iterdir())


def copy_sequence(folder: Path, target: Path, images: bool = True) -> Path:
    ignore = None if images else shutil.ignore_patterns("img1", "depth")
    return Path(shutil.copytree(folder, target / folder.name, ignore=ignore))


def results_of(path: Path) -> np.ndarray:
    return read_mot_table(path).values


# --------------------------------------------------------------------------------------------------
# track_source


def test_results_have_one_based_frames_and_score_perfectly(dataset, tmp_path):
    for folder in sequences(dataset):
        summary = track_source(
            folder,
            IouStandIn(),
            detections=TableDetections(folder / "det" / "det.txt"),
            save_txt=tmp_path / "results" / f"{folder.name}.txt",
            progress=False,
        )
        assert summary["frames"] == 12 and summary["skipped"] == [] and summary["ids"] >= 4
        rows = results_of(tmp_path / "results" / f"{folder.name}.txt")
        gt = results_of(folder / "gt" / "gt.txt")
        assert rows.shape[1] == 10 and summary["rows"] == len(rows) == len(gt)
        assert rows[:, 0].min() == 1 and rows[:, 0].max() == 12
        assert np.allclose(np.sort(rows[:, 2:6], axis=0), np.sort(gt[:, 2:6], axis=0))
    scores = discmot.evaluate(dataset, tmp_path / "results", split="train", write_summaries=False)
    combined = scores["results"]["COMBINED"]
    # gt boxes on the right frames: every gt box is matched, only the stand-in's id switches cost
    assert combined["CLEAR"]["CLR_FN"] == combined["CLEAR"]["CLR_FP"] == 0
    assert combined["CLEAR"]["MOTA"] > 0.8


def test_annotated_video_is_written(dataset, tmp_path):
    folder = sequences(dataset)[0]
    summary = track_source(
        folder,
        IouStandIn(),
        detections=TableDetections(folder / "det" / "det.txt"),
        save_video=tmp_path / "out.mp4",
        progress=False,
    )
    assert summary["save_video"] == str(tmp_path / "out.mp4") and summary["save_txt"] is None
    written = open_source(tmp_path / "out.mp4")
    assert (written.num_frames, written.size, written.fps) == (12, (128, 80), 10.0)


def test_a_corrupt_frame_is_skipped_and_tracking_goes_on(dataset, tmp_path, caplog):
    folder = copy_sequence(sequences(dataset)[0], tmp_path)
    image = next(p for p in (folder / "img1").iterdir() if int(p.stem) == 5)
    image.write_bytes(image.read_bytes()[:300])
    tracker = IouStandIn()
    with caplog.at_level(logging.WARNING):
        summary = track_source(
            folder,
            tracker,
            detections=TableDetections(folder / "det" / "det.txt"),
            save_txt=tmp_path / "out.txt",
            progress=False,
        )
    assert summary["skipped"] == [5] and summary["frames"] == 11 and len(tracker.seen_embeddings) == 11
    assert any(f"{image}: frame 5" in r.getMessage() for r in caplog.records)
    frames = set(results_of(tmp_path / "out.txt")[:, 0].astype(int))
    assert frames == set(range(1, 13)) - {5}


def test_images_are_optional_with_precomputed_detections(dataset, tmp_path):
    original = sequences(dataset)[0]
    bare = copy_sequence(original, tmp_path / "bare", images=False)
    assert not (bare / "img1").exists()
    for folder, out in ((original, "with.txt"), (bare, "without.txt")):
        track_source(
            folder,
            IouStandIn(),
            detections=TableDetections(folder / "det" / "det.txt"),
            save_txt=tmp_path / out,
            progress=False,
        )
    assert (tmp_path / "with.txt").read_bytes() == (tmp_path / "without.txt").read_bytes()


def test_detector_and_embedder_feed_the_tracker(dataset, tmp_path):
    folder = sequences(dataset)[0]
    table = TableDetections(folder / "det" / "det.txt")
    calls = []

    def detect(frame):
        calls.append(frame.shape)
        return table[len(calls)]

    def embed(frame, boxes):
        return np.tile(boxes[:, :1], (1, 8)).astype(np.float64)

    tracker = IouStandIn()
    summary = track_source(
        folder, tracker, detect=detect, embed=embed, save_txt=tmp_path / "out.txt", progress=False
    )
    assert calls == [(80, 128, 3)] * 12 and summary["frames"] == 12
    embeddings = [e for e in tracker.seen_embeddings if e is not None]
    assert len(embeddings) == 12 and all(e.dtype == np.float32 and e.shape[1] == 8 for e in embeddings)


def test_min_score_drops_weak_precomputed_detections(dataset, tmp_path):
    folder = sequences(dataset)[0]
    summary = track_source(
        folder,
        IouStandIn(),
        detections=TableDetections(folder / "det" / "det.txt"),
        min_score=2.0,
        progress=False,
    )
    assert summary["rows"] == 0


@pytest.mark.parametrize(
    "options, words",
    [
        ({}, "no detector and no detections"),
        ({"detect": lambda frame: None, "images": False}, "has no images, which the detector needs$"),
        (
            {"save_video": "out.mp4", "images": False, "precomputed": True},
            "has no images, which the video output",
        ),
    ],
)
def test_bad_combinations_raise_clear_errors(dataset, tmp_path, options, words):
    folder = copy_sequence(sequences(dataset)[0], tmp_path, images=options.pop("images", True))
    if options.pop("precomputed", False):
        options["detections"] = TableDetections(folder / "det" / "det.txt")
    with pytest.raises(ValueError, match=words):
        track_source(folder, IouStandIn(), progress=False, **options)


class Camera(FrameSource):
    """A source of unknown length whose user presses Ctrl-C after three frames (or a file, if ``length``)."""

    def __init__(self, length: int | None = None):
        super().__init__("camera9", "camera 9", fps=None, size=(32, 24), num_frames=length)

    def __iter__(self):
        for k in range(1, 4):
            yield k, np.zeros((24, 32, 3), np.uint8)
        raise KeyboardInterrupt


def test_ctrl_c_ends_a_camera_and_keeps_what_was_tracked(tmp_path):
    def detect(frame):
        return Detections(np.array([[2.0, 2, 10, 10]]), np.array([0.9]))

    summary = track_source(
        Camera(), IouStandIn(), detect=detect, save_txt=tmp_path / "cam.txt", save_video=tmp_path / "cam.mp4"
    )
    assert summary["interrupted"] and summary["frames"] == 3
    assert results_of(tmp_path / "cam.txt")[:, :2].tolist() == [[1, 1], [2, 1], [3, 1]]
    assert open_source(tmp_path / "cam.mp4").num_frames == 3


def test_ctrl_c_on_a_file_aborts_without_outputs(tmp_path):
    def detect(frame):
        return Detections.empty()

    with pytest.raises(KeyboardInterrupt):
        track_source(
            Camera(length=10),
            IouStandIn(),
            detect=detect,
            save_txt=tmp_path / "a.txt",
            save_video=tmp_path / "a.mp4",
        )
    assert list(tmp_path.iterdir()) == []


def write_sized_images(folder: Path, sizes: dict[str, tuple[int, int]]) -> None:
    """Black images ``{name: (width, height)}``."""
    import cv2

    folder.mkdir(parents=True)
    for name, (width, height) in sizes.items():
        cv2.imwrite(str(folder / name), np.zeros((height, width, 3), np.uint8))


def test_frames_of_two_sizes_in_one_source_are_named_and_nothing_is_written(tmp_path):
    """The image that differs is named (and the first one), not only the folder: which file to fix."""
    folder = tmp_path / "frames"
    write_sized_images(folder, {"1.jpg": (64, 48), "2.jpg": (80, 60), "3.jpg": (64, 48)})
    expected = f"{folder / '2.jpg'}: frame 2 is 80x60 but the first frame ({folder / '1.jpg'}) is 64x48"
    with pytest.raises(ValueError, match=re.escape(expected)):
        track_source(folder, IouStandIn(), detect=lambda f: Detections.empty(), save_video=tmp_path / "v.mp4")
    assert not (tmp_path / "v.mp4").exists()


def test_a_sequence_image_of_another_size_is_named(tmp_path):
    """In a MOTChallenge sequence folder frame k is the image numbered k (here after a missing frame 1)."""
    sequence = tmp_path / "seq"
    write_sized_images(sequence / "img1", {"000002.jpg": (64, 48), "000003.jpg": (80, 60)})
    (sequence / "seqinfo.ini").write_text("[Sequence]\nname=seq\nimDir=img1\nframeRate=10\nseqLength=3\n")
    first, odd = sequence / "img1" / "000002.jpg", sequence / "img1" / "000003.jpg"
    expected = f"{odd}: frame 3 is 80x60 but the first frame ({first}) is 64x48"
    with pytest.raises(ValueError, match=re.escape(expected)):
        track_source(
            sequence, IouStandIn(), detect=lambda f: Detections.empty(), save_video=tmp_path / "v.mp4"
        )


class TwoSizes(FrameSource):
    """A video whose second frame is larger (no image file to name)."""

    def __init__(self):
        super().__init__("clip", "clip.mp4", fps=10.0, size=(64, 48), num_frames=2)

    def __iter__(self):
        yield 1, np.zeros((48, 64, 3), np.uint8)
        yield 2, np.zeros((60, 80, 3), np.uint8)


def test_a_video_frame_of_another_size_names_the_video():
    with pytest.raises(ValueError, match=r"^clip.mp4: frame 2 is 80x60 but the first frame is 64x48; "):
        track_source(TwoSizes(), IouStandIn(), detect=lambda f: Detections.empty(), save_video="never.mp4")


class Undecodable(FrameSource):
    """A video file none of whose frames decodes (a truncated download): the source skips every one."""

    def __init__(self):
        super().__init__("broken", "broken.mp4", fps=25.0, size=(32, 24), num_frames=5)

    def __iter__(self):
        for k in range(1, 6):
            self._skip(k, "broken.mp4", "cannot be decoded")
        return
        yield


def test_a_video_with_no_decodable_frame_is_an_error_and_writes_nothing(tmp_path):
    with pytest.raises(ValueError, match="broken.mp4: no frame could be decoded, nothing was tracked"):
        track_source(
            Undecodable(),
            IouStandIn(),
            detect=lambda frame: Detections.empty(),
            save_txt=tmp_path / "a.txt",
            save_video=tmp_path / "a.mp4",
        )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "outputs, words",
    [
        ({"save_video": "{source}"}, "--save-video would overwrite the source"),
        ({"save_txt": "{detections}"}, "--save-txt would overwrite the detections"),
        (
            {"save_txt": "{tmp}/r.txt", "save_video": "{tmp}/r.txt"},
            "--save-txt and --save-video name the same",
        ),
        ({"save_video": "{tmp}/r.png"}, "--save-video needs a video file name"),
        ({"save_txt": "{tmp}"}, "--save-txt names a folder"),
        ({"save_txt": "{tmp}/r.avi"}, "--save-txt writes MOT result rows \\(a .txt file\\), not a .avi"),
        ({"save_txt": "{tmp}/weights.onnx"}, "not a .onnx file"),
    ],
)
def test_outputs_that_would_destroy_an_input_or_cannot_be_written_are_refused_first(
    dataset, tmp_path, outputs, words
):
    source = copy_sequence(sequences(dataset)[0], tmp_path / "in")
    detections = source / "det" / "det.txt"
    before = {p: p.read_bytes() for p in source.rglob("*") if p.is_file()}
    paths = {k: v.format(source=source / "img1" / "00000001.jpg", detections=detections, tmp=tmp_path)
             for k, v in outputs.items()}  # fmt: skip
    if "{source}" in outputs.get("save_video", ""):
        source = source / "img1" / "00000001.jpg"  # a single image is a source too
    with pytest.raises(ValueError, match=words):
        track_source(source, IouStandIn(), detections=detections, progress=False, **paths)
    assert {p: p.read_bytes() for p in before} == before
    assert not (tmp_path / "r.txt").exists() and not (tmp_path / "r.png").exists()


def test_results_do_not_replace_a_file_that_is_not_text(dataset, tmp_path):
    source = sequences(dataset)[0]
    blob = tmp_path / "model.bin"
    blob.write_bytes(b"\x89weights\0\0\1")
    with pytest.raises(ValueError, match="model.bin: exists and is not a text file"):
        track_source(
            source, IouStandIn(), detections=source / "det" / "det.txt", save_txt=blob, progress=False
        )
    assert blob.read_bytes() == b"\x89weights\0\0\1"
    old_results = tmp_path / "r.txt"
    old_results.write_text("1,1,0,0,1,1,1,-1,-1,-1\n")  # an earlier run's results: replaced, as always
    track_source(
        source, IouStandIn(), detections=source / "det" / "det.txt", save_txt=old_results, progress=False
    )
    assert old_results.read_text() != "1,1,0,0,1,1,1,-1,-1,-1\n"


# --------------------------------------------------------------------------------------------------
# track_split


@pytest.mark.parametrize(("frame_rate", "same_id"), [(None, True), (29, False)])
def test_a_29_97_fps_video_keeps_lost_tracks_30_frames(tmp_path, frame_rate, same_id):
    """The JDE tracker sees the video's rate rounded, as the original's video loader gives it: an object
    missing from frame 5 to 35 of an NTSC video is found again at frame 36 (kept 30 frames); kept 29
    frames (``frame_rate=29``) it comes back with a new id."""
    video = tmp_path / "ntsc.mp4"
    with VideoWriter(video, 30000 / 1001, (64, 64)) as writer:
        for _ in range(37):
            writer.write(np.zeros((64, 64, 3), np.uint8))
    assert round(open_source(video).fps, 2) == 29.97
    frames = [*range(1, 5), 36, 37]  # present on 1-4, missing 5-35, back on 36-37
    rows = [[f, -1, 10, 10, 20, 40, 0.9, 1.0, 0.0, 0.0, 0.0] for f in frames]
    np.save(tmp_path / "det.npy", np.array(rows))
    out = tmp_path / "ntsc.txt"
    discmot.track(
        video, detections=tmp_path / "det.npy", tracker_preset="onnx", frame_rate=frame_rate, save_txt=out
    )
    ids = {int(frame): int(track) for frame, track in results_of(out)[:, :2]}
    assert ids[2] == 1 and (ids[37] == 1) == same_id


def test_track_split_writes_trackeval_layout_ready_for_eval(dataset, tmp_path):
    rates = []

    def factory(frame_rate):
        rates.append(frame_rate)
        return IouStandIn(frame_rate)

    summaries = track_split(
        dataset / "train", tmp_path / "out", factory, tracker_name="standin", progress=False
    )
    names = [p.name for p in sequences(dataset)]
    assert list(summaries) == names and rates == [10.0, 10.0]
    assert sorted(p.name for p in (tmp_path / "out" / "standin" / "data").iterdir()) == [
        f"{n}.txt" for n in names
    ]
    scores = discmot.evaluate(dataset, tmp_path / "out", split="train", write_summaries=False)
    assert list(scores) == ["standin"] and set(scores["standin"]) == {*names, "COMBINED"}


def test_track_split_flat_layout_and_skipped_sequences(dataset, tmp_path, caplog):
    split = tmp_path / "split"
    first, second = (copy_sequence(folder, split, images=False) for folder in sequences(dataset))
    (second / "det" / "det.txt").rename(second / "det" / "other.txt")
    assert is_split_folder(split) and not is_split_folder(first) and not is_split_folder(tmp_path / "none")
    with caplog.at_level(logging.WARNING):
        summaries = track_split(split, tmp_path / "flat", IouStandIn, layout="flat", progress=False)
    assert list(summaries) == [first.name] and (tmp_path / "flat" / f"{first.name}.txt").is_file()
    assert any(f"{second}: skipped (no det/det.txt)" in r.getMessage() for r in caplog.records)
    assert find_sequences(split, "other.txt") == [second]
    with pytest.raises(ValueError, match="no sequence folders with seqinfo.ini and det/missing.txt"):
        find_sequences(split, "missing.txt")


def test_sequences_without_images_are_skipped_saying_so(dataset, tmp_path, caplog):
    """Looking for images (an end-to-end tracker's split), a sequence without them is skipped as such."""
    split = tmp_path / "split"
    with_images = copy_sequence(sequences(dataset)[0], split)
    without = copy_sequence(sequences(dataset)[1], split, images=False)
    with caplog.at_level(logging.WARNING):
        assert find_sequences(split, None) == [with_images]
    assert [r.getMessage() for r in caplog.records] == [f"{without}: skipped (no images)"]


# --------------------------------------------------------------------------------------------------
# discmot track


def run(argv, capsys) -> tuple[int, str, str]:
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def test_cli_track_with_detections(dataset, tmp_path, capsys):
    folder = sequences(dataset)[0]
    status, out, _ = run(
        [
            "track",
            str(folder),
            "--detections",
            str(folder / "det" / "det.txt"),
            "--save-txt",
            str(tmp_path / "r.txt"),
            "--save-video",
            str(tmp_path / "r.mp4"),
        ],
        capsys,
    )
    assert status == 0 and f"{folder.name}: 12 frames" in out and "results: " in out
    rows = results_of(tmp_path / "r.txt")
    assert rows[:, 0].min() >= 1 and rows[:, 0].max() <= 12 and len(np.unique(rows[:, 1])) >= 4
    assert open_source(tmp_path / "r.mp4").num_frames == 12


def test_max_frames_tracks_the_first_frames_of_one_source_only(dataset, tmp_path, capsys):
    folder = sequences(dataset)[0]  # its det/det.txt is found on its own, as without --max-frames
    status, out, _ = run(
        ["track", str(folder), "--max-frames", "5", "--save-txt", str(tmp_path / "r.txt")], capsys
    )
    assert status == 0 and f"{folder.name}: 5 frames" in out
    assert run(["track", str(folder), "--save-txt", str(tmp_path / "all.txt")], capsys)[0] == 0
    first, whole = results_of(tmp_path / "r.txt"), results_of(tmp_path / "all.txt")
    assert first[:, 0].max() == 5 and whole[:, 0].max() == 12
    np.testing.assert_array_equal(first, whole[whole[:, 0] <= 5])  # the same rows as a whole run's start
    # a split is scored against every frame's gt: it is tracked whole
    status, _, err = run(
        ["track", str(dataset / "train"), "--split-out", str(tmp_path / "o"), "--max-frames", "5"], capsys
    )
    assert status == 2 and "tracked whole" in err and not (tmp_path / "o").exists()


def test_cli_track_split_then_eval(dataset, tmp_path, capsys):
    status, out, _ = run(["track", str(dataset / "train"), "--split-out", str(tmp_path / "out")], capsys)
    assert status == 0 and "evaluate with: discmot eval" in out
    assert len(list((tmp_path / "out" / "jde" / "data").glob("*.txt"))) == 2
    status, out, _ = run(
        ["eval", "--gt-folder", str(dataset), "--trackers-folder", str(tmp_path / "out")], capsys
    )
    assert status == 0 and "jde" in out


@pytest.mark.parametrize(
    "argv, words",
    [
        (["track", "{tmp}/missing.mp4", "--detections", "{tmp}/d.txt"], "missing.mp4: cannot open video"),
        (["track", "{video}"], "no detector and no detections"),
        (["track", "{video}", "--detector", "{tmp}/missing.onnx", "--detections", "d.txt"], "not both"),
        (["track", "{split}"], "give --split-out DIR"),
        (["track", "{sequence}", "--split-out", "{tmp}/o"], "one source, not a folder of sequence folders"),
        (["track", "{sequence}", "--det-file", "nope.txt"], "det/nope.txt: detections file not found"),
        (["track", "{sequence}", "--save-txt", "{tmp}/d.txt/x.txt"], "d.txt: not a folder (a file is in"),
        (["track", "{split}", "--split-out", "{tmp}/o", "--tracker-name", "../escape"], "without '/'"),
        (
            ["track", "{video}", "--model", "cstrack", "--weights", "{cstrack}", "--device", "gpu"],
            "not a device",
        ),
        (["track", "{video}", "--model", "fdta", "--weights", "{fdta}", "--device", "cuda:7"], "cuda:7"),
        (
            ["track", "{video}", "--model", "fdta", "--weights", "{fdta}", "--device", "mps"],
            "device mps: this",
        ),
    ],
)
def test_cli_track_bad_input_is_one_line(dataset, tmp_path, capsys, argv, words):
    video = tmp_path / "clip.mp4"
    (tmp_path / "d.txt").write_text("1,-1,1,1,5,5,1\n")
    with VideoWriter(video, 10, (32, 32)) as writer:
        writer.write(np.zeros((32, 32, 3), np.uint8))
    weights = {kind: bundled_weights(kind) for kind in ("fdta", "cstrack")}
    sequence = sequences(dataset)[0]
    argv = [
        a.format(tmp=tmp_path, video=video, split=dataset / "train", sequence=sequence, **weights)
        for a in argv
    ]
    status, _, err = run(argv, capsys)
    assert status == 2 and err.count("\n") == 1 and err.startswith("discmot: error: ") and words in err


@pytest.mark.parametrize("rate", ["inf", "nan", "-5", "1e-9", "fast"])
def test_a_frame_rate_that_is_no_rate_is_refused_by_the_parser(dataset, capsys, rate):
    with pytest.raises(SystemExit) as exit_info:
        main(["track", str(sequences(dataset)[0]), "--frame-rate", rate])
    assert exit_info.value.code == 2 and "argument --frame-rate" in capsys.readouterr().err


def test_a_benchmark_name_that_turns_nothing_on_is_warned(dataset, tmp_path, caplog):
    sequence = sequences(dataset)[0]  # its det/det.txt is used
    with caplog.at_level(logging.WARNING, logger="discmot"):
        discmot.track(sequence, benchmark="MOT71")
    assert "--benchmark MOT71 is none of MOT15" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="discmot"):
        discmot.track(sequence, benchmark="mot17")
    assert "--benchmark" not in caplog.text


def test_cli_track_missing_onnx_model_is_a_clear_error(tmp_path, capsys):
    video = shared_file("assets/videos/vtest.avi")
    status, _, err = run(["track", str(video), "--detector", str(tmp_path / "missing.onnx")], capsys)
    assert status == 2 and "missing.onnx" in err and err.count("\n") == 1


def test_cli_track_real_sequence_with_features_and_no_images(tmp_path, capsys):
    """PETS09-S2L1 as shared: seqinfo.ini and det/ only; YOLOX-nano boxes with OSNet features (.npy),
    tracked with the settings for such a detector (the onnx preset): the issue's IDF1/MOTA >= 0.70."""
    sequence = shared_file("data/mot/MOT15/train/PETS09-S2L1")
    results = tmp_path / "results" / "PETS09-S2L1.txt"
    argv = ["track", str(sequence), "--det-file", "det_yolox_nano_osnet.npy", "--tracker-preset", "onnx"]
    status, out, _ = run([*argv, "--save-txt", str(results)], capsys)
    assert status == 0 and "PETS09-S2L1: 795 frames" in out
    rows = results_of(results)
    assert rows[:, 0].min() >= 1 and rows[:, 0].max() <= 795
    (tmp_path / "seqmap.txt").write_text("name\nPETS09-S2L1\n")
    scores = discmot.evaluate(
        sequence.parents[1],
        results.parent,
        benchmark="MOT15",
        seqmap=tmp_path / "seqmap.txt",
        write_summaries=False,
    )
    combined = scores["results"]["PETS09-S2L1"]
    assert combined["CLEAR"]["MOTA"] >= 0.70 and combined["Identity"]["IDF1"] >= 0.70  # bare IoU: 0.60 / 0.38


def test_cli_track_help_has_examples(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["track", "--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0 and "examples:" in out and "--save-video" in out and "webcam" in out


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--model", "fdta", "--classes", "1"], "--model fdta detects for itself, on the images: drop "
         "--classes (options of --model jde's detections)"),
        (["--model", "cstrack", "--det-file", "d.txt"], "--model cstrack detects for itself, on the "
         "images: drop --det-file"),
        (["--model", "cstrack", "--classes", "2", "--det-file", "d.txt"], "drop --classes and --det-file"),
        (["--model", "fdta", "--track-thresh", "0.4", "--no-output-filter"], "--model fdta has no "
         "association cascade: drop --output-filter (they set the cascade of --model jde and cstrack; FDTA "
         "takes --track-thresh and --birth-thresh)"),
        (["--model", "fdta", "--tracker-preset", "onnx"], "drop --tracker-preset"),
        (["--model", "fdta", "--kalman-boxes"], "drop --kalman-boxes"),
        (["--model", "cstrack", "--reid", "r.onnx"], "--model cstrack detects for itself: drop --detector"),
    ],
)  # fmt: skip
def test_options_an_end_to_end_model_would_ignore_are_refused_first(dataset, tmp_path, capsys, argv, words):
    """Before the (here missing) weights are loaded: one line naming the option."""
    folder = sequences(dataset)[0]
    status, _, err = run(["track", str(folder), "--weights", str(tmp_path / "missing.pth"), *argv], capsys)
    assert status == 2 and err.count("\n") == 1 and words in err


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--weights", "w.safetensors"], "--model jde runs no network of its own: --weights is an option of "
         "--model fdta and cstrack"),
        (["--dtype", "fp16", "--input-size", "160x256"], "--input-size, --dtype are options of --model fdta "
         "and cstrack"),
        (["--preset", "tiny"], "--preset is an option"),
    ],
)  # fmt: skip
def test_network_options_given_to_the_jde_tracker_are_refused(dataset, capsys, argv, words):
    """``--model jde`` (the default) would ignore them: a user who forgot ``--model fdta`` is told."""
    status, _, err = run(["track", str(sequences(dataset)[0]), *argv], capsys)
    assert status == 2 and err.count("\n") == 1 and words in err


def test_the_verb_is_importable_from_the_engine_and_the_trackers_say_their_kind():
    from discmot.engine import infer, track_verb
    from discmot.trackers.association import JDETracker, JDETrackerConfig
    from discmot.trackers.base import is_end_to_end
    from discmot.trackers.cstrack import CSTrackTracker
    from discmot.trackers.fdta import FDTATracker

    assert infer.track is track_verb.track is not None and infer.tracker_factory is track_verb.tracker_factory
    assert FDTATracker.detects and CSTrackTracker.detects
    assert not is_end_to_end(JDETracker(JDETrackerConfig())) and not is_end_to_end(IouStandIn())
    with pytest.raises(AttributeError):
        infer.no_such_name  # noqa: B018


# --------------------------------------------------------------------------------------------------
# Real models over a real video (slow)


@pytest.mark.slow
def test_vtest_with_yolox_and_osnet_tracks_pets09(tmp_path, capsys):
    video = shared_file("assets/videos/vtest.avi")
    weights = shared_file("assets/weights")
    gt_root = shared_file("data/mot/MOT15")
    status, out, _ = run(
        [
            "track",
            str(video),
            "--detector",
            str(weights / "yolox_nano.onnx"),
            "--reid",
            str(weights / "osnet_x0_25_msmt17.onnx"),
            "--benchmark",
            "MOT15",
            "--save-txt",
            str(tmp_path / "results" / "PETS09-S2L1.txt"),
            "--save-video",
            str(tmp_path / "vtest.mp4"),
        ],
        capsys,
    )
    assert status == 0 and "vtest: 795 frames" in out
    assert open_source(tmp_path / "vtest.mp4").num_frames == 795
    scores = discmot.evaluate(
        gt_root,
        tmp_path / "results",
        benchmark="MOT15",
        split="train",
        seqmap=_one_sequence_seqmap(tmp_path),
        write_summaries=False,
    )
    clear = scores["results"]["PETS09-S2L1"]["CLEAR"]
    assert clear["MOTA"] > 0.6  # a bare IoU tracker on these detections scores 0.60


def _one_sequence_seqmap(tmp_path: Path) -> Path:
    path = tmp_path / "seqmap.txt"
    path.write_text("name\nPETS09-S2L1\n")
    return path


def test_sigterm_removes_the_half_written_outputs(tmp_path):
    """``kill`` / ``timeout`` / a scheduler end a run as Ctrl-C does: no temporary video is left."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import cv2

    frames = tmp_path / "frames"
    frames.mkdir()
    cv2.imwrite(str(frames / "1.jpg"), np.full((48, 64, 3), 90, np.uint8))
    for k in range(2, 3001):
        os.link(frames / "1.jpg", frames / f"{k}.jpg")
    (tmp_path / "det.txt").write_text("".join(f"{k},-1,5,5,20,30,0.9\n" for k in range(1, 3001)))
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "discmot",
        "track",
        str(frames),
        "--detections",
        str(tmp_path / "det.txt"),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [*command, "--save-txt", str(out / "r.txt"), "--save-video", str(out / "r.mp4")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not (out.is_dir() and list(out.glob(".r.mp4.tmp-*"))):
        assert proc.poll() is None, proc.communicate()[0][-2000:]
        assert time.monotonic() < deadline, "no temporary video appeared"
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, output[-2000:]
    said = f": {out / 'r.txt'} and {out / 'r.mp4'} not written"  # no older file there: none said kept
    assert output.rstrip().endswith(f"discmot: terminated (SIGTERM){said}"), output[-2000:]
    assert list(out.iterdir()) == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_sigterm_still_kills_forked_children_outright():
    """DataLoader workers are forked from the verb's process: they must keep dying of SIGTERM (their
    parent stops them that way), not raise SystemExit in the parent's place."""
    import os
    import signal
    import time

    from discmot.engine.signals import sigterm_as_exit

    with sigterm_as_exit():
        child = os.fork()
        if child == 0:
            time.sleep(30)
            os._exit(0)
        time.sleep(0.2)
        os.kill(child, signal.SIGTERM)
        _, status = os.waitpid(child, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM


def test_an_unknown_model_name_is_said_first(dataset):
    with pytest.raises(ValueError, match="unknown model 'FDTA': choose jde, fdta, cstrack"):
        discmot.track(sequences(dataset)[0], model="FDTA", weights="w.safetensors")


def test_without_a_terminal_progress_is_a_log_line_now_and_then(caplog):
    from discmot.engine.infer import LoggedProgress

    slow = LoggedProgress("clip", 795)
    slow.done = 120
    assert slow.text(120 * 9.4) == "clip: 120/795 frames, 9.4 s/frame, about 1 h 46 min left"
    fast = LoggedProgress("cam", None)
    fast.done = 500
    assert fast.text(20.0) == "cam: 500 frames, 25.0 fps"  # unknown length: no time left
    every_update = LoggedProgress("clip", 3, interval=0.0)
    with caplog.at_level("INFO", logger="discmot"), every_update:
        for _ in range(3):
            every_update.update(1)
    assert [r.getMessage().split(",")[0] for r in caplog.records] == [
        "clip: 1/3 frames", "clip: 2/3 frames", "clip: 3/3 frames"
    ]  # fmt: skip
    never = LoggedProgress("clip", 3)  # the default minute between lines: a short run says nothing
    caplog.clear()
    with caplog.at_level("INFO", logger="discmot"):
        never.update(3)
    assert not caplog.records


def test_an_end_to_end_model_says_what_it_runs(dataset, tmp_path, caplog):
    # which preset was inferred, the input size and precision: a user tracking with an official file
    # otherwise learns none of them
    folder = sequences(dataset)[0]
    with caplog.at_level("INFO", logger="discmot"):
        track(
            folder, model="fdta", weights=bundled_weights("fdta"), max_frames=2, save_txt=tmp_path / "f.txt"
        )
        track(folder, model="cstrack", weights=bundled_weights("cstrack"), input_size=(96, 128), max_frames=2,
              save_txt=tmp_path / "c.txt")  # fmt: skip
    assert (
        "FDTA, the tiny preset (1,078,694 parameters), input shorter side 160, longer at most 288"
        in caplog.text
    )
    assert "CSTrack, the tiny preset (" in caplog.text and "input 96x128, float32 on cpu" in caplog.text


def test_one_source_without_outputs_is_tracked_and_said_to_write_nothing(dataset, caplog):
    folder = sequences(dataset)[0]  # its det/det.txt is used
    with caplog.at_level(logging.WARNING, logger="discmot"):
        summary = track(folder, progress=False)
    assert summary["frames"] > 0
    # from Python, in track's keywords (the command line's wording: tests/test_python_api_followups.py)
    assert "nothing will be written and no tracks kept" in caplog.text and "on_frame=" in caplog.text


def test_a_split_with_an_unreadable_sequence_fails_before_writing_any_result(dataset, tmp_path):
    """Sequence 2's images are all broken: the run stops before sequence 1's new result replaces the
    old one, so the output folder never mixes new and old results."""
    split = tmp_path / "split"
    first, second = (copy_sequence(folder, split) for folder in sequences(dataset))
    for image in (second / "img1").iterdir():
        image.write_bytes(b"not a jpeg")
    old = tmp_path / "out" / "fdta" / "data" / f"{first.name}.txt"
    old.parent.mkdir(parents=True)
    old.write_text("1,1,1,1,5,5,1,-1,-1,-1\n")
    with pytest.raises(ValueError, match=f"{second.name}: no readable image"):
        track(
            split, model="fdta", weights=bundled_weights("fdta"), split_out=tmp_path / "out", progress=False
        )
    assert old.read_text() == "1,1,1,1,5,5,1,-1,-1,-1\n"


@pytest.mark.parametrize(("last_detection_frame", "warned"), [(12, False), (20, True)])
def test_detections_beyond_the_source_are_questioned_even_with_max_frames(
    dataset, tmp_path, caplog, last_detection_frame, warned
):
    """--max-frames tracks the first frames of a longer source: detections for the whole source are
    not 'beyond' it; detections past its last frame are."""
    folder = sequences(dataset)[0]  # 12 frames
    rows = (folder / "det" / "det.txt").read_text().splitlines()
    rows.append(f"{last_detection_frame},-1,1,1,10,10,1,-1,-1,-1")
    detections = tmp_path / "det.txt"
    detections.write_text("\n".join(rows) + "\n")
    with caplog.at_level(logging.WARNING):
        track(folder / "img1", detections=detections, max_frames=3, save_txt=tmp_path / "out.txt")
    assert ("are they for this source?" in caplog.text) == warned
