"""Pointwise ops: math functions, activations, comparisons, logic and ``where``.

Transcendental functions of float16/bfloat16 are computed in float32 and rounded once, as
torch's CPU kernels do, so they differ from torch by rounding only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import mlx.core as mx

from paritykit.backends._mlx.arithmetic import clamp
from paritykit.backends._mlx.core import HALF, as_float, aten, is_float, lowers

Unary = Callable[[mx.array], mx.array]


def _float_unary(fn: Unary) -> Unary:
    """``fn`` on a float view of ``x``: ints promote to float32, halves compute in float32."""

    def call(x: mx.array) -> mx.array:
        x = as_float(x)
        if x.dtype in HALF:
            return fn(x.astype(mx.float32)).astype(x.dtype)
        return fn(x)

    return call


_FLOAT_UNARY: dict[Any, Unary] = {
    aten.exp.default: mx.exp,
    aten.exp2.default: lambda x: mx.power(2.0, x),
    aten.expm1.default: mx.expm1,
    aten.log.default: mx.log,
    aten.log1p.default: mx.log1p,
    aten.log2.default: mx.log2,
    aten.log10.default: mx.log10,
    aten.sqrt.default: mx.sqrt,
    aten.rsqrt.default: mx.rsqrt,
    aten.reciprocal.default: mx.reciprocal,
    aten.sin.default: mx.sin,
    aten.cos.default: mx.cos,
    aten.tan.default: mx.tan,
    aten.asin.default: mx.arcsin,
    aten.acos.default: mx.arccos,
    aten.atan.default: mx.arctan,
    aten.sinh.default: mx.sinh,
    aten.cosh.default: mx.cosh,
    aten.tanh.default: mx.tanh,
    aten.asinh.default: mx.arcsinh,
    aten.acosh.default: mx.arccosh,
    aten.atanh.default: mx.arctanh,
    aten.erf.default: mx.erf,
    aten.erfinv.default: mx.erfinv,
    aten.sigmoid.default: mx.sigmoid,
}
_ANY_UNARY: dict[Any, Unary] = {
    aten.abs.default: mx.abs,
    aten.neg.default: mx.negative,
    aten.sign.default: mx.sign,  # sign(NaN) is 0 in both
    aten.isnan.default: mx.isnan,
    aten.isinf.default: mx.isinf,
    aten.isfinite.default: mx.isfinite,
    aten.logical_not.default: lambda x: mx.logical_not(_bool(x)),
}
#: Rounding is the identity on integers (MLX's kernels reject them).
_ROUNDING: dict[Any, Unary] = {
    aten.floor.default: mx.floor,
    aten.ceil.default: mx.ceil,
    aten.trunc.default: mx.trunc,
    aten.round.default: mx.round,
}


def _register_unary() -> None:
    for target, fn in _FLOAT_UNARY.items():
        lowers(target)(_float_unary(fn))
    for target, fn in _ANY_UNARY.items():
        lowers(target)(fn)
    for target, fn in _ROUNDING.items():
        lowers(target)(_rounding(fn))


def _rounding(fn: Unary) -> Unary:
    return lambda x: fn(x) if is_float(x) else x


_register_unary()


def _bool(x: Any) -> Any:
    if isinstance(x, mx.array) and x.dtype != mx.bool_:
        return mx.not_equal(x, 0)
    return x

@lowers(aten.hardtanh.default)
def hardtanh(x: mx.array, min_val: float = -1.0, max_val: float = 1.0) -> mx.array:
    """Clamp to ``[min_val, max_val]``."""
    return clamp(x, min_val, max_val)


@lowers(aten.relu.default)
def relu(x: mx.array) -> mx.array:
    """``max(x, 0)`` (MLX's maximum propagates NaN, as torch's relu does)."""
    return mx.maximum(x, 0)


@lowers(aten.leaky_relu.default)
def leaky_relu(x: mx.array, negative_slope: float = 0.01) -> mx.array:
    """``x`` where positive, else ``x * negative_slope``."""
    return mx.where(mx.greater(x, 0), x, mx.multiply(x, negative_slope))


@lowers(aten.elu.default)
def elu(x: mx.array, alpha: float = 1.0, scale: float = 1.0, input_scale: float = 1.0) -> mx.array:
    """ELU with torch's three coefficients (covers SELU and CELU)."""

    def f(v: mx.array) -> mx.array:
        neg = mx.multiply(mx.expm1(mx.multiply(v, input_scale)), alpha * scale)
        return mx.where(mx.greater(v, 0), mx.multiply(v, scale), neg)

    return _float_unary(f)(x)


@lowers(aten.gelu.default)
def gelu(x: mx.array, approximate: str = "none") -> mx.array:
    """GELU, exact (erf) or the tanh approximation."""

    def exact(v: mx.array) -> mx.array:
        return v * 0.5 * (1.0 + mx.erf(v * (1.0 / math.sqrt(2.0))))

    def tanh(v: mx.array) -> mx.array:
        inner = math.sqrt(2.0 / math.pi) * (v + 0.044715 * v * v * v)
        return 0.5 * v * (1.0 + mx.tanh(inner))

    return _float_unary(tanh if approximate == "tanh" else exact)(x)

_COMPARE: dict[str, Callable[[Any, Any], mx.array]] = {
    "eq": mx.equal, "ne": mx.not_equal, "lt": mx.less, "le": mx.less_equal,
    "gt": mx.greater, "ge": mx.greater_equal,
}
for _name, _fn in _COMPARE.items():
    lowers(getattr(aten, _name).Tensor, getattr(aten, _name).Scalar)(_fn)


@lowers(aten.logical_and.default)
def logical_and(x: mx.array, y: mx.array) -> mx.array:
    """Truthiness AND."""
    return mx.logical_and(_bool(x), _bool(y))


@lowers(aten.logical_or.default)
def logical_or(x: mx.array, y: mx.array) -> mx.array:
    """Truthiness OR."""
    return mx.logical_or(_bool(x), _bool(y))


@lowers(aten.logical_xor.default)
def logical_xor(x: mx.array, y: mx.array) -> mx.array:
    """Truthiness XOR."""
    return mx.not_equal(_bool(x), _bool(y))


@lowers(aten.bitwise_and.Tensor, aten.bitwise_and.Scalar)
def bitwise_and(x: Any, y: Any) -> mx.array:
    """Bitwise AND (logical on bools)."""
    return mx.bitwise_and(x, y)


@lowers(aten.bitwise_or.Tensor, aten.bitwise_or.Scalar)
def bitwise_or(x: Any, y: Any) -> mx.array:
    """Bitwise OR (logical on bools)."""
    return mx.bitwise_or(x, y)


@lowers(aten.bitwise_xor.Tensor, aten.bitwise_xor.Scalar)
def bitwise_xor(x: Any, y: Any) -> mx.array:
    """Bitwise XOR (logical on bools)."""
    return mx.bitwise_xor(x, y)


@lowers(aten.bitwise_not.default)
def bitwise_not(x: mx.array) -> mx.array:
    """Bitwise NOT (logical on bools)."""
    return mx.logical_not(x) if x.dtype == mx.bool_ else mx.bitwise_invert(x)


@lowers(aten.where.self)
def where(cond: mx.array, x: Any, y: Any) -> mx.array:
    """Select by ``cond``."""
    return mx.where(_bool(cond), x, y)
