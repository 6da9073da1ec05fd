"""Elementwise math: unary functions, binary arithmetic (broadcasting, scalars, integers), clamp."""

from __future__ import annotations

import torch

from paritykit.suite.helpers import (
    BASE,
    BATCH,
    HALF,
    Registrar,
    cfg,
    dynamic,
    ints,
    normal,
    uniform,
)

reg = Registrar(__name__)

_SHAPE = (8, 32)
ANY = normal(*_SHAPE)
WIDE = normal(*_SHAPE, std=3.0)
POSITIVE = uniform(*_SHAPE, low=0.1, high=4.0)
UNIT = uniform(*_SHAPE, low=-0.95, high=0.95)
NONZERO = uniform(*_SHAPE, low=0.5, high=2.0)

# (name, what, op, input domain): one case each, float32.
reg.rows(
    [
        ("abs", "torch.abs", torch.abs, (ANY,)),
        ("neg", "torch.neg", torch.neg, (ANY,)),
        ("log", "torch.log on positive values", torch.log, (POSITIVE,)),
        ("log2", "torch.log2 on positive values", torch.log2, (POSITIVE,)),
        ("log1p", "torch.log1p on (-0.5, 4)", torch.log1p, (uniform(*_SHAPE, low=-0.5, high=4),)),
        ("expm1", "torch.expm1", torch.expm1, (ANY,)),
        ("rsqrt", "torch.rsqrt on positive values", torch.rsqrt, (POSITIVE,)),
        ("reciprocal", "torch.reciprocal away from 0", torch.reciprocal, (NONZERO,)),
        ("sin", "torch.sin", torch.sin, (WIDE,)),
        ("cos", "torch.cos", torch.cos, (WIDE,)),
        ("tan", "torch.tan on (-1.2, 1.2)", torch.tan, (uniform(*_SHAPE, low=-1.2, high=1.2),)),
        ("asin", "torch.asin on (-0.95, 0.95)", torch.asin, (UNIT,)),
        ("acos", "torch.acos on (-0.95, 0.95)", torch.acos, (UNIT,)),
        ("atan", "torch.atan", torch.atan, (WIDE,)),
        ("sinh", "torch.sinh", torch.sinh, (ANY,)),
        ("cosh", "torch.cosh", torch.cosh, (ANY,)),
        ("atanh", "torch.atanh on (-0.95, 0.95)", torch.atanh, (UNIT,)),
        ("erf", "torch.erf", torch.erf, (ANY,)),
        ("floor", "torch.floor", torch.floor, (WIDE,)),
        ("ceil", "torch.ceil", torch.ceil, (WIDE,)),
        ("trunc", "torch.trunc", torch.trunc, (WIDE,)),
        (
            "sign",
            "torch.sign (zeros included)",
            torch.sign,
            (ints(-3, 4, *_SHAPE, dtype=torch.float32),),
        ),
        ("square", "torch.square", torch.square, (ANY,)),
    ]
)

reg.case("exp", "torch.exp, also in half precision.", torch.exp, args=(ANY,), configs=(BASE, *HALF))
reg.case(
    "sqrt", "torch.sqrt on positive values.", torch.sqrt, args=(POSITIVE,), configs=(BASE, *HALF)
)
reg.case(
    "round",
    "torch.round (half to even), also with ``decimals``.",
    torch.round,
    args=(WIDE,),
    configs=(BASE, cfg("decimals", decimals=2)),
)

_INT32 = ints(-1000, 1000, *_SHAPE, dtype=torch.int32)
_INT64 = ints(-(2**40), 2**40, *_SHAPE)
_ARITH = (
    BASE,
    cfg("broadcast", normal(4, 1, 32), normal(6, 1)),
    cfg("scalar", ANY, other=2.5),
    cfg("scalar_tensor", ANY, normal()),
    cfg("int32", _INT32, ints(-1000, 1000, *_SHAPE, dtype=torch.int32)),
    cfg("int64", _INT64, ints(-(2**40), 2**40, *_SHAPE)),
)
reg.case(
    "add",
    "torch.add: same shape, broadcast, scalars, alpha, int32/int64, half, dynamic batch.",
    torch.add,
    args=(ANY, normal(*_SHAPE)),
    configs=(
        *_ARITH,
        cfg("alpha", ANY, normal(*_SHAPE), alpha=-0.5),
        *HALF,
        dynamic({0: BATCH}, {0: BATCH}),
        dynamic({0: BATCH}, {}, args=(ANY, normal(32)), suffix="broadcast_dynamic"),
    ),
)
reg.case(
    "sub",
    "torch.sub with broadcasting, scalars and integers.",
    torch.sub,
    args=(ANY, normal(*_SHAPE)),
    configs=_ARITH,
)
reg.case(
    "mul",
    "torch.mul with broadcasting, scalars, integers and half precision.",
    torch.mul,
    args=(ANY, normal(*_SHAPE)),
    configs=(
        *_ARITH[:4],
        cfg("int32", _INT32, ints(-40, 40, *_SHAPE, dtype=torch.int32)),
        cfg("int64", ints(-(2**20), 2**20, *_SHAPE), ints(-(2**20), 2**20, *_SHAPE)),
        *HALF,
    ),
)
reg.case(
    "div",
    "torch.div: true division, rounding modes, broadcast, scalar, integer inputs.",
    torch.div,
    args=(ANY, NONZERO),
    configs=(
        BASE,
        cfg("broadcast", normal(4, 8, 32), uniform(32, low=0.5, high=2)),
        cfg("scalar", ANY, other=3.0),
        cfg("floor", WIDE, NONZERO, rounding_mode="floor"),
        cfg("trunc", WIDE, NONZERO, rounding_mode="trunc"),
        cfg("int64", ints(-50, 50, *_SHAPE), ints(1, 7, *_SHAPE)),
        cfg("int64_floor", ints(-50, 50, *_SHAPE), ints(1, 7, *_SHAPE), rounding_mode="floor"),
        cfg("int32_trunc", _INT32, ints(1, 9, *_SHAPE, dtype=torch.int32), rounding_mode="trunc"),
    ),
)
_INT_DIVISION = (
    cfg("int64", ints(-50, 50, *_SHAPE), ints(1, 7, *_SHAPE)),
    cfg("int32", _INT32, ints(1, 9, *_SHAPE, dtype=torch.int32)),
    cfg("int64_negdiv", ints(-50, 50, *_SHAPE), ints(-7, 0, *_SHAPE)),
)
reg.case(
    "floor_divide",
    "torch.floor_divide on integers with negative dividends and divisors, and floats.",
    torch.floor_divide,
    args=(WIDE, NONZERO),
    configs=(BASE, *_INT_DIVISION),
)
reg.case(
    "remainder",
    "torch.remainder (Python-style sign) on floats and integers.",
    torch.remainder,
    args=(WIDE, NONZERO),
    configs=(BASE, cfg("scalar", WIDE, other=1.5), *_INT_DIVISION),
)
reg.case(
    "fmod",
    "torch.fmod (C-style sign) on floats and integers.",
    torch.fmod,
    args=(WIDE, NONZERO),
    configs=(BASE, *_INT_DIVISION),
)
reg.case(
    "pow",
    "torch.pow: tensor exponent on a positive base, scalar exponents, integer powers.",
    torch.pow,
    args=(POSITIVE, uniform(*_SHAPE, low=-2, high=2)),
    configs=(
        BASE,
        cfg("scalar_exp", ANY, exponent=3),
        cfg("scalar_frac_exp", POSITIVE, exponent=0.5),
        cfg("int64", ints(-9, 10, *_SHAPE), ints(0, 4, *_SHAPE)),
    ),
)
_MINMAX = (
    BASE,
    cfg("broadcast", normal(4, 8, 32), normal(8, 1)),
    cfg("int32", _INT32, ints(-1000, 1000, *_SHAPE, dtype=torch.int32)),
)
reg.case("maximum", "torch.maximum.", torch.maximum, args=(ANY, normal(*_SHAPE)), configs=_MINMAX)
reg.case("minimum", "torch.minimum.", torch.minimum, args=(ANY, normal(*_SHAPE)), configs=_MINMAX)
reg.case("atan2", "torch.atan2 over all four quadrants.", torch.atan2, args=(ANY, normal(*_SHAPE)))
reg.case(
    "lerp",
    "torch.lerp with a scalar and a tensor weight.",
    torch.lerp,
    args=(ANY, normal(*_SHAPE), uniform(*_SHAPE, low=0, high=1)),
    configs=(BASE, cfg("scalar_weight", ANY, normal(*_SHAPE), weight=0.3)),
)
reg.case(
    "addcmul",
    "torch.addcmul(x, y, z, value=0.5).",
    torch.addcmul,
    args=(ANY, normal(*_SHAPE), normal(1, 32)),
    kwargs={"value": 0.5},
)
reg.case(
    "clamp",
    "torch.clamp with scalar bounds, one bound, tensor bounds and integers.",
    torch.clamp,
    args=(ANY,),
    configs=(
        cfg("", ANY, min=-0.5, max=0.75),
        cfg("min_only", ANY, min=0.1),
        cfg("max_only", ANY, max=-0.1),
        cfg("tensor", ANY, uniform(*_SHAPE, low=-1, high=0), uniform(1, 32, low=0, high=1)),
        cfg("int64", ints(-100, 100, *_SHAPE), min=-20, max=30),
    ),
)
