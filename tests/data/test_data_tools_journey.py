"""What a user of `discmot synth`, `discmot jde-export` and `discmot depth` runs into on the command line:
out-of-range values, reruns into a folder that already holds files, ground-truth-only downloads, progress."""

from __future__ import annotations

import logging
import shutil
import sys

import pytest

import helpers
from discmot.cli import main
from discmot.data.synth import generate_dataset, render_sequence
from discmot.data.synth.render import MAX_FRAMES, check_render_request


def test_a_frame_count_no_memory_holds_is_one_line_before_anything_is_written(tmp_path, capsys):
    # --frames 1000000000 was killed for memory (a scene draws its whole motion at once; mot's grows with
    # the square of the length: 40,000 frames took 1.8 GB)
    out = tmp_path / "out"
    assert main(["synth", "--preset", "tiny", "--out", str(out), "--frames", str(MAX_FRAMES + 1)]) == 2
    err = capsys.readouterr().err
    assert f"{MAX_FRAMES + 1} frames: a sequence has at most {MAX_FRAMES}" in err
    assert "--sequences" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
    with pytest.raises(ValueError, match=f"at most {MAX_FRAMES}"):
        generate_dataset(tmp_path / "api", "tiny", frames=MAX_FRAMES + 1)
    # the cap is synth's: bench, demo and depth re-render scenes of the length they are asked for
    assert next(iter(render_sequence("tiny", seed=0, num_frames=MAX_FRAMES + 1))).image.shape == (80, 128, 3)
    check_render_request(0, MAX_FRAMES, None)  # the longest allowed is allowed


def test_the_help_shows_the_defaults_and_the_frame_limit(capsys):
    with pytest.raises(SystemExit):
        main(["synth", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: dancetrack)" in text
    assert f"at most {MAX_FRAMES}" in text
    assert "128x80 for tiny, 320x192 for the others" in text
    with pytest.raises(SystemExit):
        main(["depth", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "pip install 'discmot[depth]'" in text and "maps already there are replaced" in text


def test_a_users_own_folder_of_a_sequence_name_is_not_replaced(tmp_path, capsys):
    mine = tmp_path / "train" / "tiny-train-0001" / "img1" / "000001.jpg"
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"the user's frame")

    assert main(["synth", "--preset", "tiny", "--out", str(tmp_path), "--sequences", "2"]) == 2

    err = capsys.readouterr().err
    assert "tiny-train-0001: exists and is not a discmot synth sequence" in err
    assert mine.read_bytes() == b"the user's frame"  # was deleted with its folder
    assert sorted(p.name for p in (tmp_path / "train").iterdir()) == ["tiny-train-0001"]  # nothing written


def test_an_earlier_render_is_still_replaced_and_a_rerun_is_byte_identical(tmp_path):
    generate_dataset(tmp_path, "tiny", sequences=1, frames=3)
    before = {p: p.read_bytes() for p in sorted(tmp_path.rglob("*")) if p.is_file()}
    generate_dataset(tmp_path, "tiny", sequences=1, frames=3)
    assert {p: p.read_bytes() for p in sorted(tmp_path.rglob("*")) if p.is_file()} == before


def test_a_shorter_rerun_names_the_earlier_jde_files_it_leaves(tmp_path, caplog):
    generate_dataset(tmp_path, "tiny", sequences=1, frames=4, jde=True)
    with caplog.at_level(logging.WARNING, logger="discmot"):
        generate_dataset(tmp_path, "tiny", sequences=1, frames=2, jde=True)
    # frames 3 and 4: an image link and a label file each
    assert "tiny-train-0000: 4 file(s) of an earlier export are not part of this one" in caplog.text
    assert "00000003.jpg" in caplog.text
    listed = (tmp_path / "jde" / "synth_tiny.train").read_text().split()
    assert [entry.rsplit("/", 1)[1] for entry in listed] == ["00000001.jpg", "00000002.jpg"]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="discmot"):
        generate_dataset(tmp_path / "fresh", "tiny", sequences=1, frames=2, jde=True)
    assert "earlier export" not in caplog.text


def test_progress_without_a_terminal_is_a_line_per_sequence(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="discmot"):
        generate_dataset(tmp_path, "tiny", sequences=2, frames=2)
    assert "tiny-train-0000: 2 frames (1 of 2 sequences)" in caplog.text
    assert "tiny-train-0001: 2 frames (2 of 2 sequences)" in caplog.text


def test_the_progress_bar_is_finished_before_the_jde_export_logs(tmp_path, capsys):
    handler = logging.StreamHandler(sys.stderr)  # the captured stderr, which tqdm writes to as well
    logger = logging.getLogger("discmot")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        generate_dataset(tmp_path, "tiny", sequences=1, frames=3, jde=True, progress=True)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    err = capsys.readouterr().err
    assert err.index("3/3") < err.index("synth_tiny.train: 3 images")  # was drawn over the log line


def _gt_only_split(root):
    """A ground-truth-only download: ``train/<seq>/gt/gt.txt`` and ``seqinfo.ini``, no frames."""
    for name in ("SEQ-02", "SEQ-05"):
        (root / "train" / name / "gt").mkdir(parents=True)
        (root / "train" / name / "gt" / "gt.txt").write_text("1,1,10,10,20,40,1,1,1\n")
    return root


def test_jde_export_of_a_gt_only_download_says_the_frames_are_missing(tmp_path, capsys):
    root = _gt_only_split(tmp_path / "data")
    common = ["jde-export", "--data-root", str(root), "--out", str(tmp_path / "jde"), "--name", "x"]

    assert main(common) == 2
    assert "2 folder(s) such as SEQ-02 have gt/ but no frames" in capsys.readouterr().err
    assert main([*common, "--sequences", "SEQ-05"]) == 2  # was "no sequence folder SEQ-05" though it is there
    assert "SEQ-05: no img1/ folder" in capsys.readouterr().err
    assert main([*common, "--split", "test"]) == 2
    assert "test: split folder not found (its folders: train)" in capsys.readouterr().err
    assert not (tmp_path / "jde").exists()


def test_jde_export_of_the_shared_mot17_gt_says_the_frames_are_missing(tmp_path, capsys):
    mot17 = helpers.shared_file("data/mot/MOT17")
    out = tmp_path / "jde"
    assert main(["jde-export", "--data-root", str(mot17), "--out", str(out), "--name", "mot17"]) == 2
    assert "such as MOT17-02-FRCNN have gt/ but no frames" in capsys.readouterr().err
    assert not out.exists()


def test_jde_export_names_the_sequences_there_and_counts_a_repeated_one_once(tmp_path, capsys, caplog):
    root = tmp_path / "synth"
    generate_dataset(root, "tiny", sequences=2, frames=2)
    common = ["jde-export", "--data-root", str(root), "--out", str(tmp_path / "jde"), "--name", "x"]

    assert main([*common, "--sequences", "tiny-train-9"]) == 2
    assert "(its sequences: tiny-train-0000, tiny-train-0001)" in capsys.readouterr().err
    with caplog.at_level(logging.INFO, logger="discmot"):
        assert main([*common, "--sequences", "tiny-train-0000", "tiny-train-0000"]) == 0
    assert "from 1 sequence" in caplog.text  # said "from 2 sequences" for the one it exported


def test_jde_export_without_gt_says_a_test_split_has_none(tmp_path, capsys):
    root = tmp_path / "synth"
    sequence = generate_dataset(root, "tiny", sequences=1, frames=2, split="test")[0]
    shutil.rmtree(sequence / "gt")
    args = [
        "jde-export",
        "--data-root",
        str(root),
        "--split",
        "test",
        "--out",
        str(tmp_path / "j"),
        "--name",
        "x",
    ]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"{sequence / 'gt' / 'gt.txt'}: not found" in err and "a test split has none" in err


def test_depth_says_it_replaces_the_maps_that_were_there(tmp_path, caplog):
    root = tmp_path / "synth"
    sequence = generate_dataset(root, "tiny", sequences=1, frames=3)[0]
    args = ["depth", "--data-root", str(root), "--split", "train", "--estimator", "synthetic"]
    with caplog.at_level(logging.INFO, logger="discmot"):
        assert main(args) == 0
    assert (
        f"tiny-train-0000: 3 depth maps (replacing the 3 maps that were in {sequence / 'depth'})"
        in caplog.text
    )
    shutil.rmtree(sequence / "depth")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="discmot"):
        assert main(args) == 0
    assert "tiny-train-0000: 3 depth maps\n" in caplog.text + "\n" and "replacing" not in caplog.text
