"""``discmot show`` on what ``discmot track`` tracks: a video file, an image folder, a glob, with the gt given
by ``--gt``. Frame k of a video is its k-th frame, as track numbers it, so the errors drawn are those of
the sequence form on the same frames (the scene of `test_show`, its frames encoded into a video).
"""

from __future__ import annotations

import cv2
import pytest
from test_show import FRAMES, clear_of, decoded, write_results, write_sequence

from discmot.cli import main as cli_main
from discmot.io.video import VideoWriter
from discmot.viz.show import show_sequence
from helpers import shared_file


@pytest.fixture
def video_scene(tmp_path):
    """The scene's sequence, its frames as ``walk.mp4``, and the results."""
    folder = write_sequence(tmp_path / "walk")
    video = tmp_path / "videos" / "walk.mp4"
    video.parent.mkdir()
    images = [cv2.imread(str(folder / "img1" / f"{k:06d}.png")) for k in range(1, FRAMES + 1)]
    with VideoWriter(video, 10, (images[0].shape[1], images[0].shape[0])) as writer:
        for image in images:
            writer.write(image)
    return folder, video, write_results(tmp_path / "results.txt")


def test_a_video_with_its_gt_file_is_drawn_as_its_sequence_is(video_scene, tmp_path):
    folder, video, results = video_scene
    gt = folder / "gt" / "gt.txt"
    from_video = show_sequence(video, results, tmp_path / "v.mp4", gt=gt, progress=False)
    from_sequence = show_sequence(folder, results, tmp_path / "s.mp4", progress=False)
    assert from_video["totals"] == from_sequence["totals"] == clear_of(gt, results, FRAMES)
    assert from_video["frames"] == FRAMES and len(decoded(tmp_path / "v.mp4")) == FRAMES
    part = show_sequence(video, results, tmp_path / "p.mp4", gt=gt, frames=(5, 7), progress=False)
    assert part["shown"] == show_sequence(folder, results, tmp_path / "q.mp4", frames=(5, 7))["shown"]
    assert len(decoded(tmp_path / "p.mp4")) == 3


def test_an_image_folder_and_a_glob_take_their_folders_gt(video_scene, tmp_path):
    """An image folder's own gt/gt.txt is the default, as for a sequence folder."""
    folder, _, results = video_scene
    images = tmp_path / "frames"
    (folder / "img1").rename(images)
    (folder / "gt").rename(images / "gt")
    summary = show_sequence(images, results, tmp_path / "f.mp4", progress=False)
    assert summary["gt"] == str(images / "gt" / "gt.txt") and summary["totals"]["IDSW"] == 1
    globbed = show_sequence(
        str(images / "*.png"), results, tmp_path / "g.png", gt=images / "gt" / "gt.txt", frames=(6, 6)
    )
    assert globbed["shown"] == {"FP": 0, "FN": 0, "IDSW": 1}


def test_the_cli_takes_a_video_and_a_results_folder_named_after_it(video_scene, tmp_path, caplog):
    folder, video, results = video_scene
    (tmp_path / "full").mkdir()
    results.rename(tmp_path / "full" / "walk.txt")  # as `discmot track walk.mp4 --save-txt full/walk.txt`
    argv = ["show", str(video), "--results", str(tmp_path / "full"), "--gt", str(folder / "gt" / "gt.txt")]
    with caplog.at_level("INFO", logger="discmot"):
        assert cli_main([*argv, "--out", str(tmp_path / "x.mp4")]) == 0
    assert "walk: FP 1, FN 1, IDSW 1 over its 10 frames" in caplog.text


@pytest.mark.parametrize("frames, message", [("11", "frame 11: "), ("5-12", "frames 5-12: ")])
def test_frames_beyond_the_video_say_its_length(video_scene, tmp_path, capsys, frames, message):
    folder, video, results = video_scene
    argv = [
        "show",
        str(video),
        "--results",
        str(results),
        "--out",
        str(tmp_path / "o.mp4"),
        "--frames",
        frames,
    ]
    assert cli_main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{message}{video} has 10 frames (its frame count)" in err[0], err
    assert not (tmp_path / "o.mp4").exists()


def test_a_webcam_index_is_no_source_to_show(tmp_path, capsys):
    (tmp_path / "r.txt").write_text("1,1,10,10,20,20,1,-1,-1,-1\n")
    argv = ["show", "7", "--results", str(tmp_path / "r.txt"), "--out", str(tmp_path / "o.mp4")]
    status = cli_main(argv)
    err = capsys.readouterr().err
    assert status == 2 and "7: show needs a sequence folder" in err and len(err.strip().splitlines()) == 1


def test_a_real_video_is_drawn_with_its_own_size(tmp_path):
    """vtest.avi is PETS09-S2L1 frame for frame: its scored gt rows drawn as results match themselves."""
    video = shared_file("assets/videos/vtest.avi")
    gt = shared_file("data/mot/MOT15/train/PETS09-S2L1/gt/gt.txt")
    results = tmp_path / "vtest.txt"
    results.write_text(
        "".join(
            ",".join(row.split(",")[:6]) + ",1,-1,-1,-1\n"
            for row in gt.read_text().splitlines()
            if row.split(",")[6] != "0"  # scored gt rows only: each its own match
        )
    )
    summary = show_sequence(video, results, tmp_path / "v.mp4", gt=gt, benchmark="MOT15", frames=(1, 3))
    assert summary["shown"] == {"FP": 0, "FN": 0, "IDSW": 0} and summary["frames"] == 3
    frames = decoded(tmp_path / "v.mp4")
    assert len(frames) == 3 and frames[0].shape[1] == 768
