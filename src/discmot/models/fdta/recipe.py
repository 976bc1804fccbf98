"""FDTA training recipes: one YAML file that says which network, which data, which adapters, and how to
train (``discmot train --config dancetrack``).

A recipe file (built-in names: ``dancetrack``, ``sportsmot``, ``bft`` — the paper's recipes, spec
``fdta.md`` §6 — their detector pre-training stages ``dancetrack_detr``, ``sportsmot_detr``,
``bft_detr`` (§4.6), and ``tiny``, a CPU-sized one for synthetic data)::

    preset: dancetrack        # FDTA architecture (discmot.models.fdta.config.PRESETS)
    model: {id_decoder: {num_id_vocabulary: 50}}   # FDTAConfig sub-config fields over the preset
    schedule: dancetrack      # epochs / milestones / warm-up of fdta_train_config
    split: train              # folder under --data-root, or several: [train, val] (DATASET_SPLITS)
    adapters: {spatial: true, temporal: true, identity: true}   # the ablation switches
    clips: {sample_length: 30, num_groups: 6}                   # ClipConfig fields
    augment: {scales: [160, 192], max_size: 320}                # AugmentConfig fields (scales: rescaled)
    step: {train_frames: 4, checkpoint_frames: 5, depth_fg_weight: 6}   # StepConfig fields (only_detr:
                                                                        # the detector pre-training stage)
    train: {epochs: 13}                                         # TrainConfig fields over the schedule

``--set section.key=value`` overrides any of these (values are YAML: ``--set train.epochs=2``,
``--set adapters.spatial=false``). Unknown keys are errors that name the file. Reading, overrides and
errors are the shared machinery of `discmot.config`; a recipe may say ``model_kind: fdta`` (the default).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace
from pathlib import Path

from discmot import config as shared
from discmot.config import RecipeError, RecipeKeyError, apply_overrides
from discmot.data.clips import ClipConfig
from discmot.data.transforms import AugmentConfig
from discmot.engine.train_config import FDTA_SCHEDULES, TrainConfig, fdta_train_config
from discmot.models.fdta.config import FDTAConfig, preset, with_adapters
from discmot.models.fdta.criterion import DEPTH_FG_WEIGHTS
from discmot.models.fdta.training import StepConfig

__all__ = [
    "FDTARecipe",
    "RecipeError",
    "apply_overrides",
    "builtin_recipes",
    "load_recipe",
    "resolve",
    "resolve_file",
]

SECTIONS = ("preset", "model", "schedule", "split", "adapters", "clips", "augment", "step", "train")
ADAPTERS = ("spatial", "temporal", "identity")


@dataclass(frozen=True)
class FDTARecipe:
    """Everything `discmot.models.fdta.training.fdta_setup` and `launch` need, resolved."""

    name: str
    model: FDTAConfig
    split: tuple[str, ...]  # the split folders under the data root, read in this order
    clips: ClipConfig
    step: StepConfig
    train: TrainConfig

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "model": dataclasses.asdict(self.model),
            "split": list(self.split),
            "clips": dataclasses.asdict(self.clips),
            "step": dataclasses.asdict(self.step),
            "train": dataclasses.asdict(self.train),
        }


def builtin_recipes() -> list[str]:
    """Names of the FDTA recipes shipped with discmot."""
    return shared.builtin_recipes("fdta")


def load_recipe(source: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> FDTARecipe:
    """The recipe of a built-in name or YAML file, with ``--set`` overrides applied and checked."""
    recipe = shared.read_recipe(source)
    if recipe.kind != "fdta":
        raise RecipeError(f"{recipe.where}: a {recipe.kind} recipe, not an FDTA one")
    return resolve_file(recipe, overrides)


def resolve_file(recipe: shared.RecipeFile, overrides: list[str] | tuple[str, ...] = ()) -> FDTARecipe:
    """`resolve` of a recipe read by `discmot.config.read_recipe`; errors name the file."""
    return shared.resolve_recipe(recipe, overrides, resolve)


def resolve(name: str, raw: dict) -> FDTARecipe:
    """Turns the raw sections into typed configs (see the module docstring for the sections)."""
    from discmot.models.cstrack.recipe import SECTIONS as CSTRACK_SECTIONS

    shared.check_sections(raw, SECTIONS, ("cstrack", CSTRACK_SECTIONS))
    adapters = {key: True for key in ADAPTERS} | _section(raw, "adapters")
    unknown = sorted(set(adapters) - set(ADAPTERS))
    if unknown:
        raise RecipeKeyError(
            f"adapters.{unknown[0]}", f"unknown adapter(s) {', '.join(unknown)}; known: {', '.join(ADAPTERS)}"
        )
    not_bool = [key for key, value in adapters.items() if not isinstance(value, bool)]
    if not_bool:
        listed = ", ".join(f"{key}={adapters[key]!r}" for key in not_bool)
        raise RecipeKeyError(f"adapters.{not_bool[0]}", f"adapters: {listed}: expected true or false")
    preset_name = raw.get("preset", "dancetrack")
    base = _model(preset(preset_name), _section(raw, "model"))
    model = with_adapters(base, spatial=bool(adapters["spatial"]), temporal=bool(adapters["temporal"]))
    augment = _augment(_section(raw, "augment"))
    clip_values = _section(raw, "clips")
    if "augment" in clip_values:  # it would be replaced by the augment section's without a word
        raise RecipeKeyError(
            "clips.augment", "clips.augment: give the image augmentation as the augment section"
        )
    shared.check_scalar_types(ClipConfig, clip_values, "clips")
    clip_fields = {
        "sample_length": model.id_decoder.rel_pe_length,
        "num_id_vocabulary": model.id_decoder.num_id_vocabulary,
        "depth": model.spatial.enabled,
        **clip_values,
        "augment": augment,
    }
    with shared.ranges_of_section("clips"):
        clips = ClipConfig(**clip_fields)
    if clips.num_id_vocabulary != model.id_decoder.num_id_vocabulary:
        raise ValueError(
            f"clips.num_id_vocabulary {clips.num_id_vocabulary} differs from the model's "
            f"{model.id_decoder.num_id_vocabulary}"
        )
    if clips.depth != model.spatial.enabled:
        raise ValueError(
            "clips.depth is true but the Spatial Adapter is off"
            if clips.depth
            else "the Spatial Adapter is on but clips.depth is false: its depth loss would have no maps"
        )
    # a dataset preset's own defaults (spec §6.2): the depth foreground weight and the schedule
    step_values = _section(raw, "step")
    shared.check_scalar_types(StepConfig, step_values, "step")
    if step_values.get("identity_adapter", adapters["identity"]) != adapters["identity"]:
        raise RecipeKeyError(
            "step.identity_adapter", "step.identity_adapter: switch it with adapters.identity"
        )
    step_fields = {
        "depth_fg_weight": DEPTH_FG_WEIGHTS.get(preset_name, StepConfig.depth_fg_weight),
        **step_values,
        "identity_adapter": bool(adapters["identity"]),
    }
    with shared.ranges_of_section("step"):
        step = StepConfig(**step_fields)
    schedule = raw.get("schedule", preset_name if preset_name in FDTA_SCHEDULES else "dancetrack")
    train = _train(schedule, _section(raw, "train"))
    return FDTARecipe(name, model, _splits(raw.get("split", "train")), clips, step, train)


def _splits(value) -> tuple[str, ...]:
    """``split: train`` or ``split: [train, val]`` (the original's ``DATASET_SPLITS``) as a tuple of
    distinct folder names."""
    splits = (value,) if isinstance(value, str) else value
    if not isinstance(splits, list | tuple) or not splits or not all(isinstance(s, str) for s in splits):
        raise RecipeKeyError(
            "split", f"split: {value!r}: give a folder name or a list of them (split: [train, val])"
        )
    if len(set(splits)) != len(splits):
        raise ValueError(f"split: {value!r}: a folder is named twice")
    return tuple(splits)


def _section(raw: dict, key: str) -> dict:
    return shared.section(raw, key)


def _model(base: FDTAConfig, values: dict) -> FDTAConfig:
    """``{sub_config: {field: value}}`` over a preset, e.g. ``{"detr": {"num_queries": 30}}``."""
    changes = {}
    for name, fields in values.items():
        current = getattr(base, name, None)
        if not dataclasses.is_dataclass(current) or not isinstance(fields, dict):
            fields_of = dataclasses.fields(base)
            subs = [f.name for f in fields_of if dataclasses.is_dataclass(getattr(base, f.name))]
            raise RecipeKeyError(
                f"model.{name}", f"model.{name}: not a sub-config of FDTAConfig ({', '.join(subs)})"
            )
        shared.check_scalar_types(type(current), fields, f"model.{name}")
        # is_dataclass() narrows to "an instance or a class"; an attribute of a config instance is an instance
        changes[name] = replace(current, **fields)  # type: ignore[type-var]
    # the sub-configs are chosen by name at runtime, each of its own field's type: mypy cannot match them
    return replace(base, **changes)  # type: ignore[arg-type]


def _augment(values: dict) -> AugmentConfig:
    scales, max_size = values.pop("scales", None), values.pop("max_size", None)
    shared.check_scalar_types(AugmentConfig, values, "augment")  # before tuple(): "hue: 0.1" is no list
    for key in ("brightness", "contrast", "saturation", "hue", "crop_scales"):
        if key in values:
            values[key] = tuple(values[key])
    config = replace(AugmentConfig(), **values)
    if max_size is not None and (isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1):
        raise RecipeKeyError(
            "augment.max_size", f"augment.max_size: {max_size!r}: give the longer side's limit"
        )
    if scales is not None:
        if not isinstance(scales, list | tuple) or not scales or not all(isinstance(v, int) for v in scales):
            raise RecipeKeyError(
                "augment.scales",
                f"augment.scales: {scales!r}: give a list of shorter-side sizes ([160, 192])",
            )
        config = config.rescaled(tuple(int(s) for s in scales), int(max_size or config.max_size))
    elif max_size is not None:
        config = replace(config, max_size=int(max_size))
    return config


def _train(schedule: str, values: dict) -> TrainConfig:
    shared.check_scalar_types(TrainConfig, values, "train")
    base = dataclasses.asdict(fdta_train_config(schedule))
    return TrainConfig.from_dict({**base, **values})
