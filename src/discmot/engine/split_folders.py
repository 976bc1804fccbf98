"""A benchmark split's folders (``<split>/<seq>/{seqinfo.ini,det/,img1/}``) as `track_split` goes over them.

Which sub-folders are sequences to track (`find_sequences`), which of those already have results in the
results folder (``skip_existing``: `without_results`, `nothing_left`), and what a split stopped
half-way left there (`say_what_a_stopped_split_left`). `discmot.engine.infer.track_split` and the
``discmot track`` verb share them.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from discmot.io.video import SequenceFrames, holds_images

if TYPE_CHECKING:  # for annotations: `track_checks` imports `check_tracker_name` from here
    from discmot.engine.track_checks import TrackOutputs

# the name these lines had when they were part of `discmot.engine.infer` (users and tests filter on it)
log = logging.getLogger("discmot.engine.infer")


def find_sequences(split_folder: str | Path, det_file: str | None = "det.txt") -> list[Path]:
    """The sequence folders of a split: sub-folders with ``seqinfo.ini`` and ``det/<det_file>`` (with
    ``det_file=None``: with an image folder instead), sorted by name. Sub-folders that hold images (or
    an ``img1/`` folder of them) but no ``seqinfo.ini`` are left out with a warning each: tracked on
    their own they work, but a split's results would miss them with nothing said.

    Raises:
        ValueError: the folder does not exist or holds no such sequence.
    """
    split = Path(split_folder)
    if not split.is_dir():
        raise ValueError(f"{split}: split folder not found")
    sequences = sorted(p for p in split.iterdir() if (p / "seqinfo.ini").is_file())
    others = (p for p in split.iterdir() if p.is_dir() and p not in sequences and not p.name.startswith("."))
    for folder in sorted(others):
        if holds_images(folder) or holds_images(folder / "img1"):
            log.warning(
                "%s: skipped (no seqinfo.ini): a sequence needs one to be tracked as part of the split "
                "(docs/datasets.md, 'Your own dataset', has a template)",
                folder,
            )
    found = [p for p in sequences if is_trackable_sequence(p, det_file)]
    if det_file is None:
        needed, missing = "seqinfo.ini and images", "images"
    else:
        needed, missing = f"seqinfo.ini and det/{det_file}", f"det/{det_file}"
    if not found:
        raise ValueError(f"{split}: no sequence folders with {needed} here")
    for skipped in sorted(set(sequences) - set(found)):
        log.warning("%s: skipped (no %s)", skipped, missing)
    return found


def check_tracker_name(name: str) -> None:
    """``--tracker-name``: one folder name (it goes under ``--split-out``); a one-line ValueError else."""
    if Path(name).name != name or name in ("", ".", ".."):
        raise ValueError(f"--tracker-name {name!r}: a folder name, without '/' (it goes under --split-out)")


def is_trackable_sequence(folder: Path, det_file: str | None = "det.txt") -> bool:
    """Whether `find_sequences` tracks the sequence ``folder`` (it has ``seqinfo.ini``): with
    ``det/<det_file>``, or with ``det_file=None`` with images."""
    if det_file is None:
        return SequenceFrames(folder).has_images
    return (folder / "det" / det_file).is_file()


def is_split_folder(path: str | Path | int) -> bool:
    """True for a folder of sequence folders (its sub-folders have ``seqinfo.ini``, it has none)."""
    if not isinstance(path, (str, Path)):
        return False  # a webcam index
    path = Path(path)
    if not path.is_dir() or (path / "seqinfo.ini").exists():
        return False
    return any((p / "seqinfo.ini").is_file() for p in path.iterdir())


def check_first_frames(sources: list[SequenceFrames]) -> None:
    """Raises ValueError naming the first sequence none of whose images can be read, so that a split
    whose last sequence is broken fails before the others' results replace older ones."""
    for source in sources:
        if next(iter(source), None) is None:
            raise ValueError(f"{source.folder}: no readable image in its image folder")


def without_results(sources: list[SequenceFrames], results: Path) -> list[SequenceFrames]:
    """The sequences of ``sources`` with no ``<results>/<sequence>.txt`` yet, for ``skip_existing``; says
    how many were kept (INFO) and which (DEBUG). An existing file is complete: results are written
    atomically, so a sequence stopped half-way left none."""
    split, left = sources[0].folder.parent, []
    for source in sources:
        path = results / f"{source.folder.name}.txt"
        if path.is_file():
            log.debug("%s: kept %s (--skip-existing)", source.folder.name, path)
        else:
            left.append(source)
    if not left:
        log.info(
            "%s: every sequence's results (%d) are already in %s (--skip-existing): nothing to track",
            split,
            len(sources),
            results,
        )
    elif len(left) < len(sources):
        log.info(
            "%s: kept the results of %d of %d sequences already in %s (--skip-existing); tracking the "
            "other %d",
            split,
            len(sources) - len(left),
            len(sources),
            results,
            len(left),
        )
    return left


def nothing_left(source, outputs: TrackOutputs, det_file: str | None) -> bool:
    """Whether ``skip_existing`` keeps every sequence of the split ``source``: none without a results file
    in ``split_out`` is one `track_split` would track (`is_trackable_sequence`, with
    ``det_file=None`` for images). Decided from the files alone, before any model loads, so that a
    re-run of a finished split loads none (an FDTA checkpoint: up to a minute)."""
    if not outputs.skip_existing:
        return False
    assert outputs.split_out is not None  # its callers refuse a split without one
    results = Path(outputs.split_out) / outputs.tracker_name / "data"  # track_split's "trackeval" layout
    missing = (
        folder
        for folder in Path(source).iterdir()
        if (folder / "seqinfo.ini").is_file() and not (results / f"{folder.name}.txt").is_file()
    )
    return not any(is_trackable_sequence(folder, det_file) for folder in missing)


def say_what_a_stopped_split_left(
    sources: list[SequenceFrames], finished: int, results: Path, kept: int = 0
) -> None:
    """One log line when a split stops with some sequences' results complete (``finished`` of
    ``sources`` tracked by this run, ``kept`` more from before by ``skip_existing``): they are kept (an
    hour of tracking is not thrown away), the sequence that was running left nothing, files of the later
    sequences from an earlier run are still there (a mix that `discmot eval` cannot tell), and
    ``--skip-existing`` goes on where it stopped."""
    if (not finished and not kept) or finished == len(sources):  # nothing done, or stopped once all done
        return
    total = len(sources) + kept
    done = (
        f"the results of the {finished} of {total} sequences before it are complete"
        if not kept
        else f"the results of {finished + kept} of {total} sequences are complete ({kept} kept from before)"
    )
    stale = sum((results / f"{s.folder.name}.txt").is_file() for s in sources[finished:])
    earlier = f"; {stale} of the other sequences' files there are from an earlier run" if stale else ""
    # --skip-existing would keep those earlier files too: say so, a change of settings must not mix in
    keeps = " and keeps the earlier run's files (delete them first to track those again)" if stale else ""
    log.warning(
        "%s: stopped in sequence %s; %s, in %s%s; to go on, run the same command with --skip-existing: "
        "it tracks only the sequences without results there%s",
        sources[0].folder.parent,
        sources[finished].folder.name,
        done,
        results,
        earlier,
        keeps,
    )
