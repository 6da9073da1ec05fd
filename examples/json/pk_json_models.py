"""Torch factories named by the example module definitions (``"torch": "pk_json_models:mlp"``).

The module directory is put on ``sys.path`` while a factory is imported, so this file is found
as ``pk_json_models`` when ``--module-directory`` is ``examples/json``.
"""

from __future__ import annotations

import torch


class Mlp(torch.nn.Module):
    """Linear(4, 8) → tanh → Linear(8, 3)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = torch.nn.Linear(4, 8)
        self.fc2 = torch.nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.tanh(self.fc1(x)))


def mlp() -> torch.nn.Module:
    """A small MLP; its weights come from the test's ``weights`` (file or random)."""
    return Mlp()
