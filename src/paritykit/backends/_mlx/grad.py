"""Gradients through the lowered graph (``parity run --grad -b mlx``), differentiated by MLX.

The lowered closure is a function of the float user inputs and the parameters (parameters are
constants of :class:`LoweredGraph` that :meth:`LoweredGraph.run_with` lets us replace), so
``mx.vjp`` through it with the seeded cotangents of :func:`paritykit.core.gradients.draw_cotangents`
gives the gradient of ``sum(output * cotangent)``: the same loss eager autograd differentiates in
:func:`paritykit.core.gradients.torch_gradients`, with the same names in the same order.

Example::

    grads = vjp_gradients(lower(ep), inputs, module, run_seed=0, case_id="linear")
    [name for name, _ in grads]  # ['input 0', 'op.weight', 'op.bias']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import mlx.core as mx
import numpy as np
import torch

from paritykit.backends._mlx import convert
from paritykit.backends._mlx.core import is_float, torch_dtype
from paritykit.backends._mlx.graph import Env, LoweredGraph, Step
from paritykit.core.dtypes import to_numpy as torch_to_numpy
from paritykit.core.gradients import NotDifferentiable, draw_cotangents, parameter_leaves


class NoMlxGradient(Exception):
    """MLX cannot differentiate an op of the lowered graph; the message names the ATen op."""


def vjp_gradients(graph: LoweredGraph, inputs: Sequence[np.ndarray], module: torch.nn.Module,
                  run_seed: int, case_id: str) -> list[tuple[str, np.ndarray]]:
    """``d sum(outputs * cotangents) / d (float inputs, float parameters)`` by ``mx.vjp``.

    Raises:
        NotDifferentiable: nothing to differentiate (as torch_gradients decides it).
        NoMlxGradient: an op has no MLX gradient rule (named with its node).
    """
    arrays = [convert.from_numpy(a) for a in inputs]
    names = [f"input {i}" for i, a in enumerate(arrays) if is_float(a)]
    slots: list[int | None] = [None] * len(names)  # None: a user input, else a parameter slot
    primals = [a for a in arrays if is_float(a)]
    absent: dict[str, np.ndarray] = {}
    for name, p in parameter_leaves(module):
        slot = graph.parameters.get(name)
        if slot is None:  # not in the exported graph (e.g. unused): zero, as in torch
            absent[name] = np.zeros_like(torch_to_numpy(p.detach()))
            continue
        names.append(name)
        slots.append(slot)
        primals.append(graph.constant(slot))
    order = [*(n for n in names if n.startswith("input ")),
             *(name for name, _ in parameter_leaves(module))]
    if not order:
        raise NotDifferentiable("no floating-point input or parameter")
    loss_outputs = _loss_function(graph, arrays, slots)
    outs = loss_outputs(*primals)
    if not outs:
        raise NotDifferentiable("no floating-point output depends on an input or parameter")
    cotangents = [convert.from_torch(c) for c in
                  draw_cotangents([(o.shape, torch_dtype(o.dtype)) for o in outs],
                                  run_seed, case_id)]
    try:
        _, grads = mx.vjp(loss_outputs, primals, cotangents)
        mx.eval(grads)
    except Exception as exc:
        # Not chained: the harness reports an error's root cause, which would drop the op name.
        raise NoMlxGradient(_blame(graph, arrays, exc)) from None
    # torch returns each gradient in its leaf's dtype; MLX may promote (a float32 cotangent).
    found = {n: convert.to_numpy(g.astype(x.dtype))
             for n, g, x in zip(names, grads, primals, strict=True)}
    return [(n, found[n] if n in found else absent[n]) for n in order]


def _loss_function(graph: LoweredGraph, arrays: list[mx.array],
                   slots: list[int | None]) -> Callable[..., list[mx.array]]:
    """The graph as a function of the primals, returning the outputs autograd tracks."""
    user = [i for i, a in enumerate(arrays) if is_float(a)]

    def outputs(*primals: mx.array) -> list[mx.array]:
        args = list(arrays)
        state: dict[int, mx.array] = {}
        k = 0
        for slot, value in zip(slots, primals, strict=True):
            if slot is None:
                args[user[k]] = value
                k += 1
            else:
                state[slot] = value
        outs = graph.run_with(args, state)
        return [o for o, keep in zip(outs, graph.grad_outputs, strict=True)
                if keep and is_float(o)]

    return outputs


def _blame(graph: LoweredGraph, arrays: list[mx.array], exc: Exception) -> str:
    """Which step MLX cannot differentiate: each step's own vjp, in graph order."""
    env = graph.environment(arrays, {})
    for step in graph.steps:
        if _step_vjp_fails(step, env):
            return f"MLX has no gradient for {step.target} (node {step.name}): {exc}"
    return f"MLX could not differentiate the lowered graph: {exc}"


def _step_vjp_fails(step: Step, env: Env) -> bool:
    args, kwargs = list(step.args(env)), step.kwargs(env)
    where = [i for i, a in enumerate(args) if isinstance(a, mx.array) and is_float(a)]
    if not where:
        return False

    def single(*xs: mx.array) -> list[mx.array]:
        call = list(args)
        for i, x in zip(where, xs, strict=True):
            call[i] = x
        out: Any = step.fn(*call, **kwargs)
        outs = out if isinstance(out, (tuple, list)) else [out]
        return [o for o in outs if isinstance(o, mx.array) and is_float(o)]

    try:
        primals = [args[i] for i in where]
        outs = single(*primals)
        if outs:
            mx.eval(mx.vjp(single, primals, [mx.ones_like(o) for o in outs])[1])
    except Exception:
        return True
    return False
