"""JSON test definitions as pytest items (seed 003's ``pytest-iree`` options).

``pytest --test-file-directory DIR`` collects every ``*.json`` test definition under ``DIR``:
one item per definition × backend that takes its module, with the id
``<file>::<name>[<backend>]`` (``examples/json/add_quality.json::add_quality[iree]``). The test
type (``quality`` / ``benchmark`` / ``compstat``), the definition's ``markers`` and the backend
name are markers, so ``-m "cpu and benchmark"`` works. A definition that fails to load is one
failing item ``<file>::<name>`` whose message names the file, the field's JSON path and what
was expected; the other files still run. Every item, failing or not, is reported under its own
id (never "test session"). Backends: ``--parity-backend`` (default every available one).
Definitions read files only under the three directories unless ``--allow-outside-paths``.

Example::

    pytest --test-file-directory=examples/json --module-directory=examples/json \\
        --external-file-directory=examples/json -m quality
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from typing import Any

import pytest

from paritykit.pytest import markers as marker_registry
from paritykit.pytest import options as parity_options

_OPTIONS = pytest.StashKey[Any]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Seed 003's options (names as in the seed), plus ``--benchmark-margin``."""
    # One option group for the whole plugin: hooks.py describes it.
    group = parser.getgroup(parity_options.GROUP)
    add = group.addoption
    add("--test-file-directory", default=None, metavar="DIR",
        help="collect every *.json test definition under DIR (one test per definition x "
             "backend that takes its module)")
    add("--module-directory", default=None, metavar="DIR",
        help="module references in test definitions are relative to DIR (default: the test "
             "file directory)")
    add("--external-file-directory", default=None, metavar="DIR",
        help="every other path (mlir/onnx files, inputs, weights) is relative to DIR "
             "(default: the test file directory)")
    add("--artifact-directory", default="./artifacts", metavar="DIR",
        help="downloads and compiled modules are cached here (default ./artifacts)")
    add("--force-recompile", action="store_true", default=False,
        help="recompile modules even when a cached compiled module exists")
    add("--benchmark-margin", type=float, default=None, metavar="FRACTION",
        help="a benchmark fails when its median exceeds golden_time_ms by more than this "
             "(default: the definition's time_margin, else 0.2 = +20%%)")
    add("--allow-outside-paths", action="store_true", default=False,
        help="let test definitions read files outside the test file, module and external-file "
             "directories (absolute paths, ../, ~, file: URLs)")


def pytest_configure(config: pytest.Config) -> None:
    """Check the directories now (a UsageError, no traceback) and build the options."""
    test_dir = config.getoption("test_file_directory")
    if not test_dir:
        return
    from paritykit.jsontests import JsonOptions

    test_path = pathlib.Path(test_dir)
    dirs = {"--test-file-directory": test_path,
            "--module-directory": pathlib.Path(config.getoption("module_directory") or test_dir),
            "--external-file-directory": pathlib.Path(
                config.getoption("external_file_directory") or test_dir)}
    for flag, path in dirs.items():
        if not path.is_dir():
            raise pytest.UsageError(f"paritykit: {flag} {path}: no such directory")
    margin = config.getoption("benchmark_margin")
    if margin is not None and margin < 0:
        raise pytest.UsageError("paritykit: --benchmark-margin must be >= 0")
    config.stash[_OPTIONS] = JsonOptions(
        test_dir=test_path, module_dir=dirs["--module-directory"],
        external_dir=dirs["--external-file-directory"],
        artifact_dir=pathlib.Path(config.getoption("artifact_directory")),
        force_recompile=bool(config.getoption("force_recompile")), time_margin=margin,
        allow_outside_paths=bool(config.getoption("allow_outside_paths")))


class JsonFile(pytest.File):
    """One test definition file; its items are made by :func:`pytest_collection_modifyitems`."""

    def collect(self) -> Iterator[pytest.Item]:
        """Nothing on its own: entries are attached by the collection hook."""
        return iter(())


class JsonItem(pytest.Item):
    """One JSON test definition on one backend (or a definition that failed to load)."""

    def __init__(self, *, entry: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.entry = entry

    def runtest(self) -> None:
        """Run the entry; SKIPPED/UNSUPPORTED skip, a failing status fails with its message."""
        from paritykit.core.result import Status
        from paritykit.jsontests import run_entry
        from paritykit.jsontests.runner import entry_task
        from paritykit.pytest.hooks import runner

        entry, json_options = self.entry, self.config.stash[_OPTIONS]
        if entry.backend and not (entry.error or entry.skip):
            # In a worker of the session's pool, like parity items: a backend that crashes or
            # hangs on this definition costs this item only.
            task = entry_task(entry, json_options, _repro(self.config, entry.backend))
            result = runner(self.config).call(task)
        else:  # a load error or a skip: nothing of a backend's runs
            result = run_entry(entry, json_options)
        self.user_properties.append(("status", result.status.value))
        if result.message and not result.status.failed:
            self.user_properties.append(("message", result.message))
        if result.status in (Status.SKIPPED, Status.UNSUPPORTED):
            pytest.skip(result.message)
        if result.status.failed:
            raise JsonTestFailure(f"{result.status.value}: {result.message}")

    def reportinfo(self) -> tuple[pathlib.Path, None, str]:
        """The entry's id (``stem[backend]``) as the item's headline; pytest's default for an
        item without a Python location is "test session". It must be the tail of the node id:
        ``-v`` prints the node id with it."""
        return self.path, None, self.entry.id

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str:
        """The result's message alone (no traceback) for a JSON test failure."""
        if isinstance(excinfo.value, JsonTestFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))


def _repro(config: pytest.Config, backend: str) -> str:
    """The ``parity run`` command that reruns the definitions on one backend."""
    import shlex

    argv = ["parity", "run", "--test-file-directory", config.getoption("test_file_directory"),
            "-b", backend]
    for flag in ("--module-directory", "--external-file-directory"):
        value = config.getoption(flag.lstrip("-").replace("-", "_"))
        if value:
            argv += [flag, value]
    if config.getoption("allow_outside_paths"):
        argv.append("--allow-outside-paths")
    plugins = config.getoption("parity_plugin")
    return shlex.join([*argv, *(a for p in plugins for a in ("-p", p))])


class JsonTestFailure(Exception):
    """A JSON test finished with a failing status; the message is the whole report."""


def _register_markers(config: pytest.Config, entries: list[Any]) -> None:
    for entry in entries:
        for name in entry.markers:
            marker_registry.register(config, name, "marker from a JSON test definition")
        if entry.backend:
            marker_registry.register(config, entry.backend, f"runs on backend {entry.backend}")


@pytest.hookimpl(tryfirst=True)  # before -k / -m deselection, so they apply to these items
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    """Append one item per definition × backend found under ``--test-file-directory``."""
    if _OPTIONS not in config.stash:
        return
    from paritykit.jsontests import collect

    json_options = config.stash[_OPTIONS]
    entries = collect(json_options, parity_options.backend_names(config))
    _register_markers(config, entries)
    files: dict[str, JsonFile] = {}
    per_file: dict[str, list[pytest.Item | pytest.Collector]] = {}
    for entry in entries:
        path = pathlib.Path(entry.file).resolve()
        if entry.file not in files:
            files[entry.file] = JsonFile.from_parent(session, path=path)
        item = JsonItem.from_parent(files[entry.file], name=entry.id, entry=entry)
        for name in entry.markers:
            item.add_marker(name)
        if entry.backend:
            item.add_marker(entry.backend)
        items.append(item)
        per_file.setdefault(entry.file, []).append(item)
    # Report them as collected, so "collected N items" and -m/-k's "N selected" count them.
    for file, made in per_file.items():
        report = pytest.CollectReport(files[file].nodeid, "passed", None, made)
        config.hook.pytest_collectreport(report=report)
