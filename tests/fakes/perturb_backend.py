"""Test-only backend ``fake-perturb``: torch eager, except one module's output is perturbed.

``--backend-option fake-perturb.module=layer1.0.conv2`` names the module (qualified name).
When the program IS that module (``parity eval --workload trace`` names each per-module
program after the module) its whole output gets ``+ delta``; when the program is a whole model
containing that module, a forward hook adds ``delta`` to the submodule's output. Any other
program runs unchanged. ``fake-perturb.delta`` sets the offset (default 0.01).
``fake-perturb.float64=1`` instead computes every program in float64 and rounds the outputs to
float32: more accurate than eager, so it differs from eager by eager's own rounding error.

Not a real backend: it exists to check that ``trace`` names exactly the planted module.
"""

from __future__ import annotations

import copy
import pathlib
from typing import Any

import numpy as np
import torch

import paritykit as pk
from paritykit.core.backend import check_option_keys
from paritykit.core.dtypes import to_numpy, to_torch


class _PerturbPrepared(pk.Prepared):
    def __init__(self, module: torch.nn.Module, delta: float, whole: bool,
                 wide: bool = False) -> None:
        super().__init__()
        self.module, self.delta, self.whole, self.wide = module, delta, whole, wide
        if wide:
            self.module = copy.deepcopy(module).double()

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        args = [to_torch(a) for a in inputs]
        if self.wide:
            args = [a.double() if a.is_floating_point() else a for a in args]
        with torch.no_grad():
            out = self.module(*args)
        leaves = [to_numpy(t.float() if self.wide and t.is_floating_point() else t)
                  for t in torch.utils._pytree.tree_leaves(out)]
        if self.whole:
            leaves = [a + a.dtype.type(self.delta) if a.dtype.kind == "f" else a for a in leaves]
        return leaves


def _add_delta(delta: float) -> Any:
    def hook(module: torch.nn.Module, args: Any, output: Any) -> Any:
        return torch.utils._pytree.tree_map(
            lambda t: t + delta if isinstance(t, torch.Tensor) and t.is_floating_point() else t,
            output)
    return hook


def _path_inside(program: pk.Program, target: str) -> str | None:
    """Where ``target`` sits inside the program's module (which may wrap the named module)."""
    if not target:
        return None
    # A whole model is named ``model:<name>``; a traced module by its own qualified name.
    rel = target[len(program.name) + 1:] if target.startswith(program.name + ".") else target
    for name, _ in program.module.named_modules():
        if name == rel or name.endswith("." + rel):
            return name
    return None


@pk.register_backend
class FakePerturbBackend(pk.Backend):
    """Fake backend for testing trace: perturbs one named module's output."""

    name = "fake-perturb"

    def prepare(self, program: pk.Program, workdir: pathlib.Path) -> pk.Prepared:
        check_option_keys(self.name, program.options, ("module", "delta", "float64"))
        if program.options.get("float64") == "1":
            return _PerturbPrepared(program.module, 0.0, whole=False, wide=True)
        target = program.options.get("module", "")
        delta = float(program.options.get("delta", "0.01"))
        if program.name == target:
            return _PerturbPrepared(program.module, delta, whole=True)
        path = _path_inside(program, target)
        module = program.module
        if path is not None:
            module = copy.deepcopy(module)
            module.get_submodule(path).register_forward_hook(_add_delta(delta))
        return _PerturbPrepared(module, delta, whole=False)
