"""``discmot show`` (`discmot.viz.show`, `discmot.viz.errors`): each box drawn by what CLEAR made of it, with
the same matching as `discmot eval`, so the totals are eval's CLR_FP, CLR_FN and IDSW.

The scene: a 320x240 sequence of 10 frames and two walkers. gt 1 is followed by tracker id 3 except in
frame 4 (a miss); gt 2 by id 4 until frame 5 and by id 11 from frame 6 (an ID switch 4->11 in frame 6);
frame 8 has a box of id 6 far from everyone (a false positive). A gt row of class 7 (static person, a
distractor) in frame 2 has a tracker box of id 9 on it, which MOT17's preprocessing removes.
"""

from __future__ import annotations

import av
import cv2
import numpy as np
import pytest

from discmot.cli import build_parser
from discmot.cli import main as cli_main
from discmot.data.synth import generate_dataset
from discmot.eval.motchallenge import FrameGroupedRows
from discmot.eval.runner import evaluate_files
from discmot.viz import errors
from discmot.viz.show import load_boxes, show_sequence
from helpers import require_opencv_5, shared_file

WIDTH, HEIGHT, FRAMES = 320, 240, 10
FP_FRAME, FP_BOX = 8, (120, 160, 40, 50)
MISS_FRAME, SWITCH_FRAME = 4, 6


def walker_boxes(frame: int) -> dict[int, tuple]:
    """gt id -> box ``x, y, w, h`` in ``frame``."""
    return {1: (30 + 4 * frame, 40, 40, 80), 2: (220, 40, 40, 80)}


def write_sequence(folder, length=FRAMES, gt_rows=None):
    """A sequence folder: seqinfo.ini, PNG frames (two blue figures on grey), gt/gt.txt; returns it."""
    (folder / "img1").mkdir(parents=True)
    (folder / "gt").mkdir()
    (folder / "seqinfo.ini").write_text(
        f"[Sequence]\nname={folder.name}\nimDir=img1\nframeRate=10\nseqLength={length}\n"
        f"imWidth={WIDTH}\nimHeight={HEIGHT}\nimExt=.png\n"
    )
    rows = []
    for frame in range(1, length + 1):
        image = np.full((HEIGHT, WIDTH, 3), 128, np.uint8)
        for gt_id, (x, y, w, h) in walker_boxes(frame).items():
            cv2.rectangle(image, (x + 5, y + 5), (x + w - 5, y + h - 5), (160, 90, 40), cv2.FILLED)
            rows.append(f"{frame},{gt_id},{x},{y},{w},{h},1,1,1.0")
        if frame == 2:
            rows.append(f"{frame},7,100,150,30,60,1,7,1.0")  # a static person: a distractor
        cv2.imwrite(str(folder / "img1" / f"{frame:06d}.png"), image)
    (folder / "gt" / "gt.txt").write_text("\n".join(gt_rows if gt_rows is not None else rows) + "\n")
    return folder


def write_results(path):
    rows = []
    for frame in range(1, FRAMES + 1):
        boxes = walker_boxes(frame)
        if frame != MISS_FRAME:
            rows.append((frame, 3, *boxes[1]))
        rows.append((frame, 4 if frame < SWITCH_FRAME else 11, *boxes[2]))
        if frame == FP_FRAME:
            rows.append((frame, 6, *FP_BOX))
        if frame == 2:
            rows.append((frame, 9, 101, 151, 30, 60))  # on the distractor
    path.write_text("".join(f"{f},{i},{x},{y},{w},{h},1,-1,-1,-1\n" for f, i, x, y, w, h in rows))
    return path


@pytest.fixture
def scene(tmp_path):
    return write_sequence(tmp_path / "walk"), write_results(tmp_path / "results.txt")


def clear_of(gt_file, results, num_frames, benchmark="MOT17") -> dict:
    result = evaluate_files(gt_file, results, num_frames, benchmark, metrics="CLEAR")["CLEAR"]
    return {"FP": result["CLR_FP"], "FN": result["CLR_FN"], "IDSW": result["IDSW"]}


def test_each_box_is_classified_as_clear_matches_it(scene):
    folder, results = scene
    found = errors.classify_files(folder / "gt" / "gt.txt", results, FRAMES)
    for frame in range(1, FRAMES + 1):
        boxes = found.frame(frame)
        status = dict(zip(boxes.tracker_ids.tolist(), boxes.tracker_status.tolist(), strict=True))
        gt_status = dict(zip(boxes.gt_ids.tolist(), boxes.gt_status.tolist(), strict=True))
        assert gt_status[1] == (errors.MISSED if frame == MISS_FRAME else errors.GT_MATCHED), frame
        assert gt_status[2] == errors.GT_MATCHED
        if frame != MISS_FRAME:
            assert status[3] == errors.MATCHED  # back after the miss with the same id: no switch
        second = 4 if frame < SWITCH_FRAME else 11
        assert status[second] == (errors.SWITCH if frame == SWITCH_FRAME else errors.MATCHED), frame
        assert (status.get(6) == errors.FALSE_POSITIVE) == (frame == FP_FRAME)
        if frame == 2:
            assert status[9] == errors.IGNORED and gt_status[7] == errors.GT_IGNORED
    switch = found.frame(SWITCH_FRAME)
    assert switch.switched_from[switch.tracker_status == errors.SWITCH].tolist() == [4]
    assert found.frame(FP_FRAME).counts() == {"FP": 1, "FN": 0, "IDSW": 0}
    assert found.totals() == {"FP": 1, "FN": 1, "IDSW": 1}
    assert found.totals() == clear_of(folder / "gt" / "gt.txt", results, FRAMES)


def test_a_frames_boxes_do_not_gather_a_whole_id_column_each_time(scene, monkeypatch):
    """The id columns are gathered once per sequence: per frame, 3000 frames of 450k rows took 15 s."""
    folder, results = scene
    found = errors.classify_files(folder / "gt" / "gt.txt", results, FRAMES)
    plain = load_boxes(None, results, FRAMES, "MOT17")
    gathered = []
    original = FrameGroupedRows.truncated
    monkeypatch.setattr(
        FrameGroupedRows, "truncated", lambda rows, index: gathered.append(index) or original(rows, index)
    )
    frames = [(found.frame(n), plain.frame(n)) for n in range(1, FRAMES + 1)]
    assert len(gathered) <= 3  # the gt's and the results' ids for the classified boxes, the results' plain
    assert [ids.tolist() for ids in (frames[1][0].tracker_ids, frames[1][1].ids)] == [[3, 4, 9]] * 2
    assert frames[1][0].gt_ids.tolist() == [1, 2, 7]


def test_mot15_rules_score_the_distractor_row_as_eval_does(scene):
    # without preprocessing the static person is a gt box like any other, and id 9 its match
    folder, results = scene
    found = errors.classify_files(folder / "gt" / "gt.txt", results, FRAMES, "MOT15")
    assert found.frame(2).tracker_status[found.frame(2).tracker_ids == 9].tolist() == [errors.MATCHED]
    assert found.totals() == clear_of(folder / "gt" / "gt.txt", results, FRAMES, "MOT15")


def spoiled(gt_text: str, seed: int) -> str:
    """Results made from gt rows badly on purpose: rows dropped, boxes shifted, ids swapped between
    neighbours mid-sequence, boxes added at random."""
    rng = np.random.default_rng(seed)
    rows = []
    for line in gt_text.splitlines():
        frame, gt_id, x, y, w, h = (float(v) for v in line.split(",")[:6])
        if rng.random() < 0.15:
            continue
        shift = rng.normal(0, 0.25 * w, 2) if rng.random() < 0.2 else (0, 0)
        track_id = gt_id + 1 if frame > 12 and gt_id % 2 else gt_id  # ids handed over halfway
        rows.append((frame, track_id, x + shift[0], y + shift[1], w, h))
        if rng.random() < 0.1:
            rows.append((frame, 100 + rng.integers(50), *rng.uniform(0, 200, 2), w, h))
    unique = {(int(r[0]), int(r[1])): r for r in rows}  # one box per id and frame
    return "".join(
        f"{f:g},{i:g},{x:.2f},{y:.2f},{w:g},{h:g},1,-1,-1,-1\n" for f, i, x, y, w, h in unique.values()
    )


@pytest.mark.parametrize("benchmark", ["MOT17", "DanceTrack"])
def test_totals_equal_evals_on_a_badly_tracked_synthetic_sequence(tmp_path, benchmark):
    (folder,) = generate_dataset(tmp_path / "synth", "tiny", sequences=1, frames=24, size=(192, 128))
    gt_file = folder / "gt" / "gt.txt"
    for seed in range(3):
        results = tmp_path / f"bad{seed}.txt"
        results.write_text(spoiled(gt_file.read_text(), seed))
        found = errors.classify_files(gt_file, results, 24, benchmark)
        expected = clear_of(gt_file, results, 24, benchmark)
        assert found.totals() == expected and expected["IDSW"] > 0 and expected["FP"] > 0


def test_totals_equal_trackevals_on_real_mot17_results():
    # a crowded sequence with distractors and frames whose matching is ambiguous: TrackEval's numbers
    corpus = shared_file("data/evaldata")
    import json

    reference = json.loads((corpus / "REFERENCE_trackeval.json").read_text())["benchmarks"]["MOT17"]
    sequence = corpus / "gt" / "mot_challenge" / "MOT17-train" / "MOT17-02-FRCNN"
    results = (
        corpus / "trackers" / "mot_challenge" / "MOT17-train" / "DeepSORT" / "data" / "MOT17-02-FRCNN.txt"
    )
    found = errors.classify_files(sequence / "gt" / "gt.txt", results, 600)
    clear = reference["trackers"]["DeepSORT"]["MOT17-02-FRCNN"]["CLEAR"]
    assert found.totals() == {"FP": clear["CLR_FP"], "FN": clear["CLR_FN"], "IDSW": clear["IDSW"]}


def red_mask(image: np.ndarray) -> np.ndarray:
    """Pixels of the false-positive red (BGR 0,0,255) after H.264's colour rounding."""
    b, g, r = (image[..., c].astype(int) for c in range(3))
    return (r > 180) & (g < 90) & (b < 90)


def decoded(path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="bgr24") for frame in container.decode(video=0)]


def test_the_video_marks_the_false_positive_where_and_when_it_is(scene, tmp_path, caplog):
    folder, results = scene
    out = tmp_path / "out" / "errors.mp4"
    with caplog.at_level("INFO"):
        summary = show_sequence(folder, results, out, progress=False)
    assert summary["totals"] == {"FP": 1, "FN": 1, "IDSW": 1} == summary["shown"]
    assert "FP 1, FN 1, IDSW 1 over its 10 frames" in caplog.text
    frames = decoded(out)
    # the sequence's frames, above a bar with the caption and the legend
    assert (
        len(frames) == FRAMES
        and frames[0].shape[1] == WIDTH
        and HEIGHT + 20 < frames[0].shape[0] < 2 * HEIGHT
    )
    x, y, w, h = FP_BOX
    near = np.zeros(frames[0].shape[:2], bool)
    near[y - 20 : y + h + 4, x - 4 : x + w + 30] = True  # the box and its label above it
    near[HEIGHT:] = True  # the legend has a red sample
    for number, image in enumerate(frames, 1):
        red = red_mask(image)
        if number == FP_FRAME:
            # the dashed box: ~150 pixels in a PNG, of which H.264's 4:2:0 colour keeps 30 to 50 this red
            assert red[y - 1 : y + h + 2, x - 1 : x + w + 2].sum() > 20
        else:
            assert red[y - 20 : y + h + 4, x - 4 : x + w + 30].sum() == 0, number
        assert red[~near].sum() == 0, number
        assert red[HEIGHT:].sum() > 0  # the legend's sample
    assert summary["frames"] == FRAMES and not list(out.parent.glob(".*"))  # no temporary file left


def test_the_legend_bar_keeps_its_rows_as_the_caption_grows(scene, tmp_path):
    """On a narrow frame the caption of frame 10 ("frame 10  FP 1 ...") is a digit wider than frame 9's
    and pushed the legend into one more row: that frame was taller, and the video writer squashed it to
    the first frame's size (the scene shrank into the bar's place)."""
    folder, results = scene
    show_sequence(folder, results, tmp_path / "v.mp4", progress=False)
    for number, image in enumerate(decoded(tmp_path / "v.mp4"), 1):
        margin = image[:, :4].astype(int)  # left of every box, label and text: grey scene, dark bar
        assert (abs(margin[: HEIGHT - 2] - 128) < 16).all() and (margin[HEIGHT + 2 :] < 60).all(), number


def test_a_part_of_the_sequence_and_a_single_frame_as_an_image(scene, tmp_path):
    folder, results = scene
    summary = show_sequence(folder, results, tmp_path / "part.mp4", frames=(5, 7), progress=False)
    assert len(decoded(tmp_path / "part.mp4")) == 3
    assert summary["shown"] == {"FP": 0, "FN": 0, "IDSW": 1} and summary["totals"]["FP"] == 1
    show_sequence(folder, results, tmp_path / "fp.png", frames=(FP_FRAME, FP_FRAME), progress=False)
    image = cv2.imread(str(tmp_path / "fp.png"))
    x, y, w, h = FP_BOX
    assert image.shape[1] == WIDTH and red_mask(image)[y - 1 : y + h + 2, x - 1 : x + w + 2].sum() > 40


def test_a_box_of_huge_coordinates_is_drawn_clipped_not_a_crash(scene, tmp_path):
    """Rows eval accepts (finite numbers) may lie far beyond the frame: OpenCV refused the 1e12 pixel
    corners ("Can't parse 'pt1'"), and a dashed side was walked dash by dash over its whole length."""
    folder, results = scene
    with results.open("a") as rows:
        rows.write(f"{FP_FRAME},8,{FP_BOX[0]},{FP_BOX[1]},1e12,1e12,1,-1,-1,-1\n")  # runs off the frame
        rows.write(f"{FP_FRAME},12,1e12,-1e12,40,80,1,-1,-1,-1\n")
    summary = show_sequence(
        folder, results, tmp_path / "huge.png", frames=(FP_FRAME, FP_FRAME), progress=False
    )
    assert summary["totals"]["FP"] == 3
    x, y = FP_BOX[:2]  # the dashed top and left sides of id 8 start at its corner and reach the edges
    red = red_mask(cv2.imread(str(tmp_path / "huge.png")))
    assert red[y - 1 : y + 2, WIDTH - 40 :].any() and red[HEIGHT - 40 : HEIGHT, x - 1 : x + 2].any()


def test_without_ground_truth_it_draws_the_results_like_the_track_video(scene, tmp_path):
    # OpenCV 4.8.1 antialiases 2 label pixels to a reddish colour
    require_opencv_5("the label pixels checked for red here")
    folder, results = scene
    (folder / "gt" / "gt.txt").unlink()
    summary = show_sequence(folder, results, tmp_path / "plain.mp4", progress=False)
    assert summary["totals"] is None and summary["gt"] is None
    frames = decoded(tmp_path / "plain.mp4")
    assert len(frames) == FRAMES
    x, y, w, h = FP_BOX  # id 6 is a box like the others now: its id colour (not red) and no legend
    assert red_mask(frames[FP_FRAME - 1]).sum() == 0


def test_the_cli_writes_the_video_and_states_the_totals(scene, tmp_path, caplog):
    folder, results = scene
    out = tmp_path / "cli.mp4"
    with caplog.at_level("INFO", logger="discmot"):
        argv = ["show", str(folder), "--results", str(results), "--out", str(out), "--frames", "2-9"]
        assert cli_main(argv) == 0
    assert len(decoded(out)) == 8
    assert (
        "FP 1, FN 1, IDSW 1 over its 10 frames" in caplog.text
        and "in frames 2-9: FP 1, FN 1, IDSW 1" in caplog.text
    )


@pytest.mark.parametrize("text", ["3-2", "0-4", "a-b", "4-"])
def test_frames_that_cannot_be_a_range_are_refused_by_the_parser(text, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["show", "seq", "--results", "r.txt", "--out", "o.mp4", "--frames", text])
    assert "--frames" in capsys.readouterr().err


def bad_row(results) -> list[str]:
    results.write_text("1,3,10,10,20,20,1\n2,3,ten,10,20,20,1\n")
    return []


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda f, r, t: bad_row(r), "results.txt:2: column 3"),
        (lambda f, r, t: ["--out", str(f / "img1" / "000001.png"), "--frames", "1"], "would overwrite"),
        (lambda f, r, t: ["--frames", "5-11"], "frames 5-11: "),
        (lambda f, r, t: ["--out", str(t / "x.png"), "--frames", "2-3"], "x.png: an image shows one frame"),
        (lambda f, r, t: ["--out", str(t / "x.gif")], "x.gif: --out needs a video"),
        (
            lambda f, r, t: ["--gt", str(write_sequence(t / "long", 12).joinpath("gt", "gt.txt"))],
            "gt.txt:22: frame 11",
        ),
    ],
)
def test_bad_input_is_one_line_naming_the_file(scene, tmp_path, capsys, change, message):
    folder, results = scene
    extra = change(folder, results, tmp_path) or []
    argv = ["show", str(folder), "--results", str(results), "--out", str(tmp_path / "o.mp4"), *extra]
    assert cli_main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not (tmp_path / "o.mp4").exists()


def test_a_bad_row_leaves_no_new_output_folder_behind(scene, tmp_path, capsys):
    """The files are read before the output is checked (which makes the missing parent folders)."""
    folder, results = scene
    bad_row(results)
    out = tmp_path / "new" / "videos" / "o.mp4"
    assert cli_main(["show", str(folder), "--results", str(results), "--out", str(out)]) == 2
    assert "results.txt:2: column 3" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()
