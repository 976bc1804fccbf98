"""Findings of session 29's review (two "fresh eyes" journeys): image folders whose numbers start late,
globs over several folders, a split's end-to-end trackers held to its end, show's grey summary, the
shared path check and joiner, and ``eval --gt/--results --workers``."""

from __future__ import annotations

import gc
import logging
import time
import weakref
from pathlib import Path

import cv2
import numpy as np
import pytest

from discmot.cli import main
from discmot.io.video import open_source, skipped_clauses, skipped_summary
from discmot.structures import Tracks


def write_images(folder: Path, names: list[str], size: tuple[int, int] = (32, 24)) -> list[Path]:
    """Small grey JPEGs named ``names`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / name for name in names]
    for path in paths:
        cv2.imwrite(str(path), np.full((size[1], size[0], 3), 120, np.uint8))
    return paths


def warnings_of(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


# --------------------------------------------------------------------------------------------------
# 1. An image folder starts at its first image


def test_an_image_folder_named_from_50_is_frames_50_on_with_nothing_skipped(tmp_path, caplog):
    """``clip/000050.jpg .. 000052.jpg``: frames 50-52 (the names' numbers), and frames 1-49 are no
    missing frames: nothing skipped, no warning (it was "49 frames skipped in all")."""
    write_images(tmp_path / "clip", ["000050.jpg", "000051.jpg", "000052.jpg"])
    source = open_source(tmp_path / "clip")
    with caplog.at_level(logging.WARNING):
        numbers = [number for number, _ in source]
    assert numbers == [50, 51, 52] and source.first_number == 50 and source.num_frames == 52
    assert source.skipped == [] and warnings_of(caplog) == []


def test_images_named_by_large_numbers_cost_nothing_before_the_first(tmp_path):
    """``3000000.jpg``, ``3000001.jpg``: two frames read at once, not 3 million numbers skipped (2.3 s and
    a 3-million-entry list before)."""
    write_images(tmp_path / "big", ["3000000.jpg", "3000001.jpg"])
    source = open_source(tmp_path / "big")
    start = time.perf_counter()
    numbers = [number for number, _ in source]
    assert numbers == [3000000, 3000001] and source.skipped == []
    assert time.perf_counter() - start < 0.5


def test_a_gap_after_the_first_image_is_still_a_skipped_frame(tmp_path, caplog):
    write_images(tmp_path / "clip", ["000050.jpg", "000052.jpg"])
    source = open_source(tmp_path / "clip")
    with caplog.at_level(logging.WARNING):
        assert [number for number, _ in source] == [50, 52]
    assert source.skipped == [51]
    assert warnings_of(caplog) == [f"{tmp_path / 'clip'}: frame 51 has no image file; skipped"]


def test_the_progress_total_counts_from_the_first_image(tmp_path):
    """The bar (or the log line off a terminal) of ``3000000.jpg`` on is 2 frames, not 3 million."""
    from discmot.engine.infer import frames_progress_bar
    from discmot.io.video import first_frames

    write_images(tmp_path / "big", ["3000000.jpg", "3000001.jpg"])
    source = open_source(tmp_path / "big")
    assert frames_progress_bar(source, False).total == 2
    assert frames_progress_bar(first_frames(source, 3000000), False).total == 1


def test_show_draws_an_image_folder_from_its_first_image(tmp_path, caplog):
    """``discmot show clip/`` (images 50-52) wrote a 52-frame video, 49 of them grey, with a warning; now
    the 3 frames, and ``--frames`` before the first image is a one-line error."""
    import av

    from discmot.viz.show import show_sequence

    write_images(tmp_path / "clip", ["000050.jpg", "000051.jpg", "000052.jpg"])
    results = tmp_path / "res.txt"
    results.write_text("".join(f"{k},1,10,10,20,30,1,-1,-1,-1\n" for k in (50, 51, 52)))
    out = tmp_path / "out.mp4"
    with caplog.at_level(logging.WARNING):
        summary = show_sequence(tmp_path / "clip", results, out, progress=False)
    assert summary["frames"] == 3 and warnings_of(caplog) == []
    with av.open(str(out)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 3
    with pytest.raises(ValueError, match=r"^frames 10-52: .*clip starts at frame 50 \(its first image\)$"):
        show_sequence(tmp_path / "clip", results, tmp_path / "part.mp4", frames=(10, 52), progress=False)
    assert show_sequence(tmp_path / "clip", results, tmp_path / "one.png", frames=(51, 51))["frames"] == 1


# --------------------------------------------------------------------------------------------------
# 2. A glob over several folders


def test_a_glob_over_two_folders_numbers_its_images_by_position(tmp_path, caplog):
    """``g/**/*.jpg`` over ``a/000001.jpg`` and ``b/000001.jpg`` was refused ("are both image 1"); each
    folder's numbers name its own frames, so the images play in natural order, said at INFO."""
    a = write_images(tmp_path / "g" / "a", ["000001.jpg", "000002.jpg"])
    b = write_images(tmp_path / "g" / "b", ["000001.jpg", "000002.jpg"])
    pattern = str(tmp_path / "g" / "**" / "*.jpg")
    with caplog.at_level(logging.INFO):
        source = open_source(pattern)
    assert [number for number, _ in source] == [1, 2, 3, 4]
    assert [source.frame_path(k) for k in (1, 2, 3, 4)] == [*a, *b]
    assert f"{pattern}: images in 2 folders: frames are numbered by position" in caplog.text


def test_a_glob_in_one_folder_still_numbers_by_name(tmp_path):
    write_images(tmp_path / "g", ["000002.jpg", "000004.jpg"])
    source = open_source(str(tmp_path / "g" / "*.jpg"))
    assert [number for number, _ in source] == [2, 4]


# --------------------------------------------------------------------------------------------------
# 3. A split tracked end to end holds only the tracker under way


class _Filter:
    """What `_filtered_rows` reads of CSTrack's association: the rows its output filter dropped."""

    filtered_boxes = 0


class _DroppingTracker:
    """An end-to-end tracker (the engine's protocol: ``detects``, ``update(frame)``, ``reset()``) whose
    output filter drops 2 rows per frame; it notes how many of its kind are alive while it tracks."""

    detects = True
    alive: weakref.WeakSet = weakref.WeakSet()
    most_alive = 0

    def __init__(self):
        self.association = _Filter()
        _DroppingTracker.alive.add(self)

    def reset(self) -> None:
        self.association.filtered_boxes = 0

    def update(self, frame_bgr: np.ndarray) -> Tracks:
        gc.collect()
        _DroppingTracker.most_alive = max(_DroppingTracker.most_alive, len(_DroppingTracker.alive))
        self.association.filtered_boxes += 2
        return Tracks(np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0))


def test_a_split_tracked_end_to_end_keeps_only_the_tracker_under_way(tmp_path, caplog):
    """Every sequence's tracker was kept to the end only to sum what the output filter dropped (FDTA's
    histories are GPU memory); the count is now kept as each sequence ends, and still complete."""
    from discmot.engine.track_checks import TrackOutputs
    from discmot.engine.track_end_to_end import run_end_to_end

    split = tmp_path / "split"
    for name in ("s1", "s2", "s3"):
        write_images(split / name / "img1", ["000001.jpg", "000002.jpg"])
        (split / name / "seqinfo.ini").write_text(
            f"[Sequence]\nname={name}\nimDir=img1\nframeRate=25\nseqLength=2\nimExt=.jpg\n"
        )
    outputs = TrackOutputs(None, None, tmp_path / "out", "trk", None, False)
    _DroppingTracker.most_alive = 0
    with caplog.at_level(logging.WARNING):
        summaries = run_end_to_end(split, lambda: lambda frame_rate: _DroppingTracker(), outputs)
    assert sorted(summaries) == ["s1", "s2", "s3"]
    assert _DroppingTracker.most_alive == 1
    assert "the pedestrian output filter dropped all 12 confirmed track boxes" in caplog.text


# --------------------------------------------------------------------------------------------------
# 4. The clauses of a skip summary, for either lead-in


def test_skipped_clauses_are_shared_by_the_skip_and_grey_summaries():
    from discmot.viz.show import _grey_summary

    skips = [
        (3, "seq", "has no image file"),
        (4, "seq", "has no image file"),
        (9, "seq/9.jpg", "is a truncated JPEG"),
    ]
    clauses = "frames 3-4 have no image file; frame 9 is a truncated JPEG (9.jpg)"
    assert skipped_clauses("seq", skips) == clauses
    assert skipped_summary("seq", skips) == f"seq: 3 frames skipped in all: {clauses}"
    assert _grey_summary("seq", skips) == f"seq: 3 frames drawn on grey in all: {clauses}"


# --------------------------------------------------------------------------------------------------
# 5. One path check, one joiner, a public duration


def test_each_path_check_keeps_its_parameter_and_hint():
    import discmot
    from discmot.io.mot_results import write_mot_results
    from discmot.models.registry import load_model

    cases = [
        (lambda: write_mot_results(None, [], [], np.zeros((0, 4))), "write_mot_results: path must be a path "
         "(str or os.PathLike), got NoneType"),
        (lambda: discmot.evaluate_pair("gt.txt", 3), "evaluate_pair: results_file must be a path (str or "
         "os.PathLike), got int"),
        (lambda: load_model("fdta", None), "load_model: weights must be a path (str or os.PathLike), got "
         'NoneType; discmot.bundled_weights("fdta") gives the bundled one'),
        (lambda: discmot.track(np.zeros((4, 4, 3))), "source must be a path, glob or webcam index (str, Path "
         "or int), got ndarray: to track frames held in memory"),
        (lambda: discmot.track(True), "source must be a path, glob or webcam index (str, Path or int), got "
         "bool"),
        (lambda: discmot.track("clip.mp4", weights=object()), "weights must be a checkpoint path (str or "
         "Path), got object: a model already loaded goes to a tracker"),
    ]  # fmt: skip
    for call, start in cases:
        with pytest.raises(TypeError) as error:
            call()
        assert str(error.value).startswith(start) and "\n" not in str(error.value)


def test_one_joiner_and_a_public_duration():
    from discmot.engine.infer import duration_text
    from discmot.messages import listed_all

    assert [listed_all(names) for names in (["a"], ["a", "b"], ["a", "b", "c"])] == [
        "a",
        "a and b",
        "a, b and c",
    ]
    assert [duration_text(s) for s in (40, 720, 6360)] == ["40 s", "12 min", "1 h 46 min"]


def test_track_says_an_unknown_model_once_before_anything_else(tmp_path):
    import discmot

    with pytest.raises(ValueError, match=r"^unknown model 'nope': choose jde, fdta, cstrack$"):
        discmot.track(tmp_path / "missing.mp4", model="nope")


# --------------------------------------------------------------------------------------------------
# 6. eval --gt/--results --workers


def test_eval_of_one_pair_refuses_workers(tmp_path, capsys):
    """``--workers N`` was taken and ignored with ``--gt``/``--results``: one pair is one sequence."""
    gt, results = tmp_path / "gt.txt", tmp_path / "res.txt"
    gt.write_text("1,1,10,10,20,30,1,1,1\n")
    results.write_text("1,1,10,10,20,30,1,-1,-1,-1\n")
    status = main(["eval", "--gt", str(gt), "--results", str(results), "--workers", "2"])
    err = capsys.readouterr().err.strip().splitlines()
    assert status != 0 and len(err) == 1
    assert "not with the folder form's --workers" in err[0]
    assert main(["eval", "--gt", str(gt), "--results", str(results), "--seq-length", "1"]) == 0
