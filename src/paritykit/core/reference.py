"""Building a case config in a process: seeded model and inputs, and the eager reference.

The reference is PyTorch eager on CPU under ``no_grad`` with the fused MultiheadAttention fast
path switched off, so it is the plain unfused math and repeatable (the fast path differs by
~1e-6 and ``torch.compile`` keeps it as one opaque call).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from paritykit.core.backend import CaseInfo
from paritykit.core.cases import CaseRef, OpTestCase
from paritykit.core.dtypes import dtype_name, to_numpy
from paritykit.core.inputs import seeded
from paritykit.core.program import Program, flatten_outputs
from paritykit.core.tolerance import CaseTolerance


@dataclass
class CaseMaterial:
    """Everything about one config that is the same for every backend."""

    ref: CaseRef
    config: OpTestCase
    model: torch.nn.Module
    input_sets: list[tuple[torch.Tensor, ...]]
    dynamic_shapes: Any
    expected: list[list[np.ndarray]] = field(default_factory=list)
    reference_s: float = 0.0

    @property
    def inputs(self) -> tuple[torch.Tensor, ...]:
        """The example inputs (the first input set)."""
        return self.input_sets[0]

    @functools.cached_property
    def input_arrays(self) -> list[list[np.ndarray]]:
        """Every input set as NumPy arrays, the form backends are fed."""
        return [[to_numpy(t) for t in s] for s in self.input_sets]

    @property
    def tolerance(self) -> CaseTolerance:
        """The config's own tolerance override (its ``atol`` / ``rtol`` attributes)."""
        return CaseTolerance(self.config.atol, self.config.rtol, self.config.tolerance_reason)

    @functools.cached_property
    def program(self) -> Program:
        """The Program every backend of this case gets (so ``exported()`` runs once)."""
        return Program(self.ref.id, self.model, self.inputs, self.dynamic_shapes)

    @functools.cached_property
    def key_parts(self) -> dict[str, Any]:
        """What the lowered program depends on, for the artifact cache key."""
        state = hashlib.sha256()
        for name, tensor in self.model.state_dict().items():
            state.update(name.encode())
            state.update(to_numpy(tensor).tobytes())
        try:
            source = hashlib.sha256(inspect.getsource(inspect.getmodule(self.ref.cls)).encode())  # type: ignore[arg-type]
            source_hash = source.hexdigest()
        except (OSError, TypeError):
            source_hash = ""
        return {
            "case": self.ref.id,
            "config": {k: repr(v) for k, v in sorted(vars(self.config).items())},
            "source": source_hash,
            "state": state.hexdigest(),
            "inputs": [[list(t.shape), dtype_name(t.dtype)] for t in self.inputs],
            "dynamic_shapes": repr(self.dynamic_shapes),
        }


def _as_tuple(inputs: Any) -> tuple[torch.Tensor, ...]:
    return tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)


def _tensors(config: OpTestCase, inputs: Any, made_by: str) -> tuple[torch.Tensor, ...]:
    """``inputs`` as a tuple, each a tensor; anything else is the case's error, named."""
    tensors = _as_tuple(inputs)
    for i, t in enumerate(tensors):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{type(config).__name__}.{made_by}() gave {type(t).__name__} as "
                            f"input {i}; every input must be a torch.Tensor (keep other "
                            "arguments on the model)")
    return tensors


def _module(config: OpTestCase) -> torch.nn.Module:
    model = config.create_model()
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"{type(config).__name__}.create_model() returned "
                        f"{type(model).__name__}; it must return a torch.nn.Module")
    return model


def case_info(ref: CaseRef, seed: int) -> CaseInfo:
    """Dtypes, ranks and dynamism of a config, without building its model."""
    with seeded(seed, ref.id):
        config = ref.instantiate()
        tensors = _tensors(config, config.create_inputs(), "create_inputs")
        dynamic = config.get_dynamic_shapes() is not None
    return CaseInfo(
        id=ref.id,
        input_dtypes=tuple(sorted({dtype_name(t.dtype) for t in tensors})),
        input_ranks=tuple(t.dim() for t in tensors),
        dynamic=dynamic,
    )


def run_reference(model: torch.nn.Module, inputs: tuple[torch.Tensor, ...]) -> list[np.ndarray]:
    """Outputs of the eager module on clones of ``inputs`` (in-place ops cannot leak)."""
    with torch.no_grad():
        out = model(*(t.clone() for t in inputs))
    return [to_numpy(t) for t in flatten_outputs(out)]


def build_case(ref: CaseRef, seed: int) -> CaseMaterial:
    """Instantiate the config, build its model and inputs under the case's seed, run the reference.

    The model is seeded separately from the inputs, so inputs do not depend on how much
    randomness the model's initialisation consumed.
    """
    torch.backends.mha.set_fastpath_enabled(False)
    with seeded(seed, ref.id):
        config = ref.instantiate()
        inputs = _tensors(config, config.create_inputs(), "create_inputs")
        extra = [_tensors(config, s, "create_dynamic_inputs")
                 for s in config.create_dynamic_inputs()]
        dynamic = config.get_dynamic_shapes()
    with seeded(seed, ref.id + "/model"):
        model = _module(config).eval()
    material = CaseMaterial(ref, config, model, [inputs, *extra], dynamic)
    start = time.perf_counter()
    material.expected = [run_reference(model, s) for s in material.input_sets]
    material.reference_s = time.perf_counter() - start
    return material
