"""Table-driven building blocks for the built-in suite.

Most built-in cases are "apply this torch function (or this ``nn`` module) to these random
inputs", so instead of one hand-written :class:`~paritykit.core.cases.OpTestCase` per op, each suite
module declares rows like::

    suite = Registrar(__name__)
    suite.case("exp", "torch.exp", torch.exp, args=(normal(8, 16),), configs=(BASE, *HALF))

:meth:`Registrar.case` builds a real ``OpTestCase`` subclass, installs it in the calling module
under a CamelCase name (so it pickles and ``_where`` can name it) and registers it. Its
configs are :class:`Cfg` rows: a suffix plus what the config changes (inputs, keyword
arguments, dtype, dynamic dimensions, tolerances).

Inputs are :class:`Arg` recipes rather than tensors so that dtype variants and the extra
inputs of dynamic-shape configs are drawn from the same description with other sizes.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import torch
from torch import nn

from paritykit.core import inputs as pki
from paritykit.core.cases import OpTestCase, register_test

#: Forward argument names of the generated models, by position.
ARG_NAMES = ("x", "y", "z", "w")

_KINDS = ("normal", "uniform", "ints", "bools", "distinct", "rowperm")


@dataclass(frozen=True)
class Arg:
    """Recipe for one random input tensor; values come from :mod:`paritykit.core.inputs`.

    ``kind`` is one of ``normal`` (``std``), ``uniform`` / ``ints`` (``[low, high)``),
    ``bools`` (True with probability ``p``), ``distinct`` (a shuffled, tie-free grid of
    ``step``-spaced values centred on 0, exact in every float dtype for small tensors) and
    ``rowperm`` (int64 indices in ``[0, high)`` that never repeat within a last-dim row, for
    scatter-style ops whose result depends on duplicate handling).
    """

    shape: tuple[int, ...]
    kind: str = "normal"
    dtype: torch.dtype = torch.float32
    std: float = 1.0
    low: float = 0.0
    high: float = 1.0
    p: float = 0.5
    step: float = 0.25

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"unknown Arg kind {self.kind!r}; expected one of {_KINDS}")

    def make(
        self, shape: tuple[int, ...] | None = None, dtype: torch.dtype | None = None
    ) -> torch.Tensor:
        """Draw a tensor; ``shape`` overrides the recipe's shape, ``dtype`` its float dtype."""
        shape = self.shape if shape is None else tuple(shape)
        dt = dtype if dtype is not None and self.dtype.is_floating_point else self.dtype
        if self.kind == "normal":
            return pki.randn(shape, dtype=dt, std=self.std)
        if self.kind == "uniform":
            return pki.rand(shape, dtype=dt, low=self.low, high=self.high)
        if self.kind == "ints":
            return pki.randint(int(self.low), int(self.high), shape, dtype=dt)
        if self.kind == "bools":
            return pki.randbool(shape, p=self.p)
        if self.kind == "distinct":
            n = math.prod(shape)
            grid = (pki.randperm(n).to(torch.float64) - n // 2) * self.step
            return grid.reshape(shape).to(dt)
        rows = math.prod(shape[:-1])
        picked = [pki.randperm(int(self.high))[: shape[-1]] for _ in range(rows)]
        return torch.stack(picked).reshape(shape).to(dt)


def normal(*shape: int, std: float = 1.0, dtype: torch.dtype = torch.float32) -> Arg:
    """Standard-normal values (scaled by ``std``)."""
    return Arg(tuple(shape), "normal", dtype, std=std)


def uniform(*shape: int, low: float, high: float, dtype: torch.dtype = torch.float32) -> Arg:
    """Uniform values in ``[low, high)`` (use for domain-restricted ops: log, acos, ...)."""
    return Arg(tuple(shape), "uniform", dtype, low=low, high=high)


def ints(low: int, high: int, *shape: int, dtype: torch.dtype = torch.int64) -> Arg:
    """Integers in ``[low, high)``."""
    return Arg(tuple(shape), "ints", dtype, low=low, high=high)


def bools(*shape: int, p: float = 0.5) -> Arg:
    """Booleans, True with probability ``p``."""
    return Arg(tuple(shape), "bools", torch.bool, p=p)


def distinct(*shape: int, step: float = 0.25, dtype: torch.dtype = torch.float32) -> Arg:
    """Tie-free values (for sort/topk/argmax/max-pool indices to be well defined)."""
    return Arg(tuple(shape), "distinct", dtype, step=step)


def rowperm(*shape: int, high: int) -> Arg:
    """int64 indices in ``[0, high)``, unique along the last dim (scatter without collisions)."""
    return Arg(tuple(shape), "rowperm", torch.int64, high=high)


@dataclass(frozen=True)
class Dyn:
    """A dynamic dimension: its ``torch.export.Dim`` bounds and the extra sizes to run."""

    name: str
    min: int
    max: int
    sizes: tuple[int, ...]

    def __post_init__(self) -> None:
        if not all(self.min <= s <= self.max for s in self.sizes):
            raise ValueError(
                f"Dyn {self.name!r}: sizes {self.sizes} outside [{self.min}, {self.max}]"
            )


BATCH = Dyn("batch", 1, 64, (1, 7, 64))
SEQ = Dyn("seq", 2, 128, (3, 17, 40))
#: A smaller batch range for conv/attention-sized inputs.
SMALL_BATCH = Dyn("batch", 1, 16, (1, 3, 16))


@dataclass(frozen=True)
class Cfg:
    """One config of a table-driven case.

    ``suffix`` is appended to the base name (``""`` keeps the base name). ``args`` replaces
    the case's input recipes, ``kwargs`` is merged over the case's keyword arguments,
    ``dtype`` casts float inputs and the model's float parameters, and ``dynamic`` maps an
    input position to ``{axis: Dyn}``.
    """

    suffix: str = ""
    args: tuple[Arg, ...] | None = None
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    dtype: torch.dtype | None = None
    dynamic: Mapping[int, Mapping[int, Dyn]] | None = None
    rtol: float | None = None
    atol: float | None = None
    reason: str = ""


BASE = Cfg()
FP16 = Cfg("fp16", dtype=torch.float16)
BF16 = Cfg("bf16", dtype=torch.bfloat16)
HALF = (FP16, BF16)
_CHAIN_REASON = (
    "several roundings to {} inside one op or pattern: where a backend keeps intermediates"
    " in float32 (fusion) or rounds them differently, results move by a few ulps"
)
#: Half-precision configs for multi-step ops and composite patterns (softmax chains,
#: attention, MLP/transformer blocks), whose intermediate rounding is implementation-defined.
HALF_CHAIN = (
    Cfg("fp16", dtype=torch.float16, rtol=1e-2, atol=1e-3, reason=_CHAIN_REASON.format("fp16")),
    Cfg("bf16", dtype=torch.bfloat16, rtol=5e-2, atol=1e-2, reason=_CHAIN_REASON.format("bf16")),
)


def cfg(suffix: str, *args: Arg, **kwargs: Any) -> Cfg:
    """A config with its own inputs (if any are given) and keyword arguments."""
    return Cfg(suffix, args=tuple(args) if args else None, kwargs=kwargs)


def half(*args: Arg, chain: bool = False, **kwargs: Any) -> tuple[Cfg, Cfg]:
    """The ``fp16`` and ``bf16`` configs with their own inputs and keyword arguments.

    The inputs are drawn as float32 recipes and cast; ``chain`` uses :data:`HALF_CHAIN`'s
    tolerances.
    """
    inputs = tuple(args) if args else None
    fp16, bf16 = (replace(c, args=inputs, kwargs=kwargs) for c in (HALF_CHAIN if chain else HALF))
    return fp16, bf16


def dynamic(
    *spec: Mapping[int, Dyn],
    args: Sequence[Arg] | None = None,
    suffix: str = "dynamic",
    **kwargs: Any,
) -> Cfg:
    """A dynamic-shape config; ``spec[i]`` is ``{axis: Dyn}`` for input ``i`` (``{}``: static).

    ``args`` replaces the inputs and ``kwargs`` the keyword arguments, as in :func:`cfg`.
    ``suffix`` must end in ``dynamic`` so that ``-k dynamic`` selects every such config.
    """
    if not suffix.endswith("dynamic"):
        raise ValueError(f"dynamic config suffix {suffix!r} must end with 'dynamic'")
    table = {i: s for i, s in enumerate(spec) if s}
    return Cfg(suffix, args=tuple(args) if args else None, kwargs=kwargs, dynamic=table)


class FnModel(nn.Module):
    """Applies ``op`` (a function or a submodule) to the forward inputs with fixed kwargs."""

    def __init__(self, op: Callable[..., Any], kwargs: Mapping[str, Any]) -> None:
        super().__init__()
        self.op = op
        self.op_kwargs = dict(kwargs)

    def call(self, *args: torch.Tensor) -> Any:
        """Apply the op to the inputs."""
        return self.op(*args, **self.op_kwargs)


class Fn1(FnModel):
    """``forward(x)``."""

    def forward(self, x: torch.Tensor) -> Any:
        return self.call(x)


class Fn2(FnModel):
    """``forward(x, y)``."""

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> Any:
        return self.call(x, y)


class Fn3(FnModel):
    """``forward(x, y, z)``."""

    def forward(self, x: torch.Tensor, y: torch.Tensor, z: torch.Tensor) -> Any:
        return self.call(x, y, z)


class Fn4(FnModel):
    """``forward(x, y, z, w)``."""

    def forward(self, x: torch.Tensor, y: torch.Tensor, z: torch.Tensor, w: torch.Tensor) -> Any:
        return self.call(x, y, z, w)


_WRAPPERS: dict[int, type[FnModel]] = {1: Fn1, 2: Fn2, 3: Fn3, 4: Fn4}


def _dyns(spec: Mapping[int, Mapping[int, Dyn]]) -> list[Dyn]:
    return [d for axes in spec.values() for d in axes.values()]


def suffixed(base: str, suffix: str) -> str:
    """``base`` or ``base_suffix``."""
    return f"{base}_{suffix}" if suffix else base


class TableCase(OpTestCase):
    """Base of the cases built by :meth:`Registrar.case`; one instance per :class:`Cfg`."""

    op: ClassVar[Callable[..., Any] | None] = None
    build: ClassVar[Callable[..., nn.Module] | None] = None
    base_args: ClassVar[tuple[Arg, ...]] = ()
    base_kwargs: ClassVar[Mapping[str, Any]] = {}
    table: ClassVar[tuple[Cfg, ...]] = (BASE,)

    def __init__(self, config: Cfg = BASE) -> None:
        self.config = config
        self.name = suffixed(type(self).name, config.suffix)
        self.args = config.args if config.args is not None else self.base_args
        if config.rtol is not None or config.atol is not None:
            self.rtol, self.atol, self.tolerance_reason = config.rtol, config.atol, config.reason
        if config.dtype is not None:
            self.markers = (*type(self).markers, str(config.dtype).removeprefix("torch."))
        if config.dynamic:
            self.markers = (*self.markers, "dynamic")

    def create_model(self) -> nn.Module:
        """The op wrapped in a module with ``len(args)`` named inputs (x, y, z, w)."""
        kwargs = {**self.base_kwargs, **self.config.kwargs}
        if self.build is not None:
            model = _WRAPPERS[len(self.args)](type(self).build(**kwargs), {})  # type: ignore[misc]
        else:
            model = _WRAPPERS[len(self.args)](type(self).op, kwargs)  # type: ignore[arg-type]
        if self.config.dtype is not None:
            model = model.to(self.config.dtype)
        return model

    def create_inputs(self) -> tuple[torch.Tensor, ...]:
        """One tensor per :class:`Arg` recipe, in the config's dtype."""
        return tuple(a.make(dtype=self.config.dtype) for a in self.args)

    def get_dynamic_shapes(self) -> Any:
        """``{x: {axis: Dim}, y: None, ...}`` from the config's ``dynamic`` (one Dim per name)."""
        spec = self.config.dynamic
        if not spec:
            return None
        dims = {d.name: torch.export.Dim(d.name, min=d.min, max=d.max) for d in _dyns(spec)}
        return {
            ARG_NAMES[i]: ({a: dims[d.name] for a, d in spec[i].items()} if i in spec else None)
            for i in range(len(self.args))
        }

    def create_dynamic_inputs(self) -> list[tuple[torch.Tensor, ...]]:
        """Extra input sets: the k-th sets every dynamic dim to the k-th of its ``Dyn.sizes``."""
        spec = self.config.dynamic
        if not spec:
            return []
        dyns = {d.name: d for d in _dyns(spec)}
        count = max(len(d.sizes) for d in dyns.values())
        return [
            self._resized({n: d.sizes[k % len(d.sizes)] for n, d in dyns.items()})
            for k in range(count)
        ]

    def _resized(self, sizes: Mapping[str, int]) -> tuple[torch.Tensor, ...]:
        spec = self.config.dynamic or {}
        out = []
        for i, arg in enumerate(self.args):
            shape = list(arg.shape)
            for axis, d in spec.get(i, {}).items():
                shape[axis] = sizes[d.name]
            out.append(arg.make(tuple(shape), dtype=self.config.dtype))
        return tuple(out)

    @classmethod
    def get_test_configs(cls) -> list[TableCase]:
        """One instance per row of the class's ``table``."""
        return [cls(c) for c in cls.table]


class Registrar:
    """Builds, installs and registers table-driven cases for one suite module."""

    def __init__(self, module: str) -> None:
        self.module = module

    def case(
        self,
        name: str,
        doc: str,
        op: Callable[..., Any] | None = None,
        *,
        args: Sequence[Arg],
        configs: Sequence[Cfg] = (BASE,),
        build: Callable[..., nn.Module] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        rtol: float | None = None,
        atol: float | None = None,
        reason: str = "",
        markers: tuple[str, ...] = (),
    ) -> type[TableCase]:
        """Register base case ``name``: ``op(*inputs, **kwargs)`` or ``build(**kwargs)(*inputs)``.

        Exactly one of ``op`` (a function) and ``build`` (an ``nn.Module`` factory) is given.
        ``doc`` becomes the class docstring. ``rtol``/``atol``/``reason`` apply to every
        config that does not set its own.
        """
        if (op is None) == (build is None):
            raise TypeError(f"case {name!r}: give exactly one of op= and build=")
        if not 1 <= len(args) <= len(ARG_NAMES):
            raise TypeError(f"case {name!r}: 1 to {len(ARG_NAMES)} inputs supported")
        attrs: dict[str, Any] = {
            "__doc__": doc,
            "__module__": self.module,
            "name": name,
            "op": staticmethod(op) if op is not None else None,
            "build": staticmethod(build) if build is not None else None,
            "base_args": tuple(args),
            "base_kwargs": dict(kwargs or {}),
            "table": tuple(configs),
            "rtol": rtol,
            "atol": atol,
            "tolerance_reason": reason,
            "markers": markers,
        }
        cls_name = "".join(p.capitalize() for p in name.split("_")) + "Test"
        cls = type(cls_name, (TableCase,), attrs)
        module = sys.modules[self.module]
        existing = getattr(module, cls_name, None)
        if existing is not None and getattr(existing, "name", None) != name:
            raise TypeError(f"{self.module} already defines {cls_name}")
        setattr(module, cls_name, cls)
        return register_test(cls)

    def rows(self, table: Sequence[tuple[Any, ...]], **common: Any) -> None:
        """Register ``(name, doc, op, args[, configs])`` rows sharing the keywords ``common``."""
        for name, doc, op, args, *rest in table:
            extra = {"configs": rest[0]} if rest else {}
            self.case(name, doc, op, args=args, **{**common, **extra})
