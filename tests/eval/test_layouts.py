"""Both folder layouts find the same files and give the same numbers; missing pieces are named."""

from __future__ import annotations

import numpy as np
import pytest
from test_bad_input import GT_ROWS, TRACKER_ROWS, write_benchmark

from discmot.data.layouts import LayoutError, resolve_eval_plan
from discmot.eval.runner import evaluate, evaluate_files


def write_dataset_root(root, split="val"):
    """DanceTrack/SportsMOT/BFT layout: ROOT/<split>/<seq>/..., ROOT/<split>_seqmap.txt, flat results."""
    seq = root / "DanceTrack" / split / "seq-a"
    (seq / "gt").mkdir(parents=True)
    (seq / "gt" / "gt.txt").write_text("\n".join(GT_ROWS) + "\n")
    (seq / "seqinfo.ini").write_text("[Sequence]\nname=seq-a\nseqLength=3\nframeRate=20\n")
    (root / "DanceTrack" / f"{split}_seqmap.txt").write_text("name\nseq-a\n")
    results = root / "outputs" / "my_tracker"
    results.mkdir(parents=True)
    (results / "seq-a.txt").write_text("\n".join(TRACKER_ROWS) + "\n")
    return root / "DanceTrack", results


def test_dataset_root_layout_matches_trackeval_layout(tmp_path):
    gt_root, results = write_dataset_root(tmp_path / "a")
    gt, trackers = write_benchmark(tmp_path / "b")
    flat = evaluate(gt_root, results, benchmark="DanceTrack", split="val", write_summaries=False)
    nested = evaluate(gt, trackers, benchmark="MOT17", split="train", write_summaries=False)
    assert list(flat) == ["my_tracker"]
    ours, theirs = flat["my_tracker"]["COMBINED"], nested["trk"]["COMBINED"]
    for metric in ("HOTA", "CLEAR", "Identity", "Count"):
        for field, value in theirs[metric].items():
            np.testing.assert_array_equal(ours[metric][field], value, err_msg=f"{metric}.{field}")


def test_flat_results_folder_receives_summaries(tmp_path):
    gt_root, results = write_dataset_root(tmp_path)
    evaluate(gt_root, results, benchmark="DanceTrack", split="val")
    assert (results / "pedestrian_summary.txt").is_file()
    # A second run must not mistake its own summaries for results of an unknown sequence.
    evaluate(gt_root, results, benchmark="DanceTrack", split="val")


def test_missing_split_folder_says_what_was_expected(tmp_path):
    gt_root, results = write_dataset_root(tmp_path)
    with pytest.raises(LayoutError) as error:
        resolve_eval_plan(gt_root, results, "DanceTrack", "test")
    message = str(error.value)
    assert "DanceTrack-test" in message and str(gt_root / "test") in message


def test_a_split_folder_in_another_case_is_pointed_out(tmp_path):
    """Folder names are matched as typed (TrackEval's way); only the rules' preset name ignores case."""
    gt, trackers = write_benchmark(tmp_path)
    if (gt / "mot17-train").is_dir():
        pytest.skip("a case-insensitive file system finds the folder anyway")
    with pytest.raises(LayoutError, match=r"there is .*MOT17-train: folder names are case-sensitive"):
        resolve_eval_plan(gt, trackers, "mot17", "train")


def test_missing_seqmap_lists_sequence_folders(tmp_path):
    gt_root, results = write_dataset_root(tmp_path)
    (gt_root / "val_seqmap.txt").unlink()
    plan = resolve_eval_plan(gt_root, results, "DanceTrack", "val")
    assert [s.name for s in plan.sequences] == ["seq-a"] and plan.sequences[0].num_frames == 3


def test_an_output_folder_asked_for_that_cannot_be_written_is_an_error(tmp_path):
    """Read-only results only lose their summaries (a warning); a wrong --output-folder is an error."""
    gt, trackers = write_benchmark(tmp_path)
    (tmp_path / "afile").write_text("")
    with pytest.raises(NotADirectoryError):
        evaluate(gt, trackers, benchmark="MOT17", split="train", output_folder=tmp_path / "afile")


def test_one_sequence_of_a_benchmark_is_evaluated_by_name(tmp_path):
    """``sequences=[...]`` instead of writing a seqmap: here the one sequence with results of the split."""
    gt_root, results = write_dataset_root(tmp_path)
    other = gt_root / "val" / "seq-b"  # a second sequence without results: not evaluated when not named
    other.mkdir()
    (gt_root / "val" / "seq-a").joinpath("gt").rename(other / "gt")
    (gt_root / "val" / "seq-a" / "gt").mkdir()
    (gt_root / "val" / "seq-a" / "gt" / "gt.txt").write_text((other / "gt" / "gt.txt").read_text())
    (other / "seqinfo.ini").write_text("[Sequence]\nname=seq-b\nseqLength=3\n")
    (gt_root / "val_seqmap.txt").write_text("name\nseq-a\nseq-b\n")
    with pytest.raises(Exception, match="seq-b.txt: result file"):
        evaluate(gt_root, results, benchmark="DanceTrack", split="val", write_summaries=False)
    named = evaluate(
        gt_root, results, benchmark="DanceTrack", split="val", write_summaries=False, sequences=["seq-a"]
    )
    assert list(named["my_tracker"]) == ["seq-a", "COMBINED"]
    with pytest.raises(Exception, match="either a seqmap or the sequences"):
        evaluate(gt_root, results, benchmark="DanceTrack", split="val", seqmap=gt_root / "val_seqmap.txt",
                 sequences=["seq-a"])  # fmt: skip


def two_sequence_root(tmp_path):
    """`write_dataset_root` with a second sequence, seq-b, whose gt and results equal seq-a's."""
    gt_root, results = write_dataset_root(tmp_path)
    seq_b = gt_root / "val" / "seq-b"
    (seq_b / "gt").mkdir(parents=True)
    (seq_b / "gt" / "gt.txt").write_text((gt_root / "val" / "seq-a" / "gt" / "gt.txt").read_text())
    (seq_b / "seqinfo.ini").write_text("[Sequence]\nname=seq-b\nseqLength=3\n")
    (results / "seq-b.txt").write_text((results / "seq-a.txt").read_text())
    return gt_root, results


def test_a_seqmap_without_its_header_line_is_warned_about(tmp_path, caplog):
    gt_root, results = two_sequence_root(tmp_path)
    (gt_root / "val_seqmap.txt").write_text("seq-a\nseq-b\n")  # hand-written, no header line
    with caplog.at_level("WARNING", logger="discmot"):
        scored = evaluate(gt_root, results, benchmark="DanceTrack", split="val", write_summaries=False)
    assert list(scored["my_tracker"]) == ["seq-b", "COMBINED"]  # as TrackEval: the first line is a header
    assert "its first line 'seq-a' is read as the header" in caplog.text
    caplog.clear()
    (gt_root / "val_seqmap.txt").write_text("name\nseq-a\nseq-b\n")
    with caplog.at_level("WARNING", logger="discmot"):
        evaluate(gt_root, results, benchmark="DanceTrack", split="val", write_summaries=False)
    assert "header" not in caplog.text


def test_named_sequences_leave_the_other_result_files_unmentioned(tmp_path, caplog):
    gt_root, results = two_sequence_root(tmp_path)
    with caplog.at_level("WARNING", logger="discmot"):
        evaluate(
            gt_root, results, benchmark="DanceTrack", split="val", write_summaries=False, sequences=["seq-a"]
        )
    assert "not evaluated" not in caplog.text
    (gt_root / "val_seqmap.txt").write_text("name\nseq-a\n")  # a seqmap may hide a typo: said
    with caplog.at_level("WARNING", logger="discmot"):
        evaluate(gt_root, results, benchmark="DanceTrack", split="val", write_summaries=False)
    assert "seq-b.txt: not evaluated" in caplog.text


def test_one_trackers_own_folder_is_named_after_the_tracker_not_data(tmp_path):
    gt_root, results = write_dataset_root(tmp_path)
    data = results / "data"
    data.mkdir()
    (results / "seq-a.txt").rename(data / "seq-a.txt")  # outputs/my_tracker/data/seq-a.txt
    for folder in (results, data):
        scored = evaluate(gt_root, folder, benchmark="DanceTrack", split="val", write_summaries=False)
        assert list(scored) == ["my_tracker"], folder


@pytest.mark.parametrize("workers", [0, -1, 1.5, True])
def test_workers_must_be_a_positive_whole_number(tmp_path, workers):
    gt_root, results = write_dataset_root(tmp_path)
    with pytest.raises(ValueError, match="at least 1"):
        evaluate(gt_root, results, benchmark="DanceTrack", split="val", workers=workers)


def test_one_pair_of_files_scores_as_its_benchmark_folder(tmp_path):
    """`evaluate_files` without a length takes the files' last frame (3 here, seqinfo's too)."""
    gt, trackers = write_benchmark(tmp_path)
    folder = evaluate(gt, trackers, write_summaries=False)["trk"]["seq-a"]
    pair = evaluate_files(
        gt / "MOT17-train" / "seq-a" / "gt" / "gt.txt",
        trackers / "MOT17-train" / "trk" / "data" / "seq-a.txt",
    )
    for metric, fields in folder.items():
        for field, value in fields.items():
            np.testing.assert_array_equal(pair[metric][field], value, err_msg=f"{metric}.{field}")
