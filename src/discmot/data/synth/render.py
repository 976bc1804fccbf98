"""Rendering a `Scene` into frames: image, exact depth, visible boxes and visibility.

Actors are painted far to near (painter's algorithm) into the colour image and into an id buffer that
records which actor owns each pixel. An actor's box is the extent of the pixels it still owns at the
end (so occlusion and the image border both cut it), and its visibility is that pixel count over the
pixels its whole body covers (drawn alone, unclipped). An actor showing less than
`MIN_VISIBLE_FRACTION` of its body (or fewer than `MIN_VISIBLE_PIXELS` pixels) counts as hidden in
that frame and gets no box, so a sliver of a hand never becomes a box; it re-appears later with the
same id.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from discmot.data.synth import figures
from discmot.data.synth.presets import PRESETS, SynthConfig, build_scene
from discmot.data.synth.scene import Actor, Scene

MIN_VISIBLE_PIXELS = 4
MIN_VISIBLE_FRACTION = 0.1
#: Frame sides a scene can be laid out in: below 32 px a street has no room for its buildings.
MIN_SIDE, MAX_SIDE = 32, 8192
#: Frames a sequence of `generate_dataset` (`discmot synth`) may have. A scene's motion is drawn for
#: all its frames at once, and ``mot``'s walkers arrive all along it, each with a track over the whole
#: sequence: 10,000 frames take 170 MB, 40,000 already 1.8 GB, and 10^9 frames were killed for memory.
#: Longer than any benchmark sequence it imitates (MOT20-05: 3,315 frames); more footage is more
#: sequences. `render_sequence` itself (bench, demo, depth) takes the length it is given.
MAX_FRAMES = 10_000


@dataclass(frozen=True)
class SynthFrame:
    """One rendered frame.

    Attributes:
        index: 1-based frame number.
        image: ``(H, W, 3)`` uint8 BGR.
        depth: ``(H, W)`` float32 depth in metres (``inf`` for the sky).
        ids: ``(N,)`` int64 track ids (>= 1) of the visible objects.
        boxes: ``(N, 4)`` float64 ``x, y, w, h`` of the visible extent, in pixels.
        visibility: ``(N,)`` float64 visible fraction of each object, in ``(0, 1]``.
    """

    index: int
    image: np.ndarray
    depth: np.ndarray
    ids: np.ndarray
    boxes: np.ndarray
    visibility: np.ndarray


def sequence_rng(seed: int, preset: str, split: str = "train", index: int = 0) -> np.random.Generator:
    """The random generator of one sequence; splits and sequences never share scenes."""
    return np.random.default_rng([seed, zlib.crc32(preset.encode()), zlib.crc32(split.encode()), index])


def synth_config(preset: str | SynthConfig) -> SynthConfig:
    """``preset`` as a `SynthConfig`: a name of `PRESETS`, or a config as it is."""
    if isinstance(preset, SynthConfig):
        return preset
    if preset not in PRESETS:
        raise ValueError(f"unknown synthetic preset {preset!r}: choose {', '.join(PRESETS)}")
    return PRESETS[preset]


def check_render_request(seed: int, num_frames: int | None, size: tuple[int, int] | None) -> None:
    """Refuses a seed, frame count or ``(width, height)`` no scene can be built from, naming it."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be an integer of at least 0, got {seed!r}")
    if num_frames is not None and (
        isinstance(num_frames, bool) or not isinstance(num_frames, int | np.integer) or num_frames < 1
    ):
        raise ValueError(f"the number of frames must be an integer of at least 1, got {num_frames!r}")
    if size is None:
        return
    if (
        not isinstance(size, tuple | list)
        or len(size) != 2
        or not all(isinstance(side, int | np.integer) and not isinstance(side, bool) for side in size)
    ):
        raise ValueError(f"size must be (width, height) in whole pixels, got {size!r}")
    if not all(MIN_SIDE <= side <= MAX_SIDE for side in size):
        raise ValueError(f"size {size[0]}x{size[1]}: each side must be {MIN_SIDE} to {MAX_SIDE} pixels")


def make_scene(
    config: SynthConfig,
    seed: int,
    num_frames: int,
    size: tuple[int, int] | None = None,
    split: str = "train",
    index: int = 0,
) -> Scene:
    """The scene of sequence ``index`` of ``split`` for ``config`` and ``seed``."""
    return build_scene(config, sequence_rng(seed, config.name, split, index), num_frames, size or config.size)


def render_sequence(
    config: str | SynthConfig,
    seed: int,
    num_frames: int | None = None,
    size: tuple[int, int] | None = None,
    split: str = "train",
    index: int = 0,
) -> Iterator[SynthFrame]:
    """Renders the frames of one synthetic sequence, one at a time.

    Args:
        config: a name of `PRESETS` or a `SynthConfig`.
        seed, split, index: which scene (`generate_dataset` writes sequence ``index`` of ``split``).
        num_frames, size: frames and ``(width, height)`` (default: the preset's).
    """
    config = synth_config(config)
    check_render_request(seed, num_frames, size)
    scene = make_scene(config, seed, num_frames or config.frames, size, split, index)
    ground = scene.camera.ground_depth()
    for frame in range(scene.num_frames):
        yield render_frame(scene, frame, ground)


def empty_scene_depth(scene: Scene, frame: int, ground: np.ndarray) -> np.ndarray:
    """``(H, W)`` float32 depth of the empty scene: the nearer of the ground and the backdrop."""
    return np.minimum(ground, scene.backdrop_view(frame))


#: Body parts; the id buffer stores ``slot * PART_CODES + part`` so that one drawing pass gives both
#: which actor owns a pixel and which colour it has.
PARTS = ("shirt", "pants", "skin", "hair", "accent")
PART_CODES = len(PARTS)


def render_frame(scene: Scene, frame: int, ground: np.ndarray) -> SynthFrame:
    """Renders 0-based ``frame`` of ``scene``; ``ground`` is ``scene.camera.ground_depth()``."""
    camera = scene.camera
    owner = np.zeros((camera.height, camera.width), np.uint16)  # slot * PART_CODES + part; 0: background
    painted: list[tuple[Actor, tuple[int, int, int, int], int]] = []
    for actor in _far_to_near(scene.actors, frame):
        u, v = camera.project(actor.x[frame], actor.y[frame], actor.z[frame], scene.camera_x[frame])
        shapes = figures.primitives(actor, frame, float(u), float(v), camera.focal / float(actor.z[frame]))
        bounds = figures.primitives_bounds(shapes)
        if not _overlaps_image(bounds, camera.width, camera.height) or len(painted) == 8000:
            continue
        fixed = figures.to_fixed(shapes)
        slot = len(painted) + 1
        figures.paint(owner, fixed, {part: slot * PART_CODES + i for i, part in enumerate(PARTS)})
        painted.append((actor, bounds, _full_pixel_count(owner, slot, fixed, bounds)))
    slots = owner // PART_CODES
    image = _colour(scene.background_view(frame), owner, painted)
    ids, boxes, visibility = _visible_boxes(slots, painted)
    depth = empty_scene_depth(scene, frame, ground)
    if painted:
        actor_depth = np.array([0.0] + [a.z[frame] for a, _, _ in painted], np.float32)
        covered = slots > 0
        depth[covered] = actor_depth[slots[covered]]
    return SynthFrame(frame + 1, image, depth, ids, boxes, visibility)


def _colour(background: np.ndarray, owner: np.ndarray, painted) -> np.ndarray:
    """The colour image: the background, with every owned pixel in its actor's part colour."""
    image = background.copy()
    if not painted:
        return image
    palette = np.zeros(((len(painted) + 1) * PART_CODES, 3), np.uint8)
    for slot, (actor, _, _) in enumerate(painted, start=1):
        palette[slot * PART_CODES : (slot + 1) * PART_CODES] = [actor.colors[p] for p in PARTS]
    if len(palette) <= 256:  # codes fit in a byte: OpenCV's table lookup is ~8x faster than numpy's gather
        codes = owner.astype(np.uint8)
        table = np.zeros((256, 1, 3), np.uint8)
        table[: len(palette), 0] = palette
        owned = np.full(256, 255, np.uint8)
        owned[0] = 0
        cv2.copyTo(cv2.LUT(cv2.merge([codes, codes, codes]), table), cv2.LUT(codes, owned), image)
    else:
        covered = owner > 0
        image[covered] = palette[owner[covered]]
    return image


def _far_to_near(actors: Sequence[Actor], frame: int) -> list[Actor]:
    alive = [a for a in actors if a.present[frame]]
    return sorted(alive, key=lambda a: (-float(a.z[frame]), a.track_id))


def _overlaps_image(bounds: tuple[int, int, int, int], width: int, height: int) -> bool:
    x0, y0, x1, y1 = bounds
    return x1 > 0 and y1 > 0 and x0 < width and y0 < height


def _full_pixel_count(owner: np.ndarray, slot: int, fixed, bounds) -> int:
    """Pixels the actor's whole body covers, occluded or not.

    Right after the actor is painted it owns all its pixels inside the image; only an actor crossing
    the image border is drawn again alone, unclipped, to count the part outside.
    """
    x0, y0, x1, y1 = bounds
    height, width = owner.shape
    if x0 >= 0 and y0 >= 0 and x1 <= width and y1 <= height:
        return max(int(np.count_nonzero(owner[y0:y1, x0:x1] // PART_CODES == slot)), 1)
    canvas = np.zeros((y1 - y0, x1 - x0), np.uint8)
    figures.paint(canvas, fixed, None, value=1, origin=(x0, y0))
    return max(int(np.count_nonzero(canvas)), 1)


def _visible_boxes(slots: np.ndarray, painted) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Visible extent and fraction of every painted actor still owning enough pixels (``slots``:
    the actor slot owning each pixel)."""
    height, width = slots.shape
    ids, boxes, visibility = [], [], []
    for slot, (actor, (x0, y0, x1, y1), full) in enumerate(painted, start=1):
        cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
        mine = slots[cy0:cy1, cx0:cx1] == slot
        count = int(np.count_nonzero(mine))
        if count < MIN_VISIBLE_PIXELS or count < MIN_VISIBLE_FRACTION * full:
            continue
        rows = np.flatnonzero(mine.any(axis=1))
        cols = np.flatnonzero(mine.any(axis=0))
        boxes.append((cx0 + cols[0], cy0 + rows[0], cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1))
        ids.append(actor.track_id)
        visibility.append(min(count / full, 1.0))
    order = np.argsort(np.asarray(ids, np.int64), kind="stable")  # rows by id, like MOTChallenge gt
    return (
        np.asarray(ids, np.int64)[order],
        np.asarray(boxes, np.float64).reshape(-1, 4)[order],
        np.asarray(visibility, np.float64)[order],
    )
