"""Follow-ups of a researcher's journey through `discmot eval`, `convert` and `interpolate`: eval leaves
read-only result folders alone (also as root), `--metrics FIELD` shows that field, the warnings say the
right thing (no seqmap, no match at IoU 0.5, `--plot` in the one-pair form), the tiny FDTA preset is
inferred from an official file's shapes, convert's messages, and `interpolate`'s folder `--out`.

Every test writes its own small files into ``tmp_path``.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from discmot.cli import main
from discmot.eval import fields as F
from discmot.eval import report
from discmot.eval.runner import evaluate
from helpers import TRACKER_ROWS, random_official_checkpoint, write_benchmark, write_sequence

#: Boxes shifted by 12 pixels: IoU about 0.3 with the gt, so CLEAR and Identity match nothing (IoU 0.5)
#: but HOTA matches at its lower thresholds.
SHIFTED_ROWS = ["1,5,22,10,20,40,1,-1,-1,-1", "2,5,24,10,20,40,1,-1,-1,-1"]


@pytest.fixture
def read_only():
    """``read_only(folder)`` sets mode 555 on ``folder``; the mode is given back after the test."""
    made = []

    def chmod(folder: Path) -> Path:
        made.append((folder, stat.S_IMODE(folder.stat().st_mode)))
        folder.chmod(0o555)
        return folder

    yield chmod
    for folder, mode in made:
        folder.chmod(mode)


# --------------------------------------------------------------------------------------------------
# eval


def test_eval_writes_nothing_into_read_only_tracker_folders(tmp_path, caplog, read_only):
    """Shared results are mode 555; as root the write would succeed, so the mode itself is the rule."""
    gt, trackers = write_benchmark(tmp_path, {"trk": TRACKER_ROWS, "other": TRACKER_ROWS})
    split = trackers / "MOT17-train"
    read_only(split / "trk")
    read_only(split)  # the comparison picture's folder
    with caplog.at_level("WARNING", logger="discmot"):
        results = evaluate(gt, trackers, plot=True)
    assert sorted(p.name for p in (split / "trk").iterdir()) == ["data"]
    assert not (split / "comparison_deta_assa.png").exists()
    assert (split / "other" / "pedestrian_summary.txt").is_file()  # a writable folder still gets them
    assert (split / "other" / "pedestrian_plot.png").is_file()
    warned = [r.getMessage() for r in caplog.records if str(split / "trk") in r.getMessage()]
    assert warned == [
        f"{split / 'trk'}: read-only, so pedestrian_summary.txt, pedestrian_detailed.csv and "
        "pedestrian_plot.png are not written there; write them elsewhere with --output-folder DIR"
    ]
    assert f"{split}: read-only, so comparison_deta_assa.png is not written there" in caplog.text
    assert results["trk"][F.COMBINED]["Count"]["Dets"] == len(TRACKER_ROWS)  # scores as ever


def test_an_output_folder_asked_for_is_written_beside_read_only_results(tmp_path, read_only):
    gt, trackers = write_benchmark(tmp_path, {"trk": TRACKER_ROWS})
    read_only(trackers / "MOT17-train" / "trk")
    out = tmp_path / "out"
    assert (
        main(
            ["eval", "--gt-folder", str(gt), "--trackers-folder", str(trackers), "--output-folder", str(out)]
        )
        == 0
    )
    assert (out / "trk" / "pedestrian_summary.txt").is_file()


@pytest.mark.parametrize(
    ("metrics", "columns"),
    [
        (["CLR_Re"], ["CLR_Re"]),
        (["deta", "IDF1"], ["DetA", "IDF1"]),
        (["HOTA", "clr_re"], ["HOTA", "DetA", "AssA", "LocA", "CLR_Re"]),
        (
            ["HOTA", "CLEAR", "Identity"],
            ["HOTA", "DetA", "AssA", "LocA", "MOTA", "MOTP", "IDF1", "IDSW", "Frag"],
        ),
        (["CLEAR"], ["MOTA", "MOTP", "IDSW", "Frag"]),
    ],
)
def test_metrics_named_by_field_are_the_table_columns(tmp_path, capsys, metrics, columns):
    gt, trackers = write_benchmark(tmp_path, {"trk": TRACKER_ROWS})
    argv = ["eval", "--gt-folder", str(gt), "--trackers-folder", str(trackers), "--no-summaries"]
    assert main([*argv, "--metrics", *metrics]) == 0
    header = capsys.readouterr().out.splitlines()[1].split()
    assert header == ["Sequence", *columns]


def test_a_field_outside_the_summary_is_shown_as_its_kind(tmp_path):
    """CLR_F1 is a rate (×100); FP_per_frame a mean count and CLR_Frames a count: as they are."""
    gt, trackers = write_benchmark(tmp_path, {"trk": TRACKER_ROWS})
    results = evaluate(gt, trackers, metrics=["CLEAR"], write_summaries=False)["trk"]
    clear = results[F.COMBINED]["CLEAR"]
    table = report.format_table(results, ["CLR_F1", "FP_per_frame", "CLR_Frames"], "trk")
    combined = table.splitlines()[-1].split()
    assert combined == [F.COMBINED, f"{100 * clear['CLR_F1']:1.5g}", f"{clear['FP_per_frame']:1.5g}", "3"]


def test_without_a_seqmap_the_warning_says_where_the_sequences_come_from(tmp_path, caplog):
    gt, trackers = write_benchmark(tmp_path, {"trk": TRACKER_ROWS}, seqmap=False)
    data = trackers / "MOT17-train" / "trk" / "data"
    (data / "seq-b.txt").write_text(TRACKER_ROWS[0] + "\n")
    with caplog.at_level("WARNING", logger="discmot"):
        evaluate(gt, trackers, write_summaries=False)
    assert "in the seqmap" not in caplog.text
    assert (
        f"{data / 'seq-b.txt'}: not evaluated, no sequence of that name in {gt / 'MOT17-train'} (no seqmap: "
        "its sequences are its folders holding gt/gt.txt); a typo?"
    ) in caplog.text


def test_with_a_seqmap_the_warning_names_it(tmp_path, caplog):
    gt, trackers = write_benchmark(tmp_path, {"trk": TRACKER_ROWS})
    (trackers / "MOT17-train" / "trk" / "data" / "seq-b.txt").write_text(TRACKER_ROWS[0] + "\n")
    with caplog.at_level("WARNING", logger="discmot"):
        evaluate(gt, trackers, write_summaries=False)
    assert "seq-b.txt: not evaluated, no sequence of that name in the seqmap; a typo?" in caplog.text


def test_no_match_at_iou_half_says_which_scores_are_zero(tmp_path, caplog):
    """HOTA stays above 0 (its lower thresholds match): the warning no longer says "scores 0"."""
    gt, trackers = write_benchmark(tmp_path, {"shifted": SHIFTED_ROWS})
    with caplog.at_level("WARNING", logger="discmot"):
        results = evaluate(gt, trackers, write_summaries=False)
    combined = results["shifted"][F.COMBINED]
    assert combined["CLEAR"]["CLR_TP"] == 0 and report.summary_values(combined)["HOTA"] > 0
    assert "scores 0" not in caplog.text
    assert (
        "shifted: no result box matches a ground-truth box at IoU >= 0.5 in seq-a, so there MOTP and IDF1 "
        "are 0, MOTA counts every result box as a false positive and HOTA and DetA count only the matches "
        "at IoU thresholds below 0.5;"
    ) in caplog.text


def test_plot_in_the_one_pair_form_names_the_cli_options(tmp_path, capsys):
    gt = write_sequence(tmp_path / "gt")
    results = tmp_path / "res" / "seq-a.txt"
    results.parent.mkdir()
    results.write_text("\n".join(TRACKER_ROWS) + "\n")
    assert main(["eval", "--gt", str(gt), "--results", str(results), "--plot"]) == 2
    assert "error: --plot needs --output-folder DIR with --gt and --results" in capsys.readouterr().err
    assert sorted(p.name for p in results.parent.iterdir()) == ["seq-a.txt"]


def test_the_benchmark_docstring_no_longer_says_discmot_draws_no_plots():
    text = (Path(__file__).parents[1] / "benchmarks" / "trackeval_mot.py").read_text()
    assert "discmot draws none" not in text


# --------------------------------------------------------------------------------------------------
# convert


@pytest.fixture(scope="module")
def tiny_official(tmp_path_factory) -> Path:
    """An official-format FDTA file at the tiny preset's shapes, without a stored config."""
    path = tmp_path_factory.mktemp("tiny") / "fdta_tiny_official.pth"
    random_official_checkpoint(path, "tiny")
    return path


def test_convert_infers_the_one_preset_whose_shapes_fit(tiny_official, tmp_path, caplog):
    import torch

    from discmot.models.fdta.checkpoint import load_fdta

    out = tmp_path / "fo.safetensors"
    with caplog.at_level("INFO", logger="discmot"):
        assert main(["convert", str(tiny_official), str(out)]) == 0
    assert "its keys and shapes are those of the tiny preset: loaded as it" in caplog.text
    assert "wrote" in caplog.text and "(FDTA, the tiny preset)" in caplog.text
    converted, original = load_fdta(out), torch.load(tiny_official, weights_only=True)["model"]
    assert converted.config.name == "tiny"
    assert all(torch.equal(converted.state_dict()[key], value) for key, value in original.items())


def test_a_paper_preset_file_loads_as_before_without_the_search(monkeypatch):
    """Shapes of spec §7.3 (the ID decoder's window 30: dancetrack) decide as before, no preset is built;
    a file that several presets fit keeps the old default (and its error)."""
    import torch

    from discmot.models.fdta import checkpoint

    state = {"id_decoder.rel_pos_embeds": torch.zeros(8, 30)}
    monkeypatch.setattr(checkpoint, "presets_that_fit", lambda *a, **k: pytest.fail("searched presets"))
    assert checkpoint._official_file_config(Path("x.pth"), {}, state, None).name == "dancetrack"
    monkeypatch.setattr(checkpoint, "presets_that_fit", lambda *a, **k: ["tiny", "bft"])
    assert checkpoint._official_file_config(Path("x.pth"), {}, {}, None).name == "dancetrack"


def test_convert_into_an_existing_folder_that_takes_no_file(tiny_official, capsys):
    """Root may write into a mode-555 folder; /proc takes no new file from anyone."""
    if not Path("/proc/self").is_dir():
        pytest.skip("no /proc here (not Linux)")
    assert main(["convert", str(tiny_official), "/proc/x.safetensors"]) == 2
    err = capsys.readouterr().err
    assert "/proc/x.safetensors: the folder /proc exists but no file can be written in it (" in err


def test_a_text_file_given_as_a_checkpoint_is_said_to_be_text(tmp_path, capsys):
    path = tmp_path / "results.pth"
    path.write_text("1,1,10,10,20,40,1,-1,-1,-1\n")
    assert main(["convert", str(path), str(tmp_path / "x.safetensors")]) == 2
    err = capsys.readouterr().err
    assert f"{path}: not a PyTorch checkpoint but a text file, starting '1,1,10,10,20,40,1,-1,-1,-1' (" in err
    assert "Memo value" not in err


def test_convert_says_in_words_what_differs_from_the_preset():
    import dataclasses

    from discmot.cli.convert import _architecture
    from discmot.models.fdta.config import PRESETS, preset

    tiny = preset("tiny")
    config = dataclasses.replace(
        tiny,
        detr=dataclasses.replace(tiny.detr, num_queries=30),
        id_decoder=dataclasses.replace(tiny.id_decoder, layers=3),
        runtime=dataclasses.replace(tiny.runtime, miss_tolerance=9),
    )
    assert (
        _architecture(config, PRESETS)
        == "the tiny preset, with its own detr, id_decoder and runtime settings"
    )
    one = dataclasses.replace(tiny, detr=dataclasses.replace(tiny.detr, num_queries=30))
    assert _architecture(one, PRESETS) == "the tiny preset, with its own detr settings"


# --------------------------------------------------------------------------------------------------
# interpolate


def test_interpolate_refuses_a_txt_out_for_a_folder(tmp_path, capsys):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "seq-a.txt").write_text("1,1,10,10,20,40,1,-1,-1,-1\n3,1,14,10,20,40,1,-1,-1,-1\n")
    out = tmp_path / "i_mott.txt"
    assert main(["interpolate", str(folder), "--out", str(out)]) == 2
    assert f"{out}: a file name, but {folder} is a folder of results" in capsys.readouterr().err
    assert not out.exists()


def test_interpolate_help_agrees_with_its_default():
    from discmot.cli.interpolate import INTERPOLATE_EPILOG
    from discmot.postprocess import DEFAULT_MAX_GAP

    assert f"--max-gap (default {DEFAULT_MAX_GAP})" in " ".join(INTERPOLATE_EPILOG.split())
    assert "does what they do" not in INTERPOLATE_EPILOG
    assert "--max-gap 20" not in INTERPOLATE_EPILOG  # the default is not spelled out as if it were theirs
