"""Checkpoints: the official formats, loaded strictly and safely, and discmot's own safetensors format.

* **Official** files are ``torch.save`` dicts whose ``model`` entry is the state dict (FDTA, MOTIP: the
  same network without the Spatial and Temporal Adapters). They are read with
  ``torch.load(weights_only=True)`` (a training script's ``args`` beside the weights through the
  allow-listed unpickler of `discmot.io.pickled`), so nothing from the file is executed, and matched key
  by key and shape by shape against the model; any difference is reported
  in full (missing, unexpected, mis-shaped keys) with a hint at what the file probably is.
* MOTIP's **DETR-only** pre-trains have no ``detr.`` prefix; they are recognised and prefixed, and the
  91-class COCO head is sliced to the person row (spec ``fdta.md`` §7.1). Keys they lack keep their
  initialisation.
* **discmot** files are safetensors holding the model's tensors (each shared tensor once) and, in the
  metadata, the resolved config as JSON, the model kind and the discmot version.

Every write is atomic (temporary file + rename): a crash never leaves a half-written checkpoint.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import pickle
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from discmot._version import __version__
from discmot.io.atomic import atomic_open, naming

log = logging.getLogger(__name__)

DETR_ONLY_MARKER = "bbox_embed.0.layers.0.weight"
FDTA_PREFIXES = ("detr.", "id_decoder.", "trajectory_embedding.", "trajectory_modeling.")
COCO_PERSON_ROW = 1
ZIP_MAGIC = b"PK\x03\x04"  # what torch.save's (zip) files start with
#: Where training scripts keep the weights in a checkpoint dict: MOTIP/Deformable-DETR and YOLOv5 under
#: ``model``; PyTorch Lightning and many hand-written trainers under ``state_dict``.
STATE_ENTRIES = ("model", "state_dict")
#: What ``torch.nn.DataParallel`` and ``DistributedDataParallel`` put before every key of the model they wrap.
WRAPPER_PREFIX = "module."


class CheckpointError(ValueError):
    """A checkpoint cannot be used for this model; the message lists every difference."""


class UnreadableFileError(CheckpointError):
    """The file cannot be a checkpoint (missing, a folder, empty, damaged): no other reader is tried."""


# What unpickling a file that is no checkpoint (text, truncated, corrupt) raises.
UNREADABLE = (
    pickle.UnpicklingError,
    zipfile.BadZipFile,
    RuntimeError,
    EOFError,
    ValueError,
    KeyError,
    IndexError,
)


# --------------------------------------------------------------------------------------------------
# Reading


def read_torch(path: str | Path):
    """What a ``.pth``/``.pt`` file holds, loaded safely (tensors and plain values only) on the CPU.

    Raises:
        UnreadableFileError: no file, a folder, an empty file, a safetensors file, a damaged archive.
        CheckpointError: a file ``weights_only`` refuses (a pickled model object, arbitrary code).
    """
    path = Path(path)
    check_readable_file(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except PermissionError:
        raise UnreadableFileError(f"{path}: cannot read the checkpoint (permission denied)") from None
    except (*UNREADABLE, OSError) as error:  # a truncated zip archive can raise EINVAL
        reason = str(error).splitlines()[0] if str(error) else error.__class__.__name__
        text = text_start(path)
        if text is not None:  # not one that the allow-listed unpickler could read either: said plainly
            raise UnreadableFileError(
                f"{path}: not a PyTorch checkpoint but a text file, starting {text!r} "
                f"(torch.load: {error.__class__.__name__}: {reason.split('. ')[0]})"
            ) from None
        raise CheckpointError(f"{path}: not a PyTorch checkpoint that loads safely ({reason})") from None


def text_start(path: Path, size: int = 256) -> str | None:
    """The first line (at most 40 characters) of a file that holds text, or None: a file whose first
    ``size`` bytes are UTF-8 text without control characters but for whitespace. A PyTorch file starts
    with ``PK`` and binary zip headers, or (pre-1.6) with the pickle opcode ``0x80``: never text."""
    with contextlib.suppress(OSError), path.open("rb") as file:
        head = file.read(size)
        if not head or head.startswith((ZIP_MAGIC, b"\x80")):
            return None
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError as error:  # a character cut at the end of the block is still text
            if error.start < len(head) - 3:
                return None
            text = head[: error.start].decode("utf-8")
        if not all(char.isprintable() or char in "\t\n\r" for char in text):
            return None
        return text.strip().splitlines()[0][:40] if text.strip() else None
    return None


def check_readable_file(path: Path) -> None:
    """Refuses, naming ``path``, what no checkpoint reader could read: no file, a folder, an empty file,
    a safetensors file under a PyTorch name, a damaged or incomplete PyTorch archive."""
    if path.is_dir():
        raise UnreadableFileError(f"{path}: a folder, not a checkpoint file")
    if not path.is_file():
        raise UnreadableFileError(f"{path}: checkpoint file not found")
    if path.stat().st_size == 0:
        raise UnreadableFileError(f"{path}: not a PyTorch checkpoint that loads safely (the file is empty)")
    if looks_like_safetensors(path) and path.suffix.lower() != ".safetensors":
        raise UnreadableFileError(f"{path}: a safetensors file, not a PyTorch one: name it .safetensors")
    check_zip_archive(path)


def check_zip_archive(path: Path) -> None:
    """Checks a PyTorch zip archive's CRC-32 checksums (about 0.17 s for a 267 MB file on 2 cores).

    ``torch.load`` does not check them: a download with damaged bytes inside a tensor loaded without a
    word and gave wrong weights; a download cut short failed with miniz's "failed finding central
    directory". Legacy (pre-1.6) files are plain pickle streams without checksums and are not checked.
    """
    with path.open("rb") as file:
        if file.read(4) != ZIP_MAGIC:
            return
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
    except (zipfile.BadZipFile, EOFError, ValueError, zlib.error):
        raise UnreadableFileError(
            f"{path}: not a PyTorch checkpoint that loads safely (incomplete: its zip archive has no end; "
            "a download cut short? download it again)"
        ) from None
    if damaged is not None:
        raise UnreadableFileError(
            f"{path}: not a PyTorch checkpoint that loads safely (damaged: {damaged} does not match its "
            "stored checksum; download it again)"
        )


def looks_like_safetensors(path: Path) -> bool:
    """A safetensors file starts with its JSON header's length (8 bytes, little-endian), then ``{``;
    PyTorch files start with ``PK`` (zip) or a pickle opcode."""
    with contextlib.suppress(OSError), path.open("rb") as file:
        head = file.read(9)
        return len(head) == 9 and head[8:] == b"{" and 2 <= int.from_bytes(head[:8], "little") < 2**32
    return False


def read_official(path: str | Path, data=None) -> dict[str, torch.Tensor]:
    """The state dict of an official checkpoint (``{"model": state_dict, ...}`` or a bare state dict).

    ``data``: the file's content when already loaded (`discmot.io.pickled.read_torch_file`).
    """
    if data is None:
        from discmot.io.pickled import read_torch_file  # (it imports this module)

        data = read_torch_file(path)
    state = state_entry(data)
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(
            f"{path}: no state dict of tensors in it (expected a dict with a 'model' or 'state_dict' entry)"
        )
    state = without_wrapper_prefix(state)
    # torchvision-derived ResNet weights carry BatchNorm step counters; the frozen BatchNorm has none
    # (the original deletes them on load, spec §1.2)
    return {k: v for k, v in state.items() if not (k.endswith(".num_batches_tracked") and "backbone." in k)}


def state_entry(data):
    """The part of a checkpoint's content that holds the weights: its ``model`` or ``state_dict`` entry
    (the first that is not None: a YOLOv5 file may hold ``"model": None``), else the content itself
    (a bare state dict)."""
    if isinstance(data, Mapping):
        for name in STATE_ENTRIES:
            if data.get(name) is not None:
                return data[name]
    return data


def without_wrapper_prefix(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``state`` without the ``module.`` prefix that a model saved from inside ``DataParallel`` or DDP has
    on every key (only when every key has it: a model may have its own submodule named ``module``)."""
    if state and all(key.startswith(WRAPPER_PREFIX) for key in state):
        return {key[len(WRAPPER_PREFIX) :]: value for key, value in state.items()}
    return dict(state)


def adapt_detr_only(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """MOTIP's DETR pre-train keys -> FDTA keys: ``detr.`` prefix, COCO head sliced to one class."""
    if DETR_ONLY_MARKER not in state:
        return dict(state)
    adapted = {}
    for key, value in state.items():
        if key.startswith("class_embed.") and value.shape[0] == 91:
            value = value[COCO_PERSON_ROW : COCO_PERSON_ROW + 1].clone()
        adapted[f"detr.{key}"] = value
    return adapted


def compare_state(model: nn.Module, state: Mapping[str, torch.Tensor]) -> list[str]:
    """Human-readable differences between a model's state dict and ``state`` (empty when they agree)."""
    expected = model.state_dict()
    problems = [f"missing: {k} {tuple(v.shape)}" for k, v in expected.items() if k not in state]
    problems += [f"unexpected: {k} {tuple(v.shape)}" for k, v in state.items() if k not in expected]
    problems += [
        f"shape of {k}: checkpoint {tuple(v.shape)}, model {tuple(expected[k].shape)}"
        for k, v in state.items()
        if k in expected and tuple(v.shape) != tuple(expected[k].shape)
    ]
    return problems


def load_strict(
    model: nn.Module,
    state: Mapping[str, torch.Tensor],
    source: str | Path,
    kind: str = "FDTA",
    hint: str | None = None,
) -> None:
    """Loads ``state`` into ``model`` only if every key and shape matches; otherwise explains why not.

    ``hint``: what the file probably is, put before the list of differences (default: guessed from the
    keys and shapes, `_guess_kind`)."""
    problems = compare_state(model, state)
    if problems:
        raise CheckpointError(_mismatch_message(source, kind, problems, state, hint))
    broken = non_finite_tensors(state)
    if broken:
        raise CheckpointError(
            f"{source}: {len(broken)} tensor(s) hold NaN or infinite values, e.g. {broken[0]}: the training "
            "that wrote it diverged (a model with them detects nothing or everything)"
        )
    problems = _alias_conflicts(model, state)
    if problems:
        raise CheckpointError(_mismatch_message(source, kind, problems, state))
    model.load_state_dict(state, strict=True)


def config_mismatch(
    model: nn.Module, state: Mapping[str, torch.Tensor], probes: Mapping[str, tuple[str, object]], preset: str
) -> str | None:
    """One sentence naming the config fields in which a checkpoint differs from ``model``, or None.

    ``probes``: ``{config field: (state-dict key, shape -> value)}``; a field differs where the key's
    shape gives another value in ``state`` than in the model. Said so that a file trained with another
    configuration (a larger ID vocabulary, a second class) is not taken for a damaged one.
    """
    expected = model.state_dict()
    differences = []
    for field, (key, value_of) in probes.items():
        if key not in state or key not in expected or state[key].shape == expected[key].shape:
            continue
        given, wanted = tuple(state[key].shape), tuple(expected[key].shape)
        differences.append(
            f"{field} {value_of(given)} in the file ({key} {given}), "
            f"{value_of(wanted)} in the model ({wanted})"
        )
    if not differences:
        return None
    return (
        f"trained with another configuration than the {preset} preset: " + "; ".join(differences) + "; no "
        "discmot preset has it"
    )


def non_finite_tensors(state: Mapping[str, torch.Tensor]) -> list[str]:
    """The names of the floating-point tensors of ``state`` that hold a NaN or an infinity."""
    return [
        name
        for name, tensor in state.items()
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())
    ]


def _alias_conflicts(model: nn.Module, state: Mapping[str, torch.Tensor]) -> list[str]:
    """Keys naming one shared model tensor (e.g. ``decoder.bbox_embed`` / ``bbox_embed``) must agree
    wherever ``state`` gives more than one of them."""
    problems = []
    for names in shared_tensor_names(model):
        given = [name for name in names if name in state]
        problems += [
            f"shared tensor written twice with different values: {given[0]} and {name}"
            for name in given[1:]
            if not torch.equal(state[given[0]], state[name])
        ]
    return problems


def shared_tensor_names(model: nn.Module) -> list[list[str]]:
    """The model's state-dict keys grouped by the tensor they name, in state-dict order (a group of
    several names is one shared tensor, e.g. a box head reached from the decoder and from the model)."""
    groups: dict[tuple[int, int, tuple], list[str]] = {}
    for key, value in model.state_dict().items():
        identity = (value.untyped_storage().data_ptr(), value.storage_offset(), tuple(value.shape))
        groups.setdefault(identity, []).append(key)
    return list(groups.values())


def read_detr_pretrain(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors ``--detr-pretrain`` starts FDTA training from.

    A ``.safetensors`` file is a discmot FDTA weights file (a ``step.only_detr`` run's output, or any
    trained FDTA): only its detector, the ``detr.*`` tensors, is taken. Anything else is read by
    `read_official` (MOTIP's DETR-only pre-trains, official FDTA/MOTIP checkpoints) and taken whole.
    """
    path = Path(path)
    if path.suffix.lower() != ".safetensors":
        return read_official(path)
    tensors, metadata = read_safetensors(path)
    kind = metadata.get("kind", "fdta")
    if kind != "fdta":
        raise CheckpointError(f"{path}: {kind} weights; a DETR pre-train must be FDTA weights")
    detector = {key: value for key, value in tensors.items() if key.startswith("detr.")}
    if not detector:
        raise CheckpointError(f"{path}: no detector (detr.*) tensors in it")
    return detector


def load_detr_pretrain(model: nn.Module, state: Mapping[str, torch.Tensor], source: str | Path) -> list[str]:
    """Loads a DETR-only pre-train into an FDTA model; returns the model keys it did not provide (a key
    sharing its tensor with a provided one, as discmot files store shared tensors once, counts as
    provided)."""
    adapted = fill_aliases(model, adapt_detr_only(state))
    expected = model.state_dict()
    extra = [k for k in adapted if k not in expected]
    wrong = [k for k in adapted if k in expected and adapted[k].shape != expected[k].shape]
    problems = [*extra, *wrong] or _alias_conflicts(model, adapted)
    if problems:
        raise CheckpointError(_mismatch_message(source, "DETR pre-train", problems, adapted))
    merged = {**expected, **adapted}
    model.load_state_dict(merged, strict=True)
    return [k for k in expected if k not in adapted]


def _mismatch_message(
    source, kind: str, problems: list[str], state: Mapping[str, torch.Tensor], hint: str | None = None
) -> str:
    hint = f" ({hint})" if hint else _guess_kind(state, kind)
    shown = "\n  ".join(problems[:12]) + (
        f"\n  ... and {len(problems) - 12} more" if len(problems) > 12 else ""
    )
    return f"{source}: does not fit this {kind} model ({len(problems)} differences){hint}:\n  {shown}"


def _guess_kind(state: Mapping[str, torch.Tensor], kind: str = "FDTA") -> str:
    """A hint at what a state dict is, from its keys and the config-dependent shapes."""
    keys = list(state)
    if kind.lower().startswith("cstrack") and any(k.startswith(FDTA_PREFIXES) for k in keys):
        return " (this looks like an FDTA checkpoint: load it as an FDTA model, e.g. --model fdta)"
    if looks_like_cstrack(state):
        return "" if kind.lower().startswith("cstrack") else " (this looks like a CSTrack/YOLOv5 checkpoint)"
    bins = state.get("detr.depth_predictor.depth_bin_values")
    window = state.get("id_decoder.rel_pos_embeds")
    if bins is not None or window is not None:
        guess = infer_fdta_preset(state)
        return f" (this looks like an FDTA {guess} checkpoint; use that preset)" if guess else ""
    if DETR_ONLY_MARKER in state:
        return " (this looks like a DETR-only pre-train: load it with --detr-pretrain)"
    return ""


def infer_fdta_preset(state: Mapping[str, torch.Tensor]) -> str | None:
    """``dancetrack``, ``sportsmot`` or ``bft`` from the config-dependent shapes (spec §7.3), else None.

    MOTIP files (no depth bins) are told apart by the ID decoder's window alone (30 / 60 / 20)."""
    bins = state.get("detr.depth_predictor.depth_bin_values")
    window = state.get("id_decoder.rel_pos_embeds")
    if window is None:
        return None
    by_window = {30: ("dancetrack", 151), 60: ("sportsmot", 151), 20: ("bft", 121)}
    name, bin_rows = by_window.get(window.shape[1], (None, None))
    return name if bins is None or bins.shape[0] == bin_rows else None


def is_motip_state(state: Mapping[str, torch.Tensor]) -> bool:
    """True for a MOTIP model (an FDTA state dict without the Spatial and Temporal Adapters' keys)."""
    keys = list(state)
    has_id_decoder = any(k.startswith("id_decoder.") for k in keys)
    has_adapters = any(k.startswith(("detr.depth_predictor.", "trajectory_embedding.")) for k in keys)
    return has_id_decoder and not has_adapters


def looks_like_cstrack(state: Mapping[str, torch.Tensor]) -> bool:
    """True for YOLOv5/CSTrack state dicts (``model.<i>.`` keys with ``cv`` blocks or the REN layers)."""
    return any(k.startswith("model.") and (".cv" in k or k.startswith("model.24.")) for k in state)


def looks_like_fdta(state: Mapping[str, torch.Tensor]) -> bool:
    """True for FDTA/MOTIP state dicts (``detr.`` keys: the Deformable DETR inside)."""
    return any(k.startswith("detr.") for k in state)


def guess_file_kind(path: str | Path) -> str:
    """``"fdta"``, ``"cstrack"`` or ``"unknown"``: which model a checkpoint file is for, from its metadata
    or keys.

    Files that do not load with ``weights_only=True`` are read with the allow-listed unpickler: a pickled
    model object (not a state dict) is CSTrack's released format.
    """
    from discmot.io.pickled import read_torch_file  # (it imports this module)

    path = Path(path)
    if path.suffix.lower() == ".safetensors":
        kind = safetensors_metadata(path).get("kind")
        if kind is not None:  # told by the header alone: the tensors are not read
            return kind
        state, _ = read_safetensors(path)
    else:
        data = read_torch_file(path)
        if isinstance(data, Mapping) and "model_kind" in data:
            return str(data["model_kind"])
        state = state_entry(data) if isinstance(data, Mapping) else {}
        if not isinstance(state, Mapping):
            return "cstrack"  # a pickled model object
        state = without_wrapper_prefix(state)
    if looks_like_cstrack(state):
        return "cstrack"
    # a DETR-only pre-train is FDTA's detector: FDTA's loader then says how to use it
    return "fdta" if looks_like_fdta(state) or DETR_ONLY_MARKER in state else "unknown"


# --------------------------------------------------------------------------------------------------
# Writing


def write_official(
    path: str | Path, model: nn.Module, config=None, metadata: Mapping[str, str] | None = None
) -> None:
    """Writes ``{"model": state_dict}`` with every key, shared tensors under each of their names.

    With ``config`` (the model's, a dataclass) the file also holds it as JSON under ``discmot_config``:
    the original code reads only ``"model"``, and `official_config` gives discmot the exact architecture
    back (a model that fits no preset, e.g. the bundled tiny FDTA, could not be rebuilt from shapes).
    With ``metadata`` (a discmot file's other strings: `carried_metadata`) it also holds them as a
    dict of strings under ``discmot_metadata``, which the original's loaders ignore too (both read only
    ``"model"``, spec fdta.md §7.1, cstrack.md §9), so a convert round trip keeps e.g. ``train_config``.
    """
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    content = {"model": state}
    if config is not None:
        content[OFFICIAL_CONFIG_KEY] = json.dumps(dataclasses.asdict(config))
    if metadata:
        content[OFFICIAL_METADATA_KEY] = {str(k): str(v) for k, v in metadata.items()}
    with atomic_open(path, "wb") as handle:
        save_torch(content, handle, path)


def save_torch(content, handle, path: str | Path) -> None:
    """``torch.save(content, handle)`` whose write errors name ``path``: torch's zip writer turns a full
    disk into ``RuntimeError: [enforce fail at inline_container.cc] . unexpected pos ...``, naming no
    file, with the `OSError` only as its context; that error is raised instead, naming ``path``."""
    try:
        torch.save(content, handle)
    except RuntimeError as error:
        cause = error.__cause__ or error.__context__
        if not isinstance(cause, OSError):
            raise
        raise naming(cause, path) from None


#: Where `write_official` keeps a discmot config beside an official file's ``"model"`` entry.
OFFICIAL_CONFIG_KEY = "discmot_config"

#: Where `write_official` keeps a discmot file's other metadata (``train_config``, ``global_step``...).
OFFICIAL_METADATA_KEY = "discmot_metadata"

#: The metadata every `write_safetensors` makes afresh (from the model and this discmot), so not carried.
OWN_METADATA = frozenset({"format", "kind", "discmot_version", "config"})


def carried_metadata(path: str | Path) -> dict[str, str]:
    """The metadata of a discmot file that a conversion carries over: a ``.safetensors`` file's
    ``__metadata__``, an official file's ``discmot_metadata`` entry (`write_official`), or what a run's
    final weights would hold for a ``discmot train`` checkpoint (`training_metadata`), less
    `OWN_METADATA`; ``{}`` for a file without any (an official release, a pickled CSTrack model). Before
    2026-11-24 ``discmot convert`` dropped it: a trained model's ``train_config`` and ``global_step`` were
    lost in a round trip through ``.pth`` and in the conversion of a training checkpoint.

    The ``.pth`` is read memory-mapped, so its tensors are not read a second time after the model's
    loading; a file that cannot be (the legacy non-zip format, which discmot never writes) holds none.
    """
    path = Path(path)
    if path.suffix.lower() == ".safetensors":
        found = safetensors_metadata(path)
    else:
        try:
            data = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except Exception:  # noqa: BLE001 - the model loaded already; a file torch.load refuses has none
            return {}
        if isinstance(data, Mapping) and data.get("format") == TRAINING_FORMAT:
            return training_metadata(data)
        found = data.get(OFFICIAL_METADATA_KEY) if isinstance(data, Mapping) else None
        if found is not None and not (
            isinstance(found, Mapping) and all(isinstance(v, str) for v in found.values())
        ):
            log.warning(
                "%s: its %s entry is not a dict of strings; not carried over", path, OFFICIAL_METADATA_KEY
            )
            return {}
    return {str(k): v for k, v in (found or {}).items() if k not in OWN_METADATA}


#: A ``discmot train`` checkpoint's ``format`` entry (`discmot.engine.checkpointing.FORMAT`, which the
#: writer takes from here: the models' loaders recognise training checkpoints without the engine).
TRAINING_FORMAT = "discmot-train-checkpoint"


#: A training checkpoint's entry of the final weights' extra metadata
#: (`discmot.engine.checkpointing.WEIGHTS_METADATA_KEY`, likewise).
TRAINING_WEIGHTS_METADATA = "weights_metadata"


def training_metadata(data: Mapping) -> dict[str, str]:
    """The metadata a run's final weights hold (`discmot.engine.checkpointing.write_weights`), from the
    content of one of the run's training checkpoints: ``train_config`` (its ``config`` entry, the
    resolved training config, as JSON: the same text), the model's extra strings (its
    ``weights_metadata`` entry: FDTA ``only_detr``'s ``stage: detector``) and ``global_step`` (the step it
    was written at). A field the checkpoint lacks is left out (a checkpoint written before 2026-11-24 has
    no ``weights_metadata``), as are extra entries that are not strings or that the file format sets
    itself (`OWN_METADATA`).

    Without them the conversion of ``checkpoints/epoch-NNN.pt`` told nothing of where its weights came
    from, when the run's ``model.safetensors`` and its conversions do (2026-11-24); an ``only_detr``
    run's checkpoint converted to weights that loaded without the warning that its ID decoder is untrained.
    """
    metadata = {}
    if isinstance(data.get("config"), Mapping):
        metadata["train_config"] = json.dumps(data["config"])
    extra = data.get(TRAINING_WEIGHTS_METADATA)
    if isinstance(extra, Mapping):  # after train_config, before global_step: write_weights' precedence
        metadata.update(
            {
                k: v
                for k, v in extra.items()
                if isinstance(k, str) and isinstance(v, str) and k not in OWN_METADATA
            }
        )
    if isinstance(data.get("global_step"), int):
        metadata["global_step"] = str(data["global_step"])
    return metadata


def training_network_state(data: Mapping) -> dict[str, torch.Tensor]:
    """The network's tensors in a ``discmot train`` checkpoint's content, less the training wrapper's
    ``model.`` prefix (the criterion's own parameters are left out): the EMA's where the run kept one, as
    its final weights file holds them (and the original's checkpoints, spec ``cstrack.md`` §6.7), else the
    live ones."""
    ema = data.get("ema")
    weights = ema["model"] if isinstance(ema, Mapping) and ema.get("model") else data["model"]
    return {key[len("model.") :]: value for key, value in weights.items() if key.startswith("model.")}


def official_config(data, path: str | Path, preset_name: str | None = None) -> dict | None:
    """The config dict `write_official` stored in an official file's content, or None; a preset the
    caller asked for is not used when the file holds its own config (said with a warning)."""
    text = data.get(OFFICIAL_CONFIG_KEY) if isinstance(data, Mapping) else None
    if not isinstance(text, str):
        return None
    if preset_name is not None:
        log.warning("%s: the file holds its config; --preset %s is not used", path, preset_name)
    return stored_config(text, path)


def config_of(text: str | None, path: str | Path, build):
    """``build(stored_config(text, path))``: the typed config of a discmot file; a config it refuses
    (written by a newer discmot, or edited) is a `CheckpointError` naming ``path``."""
    stored = stored_config(text, path)
    try:
        return build(stored)
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{path}: its stored config cannot be used ({error})") from None


def stored_config(text: str | None, path: str | Path) -> dict:
    """The config dict a discmot file holds as JSON (its safetensors metadata ``config``, an official
    file's ``discmot_config``).

    Raises:
        CheckpointError: missing or not a JSON object (a damaged file), naming ``path``.
    """
    try:
        config = json.loads(text) if isinstance(text, str) else None
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{path}: its stored config is damaged (not JSON: {error.msg})") from None
    if not isinstance(config, dict):
        raise CheckpointError(f"{path}: no model config stored in it (a discmot file holds one)")
    return config


def write_safetensors(
    path: str | Path,
    model: nn.Module,
    config,
    kind: str = "fdta",
    extra_metadata: Mapping[str, str] | None = None,
) -> None:
    """discmot's format: unique tensors in safetensors; metadata ``format``, ``kind``, ``discmot_version``,
    ``config`` (the model's config, a dataclass or a dict, as JSON; ``{}`` for None) and any
    ``extra_metadata`` strings."""
    from safetensors.torch import save

    tensors = _unique_tensors(model.state_dict())
    metadata = {
        **(extra_metadata or {}),  # first: a stale copy of the keys below (OWN_METADATA) cannot win
        "format": "discmot",
        "kind": kind,
        "discmot_version": __version__,
        "config": json.dumps(
            dataclasses.asdict(config) if dataclasses.is_dataclass(config) else config or {}
        ),
    }
    data = canonical_safetensors(save(tensors, metadata=metadata))
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def save_model(
    path: str | Path, model: nn.Module, kind: str, metadata: Mapping[str, str] | None = None
) -> None:
    """Writes a discmot model (``model.config`` its config) as discmot safetensors (``.safetensors``) or
    in the official format (any other suffix), with a discmot file's other ``metadata``
    (`carried_metadata`: a trained model's ``train_config``...) in either."""
    if Path(path).suffix.lower() == ".safetensors":
        write_safetensors(path, model, model.config, kind, metadata)
    else:
        write_official(path, model, model.config, metadata)


def canonical_safetensors(data: bytes) -> bytes:
    """The same safetensors file with its JSON header in one fixed form: keys sorted, no spaces.

    The safetensors writer keeps the metadata in a hash map whose order changes from call to call, so two
    saves of the same weights and config differed in their header bytes (and checksums). The tensor
    bytes and their offsets are untouched; the header is padded with spaces to a multiple of 8 bytes, as
    the writer pads it, so the tensor data stays aligned.
    """
    header_length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + header_length])
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text + data[8 + header_length :]


def read_safetensors(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors and metadata of a discmot safetensors file."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found")
    raw = path.read_bytes()
    try:
        tensors = load(raw)
    except SafetensorError as error:
        raise CheckpointError(f"{path}: not a safetensors file ({error})") from None
    header_length = int.from_bytes(raw[:8], "little")
    metadata = json.loads(raw[8 : 8 + header_length]).get("__metadata__", {})
    if metadata.get("format") != "discmot":
        raise CheckpointError(f"{path}: a safetensors file without discmot metadata (no config inside)")
    return tensors, metadata


def safetensors_metadata(path: Path) -> dict[str, str]:
    """The ``__metadata__`` of a safetensors file's JSON header, read without its tensors; ``{}`` for a
    file that is no safetensors file (`read_safetensors` then says why)."""
    if not looks_like_safetensors(path):
        return {}
    with path.open("rb") as file:
        length = int.from_bytes(file.read(8), "little")
        header = file.read(length)
    try:
        metadata = json.loads(header).get("__metadata__", {})
    except (ValueError, AttributeError):  # cut short, or not a JSON object
        return {}
    return metadata if isinstance(metadata, dict) else {}


def _unique_tensors(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drops every key whose tensor shares storage with an earlier key (safetensors refuses aliases)."""
    seen: dict[tuple[int, int, tuple], str] = {}
    unique = {}
    for key, value in state.items():
        identity = (value.untyped_storage().data_ptr(), value.storage_offset(), tuple(value.shape))
        if identity in seen:
            continue
        seen[identity] = key
        unique[key] = value.detach().cpu().contiguous().clone()
    return unique


def fill_aliases(model: nn.Module, tensors: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A full state dict from unique tensors: a shared tensor's names missing from ``tensors`` take the
    tensor of its first name that is there (names given keep their own value: `load_strict` and
    `load_detr_pretrain` refuse copies that differ)."""
    full = dict(tensors)
    for names in shared_tensor_names(model):
        given = next((name for name in names if name in tensors), None)
        if given is not None:
            full.update({name: tensors[given] for name in names if name not in tensors})
    return full
