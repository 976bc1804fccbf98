#!/usr/bin/env python
"""Draws ``docs/images/synth_<preset>.png``: a synthetic frame with gt boxes and ids beside its depth map.

Each picture is made from the files ``discmot synth`` writes, read back from disk: sequence 0 of
``generate_dataset(preset, seed=0)`` at the preset's default size, frame `FRAME`; left the JPEG with the
gt.txt boxes (colour by id, the id on a tag at the box's top-left corner), right the depth
PNG (8-bit inverse depth, brighter is nearer, black is the sky) colour-mapped with OpenCV's "inferno"
map. Both panels are enlarged 2x (nearest neighbour) so boxes and ids stay readable.

    python benchmarks/make_synth_figure.py                    # every benchmark preset
    python benchmarks/make_synth_figure.py --presets dancetrack --out /tmp/figs
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
PRESETS = ("dancetrack", "sportsmot", "bft", "mot")
FRAME = 80
SEED = 0
ZOOM = 2
TITLE_HEIGHT = 28


def id_color(track_id: int) -> tuple[int, int, int]:
    """A bright BGR colour per id, stable across frames and pictures (golden-ratio hue steps)."""
    hue = int((track_id * 0.618033988749895 % 1.0) * 180)
    hsv = np.array([[[hue, 200, 255]]], np.uint8)
    return tuple(int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])


def draw_boxes(image: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``image`` enlarged by `ZOOM` with gt ``rows`` (``frame,id,x,y,w,h,...``) drawn, far boxes first.

    Each id sits on a tag of its box's colour in the box's top-left corner (above the box when the box is
    too small to hold it); boxes are drawn in order
    of their bottom edge (a proxy for depth on a ground plane), so nearer boxes' tags stay on top.
    """
    canvas = cv2.resize(image, None, fx=ZOOM, fy=ZOOM, interpolation=cv2.INTER_NEAREST)
    for _, track, x, y, w, h, *_ in rows[np.argsort(rows[:, 3] + rows[:, 5], kind="stable")]:
        color = id_color(int(track))
        x0, y0, x1, y1 = int(x * ZOOM), int(y * ZOOM), int((x + w) * ZOOM) - 1, int((y + h) * ZOOM) - 1
        cv2.rectangle(canvas, (x0, y0), (x1, y1), color, 1)
        label = str(int(track))
        (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.4, 1)
        inside = x1 - x0 > tw + 3 and y1 - y0 > 3 * (th + 4)  # small boxes (birds) get the tag above
        top = y0 if inside else max(y0 - th - 4, 0)
        cv2.rectangle(canvas, (x0, top), (x0 + tw + 3, top + th + 4), color, -1)
        origin = (x0 + 1, top + th + 1)
        cv2.putText(canvas, label, origin, cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    return canvas


def depth_panel(depth_png: np.ndarray) -> np.ndarray:
    """The 8-bit depth map colour-mapped (inferno) and enlarged by `ZOOM`."""
    colored = cv2.applyColorMap(depth_png, cv2.COLORMAP_INFERNO)
    return cv2.resize(colored, None, fx=ZOOM, fy=ZOOM, interpolation=cv2.INTER_NEAREST)


def titled(panel: np.ndarray, title: str) -> np.ndarray:
    """``panel`` under a white strip holding ``title``."""
    strip = np.full((TITLE_HEIGHT, panel.shape[1], 3), 255, np.uint8)
    cv2.putText(strip, title, (6, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([strip, panel])


def figure(preset: str, work: Path) -> np.ndarray:
    """The two-panel picture of ``preset`` (generated into ``work`` and read back)."""
    from discmot.data.synth import PRESETS as CONFIGS
    from discmot.data.synth import generate_dataset
    from discmot.io.mot import read_mot_table

    (folder,) = generate_dataset(work / preset, preset=preset, sequences=1, frames=FRAME, seed=SEED)
    stem = f"{FRAME:0{CONFIGS[preset].frame_digits}d}"
    image = cv2.imread(str(folder / "img1" / f"{stem}.jpg"))
    depth = cv2.imread(str(folder / "depth" / f"{stem}.png"), cv2.IMREAD_UNCHANGED)
    gt = read_mot_table(folder / "gt" / "gt.txt").values
    rows = gt[gt[:, 0] == FRAME]
    title = f"{preset}: img1/{stem}.jpg with its {len(rows)} gt.txt boxes and ids"
    left = titled(draw_boxes(image, rows), title)
    right = titled(depth_panel(depth), f"depth/{stem}.png (inverse depth, bright = near)")
    gap = np.full((left.shape[0], 8, 3), 255, np.uint8)
    return np.hstack([left, gap, right])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--presets", nargs="+", default=list(PRESETS), choices=[*PRESETS, "tiny"])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "images")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="discmot-synth-figure-") as tmp:
        for preset in args.presets:
            path = args.out / f"synth_{preset}.png"
            cv2.imwrite(str(path), figure(preset, Path(tmp)), [cv2.IMWRITE_PNG_COMPRESSION, 9])
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
