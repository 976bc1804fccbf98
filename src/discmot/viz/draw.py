"""Drawing tracks on frames: boxes, id labels, short trails, one stable colour per id.

Frames are ``(H, W, 3)`` uint8 BGR arrays and are drawn on in place (the functions also return them).
Boxes come as ``tlwh`` from `discmot.structures`. OpenCV is imported inside the functions.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np

from discmot.structures import Detections, Tracks

#: A label's ``(x1, y1, x2, y2)`` in pixels.
Rectangle = tuple[int, int, int, int]
#: Box and label colours (BGR) of consecutive ids. Picked once by greedy farthest-point sampling in
#: CIELAB, lightness differences counted half (two shades of one hue look alike in a thin box line),
#: among vivid sRGB colours (HSV saturation >= 0.5, value >= 0.8): any two ids fewer than 24 apart are
#: more than 28 CIELAB units apart (27.8 with lightness counted half), so neighbours in a crowd, often
#: born close in time, are told apart.
#: (Golden-ratio hue steps, used before, put ids 1 and 14 at 5.5 units and 2, 7, 15, 23 all in green.)
ID_COLORS = (
    (240, 90, 30),
    (0, 255, 0),
    (0, 0, 255),
    (255, 255, 105),
    (60, 195, 225),
    (165, 0, 255),
    (120, 135, 240),
    (255, 0, 210),
    (105, 210, 105),
    (210, 135, 0),
    (0, 255, 210),
    (210, 105, 195),
    (0, 135, 255),
    (90, 0, 255),
    (255, 0, 0),
    (150, 105, 210),
    (105, 165, 210),
    (195, 255, 0),
    (45, 75, 225),
    (195, 0, 210),
    (30, 210, 90),
    (210, 180, 105),
    (225, 120, 105),
    (120, 255, 225),
)

#: The 80 COCO class names by the contiguous class id detectors trained on COCO output (YOLOX: 0 person,
#: 2 car), written in the labels of tracks that carry a class (`track_label`).
COCO_CLASS_NAMES = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse",
    "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie",
    "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove",
    "skateboard", "surfboard", "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon",
    "bowl", "banana", "apple", "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut",
    "cake", "chair", "couch", "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse",
    "remote", "keyboard", "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book",
    "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush",
)  # fmt: skip


def id_color(track_id: int) -> tuple[int, int, int]:
    """A stable, distinct BGR colour for a track id (same id, same colour, in every run; `ID_COLORS`
    repeats every 24 ids)."""
    return ID_COLORS[int(track_id) % len(ID_COLORS)]


class TrailHistory:
    """The last ``length`` bottom-centre points of every track, for drawing trails.

    Call `update` once per frame with that frame's tracks; a track not seen for ``length`` frames is
    forgotten.
    """

    def __init__(self, length: int = 30):
        self.length = length
        self.points: dict[int, deque[tuple[int, int]]] = {}
        self._last_seen: dict[int, int] = {}
        self._frame = 0

    def update(self, tracks: Tracks) -> None:
        self._frame += 1
        for track_id, (x, y, w, h) in zip(tracks.ids.tolist(), tracks.boxes.tolist(), strict=True):
            trail = self.points.setdefault(track_id, deque(maxlen=self.length))
            trail.append((round(x + w / 2), round(y + h)))
            self._last_seen[track_id] = self._frame
        stale = [i for i, seen in self._last_seen.items() if self._frame - seen >= self.length]
        for track_id in stale:
            del self.points[track_id], self._last_seen[track_id]

    def __getitem__(self, track_id: int) -> list[tuple[int, int]]:
        return list(self.points.get(int(track_id), ()))


def draw_tracks(
    frame: np.ndarray,
    tracks: Tracks,
    trails: TrailHistory | None = None,
    show_scores: bool = False,
    avoid: Sequence[Rectangle] = (),
) -> np.ndarray:
    """Draws each track's box, an id label on a filled background (with the class name when the tracks
    carry classes: ``"car 12"``, `track_label`) and, with ``trails``, its recent path.

    ``trails`` should already be updated with ``tracks``; labels move down past the ``avoid`` rectangles
    (a caption drawn afterwards, `caption_avoid`) as past each other. Returns ``frame`` (drawn in
    place).
    """
    import cv2

    thickness = _line_width(frame)
    placed: list[Rectangle] = list(avoid)  # and the labels drawn so far: the next one moves down
    classes = [None] * len(tracks) if tracks.classes is None else tracks.classes.tolist()
    rows = zip(tracks.ids.tolist(), tracks.boxes, tracks.scores.tolist(), classes, strict=True)
    for track_id, box, score, class_id in rows:
        color = id_color(track_id)
        if trails is not None and len(trails[track_id]) > 1:
            points = np.asarray(trails[track_id], np.int32).reshape(-1, 1, 2)
            cv2.polylines(frame, [points], False, color, max(1, thickness - 1), cv2.LINE_AA)
        x1, y1, x2, y2 = _corners(box)
        cv2.rectangle(frame, (x1, y1), (x2, y2), color, thickness)  # axis-aligned: no anti-aliasing
        label = track_label(track_id, class_id, score if show_scores else None)
        placed.append(draw_label(frame, label, (x1, y1), color, avoid=placed))
    return frame


def track_label(track_id: int, class_id: int | None = None, score: float | None = None) -> str:
    """A track's label: its id, after its class name when it has a class (``"car 12"``; a class id
    beyond `COCO_CLASS_NAMES` as ``"class 91 12"``), then the score if given (``"12 0.87"``)."""
    label = str(track_id)
    if class_id is not None:
        name = COCO_CLASS_NAMES[class_id] if 0 <= class_id < len(COCO_CLASS_NAMES) else f"class {class_id}"
        label = f"{name} {label}"
    return label if score is None else f"{label} {score:.2f}"


def draw_detections(frame: np.ndarray, detections: Detections, color=(200, 200, 200)) -> np.ndarray:
    """Draws detection boxes with their scores in one colour (a debugging aid). Returns ``frame``."""
    import cv2

    thickness = max(1, _line_width(frame) - 1)
    for box, score in zip(detections.boxes, detections.scores.tolist(), strict=True):
        x1, y1, x2, y2 = _corners(box)
        cv2.rectangle(frame, (x1, y1), (x2, y2), color, thickness)
        draw_label(frame, f"{score:.2f}", (x1, y2), color, above=False)
    return frame


def draw_label(
    frame: np.ndarray,
    text: str,
    corner: tuple[int, int],
    color,
    above: bool = True,
    avoid: Sequence[Rectangle] = (),
) -> Rectangle:
    """Writes ``text`` on a filled box of ``color`` above (or below) ``corner``, kept inside the frame,
    and moved down past any of the ``avoid`` rectangles it would cover (crowded neighbours' labels).
    Returns the label's rectangle ``(x1, y1, x2, y2)``."""
    import cv2

    scale, stroke = _font(frame)
    (width, height), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, stroke)
    box_h = height + baseline + 2
    # the rectangle spans x..x + width + 2 and y..y + box_h inclusive: its last pixel must be in the frame
    x = min(max(corner[0], 0), max(frame.shape[1] - width - 3, 0))
    y = corner[1] - box_h if above else corner[1]
    y = min(max(y, 0), max(frame.shape[0] - box_h - 1, 0))
    y = _free_row(x, y, width + 2, box_h, avoid, frame.shape[0])
    cv2.rectangle(frame, (x, y), (x + width + 2, y + box_h), color, cv2.FILLED)
    cv2.putText(
        frame,
        text,
        (x + 1, y + height + 1),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        _text_color(color),
        stroke,
        cv2.LINE_AA,
    )
    return x, y, x + width + 2, y + box_h


def _free_row(x: int, y: int, width: int, height: int, avoid, frame_height: int) -> int:
    """The first top ``>= y`` at which a ``width`` x ``height`` label at ``x`` overlaps none of ``avoid``
    (each overlap moves it below that rectangle); ``y`` itself when that would leave the frame."""
    top = y
    for _ in range(len(avoid) + 1):
        hit = next(
            (r for r in avoid if x < r[2] and r[0] < x + width and top < r[3] and r[1] < top + height), None
        )
        if hit is None:
            return top
        top = hit[3]
        if top + height > frame_height:
            return y
    return top


def _text_color(background) -> tuple[int, int, int]:
    b, g, r = background
    return (0, 0, 0) if 0.114 * b + 0.587 * g + 0.299 * r > 140 else (255, 255, 255)


#: Pixel coordinates are clamped to +-this: OpenCV takes 32-bit ints, and a box of a broken results row
#: (x = 1e12, say) lies far outside any frame either way.
MAX_COORDINATE = 1 << 20


def _corners(box) -> tuple[int, int, int, int]:
    x, y, w, h = (float(v) for v in box)
    x1, y1, x2, y2 = (min(max(round(v), -MAX_COORDINATE), MAX_COORDINATE) for v in (x, y, x + w, y + h))
    return x1, y1, x2, y2


def _font(frame: np.ndarray) -> tuple[float, int]:
    """Label font scale and stroke width for a frame: both grow with its height, so that labels stay
    legible when a 1080p video is watched shrunk to a window (a 1-pixel stroke fades there)."""
    scale = max(0.4, frame.shape[0] / 1200)
    return scale, max(1, round(scale / 0.6))


def _line_width(frame: np.ndarray) -> int:
    return max(1, round(min(frame.shape[:2]) / 300))


def draw_caption(frame: np.ndarray, text: str) -> np.ndarray:
    """Writes ``text`` in light grey on a dark box in the frame's top-right corner (e.g. the frame number,
    to find a video frame's rows in the results). Returns ``frame`` (drawn in place)."""
    import cv2

    scale, stroke = _font(frame)
    (x, _, right, box_h), origin = _caption_layout(frame, text)
    cv2.rectangle(frame, (x, 0), (right, box_h), (32, 32, 32), cv2.FILLED)
    cv2.putText(
        frame,
        text,
        origin,
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        (235, 235, 235),
        stroke,
        cv2.LINE_AA,
    )
    return frame


def caption_avoid(frame: np.ndarray, text: str) -> list[Rectangle]:
    """``[(x1, y1, x2, y2)]``, what `draw_caption` fills for ``text`` in ``frame``'s top-right corner, to
    give `draw_tracks` as ``avoid`` so that no label hides under the caption; ``[]`` when the caption
    takes more than half the frame's width (a narrow frame: every label would move into its box)."""
    x1, y1, x2, y2 = _caption_layout(frame, text)[0]
    return [(x1, y1, x2, y2)] if 2 * (x2 - x1) <= frame.shape[1] else []


def _caption_layout(frame: np.ndarray, text: str) -> tuple[Rectangle, tuple[int, int]]:
    """The caption's filled rectangle and its text's origin (bottom-left of the text)."""
    import cv2

    scale, stroke = _font(frame)
    (width, height), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, stroke)
    x = max(frame.shape[1] - width - 6, 0)
    return (x, 0, frame.shape[1], height + baseline + 4), (x + 3, height + 2)


def with_title(frame: np.ndarray, title: str, bar_height: int = 22) -> np.ndarray:
    """A new frame: ``frame`` below a dark bar of ``bar_height`` pixels carrying ``title``."""
    import cv2

    bar = np.full((bar_height, frame.shape[1], 3), 32, np.uint8)
    scale = bar_height / 40
    (_, text_h), _ = cv2.getTextSize(title, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    baseline_y = (bar_height + text_h) // 2
    cv2.putText(bar, title, (6, baseline_y), cv2.FONT_HERSHEY_SIMPLEX, scale, (235, 235, 235), 1, cv2.LINE_AA)
    return np.concatenate([bar, frame])


def side_by_side(panels: list[np.ndarray], gap: int = 4) -> np.ndarray:
    """Panels of one height left to right, separated by ``gap`` black columns."""
    height = panels[0].shape[0]
    if any(p.shape[0] != height for p in panels):
        raise ValueError("side_by_side panels must share one height")
    spacer = np.zeros((height, gap, 3), np.uint8)
    parts = [part for panel in panels for part in (panel, spacer)][:-1]
    return np.concatenate(parts, axis=1)


def draw_dashed_rectangle(
    frame: np.ndarray, corners: Rectangle, color, thickness: int = 1, dash: int | None = None
) -> np.ndarray:
    """Draws the outline of ``corners`` ``(x1, y1, x2, y2)`` as dashes of ``dash`` pixels (default: 4 line
    widths) with gaps as long, each side starting on a dash so that the corners show. Returns ``frame``."""
    import cv2

    dash = dash or max(4, 4 * thickness)
    x1, y1, x2, y2 = corners
    for start, end in (
        ((x1, y1), (x2, y1)),
        ((x1, y2), (x2, y2)),
        ((x1, y1), (x1, y2)),
        ((x2, y1), (x2, y2)),
    ):
        length = max(abs(end[0] - start[0]), abs(end[1] - start[1]))
        for offset in _visible_dash_offsets(frame, start, end, length, 2 * dash, thickness):
            stop = min(offset + dash, length)
            a = _along(start, end, offset, length)
            b = _along(start, end, stop, length)
            cv2.line(frame, a, b, color, thickness)
    return frame


def _visible_dash_offsets(
    frame: np.ndarray, start: tuple[int, int], end: tuple[int, int], length: int, period: int, margin: int
) -> range:
    """The offsets from ``start`` (multiples of ``period``) of the dashes of an axis-aligned side that can
    show on ``frame`` (``margin``: half the line's width): a side mostly beyond the frame, as a box of a
    broken row has, is not walked dash by dash over its whole length."""
    axis = 0 if start[0] != end[0] else 1  # the coordinate (x 0, y 1) that changes along the side
    along_size, across_size = frame.shape[1 - axis], frame.shape[axis]  # shape: (height, width)
    if not -margin <= start[1 - axis] < across_size + margin:
        return range(0)
    direction = 1 if end[axis] >= start[axis] else -1
    low, high = -margin - start[axis], along_size + margin - start[axis]  # visible, relative to start
    first, last = (low, high) if direction > 0 else (-high, -low)
    first, last = max(first, 0), min(last, length)
    return range(first // period * period, last + 1, period) if first <= last else range(0)


def _along(start: tuple[int, int], end: tuple[int, int], offset: int, length: int) -> tuple[int, int]:
    """The point ``offset`` pixels from ``start`` towards ``end`` (an axis-aligned side ``length`` long)."""
    if length == 0:
        return start
    return (
        start[0] + (end[0] - start[0]) * offset // length,
        start[1] + (end[1] - start[1]) * offset // length,
    )


def box_corners(box) -> Rectangle:
    """A ``x, y, w, h`` box's rounded pixel corners ``(x1, y1, x2, y2)``, as `draw_tracks` draws it."""
    return _corners(box)


def line_width(frame: np.ndarray) -> int:
    """The box line width `draw_tracks` uses on ``frame`` (grows with the frame's size)."""
    return _line_width(frame)


#: A legend entry: ``(text, BGR colour, style)``, style ``"solid"``, ``"dashed"`` or ``"thin"``.
LegendEntry = tuple[str, tuple[int, int, int], str]


def with_legend(
    frame: np.ndarray, entries: Sequence[LegendEntry], caption: str = "", widest_caption: str = ""
) -> np.ndarray:
    """A new frame: ``frame`` above a dark bar carrying ``caption`` then a key of ``entries`` (per entry a
    short sample line in its colour and style, then its text), in as many rows as the width needs. Below
    the frame, not on it: nothing of the scene is hidden, and boxes keep the sequence's pixel coordinates.
    ``widest_caption``: the longest caption of the video's frames; the caption is given its room, so that
    every frame's bar has the same rows and height (a video's frames must keep one size) as its numbers
    grow.
    """
    rows, row_height, sample = _legend_rows(frame, entries, caption, widest_caption)
    bar = np.full((row_height * len(rows) + 4, frame.shape[1], 3), 32, np.uint8)
    for index, items in enumerate(rows):
        middle = index * row_height + row_height // 2 + 2
        for x, text, color, style in items:
            if style is not None:
                _legend_sample(bar, (x, middle), sample, color, style)
                x += sample + 5
            _put_text(bar, frame, text, (x, middle + row_height // 4))
    return np.concatenate([frame, bar])


def _legend_rows(frame: np.ndarray, entries: Sequence[LegendEntry], caption: str, widest_caption: str = ""):
    """The bar's rows of ``(x, text, colour, style)`` items (the caption first, without a sample, in the
    room of the longer of ``caption`` and ``widest_caption``), the height of a row and the length of a
    sample line."""
    import cv2

    scale, stroke = _font(frame)
    room = max(caption, widest_caption, key=lambda text: _text_width(text, scale, stroke))
    # (text drawn, text whose size it is laid out with, colour, style)
    items: list[tuple[str, str, tuple[int, int, int] | None, str | None]]
    items = [(caption, room, None, None)] if room else []
    items += [(text, text, color, style) for text, color, style in entries]
    sizes = [cv2.getTextSize(size_of, cv2.FONT_HERSHEY_SIMPLEX, scale, stroke) for _, size_of, _, _ in items]
    row_height = max(h + b for (_, h), b in sizes) + 6
    sample = row_height
    rows: list[list] = [[]]
    x = 6
    for (text, _, color, style), ((width, _), _) in zip(items, sizes, strict=True):
        needed = width + (sample + 5 if style is not None else 0)
        if rows[-1] and x + needed > frame.shape[1] - 6:
            rows.append([])
            x = 6
        rows[-1].append((x, text, color, style))
        x += needed + 3 * row_height // 2
    return rows, row_height, sample


def _text_width(text: str, scale: float, stroke: int) -> int:
    import cv2

    return cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, stroke)[0][0]


def _legend_sample(bar: np.ndarray, start: tuple[int, int], length: int, color, style: str) -> None:
    import cv2

    x, y = start
    if style == "dashed":
        dash = max(3, length // 5)
        for offset in range(0, length, 2 * dash):
            cv2.line(bar, (x + offset, y), (x + min(offset + dash, length), y), color, 2)
    else:
        cv2.line(bar, (x, y), (x + length, y), color, 1 if style == "thin" else 2)


def _put_text(image: np.ndarray, like: np.ndarray, text: str, origin: tuple[int, int]) -> None:
    """Light grey text at ``origin`` in the label font of frame ``like``."""
    import cv2

    scale, stroke = _font(like)
    cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (235, 235, 235), stroke, cv2.LINE_AA)
