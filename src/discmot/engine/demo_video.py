"""The demo's video and GIF: every model's tracks, read back from its result file, drawn on the source's
frames with trails, the models side by side (`draw_video`), and the sizes they are drawn at."""

from __future__ import annotations

import contextlib
import logging
import math
from pathlib import Path

import numpy as np

from discmot.engine.demo_config import DemoConfig

# the demo's lines: users filter its log by this name
log = logging.getLogger("discmot.engine.demo")

#: Black columns between the panels of the demo video and GIF.
PANEL_GAP = 4
#: ``(w, h)``: small frames are enlarged in the MP4 only while all panels fit this screen.
MAX_VIDEO_SIZE = (1920, 1080)
#: Height of the title bar above each panel (`discmot.viz.draw.with_title`'s default).
TITLE_BAR = 22


def compose_frame(
    image: np.ndarray, number: int, rows: dict[str, dict], trails: dict, scale: float
) -> np.ndarray:
    """One frame of the demo video: for each model, its tracks of frame ``number`` (``rows``: model ->
    `discmot.io.mot_results.read_results_by_frame`) drawn with trails on a copy of ``image`` resized by
    ``scale`` under a title bar; the panels side by side (`PANEL_GAP` apart) -> ``(H', W', 3)`` uint8 BGR.

    Boxes and labels are drawn at the output size, so that a small output (the GIF) gets labels of the
    legible minimum size instead of large ones shrunk with the whole frame."""
    from discmot.viz.draw import draw_tracks, side_by_side, with_title

    resized = resize_frame(image, scale)
    panels = []
    for name, by_frame in rows.items():
        tracks = frame_tracks(by_frame, number, scale)
        trails[name].update(tracks)
        panels.append(with_title(draw_tracks(resized.copy(), tracks, trails[name]), f"{name}  #{number}"))
    return side_by_side(panels, gap=PANEL_GAP)


def resize_frame(image: np.ndarray, scale: float) -> np.ndarray:
    """``image`` resized by ``scale``: whole-pixel enlargements keep the pixels sharp (small synthetic
    frames), reductions average (no aliasing), other enlargements interpolate."""
    import cv2

    if scale == 1:
        return image
    if scale > 1 and float(scale).is_integer():
        interpolation = cv2.INTER_NEAREST
    else:
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=interpolation)


def frame_tracks(by_frame: dict, number: int, scale: float):
    """The `discmot.structures.Tracks` of frame ``number`` of one model's result rows, boxes times
    ``scale``."""
    from discmot.structures import Tracks

    ids, boxes, scores = by_frame.get(number, (np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0)))
    return Tracks(ids, np.asarray(boxes) * scale, np.asarray(scores, np.float64))


def video_scale(frame_size: tuple[int, int], panels: int, config: DemoConfig) -> int:
    """The MP4's enlargement of frames of ``frame_size = (w, h)``: ``config.video_scale`` when the panels
    side by side still fit a 1920x1080 screen, else 1 (enlarging a real video only makes the file big)."""
    width, height = frame_size
    wide = panels * width * config.video_scale + PANEL_GAP * (panels - 1)
    high = height * config.video_scale + TITLE_BAR  # each panel's title above it
    return config.video_scale if wide <= MAX_VIDEO_SIZE[0] and high <= MAX_VIDEO_SIZE[1] else 1


def gif_scale(frame_size: tuple[int, int], panels: int, scale: int, config: DemoConfig) -> float:
    """The GIF's resize of the source frames: the panels side by side ``config.gif_width`` wide, never
    larger than in the MP4 (``scale``)."""
    room = config.gif_width - PANEL_GAP * (panels - 1)
    return min(float(scale), room / (panels * frame_size[0]))


def draw_video(
    source: Path, results: dict[str, Path], mp4: Path, gif: Path, config: DemoConfig, progress: bool
) -> dict:
    """Draws every model's tracks (read back from its result file) on the source's frames, the models
    side by side, into an H.264 ``mp4`` and a small looping ``gif``; returns their frame counts.
    ``progress``: a bar; else (a log file, ``-q``) ``discmot track``'s log line every minute."""
    from discmot.engine.progress import progress_bar
    from discmot.io.gif import write_gif
    from discmot.io.mot_results import read_results_by_frame
    from discmot.io.video import VideoWriter, first_frames, frames_yielded, open_source
    from discmot.viz.draw import TrailHistory

    frames = first_frames(open_source(source), config.source_frames)
    rows = {name: read_results_by_frame(path) for name, path in results.items()}
    trails = {name: TrailHistory() for name in results}
    gif_trails = {name: TrailHistory() for name in results}  # points at the GIF's size
    scale = video_scale(frames.size, len(rows), config)
    small = gif_scale(frames.size, len(rows), scale, config)
    stride = gif_stride(frames_yielded(frames), config)
    log.info("%s: drawing the tracks of %s into %s and %s", frames.name, ", ".join(rows), mp4.name, gif.name)
    preview: list[np.ndarray] = []
    with contextlib.ExitStack() as stack:
        bar = stack.enter_context(progress_bar(f"{frames.name} (draw)", frames_yielded(frames), progress))
        writer = None
        for number, image in frames:
            if image is None:
                raise ValueError(f"{frames.location}: the source has no images to draw on")
            canvas = compose_frame(image, number, rows, trails, scale)
            if writer is None:  # the canvas size is known once the first frame is composed
                size = (canvas.shape[1], canvas.shape[0])
                writer = stack.enter_context(VideoWriter(mp4, frames.fps or 25.0, size))
            writer.write(canvas)
            if len(preview) < config.gif_frames:
                if (number - 1) % stride == 0:  # drawn again at the GIF's size: legible labels
                    preview.append(compose_frame(image, number, rows, gif_trails, small))
                else:  # the trails still follow every frame
                    for name, by_frame in rows.items():
                        gif_trails[name].update(frame_tracks(by_frame, number, small))
            bar.update(1)
        if writer is None:
            raise ValueError(f"{frames.location}: no frames to draw")
    write_gif(gif, preview, config.gif_fps, tolerance=config.gif_tolerance)
    return {"mp4_frames": writer.frames_written, "gif_frames": len(preview)}


def gif_stride(num_frames: int | None, config: DemoConfig) -> int:
    """The GIF takes every ``stride``-th frame: ``config.gif_step``, or more for a source too long for
    ``config.gif_frames`` frames at that step (an unknown length keeps the step)."""
    if num_frames is None:
        return config.gif_step
    return max(config.gif_step, math.ceil(num_frames / config.gif_frames))
