"""A camera as frames (`Webcam`), read with OpenCV, opened without OpenCV's own warnings."""

from __future__ import annotations

from collections.abc import Iterator

from discmot.io.video.source import Frame, FrameSource

#: OpenCV's ``LOG_LEVEL_ERROR`` (``cv::utils::logging``: silent 0, fatal 1, error 2, warning 3, ...),
#: which OpenCV 4's Python module does not name.
_OPENCV_LOG_LEVEL_ERROR = 2


def _open_camera_quietly(cv2, index: int):
    """``cv2.VideoCapture(index)`` without OpenCV's own warnings for a camera that is not there: the
    error line that follows says it once, for people."""
    get_level, set_level = _opencv_log_level_functions(cv2)
    level = get_level()
    set_level(_OPENCV_LOG_LEVEL_ERROR)
    try:
        return cv2.VideoCapture(index)
    finally:
        set_level(level)


def _opencv_log_level_functions(cv2):
    """OpenCV's ``(getLogLevel, setLogLevel)``: module functions in OpenCV 4, ``cv2.utils.logging``'s
    in OpenCV 5 (which drops the former); no-ops where neither exists."""
    logging_ = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging_ is not None:
        return logging_.getLogLevel, logging_.setLogLevel
    if hasattr(cv2, "getLogLevel") and hasattr(cv2, "setLogLevel"):
        return cv2.getLogLevel, cv2.setLogLevel
    return (lambda: None), (lambda level: None)


class Webcam(FrameSource):
    """A camera by index, read with OpenCV until it stops delivering frames."""

    def __init__(self, index: int):
        import cv2

        self.capture = _open_camera_quietly(cv2, index)
        if not self.capture.isOpened():
            raise ValueError(f"camera {index}: cannot open video (no such camera, or it is busy)")
        fps = self.capture.get(cv2.CAP_PROP_FPS)
        size = (
            int(self.capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(self.capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        )
        super().__init__(f"camera{index}", f"camera {index}", fps=fps if fps > 0 else None, size=size)

    def __iter__(self) -> Iterator[Frame]:
        frame_number = 0
        try:
            while True:
                ok, frame = self.capture.read()
                if not ok:
                    return
                frame_number += 1
                yield frame_number, frame
        finally:
            self.capture.release()
