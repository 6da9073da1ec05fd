"""Our ATen → MLX lowering (there is no torch → MLX converter to call).

``lower(exported_program)`` decomposes to core ATen and returns a :class:`LoweredGraph` whose
``run`` evaluates the graph with ``mlx.core``. The op table is filled by the op-family modules
imported here; ``LOWERINGS`` maps ``torch.ops.aten.X.overload`` to each function.
"""

from __future__ import annotations

from paritykit.backends._mlx import (  # noqa: F401 - each import registers its op family
    arithmetic,
    conv,
    creation,
    elementwise,
    indexing,
    linalg,
    norms,
    pooling,
    reductions,
    shape,
)
from paritykit.backends._mlx.core import LOWERINGS, LoweringError
from paritykit.backends._mlx.graph import LoweredGraph, lower, missing_ops, run_arrays

__all__ = ["LOWERINGS", "LoweredGraph", "LoweringError", "lower", "missing_ops", "run_arrays"]
