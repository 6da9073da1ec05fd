"""Running entries of backends that need a process of their own (``needs_own_process``).

JAX (torchax) changes torch process-wide: after it ran, dynamo-based backends (aot-eager,
inductor) fail with "PyTorch is not linked with support for jax devices". Such a backend's
entries run in one spawned child process per backend, kept for the session.
"""

from __future__ import annotations

import atexit
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from paritykit.jsontests.runner import Entry, JsonOptions, run_entry
from paritykit.result import Result, Status

_POOLS: dict[str, ProcessPoolExecutor] = {}


def run_entry_isolated(entry: Entry, options: JsonOptions) -> Result:
    """:func:`run_entry`, in a child process when the entry's backend needs one."""
    from paritykit.registry import BACKENDS

    if entry.backend is None or not BACKENDS.get(entry.backend).needs_own_process:
        return run_entry(entry, options)
    pool = _POOLS.get(entry.backend)
    if pool is None:
        pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        _POOLS[entry.backend] = pool
    try:
        return pool.submit(run_entry, entry, options).result()
    except BrokenProcessPool:
        _POOLS.pop(entry.backend, None)
        return Result(case=entry.name, backend=entry.backend, status=Status.CRASH,
                      base=entry.file, message=f"{entry.id}: the {entry.backend} worker "
                                               "process died")


@atexit.register
def shutdown() -> None:
    """Stop every child process."""
    while _POOLS:
        _, pool = _POOLS.popitem()
        pool.shutdown(cancel_futures=True)
