"""Scene presets: motion and appearance models that make association hard the way each benchmark is.

* ``dancetrack``: a troupe in identical costumes (identity shows only in skin tone, hair, a wrist band
  and body proportions) dancing in sync; formations reshuffle every few seconds, so dancers cross and
  occlude each other by depth, with non-linear motion.
* ``sportsmot``: two teams in distinct kits plus a referee, fast variable-speed runs towards a moving
  ball, the camera panning with the play.
* ``bft``: a flock of small, near-identical birds (boids: cohesion, alignment, separation) at depths
  from 12 to 40 m against the sky.
* ``mot``: pedestrians of varied looks walking across a street at different depths, entering and
  leaving at the image borders; static camera.
* ``tiny``: four pedestrians, low resolution, a few frames: for unit tests.

Each builder draws everything it needs from one `numpy.random.Generator`, so a seed fixes the scene.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from discmot.data.synth.scene import Actor, Camera, Scene


@dataclass(frozen=True)
class SynthConfig:
    """A synthetic dataset preset.

    Attributes:
        name: preset name.
        size: default ``(width, height)`` in pixels.
        frames: default frames per sequence.
        frame_rate: frames per second (written to ``seqinfo.ini``; motion is scaled by it).
        frame_digits: digits of image file names (DanceTrack 8, SportsMOT/BFT/MOT17 6).
        objects: ``(min, max)`` of the cast. ``dancetrack``, ``sportsmot`` and ``bft`` draw a count in
            this range per sequence: the whole cast, in the world from the first frame to the last.
            ``mot``'s walkers come and go, about the mean (11 for ``(8, 14)``) in view at a time, not
            bounded by the range. ``tiny`` uses ``min``.
    """

    name: str
    size: tuple[int, int] = (320, 192)
    frames: int = 200
    frame_rate: int = 20
    frame_digits: int = 6
    objects: tuple[int, int] = (8, 12)


PRESETS: dict[str, SynthConfig] = {
    "dancetrack": SynthConfig("dancetrack", frame_rate=20, frame_digits=8, objects=(10, 14)),
    "sportsmot": SynthConfig("sportsmot", frame_rate=25, objects=(10, 13)),
    "bft": SynthConfig("bft", frame_rate=25, objects=(20, 32)),
    "mot": SynthConfig("mot", frame_rate=30, objects=(8, 14)),
    "tiny": SynthConfig("tiny", size=(128, 80), frames=12, frame_rate=10, frame_digits=8, objects=(4, 4)),
}


def build_scene(
    config: SynthConfig, rng: np.random.Generator, num_frames: int, size: tuple[int, int]
) -> Scene:
    """The scene of one sequence of ``config``'s preset."""
    return _BUILDERS[config.name](config, rng, num_frames, size)


# --------------------------------------------------------------------------------------------------
# Shared pieces


def _smooth(
    rng: np.random.Generator, num_frames: int, amplitude: float, period: tuple[float, float]
) -> np.ndarray:
    """A smooth random signal: the sum of three random sinusoids, ``(num_frames,)``."""
    t = np.arange(num_frames, dtype=np.float64)
    signal = np.zeros(num_frames)
    for _ in range(3):
        omega = 2 * math.pi / rng.uniform(*period)
        signal += rng.uniform(0.5, 1.0) * np.sin(omega * t + rng.uniform(0, 2 * math.pi))
    return amplitude * signal / 2.0


def _skin(rng: np.random.Generator, spread: float = 1.0) -> tuple[int, int, int]:
    tone = rng.uniform(0.35, 0.9) if spread >= 1 else rng.uniform(0.62, 0.62 + 0.12 * spread)
    return _bgr(20 + 10 * tone, 0.35 + 0.2 * (1 - tone), 0.35 + 0.6 * tone)


def _bgr(hue_deg: float, saturation: float, value: float) -> tuple[int, int, int]:
    """A BGR colour from HSV (hue in degrees, saturation and value in 0..1)."""
    hsv = np.array([[[hue_deg / 2 % 180, saturation * 255, value * 255]]], dtype=np.float32)
    b, g, r = cv2.cvtColor(np.clip(hsv, 0, 255).astype(np.uint8), cv2.COLOR_HSV2BGR)[0, 0]
    return int(b), int(g), int(r)


def _texture(rng: np.random.Generator, height: int, width: int, strength: float) -> np.ndarray:
    """Low-frequency luminance noise ``(H, W, 1)`` in ``[-strength, strength]``, to avoid flat colours."""
    coarse = rng.uniform(-1, 1, size=(max(height // 8, 2), max(width // 8, 2))).astype(np.float32)
    return (cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC) * strength)[:, :, None]


def _finish(background: np.ndarray, rng: np.random.Generator, strength: float = 10.0) -> np.ndarray:
    height, width = background.shape[:2]
    noisy = background.astype(np.float32) + _texture(rng, height, width, strength)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def _backdrop(height: int, width: int, rows: int, depth: float) -> np.ndarray:
    """``(H, W)`` float32 backdrop depth: ``depth`` on the top ``rows`` rows, ``inf`` below (ground)."""
    backdrop = np.full((height, width), np.inf, np.float32)
    backdrop[: max(rows, 0)] = depth
    return backdrop


def _walk_phase(speed: np.ndarray, stride: float, frame_rate: int, start: float) -> np.ndarray:
    """Gait phase advancing with distance walked (one cycle per two strides)."""
    return start + np.cumsum(np.abs(speed)) / frame_rate * math.pi / stride


def _person_traits(rng: np.random.Generator, spread: float) -> dict[str, float]:
    return {
        "shoulders": 1.0 + rng.uniform(-0.08, 0.08) * spread,
        "head": 1.0 + rng.uniform(-0.08, 0.08) * spread,
        "hair": rng.uniform(0.45, 0.8),
        "limbs": 1.0 + rng.uniform(-0.1, 0.1) * spread,
        "band": rng.uniform(0.5, 1.0),
        "arms": rng.uniform(-0.2, 0.2),
        "spin": rng.uniform(0.05, 0.2),
    }


# --------------------------------------------------------------------------------------------------
# dancetrack


def _dancetrack(
    config: SynthConfig, rng: np.random.Generator, num_frames: int, size: tuple[int, int]
) -> Scene:
    width, height = size
    camera = Camera(width, height, focal=1.0 * width, horizon=0.28 * height, camera_height=1.6)
    count = int(rng.integers(config.objects[0], config.objects[1] + 1))
    costume = _bgr(rng.uniform(0, 360), rng.uniform(0.5, 0.8), rng.uniform(0.35, 0.6))
    trousers = _bgr(rng.uniform(0, 360), rng.uniform(0.2, 0.4), rng.uniform(0.15, 0.3))
    band_hue = rng.uniform(0, 360)
    tempo = 2 * math.pi / rng.uniform(14, 22)  # one dance move per ~0.7-1.1 s, the whole troupe in sync
    x, z = _formations(rng, count, num_frames, config.frame_rate)
    actors = []
    for k in range(count):
        colors = {
            "shirt": costume,
            "pants": trousers,
            "skin": _skin(rng, spread=0.6),
            "hair": _bgr(25, 0.6, rng.uniform(0.08, 0.25)),
            "accent": _bgr(band_hue + rng.uniform(-25, 25), 0.7, rng.uniform(0.6, 0.9)),
        }
        phase = tempo * np.arange(num_frames) + rng.uniform(-0.3, 0.3)
        actors.append(
            Actor(
                k + 1,
                "figure",
                colors,
                rng.uniform(1.62, 1.8),
                x[k],
                np.zeros(num_frames),
                z[k],
                phase,
                np.ones(num_frames, bool),
                style=int(rng.integers(2, 4)),
                traits=_person_traits(rng, 0.6),
            )
        )
    background = _finish(_stage(rng, width, height, camera), rng, 6.0)
    backdrop = _backdrop(height, background.shape[1], int(camera.horizon), 11.0)  # the curtain
    return Scene(camera, actors, np.zeros(num_frames), background, backdrop_depth=backdrop)


def _formations(rng, count: int, num_frames: int, frame_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """``(count, F)`` stage positions: dancers move between random formations, reshuffled every 1-2.5 s.

    Each change assigns dancers to new slots by a random permutation and eases them there in half a second to
    a second, so paths cross; a per-dancer sway is added on top.
    """
    x = np.zeros((count, num_frames))
    z = np.zeros((count, num_frames))
    slots = _formation_slots(rng, count)
    previous = slots
    start, frame = 0, 0
    while frame < num_frames:
        hold = int(rng.uniform(1.2, 2.4) * frame_rate)
        move = int(rng.uniform(0.5, 0.9) * frame_rate)
        for f in range(frame, min(frame + hold, num_frames)):
            t = min((f - start) / max(move, 1), 1.0)
            ease = t * t * (3 - 2 * t)
            x[:, f] = previous[:, 0] + (slots[:, 0] - previous[:, 0]) * ease
            z[:, f] = previous[:, 1] + (slots[:, 1] - previous[:, 1]) * ease
        frame += hold
        previous, start = slots, frame
        slots = _formation_slots(rng, count)[rng.permutation(count)]
    for k in range(count):
        x[k] += _smooth(rng, num_frames, 0.15, (15, 45))
        z[k] += _smooth(rng, num_frames, 0.15, (20, 60))
    return x, np.maximum(z, 3.5)


def _formation_slots(rng, count: int) -> np.ndarray:
    """``(count, 2)`` stage slots (X, Z) of a line, a V, two rows, a circle, a scatter or files.

    In files (dancers lined up one behind the other) the nearer dancer hides the ones behind for the
    whole hold, as in real troupes: long full occlusions that end with the same identities.
    """
    kind = int(rng.choice(6, p=[0.15, 0.15, 0.15, 0.15, 0.1, 0.3]))
    k = np.arange(count, dtype=np.float64)
    spread = np.linspace(-2.2, 2.2, count)
    if kind == 0:  # line across the stage
        return np.stack([spread, np.full(count, rng.uniform(5.5, 7.5))], axis=1)
    if kind == 1:  # V towards the audience
        return np.stack([spread, 5.0 + 1.2 * np.abs(spread)], axis=1)
    if kind == 2:  # two staggered rows
        return np.stack([spread, np.where(k % 2 == 0, 5.2, 7.4)], axis=1)
    if kind == 3:  # circle
        angle = 2 * math.pi * k / count
        return np.stack([2.2 * np.cos(angle), 6.5 + 1.6 * np.sin(angle)], axis=1)
    if kind == 4:  # scatter
        return np.stack([rng.uniform(-2.2, 2.2, count), rng.uniform(4.8, 8.5, count)], axis=1)
    files = int(rng.integers(2, 5))  # files: columns along the depth axis
    column, rank = k % files, k // files
    return np.stack([np.linspace(-2.0, 2.0, files)[column.astype(int)], 5.0 + 0.9 * rank], axis=1)


def _stage(rng, width: int, height: int, camera: Camera) -> np.ndarray:
    background = np.zeros((height, width + 64, 3), np.uint8)
    horizon = int(camera.horizon)
    curtain = np.array(_bgr(rng.uniform(0, 360), 0.6, 0.3), np.float32)
    folds = 0.8 + 0.2 * np.sin(np.arange(width + 64) * 2 * math.pi / rng.uniform(10, 18))
    background[:horizon] = (curtain[None, None, :] * folds[None, :, None]).astype(np.uint8)
    floor = np.array(_bgr(rng.uniform(20, 40), 0.4, 0.45), np.float32)
    rows = np.linspace(0.7, 1.1, max(height - horizon, 1))[:, None, None]
    background[horizon:] = np.clip(floor[None, None, :] * rows, 0, 255).astype(np.uint8)
    return background


# --------------------------------------------------------------------------------------------------
# sportsmot


def _sportsmot(
    config: SynthConfig, rng: np.random.Generator, num_frames: int, size: tuple[int, int]
) -> Scene:
    width, height = size
    camera = Camera(width, height, focal=0.9 * width, horizon=0.06 * height, camera_height=5.0)
    count = int(rng.integers(config.objects[0], config.objects[1] + 1))
    kit_hues = rng.choice(np.arange(0, 360, 30), size=2, replace=False)
    ball = np.stack(
        [_smooth(rng, num_frames, 14.0, (60, 160)), 15 + _smooth(rng, num_frames, 5.0, (80, 200))]
    )
    actors = []
    for k in range(count):
        referee = k == count - 1
        team = k % 2
        colors = {
            "shirt": (20, 20, 20) if referee else _bgr(kit_hues[team], 0.75, 0.85),
            "pants": (30, 30, 30) if referee else _bgr(kit_hues[team] + 180, 0.3, 0.9 - 0.6 * team),
            "skin": _skin(rng),
            "hair": _bgr(25, 0.5, rng.uniform(0.05, 0.5)),
            "accent": _bgr(kit_hues[team], 0.2, 0.95),
        }
        x, z, speed = _chase(rng, ball, num_frames, config.frame_rate)
        phase = _walk_phase(speed, 1.1, config.frame_rate, rng.uniform(0, 2 * math.pi))
        actors.append(
            Actor(
                k + 1,
                "figure",
                colors,
                rng.uniform(1.7, 1.95),
                x,
                np.zeros(num_frames),
                z,
                phase,
                np.ones(num_frames, bool),
                style=int(rng.integers(0, 2)),
                traits=_person_traits(rng, 1.0),
            )
        )
    mean_x = np.mean([a.x for a in actors], axis=0)
    camera_x = np.convolve(np.pad(mean_x, 12, mode="edge"), np.ones(25) / 25, mode="valid")
    background = _finish(_field(rng, width, height, camera), rng, 8.0)
    backdrop = _backdrop(height, background.shape[1], int(camera.horizon) + 1, 45.0)  # the stands
    return Scene(
        camera, actors, camera_x, background, background_metres_per_column=0.12, backdrop_depth=backdrop
    )


def _chase(rng, ball: np.ndarray, num_frames: int, frame_rate: int):
    """A player's path: running towards an offset of the ball with a varying top speed (1-7 m/s)."""
    position = np.array([rng.uniform(-12, 12), rng.uniform(9, 24)])
    velocity = np.zeros(2)
    offset = rng.uniform([-6, -4], [6, 4])
    top_speed = 1.0 + 6.0 * (
        0.5
        + 0.5
        * np.sin(np.arange(num_frames) * 2 * math.pi / rng.uniform(40, 120) + rng.uniform(0, 2 * math.pi))
    )
    xs, zs, speeds = np.zeros(num_frames), np.zeros(num_frames), np.zeros(num_frames)
    dt = 1.0 / frame_rate
    for f in range(num_frames):
        target = ball[:, f] + offset
        desired = target - position
        distance = np.linalg.norm(desired) + 1e-9
        desired = desired / distance * min(top_speed[f], distance * 2)
        velocity += np.clip(desired - velocity, -6 * dt, 6 * dt)  # bounded acceleration
        position = position + velocity * dt
        position[1] = min(max(position[1], 8.0), 26.0)
        xs[f], zs[f], speeds[f] = position[0], position[1], np.linalg.norm(velocity)
    return xs, zs, speeds


def _field(rng, width: int, height: int, camera: Camera) -> np.ndarray:
    wide = width * 3
    background = np.zeros((height, wide, 3), np.uint8)
    horizon = int(camera.horizon) + 1
    crowd = rng.integers(60, 200, size=(max(horizon // 3, 1), wide // 3 + 1, 3), dtype=np.uint8)
    background[:horizon] = cv2.resize(crowd, (wide, horizon), interpolation=cv2.INTER_NEAREST)  # spectators
    grass = np.array(_bgr(110, 0.55, 0.5), np.float32)
    stripes = 0.9 + 0.1 * (np.arange(wide) // 24 % 2)
    background[horizon:] = np.clip(grass[None, None, :] * stripes[None, :, None], 0, 255).astype(np.uint8)
    for column in range(wide // 8, wide, wide // 4):
        cv2.line(
            background, (column, horizon), (column + (column - wide // 2) // 3, height), (235, 235, 235), 2
        )
    return background


# --------------------------------------------------------------------------------------------------
# bft


def _bft(config: SynthConfig, rng: np.random.Generator, num_frames: int, size: tuple[int, int]) -> Scene:
    width, height = size
    camera = Camera(width, height, focal=1.0 * width, horizon=1.2 * height, camera_height=0.0)
    count = int(rng.integers(config.objects[0], config.objects[1] + 1))
    positions, speeds = _flock(rng, count, num_frames, config.frame_rate)
    shade = rng.uniform(0.1, 0.25)
    actors = []
    for k in range(count):
        colors = {
            "shirt": _bgr(30, 0.2, shade + rng.uniform(-0.04, 0.04)),
            "pants": _bgr(30, 0.15, shade * 0.8 + rng.uniform(-0.03, 0.03)),
            "skin": _bgr(30, 0.2, shade * 0.7),
            "hair": (0, 0, 0),
            "accent": (0, 0, 0),
        }
        beat = 2 * math.pi / rng.uniform(5, 8)
        phase = beat * np.arange(num_frames) + rng.uniform(0, 2 * math.pi)
        traits = {"heading": 1.0 if rng.uniform() < 0.5 else -1.0}
        actors.append(
            Actor(
                k + 1,
                "bird",
                colors,
                rng.uniform(0.9, 1.3),
                positions[k, :, 0],
                positions[k, :, 1],
                positions[k, :, 2],
                phase,
                np.ones(num_frames, bool),
                traits=traits,
            )
        )
    return Scene(camera, actors, np.zeros(num_frames), _finish(_sky(rng, width, height), rng, 5.0))


def _flock(rng, count: int, num_frames: int, frame_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """``(count, F, 3)`` boid positions (X, Y, Z) and ``(count, F)`` speeds."""
    centre = np.array([0.0, 10.0, 25.0])
    position = centre + rng.normal(0, [5, 2.5, 5], size=(count, 3))
    velocity = rng.normal([3, 0, 0], 1.5, size=(count, 3))
    out = np.zeros((count, num_frames, 3))
    speeds = np.zeros((count, num_frames))
    dt = 1.0 / frame_rate
    wander = np.stack(
        [
            _smooth(rng, num_frames, 10.0, (80, 200)),
            10 + _smooth(rng, num_frames, 2.5, (80, 200)),
            25 + _smooth(rng, num_frames, 6.0, (100, 250)),
        ],
        axis=1,
    )
    for f in range(num_frames):
        offsets = position[None, :, :] - position[:, None, :]
        distance = np.linalg.norm(offsets, axis=2) + np.eye(count) * 1e9
        near = distance < 6.0
        cohesion = (wander[f] - position) * 0.15
        alignment = (near[:, :, None] * velocity[None]).sum(1) / np.maximum(
            near.sum(1, keepdims=True), 1
        ) - velocity
        separation = -(offsets / distance[:, :, None] ** 2 * (distance < 2.0)[:, :, None]).sum(1) * 4.0
        velocity = velocity + (cohesion + alignment * 0.8 + separation + rng.normal(0, 1.0, (count, 3))) * dt
        norm = np.linalg.norm(velocity, axis=1, keepdims=True)
        velocity *= np.clip(norm, 2.5, 5.5) / np.maximum(norm, 1e-9)
        position = position + velocity * dt
        position[:, 2] = np.clip(position[:, 2], 12.0, 40.0)
        out[:, f], speeds[:, f] = position, np.linalg.norm(velocity, axis=1)
    return out, speeds


def _sky(rng, width: int, height: int) -> np.ndarray:
    top, bottom = np.array(_bgr(210, 0.55, 0.75), np.float32), np.array(_bgr(200, 0.25, 0.95), np.float32)
    blend = np.linspace(0, 1, height)[:, None, None]
    sky = top[None, None, :] * (1 - blend) + bottom[None, None, :] * blend
    clouds = np.clip(_texture(rng, height, width + 64, 1.0), 0, 1) * 25
    return np.clip(np.repeat(sky, width + 64, axis=1) + clouds, 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------------------------------
# mot and tiny


def _mot(config: SynthConfig, rng: np.random.Generator, num_frames: int, size: tuple[int, int]) -> Scene:
    width, height = size
    camera = Camera(width, height, focal=1.0 * width, horizon=0.35 * height, camera_height=2.5)
    actors = _pedestrians(rng, config, num_frames, camera, depth_range=(7.0, 25.0))
    background, backdrop = _street(rng, width, height, camera)
    return Scene(camera, actors, np.zeros(num_frames), _finish(background, rng), backdrop_depth=backdrop)


def _tiny(config: SynthConfig, rng: np.random.Generator, num_frames: int, size: tuple[int, int]) -> Scene:
    width, height = size
    camera = Camera(width, height, focal=1.0 * width, horizon=0.35 * height, camera_height=2.5)
    actors = []
    for k in range(config.objects[0]):
        z = np.full(num_frames, 7.0 + 3.0 * k)
        direction = 1.0 if k % 2 == 0 else -1.0
        x = direction * (-2.0 + 0.35 * np.arange(num_frames)) + rng.uniform(-0.5, 0.5)
        colors = _casual_colors(rng)
        phase = _walk_phase(np.full(num_frames, 1.4), 0.75, config.frame_rate, rng.uniform(0, 6))
        actors.append(
            Actor(
                k + 1,
                "figure",
                colors,
                rng.uniform(1.6, 1.9),
                x,
                np.zeros(num_frames),
                z,
                phase,
                np.ones(num_frames, bool),
                style=k % 2,
                traits=_person_traits(rng, 1.0),
            )
        )
    background, backdrop = _street(rng, width, height, camera)
    return Scene(camera, actors, np.zeros(num_frames), _finish(background, rng), backdrop_depth=backdrop)


def _casual_colors(rng) -> dict[str, tuple[int, int, int]]:
    return {
        "shirt": _bgr(rng.uniform(0, 360), rng.uniform(0.2, 0.9), rng.uniform(0.3, 0.95)),
        "pants": _bgr(rng.uniform(180, 260), rng.uniform(0.1, 0.6), rng.uniform(0.15, 0.6)),
        "skin": _skin(rng),
        "hair": _bgr(25, 0.5, rng.uniform(0.05, 0.6)),
        "accent": _bgr(rng.uniform(0, 360), 0.6, 0.8),
    }


def _pedestrians(rng, config: SynthConfig, num_frames: int, camera: Camera, depth_range) -> list[Actor]:
    """Walkers entering at a border and crossing the view; about ``config.objects`` in view at a time."""
    actors: list[Actor] = []
    mean_alive = float(np.mean(config.objects))
    # Walkers cross the view in ~8-14 s; arrivals keep about `mean_alive` of them around.
    arrivals_per_frame = mean_alive / (11.0 * config.frame_rate)
    births = [0] * int(mean_alive)  # a crowd already present
    births += [int(f) for f in np.flatnonzero(rng.uniform(size=num_frames) < arrivals_per_frame)]
    for k, birth in enumerate(births):
        actors.append(_walker(rng, k + 1, birth, birth == 0, config, num_frames, camera, depth_range))
    return actors


def _walker(rng, track_id, birth, already_in, config, num_frames, camera, depth_range) -> Actor:
    z0 = rng.uniform(*depth_range)
    half_view = camera.width / 2 / camera.focal * z0 + 1.0  # metres from the centre to just outside
    direction = 1.0 if rng.uniform() < 0.5 else -1.0
    speed = rng.uniform(0.9, 1.7) * (0.0 if rng.uniform() < 0.08 else 1.0)  # a few stand still
    start = rng.uniform(-half_view, half_view) if already_in else -direction * half_view
    t = np.arange(num_frames) - birth
    x = start + direction * speed * t / config.frame_rate + _smooth(rng, num_frames, 0.2, (60, 150))
    z = z0 + _smooth(rng, num_frames, 0.8, (100, 300))
    present = (t >= 0) & (np.abs(x) < half_view + 0.5)
    phase = _walk_phase(np.full(num_frames, speed), 0.75, config.frame_rate, rng.uniform(0, 2 * math.pi))
    return Actor(
        track_id,
        "figure",
        _casual_colors(rng),
        rng.uniform(1.55, 1.95),
        x,
        np.zeros(num_frames),
        z,
        phase,
        present,
        style=int(rng.integers(0, 2)),
        traits=_person_traits(rng, 1.0),
    )


def _street(rng, width: int, height: int, camera: Camera) -> tuple[np.ndarray, np.ndarray]:
    """A street scene and its backdrop depth (buildings 35 m away, sky infinitely far)."""
    background = np.zeros((height, width + 64, 3), np.uint8)
    backdrop = np.full((height, width + 64), np.inf, np.float32)
    horizon = int(camera.horizon)
    background[:horizon] = _bgr(210, 0.2, 0.8)
    x = 0
    while x < width + 64:  # buildings along the far side of the street
        w = int(rng.integers(width // 8, width // 3))
        top = int(rng.integers(0, max(horizon - 4, 1)))
        color = _bgr(rng.uniform(0, 60), rng.uniform(0.1, 0.4), rng.uniform(0.4, 0.8))
        cv2.rectangle(background, (x, top), (x + w, horizon), color, -1)
        backdrop[top:horizon, x : x + w + 1] = 35.0
        for wy in range(top + 3, horizon - 3, 7):
            for wx in range(x + 3, x + w - 3, 7):
                cv2.rectangle(background, (wx, wy), (wx + 3, wy + 3), (90, 80, 60), -1)
        x += w
    background[horizon:] = _bgr(0, 0.0, 0.45)
    pavement = horizon + max((height - horizon) // 5, 1)
    background[horizon:pavement] = _bgr(30, 0.15, 0.65)
    return background, backdrop


_BUILDERS: dict[str, Callable[..., Scene]] = {
    "dancetrack": _dancetrack,
    "sportsmot": _sportsmot,
    "bft": _bft,
    "mot": _mot,
    "tiny": _tiny,
}
