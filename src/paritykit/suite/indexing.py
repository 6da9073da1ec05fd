"""Indexing: embedding, one_hot, gather/scatter, index_select/index/index_put, slicing."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from paritykit.suite.helpers import BASE, BATCH, SEQ, Registrar, cfg, dynamic, ints, normal, rowperm

reg = Registrar(__name__)

_X = normal(8, 32)
_X3 = normal(4, 8, 16)

reg.case(
    "embedding",
    "nn.Embedding lookups: plain, with padding_idx (index 0 present), dynamic batch and seq.",
    build=nn.Embedding,
    args=(ints(0, 50, 4, 12),),
    kwargs={"num_embeddings": 50, "embedding_dim": 16},
    configs=(
        BASE,
        cfg("padding_idx", ints(0, 4, 4, 12), padding_idx=0),
        cfg("int32", ints(0, 50, 4, 12, dtype=torch.int32)),
        dynamic({0: BATCH, 1: SEQ}),
    ),
)
reg.case(
    "one_hot",
    "F.one_hot with an explicit class count.",
    F.one_hot,
    args=(ints(0, 10, 4, 12),),
    kwargs={"num_classes": 10},
)


def _gather(x: torch.Tensor, index: torch.Tensor, *, dim: int) -> torch.Tensor:
    return torch.gather(x, dim, index)


def _scatter(x: torch.Tensor, index: torch.Tensor, src: torch.Tensor, *, dim: int) -> torch.Tensor:
    return torch.scatter(x, dim, index, src)


def _scatter_value(x: torch.Tensor, index: torch.Tensor, *, dim: int) -> torch.Tensor:
    return torch.scatter(x, dim, index, -1.5)


def _scatter_add(
    x: torch.Tensor, index: torch.Tensor, src: torch.Tensor, *, dim: int
) -> torch.Tensor:
    return torch.scatter_add(x, dim, index, src)


def _scatter_reduce(
    x: torch.Tensor,
    index: torch.Tensor,
    src: torch.Tensor,
    *,
    dim: int,
    reduce: str,
    include_self: bool = True,
) -> torch.Tensor:
    return torch.scatter_reduce(x, dim, index, src, reduce, include_self=include_self)


def _index_select(x: torch.Tensor, index: torch.Tensor, *, dim: int) -> torch.Tensor:
    return torch.index_select(x, dim, index)


def _index_add(
    x: torch.Tensor, index: torch.Tensor, src: torch.Tensor, *, dim: int
) -> torch.Tensor:
    return torch.index_add(x, dim, index, src)


def _index(x: torch.Tensor, *index: torch.Tensor, lead: int) -> torch.Tensor:
    """``x[:, ..., :, *index]`` with ``lead`` full slices before the index tensors."""
    return x[(slice(None),) * lead + index]


reg.case(
    "gather",
    "torch.gather along the last and first dims and on a 3-D tensor.",
    _gather,
    args=(_X, ints(0, 32, 8, 20)),
    kwargs={"dim": 1},
    configs=(
        BASE,
        cfg("dim0", _X, ints(0, 8, 5, 32), dim=0),
        cfg("3d", _X3, ints(0, 8, 4, 3, 16), dim=1),
    ),
)
# rowperm: scatter indices never repeat within a row, so the result is fully defined.
reg.case(
    "scatter",
    "torch.scatter of a tensor at unique indices per row.",
    _scatter,
    args=(_X, rowperm(8, 12, high=32), normal(8, 12)),
    kwargs={"dim": 1},
)
reg.case(
    "scatter_value",
    "torch.scatter of a scalar value at unique indices per row.",
    _scatter_value,
    args=(_X, rowperm(8, 12, high=32)),
    kwargs={"dim": 1},
)
reg.case(
    "scatter_add",
    "torch.scatter_add with repeated indices (addition is the defined way to combine them).",
    _scatter_add,
    args=(_X, ints(0, 32, 8, 48), normal(8, 48)),
    kwargs={"dim": 1},
    configs=(BASE, cfg("int64", ints(-9, 9, 8, 32), ints(0, 32, 8, 48), ints(-9, 9, 8, 48), dim=1)),
)
reg.case(
    "scatter_reduce",
    "torch.scatter_reduce: amax/amin with repeats; sum/prod/mean at unique indices; include_self.",
    _scatter_reduce,
    args=(_X, ints(0, 32, 8, 48), normal(8, 48)),
    kwargs={"dim": 1, "reduce": "amax"},
    configs=(
        BASE,
        cfg(
            "amin_exclude", _X, ints(0, 32, 8, 48), normal(8, 48), reduce="amin", include_self=False
        ),
        cfg("sum", _X, rowperm(8, 12, high=32), normal(8, 12), reduce="sum"),
        cfg("prod", _X, rowperm(8, 12, high=32), normal(8, 12), reduce="prod"),
        cfg(
            "mean_exclude",
            _X,
            rowperm(8, 12, high=32),
            normal(8, 12),
            reduce="mean",
            include_self=False,
        ),
    ),
)
reg.case(
    "index_select",
    "torch.index_select with repeated indices along each dim; int32 indices.",
    _index_select,
    args=(_X, ints(0, 8, 12)),
    kwargs={"dim": 0},
    configs=(
        BASE,
        cfg("dim1", _X, ints(0, 32, 40), dim=1),
        cfg("int32", _X, ints(0, 8, 12, dtype=torch.int32), dim=0),
    ),
)
reg.case(
    "index_add",
    "torch.index_add at unique positions.",
    _index_add,
    args=(_X, rowperm(5, high=8), normal(5, 32)),
    kwargs={"dim": 0},
)
reg.case(
    "index",
    "Advanced indexing: x[i], x[:, i], x[i, j] and negative indices.",
    _index,
    args=(_X3, ints(0, 4, 6)),
    kwargs={"lead": 0},
    configs=(
        BASE,
        cfg("dim1", _X3, ints(0, 8, 2, 3), lead=1),
        cfg("pair", _X3, ints(0, 4, 5), ints(0, 8, 5), lead=0),
        cfg("negative", _X3, ints(-8, 0, 5), lead=1),
    ),
)
reg.case(
    "index_put",
    "Tensor.index_put at unique positions, and with accumulate=True at repeated positions.",
    lambda x, i, v, accumulate: x.index_put((i,), v, accumulate=accumulate),
    args=(_X, rowperm(5, high=8), normal(5, 32)),
    kwargs={"accumulate": False},
    configs=(BASE, cfg("accumulate", _X, ints(0, 8, 12), normal(12, 32), accumulate=True)),
)
reg.case(
    "take_along_dim",
    "torch.take_along_dim with broadcast indices.",
    torch.take_along_dim,
    args=(_X3, ints(0, 16, 4, 1, 5)),
    kwargs={"dim": 2},
)


def _slice(x: torch.Tensor, *, dim: int, start: int | None, stop: int | None, step: int) -> Any:
    return x[(slice(None),) * dim + (slice(start, stop, step),)]


reg.case(
    "slice",
    "Basic slicing: strided, negative start, stop past the end, last dim.",
    _slice,
    args=(_X3,),
    kwargs={"dim": 1, "start": 1, "stop": 7, "step": 2},
    configs=(
        BASE,
        cfg("negative", _X3, dim=0, start=-3, stop=None, step=1),
        cfg("overflow", _X3, dim=2, start=4, stop=1000, step=3),
        cfg("last", _X3, dim=2, start=None, stop=-1, step=1),
    ),
)
reg.case(
    "narrow",
    "torch.narrow.",
    torch.narrow,
    args=(_X3,),
    kwargs={"dim": 2, "start": 3, "length": 9},
)
reg.case(
    "select",
    "torch.select with a positive and a negative index.",
    torch.select,
    args=(_X3,),
    kwargs={"dim": 1, "index": 3},
    configs=(BASE, cfg("negative", _X3, dim=2, index=-1)),
)
