"""Expanding cases × backends into work, deciding up front what cannot or need not run."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from paritykit.core.backend import CaseInfo
from paritykit.core.cases import CaseRef
from paritykit.core.errors import code_failures
from paritykit.core.expectations import ExpectationSet
from paritykit.core.keyword import compile_keyword
from paritykit.core.reference import case_info
from paritykit.core.registry import BACKENDS
from paritykit.core.result import Result, Status
from paritykit.run.attempt import Stage, fail


@dataclass(frozen=True)
class Task:
    """One unit of work: a case config on a backend."""

    case: str
    base: str
    backend: str


@dataclass(frozen=True)
class CallTask(Task):
    """Work that is not a registered case (a JSON test definition, an eval job): ``call(*args)``
    in a worker gives its value, a Result unless ``on_lost`` says otherwise.

    ``call`` must be a module-level function (it is pickled). ``repro`` is the command that
    reruns it, for a CRASH or TIMEOUT result the worker cannot write. ``on_lost(status, what,
    detail)``, when given, builds the value of a task whose worker crashed, timed out or whose
    ``call`` raised (``what`` is e.g. ``worker process killed by signal SIGSEGV``); without it
    that value is a Result with the pool's message grammar.
    """

    call: Callable[..., Any] = field(compare=False)
    args: tuple[Any, ...] = field(compare=False)
    repro: str = ""
    on_lost: Callable[[Status, str, str], Any] | None = field(default=None, compare=False)

    def invoke(self) -> Any:
        """``call(*args)`` in this process; when it raises and ``on_lost`` is given, the value
        is ``on_lost(RUN_ERROR, "Type: message", traceback)``, as a worker would report it."""
        try:
            return self.call(*self.args)
        except code_failures() as exc:
            if self.on_lost is None:
                raise
            return self.on_lost(Status.RUN_ERROR, f"{type(exc).__name__}: {exc}",
                                "".join(traceback.format_exception(exc)))


@dataclass
class Plan:
    """Tasks to run, and results already decided (UNSUPPORTED, SKIPPED, resumed)."""

    tasks: list[Task] = field(default_factory=list)
    decided: list[Result] = field(default_factory=list)
    backends: list[str] = field(default_factory=list)


def filter_keyword(refs: Iterable[CaseRef], keyword: str | None) -> list[CaseRef]:
    """Cases whose id, base name or markers match a ``-k`` expression."""
    if not keyword:
        return list(refs)
    match = compile_keyword(keyword)
    return [r for r in refs if match([r.id, r.base, *r.markers])]


def build_plan(
    refs: list[CaseRef],
    backends: list[str],
    seed: int,
    done: Iterable[tuple[str, str]] = (),
    expectations: ExpectationSet | None = None,
) -> Plan:
    """Cases × backends, case-major so one worker builds each case's reference once.

    A case whose configs or inputs cannot be made (its code raised) costs that case's results,
    one RUN_ERROR per backend, decided here.
    """
    plan = Plan(backends=list(backends))
    skip = set(done)
    unavailable = {name: BACKENDS.info(name).reason for name in backends}
    for ref in refs:
        info: CaseInfo | BaseException | None = ref.error
        for name in backends:
            if (ref.id, name) in skip:
                continue
            if unavailable[name]:
                plan.decided.append(Result(ref.id, name, Status.SKIPPED, base=ref.base,
                                           message=f"{name} is not available: {unavailable[name]}"))
                continue
            skip_reason = expectations.skip_reason(ref.id, name) if expectations else None
            if skip_reason:
                plan.decided.append(Result(ref.id, name, Status.SKIPPED, base=ref.base,
                                           message=f"{ref.id} @ {name}: skipped: {skip_reason}"))
                continue
            if info is None:
                info = _case_info(ref, seed)
            if isinstance(info, BaseException):
                plan.decided.append(fail(Result(ref.id, name, Status.RUN_ERROR, base=ref.base),
                                         Stage.SETUP, info))
                continue
            reason = BACKENDS.get(name).unsupported_reason(info)
            if reason:
                plan.decided.append(Result(ref.id, name, Status.UNSUPPORTED, base=ref.base,
                                           message=f"{ref.id} @ {name}: {reason}"))
                continue
            plan.tasks.append(Task(ref.id, ref.base, name))
    return plan


def _case_info(ref: CaseRef, seed: int) -> CaseInfo | BaseException:
    try:
        return case_info(ref, seed)
    except code_failures() as exc:
        return exc
