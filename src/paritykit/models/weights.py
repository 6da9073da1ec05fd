"""Weight archives: a module's ``state_dict`` in a safetensors file, and back.

Parameter names are the module's ``state_dict`` names (torchvision's for the vision models,
Hugging Face ``GPT2LMHeadModel``'s for gpt2), so an archive made from real weights loads.
Tied parameters (gpt2's ``lm_head.weight`` is ``transformer.wte.weight``) are stored once;
the dropped names are recorded in the archive's metadata.

Example::

    model = get_model("mlp").build(seed=0)
    export_weights(model, "mlp.safetensors")
    fresh = get_model("mlp").build(seed=1)
    load_weights(fresh, "mlp.safetensors")   # now equal to ``model``
"""

from __future__ import annotations

import json
import os
import pathlib
import re
from collections.abc import Iterable

import torch

from paritykit.core.errors import ParityError

_TIED_KEY = "paritykit.tied"
_LIST_AT_MOST = 8


def tied_groups(module: torch.nn.Module) -> list[list[str]]:
    """Groups of ``state_dict`` names that share one tensor (first name is the one stored)."""
    groups: dict[tuple[int, int, tuple[int, ...]], list[str]] = {}
    for name, tensor in module.state_dict(keep_vars=True).items():
        key = (tensor.untyped_storage().data_ptr(), tensor.storage_offset(), tuple(tensor.shape))
        groups.setdefault(key, []).append(name)
    return [names for names in groups.values() if len(names) > 1]


def export_weights(module: torch.nn.Module, path: str | os.PathLike[str]) -> int:
    """Write ``module``'s parameters and buffers to a safetensors file; returns the bytes written.

    Creates parent directories. Tied tensors are stored once.
    """
    from safetensors.torch import save_file

    target = pathlib.Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    state = module.state_dict()
    tied = {alias: names[0] for names in tied_groups(module) for alias in names[1:]}
    tensors = {name: t.detach().contiguous().cpu() for name, t in state.items()
               if name not in tied}
    save_file(tensors, str(target), metadata={"format": "pt", _TIED_KEY: json.dumps(tied)})
    return target.stat().st_size


def read_archive(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file; a missing or unreadable file is a ParityError."""
    from safetensors.torch import load_file

    source = pathlib.Path(path)
    if not source.is_file():
        raise ParityError(f"{source}: no such weight archive; make one with "
                          "`parity export-weights --model MODEL --out FILE`")
    try:
        return load_file(str(source))
    except Exception as exc:  # safetensors raises its own error types for bad headers
        raise ParityError(f"{source}: not a readable safetensors archive ({exc}); make one with "
                          "`parity export-weights --model MODEL --out FILE` or from a state_dict "
                          "with safetensors.torch.save_file") from None


def load_weights(module: torch.nn.Module, path: str | os.PathLike[str]) -> None:
    """Load an archive into ``module`` in place.

    Every parameter and persistent buffer must be present with its exact shape (a tied name may
    be absent when its partner is present); dtypes are converted. A mismatch is a ParityError
    that names the file and the missing / unexpected / wrong-shape names.
    """
    tensors = read_archive(path)
    normalize = getattr(module, "normalize_archive_keys", None)
    if callable(normalize):
        tensors = normalize(tensors)
    expected = module.state_dict()
    aliases = {alias: names for names in tied_groups(module) for alias in names}
    for name, names in aliases.items():
        if name not in tensors:
            present = next((n for n in names if n in tensors), None)
            if present is not None:
                tensors[name] = tensors[present]
    missing = [n for n in expected if n not in tensors]
    unexpected = sorted((n for n in tensors if n not in expected), key=_natural)
    wrong = [f"{n} {list(tensors[n].shape)} (model wants {list(t.shape)})"
             for n, t in expected.items() if n in tensors and tensors[n].shape != t.shape]
    if missing or unexpected or wrong:
        raise ParityError(_mismatch_message(path, type(module).__name__, missing, unexpected,
                                            wrong))
    module.load_state_dict({n: tensors[n] for n in expected}, strict=True)


def _natural(name: str) -> list[tuple[int, int | str]]:
    """Sort key that puts ``layer2`` before ``layer10``."""
    return [(0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"(\d+)", name)]


def _names(label: str, names: Iterable[str]) -> str:
    items = list(names)
    if not items:
        return ""
    shown = ", ".join(items[:_LIST_AT_MOST])
    more = f", … ({len(items) - _LIST_AT_MOST} more)" if len(items) > _LIST_AT_MOST else ""
    return f"; {len(items)} {label}: {shown}{more}"


def _mismatch_message(path: str | os.PathLike[str], model: str, missing: list[str],
                      unexpected: list[str], wrong: list[str]) -> str:
    return (f"{path}: weight archive does not fit {model}"
            f"{_names('missing', missing)}{_names('unexpected', unexpected)}"
            f"{_names('with the wrong shape', wrong)}. Make the archive from the same model "
            "and config (`parity export-weights --model MODEL --out FILE`), or rename its "
            "tensors to the names in docs/models.md")
