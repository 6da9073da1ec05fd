"""Walking a core-ATen ``ExportedProgram`` into one Python closure over ``mlx.core`` calls.

Every node becomes a *step*: a lowering function plus argument resolvers that read earlier
results out of a flat environment list. Sizes stay symbolic: ``sym_size`` nodes and the integer
arithmetic on them are steps too, evaluated on the shapes of the arrays of each run, so one
lowered program serves every input size a dynamic-shape export allows.
"""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import mlx.core as mx
import numpy as np
import torch
from torch.export.graph_signature import InputKind, OutputKind

from paritykit.backends._mlx import convert, dataflow
from paritykit.backends._mlx.core import LOWERINGS, Lowering, LoweringError, mx_dtype

Env = list[Any]
Resolver = Callable[[Env], Any]


def _sym_size(x: mx.array, d: int) -> int:
    return int(x.shape[d])


def _nothing(*args: Any, **kwargs: Any) -> None:
    return None


#: Python-level ops on sizes and tuples that appear next to ATen ops in exported graphs.
SYMBOLIC: dict[Any, Callable[..., Any]] = {
    operator.getitem: operator.getitem,
    operator.add: operator.add,
    operator.sub: operator.sub,
    operator.mul: operator.mul,
    operator.floordiv: operator.floordiv,
    operator.truediv: operator.truediv,
    operator.mod: operator.mod,
    operator.neg: operator.neg,
    operator.pow: operator.pow,
    operator.eq: operator.eq,
    operator.ne: operator.ne,
    operator.lt: operator.lt,
    operator.le: operator.le,
    operator.gt: operator.gt,
    operator.ge: operator.ge,
    torch.sym_max: max,
    torch.sym_min: min,
    torch.sym_float: float,
    torch.sym_int: int,
    torch.ops.aten.sym_size.int: _sym_size,
    torch.ops.aten._assert_scalar.default: _nothing,
    torch.ops.aten.sym_constrain_range_for_size.default: _nothing,
    torch.ops.aten._assert_tensor_metadata.default: _nothing,
    torch.ops.aten._assert_async.msg: _nothing,
}


def op_name(target: Any) -> str:
    """``aten.add.Tensor`` for ATen overloads, the qualified name for Python callables."""
    if isinstance(target, torch._ops.OpOverload):
        return str(target)
    return f"{getattr(target, '__module__', '') or ''}.{getattr(target, '__name__', target)}"


@dataclass(frozen=True)
class Step:
    """One node: ``env[slot] = fn(*args(env), **kwargs(env))``, cast to torch's dtypes."""

    slot: int
    name: str
    target: str
    fn: Callable[..., Any]
    args: Resolver
    kwargs: Resolver
    dtypes: tuple[Any, ...] | None

    def __call__(self, env: Env) -> None:
        value = self.fn(*self.args(env), **self.kwargs(env))
        if self.dtypes is not None:
            value = _cast(value, self.dtypes)
        env[self.slot] = value


def _cast(value: Any, dtypes: tuple[Any, ...]) -> Any:
    # MLX promotes some mixes (bool + int scalar, int32 vs int64 0-d tensors) unlike torch;
    # the exported graph knows torch's result dtype, so every result is brought to it.
    if isinstance(value, mx.array):
        want = dtypes[0]
        value = value if want is None or value.dtype == want else value.astype(want)
        # Integers carry no gradient (as in torch); MLX would try to differentiate a gather
        # w.r.t. an index computed from a float input and fail ("VJP with respect to indices").
        return value if mx.issubdtype(value.dtype, mx.floating) else mx.stop_gradient(value)
    if isinstance(value, (tuple, list)) and len(value) == len(dtypes):
        return type(value)(_cast(v, (d,)) for v, d in zip(value, dtypes, strict=True))
    return value


def _resolver(template: Any, slots: dict[torch.fx.Node, int]) -> Resolver:
    """A function reading ``template`` (nodes replaced by their values) out of the env."""
    if isinstance(template, torch.fx.Node):
        slot = slots[template]
        return lambda env: env[slot]
    if isinstance(template, (list, tuple)):
        parts = [_resolver(t, slots) for t in template]
        if not any(_has_node(t) for t in template):
            constant = list(template) if isinstance(template, list) else tuple(template)
            return lambda env: constant
        kind = list if isinstance(template, list) else tuple
        return lambda env: kind(p(env) for p in parts)
    if isinstance(template, dict):
        items = {k: _resolver(v, slots) for k, v in template.items()}
        return lambda env: {k: r(env) for k, r in items.items()}
    return lambda env: template


def _has_node(template: Any) -> bool:
    if isinstance(template, torch.fx.Node):
        return True
    if isinstance(template, (list, tuple)):
        return any(_has_node(t) for t in template)
    if isinstance(template, dict):
        return any(_has_node(t) for t in template.values())
    return False


def _result_dtypes(node: torch.fx.Node) -> tuple[Any, ...] | None:
    """MLX dtypes of the node's tensor result(s) per torch's fake values (None: leave as is)."""
    val = node.meta.get("val")
    if isinstance(val, torch.Tensor):
        return (_mx_or_none(val.dtype),)
    if isinstance(val, (tuple, list)) and any(isinstance(v, torch.Tensor) for v in val):
        return tuple(_mx_or_none(v.dtype) if isinstance(v, torch.Tensor) else None for v in val)
    return None


def _mx_or_none(dtype: torch.dtype) -> Any:
    try:
        return mx_dtype(dtype)
    except LoweringError:
        return None


def missing_ops(graph: torch.fx.Graph) -> list[str]:
    """Names of the ops in ``graph`` that have no lowering, in first-seen order."""
    seen: dict[str, None] = {}
    for node in graph.nodes:
        if node.op == "call_function" and node.target not in LOWERINGS \
                and node.target not in SYMBOLIC:
            seen[op_name(node.target)] = None
    return list(seen)


@dataclass
class LoweredGraph:
    """The closure over the graph: ``run(*arrays) -> list[mx.array]``.

    ``ops`` counts every call_function target (ATen ops and the size arithmetic);
    ``lowered`` counts the nodes that went through the ATen → MLX table. ``parameters`` maps
    each parameter's name (``op.weight``) to its slot, so :meth:`run_with` can take it as an
    argument (what ``--grad`` differentiates); ``grad_outputs`` says which outputs torch's
    autograd would track (see :func:`paritykit.backends._mlx.dataflow.tracked`).
    """

    size: int
    constants: list[tuple[int, mx.array]]
    inputs: list[int]
    steps: list[Step]
    outputs: list[Resolver]
    listing: str
    ops: Counter[str]
    nodes: int
    lowered: int
    parameters: dict[str, int] = field(default_factory=dict)
    grad_outputs: list[bool] = field(default_factory=list)

    def run(self, *inputs: mx.array) -> list[mx.array]:
        """Evaluate the steps lazily (MLX builds a graph; ``mx.eval`` forces it)."""
        return self.run_with(inputs, {})

    def run_with(self, inputs: Sequence[mx.array], state: dict[int, mx.array]) -> list[mx.array]:
        """:meth:`run` with some constants (by slot, e.g. parameters) replaced by ``state``."""
        env = self.environment(inputs, state)
        return [_as_array(out(env)) for out in self.outputs]

    def environment(self, inputs: Sequence[mx.array], state: dict[int, mx.array]) -> Env:
        """Every node's value after one (lazy) pass: what the outputs read from."""
        env: Env = [None] * self.size
        for slot, value in self.constants:
            env[slot] = state.get(slot, value)
        for slot, value in zip(self.inputs, inputs, strict=True):
            env[slot] = value
        for step in self.steps:
            step(env)
        return env

    def constant(self, slot: int) -> mx.array:
        """The value a constant slot (parameter, buffer) holds."""
        return next(value for s, value in self.constants if s == slot)


def _as_array(value: Any) -> mx.array:
    # An output that is a size (a SymInt in torch) comes back as a 0-d int64 array.
    return value if isinstance(value, mx.array) else mx.array(value, dtype=mx.int64)


def lower(ep: torch.export.ExportedProgram, float64: bool = True) -> LoweredGraph:
    """Decompose ``ep`` to core ATen and build its MLX closure; unknown ops raise at once.

    ``float64=False`` (MLX on a GPU, which has no float64 kernels) refuses float64 values.
    """
    ep = ep.run_decompositions()
    graph = ep.graph
    missing = missing_ops(graph)
    if missing:
        raise LoweringError(f"no MLX lowering for {', '.join(missing)}")
    if not float64:
        _refuse_float64(graph)
    slots: dict[torch.fx.Node, int] = {}
    constants: list[tuple[int, mx.array]] = []
    inputs: list[int] = []
    steps: list[Step] = []
    outputs: list[Resolver] = []
    lines: list[str] = []
    ops: Counter[str] = Counter()
    parameters: dict[str, int] = {}
    leaves: set[torch.fx.Node] = set()
    grad_outputs: list[bool] = []
    specs = iter(ep.graph_signature.input_specs)
    for node in graph.nodes:
        slots[node] = len(slots)
        if node.op == "placeholder":
            spec = next(specs)
            if spec.kind == InputKind.USER_INPUT:
                inputs.append(slots[node])
                leaves.add(node)
                lines.append(f"%{node.name} = input {len(inputs) - 1}")
            else:
                if spec.kind == InputKind.PARAMETER and spec.target is not None:
                    parameters[spec.target] = slots[node]
                    leaves.add(node)
                constants.append((slots[node], _state_array(ep, spec.kind, spec.target)))
                lines.append(f"%{node.name} = {spec.kind.name.lower()} {spec.target}")
        elif node.op == "call_function":
            steps.append(_step(node, slots))
            ops[op_name(node.target)] += 1
            lines.append(f"%{node.name} = {op_name(node.target)}{_show(node)}"
                         f"  # {_lowering_name(node.target)}")
        elif node.op == "output":
            kinds = [s.kind for s in ep.graph_signature.output_specs]
            tracked = dataflow.tracked(graph, leaves)
            for kind, value in zip(kinds, node.args[0], strict=True):
                if kind == OutputKind.USER_OUTPUT:
                    outputs.append(_resolver(value, slots))
                    grad_outputs.append(isinstance(value, torch.fx.Node) and value in tracked)
            lines.append(f"return {_show(node)}")
        else:
            raise LoweringError(f"unexpected graph node {node.op} {node.target}")
    lowered = sum(1 for n in graph.nodes if n.op == "call_function" and n.target in LOWERINGS)
    return LoweredGraph(len(slots), constants, inputs, steps, outputs, "\n".join(lines) + "\n",
                        ops, len(graph.nodes), lowered, parameters, grad_outputs)


def _refuse_float64(graph: torch.fx.Graph) -> None:
    for node in graph.nodes:
        val = node.meta.get("val")
        values = val if isinstance(val, (tuple, list)) else [val]
        if any(isinstance(v, torch.Tensor) and v.dtype == torch.float64 for v in values):
            raise LoweringError(f"{node.name} is float64, which MLX computes on the CPU only "
                                "(use --backend-option mlx.device=cpu)")


def _step(node: torch.fx.Node, slots: dict[torch.fx.Node, int]) -> Step:
    entry: Lowering | None = LOWERINGS.get(node.target)
    if entry is None:
        fn = SYMBOLIC[node.target]
        return Step(slots[node], node.name, op_name(node.target), fn,
                    _resolver(node.args, slots), _resolver(node.kwargs, slots), None)
    dtypes = _result_dtypes(node)
    fn = entry.fn
    if entry.wants_meta:
        fn = _with_meta(entry.fn, dtypes)
    return Step(slots[node], node.name, op_name(node.target), _named(fn, node),
                _resolver(node.args, slots), _resolver(node.kwargs, slots), dtypes)


def _with_meta(fn: Callable[..., Any], dtypes: tuple[Any, ...] | None) -> Callable[..., Any]:
    dtype = dtypes[0] if dtypes else None
    return lambda *args, **kwargs: fn(dtype, *args, **kwargs)


def _named(fn: Callable[..., Any], node: torch.fx.Node) -> Callable[..., Any]:
    # A run error leads with the op it came from ("aten.mm.default (mm): [matmul] ...").
    # The message is rewritten in place: a wrapping exception would be unwrapped again by
    # the harness, which reports an error's root cause.
    prefix = f"{op_name(node.target)} ({node.name}): "

    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except LoweringError:
            raise
        except Exception as exc:
            if exc.args and isinstance(exc.args[0], str):
                exc.args = (prefix + exc.args[0], *exc.args[1:])
            else:
                exc.add_note(prefix.rstrip(": "))
            raise

    return call


def _lowering_name(target: Any) -> str:
    entry = LOWERINGS.get(target)
    fn = entry.fn if entry is not None else SYMBOLIC.get(target)
    return f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', fn)}"


def _show(node: torch.fx.Node) -> str:
    args = ", ".join([*(_fmt(a) for a in node.args),
                      *(f"{k}={_fmt(v)}" for k, v in node.kwargs.items())])
    return f"({args})"


def _fmt(value: Any) -> str:
    if isinstance(value, torch.fx.Node):
        return f"%{value.name}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return repr(value)


def _state_array(ep: torch.export.ExportedProgram, kind: InputKind, target: str | None) -> mx.array:
    if target is None:
        raise LoweringError(f"{kind.name} input without a target")
    if target in ep.state_dict:
        tensor = ep.state_dict[target]
    elif target in ep.constants:
        tensor = ep.constants[target]
    else:
        raise LoweringError(f"{kind.name} {target!r} is neither in state_dict nor constants")
    if not isinstance(tensor, torch.Tensor):
        raise LoweringError(f"{kind.name} {target!r} is a {type(tensor).__name__}, not a tensor")
    return convert.from_torch(tensor)


def run_arrays(fn: Callable[..., list[mx.array]], inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """NumPy in, NumPy out through ``fn`` (``LoweredGraph.run`` or its ``mx.compile``)."""
    outs = fn(*(convert.from_numpy(a) for a in inputs))
    mx.eval(outs)
    return [convert.to_numpy(o) for o in outs]
