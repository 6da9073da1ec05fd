"""Classes registered by name, instantiated once: the shape of the backend and adapter registries.

Example::

    class Shapes(NamedRegistry[Shape]):
        kind = "shape"

        def _discover(self) -> None:
            import my_shapes  # registers the built-ins
"""

from __future__ import annotations

from typing import Any, ClassVar, Generic, TypeVar

from paritykit.errors import RegistryError, where

T = TypeVar("T")


class NamedRegistry(Generic[T]):
    """Classes with a ``name`` attribute, in registration order, plus one shared instance each.

    Subclasses set :attr:`kind` and implement :meth:`_discover`, which imports the modules that
    register the built-ins (run once, on first use).
    """

    #: What is registered, for messages ("backend", "adapter").
    kind: ClassVar[str] = ""

    def __init__(self) -> None:
        self._classes: dict[str, type[T]] = {}
        self._instances: dict[str, T] = {}
        self._discovered = False

    def add(self, cls: type[T]) -> None:
        """Register ``cls``; a second class with the same name is an error naming both."""
        name: Any = getattr(cls, "name", "")
        if not name:
            raise RegistryError(f"{where(cls)} needs a class attribute `name`")
        other = self._classes.get(name)
        if other is not None and other is not cls and where(other) != where(cls):
            raise RegistryError(
                f"{self.kind} name {name!r} is registered twice: by {where(other)} and by"
                f" {where(cls)}; rename one of them"
            )
        self._classes[name] = cls
        self._instances.pop(name, None)

    def remove(self, name: str) -> None:
        """Forget a registration (used by tests)."""
        self._classes.pop(name, None)
        self._instances.pop(name, None)

    def discover(self) -> None:
        """Import the modules that register the built-ins (once per process)."""
        if self._discovered:
            return
        self._discovered = True
        self._discover()

    def _discover(self) -> None:
        raise NotImplementedError

    def names(self) -> list[str]:
        """Every registered name, in registration order."""
        self.discover()
        return list(self._classes)

    def get(self, name: str) -> T:
        """The shared instance of ``name``; an unknown name is an error listing the known ones."""
        self.discover()
        if name not in self._classes:
            raise RegistryError(self._unknown(name))
        if name not in self._instances:
            self._instances[name] = self._classes[name]()
        return self._instances[name]

    def _unknown(self, name: str) -> str:
        return f"unknown {self.kind} {name!r}; known: {', '.join(self._classes)}"
