"""``onnxruntime``: ``torch.onnx.export(dynamo=True)`` of the shared export, run by ONNX Runtime."""

from __future__ import annotations

import importlib.util
import json
import pathlib
from collections.abc import Sequence
from typing import Any

import ml_dtypes
import numpy as np

from paritykit.core.backend import Backend, Prepared, check_option_keys
from paritykit.core.program import Program
from paritykit.core.registry import register_backend

BF16 = np.dtype(ml_dtypes.bfloat16)
MODEL = "model.onnx"
SIGNATURE = "inputs.json"
#: ``--backend-option onnxruntime.graph_optimization=LEVEL``: ORT's GraphOptimizationLevel.
OPTIMIZATION_LEVELS = {"disable": "ORT_DISABLE_ALL", "basic": "ORT_ENABLE_BASIC",
                       "extended": "ORT_ENABLE_EXTENDED", "all": "ORT_ENABLE_ALL"}


def optimization_level(options: dict[str, str]) -> str:
    """The ``graph_optimization`` option (default ``all``, ORT's own default), validated.

    >>> optimization_level({"graph_optimization": "disable"})
    'ORT_DISABLE_ALL'
    """
    check_option_keys("onnxruntime", options, ("graph_optimization",))
    level = options.get("graph_optimization", "all")
    if level not in OPTIMIZATION_LEVELS:
        raise ValueError(f"onnxruntime.graph_optimization={level!r} is not one of "
                         f"{', '.join(OPTIMIZATION_LEVELS)}")
    return OPTIMIZATION_LEVELS[level]


class OnnxRuntimePrepared(Prepared):
    """An ``InferenceSession`` on the CPU execution provider."""

    def __init__(self, path: pathlib.Path, input_names: list[str],
                 level: str = "ORT_ENABLE_ALL") -> None:
        super().__init__()
        import onnxruntime as ort
        import torch

        options = ort.SessionOptions()
        # Match the worker's thread budget instead of ORT's default of every core.
        options.intra_op_num_threads = torch.get_num_threads()
        options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_names = input_names
        #: The session input each program input feeds, in the program's order (None: no such
        #: input in the graph).
        self.feed_names = feed_plan(graph_inputs(self.session), input_names)
        self.artifact = path
        self.stats["model_bytes"] = path.stat().st_size

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """Feed each input to its graph input (see :func:`feed_plan`); return every output."""
        feed = {name: value for name, value in zip(self.feed_names, inputs, strict=True)
                if name is not None}
        if not any(a.dtype == BF16 for a in feed.values()) and not self._bf16_outputs:
            return [np.asarray(o) for o in self.session.run(None, feed)]
        return self._run_bound(feed)

    @property
    def _bf16_outputs(self) -> bool:
        return any(o.type == "tensor(bfloat16)" for o in self.session.get_outputs())

    def _run_bound(self, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        # ORT's NumPy API has no bfloat16: bf16 goes in and out as uint16 bits in OrtValues.

        def bind() -> Any:
            binding = self.session.io_binding()
            for name, value in feed.items():
                binding.bind_ortvalue_input(name, _ortvalue(value))
            return binding

        binding = bind()
        for out in self.session.get_outputs():
            binding.bind_output(out.name, "cpu")
        self.session.run_with_iobinding(binding)
        values = binding.get_outputs()
        if not self._bf16_outputs:
            return [v.numpy() for v in values]
        # Output shapes are known only after a run; run again into bf16 buffers of that shape.
        binding = bind()
        buffers: list[np.ndarray | None] = []
        for out, value in zip(self.session.get_outputs(), values, strict=True):
            if out.type == "tensor(bfloat16)":
                buffer = np.empty(value.shape(), dtype=np.uint16)
                binding.bind_ortvalue_output(out.name, _ortvalue(buffer.view(BF16)))
                buffers.append(buffer)
            else:
                binding.bind_output(out.name, "cpu")
                buffers.append(None)
        self.session.run_with_iobinding(binding)
        return [v.numpy() if b is None else b.view(BF16)
                for v, b in zip(binding.get_outputs(), buffers, strict=True)]


def graph_inputs(session: Any) -> list[str]:
    """The inputs a run must feed, in the graph's order: ``session.get_inputs()`` less any
    initializer that is also listed as a graph input (those keep their stored value)."""
    initializers = {i.name for i in session.get_overridable_initializers()}
    return [i.name for i in session.get_inputs() if i.name not in initializers]


def feed_plan(graph: list[str], program: list[str]) -> list[str | None]:
    """Which graph input each program input feeds, in the program's input order.

    The dynamo exporter lists every user input, in the program's order, but does not keep
    their names: an input returned unchanged as an output (``x.t()`` of a 1-d ``x``,
    ``mean(x, [], keepdim=True)`` of a 0-d ``x``, ``lambda x: x``) ends up named after that
    output plus ``_orig`` (``t_orig``, ``mean_orig``). So when the counts agree the inputs pair
    up by position. A graph with fewer inputs (one that drops unused inputs) pairs up by name,
    and a graph input that no program input names is an error rather than a missing feed.

    >>> feed_plan(["a", "t_orig"], ["a", "b"])
    ['a', 't_orig']
    >>> feed_plan(["b"], ["a", "b"])
    [None, 'b']
    >>> feed_plan([], [])
    []
    """
    if len(graph) == len(program):
        return list(graph)
    plan = [name if name in graph else None for name in program]
    unfed = [name for name in graph if name not in plan]
    if unfed:
        raise ValueError(f"cannot match the ONNX graph's inputs {graph} to the program's "
                         f"inputs {program}: no program input feeds {unfed}")
    return plan


def _ortvalue(array: np.ndarray) -> Any:
    import onnx
    import onnxruntime as ort

    if array.dtype == BF16:
        return ort.OrtValue.ortvalue_from_numpy_with_onnx_type(
            np.require(array, requirements="C").view(np.uint16), onnx.TensorProto.BFLOAT16)
    return ort.OrtValue.ortvalue_from_numpy(np.require(array, requirements="C"))


class UnsafeArtifactError(ValueError):
    """An ``.onnx`` whose external data lies outside its own folder: it is never opened."""


def check_external_data(path: pathlib.Path, root: pathlib.Path) -> None:
    """Refuse ``path`` if a tensor's external data (initializers, attributes, subgraphs,
    functions) is not a relative file inside ``root``.

    ONNX Runtime 1.31 refuses ``..`` and absolute locations itself; this does not depend on
    the runtime's version, and the files it may read are then the ones the cache's digests
    cover.
    """
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    base = root.resolve()
    for tensor in _tensors(model):
        if tensor.data_location != onnx.TensorProto.EXTERNAL:
            continue
        location = next((e.value for e in tensor.external_data if e.key == "location"), "")
        target = (root / location).resolve()
        if pathlib.PurePath(location).is_absolute() or not target.is_relative_to(base):
            raise UnsafeArtifactError(f"{path.name}: external data {location!r} of "
                                      f"{tensor.name!r} lies outside {root}")


def _tensors(model: Any) -> list[Any]:
    """Every TensorProto of ``model``, subgraphs and functions included."""
    graphs = [model.graph, *(f for f in model.functions)]
    tensors: list[Any] = []
    while graphs:
        graph = graphs.pop()
        tensors += getattr(graph, "initializer", [])
        tensors += [s.values for s in getattr(graph, "sparse_initializer", [])]
        for node in graph.node:
            for attribute in node.attribute:
                tensors += [attribute.t, *attribute.tensors]
                graphs += [attribute.g, *attribute.graphs]
    return tensors


@register_backend
class OnnxRuntimeBackend(Backend):
    """ONNX Runtime (CPU execution provider) on the dynamo ONNX export."""

    name = "onnxruntime"
    option_keys = ("graph_optimization",)
    description = "torch.onnx.export(dynamo=True) -> onnxruntime CPUExecutionProvider (.onnx)"
    packages = ("torch", "onnx", "onnxscript", "onnxruntime")
    cacheable = True
    baseline = ("onnxruntime", {"graph_optimization": "disable"})
    module_kinds = frozenset({"onnx"})

    def is_available(self) -> str | None:
        """Needs onnx, onnxscript (the exporter) and onnxruntime."""
        missing = [m for m in ("onnx", "onnxscript", "onnxruntime")
                   if importlib.util.find_spec(m) is None]
        if missing:
            return (f"missing {', '.join(missing)}; install with "
                    "`pip install 'paritykit[onnxruntime]'`")
        return None

    def prepare(self, program: Program, workdir: pathlib.Path) -> Prepared:
        """Convert the shared ``ExportedProgram`` to ONNX, save it, open a session."""
        import torch

        level = optimization_level(program.options)
        ep = program.exported()
        onnx_program = torch.onnx.export(ep, dynamo=True, verbose=False)
        if onnx_program is None:  # only when exporting to a file, which we do not
            raise RuntimeError("torch.onnx.export returned no program")
        path = workdir / MODEL
        onnx_program.save(str(path))
        names = [spec.arg.name for spec in ep.graph_signature.input_specs
                 if spec.kind == torch.export.graph_signature.InputKind.USER_INPUT]
        stats = {"onnx_nodes": len(onnx_program.model.graph)}
        (workdir / SIGNATURE).write_text(json.dumps({"inputs": names, "stats": stats}))
        prepared = OnnxRuntimePrepared(path, names, level)
        prepared.stats.update(stats)
        return prepared

    def prepare_module(self, kind: str, path: pathlib.Path, workdir: pathlib.Path,
                       flags: Sequence[str] = (), options: dict[str, str] | None = None
                       ) -> Prepared:
        """Open a session on an ``.onnx`` file (inputs in the graph's order); ``options``:
        ``graph_optimization``; compiler ``flags`` have no meaning here."""
        import onnx

        level = optimization_level(dict(options or {}))
        graph = onnx.load(str(path), load_external_data=False).graph
        initializers = {i.name for i in graph.initializer}
        names = [i.name for i in graph.input if i.name not in initializers]
        return OnnxRuntimePrepared(path, names, level)

    def load(self, program: Program, workdir: pathlib.Path) -> Prepared:
        """Open a session on the cached ``.onnx`` (its external data only from ``workdir``)."""
        check_external_data(workdir / MODEL, workdir)
        signature = json.loads((workdir / SIGNATURE).read_text())
        prepared = OnnxRuntimePrepared(workdir / MODEL, signature["inputs"],
                                       optimization_level(program.options))
        prepared.stats.update(signature["stats"])
        return prepared
