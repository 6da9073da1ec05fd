"""The plugin's own items: ``test_parity[<case>-<backend>]`` and
``test_autodiff[<check>-<framework>]``, under one collector with node id ``paritykit``.

A failing item shows the CLI's one-line message (``case @ backend: values differ — ...``), the
status, the artifact directory and a repro command, not a traceback of paritykit's internals.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pytest

from paritykit.pytest import markers

if TYPE_CHECKING:
    from paritykit.autodiff.adapters import TransformAdapter
    from paritykit.autodiff.checks import Check
    from paritykit.core.cases import CaseRef
    from paritykit.core.result import Result
    from paritykit.pytest.execution import ParityRunner

RUNNER: pytest.StashKey[ParityRunner] = pytest.StashKey()


class ParityFailure(Exception):
    """A parity item failed; ``str()`` is the whole report (message, status, where, repro)."""


class ParitySuite(pytest.Collector):
    """The parent of every paritykit item (node id ``paritykit``)."""

    prebuilt: list[pytest.Item]

    def collect(self) -> Iterable[pytest.Item | pytest.Collector]:
        # Built in pytest_collection_modifyitems (hooks.py) and reported through the
        # collection hooks from there, so "collected N items" counts them.
        return list(getattr(self, "prebuilt", []))


class _Item(pytest.Item):
    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> Any:
        if isinstance(excinfo.value, ParityFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        # Skips and failures point at where the case (or check) is defined.
        return (*source_of(self.definition()), self.name)

    def definition(self) -> object:
        """The class or function this item checks."""
        return None


def source_of(obj: object) -> tuple[Any, int]:
    """(file, 0-based line) of a class or function; the rootdir when unknown."""
    import inspect

    try:
        path = pathlib.Path(inspect.getsourcefile(obj) or ".")  # type: ignore[arg-type]
    except TypeError:
        return pathlib.Path("."), 0
    try:
        return path, inspect.getsourcelines(obj)[1] - 1  # type: ignore[arg-type]
    except (TypeError, OSError):  # made by a factory: its module is the best we have
        return path, 0


class ParityItem(_Item):
    """One case config on one backend."""

    ref: CaseRef
    backend: str
    result: Result
    device_checked = True  # runs on a device the backend reported as present

    def definition(self) -> object:
        return self.ref.cls

    def runtest(self) -> None:
        __tracebackhide__ = True
        runner = self.config.stash[RUNNER]
        self.result = runner.run(self.ref, self.backend)
        outcome(self.result, self.config)

    @property
    def xpassed(self) -> str | None:
        """The reason of a non-strict xfail entry this item passed despite, else None."""
        result = getattr(self, "result", None)
        if result is None or not result.expectation or result.status.value != "PASS":
            return None
        return f"passed despite a non-strict xfail entry: {result.expectation}"


def outcome(result: Result, config: pytest.Config) -> None:
    """Turn a Result into pytest's outcome: pass, skip, xfail or a ParityFailure."""
    __tracebackhide__ = True
    from paritykit.core.result import Status

    status = result.status
    if status in (Status.UNSUPPORTED, Status.SKIPPED):
        # -rs names the case's source (reportinfo), not this line; pytest.skip has no public
        # way to say so, hence its exception with _use_item_location.
        raise pytest.skip.Exception(f"{status.value}: {result.message}",
                                    _use_item_location=True)
    if status is Status.XFAIL and not config.option.runxfail:
        pytest.xfail(f"{result.raw_status} (expected: {result.expectation}): {result.message}")
    if status.failed or status is Status.XFAIL:
        raise ParityFailure(failure_text(result, config.option.verbose > 1
                                         or config.option.tbstyle == "long"))


def failure_text(result: Result, with_traceback: bool) -> str:
    """The message, then status / artifacts / repro lines; the worker's traceback on request."""
    raw = result.raw_status or result.status.value
    status = raw if raw == result.status.value else f"{raw} -> {result.status.value}"
    lines = [result.message or f"{result.case} @ {result.backend}: {raw}", f"status: {status}"]
    if result.artifact_dir:
        lines.append(f"artifacts: {result.artifact_dir}")
    if result.repro:
        lines.append(f"repro: {result.repro}")
    if result.traceback:
        lines.append(result.traceback.rstrip() if with_traceback
                     else "(the backend's traceback: run with -vv or --tb=long)")
    return "\n".join(lines)


class AutodiffItem(_Item):
    """One autodiff conformance check on one framework (``parity autodiff`` as tests)."""

    check: Check
    adapter: TransformAdapter

    def definition(self) -> object:
        return self.check.fn

    def runtest(self) -> None:
        __tracebackhide__ = True
        from paritykit.autodiff.checks import UNSUPPORTED, run_check

        result = run_check(self.check, self.adapter)
        if result.status == UNSUPPORTED:
            raise pytest.skip.Exception(f"UNSUPPORTED: {result.message}",
                                        _use_item_location=True)
        if result.failed:
            raise ParityFailure(f"{result.status} {result.check}[{result.framework}]: "
                                f"{result.message}")


def suite(session: pytest.Session) -> ParitySuite:
    """The collector every paritykit item hangs from."""
    return ParitySuite.from_parent(session, name="paritykit", nodeid="paritykit")


def parity_items(parent: ParitySuite, refs: list[CaseRef], backends: list[str]) -> list[Any]:
    """Case-major (a case's reference is built once for all its backends) parity items."""
    config = parent.config
    run_config = config.stash[RUNNER].config
    kinds = {name: device_kind(name, run_config.backend_options.get(name, {}))
             for name in backends}
    for ref in refs:
        for m in ref.markers:
            markers.register(config, m, "paritykit case marker")
    items = []
    for ref in refs:
        for name in backends:
            item = ParityItem.from_parent(parent, name=f"test_parity[{ref.id}-{name}]")
            item.ref, item.backend = ref, name
            for mark in [getattr(pytest.mark, name), pytest.mark.parity,
                         *markers.device_marks(kinds[name]),
                         *(getattr(pytest.mark, m) for m in ref.markers)]:
                item.add_marker(mark)
            # An unavailable backend or a skip entry is decided when the item runs (by the
            # CLI's planner), so its SKIPPED result is recorded like any other.
            items.append(item)
    return items


def device_kind(backend: str, options: dict[str, str]) -> str:
    """The device kind ``backend`` runs on: its ``device`` option, else its first GPU, else cpu
    (as :meth:`paritykit.core.backend.Backend.pick_device` decides)."""
    from paritykit.core.registry import BACKENDS

    try:
        usable = BACKENDS.get(backend).devices()
    except Exception:  # an unavailable framework may not even list devices
        usable = ["cpu"]
    wanted = options.get("device")
    if wanted in usable:
        return wanted
    return next((d for d in usable if d != "cpu"), "cpu")


def autodiff_items(parent: ParitySuite, spec: str) -> list[Any]:
    """One item per autodiff check x framework; an unavailable framework's items skip."""
    from paritykit.autodiff.adapters import ADAPTERS
    from paritykit.autodiff.checks import select_checks
    from paritykit.core.errors import ParityError
    from paritykit.pytest.options import ALL, split, usage_error

    requested = [n for n in split([spec]) if n != ALL]
    try:
        adapters = [ADAPTERS.get(n) for n in (requested or ADAPTERS.names())]
    except ParityError as exc:
        raise usage_error(f"--parity-autodiff: {exc} (write --parity-autodiff=NAME, or put "
                          "the option after the paths)") from None
    missing = {}
    for adapter in adapters:
        markers.register(parent.config, adapter.name, f"runs on the {adapter.name!r} "
                         "framework or backend")
        missing[adapter.name] = adapter.is_available()
    items = []
    for chk in select_checks():
        for adapter in adapters:
            item = AutodiffItem.from_parent(parent, name=f"test_autodiff[{chk.name}-"
                                                         f"{adapter.name}]")
            item.check, item.adapter = chk, adapter
            item.add_marker(pytest.mark.autodiff)
            item.add_marker(getattr(pytest.mark, adapter.name))
            reason = missing[adapter.name]
            if reason is not None:
                item.add_marker(pytest.mark.skip(
                    reason=f"{adapter.name} is not available: {reason}"))
            items.append(item)
    return items
