"""Matrix products: matmul, mm, bmm, linear, addmm, baddbmm, einsum, outer."""

from __future__ import annotations

import torch
from torch import nn

from paritykit.suite.helpers import (
    BASE,
    BATCH,
    HALF,
    SMALL_BATCH,
    Registrar,
    cfg,
    dynamic,
    ints,
    normal,
)

reg = Registrar(__name__)

reg.case(
    "matmul",
    "torch.matmul: 2-D, batched, broadcast batch, vector operands, int64, half, dynamic.",
    torch.matmul,
    args=(normal(8, 16), normal(16, 12)),
    configs=(
        BASE,
        cfg("batched", normal(4, 8, 16), normal(4, 16, 12)),
        cfg("broadcast", normal(2, 1, 8, 16), normal(3, 16, 12)),
        cfg("vecmat", normal(16), normal(16, 12)),
        cfg("matvec", normal(4, 8, 16), normal(16)),
        cfg("int64", ints(-20, 20, 8, 16), ints(-20, 20, 16, 12)),
        *HALF,
        dynamic({0: SMALL_BATCH}, {0: SMALL_BATCH}, args=(normal(4, 8, 16), normal(4, 16, 12))),
    ),
)
reg.case("mm", "torch.mm.", torch.mm, args=(normal(16, 24), normal(24, 8)))
reg.case("bmm", "torch.bmm.", torch.bmm, args=(normal(4, 8, 16), normal(4, 16, 12)))
reg.case(
    "linear",
    "nn.Linear: with and without bias, 3-D input, half precision, dynamic batch.",
    build=nn.Linear,
    args=(normal(8, 32),),
    kwargs={"in_features": 32, "out_features": 16},
    configs=(
        BASE,
        cfg("nobias", normal(8, 32), bias=False),
        cfg("3d", normal(2, 6, 32)),
        *HALF,
        dynamic({0: BATCH}),
    ),
)
reg.case(
    "addmm",
    "torch.addmm with a broadcast bias, beta and alpha.",
    torch.addmm,
    args=(normal(12), normal(8, 16), normal(16, 12)),
    configs=(
        BASE,
        cfg("beta_alpha", normal(8, 12), normal(8, 16), normal(16, 12), beta=0.5, alpha=2.0),
    ),
)
reg.case(
    "baddbmm",
    "torch.baddbmm with beta and alpha.",
    torch.baddbmm,
    args=(normal(4, 8, 12), normal(4, 8, 16), normal(4, 16, 12)),
    kwargs={"beta": 0.25, "alpha": 1.5},
)


def _einsum(*operands: torch.Tensor, equation: str) -> torch.Tensor:
    """torch.einsum with the equation as a keyword argument."""
    return torch.einsum(equation, *operands)


reg.case(
    "einsum",
    "torch.einsum: batched matmul, attention scores, outer product, trace, bilinear form.",
    _einsum,
    args=(normal(4, 8, 16), normal(4, 16, 12)),
    kwargs={"equation": "bij,bjk->bik"},
    configs=(
        BASE,
        cfg("scores", normal(2, 4, 8, 16), normal(2, 4, 10, 16), equation="bhqd,bhkd->bhqk"),
        cfg("outer", normal(16), normal(12), equation="i,j->ij"),
        cfg("trace", normal(16, 16), equation="ii->"),
        cfg("reduce", normal(4, 8, 16), equation="bij->jb"),
        cfg("bilinear", normal(4, 8), normal(6, 8, 5), normal(4, 5), equation="bn,anm,bm->ba"),
    ),
)
reg.case("outer", "torch.outer.", torch.outer, args=(normal(24), normal(16)))
