"""``--tracker-name`` with one source: it names the tracker folder under ``--split-out``, which one source
does not write, so it is a one-line error (as ``--split-out`` and ``--skip-existing`` are) rather than
ignored without a word; `discmot.track` refuses ``tracker_name=`` the same way, as it shares the path."""

from __future__ import annotations

from pathlib import Path

import pytest

import discmot
from discmot.cli import main
from discmot.data.synth import generate_dataset
from discmot.engine.demo import bundled_weights
from discmot.io.mot import read_mot_table

WORDS = "--tracker-name names the tracker folder under --split-out"


@pytest.fixture(scope="module")
def sequence(tmp_path_factory) -> Path:
    """A 4-frame synthetic sequence whose ``det/det.txt`` holds its gt boxes."""
    (folder,) = generate_dataset(tmp_path_factory.mktemp("name"), "tiny", sequences=1, frames=4)
    gt = read_mot_table(folder / "gt" / "gt.txt").values
    (folder / "det").mkdir()
    rows = [f"{int(r[0])},-1,{r[2]:g},{r[3]:g},{r[4]:g},{r[5]:g},1,-1,-1,-1\n" for r in gt]
    (folder / "det" / "det.txt").write_text("".join(rows))
    return folder


def test_the_command_line_refuses_a_tracker_name_for_one_source(sequence, tmp_path, capsys):
    results = tmp_path / "r.txt"
    status = main(["track", str(sequence), "--tracker-name", "mine", "--save-txt", str(results)])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and err.startswith(f"discmot: error: {sequence}: one source")
    assert WORDS in err and "--save-txt FILE" in err
    assert not results.exists()  # refused before anything was tracked
    # the same run without it tracks and writes (the check is the name's alone)
    assert main(["track", str(sequence), "--save-txt", str(results)]) == 0 and results.is_file()


def test_a_missing_source_with_a_tracker_name_is_said_missing(tmp_path, capsys):
    status = main(["track", str(tmp_path / "vall"), "--tracker-name", "mine"])
    err = capsys.readouterr().err
    assert status == 2 and f"{tmp_path / 'vall'}: no such file or folder" in err


@pytest.mark.parametrize("model", ["jde", "fdta"])
def test_the_python_api_refuses_tracker_name_for_one_source(sequence, tmp_path, model):
    weights = bundled_weights("fdta") if model == "fdta" else None
    with pytest.raises(ValueError, match=WORDS):
        discmot.track(
            sequence, model=model, weights=weights, tracker_name="mine", save_txt=tmp_path / "r.txt"
        )
    assert not (tmp_path / "r.txt").exists()


def test_a_split_still_takes_its_tracker_name(sequence, tmp_path):
    split = sequence.parent
    summaries = discmot.track(split, split_out=tmp_path / "out", tracker_name="mine", progress=False)
    assert list(summaries) == [sequence.name]
    assert (tmp_path / "out" / "mine" / "data" / f"{sequence.name}.txt").is_file()
