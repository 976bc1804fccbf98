"""A config key added to a section's dataclass since a run was made is no change at its default, in
every section of both recipes: FDTA's ``clips`` and ``step`` and CSTrack's ``data``, ``transform``,
``loss`` and ``optim`` were given to the run folder as plain dicts (``asdict``), whose fields have no
known default, so a resume of an older run warned about each added key (2026-11-24)."""

from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace

import pytest
import yaml

from discmot.data.synth import generate_dataset
from discmot.engine.run_folder import RunFolder, plain


def default_of(config, name: str):
    field = next(f for f in dataclasses.fields(config) if f.name == name)
    return field.default if field.default is not dataclasses.MISSING else field.default_factory()


def changed_on_resume(tmp_path, resolved: dict, removed: list[str]) -> list[str]:
    """Starts a run folder with ``resolved``, deletes the dotted keys ``removed`` from its config.yaml
    (a run made before they existed), resumes with ``resolved`` again: the keys it calls changed."""
    run = RunFolder(tmp_path / "run", True, False)
    run.write_start(resolved, {})
    recorded = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    for key in removed:
        *parents, last = key.split(".")
        node = recorded
        for part in parents:
            node = node[part]
        del node[last]
    (tmp_path / "run" / "config.yaml").write_text(yaml.safe_dump(recorded, sort_keys=False))
    RunFolder(tmp_path / "run", True, False).write_resume(resolved, {}, tmp_path / "run" / "x.pt", 0)
    lines = (tmp_path / "run" / "resumes.jsonl").read_text().splitlines()
    return json.loads(lines[-1])["config_changed"]


def test_fdta_clips_and_step_keys_added_at_their_default_are_no_change(tmp_path):
    from discmot.models.fdta.recipe import load_recipe
    from discmot.models.fdta.training import fdta_setup

    root = tmp_path / "data"
    generate_dataset(root, "tiny", split="train", sequences=1, frames=10, seed=2)
    recipe = load_recipe("tiny", ["clips.sample_length=3"])
    resolved = dict(
        fdta_setup(recipe.model, root, recipe.split, recipe.clips, recipe.step)(None).resolved_config
    )
    removed = ["clips.seed", "clips.augment.hue", "step.only_detr"]
    assert recipe.clips.seed == default_of(recipe.clips, "seed")  # at their defaults in this recipe
    assert recipe.clips.augment.hue == default_of(recipe.clips.augment, "hue")
    assert recipe.step.only_detr == default_of(recipe.step, "only_detr")
    assert changed_on_resume(tmp_path, resolved, removed) == []
    # a removed key whose value is not its default is still a change
    changed = dataclasses.replace(recipe.step, only_detr=not recipe.step.only_detr)
    assert changed_on_resume(tmp_path / "b", {**resolved, "step": changed}, ["step.only_detr"]) == [
        "step.only_detr"
    ]


def test_cstrack_sections_keys_added_at_their_default_are_no_change(tmp_path):
    from discmot.models.cstrack.recipe import load_recipe
    from discmot.models.cstrack.training import cstrack_setup

    root = tmp_path / "data"
    generate_dataset(root, "mot", split="train", sequences=1, frames=4, size=(160, 96), seed=3, jde=True)
    recipe = load_recipe("cstrack_tiny", ["data.datasets=[synth_mot_train]", "model.input_size=[96, 160]"])
    resolved = cstrack_setup(recipe, root)(SimpleNamespace(world_size=1)).resolved_config
    loss = resolved["loss"]
    removed = ["data.faithful_ids", "transform.flip_prob", "loss.id_weight", "optim.nominal_batch"]
    current = plain(resolved)
    for key in removed:  # each at its dataclass's default in this recipe
        section, name = key.split(".")
        config = {"data": recipe.data, "transform": recipe.transform, "optim": recipe.optim}.get(section)
        config = config if config is not None else loss
        if dataclasses.is_dataclass(config):
            assert current[section][name] == plain(default_of(config, name)), key
    assert changed_on_resume(tmp_path, resolved, removed) == []


@pytest.mark.parametrize("section", ["clips", "step"])
def test_a_section_given_as_a_dict_has_no_defaults(tmp_path, section):
    """The rule needs the dataclass: a plain dict section (a caller's own) keeps every absent key a change."""
    resolved = {section: {"seed": 0}}
    assert changed_on_resume(tmp_path, resolved, [f"{section}.seed"]) == [f"{section}.seed"]


def test_a_mistyped_key_gets_a_did_you_mean():
    """``--set train.max_iteration=5`` listed the 34 train keys and left the user to spot the missing s."""
    import pytest

    from discmot.models.fdta.recipe import load_recipe

    with pytest.raises(ValueError, match=r"max_iteration \(did you mean max_iterations\?\); known: epochs"):
        load_recipe("tiny", ["train.max_iteration=5"])
    with pytest.raises(ValueError) as unrelated:
        load_recipe("tiny", ["train.zzz=5"])
    assert "did you mean" not in str(unrelated.value)
