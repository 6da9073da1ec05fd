"""Test-only cases and backends whose code misbehaves the way careless user code does.

- cases: ``hostile_configs_raise`` (``get_test_configs`` raises), ``hostile_inputs_raise``
  (``create_inputs`` raises), ``hostile_inputs_exit`` (``create_inputs`` calls ``sys.exit(0)``),
  ``hostile_empty`` (no configs), ``hostile_not_tensor`` (an input is a string),
  ``hostile_not_module`` (``create_model`` returns a function), and ``hostile_ok`` which is fine.
- backends, each running torch eager otherwise: ``fake-exit`` (``prepare`` calls
  ``sys.exit(0)``), ``fake-interrupt`` (``run`` raises KeyboardInterrupt), ``fake-none`` (``run``
  returns None), ``fake-huge-misshapen`` (``run`` returns a 67 MiB array of the wrong shape),
  ``fake-semaphore`` (holds a multiprocessing semaphore in its own worker process).

None of these is a real backend or a real case: they test that the harness contains them.
"""

from __future__ import annotations

import pathlib
import sys
from typing import Any

import numpy as np
import torch

import paritykit as pk
from paritykit.core.dtypes import to_numpy, to_torch


class _Relu(pk.OpTestCase):
    def create_model(self) -> torch.nn.Module:
        return torch.nn.ReLU()

    def create_inputs(self) -> tuple[torch.Tensor, ...]:
        return (torch.randn(4, 4),)


@pk.register_test
class HostileOk(_Relu):
    name = "hostile_ok"


@pk.register_test
class HostileConfigsRaise(_Relu):
    name = "hostile_configs_raise"

    @classmethod
    def get_test_configs(cls) -> list[Any]:
        raise RuntimeError("configs cannot be listed")


@pk.register_test
class HostileInputsRaise(_Relu):
    name = "hostile_inputs_raise"

    def create_inputs(self) -> tuple[torch.Tensor, ...]:
        raise ValueError("inputs cannot be made")


@pk.register_test
class HostileInputsExit(_Relu):
    name = "hostile_inputs_exit"

    def create_inputs(self) -> tuple[torch.Tensor, ...]:
        sys.exit(0)


@pk.register_test
class HostileEmpty(_Relu):
    name = "hostile_empty"

    @classmethod
    def get_test_configs(cls) -> list[Any]:
        return []


@pk.register_test
class HostileNotTensor(_Relu):
    name = "hostile_not_tensor"

    def create_inputs(self) -> Any:
        return (torch.randn(3), "not a tensor")


@pk.register_test
class HostileNotModule(_Relu):
    name = "hostile_not_module"

    def create_model(self) -> Any:
        return torch.relu


class _Eager(pk.Prepared):
    def __init__(self, module: torch.nn.Module) -> None:
        super().__init__()
        self.module = module

    def run(self, inputs: list[np.ndarray]) -> Any:
        with torch.no_grad():
            out = self.module(*(to_torch(a) for a in inputs))
        return [to_numpy(t) for t in torch.utils._pytree.tree_leaves(out)]


class _EagerBackend(pk.Backend):
    def prepare(self, program: pk.Program, workdir: pathlib.Path) -> pk.Prepared:
        return self.prepared(program.module)

    def prepared(self, module: torch.nn.Module) -> pk.Prepared:
        return _Eager(module)


@pk.register_backend
class FakeExitBackend(_EagerBackend):
    """Fake backend for testing the harness: ``prepare`` calls ``sys.exit(0)``."""

    name = "fake-exit"

    def prepare(self, program: pk.Program, workdir: pathlib.Path) -> pk.Prepared:
        sys.exit(0)


class _Interrupting(_Eager):
    def run(self, inputs: list[np.ndarray]) -> Any:
        raise KeyboardInterrupt


@pk.register_backend
class FakeInterruptBackend(_EagerBackend):
    """Fake backend for testing the harness: ``run`` raises KeyboardInterrupt itself."""

    name = "fake-interrupt"

    def prepared(self, module: torch.nn.Module) -> pk.Prepared:
        return _Interrupting(module)


class _ReturnsNone(_Eager):
    def run(self, inputs: list[np.ndarray]) -> Any:
        return None


@pk.register_backend
class FakeNoneBackend(_EagerBackend):
    """Fake backend for testing the harness: ``run`` returns None."""

    name = "fake-none"

    def prepared(self, module: torch.nn.Module) -> pk.Prepared:
        return _ReturnsNone(module)


class _Misshapen(_Eager):
    def run(self, inputs: list[np.ndarray]) -> Any:
        return [np.ones((4200, 4200), np.float32)]


@pk.register_backend
class FakeHugeMisshapenBackend(_EagerBackend):
    """Fake backend for testing the harness: returns 67 MiB of the wrong shape."""

    name = "fake-huge-misshapen"

    def prepared(self, module: torch.nn.Module) -> pk.Prepared:
        return _Misshapen(module)


#: Made on first use in a worker and kept, as libraries keep their locks.
_HELD: list[Any] = []


@pk.register_backend
class FakeSemaphoreBackend(_EagerBackend):
    """Fake backend for testing the harness: holds a multiprocessing semaphore in its worker,
    which is its own (``needs_own_process``), so the pool retires that worker between groups."""

    name = "fake-semaphore"
    needs_own_process = True

    def prepare(self, program: pk.Program, workdir: pathlib.Path) -> pk.Prepared:
        import multiprocessing

        if not _HELD:
            _HELD.append(multiprocessing.get_context("spawn").Semaphore())
        return self.prepared(program.module)
