"""Pickled model objects from old YOLOv5-style trainers (the released CSTrack weights, spec
``cstrack.md`` §9), read without executing anything from the file.

Such a file's ``model`` entry is a pickled ``nn.Module`` whose classes (``models.mot.cstrack.Model``,
``models.common.Conv``...) belong to the original code base. `read_pickled_model` unpickles it with an
allow-list: tensor-rebuilding functions, plain containers and dtypes are real; the model's classes, torch.nn
module classes and numpy's array reconstruction become inert `PickledObject` stand-ins that only record the
state they are given; every other global (``os.system``, ``builtins.eval``, ``subprocess.Popen``...) is
refused, so no code from the file ever runs. `pickled_state_dict` then walks the stand-ins'
``_parameters``/``_buffers``/``_modules`` and rebuilds the dotted state-dict keys.
"""

from __future__ import annotations

import functools
import pickle
import warnings
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from discmot.io.checkpoints import UNREADABLE, CheckpointError, UnreadableFileError, read_torch

# Classes from these packages become stand-ins: the original trainers' code and torch.nn's module classes.
STAND_IN_PACKAGES = ("models", "utils", "core", "lib", "__main__")
STAND_IN_TORCH_MODULES = "torch.nn.modules."
STAND_IN_MODULE = "discmot_pickled_stand_ins"
# numpy globals an old trainer's ``best_fitness`` array needs; their values are never used.
_NUMPY_STAND_INS = {"_reconstruct", "ndarray", "dtype", "scalar"}
_NUMPY_MODULES = ("numpy", "numpy.core.multiarray", "numpy._core.multiarray")
# Plain-value classes a training script saves beside the weights (Deformable-DETR's and MOTIP's ``args``),
# and the multi-GPU wrappers a model object may be pickled inside (their state is the wrapped model under
# ``module``: its keys come out with the ``module.`` prefix, which the loaders remove).
_PLAIN_STAND_INS = {
    "argparse.Namespace",
    "torch.nn.parallel.data_parallel.DataParallel",
    "torch.nn.parallel.distributed.DistributedDataParallel",
}
# Python 2 names that pickle protocol 2 writes for builtins.
_PY2_MODULES = {"__builtin__": "builtins", "copy_reg": "copyreg"}


class PickledObject:
    """An inert stand-in for a class of a pickled file: it records what unpickling gives it, nothing else.

    ``pickled_global``: the dotted name it stands for; ``pickled_state``: the object's state (for a module,
    its ``__dict__`` with ``_parameters``, ``_buffers``, ``_modules``); ``pickled_args``: constructor
    arguments; ``pickled_items``: items or elements set through the pickle container opcodes.
    """

    pickled_global = "?"
    # Set in __new__ (unpickling may skip __init__); whatever the file gives, hence so loose.
    pickled_args: tuple
    pickled_state: object
    pickled_items: list
    # Legacy files make torch compare a module class's source with the one saved; never write patches.
    dump_patches = False

    def __new__(cls, *args, **kwargs):
        obj = super().__new__(cls)
        obj.pickled_args, obj.pickled_state, obj.pickled_items = args, {}, []
        return obj

    def __init__(self, *args, **kwargs):
        self.pickled_args = args

    def __setstate__(self, state) -> None:
        if isinstance(state, tuple) and len(state) == 2:
            state = state[0] or {}  # (dict, slots) from classes with __slots__: only the dict matters
        self.pickled_state = state

    def __setitem__(self, key, value) -> None:
        self.pickled_items.append((key, value))

    def append(self, value) -> None:
        self.pickled_items.append(value)

    def extend(self, values) -> None:
        self.pickled_items.extend(values)


_STAND_INS: dict[str, type] = {}


def _stand_in(dotted: str) -> type:
    """One `PickledObject` subclass per pickled class name (so the stand-ins say what they replace)."""
    if dotted not in _STAND_INS:
        name = dotted.rsplit(".", 1)[-1]
        # A module name that cannot be imported: torch's source check then finds no source to compare.
        namespace = {"pickled_global": dotted, "__module__": STAND_IN_MODULE}
        _STAND_INS[dotted] = type(name, (PickledObject,), namespace)
    return _STAND_INS[dotted]


@functools.lru_cache(maxsize=1)
def _real_globals() -> dict[str, object]:
    """The real functions and classes a pickled model may name: tensor rebuilding, containers, dtypes."""
    import codecs
    from collections import OrderedDict

    allowed: dict[str, object] = {
        "collections.OrderedDict": OrderedDict,
        "builtins.set": set,
        "builtins.frozenset": frozenset,
        "builtins.bytearray": bytearray,
        "_codecs.encode": codecs.encode,  # protocol 2 writes bytes as encode(str, 'latin1')
        "torch.Size": torch.Size,
        "torch.device": torch.device,
        "torch.Tensor": torch.Tensor,
        "torch.nn.parameter.Parameter": nn.Parameter,
        "torch._tensor._rebuild_from_type_v2": torch._tensor._rebuild_from_type_v2,
    }
    for name in (
        "_rebuild_tensor",
        "_rebuild_tensor_v2",
        "_rebuild_parameter",
        "_rebuild_parameter_with_state",
    ):
        allowed[f"torch._utils.{name}"] = getattr(torch._utils, name)
    # vars(), not getattr: torch imports some submodules lazily on attribute access.
    allowed.update({f"torch.{k}": v for k, v in vars(torch).items() if isinstance(v, torch.dtype)})
    return allowed


class RefusedGlobalError(pickle.UnpicklingError):
    """A pickle named a function or class outside the allow-list."""

    def __init__(self, dotted: str):
        super().__init__(dotted)
        self.dotted = dotted


class _RestrictedUnpickler(pickle.Unpickler):
    """`pickle.Unpickler` whose only globals are `_real_globals` and `PickledObject` stand-ins."""

    def find_class(self, module: str, name: str):
        module = _PY2_MODULES.get(module, module)
        dotted = f"{module}.{name}"
        real = _real_globals()
        if dotted in real:
            return real[dotted]
        if module.split(".")[0] in STAND_IN_PACKAGES or module.startswith(STAND_IN_TORCH_MODULES):
            return _stand_in(dotted)
        if (module in _NUMPY_MODULES and name in _NUMPY_STAND_INS) or dotted in _PLAIN_STAND_INS:
            return _stand_in(dotted)
        raise RefusedGlobalError(dotted)


def _restricted_pickle_module():
    """A module-like object for ``torch.load(pickle_module=...)`` that unpickles with the allow-list."""
    import types

    shim = types.ModuleType("discmot_restricted_pickle")
    shim.Unpickler = _RestrictedUnpickler
    shim.load = lambda file, **kwargs: _RestrictedUnpickler(file, **kwargs).load()
    return shim


def read_torch_file(path: str | Path):
    """A ``torch.save`` file's content: safely with ``weights_only=True``, else (a file holding pickled
    module objects or a script's ``args``) through the allow-listed unpickler of `read_pickled_model`."""
    path = Path(path)
    try:
        return read_torch(path)
    except UnreadableFileError:
        raise  # missing, empty, damaged: the unpickler would only give a vaguer reason
    except CheckpointError:
        return read_pickled_model(path)


def read_pickled_model(path: str | Path):
    """The content of a ``torch.save`` file that holds pickled module objects, unpickled with the allow-list.

    Module objects come back as `PickledObject` stand-ins (see `pickled_state_dict`). Raises
    `CheckpointError` naming the file and the refused global if the pickle names anything else.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found")
    try:
        with warnings.catch_warnings():
            # legacy files make torch compare each module class's source code; stand-ins have none
            warnings.filterwarnings("ignore", message="Couldn't retrieve source code")
            return torch.load(
                path, map_location="cpu", weights_only=False, pickle_module=_restricted_pickle_module()
            )
    except RefusedGlobalError as error:
        raise CheckpointError(
            f"{path}: refused to unpickle the global {error.dotted!r} (only tensors, plain containers and "
            "model classes are allowed; nothing from the file is executed)"
        ) from None
    except (*UNREADABLE, TypeError, AttributeError) as error:
        reason = str(error).splitlines()[0] if str(error) else error.__class__.__name__
        raise CheckpointError(f"{path}: not a PyTorch checkpoint that can be read ({reason})") from None


def pickled_state_dict(module: PickledObject, prefix: str = "") -> dict[str, torch.Tensor]:
    """The state dict of a pickled ``nn.Module`` stand-in: persistent parameters and buffers, dotted keys."""
    state = module.pickled_state if isinstance(module.pickled_state, Mapping) else {}
    skipped = state.get("_non_persistent_buffers_set") or set()
    tensors = {}
    for group in ("_parameters", "_buffers"):
        for name, value in (state.get(group) or {}).items():
            if isinstance(value, torch.Tensor) and name not in skipped:
                tensors[prefix + name] = value.detach()
    for name, child in (state.get("_modules") or {}).items():
        if isinstance(child, PickledObject):
            tensors.update(pickled_state_dict(child, f"{prefix}{name}."))
    return tensors
