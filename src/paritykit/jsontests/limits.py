"""How big one tensor of a JSON definition may be, checked before anything is allocated.

A definition is data anyone can write: ``100000x100000x1000xf32`` asks for 36 TiB, and a
``.npy`` header can claim any shape. Sizes are checked from the type, the file header or the
file size first, so an oversized tensor is a load error of that definition (naming the file,
the field and the size), never a MemoryError that ends the run.

The limits: more than 2**31 elements is beyond what 32-bit indexing (used by several
backends' kernels) can address, and 4 GiB per tensor is far above any test input while still
fitting in a CI runner's memory next to the reference, the backend's copy and the outputs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

#: The most elements one input, expected output or weight tensor may have.
MAX_TENSOR_ELEMENTS = 2**31
#: The most bytes one input, expected output or weight tensor may take.
MAX_TENSOR_BYTES = 4 * 2**30


def _bytes(count: int) -> str:
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.4g} {unit}"
        size /= 1024
    return f"{size:.4g} TiB"  # unreachable; keeps mypy's return check happy


def check_size(shape: Sequence[int], dtype: np.dtype, what: str) -> None:
    """Raise ValueError when a tensor of ``shape`` and ``dtype`` is over a limit.

    >>> check_size((2, 3), np.dtype("float32"), "2x3xf32")
    >>> check_size((100000, 100000), np.dtype("float32"), "x")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: x has 10000000000 elements (37.25 GiB); the limit is 2147483648 elements ...
    """
    count = math.prod(int(d) for d in shape)
    size = count * dtype.itemsize
    if count > MAX_TENSOR_ELEMENTS or size > MAX_TENSOR_BYTES:
        raise ValueError(f"{what} has {count} elements ({_bytes(size)}); the limit is "
                         f"{MAX_TENSOR_ELEMENTS} elements and {_bytes(MAX_TENSOR_BYTES)} "
                         "per tensor")
