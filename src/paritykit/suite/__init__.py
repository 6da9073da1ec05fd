"""The built-in op suite: importing this package registers every case.

Cases are grouped by family, one module each; most are declared as table rows through
:class:`paritykit.suite.helpers.Registrar`. Config ids are ``<op>[_<variant>]``; half-precision
variants end in ``_fp16`` / ``_bf16`` and dynamic-shape variants in ``dynamic``.
"""

from paritykit.suite import (
    activations,
    attention,
    compare_logic,
    conv,
    elementwise,
    indexing,
    linalg,
    norms,
    patterns,
    pooling,
    reductions,
    shape_ops,
)

__all__ = [
    "activations",
    "attention",
    "compare_logic",
    "conv",
    "elementwise",
    "indexing",
    "linalg",
    "norms",
    "patterns",
    "pooling",
    "reductions",
    "shape_ops",
]
