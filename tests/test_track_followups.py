"""`discmot track` follow-ups of two user journeys (2026-11-24): the skipped-frames count names no cause
it does not know, one source with ground truth gets its `discmot eval --gt --results` command, the
bundled-weights hint of library calls, the output filter's public count, SIGTERM naming the outputs not
written, and a folder with only ``img1/`` using its own ``det/det.txt``."""

from __future__ import annotations

import json
import logging
import os
import shlex
import shutil
import signal
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from discmot.cli import main
from discmot.data.synth import generate_dataset
from discmot.io.mot import read_mot_table
from discmot.structures import Detections


@pytest.fixture(scope="module")
def sequence(tmp_path_factory) -> Path:
    """A 12-frame 128x80 synthetic sequence (seqinfo.ini, img1/, gt/gt.txt) whose ``det/det.txt`` holds
    its gt boxes (score 1)."""
    (folder,) = generate_dataset(tmp_path_factory.mktemp("followups"), "tiny", sequences=1)
    gt = read_mot_table(folder / "gt" / "gt.txt").values
    (folder / "det").mkdir()
    rows = [f"{int(r[0])},-1,{r[2]:g},{r[3]:g},{r[4]:g},{r[5]:g},1,-1,-1,-1\n" for r in gt]
    (folder / "det" / "det.txt").write_text("".join(rows))
    return folder


def stdout_lines(capsys) -> list[str]:
    return capsys.readouterr().out.strip().splitlines()


# --- 1. the skipped frames' count ---------------------------------------------------------------------


def test_missing_images_are_counted_as_skipped_frames_not_as_undecodable_ones(sequence, tmp_path, capsys):
    frames = tmp_path / "img1"
    shutil.copytree(sequence / "img1", frames)
    for number in (3, 4):  # deleted images: frames 3 and 4 have no image file, nothing failed to decode
        (frames / f"{number:08d}.jpg").unlink()
    argv = ["track", str(frames), "--detections", str(sequence / "det" / "det.txt")]
    assert main([*argv, "--save-txt", str(tmp_path / "r.txt")]) == 0
    (line,) = [line for line in stdout_lines(capsys) if line.startswith("img1:")]
    assert "10 frames in" in line and ", 2 frames skipped (see the warnings above);" in line
    assert "undecodable" not in line


# --- 2. one source with ground truth: the pair's eval command -----------------------------------------


def test_a_sequence_with_ground_truth_suggests_the_eval_command_that_scores_it(sequence, tmp_path, capsys):
    results = tmp_path / "out dir" / "seq.txt"  # a space: the command is quoted for the shell
    assert main(["track", str(sequence), "--save-txt", str(results)]) == 0
    hint = stdout_lines(capsys)[-1]
    gt = sequence / "gt" / "gt.txt"
    assert hint == f"evaluate with: discmot eval --gt {gt} --results '{results}'"
    # the suggested command runs as printed: tracked from the gt's own boxes, the pair scores well
    command = shlex.split(hint.removeprefix("evaluate with: "))
    assert command[:2] == ["discmot", "eval"]
    assert main(command[1:]) == 0
    combined = stdout_lines(capsys)[-1].split()
    assert combined[0] == "COMBINED" and float(combined[1]) > 0  # HOTA


def test_an_image_folder_of_a_sequence_suggests_its_parents_ground_truth(sequence, tmp_path, capsys):
    results = tmp_path / "r.txt"
    argv = ["track", str(sequence / "img1"), "--detections", str(sequence / "det" / "det.txt")]
    assert main([*argv, "--save-txt", str(results), "--benchmark", "MOT17"]) == 0
    expected = f"evaluate with: discmot eval --gt {sequence / 'gt' / 'gt.txt'} --results {results}"
    assert stdout_lines(capsys)[-1] == expected + " --benchmark MOT17"


def test_no_eval_command_without_ground_truth_or_results(sequence, tmp_path, capsys):
    plain = tmp_path / "plain"
    shutil.copytree(sequence / "img1", plain / "img1")  # a sequence folder without gt/
    detections = str(sequence / "det" / "det.txt")
    runs = {
        "no gt": [
            "track",
            str(plain / "img1"),
            "--detections",
            detections,
            "--save-txt",
            str(tmp_path / "a"),
        ],
        "no --save-txt": ["track", str(sequence)],
    }
    for argv in runs.values():
        assert main(argv) == 0
    assert "discmot eval" not in capsys.readouterr().out


def test_after_max_frames_the_eval_command_scores_the_frames_tracked(sequence, tmp_path, capsys):
    """``--max-frames 5`` tracks frames 1-5 of 12: the printed command scores those 5 (eval's
    ``--max-frames 5``), not the gt's frames 6-12 as misses; it runs as printed."""
    results = tmp_path / "r5.txt"
    assert main(["track", str(sequence), "--max-frames", "5", "--save-txt", str(results)]) == 0
    hint = stdout_lines(capsys)[-1]
    gt = sequence / "gt" / "gt.txt"
    assert hint == f"evaluate with: discmot eval --gt {gt} --results {results} --max-frames 5"
    command = shlex.split(hint.removeprefix("evaluate with: "))
    assert main([*command[1:], "--json", str(tmp_path / "hint.json")]) == 0
    scored = json.loads((tmp_path / "hint.json").read_text())[tmp_path.name][sequence.name]
    # the numbers of the files cut by hand after frame 5, scored as a sequence of 5 frames
    cut = tmp_path / "cut"
    (cut / sequence.name / "gt").mkdir(parents=True)
    kept = [line for line in gt.read_text().splitlines(keepends=True) if int(line.split(",")[0]) <= 5]
    assert 0 < len(kept) < len(gt.read_text().splitlines())  # the gt does run past frame 5
    (cut / sequence.name / "gt" / "gt.txt").write_text("".join(kept))
    (cut / tmp_path.name).mkdir()
    shutil.copy(results, cut / tmp_path.name / "r5.txt")  # frames 1-5 only already
    argv = ["eval", "--gt", str(cut / sequence.name / "gt" / "gt.txt"), "--results"]
    assert (
        main([*argv, str(cut / tmp_path.name / "r5.txt"), "--seq-length", "5", "--json", str(cut / "j")]) == 0
    )
    expected = json.loads((cut / "j").read_text())[tmp_path.name][sequence.name]
    assert scored == expected and scored["Count"]["Frames"] == 5
    assert scored["CLEAR"]["CLR_FN"] < scored["Count"]["GT_Dets"]  # tracked from its own boxes: found


# --- 3. the bundled weights, said to library callers --------------------------------------------------


@pytest.mark.parametrize("kind", ["fdta", "cstrack"])
def test_the_missing_weights_error_names_the_option_and_the_python_call(kind):
    from discmot.engine.end_to_end import cstrack_factory, fdta_tracker

    build = {
        "fdta": lambda: fdta_tracker(None, None, "cpu", "fp32", None),
        "cstrack": lambda: cstrack_factory(None),
    }
    with pytest.raises(ValueError) as error:
        build[kind]()
    message = str(error.value)
    assert message.endswith(
        f'--weights bundled on the command line, discmot.bundled_weights("{kind}") in Python'
    )
    assert "python -c" not in message


def test_the_model_zoo_names_weights_bundled_not_a_python_one_liner():
    text = (Path(__file__).resolve().parents[1] / "docs" / "model_zoo.md").read_text()
    assert "--weights bundled" in text and "python -c" not in text


# --- 4. the output filter's count, public --------------------------------------------------------------


def wide_person(classes=None) -> Detections:
    """One detection 1.5 times wider than tall: no standing person for the pedestrian output filter."""
    return Detections(np.array([[10.0, 10.0, 60.0, 40.0]]), np.array([0.9]), None, classes)


def test_trackers_say_how_many_boxes_the_output_filter_dropped():
    from discmot.engine.track_end_to_end import _filtered_rows
    from discmot.trackers.association import JDETracker, JDETrackerConfig
    from discmot.trackers.per_class import PerClassTracker

    config = JDETrackerConfig.preset("cstrack", None, output_filter=True)
    single, per_class = JDETracker(config), PerClassTracker(config)
    unfiltered = JDETracker(JDETrackerConfig.preset("cstrack", None, output_filter=False))
    rows = [len(single.update(wide_person()).ids) for _ in range(5)]
    rows += [len(per_class.update(wide_person(np.array([0]))).ids) for _ in range(5)]
    unfiltered_rows = sum(len(unfiltered.update(wide_person()).ids) for _ in range(5))
    assert sum(rows) == 0 and unfiltered_rows == 4  # confirmed from the second frame on
    assert single.filtered_boxes == per_class.filtered_boxes == 4 and unfiltered.filtered_boxes == 0
    # CSTrack's tracker holds its cascade as ``association``; FDTA has none
    assert _filtered_rows(type("CSTrackLike", (), {"association": single})()) == 4
    assert _filtered_rows(object()) == 0
    single.reset()
    assert single.filtered_boxes == 0


# --- 5. SIGTERM names the outputs not written ---------------------------------------------------------


@pytest.mark.skipif(not hasattr(signal, "SIGTERM"), reason="needs SIGTERM")
def test_sigterm_during_track_says_which_outputs_were_not_written(tmp_path, capsys):
    """As Ctrl-C does: the line names the file not written and says an older one is kept."""
    sequence = tmp_path / "long"
    (sequence / "det").mkdir(parents=True)  # no images: tracking precomputed detections is quick per frame
    (sequence / "seqinfo.ini").write_text("[Sequence]\nname=long\nframeRate=30\nseqLength=10000000\n")
    (sequence / "det" / "det.txt").write_text("1,-1,5,5,20,30,0.9\n")
    results = tmp_path / "out" / "r.txt"
    results.parent.mkdir()
    results.write_text("older results\n")

    seen = []

    def terminate_once_writing() -> None:  # SIGTERM while the temporary results file exists
        deadline = time.monotonic() + 30
        while not seen and time.monotonic() < deadline:
            seen.extend(results.parent.glob(".r.txt.tmp-*"))
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGTERM)  # handled in the main thread, as `kill` is

    killer = threading.Thread(target=terminate_once_writing)
    killer.start()
    try:
        with pytest.raises(SystemExit) as stopped:
            main(["track", str(sequence), "--save-txt", str(results)])
    finally:
        killer.join()
    assert seen and stopped.value.code == 128 + signal.SIGTERM
    assert capsys.readouterr().err.endswith(
        f"discmot: terminated (SIGTERM): {results} not written (an older file there is kept as it was)\n"
    )
    assert results.read_text() == "older results\n" and os.listdir(results.parent) == ["r.txt"]


def test_sigterm_note_adds_to_the_line_only_inside_its_block(capsys):
    from discmot.engine.signals import sigterm_as_exit, sigterm_note

    with pytest.raises(SystemExit), sigterm_as_exit():
        with sigterm_note(": a.txt not written"):
            pass
        os.kill(os.getpid(), signal.SIGTERM)
    assert capsys.readouterr().err == "discmot: terminated (SIGTERM)\n"


# --- 6. a folder with only img1/: its own det/det.txt --------------------------------------------------


def test_a_folder_with_only_img1_uses_its_own_detections_as_a_sequence_folder_does(
    sequence, tmp_path, caplog
):
    bare = tmp_path / "bare"
    for part in ("img1", "det", "gt"):
        shutil.copytree(sequence / part, bare / part)  # no seqinfo.ini
    with caplog.at_level(logging.INFO, logger="discmot"):
        assert main(["track", str(bare), "--frame-rate", "30", "--save-txt", str(tmp_path / "bare.txt")]) == 0
        assert (
            main(["track", str(sequence), "--frame-rate", "30", "--save-txt", str(tmp_path / "seq.txt")]) == 0
        )
    assert f"bare: using the precomputed detections {bare / 'det' / 'det.txt'}" in caplog.text
    rows = (tmp_path / "bare.txt").read_text()
    assert rows and rows == (tmp_path / "seq.txt").read_text()


def test_a_folder_with_only_img1_and_another_det_file_missing_says_so(sequence, tmp_path, capsys):
    bare = tmp_path / "bare"
    shutil.copytree(sequence / "img1", bare / "img1")
    assert main(["track", str(bare), "--det-file", "yolox.txt"]) == 2
    missing = bare / "det" / "yolox.txt"
    assert f"{missing}: detections file not found (--det-file yolox.txt)" in capsys.readouterr().err


def test_an_image_folder_does_not_take_the_detections_of_a_det_folder_beside_its_images(tmp_path, capsys):
    """Only a sequence folder's ``det/`` is its own: a plain image folder holding a det/ is no sequence."""
    frames = tmp_path / "frames"
    (frames / "det").mkdir(parents=True)
    cv2.imwrite(str(frames / "1.jpg"), np.zeros((32, 32, 3), np.uint8))
    (frames / "det" / "det.txt").write_text("1,-1,5,5,20,30,0.9\n")
    assert main(["track", str(frames)]) == 2
    assert "no detector and no detections" in capsys.readouterr().err


def test_a_refused_track_leaves_no_output_folder(tmp_path, capsys, caplog):
    """The outputs are checked writable before tracking; that check created their folders, so a command
    refused after it (here: nothing to detect with) left empty folders behind."""
    frames = tmp_path / "frames"
    frames.mkdir()
    cv2.imwrite(str(frames / "1.jpg"), np.zeros((32, 32, 3), np.uint8))
    out = tmp_path / "résultats nouveaux"
    outputs = ["--save-txt", str(out / "a.txt"), "--save-video", str(out / "a.mp4")]
    with caplog.at_level(logging.INFO, logger="discmot"):
        assert main(["track", str(frames), *outputs]) == 2
    assert "no detector and no detections" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames"]
    assert "association preset" not in caplog.text  # no settings said for a run that never starts


# --- the same ground truth for track's eval line, show and analyze ----------------------------------


def test_show_and_analyze_find_the_ground_truth_tracks_eval_line_names(sequence, tmp_path, capsys):
    """`SEQ/img1` given alone: track's closing line names `SEQ/gt/gt.txt`, and show and analyze take
    that same file by default (show used to draw it without gt, analyze to take identities from its own
    tracker)."""
    from discmot.analysis.analyze import resolve_gt
    from discmot.io.sequence_folders import default_ground_truth
    from discmot.viz.show import show_sequence

    gt = sequence / "gt" / "gt.txt"
    assert default_ground_truth(sequence) == gt == default_ground_truth(sequence / "img1")
    assert resolve_gt(sequence / "img1", None) == gt
    results = tmp_path / "r.txt"
    argv = ["track", str(sequence / "img1"), "--detections", str(sequence / "det" / "det.txt")]
    assert main([*argv, "--save-txt", str(results)]) == 0
    assert stdout_lines(capsys)[-1].startswith(f"evaluate with: discmot eval --gt {gt} ")
    shown = show_sequence(sequence / "img1", results, tmp_path / "s.mp4", progress=False)
    assert shown["gt"] == str(gt) and shown["totals"] is not None

    bare = tmp_path / "bare"
    shutil.copytree(sequence / "img1", bare / "img1")  # a sequence folder without gt/: none, not a parent's
    assert default_ground_truth(bare) is None and default_ground_truth(bare / "img1") is None
    assert default_ground_truth(sequence / "img1" / "00000001.jpg") is None  # a file: none
