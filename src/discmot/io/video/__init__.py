"""Frames in, video out: stream frames from a video, an image folder, a glob, a webcam or a sequence folder,
and write annotated videos.

Reading. `open_source` turns what a user typed into a `FrameSource`, an iterable of
``(frame_number, frame_bgr)`` with 1-based frame numbers: frame ``k`` of a video is frame ``k`` of its
sequence. In an image folder or glob whose images are all named by a number (``000001.jpg``), frame ``k``
is the image named ``k``, as in a MOTChallenge sequence (images named from 0, as KITTI's and YOLO
exports', are frame number + 1), so a missing image is a skipped frame, not a shift of every later one;
the source starts at its first image (``000050.jpg``: frames 50, 51, ...), the frames before it are
none of its own, not missing ones. With any other name, or images in more than one folder (a glob such
as ``g/**/*.jpg``), the ``k``-th image in natural order (``img2`` before ``img10``) is frame ``k``.
A folder with no images of its own but an ``img1/`` image folder (a sequence without ``seqinfo.ini``)
is read as that image folder. Frames are decoded one at a time, never all at once. Which frame numbers
a source yields, and how many, where that is known without decoding (progress totals), is
`frame_numbers` and `frames_yielded`; `first_yielded` takes the first N frames a source yields (a count,
as ``discmot bench`` reads them), where `FirstFrames` takes frames ``1..N`` by number (``--max-frames``).

Video files are read with PyAV rather than ``cv2.VideoCapture``: PyAV reports a packet that fails to
decode as an exception, distinct from the end of the stream, while ``VideoCapture.read()`` returns
``False`` for both and so cannot skip a bad frame and go on. Webcams are read with OpenCV. Frames are
those players show: a video's display rotation (phones) is applied, as an image's EXIF orientation is,
so boxes and results are in the displayed picture's coordinates.

A frame that cannot be decoded mid-stream (a corrupt packet, a truncated or garbage image file) is
skipped, as is a frame number with no image: its number is not yielded and the following frames keep
their numbers (so detections and results stay aligned; the tracker simply gets no update for that
frame). The first skipped frame of a pass over a source is logged when it happens (one warning naming
the source or file and the frame number); when the pass ends, one more warning sums up every frame it
skipped as ranges of frame numbers (``frames 61-795 have no image file``), rather than a line per frame.
The numbers skipped so far are in `FrameSource.skipped`. A source that cannot be opened at all raises a
one-line ``ValueError`` naming it: ``"<source>: cannot open video (<why>)"``, ``"<file>: empty file (0
bytes)"`` or, for a file FFmpeg does not read with a suffix that is no video's, ``"<file>: not a video
or image (suffix .txt)"``.

Writing. `VideoWriter` writes H.264 MP4 (yuv420p) with PyAV's bundled FFmpeg, falling back to OpenCV's
``mp4v`` with a logged warning when no H.264 encoder is available. The file appears only when the writer
is closed without error (temporary file + rename).

Modules: `source` (the `FrameSource` every kind is, `FirstFrames`), `skips` (skipped frames summed up),
`kinds` (`open_source`, `frame_numbers`, `frames_yielded`), `video_file`, `webcam`, `images` (image
folders and globs, `read_image`), `sequence` (sequence folders) and `writer` (`VideoWriter`). OpenCV and
PyAV are imported inside the functions that use them, so importing this package is cheap.
"""

from discmot.io.video.images import (
    IMAGE_EXTENSIONS,
    ImageFiles,
    holds_images,
    image_numbers,
    natural_key,
    read_image,
)
from discmot.io.video.kinds import frame_numbers, frames_yielded, open_source
from discmot.io.video.sequence import SequenceFrames
from discmot.io.video.skips import frame_ranges, skipped_clauses, skipped_summary
from discmot.io.video.source import FirstFrames, FrameSource, check_max_frames, first_frames, first_yielded
from discmot.io.video.video_file import VideoFile
from discmot.io.video.webcam import Webcam
from discmot.io.video.writer import H264_ENCODERS, VideoWriter, find_h264_encoder

__all__ = [
    "H264_ENCODERS",
    "IMAGE_EXTENSIONS",
    "FirstFrames",
    "FrameSource",
    "ImageFiles",
    "SequenceFrames",
    "VideoFile",
    "VideoWriter",
    "Webcam",
    "check_max_frames",
    "find_h264_encoder",
    "first_frames",
    "first_yielded",
    "frame_numbers",
    "frame_ranges",
    "frames_yielded",
    "holds_images",
    "image_numbers",
    "natural_key",
    "open_source",
    "read_image",
    "skipped_clauses",
    "skipped_summary",
]
