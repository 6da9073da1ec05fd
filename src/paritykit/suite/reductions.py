"""Reductions, scans and order statistics (sum/mean/amax/argmax/var, cumsum, sort/topk)."""

from __future__ import annotations

import torch

from paritykit.suite.helpers import (
    BASE,
    BATCH,
    SEQ,
    Cfg,
    Registrar,
    bools,
    cfg,
    distinct,
    dynamic,
    half,
    ints,
    normal,
    uniform,
)

reg = Registrar(__name__)

_SHAPE = (4, 8, 32)
X = normal(*_SHAPE)
# Tie-free values: argmax/sort/topk/median indices are well defined.
D = distinct(*_SHAPE)
D_INT = distinct(*_SHAPE, step=1.0, dtype=torch.int64)

_DIMS = (
    cfg("", X, dim=-1),
    cfg("dim0", X, dim=0),
    cfg("keepdim", X, dim=1, keepdim=True),
    cfg("dims", X, dim=(0, 2)),
    cfg("all", X),
)
reg.case(
    "sum",
    "torch.sum over one, several and all dims; integer and bool inputs; half; dynamic.",
    torch.sum,
    args=(X,),
    configs=(
        *_DIMS[:-1],
        # One float32 total of 1024 values: any summation order other than torch's lands about
        # 2e-5 away after cancellation (float32 rounding, not a bug), over the 1e-5 default.
        Cfg("all", args=(X,), atol=1e-4,
            reason="float32 sum of 1024 values: the summation order moves the total by ~2e-5"),
        cfg("int32", ints(-100, 100, *_SHAPE, dtype=torch.int32), dim=1),
        cfg("int64", ints(-(2**40), 2**40, *_SHAPE), dim=-1),
        cfg("bool", bools(*_SHAPE), dim=-1),
        *half(dim=-1),
        dynamic({0: BATCH, 1: SEQ}, dim=-1),
    ),
)
reg.case(
    "mean",
    "torch.mean over one, several and all dims; half precision.",
    torch.mean,
    args=(X,),
    configs=(
        *_DIMS,
        *half(dim=-1),
    ),
)
_AMINMAX = (*_DIMS[:4], cfg("int32", ints(-100, 100, *_SHAPE, dtype=torch.int32), dim=1))
reg.case("amax", "torch.amax over dims, keepdim, int32.", torch.amax, args=(X,), configs=_AMINMAX)
reg.case("amin", "torch.amin over dims, keepdim, int32.", torch.amin, args=(X,), configs=_AMINMAX)

_VALUES_INDICES = (
    cfg("", D),
    cfg("dim", D, dim=1),
    cfg("keepdim", D, dim=-1, keepdim=True),
    cfg("int64", D_INT, dim=0),
)
reg.case(
    "max",
    "torch.max: full and per-dim (values, indices) on tie-free inputs.",
    torch.max,
    args=(D,),
    configs=_VALUES_INDICES,
)
reg.case(
    "min",
    "torch.min: full and per-dim (values, indices) on tie-free inputs.",
    torch.min,
    args=(D,),
    configs=_VALUES_INDICES,
)
_ARG = (
    cfg("", D, dim=-1),
    cfg("dim0", D, dim=0),
    cfg("keepdim", D, dim=1, keepdim=True),
    cfg("flat", D),
    cfg("int32", distinct(*_SHAPE, step=1.0, dtype=torch.int32), dim=-1),
)
reg.case("argmax", "torch.argmax on tie-free inputs.", torch.argmax, args=(D,), configs=_ARG)
reg.case("argmin", "torch.argmin on tie-free inputs.", torch.argmin, args=(D,), configs=_ARG)

_SPREAD = (
    cfg("", X, dim=-1),
    cfg("correction0", X, dim=-1, correction=0),
    cfg("dims_keepdim", X, dim=(0, 2), keepdim=True),
    cfg("all", X),
)
reg.case(
    "var",
    "torch.var: unbiased, correction=0, several dims, all.",
    torch.var,
    args=(X,),
    configs=_SPREAD,
)
reg.case(
    "std",
    "torch.std: unbiased, correction=0, several dims, all.",
    torch.std,
    args=(X,),
    configs=_SPREAD,
)

_NEAR_ONE = uniform(*_SHAPE, low=0.8, high=1.25)
reg.case(
    "prod",
    "torch.prod over a dim (values near 1) and on int64.",
    torch.prod,
    args=(_NEAR_ONE,),
    kwargs={"dim": -1},
    configs=(BASE, cfg("int64", ints(-3, 4, *_SHAPE), dim=1)),
)
reg.case(
    "logsumexp",
    "torch.logsumexp with large logits.",
    torch.logsumexp,
    args=(normal(*_SHAPE, std=20.0),),
    kwargs={"dim": -1},
    configs=(BASE, cfg("keepdim", X, dim=(0, 1), keepdim=True)),
)
reg.case(
    "vector_norm",
    "torch.linalg.vector_norm: L2, L1, Linf, several dims.",
    torch.linalg.vector_norm,
    args=(X,),
    configs=(
        cfg("", X, dim=-1),
        cfg("l1", X, ord=1, dim=-1),
        cfg("linf", X, ord=float("inf"), dim=1),
        cfg("dims", X, dim=(1, 2), keepdim=True),
    ),
)
reg.case(
    "any",
    "torch.any over a dim and all dims, on bools and floats.",
    torch.any,
    args=(bools(*_SHAPE, p=0.05),),
    configs=(
        cfg("", bools(*_SHAPE, p=0.05), dim=-1),
        cfg("all", bools(*_SHAPE, p=0.001)),
        cfg("float", ints(-1, 2, *_SHAPE, dtype=torch.float32), dim=1),
    ),
)
reg.case(
    "all",
    "torch.all over a dim and all dims, on bools and floats.",
    torch.all,
    args=(bools(*_SHAPE, p=0.95),),
    configs=(
        cfg("", bools(*_SHAPE, p=0.95), dim=-1),
        cfg("all", bools(*_SHAPE, p=0.999)),
        cfg("float", ints(-1, 2, *_SHAPE, dtype=torch.float32), dim=1),
    ),
)
reg.case(
    "cumsum",
    "torch.cumsum along each dim, on int32/int64 (int64 result), dynamic length.",
    torch.cumsum,
    args=(X,),
    kwargs={"dim": -1},
    configs=(
        BASE,
        cfg("dim0", X, dim=0),
        cfg("int32", ints(-100, 100, *_SHAPE, dtype=torch.int32), dim=1),
        cfg("int64", ints(-(2**40), 2**40, *_SHAPE), dim=-1),
        dynamic({1: SEQ}),
    ),
)
reg.case(
    "cumprod",
    "torch.cumprod on values near 1.",
    torch.cumprod,
    args=(_NEAR_ONE,),
    kwargs={"dim": -1},
)

_SORT = (
    cfg("", D, dim=-1),
    cfg("dim0", D, dim=0),
    cfg("descending", D, dim=1, descending=True),
    cfg("int64", D_INT, dim=-1),
)
reg.case(
    "sort", "torch.sort (values, indices) on tie-free inputs.", torch.sort, args=(D,), configs=_SORT
)
reg.case("argsort", "torch.argsort on tie-free inputs.", torch.argsort, args=(D,), configs=_SORT)
reg.case(
    "topk",
    "torch.topk: largest/smallest, other dims, k=1, int64, on tie-free inputs.",
    torch.topk,
    args=(D,),
    kwargs={"k": 5},
    configs=(
        BASE,
        cfg("smallest", D, largest=False),
        cfg("dim0", D, k=2, dim=0),
        cfg("k1", D, k=1, dim=1),
        cfg("int64", D_INT, k=3),
    ),
)
reg.case(
    "median",
    "torch.median per dim (lower median for even counts) on tie-free inputs.",
    torch.median,
    args=(D,),
    kwargs={"dim": -1},
    configs=(BASE, cfg("odd", distinct(4, 8, 31), dim=-1)),
)
reg.case(
    "kthvalue",
    "torch.kthvalue on tie-free inputs.",
    torch.kthvalue,
    args=(D,),
    kwargs={"k": 3, "dim": -1},
)
