"""Capturing every module call of an eager forward: its inputs and outputs, in execution order.

Forward hooks (with kwargs) record each call of the selected modules: leaf modules by default,
or the modules ``depth`` levels down (plus shallower leaves) for a coarser trace. Each call can
then be replayed alone: :class:`Replay` wraps the module so its tensor arguments are the
program's inputs and everything else is baked in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass
class Call:
    """One call of one module during the reference forward."""

    name: str
    type: str
    index: int  # 1 for the first call of this module, 2 for the second, ...
    module: torch.nn.Module
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    outputs: list[torch.Tensor] = field(default_factory=list)

    @property
    def label(self) -> str:
        """``layer1.0.relu`` for a first call, ``layer1.0.relu#2`` for a second one."""
        return self.name if self.index == 1 else f"{self.name}#{self.index}"

    @property
    def tensor_args(self) -> tuple[torch.Tensor, ...]:
        """The tensor arguments (positional, then keyword), which become program inputs."""
        return tuple(a for a in (*self.args, *self.kwargs.values())
                     if isinstance(a, torch.Tensor))


def selected_modules(root: torch.nn.Module, depth: int | None,
                     every: bool = False) -> list[tuple[str, torch.nn.Module]]:
    """Leaf modules (``depth`` None), or modules ``depth`` levels down plus shallower leaves;
    with ``every``, all modules but the root (parents finish after their children, so the first
    diverging one in execution order is still the innermost; parents also cover the functional
    code between their children, such as attention's softmax).

    >>> seq = torch.nn.Sequential(torch.nn.Sequential(torch.nn.Linear(2, 2)), torch.nn.ReLU())
    >>> [n for n, _ in selected_modules(seq, None)], [n for n, _ in selected_modules(seq, 1)]
    (['0.0', '1'], ['0', '1'])
    """
    out = []
    for name, module in root.named_modules():
        if not name:
            continue
        level = name.count(".") + 1
        leaf = next(module.children(), None) is None
        if every or (depth is None and leaf) or (depth is not None and (
                level == depth or (leaf and level < depth))):
            out.append((name, module))
    return out


def _tensors(value: Any) -> list[torch.Tensor]:
    # Only tensors are outputs worth comparing (a module may also return None or ints).
    return [x for x in torch.utils._pytree.tree_leaves(value) if isinstance(x, torch.Tensor)]


def _detach(value: Any) -> Any:
    return torch.utils._pytree.tree_map(
        lambda x: x.detach().clone() if isinstance(x, torch.Tensor) else x, value)


def capture_calls(root: torch.nn.Module, inputs: tuple[torch.Tensor, ...],
                  depth: int | None = None, every: bool = False) -> list[Call]:
    """Run ``root`` eagerly once and return every call of the selected modules, in the order
    they finished (for non-nested modules, the execution order)."""
    calls: list[Call] = []
    counts: dict[str, int] = {}
    handles = []

    def hook_for(name: str) -> Any:
        def hook(module: torch.nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any],
                 output: Any) -> None:
            counts[name] = counts.get(name, 0) + 1
            calls.append(Call(name, type(module).__name__, counts[name], module,
                              _detach(args), _detach(kwargs),
                              [t.detach().clone() for t in _tensors(output)]))
        return hook

    for name, module in selected_modules(root, depth, every):
        handles.append(module.register_forward_hook(hook_for(name), with_kwargs=True))
    try:
        with torch.no_grad():
            root(*(t.clone() for t in inputs))
    finally:
        for handle in handles:
            handle.remove()
    return calls


class Replay(torch.nn.Module):
    """A module called as it was during capture, with its tensor arguments as the inputs.

    Non-tensor arguments (ints, None, flags) are constants of the call, so ``forward`` takes
    exactly :attr:`Call.tensor_args`.
    """

    def __init__(self, call: Call) -> None:
        super().__init__()
        self.inner = call.module
        self._args = call.args
        self._kwargs = call.kwargs

    def forward(self, *tensors: torch.Tensor) -> Any:
        it = iter(tensors)
        args = [next(it) if isinstance(a, torch.Tensor) else a for a in self._args]
        kwargs = {k: next(it) if isinstance(v, torch.Tensor) else v
                  for k, v in self._kwargs.items()}
        out = self.inner(*args, **kwargs)
        # Non-tensor outputs (None, ints) are not compared, so the program does not return them.
        return out if isinstance(out, torch.Tensor) else tuple(_tensors(out))
