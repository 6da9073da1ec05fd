"""Tests of the torch <-> NumPy conversions that carry tensors across the backend boundary."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
import torch

from paritykit.core.dtypes import (
    carried_dtypes,
    dtype_name,
    numpy_dtype,
    to_numpy,
    to_torch,
    torch_dtype,
)

CARRIED = {
    "float64": (torch.float64, np.float64),
    "float32": (torch.float32, np.float32),
    "float16": (torch.float16, np.float16),
    "bfloat16": (torch.bfloat16, ml_dtypes.bfloat16),
    "int64": (torch.int64, np.int64),
    "int32": (torch.int32, np.int32),
    "int16": (torch.int16, np.int16),
    "int8": (torch.int8, np.int8),
    "uint8": (torch.uint8, np.uint8),
    "bool": (torch.bool, np.bool_),
    "complex64": (torch.complex64, np.complex64),
    "complex128": (torch.complex128, np.complex128),
}


def _random_array(numpy_type: type, shape: tuple[int, ...] = (3, 5, 7)) -> np.ndarray:
    """Arbitrary bit patterns (NaNs and infs included) of the given dtype."""
    dtype = np.dtype(numpy_type)
    rng = np.random.default_rng(0)
    if dtype == np.bool_:
        return rng.integers(0, 2, shape).astype(np.bool_)
    raw = rng.integers(0, 256, int(np.prod(shape)) * dtype.itemsize, dtype=np.uint8)
    return raw.view(dtype).reshape(shape)


def test_every_carried_dtype_is_covered() -> None:
    assert sorted(carried_dtypes()) == sorted(CARRIED)


@pytest.mark.parametrize("name", list(CARRIED))
def test_dtype_maps_are_inverse(name: str) -> None:
    torch_type, numpy_type = CARRIED[name]
    assert numpy_dtype(torch_type) == np.dtype(numpy_type)
    assert torch_dtype(np.dtype(numpy_type)) == torch_type
    assert torch_dtype(numpy_type) == torch_type
    assert dtype_name(torch_type) == name
    assert dtype_name(np.dtype(numpy_type)) == name


@pytest.mark.parametrize("name", list(CARRIED))
def test_numpy_to_torch_to_numpy_is_bit_exact(name: str) -> None:
    torch_type, numpy_type = CARRIED[name]
    array = _random_array(numpy_type)
    tensor = to_torch(array)
    assert tensor.dtype == torch_type
    assert tuple(tensor.shape) == array.shape
    back = to_numpy(tensor)
    assert back.dtype == np.dtype(numpy_type)
    assert back.shape == array.shape
    assert back.tobytes() == array.tobytes()


@pytest.mark.parametrize("name", list(CARRIED))
def test_torch_to_numpy_to_torch_is_bit_exact(name: str) -> None:
    torch_type, numpy_type = CARRIED[name]
    tensor = torch.from_numpy(_random_array(numpy_type).copy()) if name != "bfloat16" else (
        torch.randint(-(2**15), 2**15, (3, 5, 7), dtype=torch.int16).view(torch.bfloat16))
    back = to_torch(to_numpy(tensor))
    assert back.dtype == torch_type
    assert back.shape == tensor.shape
    # Compare the bytes, so NaN payloads and signed zeros count too.
    assert torch.equal(back.view(torch.uint8), tensor.view(torch.uint8))


@pytest.mark.parametrize(
    ("torch_type", "numpy_type", "bits_type"),
    [(torch.bfloat16, ml_dtypes.bfloat16, np.uint16), (torch.float16, np.float16, np.uint16)],
)
def test_every_16_bit_pattern_survives_both_ways(torch_type: torch.dtype, numpy_type: type,
                                                 bits_type: type) -> None:
    patterns = np.arange(2**16, dtype=np.uint32).astype(bits_type)
    tensor = torch.from_numpy(patterns.view(np.int16).copy()).view(torch_type)
    array = to_numpy(tensor)
    assert array.dtype == np.dtype(numpy_type)
    assert np.array_equal(array.view(bits_type), patterns)
    back = to_torch(array)
    assert back.dtype == torch_type
    assert np.array_equal(back.view(torch.int16).numpy().view(bits_type), patterns)


def test_bfloat16_values_are_not_widened() -> None:
    tensor = torch.tensor([1.0, -2.5, 3.140625], dtype=torch.bfloat16)
    array = to_numpy(tensor)
    assert array.dtype.name == "bfloat16"
    assert array.astype(np.float64).tolist() == [1.0, -2.5, 3.140625]


def test_to_numpy_copies_and_handles_non_contiguous_tensors() -> None:
    tensor = torch.arange(12, dtype=torch.float32).reshape(3, 4).t()
    array = to_numpy(tensor)
    assert array.flags["C_CONTIGUOUS"]
    assert np.array_equal(array, tensor.numpy())
    array[0, 0] = 100.0
    assert float(tensor[0, 0]) == 0.0


def test_to_torch_copies_and_handles_non_contiguous_arrays() -> None:
    array = np.arange(24, dtype=np.int32).reshape(4, 6)[:, ::2]
    tensor = to_torch(array)
    assert tensor.tolist() == array.tolist()
    tensor[0, 0] = -1
    assert array[0, 0] == 0
    bf16 = np.arange(8, dtype=np.float32).astype(ml_dtypes.bfloat16)[::3]
    assert to_torch(bf16).float().tolist() == [0.0, 3.0, 6.0]


def test_to_numpy_detaches_tensors_that_require_grad() -> None:
    tensor = torch.ones(3, requires_grad=True) * 2
    assert to_numpy(tensor).tolist() == [2.0, 2.0, 2.0]


@pytest.mark.parametrize("dtype", [torch.float8_e4m3fn, torch.complex32, torch.uint16,
                                   torch.quint8])
def test_unsupported_torch_dtypes_are_errors_naming_them(dtype: torch.dtype) -> None:
    with pytest.raises(TypeError, match="cannot carry torch dtype") as info:
        numpy_dtype(dtype)
    assert str(dtype) in str(info.value)
    with pytest.raises(TypeError, match="cannot carry"):
        dtype_name(dtype)


@pytest.mark.parametrize("dtype", [np.uint16, np.uint64, np.float128 if hasattr(np, "float128")
                                   else np.longdouble, np.dtype("U4"), np.dtype("M8[s]")])
def test_unsupported_numpy_dtypes_are_errors_naming_them(dtype: object) -> None:
    with pytest.raises(TypeError, match="no torch dtype for numpy dtype") as info:
        torch_dtype(dtype)  # type: ignore[arg-type]
    assert str(dtype) in str(info.value)
