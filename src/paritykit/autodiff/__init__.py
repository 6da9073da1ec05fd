"""Autodiff conformance: one set of gradient checks run on torch.func, JAX and MLX.

Nothing here imports a framework at import time; adapters import theirs lazily.
"""

from __future__ import annotations

from paritykit.autodiff.adapters import (
    ADAPTERS,
    TransformAdapter,
    UnsupportedTransform,
    register_adapter,
)
from paritykit.autodiff.gradcheck import GradReport, check_grads

__all__ = [
    "ADAPTERS",
    "GradReport",
    "TransformAdapter",
    "UnsupportedTransform",
    "check_grads",
    "register_adapter",
]
