"""CSTrack training recipes: the paper's recipe carries the spec's values (``cstrack.md`` §6), the CPU
recipe fits the synthetic export, overrides are YAML values, and bad recipes are refused naming the file.
FDTA and CSTrack recipes share one reader (`discmot.config`) and never load as each other.
"""

from __future__ import annotations

import pytest

from discmot.config import builtin_recipes, read_recipe
from discmot.models.cstrack.recipe import RecipeError, load_recipe
from discmot.models.fdta.recipe import load_recipe as load_fdta_recipe

MIX = (
    "mot17_train",
    "caltech_train",
    "citypersons_train",
    "cuhksysu_train",
    "prw_train",
    "eth_train",
    "crowdhuman_train",
    "crowdhuman_val",
)


def test_builtin_names_cover_both_models():
    assert {"cstrack_mot17", "cstrack_tiny", "dancetrack", "tiny"} <= set(builtin_recipes())
    assert read_recipe("cstrack_tiny").kind == "cstrack" and read_recipe("tiny").kind == "fdta"


def test_paper_recipe_carries_the_spec_values():
    recipe = load_recipe("cstrack_mot17")
    t = recipe.train
    assert recipe.model.name == "cstrack" and recipe.transform.size == (1088, 608)
    assert recipe.data.datasets == MIX  # §6.2: this order fixes the identity offsets
    assert (t.optimizer, t.nesterov, t.momentum, t.lr, t.weight_decay) == ("sgd", True, 0.95, 0.005, 5e-4)
    assert (t.epochs, t.milestones, t.gamma, t.warmup_epochs, t.schedule) == (30, (20,), 0.1, 3, "cstrack")
    assert (t.batch_size, t.accumulate_steps, t.divide_loss_by_accumulation) == (8, 8, False)
    assert (t.ema_decay, t.ema_ramp, t.precision) == (0.9999, 2000.0, "fp16")
    assert recipe.optim.warmup_min_iters == 1000 and recipe.optim.warmup_bias_lr == 0.1
    c = recipe.transform
    assert (c.resize, c.flip_prob, c.hsv_gains, c.degrees, c.scale) == (
        "stretch",
        0.5,
        (0.015, 0.5, 0.4),
        0.0,
        0.0,
    )
    assert recipe.loss == {}  # the official loss weights


def test_tiny_recipe_is_cpu_sized():
    recipe = load_recipe("cstrack_tiny")
    assert recipe.model.name == "tiny" and recipe.transform.size == (320, 192)
    assert recipe.data.datasets == ("synth_mot_train", "synth_dancetrack_train") and recipe.data.root == "jde"
    assert (recipe.train.batch_size, recipe.train.precision) == (4, "fp32")


def test_overrides_are_yaml_values():
    recipe = load_recipe(
        "cstrack_tiny",
        ["train.epochs=2", "model.input_size=[96, 160]", "loss.id_weight=0.1", "data.faithful_ids=true"],
    )
    assert recipe.train.epochs == 2 and recipe.transform.size == (160, 96)
    assert recipe.model.input_size == (96, 160) and recipe.loss == {"id_weight": 0.1}
    assert recipe.data.faithful_ids


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("bogus: 1\n", "unknown section"),
        ("train: {epoch: 3}\n", "unknown train key\\(s\\) epoch"),
        ("data: {lists: [a_train]}\n", "unknown data key"),
        ("data: {datasets: [nosplit]}\n", "<name>_<split>"),
        ("transform: {resize: squash}\n", "resize must be"),
        ("transform: {size: [320, 192]}\n", "comes from model.input_size"),
        ("loss: {focal: 1.5}\n", "unknown loss key"),
        ("optim: {nominal_batch: 0}\n", "nominal_batch must be"),
        ("preset: nosuch\n", "unknown CSTrack preset"),
        ("model: {input_size: [100, 160]}\n", "multiples of the stride"),
        ("model: {depth: 2}\n", "unknown model key\\(s\\) depth"),
        ("train: {precision: fp8}\n", "invalid training config values"),
        ("optim: {nominal_batch: many}\n", "wrong value type: optim.nominal_batch='many'"),
    ],
)
def test_bad_recipes_name_the_file(tmp_path, text, message):
    path = tmp_path / "recipe.yaml"
    preset = "" if text.startswith("preset:") else "preset: tiny\n"  # a key twice is an error of its own
    path.write_text("model_kind: cstrack\n" + preset + text)
    with pytest.raises(RecipeError, match=message) as error:
        load_recipe(path)
    assert str(path) in str(error.value)


def test_kinds_never_load_as_each_other(tmp_path):
    with pytest.raises(RecipeError, match="not a CSTrack one"):
        load_recipe("dancetrack")
    with pytest.raises(RecipeError, match="not an FDTA one"):
        load_fdta_recipe("cstrack_mot17")
    path = tmp_path / "odd.yaml"
    path.write_text("model_kind: yolox\n")
    with pytest.raises(RecipeError, match="unknown model_kind") as error:
        load_recipe(path)
    assert str(path) in str(error.value)


def test_bad_override_is_refused():
    with pytest.raises(RecipeError, match="expected section.key=value"):
        load_recipe("cstrack_tiny", ["train.epochs"])
    with pytest.raises(RecipeError, match="built-in recipe 'cstrack_tiny'.*unknown train key"):
        load_recipe("cstrack_tiny", ["train.nosuch=1"])
