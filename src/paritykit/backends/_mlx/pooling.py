"""Pooling and resampling: max/avg pooling (padding, dilation, ceil_mode, indices), adaptive
pooling, nearest and bilinear upsampling.

Every pooling op is one gather: per spatial dim an (out, window) table of input positions,
computed with NumPy from the run's shapes, picks every window element at once; positions in
padding are masked. Max-pool indices are flat positions in the unpadded input plane, as torch's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import mlx.core as mx
import numpy as np

from paritykit.backends._mlx.core import HALF, aten, lowers


@dataclass(frozen=True)
class Windows:
    """For each pooled spatial dim: input positions (out, window) and whether each is real."""

    index: list[np.ndarray]
    valid: list[np.ndarray]


def _out_size(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    span = size + 2 * p - d * (k - 1) - 1
    out = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:  # the last window must start inside
        out -= 1
    return out


def _regular(sizes: Sequence[int], kernel: list[int], stride: list[int], padding: list[int],
             dilation: list[int], ceil_mode: bool) -> Windows:
    index, valid = [], []
    for size, k, s, p, d in zip(sizes, kernel, stride, padding, dilation, strict=True):
        out = _out_size(size, k, s, p, d, ceil_mode)
        pos = np.arange(out)[:, None] * s - p + np.arange(k)[None, :] * d
        index.append(np.clip(pos, 0, size - 1))
        valid.append((pos >= 0) & (pos < size))
    return Windows(index, valid)


def _adaptive(sizes: Sequence[int], outs: Sequence[int]) -> Windows:
    index, valid = [], []
    for size, out in zip(sizes, outs, strict=True):
        start = (np.arange(out) * size) // out
        end = -((-(np.arange(out) + 1) * size) // out)  # ceil division
        width = int((end - start).max())
        pos = start[:, None] + np.arange(width)[None, :]
        index.append(np.minimum(pos, size - 1))
        valid.append(pos < end[:, None])
    return Windows(index, valid)


def _gather(x: mx.array, w: Windows) -> mx.array:
    """(..., *out, K): every window's elements, flattened; K = prod of window sizes."""
    k = len(w.index)
    key: list[Any] = [Ellipsis]
    for j, idx in enumerate(w.index):
        shape = [1] * (2 * k)
        shape[j], shape[k + j] = idx.shape
        key.append(mx.array(idx.reshape(shape).astype(np.int32)))
    g = x[tuple(key)]
    return mx.reshape(g, (*g.shape[: g.ndim - k], -1))


def _mask(w: Windows) -> np.ndarray:
    """(*out, K) bool: which gathered elements are real input."""
    k = len(w.valid)
    mask = np.ones([1] * (2 * k), dtype=bool)
    for j, v in enumerate(w.valid):
        shape = [1] * (2 * k)
        shape[j], shape[k + j] = v.shape
        mask = mask & v.reshape(shape)
    return mask.reshape(*mask.shape[:k], -1)


def _flat_positions(w: Windows, sizes: Sequence[int]) -> np.ndarray:
    """(*out, K) int64: each gathered element's flat index in the input plane."""
    k = len(w.index)
    flat = np.zeros([1] * (2 * k), dtype=np.int64)
    for j, idx in enumerate(w.index):
        shape = [1] * (2 * k)
        shape[j], shape[k + j] = idx.shape
        flat = flat + idx.reshape(shape) * math.prod(sizes[j + 1:])
    return flat.reshape(*flat.shape[:k], -1)


def _lowest(dtype: mx.Dtype) -> mx.array:
    if mx.issubdtype(dtype, mx.floating):
        return mx.array(-math.inf, dtype=dtype)
    return mx.array(mx.iinfo(dtype).min, dtype=dtype)


def _max(x: mx.array, w: Windows, sizes: Sequence[int]) -> tuple[mx.array, mx.array]:
    g = mx.where(mx.array(_mask(w)), _gather(x, w), _lowest(x.dtype))
    # The winner's position carries no gradient (MLX cannot differentiate a gather w.r.t. it);
    # the value's gradient flows back through the gather of ``g``, to the winner only.
    arg = mx.argmax(mx.stop_gradient(g), axis=-1, keepdims=True)
    values = mx.take_along_axis(g, arg, axis=-1)[..., 0]
    if mx.issubdtype(x.dtype, mx.floating):
        # torch's scan takes every NaN it meets ("val > max || isnan(val)"): the last wins.
        isnan = mx.isnan(mx.stop_gradient(g))
        nan = mx.any(isnan, axis=-1)
        last = g.shape[-1] - 1 - mx.argmax(isnan[..., ::-1], axis=-1, keepdims=True)
        values = mx.where(nan, mx.array(math.nan, dtype=x.dtype), values)
        arg = mx.where(nan[..., None], last, arg)
    flat = mx.array(_flat_positions(w, sizes))
    indices = mx.take_along_axis(mx.broadcast_to(flat, g.shape), arg.astype(mx.int32), axis=-1)
    return values, indices[..., 0]


def _params(kernel: Sequence[int], stride: Sequence[int], padding: Any, dilation: Any,
            n: int) -> tuple[list[int], list[int], list[int], list[int]]:
    def per_dim(v: Any, default: list[int]) -> list[int]:
        if v is None or (not isinstance(v, int) and len(v) == 0):
            return default
        v = [v] if isinstance(v, int) else [int(a) for a in v]
        return v * n if len(v) == 1 else v

    k = per_dim(kernel, [1] * n)
    return k, per_dim(stride, k), per_dim(padding, [0] * n), per_dim(dilation, [1] * n)


def _max_pool(x: mx.array, kernel: Sequence[int], stride: Sequence[int], padding: Any,
              dilation: Any, ceil_mode: bool, n: int) -> tuple[mx.array, mx.array]:
    k, s, p, d = _params(kernel, stride, padding, dilation, n)
    sizes = x.shape[-n:]
    return _max(x, _regular(sizes, k, s, p, d, ceil_mode), sizes)


@lowers(aten.max_pool2d_with_indices.default)
def max_pool2d(x: mx.array, kernel_size: Sequence[int], stride: Sequence[int] = (),
               padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False) -> tuple[mx.array, mx.array]:
    """2-d max pooling with indices."""
    return _max_pool(x, kernel_size, stride, padding, dilation, ceil_mode, 2)


@lowers(aten.max_pool3d_with_indices.default)
def max_pool3d(x: mx.array, kernel_size: Sequence[int], stride: Sequence[int] = (),
               padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False) -> tuple[mx.array, mx.array]:
    """3-d max pooling with indices."""
    return _max_pool(x, kernel_size, stride, padding, dilation, ceil_mode, 3)


def _avg_divisor(sizes: Sequence[int], k: list[int], s: list[int], p: list[int],
                 ceil_mode: bool, count_include_pad: bool) -> np.ndarray:
    """torch's per-window divisor: the window clipped to the padded (or the real) input."""
    counts = []
    for size, kk, ss, pp in zip(sizes, k, s, p, strict=True):
        out = _out_size(size, kk, ss, pp, 1, ceil_mode)
        start = np.arange(out) * ss - pp
        end = np.minimum(start + kk, size + pp)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, size)
        counts.append(end - start)
    total = counts[0]
    for c in counts[1:]:
        total = np.multiply.outer(total, c)
    return total


def _avg_pool(x: mx.array, kernel: Sequence[int], stride: Sequence[int], padding: Any,
              ceil_mode: bool, count_include_pad: bool, divisor_override: int | None,
              n: int) -> mx.array:
    k, s, p, _ = _params(kernel, stride, padding, 1, n)
    sizes = x.shape[-n:]
    w = _regular(sizes, k, s, p, [1] * n, ceil_mode)
    xf = x.astype(mx.float32) if x.dtype in HALF else x
    total = mx.sum(mx.where(mx.array(_mask(w)), _gather(xf, w), 0), axis=-1)
    if divisor_override:
        return (total / divisor_override).astype(x.dtype)
    divisor = _avg_divisor(sizes, k, s, p, ceil_mode, count_include_pad)
    return (total / mx.array(divisor.astype(np.float32))).astype(x.dtype)


@lowers(aten.avg_pool2d.default)
def avg_pool2d(x: mx.array, kernel_size: Sequence[int], stride: Sequence[int] = (),
               padding: Any = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> mx.array:
    """2-d average pooling."""
    return _avg_pool(x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, 2)


@lowers(aten.avg_pool3d.default)
def avg_pool3d(x: mx.array, kernel_size: Sequence[int], stride: Sequence[int] = (),
               padding: Any = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> mx.array:
    """3-d average pooling."""
    return _avg_pool(x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, 3)


@lowers(aten._adaptive_avg_pool2d.default, aten._adaptive_avg_pool3d.default,
        aten.adaptive_avg_pool1d.default)
def adaptive_avg_pool(x: mx.array, output_size: Sequence[int]) -> mx.array:
    """Mean over torch's adaptive windows ``[floor(i*L/O), ceil((i+1)*L/O))``."""
    n = len(output_size)
    sizes = x.shape[-n:]
    w = _adaptive(sizes, [int(o) for o in output_size])
    mask = _mask(w)
    xf = x.astype(mx.float32) if x.dtype in HALF else x
    total = mx.sum(mx.where(mx.array(mask), _gather(xf, w), 0), axis=-1)
    return (total / mx.array(mask.sum(-1).astype(np.float32))).astype(x.dtype)


@lowers(aten.adaptive_max_pool2d.default, aten.adaptive_max_pool3d.default)
def adaptive_max_pool(x: mx.array, output_size: Sequence[int]) -> tuple[mx.array, mx.array]:
    """Max (and its flat index) over torch's adaptive windows."""
    n = len(output_size)
    sizes = x.shape[-n:]
    return _max(x, _adaptive(sizes, [int(o) for o in output_size]), sizes)


def _scale(size: int, out: int, scale: float | None, align_corners: bool) -> float:
    """torch's area_pixel_compute_scale (in float32, like its kernels)."""
    if align_corners:
        return float(np.float32((size - 1) / (out - 1))) if out > 1 else 0.0
    if scale is not None and scale > 0:
        return float(np.float32(1.0 / scale))
    return float(np.float32(size / out))


def _out_sizes(x: mx.array, output_size: Any, scale_factors: Any, n: int) -> list[int]:
    if output_size is not None:
        return [int(o) for o in output_size]
    return [math.floor(s * f) for s, f in zip(x.shape[-n:], scale_factors, strict=True)]


@lowers(aten.upsample_nearest2d.vec, aten.upsample_nearest1d.vec, aten.upsample_nearest3d.vec)
def upsample_nearest(x: mx.array, output_size: Any, scale_factors: Any) -> mx.array:
    """Nearest-neighbour resize: source ``min(floor(dst * scale), in - 1)``."""
    n = len(output_size) if output_size is not None else len(scale_factors)
    outs = _out_sizes(x, output_size, scale_factors, n)
    for j, out in enumerate(outs):
        axis = x.ndim - n + j
        size = x.shape[axis]
        scale = _scale(size, out, scale_factors[j] if scale_factors else None, False)
        src = np.minimum(np.floor(np.arange(out, dtype=np.float32) * np.float32(scale)),
                         size - 1).astype(np.int32)
        x = mx.take(x, mx.array(src), axis=axis)
    return x


def _linear_axis(x: mx.array, axis: int, out: int, scale: float | None,
                 align_corners: bool) -> mx.array:
    size = x.shape[axis]
    s = np.float32(_scale(size, out, scale, align_corners))
    dst = np.arange(out, dtype=np.float32)
    src = s * dst if align_corners else np.maximum(s * (dst + np.float32(0.5)) - np.float32(0.5),
                                                   np.float32(0))
    i0 = np.minimum(np.floor(src).astype(np.int32), size - 1)
    i1 = np.minimum(i0 + 1, size - 1)
    l1 = (src - i0).astype(np.float32)
    l0 = (np.float32(1) - l1).astype(np.float32)
    shape = [1] * x.ndim
    shape[axis] = out
    a = mx.take(x, mx.array(i0), axis=axis)
    b = mx.take(x, mx.array(i1), axis=axis)
    return a * mx.array(l0.reshape(shape)) + b * mx.array(l1.reshape(shape))


@lowers(aten.upsample_bilinear2d.vec, aten.upsample_linear1d.vec, aten.upsample_trilinear3d.vec)
def upsample_linear(x: mx.array, output_size: Any, align_corners: bool,
                    scale_factors: Any) -> mx.array:
    """(Bi/tri)linear resize, one axis at a time from the last, as torch's separable kernel."""
    n = len(output_size) if output_size is not None else len(scale_factors)
    outs = _out_sizes(x, output_size, scale_factors, n)
    dtype = x.dtype
    xf = x.astype(mx.float32) if dtype in HALF else x
    for j in reversed(range(n)):
        scale = scale_factors[j] if scale_factors else None
        xf = _linear_axis(xf, x.ndim - n + j, outs[j], scale, align_corners)
    return xf.astype(dtype)
