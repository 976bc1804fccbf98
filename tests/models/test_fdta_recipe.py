"""FDTA training recipes and ``discmot train``: the shipped recipes carry the spec's per-dataset values
(``fdta.md`` §6.2), overrides and adapter switches reach the typed configs, bad recipes are refused with
the file named, and the command trains a run folder whose weights the tracker loads.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest
import yaml

from discmot.cli import main
from discmot.data.synth import generate_dataset
from discmot.models.fdta.checkpoint import load_fdta
from discmot.models.fdta.recipe import RecipeError, builtin_recipes, load_recipe

# spec fdta.md §6.2: sample length, epochs, milestones, warm-up, depth foreground weight, depth bins
PAPER = {
    "dancetrack": (30, 13, (6, 9), 1, 6, 150),
    "sportsmot": (60, 13, (8, 12), 1, 7, 150),
    "bft": (20, 22, (16, 20), 2, 10, 120),
}


@pytest.mark.parametrize("name", sorted(PAPER))
def test_paper_recipes_carry_the_spec_values(name):
    recipe = load_recipe(name)
    length, epochs, milestones, warmup, fg_weight, bins = PAPER[name]
    assert recipe.clips.sample_length == length == recipe.model.id_decoder.rel_pe_length
    assert (recipe.train.epochs, recipe.train.milestones, recipe.train.warmup_epochs) == (
        epochs,
        milestones,
        warmup,
    )
    assert recipe.step.depth_fg_weight == fg_weight
    assert recipe.model.spatial.bins == bins
    assert (recipe.train.lr, recipe.train.max_grad_norm, recipe.train.separate_clip) == (1e-4, 0.1, "detr")
    assert recipe.train.no_clip == ("criterion.",)
    assert (recipe.step.train_frames, recipe.step.checkpoint_frames, recipe.clips.num_groups) == (4, 5, 6)
    assert recipe.clips.augment.scales == tuple(range(480, 801, 32))


def test_builtin_list_includes_the_cpu_recipe():
    assert set(builtin_recipes()) >= {"dancetrack", "sportsmot", "bft", "tiny"}


@pytest.mark.parametrize("name", sorted(PAPER))
def test_detr_pretraining_recipes_carry_motips_stage(name):
    """spec fdta.md §4.6: ONLY_DETR, SAMPLE_LENGTHS [1], DETR_NUM_TRAIN_FRAMES 100, BATCH_SIZE 2, lr 1e-4,
    no warm-up, 20 epochs with the decay at 15 (60 and 45 for BFT); the dataset's detector otherwise."""
    recipe, full = load_recipe(f"{name}_detr"), load_recipe(name)
    assert recipe.step.only_detr and not full.step.only_detr
    assert (recipe.clips.sample_length, recipe.step.train_frames, recipe.train.batch_size) == (1, 100, 2)
    epochs, milestones = (60, (45,)) if name == "bft" else (20, (15,))
    schedule = (recipe.train.epochs, recipe.train.milestones, recipe.train.warmup_epochs)
    assert schedule == (epochs, milestones, 0)
    assert recipe.train.lr == 1e-4 and recipe.step.depth_fg_weight == full.step.depth_fg_weight
    assert recipe.model.detr == full.model.detr and recipe.model.spatial == full.model.spatial


def test_adapter_switches_reach_model_data_and_loss():
    recipe = load_recipe(
        "tiny", ["adapters.spatial=false", "adapters.temporal=false", "adapters.identity=false"]
    )
    assert not recipe.model.spatial.enabled and not recipe.clips.depth
    assert not recipe.model.temporal.enabled
    assert not recipe.step.identity_adapter
    full = load_recipe("tiny")
    assert full.model.spatial.enabled and full.clips.depth and full.step.identity_adapter


def test_model_section_changes_the_architecture_and_the_id_tables_follow():
    recipe = load_recipe("tiny", ["model.id_decoder.num_id_vocabulary=20", "model.detr.num_queries=30"])
    assert recipe.model.id_decoder.num_id_vocabulary == 20 == recipe.clips.num_id_vocabulary
    assert recipe.model.detr.num_queries == 30
    with pytest.raises(RecipeError, match="not a sub-config"):
        load_recipe("tiny", ["model.name=x"])


def test_overrides_are_yaml_values():
    recipe = load_recipe("tiny", ["train.epochs=2", "train.milestones=[1]", "augment.scales=[96, 112]"])
    assert recipe.train.epochs == 2 and recipe.train.milestones == (1,)
    assert recipe.clips.augment.scales == (96, 112)


@pytest.mark.parametrize(("text", "value"), [("6e-4", 6e-4), ("1E+2", 100.0), ("+2.5e-3", 2.5e-3), ("3", 3)])
def test_exponent_numbers_without_a_dot_are_numbers(tmp_path, text, value):
    # PyYAML's YAML 1.1 rules read "6e-4" as a string; a learning rate written that way used to crash
    # the optimizer ("can't multiply sequence by non-int of type 'float'") instead of training.
    assert load_recipe("tiny", [f"train.lr={text}"]).train.lr == value
    path = tmp_path / "recipe.yaml"
    path.write_text(f"preset: tiny\ntrain: {{lr: {text}, weight_decay: 5e-4}}\n")
    recipe = load_recipe(path)
    assert (recipe.train.lr, recipe.train.weight_decay) == (value, 5e-4)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.lr=fast", "wrong value type: train.lr='fast' \\(expected float"),
        ("train.epochs=2.5", "epochs=2.5 \\(expected int\\)"),
        ("clips.num_groups=two", "wrong value type: clips.num_groups"),
        ("step.train_frames=true", "wrong value type: step.train_frames=True"),
        ("model.detr.hidden_dim=64.0", "wrong value type: model.detr.hidden_dim"),
        ("adapters.temporal=flase", "adapters: temporal='flase': expected true or false"),
        ("schedule=dancetrak", "unknown schedule 'dancetrak'; choose from dancetrack, sportsmot, bft"),
        (
            "clips.sample_lenght=4",
            "unknown clips key\\(s\\) sample_lenght \\(did you mean sample_length\\?\\); "
            "known: sample_length",
        ),
        (
            "step.train_frame=2",
            "unknown step key\\(s\\) train_frame \\(did you mean train_frames\\?\\); known: train_frames",
        ),
        (
            "model.detr.hidden=3",
            "unknown model.detr key\\(s\\) hidden \\(did you mean hidden_dim\\?\\); known: hidden_dim",
        ),
        ("model.id_decoder.num_id_vocabulary=0", "IDDecoderConfig: num_id_vocabulary=0: must be at least 1"),
        ("model.detr.num_heads=5", "hidden_dim \\(64\\) must be a multiple of num_heads \\(5\\)"),
    ],
)
def test_bad_values_and_keys_are_refused_naming_them(override, message):
    with pytest.raises(RecipeError, match=f"built-in recipe 'tiny'.*{message}"):
        load_recipe("tiny", [override])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("preset: tiny\nbogus: 1\n", "unknown section"),
        ("preset: tiny\ntrain: {epoch: 3}\n", "unknown train key\\(s\\) epoch"),
        ("preset: tiny\nadapters: {depth: false}\n", "unknown adapter"),
        ("preset: nosuch\n", "unknown FDTA preset"),
        ("preset: [tiny\n", "not valid YAML"),
        ("- a list\n", "mapping of sections"),
    ],
)
def test_bad_recipes_name_the_file(tmp_path, text, message):
    path = tmp_path / "recipe.yaml"
    path.write_text(text)
    with pytest.raises(RecipeError, match=message) as error:
        load_recipe(path)
    assert str(path) in str(error.value)


def test_unknown_recipe_lists_the_builtins():
    with pytest.raises(RecipeError, match="dancetrack"):
        load_recipe("no-such-recipe")


def test_cli_train_writes_weights_the_tracker_loads(tmp_path, capsys):
    root = tmp_path / "data"
    generate_dataset(root, "tiny", split="train", sequences=1, frames=10, seed=2)
    run = tmp_path / "run"
    argv = [
        "-q",
        "train",
        "--config",
        "tiny",
        "--data-root",
        str(root),
        "--run-dir",
        str(run),
        "--device",
        "cpu",
    ]
    argv += ["--set", "train.epochs=1", "--set", "clips.sample_length=3", "--set", "augment.scales=[64]"]
    argv += ["--set", "step.train_frames=2", "--set", "train.progress=false"]
    assert main(argv) == 0
    model = load_fdta(run / "model.safetensors")
    assert model.config.name == "tiny"
    assert "clips:" in (run / "config.yaml").read_text()
    # --print-config prints the values the run recorded, without a data root or a run folder
    capsys.readouterr()
    assert main(["train", "--config", "tiny", *argv[argv.index("--set") :], "--print-config"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    recorded = yaml.safe_load((run / "config.yaml").read_text())
    # unset (null) in the recipe, decided by the device when the run starts: on for the CPU
    assert printed["train"].pop("deterministic") is None and recorded["train"].pop("deterministic") is True
    common = set(printed) & set(recorded)
    assert {"model", "clips", "step", "train"} <= common
    assert {key: printed[key] for key in common} == {key: recorded[key] for key in common}
    # a second start on the same folder without --resume is refused, nothing is overwritten
    before = (run / "model.safetensors").read_bytes()
    assert main(argv) == 2
    assert "already holds checkpoints (epoch-000.pt); continue it with --resume" in capsys.readouterr().err
    assert (run / "model.safetensors").read_bytes() == before


def test_cli_train_reports_a_missing_split(tmp_path, capsys):
    assert main(["train", "--config", "tiny", "--data-root", str(tmp_path)]) == 2
    assert "split folder not found" in capsys.readouterr().err
    # one's own sequences with no split folder above them: the flags that read them
    generate_dataset(tmp_path / "data", "tiny", split="mine", sequences=1, frames=8, seed=2)
    assert main(["train", "--config", "tiny", "--data-root", str(tmp_path / "data" / "mine")]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.endswith(f"holds sequence folders itself: --data-root {tmp_path / 'data'} --set split=mine")


def test_training_setup_names_a_sequence_that_gives_no_clip(tmp_path, caplog):
    """`fdta_setup` says which sequences are not trained on (gt on every 5th frame: no clip)."""
    from discmot.models.fdta.training import fdta_setup

    root = tmp_path / "data"
    generate_dataset(root, "tiny", split="train", sequences=2, frames=12, seed=2)
    gt = root / "train" / "tiny-train-0001" / "gt" / "gt.txt"
    gt.write_text("".join(r + "\n" for r in gt.read_text().splitlines() if int(r.split(",")[0]) % 5 == 1))
    recipe = load_recipe("tiny", ["clips.sample_length=3"])
    with caplog.at_level("WARNING"):
        fdta_setup(recipe.model, root, recipe.split, recipe.clips, recipe.step)(None)
    assert "train/tiny-train-0001 (3 of 12 frames legal)" in caplog.text


def test_several_split_folders_train_together(tmp_path, capsys):
    """``split: [train, val]`` (the original's DATASET_SPLITS; what a test-server submission trains on)."""
    from discmot.models.fdta.training import fdta_setup

    root = tmp_path / "data"
    generate_dataset(root, "tiny", split="train", sequences=1, frames=10, seed=2)
    generate_dataset(root, "tiny", split="val", sequences=2, frames=8, seed=3)
    recipe = load_recipe("tiny", ["split=[train, val]", "clips.sample_length=3"])
    assert recipe.split == ("train", "val") and load_recipe("tiny").split == ("train",)
    setup = fdta_setup(recipe.model, root, recipe.split, recipe.clips, recipe.step)(None)
    names = [record.name for record in setup.dataset.index.records]
    assert names == ["train/tiny-train-0000", "val/tiny-val-0000", "val/tiny-val-0001"]
    for bad, message in (("split=[]", "a folder name or a list"), ("split=[val, val]", "named twice")):
        with pytest.raises(RecipeError, match=message):
            load_recipe("tiny", [bad])
    argv = ["train", "--config", "tiny", "--data-root", str(root), "--set", "split=[train, test]"]
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert "test: split folder not found" in error and "split folders here: train, val" in error


def test_a_custom_recipe_takes_its_dataset_presets_defaults():
    from discmot.models.fdta.recipe import resolve

    bft = resolve("custom", {"preset": "bft"})
    assert bft.step.depth_fg_weight == 10 and bft.train.epochs == 22
    assert tuple(bft.train.milestones) == (16, 20) and bft.train.warmup_epochs == 2
    assert resolve("custom", {"preset": "sportsmot"}).step.depth_fg_weight == 7
    assert resolve("custom", {"preset": "tiny"}).train.epochs == 13  # no dataset of its own: dancetrack's
    explicit = resolve("custom", {"preset": "bft", "step": {"depth_fg_weight": 3}, "schedule": "dancetrack"})
    assert explicit.step.depth_fg_weight == 3 and explicit.train.epochs == 13


def test_the_spatial_adapter_without_depth_maps_is_an_error():
    from discmot.models.fdta.recipe import resolve

    with pytest.raises(ValueError, match="clips.depth is false"):
        resolve("custom", {"preset": "tiny", "clips": {"depth": False}})
    without = resolve("custom", {"preset": "tiny", "adapters": {"spatial": False}})
    assert not without.clips.depth and not without.model.spatial.enabled


def test_the_clip_interval_reaches_the_training_sampler(tmp_path):
    from discmot.models.fdta.training import fdta_setup

    root = tmp_path / "data"
    generate_dataset(root, "tiny", split="train", sequences=1, frames=40, seed=2)
    assert load_recipe("tiny").clips.max_interval == 4  # SAMPLE_INTERVALS of every original config

    def steps(overrides):
        recipe = load_recipe("tiny", ["clips.sample_length=4", *overrides])
        setup = fdta_setup(recipe.model, root, recipe.split, recipe.clips, recipe.step)(None)
        return {clip.frames[1] - clip.frames[0] for clip in setup.sampler_factory(0, 0, 1, 0)}

    assert max(steps([])) == 4
    wide = steps(["clips.max_interval=12"])
    assert max(wide) > 4 and wide <= set(range(1, 13))


def test_the_same_command_twice_on_a_cpu_writes_the_same_weights_file(tmp_path):
    """Reproducible by default on the CPU: two runs of one `discmot train` command leave byte-identical
    weights. At the recipe's own frame size the gradients of indexed reads (``x[index]``) add up in a
    varying order with 2 threads unless deterministic kernels are on, so the files parted within the
    first epoch; the run records the setting it used."""
    root = tmp_path / "data"
    generate_dataset(root, "dancetrack", split="train", sequences=1, frames=14, size=(256, 160), seed=0)
    argv = ["-q", "train", "--config", "tiny", "--data-root", str(root), "--device", "cpu"]
    argv += ["--set", "train.epochs=1", "--set", "train.milestones=[1]", "--set", "train.warmup_epochs=0"]
    argv += ["--set", "train.progress=false"]
    runs = [tmp_path / "first", tmp_path / "second", tmp_path / "from-recipe"]
    for run in runs[:2]:
        assert main([*argv, "--run-dir", str(run)]) == 0
    # the run folder's recipe.yaml (the recipe with the --set flags applied) repeats the run alone
    again = ["-q", "train", "--config", str(runs[0] / "recipe.yaml"), "--data-root", str(root)]
    assert main([*again, "--device", "cpu", "--run-dir", str(runs[2])]) == 0
    first, second, third = ((run / "model.safetensors").read_bytes() for run in runs)
    assert first == second == third
    assert "deterministic: true" in (runs[0] / "config.yaml").read_text()


def test_the_papers_scales_on_small_frames_are_warned_about(tmp_path, caplog):
    """A recipe of only ``preset: tiny`` keeps the paper's augmentation (shorter sides 480-800, for
    1080p video): on 80-pixel synthetic frames that is 10 times larger, and said before training."""
    from discmot.models.fdta.recipe import resolve
    from discmot.models.fdta.training import fdta_setup

    root = tmp_path / "data"
    generate_dataset(root, "tiny", split="train", sequences=1, frames=8, seed=2)  # 128x80 frames
    for raw, warned in (
        ({"preset": "tiny"}, True),
        ({"preset": "tiny", "augment": {"scales": [64, 80]}}, False),
    ):
        recipe = resolve("custom", raw)
        with caplog.at_level("WARNING", logger="discmot"):
            caplog.clear()
            fdta_setup(recipe.model, root, recipe.split, recipe.clips, recipe.step)(None)
        assert ("augment.scales up to 800 upscale these 80-pixel frames 10.0 times" in caplog.text) == warned


def test_unreadable_recipe_files_are_one_line_errors_with_the_place(tmp_path):
    cases = {
        "syntax.yaml": (b"preset: tiny\ntrain: {epochs: 2, lr: [1,\n", r"syntax.yaml:3:1: not valid YAML: "),
        "twice.yaml": (
            b"preset: tiny\ntrain: {epochs: 2}\ntrain: {epochs: 3}\n",
            "twice.yaml:3:1: not valid YAML: key 'train' appears twice",
        ),
        "binary.yaml": (bytes(range(128, 256)), "binary.yaml: not a UTF-8 text file"),
        "listkey.yaml": (
            b"preset: tiny\n? [1]\n: 3\n",
            "listkey.yaml:2:3: not valid YAML: found unhashable key",
        ),
    }
    for name, (content, words) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(RecipeError, match=words) as error:
            load_recipe(tmp_path / name)
        assert "\n" not in str(error.value)
    # YAML merge keys are not keys written twice: the mapping's own value wins, as in YAML
    (tmp_path / "merge.yaml").write_text(
        "preset: tiny\nclips: &clips {sample_length: 4, num_groups: 2}\n"
        "augment: {scales: [64]}\nstep: {<<: {train_frames: 2, checkpoint_frames: 0}, train_frames: 3}\n"
    )
    assert load_recipe(tmp_path / "merge.yaml").step.train_frames == 3
    with pytest.raises(RecipeError, match=r"--set 'train.lr=\[1,':1:4: not valid YAML"):
        load_recipe("tiny", ["train.lr=[1,"])
    for override, words in (
        ("train.lr=-1", "lr=-1"),
        ("train.epochs=0", "epochs=0"),
        ("augment.scales=[]", "augment.scales"),
    ):
        with pytest.raises(RecipeError, match=re.escape(words)):
            load_recipe("tiny", [override])


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs process groups")
def test_training_with_workers_stopped_by_a_group_sigterm_ends_without_a_traceback(tmp_path):
    """timeout and job schedulers signal the whole process group: the DataLoader workers die of the
    SIGTERM too, and torch would report their deaths with a traceback while the stopping run shuts its
    loader down. The run ends as any SIGTERM'd verb: one line, status 143, its checkpoints whole."""
    root = tmp_path / "data"
    generate_dataset(root, "tiny", split="train", sequences=1, frames=10, seed=2)
    run = tmp_path / "run"
    command = [sys.executable, "-m", "discmot", "train", "--config", "tiny", "--data-root", str(root)]
    command += ["--run-dir", str(run), "--device", "cpu", "--set", "train.num_workers=2"]
    command += ["--set", "train.epochs=100", "--set", "clips.sample_length=3", "--set", "augment.scales=[64]"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    deadline = time.monotonic() + 120
    while not (run / "checkpoints" / "epoch-001.pt").exists():  # workers running, one epoch done
        assert proc.poll() is None, proc.communicate()[0][-2000:]
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGTERM)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, output[-2000:]
    assert "Traceback" not in output and "killed by signal" not in output, output[-3000:]
    # the last words: what stopped it, then where its newest checkpoint is and how to go on
    last_lines = output.rstrip().splitlines()[-2:]
    assert last_lines[0].endswith("discmot: terminated (SIGTERM)"), output[-2000:]
    assert "newest checkpoint:" in last_lines[1] and "--resume" in last_lines[1], output[-2000:]
