"""Per-case and per-backend files: tensors as safetensors, JSON written atomically.

Layout under the artifact directory::

    <case>/inputs.safetensors        input_0, input_1, ... (set k > 0 as set{k}_input_0 ...)
    <case>/expected.safetensors      the reference outputs
    <case>/<backend>/actual.safetensors
    <case>/<backend>/<artifact>      the lowered file (.pt2, .onnx, ...)
    <case>/<backend>/result.json     the Result record
    <case>/<backend>/repro.txt       one command that reruns just this pair
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
from typing import Any

import numpy as np
import safetensors.torch

from paritykit.atomic import atomic_write_bytes
from paritykit.dtypes import to_numpy, to_torch


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def case_dir(root: pathlib.Path, case: str) -> pathlib.Path:
    """The directory of one case."""
    return root / _safe(case)


def backend_dir(root: pathlib.Path, case: str, backend: str) -> pathlib.Path:
    """The directory of one (case, backend) pair."""
    return case_dir(root, case) / _safe(backend)


def save_arrays(path: pathlib.Path, sets: list[list[np.ndarray]], stem: str,
                atomic: bool = True) -> None:
    """Save input/output sets as one safetensors file (``{stem}_{i}``, ``set{k}_{stem}_{i}``).

    ``atomic`` matters for files that several workers may write at once (a case's inputs);
    a (case, backend) folder has a single writer.
    """
    tensors = {}
    for k, arrays in enumerate(sets):
        prefix = "" if k == 0 else f"set{k}_"
        for i, a in enumerate(arrays):
            tensors[f"{prefix}{stem}_{i}"] = to_torch(np.asarray(a)).contiguous()
    if atomic:
        atomic_write_bytes(path, safetensors.torch.save(tensors), durable=False)
    else:
        safetensors.torch.save_file(tensors, str(path))


def load_arrays(path: pathlib.Path) -> dict[str, np.ndarray]:
    """Every tensor of a safetensors file as NumPy (bf16 as ml_dtypes.bfloat16)."""
    return {k: to_numpy(v) for k, v in safetensors.torch.load_file(str(path)).items()}


def write_json(path: pathlib.Path, data: Any) -> None:
    """Write JSON atomically (a reader never sees a partial file)."""
    text = json.dumps(data, indent=2, default=str)
    atomic_write_bytes(path, text.encode(), durable=False)


def link_or_copy(src: pathlib.Path, dst: pathlib.Path) -> None:
    """Hard-link ``src`` to ``dst`` (copy across file systems); replaces ``dst``."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.unlink(missing_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
