"""Edge cases of the two ``discmot track`` flows and their builders: the association cascade on a
detector's or precomputed boxes (`discmot.engine.track_detections`), the end-to-end models
(`discmot.engine.track_end_to_end`) and the option groups that build them (`discmot.engine.end_to_end`)."""

from __future__ import annotations

import dataclasses
import logging
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from discmot.data.synth import generate_dataset
from discmot.engine import track_detections
from discmot.engine.demo_config import bundled_weights
from discmot.engine.end_to_end import (
    AssociationOptions,
    NetworkOptions,
    build_end_to_end,
    cstrack_factory,
    fdta_tracker,
)
from discmot.engine.track_checks import DEFAULT_CLASSES, DEFAULT_DET_FILE, DetectionInputs, TrackOutputs
from discmot.engine.track_detections import run_on_detections, tracker_factory
from discmot.engine.track_end_to_end import _warn_if_nobody_tracked, run_end_to_end
from discmot.structures import Detections, Tracks

# two people standing apart in the tiny preset's 128x80 frames: one confident, one weak
CONFIDENT_ROW = "{frame},-1,5,5,20,40,0.9,-1,-1,-1\n"
WEAK_ROW = "{frame},-1,90,20,20,40,0.2,-1,-1,-1\n"


@pytest.fixture(scope="module")
def split(tmp_path_factory) -> Path:
    """A split of one 12-frame tiny sequence whose ``det/det.txt`` holds the two boxes above per frame."""
    (folder,) = generate_dataset(tmp_path_factory.mktemp("paths"), "tiny", sequences=1, frames=12)
    (folder / "det").mkdir()
    rows = [row.format(frame=f) for f in range(1, 13) for row in (CONFIDENT_ROW, WEAK_ROW)]
    (folder / "det" / DEFAULT_DET_FILE).write_text("".join(rows))
    return folder.parent


@pytest.fixture
def sequence(split) -> Path:
    return next(p for p in split.iterdir() if (p / "seqinfo.ini").is_file())


def inputs(detector=None, reid=None, conf=None) -> DetectionInputs:
    return DetectionInputs(detector, reid, conf, DEFAULT_CLASSES, "cpu", None, DEFAULT_DET_FILE)


def outputs(split_out=None, on_frame=None) -> TrackOutputs:
    return TrackOutputs(None, None, split_out, "jde", None, False, on_frame=on_frame)


def preset_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "association preset" in r.getMessage()]


def no_boxes(image) -> Detections:
    """A stand-in ONNX detector (`track_detections._plugins` is replaced): it finds nobody."""
    return Detections(np.zeros((0, 4)), np.zeros(0), None)


# --- track_detections ---------------------------------------------------------------------------------


def test_the_factory_refuses_a_tracker_model_other_than_jde():
    """`tracker_factory` builds the JDE cascade only: an end-to-end model's name is an error, not a
    silently built cascade."""
    with pytest.raises(
        ValueError, match=r"unknown tracker model 'fdta' for detection-based tracking: use 'jde'"
    ):
        tracker_factory("fdta")


def test_plugins_build_only_the_onnx_models_given(monkeypatch):
    """`_plugins` builds the detector for ``--detector`` and the embedder for ``--reid``, each only when
    given: ReID alone (on precomputed boxes) builds no detector, a detector alone no embedder; the
    detector gets ``conf`` only when given (else its own default)."""
    from discmot.trackers import detectors

    built = []
    monkeypatch.setattr(
        detectors, "onnx_detector", lambda path, **kw: built.append(("detector", path, kw)) or "D"
    )
    monkeypatch.setattr(
        detectors, "OnnxReidEmbedder", lambda path, **kw: built.append(("reid", path, kw)) or "E"
    )
    assert track_detections._plugins(inputs(reid="r.onnx")) == (None, "E")
    assert built == [("reid", "r.onnx", {"device": "cpu"})]
    built.clear()
    assert track_detections._plugins(inputs(detector="d.onnx")) == ("D", None)
    assert built == [("detector", "d.onnx", {"classes": DEFAULT_CLASSES, "device": "cpu"})]
    built.clear()
    assert track_detections._plugins(inputs(detector="d.onnx", conf=0.4)) == ("D", None)
    assert built == [("detector", "d.onnx", {"classes": DEFAULT_CLASSES, "device": "cpu", "conf": 0.4})]


def test_a_sequence_folder_without_its_det_file_is_refused_for_having_no_detections(tmp_path, sequence):
    """A sequence folder uses its own ``det/det.txt`` when no detector or detections are given
    (docs/tracking.md); without one, and with the default ``--det-file``, the error is the one for no
    detections at all (naming the models that detect for themselves), not a missing-file error."""
    bare = tmp_path / sequence.name
    shutil.copytree(sequence, bare, ignore=shutil.ignore_patterns("det"))
    with pytest.raises(ValueError, match=r"no detector and no detections: pass a detector"):
        run_on_detections(bare, "jde", inputs(), AssociationOptions(), outputs())


def test_conf_drops_precomputed_detections_scoring_below_it(sequence):
    """`track`'s ``conf``: "with precomputed detections, drop those scoring below". The ``public`` preset
    keeps every detection, so without ``conf`` both people are tracked (two ids); with ``conf=0.5`` the
    weak one (0.2) is dropped and only the confident one (0.9) has a track."""
    ids: dict[float | None, set[int]] = {None: set(), 0.5: set()}
    for conf, seen in ids.items():
        on_frame = lambda frame, tracks, seen=seen: seen.update(int(i) for i in tracks.ids)  # noqa: E731
        run_on_detections(
            sequence, "jde", inputs(conf=conf), AssociationOptions(), outputs(on_frame=on_frame)
        )
    assert len(ids[None]) == 2
    assert len(ids[0.5]) == 1


def test_an_explicit_public_preset_gets_no_advice_to_use_onnx(sequence, caplog):
    """The INFO line of precomputed detections names the preset and its thresholds; the advice to use
    ``--tracker-preset onnx`` is for the default ``public`` only (docs/tracking.md, "Settings presets"): a
    user who chose ``public`` is not told to choose again."""
    with caplog.at_level(logging.INFO, logger="discmot"):
        run_on_detections(sequence, "jde", inputs(), AssociationOptions(preset="public"), outputs())
    assert preset_lines(caplog) == [
        "precomputed detections: association preset public (detections scoring >= 0 kept, tracks born "
        "from >= 0)"
    ]


def test_a_detectors_boxes_are_not_said_to_be_precomputed_detections(monkeypatch, tmp_path, sequence, caplog):
    """The preset line is said "with precomputed detections" only (docs/tracking.md): tracking a sequence
    with a detector (``onnx`` preset) says none, though the sequence has a ``det/det.txt``."""
    monkeypatch.setattr(track_detections, "_plugins", lambda inputs: (no_boxes, None))
    (tmp_path / "d.onnx").write_bytes(b"")
    with caplog.at_level(logging.INFO, logger="discmot"):
        summary = run_on_detections(
            sequence, "jde", inputs(detector=tmp_path / "d.onnx"), AssociationOptions(), outputs()
        )
    assert summary["frames"] == 12 and summary["rows"] == 0
    assert preset_lines(caplog) == []


def test_a_split_of_precomputed_detections_says_its_preset_once(split, tmp_path, caplog):
    """A split tracked on each sequence's ``det/det.txt`` says the preset line once, as one source does."""
    with caplog.at_level(logging.INFO, logger="discmot"):
        run_on_detections(split, "jde", inputs(), AssociationOptions(), outputs(split_out=tmp_path / "out"))
    (said,) = preset_lines(caplog)
    assert said.startswith("precomputed detections: association preset public (")


def test_a_split_tracked_by_a_detector_says_no_preset_of_precomputed_detections(
    monkeypatch, split, tmp_path, caplog
):
    """A split tracked with a detector (its sequences' ``det/`` unused) says no preset line."""
    monkeypatch.setattr(track_detections, "_plugins", lambda inputs: (no_boxes, None))
    (tmp_path / "d.onnx").write_bytes(b"")
    with caplog.at_level(logging.INFO, logger="discmot"):
        summaries = run_on_detections(
            split,
            "jde",
            inputs(detector=tmp_path / "d.onnx"),
            AssociationOptions(),
            outputs(tmp_path / "out"),
        )
    assert [s["frames"] for s in summaries.values()] == [12]
    assert preset_lines(caplog) == []


def test_a_split_of_detections_without_images_still_has_something_to_track(split, tmp_path):
    """With ``skip_existing``, `run_on_detections` asks whether anything is left to track before it
    starts (``on_start``) and loads models: for precomputed detections a sequence is trackable by its
    ``det/det.txt`` (a sequence needs no images for them: docs/tracking.md), so such a sequence without
    results is tracked, and the run is started once."""
    images_free = tmp_path / "split"
    for folder in split.iterdir():
        shutil.copytree(folder, images_free / folder.name, ignore=shutil.ignore_patterns("img1"))
    starts = []
    out = TrackOutputs(
        None,
        None,
        tmp_path / "out",
        "jde",
        None,
        False,
        skip_existing=True,
        on_start=lambda: starts.append(1),
    )
    summaries = run_on_detections(images_free, "jde", inputs(), AssociationOptions(), out)
    assert [s["frames"] for s in summaries.values()] == [12]
    assert starts == [1]


# --- track_end_to_end ---------------------------------------------------------------------------------


class QuietTracker:
    """An end-to-end tracker (the engine's protocol: ``detects``, ``update(frame)``, ``reset()``) that
    tracks nobody; its output filter (CSTrack's association, `_filtered_rows`) dropped ``dropped`` rows."""

    detects = True

    def __init__(self, dropped: int = 0):
        self.association = SimpleNamespace(filtered_boxes=dropped)

    def reset(self) -> None:
        pass

    def update(self, frame_bgr) -> Tracks:
        return Tracks(np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0))


def counting_build(built: list):
    """``build`` for `run_end_to_end`: notes each model load, gives `QuietTracker`s."""

    def build():
        built.append(1)
        return lambda frame_rate: QuietTracker()

    return build


def test_a_split_tracked_end_to_end_refuses_a_single_results_file(split, tmp_path):
    """A folder of sequences writes one result per sequence into ``--split-out``: ``--save-txt`` (one
    file) is refused with a one-line error, even beside ``--split-out``, and no model loads."""
    built: list = []
    outputs = TrackOutputs(tmp_path / "a.txt", None, tmp_path / "out", "fdta", None, False)
    with pytest.raises(ValueError, match=r"a folder of sequences writes one result per sequence"):
        run_end_to_end(split, counting_build(built), outputs, weights=None)
    assert built == [] and not (tmp_path / "a.txt").exists()


def test_a_split_tracked_end_to_end_refuses_missing_weights_before_it_starts(split, tmp_path):
    """`refuse_missing_files`: a checkpoint that is not there is refused before `TrackOutputs.started`
    (``on_start``) and before any model loads, when the split has sequences to track; with the file
    there the run starts once and loads the model once for all sequences."""
    built, starts = [], []
    outputs = TrackOutputs(
        None, None, tmp_path / "out", "fdta", None, False, on_start=lambda: starts.append(1)
    )
    with pytest.raises(FileNotFoundError, match=r"no such checkpoint"):
        run_end_to_end(split, counting_build(built), outputs, weights=tmp_path / "missing.pt")
    assert built == [] and starts == []
    (tmp_path / "model.pt").write_bytes(b"")
    summaries = run_end_to_end(split, counting_build(built), outputs, weights=tmp_path / "model.pt")
    assert [s["frames"] for s in summaries.values()] == [12]
    assert built == [1] and starts == [1]


def nobody_tracked_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "no object tracked" in r.getMessage()]


def test_nobody_tracked_is_said_only_when_no_sequence_of_the_split_has_a_row(caplog):
    """`_warn_if_nobody_tracked`: a hint when a model tracked no one "in a whole source (every sequence of
    a split)", counting the frames of all its sequences; one sequence with rows is enough to say
    nothing, as is a source of no frames."""
    with caplog.at_level(logging.WARNING, logger="discmot"):
        _warn_if_nobody_tracked("split", [{"frames": 2, "rows": 3}, {"frames": 3, "rows": 0}])
        _warn_if_nobody_tracked("split", [{"frames": 2, "rows": 0}, {"frames": 3, "rows": 3}], filtered=4)
        _warn_if_nobody_tracked("split", [{"frames": 0, "rows": 0}], filtered=4)
        assert nobody_tracked_lines(caplog) == []
        _warn_if_nobody_tracked("split", [{"frames": 2, "rows": 0}, {"frames": 3, "rows": 0}])
    (said,) = nobody_tracked_lines(caplog)
    assert said.startswith("split: no object tracked in 5 frames: the network's detections never passed")


# --- end_to_end ---------------------------------------------------------------------------------------


def test_network_options_default_to_the_originals_resize_and_the_cuda_graph():
    """`NetworkOptions` in Python defaults as ``discmot track`` does: the original's 8-bit resize
    (``--fast-resize`` is opt-in) and the CUDA graph on (``--no-cuda-graph`` turns it off), fp32 on the
    CPU; `fdta_tracker` and `cstrack_factory` default alike."""
    network = NetworkOptions("model.pt")
    assert (network.fast_resize, network.cuda_graph, network.device, network.dtype) == (
        False,
        True,
        "cpu",
        "fp32",
    )
    fdta = fdta_tracker(bundled_weights("fdta"), None, "cpu", "fp32", None)
    assert fdta.fast_resize is False and fdta.forward.enabled is True
    assert cstrack_factory(bundled_weights("cstrack"))(30.0).forward.enabled is True


def test_network_options_are_frozen():
    """`NetworkOptions` and `AssociationOptions` are frozen dataclasses: one set of options, built once, is
    handed to every builder unchanged."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        NetworkOptions("model.pt").device = "cuda"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        AssociationOptions().preset = "onnx"  # type: ignore[misc]


def test_cstrack_takes_the_tracker_preset_given_over_its_own():
    """``tracker_preset`` replaces CSTrack's default ``cstrack`` preset: ``onnx`` keeps detections from 0.3
    and starts tracks from 0.7 (docs/tracking.md, "Settings presets"); none given is ``cstrack``'s 0.5."""
    onnx = cstrack_factory(bundled_weights("cstrack"), tracker_preset="onnx")(30.0).config
    assert (onnx.conf_threshold, onnx.birth_threshold) == (0.3, 0.7)
    assert cstrack_factory(bundled_weights("cstrack"))(30.0).config.conf_threshold == 0.5


def test_a_bad_cstrack_input_size_is_refused_before_the_checkpoint_is_read(tmp_path):
    """`cstrack_factory` checks ``input_size`` (multiples of 32) before the model loads: a bad size is
    the error even when the checkpoint could not be read."""
    (tmp_path / "broken.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(
        ValueError, match=r"input size 100x100 \(--input-size\): CSTrack's must be multiples of 32"
    ):
        cstrack_factory(tmp_path / "broken.pt", input_size=(100, 100))


def test_cstrack_says_the_input_size_given_rather_than_its_configs(caplog):
    """The INFO line of a loaded CSTrack names the network input it runs at: ``input_size`` when given,
    else the checkpoint config's."""
    with caplog.at_level(logging.INFO, logger="discmot.engine.end_to_end"):
        cstrack_factory(bundled_weights("cstrack"), input_size=(96, 128))
    (said,) = [r.getMessage() for r in caplog.records if ": CSTrack, " in r.getMessage()]
    assert ", input 96x128, " in said


def test_build_end_to_end_refuses_a_model_that_does_not_detect_for_itself():
    """`build_end_to_end` builds ``"fdta"`` or ``"cstrack"``; any other name (``"jde"`` needs detections)
    is refused naming the two, not built as one of them."""
    with pytest.raises(ValueError, match=r"unknown end-to-end model 'jde'; choose from fdta, cstrack"):
        build_end_to_end("jde", NetworkOptions(bundled_weights("cstrack")))
