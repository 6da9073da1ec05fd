"""Reductions, scans and sorting: sum/mean/var/norms, max/min with indices, cumsum, sort, topk.

Sums of float16/bfloat16 accumulate in float32 (as torch's CPU kernels do); integer and bool
sums accumulate in the result dtype (int64), taken from the exported graph.
"""

from __future__ import annotations

import math
from typing import Any

import mlx.core as mx

from paritykit.backends._mlx.core import HALF, aten, dim, dims, is_float, lowers, upcast


def _accumulate(x: mx.array, out: mx.Dtype | None) -> mx.array:
    """``x`` in the dtype to accumulate in for a result of dtype ``out`` (torch's)."""
    if out is None:
        return upcast(x)
    return x.astype(mx.float32 if out in HALF else out)


@lowers(aten.sum.dim_IntList, aten.sum.default, meta=True)
def sum_(out: Any, x: mx.array, dim: Any = None, keepdim: bool = False, *,
         dtype: Any = None) -> mx.array:
    """Sum over ``dim`` (all when None or empty)."""
    return mx.sum(_accumulate(x, out), axis=dims(dim, x.ndim), keepdims=keepdim)


@lowers(aten.mean.dim, aten.mean.default, meta=True)
def mean(out: Any, x: mx.array, dim: Any = None, keepdim: bool = False, *,
         dtype: Any = None) -> mx.array:
    """Mean over ``dim``."""
    return mx.mean(_accumulate(x, out), axis=dims(dim, x.ndim), keepdims=keepdim)


@lowers(aten.prod.dim_int, aten.prod.default, meta=True)
def prod(out: Any, x: mx.array, dim: Any = None, keepdim: bool = False, *,
         dtype: Any = None) -> mx.array:
    """Product over ``dim``."""
    return mx.prod(_accumulate(x, out), axis=dims(dim, x.ndim), keepdims=keepdim)


@lowers(aten.amax.default, aten.max.default)
def amax(x: mx.array, dim: Any = None, keepdim: bool = False) -> mx.array:
    """Max over ``dim`` (NaN propagates)."""
    return mx.max(x, axis=dims(dim, x.ndim), keepdims=keepdim)


@lowers(aten.amin.default, aten.min.default)
def amin(x: mx.array, dim: Any = None, keepdim: bool = False) -> mx.array:
    """Min over ``dim``."""
    return mx.min(x, axis=dims(dim, x.ndim), keepdims=keepdim)


def _arg(x: mx.array, d: int | None, keepdim: bool, largest: bool) -> mx.array:
    if x.dtype == mx.bool_:
        x = x.astype(mx.int32)
    fn = mx.argmax if largest else mx.argmin
    x = mx.stop_gradient(x)  # positions carry no gradient; MLX cannot gather w.r.t. them
    if d is None:
        out = fn(mx.reshape(x, (-1,)), axis=0)
        return mx.reshape(out, (1,) * x.ndim) if keepdim else out
    if x.ndim == 0:
        return mx.zeros((), dtype=mx.int64)
    return fn(x, axis=dim(d, x.ndim), keepdims=keepdim)


@lowers(aten.argmax.default)
def argmax(x: mx.array, dim: int | None = None, keepdim: bool = False) -> mx.array:
    """Index of the first maximum."""
    return _arg(x, dim, keepdim, largest=True)


@lowers(aten.argmin.default)
def argmin(x: mx.array, dim: int | None = None, keepdim: bool = False) -> mx.array:
    """Index of the first minimum."""
    return _arg(x, dim, keepdim, largest=False)


def _with_index(x: mx.array, d: int, keepdim: bool, largest: bool) -> tuple[mx.array, mx.array]:
    if x.ndim == 0:
        return x, mx.zeros((), dtype=mx.int64)
    axis = dim(d, x.ndim)
    index = _arg(x, axis, True, largest).astype(mx.int64)
    values = mx.take_along_axis(x, index, axis=axis)
    if not keepdim:
        index, values = mx.squeeze(index, axis), mx.squeeze(values, axis)
    return values, index


@lowers(aten.max.dim)
def max_dim(x: mx.array, dim: int, keepdim: bool = False) -> tuple[mx.array, mx.array]:
    """(values, indices) of the maximum along ``dim``."""
    return _with_index(x, dim, keepdim, largest=True)


@lowers(aten.min.dim)
def min_dim(x: mx.array, dim: int, keepdim: bool = False) -> tuple[mx.array, mx.array]:
    """(values, indices) of the minimum along ``dim``."""
    return _with_index(x, dim, keepdim, largest=False)


def _truthy(x: mx.array) -> mx.array:
    return x if x.dtype == mx.bool_ else mx.not_equal(x, 0)


@lowers(aten.any.dim, aten.any.dims, aten.any.default)
def any_(x: mx.array, dim: Any = None, keepdim: bool = False) -> mx.array:
    """Whether any element is truthy."""
    return mx.any(_truthy(x), axis=dims(dim, x.ndim), keepdims=keepdim)


@lowers(aten.all.dim, aten.all.dims, aten.all.default)
def all_(x: mx.array, dim: Any = None, keepdim: bool = False) -> mx.array:
    """Whether every element is truthy."""
    return mx.all(_truthy(x), axis=dims(dim, x.ndim), keepdims=keepdim)


@lowers(aten.var.correction, aten.var.dim)
def var(x: mx.array, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
        correction: Any = None) -> mx.array:
    """Two-pass variance with ``correction`` (default 1: Bessel)."""
    if isinstance(unbiased, bool):  # aten.var.dim spells it (dim, unbiased, keepdim)
        correction = 1 if unbiased else 0
    c = 1 if correction is None else correction
    axes = dims(dim, x.ndim)
    xf = upcast(x)
    centred = xf - mx.mean(xf, axis=axes, keepdims=True)
    n = math.prod(x.shape[a] for a in axes)
    total = mx.sum(centred * centred, axis=axes, keepdims=keepdim)
    return (total / max(n - c, 0)).astype(x.dtype)


@lowers(aten.linalg_vector_norm.default, meta=True)
def vector_norm(out: Any, x: mx.array, ord: float = 2, dim: Any = None, keepdim: bool = False,
                *, dtype: Any = None) -> mx.array:
    """``||x||_ord`` over ``dim`` (2, 1, inf, -inf, 0 and general p)."""
    a = mx.abs(_accumulate(x, out))
    axes = dims(dim, x.ndim)
    if ord == math.inf:
        return mx.max(a, axis=axes, keepdims=keepdim)
    if ord == -math.inf:
        return mx.min(a, axis=axes, keepdims=keepdim)
    if ord == 0:
        return mx.sum(mx.not_equal(a, 0).astype(a.dtype), axis=axes, keepdims=keepdim)
    if ord == 1:
        return mx.sum(a, axis=axes, keepdims=keepdim)
    if ord == 2:
        return mx.sqrt(mx.sum(a * a, axis=axes, keepdims=keepdim))
    return mx.power(mx.sum(mx.power(a, ord), axis=axes, keepdims=keepdim), 1.0 / ord)


@lowers(aten.cumsum.default, meta=True)
def cumsum(out: Any, x: mx.array, dim: int, *, dtype: Any = None) -> mx.array:
    """Inclusive prefix sum along ``dim``."""
    if x.ndim == 0:
        return _accumulate(x, out)
    return mx.cumsum(_accumulate(x, out), axis=dim_(dim, x))


@lowers(aten.cumprod.default, meta=True)
def cumprod(out: Any, x: mx.array, dim: int, *, dtype: Any = None) -> mx.array:
    """Inclusive prefix product along ``dim``."""
    if x.ndim == 0:
        return _accumulate(x, out)
    return mx.cumprod(_accumulate(x, out), axis=dim_(dim, x))


def dim_(d: int, x: mx.array) -> int:
    """``d`` as a non-negative axis of ``x``."""
    return dim(d, x.ndim)


def _sort_key(x: mx.array, descending: bool) -> mx.array:
    """A key whose ascending order is the wanted order."""
    if x.dtype == mx.bool_ or not (is_float(x) or mx.issubdtype(x.dtype, mx.signedinteger)):
        x = x.astype(mx.int64)
    return mx.negative(x) if descending else x


def _argsort(x: mx.array, axis: int, descending: bool) -> mx.array:
    # Positions carry no gradient; MLX cannot differentiate a gather w.r.t. its indices.
    return mx.argsort(mx.stop_gradient(_sort_key(x, descending)), axis=axis).astype(mx.int64)


@lowers(aten.sort.default, aten.sort.stable)
def sort(x: mx.array, dim: int = -1, descending: bool = False, *,
         stable: bool | None = None) -> tuple[mx.array, mx.array]:
    """(values, indices) sorted along ``dim`` (MLX's sort is stable)."""
    if x.ndim == 0:
        return x, mx.zeros((), dtype=mx.int64)
    axis = dim_(dim, x)
    index = _argsort(x, axis, descending)
    return mx.take_along_axis(x, index, axis=axis), index


@lowers(aten.topk.default)
def topk(x: mx.array, k: int, dim: int = -1, largest: bool = True,
         sorted: bool = True) -> tuple[mx.array, mx.array]:
    """The ``k`` largest (or smallest) along ``dim``, in sorted order."""
    if x.ndim == 0:
        return x, mx.zeros((), dtype=mx.int64)
    axis = dim_(dim, x)
    index = _argsort(x, axis, descending=largest)
    index = mx.take(index, mx.arange(k), axis=axis)
    return mx.take_along_axis(x, index, axis=axis), index


def _kth(x: mx.array, k: int, d: int, keepdim: bool) -> tuple[mx.array, mx.array]:
    """The ``k``-th smallest (0-based) along ``d`` and its index."""
    if x.ndim == 0:
        return x, mx.zeros((), dtype=mx.int64)
    axis = dim_(d, x)
    index = mx.take(_argsort(x, axis, False), mx.array([k]), axis=axis)
    values = mx.take_along_axis(x, index, axis=axis)
    if not keepdim:
        values, index = mx.squeeze(values, axis), mx.squeeze(index, axis)
    return values, index


@lowers(aten.kthvalue.default)
def kthvalue(x: mx.array, k: int, dim: int = -1, keepdim: bool = False) -> tuple[mx.array, ...]:
    """The ``k``-th smallest (1-based) along ``dim`` and its index."""
    return _kth(x, k - 1, dim, keepdim)


@lowers(aten.median.dim)
def median_dim(x: mx.array, dim: int, keepdim: bool = False) -> tuple[mx.array, mx.array]:
    """The lower median along ``dim`` and its index (torch never averages the middle two)."""
    n = x.shape[dim_(dim, x)] if x.ndim else 1
    return _kth(x, (n - 1) // 2, dim, keepdim)


@lowers(aten.median.default)
def median(x: mx.array) -> mx.array:
    """The lower median of every element."""
    flat = mx.reshape(x, (-1,))
    return _kth(flat, (flat.size - 1) // 2, 0, False)[0]


@lowers(aten.logsumexp.default)
def logsumexp(x: mx.array, dim: Any, keepdim: bool = False) -> mx.array:
    """``log(sum(exp(x)))`` along ``dim``, stabilised."""
    xf = upcast(x)
    return mx.logsumexp(xf, axis=dims(dim, x.ndim), keepdims=keepdim).astype(x.dtype)
