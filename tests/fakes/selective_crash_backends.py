"""Test-only fake backends that crash on SOME programs only, like a real backend with a bug.

None of these is a real backend. Each runs the program's own torch module (so its results are
right) except for programs whose name starts with ``relu`` or whose module holds an
``nn.ReLU`` (whole models in ``parity eval``): there ``fake-segv-some``
dereferences NULL, ``fake-abort-some`` calls abort() and ``fake-hang-some`` never returns.
They exist to check that every route (run, golden, pytest, ...) reports just those programs as
CRASH / TIMEOUT and everything else normally.
Load with ``-p tests/fakes/selective_crash_backends.py``.
"""

from __future__ import annotations

import ctypes
import os
import pathlib
import time

import numpy as np
import torch

import paritykit as pk

#: Programs whose name starts with this are the ones the fakes fail on.
VICTIM = "relu"


class _EagerPrepared(pk.Prepared):
    """Runs the program's module in torch eager, or misbehaves on a victim program."""

    def __init__(self, program: pk.Program, failure: str) -> None:
        super().__init__()
        self.module = program.module
        victim = program.name.startswith(VICTIM) or any(
            isinstance(m, torch.nn.ReLU) for m in program.module.modules())
        self.failure = failure if victim else ""

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        if self.failure == "segv":
            ctypes.string_at(0)  # NULL dereference: SIGSEGV
        elif self.failure == "abort":
            os.abort()
        elif self.failure == "hang":
            time.sleep(3600)
        with torch.no_grad():
            out = self.module(*(torch.from_numpy(a) for a in inputs))
        outs = out if isinstance(out, (tuple, list)) else (out,)
        return [o.numpy() for o in outs]


class _SelectiveBackend(pk.Backend):
    failure = ""

    def prepare(self, program: pk.Program, workdir: pathlib.Path) -> pk.Prepared:
        return _EagerPrepared(program, self.failure)


@pk.register_backend
class FakeSegvSomeBackend(_SelectiveBackend):
    """Fake backend for testing the harness: SIGSEGV in run on ``relu*`` programs."""

    name = "fake-segv-some"
    failure = "segv"


@pk.register_backend
class FakeAbortSomeBackend(_SelectiveBackend):
    """Fake backend for testing the harness: abort() in run on ``relu*`` programs."""

    name = "fake-abort-some"
    failure = "abort"


@pk.register_backend
class FakeHangSomeBackend(_SelectiveBackend):
    """Fake backend for testing the harness: hangs in run on ``relu*`` programs."""

    name = "fake-hang-some"
    failure = "hang"
