"""The plugin's hook implementations (``plugin.py`` registers this module).

The suite is switched on by ``--parity-backend``: every registered case config (built-in suite
plus ``--parity-plugin`` files) on every named backend becomes ``test_parity[<case>-<backend>]``
(``--parity-cases`` narrows it; ``--parity-cases none`` adds none). ``--parity-autodiff`` adds
``test_autodiff[<check>-<framework>]``. Without these options no item is added and nothing
else changes, except that a test marked ``cuda`` / ``metal`` / ``gpu`` skips on a machine
without that device.
"""

from __future__ import annotations

import pathlib
from typing import Any

import pytest

from paritykit.pytest import fixtures, markers, options
from paritykit.pytest.items import RUNNER, ParityItem, autodiff_items, parity_items, suite


def pytest_addoption(parser: pytest.Parser) -> None:
    """Every ``--parity-*`` option, in the "paritykit" group."""
    options.add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    """Register markers; with parity options, validate them now (a UsageError, no traceback)."""
    markers.register_static(config)
    if config.option.parity_isolate and not hasattr(config, "workerinput"):
        config.issue_config_time_warning(pytest.PytestDeprecationWarning(
            "paritykit: --parity-isolate does nothing now: items run in worker processes by "
            "default (--parity-in-process runs them in pytest's)"), stacklevel=2)
    active = options.active(config)
    if active:
        options.backend_names(config)  # loads --parity-plugin files; unknown names fail here
        runner(config)
    markers.register_backends(config, force=active or bool(config.option.markers))


def runner(config: pytest.Config) -> Any:
    """The session's ParityRunner (made once)."""
    if RUNNER not in config.stash:
        from paritykit.pytest.execution import make_runner

        config.stash[RUNNER] = make_runner(config)
    return config.stash[RUNNER]


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    """One line naming the parity backends and where results go."""
    if not options.suite_requested(config):
        return None
    names = options.backend_names(config)
    return [f"paritykit: backends {', '.join(names)}; seed {config.option.parity_seed}; "
            f"results in {pathlib.Path(config.option.parity_artifact_dir, 'results.jsonl')}"]


def pytest_sessionstart(session: pytest.Session) -> None:
    """Start a fresh results.jsonl (once: not in xdist workers, which append to it)."""
    config = session.config
    if options.suite_requested(config) and not hasattr(config, "workerinput"):
        runner(config).results_path.unlink(missing_ok=True)


@pytest.hookimpl(tryfirst=True)  # before -k / -m deselect, so they apply to our items
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    """Append the parity suite and autodiff items."""
    want_suite = options.suite_requested(config)
    if not (want_suite or config.option.parity_autodiff):
        return
    parent = suite(session)
    parent.prebuilt = []
    if want_suite:
        runner(config)
        parent.prebuilt += parity_items(parent, selected_cases(config),
                                        options.backend_names(config))
    if config.option.parity_autodiff:
        parent.prebuilt += autodiff_items(parent, config.option.parity_autodiff)
    # The public collection hooks, so the terminal counts the items and plugins see them.
    session.ihook.pytest_collectstart(collector=parent)
    report = session.ihook.pytest_make_collect_report(collector=parent)
    session.ihook.pytest_collectreport(report=report)
    items.extend(x for x in report.result if isinstance(x, pytest.Item))


def selected_cases(config: pytest.Config) -> list[Any]:
    """Case configs named by ``--parity-cases`` (all when absent), of ``--parity-shard`` K/N
    when given (before ``-k``, which pytest applies to the items)."""
    from paritykit.core.cases import CASES, select
    from paritykit.core.errors import ParityError
    from paritykit.run.shard import shard_of

    options.load(config)
    try:
        refs = select(CASES.expand(), options.split(config.option.parity_cases))
    except ParityError as exc:
        raise options.usage_error(f"--parity-cases: {exc}") from None
    if config.option.parity_shard is None:
        return refs
    try:
        return shard_of(refs, options.backend_names(config), config.option.parity_shard,
                        config.option.parity_durations)
    except ParityError as exc:
        raise options.usage_error(f"--parity-shard: {exc}") from None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``parity_backend`` over the selected backends."""
    fixtures.generate(metafunc)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip a test marked with a device this machine lacks, with the reason."""
    reason = markers.missing_device(item)
    if reason is not None and not isinstance(item, ParityItem):
        raise pytest.skip.Exception(reason, _use_item_location=True)  # report the test's line


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A pass despite a ``strict = false`` xfail entry is reported as XPASS, as pytest does."""
    report = yield
    if isinstance(item, ParityItem) and call.when == "call" and report.passed:
        reason = item.xpassed
        if reason is not None:
            report.wasxfail = reason
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop the session's worker processes."""
    if RUNNER in session.config.stash:
        session.config.stash[RUNNER].close()
