"""Gathers and scatters: index, index_put, index_select, gather, scatter(_add/_reduce), embedding.

Scatters address every element by a full coordinate tuple (the index tensor along ``dim``,
broadcast ``arange``s elsewhere), so torch's "index may be smaller than self" rule holds and
MLX's ``.at[...]`` combines repeated positions (add, multiply, maximum, minimum) exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import mlx.core as mx

from paritykit.backends._mlx.core import aten, dim, lowers


def _wrap(index: mx.array, size: int) -> mx.array:
    """Negative indices count from the end (MLX would read out of bounds)."""
    if index.dtype == mx.bool_:
        raise ValueError("boolean mask indexing has a data-dependent shape")
    return mx.where(mx.less(index, 0), index + size, index)


def _advanced(x: mx.array, indices: Sequence[mx.array | None]) -> tuple[Any, ...]:
    return tuple(slice(None) if i is None else _wrap(i, x.shape[k])
                 for k, i in enumerate(indices))


@lowers(aten.index.Tensor)
def index(x: mx.array, indices: Sequence[mx.array | None]) -> mx.array:
    """NumPy-style advanced indexing (``None`` keeps an axis whole)."""
    return x[_advanced(x, indices)]


@lowers(aten.index_put.default)
def index_put(x: mx.array, indices: Sequence[mx.array | None], values: mx.array,
              accumulate: bool = False) -> mx.array:
    """A copy of ``x`` with ``x[indices]`` set to (or, accumulating, added to) ``values``."""
    key = _advanced(x, indices)
    values = values.astype(x.dtype)
    if accumulate:
        return x.at[key].add(values)
    out = mx.array(x)
    out[key] = values
    return out


@lowers(aten.index_select.default)
def index_select(x: mx.array, d: int, index: mx.array) -> mx.array:
    """Slices at ``index`` along ``d``."""
    if x.ndim == 0:
        return x
    d = dim(d, x.ndim)
    return mx.take(x, _wrap(mx.reshape(index, (-1,)), x.shape[d]), axis=d)


@lowers(aten.embedding.default)
def embedding(weight: mx.array, indices: mx.array, padding_idx: int = -1,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> mx.array:
    """Rows of ``weight``; rows looked up at ``padding_idx`` pass no gradient back, as in torch.

    ``scale_grad_by_freq`` is not modelled (its gradient would differ; the value does not).
    """
    rows = mx.take(weight, indices, axis=0)
    if padding_idx < 0:
        return rows
    padded = mx.expand_dims(indices == padding_idx, -1)
    return mx.where(padded, mx.stop_gradient(rows), rows)


def _coords(index: mx.array, d: int) -> tuple[mx.array, ...]:
    """Full coordinates of every element of ``index`` for an op along axis ``d``."""
    out = []
    for axis, size in enumerate(index.shape):
        if axis == d:
            out.append(index)
        else:
            shape = [1] * index.ndim
            shape[axis] = size
            out.append(mx.reshape(mx.arange(size), shape))
    return tuple(out)


def _fit(src: mx.array, index: mx.array) -> mx.array:
    """``src`` cut to ``index``'s shape (torch only reads that corner of it)."""
    if src.ndim == 0:
        return mx.broadcast_to(src, index.shape)
    return src[tuple(slice(0, s) for s in index.shape)]


@lowers(aten.gather.default)
def gather(x: mx.array, d: int, index: mx.array, *, sparse_grad: bool = False) -> mx.array:
    """``out[i][j] = x[index[i][j]][j]`` along ``d``."""
    if x.ndim == 0:
        return x
    d = dim(d, x.ndim)
    index = _wrap(index, x.shape[d])
    return x[_coords(index, d)]


@lowers(aten.scatter.src, aten.scatter.value)
def scatter(x: mx.array, d: int, index: mx.array, src: Any) -> mx.array:
    """A copy of ``x`` with ``src`` written at ``index`` along ``d``."""
    d = dim(d, x.ndim)
    index = _wrap(index, x.shape[d])
    values = _fit(mx.array(src, dtype=x.dtype) if not isinstance(src, mx.array) else src, index)
    out = mx.array(x)
    out[_coords(index, d)] = values.astype(x.dtype)
    return out


@lowers(aten.scatter_add.default)
def scatter_add(x: mx.array, d: int, index: mx.array, src: mx.array) -> mx.array:
    """``x`` plus ``src`` summed into ``index`` along ``d`` (repeats add up)."""
    d = dim(d, x.ndim)
    index = _wrap(index, x.shape[d])
    return x.at[_coords(index, d)].add(_fit(src, index).astype(x.dtype))


_IDENTITY = {"sum": 0, "mean": 0, "prod": 1, "amax": -float("inf"), "amin": float("inf")}


@lowers(aten.scatter_reduce.two)
def scatter_reduce(x: mx.array, d: int, index: mx.array, src: mx.array, reduce: str, *,
                   include_self: bool = True) -> mx.array:
    """torch.scatter_reduce with sum, prod, mean, amax or amin."""
    if reduce not in _IDENTITY:
        raise ValueError(f"unknown scatter_reduce reduction {reduce!r}")
    d = dim(d, x.ndim)
    index = _wrap(index, x.shape[d])
    key = _coords(index, d)
    src = _fit(src, index).astype(x.dtype)
    base = x
    if not include_self:
        base = mx.array(x)
        identity = _IDENTITY[reduce]
        if not mx.issubdtype(x.dtype, mx.floating) and reduce in ("amax", "amin"):
            info = mx.iinfo(x.dtype)
            identity = info.min if reduce == "amax" else info.max
        base[key] = mx.array(identity, dtype=x.dtype)
    at = base.at[key]
    if reduce in ("sum", "mean"):
        out = at.add(src)
    elif reduce == "prod":
        out = at.multiply(src)
    elif reduce == "amax":
        out = at.maximum(src)
    else:
        out = at.minimum(src)
    if reduce != "mean":
        return out
    count = mx.zeros(x.shape, dtype=x.dtype).at[key].add(mx.ones(index.shape, dtype=x.dtype))
    if include_self:
        count = count + 1
    mean = out / mx.maximum(count, 1)
    if not mx.issubdtype(x.dtype, mx.floating):
        mean = mx.floor_divide(out, mx.maximum(count, 1))
    return mx.where(mx.equal(count, 0), x, mean.astype(x.dtype))
