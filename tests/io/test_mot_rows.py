"""`discmot.io.mot.rows_by_frame` and `read_results_by_frame`: rows grouped by frame in file order, and
empty files (a tracker that found nothing) read as no frames."""

from __future__ import annotations

import numpy as np

from discmot.io.mot import read_results_by_frame, rows_by_frame


def test_rows_are_grouped_by_frame_in_file_order():
    values = np.array([[3, 7, 0, 0, 1, 1], [1, 2, 0, 0, 1, 1], [3, 5, 0, 0, 1, 1], [1, 9, 0, 0, 1, 1]], float)
    groups = rows_by_frame(values)
    assert list(groups) == [1, 3]
    assert groups[1][:, 1].tolist() == [2, 9] and groups[3][:, 1].tolist() == [7, 5]


def test_empty_tables_and_files_have_no_frames(tmp_path):
    assert rows_by_frame(np.zeros((0, 0))) == {} and rows_by_frame(np.zeros((0, 7))) == {}
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    assert read_results_by_frame(empty) == {}
    one = tmp_path / "one.txt"
    one.write_text("2,4,1,2,3,4\n")
    ((frame, (ids, boxes, scores)),) = read_results_by_frame(one).items()
    assert frame == 2 and ids.tolist() == [4] and boxes.tolist() == [[1, 2, 3, 4]] and scores.tolist() == [1]
