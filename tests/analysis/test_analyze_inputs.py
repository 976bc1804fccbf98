"""`discmot analyze` on a user's inputs: what is wrong is said before the model runs."""

from __future__ import annotations

import html
from pathlib import Path

import cv2
import numpy as np

from discmot.cli import main
from helpers import unwritable_folder

FDTA_FILE = "fdta_tiny_synth_dancetrack.safetensors"


def gray_frames(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True)
    for number in range(1, count + 1):
        cv2.imwrite(str(folder / f"{number:06d}.png"), np.full((48, 64, 3), 128, np.uint8))
    return folder


def test_an_output_folder_that_is_a_file_is_refused_before_the_model_runs(tmp_path, capsys):
    """The output folder used to be checked only when the report was written, after the whole analysis.
    The weights here are not a checkpoint at all: the output folder is named first, so it was checked
    before they were loaded."""
    frames = gray_frames(tmp_path / "frames", 2)
    weights = tmp_path / "w.safetensors"
    weights.write_bytes(b"not a checkpoint")
    out = tmp_path / "report"
    out.write_text("a file in the way")
    code = main(["analyze", str(frames), "--model", "fdta", "--weights", str(weights), "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1] == f"discmot: error: {out}: not a folder (a file is in the way)", err
    assert out.read_text() == "a file in the way"


def test_an_output_folder_below_a_file_is_refused_too(tmp_path, capsys):
    frames = gray_frames(tmp_path / "frames", 2)
    (tmp_path / "blocker").write_text("")
    weights = tmp_path / "w.safetensors"
    weights.write_bytes(b"not a checkpoint")
    out = tmp_path / "blocker" / "report"
    code = main(["analyze", str(frames), "--model", "cstrack", "--weights", str(weights), "--out", str(out)])
    assert code == 2
    assert (
        capsys.readouterr()
        .err.strip()
        .endswith(f"{tmp_path / 'blocker'}: not a folder (a file is in the way)")
    )


def test_an_output_folder_that_cannot_be_written_is_refused_before_the_model_runs(tmp_path, capsys):
    """A read-only place used to be found only when the report was written, after the whole analysis.
    The weights are not a checkpoint: the output folder's error comes first, and no folder is made."""
    frames = gray_frames(tmp_path / "frames", 2)
    weights = tmp_path / "w.safetensors"
    weights.write_bytes(b"not a checkpoint")
    out = unwritable_folder(tmp_path) / "reports" / "run1"
    code = main(["analyze", str(frames), "--model", "fdta", "--weights", str(weights), "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    reasons = ("permission denied", "read-only file system")
    assert err[-1] in [f"discmot: error: {out}: {reason}" for reason in reasons], err
    assert not out.parent.exists()


def test_a_source_where_nothing_is_identified_says_so_once_with_what_to_check(tmp_path, capsys, caplog):
    """Gray frames: FDTA finds nobody. Each gap used to blame itself ("no object found again 1 frame
    later"), the histogram's title printed Python's "nan" where the table prints "n/a", and the report had
    no matrix and no map without a word on why."""
    import json

    frames = gray_frames(tmp_path / "frames", 3)
    out = tmp_path / "report"
    weights = Path(__file__).resolve().parents[2] / "src" / "discmot" / "assets"
    argv = ["analyze", str(frames), "--model", "fdta", "--weights", str(weights / FDTA_FILE)]
    with caplog.at_level("WARNING", logger="discmot"):
        assert main([*argv, "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["views"]["decoder"]["pairs"] == 0 and summary["matrices"] == []
    note = "no object identified in the 3 analysed frames: the model's own tracker kept no detection"
    assert len(summary["notes"]) == 1 and summary["notes"][0].startswith(note)
    assert caplog.text.count(note) == 1
    assert summary["views"]["decoder"]["reid"][0]["reason"] == "no object identified in the 3 analysed frames"
    assert html.escape(summary["notes"][0]) in (out / "report.html").read_text()
    printed = capsys.readouterr().out
    assert "fraction > 0.9: n/a" in printed and "nan" not in printed


def test_a_folder_given_as_gt_is_named_as_a_folder(tmp_path, capsys):
    frames = gray_frames(tmp_path / "frames", 1)
    weights = Path(__file__).resolve().parents[2] / "src" / "discmot" / "assets" / FDTA_FILE
    argv = ["analyze", str(frames), "--model", "fdta", "--weights", str(weights), "--gt", str(tmp_path)]
    assert main([*argv, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err == f"discmot: error: {tmp_path}: a folder, not a ground-truth file (give its gt/gt.txt)\n"
    assert not (tmp_path / "out").exists()
