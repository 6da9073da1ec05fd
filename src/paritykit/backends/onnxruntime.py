"""``onnxruntime``: ``torch.onnx.export(dynamo=True)`` of the shared export, run by ONNX Runtime."""

from __future__ import annotations

import importlib.util
import json
import pathlib
from typing import Any

import numpy as np

from paritykit.backend import Backend, Capabilities, Prepared
from paritykit.program import Program
from paritykit.registry import register_backend

MODEL = "model.onnx"
SIGNATURE = "inputs.json"


class OnnxRuntimePrepared(Prepared):
    """An ``InferenceSession`` on the CPU execution provider."""

    def __init__(self, path: pathlib.Path, input_names: list[str]) -> None:
        super().__init__()
        import onnxruntime as ort
        import torch

        options = ort.SessionOptions()
        # Match the worker's thread budget instead of ORT's default of every core.
        options.intra_op_num_threads = torch.get_num_threads()
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_names = input_names
        self.artifact = path
        self.stats["model_bytes"] = path.stat().st_size

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """Feed inputs by name (the exporter drops unused inputs) and return every output."""
        wanted = {i.name for i in self.session.get_inputs()}
        feed: dict[str, Any] = {
            name: value for name, value in zip(self.input_names, inputs, strict=True)
            if name in wanted
        }
        return [np.asarray(o) for o in self.session.run(None, feed)]


@register_backend
class OnnxRuntimeBackend(Backend):
    """ONNX Runtime (CPU execution provider) on the dynamo ONNX export."""

    name = "onnxruntime"
    description = "torch.onnx.export(dynamo=True) -> onnxruntime CPUExecutionProvider (.onnx)"
    packages = ("torch", "onnx", "onnxscript", "onnxruntime")
    cacheable = True
    capabilities = Capabilities(
        dtypes=Capabilities.all_dtypes_except("bfloat16"),
        why="the CPU execution provider has no bfloat16 kernels for most ops, e.g. Exp and Add: "
        "NOT_IMPLEMENTED at session creation",
    )

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
        prepared = OnnxRuntimePrepared(path, names)
        prepared.stats.update(stats)
        return prepared

    def load(self, program: Program, workdir: pathlib.Path) -> Prepared:
        """Open a session on the cached ``.onnx``."""
        signature = json.loads((workdir / SIGNATURE).read_text())
        prepared = OnnxRuntimePrepared(workdir / MODEL, signature["inputs"])
        prepared.stats.update(signature["stats"])
        return prepared
