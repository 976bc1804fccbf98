"""FDTA's dataset handling against the spec's literal rules (``fdta.md`` §2.10, §8.1, §8.2).

Each test builds a tiny dataset folder by hand in the authors' layout and checks one rule as the spec
states it: the clip sampler against a line-by-line restatement of MOTIP's ``NaiveSampler``, SportsMOT's
gt rows as distributed, the ``discmot depth`` writer against the loader, and the depth maps of the
original generator (8-digit names beside 6-digit images, spec §8.2's naming bug).
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import cv2
import numpy as np
import pytest

from discmot.data.clips import ClipConfig, ClipDataset, ClipSampler
from discmot.data.frames import read_depth
from discmot.data.sequences import SequenceIndex, records_from_rows
from discmot.io.depth import DepthAccumulator

HEIGHT, WIDTH = 24, 32


def write_sequence(folder: Path, gt: str, frames: int, digits: int, seqinfo: str | None = None) -> Path:
    """``folder/img1/<frame>.jpg`` (``digits`` wide, black ``WIDTH x HEIGHT``), ``gt/gt.txt`` and an
    optional ``seqinfo.ini``, written exactly as given."""
    (folder / "img1").mkdir(parents=True)
    (folder / "gt").mkdir()
    ok, jpeg = cv2.imencode(".jpg", np.zeros((HEIGHT, WIDTH, 3), np.uint8))
    assert ok
    for frame in range(1, frames + 1):
        (folder / "img1" / f"{frame:0{digits}d}.jpg").write_bytes(jpeg.tobytes())
    (folder / "gt" / "gt.txt").write_text(gt)
    if seqinfo is not None:
        (folder / "seqinfo.ini").write_text(seqinfo)
    return folder


def write_depth_pngs(folder: Path, names: list[str]) -> None:
    (folder / "depth").mkdir(exist_ok=True)
    ok, png = cv2.imencode(".png", np.zeros((HEIGHT, WIDTH), np.uint8))
    assert ok
    for name in names:
        (folder / "depth" / name).write_bytes(png.tobytes())


# --------------------------------------------------------------------------------------------------
# §2.10: which clips are sampled


def naive_sampler_literally(records, length: int, epoch: int, seed: int = 1025, intervals: int = 4):
    """Spec §2.10 line by line: python ``random`` seeded ``seed + epoch``; for every sequence and start
    ``s`` with ``s + T <= len`` an interval is drawn (also where the clip is then dropped), capped by
    ``floor((len - s - 1) / (T - 1))``; a clip is kept when every frame is legal."""
    random.seed(seed + epoch)
    kept = []
    for sequence, record in enumerate(records):
        for start in range(record.length):
            if start + length > record.length:
                continue
            interval = min(
                random.randint(1, intervals), math.floor((record.length - start - 1) / (length - 1))
            )
            frames = tuple(start + k * interval for k in range(length))
            if all(record.legal[f] for f in frames):
                kept.append((sequence, frames))
    return kept


def test_the_sampler_is_the_naive_sampler_with_illegal_frames_in_between():
    """Illegal frames (none, more than 300 boxes, an id twice) drop clips but not interval draws: every
    later clip of the epoch keeps the original's interval."""
    rng = np.random.default_rng(0)
    records = []
    for number, length in enumerate([40, 7, 90, 31]):
        frames, rows = [], []
        for frame in range(length):
            kind = rng.random()
            count = 0 if kind < 0.08 else 301 if kind < 0.12 else int(rng.integers(1, 4))
            ids = list(range(count)) if kind >= 0.16 or count > 1 else [0]
            if 0.12 <= kind < 0.16:
                ids = [5, 5]  # an id twice
            frames += [frame] * len(ids)
            rows += [[track, 1.0, 1.0, 2.0, 2.0] for track in ids]
        images = [Path(f"s{number}/img1/{f + 1:06d}.jpg") for f in range(length)]
        records.append(records_from_rows(f"s{number}", images, np.array(frames, np.int64), np.array(rows)))
    index = SequenceIndex(records)
    assert not all(record.legal.all() for record in records)
    for epoch in range(3):
        expected = naive_sampler_literally(records, 8, epoch)
        got = [(clip.sequence, clip.frames) for clip in ClipSampler(index, 8, epoch=epoch).clips()]
        assert sorted(got) == sorted(expected) and len(got) == len(expected) > 0


# --------------------------------------------------------------------------------------------------
# §8.1: the authors' layouts


SPORTSMOT_SEQINFO = (  # as distributed: no newline at the end
    "[Sequence]\nname=v_x_c001\nimDir=img1\nframeRate=25\nseqLength=4\nimWidth=32\nimHeight=24\nimExt=.jpg"
)


def test_sportsmot_rows_as_distributed_are_all_used_with_ids_from_0(tmp_path):
    """SportsMOT's gt: ``", "``-separated, ids from 0, 6-digit images; every row is an object (§8.1: no
    filter by the last three columns), frame f is the f-th image, its depth map ``depth/<6 digits>.png``."""
    gt = "".join(
        f"{frame}, {track}, {3 + track}, 4, 5, 6, {flag}, 1, 1\n"
        for frame in range(1, 5)
        for track, flag in ((0, 1), (1, 0))
    )
    folder = write_sequence(tmp_path / "train" / "v_x_c001", gt, 4, 6, SPORTSMOT_SEQINFO)
    record = SequenceIndex.from_root(tmp_path, "train")[0]
    assert record.length == 4 and record.legal.all() and record.frame_size == (HEIGHT, WIDTH)
    boxes, ids = record.annotations(3)
    assert ids.tolist() == [0, 1] and boxes.tolist() == [[3, 4, 5, 6], [4, 4, 5, 6]]
    assert record.image_files[3] == folder / "img1" / "000004.jpg"
    assert record.depth_file(3) == folder / "depth" / "000004.png"


# --------------------------------------------------------------------------------------------------
# §8.2: depth maps


def test_maps_written_by_discmot_depth_are_what_training_reads(tmp_path):
    """The writer's ``floor(255 * D / max over the sequence)`` 8-bit grey PNGs, named after 6-digit
    images, pass the loader's checks and read back as those values (no rescaling)."""
    gt = "".join(f"{frame},1,3,4,5,6,1,1,1\n" for frame in range(1, 4))
    folder = write_sequence(tmp_path / "train" / "bft-1", gt, 3, 6)  # BFT: no seqinfo.ini
    rng = np.random.default_rng(1)
    inverse = [rng.random((HEIGHT, WIDTH)).astype(np.float32) * scale for scale in (0.5, 4.0, 2.0)]
    accumulator = DepthAccumulator()
    for frame, values in enumerate(inverse, 1):
        accumulator.add(f"{frame:06d}", values)
    assert accumulator.write(folder) == 3
    index = SequenceIndex.from_root(tmp_path, "train")
    assert not index.missing_depth_files() and not index.badly_formatted_depth_files()
    largest = max(float(values.max()) for values in inverse)
    for frame, values in enumerate(inverse):
        stored = read_depth(index[0].depth_file(frame), index[0].image_files[frame], (HEIGHT, WIDTH))
        assert np.array_equal(stored, np.floor(255 * values.astype(np.float64) / largest).astype(np.uint8))
    assert stored.max() < 255 and read_depth(index[0].depth_file(1), "", (HEIGHT, WIDTH)).max() == 255


def test_the_original_generators_8_digit_maps_beside_6_digit_images_are_said_to_be_renamed(tmp_path):
    """FDTA's gen_depthmaps.py names every map with 8 digits, the loader looks for the image's own
    6-digit name (§8.2): the maps are there, and the error says so and how to use them, instead of only
    asking for new ones (the paper's Video-Depth-Anything maps are not what `discmot depth` makes)."""
    gt = "".join(f"{frame},1,3,4,5,6,1,1,1\n" for frame in range(1, 6))
    folder = write_sequence(tmp_path / "train" / "v_x_c001", gt, 5, 6)
    write_depth_pngs(folder, [f"{frame:08d}.png" for frame in range(1, 6)])
    index = SequenceIndex.from_root(tmp_path, "train")
    with pytest.raises(FileNotFoundError) as error:
        ClipDataset(index, ClipConfig(sample_length=2))
    message = str(error.value)
    assert message.startswith(f"{folder / 'depth' / '000001.png'}: depth map not found")
    assert "00000001.png -> 000001.png" in message and "8 digits" in message
    assert "\n" not in message


def test_a_map_simply_missing_gets_no_rename_hint(tmp_path):
    gt = "".join(f"{frame},1,3,4,5,6,1,1,1\n" for frame in range(1, 4))
    folder = write_sequence(tmp_path / "train" / "s", gt, 3, 6)
    write_depth_pngs(folder, ["000001.png", "000003.png", "00000003.png"])
    with pytest.raises(FileNotFoundError) as error:
        ClipDataset(SequenceIndex.from_root(tmp_path, "train"), ClipConfig(sample_length=2))
    assert str(error.value).startswith(f"{folder / 'depth' / '000002.png'}: depth map not found")
    assert "->" not in str(error.value) and "discmot depth" in str(error.value)
