"""Crossing between NumPy / torch and MLX, bit for bit (bfloat16 travels as uint16 bits)."""

from __future__ import annotations

import ml_dtypes
import mlx.core as mx
import numpy as np
import torch

from paritykit.core.dtypes import to_numpy as torch_to_numpy

BF16 = np.dtype(ml_dtypes.bfloat16)


def from_numpy(array: np.ndarray) -> mx.array:
    """An MLX array with the same dtype, shape (0-d included) and bits."""
    a = np.require(array, requirements="C")
    if a.dtype == BF16:
        return mx.array(a.view(np.uint16)).view(mx.bfloat16)
    if a.dtype == np.float64:  # mx.array would silently narrow it to float32
        return mx.array(a, dtype=mx.float64)
    return mx.array(a)


def from_torch(tensor: torch.Tensor) -> mx.array:
    """A weight or constant as an MLX array."""
    return from_numpy(torch_to_numpy(tensor))


def to_numpy(array: mx.array) -> np.ndarray:
    """A NumPy copy (bf16 as ``ml_dtypes.bfloat16``); call after ``mx.eval``."""
    if array.dtype == mx.bfloat16:
        return np.array(array.view(mx.uint16)).view(BF16)
    return np.array(array)
