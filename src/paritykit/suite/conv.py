"""Convolutions: conv1d/2d/3d and transposed convolutions (stride, padding, dilation, groups)."""

from __future__ import annotations

from torch import nn

from paritykit.suite.helpers import BASE, HALF, SMALL_BATCH, Registrar, cfg, dynamic, normal

reg = Registrar(__name__)

_X1 = normal(2, 4, 32)
reg.case(
    "conv1d",
    "nn.Conv1d: stride, padding + dilation, groups, no bias, 'same' and circular padding.",
    build=nn.Conv1d,
    args=(_X1,),
    kwargs={"in_channels": 4, "out_channels": 8, "kernel_size": 3},
    configs=(
        BASE,
        cfg("stride", _X1, stride=2),
        cfg("dilation", _X1, padding=2, dilation=2),
        cfg("groups", _X1, groups=2),
        cfg("nobias", _X1, bias=False),
        cfg("same", _X1, kernel_size=4, padding="same"),
        cfg("circular", _X1, padding=1, padding_mode="circular"),
    ),
)

_X2 = normal(2, 3, 16, 16)
_X8 = normal(2, 8, 12, 12)
reg.case(
    "conv2d",
    "nn.Conv2d: stride, padding, dilation, groups, depthwise, asymmetric, half, dynamic batch.",
    build=nn.Conv2d,
    args=(_X2,),
    kwargs={"in_channels": 3, "out_channels": 8, "kernel_size": 3},
    configs=(
        BASE,
        cfg("stride", _X2, stride=2, padding=1),
        cfg("dilation", _X2, dilation=2, padding=1),
        cfg("groups", _X8, in_channels=8, groups=4),
        cfg("depthwise", _X8, in_channels=8, out_channels=16, groups=8, padding=1),
        cfg("nobias", _X2, bias=False),
        cfg("same", _X2, kernel_size=(3, 5), padding="same"),
        cfg("asymmetric", _X2, kernel_size=(1, 3), stride=(2, 1), padding=(0, 1)),
        cfg("pointwise", _X8, in_channels=8, kernel_size=1),
        cfg("reflect", _X2, padding=1, padding_mode="reflect"),
        *HALF,
        dynamic({0: SMALL_BATCH}),
    ),
)
_X3 = normal(1, 2, 6, 8, 8)
reg.case(
    "conv3d",
    "nn.Conv3d on a tiny volume: plain and strided/padded.",
    build=nn.Conv3d,
    args=(_X3,),
    kwargs={"in_channels": 2, "out_channels": 4, "kernel_size": 3},
    configs=(BASE, cfg("stride", _X3, stride=2, padding=1)),
)
reg.case(
    "conv_transpose1d",
    "nn.ConvTranspose1d: stride + output_padding, groups.",
    build=nn.ConvTranspose1d,
    args=(_X1,),
    kwargs={"in_channels": 4, "out_channels": 6, "kernel_size": 3},
    configs=(
        BASE,
        cfg("stride", _X1, stride=2, padding=1, output_padding=1),
        cfg("groups", _X1, groups=2),
    ),
)
_XT = normal(2, 4, 8, 8)
reg.case(
    "conv_transpose2d",
    "nn.ConvTranspose2d: stride, padding, output_padding, dilation, groups, no bias.",
    build=nn.ConvTranspose2d,
    args=(_XT,),
    kwargs={"in_channels": 4, "out_channels": 6, "kernel_size": 3},
    configs=(
        BASE,
        cfg("stride", _XT, stride=2, padding=1, output_padding=1),
        cfg("dilation", _XT, dilation=2),
        cfg("groups", _XT, groups=2),
        cfg("nobias", _XT, kernel_size=4, stride=2, padding=1, bias=False),
    ),
)
reg.case(
    "conv_transpose3d",
    "nn.ConvTranspose3d on a tiny volume with stride 2.",
    build=nn.ConvTranspose3d,
    args=(normal(1, 2, 3, 4, 4),),
    kwargs={"in_channels": 2, "out_channels": 3, "kernel_size": 2, "stride": 2},
)
