"""Small CLI mends (session 30): the checks that need no model come before ``on_start`` (the busy-cores
warning, a model's load), eval's "not found" names say what is there, ``timeout``'s line names an older
output only where there was one, and ``discmot bench`` says that the source comes first."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

import discmot
from discmot.cli import build_parser, interrupted_outputs, main
from discmot.data.synth import generate_dataset

ASSETS = Path(discmot.__file__).parent / "assets"
FDTA_TINY = ASSETS / "fdta_tiny_synth_dancetrack.safetensors"


@pytest.fixture
def split(tmp_path) -> Path:
    """A 1-sequence split of 3 small frames (images and ground truth; no det/)."""
    generate_dataset(tmp_path / "data", "tiny", split="val", sequences=1, frames=3, size=(64, 48), seed=1)
    return tmp_path / "data" / "val"


# --------------------------------------------------------------------------------------------------
# 1. Bad input is refused before on_start


ONE_SOURCE_ERRORS = [
    # (keywords of discmot.track, what the error says)
    ({"model": "fdta", "weights": FDTA_TINY, "save_video": "{tmp}/x.txt"}, "needs a video file name"),
    ({"model": "fdta", "weights": FDTA_TINY, "save_txt": "{tmp}/x.mp4"}, "x.mp4"),
    ({"model": "fdta", "weights": FDTA_TINY, "save_txt": "{tmp}/x.txt", "save_video": "{tmp}/x.txt"}, "same"),
    ({"model": "fdta", "weights": "{tmp}/nosuch.pth"}, "nosuch.pth: no such checkpoint"),
    ({"model": "cstrack", "weights": "{tmp}/nosuch.pt"}, "nosuch.pt: no such checkpoint"),
    ({"detector": "{tmp}/nosuch.onnx"}, "nosuch.onnx: ONNX model file not found"),
    ({"detector": "{tmp}/junk.onnx", "save_video": "{tmp}/x.txt"}, "needs a video file name"),
    ({"detections": "{tmp}/det.txt", "reid": "{tmp}/nosuch.onnx"}, "nosuch.onnx: ONNX model file not found"),
    ({"detections": "{tmp}/nosuch.txt"}, "nosuch.txt: file not found"),
]


@pytest.mark.parametrize(("keywords", "said"), ONE_SOURCE_ERRORS)
def test_track_of_one_source_refuses_bad_input_before_on_start(keywords, said, split, tmp_path):
    sequence = next(split.iterdir())
    (tmp_path / "det.txt").write_text("1,-1,1,1,10,20,1\n")
    (tmp_path / "junk.onnx").write_text("not a model\n")  # refused only when loaded
    given = {key: str(value).format(tmp=tmp_path) for key, value in keywords.items()}
    started = []
    with pytest.raises((ValueError, OSError), match=said):
        discmot.track(sequence / "img1", on_start=lambda: started.append(1), **given)
    assert started == []


SPLIT_ERRORS = [
    ({"model": "fdta", "weights": "{tmp}/nosuch.pth"}, "nosuch.pth: no such checkpoint"),
    ({"detector": "{tmp}/nosuch.onnx"}, "nosuch.onnx: ONNX model file not found"),
    ({"model": "fdta", "weights": FDTA_TINY, "split_out": "{tmp}/file/out"}, "a file is in the way"),
    ({"model": "fdta", "weights": FDTA_TINY, "tracker_name": "a/b"}, "a folder name"),
]


@pytest.mark.parametrize(("keywords", "said"), SPLIT_ERRORS)
def test_track_of_a_split_refuses_bad_input_before_on_start(keywords, said, split, tmp_path):
    (tmp_path / "file").write_text("in the way\n")
    given = {"split_out": str(tmp_path / "out")}
    given |= {key: str(value).format(tmp=tmp_path) for key, value in keywords.items()}
    started = []
    with pytest.raises((ValueError, OSError), match=said):
        discmot.track(split, on_start=lambda: started.append(1), **given)
    assert started == []
    assert not (tmp_path / "out").exists()


def test_track_still_calls_on_start_once_the_input_checked_out(split, tmp_path):
    started = []
    track = functools.partial(discmot.track, on_start=lambda: started.append(1), max_frames=2)
    summary = track(
        next(split.iterdir()) / "img1", model="fdta", weights=FDTA_TINY, save_txt=tmp_path / "a.txt"
    )
    assert started == [1] and summary["frames"] == 2 and (tmp_path / "a.txt").is_file()


# --------------------------------------------------------------------------------------------------
# 2. A tracker or sequence name not found: the close ones and the ones there


@pytest.fixture
def eval_folders(tmp_path) -> tuple[Path, Path]:
    """TrackEval's layout for MOT17 train: two sequences' ground truth and two trackers' results."""
    gt, trackers = tmp_path / "gt", tmp_path / "trackers"
    for name in ("MOT17-02-FRCNN", "MOT17-05-FRCNN"):
        (gt / "MOT17-train" / name / "gt").mkdir(parents=True)
        (gt / "MOT17-train" / name / "gt" / "gt.txt").write_text("1,1,10,10,20,40,1,1,1\n")
        seqinfo = f"[Sequence]\nname={name}\nseqLength=1\nimWidth=64\nimHeight=64\nframeRate=30\n"
        (gt / "MOT17-train" / name / "seqinfo.ini").write_text(seqinfo)
        for tracker in ("jde", "jde-interpolated"):
            (trackers / "MOT17-train" / tracker / "data").mkdir(parents=True, exist_ok=True)
            (trackers / "MOT17-train" / tracker / "data" / f"{name}.txt").write_text(
                "1,1,10,10,20,40,1,-1,-1,-1\n"
            )
    return gt, trackers


@pytest.mark.parametrize(
    ("option", "said"),
    [
        (["--trackers", "jdee"], "(did you mean jde? the trackers there: jde and jde-interpolated)"),
        (["--trackers", "sort"], "(the trackers there: jde and jde-interpolated)"),
        (
            ["--sequences", "MOT17-05"],
            "(did you mean MOT17-05-FRCNN? the sequences there: MOT17-02-FRCNN and MOT17-05-FRCNN)",
        ),
        (["--sequences", "MOT20-01"], "(the sequences there: MOT17-02-FRCNN and MOT17-05-FRCNN)"),
    ],
)
def test_eval_names_the_close_and_the_present_trackers_and_sequences(option, said, eval_folders, capsys):
    gt, trackers = eval_folders
    words = ["eval", "--gt-folder", str(gt), "--trackers-folder", str(trackers), "--benchmark", "MOT17"]
    assert main([*words, *option]) == 2
    err = capsys.readouterr().err
    assert err.rstrip().endswith(f"not found {said}") and err.count("\n") == 1, err
    assert main([*words, "--trackers", "jde", "--sequences", "MOT17-05-FRCNN"]) == 0  # the names it gave


# --------------------------------------------------------------------------------------------------
# 3. A stopped track speaks of older outputs only where there are some


@pytest.mark.parametrize(
    ("older", "said"),
    [
        ((), ": {txt} and {mp4} not written"),
        (("txt",), ": {txt} and {mp4} not written (the older {txt} is kept as it was)"),
        (("txt", "mp4"), ": {txt} and {mp4} not written (the older files there are kept as they were)"),
    ],
)
def test_the_interrupt_note_names_older_outputs_only_where_they_exist(older, said, tmp_path):
    paths = {"txt": str(tmp_path / "int.txt"), "mp4": str(tmp_path / "int.mp4")}
    for kind in older:
        Path(paths[kind]).write_text("older\n")
    args = build_parser().parse_args(
        ["track", "v.avi", "--save-txt", paths["txt"], "--save-video", paths["mp4"]]
    )
    assert interrupted_outputs(args) == said.format(**paths)


def test_the_interrupt_note_of_one_output(tmp_path):
    out = tmp_path / "int.txt"
    args = build_parser().parse_args(["track", "v.avi", "--save-txt", str(out)])
    assert interrupted_outputs(args) == f": {out} not written"
    out.write_text("older\n")
    assert interrupted_outputs(args) == f": {out} not written (an older file there is kept as it was)"


# --------------------------------------------------------------------------------------------------
# 4. discmot bench: a source given after --model or --dtype


@pytest.mark.parametrize("option", [["--model", "fdta"], ["--dtype", "fp32", "bf16"]])
def test_bench_says_that_a_source_after_an_option_of_several_values_comes_first(option, tmp_path, capsys):
    clip = tmp_path / "clip.avi"
    clip.write_bytes(b"")  # only its being there counts
    with pytest.raises(SystemExit) as stopped:
        main(["bench", *option, str(clip)])
    assert stopped.value.code == 2
    err = capsys.readouterr().err.splitlines()[-1]
    assert err == (
        f"discmot bench: error: argument {option[0]}: {clip} is a source, which comes first (before "
        f"{option[0]}, as {option[0]} takes several values): discmot bench SOURCE {option[0]} ..."
    )


def test_bench_keeps_argparse_words_for_other_values_and_takes_a_choice_named_as_a_folder(
    tmp_path, monkeypatch, capsys
):
    with pytest.raises(SystemExit):
        main(["bench", "--model", "fdta", str(tmp_path / "nosuch.avi")])
    assert "invalid choice: " in capsys.readouterr().err
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fdta").mkdir()  # a folder named as the choice: still the choice
    args = build_parser().parse_args(["bench", "--model", "fdta", "--dtype", "fp32"])
    assert args.model == ["fdta"] and args.dtype == ["fp32"]


def test_a_mistyped_split_with_split_out_is_said_to_be_missing(tmp_path, capsys):
    """``track data/vall --split-out OUT`` (no such folder) was "one source, not a folder of sequence
    folders", sending the user after --save-txt."""
    from discmot.cli import main

    missing = tmp_path / "vall"
    command = ["track", str(missing), "--model", "cstrack", "--weights", "bundled", "--split-out", "o"]
    assert main(command) == 2
    err = capsys.readouterr().err
    assert f"{missing}: no such file or folder" in err and "one source" not in err
