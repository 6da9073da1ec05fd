"""Softmax and normalisation: softmax/log_softmax, layer, batch (eval and batch-stats), group.

Statistics are computed in float32 for float16/bfloat16 inputs and the result rounded once,
as torch's CPU kernels do; the extra outputs (mean, rstd) have the shapes torch gives them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import mlx.core as mx

from paritykit.backends._mlx.core import aten, dim, lowers, upcast


@lowers(aten._softmax.default)
def softmax(x: mx.array, d: int, half_to_float: bool = False) -> mx.array:
    """``exp(x - max) / sum`` along ``d``."""
    xf = upcast(x)
    axis = dim(d, x.ndim)
    if x.ndim == 0:
        return mx.ones_like(x)
    e = mx.exp(xf - mx.max(xf, axis=axis, keepdims=True))
    out = e / mx.sum(e, axis=axis, keepdims=True)
    return out if half_to_float else out.astype(x.dtype)


@lowers(aten._log_softmax.default)
def log_softmax(x: mx.array, d: int, half_to_float: bool = False) -> mx.array:
    """``x - max - log(sum(exp(x - max)))`` along ``d``."""
    xf = upcast(x)
    axis = dim(d, x.ndim)
    if x.ndim == 0:
        return mx.zeros_like(x)
    shifted = xf - mx.max(xf, axis=axis, keepdims=True)
    out = shifted - mx.log(mx.sum(mx.exp(shifted), axis=axis, keepdims=True))
    return out if half_to_float else out.astype(x.dtype)


def _moments(x: mx.array, axes: tuple[int, ...]) -> tuple[mx.array, mx.array]:
    """Mean and biased variance (two-pass) over ``axes``, kept as size-1 dims."""
    mean = mx.mean(x, axis=axes, keepdims=True)
    centred = x - mean
    return mean, mx.mean(centred * centred, axis=axes, keepdims=True)


def _affine(y: mx.array, weight: mx.array | None, bias: mx.array | None,
            shape: Sequence[int]) -> mx.array:
    if weight is not None:
        y = y * mx.reshape(upcast(weight), shape)
    if bias is not None:
        y = y + mx.reshape(upcast(bias), shape)
    return y


@lowers(aten.native_layer_norm.default)
def layer_norm(x: mx.array, normalized_shape: Sequence[int], weight: mx.array | None,
               bias: mx.array | None, eps: float) -> tuple[mx.array, mx.array, mx.array]:
    """(out, mean, rstd) over the trailing ``normalized_shape`` axes."""
    xf = upcast(x)
    axes = tuple(range(x.ndim - len(normalized_shape), x.ndim))
    mean, var = _moments(xf, axes)
    rstd = mx.rsqrt(var + eps)
    y = _affine((xf - mean) * rstd, weight, bias, list(normalized_shape))
    return y.astype(x.dtype), mean, rstd


def _channel_shape(x: mx.array) -> list[int]:
    return [1, -1] + [1] * (x.ndim - 2)


@lowers(aten._native_batch_norm_legit_no_training.default)
def batch_norm_eval(x: mx.array, weight: mx.array | None, bias: mx.array | None,
                    running_mean: mx.array, running_var: mx.array, momentum: float,
                    eps: float) -> tuple[mx.array, mx.array, mx.array]:
    """Inference batch norm as torch computes it: ``x * alpha + beta`` per channel."""
    shape = _channel_shape(x)
    invstd = 1.0 / mx.sqrt(upcast(running_var) + eps)
    alpha = invstd if weight is None else invstd * upcast(weight)
    beta = -upcast(running_mean) * alpha
    if bias is not None:
        beta = beta + upcast(bias)
    y = upcast(x) * mx.reshape(alpha, shape) + mx.reshape(beta, shape)
    empty = mx.zeros((0,), dtype=x.dtype)
    return y.astype(x.dtype), empty, empty


@lowers(aten._native_batch_norm_legit.no_stats, aten._native_batch_norm_legit.default,
        aten.native_batch_norm.default)
def batch_norm_batch_stats(x: mx.array, weight: mx.array | None, bias: mx.array | None,
                           *rest: Any) -> tuple[mx.array, mx.array, mx.array]:
    """Batch norm with this batch's statistics (training mode, instance norm).

    The running-stat update of the training overloads is not modelled: the exported
    program's outputs never include it in inference.
    """
    if len(rest) == 3:  # no_stats: (training, momentum, eps)
        training, eps = rest[0], rest[2]
    else:  # (running_mean, running_var, training, momentum, eps)
        training, eps = rest[2], rest[4]
        if not training:
            return batch_norm_eval(x, weight, bias, rest[0], rest[1], rest[3], eps)
    xf = upcast(x)
    axes = (0, *range(2, x.ndim))
    mean, var = _moments(xf, axes)
    rstd = mx.rsqrt(var + eps)
    y = _affine((xf - mean) * rstd, weight, bias, _channel_shape(x))
    return y.astype(x.dtype), mx.reshape(mean, (-1,)), mx.reshape(rstd, (-1,))


@lowers(aten.native_group_norm.default)
def group_norm(x: mx.array, weight: mx.array | None, bias: mx.array | None, n: int, c: int,
               hxw: int, group: int, eps: float) -> tuple[mx.array, mx.array, mx.array]:
    """(out, mean, rstd) with statistics per (sample, group); mean/rstd shaped (N, G)."""
    xf = upcast(x)
    batch = x.shape[0]
    grouped = mx.reshape(xf, (batch, group, -1))
    mean, var = _moments(grouped, (2,))
    rstd = mx.rsqrt(var + eps)
    y = mx.reshape((grouped - mean) * rstd, x.shape)
    y = _affine(y, weight, bias, _channel_shape(x))
    return y.astype(x.dtype), mx.reshape(mean, (batch, group)), mx.reshape(rstd, (batch, group))


@lowers(aten._fused_rms_norm.default)
def rms_norm(x: mx.array, normalized_shape: Sequence[int], weight: mx.array | None,
             eps: float | None) -> tuple[mx.array, mx.array]:
    """(out, rstd) of RMS norm over the trailing axes (eps defaults to the dtype's eps)."""
    xf = upcast(x)
    axes = tuple(range(x.ndim - len(normalized_shape), x.ndim))
    if eps is None:
        eps = float(mx.finfo(x.dtype).eps) if x.dtype != mx.float64 else 2.0 ** -52
    rstd = mx.rsqrt(mx.mean(xf * xf, axis=axes, keepdims=True) + eps)
    y = _affine(xf * rstd, weight, None, list(normalized_shape))
    return y.astype(x.dtype), rstd

