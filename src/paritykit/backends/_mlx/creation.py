"""Tensor factories: full/zeros/empty, scalar_tensor, arange; dtypes come from the graph."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import mlx.core as mx
import numpy as np

from paritykit.backends._mlx.core import aten, lowers


def _dtype(out: Any) -> Any:
    return out if out is not None else mx.float32


def _fill(shape: Sequence[int], value: Any, out: Any) -> mx.array:
    # mx.array(value) alone would make Python ints int32; torch's dtype is known.
    return mx.full([int(s) for s in shape], mx.array(value, dtype=_dtype(out)))


@lowers(aten.full.default, meta=True)
def full(out: Any, size: Sequence[int], fill_value: Any, **kwargs: Any) -> mx.array:
    """A tensor of ``size`` filled with ``fill_value``."""
    return _fill(size, fill_value, out)


@lowers(aten.full_like.default, meta=True)
def full_like(out: Any, x: mx.array, fill_value: Any, **kwargs: Any) -> mx.array:
    """``x``'s shape filled with ``fill_value``."""
    return _fill(x.shape, fill_value, out)


@lowers(aten.zeros.default, aten.empty.memory_format, aten.new_empty.default,
        aten.new_zeros.default, meta=True)
def zeros(out: Any, size: Sequence[int], *args: Any, **kwargs: Any) -> mx.array:
    """Zeros (``empty`` too: its contents are undefined, zeros are as good as any)."""
    if isinstance(size, mx.array):  # new_zeros(self, size)
        size = args[0]
    return _fill(size, 0, out)


@lowers(aten.ones.default, meta=True)
def ones(out: Any, size: Sequence[int], **kwargs: Any) -> mx.array:
    """Ones."""
    return _fill(size, 1, out)


@lowers(aten.zeros_like.default, aten.empty_like.default, meta=True)
def zeros_like(out: Any, x: mx.array, **kwargs: Any) -> mx.array:
    """Zeros of ``x``'s shape."""
    return _fill(x.shape, 0, out)


@lowers(aten.ones_like.default, meta=True)
def ones_like(out: Any, x: mx.array, **kwargs: Any) -> mx.array:
    """Ones of ``x``'s shape."""
    return _fill(x.shape, 1, out)


@lowers(aten.scalar_tensor.default, meta=True)
def scalar_tensor(out: Any, value: Any, **kwargs: Any) -> mx.array:
    """A 0-d tensor."""
    return mx.array(value, dtype=_dtype(out))


@lowers(aten.arange.start_step, aten.arange.start, aten.arange.default, meta=True)
def arange(out: Any, start: Any, end: Any = None, step: Any = 1, **kwargs: Any) -> mx.array:
    """``start + i * step`` for ``i`` in ``[0, ceil((end - start) / step))``.

    Float ranges are computed in float64 and rounded once, like torch's CPU kernel.
    """
    if end is None:
        start, end = 0, start
    n = max(math.ceil((end - start) / step), 0)
    dtype = _dtype(out)
    if mx.issubdtype(dtype, mx.floating):
        values = start + np.arange(n, dtype=np.float64) * step
        return mx.array(values.astype(np.float32)).astype(dtype) if dtype != mx.float64 \
            else mx.array(values, dtype=mx.float64)
    return mx.arange(int(start), int(start) + n * int(step), int(step), dtype=dtype)
