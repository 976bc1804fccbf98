"""Edge cases of the verbs `discmot synth`, `depth`, `jde-export` (`discmot.cli.data`) and `discmot show`
(`discmot.cli.show`) that the journey tests leave open: the options their help calls required and the
defaults it states, the one-line hints of a jde-export that finds no split or no sequence, the singular
"1 sequence" of the log lines, and depth's rule that every sequence is checked before any map is written.

Expected values come from the help texts and docstrings of `discmot.cli.data` and `discmot.cli.show`;
every test writes its own small files into ``tmp_path``.
"""

from __future__ import annotations

import logging

import pytest

from discmot.cli import build_parser, main
from discmot.cli.data import _missing_sequence, _no_images_hint, _splits_hint
from helpers import write_gt_sequence

# --------------------------------------------------------------------------------------------------
# the parser: required options and the defaults the help states


@pytest.mark.parametrize(
    "argv, missing",
    [
        (["synth"], "--out"),
        (["depth", "--estimator", "synthetic"], "--data-root"),
        (["depth", "--data-root", "d"], "--estimator"),
        (["jde-export", "--out", "o", "--name", "n"], "--data-root"),
        (["jde-export", "--data-root", "d", "--name", "n"], "--out"),
        (["jde-export", "--data-root", "d", "--out", "o"], "--name"),
    ],
)
def test_the_data_verbs_refuse_a_missing_required_option_by_name(argv, missing, capsys):
    """``--out`` of synth, ``--data-root`` and ``--estimator`` of depth, ``--data-root``, ``--out`` and
    ``--name`` of jde-export have no default: argparse refuses the command (status 2) naming the option."""
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(argv)
    assert stop.value.code == 2
    assert f"the following arguments are required: {missing}" in capsys.readouterr().err


def test_synth_defaults_are_the_ones_its_help_states():
    """synth's help: ``--preset`` dancetrack, ``--split`` train, ``--sequences`` 4, ``--seed`` 0; frames and
    size default to the preset's (None here), no JDE layout unless ``--jde``."""
    args = build_parser().parse_args(["synth", "--out", "x"])
    assert (args.preset, args.split, args.sequences, args.seed) == ("dancetrack", "train", 4, 0)
    assert (args.frames, args.size, args.jde) == (None, None, False)


def test_depth_and_jde_export_defaults_are_the_ones_their_help_states():
    """depth: ``--device`` cpu, no split (sequences directly under the root); jde-export: ``--split`` train,
    every sequence."""
    depth = build_parser().parse_args(["depth", "--data-root", "d", "--estimator", "synthetic"])
    assert (depth.device, depth.split, depth.model) == ("cpu", None, None)
    export = build_parser().parse_args(["jde-export", "--data-root", "d", "--out", "o", "--name", "n"])
    assert (export.split, export.sequences) == ("train", None)


# --------------------------------------------------------------------------------------------------
# synth and jde-export: exit status and the singular of "sequence" in their log lines


def _messages(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "discmot"]


def test_synth_of_one_sequence_exits_0_and_says_sequence_in_the_singular(tmp_path, caplog):
    """``wrote 1 tiny sequence to <root>/train``: one sequence is not "sequences"; a run that wrote its
    files exits with status 0."""
    with caplog.at_level(logging.INFO, logger="discmot"):
        status = main(
            ["synth", "--preset", "tiny", "--out", str(tmp_path), "--sequences", "1", "--frames", "2"]
        )
    assert status == 0
    assert f"wrote 1 tiny sequence to {tmp_path / 'train'}" in _messages(caplog)


def test_synth_of_two_sequences_says_sequences_in_the_plural(tmp_path, caplog):
    """``wrote 2 tiny sequences to <root>/train``."""
    with caplog.at_level(logging.INFO, logger="discmot"):
        assert (
            main(["synth", "--preset", "tiny", "--out", str(tmp_path), "--sequences", "2", "--frames", "2"])
            == 0
        )
    assert f"wrote 2 tiny sequences to {tmp_path / 'train'}" in _messages(caplog)


def test_jde_export_log_line_counts_one_sequence_in_the_singular_and_two_in_the_plural(tmp_path, caplog):
    """The last log line of jde-export is ``<list file>: from N sequence(s)``: ``from 1 sequence`` for one
    (the line ends there: not ``from 1 sequences``), ``from 2 sequences`` for two."""
    root = tmp_path / "data"
    write_gt_sequence(root, "A", "1,1,0,0,10,10,1,1,1\n")
    write_gt_sequence(root, "B", "1,1,0,0,10,10,1,1,1\n")
    common = ["jde-export", "--data-root", str(root), "--out", str(tmp_path / "jde")]
    with caplog.at_level(logging.INFO, logger="discmot"):
        assert main([*common, "--name", "one", "--sequences", "A"]) == 0
        assert main([*common, "--name", "two"]) == 0
    messages = _messages(caplog)
    assert f"{tmp_path / 'jde' / 'one.train'}: from 1 sequence" in messages
    assert f"{tmp_path / 'jde' / 'two.train'}: from 2 sequences" in messages


# --------------------------------------------------------------------------------------------------
# jde-export: the hints of a split or sequence it cannot find (`_splits_hint`, `_no_images_hint`,
# `_missing_sequence` docstrings)


def test_the_split_hint_of_a_root_that_does_not_exist_says_so(tmp_path):
    root = tmp_path / "nowhere"
    assert _splits_hint(root) == f" ({root} does not exist)"


def test_the_split_hint_names_the_split_folders_and_the_split_to_pass(tmp_path, capsys):
    """A root whose ``train/<seq>/img1`` exists, asked for ``--split val``: ``(its split folders: train;
    pass --split train)``."""
    root = tmp_path / "data"
    write_gt_sequence(root, "S", "1,1,0,0,10,10,1,1,1\n")
    (root / "other").mkdir()  # a folder with no sequence in it is no split
    assert _splits_hint(root) == " (its split folders: train; pass --split train)"
    argv = [
        "jde-export",
        "--data-root",
        str(root),
        "--split",
        "val",
        "--out",
        str(tmp_path / "j"),
        "--name",
        "n",
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{root / 'val'}: split folder not found (its split folders: train; pass --split train)" in err


def test_the_split_hint_lists_folders_only_not_files_or_hidden_folders(tmp_path):
    """With no split folder the root's folders are named; a file (readme.txt) and a hidden folder are
    not folders of the dataset."""
    root = tmp_path / "data"
    (root / "images").mkdir(parents=True)
    (root / ".cache").mkdir()
    (root / "readme.txt").write_text("a file")
    assert _splits_hint(root) == " (its folders: images)"


def test_the_split_hint_of_an_empty_root_says_it_is_empty(tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    (root / "notes.txt").write_text("files are not folders")
    assert _splits_hint(root) == f" ({root} is empty)"


def test_an_empty_split_is_refused_without_a_gt_only_hint(tmp_path, capsys):
    """A split folder with no sequence folder at all (and so none with gt/ but no frames) gets the bare
    message: ``_no_images_hint`` adds nothing."""
    split = tmp_path / "data" / "train"
    split.mkdir(parents=True)
    assert _no_images_hint(split) == ""
    assert (
        main(
            ["jde-export", "--data-root", str(tmp_path / "data"), "--out", str(tmp_path / "j"), "--name", "n"]
        )
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert err == f"discmot: error: {split}: no sequence folders with an img1/ folder"


def test_a_missing_sequence_lists_at_most_five_of_those_there(tmp_path):
    """``(its sequences: a, b, c, d, e, ...)``: five names, then an ellipsis when there are more."""
    split = tmp_path / "train"
    for name in ("s1", "s2", "s3", "s4", "s5", "s6"):
        (split / name / "img1").mkdir(parents=True)
    assert (
        _missing_sequence(split, "x")
        == f"{split}: no sequence folder x (its sequences: s1, s2, s3, s4, s5, ...)"
    )


# --------------------------------------------------------------------------------------------------
# depth: --model with depth-anything, and every sequence checked before any map is written


def test_depth_anything_without_model_is_a_one_line_error(tmp_path, capsys):
    """``--estimator depth-anything`` needs ``--model PATH`` (depth's help): refused with status 2 and the
    words of `_run_depth`, before any weights are looked for."""
    (tmp_path / "seq" / "img1").mkdir(parents=True)
    assert main(["depth", "--data-root", str(tmp_path), "--estimator", "depth-anything"]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err == "discmot: error: --estimator depth-anything needs --model PATH (local Depth Anything weights)"
    )


def test_depth_synthetic_checks_every_sequence_is_synthetic_before_writing_any_map(tmp_path):
    """ "every sequence checked first: bad input leaves no half-done split" (`_run_depth`): with the synthetic
    estimator a later sequence that is not a discmot synth one (no [discmot] section) stops the run before
    the first sequence's maps are written."""
    from discmot.data.synth import generate_dataset

    first, second = generate_dataset(tmp_path / "synth", "tiny", sequences=2, frames=2)
    for png in [*(first / "depth").glob("*.png"), *(second / "depth").glob("*.png")]:
        png.unlink()
    info = second / "seqinfo.ini"
    info.write_text(info.read_text().split("[discmot]")[0])
    argv = [
        "-v",
        "depth",
        "--data-root",
        str(tmp_path / "synth"),
        "--split",
        "train",
        "--estimator",
        "synthetic",
    ]
    with pytest.raises(ValueError, match="tiny-train-0001: not a discmot synth sequence"):
        main(argv)
    assert not list((first / "depth").glob("*.png"))


# --------------------------------------------------------------------------------------------------
# analyze: required options, the default threshold, and the lines it prints (the library call replaced by
# a stand-in that returns a summary of the documented shape, `discmot.analysis.analyze.analyze`)


@pytest.mark.parametrize("missing", ["--model", "--weights", "--out"])
def test_analyze_refuses_a_missing_required_option_by_name(missing, capsys):
    """``--model``, ``--weights`` and ``--out`` have no default (analyze's help)."""
    given = {"--model": "fdta", "--weights": "w.pth", "--out": "o"}
    argv = ["analyze", "src"] + [
        word for flag, value in given.items() if flag != missing for word in (flag, value)
    ]
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(argv)
    assert stop.value.code == 2
    assert f"the following arguments are required: {missing}" in capsys.readouterr().err


def _fake_analyze(monkeypatch, summary: dict) -> dict:
    """Replaces the library's `analyze` by one that records its keyword arguments and returns ``summary``."""
    import discmot.analysis.analyze as library

    seen: dict = {}

    def analyze(source, model, weights, out, **kwargs):
        seen.update(kwargs, source=source, model=model, weights=weights, out=out)
        return summary

    monkeypatch.setattr(library, "analyze", analyze)
    return seen


def _summary(caveat):
    return {
        "views": {
            "decoder": {
                "pairs": 12,
                "fraction_above": 0.25,
                "reid": [
                    {"lag": 1, "rank1": 0.5, "chance": 0.125},
                    {"lag": 50, "rank1": None, "reason": "gap longer than the 10 analysed frames span"},
                ],
            },
            "adapted": {"pairs": 0, "fraction_above": None, "reid": []},
        },
        "reid_caveat": caveat,
    }


def test_analyze_reports_the_fraction_above_the_default_threshold_0_9(tmp_path, monkeypatch, capsys):
    """``--threshold`` defaults to 0.9, the FDTA paper's (analyze's help): the library is given that
    threshold and each view's line says ``fraction > 0.9``, with three decimals, or ``n/a`` without pairs."""
    seen = _fake_analyze(monkeypatch, _summary(None))
    out = tmp_path / "a"
    assert main(["analyze", "v.mp4", "--model", "fdta", "--weights", "w.pth", "--out", str(out)]) == 0
    assert seen["config"].similarity_threshold == 0.9
    printed = capsys.readouterr().out.splitlines()
    assert "decoder: 12 different-object pairs, fraction > 0.9: 0.250" in printed
    assert "adapted: 0 different-object pairs, fraction > 0.9: n/a" in printed
    assert printed[-1] == f"report: {out}/report.html"


def test_analyze_prints_a_rank1_rate_with_its_chance_or_n_a_with_the_reason(tmp_path, monkeypatch, capsys):
    """Each gap of the re-identification line: ``<lag>: <rank1> (chance <chance>)``, or ``<lag>: n/a
    (<reason>)`` when the gap could not be measured."""
    _fake_analyze(monkeypatch, _summary(None))
    argv = ["analyze", "v.mp4", "--model", "fdta", "--weights", "w.pth", "--threshold", "0.5"]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    printed = capsys.readouterr().out
    assert "decoder: 12 different-object pairs, fraction > 0.5: 0.250" in printed
    assert (
        "decoder: rank-1 re-identification across a gap of (frames) 1: 0.500 (chance 0.125), "
        "50: n/a (gap longer than the 10 analysed frames span)"
    ) in printed


def test_analyze_adds_the_no_ground_truth_note_only_with_the_summarys_caveat(tmp_path, monkeypatch, capsys):
    """Without ground truth (``reid_caveat`` set) a note says the rates only show agreement with the ids
    the embeddings helped assign; with ground truth (no caveat) there is no such note."""
    argv = ["analyze", "v.mp4", "--model", "fdta", "--weights", "w.pth", "--out", str(tmp_path / "a")]
    _fake_analyze(monkeypatch, _summary("no gt: self-consistency only"))
    assert main(argv) == 0
    assert "note: no ground truth, so these rates only say" in capsys.readouterr().out
    _fake_analyze(monkeypatch, _summary(None))
    assert main(argv) == 0
    assert "no ground truth" not in capsys.readouterr().out
