"""The ``discmot eval`` command that ``discmot track`` prints after tracking a split or a sequence with
ground truth: the paths quoted for a shell, and the ``--benchmark`` whose rules that ground truth needs
(the dataset's, else the one tracked with).
"""

from __future__ import annotations


def eval_hint(split_folder: str, out: str, benchmark: str | None) -> str | None:
    """The ``discmot eval`` command that scores a split's results in ``out`` as it stands, or ``None``
    for a split without ground truth (a test split: nothing to score).

    ``--benchmark`` as `discmot eval` needs it: a TrackEval ``<BENCH>-<SPLIT>`` folder's BENCH (its
    folders and seqmap are found by that name), else the dataset's (`_dataset_benchmark`, which leaves
    out MOT17: eval's default), else the one tracked with. Paths are quoted for a shell."""
    import shlex
    from pathlib import Path

    split = Path(split_folder).resolve()
    if not any((folder / "gt" / "gt.txt").is_file() for folder in split.iterdir()):
        return None
    prefix, _, name = split.name.rpartition("-")
    if prefix and name in ("train", "val", "test", "all"):  # TrackEval's <BENCH>-<SPLIT> folders
        benchmark = prefix
    else:
        name = split.name
        benchmark = _dataset_benchmark(split) or benchmark  # the gt's rules, whatever tracked it
    options = f"--benchmark {shlex.quote(benchmark)} " if benchmark else ""
    return (
        f"evaluate with: discmot eval --gt-folder {shlex.quote(str(split.parent))} --trackers-folder "
        f"{shlex.quote(out)} {options}--split {shlex.quote(name)}"
    )


#: `discmot synth` presets -> the benchmark whose layout and rules they copy (``mot`` and ``tiny``:
#: MOTChallenge's, eval's default).
SYNTH_BENCHMARKS = {"dancetrack": "DanceTrack", "sportsmot": "SportsMOT", "bft": "BFT"}


def _dataset_benchmark(split) -> str | None:
    """The benchmark of a dataset-root split (``ROOT/<split>/<seq>``) that `discmot eval` must be told:
    ROOT's name when it names one (``MOT15/train``: MOT15's gt has no classes, which MOT17's rules
    refuse), else the `discmot synth` preset its sequences' ``seqinfo.ini`` record, when they agree;
    ``None`` for MOT17 (eval's default) and for a dataset of no known benchmark."""
    from discmot.eval.motchallenge import PRESETS
    from discmot.io.seqinfo import read_seqinfo_extra

    named = {key.lower(): key for key in PRESETS}.get(split.parent.name.lower())
    if named is None:
        try:
            presets = {read_seqinfo_extra(ini).get("synthPreset") for ini in split.glob("*/seqinfo.ini")}
        except (OSError, ValueError):  # a sequence the split left out, unreadable or no ini: no guess
            presets = set()
        preset = presets.pop() if len(presets) == 1 else None  # None too when they record none
        named = None if preset is None else SYNTH_BENCHMARKS.get(preset)
    return None if named == "MOT17" else named


def pair_eval_hint(gt, save_txt: str, benchmark: str | None, max_frames: int | None = None) -> str:
    """The ``discmot eval`` command that scores one source's results against its ground truth
    (``SEQ/gt/gt.txt``): its ``--benchmark`` is the dataset's, as for a split (`eval_hint`: a sequence
    of ``MOT15/train`` needs MOT15's rules), else the one tracked with; after ``--max-frames N``, eval's
    ``--max-frames N`` scores the frames tracked, not the gt's later ones as misses."""
    import shlex
    from pathlib import Path

    benchmark = _dataset_benchmark(Path(gt).resolve().parents[2]) or benchmark
    option = f" --benchmark {shlex.quote(benchmark)}" if benchmark else ""
    if max_frames is not None:
        option += f" --max-frames {max_frames}"
    return (
        f"evaluate with: discmot eval --gt {shlex.quote(str(gt))} --results {shlex.quote(save_txt)}{option}"
    )
