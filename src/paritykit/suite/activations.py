"""Activation functions and softmax / log_softmax."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from paritykit.suite.helpers import (
    BASE,
    BATCH,
    HALF,
    HALF_CHAIN,
    SEQ,
    SMALL_BATCH,
    Registrar,
    cfg,
    dynamic,
    normal,
)

reg = Registrar(__name__)

_SHAPE = (8, 64)
X = normal(*_SHAPE, std=3.0)

# (name, what, op, inputs): float32 only.
reg.rows(
    [
        ("relu", "F.relu", F.relu, (X,)),
        ("relu6", "F.relu6", F.relu6, (X,)),
        ("sigmoid", "torch.sigmoid", torch.sigmoid, (X,)),
        ("tanh", "torch.tanh", torch.tanh, (X,)),
        ("elu", "F.elu", F.elu, (X,)),
        ("selu", "F.selu", F.selu, (X,)),
        ("celu", "F.celu(alpha=0.5)", lambda x: F.celu(x, alpha=0.5), (X,)),
        ("mish", "F.mish", F.mish, (X,)),
        ("softsign", "F.softsign", F.softsign, (X,)),
        ("hardsigmoid", "F.hardsigmoid", F.hardsigmoid, (X,)),
        ("hardswish", "F.hardswish", F.hardswish, (X,)),
        ("logsigmoid", "F.logsigmoid", F.logsigmoid, (X,)),
        ("softshrink", "F.softshrink(lambd=0.5)", F.softshrink, (X,)),
        ("threshold", "F.threshold(x, 0.5, -1.0)", lambda x: F.threshold(x, 0.5, -1.0), (X,)),
    ]
)

reg.case(
    "leaky_relu",
    "F.leaky_relu with the default and a large negative slope.",
    F.leaky_relu,
    args=(X,),
    configs=(BASE, cfg("slope", X, negative_slope=0.2)),
)
reg.case(
    "hardtanh",
    "F.hardtanh with default and custom bounds.",
    F.hardtanh,
    args=(X,),
    configs=(BASE, cfg("bounds", X, min_val=-2.0, max_val=0.5)),
)
reg.case(
    "softplus",
    "F.softplus, including the linear regime past ``threshold``.",
    F.softplus,
    args=(normal(*_SHAPE, std=10.0),),
    configs=(BASE, cfg("beta", normal(*_SHAPE, std=10.0), beta=2.0, threshold=5.0)),
)
reg.case(
    "gelu",
    "F.gelu, exact and tanh approximation, half precision, dynamic batch.",
    F.gelu,
    args=(X,),
    configs=(BASE, cfg("tanh", X, approximate="tanh"), *HALF, dynamic({0: BATCH})),
)
reg.case(
    "silu",
    "F.silu, also in half precision and with a dynamic batch.",
    F.silu,
    args=(X,),
    configs=(BASE, *HALF, dynamic({0: BATCH})),
)
reg.case(
    "prelu",
    "nn.PReLU with one slope per channel.",
    build=nn.PReLU,
    args=(normal(4, 8, 16, std=3.0),),
    kwargs={"num_parameters": 8, "init": 0.1},
)
reg.case(
    "glu",
    "F.glu on the last and on the first dim.",
    F.glu,
    args=(X,),
    configs=(BASE, cfg("dim0", X, dim=0)),
)

_LOGITS = normal(4, 8, 32, std=4.0)
reg.case(
    "softmax",
    "torch.softmax over each dim, half precision, dynamic batch and sequence.",
    torch.softmax,
    args=(_LOGITS,),
    kwargs={"dim": -1},
    configs=(
        BASE,
        cfg("dim0", _LOGITS, dim=0),
        cfg("dim1", _LOGITS, dim=1),
        cfg("large", normal(4, 8, 32, std=40.0)),
        *HALF,
        dynamic({0: SMALL_BATCH, 1: SEQ}, args=(normal(4, 8, 32, std=4.0),)),
    ),
)
reg.case(
    "log_softmax",
    "torch.log_softmax over the last and first dims, half precision.",
    torch.log_softmax,
    args=(_LOGITS,),
    kwargs={"dim": -1},
    configs=(BASE, cfg("dim0", _LOGITS, dim=0), *HALF_CHAIN),
)
