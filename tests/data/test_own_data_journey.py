"""A user's own annotations on the way to FDTA training (docs/datasets.md, 'Your own dataset'): what an
annotation tool's export, a MOT17 copy or a hand-made folder gets from the training index, the clip
dataset and `discmot depth` when something in it is not what training reads.

Every dataset here is written by hand (flat grey frames, gt rows spelt out), so the expected counts,
lines and sizes come from the test, not from the code under test.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from discmot.data.clip_sampler import warn_sequences_without_clips
from discmot.data.clips import Clip, ClipConfig, ClipDataset
from discmot.data.frames import FrameReadError
from discmot.data.sequences import SequenceIndex, missing_split_message
from discmot.io.depth import check_sequence
from discmot.io.mot import read_mot_table
from helpers import shared_file

WIDTH, HEIGHT = 64, 48


def write_sequence(
    folder: Path,
    frames: int,
    rows: list[str] | None = None,
    seqinfo: bool = True,
    names: list[str] | None = None,
    im_ext: str = ".jpg",
) -> Path:
    """``folder/img1`` with ``frames`` grey frames (``names``, default ``000001.jpg`` ...), ``gt/gt.txt``
    (default: two people on every frame) and a ``seqinfo.ini`` of ``WIDTH x HEIGHT``."""
    (folder / "img1").mkdir(parents=True)
    (folder / "gt").mkdir()
    image = np.full((HEIGHT, WIDTH, 3), 100, np.uint8)
    for name in names or [f"{k:06d}.jpg" for k in range(1, frames + 1)]:
        cv2.imwrite(str(folder / "img1" / name), image)
    if rows is None:
        rows = [f"{k},{i},{10 * i},5,8,20,1,1,1" for k in range(1, frames + 1) for i in (1, 2)]
    (folder / "gt" / "gt.txt").write_text("\n".join(rows) + "\n")
    if seqinfo:
        (folder / "seqinfo.ini").write_text(
            f"[Sequence]\nname={folder.name}\nimDir=img1\nframeRate=10\nseqLength={frames}\n"
            f"imWidth={WIDTH}\nimHeight={HEIGHT}\nimExt={im_ext}\n"
        )
    return folder


# --------------------------------------------------------------------------------------------------
# frames of another size in one sequence


def test_a_frame_of_another_size_stops_training_naming_it(tmp_path):
    """A video whose frame 3 was saved at twice the size (gt still in the first size's pixels) used to
    train without a word, its boxes at half their place: reading it is now an error naming it."""
    sequence = write_sequence(tmp_path / "train" / "cam", frames=6)
    big = np.full((2 * HEIGHT, 2 * WIDTH, 3), 100, np.uint8)
    cv2.imwrite(str(sequence / "img1" / "000003.jpg"), big)
    index = SequenceIndex.from_root(tmp_path, "train")  # only the first frame is checked here
    dataset = ClipDataset(index, ClipConfig(sample_length=2, depth=False), train=False)

    assert dataset.read_frames(Clip(0, (3, 4))).size == (HEIGHT, WIDTH)  # other frames read as before
    with pytest.raises(
        FrameReadError, match=r"img1/000003\.jpg: 128x96, but the first frame .*000001\.jpg, is 64x48"
    ):
        dataset.read_frames(Clip(0, (1, 2)))  # frames 2 and 3 (0-based 1, 2)


def test_a_frame_of_another_size_is_named_before_its_depth_map(tmp_path):
    """Depth maps made before one frame was resized all have the first size: the frame is at fault."""
    sequence = write_sequence(tmp_path / "train" / "cam", frames=4)
    (sequence / "depth").mkdir()
    for k in range(1, 5):
        cv2.imwrite(str(sequence / "depth" / f"{k:06d}.png"), np.full((HEIGHT, WIDTH), 50, np.uint8))
    cv2.imwrite(str(sequence / "img1" / "000002.jpg"), np.full((HEIGHT + 2, WIDTH, 3), 100, np.uint8))
    dataset = ClipDataset(SequenceIndex.from_root(tmp_path, "train"), ClipConfig(sample_length=2, depth=True))
    with pytest.raises(FrameReadError, match=r"img1/000002\.jpg: 64x50, but the first frame"):
        dataset.read_frames(Clip(0, (1, 2)))


# --------------------------------------------------------------------------------------------------
# no clip at all: said when the dataset is built (before the run folder), not by the first epoch


def test_sequences_all_shorter_than_a_clip_are_an_error_when_the_dataset_is_built(tmp_path):
    for name in ("a", "b"):
        write_sequence(tmp_path / "train" / name, frames=4)
    index = SequenceIndex.from_root(tmp_path, "train")

    warn_sequences_without_clips(index, 4, 4)  # a clip of 4 fits
    with pytest.raises(
        ValueError, match=r"no legal clip of 8 frames in 2 sequence\(s\).*train/a: 4 of 4 frames"
    ):
        warn_sequences_without_clips(index, 8, 4)


# --------------------------------------------------------------------------------------------------
# rows that are no pedestrians, boxes outside the image


def test_rows_with_consider_0_or_another_class_are_trained_on_and_said(tmp_path, caplog):
    rows = [
        "1,1,5,5,8,20,1,1,1",
        "1,2,20,5,8,20,1,1,0.5",
        "2,1,6,5,8,20,1,1,1",
        "2,2,21,5,8,20,0,1,0.5",  # an ignore region (consider 0)
        "2,3,40,5,8,20,1,3,1",  # a car
    ]
    write_sequence(tmp_path / "train" / "cam", frames=2, rows=rows)
    with caplog.at_level(logging.WARNING):
        index = SequenceIndex.from_root(tmp_path, "train")

    assert len(index[0].ids) == 5  # every row is still a training box (spec fdta.md §8.1)
    assert (
        "cam/gt/gt.txt:4: 2 of 5 rows have consider=0 or a class other than 1 (this one consider=0)"
        in caplog.text
    )


@pytest.mark.parametrize(
    "tail",
    ["1,1,1", "1,-1,-1,-1", "", "1"],
    ids=["dancetrack", "mot15-world-coordinates", "six-columns", "seven-columns"],
)
def test_gt_of_pedestrians_only_is_not_warned_about(tmp_path, caplog, tail):
    rows = [f"{k},1,5,5,8,20" + (f",{tail}" if tail else "") for k in (1, 2)]
    write_sequence(tmp_path / "train" / "cam", frames=2, rows=rows)
    with caplog.at_level(logging.WARNING):
        SequenceIndex.from_root(tmp_path, "train")
    assert "rows have consider=0" not in caplog.text and "wholly outside" not in caplog.text


def test_boxes_wholly_outside_the_image_are_said_partly_outside_are_not(tmp_path, caplog):
    rows = [
        "1,1,-4,-4,8,20,1,1,1",  # partly outside: a person at the border
        "1,2,60,40,8,20,1,1,1",  # partly outside, bottom right
        "2,1,-30,5,20,20,1,1,1",  # wholly left of the image (x + w = -10)
        "2,2,64,5,8,20,1,1,1",  # starts at the right edge: no pixel inside
    ]
    write_sequence(tmp_path / "train" / "cam", frames=2, rows=rows)
    with caplog.at_level(logging.WARNING):
        SequenceIndex.from_root(tmp_path, "train")
    assert (
        "gt.txt:3: 2 box(es) lie wholly outside the 64x48 image (this one x=-30 y=5 w=20 h=20)" in caplog.text
    )


def test_boxes_outside_are_measured_on_the_first_image_without_a_seqinfo(tmp_path, caplog):
    rows = ["1,1,5,5,8,20", "2,1,70,5,8,20"]
    write_sequence(tmp_path / "train" / "cam", frames=2, rows=rows, seqinfo=False)
    with caplog.at_level(logging.WARNING):
        SequenceIndex.from_root(tmp_path, "train")
    assert "gt.txt:2: 1 box(es) lie wholly outside the 64x48 image" in caplog.text


@pytest.mark.parametrize("variant", ["crlf", "trailing-comma", "tabs"])
def test_gt_written_by_other_tools_trains_as_written(tmp_path, variant):
    rows = [f"{k},{i},{10 * i},5,8,20,1,1,1" for k in (1, 2) for i in (1, 2)]
    text = "\n".join(rows) + "\n"
    text = {
        "crlf": text.replace("\n", "\r\n"),
        "trailing-comma": text.replace("\n", ",\n"),
        "tabs": text.replace(",", "\t"),
    }[variant]
    sequence = write_sequence(tmp_path / "train" / "cam", frames=2)
    (sequence / "gt" / "gt.txt").write_bytes(text.encode())
    record = SequenceIndex.from_root(tmp_path, "train")[0]
    assert record.boxes.tolist() == [[10, 5, 8, 20], [20, 5, 8, 20]] * 2
    assert record.legal.tolist() == [True, True]


# --------------------------------------------------------------------------------------------------
# images an annotation tool named


def test_frames_named_by_an_export_say_to_rename_them(tmp_path):
    """frame_000000.PNG ... with imExt=.png: the error used to say 'correct imExt', which was right."""
    names = [f"frame_{k:06d}.PNG" for k in range(3)]
    write_sequence(tmp_path / "train" / "cam", frames=3, names=names, im_ext=".png")
    with pytest.raises(FileNotFoundError) as error:
        SequenceIndex.from_root(tmp_path, "train")
    message = str(error.value)
    assert "this folder has .PNG images: rename them to <frame>.png" in message
    assert "correct imExt" not in message
    assert "its images are not named by a frame number (e.g. frame_000000.PNG)" in message
    assert "frame 1 as 000001.png" in message


def test_unpadded_frame_numbers_train(tmp_path):
    write_sequence(tmp_path / "train" / "cam", frames=3, names=["1.jpg", "2.jpg", "3.jpg"], seqinfo=False)
    record = SequenceIndex.from_root(tmp_path, "train")[0]
    assert [path.name for path in record.image_files] == ["1.jpg", "2.jpg", "3.jpg"]


# --------------------------------------------------------------------------------------------------
# layouts: a flat folder of sequences, another split name


def test_a_flat_folder_of_sequences_names_the_flags_that_read_it(tmp_path):
    write_sequence(tmp_path / "videos" / "cam", frames=2)
    message = missing_split_message(tmp_path / "videos", "train")
    assert message.endswith(f"holds sequence folders itself: --data-root {tmp_path} --set split=videos")
    with pytest.raises(FileNotFoundError, match="--set split=videos"):
        SequenceIndex.from_root(tmp_path / "videos", "train")
    assert len(SequenceIndex.from_root(tmp_path, "videos")) == 1  # what the message says works


def test_a_data_root_of_dots_is_named_by_its_real_folder(tmp_path, monkeypatch):
    """From inside a sequence, ``--data-root ..`` suggested ``--data-root . --set split=..``."""
    write_sequence(tmp_path / "videos" / "cam", frames=2)
    monkeypatch.chdir(tmp_path / "videos" / "cam")
    for given in (Path(".."), Path("../cam/..")):
        message = missing_split_message(given, "train")
        assert message.endswith(f"--data-root {tmp_path.resolve()} --set split=videos"), message


def test_another_split_name_is_named(tmp_path):
    write_sequence(tmp_path / "mine" / "cam", frames=2)
    assert missing_split_message(tmp_path, "train").endswith("split folders here: mine (--set split=mine)")
    assert "is a sequence folder" in missing_split_message(tmp_path / "mine" / "cam", "train")


# --------------------------------------------------------------------------------------------------
# depth maps for one's own frames


def test_synthetic_depth_of_real_frames_names_what_works(tmp_path):
    sequence = write_sequence(tmp_path / "train" / "cam", frames=2, seqinfo=False)
    with pytest.raises(
        ValueError, match=r"no seqinfo.ini\): --estimator synthetic only re-renders .*depth-anything"
    ):
        check_sequence(sequence, synthetic=True)


# --------------------------------------------------------------------------------------------------
# real MOT17 ground truth


def test_mot17_gt_rows_that_are_no_pedestrians_are_counted(tmp_path, caplog):
    """MOT17-05's gt holds 1,096 rows that are ignore regions, distractors or vehicles (consider 0); FDTA
    trains on them all, as the original, and now says how many."""
    source = shared_file("data/mot/MOT17/train/MOT17-05-FRCNN")
    gt = read_mot_table(source / "gt" / "gt.txt")
    expected = int((gt.values[:, 6] == 0).sum() + ((gt.values[:, 6] != 0) & (gt.values[:, 7] != 1)).sum())
    sequence = tmp_path / "train" / "MOT17-05-FRCNN"
    (sequence / "gt").mkdir(parents=True)
    (sequence / "gt" / "gt.txt").write_bytes((source / "gt" / "gt.txt").read_bytes())
    (sequence / "img1").mkdir()
    image = cv2.imencode(".jpg", np.zeros((480, 640, 3), np.uint8))[1].tobytes()
    for k in range(1, 838):  # seqLength of MOT17-05 (its seqinfo.ini, copied below)
        (sequence / "img1" / f"{k:06d}.jpg").write_bytes(image)
    (sequence / "seqinfo.ini").write_bytes((source / "seqinfo.ini").read_bytes())
    with caplog.at_level(logging.WARNING):
        record = SequenceIndex.from_root(tmp_path, "train")[0]
    assert len(record.ids) == gt.num_rows
    assert f"{expected} of {gt.num_rows} rows have consider=0 or a class other than 1" in caplog.text
