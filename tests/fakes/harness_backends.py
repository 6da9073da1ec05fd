"""Test-only fake backends that compute with torch eager but probe the harness around them.

- ``fake-offset`` adds 1.0 to every float output: a backend that is simply wrong (MISMATCH).
- ``fake-slow`` is correct but sleeps ``--backend-option fake-slow.seconds=S`` in run, so a
  test can interrupt a run midway.
- ``fake-own-process`` (``needs_own_process = True``) and ``fake-shared-pid`` record the pid of
  the worker process that ran them, and which fake backends that process prepared, in stats.

None of these is a real backend; they exist to test paritykit's runner, store and reports.
"""

from __future__ import annotations

import os
import pathlib
import time
from typing import ClassVar

import numpy as np
import torch

import paritykit as pk
from paritykit.core.dtypes import to_numpy, to_torch

#: Names of the fake backends prepared in this process, in order (per worker process).
PREPARED_HERE: list[str] = []


class _EagerPrepared(pk.Prepared):
    """Fake Prepared: runs the eager module, then adds ``offset`` to float outputs."""

    def __init__(self, module: torch.nn.Module, offset: float = 0.0, sleep_s: float = 0.0):
        super().__init__()
        self.module = module
        self.offset = offset
        self.sleep_s = sleep_s

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        if self.sleep_s:
            time.sleep(self.sleep_s)
        with torch.no_grad():
            out = self.module(*(to_torch(a) for a in inputs))
        leaves = torch.utils._pytree.tree_leaves(out)
        arrays = [to_numpy(t) for t in leaves]
        if self.offset:
            arrays = [a + a.dtype.type(self.offset) if a.dtype.kind == "f" else a for a in arrays]
        return arrays


class _RecordingBackend(pk.Backend):
    """Fake base: prepares the eager module and records the process it ran in."""

    def prepare(self, program: pk.Program, workdir: pathlib.Path) -> pk.Prepared:
        PREPARED_HERE.append(self.name)
        prepared = _EagerPrepared(program.module)
        prepared.stats["pid"] = os.getpid()
        prepared.stats["prepared_here"] = sorted(set(PREPARED_HERE))
        return prepared


@pk.register_backend
class FakeOwnProcessBackend(_RecordingBackend):
    """Fake backend for testing the harness: needs a worker process of its own."""

    name = "fake-own-process"
    needs_own_process: ClassVar[bool] = True


@pk.register_backend
class FakeSharedPidBackend(_RecordingBackend):
    """Fake backend for testing the harness: runs in the shared workers, records its pid."""

    name = "fake-shared-pid"


@pk.register_backend
class FakeOffsetBackend(pk.Backend):
    """Fake backend for testing the harness: adds 1.0 to float outputs (always MISMATCH).

    float32 only, so cases with other input dtypes are UNSUPPORTED for it.
    """

    name = "fake-offset"
    capabilities = pk.Capabilities(dtypes=frozenset({"float32"}), why="fake: float32 only")

    def prepare(self, program: pk.Program, workdir: pathlib.Path) -> pk.Prepared:
        return _EagerPrepared(program.module, offset=1.0)


@pk.register_backend
class FakeSlowBackend(pk.Backend):
    """Fake backend for testing the harness: correct, but sleeps in run (option ``seconds``)."""

    name = "fake-slow"

    def prepare(self, program: pk.Program, workdir: pathlib.Path) -> pk.Prepared:
        return _EagerPrepared(program.module, sleep_s=float(program.options.get("seconds", "1")))


@pk.register_backend
class FakeCacheableLowerErrorBackend(pk.Backend):
    """Fake backend for testing the harness: cacheable, writes into its workdir, then raises."""

    name = "fake-cacheable-lower-error"
    cacheable = True

    def prepare(self, program: pk.Program, workdir: pathlib.Path) -> pk.Prepared:
        (workdir / "half-written.bin").write_bytes(b"\0" * 16)
        raise pk.LowerError("fake lowering failure after writing into the workdir")

    def load(self, program: pk.Program, workdir: pathlib.Path) -> pk.Prepared:
        raise AssertionError("nothing was ever stored to load: prepare always fails")


@pk.register_backend
class FakeBadGradBackend(pk.Backend):
    """Fake backend for testing ``--grad``: a correct forward, but its "training path" scales
    the gradient of the first parameter by 1.5 (a wrong backward rule)."""

    name = "fake-bad-grad"
    supports_grad = True

    def prepare(self, program: pk.Program, workdir: pathlib.Path) -> pk.Prepared:
        return _EagerPrepared(program.module)

    def gradients(self, program: pk.Program, run_seed: int) -> list[tuple[str, np.ndarray]]:
        from paritykit.core.gradients import torch_gradients

        grads = torch_gradients(program.module, program.module, program.example_inputs,
                                run_seed, program.name)
        first = next(i for i, (name, _) in enumerate(grads) if not name.startswith("input"))
        name, value = grads[first]
        grads[first] = (name, value * value.dtype.type(1.5))
        return grads
