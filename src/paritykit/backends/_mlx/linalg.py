"""Matrix products: mm, bmm, addmm, matmul, dot/mv, baddbmm.

MLX's matmul takes floating types only; integer products are a broadcast multiply and a sum
along the contracted axis (exact, and the suite's integer matrices are small).
"""

from __future__ import annotations

from typing import Any

import mlx.core as mx

from paritykit.backends._mlx.core import HALF, aten, is_float, lowers


def matmul(a: mx.array, b: mx.array) -> mx.array:
    """``a @ b`` with NumPy broadcasting, integers included."""
    if a.dtype in HALF and b.dtype == a.dtype:
        return mx.matmul(a.astype(mx.float32), b.astype(mx.float32)).astype(a.dtype)
    if is_float(a) or is_float(b):
        return mx.matmul(a, b)
    if a.ndim == 1 and b.ndim == 1:
        return mx.sum(a * b)
    squeeze = []
    if a.ndim == 1:
        a, squeeze = a[None, :], [-2]
    if b.ndim == 1:
        b, squeeze = b[:, None], [*squeeze, -1]
    out = mx.sum(mx.expand_dims(a, -1) * mx.expand_dims(b, -3), axis=-2)
    return mx.squeeze(out, squeeze) if squeeze else out


@lowers(aten.mm.default, aten.bmm.default, aten.matmul.default, aten.dot.default,
        aten.mv.default)
def mm(a: mx.array, b: mx.array) -> mx.array:
    """Matrix (batch, vector) product."""
    return matmul(a, b)


@lowers(aten.addmm.default, aten.baddbmm.default, aten.addmv.default)
def addmm(bias: Any, a: mx.array, b: mx.array, *, beta: Any = 1, alpha: Any = 1) -> mx.array:
    """``beta * bias + alpha * (a @ b)``; the product is computed first, as BLAS does.

    Halves compute in float32 and round once, like torch's CPU kernels.
    """
    half = a.dtype if a.dtype in HALF else None
    if half is not None:
        a, b = a.astype(mx.float32), b.astype(mx.float32)
        bias = bias.astype(mx.float32) if isinstance(bias, mx.array) else bias
    prod = mx.matmul(a, b) if half is not None else matmul(a, b)
    if alpha != 1:
        prod = prod * alpha
    if beta != 0:
        prod = prod + (bias if beta == 1 else bias * beta)
    return prod if half is None else prod.astype(half)
