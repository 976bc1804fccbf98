"""Smoke test of the benchmark harness: it imports, and it rewrites docs sections correctly.

Nothing here runs a benchmark or times anything; speed is measured by ``make bench``, never asserted.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH_DIR = Path(__file__).resolve().parents[1] / "benchmarks"
# The harness is a folder of scripts, not a package: make its modules importable the way run_all sees them.
sys.path.insert(0, str(BENCH_DIR))

import benchlib  # noqa: E402
import run_all  # noqa: E402


def test_every_benchmark_module_imports_and_has_run():
    names = run_all.discover()
    assert "eval" in names
    for name in names:
        assert callable(run_all.load(name).run)
    # The TrackEval driver imports trackeval lazily, so importing it is free.
    assert callable(importlib.import_module("trackeval_mot").main)
    # Scripts outside make bench must still import.
    assert callable(importlib.import_module("fdta_id_onset").main)
    assert callable(importlib.import_module("deform_attn_kernel").main)
    assert callable(importlib.import_module("gt_appearance_bound").main)


def test_ablation_script_parses_its_options():
    ablation = importlib.import_module("fdta_ablation")  # a script outside make bench: it must still import
    args = ablation.parse_args(["--variants", "full", "+SA", "--seeds", "1", "2", "--epochs", "2"])
    assert args.variants == ["full", "+SA"] and args.seeds == [1, 2] and args.epochs == 2 and args.set == []
    args = ablation.parse_args(["--set", "train.lr=2e-4", "--set", "train.epochs=6"])
    assert args.set == ["train.lr=2e-4", "train.epochs=6"]
    with pytest.raises(SystemExit):
        ablation.parse_args(["--variants", "no-such-variant"])
    # several folders are for reporting: training writes into one
    args = ablation.parse_args(["--finished-only", "--dir", "a", "--dir", "b"])
    assert [str(d) for d in args.dir] == ["a", "b"]
    for bad in (["--dir", "a", "--dir", "b"], ["--finished-only"]):
        with pytest.raises(SystemExit):
            ablation.parse_args(bad)


def _ablation_run(seed: int, recipe: str, hota: float) -> dict:
    metrics = importlib.import_module("fdta_ablation").METRICS
    scores = dict.fromkeys(metrics, 0.5) | {"HOTA": hota}
    return {"seed": seed, "recipe": recipe, "steps": 100, "seconds": 50.0, "scores": scores}


def test_ablation_table_pools_seeds_of_one_recipe_only():
    ablation = importlib.import_module("fdta_ablation")
    results = {
        "baseline (MOTIP)": [_ablation_run(1, "0.0002, 6, 4, 32", 0.2)],
        "full": [
            _ablation_run(1, "0.0006, 7, 6, 64", 0.3),
            _ablation_run(1, "0.0002, 6, 4, 32", 0.1),
            _ablation_run(2, "0.0006, 7, 6, 64", 0.5),
            _ablation_run(1, "0.0006, 7, 6, 32", 0.25),
        ],
    }
    rows = [line.split(" | ") for line in ablation.table(results).splitlines()[2:]]
    # lower lr first, variants in their order within one recipe; a width of its own is a recipe of its own
    assert [(row[0].lstrip("| "), row[1], row[2]) for row in rows] == [
        ("baseline (MOTIP)", "0.0002, 6, 4, 32", "1"),
        ("full", "0.0002, 6, 4, 32", "1"),
        ("full", "0.0006, 7, 6, 64", "1, 2"),
        ("full", "0.0006, 7, 6, 32", "1"),
    ]
    assert rows[1][3] == "0.100" and rows[2][3] == "0.400 ± 0.141"


def test_ablation_checks_targets_only_at_the_shipped_recipe():
    ablation = importlib.import_module("fdta_ablation")
    shipped = ablation.shipped_recipe()
    narrower = shipped.rsplit(", ", 1)[0] + ", 16"
    results = {"full": [_ablation_run(1, shipped, 0.3), _ablation_run(2, "0.0001, 1, 0, 64", 0.1)]}
    results["full"].append(_ablation_run(3, narrower, 0.1))
    assert ablation.check(results, recipe_overridden=False) == ["full recipe (seed 1) HOTA 0.300 < 0.5"]
    assert ablation.check(results, recipe_overridden=True) == []
    results["full"][0]["scores"]["HOTA"] = 0.5
    assert ablation.check(results, recipe_overridden=False) == []


def test_ablation_reads_a_runs_recipe_from_its_config(tmp_path):
    from discmot.engine.run_folder import RunFolder
    from discmot.models.fdta.recipe import load_recipe

    ablation = importlib.import_module("fdta_ablation")
    for overrides, expected_width in (([], "64"), (["model.detr.hidden_dim=32"], "32")):
        recipe = load_recipe("tiny", overrides)
        RunFolder(tmp_path).write_start(recipe.as_dict(), env={})  # config.yaml as training writes it
        cell = ablation.recipe_of(tmp_path)
        assert cell.rsplit(", ", 1) == [ablation.shipped_recipe().rsplit(", ", 1)[0], expected_width]


def test_replace_section_rewrites_only_its_own_section():
    text = (
        "# Benchmarks\n\nintro\n\n"
        "<!-- bench:eval:start -->\nold eval\n<!-- bench:eval:end -->\n\n"
        "hand-written\n\n"
        "<!-- bench:models:start -->\nmodels body\n<!-- bench:models:end -->\n"
    )
    out = benchlib.replace_section(text, "eval", "## new eval\n")
    assert out == text.replace("old eval", "## new eval")
    # Idempotent: the same body again changes nothing.
    assert benchlib.replace_section(out, "eval", "## new eval\n") == out


def test_replace_section_appends_a_missing_section():
    start, end = benchlib.markers("tracking")
    assert benchlib.replace_section("", "tracking", "body") == f"{start}\nbody\n{end}\n"
    out = benchlib.replace_section("# Benchmarks\n", "tracking", "body")
    assert out == f"# Benchmarks\n\n{start}\nbody\n{end}\n"
    out = benchlib.replace_section("# Benchmarks", "tracking", "body")
    assert out == f"# Benchmarks\n\n{start}\nbody\n{end}\n"


@pytest.mark.parametrize(
    "text",
    [
        "<!-- bench:eval:start -->\nno end\n",
        "no start\n<!-- bench:eval:end -->\n",
        "<!-- bench:eval:end -->\n<!-- bench:eval:start -->\n",
    ],
)
def test_replace_section_refuses_broken_markers(text):
    with pytest.raises(ValueError):
        benchlib.replace_section(text, "eval", "body")


def test_update_docs_creates_then_updates_the_page(tmp_path):
    page = tmp_path / "docs" / "benchmarks.md"
    first = benchlib.BenchResult(name="eval", title="Eval", table="| a |\n|---|\n| 1 |\n")
    benchlib.update_docs(page, first)
    assert page.read_text().startswith("# Benchmarks")
    second = benchlib.BenchResult(name="eval", title="Eval", table="| a |\n|---|\n| 2 |\n", notes=["n"])
    benchlib.update_docs(page, second)
    text = page.read_text()
    assert "| 2 |" in text and "| 1 |" not in text and "- n" in text
    assert list(page.parent.iterdir()) == [page]  # no temporary file left behind


def test_oracle_ids_give_each_box_the_identity_of_the_gt_box_it_overlaps(tmp_path):
    oracle = importlib.import_module("oracle_ids")
    # frame 1: gt 7 and 9; the tracker swapped them (ids 1, 2) and has a false positive far away (id 3)
    # frame 2: gt 7 only; the tracker's box overlaps it at IoU 0.33 (< 0.5): no identity to take
    gt = tmp_path / "gt.txt"
    gt.write_text("1,7,0,0,10,10,1,1,1\n1,9,20,0,10,10,1,1,1\n2,7,0,0,10,10,1,1,1\n2,8,50,50,5,5,0,1,1\n")
    result = tmp_path / "result.txt"
    result.write_text(
        "1,2,1,0,10,10,0.9,-1,-1\n1,1,21,0,10,10,0.8,-1,-1\n1,3,60,60,10,10,0.7,-1,-1\n"
        "2,1,5,0,10,10,0.9,-1,-1\n2,4,50,50,5,5,0.9,-1,-1\n"
    )
    out = tmp_path / "out.txt"
    oracle.with_gt_identities(result, gt, out)
    rows = [line.split(",")[:2] for line in out.read_text().splitlines()]
    # gt ids kept where paired; unpaired boxes (the false positive; the weak overlap; the box on the
    # "not considered" gt row 8) get fresh ids above every gt id, one each
    assert rows == [["1", "7"], ["1", "9"], ["1", "10"], ["2", "11"], ["2", "12"]]


def test_a_tracker_with_short_memory_gets_a_fresh_id_after_a_longer_gap(tmp_path):
    oracle = importlib.import_module("oracle_ids")
    # id 7 in frames 1, 2, 5 (2 frames missed) and 9 (3 missed); id 9 in frames 3 and 1 (rows unsorted)
    frames = np.array([9, 1, 3, 2, 5, 1])
    ids = np.array([7, 7, 9, 7, 7, 9])
    forgotten = oracle.forget_after_gaps(frames, ids, max_missed=2, first_new=20)
    assert forgotten.tolist() == [20, 7, 9, 7, 7, 9]
    assert oracle.forget_after_gaps(frames, ids, max_missed=3, first_new=20).tolist() == ids.tolist()
    # no missed frame allowed: id 7 keeps frames 1-2, then 5 and 9 are new; id 9's frame 3 is new too
    # (fresh ids numbered in (id, frame) order)
    assert oracle.forget_after_gaps(frames, ids, max_missed=0, first_new=20).tolist() == [21, 7, 22, 7, 20, 9]
    nothing = np.zeros(0, dtype=np.int64)
    assert oracle.forget_after_gaps(nothing, nothing, max_missed=2, first_new=20).shape == (0,)
    # through with_gt_identities: the paired box's gt id 7 is forgotten over the 3-frame gap
    gt = tmp_path / "gt.txt"
    gt.write_text("1,7,0,0,10,10,1,1,1\n5,7,0,0,10,10,1,1,1\n")
    result = tmp_path / "result.txt"
    result.write_text("1,1,0,0,10,10,0.9,-1,-1\n5,1,0,0,10,10,0.9,-1,-1\n")
    out = tmp_path / "out.txt"
    oracle.with_gt_identities(result, gt, out, max_missed=2)
    assert [line.split(",")[:2] for line in out.read_text().splitlines()] == [["1", "7"], ["5", "8"]]
    oracle.with_gt_identities(result, gt, out, max_missed=3)
    assert [line.split(",")[:2] for line in out.read_text().splitlines()] == [["1", "7"], ["5", "7"]]


def test_iou_identities_relabel_a_tracker_output_by_overlap_alone(tmp_path):
    oracle = importlib.import_module("oracle_ids")
    # two boxes drifting right; the tracker swapped their ids every frame; frame 3 has no rows, so the
    # IoU tracker ends both tracks there and frame 4's boxes start new ones
    result = tmp_path / "result.txt"
    result.write_text(
        "1,1,0,0,10,10,0.9,-1,-1\n1,2,40,0,10,10,0.8,-1,-1\n"
        "2,2,1,0,10,10,0.7,-1,-1\n2,1,41,0,10,10,0.6,-1,-1\n"
        "4,5,2,0,10,10,0.5,-1,-1\n4,6,42,0,10,10,0.4,-1,-1\n"
    )
    out = tmp_path / "out.txt"
    oracle.with_iou_identities(result, out)
    rows = [line.split(",")[:7] for line in out.read_text().splitlines()]
    ids = {(row[0], row[2]): row[1] for row in rows}  # (frame, x) -> id
    assert ids["1", "0.00"] == ids["2", "1.00"] and ids["1", "40.00"] == ids["2", "41.00"]
    assert ids["1", "0.00"] != ids["1", "40.00"]
    assert not {ids["4", "2.00"], ids["4", "42.00"]} & {ids["1", "0.00"], ids["1", "40.00"]}
    scores = {(row[0], row[2]): float(row[6]) for row in rows}  # boxes and scores are kept
    assert scores == {("1", "0.00"): 0.9, ("1", "40.00"): 0.8, ("2", "1.00"): 0.7, ("2", "41.00"): 0.6,
                      ("4", "2.00"): 0.5, ("4", "42.00"): 0.4}  # fmt: skip
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    oracle.with_iou_identities(empty, tmp_path / "empty_out.txt")
    assert (tmp_path / "empty_out.txt").read_text() == ""


def test_box_errors_measure_each_side_against_the_paired_gt_box_by_visibility(tmp_path):
    errors = importlib.import_module("box_errors")
    # gt: a 20x40 box seen whole (visibility 0.9), a 10x40 box half hidden (0.4), a "not considered" row
    gt = tmp_path / "gt.txt"
    gt.write_text(
        "1,1,0,0,20,40,1,1,0.9\n1,2,100,0,10,40,1,1,0.4\n1,3,200,0,10,10,0,1,1\n"
        "2,1,0,0,40,40,1,1,0.9\n2,2,100,0,10,40,1,1,0.4\n"
    )
    # results: the whole box 20% too wide on both sides (frame 1) and of the gt's width (frame 2); the
    # half-hidden one 4 px lower (dy = +0.1) then of the gt's height but at IoU < 0.5 (not paired); and
    # a box on the "not considered" row, which pairs with nothing
    result = tmp_path / "result.txt"
    result.write_text(
        "1,7,-2,0,24,40,0.9,-1,-1\n1,8,100,4,10,40,0.9,-1,-1\n1,9,200,0,10,10,0.9,-1,-1\n"
        "2,7,0,0,40,40,0.9,-1,-1\n2,8,106,0,10,40,0.9,-1,-1\n"
    )
    pairs = errors.paired_errors(result, gt)
    assert pairs.shape == (3, 7)
    summary = errors.box_errors(pairs, edges=(0.0, 0.5, 1.01))
    hidden, whole = summary
    assert (hidden.count, whole.count) == (1, 2)
    np.testing.assert_allclose(hidden.bias, (0.0, 0.1, 0.0, 0.0), atol=1e-12)
    np.testing.assert_allclose(hidden.mean_iou, 36 / 44)
    np.testing.assert_allclose(whole.bias, (-0.05, 0.0, 0.1, 0.0), atol=1e-12)
    np.testing.assert_allclose(whole.spread, (0.05, 0.0, 0.1, 0.0), atol=1e-12)
    np.testing.assert_allclose(whole.mean_iou, (20 / 24 + 1) / 2)
    # gt aspects 0.5 and 1.0, result aspects 0.6 and 1.0: they rise together
    np.testing.assert_allclose(whole.aspect_correlation, 1.0)
    assert np.isnan(hidden.aspect_correlation)  # one pair has no correlation
    table = errors.format_table(summary)
    assert "| 0.5-1.0 | 2 | 0.917 | -0.050 / +0.000 / +0.100 / +0.000 |" in table


def _moving_box_split(root: Path, missed: set[int]) -> None:
    """A one-sequence split ``root/train``: one box moving 3 px right per frame for 12 frames at 10
    frames/s, absent from the gt on the ``missed`` frames."""
    folder = root / "train" / "seq-0"
    (folder / "gt").mkdir(parents=True)
    rows = [f"{t},1,{10 + 3 * t},20,20,40,1,1,1\n" for t in range(1, 13) if t not in missed]
    (folder / "gt" / "gt.txt").write_text("".join(rows))
    (folder / "seqinfo.ini").write_text("[Sequence]\nname=seq-0\nframeRate=10\nseqLength=12\n")
    (root / "train_seqmap.txt").write_text("name\nseq-0\n")


def test_overlap_reference_counts_a_box_whose_best_earlier_overlap_is_another_object():
    clean = importlib.import_module("fdta_clean_id_accuracy")
    from discmot.data.sequences import SequenceIndex, SequenceRecord

    # frame 1: objects 1 and 2 far apart; frame 2: object 1 stays, object 2 lands next to object 1's
    # place (IoU 2/3 with it, 0 with its own earlier box): one of the two boxes is misled
    boxes = np.array([[0, 0, 10, 10], [50, 0, 10, 10], [0, 0, 10, 10], [2, 0, 10, 10]], dtype=np.float64)
    record = SequenceRecord(
        name="train/s",
        image_files=(Path("1.jpg"), Path("2.jpg")),
        boxes=boxes,
        ids=np.array([1, 2, 1, 2]),
        offsets=np.array([0, 2, 4]),
        legal=np.array([True, True]),
    )
    assert clean.overlap_accuracy(SequenceIndex([record])) == (0.5, 2)


def test_clean_id_accuracy_runs_a_model_on_clips_without_augmentation(tmp_path):
    clean = importlib.import_module("fdta_clean_id_accuracy")
    import torch

    from discmot.data.sequences import SequenceIndex
    from discmot.data.synth import generate_dataset
    from discmot.models.fdta.model import FDTA
    from discmot.models.fdta.recipe import load_recipe
    from discmot.models.fdta.training import FDTATraining

    generate_dataset(tmp_path, "tiny", split="train", sequences=1, frames=12, seed=1)
    recipe = load_recipe("tiny")
    index = SequenceIndex.from_root(tmp_path, "train")
    dataset, clips = clean.clean_clips(index, recipe, every=4)
    assert dataset.config.switch_prob == dataset.config.occlusion_prob == 0.0
    assert [clip.frames for clip in clips] == [tuple(range(s, s + 8)) for s in (0, 4)]
    torch.manual_seed(0)
    result = clean.label_accuracy(FDTATraining(FDTA(recipe.model), recipe.step).eval(), dataset, clips)
    assert result["tokens"] > 0 and 0.0 <= result["accuracy"] <= 1.0
    assert list(result["by_frame"]) == list(range(2, 9))


def test_gt_reference_trackers_keep_an_identity_across_a_gap_only_with_motion(tmp_path):
    gt_trackers = importlib.import_module("gt_trackers")
    # frames 6-8 missing: the box is 12 px (more than half its width) further on when it comes back
    _moving_box_split(tmp_path, missed={6, 7, 8})
    for name in gt_trackers.TRACKERS:
        gt_trackers.track_gt_split(tmp_path, "train", tmp_path / name, seed=0, tracker=name)
    iou = np.loadtxt(tmp_path / "iou" / "seq-0.txt", delimiter=",")
    kalman = np.loadtxt(tmp_path / "kalman" / "seq-0.txt", delimiter=",")
    # the IoU tracker outputs every box and starts a new identity after the gap
    assert iou[:, 0].tolist() == [1, 2, 3, 4, 5, 9, 10, 11, 12]
    before, after = set(iou[iou[:, 0] <= 5, 1]), set(iou[iou[:, 0] >= 9, 1])
    assert len(before) == 1 and len(after) == 1 and before.isdisjoint(after)
    # the Kalman tracker labels the same boxes and re-finds the box by its predicted motion
    np.testing.assert_allclose(kalman[:, [0, 2, 3, 4, 5]], iou[:, [0, 2, 3, 4, 5]])
    assert len(set(kalman[:, 1])) == 1
    # with a one-frame memory (a gap of 3 frames is longer) it starts a new identity too
    frames, boxes = iou[:, 0].astype(np.int64), iou[:, 2:6]
    assert len(set(gt_trackers.kalman_track_boxes(frames, boxes, 12, max_missed=1))) == 2
    assert len(set(gt_trackers.kalman_track_boxes(frames, boxes, 12, max_missed=3))) == 1
    with pytest.raises(ValueError, match="unknown reference tracker"):
        gt_trackers.track_gt_split(tmp_path, "train", tmp_path / "x", seed=0, tracker="sort")


def test_training_rate_and_peak_memory_from_a_run_log(tmp_path):
    bench = run_all.load("fdta_train")
    lines = [
        {"step": 5, "elapsed_s": 10.0, "max_rss_mib": 500.0},
        {"step": 15, "elapsed_s": 14.0, "max_rss_mib": 720.0},
    ]
    (tmp_path / "metrics.jsonl").write_text("".join(f"{json.dumps(line)}\n" for line in lines))
    cpu = bench.logged_rate(tmp_path)  # first logged step to last: 10 iterations in 4 s
    assert cpu == {"iterations": 15, "it_per_s": 2.5, "peak_memory_mib": 720.0}
    lines[-1]["max_memory_mib"] = 3000.0  # a CUDA run logs the GPU's peak, which is the one reported
    (tmp_path / "metrics.jsonl").write_text("".join(f"{json.dumps(line)}\n" for line in lines))
    assert bench.logged_rate(tmp_path)["peak_memory_mib"] == 3000.0


def test_gpu_training_rate_is_taken_over_the_last_epoch_and_memory_over_all(tmp_path):
    bench = run_all.load("gpu_train")
    lines = [
        {"step": 2, "epoch": 0, "elapsed_s": 3.0, "max_memory_mib": 9000.0},
        {"step": 20, "epoch": 0, "elapsed_s": 30.0, "max_memory_mib": 9500.0},
        {"step": 22, "epoch": 1, "elapsed_s": 40.0, "max_memory_mib": 9400.0},
        {"step": 42, "epoch": 1, "elapsed_s": 50.0, "max_memory_mib": 9450.0},
    ]
    (tmp_path / "metrics.jsonl").write_text("".join(f"{json.dumps(line)}\n" for line in lines))
    # Epoch 1 alone: 20 iterations in 10 s; the peak is the largest logged anywhere.
    assert bench.last_epoch_rate(tmp_path) == {
        "it_per_s": 2.0,
        "timed_iterations": 20,
        "peak_memory_mib": 9500.0,
    }


def test_result_rows_are_compared_by_frame_and_id(tmp_path):
    bench = run_all.load("gpu_inference")
    reference, candidate = tmp_path / "ref.txt", tmp_path / "cand.txt"
    reference.write_text(
        "1,1,10,10,20,40,0.9,-1,-1,-1\n1,2,50,10,20,40,0.8,-1,-1,-1\n2,1,12,10,20,40,0.9,-1,-1,-1\n"
    )
    # frame 1 id 1 moved by 0.5 px, ids 1 and 2 swapped in frame 2's only row (so it has no partner), plus
    # an extra row in frame 3
    candidate.write_text(
        "1,1,10.5,10,20,40,0.9,-1,-1,-1\n1,2,50,10,20,40,0.8,-1,-1,-1\n2,2,12,10,20,40,0.9,-1,-1,-1\n3,5,1,1,5,5,0.5,-1,-1,-1\n"
    )
    assert bench.compare_results(reference, candidate) == {
        "same_id_share": 2 / 3,
        "extra_rows": 2,
        "max_px": 0.5,
        "median_px": 0.25,
    }
    assert bench.compare_results(reference, reference)["same_id_share"] == 1.0


def test_a_skipped_benchmark_leaves_its_section_and_the_exit_status_alone(tmp_path, monkeypatch):
    docs = tmp_path / "benchmarks.md"
    docs.write_text(
        "# page\n<!-- bench:gpu_train:start -->\nmeasured on a GPU\n<!-- bench:gpu_train:end -->\n"
    )
    before = docs.read_text()

    class NoGpu:
        @staticmethod
        def run(quick):
            raise benchlib.Skipped("no GPU here")

    monkeypatch.setattr(run_all, "load", lambda name: NoGpu)
    assert run_all.main(["--only", "gpu_train", "--docs", str(docs)]) == 0
    assert docs.read_text() == before


def test_the_assignment_benchmark_checks_every_protocols_labelling():
    bench = run_all.load("fdta_assignment")
    result = bench.run(quick=True)
    assert result.ok and set(result.data) == set(bench.DETECTIONS)
    assert set(result.data[10]) == {"object-max_us", "hungarian", "id-max"}
    probs, history = bench.frames(1, 3, seed=0)
    import torch

    duplicate = torch.tensor([next(iter(history)), next(iter(history)), bench.LABELS])
    assert not bench.valid(duplicate, probs[0], history)  # a label given twice is caught


def test_timed_children_may_write_bytecode_caches_as_a_users_python_does(tmp_path, monkeypatch):
    """A warm-up run must leave the bytecode caches every timed run (and every user) reads, whatever the
    shell that runs the benchmark sets."""
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    probe = [sys.executable, "-c", "import sys; sys.exit(3 if sys.dont_write_bytecode else 0)"]
    assert benchlib.run_child(probe, tmp_path / "a.log").returncode == 0
    given = {"PYTHONDONTWRITEBYTECODE": "1", "PATH": "/usr/bin:/bin"}
    assert benchlib.run_child(probe, tmp_path / "b.log", env=given).returncode == 0
