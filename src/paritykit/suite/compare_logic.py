"""Comparisons, logical and bitwise ops, where / masked_fill, NaN and Inf tests (bool outputs)."""

from __future__ import annotations

import torch

from paritykit.suite.helpers import BASE, BATCH, Registrar, bools, cfg, dynamic, ints, normal

reg = Registrar(__name__)

_SHAPE = (8, 32)
# Small integer grids stored as floats so that equality actually happens.
GRID = ints(-3, 4, *_SHAPE, dtype=torch.float32)
GRID_B = ints(-3, 4, *_SHAPE, dtype=torch.float32)
_CMP_CONFIGS = (
    BASE,
    cfg("broadcast", ints(-3, 4, 4, 1, 32, dtype=torch.float32), ints(-3, 4, 8, 1)),
    cfg("scalar", GRID, other=1.0),
    cfg("int64", ints(-3, 4, *_SHAPE), ints(-3, 4, *_SHAPE)),
    cfg("int32", ints(-3, 4, *_SHAPE, dtype=torch.int32), ints(-3, 4, *_SHAPE, dtype=torch.int32)),
)
for _cmp in (torch.eq, torch.ne, torch.lt, torch.le, torch.gt, torch.ge):
    reg.case(
        _cmp.__name__,
        f"torch.{_cmp.__name__} on floats with ties, broadcast, a scalar, int64 and int32.",
        _cmp,
        args=(GRID, GRID_B),
        configs=_CMP_CONFIGS,
    )

_B = bools(*_SHAPE)
_TERNARY = ints(-1, 2, *_SHAPE, dtype=torch.float32)  # -1, 0, 1
_LOGIC_CONFIGS = (
    BASE,
    cfg("broadcast", bools(4, 1, 32), bools(8, 1)),
    cfg("float", _TERNARY, ints(-1, 2, *_SHAPE, dtype=torch.float32)),
)
for _logic in (torch.logical_and, torch.logical_or, torch.logical_xor):
    reg.case(
        _logic.__name__,
        f"torch.{_logic.__name__} on bools (also broadcast) and on floats (zero is False).",
        _logic,
        args=(_B, bools(*_SHAPE)),
        configs=_LOGIC_CONFIGS,
    )
reg.case(
    "logical_not",
    "torch.logical_not on bools and on floats (zero is False).",
    torch.logical_not,
    args=(_B,),
    configs=(BASE, cfg("float", _TERNARY)),
)

_I32 = ints(-(2**30), 2**30, *_SHAPE, dtype=torch.int32)
_BIT_CONFIGS = (
    BASE,
    cfg("int64", ints(-(2**62), 2**62, *_SHAPE), ints(-(2**62), 2**62, *_SHAPE)),
    cfg("bool", _B, bools(*_SHAPE)),
)
for _bit in (torch.bitwise_and, torch.bitwise_or, torch.bitwise_xor):
    reg.case(
        _bit.__name__,
        f"torch.{_bit.__name__} on int32, int64 and bool.",
        _bit,
        args=(_I32, ints(-(2**30), 2**30, *_SHAPE, dtype=torch.int32)),
        configs=_BIT_CONFIGS,
    )
reg.case(
    "bitwise_not",
    "torch.bitwise_not on int32 and bool.",
    torch.bitwise_not,
    args=(_I32,),
    configs=(BASE, cfg("bool", _B)),
)

_X = normal(*_SHAPE)
reg.case(
    "where",
    "torch.where with broadcast condition, scalar branch, integers and a dynamic batch.",
    torch.where,
    args=(_B, _X, normal(*_SHAPE)),
    configs=(
        BASE,
        cfg("broadcast", bools(8, 1), normal(4, 8, 32), normal(32)),
        cfg("scalar", _B, _X, other=0.0),
        cfg("int64", _B, ints(-9, 9, *_SHAPE), ints(-9, 9, *_SHAPE)),
        dynamic({0: BATCH}, {0: BATCH}, {0: BATCH}),
    ),
)
reg.case(
    "masked_fill",
    "torch.masked_fill with a full and a broadcast mask, finite and -inf fill values.",
    torch.masked_fill,
    args=(_X, _B),
    kwargs={"value": -2.5},
    configs=(
        BASE,
        cfg("broadcast", normal(4, 8, 32), bools(1, 8, 1)),
        cfg("neg_inf", _X, _B, value=float("-inf")),
        cfg("int64", ints(-9, 9, *_SHAPE), _B, value=7),
    ),
)


def _ratio(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """x / y on small integer grids: produces finite values, +-inf (a/0) and NaN (0/0)."""
    return x / y


_RATIO_ARGS = (ints(-2, 3, *_SHAPE, dtype=torch.float32), ints(-2, 3, *_SHAPE, dtype=torch.float32))
reg.rows(
    [
        (
            "isnan",
            "torch.isnan of x / y (NaN made in-graph by 0/0).",
            lambda x, y: torch.isnan(_ratio(x, y)),
            _RATIO_ARGS,
        ),
        (
            "isinf",
            "torch.isinf of x / y (+-Inf made in-graph by a/0).",
            lambda x, y: torch.isinf(_ratio(x, y)),
            _RATIO_ARGS,
        ),
        (
            "isfinite",
            "torch.isfinite of x / y.",
            lambda x, y: torch.isfinite(_ratio(x, y)),
            _RATIO_ARGS,
        ),
        (
            "nan_to_num",
            "torch.nan_to_num(x / y, nan=0, posinf=100, neginf=-100).",
            lambda x, y: torch.nan_to_num(_ratio(x, y), nan=0.0, posinf=100.0, neginf=-100.0),
            _RATIO_ARGS,
        ),
    ]
)
