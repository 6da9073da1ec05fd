"""Seeded, platform-independent input generation.

Every random value a case draws comes from NumPy's ``Generator`` (PCG64), whose streams are
bit-identical across platforms and processes, and is then cast to the requested torch dtype
with round-to-nearest-even. The runner installs a generator seeded from (run seed, case id)
before it calls ``create_model`` / ``create_inputs``; torch's own RNG is seeded from the same
value so ``nn.Linear``-style default initialisation is repeatable too.
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import threading
from collections.abc import Iterator, Sequence

import numpy as np
import torch

_local = threading.local()

Shape = Sequence[int] | int


def case_seed(run_seed: int, case_id: str) -> int:
    """A 63-bit seed derived from the run seed and the case id (stable across processes).

    >>> case_seed(0, "linear") == case_seed(0, "linear")
    True
    """
    digest = hashlib.sha256(f"{run_seed}:{case_id}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


@contextlib.contextmanager
def seeded(run_seed: int, case_id: str) -> Iterator[np.random.Generator]:
    """Seed paritykit's generator, torch, NumPy's legacy RNG and ``random`` for one case.

    >>> with seeded(0, "demo"):
    ...     a = randn(3)
    >>> with seeded(0, "demo"):
    ...     b = randn(3)
    >>> bool((a == b).all())
    True
    """
    seed = case_seed(run_seed, case_id)
    previous = getattr(_local, "gen", None)
    _local.gen = np.random.Generator(np.random.PCG64(seed))
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)
    try:
        yield _local.gen
    finally:
        _local.gen = previous


def generator() -> np.random.Generator:
    """The generator of the current case (a fixed-seed one outside of :func:`seeded`)."""
    gen = getattr(_local, "gen", None)
    if gen is None:
        gen = _local.gen = np.random.Generator(np.random.PCG64(0))
    return gen


def _shape(shape: tuple[Shape, ...]) -> tuple[int, ...]:
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        return tuple(int(s) for s in shape[0])
    return tuple(int(s) for s in shape)  # type: ignore[arg-type]


def _as_tensor(values: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    # np.array keeps 0-d samples 0-d (ascontiguousarray would make them 1-d).
    return torch.from_numpy(np.array(values, order="C")).to(dtype)


def randn(*shape: Shape, dtype: torch.dtype = torch.float32, std: float = 1.0) -> torch.Tensor:
    """Normal samples of the given shape and dtype.

    >>> randn(2, 3).shape == randn((2, 3)).shape == (2, 3)
    True
    """
    values = generator().standard_normal(_shape(shape)) * std
    return _as_tensor(values.astype(np.float64), dtype)


def rand(
    *shape: Shape, dtype: torch.dtype = torch.float32, low: float = 0.0, high: float = 1.0
) -> torch.Tensor:
    """Uniform samples in ``[low, high)``.

    >>> float(rand(100, low=2.0, high=3.0).min()) >= 2.0
    True
    """
    return _as_tensor(generator().uniform(low, high, _shape(shape)), dtype)


def randint(low: int, high: int, *shape: Shape, dtype: torch.dtype = torch.int64) -> torch.Tensor:
    """Integers in ``[low, high)``.

    >>> randint(0, 4, 10).dtype
    torch.int64
    """
    return _as_tensor(generator().integers(low, high, _shape(shape)), dtype)


def randbool(*shape: Shape, p: float = 0.5) -> torch.Tensor:
    """Booleans that are True with probability ``p``."""
    return torch.from_numpy(np.asarray(generator().random(_shape(shape)) < p))


def randperm(n: int) -> torch.Tensor:
    """A permutation of ``range(n)`` as int64 (useful for unique scatter indices)."""
    return torch.from_numpy(generator().permutation(n).astype(np.int64))
