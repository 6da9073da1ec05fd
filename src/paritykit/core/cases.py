"""Declaring cases: ``OpTestCase`` + ``@register_test`` (the names of ExecuTorch's MLX op tests).

A registered class is one *base* case; ``get_test_configs`` turns it into one or more configs,
each an instance with its own unique ``name``, which is the case id used everywhere else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import torch

from paritykit.core.errors import RegistryError, code_failures, where
from paritykit.core.named_registry import Registry
from paritykit.core.names import path_name_problem

T = TypeVar("T", bound="OpTestCase")


class OpTestCase:
    """One op or pattern to check on every backend.

    Example::

        @pk.register_test
        class LinearTest(pk.OpTestCase):
            name = "linear"

            def __init__(self, bias: bool = True):
                self.bias = bias
                self.name = "linear" if bias else "linear_nobias"

            def create_model(self):
                return torch.nn.Linear(16, 8, bias=self.bias)

            def create_inputs(self):
                return (pk.randn(4, 16),)

            @classmethod
            def get_test_configs(cls):
                return [cls(), cls(bias=False)]
    """

    name: str = ""
    rtol: float | None = None
    atol: float | None = None
    #: Why ``rtol``/``atol`` are looser than the dtype default (shown in failure messages).
    tolerance_reason: str = ""
    #: Free-form labels, matched by ``-k`` like the case id.
    markers: tuple[str, ...] = ()

    def create_model(self) -> torch.nn.Module:
        """Return the module under test (it is put in eval mode by the runner)."""
        raise NotImplementedError(f"{type(self).__name__}.create_model is not implemented")

    def create_inputs(self) -> tuple[torch.Tensor, ...]:
        """Return the example inputs; draw random values with ``pk.randn`` and friends."""
        raise NotImplementedError(f"{type(self).__name__}.create_inputs is not implemented")

    def get_dynamic_shapes(self) -> Any:
        """Return a ``torch.export`` ``dynamic_shapes`` spec, or None for static shapes."""
        return None

    def create_dynamic_inputs(self) -> list[tuple[torch.Tensor, ...]]:
        """Extra input sets with other sizes along the dynamic dims, run on the same program."""
        return []

    @classmethod
    def get_test_configs(cls: type[T]) -> list[T]:
        """Return the configs of this case (default: one instance with the class's name)."""
        return [cls()]


@dataclass(frozen=True)
class CaseRef:
    """A config of a registered case, addressable by id in any process."""

    id: str
    base: str
    cls: type[OpTestCase]
    markers: tuple[str, ...]
    #: Why the class produced no configs (its ``get_test_configs`` raised): the ref then stands
    #: for the whole class, under its base name, and every backend's result is that failure.
    error: BaseException | None = field(default=None, compare=False)

    def instantiate(self) -> OpTestCase:
        """Rebuild the config instance (``get_test_configs`` is called again: it must be pure)."""
        for config in self.cls.get_test_configs():
            if config_name(config) == self.id:
                return config
        raise RegistryError(f"case {self.id!r} is no longer produced by {where(self.cls)}")


def config_name(config: OpTestCase) -> str:
    """The id of one config: its own ``name`` (falls back to the class's base name)."""
    return config.name or type(config).name


class CaseRegistry(Registry[type[OpTestCase]]):
    """Registered case classes, keyed by base name."""

    kind = "case"

    @property
    def _classes(self) -> dict[str, type[OpTestCase]]:
        return self._entries

    def add(self, cls: type[OpTestCase]) -> None:
        """Register ``cls``; a second class with the same base name is an error naming both."""
        base = getattr(cls, "name", "")
        if not isinstance(base, str) or not base:
            raise RegistryError(f"{where(cls)} needs a class attribute `name` (the base name)")
        problem = path_name_problem(base)
        if problem:
            raise RegistryError(f"{where(cls)}: case name {base!r} {problem}; use letters, "
                                "digits and -_.")
        self.register(base, cls)

    def classes(self) -> list[type[OpTestCase]]:
        """Registered classes in registration order."""
        return list(self._entries.values())

    def expand(self) -> list[CaseRef]:
        """All configs of all cases; a config id used twice is an error naming both classes."""
        seen: dict[str, type[OpTestCase]] = {}
        refs: list[CaseRef] = []
        for cls in self._classes.values():
            try:
                configs = _configs(cls)
            except code_failures() as exc:
                refs.append(CaseRef(cls.name, cls.name, cls, (), error=exc))
                continue
            for config in configs:
                cid = config_name(config)
                problem = path_name_problem(cid)
                if problem:
                    raise RegistryError(f"{where(cls)}: config name {cid!r} {problem}; use "
                                        "letters, digits and -_.")
                if cid in seen:
                    raise RegistryError(
                        f"case id {cid!r} is produced by {where(seen[cid])} and by {where(cls)};"
                        " give each config a unique `name`"
                    )
                seen[cid] = cls
                markers = tuple(getattr(config, "markers", ()) or ())
                refs.append(CaseRef(cid, cls.name, cls, markers))
        return refs


def _configs(cls: type[OpTestCase]) -> list[OpTestCase]:
    configs = cls.get_test_configs()
    if not isinstance(configs, (list, tuple)):
        raise TypeError(f"{where(cls)}.get_test_configs() returned {type(configs).__name__}, "
                        "not a list of configs")
    wrong = [c for c in configs if not isinstance(c, OpTestCase)]
    if wrong:
        raise TypeError(f"{where(cls)}.get_test_configs() returned {type(wrong[0]).__name__} "
                        "items; each config must be an OpTestCase instance")
    return list(configs)


#: The registry every entry point reads.
CASES = CaseRegistry()


def register_test(cls: type[T]) -> type[T]:
    """Class decorator that registers an :class:`OpTestCase` subclass.

    >>> @register_test
    ... class _Doc(OpTestCase):
    ...     name = "_doc_example"
    >>> "_doc_example" in [c.name for c in CASES.classes()]
    True
    >>> CASES.remove("_doc_example")
    """
    if not (isinstance(cls, type) and issubclass(cls, OpTestCase)):
        raise RegistryError(f"@register_test expects an OpTestCase subclass, got {cls!r}")
    CASES.add(cls)
    return cls


def select(refs: Iterable[CaseRef], names: Iterable[str]) -> list[CaseRef]:
    """Keep configs whose base name or own id is in ``names``; unknown names are an error."""
    wanted = list(names)
    if not wanted:
        return list(refs)
    refs = list(refs)
    unknown = [n for n in wanted if not any(n in (r.id, r.base) for r in refs)]
    empty = [n for n in unknown if n in CASES.names()]
    if empty:
        raise RegistryError(f"case {empty[0]!r} ({where(CASES.lookup(empty[0]))}) produced no "
                            "configs: its get_test_configs() returned an empty list")
    if unknown:
        raise RegistryError(
            f"no case named {', '.join(map(repr, unknown))}; `parity list` shows every case"
        )
    return [r for r in refs if r.id in wanted or r.base in wanted]
