"""A complete third-party backend: run the exported graph node by node with ``torch.fx``.

Use it without installing anything::

    parity run -p examples/fx_interpreter_backend.py -b fx-interpreter -k "relu or linear"

or ship it in your own package and declare the entry point (see docs/writing-backends.md).
"""

from __future__ import annotations

import pathlib

import numpy as np
import torch

import paritykit as pk


class FxInterpreterPrepared(pk.Prepared):
    """The graph module of the export, interpreted op by op (no codegen, no fusion)."""

    def __init__(self, graph_module: torch.fx.GraphModule, artifact: pathlib.Path) -> None:
        super().__init__()
        self.graph_module = graph_module
        self.artifact = artifact
        self.stats["nodes"] = len(graph_module.graph.nodes)

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        tensors = [torch.from_numpy(np.require(a, requirements="C")) for a in inputs]
        with torch.no_grad():
            out = torch.fx.Interpreter(self.graph_module).run(*tensors)
        leaves = torch.utils._pytree.tree_leaves(out)
        return [t.detach().numpy().copy() for t in leaves]


@pk.register_backend
class FxInterpreterBackend(pk.Backend):
    """torch.fx.Interpreter over ``torch.export``'s graph."""

    name = "fx-interpreter"
    description = "torch.export graph run node by node by torch.fx.Interpreter"
    # bf16 has no NumPy dtype of its own: keep the example simple and say so.
    capabilities = pk.Capabilities(
        dtypes=pk.Capabilities.all_dtypes_except("bfloat16"),
        why="this example converts with Tensor.numpy(), which has no bfloat16",
    )

    def is_available(self) -> str | None:
        return None  # torch is always there

    def prepare(self, program: pk.Program, workdir: pathlib.Path) -> pk.Prepared:
        exported = program.exported()
        artifact = workdir / "graph.txt"
        artifact.write_text(str(exported.graph))
        return FxInterpreterPrepared(exported.module(), artifact)
