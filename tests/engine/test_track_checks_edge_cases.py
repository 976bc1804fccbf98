"""Edge cases of the ``discmot track`` option checks (`discmot.engine.track_checks`): which options each
model refuses, and in which order the checks speak."""

from __future__ import annotations

import types

import numpy as np
import pytest

from discmot.engine.end_to_end import AssociationOptions, NetworkOptions
from discmot.engine.source_checks import check_frame_size, check_inputs, check_outputs
from discmot.engine.split_folders import (
    find_sequences,
    is_split_folder,
    say_what_a_stopped_split_left,
    without_results,
)
from discmot.engine.track_checks import (
    DEFAULT_CLASSES,
    DEFAULT_DET_FILE,
    DetectionInputs,
    TrackOutputs,
    check_detection_options,
    check_end_to_end_options,
    check_one_source_outputs,
)
from discmot.io.video.source import FirstFrames
from discmot.trackers.detectors.frames import check_bgr_frame


def no_detection_inputs() -> DetectionInputs:
    """What an end-to-end model gets when none of ``--model jde``'s detection options is given."""
    return DetectionInputs(None, None, None, DEFAULT_CLASSES, "cpu", None, DEFAULT_DET_FILE)


def test_jde_refuses_no_cuda_graph_as_an_option_of_the_end_to_end_models():
    """``--model jde`` runs ONNX models, no network of discmot's own: ``--no-cuda-graph`` is refused
    like ``--weights``."""
    with pytest.raises(
        ValueError, match=r"--model jde runs no network of its own: --no-cuda-graph is an option"
    ):
        check_detection_options("jde", NetworkOptions(weights=None, cuda_graph=False))
    check_detection_options("jde", NetworkOptions(weights=None))  # the defaults: nothing to refuse


def test_cstrack_checks_its_input_size_before_asking_for_weights():
    """The option at fault is said first: a CSTrack input size that is no multiple of 32 is refused
    even when --weights is missing too."""
    network = NetworkOptions(weights=None, input_size=(100, 96))
    with pytest.raises(ValueError, match="multiples of 32"):
        check_end_to_end_options("cstrack", network, no_detection_inputs(), AssociationOptions())


def test_cstrack_takes_the_association_options_fdta_refuses():
    """CSTrack runs the JDE association cascade: ``--tracker-preset``, ``--kalman-boxes`` and
    ``--output-filter`` are its options; FDTA, which has no cascade, refuses them."""
    association = AssociationOptions(preset="default", output_detection_boxes=True, output_filter=False)
    network = NetworkOptions(weights="model.pt")
    check_end_to_end_options("cstrack", network, no_detection_inputs(), association)
    with pytest.raises(ValueError, match="--model fdta has no association cascade: drop --tracker-preset"):
        check_end_to_end_options("fdta", network, no_detection_inputs(), association)


def outputs(**given) -> TrackOutputs:
    """`track`'s outputs with nothing written unless ``given``."""
    return TrackOutputs(**{"save_txt": None, "save_video": None, "split_out": None, "tracker_name": "fdta",
                           "frame_rate": None, "progress": False, **given})  # fmt: skip


@pytest.mark.parametrize("source", [0, "frames/*.jpg"], ids=["webcam", "glob"])
def test_a_webcam_or_glob_source_is_one_source_not_a_missing_path(source):
    """A webcam index and a glob pattern name no path on disk: a split's option given with them is the
    "one source" error, not "no such file or folder"."""
    with pytest.raises(ValueError, match="one source, not a folder of sequence folders: --skip-existing"):
        check_one_source_outputs(source, outputs(skip_existing=True))
    with pytest.raises(ValueError, match="one source, not a folder of sequence folders: --split-out"):
        check_one_source_outputs(source, outputs(split_out="results"))


def test_one_existing_source_refuses_skip_existing(tmp_path):
    """``--skip-existing`` skips the sequences of a split: given with one source it is an error, not
    ignored."""
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"")
    with pytest.raises(ValueError, match=r"clip.mp4: one source, .*--skip-existing skips the sequences"):
        check_one_source_outputs(video, outputs(skip_existing=True))
    with pytest.raises(ValueError, match="no such file or folder"):
        check_one_source_outputs(tmp_path / "vall", outputs(skip_existing=True))
    check_one_source_outputs(video, outputs())  # nothing of a split's: fine


def test_one_sources_output_files_are_checked_before_tracking(tmp_path):
    """``--save-txt`` / ``--save-video`` that could not be written fail now, not after the whole video
    was tracked: a file in the way of the results' folder, or a folder where the video file goes."""
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"")
    (tmp_path / "notes").write_text("a file, not a folder")
    with pytest.raises(NotADirectoryError):
        check_one_source_outputs(video, outputs(save_txt=tmp_path / "notes" / "clip.txt"))
    (tmp_path / "out.mp4").mkdir()
    with pytest.raises(IsADirectoryError):
        check_one_source_outputs(video, outputs(save_video=tmp_path / "out.mp4"))


# --- the frame format every image-based tracker checks at the door (discmot.trackers.detectors.frames) --

GREY = " (greyscale: cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))"
ALPHA = " (with alpha: cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR))"
FIRST = " (channels first: frame.transpose(1, 2, 0))"
FLOATS = " (floats: e.g. (frame * 255).round().clip(0, 255).astype(np.uint8) for 0-1 values)"


@pytest.mark.parametrize(
    "shape, dtype, hint",
    [
        ((48, 64, 1), np.uint8, GREY),  # a single channel kept as an axis is greyscale too
        ((48, 64), np.uint8, GREY),
        ((48, 64, 4), np.uint8, ALPHA),
        ((3, 48, 64), np.uint8, FIRST),
        ((48, 64, 3), np.float64, FLOATS),
        ((48, 64, 3), np.uint16, ""),  # 16-bit: no one conversion to suggest
        ((48, 64, 2), np.uint8, ""),
        ((1, 48, 64, 3), np.uint8, ""),  # a batch of one: not a frame
        ((48,), np.uint8, ""),
        ((0, 64, 3), np.uint8, ""),  # empty: no conversion makes an image of it
        ((48, 0, 3), np.uint8, ""),
        ((0, 64, 4), np.uint8, ""),
    ],
)
def test_a_frame_of_another_format_gets_the_one_conversion_that_fits(shape, dtype, hint):
    frame = np.zeros(shape, dtype)
    with pytest.raises(ValueError) as raised:
        check_bgr_frame(frame)
    message = str(raised.value)
    assert message == f"expected an (H, W, 3) uint8 BGR frame, got {frame.dtype} of shape {shape}{hint}"


@pytest.mark.parametrize("shape", [(1, 1, 3), (3, 3, 3), (3, 48, 3), (4, 1, 3)])
def test_any_non_empty_h_w_3_uint8_frame_is_taken(shape):
    """(3, 48, 3) is a 3-pixel-high BGR image, not a channels-first one."""
    check_bgr_frame(np.zeros(shape, np.uint8))


def test_a_frame_that_is_no_array_is_a_type_error_without_a_hint():
    with pytest.raises(TypeError) as raised:
        check_bgr_frame([[0, 0, 0]])
    assert str(raised.value) == "expected an (H, W, 3) uint8 BGR frame, got list"


# --- a source's outputs and inputs (discmot.engine.source_checks) ---------------------------------------


def source(tmp_path, frames=10, has_images=True, **more):
    """A stand-in `FrameSource` with what the checks read of it."""
    fields = {
        "name": "cam",
        "location": str(tmp_path / "cam"),
        "num_frames": frames,
        "has_images": has_images,
        "fps": 25.0,
        "size": (64, 48),
        "first_number": 1,
        "skipped": [],
        "frame_path": lambda number: tmp_path / "cam" / f"{number:06d}.jpg",
    }
    return types.SimpleNamespace(**{**fields, **more})


def test_outputs_may_not_be_a_folder_the_same_file_or_the_source(tmp_path):
    frames = source(tmp_path)
    (tmp_path / "cam").mkdir()
    (tmp_path / "results").mkdir()
    with pytest.raises(ValueError, match="results: --save-txt names a folder; give a file name"):
        check_outputs(frames, None, tmp_path / "results", None)
    with pytest.raises(ValueError, match="results: --save-video names a folder"):
        check_outputs(frames, None, None, tmp_path / "results")
    same = tmp_path / "out.mp4"
    with pytest.raises(ValueError, match="out.mp4: --save-txt and --save-video name the same file"):
        check_outputs(frames, None, same, same)
    with pytest.raises(ValueError, match="--save-video would overwrite the source"):
        check_outputs(frames, None, None, tmp_path / "cam")
    check_outputs(frames, None, tmp_path / "cam.txt", tmp_path / "cam.MP4")  # a container's suffix, any case


@pytest.mark.parametrize("name", ["rows.npy", "rows.NPZ", "model.onnx", "frame.PNG", "clip.mkv"])
def test_results_never_go_into_a_media_model_or_array_file(tmp_path, name):
    with pytest.raises(ValueError, match="--save-txt writes MOT result rows"):
        check_outputs(source(tmp_path), None, tmp_path / name, None)


def test_results_replace_a_text_file_but_not_a_binary_one(tmp_path):
    """A NUL byte in the first 4096 bytes: the file is no text, and the results will not replace it."""
    text, binary, late = tmp_path / "old.txt", tmp_path / "blob.dat", tmp_path / "late.txt"
    text.write_text("1,1,1,1,5,5,1,-1,-1,-1\n")
    binary.write_bytes(b"PK\x03\x04\x00data")
    late.write_bytes(b"x" * 4096 + b"\x00")  # past what is looked at
    check_outputs(source(tmp_path), None, text, None)
    check_outputs(source(tmp_path), None, late, None)
    with pytest.raises(ValueError, match="blob.dat: exists and is not a text file"):
        check_outputs(source(tmp_path), None, binary, None)


def test_a_source_without_images_names_every_use_that_needs_them(tmp_path):
    frames = source(tmp_path, has_images=False)
    detections = types.SimpleNamespace()
    with pytest.raises(ValueError, match="has no images, which the detector and video output need$"):
        check_inputs(frames, object(), None, None, tmp_path / "v.mp4")
    with pytest.raises(ValueError, match="has no images, which the ReID model needs$"):
        check_inputs(frames, None, object(), detections, None)
    check_inputs(frames, object(), None, detections, None)  # detections given: the detector is not run


@pytest.mark.parametrize("hint, warned", [(11, True), (10, False), (None, False)])
def test_detections_past_the_last_frame_are_warned_about(tmp_path, caplog, hint, warned):
    """Detections reaching frame 11 of a 10-frame source are likely another source's; frame 10 is fine;
    under --max-frames the whole source counts, not the frames tracked."""
    detections = types.SimpleNamespace(num_frames_hint=hint)
    with caplog.at_level("WARNING", logger="discmot.engine.infer"):
        check_inputs(source(tmp_path, frames=10), None, None, detections, None)
        check_inputs(FirstFrames(source(tmp_path, frames=10), 3), None, None, detections, None)
    assert caplog.text.count("are they for this source?") == (2 if warned else 0)


def test_a_frame_of_another_size_names_both_images(tmp_path):
    frames = source(tmp_path)
    first = check_frame_size(frames, 1, np.zeros((48, 64, 3), np.uint8), None)
    assert first == (1, (64, 48))  # (frame number, (width, height))
    assert check_frame_size(frames, 2, np.zeros((48, 64, 3), np.uint8), first) == first
    message = (
        r"000003.jpg: frame 3 is 48x64 but the first frame \(.*000001.jpg\) is 64x48; a video's frames must "
        "share one size"
    )
    with pytest.raises(ValueError, match=message):
        check_frame_size(frames, 3, np.zeros((64, 48, 3), np.uint8), first)
    video = source(tmp_path, frame_path=lambda number: None)
    with pytest.raises(ValueError, match=r"cam: frame 3 is 48x64 but the first frame is 64x48"):
        check_frame_size(video, 3, np.zeros((64, 48, 3), np.uint8), first)


# --- a split's folders (discmot.engine.split_folders) --------------------------------------------------


def split_of(tmp_path, names=("seq-a", "seq-b")):
    """``tmp_path/split/<name>/seqinfo.ini`` for each name; stand-ins of their `SequenceFrames`."""
    sources = []
    for name in names:
        (tmp_path / "split" / name).mkdir(parents=True)
        (tmp_path / "split" / name / "seqinfo.ini").write_text(f"[Sequence]\nname={name}\nseqLength=1\n")
        sources.append(types.SimpleNamespace(folder=tmp_path / "split" / name))
    (tmp_path / "results").mkdir()
    return sources, tmp_path / "results"


def test_a_missing_split_folder_is_said_as_such(tmp_path):
    with pytest.raises(ValueError, match="vall: split folder not found"):
        find_sequences(tmp_path / "vall")


def test_a_folder_is_a_split_when_any_sub_folder_is_a_sequence(tmp_path):
    """Beside its sequences a split may hold seqmaps, notes or a folder of results."""
    split_of(tmp_path, ["seq-a"])
    (tmp_path / "split" / "seqmaps").mkdir()
    (tmp_path / "split" / "README.txt").write_text("the val split")
    assert is_split_folder(tmp_path / "split")
    assert not is_split_folder(tmp_path / "split" / "seq-a")  # a sequence itself
    assert not is_split_folder(tmp_path / "results") and not is_split_folder(0)


def test_skip_existing_says_when_every_result_is_there_even_for_one_sequence(tmp_path, caplog):
    sources, results = split_of(tmp_path, ["seq-a"])
    (results / "seq-a.txt").write_text("")
    with caplog.at_level("INFO", logger="discmot.engine.infer"):
        assert without_results(sources, results) == []
    assert "every sequence's results (1) are already in" in caplog.text


def test_skip_existing_says_nothing_when_no_result_is_there_yet(tmp_path, caplog):
    """Only kept results are worth a line: with none there, every sequence is tracked as usual."""
    sources, results = split_of(tmp_path)
    with caplog.at_level("INFO", logger="discmot.engine.infer"):
        assert without_results(sources, results) == sources
    assert caplog.text == ""
    (results / "seq-a.txt").write_text("")
    with caplog.at_level("INFO", logger="discmot.engine.infer"):
        assert without_results(sources, results) == sources[1:]
    assert "kept the results of 1 of 2 sequences" in caplog.text and "tracking the other 1" in caplog.text


@pytest.mark.parametrize("finished, kept, said", [(0, 0, False), (2, 0, False), (1, 0, True), (0, 1, True)])
def test_a_stopped_split_is_described_only_when_some_results_are_complete(
    tmp_path, caplog, finished, kept, said
):
    """Nothing done (0 finished, 0 kept) or everything done: no line; else one warning."""
    sources, results = split_of(tmp_path)
    with caplog.at_level("WARNING", logger="discmot.engine.infer"):
        say_what_a_stopped_split_left(sources, finished, results, kept)
    assert ("--skip-existing" in caplog.text) is said
