"""Every ```python block of the README, docs/*.md and benchmarks/README.md works: a renamed function, a
removed keyword or a wrong attribute cannot leave a stale example behind.

Each block is, statically (`check_block`): parsed; its imports resolved (the module imports, the name is
in it); every call of a discmot (or ``benchlib``) function or class found through those imports bound to
its signature (``inspect.signature(...).bind`` on the call's shape; calls with ``*args``/``**kwargs``
are skipped), and so are method calls on objects whose class the checker can follow (a constructor, or a
function's return annotation: ``load_cstrack(...)`` is a `CSTrack`, ``render_sequence(...)`` yields
`SynthFrame`s); attributes read from such objects must exist. The names a block uses without defining
(the user's arrays, ``frame_bgr``) must be the ones `BLOCKS` says it is given.

Most blocks also RUN, in a temporary folder holding stand-ins for the user's files: a short synthetic
video (`discmot.data.synth` + `discmot.io.video`), a synthetic ``frame.jpg``, a one-sequence TrackEval
layout, the bundled tiny models' weights in the official formats as ``cstrack.pt`` and
``dancetrack.pth`` (the FDTA file holds its config, as `discmot.io.official_format.write_official`
writes it: the tiny architecture fits no preset), a tiny synthetic training set; what each run did is then
checked (files, shapes, numbers the comments state). These stay static only:
- docs/tracking.md's CUDA block: needs a GPU;
- benchmarks/README.md: a template with ``...`` placeholders.
The block running docs/tracking.md's ``discmot.track`` uses the shared YOLOX/OSNet ONNX files (skipped
when they are absent, failed under CI=true).

`BLOCKS` classifies every block, keyed by page and first code line: a new block, or one whose first line
changed, fails `test_every_block_is_classified` until it is added there.
"""

from __future__ import annotations

import ast
import builtins
import collections.abc
import dataclasses
import functools
import importlib
import inspect
import re
import sys
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from helpers import require_module, shared_file

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "benchmarks" / "README.md"]
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
#: Extra import folders per page: a benchmark module imports ``benchlib`` from beside it.
IMPORT_PATHS = {"benchmarks/README.md": [ROOT / "benchmarks"]}
#: Modules whose callables the checker binds: the library's own, and the benchmark harness.
OWN_MODULES = ("discmot", "benchlib")
#: ``torch.nn.Module`` methods that return the module itself (``load_cstrack(...).to("cuda")``).
MODULE_METHODS_RETURNING_SELF = {"to", "cuda", "cpu", "half", "float", "bfloat16", "eval", "train"}


@dataclass(frozen=True)
class Block:
    """One ```python block: its page (relative to the repository), the page line of its first code line,
    and its code."""

    page: str
    line: int
    source: str

    @property
    def key(self) -> tuple[str, str]:
        """``(page, first code line)``: what `BLOCKS` is keyed by."""
        return self.page, self.source.splitlines()[0].strip()

    def where(self, line: int) -> str:
        """``page:line`` of the block's ``line`` (1-based within the block)."""
        return f"{self.page}:{self.line + line - 1}"


def page_blocks(page: Path) -> list[Block]:
    """The python blocks of ``page``, in order."""
    text = page.read_text(encoding="utf-8")
    return [
        Block(page.relative_to(ROOT).as_posix(), text.count("\n", 0, m.start(1)) + 1, m.group(1))
        for m in PYTHON_BLOCK.finditer(text)
    ]


ALL_BLOCKS = [block for page in PAGES for block in page_blocks(page)]


# --------------------------------------------------------------------------------------------------
# The static checker


@dataclass(frozen=True)
class Known:
    """What the checker knows of a value: an imported object (``obj``: a module, class or function), an
    instance of ``cls``, an iterable of ``cls`` instances (``each``), or a tuple of such (``items``)."""

    obj: object = None
    cls: type | None = None
    each: Known | None = None
    items: tuple[Known, ...] | None = None


UNKNOWN = Known()


def is_own(obj) -> bool:
    """True for an object defined in discmot (or the benchmark harness): the calls the checker binds."""
    module = getattr(obj, "__module__", None) or ""
    return module.split(".")[0] in OWN_MODULES


@functools.cache
def instance_attributes(cls: type) -> frozenset[str]:
    """Names an instance of ``cls`` has beyond its class's: dataclass fields, annotations, slots and every
    ``self.NAME = ...`` in the source of discmot classes of its MRO."""
    names = set()
    for klass in cls.__mro__:
        names |= set(getattr(klass, "__annotations__", {})) | set(getattr(klass, "__slots__", ()))
        if not is_own(klass):
            continue
        try:
            tree = ast.parse(inspect.getsource(klass))
        except (OSError, TypeError, SyntaxError):
            continue
        names |= {
            node.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Store)
            and isinstance(node.value, ast.Name)
            and node.value.id == "self"
        }
    if dataclasses.is_dataclass(cls):
        names |= {f.name for f in dataclasses.fields(cls)}
    return frozenset(names)


def annotation_of(function, receiver: Known) -> Known:
    """What ``function``'s return annotation says it returns (``receiver`` for ``Self`` or a type
    variable, as ``nn.Module.eval`` returns its module); UNKNOWN where it cannot be resolved."""
    try:
        hint = typing.get_type_hints(function).get("return")
    except Exception:  # a forward reference only importable under TYPE_CHECKING
        return UNKNOWN
    return known_type(hint, receiver)


def known_type(hint, receiver: Known) -> Known:
    """`Known` of a resolved type hint: classes, ``X | None``, iterators/lists of X and tuples."""
    # typing.Self is new in Python 3.11 (torch annotates with typing_extensions' on 3.10): by name
    if getattr(hint, "_name", None) == "Self" or isinstance(hint, typing.TypeVar):
        return receiver
    if isinstance(hint, type) and not typing.get_args(hint):
        return Known(cls=hint)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        return known_type(rest[0], receiver) if len(rest) == 1 else UNKNOWN
    if origin is tuple and args and Ellipsis not in args:
        return Known(items=tuple(known_type(a, receiver) for a in args))
    iterables = (collections.abc.Iterator, collections.abc.Iterable, collections.abc.Generator, list)
    if origin in iterables and args:
        return Known(each=known_type(args[0], receiver))
    return UNKNOWN


class Checker:
    """Walks one block in program order, following what each name holds; collects ``page:line: what``
    problems. Only the constructs documentation examples use are followed; anything else is UNKNOWN."""

    def __init__(self, block: Block):
        self.block = block
        self.names: dict[str, Known] = {}
        self.problems: list[str] = []

    def problem(self, node: ast.AST, message: str) -> None:
        self.problems.append(f"{self.block.where(node.lineno)}: {message}")

    # statements -----------------------------------------------------------------------------------
    def run(self, statements: list[ast.stmt]) -> None:
        for statement in statements:
            self.statement(statement)

    def statement(self, node: ast.stmt) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                module = self.import_module(node, alias.name)
                top = alias.name.split(".")[0]
                if module is not None:
                    self.names[alias.asname or top] = Known(obj=module if alias.asname else sys.modules[top])
        elif isinstance(node, ast.ImportFrom):
            module = self.import_module(node, node.module) if node.level == 0 else None
            for alias in node.names:
                self.names[alias.asname or alias.name] = self.imported_name(node, module, alias.name)
        elif isinstance(node, ast.Assign):
            value = self.expr(node.value)
            for target in node.targets:
                self.bind(target, value)
        elif isinstance(node, ast.For):
            self.bind(node.target, self.expr(node.iter).each or UNKNOWN)
            self.run(node.body + node.orelse)
        elif isinstance(node, (ast.While, ast.If)):
            self.expr(node.test)
            self.run(node.body + node.orelse)
        elif isinstance(node, ast.With):
            for item in node.items:
                value = self.expr(item.context_expr)
                if item.optional_vars is not None:
                    self.bind(item.optional_vars, value)
            self.run(node.body)
        elif isinstance(node, ast.FunctionDef):
            for expression in [*node.decorator_list, *node.args.defaults, node.returns]:
                if expression is not None:
                    self.expr(expression)
            self.run(node.body)
            self.names[node.name] = UNKNOWN
        else:  # Expr, Return, AugAssign, ...: check the expressions inside
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self.expr(child)

    def import_module(self, node: ast.AST, name: str):
        paths = [str(p) for p in IMPORT_PATHS.get(self.block.page, [])]
        sys.path[:0] = paths
        try:
            return importlib.import_module(name)
        except ImportError as error:
            self.problem(node, f"import {name}: {error}")
            return None
        finally:
            del sys.path[: len(paths)]

    def imported_name(self, node: ast.ImportFrom, module, name: str) -> Known:
        if module is None:
            return UNKNOWN
        if hasattr(module, name):
            return Known(obj=getattr(module, name))
        try:  # a submodule not imported by its package
            return Known(obj=importlib.import_module(f"{module.__name__}.{name}"))
        except ImportError:
            self.problem(node, f"from {module.__name__} import {name}: no such name")
            return UNKNOWN

    def bind(self, target: ast.expr, value: Known) -> None:
        if isinstance(target, ast.Name):
            self.names[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            items = value.items if value.items and len(value.items) == len(target.elts) else None
            for index, element in enumerate(target.elts):
                self.bind(element, items[index] if items else UNKNOWN)
        else:
            self.expr(target)

    # expressions ----------------------------------------------------------------------------------
    def expr(self, node: ast.expr) -> Known:
        if isinstance(node, ast.Name):
            return self.names.get(node.id, UNKNOWN)
        if isinstance(node, ast.NamedExpr):
            value = self.expr(node.value)
            self.bind(node.target, value)
            return value
        if isinstance(node, ast.Attribute):
            return self.attribute(node, self.expr(node.value))
        if isinstance(node, ast.Call):
            return self.call(node)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self.expr(child)
            elif isinstance(child, ast.comprehension):
                self.bind(child.target, self.expr(child.iter).each or UNKNOWN)
                for condition in child.ifs:
                    self.expr(condition)
        return UNKNOWN

    def attribute(self, node: ast.Attribute, owner: Known) -> Known:
        if owner.obj is not None and isinstance(owner.obj, (types.ModuleType, type)):
            if not hasattr(owner.obj, node.attr):
                self.problem(node, f"{owner.obj.__name__} has no attribute {node.attr!r}")
                return UNKNOWN
            return Known(obj=getattr(owner.obj, node.attr))
        cls = owner.cls
        if cls is not None and is_own(cls):
            if not hasattr(cls, node.attr) and node.attr not in instance_attributes(cls):
                self.problem(node, f"a {cls.__name__} has no attribute {node.attr!r}")
            return UNKNOWN
        return UNKNOWN

    def call(self, node: ast.Call) -> Known:
        for argument in [*node.args, *(k.value for k in node.keywords)]:
            self.expr(argument)
        function = node.func
        if isinstance(function, ast.Attribute):
            receiver = self.expr(function.value)
            if receiver.cls is not None and receiver.obj is None:
                return self.method_call(node, receiver, function.attr)
            callee = self.attribute(function, receiver)
        else:
            receiver, callee = UNKNOWN, self.expr(function)
        target = callee.obj
        if target is None or not callable(target) or isinstance(target, types.ModuleType):
            return UNKNOWN
        if is_own(target):
            self.check_binding(node, target, target)
        if isinstance(target, type):
            return Known(cls=target)
        return annotation_of(target, receiver)

    def method_call(self, node: ast.Call, receiver: Known, name: str) -> Known:
        cls = receiver.cls
        try:
            raw = inspect.getattr_static(cls, name)
        except AttributeError:
            if is_own(cls) and name not in instance_attributes(cls):
                self.problem(node, f"a {cls.__name__} has no method {name!r}")
            return UNKNOWN
        method = getattr(cls, name)
        if not callable(method):
            return UNKNOWN
        if is_own(method) or is_own(raw):
            self_argument = not isinstance(raw, (staticmethod, classmethod))
            self.check_binding(node, method, f"{cls.__name__}.{name}", self_argument)
        if name in MODULE_METHODS_RETURNING_SELF and getattr(raw, "__qualname__", "") == f"Module.{name}":
            return receiver  # torch's overloaded `to` has no return annotation
        return annotation_of(method, receiver)

    def check_binding(self, node: ast.Call, target, name, self_argument: bool = False) -> None:
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            return  # *args / **kwargs: the call's shape is unknown
        try:
            signature = inspect.signature(target)
        except (TypeError, ValueError):
            return
        positional = [object()] * (len(node.args) + self_argument)
        try:
            signature.bind(*positional, **{k.arg: object() for k in node.keywords})
        except TypeError as error:
            label = name if isinstance(name, str) else getattr(name, "__qualname__", repr(name))
            self.problem(node, f"{label}{signature}: {ast.unparse(node)}: {error}")


def free_names(tree: ast.Module) -> set[str]:
    """Names read but never bound anywhere in ``tree`` (builtins aside): what the block is given."""
    bound, read = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (bound if isinstance(node.ctx, (ast.Store, ast.Del)) else read).add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {a.asname or a.name.split(".")[0] for a in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    return read - bound - set(dir(builtins))


def check_block(block: Block, given: set[str]) -> list[str]:
    """The problems of ``block`` (``page:line: what``); ``given`` are the names it may use undefined."""
    try:
        tree = ast.parse(block.source)
    except SyntaxError as error:
        return [f"{block.where(error.lineno or 1)}: syntax error: {error.msg}"]
    checker = Checker(block)
    checker.run(tree.body)
    undefined = free_names(tree)
    if undefined != given:
        checker.problems.append(
            f"{block.where(1)}: the block uses {sorted(undefined)} undefined; BLOCKS gives it {sorted(given)}"
        )
    return checker.problems


# --------------------------------------------------------------------------------------------------
# Stand-ins for the user's files, and what each run must leave behind


def write_synthetic_video(path: Path, frames: int = 4) -> None:
    """``frames`` frames of a synthetic street scene (320x192) as an MP4."""
    from discmot.data.synth import render_sequence
    from discmot.io.video import VideoWriter

    with VideoWriter(path, 25, (320, 192)) as writer:
        for frame in render_sequence("mot", seed=0, num_frames=frames, size=(320, 192)):
            writer.write(frame.image)


def user_detections(with_classes: bool = False) -> dict[str, np.ndarray]:
    """Three detections as a user's detector and ReID model give them (tlwh pixels, 128-d embeddings)."""
    arrays = {
        "boxes_tlwh": np.array([[10, 20, 30, 60], [100, 20, 30, 60], [200, 40, 40, 80]], dtype=np.float64),
        "scores": np.array([0.9, 0.8, 0.95]),
        "embeddings": np.random.default_rng(0).normal(size=(3, 128)).astype(np.float32),
    }
    if with_classes:
        arrays["classes"] = np.array([0, 0, 2])
    return arrays


def mot_rows(path: Path) -> np.ndarray:
    """The rows of a MOTChallenge results file, ``(N, 10)``."""
    return np.loadtxt(path, delimiter=",", ndmin=2).reshape(-1, 10)


GT_ROWS = ["1,1,10,10,20,40,1,1,1", "2,1,12,10,20,40,1,1,1", "1,2,60,10,20,40,1,1,1", "2,2,62,12,20,40,1,1,1"]


def setup_evaluation(tmp_path: Path, monkeypatch) -> dict:
    """README's layout: one 2-frame MOT17 sequence and a tracker ``MyTracker`` that reproduces its gt."""
    gt = tmp_path / "data" / "gt" / "mot_challenge"
    (gt / "MOT17-train" / "seq-a" / "gt").mkdir(parents=True)
    (gt / "MOT17-train" / "seq-a" / "gt" / "gt.txt").write_text("\n".join(GT_ROWS) + "\n")
    (gt / "MOT17-train" / "seq-a" / "seqinfo.ini").write_text("[Sequence]\nname=seq-a\nseqLength=2\n")
    (gt / "seqmaps").mkdir()
    (gt / "seqmaps" / "MOT17-train.txt").write_text("name\nseq-a\n")
    data = tmp_path / "data" / "trackers" / "mot_challenge" / "MOT17-train" / "MyTracker" / "data"
    data.mkdir(parents=True)
    (data / "seq-a.txt").write_text("".join(r.rsplit(",", 3)[0] + ",1,-1,-1,-1\n" for r in GT_ROWS))
    return {}


def check_evaluation(namespace: dict, tmp_path: Path, printed: str) -> None:
    assert float(printed.strip()) == pytest.approx(1.0)  # the tracker is the gt: HOTA 1 at every alpha
    assert namespace["results"]["MyTracker"]["COMBINED"]["HOTA"]["HOTA"].shape == (19,)  # "over 19 alphas"
    assert list((tmp_path / "outputs" / "eval").rglob("pedestrian_summary.txt"))


def setup_cstrack_stages(tmp_path: Path, monkeypatch) -> dict:
    """The bundled tiny CSTrack's state dict stands in for the released ``cstrack.pt``."""
    import torch

    import discmot

    model = discmot.load_model("cstrack", discmot.bundled_weights("cstrack"))
    torch.save(model.state_dict(), tmp_path / "cstrack.pt")
    return {"images": torch.rand(2, 3, 192, 320)}


def check_cstrack_stages(namespace: dict, tmp_path: Path, printed: str) -> None:
    """The shapes the comments give: embeddings [B, H/8, W/8, C], per level [B, 3, H_i, W_i, 6] at
    strides 8/16/32, decoded [B, N, 6] with N the levels' anchors."""
    embeddings, raw, boxes = namespace["embeddings"], namespace["raw"], namespace["boxes"]
    assert tuple(embeddings.shape[:3]) == (2, 192 // 8, 320 // 8)
    assert [tuple(r.shape) for r in raw] == [(2, 3, 192 // s, 320 // s, 6) for s in (8, 16, 32)]
    assert tuple(boxes.shape) == (2, sum(3 * (192 // s) * (320 // s) for s in (8, 16, 32)), 6)


def setup_fdta_tracker(tmp_path: Path, monkeypatch) -> dict:
    """The bundled tiny FDTA in the official format (with its config) stands in for ``dancetrack.pth``;
    a synthetic DanceTrack frame for ``frame.jpg``."""
    import cv2

    import discmot
    from discmot.data.synth import render_sequence
    from discmot.io import official_format

    model = discmot.load_model("fdta", discmot.bundled_weights("fdta"))
    official_format.write_official(tmp_path / "dancetrack.pth", model, model.config)
    frame = next(iter(render_sequence("dancetrack", seed=0, num_frames=1)))
    cv2.imwrite(str(tmp_path / "frame.jpg"), frame.image)
    return {}


def check_fdta_tracker(namespace: dict, tmp_path: Path, printed: str) -> None:
    import torch

    assert {"pred_logits", "pred_boxes", "outputs"} <= set(namespace["out"])
    assert namespace["out"]["pred_boxes"].shape[:2] == namespace["out"]["pred_logits"].shape[:2]
    assert next(namespace["model"].parameters()).dtype == torch.bfloat16
    tracks = namespace["tracks"]  # FDTA outputs its newborn tracks at once, ids from 0
    assert len(tracks) > 0 and min(tracks.ids) == 0
    assert tracks.boxes.shape == (len(tracks), 4)


def setup_synthetic(tmp_path: Path, monkeypatch) -> dict:
    """Few frames: the dancetrack preset shortened to 6 frames a sequence (its 4 x 200 take seconds)."""
    from discmot.data.synth import PRESETS

    monkeypatch.setitem(PRESETS, "dancetrack", dataclasses.replace(PRESETS["dancetrack"], frames=6))
    return {}


def check_synthetic(namespace: dict, tmp_path: Path, printed: str) -> None:
    folders = namespace["folders"]
    assert len(folders) == 4
    for folder in folders:
        assert Path(folder).is_relative_to("data/synth")
        assert len(list((tmp_path / folder / "img1").glob("*.jpg"))) == 6
        assert (tmp_path / folder / "gt" / "gt.txt").is_file()
    frame = namespace["frame"]
    assert frame.image.shape[2] == 3 and frame.depth.shape == frame.image.shape[:2]
    assert frame.boxes.shape == (len(frame.ids), 4) and frame.visibility.shape == frame.ids.shape


def setup_track_call(tmp_path: Path, monkeypatch) -> dict:
    """A synthetic ``video.mp4``; the shared YOLOX-nano and OSNet ONNX files linked under the names used."""
    require_module("onnxruntime")  # the `onnx` extra the block's detector and ReID model run on
    write_synthetic_video(tmp_path / "video.mp4")
    for name in ("yolox_nano.onnx", "osnet_x0_25_msmt17.onnx"):
        (tmp_path / name).symlink_to(shared_file(f"assets/weights/{name}"))
    return user_detections()


def check_track_call(namespace: dict, tmp_path: Path, printed: str) -> None:
    rows, summary = mot_rows(tmp_path / "results.txt"), namespace["summary"]
    assert summary["frames"] == 4 and summary["rows"] == len(rows)
    assert set(rows[:, 0]) == {2, 3, 4}  # YOLOX finds the synthetic walkers; tracks from frame 2 on
    assert (tmp_path / "tracked.mp4").stat().st_size > 0
    assert len(namespace["tracks"]) == 0  # a track is output from its second detection on
    tracks = second_frame(namespace)
    assert list(tracks.ids) == [1, 2, 3]
    assert tracks.boxes.tolist() == namespace["boxes_tlwh"].tolist()


def second_frame(namespace: dict):
    """The block's tracker updated again with the block's detections (its tracks are output now)."""
    names = ("boxes_tlwh", "scores", "embeddings", "classes")
    arrays = [namespace[name] for name in names if name in namespace]
    return namespace["tracker"].update(namespace["Detections"](*arrays))


def setup_cstrack_loop(tmp_path: Path, monkeypatch) -> dict:
    write_synthetic_video(tmp_path / "clip.mp4")
    return {}


def check_cstrack_loop(namespace: dict, tmp_path: Path, printed: str) -> None:
    rows = mot_rows(tmp_path / "results.txt")
    assert len(rows) > 0, "the bundled CSTrack finds the synthetic pedestrians"
    # 1-based frame numbers: the first frame has no track yet (docs/tracking.md, `Tracks`), the last is 4
    assert set(rows[:, 0]) == {2, 3, 4} and (rows[:, 1] >= 1).all()
    assert (rows[:, 7:] == -1).all()
    # the tracker keeps lost tracks as long as `discmot track` does on this video (25 fps, not 30)
    from discmot.engine.infer import tracker_frame_rate
    from discmot.io.video import open_source

    video_fps = open_source(str(tmp_path / "clip.mp4")).fps
    assert namespace["tracker"].association.frame_rate == tracker_frame_rate(None, video_fps) == 25


def check_on_frame(namespace: dict, tmp_path: Path, printed: str) -> None:
    """Every frame's tracks reach the dict, frames without any too, and they are the summary's rows."""
    tracks, summary = namespace["tracks"], namespace["summary"]
    assert sorted(tracks) == list(range(1, summary["frames"] + 1)) and summary["frames"] == 4
    assert sum(map(len, tracks.values())) == summary["rows"] > 0, "the bundled CSTrack finds the walkers"
    assert len(tracks[1]) == 0  # a track is output from its second detection on
    assert summary["save_txt"] is None and not list(tmp_path.glob("*.txt"))  # no file was needed


def setup_per_class(tmp_path: Path, monkeypatch) -> dict:
    return user_detections(with_classes=True)


def check_per_class(namespace: dict, tmp_path: Path, printed: str) -> None:
    assert len(namespace["tracks"]) == 0  # a track is output from its second detection on
    tracks = second_frame(namespace)
    assert len(tracks) == 3
    by_box = {tuple(box): label for box, label in zip(tracks.boxes, tracks.classes, strict=True)}
    assert by_box == {tuple(b): c for b, c in zip(namespace["boxes_tlwh"], namespace["classes"], strict=True)}


def setup_training(tmp_path: Path, monkeypatch) -> dict:
    """``data/synth``: one 8-frame ``tiny`` sequence, one clip an epoch (the tiny preset's 4 x 12 frames
    train for seconds)."""
    from discmot.data.synth import generate_dataset

    generate_dataset(tmp_path / "data" / "synth", preset="tiny", split="train", sequences=1, frames=8)
    return {}


def check_training(namespace: dict, tmp_path: Path, printed: str) -> None:
    assert Path(namespace["weights"]) == Path("runs/tiny-py/model.safetensors")
    assert (tmp_path / namespace["weights"]).is_file()
    epochs = (tmp_path / "runs" / "tiny-py" / "checkpoints").glob("epoch-*.pt")
    assert sorted(p.name for p in epochs) == ["epoch-000.pt", "epoch-001.pt"]


@dataclass(frozen=True)
class Run:
    """Run the block in a temporary folder: ``setup(tmp_path, monkeypatch)`` writes the stand-in files
    there and returns the names the block is given; ``check(namespace, tmp_path, printed)`` asserts what
    the run did."""

    setup: Callable[..., dict]
    check: Callable[[dict, Path, str], None]
    given: frozenset[str] = field(default=frozenset())


@dataclass(frozen=True)
class Static:
    """Checked statically only, for ``reason``; ``given`` are the names the block uses undefined."""

    reason: str
    given: frozenset[str] = field(default=frozenset())


JDE_ARRAYS = frozenset({"boxes_tlwh", "scores", "embeddings"})

#: Every python block, keyed by (page, first code line).
BLOCKS: dict[tuple[str, str], Run | Static] = {
    ("README.md", "import discmot"): Run(setup_evaluation, check_evaluation),
    ("docs/cstrack.md", "from discmot.models.cstrack.checkpoint import load_cstrack"): Run(
        setup_cstrack_stages, check_cstrack_stages, frozenset({"images"})
    ),
    ("docs/fdta.md", "import cv2"): Run(setup_fdta_tracker, check_fdta_tracker),
    ("docs/synthetic.md", "from discmot.data.synth import PRESETS, generate_dataset, render_sequence"): Run(
        setup_synthetic, check_synthetic
    ),
    ("docs/tracking.md", "import discmot"): Run(setup_track_call, check_track_call, JDE_ARRAYS),
    ("docs/tracking.md", "import cv2"): Run(setup_cstrack_loop, check_cstrack_loop),
    ("docs/tracking.md", "from discmot import track"): Run(setup_cstrack_loop, check_on_frame),
    ("docs/tracking.md", "from discmot.structures import Detections"): Run(
        setup_per_class, check_per_class, JDE_ARRAYS | {"classes"}
    ),
    ("docs/tracking.md", "import torch"): Static("needs CUDA", frozenset({"frame_bgr"})),
    ("docs/training.md", "from discmot.engine.train import launch"): Run(setup_training, check_training),
    ("benchmarks/README.md", "import benchlib"): Static(
        "a template: `...` stands for the benchmark's code", frozenset({"headers", "rows"})
    ),
}


# --------------------------------------------------------------------------------------------------
# The checker itself


def problems_of(source: str, given: set[str] = frozenset()) -> list[str]:
    return check_block(Block("page.md", 10, source), set(given))


def test_the_checker_finds_stale_examples():
    assert problems_of("import discmot\ndiscmot.track('v.mp4', save_txt='r.txt')\n") == []
    assert problems_of("x = (\n") == ["page.md:10: syntax error: '(' was never closed"]
    assert problems_of("import discmot.no_such_module\n")[0].startswith("page.md:10: import discmot.no_such")
    assert problems_of("from discmot.structures import Detection\n") == [
        "page.md:10: from discmot.structures import Detection: no such name"
    ]
    wrong_keyword = "import discmot\n\ndiscmot.track('v.mp4', save_text='r.txt')\n"
    assert "page.md:12: track(" in problems_of(wrong_keyword)[0]
    assert "unexpected keyword argument 'save_text'" in problems_of(wrong_keyword)[0]
    assert "page.md:11: discmot has no attribute 'trak'" in problems_of("import discmot\ndiscmot.trak('v')\n")


def test_the_checker_follows_objects_to_their_methods_and_attributes():
    tracker = (
        "from discmot.trackers.association import JDETracker, JDETrackerConfig\n"
        "tracker = JDETracker(JDETrackerConfig.preset('onnx'), frame_rate=25)\n"
    )
    assert problems_of(tracker + "tracker.update(d)\ntracker.reset()\n", {"d"}) == []
    assert "a JDETracker has no method 'step'" in problems_of(tracker + "tracker.step(d)\n", {"d"})[0]
    assert "positional" in problems_of(tracker + "tracker.update(d, d, d)\n", {"d"})[0]
    assert "JDETrackerConfig.preset" in problems_of(tracker + "JDETrackerConfig.preset(x='onnx')\n")[0]
    # a return annotation gives the class: Tracks (a dataclass) has ids, not track_ids
    tracks = tracker + "tracks = tracker.update(d)\nprint(tracks.ids, tracks.track_ids)\n"
    assert problems_of(tracks, {"d"}) == ["page.md:13: a Tracks has no attribute 'track_ids'"]
    # ... through an iterator and tuple unpacking and a module's Self-returning `.to`
    frames = (
        "from discmot.data.synth import render_sequence\nfor f in render_sequence('mot', 0):\n    f.pix\n"
    )
    assert problems_of(frames) == ["page.md:12: a SynthFrame has no attribute 'pix'"]
    stages = (
        "from discmot.models.cstrack.checkpoint import load_cstrack\n"
        "model = load_cstrack('c.pt').to('cpu')\n"
        "detection, reid = model.reciprocal(model.features(x))\nmodel.embeddings(reid, 3)\n"
    )
    assert "CSTrack.embeddings" in problems_of(stages, {"x"})[0]


def test_the_checker_names_undefined_and_unused_given_names():
    assert problems_of("print(boxes)\n") == [
        "page.md:10: the block uses ['boxes'] undefined; BLOCKS gives it []"
    ]
    assert problems_of("print(1)\n", {"boxes"}) == [
        "page.md:10: the block uses [] undefined; BLOCKS gives it ['boxes']"
    ]


# --------------------------------------------------------------------------------------------------
# The docs' blocks


def test_the_pages_have_python_blocks():
    assert len(ALL_BLOCKS) >= 10
    assert {block.page for block in ALL_BLOCKS} >= {"README.md", "docs/tracking.md", "benchmarks/README.md"}


def test_every_block_is_classified():
    keys = [block.key for block in ALL_BLOCKS]
    twice = {key for key in keys if keys.count(key) > 1}
    assert not twice, f"two blocks share a page and first line, make BLOCKS' keys unique: {twice}"
    new = [f"{b.where(1)}: {b.key[1]!r}" for b in ALL_BLOCKS if b.key not in BLOCKS]
    assert not new, "classify these blocks in BLOCKS (Run or Static):\n" + "\n".join(new)
    assert not set(BLOCKS) - set(keys), f"BLOCKS lists blocks no page has: {set(BLOCKS) - set(keys)}"


def block_id(block: Block) -> str:
    return f"{block.page}:{block.line}"


@pytest.mark.parametrize("block", ALL_BLOCKS, ids=block_id)
def test_block_parses_and_its_calls_bind(block):
    kind = BLOCKS.get(block.key)
    if kind is None:
        pytest.fail(f"{block.where(1)}: not in BLOCKS (see test_every_block_is_classified)")
    problems = check_block(block, set(kind.given))
    assert not problems, "\n".join(problems)


RUN_BLOCKS = [block for block in ALL_BLOCKS if isinstance(BLOCKS.get(block.key), Run)]


@pytest.mark.parametrize("block", RUN_BLOCKS, ids=block_id)
def test_block_runs(block, tmp_path, monkeypatch, capsys):
    kind = BLOCKS[block.key]
    monkeypatch.chdir(tmp_path)
    given = kind.setup(tmp_path, monkeypatch)
    assert set(given) == set(kind.given), "setup gives other names than BLOCKS declares"
    tree = ast.parse(block.source)
    ast.increment_lineno(tree, block.line - 1)  # a traceback names the page's own line
    namespace = {"__name__": "__docs_example__", **given}
    capsys.readouterr()
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    # One intra-op thread, as the project's other training runs in tests (OMP_NUM_THREADS=1): on the
    # shared 2-core machine the training block took 2.4 s with one thread, 10-90 s with torch's two.
    torch.set_num_threads(1)
    try:
        exec(compile(tree, str(ROOT / block.page), "exec"), namespace)  # noqa: S102 - the docs' own code
    finally:
        torch.set_num_threads(threads)
    kind.check(namespace, tmp_path, capsys.readouterr().out)
