"""Helpers shared by every test: where the shared data lives, and what happens when something is missing.

The shared folder (`../shared` beside the repository, or ``$DISCMOT_SHARED``) holds real data, videos and
weights that the project must not copy in. On a developer machine a missing file skips the test with a
reason saying what to fetch; in CI (``CI=true``) the same absence is a failure, so a misconfigured runner
cannot turn the parity tests into silent skips.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import struct
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import cv2
import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DISCMOT_SHARED", REPO_ROOT.parent / "shared"))


def in_ci() -> bool:
    """True when the ``CI`` environment variable says we run under continuous integration."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1")


def missing(reason: str) -> None:
    """Skips the calling test, or fails it under CI, where every input must be present."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: missing inputs are failures, not skips)", pytrace=False)
    pytest.skip(reason, allow_module_level=True)  # also from a module's top (optional imports)


def shared_file(rel: str) -> Path:
    """Returns ``SHARED / rel`` if it exists (file or folder), else skips the test (fails it in CI)."""
    path = SHARED / rel
    if not path.exists():
        missing(f"shared data not found: {path} (set DISCMOT_SHARED to the shared folder)")
    return path


def require_opencv_5(what: str) -> None:
    """Skips a test whose expected pixels are OpenCV 5's: OpenCV 4 (discmot works with 4.8 and later)
    renders text, and decodes video through its older FFmpeg, slightly differently (measured on
    2026-11-24 against 4.8.1: 2,811 of 21,600 values of a small "car 4" label, 242 values of vtest.avi's
    frame 100 one or two levels apart)."""
    if int(cv2.__version__.split(".")[0]) < 5:
        pytest.skip(f"{what} are OpenCV 5's, not OpenCV {cv2.__version__}'s")


def require_module(name: str) -> ModuleType:
    """Imports an optional test-only dependency, silencing its import-time prints; skip/fail when absent."""
    try:
        # trackeval prints "Error importing BURST ..." to stdout on import; it is harmless noise.
        with contextlib.redirect_stdout(io.StringIO()):
            return importlib.import_module(name)
    except ImportError as err:
        missing(f"optional test dependency {name!r} is not installed ({err}); run `make install`")
        raise  # unreachable: missing() always raises


def read_state_dict_contract(path: Path) -> dict[str, tuple[int, ...]]:
    """``{key: shape}`` of a state-dict contract TSV (``#`` comments, a ``key<TAB>shape`` header, then
    ``key<TAB>shape<TAB>dtype`` rows), in file order."""
    contract = {}
    for line in Path(path).read_text().splitlines():
        if line.startswith("#") or line.startswith("key\t") or not line.strip():
            continue
        key, shape = line.split("\t")[:2]
        contract[key] = tuple(int(v) for v in shape.strip("()").split(",") if v.strip())
    return contract


def random_official_checkpoint(path: str | Path, preset_name: str = "dancetrack", seed: int = 0):
    """Writes an official-format FDTA checkpoint with random values for ``preset_name``; returns the model.

    torch and discmot's models are imported here: most tests that use this module need neither.
    """
    import torch

    from discmot.io import official_format
    from discmot.models.fdta.model import build_fdta

    with torch.no_grad():
        torch.manual_seed(seed)
        model = build_fdta(preset_name)
        for key, tensor in model.state_dict().items():
            if key.endswith("running_var"):
                tensor.copy_(torch.rand_like(tensor) + 0.5)  # variances must stay positive
            elif tensor.is_floating_point():
                tensor.copy_(torch.randn_like(tensor) * 0.02)
        official_format.write_official(path, model)
    return model


def write_jpeg_turned_by_exif(path: Path, image_bgr: np.ndarray) -> None:
    """``image_bgr`` as a JPEG whose EXIF orientation (6) tells viewers to turn it 90 degrees clockwise."""
    jpeg = cv2.imencode(".jpg", image_bgr)[1].tobytes()
    entry = struct.pack(">HHIHH", 0x0112, 3, 1, 6, 0)  # Orientation, SHORT, count 1, value 6
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1) + entry + struct.pack(">I", 0)
    app1 = b"Exif\x00\x00" + tiff
    path.write_bytes(jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + jpeg[2:])


def os_error_past_a_file_size_limit(code: str, limit: int, *args: str, cwd: Path, paths=()) -> tuple:
    """``(filename, errno)`` of the `OSError` that ``code`` raises when run in a fresh Python whose files
    cannot grow past ``limit`` bytes: a write beyond fails with EFBIG as one on a full disk fails with
    ENOSPC (a real error from the OS, without root or a full disk). Fails the test if ``code`` raises none.

    ``code`` sees ``sys.argv[1:] == args`` and imports from ``paths`` (e.g. a test module's folder) and
    ``tests/``. SIGXFSZ, which would kill the process at the limit, is ignored.
    """
    if sys.platform == "win32":
        pytest.skip("needs POSIX file size limits (resource)")
    script = "\n".join(
        [
            "import json, resource, signal, sys",
            f"sys.path[:0] = {[str(p) for p in (*paths, Path(__file__).parent)]!r}",
            "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)",
            f"resource.setrlimit(resource.RLIMIT_FSIZE, ({int(limit)}, resource.RLIM_INFINITY))",
            "try:",
            textwrap.indent(textwrap.dedent(code).strip(), "    "),
            "except OSError as error:",
            "    print('OSError', json.dumps([error.filename, error.errno]))",
        ]
    )
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}  # no .pyc written under the limit
    command = [sys.executable, "-c", script, *map(str, args)]
    out = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=cwd, env=env)
    raised = [
        line.removeprefix("OSError ") for line in out.stdout.splitlines() if line.startswith("OSError ")
    ]
    if not raised:
        pytest.fail(f"no OSError was raised (exit {out.returncode}):\n{out.stderr[-2000:]}")
    return tuple(json.loads(raised[-1]))


def process_umask() -> int:
    """The process's umask, read here, not through the code's own cached `atomic.current_umask`."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def unwritable_folder(tmp_path: Path) -> Path:
    """An existing folder in which this process cannot create a file: a ``chmod 555`` one, or, for root
    (whom permissions do not stop), sysfs's top folder, which refuses new files to everyone. Skips the
    test where neither exists."""
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    sysfs = Path("/sys")
    try:
        (sysfs / "discmot-probe").touch(exist_ok=False)
    except OSError:
        return sysfs
    (sysfs / "discmot-probe").unlink()
    pytest.skip("running as root without a sysfs that refuses new files: no folder root cannot write")


def exact_logit(score: float) -> float:
    """A float32 logit whose float32 sigmoid is exactly ``float32(score)`` (thresholds are hit exactly)."""
    import math

    import torch

    target = torch.tensor(score, dtype=torch.float32)
    x = np.float32(math.log(score / (1 - score)))
    for _ in range(1000):
        value = torch.sigmoid(torch.tensor(x))
        if value == target:
            return float(x)
        x = np.nextafter(x, np.float32(np.inf if value < target else -np.inf))
    raise AssertionError(f"no float32 logit gives sigmoid {score}")


def pairs_dataset(n: int = 12):
    """``n`` random ``(x (4,), y (1,))`` float32 pairs, the same on every call (seed 5): the data of the
    training engine's toy-model tests."""
    import torch

    generator = torch.Generator().manual_seed(5)
    x, y = torch.randn(n, 4, generator=generator), torch.randn(n, 1, generator=generator)
    return torch.utils.data.TensorDataset(x, y)


def mse_step(model, batch, context):
    """The training step of the engine's toy-model tests: mean squared error, logged as ``mse``."""
    from torch import nn

    x, y = batch
    loss = nn.functional.mse_loss(model(x), y)
    return loss, {"mse": loss.detach()}


def decode_gif_with_ffmpeg(path: Path) -> list[np.ndarray]:
    """A GIF's frames as FFmpeg (through PyAV: an independent decoder) composites them, BGR."""
    import av

    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="bgr24") for frame in container.decode(video=0)]


def safetensors_file_bytes(header: dict, data: bytes, pad: int = 0) -> bytes:
    """A safetensors file by the format, written by hand: 8-byte little-endian header length, the JSON
    header followed by ``pad`` spaces, the tensor bytes."""
    text = json.dumps(header).encode() + b" " * pad
    return len(text).to_bytes(8, "little") + text + data


# --------------------------------------------------------------------------------------------------
# A small MOTChallenge benchmark for the eval tests

#: A 3-frame sequence's gt: two people.
GT_ROWS = ["1,1,10,10,20,40,1,1,1", "2,1,12,10,20,40,1,1,1", "1,2,60,10,20,40,1,1,1", "3,2,62,12,20,40,1,1,1"]
#: A tracker's rows for it.
TRACKER_ROWS = ["1,5,10,10,20,40,1,-1,-1,-1", "2,5,12,11,20,40,1,-1,-1,-1", "3,6,61,12,20,40,1,-1,-1,-1"]


def write_sequence(folder: Path, name: str = "seq-a") -> Path:
    """One 3-frame sequence (`GT_ROWS`) with gt and seqinfo.ini in ``folder``; returns its gt file."""
    seq = folder / name
    (seq / "gt").mkdir(parents=True)
    (seq / "gt" / "gt.txt").write_text("\n".join(GT_ROWS) + "\n")
    (seq / "seqinfo.ini").write_text(f"[Sequence]\nname={name}\nseqLength=3\n")
    return seq / "gt" / "gt.txt"


def write_benchmark(root: Path, trackers: dict[str, list[str]], seqmap: bool = True) -> tuple[Path, Path]:
    """One 3-frame sequence ``seq-a`` and ``{tracker: rows}`` in TrackEval's MOT17 layout (with or
    without its seqmap)."""
    gt_folder, trackers_folder = root / "gt", root / "trackers"
    write_sequence(gt_folder / "MOT17-train")
    if seqmap:
        (gt_folder / "seqmaps").mkdir()
        (gt_folder / "seqmaps" / "MOT17-train.txt").write_text("name\nseq-a\n")
    for tracker, rows in trackers.items():
        data = trackers_folder / "MOT17-train" / tracker / "data"
        data.mkdir(parents=True)
        write_lines(data / "seq-a.txt", rows)
    return gt_folder, trackers_folder


#: The bundled tiny CSTrack checkpoint (in the package's assets).
CSTRACK_TINY = REPO_ROOT / "src" / "discmot" / "assets" / "cstrack_tiny_synth.safetensors"


def write_frames(folder: Path, numbers) -> Path:
    """Small grey JPEGs named ``%06d.jpg`` by ``numbers``, a bright box moving across them."""
    folder.mkdir(parents=True, exist_ok=True)
    for k in numbers:
        image = np.full((80, 128, 3), 90, np.uint8)
        cv2.rectangle(image, (10 + k % 20, 10), (40 + k % 20, 60), (200, 180, 160), -1)
        cv2.imwrite(str(folder / f"{k:06d}.jpg"), image)
    return folder


def write_image_sequence(folder: Path, length: int, images=(), size=None) -> Path:
    """A sequence folder ``folder``: a seqinfo.ini (``seqLength`` ``length``, imDir img1, .jpg, 25 fps;
    ``size`` = ``(imWidth, imHeight)``, either entry left out when None) and, when ``images`` (file names)
    are given, ``img1/`` holding them as grey 32 x 24 JPEGs."""
    folder.mkdir(parents=True)
    width, height = size or (None, None)
    lines = [f"[Sequence]\nname={folder.name}\nimDir=img1\nframeRate=25\nseqLength={length}\nimExt=.jpg\n"]
    lines += [f"imWidth={width}\n"] if width is not None else []
    lines += [f"imHeight={height}\n"] if height is not None else []
    (folder / "seqinfo.ini").write_text("".join(lines))
    for image in images:
        (folder / "img1").mkdir(exist_ok=True)
        cv2.imwrite(str(folder / "img1" / image), np.full((24, 32, 3), 99, np.uint8))
    return folder


def write_mjpeg(path: Path, frames: list[np.ndarray], streams: int = 1, rotation: int | None = None) -> Path:
    """A video at ``path`` (the container from its suffix) of ``streams`` MJPEG streams at 10 fps, each
    holding the BGR ``frames`` (one JPEG per frame, so a test can damage single frames), with a display
    ``rotation`` in degrees when given (skipped where PyAV cannot write one: PyAV < 18)."""
    import av  # lazily: most test modules importing this file never write a video

    with av.open(str(path), "w") as container:
        added = []
        for _ in range(streams):
            stream = container.add_stream("mjpeg", rate=10)
            stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuvj420p"
            if rotation is not None:
                if not hasattr(stream, "set_display_rotation"):
                    pytest.skip(f"PyAV {av.__version__} cannot write a display rotation (PyAV >= 18)")
                stream.set_display_rotation(rotation)
            added.append(stream)
        for stream in added:
            for k, frame in enumerate(frames):
                picture = av.VideoFrame.from_ndarray(frame, format="bgr24").reformat(format="yuvj420p")
                picture.pts = k
                container.mux(stream.encode(picture))
            container.mux(stream.encode(None))
    return path


def write_gt_sequence(root: Path, name: str, gt: str, frames: int = 2, size=(100, 50)) -> Path:
    """``root/train/name``: ``frames`` grey ``size`` (w, h) jpg frames in img1/, ``gt`` as gt/gt.txt and a
    seqinfo.ini (30 fps); returns the sequence folder."""
    from discmot.io.seqinfo import SeqInfo, write_seqinfo  # lazily, as in random_official_checkpoint

    folder = root / "train" / name
    (folder / "img1").mkdir(parents=True)
    (folder / "gt").mkdir()
    for frame in range(1, frames + 1):
        cv2.imwrite(str(folder / "img1" / f"{frame:06d}.jpg"), np.full((size[1], size[0], 3), 9, np.uint8))
    (folder / "gt" / "gt.txt").write_text(gt)
    write_seqinfo(folder / "seqinfo.ini", SeqInfo(name, frames, 30, size[0], size[1]))
    return folder


@contextlib.contextmanager
def importable_classes(modules: dict[str, tuple[str, ...]]):
    """Registers each named module in ``sys.modules`` with empty ``nn.Module`` subclasses of the given names,
    as the original code's classes are importable while a checkpoint is pickled; yields ``{class name:
    class}`` and puts back whatever those module names meant before."""
    from torch import nn  # lazily: most tests that use this module need no torch

    saved = {name: sys.modules.get(name) for name in modules}
    classes = {}
    for name, class_names in modules.items():
        module = ModuleType(name)
        for class_name in class_names:
            cls = type(class_name, (nn.Module,), {"__module__": name, "__qualname__": class_name})
            setattr(module, class_name, cls)
            classes[class_name] = cls
        sys.modules[name] = module
    try:
        yield classes
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def write_lines(path: Path, lines: list[str], newline: str = "\n") -> Path:
    """``lines`` written to ``path`` as bytes, each ended by ``newline`` (no platform translation)."""
    path.write_bytes("".join(line + newline for line in lines).encode())
    return path
