"""Values no run could use are refused by the parser, naming the option, before anything is loaded."""

from __future__ import annotations

import pytest

from discmot.cli import build_parser


@pytest.mark.parametrize(
    "argv, words",
    [
        (["synth", "--preset", "tiny", "--out", "o", "--size", "100000x100000"], "at most 8192"),
        (["synth", "--preset", "tiny", "--out", "o", "--size", "16x16"], "too small"),
        (["synth", "--preset", "tiny", "--out", "o", "--seed", "-1"], "at least 0"),
        (["track", "v.mp4", "--input-size", "8000x8000"], "at most 4096"),
        (["track", "v.mp4", "--input-size", "160"], "HEIGHTxWIDTH"),
        (["track", "v.mp4", "--frame-rate", "inf"], "positive number of frames per second"),
        (
            ["analyze", "v.mp4", "--model", "fdta", "--weights", "w", "--out", "o", "--max-frames", "0"],
            "at least 1",
        ),
        (
            ["analyze", "v.mp4", "--model", "fdta", "--weights", "w", "--out", "o", "--frames", "-3"],
            "at least 1",
        ),
        (
            ["analyze", "v.mp4", "--model", "fdta", "--weights", "w", "--out", "o", "--threshold", "nan"],
            "[-1, 1]",
        ),
    ],
)
def test_unusable_values_are_refused_by_the_parser(argv, words, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and words in err and f"argument {argv[-2]}" in err


def test_the_edges_of_what_is_accepted_parse():
    args = build_parser().parse_args(["track", "v.mp4", "--input-size", "4096x32", "--frame-rate", "0.5"])
    assert args.input_size == (4096, 32) and args.frame_rate == 0.5
    args = build_parser().parse_args(["analyze", "v", "--model", "fdta", "--weights", "w", "--out", "o",
                                      "--threshold", "-1", "--max-frames", "1"])  # fmt: skip
    assert args.threshold == -1.0 and args.max_frames == 1


@pytest.mark.parametrize("split", ["../x", "a/b", "", ".."])
def test_a_split_is_a_plain_folder_name(split, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["synth", "--preset", "tiny", "--out", "o", "--split", split])
    assert "plain folder name" in capsys.readouterr().err


def test_convert_refuses_a_target_it_cannot_write_as_asked(tmp_path, capsys):
    from discmot.cli import main
    from discmot.engine.demo import bundled_weights

    source = bundled_weights("cstrack")
    for target, words in (
        (tmp_path / "x.bin", "the output suffix picks the format"),
        (tmp_path, "the output suffix picks the format"),
        (source, "would overwrite the input"),
    ):
        assert main(["convert", str(source), str(target)]) == 2
        assert words in capsys.readouterr().err
    assert main(["convert", str(source), str(tmp_path / "x.SAFETENSORS")]) == 0
    from discmot.io.checkpoints import read_safetensors

    assert read_safetensors(tmp_path / "x.SAFETENSORS")[1]["kind"] == "cstrack"
