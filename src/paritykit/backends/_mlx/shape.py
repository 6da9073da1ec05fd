"""Views and layout: reshape, permute, expand, squeeze, slicing, cat/split, pad, copies.

MLX arrays are values, so torch's views become copies-on-write; ``slice_scatter`` and ``copy``
(what functionalisation leaves of in-place writes) build new arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import mlx.core as mx

from paritykit.backends._mlx.core import aten, dim, lowers


@lowers(aten.view.default, aten._unsafe_view.default, aten.reshape.default)
def view(x: mx.array, shape: Sequence[int]) -> mx.array:
    """Reshape (``-1`` infers one size)."""
    return mx.reshape(x, [int(s) for s in shape])


@lowers(aten.permute.default)
def permute(x: mx.array, dims: Sequence[int]) -> mx.array:
    """Reorder axes."""
    return mx.transpose(x, [dim(d, x.ndim) for d in dims]) if x.ndim else x


@lowers(aten.t.default)
def t(x: mx.array) -> mx.array:
    """Transpose a matrix (vectors unchanged)."""
    return mx.transpose(x) if x.ndim == 2 else x


@lowers(aten.transpose.int)
def transpose(x: mx.array, dim0: int, dim1: int) -> mx.array:
    """Swap two axes."""
    return mx.swapaxes(x, dim(dim0, x.ndim), dim(dim1, x.ndim)) if x.ndim else x


@lowers(aten.expand.default)
def expand(x: mx.array, size: Sequence[int], *, implicit: bool = False) -> mx.array:
    """Broadcast to ``size``; ``-1`` keeps that axis."""
    lead = len(size) - x.ndim
    target = [int(x.shape[i - lead]) if s == -1 else int(s) for i, s in enumerate(size)]
    return mx.broadcast_to(x, target)


@lowers(aten.unsqueeze.default)
def unsqueeze(x: mx.array, d: int) -> mx.array:
    """Insert an axis of size 1 at ``d`` (which may equal ``ndim``)."""
    return mx.expand_dims(x, d % (x.ndim + 1))


@lowers(aten.squeeze.dims, aten.squeeze.dim, aten.squeeze.default)
def squeeze(x: mx.array, d: Any = None) -> mx.array:
    """Drop the given axes (all when None) that have size 1; others stay."""
    if x.ndim == 0:
        return x
    axes = range(x.ndim) if d is None else [d] if isinstance(d, int) else d
    keep = [a for a in {dim(a, x.ndim) for a in axes} if x.shape[a] == 1]
    return mx.squeeze(x, keep) if keep else x


def _index(x: mx.array, d: int, index: Any) -> tuple[Any, ...]:
    return (slice(None),) * d + (index,)


@lowers(aten.slice.Tensor)
def slice_(x: mx.array, d: int = 0, start: Any = None, end: Any = None, step: int = 1) -> mx.array:
    """``x[..., start:end:step]`` along ``d``, with Python's clamping of out-of-range bounds."""
    d = dim(d, x.ndim)
    lo, hi, st = slice(start, end, step).indices(x.shape[d])
    return x[_index(x, d, slice(lo, hi, st))]


@lowers(aten.select.int)
def select(x: mx.array, d: int, index: int) -> mx.array:
    """``x[..., index]`` along ``d`` (negative index counts from the end)."""
    d = dim(d, x.ndim)
    return x[_index(x, d, index % x.shape[d])]


@lowers(aten.slice_scatter.default)
def slice_scatter(x: mx.array, src: mx.array, d: int = 0, start: Any = None, end: Any = None,
                  step: int = 1) -> mx.array:
    """A copy of ``x`` with ``x[..., start:end:step]`` replaced by ``src``."""
    d = dim(d, x.ndim)
    lo, hi, st = slice(start, end, step).indices(x.shape[d])
    out = mx.array(x)
    out[_index(x, d, slice(lo, hi, st))] = src.astype(x.dtype)
    return out


@lowers(aten.select_scatter.default)
def select_scatter(x: mx.array, src: mx.array, d: int, index: int) -> mx.array:
    """A copy of ``x`` with ``x[..., index]`` replaced by ``src``."""
    d = dim(d, x.ndim)
    out = mx.array(x)
    out[_index(x, d, index % x.shape[d])] = src.astype(x.dtype)
    return out


@lowers(aten.cat.default, meta=True)
def cat(out: Any, tensors: Sequence[mx.array], d: int = 0) -> mx.array:
    """Concatenate along ``d``; torch's legacy empty 1-d tensors are skipped."""
    parts = [t for t in tensors if not (t.ndim == 1 and t.shape[0] == 0)] or list(tensors[:1])
    if out is not None:
        parts = [t.astype(out) for t in parts]
    return mx.concatenate(parts, axis=dim(d, parts[0].ndim))


@lowers(aten.stack.default)
def stack(tensors: Sequence[mx.array], d: int = 0) -> mx.array:
    """Stack along a new axis ``d``."""
    return mx.stack(list(tensors), axis=d % (tensors[0].ndim + 1))


@lowers(aten.split_with_sizes.default, aten.split_with_sizes_copy.default)
def split_with_sizes(x: mx.array, sizes: Sequence[int], d: int = 0) -> list[mx.array]:
    """Consecutive pieces of the given sizes along ``d``."""
    d = dim(d, x.ndim)
    bounds, at = [], 0
    for s in sizes[:-1]:
        at += int(s)
        bounds.append(at)
    return list(mx.split(x, bounds, axis=d)) if bounds else [x]


@lowers(aten.split.Tensor, aten.split_copy.Tensor)
def split(x: mx.array, size: int, d: int = 0) -> list[mx.array]:
    """Pieces of ``size`` along ``d`` (the last may be shorter)."""
    n = x.shape[dim(d, x.ndim)]
    sizes = [min(size, n - i) for i in range(0, n, size)] or [0]
    return split_with_sizes(x, sizes, d)


@lowers(aten.unbind.int)
def unbind(x: mx.array, d: int = 0) -> list[mx.array]:
    """The slices along ``d``."""
    d = dim(d, x.ndim)
    return [x[_index(x, d, i)] for i in range(x.shape[d])]


@lowers(aten.repeat.default)
def repeat(x: mx.array, repeats: Sequence[int]) -> mx.array:
    """Tile (extra leading repeats add axes, as in torch)."""
    return mx.tile(x, [int(r) for r in repeats])


@lowers(aten.flip.default)
def flip(x: mx.array, dims: Sequence[int]) -> mx.array:
    """Reverse along ``dims``."""
    index = [slice(None)] * x.ndim
    for d in dims:
        index[dim(d, x.ndim)] = slice(None, None, -1)
    return x[tuple(index)] if x.ndim else x


@lowers(aten.roll.default)
def roll(x: mx.array, shifts: Sequence[int], dims: Sequence[int] = ()) -> mx.array:
    """Circular shift (over the flattened array when ``dims`` is empty)."""
    if not dims:
        return mx.reshape(mx.roll(mx.reshape(x, (-1,)), int(shifts[0])), x.shape)
    for shift, d in zip(shifts, dims, strict=True):
        x = mx.roll(x, int(shift), dim(d, x.ndim))
    return x


@lowers(aten.diagonal.default)
def diagonal(x: mx.array, offset: int = 0, dim1: int = 0, dim2: int = 1) -> mx.array:
    """The diagonal of the ``dim1``/``dim2`` planes, as a new last axis."""
    return mx.diagonal(x, offset, dim(dim1, x.ndim), dim(dim2, x.ndim))


@lowers(aten.unfold.default)
def unfold(x: mx.array, d: int, size: int, step: int) -> mx.array:
    """Sliding windows of ``size`` every ``step`` along ``d``, windows as a new last axis."""
    if x.ndim == 0:
        return mx.reshape(x, (1,))
    d = dim(d, x.ndim)
    n = (x.shape[d] - size) // step + 1
    index = mx.arange(n)[:, None] * step + mx.arange(size)[None, :]
    return mx.moveaxis(mx.take(x, index, axis=d), d + 1, -1)


@lowers(aten.constant_pad_nd.default)
def constant_pad_nd(x: mx.array, pad: Sequence[int], value: float = 0) -> mx.array:
    """Pad (last axis first, as in F.pad); negative amounts crop."""
    widths = [(0, 0)] * x.ndim
    crop = [slice(None)] * x.ndim
    for i in range(len(pad) // 2):
        axis = x.ndim - 1 - i
        lo, hi = int(pad[2 * i]), int(pad[2 * i + 1])
        crop[axis] = slice(max(-lo, 0), x.shape[axis] - max(-hi, 0))
        widths[axis] = (max(lo, 0), max(hi, 0))
    x = x[tuple(crop)]
    return mx.pad(x, widths, constant_values=mx.array(value, dtype=x.dtype))


@lowers(aten.clone.default, aten.alias.default, aten.lift_fresh_copy.default,
        aten.detach.default, aten.contiguous.default)
def identity(x: mx.array, **kwargs: Any) -> mx.array:
    """Layout-only ops: MLX arrays are values, so a clone is the array itself."""
    return x


@lowers(aten.copy.default)
def copy(x: mx.array, src: mx.array, non_blocking: bool = False) -> mx.array:
    """``src`` broadcast to ``x``'s shape in ``x``'s dtype (functional ``x.copy_(src)``)."""
    return mx.broadcast_to(src.astype(x.dtype), x.shape)


@lowers(aten._to_copy.default, aten.to.dtype, meta=True)
def to_copy(out: Any, x: mx.array, *args: Any, **kwargs: Any) -> mx.array:
    """Dtype conversion (float to int truncates; nonzero to bool is True)."""
    if out is None:
        return x
    if out == mx.bool_:
        return mx.not_equal(x, 0)
    return x.astype(out)
