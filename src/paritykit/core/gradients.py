"""Gradient parity (``parity run --grad``): backward passes of compiled backends vs eager autograd.

The loss is ``sum(output * cotangent)`` over the case's floating-point outputs, with cotangents
drawn from the run seed, so its gradient w.r.t. each floating-point input and parameter is one
vector-Jacobian product. Eager autograd on the case's module is the reference; a backend that
declares ``supports_grad`` computes the same products through its own training path.

Example::

    grads = torch_gradients(module, module, inputs, run_seed=0, case_id="linear")
    [name for name, _ in grads]  # ['input 0', 'weight', 'bias']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from paritykit.core.dtypes import to_numpy
from paritykit.core.inputs import randn, seeded
from paritykit.core.program import flatten_outputs


class NotDifferentiable(Exception):
    """The case has nothing to differentiate (no float output, input or parameter in the loss)."""


def parameter_leaves(module: torch.nn.Module) -> list[tuple[str, torch.Tensor]]:
    """The parameters the loss is differentiated by: floating-point ones, in module order."""
    return [(name, p) for name, p in module.named_parameters() if p.is_floating_point()]


def draw_cotangents(outputs: Sequence[tuple[Sequence[int], torch.dtype]], run_seed: int,
                    case_id: str) -> list[torch.Tensor]:
    """The seeded cotangents for outputs of these (shape, dtype)s, one per tracked float output.

    Backends that differentiate outside torch draw them here too, so every side weights the
    outputs identically.
    """
    with seeded(run_seed, case_id + "/cotangent"):
        return [randn(*shape, dtype=dtype) for shape, dtype in outputs]


def torch_gradients(fn: Callable[..., Any], module: torch.nn.Module,
                    inputs: Sequence[torch.Tensor], run_seed: int, case_id: str, *,
                    cotangent_dtypes: Sequence[torch.dtype] | None = None,
                    ) -> list[tuple[str, np.ndarray]]:
    """``d sum(fn(*inputs) * cotangent) / d (float inputs, float parameters of module)``.

    ``fn`` is the module itself for the reference, or a compiled form of it; parameters are
    those of ``module`` (a compiled module shares them). Unused ones get zero gradients.
    ``cotangent_dtypes`` draws the cotangents in other dtypes than the outputs' own (then casts
    them): the float64 oracle uses the reference's dtypes, so both differentiate the same loss.
    """
    with torch.enable_grad():
        leaves, outputs = _tracked_forward(fn, module, inputs)
        dtypes = [o.dtype for o in outputs] if cotangent_dtypes is None else cotangent_dtypes
        if len(dtypes) != len(outputs):
            raise ValueError(f"{len(outputs)} differentiable outputs but {len(dtypes)} "
                             "cotangent dtypes")
        drawn = draw_cotangents([(o.shape, d) for o, d in zip(outputs, dtypes, strict=True)],
                                run_seed, case_id)
        loss = sum(((o * c.to(o.dtype)).sum() for o, c in zip(outputs, drawn, strict=True)),
                   torch.zeros(()))
        grads = torch.autograd.grad(loss, [t for _, t in leaves], allow_unused=True)
    return [(name, to_numpy(torch.zeros_like(t) if g is None else g.detach()))
            for (name, t), g in zip(leaves, grads, strict=True)]


def tracked_output_dtypes(module: torch.nn.Module,
                          inputs: Sequence[torch.Tensor]) -> list[torch.dtype]:
    """The dtypes of the outputs the loss sums over, in order (a forward pass, no backward).

    >>> tracked_output_dtypes(torch.nn.Linear(2, 1).half(), [torch.ones(1, 2).half()])
    [torch.float16]
    """
    with torch.enable_grad():
        return [o.dtype for o in _tracked_forward(module, module, inputs)[1]]


def _tracked_forward(fn: Callable[..., Any], module: torch.nn.Module,
                     inputs: Sequence[torch.Tensor],
                     ) -> tuple[list[tuple[str, torch.Tensor]], list[torch.Tensor]]:
    """(leaves, outputs): float inputs made leaves, then the float outputs that depend on one
    (call with grad enabled)."""
    leaves: list[tuple[str, torch.Tensor]] = []
    args = []
    for i, x in enumerate(inputs):
        if x.is_floating_point():
            x = x.detach().clone().requires_grad_(True)
            leaves.append((f"input {i}", x))
        args.append(x)
    leaves += parameter_leaves(module)
    if not leaves:
        raise NotDifferentiable("no floating-point input or parameter")
    outputs = [o for o in flatten_outputs(fn(*args)) if o.is_floating_point() and o.requires_grad]
    if not outputs:
        raise NotDifferentiable("no floating-point output depends on an input or parameter")
    return leaves, outputs
