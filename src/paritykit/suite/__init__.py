"""The built-in op suite: importing this package registers every case."""

from paritykit.suite import (
    activations,
    compare_logic,
    conv,
    elementwise,
    linalg,
    pooling,
    reductions,
)

__all__ = [
    "activations",
    "compare_logic",
    "conv",
    "elementwise",
    "linalg",
    "pooling",
    "reductions",
]
