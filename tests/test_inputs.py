"""Tests of seeded input generation: determinism (also across processes), dtypes and shapes."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Callable

import ml_dtypes
import numpy as np
import pytest
import torch

from paritykit.core.dtypes import to_numpy
from paritykit.core.inputs import case_seed, rand, randbool, randint, randn, randperm, seeded

# Run here and in a fresh interpreter; both must print the same digest.
DIGEST_SCRIPT = """
import hashlib
import torch
from paritykit.core.dtypes import to_numpy
from paritykit.core.inputs import rand, randbool, randint, randn, randperm, seeded


def digest(seed, case_id):
    with seeded(seed, case_id):
        tensors = [
            randn(3, 5),
            randn(7, dtype=torch.bfloat16),
            randn((2, 2), dtype=torch.float16, std=3.0),
            rand(4, low=-1.0, high=1.0, dtype=torch.float64),
            randint(0, 1000, 6),
            randbool(9),
            randperm(10),
            torch.nn.Linear(3, 2).weight.detach(),
            torch.randn(4),
        ]
    h = hashlib.sha256()
    for t in tensors:
        h.update(str(t.dtype).encode())
        h.update(to_numpy(t).tobytes())
    return h.hexdigest()
"""


def _digest(seed: int, case_id: str) -> str:
    namespace: dict[str, object] = {}
    exec(DIGEST_SCRIPT, namespace)
    return namespace["digest"](seed, case_id)  # type: ignore[operator]


def _draw(seed: int, case_id: str) -> bytes:
    with seeded(seed, case_id):
        return to_numpy(randn(64)).tobytes() + to_numpy(randint(0, 2**30, 16)).tobytes()


# ---------------------------------------------------------------------------------- determinism


def test_same_seed_and_case_give_identical_bytes() -> None:
    assert _draw(0, "linear") == _draw(0, "linear")


@pytest.mark.parametrize(("seed", "case_id"), [(0, "linear_nobias"), (1, "linear"),
                                               (0, "Linear"), (2**40, "linear")])
def test_another_case_or_seed_gives_other_values(seed: int, case_id: str) -> None:
    assert _draw(seed, case_id) != _draw(0, "linear")


def test_case_seed_is_a_stable_63_bit_value() -> None:
    seeds = {case_seed(s, c) for s in range(5) for c in ("a", "b", "softmax_dim1")}
    assert len(seeds) == 15
    assert all(0 <= s < 2**63 for s in seeds)
    assert case_seed(3, "a") == case_seed(3, "a")


def test_inputs_are_identical_across_processes() -> None:
    here = _digest(5, "conv2d_s2")
    env = dict(os.environ, PYTHONHASHSEED="12345")  # str hashing must not matter
    out = subprocess.run(
        [sys.executable, "-c", DIGEST_SCRIPT + "\nprint(digest(5, 'conv2d_s2'))"],
        capture_output=True, text=True, check=True, env=env, timeout=120,
    )
    assert out.stdout.strip() == here
    assert here != _digest(5, "conv2d_s1")


def test_seeded_restores_the_outer_generator() -> None:
    with seeded(0, "outer"):
        randn(3)
        second = to_numpy(randn(3))
    with seeded(0, "outer"):
        randn(3)
        with seeded(0, "inner"):
            randn(100)
        resumed = to_numpy(randn(3))
    assert np.array_equal(resumed, second)


def test_torch_numpy_and_random_are_seeded_too() -> None:
    def draw() -> tuple[torch.Tensor, torch.Tensor, float, float]:
        with seeded(9, "layer"):
            weight = torch.nn.Linear(8, 4).weight.detach().clone()
            noise = torch.randn(5)
            return weight, noise, float(np.random.rand()), random.random()

    first, second = draw(), draw()
    assert torch.equal(first[0], second[0])
    assert torch.equal(first[1], second[1])
    assert first[2:] == second[2:]
    with seeded(9, "other_layer"):
        other = torch.nn.Linear(8, 4).weight.detach()
    assert not torch.equal(first[0], other)


# ------------------------------------------------------------------------------ dtype rounding


@pytest.mark.parametrize(("dtype", "numpy_type"), [(torch.bfloat16, ml_dtypes.bfloat16),
                                                   (torch.float16, np.float16)])
def test_low_precision_values_are_the_float64_samples_rounded_to_nearest_even(
    dtype: torch.dtype, numpy_type: type
) -> None:
    with seeded(1, "half") as gen:
        samples = gen.standard_normal(4096) * 2.5
    with seeded(1, "half"):
        got = randn(4096, dtype=dtype, std=2.5)
    assert got.dtype == dtype
    expected = samples.astype(numpy_type)  # NumPy / ml_dtypes cast: round to nearest even
    assert to_numpy(got).tobytes() == expected.tobytes()
    # Rounding, not truncation: some values rounded away from zero.
    assert (np.abs(expected.astype(np.float64)) > np.abs(samples)).any()


def test_float32_values_are_the_float64_samples_rounded() -> None:
    with seeded(2, "single") as gen:
        samples = gen.uniform(-3.0, 5.0, 1000)
    with seeded(2, "single"):
        got = rand(1000, low=-3.0, high=5.0)
    assert np.array_equal(to_numpy(got), samples.astype(np.float32))


# ---------------------------------------------------------------------------- shapes and ranges


@pytest.mark.parametrize("shape", [(2, 3), [2, 3], torch.Size([2, 3])])
def test_shape_as_varargs_or_one_sequence(shape: tuple[int, ...]) -> None:
    with seeded(0, "shape"):
        spread = randn(2, 3)
    with seeded(0, "shape"):
        packed = randn(shape)
    assert spread.shape == packed.shape == (2, 3)
    assert torch.equal(spread, packed)


def test_every_helper_takes_both_shape_forms() -> None:
    for make in (lambda *s: rand(*s), lambda *s: randint(0, 5, *s), lambda *s: randbool(*s)):
        assert make(4, 2).shape == make((4, 2)).shape == (4, 2)
    assert randn(5).shape == (5,)


@pytest.mark.parametrize("make", [randn, rand, lambda s: randint(0, 5, s), randbool])
def test_an_empty_shape_gives_a_0_d_tensor(make: Callable[[tuple[()]], torch.Tensor]) -> None:
    assert make(()).shape == ()


def test_a_numpy_integer_size_is_a_size() -> None:
    assert randn(np.int64(3)).shape == (3,)


def test_helpers_respect_ranges_and_dtypes() -> None:
    with seeded(0, "ranges"):
        u = rand(2000, low=2.0, high=3.0, dtype=torch.float64)
        i = randint(-3, 4, 2000, dtype=torch.int32)
        b = randbool(2000, p=0.25)
        p = randperm(50)
    assert u.dtype == torch.float64
    assert float(u.min()) >= 2.0
    assert float(u.max()) < 3.0
    assert i.dtype == torch.int32
    assert set(i.tolist()) == set(range(-3, 4))
    assert b.dtype == torch.bool
    assert 0.15 < float(b.float().mean()) < 0.35
    assert p.dtype == torch.int64
    assert sorted(p.tolist()) == list(range(50))
