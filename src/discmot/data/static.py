"""CrowdHuman as still images that the sampler repeats into clips (MOTIP's joint training, §8.1).

Layout::

    <root>/{train,val}/images/<ID>.jpg
    <root>/{train,val}/gts/<ID>.txt          one box per line: "0 track_id x y w h" (frame 0, pixels)
    <root>/{train,val}/depth/<ID>.png        only with depth maps (see below)

Each image becomes a one-frame `SequenceRecord` with ``static=True``: the sampler repeats it T times
and `discmot.data.transforms.multi_simulate` turns the copies into a moving clip.

Depth maps: FDTA's loader derives ``images/<ID>.png`` (no ``img1`` to replace), which cannot work
(spec §8.1: CrowdHuman is effectively MOTIP-only there). discmot looks for ``depth/<ID>.png`` beside
``images/``, the same sibling-folder rule as for sequences.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from discmot.data.sequences import SequenceIndex, records_from_rows
from discmot.io.mot import read_mot_table


class StaticImageIndex(SequenceIndex):
    """Still images with boxes and ids, one static record per image (see the module docstring)."""

    @classmethod
    def from_root(cls, root: str | Path, split: str, sequences=None) -> StaticImageIndex:
        """Indexes ``<root>/<split>/images/*.jpg`` and ``gts/<ID>.txt`` (or only the IDs in ``sequences``).

        Raises:
            FileNotFoundError: the images folder or an image's annotation file is missing.
            MotFormatError: an annotation file is malformed (fewer than 6 columns, non-numeric, ...).
        """
        base = Path(root) / split
        folder = base / "images"
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: CrowdHuman images folder not found")
        names = sorted(sequences) if sequences is not None else sorted(p.stem for p in folder.glob("*.jpg"))
        return cls([_image_record(base, split, name) for name in names])


def _image_record(base: Path, split: str, name: str):
    image = base / "images" / f"{name}.jpg"
    gt = base / "gts" / f"{name}.txt"
    if not gt.is_file():
        raise FileNotFoundError(f"{gt}: annotation file not found (for the image {image})")
    table = read_mot_table(gt, min_columns=6)
    # Columns: frame (always 0: one still frame), track id, x, y, w, h; all rows used.
    values = table.values[:, 1:6]
    return records_from_rows(f"{split}/{name}", [image], np.zeros(len(values), np.int64), values, static=True)
