"""`discmot demo` (what `make demo` runs), on a short scene so that it fits the test budget.

The acceptance points of the demo: on a fresh machine, with no arguments, it writes the annotated H.264
MP4, the GIF preview, the metrics table and one embedding report per bundled model into one folder, and
the metrics it prints are exactly what `discmot eval` prints for the written results. `--source` runs the
same on a user's video (no metrics: no ground truth) or sequence folder (scored against its gt).
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from discmot.cli import main as cli_main
from discmot.data.synth import generate_dataset
from discmot.engine.demo import DemoConfig, bundled_weights
from discmot.engine.demo_video import draw_video, gif_stride, video_scale
from discmot.io.video import VideoWriter, open_source
from helpers import shared_file

FRAMES = 10


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    code = cli_main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def table_blocks(printed: str) -> dict[str, str]:
    """``{tracker: its "Tracker: <name>" table}`` from printed output (blocks end at a blank line)."""
    blocks = {}
    for block in printed.split("\n\n"):
        block = block.strip("\n")
        if block.startswith("Tracker: "):
            blocks[block.splitlines()[0].removeprefix("Tracker: ")] = block
    return blocks


def video_facts(path: Path) -> tuple[str, int, tuple[int, int]]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="bgr24") for f in container.decode(stream)]
        return stream.codec_context.name, len(frames), frames[0].shape[:2]


@pytest.fixture(scope="module")
def default_demo(tmp_path_factory):
    """The no-argument demo (shortened scene), its printed output, and `discmot eval` on its results
    (module scope, so capsys is not available: stdout is redirected instead)."""
    out = tmp_path_factory.mktemp("demo") / "out"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = cli_main(["demo", "--out", str(out), "--frames", str(FRAMES), "--analyze-frames", "4"])
    evaluated = io.StringIO()
    with contextlib.redirect_stdout(evaluated):
        eval_code = cli_main(
            ["eval", "--gt-folder", str(out / "data"), "--trackers-folder", str(out / "results"),
             "--benchmark", "DanceTrack", "--split", "val"]
        )  # fmt: skip
    return out, code, printed.getvalue(), eval_code, evaluated.getvalue()


def test_demo_writes_every_promised_file(default_demo):
    out, code, printed, _, _ = default_demo
    assert code == 0, printed
    codec, frames, (height, width) = video_facts(out / "demo.mp4")
    assert codec == "h264" and frames == FRAMES
    scene = open_source(out / "data" / "val" / "dancetrack-val-0000")
    assert scene.num_frames == FRAMES
    assert width > 2 * scene.size[0] and height > scene.size[1]  # two enlarged panels side by side
    with av.open(str(out / "demo.gif")) as gif:
        assert len(list(gif.decode(video=0))) == len(range(0, FRAMES, 3))  # every 3rd frame
    for model in ("fdta", "cstrack"):
        report = (out / "analysis" / model / "report.html").read_text()
        assert report.startswith("<!DOCTYPE html>") and "Similarity between different objects" in report
        assert (out / "results" / model / "data" / "dancetrack-val-0000.txt").is_file()
        assert cv2.imread(str(out / "results" / model / "pedestrian_plot.png")) is not None
    assert cv2.imread(str(out / "results" / "comparison_deta_assa.png")) is not None
    assert "pedestrian_plot.png" in printed and "comparison_deta_assa.png" in printed
    table = (out / "metrics.md").read_text().splitlines()
    assert table[0] == "| model | HOTA | DetA | AssA | IDF1 | MOTA | IDSW |"
    assert {row.split("|")[1].strip() for row in table[2:]} == {"fdta", "cstrack"}
    summary = json.loads((out / "demo.json").read_text())
    assert set(summary["reports"]) == {"fdta", "cstrack"} and summary["rendered"] is True
    assert "report.html" in printed and "demo.mp4" in printed


def test_printed_metrics_match_discmot_eval(default_demo):
    _, _, printed, eval_code, evaluated = default_demo
    assert eval_code == 0
    demo_tables, eval_tables = table_blocks(printed), table_blocks(evaluated)
    assert set(demo_tables) == {"fdta", "cstrack"}
    assert demo_tables == eval_tables


def test_bundled_fdta_tracks_the_held_out_scene(default_demo):
    """The demo is only convincing if the bundled model tracks: HOTA well above an empty result."""
    out = default_demo[0]
    metrics = json.loads((out / "metrics.json").read_text())
    hota = np.mean(metrics["fdta"]["COMBINED"]["HOTA"]["HOTA"])
    assert hota > 0.3, hota


def track_like_a_user(scene: Path, model: str, out: Path, *options: str) -> bytes:
    """`discmot track SCENE --model MODEL --weights bundled` (CSTrack: unfiltered, as the demo runs it):
    the result file's bytes."""
    args = ["track", str(scene), "--model", model, "--weights", "bundled", "--save-txt", str(out), *options]
    assert cli_main([*args, *(["--no-output-filter"] if model == "cstrack" else [])]) == 0
    return out.read_bytes()


def test_the_demo_tracks_each_model_as_discmot_track_does(default_demo, tmp_path):
    """Without --input-size each model runs at the input size its checkpoint carries, as `discmot track`
    does: the demo used to track both at 160x256, which is not the bundled CSTrack's 192x320 (trained on
    320x192 frames), so its table and video were not what a user's `discmot track` gives."""
    out, _, printed, _, _ = default_demo
    scene = out / "data" / "val" / "dancetrack-val-0000"
    for model in ("fdta", "cstrack"):
        demo_rows = (out / "results" / model / "data" / f"{scene.name}.txt").read_bytes()
        assert demo_rows == track_like_a_user(scene, model, tmp_path / f"{model}.txt"), model
    assert json.loads((out / "demo.json").read_text())["input_size"] == {
        "fdta": [160, 256],
        "cstrack": [192, 320],
    }
    assert f"cstrack: tracked {FRAMES} frames, input 192x320," in printed


def test_input_size_sets_every_model_of_the_demo(tmp_path, capsys):
    out = tmp_path / "out"
    args = ["demo", "--out", str(out), "--model", "cstrack", "--frames", "4", "--analyze-frames", "2"]
    code, printed, err = run_cli([*args, "--input-size", "160x256"], capsys)
    assert code == 0, err
    scene = out / "data" / "val" / "dancetrack-val-0000"
    demo_rows = (out / "results" / "cstrack" / "data" / f"{scene.name}.txt").read_bytes()
    mine = track_like_a_user(scene, "cstrack", tmp_path / "c.txt", "--input-size", "160x256")
    assert demo_rows == mine and "cstrack: tracked 4 frames, input 160x256," in printed
    assert demo_rows != track_like_a_user(scene, "cstrack", tmp_path / "own.txt")  # the size mattered


def dancetrack_sequence(tmp_path: Path, frames: int, seed: int) -> Path:
    (sequence,) = generate_dataset(
        tmp_path / "d", "dancetrack", split="val", sequences=1, frames=frames, size=(256, 160), seed=seed
    )
    return sequence


def demo_with_fdta(source: Path, out: Path, capsys) -> tuple[str, str]:
    """`discmot demo --source SOURCE --model fdta` (bundled weights); returns stdout and stderr."""
    args = ["demo", "--source", str(source), "--model", "fdta", "--input-size", "160x256"]
    code, printed, err = run_cli([*args, "--out", str(out), "--analyze-frames", "3"], capsys)
    assert code == 0, err
    return printed, err


def test_source_video_without_gt_is_drawn_and_analysed_not_scored(tmp_path, capsys):
    video = tmp_path / "clip.mp4"
    frames = open_source(dancetrack_sequence(tmp_path, 6, seed=5))
    with VideoWriter(video, 25, frames.size) as writer:
        for _, image in frames:
            writer.write(image)
    out = tmp_path / "out"
    printed, _ = demo_with_fdta(video, out, capsys)
    assert video_facts(out / "demo.mp4")[:2] == ("h264", 6)
    assert (out / "analysis" / "fdta" / "report.html").is_file()
    assert not (out / "metrics.json").exists() and "Tracker:" not in printed
    assert not (out / "analysis" / "cstrack").exists()


def test_source_sequence_with_gt_is_scored(tmp_path, capsys):
    out = tmp_path / "out"
    printed, _ = demo_with_fdta(dancetrack_sequence(tmp_path, 5, seed=6), out, capsys)
    assert "Tracker: fdta" in printed
    assert (out / "metrics.md").read_text().count("| fdta |") == 1


def test_frames_caps_a_source_and_a_capped_sequence_is_not_scored(tmp_path, capsys, caplog):
    # --frames with --source: only its first N frames are tracked, drawn and analysed; its gt covers
    # frames that were not tracked, so it is not scored (and the output says why)
    sequence = dancetrack_sequence(tmp_path, 8, seed=7)
    out = tmp_path / "out"
    args = ["demo", "--source", str(sequence), "--model", "fdta", "--frames", "5", "--out", str(out)]
    code, printed, err = run_cli(args, capsys)
    assert code == 0, err
    rows = np.loadtxt(out / "results" / "fdta" / "data" / f"{sequence.name}.txt", delimiter=",", ndmin=2)
    assert rows[:, 0].max() == 5
    assert video_facts(out / "demo.mp4")[1] == 5
    summary = json.loads((out / "analysis" / "fdta" / "summary.json").read_text())
    assert summary["frames"] == 5, summary["frames"]
    assert "Tracker:" not in printed and not (out / "metrics.json").exists()
    assert "not scored: only its first 5 of 8 frames were tracked" in printed
    # the bundled models on a user's source: said once that they are tiny synthetic-scene models
    assert "trained on small synthetic scenes" in caplog.text


def test_drawn_video_shows_the_result_file(tmp_path):
    """A box from the result file appears in the drawn frame in its id's colour, where it was written."""
    from discmot.viz.draw import id_color

    (sequence,) = generate_dataset(tmp_path / "d", "tiny", split="val", sequences=1, frames=3, seed=1)
    results = tmp_path / "r.txt"
    results.write_text("2,5,10,8,20,16,0.9,-1,-1,-1\n")
    config = DemoConfig(video_scale=1, gif_width=10_000, gif_step=1, gif_tolerance=0)
    counts = draw_video(sequence, {"mine": results}, tmp_path / "v.mp4", tmp_path / "v.gif", config, False)
    assert counts == {"mp4_frames": 3, "gif_frames": 3}
    with av.open(str(tmp_path / "v.gif")) as gif:
        decoded = [f.to_ndarray(format="bgr24") for f in gif.decode(video=0)]
    bar = decoded[0].shape[0] - open_source(sequence).size[1]  # the title bar above the frame
    left_edge = decoded[1][bar + 20, 10].astype(int)  # frame 2: x = 10, y = 8..24
    assert np.abs(left_edge - np.array(id_color(5))).max() <= 24, left_edge
    assert np.abs(decoded[0][bar + 20, 10].astype(int) - np.array(id_color(5))).max() > 24  # not in frame 1


def test_the_gif_spans_a_long_source():
    config = DemoConfig()  # at most 50 frames, every 3rd
    assert gif_stride(150, config) == 3 and gif_stride(None, config) == 3
    for length in (151, 795, 10_000):
        stride = gif_stride(length, config)
        taken = range(0, length, stride)[: config.gif_frames]
        assert len(taken) <= config.gif_frames and taken[-1] >= length - stride  # up to the source's end


def test_a_setting_that_stops_one_model_stops_the_demo_before_any_runs(tmp_path, capsys):
    """CSTrack needs multiples of 32; the demo said so only after FDTA had tracked and written."""
    out = tmp_path / "o"
    code, _, err = run_cli(["demo", "--out", str(out), "--input-size", "100x150"], capsys)
    assert code == 2 and "CSTrack's must be multiples of 32" in err
    assert not out.exists()


def test_weights_without_model_is_an_error(tmp_path, capsys):
    code, _, err = run_cli(["demo", "--out", str(tmp_path / "o"), "--weights", "x.safetensors"], capsys)
    assert code == 2 and "--weights needs --model" in err
    assert not (tmp_path / "o").exists()


def test_a_rerun_in_the_same_folder_scores_only_its_own_models(tmp_path, capsys):
    """Results left by an earlier demo (another model, a longer scene) are not scored again."""
    out = tmp_path / "out"
    first = ["demo", "--out", str(out), "--frames", "6", "--analyze-frames", "2", "--model", "cstrack"]
    assert run_cli(first, capsys)[0] == 0
    code, printed, err = run_cli(
        [*first[:3], "--frames", "4", "--analyze-frames", "2", "--model", "fdta"], capsys
    )
    assert code == 0, err
    assert "Tracker: fdta" in printed and "Tracker: cstrack" not in printed
    assert [line.split("|")[1].strip() for line in (out / "metrics.md").read_text().splitlines()[2:]] == [
        "fdta"
    ]


@pytest.mark.parametrize("folder_given", [True, False])
def test_eval_corpus_demo_scores_the_shared_trackers_as_trackeval_does(
    folder_given, tmp_path, capsys, monkeypatch
):
    """``discmot demo --eval-corpus [DIR]``: both MOT17 trackers of the shared corpus (DIR, or the shared
    folder's), into its own default folder (not the demo's), with TrackEval's committed numbers."""
    corpus = shared_file("data/evaldata")
    reference = json.loads((corpus / "REFERENCE_trackeval.json").read_text())["benchmarks"]["MOT17"]
    reference = reference["trackers"]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISCMOT_SHARED", str(corpus.parents[1]))
    assert cli_main(["demo", "--eval-corpus", *([str(corpus)] if folder_given else [])]) == 0
    out = tmp_path / "outputs" / "demo-eval-corpus"
    assert "Evaluated 2 trackers x 7 MOT17 sequences" in capsys.readouterr().out
    results = json.loads((out / "results.json").read_text())
    assert sorted(results) == sorted(reference) and not (tmp_path / "outputs" / "demo").exists()
    for tracker, sequences in reference.items():
        assert (out / tracker / "pedestrian_summary.txt").is_file()
        ours, theirs = results[tracker]["COMBINED"], sequences["COMBINED"]
        np.testing.assert_allclose(ours["HOTA"]["HOTA"], theirs["HOTA"]["HOTA"], rtol=0, atol=1e-12)
        assert ours["CLEAR"]["IDSW"] == theirs["CLEAR"]["IDSW"]
        assert ours["Identity"]["IDF1"] == pytest.approx(theirs["Identity"]["IDF1"], abs=1e-12)


def test_eval_corpus_demo_without_a_corpus_says_where_it_looked(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DISCMOT_SHARED", str(tmp_path / "no-shared"))
    assert cli_main(["demo", "--eval-corpus", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'no-shared' / 'data' / 'evaldata'}: evaluation corpus not found" in err
    assert "is empty" not in err


def write_gray_frames(folder: Path, count: int, size: tuple[int, int]) -> Path:
    """``count`` mid-grey PNG frames of ``size = (w, h)`` in ``folder`` (an image-folder source)."""
    import cv2

    folder.mkdir(parents=True)
    for number in range(1, count + 1):
        cv2.imwrite(str(folder / f"{number:06d}.png"), np.full((size[1], size[0], 3), 128, np.uint8))
    return folder


def label_height_above(frame: np.ndarray, color, top: int) -> int:
    """Height in pixels of what is drawn in ``color`` above row ``top`` (a label on a box whose top edge is
    at ``top``); 0 when nothing is."""
    near = np.abs(frame[:top].astype(int) - np.array(color)).max(axis=2) <= 40
    rows = np.flatnonzero(near.any(axis=1))
    return int(rows[-1] - rows[0] + 1) if rows.size else 0


def test_a_real_sized_source_gets_legible_gif_labels_and_an_unenlarged_video(tmp_path):
    """Two panels of a 768x432 video: the MP4 used to be enlarged twice (3076 px wide, nearest-neighbour,
    nothing gained) and the GIF made by shrinking that to 720 px, which left its id labels about 6 px high
    (unreadable). Now the MP4 keeps the source's size and the GIF is drawn at its own size, labels at the
    drawing's legible minimum."""
    from discmot.viz.draw import id_color

    source = write_gray_frames(tmp_path / "frames", 2, (768, 432))
    results = tmp_path / "r.txt"
    results.write_text("1,1,300,200,120,200,0.9,-1,-1,-1\n2,1,302,200,120,200,0.9,-1,-1,-1\n")
    config = DemoConfig(gif_step=1)
    draw_video(source, {"a": results, "b": results}, tmp_path / "v.mp4", tmp_path / "v.gif", config, False)
    with av.open(str(tmp_path / "v.gif")) as gif:
        first = next(iter(gif.decode(video=0))).to_ndarray(format="bgr24")
    assert first.shape[1] <= config.gif_width
    scale = (config.gif_width - 4) / (2 * 768)
    bar = first.shape[0] - round(432 * scale)  # the title bar above the frame
    height = label_height_above(first[:, : first.shape[1] // 2], id_color(1), bar + round(200 * scale))
    assert height >= 12, height
    _, _, (_, width) = video_facts(tmp_path / "v.mp4")
    assert width == 2 * 768 + 4  # both panels at the source's size, not 2x


@pytest.mark.parametrize(
    "case",
    ["missing weights", "the other model's weights", "folder without images", "sequence without images"],
)
def test_bad_input_stops_the_demo_before_anything_is_written(case, tmp_path, capsys):
    """Each used to fail after the output folder and results/<model>/data/ had been created (the other
    model's weights: after the synthetic scene had been rendered, when the model was loaded)."""
    source, weights = tmp_path / "src", []
    if case == "missing weights":
        write_gray_frames(source, 2, (64, 48))
        weights = ["--weights", str(tmp_path / "nope.safetensors")]
    elif case == "the other model's weights":
        write_gray_frames(source, 2, (64, 48))
        weights = ["--weights", str(bundled_weights("cstrack"))]
    else:
        source.mkdir()
        if case == "sequence without images":  # a MOTChallenge gt folder without its img1/ (MOT15's)
            (source / "seqinfo.ini").write_text(
                "[Sequence]\nname=src\nimDir=img1\nframeRate=7\nseqLength=2\nimWidth=64\nimHeight=48\n"
                "imExt=.jpg\n"
            )
    out = tmp_path / "out"
    args = ["demo", "--source", str(source), "--model", "fdta", *weights, "--out", str(out)]
    code, _, err = run_cli(args, capsys)
    assert code == 2
    error = err.strip().splitlines()[-1]
    named = weights[-1] if weights else source
    assert error.startswith(f"discmot: error: {named}: "), error
    if case == "the other model's weights":
        assert error.endswith(
            "a CSTrack checkpoint, not FDTA weights "
            '(give --model cstrack; in Python load_model("cstrack", ...))'
        ), error
    assert not out.exists()


def test_eval_corpus_refuses_the_tracking_options_it_would_ignore(tmp_path, capsys):
    """``--eval-corpus`` scores existing results: a --source or --model given with it was silently
    ignored, as if the corpus had been tracked with them."""
    out = tmp_path / "out"
    args = [
        "demo",
        "--eval-corpus",
        str(tmp_path),
        "--source",
        "clip.mp4",
        "--model",
        "fdta",
        "--out",
        str(out),
    ]
    code, _, err = run_cli(args, capsys)
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        "discmot: error: --eval-corpus scores existing results: --source, --model do not apply"
    )
    assert not out.exists()


def test_the_video_is_enlarged_only_while_panels_and_titles_fit_the_screen():
    config = DemoConfig()
    assert video_scale((256, 160), 2, config) == 2  # the demo scene: 1028 x 342
    assert video_scale((479, 270), 2, config) == 2  # 2 x 958 + the 4-px gap = 1920 wide
    assert video_scale((480, 270), 2, config) == 1  # 1920 + the gap: too wide
    assert video_scale((960, 529), 1, config) == 2  # 1058 + the title bar = 1080
    assert video_scale((960, 530), 1, config) == 1


def test_a_webcam_is_refused_before_anything_is_written(tmp_path, capsys):
    code, _, err = run_cli(["demo", "--source", "0", "--out", str(tmp_path / "out")], capsys)
    assert code == 2 and "the demo cannot use a webcam" in err and not (tmp_path / "out").exists()
