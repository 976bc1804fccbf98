"""`discmot track` / `discmot.track` leftovers (session 30): no private switch in the public signature, a
split's eval hint that names the benchmark `discmot eval` needs, and ``--skip-existing`` deciding what is
left before any model loads."""

from __future__ import annotations

import functools
import inspect
import logging
import shlex
from pathlib import Path

import pytest

import discmot
from discmot.cli import main
from discmot.data.synth import generate_dataset
from discmot.engine import track_verb
from discmot.io.mot import read_mot_table
from helpers import require_module

HINT = "evaluate with: "


def detections_from_gt(folder: Path) -> None:
    """``det/det.txt`` holding the sequence's ground-truth boxes (score 1): the JDE cascade tracks it
    without a network."""
    gt = read_mot_table(folder / "gt" / "gt.txt", min_columns=6).values
    (folder / "det").mkdir()
    (folder / "det" / "det.txt").write_text(
        "".join(f"{int(r[0])},-1,{r[2]:.2f},{r[3]:.2f},{r[4]:.2f},{r[5]:.2f},1\n" for r in gt)
    )


def printed_hint(capsys) -> str:
    """The eval hint ``discmot track`` printed last (stdout)."""
    lines = capsys.readouterr().out.splitlines()
    assert lines and lines[-1].startswith(HINT), lines
    return lines[-1]


def run_hint(hint: str, tmp_path: Path, capsys) -> str:
    """Runs the printed ``discmot eval`` command as it is (plus a JSON file to read its numbers from);
    returns the JSON text."""
    words = shlex.split(hint.removeprefix(HINT))
    assert words[0] == "discmot"
    json_path = tmp_path / "metrics.json"
    assert main(["-q", *words[1:], "--json", str(json_path)]) == 0, capsys.readouterr().err
    return json_path.read_text()


# --------------------------------------------------------------------------------------------------
# 1. No private keyword in discmot.track's signature


def test_track_signature_has_no_private_parameter_and_matches_the_implementation():
    public = inspect.signature(discmot.track).parameters
    assert not [name for name in public if name.startswith("_")]
    # the implementation both track and `discmot track` call takes every keyword, plus the naming
    private = inspect.signature(track_verb.run_track).parameters
    assert list(private) == ["source", "command_line", *list(public)[1:]]
    with pytest.raises(TypeError, match="_cli"):
        discmot.track("x", _cli=True)


# --------------------------------------------------------------------------------------------------
# 2. A split's eval hint carries the benchmark eval needs


@pytest.fixture
def mot15_root(tmp_path) -> Path:
    """A dataset root named MOT15 (``MOT15/train/<seq>``) whose gt is MOT15's: no class column (-1),
    which MOT17's rules, eval's default, refuse."""
    (folder,) = generate_dataset(tmp_path / "src", "tiny", split="train", sequences=1, frames=4, seed=3)
    root = tmp_path / "MOT15"
    sequence = root / "train" / folder.name
    sequence.mkdir(parents=True)
    (sequence / "seqinfo.ini").write_text((folder / "seqinfo.ini").read_text())
    (sequence / "gt").mkdir()
    rows = read_mot_table(folder / "gt" / "gt.txt", min_columns=6).values
    (sequence / "gt" / "gt.txt").write_text(
        "".join(f"{int(r[0])},{int(r[1])},{r[2]:g},{r[3]:g},{r[4]:g},{r[5]:g},1,-1,-1,-1\n" for r in rows)
    )
    detections_from_gt(sequence)
    return root


def test_the_hint_for_a_mot15_root_names_mot15_and_runs_as_printed(mot15_root, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["-q", "track", str(mot15_root / "train"), "--split-out", str(out)]) == 0
    hint = printed_hint(capsys)
    assert hint == (
        f"{HINT}discmot eval --gt-folder {mot15_root.resolve()} --trackers-folder {out} --benchmark MOT15 "
        "--split train"
    )
    assert '"MOTA"' in run_hint(hint, tmp_path, capsys)


def test_the_hint_for_synthetic_dancetrack_names_dancetrack_and_runs_as_printed(tmp_path, capsys):
    root = tmp_path / "synth"
    for folder in generate_dataset(root, "dancetrack", split="val", sequences=2, frames=3, size=(64, 48)):
        detections_from_gt(folder)
    out = tmp_path / "out"
    assert main(["-q", "track", str(root / "val"), "--split-out", str(out)]) == 0
    hint = printed_hint(capsys)
    assert hint.endswith(f"--trackers-folder {out} --benchmark DanceTrack --split val")
    metrics = run_hint(hint, tmp_path, capsys)
    assert "dancetrack-val-0000" in metrics and "dancetrack-val-0001" in metrics


def test_the_datasets_benchmark_wins_over_the_one_tracked_with_and_the_hint_runs(
    mot15_root, tmp_path, capsys
):
    """Tracked with --benchmark MOT16 (its tracker settings), scored by the gt's own rules: the hint said
    --benchmark MOT16, and that command failed on MOT15's class -1 gt."""
    split = mot15_root / "train"
    assert (
        main(["-q", "track", str(split), "--split-out", str(tmp_path / "out"), "--benchmark", "MOT16"]) == 0
    )
    hint = printed_hint(capsys)
    assert hint.endswith("--benchmark MOT15 --split train")
    assert '"MOTA"' in run_hint(hint, tmp_path, capsys)


def test_the_benchmark_tracked_with_is_kept_where_the_dataset_names_none(mot15_root, tmp_path, capsys):
    split = mot15_root.rename(tmp_path / "mydata") / "train"  # a root named after no benchmark
    assert (
        main(["-q", "track", str(split), "--split-out", str(tmp_path / "out"), "--benchmark", "MOT15"]) == 0
    )
    assert printed_hint(capsys).endswith("--benchmark MOT15 --split train")


def test_a_split_without_gt_gets_no_hint(mot15_root, tmp_path, capsys):
    split = mot15_root / "train"
    for gt in split.glob("*/gt/gt.txt"):  # a test split: nothing to score, no command that fails
        gt.unlink()
    assert main(["-q", "track", str(split), "--split-out", str(tmp_path / "o2")]) == 0
    assert HINT not in capsys.readouterr().out


def test_one_sequence_of_a_mot15_root_gets_a_hint_that_runs(mot15_root, tmp_path, capsys):
    """One sequence tracked into --save-txt: its hint named no benchmark, and eval's default MOT17 rules
    refused the MOT15 gt."""
    (sequence,) = (mot15_root / "train").iterdir()
    results = tmp_path / "one.txt"
    assert main(["-q", "track", str(sequence), "--save-txt", str(results)]) == 0
    hint = printed_hint(capsys)
    assert hint.endswith(f"--results {results} --benchmark MOT15")
    assert '"MOTA"' in run_hint(hint, tmp_path, capsys)


# --------------------------------------------------------------------------------------------------
# 3. --skip-existing loads no model when nothing is left


@pytest.fixture
def tracked_split(tmp_path) -> tuple[Path, Path]:
    """A 2-sequence split (images, gt and det/det.txt) and ``--split-out`` holding both results under the
    tracker name ``t``."""
    root = tmp_path / "data"
    for folder in generate_dataset(root, "tiny", split="val", sequences=2, frames=3, seed=1):
        detections_from_gt(folder)
    out = tmp_path / "out"
    assert main(["-q", "track", str(root / "val"), "--split-out", str(out), "--tracker-name", "t"]) == 0
    return root / "val", out


@pytest.mark.parametrize(
    "model_options",
    [["--detector", "{junk}.onnx"], ["--model", "cstrack", "--weights", "{junk}.pt"]],
    ids=["onnx-detector", "end-to-end-weights"],
)
def test_skip_existing_reads_no_model_when_every_result_exists(
    tracked_split, model_options, tmp_path, capsys, caplog
):
    if "--detector" in model_options:
        require_module("onnxruntime")  # without it, that missing package is the one error said
    split, out = tracked_split
    junk = tmp_path / "junk"  # files that are no model: reading one is an error naming it
    options = [option.format(junk=junk) for option in model_options]
    Path(options[-1]).write_text("not a model\n")
    track = ["track", str(split), "--split-out", str(out), "--tracker-name", "t", *options, "--skip-existing"]
    capsys.readouterr()
    with caplog.at_level(logging.INFO, logger="discmot"):
        assert main(track) == 0
    data = out / "t" / "data"
    assert f"every sequence's results (2) are already in {data} (--skip-existing): nothing to track" in (
        caplog.text
    )
    assert "keep the CPUs busy" not in caplog.text  # nothing slow follows: no hint about the cores
    (data / "tiny-val-0001.txt").unlink()
    assert main(track) == 2  # one sequence left: the model is read, and refused
    err = capsys.readouterr().err
    assert err.startswith(f"discmot: error: {options[-1]}") and err.count("\n") == 1


def test_python_skip_existing_calls_no_on_start_and_returns_nothing_when_every_result_exists(
    tracked_split, tmp_path
):
    split, out = tracked_split
    junk = tmp_path / "junk.onnx"
    junk.write_text("not a model\n")
    started = []
    track = functools.partial(
        discmot.track,
        split,
        detector=junk,
        split_out=out,
        tracker_name="t",
        skip_existing=True,
        on_start=lambda: started.append(1),
    )
    assert track() == {} and started == []
    require_module("onnxruntime")  # reading the junk model needs it: else that is the error said
    (out / "t" / "data" / "tiny-val-0000.txt").unlink()
    with pytest.raises(ValueError, match="junk.onnx"):
        track()
    assert started == [1]
