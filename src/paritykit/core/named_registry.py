"""Registries by name: one base for cases, backends, autodiff adapters and models.

:class:`Registry` keeps entries by name in registration order: a second entry under a name from
another place is an error naming both, an unknown name an error listing the known ones, and the
built-ins are discovered on first use. :class:`NamedRegistry` registers classes and hands out
one shared instance of each (backends, adapters).

Example::

    class Shapes(NamedRegistry[Shape]):
        kind = "shape"

        def _discover(self) -> None:
            import my_shapes  # registers the built-ins
"""

from __future__ import annotations

from typing import Any, ClassVar, Generic, TypeVar

from paritykit.core.errors import RegistryError, where

T = TypeVar("T")
E = TypeVar("E")


class Registry(Generic[E]):
    """Entries by name, in registration order.

        >>> r: Registry[type] = Registry()
        >>> r.register("int", int); r.lookup("int")
        <class 'int'>
    """

    #: What is registered, for messages ("backend", "case", "model").
    kind: ClassVar[str] = "entry"

    def __init__(self) -> None:
        self._entries: dict[str, E] = {}
        self._discovered = False

    def origin(self, entry: E) -> str:
        """Where ``entry`` is defined, for messages (``module.Qualname (file:line)``)."""
        return where(entry)

    def register(self, name: str, entry: E) -> None:
        """Register ``entry`` as ``name``. Another entry under that name is an error naming
        both, unless it comes from the same place (a module imported twice): then it replaces."""
        other = self._entries.get(name)
        if other is not None and other is not entry and self.origin(other) != self.origin(entry):
            raise RegistryError(f"{self.kind} name {name!r} is registered twice: by "
                                f"{self.origin(other)} and by {self.origin(entry)}; rename one "
                                "of them")
        self._entries[name] = entry

    def remove(self, name: str) -> None:
        """Forget a registration (used by tests)."""
        self._entries.pop(name, None)

    def discover(self) -> None:
        """Import the modules that register the built-ins (once per process)."""
        if self._discovered:
            return
        self._discovered = True
        self._discover()

    def _discover(self) -> None:
        """Register the built-ins; nothing by default."""

    def names(self) -> list[str]:
        """Every registered name, in registration order."""
        self.discover()
        return list(self._entries)

    def lookup(self, name: str) -> E:
        """The entry ``name``; an unknown name is an error listing the known ones."""
        self.discover()
        if name not in self._entries:
            raise RegistryError(self._unknown(name))
        return self._entries[name]

    def _unknown(self, name: str) -> str:
        return f"unknown {self.kind} {name!r}; known: {', '.join(self._entries)}"


class NamedRegistry(Registry[type[T]]):
    """Classes with a ``name`` attribute, in registration order, plus one shared instance each.

    Subclasses set :attr:`kind` and implement :meth:`_discover`, which imports the modules that
    register the built-ins (run once, on first use).
    """

    def __init__(self) -> None:
        super().__init__()
        self._instances: dict[str, T] = {}

    @property
    def _classes(self) -> dict[str, type[T]]:
        return self._entries

    def add(self, cls: type[T]) -> None:
        """Register ``cls`` under its ``name``; a second class with that name is an error."""
        name: Any = getattr(cls, "name", "")
        if not name:
            raise RegistryError(f"{where(cls)} needs a class attribute `name`")
        self.register(name, cls)
        self._instances.pop(name, None)

    def remove(self, name: str) -> None:
        """Forget a registration (used by tests)."""
        super().remove(name)
        self._instances.pop(name, None)

    def get(self, name: str) -> T:
        """The shared instance of ``name``; an unknown name is an error listing the known ones."""
        cls = self.lookup(name)
        if name not in self._instances:
            self._instances[name] = cls()
        return self._instances[name]
