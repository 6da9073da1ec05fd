"""Shape and layout ops: reshape/permute/expand, cat/stack/split, pad, flip/roll, triu, casts."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from paritykit.suite.helpers import (
    BASE,
    BATCH,
    HALF,
    SMALL_BATCH,
    Registrar,
    bools,
    cfg,
    dynamic,
    ints,
    normal,
    uniform,
)

reg = Registrar(__name__)

X = normal(4, 8, 16)
_COL = normal(4, 1, 16)

reg.case(
    "reshape",
    "torch.reshape: merge dims, inferred (-1) dim, to 1-D; dynamic batch with -1.",
    torch.reshape,
    args=(X,),
    kwargs={"shape": (32, 16)},
    configs=(
        BASE,
        cfg("infer", X, shape=(-1, 4, 8)),
        cfg("flat", X, shape=(-1,)),
        dynamic({0: BATCH}, shape=(-1, 128)),
    ),
)
reg.case(
    "view",
    "Tensor.view splitting a dim.",
    lambda x, shape: x.view(shape),
    args=(X,),
    kwargs={"shape": (4, 2, 4, 16)},
)
reg.case(
    "flatten",
    "torch.flatten over all dims and a dim range.",
    torch.flatten,
    args=(X,),
    configs=(BASE, cfg("range", normal(2, 3, 4, 5), start_dim=1, end_dim=2)),
)
reg.case(
    "permute",
    "torch.permute (rank 3 and 4), dynamic batch.",
    torch.permute,
    args=(X,),
    kwargs={"dims": (2, 0, 1)},
    configs=(
        BASE,
        cfg("4d", normal(2, 3, 4, 5), dims=(0, 2, 3, 1)),
        dynamic({0: BATCH}, dims=(1, 2, 0)),
    ),
)
reg.case("transpose", "torch.transpose.", torch.transpose, args=(X,), kwargs={"dim0": 0, "dim1": 2})
reg.case(
    "movedim", "torch.movedim.", torch.movedim, args=(X,), kwargs={"source": 0, "destination": -1}
)
reg.case(
    "squeeze",
    "torch.squeeze of one dim, several dims and all size-1 dims.",
    torch.squeeze,
    args=(normal(4, 1, 16, 1),),
    configs=(
        BASE,
        cfg("dim", normal(4, 1, 16, 1), dim=1),
        cfg("dims", normal(1, 4, 1, 8), dim=(0, 2)),
    ),
)
reg.case(
    "unsqueeze", "torch.unsqueeze (negative dim).", torch.unsqueeze, args=(X,), kwargs={"dim": -2}
)
reg.case(
    "expand",
    "Tensor.expand of size-1 dims and a new leading dim, followed by an add to materialize it.",
    lambda x, y, size: x.expand(size) + y,
    args=(_COL, normal(4, 8, 16)),
    kwargs={"size": (4, 8, 16)},
    configs=(BASE, cfg("new_dim", normal(8, 1), normal(3, 8, 16), size=(3, -1, 16))),
)
reg.case(
    "repeat",
    "Tensor.repeat with a new leading dim.",
    lambda x, repeats: x.repeat(repeats),
    args=(normal(2, 3, 4),),
    kwargs={"repeats": (2, 1, 3, 2)},
)
reg.case("tile", "torch.tile.", torch.tile, args=(normal(3, 5),), kwargs={"dims": (2, 3)})
reg.case(
    "repeat_interleave",
    "torch.repeat_interleave with a scalar repeat count along a dim.",
    torch.repeat_interleave,
    args=(normal(3, 5),),
    kwargs={"repeats": 3, "dim": 1},
)


def _cat(*xs: torch.Tensor, dim: int) -> torch.Tensor:
    return torch.cat(xs, dim=dim)


def _stack(*xs: torch.Tensor, dim: int) -> torch.Tensor:
    return torch.stack(xs, dim=dim)


reg.case(
    "cat",
    "torch.cat of 2 and 3 tensors, uneven sizes, int64, bool, dynamic batch.",
    _cat,
    args=(X, normal(4, 8, 16)),
    kwargs={"dim": 0},
    configs=(
        BASE,
        cfg("dim1_uneven", X, normal(4, 3, 16), normal(4, 1, 16), dim=1),
        cfg("last", X, normal(4, 8, 5), dim=-1),
        cfg("int64", ints(-9, 9, 4, 8), ints(-9, 9, 2, 8), dim=0),
        cfg("bool", bools(4, 8), bools(4, 3), dim=1),
        dynamic({0: BATCH}, {0: BATCH}, dim=1),
    ),
)
reg.case(
    "stack",
    "torch.stack of 3 tensors on the first and last dims, half precision.",
    _stack,
    args=(X, normal(4, 8, 16), normal(4, 8, 16)),
    kwargs={"dim": 0},
    configs=(BASE, cfg("last", X, normal(4, 8, 16), dim=-1), *HALF),
)
reg.case(
    "split",
    "torch.split into equal chunks, an uneven tail and explicit sections.",
    torch.split,
    args=(X,),
    kwargs={"split_size_or_sections": 4, "dim": -1},
    configs=(
        BASE,
        cfg("uneven", X, split_size_or_sections=5, dim=-1),
        cfg("sections", X, split_size_or_sections=[2, 5, 1], dim=1),
    ),
)
reg.case(
    "chunk",
    "torch.chunk (uneven last chunk).",
    torch.chunk,
    args=(X,),
    kwargs={"chunks": 3, "dim": 1},
)
reg.case("unbind", "torch.unbind.", torch.unbind, args=(normal(3, 4, 5),), kwargs={"dim": 1})

_IMG = normal(2, 3, 6, 7)
reg.case(
    "pad",
    "F.pad: constant (zero and value), negative (crop), reflect, replicate, circular; dynamic.",
    F.pad,
    args=(_IMG,),
    kwargs={"pad": (1, 2, 3, 0)},
    configs=(
        BASE,
        cfg("value", _IMG, pad=(2, 2), value=-1.5),
        cfg("negative", _IMG, pad=(-1, 2, 0, -2)),
        cfg("reflect", _IMG, pad=(2, 1, 1, 2), mode="reflect"),
        cfg("replicate", _IMG, pad=(2, 1, 1, 2), mode="replicate"),
        cfg("circular", _IMG, pad=(2, 1, 1, 2), mode="circular"),
        cfg("3d", normal(1, 2, 3, 4, 5), pad=(1, 1, 2, 0, 1, 1)),
        dynamic({0: SMALL_BATCH}, pad=(1, 1, 2, 2), mode="reflect"),
    ),
)
reg.case(
    "flip",
    "torch.flip of one and two dims.",
    torch.flip,
    args=(X,),
    kwargs={"dims": (1,)},
    configs=(BASE, cfg("dims", X, dims=(0, 2))),
)
reg.case(
    "roll",
    "torch.roll along dims (negative shift) and of the flattened tensor.",
    torch.roll,
    args=(X,),
    configs=(cfg("", X, shifts=(2, -3), dims=(1, 2)), cfg("flat", X, shifts=5)),
)
reg.case(
    "tril",
    "torch.tril with a diagonal offset.",
    torch.tril,
    args=(normal(3, 6, 8),),
    kwargs={"diagonal": -1},
)
reg.case(
    "triu",
    "torch.triu with a diagonal offset.",
    torch.triu,
    args=(normal(3, 6, 8),),
    kwargs={"diagonal": 2},
)
reg.case(
    "diagonal",
    "torch.diagonal with an offset on a batch of matrices.",
    torch.diagonal,
    args=(normal(3, 6, 8),),
    kwargs={"offset": 1, "dim1": 1, "dim2": 2},
)
reg.case(
    "unfold",
    "Tensor.unfold (sliding windows along a dim).",
    lambda x, dimension, size, step: x.unfold(dimension, size, step),
    args=(normal(2, 3, 20),),
    kwargs={"dimension": 2, "size": 4, "step": 3},
)

_SPAN = uniform(8, 32, low=-100.0, high=100.0)
reg.case(
    "cast",
    "Tensor.to(dtype): float to int (truncation toward zero), int to float, to/from bool,"
    " float32 to float16/bfloat16 (round to nearest even) and back.",
    lambda x, dtype: x.to(dtype),
    args=(_SPAN,),
    kwargs={"dtype": torch.int32},
    configs=(
        cfg("fp32_to_int32", _SPAN, dtype=torch.int32),
        cfg("fp32_to_int64", _SPAN, dtype=torch.int64),
        cfg("int64_to_fp32", ints(-(2**30), 2**30, 8, 32), dtype=torch.float32),
        cfg("int32_to_int64", ints(-(2**30), 2**30, 8, 32, dtype=torch.int32), dtype=torch.int64),
        cfg("fp32_to_fp16", _SPAN, dtype=torch.float16),
        cfg("fp32_to_bf16", _SPAN, dtype=torch.bfloat16),
        cfg(
            "fp16_to_fp32",
            uniform(8, 32, low=-100.0, high=100.0, dtype=torch.float16),
            dtype=torch.float32,
        ),
        cfg("bool_to_fp32", bools(8, 32), dtype=torch.float32),
        cfg("fp32_to_bool", ints(-1, 2, 8, 32, dtype=torch.float32), dtype=torch.bool),
    ),
)
