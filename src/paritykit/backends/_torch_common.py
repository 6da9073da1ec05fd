"""Helpers shared by the backends that run torch callables."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from paritykit.core.backend import Prepared
from paritykit.core.dtypes import to_numpy, to_torch
from paritykit.core.program import flatten_outputs


def on_device(module: torch.nn.Module, device: str) -> torch.nn.Module:
    """``module`` itself on the CPU; a copy moved to ``device`` otherwise.

    The copy matters: the case's module is shared with the other backends of the worker.
    """
    if device == "cpu":
        return module
    return copy.deepcopy(module).to(torch_device(device))


def torch_device(kind: str) -> str:
    """torch's name for a paritykit device kind."""
    return {"metal": "mps"}.get(kind, kind)


class TorchPrepared(Prepared):
    """Runs a torch callable under ``no_grad`` on NumPy inputs, on ``device``."""

    def __init__(self, fn: Callable[..., Any], device: str = "cpu") -> None:
        super().__init__()
        self.fn = fn
        self.device = device

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """Convert inputs to tensors on the device, call, bring the outputs back as NumPy."""
        target = torch_device(self.device)
        with torch.no_grad():
            out = self.fn(*(to_torch(a).to(target) for a in inputs))
        # .cpu() waits for the device, so outputs are complete before they are compared.
        return [to_numpy(t.cpu()) for t in flatten_outputs(out)]
