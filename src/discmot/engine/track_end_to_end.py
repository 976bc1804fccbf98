"""`discmot.engine.track_verb.track` for the end-to-end models (FDTA, CSTrack), over one source or a split.

The model loads once the cheap checks of the source passed, and only when there is something to track;
a model that tracked no one gets a hint at why (`_warn_if_nobody_tracked`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from discmot.engine.infer import track_source, track_split, tracker_frame_rate
from discmot.engine.source_checks import check_outputs
from discmot.engine.split_folders import is_split_folder, nothing_left
from discmot.engine.track_checks import (
    TrackOutputs,
    check_one_source_outputs,
    check_split_out,
    check_whole_split,
    refuse_missing_files,
    refuse_on_frame,
    warn_if_nothing_written,
)
from discmot.io.video import first_frames, open_source
from discmot.trackers.base import EndToEndTracker

# the name these lines had when they were part of `discmot.engine.track_verb` (users filter on it)
log = logging.getLogger("discmot.engine.track_verb")


def run_end_to_end(
    source, build: Callable[[], Callable[[float], EndToEndTracker]], outputs: TrackOutputs, weights=None
) -> dict:
    """`track` for FDTA and CSTrack: ``build()`` loads the model (after the cheap checks of the source)
    and returns ``frame_rate -> tracker``; ``weights``, its checkpoint, must exist once there is
    something to track (a finished split with ``skip_existing`` opens none)."""
    if is_split_folder(source):
        refuse_on_frame(source, outputs)
        if outputs.split_out is None or outputs.save_txt or outputs.save_video:
            raise ValueError(
                f"{source}: a folder of sequences writes one result per sequence: give --split-out DIR"
            )
        check_whole_split(source, outputs)
        check_split_out(outputs)
        if not nothing_left(source, outputs, det_file=None):  # else no model loads: nothing is slow
            refuse_missing_files(weights=weights)
            outputs.started()
        filtered = _FilteredCount()  # what the output filter dropped, summed as each sequence ends
        factory = _built_when_first_used(build)
        summaries = track_split(
            source,
            outputs.split_out,
            lambda frame_rate: filtered.tracking(factory(frame_rate)),
            layout="trackeval",
            tracker_name=outputs.tracker_name,
            frame_rate=outputs.frame_rate,
            progress=outputs.progress,
            needs_detections=False,
            skip_existing=outputs.skip_existing,
        )
        _warn_if_nobody_tracked(source, list(summaries.values()), filtered.total())
        return summaries
    check_one_source_outputs(source, outputs)
    frames = first_frames(open_source(source, fps=outputs.frame_rate), outputs.max_frames)
    check_outputs(frames, None, outputs.save_txt, outputs.save_video)  # again in track_source: cheap
    refuse_missing_files(weights=weights)
    outputs.started()
    tracker = build()(tracker_frame_rate(outputs.frame_rate, frames.fps))
    warn_if_nothing_written(source, outputs)
    summary = track_source(
        frames,
        tracker,
        save_txt=outputs.save_txt,
        save_video=outputs.save_video,
        progress=outputs.progress,
        on_frame=outputs.on_frame,
    )
    _warn_if_nobody_tracked(source, [summary], _filtered_rows(tracker))
    return summary


def _built_when_first_used(
    build: Callable[[], Callable[[float], EndToEndTracker]],
) -> Callable[[float], EndToEndTracker]:
    """``frame_rate -> tracker`` that calls ``build()`` (loads the model, seconds to a minute) when the
    first tracker is asked for: after the split's cheap checks, and never when ``--skip-existing`` leaves
    nothing to track."""
    loaded = functools.cache(build)  # one model for every sequence's tracker
    return lambda frame_rate: loaded()(frame_rate)


class _FilteredCount:
    """The rows the output filter dropped (`_filtered_rows`) over a split's sequences, counted as each
    sequence's tracker gives way to the next: only the tracker under way is held (an FDTA tracker's
    history of feature maps is GPU memory; a split's worth of them would pile up)."""

    def __init__(self):
        self.finished = 0  # the sequences done
        self.current: EndToEndTracker | None = None

    def tracking(self, tracker: EndToEndTracker) -> EndToEndTracker:
        """``tracker``, the next sequence's, counted from now on; the one before it is done."""
        if self.current is not None:
            self.finished += _filtered_rows(self.current)
        self.current = tracker
        return tracker

    def total(self) -> int:
        return self.finished + (0 if self.current is None else _filtered_rows(self.current))


def _filtered_rows(tracker: EndToEndTracker) -> int:
    """The output rows CSTrack's pedestrian output filter dropped since ``tracker``'s last reset (its
    association's `JDETracker.filtered_boxes`); 0 for FDTA, which has no association cascade."""
    association = getattr(tracker, "association", None)  # CSTrackTracker's JDETracker
    return 0 if association is None else association.filtered_boxes


def _warn_if_nobody_tracked(source, summaries: list[dict], filtered: int = 0) -> None:
    """An end-to-end model that tracked no one in a whole source (every sequence of a split) gets a hint
    at the likely causes: an empty results file alone does not say why (a short training run's model
    finds nobody, as does one given frames unlike its training data). When CSTrack's pedestrian output
    filter dropped the ``filtered`` rows there were, the filter is the cause: a custom scene's tiny
    CSTrack had all 59 of its confirmed boxes dropped, and 34 ids with ``--no-output-filter``."""
    frames = sum(s["frames"] for s in summaries)
    if frames and not any(s["rows"] for s in summaries) and filtered:
        log.warning(
            "%s: no object tracked in %d frames: the pedestrian output filter dropped all %d confirmed "
            "track boxes (width/height > 0.6 or area <= 100): for objects that are not standing people, "
            "track with --no-output-filter",
            source,
            frames,
            filtered,
        )
    elif frames and not any(s["rows"] for s in summaries):
        log.warning(
            "%s: no object tracked in %d frames: the network's detections never passed its threshold "
            "(--track-thresh). Were the weights trained long enough, on frames like these, at this input "
            "size (--input-size)?",
            source,
            frames,
        )
