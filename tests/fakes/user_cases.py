"""A user's plugin file, as the docs show one: one case of their own and one backend of their own.

``user_scaled_tanh`` is a small module with a learned parameter. ``user-numpy`` is a real
(if tiny) third-party backend: it lowers the ``torch.export`` graph to a list of NumPy calls
and computes every supported ATen op with NumPy; any other op is a lowering error. Use::

    parity run user_scaled_tanh abs -p tests/fakes/user_cases.py -b torch,user-numpy
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

import paritykit as pk


@pk.register_test
class UserScaledTanhTest(pk.OpTestCase):
    """``tanh(x * scale + y)`` with a learned per-feature ``scale``."""

    name = "user_scaled_tanh"
    markers = ("user",)

    def create_model(self) -> torch.nn.Module:
        class ScaledTanh(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.scale = torch.nn.Parameter(torch.randn(16))

            def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
                return torch.tanh(x * self.scale + y)

        return ScaledTanh()

    def create_inputs(self) -> tuple[torch.Tensor, ...]:
        return (pk.randn(4, 16), pk.randn(4, 16))


def _add(a: Any, b: Any, alpha: float = 1) -> Any:
    return np.add(a, b if alpha == 1 else np.multiply(b, alpha))


def _sub(a: Any, b: Any, alpha: float = 1) -> Any:
    return np.subtract(a, b if alpha == 1 else np.multiply(b, alpha))


#: The ATen ops this backend implements, by their ``torch.ops.aten`` overload name.
NUMPY_OPS: dict[str, Callable[..., Any]] = {
    "aten.abs.default": np.abs,
    "aten.neg.default": np.negative,
    "aten.exp.default": np.exp,
    "aten.tanh.default": np.tanh,
    "aten.relu.default": lambda a: np.maximum(a, a.dtype.type(0)),
    "aten.add.Tensor": _add,
    "aten.sub.Tensor": _sub,
    "aten.mul.Tensor": np.multiply,
    "aten.div.Tensor": np.true_divide,
}


class NumpyPrepared(pk.Prepared):
    """A straight-line NumPy program: one step per graph node."""

    def __init__(self, program: pk.Program, artifact: pathlib.Path) -> None:
        super().__init__()
        ep = program.exported()
        sig = ep.graph_signature
        kinds = torch.export.graph_signature.InputKind
        self.constants: dict[str, np.ndarray] = {}
        self.user_inputs: list[str] = []
        placeholders = [n for n in ep.graph.nodes if n.op == "placeholder"]
        for node, spec in zip(placeholders, sig.input_specs, strict=True):
            if spec.kind == kinds.USER_INPUT:
                self.user_inputs.append(node.name)
            elif spec.kind in (kinds.PARAMETER, kinds.BUFFER, kinds.CONSTANT_TENSOR):
                source = ep.state_dict if spec.target in ep.state_dict else ep.constants
                self.constants[node.name] = source[spec.target].detach().numpy().copy()
            else:
                raise pk.LowerError(f"user-numpy: unsupported graph input kind {spec.kind}")
        self.steps: list[tuple[str, Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = []
        self.outputs: list[str] = []
        for node in ep.graph.nodes:
            if node.op == "call_function":
                op = NUMPY_OPS.get(str(node.target))
                if op is None:
                    raise pk.LowerError(f"user-numpy: no NumPy kernel for {node.target}")
                self.steps.append((node.name, op, node.args, dict(node.kwargs)))
            elif node.op == "output":
                self.outputs = [n.name for n in node.args[0]]
        artifact.write_text("\n".join(f"{name} = {op.__name__}" for name, op, _, _ in self.steps))
        self.artifact = artifact
        self.stats["numpy_ops"] = len(self.steps)

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        env: dict[str, Any] = dict(self.constants)
        env.update(zip(self.user_inputs, inputs, strict=True))

        def value(arg: Any) -> Any:
            return env[arg.name] if isinstance(arg, torch.fx.Node) else arg

        for name, op, args, kwargs in self.steps:
            env[name] = op(*(value(a) for a in args), **{k: value(v) for k, v in kwargs.items()})
        return [np.asarray(env[name]) for name in self.outputs]


@pk.register_backend
class UserNumpyBackend(pk.Backend):
    """NumPy evaluation of the torch.export graph (a handful of elementwise ATen ops)."""

    name = "user-numpy"
    description = "torch.export graph evaluated op by op with NumPy (a user's backend)"
    packages = ("torch", "numpy")
    capabilities = pk.Capabilities(
        dtypes=frozenset({"float32", "float64"}), why="the example keeps to NumPy's float types"
    )

    def prepare(self, program: pk.Program, workdir: pathlib.Path) -> pk.Prepared:
        return NumpyPrepared(program, workdir / "numpy_program.txt")
