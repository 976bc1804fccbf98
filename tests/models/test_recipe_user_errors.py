"""Mistakes made writing one's own recipe (a copy of a built-in one, edited): each is one error naming
the file, the key and, for a key written in the file, its line (or the ``--set`` that gave the value),
before any run folder exists; and no value is silently misread (a string cut into letters, a section
dropped)."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from discmot.cli import main
from discmot.config import FieldRangeError, RecipeError, read_recipe
from discmot.data.clips import ClipConfig
from discmot.data.jde_transforms import JDETransformConfig
from discmot.models.cstrack.recipe import load_recipe as load_cstrack
from discmot.models.fdta.recipe import load_recipe as load_fdta
from discmot.models.fdta.training import StepConfig


def _copy(tmp_path, kind: str, stem: str, edit: tuple[str, str] | None = None, append: str = ""):
    """The built-in recipe copied to ``tmp_path/my.yaml`` with one text replacement, as a user edits it."""
    text = (resources.files("discmot") / "configs" / kind / f"{stem}.yaml").read_text()
    if edit is not None:
        assert edit[0] in text
        text = text.replace(*edit)
    path = tmp_path / "my.yaml"
    path.write_text(text + append)
    return path, text


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(
    ("edit", "needle", "message"),
    [
        (("warmup_epochs: 1", "warmup_epoch: 1"), "warmup_epoch", "unknown train key\\(s\\) warmup_epoch"),
        (("hidden_dim: 64", "hiden_dim: 64"), "hiden_dim", "unknown model.detr key\\(s\\) hiden_dim"),
        (("shorter_side: 160", "short_side: 160"), "short_side", "unknown model.runtime key\\(s\\)"),
        (("lr: 6.0e-4", 'lr: "6e-4"'), '"6e-4"', "wrong value type: train.lr='6e-4' \\(expected float"),
        (("schedule: dancetrack", "schedul: dancetrack"), "schedul:", "unknown section\\(s\\) schedul"),
        (("split: train", "split: 3"), "split: 3", "split: 3: give a folder name"),
    ],
)
def test_fdta_recipe_errors_name_file_line_and_key(tmp_path, edit, needle, message):
    path, _ = _copy(tmp_path, "fdta", "tiny", edit)
    line = _line_of(path.read_text(), needle)
    with pytest.raises(RecipeError, match=f"^{path}:{line}: {message}"):
        load_fdta(path)


def test_an_override_names_the_set_flag_not_a_line(tmp_path):
    path, _ = _copy(tmp_path, "fdta", "tiny")
    with pytest.raises(RecipeError, match=f"^{path} \\(--set train.lr=fast\\): wrong value type: train.lr="):
        load_fdta(path, ["train.lr=fast"])


@pytest.mark.parametrize(
    ("override", "message"),
    [
        # tuple("detr") was ('d', 'e', 't', 'r'): nearly every parameter name contains one of them
        ("train.no_clip=detr", "train.no_clip='detr' \\(expected a list of str\\)"),
        ("train.milestones=[1.5]", "train.milestones=\\[1.5\\] \\(expected a list of int\\)"),
        ("train.milestones=6", "train.milestones=6 \\(expected a list of int\\)"),
        ("train.betas=0.9", "train.betas=0.9 \\(expected a list of 2 values: "),
        ("train.param_groups=3", "train.param_groups=3: expected a list"),
        ("train.param_groups=[{nam: x}]", "train.param_groups\\[0\\].*expected a mapping with a name"),
        ("train.param_groups=[{name: x, match: backbone}]", "train.param_groups\\[0\\].match='backbone'"),
        # the augment section replaced clips.augment without a word
        ("clips.augment.flip_prob=0.3", "clips.augment: give the image augmentation as the augment section"),
        # these failed only at the first clip, after the run folder was made (num_groups=0 in numpy)
        ("clips.sample_length=0", "clips.sample_length=0: must be at least 1"),
        ("clips.num_groups=0", "clips.num_groups=0: must be at least 1"),
        ("clips.occlusion_prob=2", "clips.occlusion_prob=2: must be from 0 to 1"),
        ("step.train_frames=0", "step.train_frames=0: must be at least 1"),
        ("clips.switch_prob=.nan", "clips.switch_prob=nan: must be from 0 to 1"),  # NaN passed every test
        ("augment.max_size=big", "augment.max_size: 'big'"),
        ("augment.hue=0.1", "augment.hue=0.1 \\(expected a list"),  # tuple(0.1): not iterable
        ("augment.crop_scales=400", "augment.crop_scales=400 \\(expected a list"),
        ("step.identity_adapter=false", "step.identity_adapter: switch it with adapters.identity"),
    ],
)
def test_fdta_values_that_were_misread_or_failed_late_are_refused(override, message):
    with pytest.raises(RecipeError, match=f"built-in recipe 'tiny' \\(--set .*\\): .*{message}"):
        load_fdta("tiny", [override])


def test_lists_written_as_lists_still_resolve_to_tuples():
    recipe = load_fdta("tiny", ["train.no_clip=[criterion., detr.]", "train.betas=[0.8, 0.9]"])
    assert recipe.train.no_clip == ("criterion.", "detr.") and recipe.train.betas == (0.8, 0.9)
    groups = load_fdta("tiny", ["train.param_groups=[{name: bb, match: [backbone.0], lr_scale: 0.5}]"])
    assert groups.train.param_groups[0].match == ("backbone.0",)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("data.datasets=synth_mot_train", "data.datasets='synth_mot_train' \\(expected a list of str\\)"),
        ("model.input_size=320", "model.input_size=320 \\(expected a list of 2 values: "),
        ('model.embedding_dim="64"', "model.embedding_dim='64' \\(expected int\\)"),
        ('loss.id_weight="0.02"', "loss.id_weight='0.02' \\(expected float or int\\)"),
        ("transform.hsv_gains=0.5", "transform.hsv_gains=0.5 \\(expected a list of 3 values: "),
        ("transform.flip_prob=50", "transform.flip_prob=50: must be from 0 to 1"),
    ],
)
def test_cstrack_values_that_were_misread_are_refused(override, message):
    with pytest.raises(RecipeError, match=f"built-in recipe 'cstrack_tiny' \\(--set .*\\): .*{message}"):
        load_cstrack("cstrack_tiny", [override])


def test_a_cstrack_copy_without_model_kind_gets_a_hint(tmp_path):
    path, text = _copy(tmp_path, "cstrack", "tiny", ("model_kind: cstrack\n", ""))
    with pytest.raises(RecipeError, match="sections of cstrack recipes, which say model_kind: cstrack"):
        load_fdta(path)
    path, _ = _copy(tmp_path, "cstrack", "tiny", append="adapters: {spatial: false}\n")
    line = len(path.read_text().splitlines())
    with pytest.raises(
        RecipeError, match=f"^{path}:{line}: unknown section\\(s\\) adapters.*sections of fdta"
    ):
        load_cstrack(path)


def test_a_run_folders_config_yaml_is_refused_as_a_recipe(tmp_path):
    (tmp_path / "config.yaml").write_text("train: {epochs: 1}\nmodel: {name: tiny}\n")
    (tmp_path / "environment.json").write_text(json.dumps({"command": ["discmot", "train"]}))
    with pytest.raises(RecipeError, match="the resolved config of a run, not a recipe.*environment.json"):
        read_recipe(tmp_path / "config.yaml")
    (tmp_path / "recipe.yaml").write_text("preset: tiny\n")  # what runs now write beside it
    with pytest.raises(RecipeError, match=f"repeat the run with --config {tmp_path / 'recipe.yaml'}"):
        read_recipe(tmp_path / "config.yaml")


def test_a_run_folders_recipe_is_named_after_the_run(tmp_path):
    """Every repeated run was named "recipe", so each went to runs/recipe by default; now a repeat of
    runs/tiny goes to runs/tiny-repeat. Any other recipe.yaml keeps its file's name."""
    run = tmp_path / "tiny"
    run.mkdir()
    (run / "recipe.yaml").write_text("preset: tiny\n")
    assert read_recipe(run / "recipe.yaml").name == "recipe"  # not a run folder: no environment.json
    (run / "environment.json").write_text(json.dumps({"command": ["discmot", "train"]}))
    assert read_recipe(run / "recipe.yaml").name == "tiny-repeat"


def test_cli_refuses_a_bad_recipe_before_making_the_run_folder(tmp_path, capsys):
    path, _ = _copy(tmp_path, "fdta", "tiny", ("warmup_epochs: 1", "warmup_epoch: 1"))
    (tmp_path / "data" / "train").mkdir(parents=True)
    run_dir = tmp_path / "run"
    args = ["train", "--config", str(path), "--data-root", str(tmp_path / "data"), "--run-dir", str(run_dir)]
    assert main(args) != 0
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and f"{path}:" in error[0] and "warmup_epoch" in error[0]
    assert not run_dir.exists()


def test_an_error_inside_a_list_entry_names_that_entrys_line():
    from discmot.config import key_line

    text = "train:\n  lr: 1\n  param_groups:\n    - name: a\n      match: [x]\n"
    text += "    - name: b\n      lr_scale: no\n"
    assert key_line(text, "train.param_groups[1].lr_scale") == 7
    assert key_line(text, "train.param_groups[1]") == 6
    assert key_line(text, "train.param_groups[5].match") == 3  # no such entry: the list's line


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: ClipConfig(sample_length=0), "sample_length=0: must be at least 1"),
        (lambda: ClipConfig(switch_prob=1.5), "switch_prob=1.5: must be from 0 to 1"),
        (lambda: StepConfig(checkpoint_frames=-1), "checkpoint_frames=-1: must be at least 0"),
        (lambda: JDETransformConfig(scale=2.0), "scale=2.0: must be from 0 to 1"),
        (lambda: ClipConfig(occlusion_prob=float("nan")), "occlusion_prob=nan: must be from 0 to 1"),
        (lambda: StepConfig(id_loss_weight=float("nan")), "id_loss_weight=nan: must be at least 0"),
    ],
)
def test_configs_built_in_python_are_checked_as_recipes_are(build, message):
    """The ranges were checked only when a recipe was read: a `ClipConfig` built in a script failed at
    the first clip (num_groups=0 in numpy) or sampled nonsense."""
    with pytest.raises(FieldRangeError, match=f"^{message}$"):
        build()
