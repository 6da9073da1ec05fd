"""Shared fixtures: an isolated paritykit cache, isolated registries, helpers to run the CLI.

Every test gets ``PARITYKIT_CACHE_DIR`` pointing into its own temporary directory, so no test
reads or writes the user's cache. Plugin files loaded with ``-p`` register cases and backends
in process-wide registries; the registries (and the plugin modules in ``sys.modules``) are
restored after each test so one test's fakes never show up in another test's listing.
"""

from __future__ import annotations

import contextlib
import json
import pathlib
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import paritykit.suite  # noqa: F401 - registers the built-in cases (the registries' baseline)
from paritykit.core.cases import CASES
from paritykit.core.registry import BACKENDS
from paritykit.core.result import Result
from paritykit.run.worker import RunConfig, Task, Worker

TESTS = pathlib.Path(__file__).resolve().parent
FAKES = TESTS / "fakes"
#: Test-only backends that crash, abort or hang on ``relu`` and run every other program right,
#: the cases the route tests run them on, and what each does to ``relu``.
SELECTIVE = FAKES / "selective_crash_backends.py"
SELECTIVE_CASES = ("relu", "linear_nobias", "linear_3d")
#: backend -> (status of the victim, what its message says after "relu @ BACKEND: ")
SELECTIVE_FAILURES = {
    "fake-segv-some": ("CRASH", "worker process killed by signal SIGSEGV"),
    "fake-abort-some": ("CRASH", "worker process killed by signal SIGABRT"),
    "fake-hang-some": ("TIMEOUT", "no result after 5 s; worker killed"),
}
CRASHING_BACKENDS = FAKES / "crashing_backends.py"
HARNESS_BACKENDS = FAKES / "harness_backends.py"
USER_CASES = FAKES / "user_cases.py"

_BASES = {r.id: r.base for r in CASES.expand()}


def run_task(tmp_path: pathlib.Path, case: str, backend: str, cache: bool = True,
             **options: str) -> Result:
    """One built-in case on one backend in this process, through the real Worker.

    Artifacts go under ``tmp_path``; with ``cache`` the artifact cache lives there too.
    ``options`` are that backend's ``--backend-option`` values.
    """
    config = RunConfig(artifact_dir=str(tmp_path),
                       cache_dir=str(tmp_path / "cache") if cache else None,
                       backend_options={backend: options} if options else {})
    return Worker(config).run(Task(case, _BASES[case], backend))


# Derived from the package, like every other list of backends: one module per built-in backend.
BUILTIN_BACKENDS = tuple(
    name for name in BACKENDS.names()
    if type(BACKENDS.get(name)).__module__.startswith("paritykit.backends.")
)


@contextlib.contextmanager
def isolated_registries() -> Iterator[None]:
    """Undo every case/backend registration and plugin import made inside the block."""
    BACKENDS.discover()
    classes = dict(BACKENDS._classes)
    instances = dict(BACKENDS._instances)
    cases = dict(CASES._classes)
    plugins = {k for k in sys.modules if k.startswith("paritykit_plugin_")}
    try:
        yield
    finally:
        BACKENDS._classes.clear()
        BACKENDS._classes.update(classes)
        BACKENDS._instances.clear()
        BACKENDS._instances.update(instances)
        CASES._classes.clear()
        CASES._classes.update(cases)
        for name in [k for k in sys.modules if k.startswith("paritykit_plugin_")]:
            if name not in plugins:
                del sys.modules[name]


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> pathlib.Path:
    """Point paritykit's default cache at a per-test directory."""
    cache = tmp_path / "paritykit-cache"
    monkeypatch.setenv("PARITYKIT_CACHE_DIR", str(cache))
    return cache


@pytest.fixture(autouse=True)
def _isolated_registries() -> Iterator[None]:
    with isolated_registries():
        yield


@pytest.fixture(scope="session")
def registries() -> Callable[[], contextlib.AbstractContextManager[None]]:
    """For module-scoped fixtures: ``with registries(): ...`` isolates their registrations."""
    return isolated_registries


def read_jsonl(path: pathlib.Path) -> list[dict[str, Any]]:
    """Every line of a ``results.jsonl`` file, parsed (a bad line fails the test)."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def read_report(path: pathlib.Path) -> dict[str, Any]:
    """A ``--json`` report as a dict."""
    return json.loads(path.read_text(encoding="utf-8"))


def by_key(results: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Results keyed by (case, backend); a duplicate pair fails the test."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for r in results:
        key = (r["case"], r["backend"])
        assert key not in out, f"duplicate result for {key}"
        out[key] = r
    return out
