"""Pooling (max, average, adaptive) and resampling (interpolate, pixel_shuffle)."""

from __future__ import annotations

import torch.nn.functional as F

from paritykit.suite.helpers import BASE, SMALL_BATCH, Registrar, cfg, dynamic, normal

reg = Registrar(__name__)

_X1 = normal(2, 4, 33)
_X2 = normal(2, 4, 15, 15)
_X3 = normal(1, 2, 6, 8, 8)

reg.case(
    "max_pool1d",
    "F.max_pool1d: kernel 2, strided/padded kernel 3, ceil_mode.",
    F.max_pool1d,
    args=(_X1,),
    kwargs={"kernel_size": 2},
    configs=(
        BASE,
        cfg("k3s2p1", _X1, kernel_size=3, stride=2, padding=1),
        cfg("ceil", _X1, kernel_size=2, ceil_mode=True),
    ),
)
reg.case(
    "max_pool2d",
    "F.max_pool2d: kernel 2, strided/padded kernel 3, ceil_mode, dilation, dynamic batch.",
    F.max_pool2d,
    args=(_X2,),
    kwargs={"kernel_size": 2},
    configs=(
        BASE,
        cfg("k3s2p1", _X2, kernel_size=3, stride=2, padding=1),
        cfg("ceil", _X2, kernel_size=3, stride=2, ceil_mode=True),
        cfg("dilation", _X2, kernel_size=2, dilation=2),
        cfg("rect", _X2, kernel_size=(2, 3), stride=(1, 2)),
        dynamic({0: SMALL_BATCH}, kernel_size=2),
    ),
)
reg.case(
    "max_pool3d",
    "F.max_pool3d on a tiny volume.",
    F.max_pool3d,
    args=(_X3,),
    kwargs={"kernel_size": 2},
    configs=(BASE, cfg("k3s2p1", _X3, kernel_size=3, stride=2, padding=1)),
)
reg.case(
    "avg_pool1d",
    "F.avg_pool1d: kernel 2, padding without count_include_pad, ceil_mode.",
    F.avg_pool1d,
    args=(_X1,),
    kwargs={"kernel_size": 2},
    configs=(
        BASE,
        cfg("pad_exclude", _X1, kernel_size=3, stride=2, padding=1, count_include_pad=False),
        cfg("ceil", _X1, kernel_size=2, ceil_mode=True),
    ),
)
reg.case(
    "avg_pool2d",
    "F.avg_pool2d: padding with/without count_include_pad, ceil_mode, divisor_override.",
    F.avg_pool2d,
    args=(_X2,),
    kwargs={"kernel_size": 2},
    configs=(
        BASE,
        cfg("pad", _X2, kernel_size=3, stride=2, padding=1),
        cfg("pad_exclude", _X2, kernel_size=3, stride=2, padding=1, count_include_pad=False),
        cfg("ceil", _X2, kernel_size=2, ceil_mode=True),
        cfg("divisor", _X2, kernel_size=3, divisor_override=4),
    ),
)
reg.case(
    "avg_pool3d",
    "F.avg_pool3d on a tiny volume.",
    F.avg_pool3d,
    args=(_X3,),
    kwargs={"kernel_size": 2},
)
reg.case(
    "adaptive_avg_pool1d",
    "F.adaptive_avg_pool1d to a size that does not divide the input.",
    F.adaptive_avg_pool1d,
    args=(_X1,),
    kwargs={"output_size": 5},
)
reg.case(
    "adaptive_avg_pool2d",
    "F.adaptive_avg_pool2d: global (1x1), divisible and non-divisible output sizes.",
    F.adaptive_avg_pool2d,
    args=(normal(2, 4, 16, 16),),
    kwargs={"output_size": 1},
    configs=(
        BASE,
        cfg("divisible", normal(2, 4, 16, 16), output_size=(4, 8)),
        cfg("uneven", _X2, output_size=(4, 6)),
    ),
)
reg.case(
    "adaptive_max_pool2d",
    "F.adaptive_max_pool2d: divisible and non-divisible output sizes.",
    F.adaptive_max_pool2d,
    args=(normal(2, 4, 16, 16),),
    kwargs={"output_size": 4},
    configs=(BASE, cfg("uneven", _X2, output_size=(4, 6))),
)
reg.case(
    "interpolate",
    "F.interpolate: nearest, bilinear (align_corners both ways), bicubic, to a fixed size.",
    F.interpolate,
    args=(normal(1, 3, 8, 8),),
    kwargs={"scale_factor": 2, "mode": "nearest"},
    configs=(
        BASE,
        cfg("bilinear", normal(1, 3, 8, 8), mode="bilinear"),
        cfg("bilinear_align", normal(1, 3, 8, 8), mode="bilinear", align_corners=True),
        cfg("bicubic", normal(1, 3, 8, 8), mode="bicubic"),
        cfg("size", normal(1, 3, 8, 8), scale_factor=None, size=(12, 10), mode="bilinear"),
        cfg("linear1d", normal(2, 3, 10), mode="linear"),
    ),
)
reg.case(
    "pixel_shuffle",
    "F.pixel_shuffle (depth to space).",
    F.pixel_shuffle,
    args=(normal(2, 8, 6, 6),),
    kwargs={"upscale_factor": 2},
)
reg.case(
    "pixel_unshuffle",
    "F.pixel_unshuffle (space to depth).",
    F.pixel_unshuffle,
    args=(normal(2, 2, 8, 12),),
    kwargs={"downscale_factor": 2},
)
