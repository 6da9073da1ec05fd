"""weightspec: parameters for a ``torch`` module, from a file or seeded at random.

``scope`` maps onto the state dict as a key prefix: a file entry ``<scope>.<param>`` is loaded
into ``<param>``; when no key of the file starts with ``<scope>.`` the keys are taken as they
are. ``random`` fills every floating parameter and buffer of the module named by ``module``
with ``uniform(-1/sqrt(fan_in), 1/sqrt(fan_in))`` from ``numpy.random.default_rng(seed)`` in
state-dict order, so the values depend only on the seed and the shapes (not on torch's RNG).
"""

from __future__ import annotations

import math
import pathlib
from collections.abc import Callable
from typing import Any

import numpy as np

from paritykit.jsontests.argspec import stored_dtype
from paritykit.jsontests.definitions import DefinitionError, WeightSpec
from paritykit.jsontests.limits import check_size


def random_state(model: Any, seed: int) -> dict[str, np.ndarray]:
    """Seeded values for every floating tensor of ``model.state_dict()``.

    >>> import torch
    >>> a = random_state(torch.nn.Linear(3, 2), 7)["weight"]
    >>> bool((a == random_state(torch.nn.Linear(3, 2), 7)["weight"]).all())
    True
    """
    rng = np.random.default_rng(seed)
    state: dict[str, np.ndarray] = {}
    for name, tensor in model.state_dict().items():
        if not tensor.is_floating_point():
            continue
        shape = tuple(tensor.shape)
        fan_in = math.prod(shape[1:]) if len(shape) > 1 else max(shape[0] if shape else 1, 1)
        bound = 1.0 / math.sqrt(max(fan_in, 1))
        state[name] = rng.uniform(-bound, bound, size=shape).astype(np.float32)
    return state


def read_state(path: pathlib.Path, where: str) -> dict[str, np.ndarray]:
    """Tensors of a ``.safetensors``, ``.npz`` or torch (``.pt``/``.pth``/``.bin``) file.

    A file that cannot be read, or a ``.safetensors`` tensor over the size limits
    (:mod:`paritykit.jsontests.limits`, checked from the header first), is a DefinitionError
    naming ``where``.
    """
    try:
        if path.suffix == ".safetensors":
            return _safetensors_state(path, where)
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as data:
                return {k: data[k] for k in data.files}
        return _torch_state(path, where)
    except DefinitionError:
        raise
    except Exception as exc:  # each format raises its own kinds for a file it cannot read
        raise DefinitionError(f"{where}: {path.name} is not a readable weights file "
                              f"(.safetensors, .npz, .pt): {type(exc).__name__}: {exc}") from None


def _safetensors_state(path: pathlib.Path, where: str) -> dict[str, np.ndarray]:
    from safetensors import safe_open

    with safe_open(str(path), "np") as f:
        names = f.keys()  # a safe_open handle is not iterable
        for name in names:
            part = f.get_slice(name)
            try:
                check_size(part.get_shape(), stored_dtype(part.get_dtype()),
                           f"{path.name}#{name}")
            except ValueError as exc:
                raise DefinitionError(f"{where}: {exc}") from None
        return {name: f.get_tensor(name) for name in names}


def _torch_state(path: pathlib.Path, where: str) -> dict[str, np.ndarray]:
    import torch

    loaded = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(loaded, dict):
        raise DefinitionError(f"{where}: {path.name} holds {type(loaded).__name__}, "
                              "expected a state dict")
    return {k: v.detach().float().numpy() if v.dtype.is_floating_point else v.numpy()
            for k, v in loaded.items()}


def scoped(state: dict[str, np.ndarray], scope: str) -> dict[str, np.ndarray]:
    """Entries under ``<scope>.`` with the prefix removed, or all entries when none is.

    >>> sorted(scoped({"model.w": 1, "other.w": 2}, "model"))
    ['w']
    """
    prefix = f"{scope}." if scope else ""
    inside = {k[len(prefix):]: v for k, v in state.items() if prefix and k.startswith(prefix)}
    return inside or state


def apply_weights(model: Any, spec: WeightSpec, file: str,
                  fetch: Callable[[str, str | None, str], pathlib.Path]) -> str:
    """Load ``spec`` into ``model``; returns a hash-able description for the cache key."""
    import torch

    where = f"{file}: {spec.path}"
    if spec.kind == "random":
        state = random_state(model, spec.seed)
        origin = f"random:{spec.seed}"
    else:
        path = fetch(spec.url, spec.sha256, f"{where}.url")
        state = scoped(read_state(path, where), spec.scope)
        from paritykit.jsontests.fetch import sha256_of

        origin = f"file:{sha256_of(path)}:{spec.scope}"
    own = model.state_dict()
    missing = sorted(set(own) - set(state)) if spec.kind == "url" else []
    unexpected = sorted(set(state) - set(own))
    source = f"{spec.url}: " if spec.kind == "url" else ""  # the file, for the reader
    if missing or unexpected:
        raise DefinitionError(
            f"{where}: {source}weights do not fit the module (scope {spec.scope!r}): "
            f"missing {', '.join(missing) or 'none'}; unexpected {', '.join(unexpected) or 'none'}")
    for name, value in state.items():
        if tuple(value.shape) != tuple(own[name].shape):
            raise DefinitionError(f"{where}: {source}{name} has shape {list(value.shape)}, the "
                                  f"module expects {list(own[name].shape)}")
    tensors = {k: torch.from_numpy(np.ascontiguousarray(v)).to(own[k].dtype)
               for k, v in state.items()}
    model.load_state_dict(tensors, strict=False)
    return origin
