"""Ground truth a user's own dataset gets wrong in ways no parse error catches: boxes normalised to 0-1
(the YOLO habit), an empty gt.txt, a missing seqinfo.ini. Found by a "train on my own data" journey:
both FDTA training and jde-export trained on normalised boxes without a word."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from discmot.data.clip_sampler import ClipSampler, warn_sequences_without_clips
from discmot.data.jde_export import export_jde
from discmot.data.sequences import SequenceIndex
from discmot.data.synth import generate_dataset
from discmot.io.mot import MotFormatError
from discmot.io.seqinfo import read_seqinfo


def _one_sequence(tmp_path: Path, sequences: int = 1) -> list[Path]:
    generate_dataset(tmp_path, "tiny", split="train", sequences=sequences, frames=8, seed=2)
    return sorted((tmp_path / "train").iterdir())


def _normalise_gt(folder: Path) -> None:
    """Divides x, y, w, h by the image size, as a YOLO-style export would."""
    info = read_seqinfo(folder / "seqinfo.ini")
    gt = folder / "gt" / "gt.txt"
    rows = np.loadtxt(gt, delimiter=",", ndmin=2)
    rows[:, [2, 4]] /= info.width
    rows[:, [3, 5]] /= info.height
    gt.write_text("".join(",".join(f"{v:.6g}" for v in row) + "\n" for row in rows))


def test_training_warns_about_normalised_boxes_naming_the_file(tmp_path, caplog):
    folder = _one_sequence(tmp_path)[0]
    with caplog.at_level("WARNING"):
        SequenceIndex.from_root(tmp_path, "train")
    assert "normalised" not in caplog.text  # the synthetic gt is in pixels

    _normalise_gt(folder)
    caplog.clear()
    with caplog.at_level("WARNING"):
        SequenceIndex.from_root(tmp_path, "train")
    assert f"{folder / 'gt' / 'gt.txt'}: every box fits in 1x1 pixel" in caplog.text
    assert "multiply by the image size" in caplog.text


def test_jde_export_warns_about_normalised_boxes(tmp_path, caplog):
    folder = _one_sequence(tmp_path)[0]
    _normalise_gt(folder)
    with caplog.at_level("WARNING"):
        export_jde([folder], tmp_path / "jde", "mine", "train")
    assert f"{folder / 'gt' / 'gt.txt'}: every box fits in 1x1 pixel" in caplog.text


def test_a_sequence_with_an_empty_gt_is_said_to_have_no_box(tmp_path, caplog):
    folders = _one_sequence(tmp_path, sequences=2)
    (folders[1] / "gt" / "gt.txt").write_text("")
    index = SequenceIndex.from_root(tmp_path, "train")
    with caplog.at_level("WARNING"):
        warn_sequences_without_clips(index, 4, 4)
    assert f"{index.records[1].name} (its gt has no box)" in caplog.text

    (folders[0] / "gt" / "gt.txt").write_text("")
    index = SequenceIndex.from_root(tmp_path, "train")
    with pytest.raises(ValueError, match=f"{index.records[0].name}: its gt has no box"):
        ClipSampler(index, 4).clips()


def test_a_missing_seqinfo_points_at_the_template(tmp_path):
    with pytest.raises(MotFormatError, match="imWidth, imHeight, frameRate: docs/datasets.md has a template"):
        read_seqinfo(tmp_path / "seqinfo.ini")
