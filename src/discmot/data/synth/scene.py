"""The world of a synthetic sequence: a pinhole camera over a ground plane, and actors moving in it.

Coordinates: ``X`` metres to the right of the camera axis, ``Y`` metres above the ground, ``Z`` metres
in front of the camera (depth). A camera at height ``camera_height`` looking horizontally, with focal
length ``f`` pixels and the horizon on image row ``horizon``, maps a point to
``u = W/2 + f (X - camera_x) / Z`` and ``v = horizon + f (camera_height - Y) / Z``. Depth is therefore
known exactly for every pixel: an actor is a flat cut-out at its own depth, the ground at row ``v``
lies at ``Z = f camera_height / (v - horizon)``, and the sky is infinitely far.

A preset (`discmot.data.synth.presets`) fills a `Scene` with actors whose motion is precomputed for every
frame; `discmot.data.synth.render` turns it into images, depth maps and boxes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Camera:
    """A horizontal pinhole camera over flat ground.

    Attributes:
        width, height: image size in pixels.
        focal: focal length in pixels.
        horizon: image row of the horizon (may lie outside the image).
        camera_height: metres above the ground.
    """

    width: int
    height: int
    focal: float
    horizon: float
    camera_height: float

    def project(self, x: np.ndarray, y: np.ndarray, z: np.ndarray, camera_x: float | np.ndarray = 0.0):
        """Image ``(u, v)`` of world points; arrays broadcast."""
        return self.width / 2 + self.focal * (x - camera_x) / z, self.horizon + self.focal * (
            self.camera_height - y
        ) / z

    def ground_depth(self) -> np.ndarray:
        """``(H, W)`` float32 depth of the ground plane per pixel; ``inf`` above the horizon (sky)."""
        rows = np.arange(self.height, dtype=np.float64) + 0.5 - self.horizon
        depth = np.where(rows > 0, self.focal * self.camera_height / np.maximum(rows, 1e-9), np.inf)
        return np.repeat(depth[:, None], self.width, axis=1).astype(np.float32)


@dataclass
class Actor:
    """One object with an identity, its look, and its state in every frame of the sequence.

    Attributes:
        track_id: the identity written to ``gt.txt`` (>= 1).
        kind: ``"figure"`` (articulated person) or ``"bird"``.
        colors: named BGR colours of the body parts (see `discmot.data.synth.figures`).
        size: body height in metres (birds: wingspan).
        x, y, z: ``(F,)`` world position of the feet (birds: the body centre), metres.
        phase: ``(F,)`` animation phase in radians (gait, dance move, wing beat).
        present: ``(F,)`` bool, whether the actor is in the world in that frame (entries and exits).
        style: which move set or body variant the figure uses.
        traits: small per-identity shape differences (e.g. ``{"shoulders": 1.05, "hair": 0.8}``).
    """

    track_id: int
    kind: str
    colors: dict[str, tuple[int, int, int]]
    size: float
    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    phase: np.ndarray
    present: np.ndarray
    style: int = 0
    traits: dict[str, float] = field(default_factory=dict)


@dataclass
class Scene:
    """Everything needed to render a sequence.

    Attributes:
        camera: the camera.
        actors: every actor of the sequence.
        camera_x: ``(F,)`` lateral camera position in metres (pans).
        background: ``(H, W_bg, 3)`` uint8 BGR background, at least as wide as the image; the view is
            the window starting at column ``background_offset(camera_x)``.
        background_metres_per_column: how far the camera moves for the background to shift one column
            (parallax of a backdrop at a fixed distance).
        backdrop_depth: ``(H, W_bg)`` float32 depth of the background's backdrop pixels (curtain,
            stands, buildings), ``inf`` for the sky and wherever the ground shows; panned like the
            background. The rendered depth is the nearer of the backdrop and the ground plane.
    """

    camera: Camera
    actors: list[Actor]
    camera_x: np.ndarray
    background: np.ndarray
    background_metres_per_column: float = 1.0
    backdrop_depth: np.ndarray | None = None

    @property
    def num_frames(self) -> int:
        return int(self.camera_x.size)

    def background_offset(self, frame: int) -> int:
        """First background column seen in ``frame`` (0-based), panned with the camera."""
        span = self.background.shape[1] - self.camera.width
        offset = span // 2 + int(round(self.camera_x[frame] / self.background_metres_per_column))
        return min(max(offset, 0), span)

    def background_view(self, frame: int) -> np.ndarray:
        """The ``(H, W, 3)`` background seen in ``frame`` (0-based)."""
        offset = self.background_offset(frame)
        return self.background[:, offset : offset + self.camera.width]

    def backdrop_view(self, frame: int) -> np.ndarray:
        """The ``(H, W)`` backdrop depth seen in ``frame`` (``inf`` without a backdrop)."""
        if self.backdrop_depth is None:
            return np.full((self.camera.height, self.camera.width), np.inf, np.float32)
        offset = self.background_offset(frame)
        return self.backdrop_depth[:, offset : offset + self.camera.width]
