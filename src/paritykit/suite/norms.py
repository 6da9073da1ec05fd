"""Normalization: layer, batch (eval statistics), group, instance and RMS norm; F.normalize."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from paritykit.suite.helpers import (
    BASE,
    HALF,
    SEQ,
    SMALL_BATCH,
    Registrar,
    cfg,
    dynamic,
    normal,
    uniform,
)

reg = Registrar(__name__)


@torch.no_grad()
def randomize_norm(module: nn.Module) -> nn.Module:
    """Give a norm layer non-trivial affine parameters and running statistics (torch RNG).

    Default init (weight 1, bias 0, mean 0, var 1) would hide a backend that drops them.
    """
    for pname in ("weight", "bias"):
        param = getattr(module, pname, None)
        if isinstance(param, torch.Tensor):
            base = 1.0 if pname == "weight" else 0.0
            param.copy_(base + 0.2 * torch.randn_like(param))
    mean = getattr(module, "running_mean", None)
    var = getattr(module, "running_var", None)
    if isinstance(mean, torch.Tensor) and isinstance(var, torch.Tensor):
        mean.copy_(0.5 * torch.randn_like(mean))
        var.copy_(0.5 + torch.rand_like(var))
    return module


def _randomized(cls: type[nn.Module]) -> Any:
    """A factory building ``cls(**kwargs)`` with randomized parameters and statistics."""

    def build(**kwargs: Any) -> nn.Module:
        return randomize_norm(cls(**kwargs))

    build.__doc__ = f"{cls.__name__} with randomized parameters."
    return build


_SEQ = normal(4, 8, 32, std=2.0)
reg.case(
    "layer_norm",
    "nn.LayerNorm: affine, no affine, two dims, large mean, half precision, dynamic batch/seq.",
    build=_randomized(nn.LayerNorm),
    args=(_SEQ,),
    kwargs={"normalized_shape": 32},
    configs=(
        BASE,
        cfg("no_affine", _SEQ, elementwise_affine=False),
        cfg("2d", _SEQ, normalized_shape=(8, 32)),
        cfg("offset", uniform(4, 8, 32, low=10.0, high=12.0)),
        *HALF,
        dynamic({0: SMALL_BATCH, 1: SEQ}),
    ),
)
reg.case(
    "batch_norm1d",
    "nn.BatchNorm1d in eval mode on (N, C) and (N, C, L) inputs.",
    build=_randomized(nn.BatchNorm1d),
    args=(normal(8, 16),),
    kwargs={"num_features": 16},
    configs=(BASE, cfg("3d", normal(4, 16, 20))),
)
reg.case(
    "batch_norm2d",
    "nn.BatchNorm2d in eval mode, with and without affine parameters, half precision.",
    build=_randomized(nn.BatchNorm2d),
    args=(normal(2, 8, 10, 10),),
    kwargs={"num_features": 8},
    configs=(BASE, cfg("no_affine", normal(2, 8, 10, 10), affine=False), *HALF),
)
reg.case(
    "batch_norm3d",
    "nn.BatchNorm3d in eval mode on a tiny volume.",
    build=_randomized(nn.BatchNorm3d),
    args=(normal(1, 4, 4, 6, 6),),
    kwargs={"num_features": 4},
)
_GN = normal(2, 8, 6, 6, std=2.0)
reg.case(
    "group_norm",
    "nn.GroupNorm: 4 groups, 1 group (layer-norm like), one group per channel, no affine.",
    build=_randomized(nn.GroupNorm),
    args=(_GN,),
    kwargs={"num_groups": 4, "num_channels": 8},
    configs=(
        BASE,
        cfg("groups1", _GN, num_groups=1),
        cfg("per_channel", _GN, num_groups=8),
        cfg("no_affine", _GN, affine=False),
        cfg("1d", normal(2, 8, 20), num_groups=2),
    ),
)
reg.case(
    "instance_norm",
    "nn.InstanceNorm2d (per-sample statistics), with and without affine.",
    build=_randomized(nn.InstanceNorm2d),
    args=(_GN,),
    kwargs={"num_features": 8, "affine": True},
    configs=(BASE, cfg("no_affine", _GN, affine=False)),
)
reg.case(
    "rms_norm",
    "nn.RMSNorm: default eps, explicit eps, no weight, half precision, dynamic batch and seq.",
    build=_randomized(nn.RMSNorm),
    args=(_SEQ,),
    kwargs={"normalized_shape": 32},
    configs=(
        BASE,
        cfg("eps", _SEQ, eps=1e-5),
        cfg("no_weight", _SEQ, elementwise_affine=False),
        *HALF,
        dynamic({0: SMALL_BATCH, 1: SEQ}),
    ),
)
reg.case(
    "normalize",
    "F.normalize: L2 over the last dim, L1 over dim 1.",
    F.normalize,
    args=(normal(4, 8, 32),),
    configs=(BASE, cfg("l1_dim1", normal(4, 8, 32), p=1.0, dim=1)),
)
reg.case(
    "local_response_norm",
    "F.local_response_norm across 3 channels.",
    F.local_response_norm,
    args=(normal(2, 8, 6, 6),),
    kwargs={"size": 3},
)
