"""More edge cases of the ``discmot track`` option groups (`discmot.engine.track_checks`): the default
detector classes and the ``on_start`` hook of `TrackOutputs`."""

from __future__ import annotations

import inspect
import logging

import pytest

from discmot.engine.end_to_end import AssociationOptions, NetworkOptions
from discmot.engine.track_checks import (
    DetectionInputs,
    TrackOutputs,
    check_end_to_end_options,
    warn_if_nothing_written,
)
from discmot.engine.track_verb import track


def detection_inputs(classes: tuple[int, ...]) -> DetectionInputs:
    return DetectionInputs(None, None, None, classes, "cpu", None, "det.txt")


def test_the_default_classes_are_people_which_an_end_to_end_model_does_not_count_as_given():
    """docs/tracking.md: ``--classes`` picks the detector's COCO classes, "default ``0``, person" (the
    command line's default ``[0]``); `track`'s default is the same. An end-to-end model refuses
    ``--classes`` only when it is not that default."""
    assert inspect.signature(track).parameters["classes"].default == (0,)
    network = NetworkOptions(weights="model.pt")
    check_end_to_end_options("fdta", network, detection_inputs((0,)), AssociationOptions())
    with pytest.raises(ValueError, match=r"--model fdta detects for itself, on the images: drop --classes "):
        check_end_to_end_options("fdta", network, detection_inputs((2,)), AssociationOptions())


def test_started_calls_on_start_once_and_nothing_without_it():
    """``on_start`` runs once the options and the source checked out (`TrackOutputs.started`); without
    one, starting does nothing."""
    calls = []
    outputs = TrackOutputs(None, None, None, "fdta", None, False, on_start=lambda: calls.append("started"))
    outputs.started()
    assert calls == ["started"]
    TrackOutputs(None, None, None, "fdta", None, False).started()


def test_outputs_built_in_python_speak_in_python_keywords_unless_marked_as_the_command_lines(caplog):
    """The module's rule: a message is "in the command line's terms (``--save-txt``) or in Python's
    (``save_txt=``)". `TrackOutputs.command_line` is off unless set, so outputs built in Python get
    Python's terms; the command line marks its own to get its options' names."""
    caplog.set_level(logging.WARNING, logger="discmot.engine.track_checks")
    warn_if_nothing_written("clip.mp4", TrackOutputs(None, None, None, "fdta", None, False))
    warn_if_nothing_written(
        "clip.mp4", TrackOutputs(None, None, None, "fdta", None, False, command_line=True)
    )
    python, command_line = (record.getMessage() for record in caplog.records)
    assert "save_txt=" in python and "--save-txt" not in python
    assert "--save-txt" in command_line and "save_txt=" not in command_line
