"""``discmot show SPLIT`` (`discmot.viz.show_split.show_split`): one video per sequence of a split, each
drawn as ``discmot show SEQUENCE`` draws it; ``--worst N`` picks the sequences by `discmot evaluate`'s own
counts.

The split: three synthetic 12-frame sequences, tracked from their ground truth with errors injected so
that the errors rank them out of name order: ``tiny-val-0000`` worst (false positives, dropped boxes, an
ID switch), then ``tiny-val-0002`` (dropped boxes, an ID switch), then ``tiny-val-0001`` (one false
positive).
"""

from __future__ import annotations

import av
import numpy as np
import pytest

from discmot import evaluate
from discmot.cli import build_parser
from discmot.cli import main as cli_main
from discmot.data.synth import generate_dataset
from discmot.viz.show import show_sequence
from discmot.viz.show_split import show_split, split_results

FRAMES = 12
#: sequence -> (false positives added, drop id 1 every k-th frame (0: never), id 2 renamed from frame)
ERRORS = {"tiny-val-0000": (4, 3, 7), "tiny-val-0001": (1, 0, 0), "tiny-val-0002": (0, 4, 5)}


def results_with_errors(gt_text: str, false_positives: int, drop_every: int, switch_from: int) -> str:
    """Results copied from gt rows, with ``false_positives`` small boxes in a corner no one walks in,
    gt id 1's box left out every ``drop_every``-th frame and gt id 2 tracked under id 50 from frame
    ``switch_from`` on (one ID switch)."""
    rows = []
    for line in gt_text.splitlines():
        frame, gt_id = (int(float(v)) for v in line.split(",")[:2])
        box = line.split(",")[2:6]
        if gt_id == 1 and drop_every and frame % drop_every == 0:
            continue
        track_id = 50 if gt_id == 2 and switch_from and frame >= switch_from else gt_id
        rows.append(f"{frame},{track_id},{','.join(box)},1,-1,-1,-1")
    rows += [f"{frame},90,150,2,8,8,1,-1,-1,-1" for frame in range(1, false_positives + 1)]
    return "\n".join(rows) + "\n"


@pytest.fixture
def split(tmp_path):
    """``(split folder, tracker folder)``: the tracker folder holds ``data/<seq>.txt``, as ``discmot track
    SPLIT --split-out OUT`` writes ``OUT/<tracker>``."""
    folders = generate_dataset(tmp_path / "synth", "tiny", "val", sequences=3, frames=FRAMES, size=(160, 112))
    data = tmp_path / "results" / "mytracker" / "data"
    data.mkdir(parents=True)
    for folder in folders:
        text = results_with_errors((folder / "gt" / "gt.txt").read_text(), *ERRORS[folder.name])
        (data / f"{folder.name}.txt").write_text(text)
    return folders[0].parent, data.parent


def errors_by_evaluate(split_folder, tracker_folder) -> dict[str, int]:
    """Sequence -> CLR_FP + CLR_FN + IDSW, as `discmot.evaluate` scores the tracker folder."""
    scores = evaluate(
        split_folder.parent, tracker_folder.parent, "MOT17", "val", metrics="CLEAR", write_summaries=False
    )[tracker_folder.name]
    return {
        name: s["CLEAR"]["CLR_FP"] + s["CLEAR"]["CLR_FN"] + s["CLEAR"]["IDSW"]
        for name, s in scores.items()
        if name != "COMBINED"
    }


def decoded(path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="bgr24") for frame in container.decode(video=0)]


def test_every_sequence_gets_the_video_the_single_sequence_mode_draws(split, tmp_path, caplog):
    split_folder, tracker = split
    out = tmp_path / "videos"
    with caplog.at_level("INFO"):
        summaries = show_split(split_folder, tracker, out, progress=False)
    assert sorted(p.name for p in out.iterdir()) == [f"{name}.mp4" for name in sorted(ERRORS)]
    expected = errors_by_evaluate(split_folder, tracker)
    assert {name: sum(s["totals"].values()) for name, s in summaries.items()} == expected
    assert all(len(decoded(out / f"{name}.mp4")) == FRAMES for name in ERRORS)
    single = show_sequence(
        split_folder / "tiny-val-0002", tracker / "data" / "tiny-val-0002.txt", tmp_path / "one.mp4"
    )
    assert single["totals"] == summaries["tiny-val-0002"]["totals"]
    for ours, theirs in zip(decoded(out / "tiny-val-0002.mp4"), decoded(tmp_path / "one.mp4"), strict=True):
        assert np.array_equal(ours, theirs)
    assert "tiny-val-0001 (2 of 3): FP 1, FN 0, IDSW 0" in caplog.text  # the overall progress
    table = [r.getMessage() for r in caplog.records if str(out / "tiny-val-0000.mp4") in r.getMessage()]
    fp, fn, idsw = (summaries["tiny-val-0000"]["totals"][k] for k in ("FP", "FN", "IDSW"))
    assert table[-1].split() == ["tiny-val-0000", str(fp), str(fn), str(idsw), str(out / "tiny-val-0000.mp4")]


def test_worst_draws_only_the_sequences_with_the_most_errors_by_evals_counts(split, tmp_path, caplog):
    split_folder, tracker = split
    counts = errors_by_evaluate(split_folder, tracker)
    ranked = sorted(counts, key=lambda name: -counts[name])
    assert ranked == ["tiny-val-0000", "tiny-val-0002", "tiny-val-0001"]  # the scene does what it says
    assert len(set(counts.values())) == 3
    with caplog.at_level("INFO"):
        summaries = show_split(split_folder, tracker, tmp_path / "worst", worst=2, progress=False)
    assert list(summaries) == ranked[:2]
    assert sorted(p.name for p in (tmp_path / "worst").iterdir()) == [f"{n}.mp4" for n in sorted(ranked[:2])]
    picked = [r.getMessage() for r in caplog.records if "with the most errors" in r.getMessage()]
    assert len(picked) == 1
    assert (
        f"the 2 of 3 sequences with the most errors (FP + FN + IDSW): tiny-val-0000 {counts[ranked[0]]}"
        in (picked[0])
    )
    assert f"tiny-val-0002 {counts['tiny-val-0002']} (" in picked[0] and "tiny-val-0001" not in picked[0]


def test_the_results_folder_may_be_flat_a_tracker_folder_or_the_split_out_folder(split):
    split_folder, tracker = split
    names = sorted(ERRORS)
    expected = {name: tracker / "data" / f"{name}.txt" for name in names}
    for given in (tracker / "data", tracker, tracker.parent):
        assert split_results(given, names) == expected, given


def test_a_sequence_without_results_is_a_warning_and_the_others_are_drawn(split, tmp_path, caplog):
    split_folder, tracker = split
    (tracker / "data" / "tiny-val-0001.txt").unlink()
    out = tmp_path / "videos"
    with caplog.at_level("INFO", logger="discmot"):
        argv = ["show", str(split_folder), "--results", str(tracker), "--out", str(out)]
        assert cli_main(argv) == 0
    assert sorted(p.name for p in out.iterdir()) == ["tiny-val-0000.mp4", "tiny-val-0002.mp4"]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [
        f"tiny-val-0001: no results file ({tracker / 'data' / 'tiny-val-0001.txt'}): not drawn"
    ]
    assert "tiny-val-0002 (2 of 2): " in caplog.text


def second_tracker(split_folder, tracker, tmp_path):
    other = tracker.parent / "other" / "data"
    other.mkdir(parents=True)
    (other / "tiny-val-0000.txt").write_text("1,1,10,10,20,20,1,-1,-1,-1\n")


def no_gt(split_folder, tracker, tmp_path):
    (split_folder / "tiny-val-0001" / "gt" / "gt.txt").unlink()


@pytest.mark.parametrize(
    "extra, change, message",
    [
        (["--frames", "2-5"], None, "--frames draws part of one sequence"),
        (["--gt", "gt.txt"], None, "--gt names one sequence's ground truth"),
        (
            ["--out", "{tmp}/file.mp4"],
            lambda s, t, tmp: (tmp / "file.mp4").write_text("x"),
            "--out is a file",
        ),
        (["--out", "{tmp}/v.mp4"], None, "v.mp4: with a split --out names a folder"),
        (["--results", "{tmp}/empty"], lambda s, t, tmp: (tmp / "empty").mkdir(), "no results file of any"),
        (
            ["--results", "{tmp}/results"],
            second_tracker,
            "holds the results of 2 trackers (mytracker, other)",
        ),
        (["--worst", "1"], no_gt, "tiny-val-0001: has no gt/gt.txt, and --worst ranks"),
        (["--results", "{tmp}/results/mytracker/data/tiny-val-0000.txt"], None, "names a folder of <seq"),
    ],
)
def test_refusals_are_one_line_and_write_nothing(split, tmp_path, capsys, extra, change, message):
    split_folder, tracker = split
    if change is not None:
        change(split_folder, tracker, tmp_path)
    out = tmp_path / "videos"
    argv = ["show", str(split_folder), "--results", str(tracker), "--out", str(out)]
    argv += [arg.format(tmp=tmp_path) for arg in extra]
    assert cli_main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not out.exists() and [p.name for p in tmp_path.rglob("*.mp4")] in ([], ["file.mp4"])
    assert not (tmp_path / "file.mp4").exists() or (tmp_path / "file.mp4").read_text() == "x"


def test_worst_with_one_sequence_or_no_count_is_refused(split, tmp_path, capsys):
    split_folder, tracker = split
    sequence = split_folder / "tiny-val-0000"
    argv = ["show", str(sequence), "--results", str(tracker / "data" / "tiny-val-0000.txt")]
    assert cli_main([*argv, "--out", str(tmp_path / "v.mp4"), "--worst", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--worst picks sequences of a split" in err[0] and str(sequence) in err[0]
    with pytest.raises(SystemExit):
        build_parser().parse_args(["show", str(split_folder), "--results", "r", "--out", "o", "--worst", "0"])
    assert "--worst" in capsys.readouterr().err
    assert not (tmp_path / "v.mp4").exists()


@pytest.mark.parametrize("worst", [0, -1, 2.5, True, "2"])
def test_the_library_refuses_a_worst_that_is_no_count_before_any_work(split, tmp_path, worst):
    split_folder, tracker = split
    with pytest.raises(ValueError, match="worst=.*a whole number N >= 1"):
        show_split(split_folder, tracker, tmp_path / "videos", worst=worst)
    assert not (tmp_path / "videos").exists()


def test_a_missing_tracker_folder_names_the_tracker_folders_beside_it(split, tmp_path, capsys):
    """``--split-out OUT`` names ``OUT/<tracker>`` after ``--tracker-name`` or the model (jde, cstrack,
    fdta): a guessed name (the examples once said ``OUT/discmot``) gets the real ones in its error."""
    split_folder, tracker = split
    guessed = tracker.parent / "discmot"
    argv = ["show", str(split_folder), "--results", str(guessed), "--out", str(tmp_path / "videos")]
    assert cli_main(argv) == 2
    assert capsys.readouterr().err == (
        f"discmot: error: {guessed}: results folder not found ({tracker.parent} holds the tracker folders "
        f"mytracker: give one, e.g. {tracker})\n"
    )
    with pytest.raises(ValueError, match=r"^\S*nowhere/discmot: results folder not found$"):
        split_results(tmp_path / "nowhere" / "discmot", sorted(ERRORS))  # nothing beside it: no hint
    assert not (tmp_path / "videos").exists()


def test_one_sequence_is_shown_from_the_results_folder_its_split_is_shown_from(
    split, tmp_path, caplog, capsys
):
    """``show SPLIT/SEQ --results FOLDER`` takes what ``show SPLIT --results FOLDER`` takes (a tracker
    folder, its data/, ``--split-out``'s folder of one tracker) and draws that sequence's file in it, as
    given by name; it used to stop at "cannot read file (Is a directory)"."""
    split_folder, tracker = split
    sequence, file = split_folder / "tiny-val-0002", tracker / "data" / "tiny-val-0002.txt"
    assert (
        cli_main(
            [
                "show",
                str(sequence),
                "--results",
                str(file),
                "--out",
                str(tmp_path / "file.png"),
                "--frames",
                "6",
            ]
        )
        == 0
    )
    for k, given in enumerate((tracker, tracker / "data", tracker.parent)):
        caplog.clear()
        png = tmp_path / f"folder{k}.png"
        with caplog.at_level("INFO", logger="discmot"):
            assert (
                cli_main(["show", str(sequence), "--results", str(given), "--out", str(png), "--frames", "6"])
                == 0
            )
        assert f"tiny-val-0002: results {file}" in caplog.messages
        assert png.read_bytes() == (tmp_path / "file.png").read_bytes(), given
    file.unlink()
    assert cli_main(["show", str(sequence), "--results", str(tracker), "--out", str(tmp_path / "v.mp4")]) == 2
    assert capsys.readouterr().err == (
        f"discmot: error: {tracker}: no tiny-val-0002.txt here, in data/ or in <tracker>/data/\n"
    )
