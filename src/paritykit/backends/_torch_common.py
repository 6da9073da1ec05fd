"""Helpers shared by the backends that run torch callables."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from paritykit.backend import Prepared
from paritykit.dtypes import to_numpy, to_torch


def flatten_outputs(value: Any) -> list[torch.Tensor]:
    """The tensors of a (possibly nested) output, in pytree order; Python scalars become 0-d."""
    leaves = torch.utils._pytree.tree_leaves(value)
    return [x if isinstance(x, torch.Tensor) else torch.tensor(x) for x in leaves]


class TorchPrepared(Prepared):
    """Runs a torch callable under ``no_grad`` on NumPy inputs."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        super().__init__()
        self.fn = fn

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """Convert inputs to tensors, call, flatten and convert the outputs back."""
        with torch.no_grad():
            out = self.fn(*(to_torch(a) for a in inputs))
        return [to_numpy(t) for t in flatten_outputs(out)]
