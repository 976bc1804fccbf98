"""Edge cases of FDTA's recipe resolution (`discmot.models.fdta.recipe.resolve`): the split list, the
augment section's size options, the consistency checks between sections and the dataset presets'
defaults (spec fdta.md §6.2, §8.3)."""

from __future__ import annotations

import pytest

from discmot.config import RecipeKeyError
from discmot.data.transforms import AugmentConfig
from discmot.models.fdta.recipe import resolve


def tiny(**sections) -> dict:
    return {"preset": "tiny", **sections}


# --- split ---------------------------------------------------------------------------------------------


def test_one_split_or_several_in_the_given_order():
    assert resolve("r", tiny()).split == ("train",)  # the default
    assert resolve("r", tiny(split="val")).split == ("val",)
    assert resolve("r", tiny(split=["val", "train"])).split == ("val", "train")
    assert resolve("r", tiny(split=("train",))).split == ("train",)


@pytest.mark.parametrize("value", [[], 3, None, ["train", 3], [["train"]], {"a": "train"}])
def test_a_split_that_is_no_folder_name_nor_a_list_of_them_is_refused(value):
    with pytest.raises(RecipeKeyError, match="give a folder name or a list of them") as error:
        resolve("r", tiny(split=value))
    assert error.value.key == "split"


def test_a_split_named_twice_is_refused():
    """``[train, train]`` would read every sequence twice, doubling its weight without a word."""
    with pytest.raises(ValueError, match="a folder is named twice"):
        resolve("r", tiny(split=["train", "val", "train"]))


# --- consistency between the sections -------------------------------------------------------------------


def test_the_clips_vocabulary_must_be_the_models():
    """The ID tables of the clips index the model's ID vocabulary (§2.2): a different size is refused;
    the same one, given explicitly, is fine."""
    with pytest.raises(ValueError, match="clips.num_id_vocabulary 7 differs from the model's"):
        resolve("r", tiny(clips={"num_id_vocabulary": 7}))
    model = resolve("r", tiny()).model.id_decoder.num_id_vocabulary
    assert resolve("r", tiny(clips={"num_id_vocabulary": model})).clips.num_id_vocabulary == model


def test_depth_maps_without_the_spatial_adapter_are_refused():
    with pytest.raises(ValueError, match="clips.depth is true but the Spatial Adapter is off"):
        resolve("r", tiny(adapters={"spatial": False}, clips={"depth": True}))


def test_the_schedule_follows_a_dataset_preset_else_dancetracks():
    """§6.2: BFT trains 22 epochs (milestones 16, 20, warm-up 2), SportsMOT 13 (8, 12); a preset with no
    dataset of its own (tiny) takes DanceTrack's 13 (6, 9)."""
    bft, sports, small = (resolve("r", {"preset": name}).train for name in ("bft", "sportsmot", "tiny"))
    assert (bft.epochs, tuple(bft.milestones), bft.warmup_epochs) == (22, (16, 20), 2)
    assert (sports.epochs, tuple(sports.milestones)) == (13, (8, 12))
    assert (small.epochs, tuple(small.milestones)) == (13, (6, 9))


# --- augment: scales and max_size -------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, -5, True, 1.5, "big", [320]])
def test_a_max_size_that_is_no_positive_int_is_refused(value):
    with pytest.raises(RecipeKeyError, match="augment.max_size: .*give the longer side's limit"):
        resolve("r", tiny(augment={"max_size": value}))


def test_max_size_one_is_the_smallest_limit():
    assert resolve("r", tiny(augment={"max_size": 1})).clips.augment.max_size == 1


def test_max_size_alone_keeps_the_papers_scales():
    """Only the cap of the longer side changes (§8.3's 1440): the scales stay 480..800."""
    augment = resolve("r", tiny(augment={"max_size": 1000})).clips.augment
    assert augment.max_size == 1000 and augment.scales == AugmentConfig().scales
    assert augment.crop_scales == AugmentConfig().crop_scales


def test_scales_rescale_the_pipeline_and_keep_the_papers_cap_without_max_size():
    """``scales: [160, 320]``: the crop branch shrinks by 320 / 800 (§8.3's 400/500/600 -> 160/200/240,
    384..600 -> 154..240), the longer side keeps the 1440 cap unless max_size is given."""
    augment = resolve("r", tiny(augment={"scales": [160, 320]})).clips.augment
    assert augment.scales == (160, 320) and augment.max_size == 1440
    assert augment.crop_scales == (160, 200, 240) and (augment.crop_min, augment.crop_max) == (154, 240)
    capped = resolve("r", tiny(augment={"scales": [160, 320], "max_size": 500})).clips.augment
    assert capped.scales == (160, 320) and capped.max_size == 500


@pytest.mark.parametrize("value", [[], 160, [160, 19.5], ["160"], "160"])
def test_scales_that_are_no_list_of_ints_are_refused(value):
    with pytest.raises(RecipeKeyError, match="augment.scales: .*give a list of shorter-side sizes"):
        resolve("r", tiny(augment={"scales": value}))


def test_colour_jitter_ranges_given_as_lists_become_tuples():
    augment = resolve("r", tiny(augment={"brightness": [0.5, 1.5], "crop_scales": [100, 120]})).clips.augment
    assert augment.brightness == (0.5, 1.5) and augment.crop_scales == (100, 120)


def test_a_resolved_recipe_is_frozen():
    """The recipe is what the run folder records: it cannot be changed after resolution."""
    import dataclasses

    recipe = resolve("r", tiny())
    with pytest.raises(dataclasses.FrozenInstanceError):
        recipe.split = ("val",)


@pytest.mark.parametrize(
    "model, key",
    [({"detr": 5}, "model.detr"), ({"nosuch": {}}, "model.nosuch")],
    ids=["no-mapping", "no-sub"],
)
def test_the_model_section_takes_only_mappings_of_sub_configs(model, key):
    """``model.detr`` must be a mapping of DETRConfig fields, and ``model.nosuch`` is no sub-config."""
    with pytest.raises(RecipeKeyError, match="not a sub-config of FDTAConfig") as error:
        resolve("r", tiny(model=model))
    assert error.value.key == key
