"""Edges of the CLI's argument types (`discmot.cli.arguments`) and of the busy-cores hint.

Expected values come from each type's docstring and the options' ``--help`` texts (bounds stated
there: ``size_hw`` each side 32-4096, ``size_wh`` 32-8192, ``probability`` [0, 1], ``cosine_threshold``
[-1, 1], ``miss_tolerance`` >= 2, ``non_negative_int`` >= 0) and, for the hint, from
`hint_if_cores_busy`'s docstring and docs/faq.md ("It is much slower than that"): said when the load
average is >= cores / 2; a warning where at most one core is free or there are three threads or more
per free core, else an INFO line.
"""

from __future__ import annotations

import argparse
import logging
import os

import pytest

from discmot.cli.arguments import (
    cosine_threshold,
    frame_rate,
    hint_if_cores_busy,
    miss_tolerance,
    non_negative_int,
    positive_int,
    probability,
    size_hw,
    size_wh,
)

# --------------------------------------------------------------------------------------------------
# sizes: each side 32-4096 (HxW) or 32-8192 (WxH), both ends included, each side checked on its own


@pytest.mark.parametrize(
    "text, expected", [("32x4096", (32, 4096)), ("4096x32", (4096, 32)), ("33x33", (33, 33))]
)
def test_size_hw_accepts_each_side_from_32_to_4096_inclusive(text, expected):
    """size_hw's docstring: each side 32-4096; the first side is checked as well as the second."""
    assert size_hw(text) == expected


@pytest.mark.parametrize("text", ["31x64", "64x31", "4097x64", "64x4097"])
def test_size_hw_refuses_a_side_just_outside_32_to_4096(text):
    with pytest.raises(argparse.ArgumentTypeError):
        size_hw(text)


@pytest.mark.parametrize("text, expected", [("32x8192", (32, 8192)), ("8192x32", (8192, 32))])
def test_size_wh_accepts_each_side_from_32_to_8192_inclusive(text, expected):
    """size_wh's docstring: each side 32-8192 (an image's size, width first)."""
    assert size_wh(text) == expected


@pytest.mark.parametrize("text", ["8193x64", "64x8193", "31x8192"])
def test_size_wh_refuses_a_side_just_outside_32_to_8192(text):
    with pytest.raises(argparse.ArgumentTypeError):
        size_wh(text)


# --------------------------------------------------------------------------------------------------
# numbers


def test_frame_rate_zero_means_not_given_and_is_accepted():
    """frame_rate's docstring: a finite number >= 0 (0: not given)."""
    assert frame_rate("0") == 0.0
    for text in ("-1", "-0.5", "nan", "-inf"):
        with pytest.raises(argparse.ArgumentTypeError):
            frame_rate(text)


def test_a_frame_rate_is_at_least_0_01_frames_per_second():
    """frame_rate's docstring and --help: 0 (not given) or at least 0.01; 0.009 and 1e-9 are refused."""
    assert frame_rate("0.01") == 0.01 and frame_rate("0.015") == 0.015
    for text in ("0.009", "1e-9"):
        with pytest.raises(argparse.ArgumentTypeError, match="at least 0.01"):
            frame_rate(text)


def test_a_probability_lies_in_the_closed_interval_0_1():
    """probability's docstring: a number in [0, 1], both ends included (--id-thresh 0 and 1)."""
    assert probability("0") == 0.0 and probability("1") == 1.0
    for text in ("-0.001", "1.001", "2", "nan"):
        with pytest.raises(argparse.ArgumentTypeError):
            probability(text)


def test_a_cosine_threshold_lies_in_the_closed_interval_minus_1_1():
    """cosine_threshold's docstring and analyze's --threshold help: in [-1, 1], both ends included."""
    assert cosine_threshold("1") == 1.0 and cosine_threshold("-1") == -1.0
    for text in ("1.5", "-1.5", "1.0001"):
        with pytest.raises(argparse.ArgumentTypeError):
            cosine_threshold(text)


def test_whole_number_types_accept_exactly_their_smallest_value():
    """positive_int >= 1, miss_tolerance >= 2 (track's --miss-tolerance help: at least 2),
    non_negative_int >= 0 (a random seed: --seed 0 is synth's default)."""
    assert (positive_int("1"), miss_tolerance("2"), non_negative_int("0")) == (1, 2, 0)
    for convert, below in ((positive_int, "0"), (miss_tolerance, "1"), (non_negative_int, "-1")):
        with pytest.raises(argparse.ArgumentTypeError):
            convert(below)


def test_the_smallest_miss_tolerance_and_seed_parse_on_the_command_line():
    from discmot.cli import build_parser

    args = build_parser().parse_args(["track", "v.mp4", "--model", "fdta", "--miss-tolerance", "2"])
    assert args.miss_tolerance == 2
    args = build_parser().parse_args(["synth", "--preset", "tiny", "--out", "o", "--seed", "0"])
    assert args.seed == 0


# --------------------------------------------------------------------------------------------------
# the busy-cores hint


def levels(load: float, cores: int, caplog) -> list[int]:
    with caplog.at_level(logging.INFO, logger="discmot"):
        hint_if_cores_busy(load, cores, {})
    return [r.levelno for r in caplog.records]


@pytest.mark.parametrize(
    "load, cores, said",
    [
        (4.0, 8, True),  # exactly half the cores busy: said (load average >= cores / 2)
        (3.99, 8, False),
        (1.5, 3, True),  # 3 / 2 = 1.5
        (1.49, 3, False),
    ],
)
def test_the_hint_is_said_from_exactly_half_the_cores_busy(load, cores, said, caplog):
    assert bool(levels(load, cores, caplog)) is said


@pytest.mark.parametrize(
    "load, cores, level",
    [
        # 8 cores, load 5.5: 2.5 free, 8 / 2.5 = 3.2 threads per free core (>= 3): a warning
        (5.5, 8, logging.WARNING),
        # 6 cores, load 4: 2 free, exactly 3 threads per free core: a warning
        (4.0, 6, logging.WARNING),
        # 6 cores, load 3.9: 2.1 free, 6 / 2.1 = 2.86 threads per free core, more than one free: INFO
        (3.9, 6, logging.INFO),
        # 4 cores, load 2.6: 1.4 free, 4 / 1.4 = 2.86 threads per free core: INFO
        (2.6, 4, logging.INFO),
        # 3 cores, load 1.6: 1.4 free, 3 / 1.4 = 2.14 threads per free core: INFO
        (1.6, 3, logging.INFO),
        # 3 cores, load 2.0: exactly one core free: a warning
        (2.0, 3, logging.WARNING),
    ],
)
def test_the_hint_warns_only_where_threads_clearly_outnumber_the_free_cores(load, cores, level, caplog):
    """docs/faq.md: a warning where one thread per core clearly outnumbers the free cores (at most one
    core free, or three threads or more per free core), else an INFO line."""
    assert levels(load, cores, caplog) == [level]


def test_the_hint_reads_the_machines_one_minute_load_average_and_usable_cores(monkeypatch, caplog):
    """Without arguments it reads the machine's: the most recent (1-minute) load average, as a verb
    starts, and the usable cores. A busy last minute after an idle quarter hour is busy now."""
    monkeypatch.setattr(os, "getloadavg", lambda: (1.9, 0.1, 0.1))
    monkeypatch.setattr("discmot.engine.run_environment.usable_cores", lambda: 2)
    with caplog.at_level(logging.INFO, logger="discmot"):
        hint = hint_if_cores_busy(environment={})
    assert hint is not None and "(load average 1.9 on 2 cores)" in hint
    # and the other way round: an idle last minute says nothing
    monkeypatch.setattr(os, "getloadavg", lambda: (0.1, 1.9, 1.9))
    assert hint_if_cores_busy(environment={}) is None


def test_the_hint_says_nothing_where_the_load_average_is_unknown(monkeypatch):
    def unknown():
        raise OSError("no load average here")

    monkeypatch.setattr(os, "getloadavg", unknown)
    assert hint_if_cores_busy(cores=2, environment={}) is None


@pytest.mark.parametrize(
    "load, cores, spare",
    [
        (4.6, 8, 3),  # 4.6 busy cores round to 5: 3 left
        (4.4, 8, 4),  # 4.4 round to 4: 4 left
        (7.9, 8, 1),  # every core busy: still one thread
    ],
)
def test_the_threads_suggested_are_the_cores_minus_the_load_rounded(load, cores, spare):
    """The suggested OMP_NUM_THREADS is the cores other programs leave (the load average rounded to
    whole busy cores; docs/faq.md: set it to the cores you can spare), at least 1."""
    assert f"OMP_NUM_THREADS={spare} " in hint_if_cores_busy(load, cores, {})


# --------------------------------------------------------------------------------------------------
# the "evaluate with:" line `discmot track` prints (`discmot.cli.eval_hints`); docs/tracking.md: it
# names the --benchmark `discmot eval` needs: a TrackEval `<BENCH>-<SPLIT>` folder's, else the dataset's
# from the root's name (a MOT17 root adds nothing, MOT17 being eval's default) or from the `discmot
# synth` preset its sequences record, else the --benchmark tracked with; a split without gt gets none.


def make_split(split, sequences: dict[str, str | None], with_gt: bool = True):
    """``split/<seq>/gt/gt.txt`` for each sequence, and a ``seqinfo.ini`` recording ``synthPreset``
    where one is given."""
    for name, preset in sequences.items():
        (split / name / "gt").mkdir(parents=True)
        if with_gt:
            (split / name / "gt" / "gt.txt").write_text("1,1,10,10,20,20,1,1,1\n")
        info = f"[Sequence]\nname={name}\nseqLength=1\n"
        if preset is not None:
            info += f"\n[discmot]\nsynthPreset={preset}\n"
        (split / name / "seqinfo.ini").write_text(info)
    return split.resolve()


def hint_words(split, out: str, benchmark: str | None) -> dict[str, str]:
    """The printed command's options, as the shell splits them."""
    import shlex

    from discmot.cli.eval_hints import eval_hint

    hint = eval_hint(str(split), out, benchmark)
    assert hint is not None and hint.startswith("evaluate with: discmot eval ")
    words = shlex.split(hint.removeprefix("evaluate with: discmot eval "))
    return dict(zip(words[::2], words[1::2], strict=True))


def test_a_trackeval_bench_split_folder_names_its_benchmark_and_split(tmp_path):
    split = make_split(tmp_path / "GT" / "MOT20-all", {"MOT20-01": None})
    options = hint_words(split, "my results", "MOT17")
    assert options == {
        "--gt-folder": str(split.parent),
        "--trackers-folder": "my results",  # quoted for the shell: one word
        "--benchmark": "MOT20",
        "--split": "all",
    }


def test_a_dashed_split_name_that_is_no_trackeval_split_stays_the_split(tmp_path):
    """``my-clips`` is not ``<BENCH>-<SPLIT>`` (clips is no split): the split is the whole name and, the
    root naming no benchmark, the benchmark is the one tracked with (here none)."""
    split = make_split(tmp_path / "data" / "my-clips", {"a": None})
    assert hint_words(split, "out", None) == {
        "--gt-folder": str(split.parent),
        "--trackers-folder": "out",
        "--split": "my-clips",
    }


def test_a_mot17_root_adds_no_benchmark(tmp_path):
    split = make_split(tmp_path / "MOT17" / "train", {"MOT17-02": None})
    assert "--benchmark" not in hint_words(split, "out", None)


def test_the_datasets_benchmark_wins_and_the_tracked_one_fills_in_where_it_names_none(tmp_path):
    dance = make_split(tmp_path / "synth" / "train", {"a": "dancetrack", "b": "dancetrack"})
    assert hint_words(dance, "out", "MOT20")["--benchmark"] == "DanceTrack"
    plain = make_split(tmp_path / "mine" / "val", {"a": None})
    assert hint_words(plain, "out", "SportsMOT")["--benchmark"] == "SportsMOT"


def test_sequences_recording_different_synth_presets_give_no_guess(tmp_path):
    """eval_hints' docstring: the synth preset the sequences record, "when they agree"."""
    split = make_split(tmp_path / "synth" / "train", {"a": "dancetrack", "b": "sportsmot"})
    assert hint_words(split, "out", "BFT")["--benchmark"] == "BFT"
    assert "--benchmark" not in hint_words(split, "out", None)


def test_a_split_with_gt_for_some_sequences_gets_a_hint_and_one_without_gt_none(tmp_path):
    """docs/evaluation.md: without a seqmap every ``<seq>/gt/gt.txt`` below the split is evaluated, so a
    split where one sequence has gt is scored; a split without any (a test split) gets no line."""
    from discmot.cli.eval_hints import eval_hint

    split = make_split(tmp_path / "root" / "train", {"a": None})
    (split / "b" / "img1").mkdir(parents=True)  # a second sequence without gt
    assert eval_hint(str(split), "out", None) is not None
    test = make_split(tmp_path / "root" / "test", {"c": None}, with_gt=False)
    assert eval_hint(str(test), "out", "MOT15") is None


def test_one_sources_hint_takes_the_benchmark_of_the_root_above_its_split(tmp_path):
    """docs/tracking.md: for one source, ``ROOT/<split>/SEQ/gt/gt.txt``, the benchmark comes from ROOT's
    name (``MOT15/train``: --benchmark MOT15); without --max-frames no --max-frames is added."""
    import shlex

    from discmot.cli.eval_hints import pair_eval_hint

    split = make_split(tmp_path / "MOT15" / "train", {"PETS09-S2L1": None})
    gt = split / "PETS09-S2L1" / "gt" / "gt.txt"
    words = shlex.split(pair_eval_hint(gt, "r.txt", None).removeprefix("evaluate with: "))
    assert words == ["discmot", "eval", "--gt", str(gt), "--results", "r.txt", "--benchmark", "MOT15"]
