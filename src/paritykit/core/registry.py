"""The one registry of backends: built-ins, the ``paritykit.backends`` entry points, ``-p``.

Built-ins are discovered by scanning the ``paritykit.backends`` package (one module each, like
tinygrad's ``runtime/ops_<name>.py``); nothing else lists backends by hand.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import pathlib
import pkgutil
import sys
from collections.abc import Sequence
from typing import TypeVar

from paritykit.core.backend import Backend, BackendInfo
from paritykit.core.errors import ParityError, RegistryError, code_failures, where
from paritykit.core.named_registry import NamedRegistry
from paritykit.core.names import path_name_problem

B = TypeVar("B", bound=type[Backend])
ENTRY_POINT_GROUP = "paritykit.backends"


class BackendRegistry(NamedRegistry[Backend]):
    """Backend classes by name, listed by rank, then registration order."""

    kind = "backend"

    def _discover(self) -> None:
        """Import built-in backend modules and entry points."""
        package = importlib.import_module("paritykit.backends")
        for mod in pkgutil.iter_modules(package.__path__):
            if not mod.name.startswith("_"):
                importlib.import_module(f"paritykit.backends.{mod.name}")
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            try:
                ep.load()
            except Exception as exc:
                raise ParityError(
                    f"entry point {ep.name!r} = {ep.value!r} in group {ENTRY_POINT_GROUP!r} failed"
                    f" to load: {type(exc).__name__}: {exc}"
                ) from exc

    def names(self) -> list[str]:
        """Every registered backend name."""
        self.discover()
        order = {name: i for i, name in enumerate(self._classes)}
        return sorted(self._classes, key=lambda n: (self._classes[n].rank, order[n]))

    def _unknown(self, name: str) -> str:
        return (f"unknown backend {name!r}; known backends: {', '.join(self._classes)}"
                " (`parity backends` shows them; add your own with -p FILE)")

    def info(self, name: str) -> BackendInfo:
        """Availability, reason and versions of one backend."""
        backend = self.get(name)
        try:
            reason = backend.is_available()
        except Exception as exc:  # a broken probe must not hide the other backends
            reason = f"availability check failed: {type(exc).__name__}: {exc}"
        cls = type(backend)
        origin = "built-in" if cls.__module__.startswith("paritykit.") else cls.__module__
        doc = (cls.__doc__ or "").strip().splitlines()
        return BackendInfo(
            name=name,
            available=reason is None,
            reason=reason or "",
            description=cls.description or (doc[0] if doc else ""),
            origin=origin,
            versions=backend.versions(),
            devices=backend.devices() if reason is None else [],
        )

    def available(self) -> list[str]:
        """Names of backends usable on this machine."""
        return [n for n in self.names() if self.info(n).available]


#: The registry every entry point reads.
BACKENDS = BackendRegistry()


def register_backend(cls: B) -> B:
    """Class decorator that registers a :class:`Backend` subclass.

    >>> @register_backend
    ... class _DocBackend(Backend):
    ...     name = "_doc"
    >>> "_doc" in BACKENDS.names()
    True
    >>> BACKENDS.remove("_doc")
    """
    if not (isinstance(cls, type) and issubclass(cls, Backend)):
        raise RegistryError(f"@register_backend expects a Backend subclass, got {cls!r}")
    for flag, method in FEATURES:
        if getattr(cls, flag) and getattr(cls, method) is getattr(Backend, method):
            raise RegistryError(f"{where(cls)} sets {flag} but does not implement {method}(); "
                                f"implement it or drop {flag}")
    problem = path_name_problem(getattr(cls, "name", ""))
    if problem:
        raise RegistryError(f"{where(cls)}: backend name {getattr(cls, 'name', '')!r} "
                            f"{problem}; use letters, digits and -_.")
    BACKENDS.add(cls)
    return cls


#: Optional backend features: the class attribute that declares one and the method it needs.
FEATURES = (("cacheable", "load"), ("supports_grad", "gradients"),
            ("module_kinds", "prepare_module"))


def load_plugin(spec: str) -> None:
    """Import a user's file (``my_cases.py``) or module (``pkg.mod``) that registers cases/backends.

    A missing file or module is a ParityError naming it.
    """
    path = pathlib.Path(spec)
    if spec.endswith(".py") or path.exists():
        if not path.is_file():
            raise ParityError(f"-p {spec}: no such file")
        resolved = path.resolve()
        mod_name = "paritykit_plugin_" + "".join(c if c.isalnum() else "_" for c in str(resolved))
        if mod_name in sys.modules:
            return
        file_spec = importlib.util.spec_from_file_location(mod_name, resolved)
        if file_spec is None or file_spec.loader is None:
            raise ParityError(f"-p {spec}: cannot be imported as Python")
        module = importlib.util.module_from_spec(file_spec)
        sys.modules[mod_name] = module
        try:
            file_spec.loader.exec_module(module)
        except RegistryError:
            del sys.modules[mod_name]
            raise
        except code_failures() as exc:
            del sys.modules[mod_name]
            raise _import_failed(spec, exc) from exc
        return
    try:
        importlib.import_module(spec)
    except ModuleNotFoundError as exc:
        raise ParityError(f"-p {spec}: no such file or importable module ({exc})") from exc
    except RegistryError:
        raise
    except code_failures() as exc:
        raise _import_failed(spec, exc) from exc


def _import_failed(spec: str, exc: BaseException) -> ParityError:
    # A file that calls sys.exit() while being imported must not end the run as if it passed.
    if isinstance(exc, SystemExit):
        return ParityError(f"-p {spec}: importing it called sys.exit({exc.code!r}); a -p file "
                           "must only define and register cases and backends")
    return ParityError(f"-p {spec}: importing it failed: {type(exc).__name__}: {exc}")


def parse_backend_options(specs: Sequence[str],
                          flag: str = "--backend-option") -> dict[str, dict[str, str]]:
    """``["iree.flags=-O3"]`` -> ``{"iree": {"flags": "-O3"}}``.

    A bad form, or a backend the registry does not know, is a ParityError naming ``flag``.

    Example::

        parse_backend_options(["iree.flags=--iree-opt-level=O3"])
    """
    options: dict[str, dict[str, str]] = {}
    for spec in specs:
        key, sep, value = spec.partition("=")
        backend, dot, name = key.partition(".")
        if not (sep and dot and backend and name):
            raise ParityError(f"{flag} {spec!r}: expected BACKEND.KEY=VALUE")
        keys = BACKENDS.lookup(backend).option_keys  # an unknown name lists the known ones
        if keys is not None and name not in keys:
            has = f"its options: {', '.join(keys)}" if keys else "it takes no options"
            raise ParityError(f"{flag} {spec!r}: backend {backend} has no option {name!r}; {has}")
        options.setdefault(backend, {})[name] = value
    return options
