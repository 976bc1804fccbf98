"""A split folder's sub-folders that hold images but no seqinfo.ini are named, not silently left out."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from discmot.engine.infer import find_sequences


def write_images(folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(1, count + 1):
        cv2.imwrite(str(folder / f"{k:06d}.jpg"), np.zeros((8, 8, 3), np.uint8))


def test_a_sub_folder_of_images_without_seqinfo_is_named_once_and_not_tracked(tmp_path, caplog):
    split = tmp_path / "own2" / "train"
    for name in ("cam_b", "cam_c"):
        write_images(split / name / "img1", 2)
        (split / name / "seqinfo.ini").write_text("[Sequence]\nseqLength=2\nimDir=img1\n")
    write_images(split / "cam_a" / "img1", 3)  # a sequence folder without seqinfo.ini
    write_images(split / "loose", 2)  # images straight in the folder
    (split / "notes").mkdir()  # no images: not a sequence, nothing to say
    (split / "notes" / "readme.txt").write_text("x")
    write_images(split / ".thumbnails", 1)  # hidden: nothing to say
    with caplog.at_level(logging.WARNING):
        assert find_sequences(split, None) == [split / "cam_b", split / "cam_c"]
    hint = (
        "skipped (no seqinfo.ini): a sequence needs one to be tracked as part of the split "
        "(docs/datasets.md, 'Your own dataset', has a template)"
    )
    assert [r.getMessage() for r in caplog.records] == [
        f"{split / 'cam_a'}: {hint}",
        f"{split / 'loose'}: {hint}",
    ]
