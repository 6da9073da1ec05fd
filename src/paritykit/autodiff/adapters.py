"""The transform adapter protocol and its registry (one module per framework).

An adapter wraps one framework's function transforms behind a common calling convention so the
checks in :mod:`paritykit.autodiff.checks` are written once:

* user functions take framework arrays positionally and return ONE array;
* ``grad``/``value_and_grad`` take ``argnums`` (a tuple) and return a list of gradients;
* ``vjp``/``jvp`` take and return lists (one entry per primal / output);
* ``custom_vjp(fwd, bwd)`` calls ``bwd(primals, cotangents, outputs)`` with lists, in that order
  (the MLX convention the argument-order regression check pins down).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from paritykit.autodiff.vocab import Vocab
from paritykit.core.errors import RegistryError
from paritykit.core.named_registry import NamedRegistry

Fn = Callable[..., Any]
Bwd = Callable[[list[Any], list[Any], list[Any]], list[Any]]
A = TypeVar("A", bound=type["TransformAdapter"])

#: Built-in adapter modules, imported on first use so listing stays cheap.
_BUILTIN_MODULES = ("torch_func", "jax_adapter", "mlx_adapter")


class UnsupportedTransform(Exception):
    """The framework has no such transform (or cannot compose it); the message says why."""


class EmptyArgnums(ValueError):
    """``argnums`` was empty; the message names the transform (the "site") that got it."""


def check_argnums(site: str, argnums: Sequence[int]) -> tuple[int, ...]:
    """Reject empty ``argnums`` up front, naming the site.

    Done here rather than left to the frameworks because their own errors do not name the
    argument: JAX fails with "max() arg is an empty sequence", MLX with "Gradient wrt no argument
    requested".
    """
    nums = tuple(argnums)
    if not nums:
        raise EmptyArgnums(f"{site}: argnums must name at least one argument, got argnums=()")
    return nums


class TransformAdapter:
    """One framework's transforms under the common convention (see the module docstring).

    Subclasses set ``name`` and implement what the framework has; the defaults raise
    :class:`UnsupportedTransform`.
    """

    name: str = ""
    #: The pip extra/package that provides the framework, for ``is_available`` messages.
    install: str = ""

    def is_available(self) -> str | None:
        """None when usable, else the reason (with the install command)."""
        raise NotImplementedError

    @property
    def vocab(self) -> Vocab:
        """The array-function vocabulary bound to this framework."""
        raise NotImplementedError

    def asarray(self, value: np.ndarray | float) -> Any:
        """A framework array from NumPy (float scalars become float32 0-d arrays)."""
        raise NotImplementedError

    def to_numpy(self, value: Any) -> np.ndarray:
        """A NumPy copy of a framework array (0-d stays 0-d)."""
        raise NotImplementedError

    def grad(self, fn: Fn, argnums: Sequence[int] = (0,)) -> Callable[..., list[Any]]:
        """``fn``'s gradients w.r.t. ``argnums``, as a list."""
        vag = self.value_and_grad(fn, check_argnums("grad", argnums))

        def grads(*xs: Any) -> list[Any]:
            return vag(*xs)[1]

        return grads

    def value_and_grad(
        self, fn: Fn, argnums: Sequence[int] = (0,)
    ) -> Callable[..., tuple[Any, list[Any]]]:
        """``(fn(*xs), [d fn / d xs[i] for i in argnums])``."""
        raise UnsupportedTransform(f"{self.name} has no value_and_grad")

    def vjp(self, fn: Fn, primals: list[Any], cotangents: list[Any]) -> tuple[list[Any], list[Any]]:
        """``([fn(*primals)], [cotangent-weighted gradient per primal])``."""
        raise UnsupportedTransform(f"{self.name} has no vjp")

    def jvp(self, fn: Fn, primals: list[Any], tangents: list[Any]) -> tuple[list[Any], list[Any]]:
        """``([fn(*primals)], [directional derivative along tangents])``."""
        raise UnsupportedTransform(f"{self.name} has no jvp")

    def custom_vjp(self, fwd: Fn, bwd: Bwd) -> Fn:
        """``fwd`` whose reverse-mode rule is ``bwd(primals, cotangents, outputs)``."""
        raise UnsupportedTransform(f"{self.name} has no custom_vjp")

    def checkpoint(self, fn: Fn) -> Fn:
        """``fn`` recomputed in the backward pass instead of storing its intermediates."""
        raise UnsupportedTransform(f"{self.name} has no checkpoint")

    def eval(self, *arrays: Any) -> None:
        """Materialize lazily computed arrays."""
        raise UnsupportedTransform(f"{self.name} has no eval")


class AdapterRegistry(NamedRegistry[TransformAdapter]):
    """Adapter classes by name, in registration order (like the backend registry)."""

    kind = "adapter"

    def _discover(self) -> None:
        """Import the built-in adapter modules."""
        import importlib

        for mod in _BUILTIN_MODULES:
            importlib.import_module(f"paritykit.autodiff.{mod}")

    def _unknown(self, name: str) -> str:
        return f"unknown autodiff framework {name!r}; known: {', '.join(self._classes)}"


#: The registry the checks and the CLI read.
ADAPTERS = AdapterRegistry()


def register_adapter(cls: A) -> A:
    """Class decorator that registers a :class:`TransformAdapter` subclass."""
    if not (isinstance(cls, type) and issubclass(cls, TransformAdapter)):
        raise RegistryError(f"@register_adapter expects a TransformAdapter subclass, got {cls!r}")
    ADAPTERS.add(cls)
    return cls


def as_list(value: Any) -> list[Any]:
    """A list from a single array, tuple or list (frameworks differ in what they hand back)."""
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]
