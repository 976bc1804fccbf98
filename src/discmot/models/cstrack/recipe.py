"""CSTrack training recipes: one YAML file that says which network, which JDE data, which augmentation,
and how to train (``discmot train --config cstrack_mot17``).

Built-in recipes: ``cstrack_mot17`` (the paper's, spec ``cstrack.md`` §6: the 8-list mix, 1088x608,
30 epochs, batch 8 accumulated to 64, SGD) and ``cstrack_tiny`` (the ``tiny`` network on the synthetic
``mot`` JDE export, CPU-sized). A recipe file::

    model_kind: cstrack       # required in a file: says the recipe trains CSTrack (default: fdta)
    preset: tiny              # CSTrack architecture (discmot.models.cstrack.config.PRESETS)
    model: {embedding_dim: 64, input_size: [192, 320]}   # CSTrackConfig fields over the preset
    data:                     # CSTrackDataConfig: JDE image lists (spec §6.2)
      datasets: [synth_mot_train]   # list keys <name>_<split> -> file <lists_dir>/<name>.<split>
      lists_dir: jde          # relative to --data-root (or absolute)
      root: jde               # the lists' entries are relative to this, under --data-root
    transform: {flip_prob: 0.5}     # JDETransformConfig fields (size: from model.input_size)
    loss: {id_weight: 0.02}   # CSTrackLossConfig fields (discmot.models.cstrack.training.LOSS_FIELDS)
    optim: {warmup_min_iters: 1000} # CSTrackOptimConfig fields
    train: {epochs: 30}       # TrainConfig fields over cstrack_train_config()

Without ``train.accumulate_steps`` the accumulation is YOLOv5's: ``round(optim.nominal_batch / (batch_size
x processes))``, at least 1, settled when training starts (8 for the paper's 8 x 8 on one process, 2 on
four); given, it is used as it is.

``--set section.key=value`` overrides any of these (values are YAML: ``--set train.epochs=2``). Unknown
sections and keys are errors that name the file (`discmot.config`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from discmot import config as shared
from discmot.config import RecipeError, RecipeKeyError
from discmot.data.jde import JDEIndex, JDESource, list_file_for
from discmot.data.jde_transforms import JDETransformConfig
from discmot.engine.train_config import TrainConfig, cstrack_train_config
from discmot.models.cstrack.config import CSTrackConfig, config_from_dict, preset
from discmot.models.cstrack.loss import CSTrackLossConfig
from discmot.models.cstrack.training import LOSS_FIELDS, CSTrackOptimConfig

__all__ = [
    "CSTrackDataConfig",
    "CSTrackRecipe",
    "RecipeError",
    "builtin_recipes",
    "load_recipe",
    "resolve",
    "resolve_file",
]

KIND = "cstrack"
SECTIONS = ("preset", "model", "data", "transform", "loss", "optim", "train")


@dataclass(frozen=True)
class CSTrackDataConfig:
    """The training images: JDE list files (spec §6.2), concatenated in order (which fixes the identity
    offsets, §6.3) and shuffled together.

    Attributes:
        datasets: list keys ``<name>_<split>``, each naming the file ``<lists_dir>/<name>.<split>``.
        lists_dir: folder of the list files, relative to the data root (or absolute).
        root: folder the lists' image entries are relative to, relative to the data root (or absolute).
        faithful_ids: map identities exactly like the original (identity 0 of the first dataset then
            collides with "no identity"); the default keeps every identity (`discmot.data.jde`).
    """

    datasets: tuple[str, ...] = ("mot17_train",)
    lists_dir: str = "mot_imgs"
    root: str = "."
    faithful_ids: bool = False

    def __post_init__(self):
        if not self.datasets:
            raise ValueError("data.datasets names no image list")
        for key in self.datasets:
            list_file_for(self.lists_dir, key)  # checks the <name>_<split> form now, not at training

    def sources(self, data_root: str | Path) -> list[JDESource]:
        """One `JDESource` per list key, paths resolved against ``data_root``."""
        data_root = Path(data_root)
        root = data_root / self.root
        return [JDESource(key, list_file_for(data_root / self.lists_dir, key), root) for key in self.datasets]

    def index(self, data_root: str | Path) -> JDEIndex:
        """Reads and validates every list and label file (errors name file and line)."""
        return JDEIndex(self.sources(data_root), faithful_ids=self.faithful_ids)


@dataclass(frozen=True)
class CSTrackRecipe:
    """Everything `discmot.models.cstrack.training.cstrack_setup` and `launch` need, resolved.

    ``loss`` holds only the loss fields the recipe sets; nID, anchors and widths are filled in from the
    data and the network when training starts.
    """

    name: str
    model: CSTrackConfig
    data: CSTrackDataConfig
    transform: JDETransformConfig
    loss: dict
    optim: CSTrackOptimConfig
    train: TrainConfig
    accumulation_from_nominal_batch: bool = False  # no accumulate_steps given: YOLOv5's rule per run

    def train_for(self, processes: int) -> TrainConfig:
        """The training config of a run in ``processes`` processes: with
        ``accumulation_from_nominal_batch``, ``accumulate_steps = max(round(nominal_batch / (batch_size *
        processes)), 1)`` (YOLOv5's ``accumulate``, spec §6.5), else `train` as it is."""
        if not self.accumulation_from_nominal_batch:
            return self.train
        steps = max(round(self._batches_per_nominal(processes)), 1)
        return dataclasses.replace(self.train, accumulate_steps=steps)

    def warmup_accumulate_end(self, processes: int) -> float | None:
        """Where the warm-up's accumulation ramp ends (§6.6): YOLOv5's ``nbs / total_batch``, not rounded
        (each iteration's value is), for a recipe whose accumulation comes from the nominal batch; None
        for one that sets ``train.accumulate_steps`` itself (the ramp ends there)."""
        return self._batches_per_nominal(processes) if self.accumulation_from_nominal_batch else None

    def _batches_per_nominal(self, processes: int) -> float:
        return self.optim.nominal_batch / (self.train.batch_size * processes)

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "model": dataclasses.asdict(self.model),
            "data": dataclasses.asdict(self.data),
            "transform": dataclasses.asdict(self.transform),
            "loss": dict(self.loss),
            "optim": dataclasses.asdict(self.optim),
            "train": dataclasses.asdict(self.train),
        }


def builtin_recipes() -> list[str]:
    """Names of the CSTrack recipes shipped with discmot (``cstrack_mot17``, ``cstrack_tiny``)."""
    return shared.builtin_recipes(KIND)


def load_recipe(source: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> CSTrackRecipe:
    """The recipe of a built-in name or YAML file, with ``--set`` overrides applied and checked."""
    recipe = shared.read_recipe(source)
    if recipe.kind != KIND:
        raise RecipeError(
            f"{recipe.where}: a {recipe.kind} recipe, not a CSTrack one "
            "(CSTrack recipe files say model_kind: cstrack)"
        )
    return resolve_file(recipe, overrides)


def resolve_file(recipe: shared.RecipeFile, overrides: list[str] | tuple[str, ...] = ()) -> CSTrackRecipe:
    """`resolve` of a recipe read by `discmot.config.read_recipe`; errors name the file."""
    return shared.resolve_recipe(recipe, overrides, resolve)


def resolve(name: str, raw: dict) -> CSTrackRecipe:
    """Turns the raw sections into typed configs (see the module docstring for the sections)."""
    from discmot.models.fdta.recipe import SECTIONS as FDTA_SECTIONS

    shared.check_sections(raw, SECTIONS, ("fdta", FDTA_SECTIONS))
    model = _model(str(raw.get("preset", "cstrack")), shared.section(raw, "model"))
    data = shared.dataclass_from_section(
        CSTrackDataConfig, shared.section(raw, "data"), "data", tuples=("datasets",)
    )
    transform = _transform(model, shared.section(raw, "transform"))
    loss = shared.section(raw, "loss")
    unknown = sorted(set(loss) - set(LOSS_FIELDS))
    if unknown:
        raise RecipeKeyError(
            f"loss.{unknown[0]}", f"unknown loss key(s) {', '.join(unknown)}; known: {', '.join(LOSS_FIELDS)}"
        )
    shared.check_scalar_types(CSTrackLossConfig, loss, "loss")
    optim = shared.dataclass_from_section(CSTrackOptimConfig, shared.section(raw, "optim"), "optim")
    train_values = shared.section(raw, "train")
    derived = "accumulate_steps" not in train_values
    recipe = CSTrackRecipe(name, model, data, transform, loss, optim, _train(train_values), derived)
    return dataclasses.replace(recipe, train=recipe.train_for(1))


def _train(values: dict) -> TrainConfig:
    """TrainConfig fields over `cstrack_train_config`. Under DDP some parameters sit out an iteration:
    the head's ``k`` only enters the decoding, never the loss, and the ID classifier gets no gradient
    from a batch with fewer than two targets (§5.6); hence ``find_unused_parameters`` by default."""
    shared.check_scalar_types(TrainConfig, values, "train")
    base = dataclasses.asdict(cstrack_train_config(find_unused_parameters=True))
    return TrainConfig.from_dict({**base, **values})


def _model(preset_name: str, fields: dict) -> CSTrackConfig:
    """``CSTrackConfig`` fields over a preset (``name`` stays the preset's unless given)."""
    shared.check_scalar_types(CSTrackConfig, fields, "model")
    return config_from_dict({**dataclasses.asdict(preset(preset_name)), **fields})


def _transform(model: CSTrackConfig, fields: dict) -> JDETransformConfig:
    """The §6.4 pipeline at the network's input size; ``size`` is not a recipe key (it would silently
    train at a size the tracker does not use)."""
    if "size" in fields:
        raise RecipeKeyError(
            "transform.size", "transform.size comes from model.input_size ([height, width]); set that instead"
        )
    height, width = model.input_size
    stride = max(model.strides)
    if height % stride or width % stride:
        raise ValueError(
            f"model.input_size {list(model.input_size)} must be multiples of the stride {stride}"
        )
    with shared.ranges_of_section("transform"):
        config = shared.dataclass_from_section(JDETransformConfig, fields, "transform", tuples=("hsv_gains",))
    return dataclasses.replace(config, size=(width, height))
