"""One user's way through the tools, end to end through the real CLI: track a split (stopped by a bad
detections file, mended, resumed with ``--skip-existing``), interpolate the results folder, evaluate both
trackers with ``--plot``, draw the worst sequence with ``discmot show --worst 1`` and one frame as a PNG.

The split is synthetic (``discmot synth --preset mot``: three sequences of 20 small frames). Its
detections are made here from the ground truth: each visible box kept with probability 0.8, moved by
half-pixel noise, with a 32-d appearance vector that is its gt id's one-hot vector plus noise. The JDE
cascade finds a lost track again only by appearance, so these vectors make tracks that miss a frame or
two and come back under their id: gaps that ``discmot interpolate`` fills. Each tool is given what the
tool before it wrote, by the names the tools print and document (``--split-out OUT`` ->
``OUT/<tracker>/data``; ``discmot track``'s own "evaluate with:" line is the eval command run), and the
numbers are checked across tools (rows interpolate added against eval's counts, show's totals and its
``--worst`` pick against `discmot.evaluate`'s per-sequence CLEAR numbers).
"""

from __future__ import annotations

import logging
import shlex
from pathlib import Path

import cv2
import numpy as np
import pytest

import discmot
from discmot.cli import main
from discmot.io.mot import read_mot_table

TRACKER = "plain"
INTERPOLATED = "plain-interp"
MAX_GAP = 5
FRAMES, WIDTH, HEIGHT = 20, 160, 96


@pytest.fixture(scope="module")
def split(tmp_path_factory) -> Path:
    """``<root>/train``: three ``mot`` sequences, each with ``det/det.npy`` (see the module docstring)."""
    root = tmp_path_factory.mktemp("journey") / "synth"
    argv = ["synth", "--preset", "mot", "--out", str(root), "--sequences", "3", "--frames", str(FRAMES)]
    assert main([*argv, "--size", f"{WIDTH}x{HEIGHT}", "-q"]) == 0
    rng = np.random.default_rng(0)
    for sequence in sorted((root / "train").iterdir()):
        gt = read_mot_table(sequence / "gt" / "gt.txt").values
        kept = gt[(rng.random(len(gt)) < 0.8) & (gt[:, 8] >= 0.3)]  # visibility >= 0.3: a detector sees it
        boxes = kept[:, 2:6] + rng.normal(0, 0.5, (len(kept), 4))
        appearance = np.eye(32)[kept[:, 1].astype(int)] + rng.normal(0, 0.05, (len(kept), 32))
        rows = np.column_stack(
            [kept[:, 0], np.full(len(kept), -1), boxes, np.full(len(kept), 0.9), appearance]
        )
        (sequence / "det").mkdir()
        np.save(sequence / "det" / "det.npy", rows.astype(np.float32))
    return root / "train"


def messages(caplog, logger: str) -> list[str]:
    """The messages logged by ``logger`` (exactly that name) since the last ``caplog.clear()``."""
    return [record.getMessage() for record in caplog.records if record.name == logger]


def clear_errors(scores: dict, sequence: str) -> tuple[int, int, int]:
    """``(CLR_FP, CLR_FN, IDSW)`` of one sequence in one tracker's `discmot.evaluate` result."""
    clear = scores[sequence]["CLEAR"]
    return int(clear["CLR_FP"]), int(clear["CLR_FN"]), int(clear["IDSW"])


def test_track_resume_interpolate_eval_plot_and_show_fit_together(split, tmp_path, capsys, caplog):
    out = tmp_path / "out"
    sequences = sorted(p.name for p in split.iterdir())
    caplog.set_level(logging.INFO, logger="discmot")

    eval_command = track_stopped_and_resumed(split, out, sequences, tmp_path, capsys, caplog)
    added = interpolate_the_folder(out, sequences, capsys, caplog)
    scores = evaluate_both_with_plots(eval_command, split, out, sequences, added, capsys, caplog)
    show_the_worst_sequence(split, out, sequences, scores[INTERPOLATED], capsys, caplog)
    show_one_frame(split, out, sequences[0], scores[TRACKER], caplog)


def track_stopped_and_resumed(split, out, sequences, tmp_path, capsys, caplog) -> list[str]:
    """Step 1: a bad ``det.npy`` stops the split after its first sequence; mended, ``--skip-existing``
    tracks the other two, giving the files of an uninterrupted run. Returns the eval command that
    ``discmot track`` printed, as argv."""
    first, bad, last = sequences
    det = split / bad / "det" / "det.npy"
    good = det.read_bytes()
    det.write_bytes(b"not an array")
    track = ["track", str(split), "--split-out", str(out), "--det-file", "det.npy", "--tracker-name", TRACKER]
    try:
        assert main(track) == 2
    finally:
        det.write_bytes(good)
    data = out / TRACKER / "data"
    err = capsys.readouterr().err
    assert err.startswith(f"discmot: error: {det}") and err.count("\n") == 1
    assert sorted(p.name for p in data.iterdir()) == [f"{first}.txt"]
    assert messages(caplog, "discmot.engine.infer")[-1] == (
        f"{split}: stopped in sequence {bad}; the results of the 1 of 3 sequences before it are complete, "
        f"in {data}; to go on, run the same command with --skip-existing: it tracks only the sequences "
        "without results there"
    )
    caplog.clear()

    assert main([*track, "--skip-existing"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert messages(caplog, "discmot.engine.infer") == [
        f"{split}: kept the results of 1 of 3 sequences already in {data} (--skip-existing); tracking the "
        "other 2"
    ]
    assert [line.split(":")[0] for line in printed[:-1]] == [bad, last]  # only those tracked are printed
    assert printed[0].endswith(f"; results: {data / f'{bad}.txt'}")
    assert main([*track[:3], str(tmp_path / "whole"), *track[4:], "-q"]) == 0  # one uninterrupted run
    capsys.readouterr()
    for name in sequences:
        assert (data / f"{name}.txt").read_bytes() == (
            tmp_path / "whole" / TRACKER / "data" / f"{name}.txt"
        ).read_bytes()
    hint = printed[-1]
    assert hint == (
        f"evaluate with: discmot eval --gt-folder {split.parent.resolve()} --trackers-folder {out} "
        "--split train"
    )
    return shlex.split(hint.removeprefix("evaluate with: discmot "))


def interpolate_the_folder(out, sequences, capsys, caplog) -> dict[str, int]:
    """Step 2: ``OUT/<tracker>/data`` -> ``OUT/<tracker>-interp/data``, one log line per file. Returns the
    rows added by sequence, read from those lines."""
    source, target = out / TRACKER / "data", out / INTERPOLATED / "data"
    caplog.clear()
    assert main(["interpolate", str(source), "--out", str(target), "--max-gap", str(MAX_GAP)]) == 0
    assert sorted(p.name for p in target.iterdir()) == [f"{name}.txt" for name in sequences]
    lines = messages(caplog, "discmot.postprocess")
    assert len(lines) == len(sequences)
    added = {}
    for name, line in zip(sequences, lines, strict=True):
        assert line.startswith(f"{source / f'{name}.txt'}: ")
        assert line.endswith(f"(gaps of 1-{MAX_GAP} frames) -> {target / f'{name}.txt'}")
        added[name] = int(line.split(": ")[1].split(" ")[0])
        plain = (source / f"{name}.txt").read_text().splitlines()
        filled = (target / f"{name}.txt").read_text().splitlines()
        assert len(filled) == len(plain) + added[name] and set(plain) <= set(filled)  # input rows kept
    # the appearance vectors bring lost tracks back: every sequence has gaps to fill
    assert all(count > 0 for count in added.values()), added
    assert capsys.readouterr().out == ""
    return added


def evaluate_both_with_plots(eval_command, split, out, sequences, added, capsys, caplog) -> dict:
    """Step 3: track's printed eval command with ``--plot`` scores both trackers and draws their
    pictures; the interpolated one has the rows interpolate added, nearly all of them hits. Interpolating
    the tracker folder (rather than its data/) is refused with a hint, though eval's summary is there."""
    caplog.clear()
    assert main([*eval_command, "--plot"]) == 0
    printed = capsys.readouterr().out
    assert f"Tracker: {TRACKER}\n" in printed and f"Tracker: {INTERPOLATED}\n" in printed
    for tracker in (TRACKER, INTERPOLATED):
        folder = out / tracker
        for name in ("pedestrian_summary.txt", "pedestrian_detailed.csv"):
            assert (folder / name).is_file(), name
        assert cv2.imread(str(folder / "pedestrian_plot.png")).shape == (420, 720, 3)
        assert f"{tracker}: wrote {folder / 'pedestrian_plot.png'}" in caplog.messages
    assert cv2.imread(str(out / "comparison_deta_assa.png")).shape == (560, 720, 3)
    assert f"wrote {out / 'comparison_deta_assa.png'}" in caplog.messages

    scores = discmot.evaluate(split.parent, out, split="train", write_summaries=False)
    assert sorted(scores) == [TRACKER, INTERPOLATED]
    plain, filled = scores[TRACKER], scores[INTERPOLATED]
    for name in sequences:
        before, after = plain[name]["CLEAR"], filled[name]["CLEAR"]
        # eval counts every row interpolate added (TP + FP is the number of result boxes)...
        assert after["CLR_TP"] + after["CLR_FP"] == before["CLR_TP"] + before["CLR_FP"] + added[name]
        # ...and nearly all of them cover a missed person: gt boxes with half-pixel noise, people
        # walking on over gaps of <= 5 frames at 30 fps
        assert before["CLR_FN"] - after["CLR_FN"] >= 0.8 * added[name]
        assert after["CLR_FP"] - before["CLR_FP"] <= 0.2 * added[name]
    for family, field in (("CLEAR", "MOTA"), ("HOTA", "DetA"), ("Identity", "IDF1")):
        assert np.mean(filled["COMBINED"][family][field]) > np.mean(plain["COMBINED"][family][field])
    # the tracker folder, as `show --results` takes it, now holding eval's summary: a one-line hint
    assert main(["interpolate", str(out / TRACKER), "--out", str(out / "again")]) == 2
    assert capsys.readouterr().err == (
        f"discmot: error: {out / TRACKER}: no results files (<seq>.txt) in this folder: give "
        f"{out / TRACKER / 'data'}, TrackEval's folder of results\n"
    )
    combined_hota = f"{100 * np.mean(filled['COMBINED']['HOTA']['HOTA']):.5g}"  # as the table rounds it
    assert printed.split(f"Tracker: {INTERPOLATED}\n")[1].split("COMBINED")[1].split()[0] == combined_hota
    return scores


def show_the_worst_sequence(split, out, sequences, scores, capsys, caplog) -> None:
    """Step 4: ``show SPLIT --results OUT/<tracker>-interp --worst 1`` draws the sequence with the most
    FP + FN + IDSW by eval's numbers, and only it. ``--results OUT`` with two trackers asks for one."""
    errors = {name: clear_errors(scores, name) for name in sequences}
    ranked = sorted(sequences, key=lambda name: -sum(errors[name]))
    worst = ranked[0]
    assert sum(errors[worst]) > sum(errors[ranked[1]])  # the data make the pick unambiguous
    fp, fn, idsw = errors[worst]
    shown = out / "show-worst"

    assert main(["show", str(split), "--results", str(out), "--worst", "1", "--out", str(shown)]) == 2
    assert capsys.readouterr().err == (
        f"discmot: error: {out}: holds the results of 2 trackers ({TRACKER}, {INTERPOLATED}): give one, "
        f"e.g. --results {out / TRACKER}\n"
    )
    caplog.clear()
    argv = ["show", str(split), "--results", str(out / INTERPOLATED), "--worst", "1", "--out", str(shown)]
    assert main(argv) == 0
    assert sorted(p.name for p in shown.iterdir()) == [f"{worst}.mp4"]
    assert messages(caplog, "discmot.viz.show_split")[0] == (
        f"the 1 of 3 sequences with the most errors (FP + FN + IDSW): {worst} {fp + fn + idsw} "
        f"(FP {fp}, FN {fn}, IDSW {idsw})"
    )
    assert messages(caplog, "discmot.viz.show") == [
        f"{worst} (1 of 1): FP {fp}, FN {fn}, IDSW {idsw} over its {FRAMES} frames (CLEAR's CLR_FP, "
        f"CLR_FN, IDSW with --benchmark MOT17, as discmot eval counts them); wrote {shown / f'{worst}.mp4'}"
    ]
    video = cv2.VideoCapture(str(shown / f"{worst}.mp4"))
    try:
        ok, frame = video.read()
        assert ok and frame.shape[1] == WIDTH and int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == FRAMES
    finally:
        video.release()


def show_one_frame(split, out, sequence, scores, caplog) -> None:
    """Step 5: one frame of the plain results as a PNG, from the tracker folder as step 4 names one; the
    sequence's totals are eval's."""
    png = out / "frame5.png"
    caplog.clear()
    argv = [
        "show",
        str(split / sequence),
        "--results",
        str(out / TRACKER),
        "--frames",
        "5",
        "--out",
        str(png),
    ]
    assert main(argv) == 0
    assert messages(caplog, "discmot.viz.show_split") == [
        f"{sequence}: results {out / TRACKER / 'data' / f'{sequence}.txt'}"
    ]
    image = cv2.imread(str(png))
    assert image.shape[1] == WIDTH and image.shape[0] > HEIGHT  # the frame, and the caption bar below it
    fp, fn, idsw = clear_errors(scores, sequence)
    (line,) = messages(caplog, "discmot.viz.show")
    assert line.startswith(f"{sequence}: FP {fp}, FN {fn}, IDSW {idsw} over its {FRAMES} frames (")
    assert line.endswith(f"; wrote {png}")
