"""Test-only fake backends that misbehave on purpose, to test the harness's isolation.

None of these is a real backend: they exist so the tests can check that a backend which
segfaults, aborts, raises or hangs costs exactly its own (case, backend) result and nothing else.
Load with ``parity run -p tests/fakes/crashing_backends.py -b fake-segfault,...``.
"""

from __future__ import annotations

import os
import pathlib
import signal
import time

import numpy as np

import paritykit as pk


class _NeverRunPrepared(pk.Prepared):
    """Fake Prepared whose run must never be reached."""

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        raise AssertionError("fake harness backend: run reached after a fatal prepare")


class _AbortPrepared(pk.Prepared):
    """Fake Prepared that aborts the process (SIGABRT) when run."""

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        os.abort()


class _RaisePrepared(pk.Prepared):
    """Fake Prepared that raises a Python exception when run."""

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        raise RuntimeError("boom-payload from the fake-raise test backend")


@pk.register_backend
class FakeSegfaultBackend(pk.Backend):
    """Fake backend for testing the harness: segfaults (SIGSEGV) in prepare."""

    name = "fake-segfault"

    def prepare(self, program: pk.Program, workdir: pathlib.Path) -> pk.Prepared:
        os.kill(os.getpid(), signal.SIGSEGV)
        time.sleep(60)  # the signal is asynchronous; never return normally
        return _NeverRunPrepared()


@pk.register_backend
class FakeAbortBackend(pk.Backend):
    """Fake backend for testing the harness: calls os.abort() (SIGABRT) in run."""

    name = "fake-abort"

    def prepare(self, program: pk.Program, workdir: pathlib.Path) -> pk.Prepared:
        return _AbortPrepared()


@pk.register_backend
class FakeRaiseBackend(pk.Backend):
    """Fake backend for testing the harness: raises RuntimeError("boom-payload") in run."""

    name = "fake-raise"

    def prepare(self, program: pk.Program, workdir: pathlib.Path) -> pk.Prepared:
        return _RaisePrepared()


@pk.register_backend
class FakeHangBackend(pk.Backend):
    """Fake backend for testing the harness: hangs (sleeps an hour) in prepare."""

    name = "fake-hang"

    def prepare(self, program: pk.Program, workdir: pathlib.Path) -> pk.Prepared:
        time.sleep(3600)
        return _NeverRunPrepared()
