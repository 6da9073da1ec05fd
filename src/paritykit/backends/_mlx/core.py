"""The lowering table and what every lowering shares: errors, dtypes, dims, half upcasts.

A lowering is a plain function from already-evaluated arguments (``mx.array``, Python numbers,
lists) to ``mx.array`` values, registered for one or more ATen overloads with :func:`lowers`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import mlx.core as mx
import torch

from paritykit.core.errors import LowerError

aten = torch.ops.aten


class LoweringError(LowerError):
    """The graph has an op (or an argument of one) that has no MLX lowering."""


@dataclass(frozen=True)
class Lowering:
    """One table entry; ``wants_meta`` lowerings get the node's torch result dtype first."""

    fn: Callable[..., Any]
    wants_meta: bool = False


#: ``{torch.ops.aten.X.overload: Lowering}``, filled by the op-family modules.
LOWERINGS: dict[Any, Lowering] = {}


def lowers(*targets: Any, meta: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated function as the lowering of every overload in ``targets``."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        for target in targets:
            LOWERINGS[target] = Lowering(fn, meta)
        return fn

    return register


_TORCH_TO_MX = {
    torch.float32: mx.float32,
    torch.float16: mx.float16,
    torch.bfloat16: mx.bfloat16,
    torch.float64: mx.float64,
    torch.int64: mx.int64,
    torch.int32: mx.int32,
    torch.int16: mx.int16,
    torch.int8: mx.int8,
    torch.uint8: mx.uint8,
    torch.bool: mx.bool_,
}
HALF = (mx.float16, mx.bfloat16)


def mx_dtype(dtype: torch.dtype) -> mx.Dtype:
    """The MLX dtype of a torch dtype; others are a LoweringError naming the dtype."""
    try:
        return _TORCH_TO_MX[dtype]
    except KeyError:
        raise LoweringError(f"MLX has no dtype for torch {dtype}") from None


def torch_dtype(dtype: mx.Dtype) -> torch.dtype:
    """The torch dtype of an MLX dtype (the inverse of :func:`mx_dtype`)."""
    for t, m in _TORCH_TO_MX.items():
        if m == dtype:
            return t
    raise LoweringError(f"torch has no dtype for MLX {dtype}")


def is_float(x: mx.array) -> bool:
    """True for floating-point arrays."""
    return mx.issubdtype(x.dtype, mx.floating)


def as_float(x: mx.array) -> mx.array:
    """Integers and bools as float32 (torch promotes them for float-only ops)."""
    return x if is_float(x) else x.astype(mx.float32)


def upcast(x: mx.array) -> mx.array:
    """float16/bfloat16 as float32: torch accumulates reductions of halves in float32."""
    return x.astype(mx.float32) if x.dtype in HALF else x


def dim(d: int, ndim: int) -> int:
    """A non-negative axis (torch treats a 0-d tensor as having one axis)."""
    n = max(ndim, 1)
    if not -n <= d < n:
        raise IndexError(f"dimension {d} out of range for a {ndim}-d tensor")
    return d % n


def dims(ds: int | Sequence[int] | None, ndim: int) -> tuple[int, ...]:
    """Reduction axes; None or ``[]`` mean every axis, as in torch."""
    if ds is None:
        return tuple(range(ndim))
    if isinstance(ds, int):
        ds = [ds]
    if len(ds) == 0:
        return tuple(range(ndim))
    return tuple(sorted({dim(d, ndim) for d in ds} & set(range(ndim))))


def array(value: Any, like: mx.array | None = None, dtype: mx.Dtype | None = None) -> mx.array:
    """``value`` as an array of ``dtype`` (or ``like``'s dtype)."""
    if isinstance(value, mx.array):
        return value if dtype is None else value.astype(dtype)
    if dtype is None and like is not None:
        dtype = like.dtype
    return mx.array(value, dtype=dtype)
