"""The backend protocol: ``Backend.prepare(program, workdir) -> Prepared``, then ``Prepared.run``.

Modelled on ONNX's ``Backend.prepare -> BackendRep.run``. A backend is one module; the framework
it wraps is imported inside ``prepare`` (and ``is_available``) so listing backends stays cheap
and a missing framework only affects that backend.
"""

from __future__ import annotations

import functools
import importlib.metadata
import pathlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from paritykit.core.errors import LowerError
from paritykit.core.program import Program


@dataclass(frozen=True)
class Capabilities:
    """What a backend can take; the planner marks other cases UNSUPPORTED with the reason.

    ``dtypes`` of None means every dtype paritykit carries.
    """

    dtypes: frozenset[str] | None = None
    dynamic_shapes: bool = True
    devices: tuple[str, ...] = ("cpu",)
    max_rank: int | None = None
    #: Why the limits exist (appended to UNSUPPORTED messages).
    why: str = ""

    @staticmethod
    def all_dtypes_except(*names: str) -> frozenset[str]:
        """Every dtype paritykit carries, minus ``names``."""
        from paritykit.core.dtypes import carried_dtypes

        return frozenset(carried_dtypes()) - set(names)


@dataclass(frozen=True)
class CaseInfo:
    """Static facts about a case config, known before anything is lowered."""

    id: str
    input_dtypes: tuple[str, ...]
    input_ranks: tuple[int, ...]
    dynamic: bool


class Prepared:
    """A program lowered for one backend, ready to run.

    Subclasses implement :meth:`run`; ``artifact`` is the file the backend wrote (``.onnx``,
    ``.pt2``, ...) and ``stats`` anything countable about it (sizes, op counts, compile time).
    """

    artifact: pathlib.Path | None = None
    #: Where it runs: "cpu", "cuda" or "metal" (recorded in the result's ``device`` field).
    device: str = "cpu"
    stats: dict[str, Any]

    def __init__(self) -> None:
        self.stats = {}

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """Run on NumPy inputs (bf16 as ml_dtypes.bfloat16) and return NumPy outputs."""
        raise NotImplementedError


def check_option_keys(backend: str, options: dict[str, str], known: Sequence[str]) -> None:
    """Reject ``--backend-option`` keys a backend does not have, naming the ones it has.

    >>> check_option_keys("iree", {"flags": ""}, ("flags", "driver"))
    """
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ValueError(f"unknown {backend} backend option(s) {', '.join(unknown)}; "
                         f"known: {', '.join(known)}")


@functools.cache
def _versions(packages: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    # Reading distribution metadata costs milliseconds; versions cannot change in a process.
    out: list[tuple[str, str]] = []
    for dist in packages:
        try:
            out.append((dist, importlib.metadata.version(dist)))
        except importlib.metadata.PackageNotFoundError:
            out.append((dist, "missing"))
    return tuple(out)


class Backend:
    """Base class of every backend; subclass it and decorate with ``@pk.register_backend``.

    Example::

        @pk.register_backend
        class MyBackend(pk.Backend):
            name = "my-backend"

            def prepare(self, program, workdir):
                return MyPrepared(program.exported().module())
    """

    name: ClassVar[str] = ""
    capabilities: ClassVar[Capabilities] = Capabilities()
    #: Run only in worker processes that never host another backend (framework side effects).
    needs_own_process: ClassVar[bool] = False
    #: Distributions whose versions identify this backend's output (part of the cache key).
    packages: ClassVar[tuple[str, ...]] = ("torch",)
    #: One-line description shown by ``parity backends``.
    description: ClassVar[str] = ""
    #: Listing order (lower first); the reference sorts before everything else.
    rank: ClassVar[int] = 100
    #: True when ``load`` can rebuild a Prepared from a workdir written by ``prepare``.
    cacheable: ClassVar[bool] = False
    #: True when :meth:`gradients` is implemented (``parity run --grad``).
    supports_grad: ClassVar[bool] = False
    #: The same route with its optimisations off, as (backend name, backend options), for
    #: ``parity bench``'s baseline column; None when the backend has no such switch.
    baseline: ClassVar[tuple[str, dict[str, str]] | None] = None
    #: The ``--backend-option`` keys this backend reads: another key is a usage error before
    #: anything runs. None (a backend that does not say) accepts any key.
    option_keys: ClassVar[tuple[str, ...] | None] = None
    #: Module files :meth:`prepare_module` takes besides torch programs ("mlir", "onnx", ...).
    module_kinds: ClassVar[frozenset[str]] = frozenset()

    def is_available(self) -> str | None:
        """None when usable here, otherwise why not and how to install what is missing."""
        return None

    def versions(self) -> dict[str, str]:
        """Versions of the packages this backend depends on (missing ones as 'missing')."""
        return dict(_versions(self.packages))

    def unsupported_reason(self, case: CaseInfo) -> str | None:
        """Why this backend cannot take ``case`` (from :attr:`capabilities`), or None."""
        caps = self.capabilities
        reason = None
        if caps.dtypes is not None:
            missing = sorted(set(case.input_dtypes) - caps.dtypes)
            if missing:
                reason = f"{self.name} does not support dtype {', '.join(missing)}"
        if reason is None and case.dynamic and not caps.dynamic_shapes:
            reason = f"{self.name} does not support dynamic shapes"
        if reason is None and caps.max_rank is not None and any(
            r > caps.max_rank for r in case.input_ranks
        ):
            reason = f"{self.name} supports tensors of rank <= {caps.max_rank}"
        if reason and caps.why:
            reason += f" ({caps.why})"
        return reason

    def devices(self) -> list[str]:
        """The device kinds this backend can use on this machine (its capabilities ∩ torch's).

        Backends whose framework finds devices itself (JAX, MLX) override this.
        """
        from paritykit.core.devices import detect_devices

        present = detect_devices()
        return [d for d in self.capabilities.devices if d in present]

    def pick_device(self, program: Program) -> str:
        """``--backend-option NAME.device=KIND`` if given, else the first GPU kind available.

        Raises:
            LowerError: the requested kind is not usable here (the message lists what is).
        """
        usable = self.devices()
        wanted = program.options.get("device")
        if wanted is None:
            return next((d for d in usable if d != "cpu"), "cpu")
        if wanted not in usable:
            raise LowerError(f"{self.name}.device={wanted!r} is not usable here; "
                             f"this backend can use: {', '.join(usable)}")
        return wanted

    def prepare(self, program: Program, workdir: pathlib.Path) -> Prepared:
        """Export / lower / compile ``program``; write the artifact under ``workdir``."""
        raise NotImplementedError

    def gradients(self, program: Program, run_seed: int) -> list[tuple[str, np.ndarray]]:
        """Gradients of ``sum(output * cotangent)`` w.r.t. float inputs and parameters, through
        this backend's training path (see :mod:`paritykit.core.gradients`); only if
        supports_grad."""
        raise NotImplementedError(f"backend {self.name!r} has no training path")

    def load(self, program: Program, workdir: pathlib.Path) -> Prepared:
        """Rebuild a Prepared from a cached ``workdir`` (only when :attr:`cacheable`)."""
        raise NotImplementedError(f"backend {self.name!r} has no cached form")

    def prepare_module(self, kind: str, path: pathlib.Path, workdir: pathlib.Path,
                       flags: Sequence[str] = (), options: dict[str, str] | None = None
                       ) -> Prepared:
        """Load a module file that is not a torch program (JSON tests' ``mlir``/``onnx``).

        ``kind`` is one of :attr:`module_kinds`; ``flags`` go to the backend's compiler,
        ``options`` (``driver``, ``function``) to its runtime. A compiled artifact is written
        under ``workdir`` and named by ``Prepared.artifact``; its suffix is a kind this method
        reopens without compiling (``vmfb``, ``xml``), which is how the JSON tests' cache
        reuses it.
        """
        raise NotImplementedError(f"backend {self.name!r} takes no {kind} module files")


@dataclass
class BackendInfo:
    """What ``parity backends`` shows about one backend."""

    name: str
    available: bool
    reason: str
    description: str
    origin: str
    versions: dict[str, str] = field(default_factory=dict)
    #: Device kinds usable here (empty when unavailable).
    devices: list[str] = field(default_factory=list)
