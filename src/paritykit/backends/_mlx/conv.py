"""``aten.convolution`` (1-3 spatial dims, groups, dilation, transposed) on ``mx.conv_general``.

torch is channels-first (N, C, *spatial) with OIHW weights; MLX is channels-last with
O-spatial-I weights. A transposed convolution is a convolution of the input dilated by the
stride, padded by ``dilation * (k - 1) - padding`` (plus ``output_padding`` on the high side),
with the kernel flipped and its in/out channels swapped per group.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import mlx.core as mx

from paritykit.backends._mlx.core import HALF, aten, lowers


def _channels_last(x: mx.array) -> mx.array:
    return mx.moveaxis(x, 1, -1)


def _transposed_weight(w: mx.array, groups: int) -> mx.array:
    """(I, O/g, *k) torch layout to MLX's (O, *k, I/g)."""
    cin, cout_g, *k = w.shape
    w = mx.reshape(w, (groups, cin // groups, cout_g, *k))
    w = mx.moveaxis(w, 1, -1)  # (g, O/g, *k, I/g)
    return mx.reshape(w, (groups * cout_g, *k, cin // groups))


@lowers(aten.convolution.default)
def convolution(x: mx.array, weight: mx.array, bias: mx.array | None, stride: Sequence[int],
                padding: Sequence[int], dilation: Sequence[int], transposed: bool,
                output_padding: Sequence[int], groups: int) -> mx.array:
    """N-d convolution or transposed convolution, channels-first in and out."""
    spatial = weight.ndim - 2
    unbatched = x.ndim == spatial + 1
    if unbatched:
        x = x[None]
    dtype = x.dtype
    if dtype in HALF:  # accumulate in float32, round once (torch's CPU kernels do)
        x, weight = x.astype(mx.float32), weight.astype(mx.float32)
    xs = _channels_last(x)
    stride, padding, dilation = (_per_dim(v, spatial) for v in (stride, padding, dilation))
    if not transposed:
        out = mx.conv_general(xs, mx.moveaxis(weight, 1, -1), stride=stride,
                              padding=(padding, padding), kernel_dilation=dilation,
                              groups=groups)
    else:
        out = _conv_transpose(xs, weight, stride, padding, dilation,
                              _per_dim(output_padding, spatial), groups)
    out = mx.moveaxis(out, -1, 1)
    if bias is not None:
        out = out + mx.reshape(bias.astype(out.dtype), (1, -1) + (1,) * spatial)
    out = out.astype(dtype)
    return out[0] if unbatched else out


def _conv_transpose(xs: mx.array, weight: mx.array, stride: list[int], padding: list[int],
                    dilation: list[int], output_padding: list[int], groups: int) -> mx.array:
    k = weight.shape[2:]
    lo = [d * (kk - 1) - p for d, kk, p in zip(dilation, k, padding, strict=True)]
    hi = [a + op for a, op in zip(lo, output_padding, strict=True)]
    out = mx.conv_general(xs, _transposed_weight(weight, groups), stride=1,
                          padding=([max(v, 0) for v in lo], [max(v, 0) for v in hi]),
                          kernel_dilation=dilation, input_dilation=stride, groups=groups,
                          flip=True)
    # Padding beyond the kernel's reach is negative: crop the output instead.
    crop: list[Any] = [slice(None)]
    for a, b, n in zip(lo, hi, out.shape[1:-1], strict=True):
        crop.append(slice(max(-a, 0), n - max(-b, 0)))
    return out[tuple(crop)] if any(v < 0 for v in lo + hi) else out


def _per_dim(value: Sequence[int] | int, n: int) -> list[int]:
    if isinstance(value, int):
        return [value] * n
    values = [int(v) for v in value]
    return values * n if len(values) == 1 else values
