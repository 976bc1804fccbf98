"""`discmot.eval.report.write_tracker_outputs` writes its two files as a pair: a reader (or a script
comparing runs) never finds a new summary beside an old or missing detailed csv.

The results are a tiny evaluation made here (no TrackEval needed); the files' bytes are checked against
TrackEval's in test_report.py.
"""

from __future__ import annotations

import errno

import pytest

from discmot.eval import report
from discmot.eval.runner import evaluate_files
from helpers import os_error_past_a_file_size_limit

OLD = {"pedestrian_summary.txt": "old summary\r\n", "pedestrian_detailed.csv": "old,csv\r\n"}


@pytest.fixture
def results(tmp_path):
    """``{sequence or COMBINED: metrics}`` of one short track; its csv is ~8 kB, its summary ~0.4 kB."""
    (tmp_path / "gt.txt").write_text("1,1,10,10,20,40,1,1,1\n2,1,11,10,20,40,1,1,1\n")
    (tmp_path / "t.txt").write_text("1,1,10,10,20,40,1,-1,-1,-1\n2,1,12,10,20,40,1,-1,-1,-1\n")
    scored = evaluate_files(tmp_path / "gt.txt", tmp_path / "t.txt")
    return {"seq-a": scored, "seq-b": scored, "COMBINED": scored}


def old_pair(folder):
    folder.mkdir()
    for name, text in OLD.items():
        (folder / name).write_bytes(text.encode())
    return folder


def test_a_full_disk_writing_the_csv_leaves_the_old_pair(tmp_path, results):
    """The summary fits under the size limit and the csv does not: the summary must not be replaced
    alone (it was, before the pair was written together), and no temporary file is left."""
    report.write_json(tmp_path / "results.json", results)
    folder = old_pair(tmp_path / "out")
    code = """
        from discmot.eval import report
        report.write_tracker_outputs(sys.argv[1], report.read_json(sys.argv[2]))
    """
    raised = os_error_past_a_file_size_limit(code, 4096, folder, tmp_path / "results.json", cwd=tmp_path)
    assert raised == (str(folder / "pedestrian_detailed.csv"), errno.EFBIG)
    assert {p.name: p.read_bytes().decode() for p in folder.iterdir()} == OLD


def test_a_rename_failing_after_the_summary_says_the_summary_was_replaced(tmp_path, results):
    folder = old_pair(tmp_path / "out")
    (folder / "pedestrian_detailed.csv").unlink()
    (folder / "pedestrian_detailed.csv").mkdir()  # a folder in the way: renaming the csv fails
    (folder / "pedestrian_detailed.csv" / "x").write_text("x")
    with pytest.raises(OSError) as error:
        report.write_tracker_outputs(folder, results)
    assert error.value.filename == str(folder / "pedestrian_detailed.csv")
    assert f"{folder / 'pedestrian_summary.txt'} already replaced" in error.value.strerror
    assert sorted(p.name for p in folder.iterdir()) == ["pedestrian_detailed.csv", "pedestrian_summary.txt"]


def test_the_pair_replaces_an_old_pair_and_leaves_nothing_else(tmp_path, results):
    folder = old_pair(tmp_path / "out")
    report.write_tracker_outputs(folder, results)
    assert (folder / "pedestrian_summary.txt").read_bytes() == report.summary_text(
        results["COMBINED"]
    ).encode()
    assert (folder / "pedestrian_detailed.csv").read_bytes() == report.detailed_csv_text(results).encode()
    assert sorted(p.name for p in folder.iterdir()) == sorted(OLD)
