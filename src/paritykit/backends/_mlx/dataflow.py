"""Which nodes of an exported graph torch's autograd would track (``requires_grad``).

``parity run --grad`` draws one seeded cotangent per floating-point output that eager autograd
tracks, in output order, so MLX must pick the same outputs or every later cotangent shifts.
torch's rule, replayed on the graph: a value is tracked when it is floating point and one of
its tensor arguments is tracked, starting from the float user inputs and parameters. Integer and
bool values cut the chain (``(x > 0).float()`` is untracked), and so do the ``*_like`` factories
(``zeros_like(x)`` only reads ``x``'s shape).

Example::

    tracked(ep.graph, {x_node, weight_node})  # the nodes whose value depends on x or weight
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

aten = torch.ops.aten

#: Ops whose result depends on a tensor argument's shape or dtype only, never its values.
_SHAPE_ONLY = frozenset({
    aten.zeros_like.default, aten.ones_like.default, aten.full_like.default,
    aten.empty_like.default, aten.rand_like.default, aten.randn_like.default,
    aten.new_zeros.default, aten.new_ones.default, aten.new_full.default,
    aten.new_empty.default, aten.new_empty_strided.default, aten.empty_strided.default,
    aten.sym_size.int, aten.sym_numel.default, aten.sym_stride.int,
})


def _is_float(node: torch.fx.Node) -> bool:
    val = node.meta.get("val")
    values = val if isinstance(val, (tuple, list)) else [val]
    return any(isinstance(v, torch.Tensor) and v.is_floating_point() for v in values)


def _node_args(template: Any) -> Iterable[torch.fx.Node]:
    if isinstance(template, torch.fx.Node):
        yield template
    elif isinstance(template, (list, tuple)):
        for t in template:
            yield from _node_args(t)
    elif isinstance(template, dict):
        for t in template.values():
            yield from _node_args(t)


def tracked(graph: torch.fx.Graph, leaves: set[torch.fx.Node]) -> set[torch.fx.Node]:
    """The nodes of ``graph`` that carry gradient from the floating-point ``leaves``.

    A multi-output node (``native_layer_norm``) is tracked as a whole; ``getitem`` of it is
    tracked only when the picked value itself is floating point.
    """
    found = {n for n in leaves if _is_float(n)}
    for node in graph.nodes:
        if node.op != "call_function" or node.target in _SHAPE_ONLY or not _is_float(node):
            continue
        if any(a in found for a in _node_args((node.args, node.kwargs))):
            found.add(node)
    return found
