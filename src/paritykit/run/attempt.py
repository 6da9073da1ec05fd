"""One attempt: prepare a program on a backend, run its input sets, compare, classify.

This is the only place that turns a backend's exceptions into statuses (EXPORT_ERROR,
LOWER_ERROR, RUN_ERROR) and outputs into PASS / MISMATCH. Every route — ``parity run``,
golden generate and compare, the pytest items — calls :func:`attempt` inside a worker process
of :class:`paritykit.run.pool.Pool`, so a crash there is a CRASH of that one result.

Example (in a worker, with a built case)::

    reference = Reference(input_sets, expected, tolerance=rules.resolver(...))
    attempted = attempt(backend, program, reference, result, options={}, workdir=outdir)
"""

from __future__ import annotations

import enum
import pathlib
import re
import shutil
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from paritykit.core.backend import Backend, Prepared
from paritykit.core.compare import compare_input_sets, message
from paritykit.core.errors import ExportError, code_failures
from paritykit.core.program import Program
from paritykit.core.result import Result, Status
from paritykit.core.tolerance import Tolerance
from paritykit.files.artifacts import copy_file
from paritykit.run.cache import ArtifactCache, Found, backend_identity, cache_key

Arrays = list[list[np.ndarray]]


class Stage(enum.Enum):
    """Where an attempt failed; each stage has one status and one phrase in messages."""

    SETUP = (Status.RUN_ERROR, "case setup or torch reference failed")
    PREPARE = (Status.LOWER_ERROR, "lowering failed")
    RUN = (Status.RUN_ERROR, "run failed")
    GRADIENTS = (Status.RUN_ERROR, "gradients failed")

    @property
    def status(self) -> Status:
        """The status of a failure in this stage."""
        return self.value[0]

    @property
    def phrase(self) -> str:
        """``lowering failed`` etc., as the message says it."""
        return self.value[1]


def fail(result: Result, stage: Stage, exc: BaseException) -> Result:
    """Record ``exc`` raised in ``stage`` on ``result``: status, message, traceback.

    An :class:`~paritykit.core.errors.ExportError` is EXPORT_ERROR whatever the stage: the backend
    lowered nothing, ``torch.export`` itself could not capture the program.
    """
    if isinstance(exc, ExportError):
        result.status, what = Status.EXPORT_ERROR, "export failed"
    else:
        result.status, what = stage.status, stage.phrase
    result.message = error_message(result.case, result.backend, what, exc)
    result.traceback = "".join(traceback.format_exception(exc))
    return result


@dataclass(frozen=True)
class Reference:
    """What a backend is fed and judged against.

    ``expected`` is None when nothing is compared (``golden generate`` stores what the backend
    gives). ``label`` names who is compared in a mismatch message; the backend by default.
    """

    input_sets: Arrays
    expected: Arrays | None
    tolerance: Callable[[str], Tolerance]
    label: str | None = None


@dataclass(frozen=True)
class CacheSlot:
    """The artifact cache, and what the lowered program depends on besides the backend."""

    cache: ArtifactCache
    #: Called only when the backend is cacheable (hashing a model's weights is not free).
    key_parts: Callable[[], Mapping[str, Any]] = dict

    def key(self, backend: Backend, options: Mapping[str, str]) -> str:
        """The content-addressed key: program parts, backend name, versions, code, host."""
        return cache_key({**self.key_parts(), **backend_identity(backend),
                          "options": dict(options)})


@dataclass(frozen=True)
class Attempted:
    """What an attempt that got through its stages leaves: the prepared program (a timing loop
    reuses it) and its outputs, one list per input set."""

    prepared: Prepared
    outputs: Arrays


def attempt(backend: Backend, program: Program, reference: Reference, result: Result, *,
            options: Mapping[str, str], workdir: pathlib.Path,
            cache: CacheSlot | None = None) -> Attempted | None:
    """Prepare ``program`` on ``backend``, run every input set, compare; fill in ``result``.

    Returns the prepared program and its outputs, or None when a stage failed, in which case
    ``result`` carries the status and message. Never raises for a backend's failure.
    """
    bound = program.with_options(options)
    start = time.perf_counter()
    try:
        prepared = prepare(backend, bound, workdir, result, cache)
    except code_failures() as exc:
        fail(result, Stage.PREPARE, exc)
        return None
    result.prepare_s = time.perf_counter() - start
    result.stats.update(prepared.stats)
    result.device = prepared.device
    if prepared.artifact is not None:
        result.artifact = str(prepared.artifact)
    try:
        actual = run_sets(prepared, reference.input_sets, result)
    except code_failures() as exc:
        fail(result, Stage.RUN, exc)
        return None
    result.stats.update(prepared.stats)  # again: backends may count things while running
    if reference.expected is None:
        result.status = Status.PASS
    else:
        judge(result, actual, reference)
    return Attempted(prepared, actual)


def run_sets(prepared: Prepared, input_sets: Arrays, result: Result) -> Arrays:
    """Every input set through ``prepared``, on copies (a backend that writes into its inputs
    cannot change what is stored or compared); ``result.run_s`` is the first set's time."""
    actual = []
    for k, inputs in enumerate(input_sets):
        start = time.perf_counter()
        actual.append(_arrays(prepared.run([a.copy() for a in inputs])))
        if k == 0:
            result.run_s = time.perf_counter() - start
    return actual


def _arrays(outputs: Any) -> list[np.ndarray]:
    """A backend's outputs, checked: a list or tuple of NumPy arrays (anything else is the
    backend's failure to run, not the comparator's)."""
    if not isinstance(outputs, (list, tuple)):
        raise TypeError(f"Prepared.run returned {type(outputs).__name__}; it must return a "
                        "list of numpy arrays, one per output")
    wrong = [(i, o) for i, o in enumerate(outputs) if not isinstance(o, (np.ndarray, np.generic))]
    if wrong:
        i, o = wrong[0]
        raise TypeError(f"Prepared.run returned {type(o).__name__} as output {i}; each output "
                        "must be a numpy array")
    return [np.asarray(o) for o in outputs]


def judge(result: Result, actual: Arrays, reference: Reference) -> None:
    """PASS or MISMATCH by the comparator, with its figures and message on ``result``."""
    assert reference.expected is not None
    k, worst = compare_input_sets(actual, reference.expected, reference.tolerance)
    result.status = Status.PASS if worst.ok else Status.MISMATCH
    result.message = message(result.case, reference.label or result.backend, worst, k)
    result.record_comparison(worst)


def prepare(backend: Backend, program: Program, workdir: pathlib.Path, result: Result,
            cache: CacheSlot | None = None) -> Prepared:
    """``backend.prepare``, through the artifact cache when there is one and the backend can.

    ``result.cache`` says hit, miss, forced, rebuilt or off. ``rebuilt``: the entry failed its
    digest check, or verified but ``backend.load`` raised; it was dropped and prepared afresh
    (once), and ``result.stats["cache_rebuilt"]`` says why. A prepared artifact is copied into
    ``workdir`` so it sits beside the result whatever the cache did.

    Example (in a worker)::

        prepared = prepare(backend, program, outdir, result, CacheSlot(ArtifactCache(root)))
    """
    workdir.mkdir(parents=True, exist_ok=True)
    if cache is None or not backend.cacheable:
        result.cache = "off"
        return backend.prepare(program, workdir)
    key = cache.key(backend, program.options)
    prepared = cached(cache.cache, backend.name, key, result,
                      build=lambda staged: backend.prepare(program, staged),
                      reuse=lambda entry: backend.load(program, entry))
    if prepared.artifact is not None:
        local = workdir / prepared.artifact.name
        copy_file(prepared.artifact, local)
        prepared.artifact = local
    return prepared


def cached(store: ArtifactCache, backend: str, key: str, result: Result, *,
           build: Callable[[pathlib.Path], Prepared],
           reuse: Callable[[pathlib.Path], Prepared]) -> Prepared:
    """The one way through the artifact cache: ``reuse`` a verified entry, else ``build`` into
    a staging folder and commit it. ``result.cache`` says hit, miss, forced or rebuilt.

    Programs (:func:`prepare`) and JSON definitions' module files both come through here, so a
    bad entry is dropped and rebuilt the same way for either.
    """
    prepared = _reuse(store, backend, key, result, reuse)
    return prepared if prepared is not None else _build(store, backend, key, build)


def _reuse(store: ArtifactCache, backend: str, key: str, result: Result,
           reuse: Callable[[pathlib.Path], Prepared]) -> Prepared | None:
    """The verified entry loaded, or None to build (``result.cache`` set either way)."""
    found = store.find(backend, key)
    if found.entry is not None:
        try:
            prepared = reuse(found.entry)
        except code_failures() as exc:
            # The files are what was committed, so a stale or unloadable entry, not a lowering
            # failure: build it again rather than blame the backend on every later run.
            store.drop(backend, key)
            found = Found(None, f"load failed: {_headline(exc)}")
        else:
            result.cache = "hit"
            return prepared
    if found.dropped:
        result.cache = "rebuilt"
        result.stats["cache_rebuilt"] = found.dropped
    else:
        result.cache = "forced" if store.force else "miss"
    return None


def _build(store: ArtifactCache, backend: str, key: str,
           build: Callable[[pathlib.Path], Prepared]) -> Prepared:
    """Prepare into a staging dir and commit it; the artifact is named inside the entry."""
    staged = store.staging(backend)
    try:
        prepared = build(staged)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)  # no half-written staging dirs
        raise
    entry = store.commit(backend, key, staged)
    if prepared.artifact is not None and prepared.artifact.is_relative_to(staged):
        prepared.artifact = entry / prepared.artifact.relative_to(staged)
    return prepared


def error_message(case: str, backend: str, what: str, exc: BaseException) -> str:
    """``case @ backend: what — Type: first line`` (the comparator's grammar for errors)."""
    if isinstance(exc, ExportError) and exc.__cause__ is not None:
        exc = exc.__cause__
    root = exc
    while root.__cause__ is not None:
        root = root.__cause__
    if root is exc:
        return f"{case} @ {backend}: {what} — {_headline(exc)}"
    # Wrappers (e.g. the ONNX exporter's ConversionError) put the real reason at the root.
    return f"{case} @ {backend}: {what} — {_headline(root)} (via {type(exc).__name__})"


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _headline(exc: BaseException) -> str:
    lines = [x.strip() for x in _ANSI.sub("", str(exc)).strip().splitlines() if x.strip()]
    # Native errors often open with where they were raised ("Check ... failed at x.cpp:151:");
    # the reason follows, so such lead-in lines are dropped and the rest joined.
    first = lines[0] if lines else ""
    if first.endswith(":"):
        first = " | ".join([x for x in lines if not x.endswith(":")][:3]) or first
    if len(first) > 300:
        first = first[:297] + "..."
    return f"{type(exc).__name__}: {first}"
