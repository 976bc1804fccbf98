"""Hypothesis strategies for small, valid, adversarial MOTChallenge benchmarks in TrackEval's layout.

`benchmarks()` draws a `Benchmark`: 1-3 sequences of 1-12 frames, one gt file and one file for each of two
trackers per sequence. Everything generated is *valid* input for TrackEval 1.3.0 (no duplicate (frame, id)
in a file, frames inside 1..seqLength, no blank lines, no NaN, w and h > 0, gt class in 1..13 except on
MOT15, tracker class <= 1), so any difference between TrackEval and discmot is a discrepancy, never a
"both error out" case.

What is adversarial about it, and why:

* Boxes live on a small integer grid (about 30x30 units, sizes 1-12), so boxes overlap all the time and
  exact IoU ties (including IoU == 0.5 exactly) are common: tie-breaking of the assignment solver and the
  ``0.5 - eps`` thresholds decide the numbers.
* Tracker boxes are mostly copies of gt boxes (every class, every conf) with small integer jitter, with
  missed detections and id switches, plus random extra boxes: matches, distractor removal, zero-marked
  pedestrians under tracker boxes, IDSW and fragmentation really happen.
* gt rows carry MOT17-like classes (pedestrian, the distractors 2/7/8/12, class 6 which is a distractor
  only on MOT20, non-distractor classes) and conf 1, 0, 0.5 (truncates to 0) or -1 (kept); on MOT15 the
  class column holds arbitrary numbers (TrackEval ignores it there).
* Ids include 0 and large values; gt rows are written sorted by id (like real gt), by frame, or shuffled,
  since row order fixes assignment-matrix order and therefore tie-breaking.
* Files vary: 0-byte tracker (and gt) files, 8-10 gt columns, 7-10 tracker columns, tracker class
  -1/0/1, comma / comma+space / space delimiters, an occasional trailing delimiter, LF or CRLF, with or
  without a final newline, integer, scaled or noisy float coordinates with negative x/y; frames can be
  empty, gt-only or tracker-only.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import strategies as st

BENCHMARK_NAMES = ("MOT17", "MOT20", "MOT15")
SPLIT = "train"
TRACKER_NAMES = ("trkA", "trkB")
# Mixed case and punctuation so that the sorted order (TrackEval's serial order) differs from the seqmap.
SEQUENCE_NAMES = ("seq-b", "SEQ-02", "a", "Cam_1")
MAX_TRACKS = 5
MAX_LENGTH = 12
CR, SHOWN_CR = "\r", "\\r"

DISTRACTORS = frozenset({2, 7, 8, 12})
MOT20_DISTRACTORS = DISTRACTORS | {6}

GT_IDS = st.one_of(st.integers(0, 9), st.sampled_from([0, 1000, 123456]))
TRACKER_IDS = st.one_of(st.integers(0, 20), st.sampled_from([0, 77777]))
# Pedestrian often, distractors often, anything else in 1..13 sometimes.
MOT17_CLASSES = st.one_of(st.just(1), st.sampled_from([2, 7, 8, 12, 6]), st.integers(1, 13))
# MOT15: the class column is not a class (TUD-Stadtmitte has world coordinates there).
MOT15_CLASSES = st.sampled_from([-1, 1, 0, 7, 3.5, -12.25, 431.7])
# 0.5 truncates to 0 (row ignored), -1 is kept: TrackEval only tests int(conf) != 0.
GT_CONFS = st.sampled_from([1, 1, 1, 0, 0, 0.5, -1])
# Per-frame motion of a gt box (dx, dy, dw, dh); standing still is common so that boxes coincide.
MOVES = st.sampled_from([(0, 0, 0, 0)] * 3 + [(1, 0, 0, 0), (-1, 1, 0, 0), (2, -1, 1, 0), (0, 0, -1, 1)])
# Tracker box = gt box + jitter; the exact copy is most common (IoU 1, ties between coinciding gts).
JITTERS = st.sampled_from(
    [(0, 0, 0, 0)] * 4
    + [(1, 0, 0, 0), (0, -1, 0, 0), (1, 1, -1, 0), (0, 0, 1, 1), (-1, 0, 2, -1), (3, 2, 0, 0)]
)
# Fractional offsets of the "noisy" coordinate style (long float reprs like real tracker outputs).
_rng = random.Random(1234)
NOISES = [tuple(_rng.random() for _ in range(4)) for _ in range(12)] + [(1e-7, 0.5, 0.25, 0.9999999)]
# (scale, noisy): integer text, exactly representable halves, an inexact scale, per-row noise.
COORDINATE_STYLES = st.sampled_from([(1.0, False), (1.0, False), (0.5, False), (1.37, False), (1.0, True)])


@dataclass(frozen=True)
class GtRow:
    """One gt line, box in grid units (x, y, w, h), w and h >= 1."""

    frame: int
    id: int
    box: tuple[int, int, int, int]
    conf: float
    cls: float
    noise: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class TrackerRow:
    """One tracker line; ``source`` is the gt id it was derived from (None for random extras), not written."""

    frame: int
    id: int
    box: tuple[int, int, int, int]
    source: int | None = None
    noise: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class FileFormat:
    """How a file is written: columns (gt 8-10, tracker 7-10), delimiter, line ends, tracker class/conf."""

    columns: int
    crlf: bool = False
    final_newline: bool = True
    cls: int = -1
    conf: float = 1.0
    delimiter: str = ","
    trailing_delimiter: bool = False


@dataclass(frozen=True)
class TrackerFile:
    """A tracker's file for one sequence; ``rows is None`` means a 0-byte file."""

    rows: tuple[TrackerRow, ...] | None
    fmt: FileFormat


@dataclass(frozen=True)
class SequenceCase:
    """One sequence: its length, coordinate style, gt file and one file per tracker."""

    name: str
    length: int
    scale: float
    gt_rows: tuple[GtRow, ...]
    gt_fmt: FileFormat
    trackers: dict[str, TrackerFile] = field(default_factory=dict)


@dataclass(frozen=True)
class Benchmark:
    """A whole benchmark (sequences in seqmap order) that `write` lays out in TrackEval's folders."""

    name: str
    sequences: tuple[SequenceCase, ...]

    def files(self) -> dict[str, str]:
        """Relative path -> file text, for both roots (``gt/...`` and ``trackers/...``)."""
        split = f"{self.name}-{SPLIT}"
        files = {f"gt/seqmaps/{split}.txt": "name\n" + "".join(f"{s.name}\n" for s in self.sequences)}
        for seq in self.sequences:
            files[f"gt/{split}/{seq.name}/seqinfo.ini"] = seqinfo_text(seq)
            files[f"gt/{split}/{seq.name}/gt/gt.txt"] = gt_text(seq)
            for tracker, tracker_file in seq.trackers.items():
                files[f"trackers/{split}/{tracker}/data/{seq.name}.txt"] = tracker_text(seq, tracker_file)
        return files

    def write(self, root: Path) -> tuple[Path, Path]:
        """Writes every file under ``root``; returns (gt_folder, trackers_folder)."""
        for rel, text in self.files().items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            # newline="" keeps our "\r\n" as written instead of translating "\n".
            with open(path, "w", newline="") as f:
                f.write(text)
        return root / "gt", root / "trackers"

    def describe(self) -> str:
        """Every file verbatim (CR shown as \\r), for the failure report of a shrunk example."""
        return "\n".join(f"--- {rel}\n{text.replace(CR, SHOWN_CR)}" for rel, text in self.files().items())


def seqinfo_text(seq: SequenceCase) -> str:
    """Minimal seqinfo.ini; TrackEval reads only ``seqLength``."""
    return f"[Sequence]\nname={seq.name}\nseqLength={seq.length}\n"


def number(value: float) -> str:
    """Integers as ``5``, everything else as Python's shortest round-trip repr (``-1.37``, ``1e-07``)."""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))


def box_fields(box, noise, scale: float) -> list[str]:
    """Grid box to text: ``v * scale + noise``; w, h stay > 0 because grid w, h >= 1."""
    return [number(v * scale + n) for v, n in zip(box, noise, strict=True)]


def lines_to_text(rows: list[list[str]], fmt: FileFormat) -> str:
    """Joins fields and lines as the format says; no rows means a 0-byte file (never a lone newline)."""
    if not rows:
        return ""
    end = "\r\n" if fmt.crlf else "\n"
    tail = fmt.delimiter if fmt.trailing_delimiter else ""
    lines = [fmt.delimiter.join(fields) + tail for fields in rows]
    return end.join(lines) + (end if fmt.final_newline else "")


def gt_text(seq: SequenceCase) -> str:
    """``frame,id,x,y,w,h,conf,class[,visibility[,-1]]`` per row, in the drawn row order."""
    extra = ["1", "-1"][: seq.gt_fmt.columns - 8]
    rows = [
        [
            str(r.frame),
            str(r.id),
            *box_fields(r.box, r.noise, seq.scale),
            number(r.conf),
            number(r.cls),
            *extra,
        ]
        for r in seq.gt_rows
    ]
    return lines_to_text(rows, seq.gt_fmt)


def tracker_text(seq: SequenceCase, tracker_file: TrackerFile) -> str:
    """``frame,id,x,y,w,h,conf[,class[,-1[,-1]]]`` per row; class (col 7) is -1, 0 or 1."""
    if tracker_file.rows is None:
        return ""
    fmt = tracker_file.fmt
    tail = [number(fmt.conf), number(fmt.cls), "-1", "-1"][: fmt.columns - 6]
    rows = [
        [str(r.frame), str(r.id), *box_fields(r.box, r.noise, seq.scale), *tail] for r in tracker_file.rows
    ]
    return lines_to_text(rows, fmt)


# ----------------------------------------------------------------------------------------------------------
# Strategies


def weighted_bool(true_one_in: int) -> st.SearchStrategy[bool]:
    """True with probability about 1/true_one_in (shrinks towards False)."""
    # sampled_from draws near-uniformly, where integers() favours boundary values.
    return st.sampled_from([False] * (true_one_in - 1) + [True])


@st.composite
def gt_track(draw, bench: str, length: int, noisy: bool, track_id: int, start) -> list[GtRow]:
    """One gt object: a class and conf (occasionally changing per row), a drifting box, gaps."""
    classes = MOT15_CLASSES if bench == "MOT15" else MOT17_CLASSES
    cls, conf = draw(classes), draw(GT_CONFS)
    x, y, w, h = start
    rows = []
    for frame in range(1, length + 1):
        if not draw(weighted_bool(4)):  # present in 3 of 4 frames: gaps make fragmentation
            # Real gt has one class and conf per track, but TrackEval works per row: vary them now and then.
            flicker = draw(st.sampled_from(range(20)))
            row_cls = draw(classes) if flicker == 0 else cls
            row_conf = draw(GT_CONFS) if flicker == 1 else conf
            noise = draw(st.sampled_from(NOISES)) if noisy else (0.0,) * 4
            rows.append(GtRow(frame, track_id, (x, y, w, h), row_conf, row_cls, noise))
        dx, dy, dw, dh = draw(MOVES)
        x, y, w, h = x + dx, y + dy, max(1, w + dw), max(1, h + dh)
    return rows


@st.composite
def gt_rows_of(draw, bench: str, length: int, noisy: bool) -> list[GtRow]:
    """Up to five gt objects with distinct ids (about one sequence in ten has none: 0-byte gt file).

    A third of the objects start on the box of an earlier one (occlusion, pedestrian on a distractor):
    coinciding boxes make exact IoU ties for the distractor matching, CLEAR and HOTA.
    """
    if draw(weighted_bool(10)):
        return []
    rows, starts = [], []
    for track_id in draw(st.lists(GT_IDS, min_size=1, max_size=MAX_TRACKS, unique=True)):
        clone = starts and draw(weighted_bool(3))
        start = draw(st.sampled_from(starts)) if clone else draw(random_box())
        starts.append(start)
        rows += draw(gt_track(bench, length, noisy, track_id, start))
    return rows


@st.composite
def ordered(draw, rows: list, modes: tuple[str, ...]) -> tuple:
    """The rows in one of the given orders: 'frame' (stable), 'id' (then frame), 'shuffled', 'as_is'."""
    mode = draw(st.sampled_from(modes))
    if mode == "frame":
        return tuple(sorted(rows, key=lambda r: r.frame))
    if mode == "id":
        return tuple(sorted(rows, key=lambda r: (r.id, r.frame)))
    if mode == "shuffled":
        rows = list(rows)
        draw(st.randoms(use_true_random=False)).shuffle(rows)
    return tuple(rows)


def jitter(box: tuple[int, int, int, int], delta: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """Shifts a grid box; w and h stay >= 1 (the evaluator rejects w <= 0 or h <= 0)."""
    x, y, w, h = (b + d for b, d in zip(box, delta, strict=True))
    return (x, y, max(1, w), max(1, h))


@st.composite
def random_box(draw) -> tuple[int, int, int, int]:
    """A box anywhere on the grid, sized like the gt boxes."""
    x, y = draw(st.integers(-6, 22)), draw(st.integers(-6, 22))
    return (x, y, draw(st.integers(1, 12)), draw(st.integers(1, 12)))


@st.composite
def tracker_rows(draw, gt_rows: tuple[GtRow, ...], length: int, noisy: bool) -> list[TrackerRow]:
    """Detections of gt rows (any class/conf) with jitter, misses and id switches, plus random extras.

    A row whose (frame, id) is already taken in this file is dropped: duplicates are an error in both tools.
    """
    current_id: dict[int, int] = {}
    candidates = []
    for g in sorted(gt_rows, key=lambda r: r.frame):
        if draw(weighted_bool(5)):  # missed detection
            continue
        if g.id not in current_id or draw(weighted_bool(8)):  # new track or id switch
            current_id[g.id] = draw(TRACKER_IDS)
        candidates.append((g.frame, current_id[g.id], jitter(g.box, draw(JITTERS)), g.id))
    for _ in range(draw(st.integers(0, 4))):  # false positives
        if gt_rows and draw(st.booleans()):  # a double detection: ties with the true one
            g = draw(st.sampled_from(gt_rows))
            candidates.append((g.frame, draw(TRACKER_IDS), jitter(g.box, draw(JITTERS)), None))
        else:  # anywhere, possibly in a frame without gt
            candidates.append((draw(st.integers(1, length)), draw(TRACKER_IDS), draw(random_box()), None))
    rows, taken = [], set()
    for frame, track_id, box, source in candidates:
        if (frame, track_id) not in taken:
            taken.add((frame, track_id))
            noise = draw(st.sampled_from(NOISES)) if noisy else (0.0,) * 4
            rows.append(TrackerRow(frame, track_id, box, source, noise))
    return rows


def file_format(columns, cls=None, conf=None) -> st.SearchStrategy[FileFormat]:
    """Mostly plain ``a,b,c`` lines; sometimes ``a, b`` or ``a b`` (TrackEval sniffs the delimiter from the
    first line), a trailing delimiter (TrackEval drops one empty last field), CRLF, no final newline."""
    return st.builds(
        FileFormat,
        columns=columns,
        crlf=weighted_bool(4),
        final_newline=weighted_bool(4).map(lambda v: not v),
        cls=st.just(-1) if cls is None else cls,
        conf=st.just(1.0) if conf is None else conf,
        delimiter=st.sampled_from([",", ",", ",", ", ", " "]),
        trailing_delimiter=weighted_bool(6),
    )


@st.composite
def tracker_file(draw, gt_rows: tuple[GtRow, ...], length: int, noisy: bool) -> TrackerFile:
    """A tracker's file: 0-byte about one time in seven, else rows in frame order or shuffled."""
    fmt = draw(
        file_format(
            columns=st.sampled_from([9, 10, 10, 7, 8]),
            cls=st.sampled_from([-1, 1, 0]),
            conf=st.sampled_from([1, 0.83, -1, 42.5]),  # TrackEval never uses tracker conf
        )
    )
    if draw(weighted_bool(7)):
        return TrackerFile(None, fmt)
    rows = draw(tracker_rows(gt_rows, length, noisy))
    return TrackerFile(draw(ordered(rows, ("as_is", "frame", "shuffled"))), fmt)


@st.composite
def sequence_case(draw, bench: str, name: str) -> SequenceCase:
    """One sequence with up to five gt objects (distinct ids) and a file for each tracker."""
    # sampled_from, not integers(): Hypothesis would draw length 1 a quarter of the time.
    length = draw(st.sampled_from(range(1, MAX_LENGTH + 1)))
    scale, noisy = draw(COORDINATE_STYLES)
    gt_rows = draw(ordered(draw(gt_rows_of(bench, length, noisy)), ("id", "frame", "shuffled")))
    gt_fmt = draw(file_format(columns=st.sampled_from([9, 9, 8, 10])))
    trackers = {t: draw(tracker_file(gt_rows, length, noisy)) for t in TRACKER_NAMES}
    return SequenceCase(name, length, scale, gt_rows, gt_fmt, trackers)


@st.composite
def benchmarks(draw, names: tuple[str, ...] = BENCHMARK_NAMES) -> Benchmark:
    """A benchmark of 1-3 sequences (distinct names, seqmap in drawn order) for two trackers."""
    bench = draw(st.sampled_from(names))
    seq_names = draw(st.lists(st.sampled_from(SEQUENCE_NAMES), min_size=1, max_size=3, unique=True))
    return Benchmark(bench, tuple(draw(sequence_case(bench, name)) for name in seq_names))


# ----------------------------------------------------------------------------------------------------------
# Features: which edge cases a drawn benchmark contains (grid units; used to prove the strategy reaches them)


def grid_iou(a, b) -> float:
    """IoU of two grid boxes (x, y, w, h), TrackEval's formula without the +1 pixel convention."""
    iw = max(min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]), 0)
    ih = max(min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]), 0)
    inter = iw * ih
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def sequence_features(bench: str, seq: SequenceCase) -> set[str]:
    """Edge cases present in one sequence (see `features`)."""
    found = set()
    distractors = MOT20_DISTRACTORS if bench == "MOT20" else DISTRACTORS
    gt_frames = {r.frame for r in seq.gt_rows}
    if not seq.gt_rows:
        found.add("empty_gt_file")
    for fmt in [seq.gt_fmt, *(f.fmt for f in seq.trackers.values())]:
        found |= format_features(fmt)
    if seq.scale != 1.0 or seq.gt_rows and seq.gt_rows[0].noise != (0.0,) * 4:
        found.add("float_boxes")
    if any(r.box[0] < 0 or r.box[1] < 0 for r in seq.gt_rows):
        found.add("negative_xy")
    if any(r.id == 0 for r in seq.gt_rows):
        found.add("gt_id_0")
    if any(r.id > 1000 for r in seq.gt_rows):
        found.add("large_gt_id")
    for tracker_file in seq.trackers.values():
        found.add(f"tracker_columns_{tracker_file.fmt.columns}")
        if tracker_file.rows is None:
            found.add("empty_tracker_file")
            continue
        trk_frames = {r.frame for r in tracker_file.rows}
        if gt_frames - trk_frames:
            found.add("gt_only_frame")
        if trk_frames - gt_frames:
            found.add("tracker_only_frame")
        if set(range(1, seq.length + 1)) - gt_frames - trk_frames:
            found.add("empty_frame")
        found |= id_switch_features(tracker_file.rows)
        found |= overlap_features(bench, seq.gt_rows, tracker_file.rows, distractors)
    return found


def format_features(fmt: FileFormat) -> set[str]:
    """'crlf', 'space_delimited', 'comma_space_delimited', 'trailing_delimiter', as the file is written."""
    found = {"crlf"} if fmt.crlf else set()
    found |= {" ": {"space_delimited"}, ", ": {"comma_space_delimited"}}.get(fmt.delimiter, set())
    return found | ({"trailing_delimiter"} if fmt.trailing_delimiter else set())


def id_switch_features(rows) -> set[str]:
    """'id_switch' when one gt object is followed under two different tracker ids."""
    ids_per_source: dict[int, set[int]] = {}
    for r in rows:
        if r.source is not None:
            ids_per_source.setdefault(r.source, set()).add(r.id)
    return {"id_switch"} if any(len(ids) > 1 for ids in ids_per_source.values()) else set()


def overlap_features(bench: str, gt_rows, trk_rows, distractors) -> set[str]:
    """Distractor / zero-marked pedestrian under a tracker box, exact-0.5 IoU and IoU ties in a frame."""
    found = set()
    for frame in {r.frame for r in trk_rows}:
        gts = [g for g in gt_rows if g.frame == frame]
        trks = [t for t in trk_rows if t.frame == frame]
        ious = [[grid_iou(g.box, t.box) for t in trks] for g in gts]
        for g, row in zip(gts, ious, strict=True):
            if bench != "MOT15" and max(row) >= 0.5:
                if g.cls in distractors:
                    found.add("distractor_under_tracker_box")
                if g.cls == 1 and int(g.conf) == 0:
                    found.add("zero_marked_pedestrian_under_tracker_box")
                if bench == "MOT20" and g.cls == 6:
                    found.add("mot20_class6_under_tracker_box")
            matched = [v for v in row if v >= 0.5]
            if len(matched) != len(set(matched)):
                found.add("iou_tie")
            if 0.5 in row:
                found.add("iou_exactly_half")
    return found


def features(benchmark: Benchmark) -> set[str]:
    """Names of the edge cases a benchmark exercises (plus ``bench_<name>``)."""
    found = {f"bench_{benchmark.name}"}
    for seq in benchmark.sequences:
        found |= sequence_features(benchmark.name, seq)
    return found
