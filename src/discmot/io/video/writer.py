"""Writing annotated videos (`VideoWriter`): H.264 MP4 through PyAV, else OpenCV's ``mp4v``, published
only on a clean close."""

from __future__ import annotations

import contextlib
import logging
import os
from fractions import Fraction
from pathlib import Path
from typing import cast

import numpy as np

from discmot.io.atomic import errors_naming, publish_file, temporary_beside

log = logging.getLogger("discmot.io.video")  # the package's name, as before the split: users filter on it

#: H.264 encoders tried in order by `VideoWriter`.
H264_ENCODERS = ("libx264", "libopenh264", "h264")


def find_h264_encoder() -> str | None:
    """The first H.264 encoder of `H264_ENCODERS` that PyAV's FFmpeg provides, or ``None``."""
    import av

    for name in H264_ENCODERS:
        try:
            av.codec.Codec(name, "w")
        except (ValueError, av.FFmpegError):
            continue
        return name
    return None


class VideoWriter:
    """Writes BGR frames to a video file (H.264 MP4 through PyAV, else OpenCV ``mp4v``).

    Use as a context manager. Frames of another size are resized to ``size``; odd sizes are padded with
    black to even ones (yuv420p needs them). The file is written under a temporary name beside ``path``
    and renamed onto it on a clean close; when the block raises, the temporary file is removed. An
    `OSError` writing it (a full disk) names ``path``, not the temporary file.

    Args:
        path: output file (``.mp4``; the extension picks the container).
        fps: frame rate (30 when ``None``).
        size: ``(width, height)`` of the frames given to `write`.
        crf: H.264 quality (lower is better, 23 is FFmpeg's default).

    Attributes:
        backend: ``"pyav-<encoder>"`` or ``"opencv-mp4v"``.
        frames_written: frames written so far.
    """

    def __init__(self, path: str | os.PathLike, fps: float | None, size: tuple[int, int], crf: int = 23):
        self.path = Path(path)
        self.fps = fps or 30.0
        self.size = (int(size[0]), int(size[1]))
        if min(self.size) < 1:
            raise ValueError(f"{self.path}: cannot write a video of size {self.size}")
        self.crf = crf
        self.backend = ""
        self.frames_written = 0
        self._tmp: Path | None = None
        self._encoder: _PyAVEncoder | _OpenCVEncoder | None = None

    def __enter__(self) -> VideoWriter:
        fd, tmp = temporary_beside(self.path, suffix=self.path.suffix)  # the suffix picks the container
        os.close(fd)
        self._tmp = Path(tmp)
        try:
            self._encoder = self._open_encoder(self._tmp)
        except BaseException:
            self._remove_tmp()
            raise
        self.backend = self._encoder.backend
        return self

    def _open_encoder(self, tmp: Path) -> _PyAVEncoder | _OpenCVEncoder:
        encoder = find_h264_encoder()
        if encoder is not None:
            try:
                return _PyAVEncoder(tmp, encoder, self.fps, self.size, self.crf)
            except Exception as error:  # an encoder that exists but cannot open (e.g. needs hardware)
                log.warning("%s: H.264 encoder %s failed (%s)", self.path, encoder, error)
        log.warning(
            "%s: no usable H.264 encoder in PyAV; writing MPEG-4 part 2 (mp4v) with OpenCV", self.path
        )
        return _OpenCVEncoder(tmp, self.fps, self.size, name=self.path)

    def write(self, frame: np.ndarray) -> None:
        """Appends one ``(H, W, 3)`` uint8 BGR frame."""
        if self._encoder is None:
            raise RuntimeError("VideoWriter.write outside its `with` block")
        with errors_naming(self.path, self._tmp):  # a full disk names the user's file, not the temporary
            self._encoder.write(_fit(frame, self.size))
        self.frames_written += 1

    def __exit__(self, exc_type, exc, tb) -> None:
        encoder, self._encoder = self._encoder, None
        if exc_type is not None:
            # best effort; a None encoder (never, after __enter__) is passed over, as its error was
            with contextlib.suppress(Exception):
                if encoder is not None:
                    encoder.close()
            self._remove_tmp()
            return
        try:
            with errors_naming(self.path, self._tmp):  # the encoder's last packets and the index
                # set by __enter__, which a with block's exit follows
                assert encoder is not None and self._tmp is not None
                encoder.close()
                publish_file(self._tmp, self.path)
        except BaseException:
            self._remove_tmp()
            raise

    def _remove_tmp(self) -> None:
        if self._tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                self._tmp.unlink()


def _fit(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resizes to ``size`` if needed, then pads right/bottom with black to even width and height."""
    import cv2

    if (frame.shape[1], frame.shape[0]) != size:
        frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    pad_w, pad_h = size[0] % 2, size[1] % 2
    if pad_w or pad_h:
        frame = cv2.copyMakeBorder(frame, 0, pad_h, 0, pad_w, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    return np.ascontiguousarray(frame)


class _PyAVEncoder:
    def __init__(self, path: Path, encoder: str, fps: float, size: tuple[int, int], crf: int):
        import av

        self.backend = f"pyav-{encoder}"
        self.rate = Fraction(fps).limit_denominator(1001)
        self.container = av.open(str(path), "w")
        try:
            # an H.264 encoder's stream is a video one (PyAV types a codec named by a variable as any kind)
            self.stream = cast("av.VideoStream", self.container.add_stream(encoder, rate=self.rate))
            self.stream.width, self.stream.height = size[0] + size[0] % 2, size[1] + size[1] % 2
            self.stream.pix_fmt = "yuv420p"
            if encoder == "libx264":
                self.stream.options = {"crf": str(crf), "preset": "veryfast"}
            self.stream.codec_context.open()
        except BaseException:
            self.container.close()
            raise
        self.index = 0

    def write(self, frame: np.ndarray) -> None:
        import av

        video_frame = av.VideoFrame.from_ndarray(frame, format="bgr24")
        video_frame.pts = self.index
        video_frame.time_base = 1 / self.rate
        self.index += 1
        self.container.mux(self.stream.encode(video_frame))

    def close(self) -> None:
        try:
            self.container.mux(self.stream.encode(None))
        finally:
            self.container.close()


class _OpenCVEncoder:
    backend = "opencv-mp4v"

    def __init__(self, path: Path, fps: float, size: tuple[int, int], name: Path):
        """Writes to ``path`` (the temporary file); its errors name ``name``, the video asked for, as the
        temporary is gone by the time anyone reads them."""
        import cv2

        even = (size[0] + size[0] % 2, size[1] + size[1] % 2)
        self.writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, even)
        if not self.writer.isOpened():
            raise ValueError(f"{name}: cannot write video (OpenCV mp4v writer failed to open)")

    def write(self, frame: np.ndarray) -> None:
        self.writer.write(frame)

    def close(self) -> None:
        self.writer.release()
