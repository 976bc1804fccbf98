"""Synthetic multi-object tracking scenes with exact depth (``discmot synth``).

Seeded procedural scenes (numpy + OpenCV) written in the DanceTrack/MOTChallenge layout with FDTA's
pseudo-depth maps, and optionally in CSTrack's JDE layout. See `discmot.data.synth.presets` for what
each preset stresses, `discmot.data.synth.scene` for the world model and
`discmot.data.synth.writer` for the files.
"""

from discmot.data.synth.presets import PRESETS, SynthConfig
from discmot.data.synth.render import SynthFrame, render_sequence
from discmot.data.synth.writer import generate_dataset

__all__ = ["PRESETS", "SynthConfig", "SynthFrame", "generate_dataset", "render_sequence"]
