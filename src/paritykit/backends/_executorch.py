"""ExecuTorch: the shared ExportedProgram lowered to a ``.pte`` and run by ``executorch.runtime``.

``executorch-xnnpack`` and ``executorch-portable`` differ only in their partitioners: XNNPACK
takes the subgraphs it supports and the rest runs on the runtime's portable kernels; portable
delegates nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import io
import json
import operator
import pathlib
import re
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np

from paritykit.core.backend import Backend, Capabilities, Prepared
from paritykit.core.dtypes import to_numpy, to_torch
from paritykit.core.errors import LowerError
from paritykit.core.program import Program

PTE = "model.pte"
STATS = "stats.json"
#: Log lines that are not a reason: XNNPACK's CPU probing, argument dumps, and wrapper checks
#: ("Check failed (check_convolution_args(...)):") that only say a nested check failed.
_NOISE = re.compile(r"cpuinfo|midr|image_version|# of cpus|Resetting threadpool"
                    r"|^arg \d+ with type id|:$")
_LOG_PREFIX = re.compile(r"^\[[\w.]+:\d+\]\s*")


class ExecuTorchPrepared(Prepared):
    """A loaded ``forward`` method of a ``.pte``; ``stats`` come from lowering (kept on disk)."""

    def __init__(self, path: pathlib.Path, stats: dict[str, Any]) -> None:
        super().__init__()
        import torch
        from executorch.runtime import Runtime

        threads = _set_threads(torch.get_num_threads())
        with _runtime_errors():
            # The Program owns the buffers the Method runs in: keep both alive.
            self.program = Runtime.get().load_program(path)
            self.method = self.program.load_method("forward")
        self.artifact = path
        self.stats.update(stats)
        self.stats["threads"] = threads

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """Execute ``forward`` once; outputs come back flat, in the module's output order."""
        import torch

        with _runtime_errors():
            outputs = self.method.execute([to_torch(a) for a in inputs])
        return [to_numpy(o) if isinstance(o, torch.Tensor) else np.asarray(o) for o in outputs]


def _set_threads(count: int) -> int:
    """Size the runtime's threadpool (XNNPACK's workers) to the worker's thread budget."""
    from executorch.extension.pybindings import portable_lib

    if portable_lib._threadpool_get_thread_count() != count:
        # "unsafe" because running methods would lose their pool; none runs while we prepare.
        portable_lib._unsafe_reset_threadpool(count)
    return int(portable_lib._threadpool_get_thread_count())


@contextlib.contextmanager
def _runtime_errors() -> Iterator[None]:
    """Re-raise the runtime's ``RuntimeError`` with the reason from its log put first.

    The runtime raises ``RuntimeError: ... failed with error 0x10`` and logs the reason (the
    failed check, the missing operator) separately; its pybindings write that log to Python's
    ``sys.stderr``, so it is captured here and passed on to the real stderr afterwards.
    """
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stderr(buffer):
            yield
    except RuntimeError as exc:
        reasons = _reasons(buffer.getvalue())
        if not reasons:
            raise
        # Not chained: the harness reports the root of a chain, which is the bare error code.
        raise RuntimeError(f"{' | '.join(reasons[:2])} ({exc})") from None
    finally:
        sys.stderr.write(buffer.getvalue())


def _reasons(log: str) -> list[str]:
    """The distinct messages of a runtime log, without source locations or noise."""
    reasons: list[str] = []
    for line in log.splitlines():
        reason = _LOG_PREFIX.sub("", line).strip()
        if reason and not _NOISE.search(reason) and reason not in reasons:
            reasons.append(reason)
    return reasons


def _check_bounded(dims: list[_DynamicDim]) -> None:
    """Refuse dynamic dims without an upper bound: ExecuTorch plans memory for the bound.

    Without one the ``.pte`` silently gets buffers of the example's size and a larger input
    fails at run time ("Attempted to resize a bounded tensor").
    """
    from torch.utils._sympy.numbers import int_oo

    unbounded = [f"{d.name} axis {d.axis}" for d in dims if d.upper is int_oo]
    if unbounded:
        raise LowerError(
            f"unbounded dynamic dim ({', '.join(unbounded)}): ExecuTorch plans memory for each "
            "dim's upper bound; give torch.export.Dim a max="
        )


@dataclasses.dataclass(frozen=True)
class _DynamicDim:
    """A symbolic dim of a user input with its declared bounds (read before lowering)."""

    index: int
    name: str
    axis: int
    upper: Any  # an int, or int_oo when unbounded
    shape_env: Any
    #: Guards the ShapeEnv held before lowering (export's own), so later ones can be named.
    guards_before: int


def _dynamic_dims(ep: Any) -> list[_DynamicDim]:
    """Every symbolic dim of the user inputs, with its upper bound from ``range_constraints``.

    Read before lowering: guards added later replace a specialised symbol by its value.
    """
    import torch

    names = list(ep.graph_signature.user_inputs)
    dims: list[_DynamicDim] = []
    for node in ep.graph.nodes:
        val = node.meta.get("val")
        if node.op != "placeholder" or node.name not in names or not isinstance(val, torch.Tensor):
            continue
        for axis, size in enumerate(val.shape):
            if isinstance(size, torch.SymInt):
                bound = ep.range_constraints.get(size.node.expr)
                if bound is not None:
                    env = size.node.shape_env
                    dims.append(_DynamicDim(names.index(node.name), node.name, axis, bound.upper,
                                            env, len(getattr(env, "guards", []))))
    return dims


def _check_planned(dims: list[_DynamicDim], meta: Any) -> None:
    """Fail when the ``.pte`` holds less than a dynamic dim's declared upper bound.

    A guard added while lowering narrows (or specialises) the ShapeEnv's range, memory planning
    follows it, and the method then rejects the largest inputs ("Attempted to resize a bounded
    tensor").
    """
    narrowed = [d for d in dims if meta.input_tensor_meta(d.index).sizes()[d.axis] < d.upper]
    if not narrowed:
        return
    where = ", ".join(f"{d.name} axis {d.axis} to <= "
                      f"{meta.input_tensor_meta(d.index).sizes()[d.axis]} (Dim max {d.upper})"
                      for d in narrowed)
    first = narrowed[0]
    guards = [_guard_text(g)
              for g in getattr(first.shape_env, "guards", [])[first.guards_before:]]
    raise LowerError(
        f"lowering narrowed dynamic dim {where}, so the .pte rejects larger inputs"
        + (f"; guards added while lowering: {', '.join(guards[:3])}" if guards else "")
    )


def _guard_text(guard: Any) -> str:
    frame = getattr(getattr(guard, "sloc", None), "framework_loc", None)
    if frame is None:
        return str(guard.expr)
    return f"{guard.expr} ({pathlib.Path(frame.filename).name}:{frame.lineno} in {frame.name})"


def _flat_out_spec(edge: Any) -> None:
    """Make the edge program's output container a plain tuple when it cannot be serialized.

    The emitter writes the output container into the ``.pte`` and has no serialized name for
    ``torch.return_types`` (sort, topk, ...). paritykit compares flattened outputs anyway, so
    a tuple of the same leaves changes nothing the runtime computes.
    """
    import torch.utils._pytree as pytree

    ep = edge.exported_program()
    entry = ep.module_call_graph[0]
    spec = entry.signature.out_spec
    try:
        pytree.treespec_dumps(spec)
        return
    except NotImplementedError:
        pass
    flat = pytree.tree_structure(tuple(range(spec.num_leaves)))
    signature = dataclasses.replace(entry.signature, out_spec=flat)
    # A new entry list: the shared ExportedProgram's own signature is never touched.
    ep._module_call_graph = [dataclasses.replace(entry, signature=signature),
                             *ep.module_call_graph[1:]]


def delegation_stats(graph_module: Any) -> dict[str, Any]:
    """Delegated subgraphs and nodes, and the edge ops left to the runtime's kernels.

    Like ``executorch.devtools.backend_debug.get_delegation_info``, without counting the
    ``getitem`` nodes that unpack a delegate's outputs as non-delegated ops.
    """
    from executorch.exir.delegate import executorch_call_delegate
    from executorch.exir.lowered_backend_module import LoweredBackendModule

    subgraphs = delegated = 0
    rest: list[str] = []
    for node in graph_module.graph.nodes:
        if node.op == "get_attr":
            lowered = getattr(graph_module, str(node.target))
            if isinstance(lowered, LoweredBackendModule):
                subgraphs += 1
                delegated += sum(1 for n in lowered.original_module.graph.nodes
                                 if n.op == "call_function" and n.target is not operator.getitem)
        elif node.op == "call_function" and node.target not in (executorch_call_delegate,
                                                                 operator.getitem):
            rest.append(_op_name(node.target))
    return {"delegated_subgraphs": subgraphs, "delegated_nodes": delegated,
            "non_delegated_nodes": len(rest), "non_delegated_ops": sorted(set(rest))}


def _op_name(target: Any) -> str:
    # Edge ops print as "<EdgeOpOverload: aten.mm.default>: schema = ..."; keep "aten.mm.default".
    name = getattr(target, "__name__", None) or str(target)
    return str(name).removeprefix("<EdgeOpOverload: ").split(">")[0]


def _check_kernels(program: Any) -> None:
    """Fail when an instruction has no kernel in this runtime, naming the operator.

    Loading would fail too, but as ``error 0x14`` with the operator only in the native log.
    """
    from executorch.runtime import Runtime

    registered = Runtime.get().operator_registry.operator_names
    wanted = {f"{op.name}.{op.overload}" if op.overload else op.name
              for plan in program.execution_plan for op in plan.operators}
    missing = sorted(wanted - registered)
    if missing:
        raise LowerError(f"no ExecuTorch kernel for {', '.join(missing)} in this runtime "
                         f"({len(registered)} operators registered)")


class ExecuTorchBackendBase(Backend):
    """Shared by ``executorch-xnnpack`` and ``executorch-portable``: one route, two partitioners."""

    packages = ("torch", "executorch")
    cacheable = True
    option_keys = ()
    capabilities = Capabilities(
        dtypes=Capabilities.all_dtypes_except("complex64", "complex128"),
        why="ExecuTorch's edge dialect rejects complex tensors even for aten.add",
    )

    def is_available(self) -> str | None:
        """Needs the ``executorch`` package (its pybindings hold the runtime)."""
        if importlib.util.find_spec("executorch") is None:
            return "missing executorch; install with `pip install 'paritykit[executorch]'`"
        return None

    def partitioners(self) -> list[Any] | None:
        """The partitioners handed to ``to_edge_transform_and_lower`` (None: delegate nothing)."""
        return None

    def prepare(self, program: Program, workdir: pathlib.Path) -> Prepared:
        """Lower to the edge dialect (and the delegate), emit the ``.pte``, load it."""
        from executorch.exir import to_edge_transform_and_lower

        ep = program.exported()  # fresh for dynamic programs: lowering adds guards to it
        dims = _dynamic_dims(ep)
        _check_bounded(dims)
        edge = to_edge_transform_and_lower(ep, partitioner=self.partitioners())
        stats = delegation_stats(edge.exported_program().graph_module)
        _flat_out_spec(edge)
        et_program = edge.to_executorch()
        _check_kernels(et_program.executorch_program)
        path = workdir / PTE
        path.write_bytes(et_program.buffer)
        stats["pte_bytes"] = path.stat().st_size
        (workdir / STATS).write_text(json.dumps(stats))
        prepared = ExecuTorchPrepared(path, stats)
        _check_planned(dims, prepared.method.metadata)
        return prepared

    def load(self, program: Program, workdir: pathlib.Path) -> Prepared:
        """Reopen the cached ``.pte``; the lowering stats come from the json beside it."""
        stats = json.loads((workdir / STATS).read_text())
        return ExecuTorchPrepared(workdir / PTE, stats)
