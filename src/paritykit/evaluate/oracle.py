"""A float64 oracle for one traced module: is a backend's error just float32 noise?

A conv summing 4608 products lands tens of ulps away from eager on another backend (different
summation order, FMA), past the per-op float32 tolerance. Running the module in float64 on the
same inputs tells the two apart: when the backend's distance to the float64 result is within
:data:`SLACK` times eager's own distance to it, the backend is as accurate as the reference and
the difference is rounding, not a bug. Summing in another order or in blocks lands up to ~10x
further than eager (measured: OpenVINO's convs in ResNet-18's last stages, 4-7x); reduced-precision
math (bf16, TF32) lands hundreds of times further, and a wrong result (0.01 on a layer) thousands.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import torch

from paritykit.evaluate.capture import Call

#: How much further from float64 than eager a backend may land and still count as noise.
SLACK = 16.0


def float64_outputs(call: Call) -> list[np.ndarray] | None:
    """The module's outputs computed in float64 on the captured inputs (None if it cannot)."""
    def widen(x: object) -> object:
        if isinstance(x, torch.Tensor) and x.is_floating_point():
            return x.double()
        return x

    try:
        module = copy.deepcopy(call.module).double()
        with torch.no_grad():
            out = module(*(widen(a) for a in call.args),
                         **{k: widen(v) for k, v in call.kwargs.items()})
    except Exception:  # modules that pin float32 internally have no float64 oracle
        return None
    leaves = [x for x in torch.utils._pytree.tree_leaves(out) if isinstance(x, torch.Tensor)]
    return [t.detach().numpy().astype(np.float64) for t in leaves]


def _max_dist(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> float:
    dists = [float(np.max(np.abs(np.asarray(x, np.float64) - y))) if np.size(y) else 0.0
             for x, y in zip(a, b, strict=True)]
    return max(dists, default=0.0)


def float32_noise(got: Sequence[np.ndarray], expected: Sequence[np.ndarray],
                  oracle: Sequence[np.ndarray]) -> tuple[bool, float, float]:
    """(is noise, backend's distance to float64, eager's distance to float64).

    >>> o = [np.array([1.0])]
    >>> float32_noise([np.array([1.0 + 2e-7])], [np.array([1.0 - 1e-7])], o)[0]
    True
    """
    if len(got) != len(oracle) or len(expected) != len(oracle):
        return False, float("nan"), float("nan")
    if any(np.shape(g) != np.shape(o) for g, o in zip(got, oracle, strict=True)):
        return False, float("nan"), float("nan")
    backend, eager = _max_dist(got, oracle), _max_dist(expected, oracle)
    return backend <= SLACK * eager, backend, eager
