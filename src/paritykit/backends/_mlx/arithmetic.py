"""Arithmetic: add/sub/mul/div with torch's rounding modes, remainder/fmod, pow, min/max, clamp.

Integer division, floor division and the two modulus conventions follow torch exactly: floor
division of floats is torch's fmod-based ``div_floor_floating``, not ``floor(a / b)``.
"""

from __future__ import annotations

from typing import Any

import mlx.core as mx

from paritykit.backends._mlx.core import HALF, as_float, aten, is_float, lowers


@lowers(aten.add.Tensor, aten.add.Scalar)
def add(x: Any, y: Any, alpha: Any = 1) -> mx.array:
    """``x + alpha * y``."""
    return mx.add(x, y if alpha == 1 else mx.multiply(y, alpha))


@lowers(aten.sub.Tensor, aten.sub.Scalar)
def sub(x: Any, y: Any, alpha: Any = 1) -> mx.array:
    """``x - alpha * y``."""
    return mx.subtract(x, y if alpha == 1 else mx.multiply(y, alpha))


@lowers(aten.rsub.Tensor, aten.rsub.Scalar)
def rsub(x: Any, y: Any, alpha: Any = 1) -> mx.array:
    """``y - alpha * x``."""
    return sub(y, x, alpha)


@lowers(aten.mul.Tensor, aten.mul.Scalar)
def mul(x: Any, y: Any) -> mx.array:
    """Product (bool * bool stays bool through the dtype cast)."""
    return mx.multiply(x, y)


@lowers(aten.div.Tensor, aten.div.Scalar)
def div(x: Any, y: Any) -> mx.array:
    """True division (integers divide as floats)."""
    return mx.divide(x, y)


@lowers(aten.div.Tensor_mode, aten.div.Scalar_mode)
def div_mode(x: Any, y: Any, rounding_mode: str | None = None) -> mx.array:
    """Division with torch's ``rounding_mode`` (None, "trunc", "floor")."""
    if rounding_mode is None:
        return mx.divide(x, y)
    x, y = _arrays(x, y)
    integral = not (is_float(x) or is_float(y))
    if rounding_mode == "trunc":
        if integral:
            q = mx.floor_divide(x, y)
            inexact = mx.logical_and(mx.not_equal(mx.multiply(q, y), x),
                                     mx.not_equal(mx.less(x, 0), mx.less(y, 0)))
            return mx.add(q, inexact.astype(q.dtype))
        return mx.trunc(mx.divide(x, y))
    if rounding_mode == "floor":
        return mx.floor_divide(x, y) if integral else _floor_divide_float(x, y)
    raise ValueError(f"unknown rounding_mode {rounding_mode!r}")


def _floor_divide_float(a: mx.array, b: mx.array) -> mx.array:
    # torch's div_floor_floating: Python-style floor division built on fmod, not floor(a / b).
    mod = _fmod(a, b)
    div = mx.divide(mx.subtract(a, mod), b)
    fix = mx.logical_and(mx.not_equal(mod, 0), mx.not_equal(mx.less(b, 0), mx.less(mod, 0)))
    div = mx.where(fix, mx.subtract(div, 1), div)
    floordiv = mx.floor(div)
    floordiv = mx.where(mx.greater(mx.subtract(div, floordiv), 0.5), floordiv + 1, floordiv)
    zero = mx.equal(div, 0)
    floordiv = mx.where(zero, mx.multiply(mx.abs(div), _sign_of(mx.divide(a, b))), floordiv)
    return mx.where(mx.equal(b, 0), mx.divide(a, b), floordiv)


def _sign_of(x: mx.array) -> mx.array:
    return mx.where(mx.less(x, 0), -1.0, 1.0).astype(x.dtype)


def _arrays(x: Any, y: Any) -> tuple[mx.array, mx.array]:
    if not isinstance(x, mx.array):
        x = mx.array(x, dtype=y.dtype if isinstance(y, mx.array) and is_float(y) else None)
    if not isinstance(y, mx.array):
        y = mx.array(y, dtype=x.dtype if is_float(x) or isinstance(y, int) else None)
    return x, y


@lowers(aten.floor_divide.default, aten.floor_divide.Scalar)
def floor_divide(x: Any, y: Any) -> mx.array:
    """Python-style floor division."""
    return div_mode(x, y, "floor")


@lowers(aten.remainder.Tensor, aten.remainder.Scalar, aten.remainder.Scalar_Tensor)
def remainder(x: Any, y: Any) -> mx.array:
    """Python-style modulus: the sign of the divisor."""
    return mx.remainder(x, y)


def _fmod(x: mx.array, y: mx.array) -> mx.array:
    # C fmod (the sign of the dividend) from MLX's floored remainder of magnitudes, which
    # is exact; "remainder(x, y) - y" would round.
    mag = mx.remainder(mx.abs(x), mx.abs(y))
    return mx.where(mx.less(x, 0), mx.negative(mag), mag)


@lowers(aten.fmod.Tensor, aten.fmod.Scalar)
def fmod(x: Any, y: Any) -> mx.array:
    """C-style modulus: the sign of the dividend."""
    x, y = _arrays(x, y)
    return _fmod(x, y)


@lowers(aten.pow.Tensor_Scalar, aten.pow.Tensor_Tensor, aten.pow.Scalar)
def power(x: Any, y: Any) -> mx.array:
    """``x ** y``; halves compute in float32."""
    if isinstance(x, mx.array) and x.dtype in HALF:
        return mx.power(x.astype(mx.float32), y).astype(x.dtype)
    return mx.power(x, y)


@lowers(aten.atan2.default)
def atan2(y: mx.array, x: mx.array) -> mx.array:
    """Quadrant-aware arctangent."""
    return mx.arctan2(as_float(y), as_float(x))


@lowers(aten.maximum.default, aten.fmax.default)
def maximum(x: mx.array, y: mx.array) -> mx.array:
    """Elementwise max (NaN propagates)."""
    return mx.maximum(x, y)


@lowers(aten.minimum.default, aten.fmin.default)
def minimum(x: mx.array, y: mx.array) -> mx.array:
    """Elementwise min (NaN propagates)."""
    return mx.minimum(x, y)


@lowers(aten.clamp.default, aten.clamp.Tensor, aten.clip.default)
def clamp(x: mx.array, min: Any = None, max: Any = None) -> mx.array:
    """torch.clamp: NaN propagates; min > max gives max."""
    if min is not None:
        x = mx.maximum(x, min)
    if max is not None:
        x = mx.minimum(x, max)
    return x


@lowers(aten.clamp_min.default, aten.clamp_min.Tensor)
def clamp_min(x: mx.array, min: Any) -> mx.array:
    """Lower bound only."""
    return mx.maximum(x, min)


@lowers(aten.clamp_max.default, aten.clamp_max.Tensor)
def clamp_max(x: mx.array, max: Any) -> mx.array:
    """Upper bound only."""
    return mx.minimum(x, max)


@lowers(aten.round.decimals)
def round_decimals(x: mx.array, decimals: int = 0) -> mx.array:
    """Round half to even at ``decimals`` digits, scaled the way torch scales."""
    ten = 10.0 ** abs(decimals)
    if decimals >= 0:
        return mx.divide(mx.round(mx.multiply(x, ten)), ten)
    return mx.multiply(mx.round(mx.divide(x, ten)), ten)
