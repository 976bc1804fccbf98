"""Progress of a long run over frames: a tqdm bar on a terminal, else a log line a minute.

``discmot track`` made these (`discmot.engine.infer`); the other verbs that go frame by frame (``demo``,
``show``, ``analyze``, ``bench``) show theirs the same way. tqdm is imported when a bar is made.
"""

from __future__ import annotations

import logging
import sys
import time

from discmot.io.video import FrameSource, frames_yielded

# the name the track verb's progress lines have always had (``-v`` shows it; users filter on it)
log = logging.getLogger("discmot.engine.infer")


def frames_progress_bar(frames: FrameSource, enabled: bool | None):
    """`progress_bar` over a source's frames. Its total is the frames the source yields
    (`discmot.io.video.frames_yielded`), not its last frame number: images 50, 52 and 54 are 3 frames,
    and an image folder from ``3000000.jpg`` on is no 3-million-frame run."""
    return progress_bar(frames.name, frames_yielded(frames), enabled)


def progress_bar(name: str, total: int | None, enabled: bool | None, interval: float | None = None):
    """A tqdm bar named ``name`` on a terminal (``enabled`` None: when stderr is one); otherwise (a log
    file, a batch job, ``-q``) a `LoggedProgress` line every ``interval`` seconds (its default when None).
    Both are context managers with ``update(count)``."""
    from tqdm import tqdm

    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return LoggedProgress(name, total) if interval is None else LoggedProgress(name, total, interval)
    return tqdm(total=total, desc=name, unit="frame", file=sys.stderr, leave=False)


class LoggedProgress:
    """Progress where no bar is shown: every ``interval`` seconds, one log line with the frames done, the
    speed and, for a source of known length, the time left (a full-size FDTA video on a CPU takes hours)."""

    def __init__(self, name: str, total: int | None, interval: float = 60.0):
        self.name, self.total, self.interval = name, total, interval
        self.done = 0
        self._start = self._last = time.perf_counter()

    def __enter__(self) -> LoggedProgress:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def update(self, count: int = 1) -> None:
        self.done += count
        now = time.perf_counter()
        if now - self._last >= self.interval:
            self._last = now
            log.info("%s", self.text(now - self._start))

    def text(self, seconds: float) -> str:
        """``"clip: 120/795 frames, 9.4 s/frame, about 1 h 46 min left"``."""
        seconds = max(seconds, 1e-9)
        speed = (
            f"{seconds / self.done:.1f} s/frame" if seconds >= self.done else f"{self.done / seconds:.1f} fps"
        )
        done = f"{self.done}/{self.total}" if self.total else str(self.done)
        line = f"{self.name}: {done} frames, {speed}"
        if self.total and self.total > self.done:
            line += f", about {duration_text(seconds / self.done * (self.total - self.done))} left"
        return line


def duration_text(seconds: float) -> str:
    """``"1 h 46 min"``, ``"12 min"``, ``"40 s"``."""
    minutes = round(seconds / 60)
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"
