"""Conversions between torch tensors and the NumPy arrays that cross the backend boundary.

bfloat16 has no NumPy dtype of its own; ml_dtypes provides one, so a bf16 tensor becomes an
``ml_dtypes.bfloat16`` array bit for bit instead of being widened silently.
"""

from __future__ import annotations

from typing import Any

import ml_dtypes
import numpy as np
import torch

_TORCH_TO_NUMPY: dict[torch.dtype, Any] = {
    torch.float64: np.float64,
    torch.float32: np.float32,
    torch.float16: np.float16,
    torch.bfloat16: ml_dtypes.bfloat16,
    torch.int64: np.int64,
    torch.int32: np.int32,
    torch.int16: np.int16,
    torch.int8: np.int8,
    torch.uint8: np.uint8,
    torch.bool: np.bool_,
    torch.complex64: np.complex64,
    torch.complex128: np.complex128,
}
_NUMPY_TO_TORCH: dict[np.dtype[Any], torch.dtype] = {
    np.dtype(v): k for k, v in _TORCH_TO_NUMPY.items()
}


def carried_dtypes() -> list[str]:
    """Names of every dtype that can cross the backend boundary."""
    return [dtype_name(d) for d in _TORCH_TO_NUMPY]


def numpy_dtype(dtype: torch.dtype) -> np.dtype[Any]:
    """The NumPy dtype that carries values of torch ``dtype``.

    >>> numpy_dtype(torch.bfloat16).name
    'bfloat16'
    """
    try:
        return np.dtype(_TORCH_TO_NUMPY[dtype])
    except KeyError:
        raise TypeError(f"paritykit cannot carry torch dtype {dtype} across backends") from None


def torch_dtype(dtype: np.dtype[Any] | type) -> torch.dtype:
    """The torch dtype for a NumPy dtype (inverse of :func:`numpy_dtype`)."""
    try:
        return _NUMPY_TO_TORCH[np.dtype(dtype)]
    except KeyError:
        raise TypeError(f"paritykit has no torch dtype for numpy dtype {dtype}") from None


def dtype_name(dtype: np.dtype[Any] | torch.dtype) -> str:
    """A short, framework-neutral dtype name: ``float32``, ``bfloat16``, ``int64``, ``bool``."""
    if isinstance(dtype, torch.dtype):
        dtype = numpy_dtype(dtype)
    name = np.dtype(dtype).name
    return "bool" if name == "bool_" else name


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    """Copy a tensor to a contiguous CPU NumPy array of the matching dtype (bf16 via ml_dtypes)."""
    t = tensor.detach().cpu().contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().view(ml_dtypes.bfloat16).copy()
    return t.numpy().copy()


def to_torch(array: np.ndarray) -> torch.Tensor:
    """Turn a NumPy array (bf16 via ml_dtypes) into a CPU tensor of the matching dtype."""
    a = np.require(array, requirements="C")
    if a.dtype == np.dtype(ml_dtypes.bfloat16):
        return torch.from_numpy(a.view(np.int16).copy()).view(torch.bfloat16)
    return torch.from_numpy(a.copy())
