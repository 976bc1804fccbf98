"""Edge cases of the run folder (`discmot.engine.run_folder`, `discmot.engine.run_config`) that the training
tests leave open, on `RunFolder` directly (no training): metrics cut back on resume, the recipe's note on
the number of processes, what a resume writes and when, the lock, and what only rank 0 does.

Expected values are hand calculations or the module docstrings' examples, never outputs of the code under
test.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

import discmot
from discmot.engine.run_config import (
    DataclassWithExtras,
    changed_on_resume,
    config_changes,
    describe_changes,
    join_changes,
    own_recipe_hint,
    plain,
    recipe_changes,
)
from discmot.engine.run_environment import (
    cpu_model,
    environment,
    file_record,
    git_revision,
    launcher,
    usable_cores,
)
from discmot.engine.run_folder import RunFolder, read_metrics, recipe_for_processes

NOTE_2 = (
    "# trained in 2 processes (train.batch_size each): repeat it in as many, e.g.\n"
    "#   torchrun --nproc_per_node 2 -m discmot train --config RUN/recipe.yaml --data-root ...\n"
)


def metrics_lines(*steps: int) -> str:
    return "".join(json.dumps({"step": s, "loss": 1.0}) + "\n" for s in steps)


def test_the_process_note_goes_after_the_header_comments_or_first_or_last():
    """The note is a second comment block after the recipe's header comments: before the first line
    when there is no header, at the end when the recipe is all comments."""
    assert recipe_for_processes("preset: tiny\n", 2) == NOTE_2 + "preset: tiny\n"
    assert recipe_for_processes("# a\n# b\n", 2) == "# a\n# b\n" + NOTE_2
    assert recipe_for_processes("# a\npreset: tiny\n# c\n", 2) == "# a\n" + NOTE_2 + "preset: tiny\n# c\n"


def test_read_metrics_skips_blank_lines(tmp_path):
    (tmp_path / "metrics.jsonl").write_text(metrics_lines(1) + "\n  \n" + metrics_lines(2))
    assert [line["step"] for line in read_metrics(tmp_path)] == [1, 2]


def test_a_resume_keeps_the_metrics_up_to_its_step_and_drops_a_line_cut_short(tmp_path):
    """Steps repeated after a kill are not logged twice: lines of steps <= the resumed step stay (step 3
    itself too), later ones and a line a kill cut short go."""
    run = RunFolder(tmp_path)
    (tmp_path / "config.yaml").write_text("train: {epochs: 2}\n")
    (tmp_path / "metrics.jsonl").write_text(metrics_lines(1, 2, 3, 4, 5) + '{"step": 6, "lo')
    run.write_resume({"train": {"epochs": 2}}, {"world_size": 1}, tmp_path / "checkpoints" / "x.pt", step=3)
    assert [line["step"] for line in read_metrics(tmp_path)] == [1, 2, 3]


def test_a_fresh_start_drops_the_metrics_of_an_attempt_that_died_before_its_first_checkpoint(tmp_path):
    (tmp_path / "metrics.jsonl").write_text(metrics_lines(1, 2))
    RunFolder(tmp_path).write_start({"train": {"epochs": 1}}, {"world_size": 1})
    assert (tmp_path / "metrics.jsonl").read_text() == ""
    assert not (tmp_path / "tensorboard").exists()  # off unless asked for


def test_a_resume_into_a_new_folder_records_the_run_as_at_a_start_and_compares_with_the_checkpoints_run(
    tmp_path,
):
    """A checkpoint of another run continued in a new folder: the config is compared with the config of
    the run holding the checkpoint (``<run>/checkpoints/<file>`` -> ``<run>/config.yaml``), and the new
    folder gets config.yaml, recipe.yaml and environment.json as at a start, plus its resumes.jsonl line."""
    old = tmp_path / "old"
    (old / "checkpoints").mkdir(parents=True)
    (old / "config.yaml").write_text("train: {epochs: 2, lr: 0.1}\n")
    checkpoint = old / "checkpoints" / "epoch-001.pt"
    new = RunFolder(tmp_path / "new")
    config = {"train": {"epochs": 3, "lr": 0.1}}
    env = {"world_size": 2, "seed": 1}
    new.write_resume(config, env, checkpoint, step=12, recipe="train: {epochs: 3}\n")
    assert yaml.safe_load((tmp_path / "new" / "config.yaml").read_text()) == config
    assert (tmp_path / "new" / "recipe.yaml").read_text() == NOTE_2 + "train: {epochs: 3}\n"
    assert json.loads((tmp_path / "new" / "environment.json").read_text()) == env
    (line,) = (tmp_path / "new" / "resumes.jsonl").read_text().splitlines()
    assert json.loads(line) == {
        "world_size": 2,
        "seed": 1,
        "checkpoint": str(checkpoint),
        "step": 12,
        "config_changed": ["train.epochs"],
    }


def test_a_resume_with_no_earlier_config_anywhere_says_so(tmp_path, caplog):
    """Neither this folder nor the checkpoint's run folder has a config.yaml: nothing to compare, said
    at INFO; the config is written as this folder's."""
    checkpoint = tmp_path / "elsewhere" / "checkpoints" / "epoch-000.pt"
    with caplog.at_level(logging.INFO, logger="discmot"):
        RunFolder(tmp_path / "run").write_resume({"train": {"epochs": 2}}, {"world_size": 1}, checkpoint, 6)
    assert [r.getMessage() for r in caplog.records] == [
        f"resuming from {checkpoint}: no config of an earlier run to compare with"
    ]
    assert yaml.safe_load((tmp_path / "run" / "config.yaml").read_text()) == {"train": {"epochs": 2}}


def test_a_closed_folder_writes_the_metrics_of_a_later_resume_into_the_cut_file(tmp_path):
    """`close` lets go of metrics.jsonl: a resume of the same folder cuts it (a new file, written
    atomically) and its lines go into that file, not into the replaced one."""
    run = RunFolder(tmp_path)
    run.write_start({"train": {}}, {"world_size": 1})
    for step in (1, 2, 3):
        run.log({"step": step, "loss": 1.0})
    run.close()
    run.write_resume({"train": {}}, {"world_size": 1}, tmp_path / "x.pt", step=2)
    run.log({"step": 3, "loss": 0.5})
    run.close()
    assert [(line["step"], line["loss"]) for line in read_metrics(tmp_path)] == [(1, 1.0), (2, 1.0), (3, 0.5)]


def test_tensorboard_gets_the_numeric_values_but_the_positions_at_their_step(tmp_path):
    """With ``tensorboard: true`` every int or float of a metrics line but step, epoch and iteration is a
    scalar at that line's step; strings are left out."""
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = RunFolder(tmp_path, tensorboard=True)
    run.write_start({"train": {}}, {"world_size": 1})
    run.log({"step": 5, "epoch": 0, "iteration": 4, "loss": 0.5, "lr/default": 1e-4, "note": "x"})
    run.close()
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    assert sorted(events.Tags()["scalars"]) == ["loss", "lr/default"]
    (loss,) = events.Scalars("loss")
    assert (loss.step, loss.value) == (5, 0.5)


def test_a_changed_config_becomes_the_runs_only_with_the_first_checkpoint_after_the_resume(tmp_path, caplog):
    """A run stopped at the warning keeps its own config.yaml and recipe.yaml (the warning names them);
    the first checkpoint written after the resume records the new ones, once."""
    run = RunFolder(tmp_path)
    run.write_start({"train": {"epochs": 2}}, {"world_size": 1}, recipe="train: {epochs: 2}\n")
    (tmp_path / "environment.json").write_text('{"kept": true}\n')
    with caplog.at_level(logging.INFO, logger="discmot"):
        run.write_resume({"train": {"epochs": 5}}, {"world_size": 1}, tmp_path / "x", 6, recipe="new\n")
    assert "changed: train.epochs 2 -> 5" in caplog.text
    assert yaml.safe_load((tmp_path / "config.yaml").read_text()) == {"train": {"epochs": 2}}
    assert (tmp_path / "recipe.yaml").read_text() == "train: {epochs: 2}\n"
    assert json.loads((tmp_path / "environment.json").read_text()) == {"kept": True}  # the first start's

    run.checkpoint_written()
    assert yaml.safe_load((tmp_path / "config.yaml").read_text()) == {"train": {"epochs": 5}}
    assert (tmp_path / "recipe.yaml").read_text() == "new\n"
    (tmp_path / "recipe.yaml").write_text("mine\n")
    run.checkpoint_written()  # said once: a later checkpoint writes nothing
    assert (tmp_path / "recipe.yaml").read_text() == "mine\n"


def test_an_unchanged_resume_says_nothing_and_writes_no_config_at_its_checkpoints(tmp_path, caplog):
    run = RunFolder(tmp_path)
    run.write_start({"train": {"epochs": 2}}, {"world_size": 1}, recipe="train: {epochs: 2}\n")
    with caplog.at_level(logging.INFO, logger="discmot"):
        run.write_resume({"train": {"epochs": 2}}, {"world_size": 1}, tmp_path / "x.pt", 6, "other text\n")
    assert caplog.records == []
    run.checkpoint_written()
    assert (tmp_path / "recipe.yaml").read_text() == "train: {epochs: 2}\n"
    assert json.loads((tmp_path / "resumes.jsonl").read_text())["config_changed"] == []


def test_raising_the_early_stop_on_resume_is_said_at_info_not_warned(tmp_path, caplog):
    """``train.max_iterations`` changes on resume as a matter of course (the way on from an early stop):
    an INFO line with its values, no warning; another key changed with it is warned about alone."""
    run = RunFolder(tmp_path)
    run.write_start({"train": {"max_iterations": 5, "epochs": 2}}, {"world_size": 1})
    with caplog.at_level(logging.INFO, logger="discmot"):
        run.write_resume({"train": {"max_iterations": 0, "epochs": 2}}, {"world_size": 1}, tmp_path / "x", 5)
    assert [r.levelname for r in caplog.records] == ["INFO"]
    assert "resuming with train.max_iterations 5 -> 0" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="discmot"):
        run.write_resume({"train": {"max_iterations": 0, "epochs": 3}}, {"world_size": 1}, tmp_path / "x", 5)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "changed: train.epochs 2 -> 3" in warnings[0]
    assert "max_iterations" not in warnings[0]


def test_the_record_is_the_folders_own_else_the_checkpoints_runs_else_none(tmp_path):
    """``read_record``: ``(folder, config, recipe text)`` of this folder when it has a config.yaml, else
    of the run folder holding the checkpoint, else ``(None, {}, None)``; no recipe.yaml gives None."""
    old = tmp_path / "old"
    (old / "checkpoints").mkdir(parents=True)
    (old / "config.yaml").write_text("a: 1\n")
    (old / "recipe.yaml").write_text("r: 1\n")
    new = RunFolder(tmp_path / "new")
    assert new.read_record(old / "checkpoints" / "epoch-000.pt") == (old, {"a": 1}, "r: 1\n")
    assert new.read_record() == (None, {}, None)
    (tmp_path / "new" / "config.yaml").write_text("b: 2\n")
    assert new.read_record(old / "checkpoints" / "epoch-000.pt") == (tmp_path / "new", {"b": 2}, None)


def test_a_second_run_into_a_locked_folder_is_refused_until_the_first_closes(tmp_path):
    first, second = RunFolder(tmp_path), RunFolder(tmp_path)
    assert first.lock() and first.lock()  # taking it again is a no-op
    assert not second.lock()
    first.close()
    assert second.lock()
    second.close()


def test_only_rank_0_writes_into_the_folder(tmp_path):
    """Other ranks' `RunFolder` creates nothing, takes no lock and writes no file."""
    other = RunFolder(tmp_path / "run", is_main=False)
    assert other.lock()
    other.write_start({"train": {}}, {"world_size": 2})
    other.write_resume({"train": {}}, {"world_size": 2}, tmp_path / "x.pt", 1)
    other.log({"step": 1, "loss": 1.0})
    other.checkpoint_written()
    other.close()
    assert not (tmp_path / "run").exists()


# --------------------------------------------------------------------------------------------------
# run_config: how changes are said


def test_at_most_eight_changes_are_listed_then_how_many_more():
    changes = [f"k{i} 0 -> 1" for i in range(9)]
    assert join_changes(changes[:8]) == ", ".join(changes[:8])
    assert join_changes(changes) == ", ".join(changes[:8]) + " (and 1 more)"
    assert join_changes(changes, most=2) == "k0 0 -> 1, k1 0 -> 1 (and 7 more)"
    old, new = {f"k{i}": 0 for i in range(9)}, {f"k{i}": 1 for i in range(9)}
    assert describe_changes(old, new, sorted(new)) == ", ".join(changes[:8]) + " (and 1 more)"


def test_values_are_said_as_set_takes_them_and_cut_at_40_characters():
    """YAML flow style (``false``, ``[6, 9]``, ``null``), a missing key as ``(absent)``; a value of 40
    characters is said whole, a longer one as its first 37 and ``...``."""
    old = {"train": {"milestones": [6, 9], "nesterov": False, "note": None, "name": "a" * 40}}
    new = {"train": {"milestones": [8, 12], "nesterov": True, "name": "b" * 41, "extra": 1}}
    assert config_changes(old, new) == [
        "train.extra (absent) -> 1",
        "train.milestones [6, 9] -> [8, 12]",
        f"train.name {'a' * 40} -> {'b' * 37}...",
        "train.nesterov false -> true",
        "train.note null -> (absent)",
    ]


def test_recipe_changes_compare_the_keys_not_the_comments():
    assert recipe_changes("# run A\ntrain: {epochs: 3}\n", "# run B\ntrain: {epochs: 7}\n") == [
        "train.epochs 3 -> 7"
    ]
    assert recipe_changes("# only a comment\n", "preset: tiny\n") == ["preset (absent) -> tiny"]


def test_the_own_recipe_hint_names_the_record_and_the_run_folder(tmp_path):
    record, run = tmp_path / "old", tmp_path / "new"
    assert own_recipe_hint(record, run, "; ") == ""  # no recipe.yaml there
    assert own_recipe_hint(None, run) == ""
    record.mkdir()
    (record / "recipe.yaml").write_text("preset: tiny\n")
    command = f"discmot train --config {record / 'recipe.yaml'} --run-dir {run} --resume --data-root ..."
    assert own_recipe_hint(record, run, "; ") == f"; to resume with the run's own recipe, run: {command}"
    assert own_recipe_hint(record, run, before_checkpoint=True) == (
        "to resume with the run's own recipe, stop before the next checkpoint (which records this recipe "
        f"as the run's) and run: {command}"
    )


def test_plain_makes_dataclasses_tuples_paths_and_keys_yaml_safe():
    @dataclasses.dataclass
    class Section:
        where: Path = Path("a/b")
        steps: tuple = (1, (2, 3))

    expected = {"1": {"where": "a/b", "steps": [1, [2, 3]]}, "x": ["c"]}
    assert plain({1: Section(), "x": [Path("c")]}) == expected
    assert plain(Section) is Section  # a class is no value to convert


def test_fields_added_since_the_run_was_made_are_no_change_at_their_default_only():
    """A field the earlier record lacks is no change at its default (also a default_factory's), a
    change at another value; a field with no default is always a change when absent."""

    @dataclasses.dataclass
    class Train:
        epochs: int
        milestones: list = dataclasses.field(default_factory=lambda: [6, 9])
        note: str | None = None

    earlier = {"train": {"epochs": 3}}
    assert changed_on_resume(earlier, {"train": Train(epochs=3)}) == []
    assert changed_on_resume(earlier, {"train": Train(epochs=3, milestones=[1], note="x")}) == [
        "train.milestones",
        "train.note",
    ]
    assert changed_on_resume({"train": {}}, {"train": Train(epochs=3)}) == ["train.epochs"]
    assert changed_on_resume(earlier, {"train": DataclassWithExtras(Train(epochs=3), extra=1)}) == [
        "train.extra"
    ]


# --------------------------------------------------------------------------------------------------
# run_environment: what environment.json records


def test_torchrun_layout_is_read_from_its_environment(monkeypatch):
    """``nproc_per_node`` = LOCAL_WORLD_SIZE, ``nnodes`` = WORLD_SIZE / it, at least 1 each; 0 restarts
    and 1 process per node where torchrun left a variable out."""
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "x")
    for name, value in {
        "LOCAL_WORLD_SIZE": "2",
        "WORLD_SIZE": "8",
        "TORCHELASTIC_RESTART_COUNT": "3",
    }.items():
        monkeypatch.setenv(name, value)
    assert launcher() == {"name": "torchrun", "nproc_per_node": 2, "nnodes": 4, "restart_count": 3}
    assert json.dumps(launcher()["nnodes"]) == "4"  # whole nodes in environment.json, not 4.0
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert launcher()["nnodes"] == 1  # 1 // 2 is 0: at least one node
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "0")
    assert launcher()["nproc_per_node"] == 1
    for name in ("LOCAL_WORLD_SIZE", "WORLD_SIZE", "TORCHELASTIC_RESTART_COUNT"):
        monkeypatch.delenv(name)
    assert launcher() == {"name": "torchrun", "nproc_per_node": 1, "nnodes": 1, "restart_count": 0}


def test_a_start_file_is_recorded_by_absolute_path_and_sha256(tmp_path, monkeypatch):
    """The SHA-256 of the whole file (read in 1 MiB blocks: a 2.5 MiB file here), the path resolved."""
    data = bytes(range(256)) * (10 * 1024)  # 2.5 MiB
    (tmp_path / "w.pt").write_bytes(data)
    monkeypatch.chdir(tmp_path)
    assert file_record("w.pt") == {"path": str(tmp_path / "w.pt"), "sha256": hashlib.sha256(data).hexdigest()}
    (tmp_path / "abc").write_bytes(b"abc")
    assert file_record(tmp_path / "abc")["sha256"] == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"  # FIPS 180-2's example
    )


def test_the_git_revision_is_the_commit_and_whether_tracked_files_changed(tmp_path):
    """``dirty`` is about tracked files only (``--untracked-files=no``); outside a checkout the commit is
    None."""
    assert git_revision(tmp_path) == {"commit": None}

    def git(*args):
        command = ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args]
        return subprocess.run(command, cwd=tmp_path, check=True, capture_output=True, text=True).stdout

    git("init", "-q")
    (tmp_path / "a.txt").write_text("1\n")
    git("add", "a.txt")
    git("commit", "-q", "-m", "one")
    head = git("rev-parse", "HEAD").strip()
    (tmp_path / "untracked.txt").write_text("x\n")
    assert git_revision(tmp_path) == {"commit": head, "dirty": False}
    (tmp_path / "a.txt").write_text("2\n")
    assert git_revision(tmp_path) == {"commit": head, "dirty": True}


def test_the_environment_records_the_run_as_asked_and_this_process(monkeypatch):
    monkeypatch.delenv("TORCHELASTIC_RUN_ID", raising=False)
    env = environment(seed=7, world_size=3, device="cpu")
    assert (env["seed"], env["world_size"], env["device"], env["launcher"]) == (7, 3, "cpu", None)
    assert env["command"] == [sys.executable, *sys.argv]
    assert env["torch_threads"] == torch.get_num_threads()
    assert env["versions"]["discmot"] == discmot.__version__ and env["versions"]["torch"] == torch.__version__
    assert env["time"].endswith("+00:00")  # UTC, to the second
    assert usable_cores() == len(os.sched_getaffinity(0))


def test_without_fcntl_the_folder_is_used_unlocked(tmp_path, monkeypatch):
    """No ``fcntl`` (Windows): the folder is used unlocked (the lock is taken as held)."""
    monkeypatch.setitem(sys.modules, "fcntl", None)  # import fails as on Windows
    assert RunFolder(tmp_path).lock()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX-only")
def test_a_forked_child_closing_its_copy_of_the_folder_leaves_the_parents_lock_alone(tmp_path):
    """A forked child closed its inherited lock descriptor at the fork: its `close` closes nothing more
    (no error, and the parent's lock stays held)."""
    first = RunFolder(tmp_path)
    assert first.lock()
    child = os.fork()
    if child == 0:
        try:
            first.close()
        except BaseException:
            os._exit(1)
        os._exit(0)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert not RunFolder(tmp_path).lock()
    first.close()


def test_config_yaml_keeps_the_configs_key_order_and_an_env_without_world_size_is_one_process(tmp_path):
    """config.yaml lists the keys as the config has them (a dataclass's field order), not sorted; an
    environment that does not say its world size is taken as 1 process (the recipe as given)."""
    RunFolder(tmp_path).write_start(
        {"train": {"epochs": 2, "batch_size": 1}, "model": {}}, {}, recipe="a: 1\n"
    )
    assert (tmp_path / "config.yaml").read_text() == "train:\n  epochs: 2\n  batch_size: 1\nmodel: {}\n"
    assert (tmp_path / "recipe.yaml").read_text() == "a: 1\n"
    RunFolder(tmp_path / "new").write_resume(
        {"b": 1, "a": 2}, {}, tmp_path / "x" / "x.pt", 1, recipe="c: 1\n"
    )
    assert (tmp_path / "new" / "config.yaml").read_text() == "b: 1\na: 2\n"
    assert (tmp_path / "new" / "recipe.yaml").read_text() == "c: 1\n"


def test_the_cpu_is_named_by_the_first_model_name_line_of_proc_cpuinfo():
    path = Path("/proc/cpuinfo")
    lines = path.read_text().splitlines() if path.is_file() else []
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    if not names:
        pytest.skip("no model name in /proc/cpuinfo here")
    assert cpu_model() == names[0]
