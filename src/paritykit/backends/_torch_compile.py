"""``torch.compile`` backends share everything but the compiler name."""

from __future__ import annotations

import pathlib
import time
from typing import ClassVar

import numpy as np

from paritykit.backends._torch_common import TorchPrepared, on_device
from paritykit.core.backend import Backend, Capabilities, Prepared
from paritykit.core.dtypes import to_numpy
from paritykit.core.program import Program


class TorchCompileBackend(Backend):
    """Compile the eager module with ``torch.compile(backend=compiler)``.

    Compilation is lazy in torch, so ``prepare`` calls the compiled module once on the example
    inputs: compile time lands in ``prepare_s``, not in ``run_s``. Cases with dynamic shapes are
    compiled with ``dynamic=True``, the others with ``dynamic=False`` (no silent recompiles).
    Inductor's own on-disk caches live under paritykit's cache directory (set by the runner).
    """

    option_keys = ("device",)

    compiler: ClassVar[str] = ""
    capabilities = Capabilities(devices=("cpu", "cuda"))

    supports_grad = True

    def gradients(self, program: Program, run_seed: int) -> list[tuple[str, np.ndarray]]:
        """Compile again with autograd on: AOTAutograd traces (and Inductor compiles) the
        backward graph, which is what ``--grad`` checks. CPU only."""
        import torch

        from paritykit.core.gradients import torch_gradients

        torch._dynamo.reset()
        compiled = torch.compile(program.module, backend=self.compiler,
                                 dynamic=program.dynamic_shapes is not None)
        return torch_gradients(compiled, program.module, program.example_inputs, run_seed,
                               program.name)

    def prepare(self, program: Program, workdir: pathlib.Path) -> Prepared:
        """Compile and warm up on the example inputs."""
        import torch

        # reset() also matters for correctness: generated cases share forward code objects, and
        # past the recompile limit Dynamo would silently run eager instead of compiling.
        torch._dynamo.reset()
        counters = torch._dynamo.utils.counters
        counters.clear()
        dynamic = program.dynamic_shapes is not None
        device = self.pick_device(program)
        compiled = torch.compile(on_device(program.module, device), backend=self.compiler,
                                 dynamic=dynamic, fullgraph=False)
        prepared = TorchPrepared(compiled, device)
        start = time.perf_counter()
        prepared.run([to_numpy(t) for t in program.example_inputs])
        prepared.stats["compile_s"] = round(time.perf_counter() - start, 4)
        prepared.stats["dynamic"] = dynamic
        # A graph count of 0 would mean nothing was compiled; breaks mean partial eager fallback.
        prepared.stats["graphs"] = int(counters["stats"]["unique_graphs"])
        prepared.stats["graph_breaks"] = int(sum(counters["graph_break"].values()))
        return prepared
