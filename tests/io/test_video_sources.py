"""Users' own inputs (`discmot.io.video`): phone videos with a display rotation, files with more than one
video stream, the tracking loop on them, EXIF-turned images and a folder of videos given as a source.

Frames come out as players show them: a display matrix (what a phone writes for a portrait video) turns
and mirrors each frame and ``size`` is the displayed one. The expected frames are OpenCV's
``VideoCapture`` output, which applies the rotation (not a mirroring), and ``np.rot90`` + flips following
PyAV's `set_display_rotation` contract (turn counter-clockwise, then mirror).
"""

from __future__ import annotations

import logging
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from discmot.cli import main
from discmot.io.mot import read_mot_table
from discmot.io.video import first_frames, open_source, read_image


def asymmetric_frame(k: int, width: int = 64, height: int = 48) -> np.ndarray:
    """A BGR frame no turn or mirror maps onto itself; ``k`` moves a small block (frames differ)."""
    image = np.zeros((height, width, 3), np.uint8)
    image[: height // 2, : width // 3] = (0, 0, 255)
    image[height // 2 :, width // 2 :] = (255, 0, 0)
    image[:8, width - 8 :] = (0, 255, 0)
    image[20:24, 10 + k : 14 + k] = (0, 255, 255)
    return image


def write_clip(path: Path, frames: list[np.ndarray], rotation=None, hflip=False, vflip=False, matrix=None):
    """Lossless H.264 (yuv444p, crf 0) with a display rotation/mirroring or a raw display matrix."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv444p"
        stream.options = {"crf": "0", "preset": "veryfast"}
        for wanted, writer in ((rotation, "set_display_rotation"), (matrix, "set_display_matrix")):
            if wanted is not None and not hasattr(stream, writer):  # the reading side is what is tested
                pytest.skip(f"PyAV {av.__version__} cannot write a display matrix ({writer}: PyAV >= 18)")
        if rotation is not None:
            stream.set_display_rotation(rotation, hflip=hflip, vflip=vflip)
        if matrix is not None:
            stream.set_display_matrix(matrix)
        for k, frame in enumerate(frames):
            video_frame = av.VideoFrame.from_ndarray(frame, format="bgr24")
            video_frame.pts = k
            container.mux(stream.encode(video_frame))
        container.mux(stream.encode(None))
    return path


def opencv_frames(path: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while (frame := capture.read()[1]) is not None:
        frames.append(frame)
    capture.release()
    return frames


@pytest.mark.parametrize("rotation", [90, 180, 270, -90, -180, -270])
def test_a_rotated_video_is_read_as_players_show_it(tmp_path, rotation):
    stored = [asymmetric_frame(k) for k in range(3)]
    path = write_clip(tmp_path / f"phone{rotation}.mp4", stored, rotation)
    source = open_source(path)
    frames = list(source)
    shown = opencv_frames(path)  # OpenCV turns by the display matrix as players do
    assert [k for k, _ in frames] == [1, 2, 3] and len(shown) == 3
    for (_, frame), theirs, original in zip(frames, shown, stored, strict=True):
        assert frame.shape == theirs.shape and np.array_equal(frame, theirs)
        expected = np.rot90(original, k=(rotation // 90) % 4)  # counter-clockwise, as set_display_rotation
        assert np.abs(frame.astype(int) - expected).max() <= 2  # yuv444p round trip
    turned = rotation % 180 != 0
    assert source.size == ((48, 64) if turned else (64, 48))


MIRRORINGS = [(0, True, False), (0, False, True), (90, True, False)]


@pytest.mark.parametrize(("rotation", "hflip", "vflip"), MIRRORINGS)
def test_a_mirrored_video_is_mirrored_back(tmp_path, rotation, hflip, vflip):
    """FFmpeg's tools apply the mirroring too; OpenCV does not (it turns an hflip into 180 degrees)."""
    stored = [asymmetric_frame(k) for k in range(2)]
    path = write_clip(tmp_path / "mirror.mp4", stored, rotation, hflip, vflip)
    source = open_source(path)
    for (_, frame), original in zip(source, stored, strict=True):
        expected = np.rot90(original, k=rotation // 90)
        expected = expected[:, ::-1] if hflip else expected
        expected = expected[::-1] if vflip else expected
        assert frame.shape == expected.shape and np.abs(frame.astype(int) - expected).max() <= 2
    assert source.size == (frame.shape[1], frame.shape[0])


def test_a_rotation_not_a_multiple_of_90_degrees_is_read_unturned_with_a_warning(tmp_path, caplog):
    one = 1 << 16  # 16.16 fixed point; w = 1 << 30 (2.30)
    c = round(one * np.cos(np.pi / 4))
    matrix = [c, -c, 0, c, c, 0, 0, 0, 1 << 30]
    stored = [asymmetric_frame(0)]
    path = write_clip(tmp_path / "tilted.mp4", stored, matrix=matrix)
    with caplog.at_level(logging.WARNING, logger="discmot.io.video"):
        source = open_source(path)
        frames = list(source)
    assert source.size == (64, 48) and np.abs(frames[0][1].astype(int) - stored[0]).max() <= 2
    assert any("tilted.mp4" in r.message and "not a multiple of 90" in r.message for r in caplog.records)


def test_a_rotated_one_frame_video_has_the_displayed_size(tmp_path):
    path = write_clip(tmp_path / "one.mov", [asymmetric_frame(0)], 90)
    source = open_source(path)
    assert source.size == (48, 64) and [f.shape for _, f in source] == [(64, 48, 3)]


def test_max_frames_of_a_rotated_video_are_displayed_frames(tmp_path):
    path = write_clip(tmp_path / "phone.mkv", [asymmetric_frame(k) for k in range(5)], 270)
    frames = list(first_frames(open_source(path), 2))
    assert [k for k, _ in frames] == [1, 2]
    assert all(np.array_equal(f, o) for (_, f), o in zip(frames, opencv_frames(path), strict=False))


def test_tracking_a_portrait_phone_video_uses_displayed_coordinates(tmp_path):
    """``discmot track`` with detections drawn on the upright picture: results and the saved video are
    those of the displayed frames (a portrait 48x80 video stored as 80x48 landscape)."""
    upright = []
    for k in range(5):  # a white person-sized box walking down the portrait frame
        image = np.zeros((80, 48, 3), np.uint8)
        image[10 + 4 * k : 40 + 4 * k, 16:28] = 255
        upright.append(image)
    stored = [np.ascontiguousarray(np.rot90(image, k=-1)) for image in upright]  # shown turned back by +90
    clip = write_clip(tmp_path / "IMG_0001.MOV", stored, 90)
    detections = tmp_path / "dets.txt"
    detections.write_text("".join(f"{k + 1},-1,16,{10 + 4 * k},12,30,0.9,-1,-1,-1\n" for k in range(5)))
    out_txt, out_video = tmp_path / "out.txt", tmp_path / "new" / "folder" / "out.mp4"
    args = ["track", str(clip), "--detections", str(detections), "--max-frames", "4", "-q"]
    assert main([*args, "--save-txt", str(out_txt), "--save-video", str(out_video)]) in (0, None)
    rows = read_mot_table(out_txt).values
    assert rows[:, 0].max() == 4 and len(rows) >= 3
    for row in rows:  # the results are where the box is on the upright picture
        assert np.allclose(row[2:6], [16, 10 + 4 * (row[0] - 1), 12, 30], atol=0.5)
    written = open_source(out_video)
    frames = list(written)
    assert written.size == (48, 80) and len(frames) == 4
    for (k, frame), image in zip(frames, upright, strict=False):  # inside the box: still the white box
        assert frame[12 + 4 * (k - 1) : 38 + 4 * (k - 1), 18:26].mean() > 200
        assert image[12 + 4 * (k - 1) : 38 + 4 * (k - 1), 18:26].mean() == 255


# --------------------------------------------------------------------------------------------------
# Which stream


def test_the_main_video_stream_is_read_not_a_cover_picture_before_it(tmp_path):
    """An MKV whose first video stream is a still cover image (MJPEG) and the second the video: FFmpeg's
    tools pick the video; reading the first video stream gave one frame of the cover."""
    path = tmp_path / "with_cover.mkv"
    levels = [20 + 20 * k for k in range(6)]
    with av.open(str(path), "w") as container:
        cover = container.add_stream("mjpeg", rate=1)
        cover.width, cover.height, cover.pix_fmt = 64, 48, "yuvj420p"
        video = container.add_stream("libx264", rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        still = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 230, np.uint8), format="bgr24")
        still = still.reformat(format="yuvj420p")
        still.pts = 0
        container.mux(cover.encode(still))
        container.mux(cover.encode(None))
        for k, level in enumerate(levels):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), level, np.uint8), format="bgr24")
            frame.pts = k
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
    source = open_source(path)
    frames = list(source)
    assert [k for k, _ in frames] == [1, 2, 3, 4, 5, 6] and source.fps == 10.0
    assert np.allclose([f.mean() for _, f in frames], levels, atol=8)


# --------------------------------------------------------------------------------------------------
# Images turn the same way


def with_exif_orientation(jpeg: bytes, orientation: int) -> bytes:
    """A JPEG with an EXIF APP1 segment holding only the orientation tag (0x0112), big-endian TIFF."""
    ifd = b"\x00\x01" + b"\x01\x12\x00\x03\x00\x00\x00\x01" + orientation.to_bytes(2, "big") + b"\x00\x00"
    tiff = b"MM\x00\x2a\x00\x00\x00\x08" + ifd + b"\x00\x00\x00\x00"
    body = b"Exif\x00\x00" + tiff
    return jpeg[:2] + b"\xff\xe1" + (len(body) + 2).to_bytes(2, "big") + body + jpeg[2:]


def test_a_jpeg_with_an_exif_orientation_is_read_upright_like_a_rotated_video(tmp_path):
    upright = asymmetric_frame(0)
    stored = np.ascontiguousarray(np.rot90(upright, k=1))  # orientation 6: turn 90 clockwise to show
    jpeg = cv2.imencode(".jpg", stored, [cv2.IMWRITE_JPEG_QUALITY, 100])[1].tobytes()
    (tmp_path / "IMG_0001.jpg").write_bytes(with_exif_orientation(jpeg, 6))
    image, reason = read_image(tmp_path / "IMG_0001.jpg")
    assert reason == "" and image.shape == upright.shape
    assert np.abs(image.astype(int) - upright).mean() < 4  # JPEG round trip
    assert open_source(tmp_path).size == (64, 48)


def test_a_folder_of_videos_is_named_as_such(tmp_path):
    """``discmot track phone_videos/``: the error says the folder holds videos, to track one by one."""
    for name in ("IMG_0002.MOV", "IMG_0010.mp4"):
        write_clip(tmp_path / name, [asymmetric_frame(0)])
    with pytest.raises(
        ValueError, match=r"no images: it holds 2 video\(s\), IMG_0002.MOV, IMG_0010.mp4: track"
    ):
        open_source(tmp_path)
    for video in tmp_path.iterdir():
        video.unlink()
    (tmp_path / "IMG_0003.HEIC").write_bytes(b"\x00\x00\x00\x18ftypheic")
    with pytest.raises(ValueError, match=r"HEIC image\(s\) are not read: convert them"):
        open_source(tmp_path)
