"""Bodies of synthetic actors as a handful of drawing primitives.

A figure (person) is a head, hair, torso, two two-segment arms and legs and an accent band; its pose
comes from the actor's animation phase and style (walking gait, dance moves). A bird is a body, a head
and two flapping wings. `primitives` returns the shapes in image pixels; `paint` draws them on any
canvas (the colour image, the id buffer, an actor's own mask) with 1/16-pixel precision.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from discmot.data.synth.scene import Actor

_SHIFT = 4  # cv2 fixed-point bits: coordinates are drawn with 1/16 pixel precision
_ONE = 1 << _SHIFT

# A primitive: (kind, colour key, geometry...). Kinds: "poly" (points), "line" (p, q, thickness),
# "circle" (centre, radius), "ellipse" (centre, half-axes, angle in degrees).
Primitive = tuple


def primitives(actor: Actor, frame: int, u: float, v: float, scale: float) -> list[Primitive]:
    """The actor's shapes in ``frame``, its feet (bird: body centre) at pixel ``(u, v)``.

    Args:
        scale: pixels per metre at the actor's depth (``focal / z``).
    """
    if actor.kind == "bird":
        return _bird(actor, frame, u, v, scale)
    return _figure(actor, frame, u, v, scale)


def _figure(actor: Actor, frame: int, u: float, v: float, scale: float) -> list[Primitive]:
    h = actor.size * scale  # body height in pixels
    phase = float(actor.phase[frame])
    traits = actor.traits
    facing = abs(math.cos(traits.get("spin", 0.0) * phase)) * 0.6 + 0.4 if actor.style >= 2 else 1.0
    shoulder = 0.12 * h * traits.get("shoulders", 1.0) * facing
    hip = 0.075 * h * facing
    limb = max(0.045 * h * traits.get("limbs", 1.0), 1.0)
    neck_y, hip_y = v - 0.82 * h, v - 0.50 * h
    head = (u, v - 0.92 * h)
    head_r = 0.07 * h * traits.get("head", 1.0)
    torso = np.array([[u - shoulder, neck_y], [u + shoulder, neck_y], [u + hip, hip_y], [u - hip, hip_y]])
    shapes: list[Primitive] = []
    for side in (-1.0, 1.0):
        thigh, shin = _leg_angles(actor.style, phase, side)
        knee = (u + side * hip * 0.6 + 0.26 * h * math.sin(thigh), hip_y + 0.26 * h * math.cos(thigh))
        foot = (knee[0] + 0.25 * h * math.sin(shin), knee[1] + 0.25 * h * math.cos(shin))
        shapes += [
            ("line", "pants", (u + side * hip * 0.6, hip_y), knee, limb),
            ("line", "pants", knee, foot, limb),
        ]
    shapes.append(("poly", "shirt", torso))
    for side in (-1.0, 1.0):
        upper, lower = _arm_angles(actor.style, phase, side, traits.get("arms", 0.0))
        root = (u + side * shoulder * 0.9, neck_y + limb * 0.5)
        elbow = (root[0] + side * 0.17 * h * math.sin(upper), root[1] + 0.17 * h * math.cos(upper))
        hand = (elbow[0] + side * 0.16 * h * math.sin(lower), elbow[1] + 0.16 * h * math.cos(lower))
        shapes += [("line", "shirt", root, elbow, limb), ("line", "skin", elbow, hand, limb * 0.9)]
        if side > 0:
            wrist = (elbow[0] * 0.3 + hand[0] * 0.7, elbow[1] * 0.3 + hand[1] * 0.7)
            shapes.append(("circle", "accent", wrist, limb * traits.get("band", 0.8)))
    shapes.append(("line", "accent", (u - hip, hip_y), (u + hip, hip_y), max(0.02 * h, 1.0)))
    shapes.append(("circle", "skin", head, head_r))
    hair_axes = (head_r * 1.05, head_r * traits.get("hair", 0.6))
    shapes.append(("ellipse", "hair", (head[0], head[1] - head_r * 0.45), hair_axes, 0.0))
    return shapes


def _leg_angles(style: int, phase: float, side: float) -> tuple[float, float]:
    """Thigh and shin angles (radians from vertical) for a gait (style 0-1) or a dance step (2+)."""
    if style < 2:
        swing = 0.45 * math.sin(phase + (0 if side > 0 else math.pi))
        return swing, swing - 0.25 * max(0.0, math.sin(phase + (0.5 if side > 0 else math.pi + 0.5)))
    kick = 0.6 * max(0.0, math.sin(phase * 0.5 + (0 if side > 0 else math.pi)))
    return side * (0.15 + kick), side * (0.05 + 0.5 * kick)


def _arm_angles(style: int, phase: float, side: float, lift: float) -> tuple[float, float]:
    """Upper- and lower-arm angles (radians from hanging down, outward positive)."""
    if style < 2:
        swing = 0.35 * math.sin(phase + (math.pi if side > 0 else 0))
        return 0.15 + swing * side, 0.25 + swing * side
    wave = math.sin(phase + (0 if side > 0 else math.pi * (style % 2)))
    upper = 0.5 + lift + 1.3 * (0.5 + 0.5 * wave)
    return upper, upper + 0.6 * math.sin(2 * phase)


def _bird(actor: Actor, frame: int, u: float, v: float, scale: float) -> list[Primitive]:
    span = max(actor.size * scale, 2.0)
    flap = math.sin(float(actor.phase[frame]))
    body = (u, v)
    heading = actor.traits.get("heading", 1.0)
    wing_tip_y = v - 0.3 * span * flap
    shapes: list[Primitive] = [("ellipse", "shirt", body, (0.28 * span, 0.09 * span), 0.0)]
    for side in (-1.0, 1.0):
        tip = (u + side * 0.5 * span, wing_tip_y)
        wing = np.array([[u - 0.12 * span, v], [u + 0.12 * span, v], tip])
        shapes.append(("poly", "pants", wing))
    shapes.append(("circle", "skin", (u + heading * 0.3 * span, v - 0.03 * span), 0.07 * span))
    return shapes


def primitives_bounds(shapes: list[Primitive]) -> tuple[int, int, int, int]:
    """Integer pixel bounds ``(x0, y0, x1, y1)`` (exclusive end) enclosing all shapes."""
    xs, ys = [], []
    for shape in shapes:
        kind = shape[0]
        if kind == "poly":
            points, pad = [tuple(p) for p in shape[2]], 1.0
        elif kind == "line":
            points, pad = [shape[2], shape[3]], shape[4] / 2 + 1
        elif kind == "circle":
            points, pad = [shape[2]], shape[3] + 1
        else:
            points, pad = [shape[2]], max(shape[3]) + 1
        for x, y in points:
            xs += [x - pad, x + pad]
            ys += [y - pad, y + pad]
    return math.floor(min(xs)), math.floor(min(ys)), math.ceil(max(xs)) + 1, math.ceil(max(ys)) + 1


def to_fixed(shapes: list[Primitive]) -> list[tuple]:
    """Converts shapes once to cv2's fixed-point integers: ``(kind, colour key, geometry...)``.

    All coordinates and sizes of the actor are converted in one vectorised step.
    """
    numbers: list[float] = []
    for shape in shapes:
        kind = shape[0]
        if kind == "poly":
            numbers += [c for point in shape[2] for c in point]
        elif kind == "line":
            numbers += [*shape[2], *shape[3]]
        elif kind == "circle":
            numbers += [*shape[2], shape[3]]
        else:
            numbers += [*shape[2], *shape[3]]
    ints = np.clip(np.rint(np.asarray(numbers) * _ONE), -_LIMIT, _LIMIT).astype(np.int64).tolist()
    fixed: list[tuple] = []
    at = 0
    for shape in shapes:
        kind, key = shape[0], shape[1]
        if kind == "poly":
            n = 2 * len(shape[2])
            fixed.append((kind, key, np.array(ints[at : at + n], np.int32).reshape(-1, 2)))
        elif kind == "line":
            n = 4
            fixed.append(
                (
                    kind,
                    key,
                    (ints[at], ints[at + 1]),
                    (ints[at + 2], ints[at + 3]),
                    max(int(round(shape[4])), 1),
                )
            )
        elif kind == "circle":
            n = 3
            fixed.append((kind, key, (ints[at], ints[at + 1]), max(ints[at + 2], _ONE // 2)))
        else:
            n = 4
            axes = (max(ints[at + 2], _ONE // 2), max(ints[at + 3], _ONE // 2))
            fixed.append((kind, key, (ints[at], ints[at + 1]), axes, shape[4]))
        at += n
    return fixed


def paint(canvas: np.ndarray, fixed: list[tuple], colors: dict | None, value=None, origin=(0, 0)) -> None:
    """Draws fixed-point shapes (`to_fixed`) on ``canvas``, in their colours or all in ``value``.

    ``origin`` (whole pixels) is subtracted from every coordinate. Drawing is aliased, so the colour
    image, the id buffer and an actor's own mask cover exactly the same pixels.
    """
    dx, dy = origin[0] * _ONE, origin[1] * _ONE
    for shape in fixed:
        kind, key = shape[0], shape[1]
        if value is not None:
            color = value
        else:
            assert colors is not None  # without one ``value``, every shape is drawn in its own colour
            color = colors[key]
        if kind == "poly":
            points = shape[2] - np.array([dx, dy], np.int32) if (dx or dy) else shape[2]
            cv2.fillConvexPoly(canvas, points, color, cv2.LINE_8, _SHIFT)
        elif kind == "line":
            (px, py), (qx, qy) = shape[2], shape[3]
            cv2.line(canvas, (px - dx, py - dy), (qx - dx, qy - dy), color, shape[4], cv2.LINE_8, _SHIFT)
        elif kind == "circle":
            cx, cy = shape[2]
            cv2.circle(canvas, (cx - dx, cy - dy), shape[3], color, -1, cv2.LINE_8, _SHIFT)
        else:
            cx, cy = shape[2]
            cv2.ellipse(canvas, (cx - dx, cy - dy), shape[3], shape[4], 0, 360, color, -1, cv2.LINE_8, _SHIFT)


_LIMIT = 1 << 24  # fixed-point coordinates are clipped far outside any image
