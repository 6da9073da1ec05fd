"""Running one backend's job in a process of its own, so a crash or a hang costs one result.

A job is a module-level function and picklable arguments; the child loads the run's ``-p``
plugins, sets the thread budget, sends back the function's return value (or the error it
raised) through a pipe. A child that dies or overruns its time limit yields CRASH / TIMEOUT
through the caller's ``on_failure``. Framework output goes to a log file, not the console.
"""

from __future__ import annotations

import faulthandler
import multiprocessing
import multiprocessing.connection
import os
import pathlib
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from paritykit.result import Status

T = TypeVar("T")


def set_threads(threads: int) -> None:
    """Thread budget of this process: torch's pools (backends read ``torch.get_num_threads``)."""
    import torch

    os.environ["OMP_NUM_THREADS"] = str(threads)
    torch.set_num_threads(threads)


def load_plugins(plugins: Sequence[str]) -> None:
    """Discover the built-in backends and import the user's ``-p`` files."""
    from paritykit.registry import BACKENDS, load_plugin

    BACKENDS.discover()
    for plugin in plugins:
        load_plugin(plugin)


def _child(conn: multiprocessing.connection.Connection, fn: Callable[..., Any],
           args: tuple[Any, ...], plugins: tuple[str, ...], threads: int, log: str) -> None:
    pathlib.Path(log).parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    faulthandler.enable()  # a segfault leaves the Python stack in the log
    try:
        set_threads(threads)
        load_plugins(plugins)
        conn.send(("ok", fn(*args)))
    except BaseException as exc:  # the parent turns it into a result; nothing may escape
        conn.send(("error", f"{type(exc).__name__}: {exc}",
                   "".join(traceback.format_exception(exc))))
    sys.stdout.flush()


def _tail(log: pathlib.Path, lines: int = 20) -> str:
    try:
        text = log.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(text[-lines:])


def call(fn: Callable[..., T], args: tuple[Any, ...], *, isolate: bool,
         plugins: tuple[str, ...], threads: int, timeout_s: float, log: pathlib.Path,
         on_failure: Callable[[Status, str, str], T]) -> T:
    """``fn(*args)``, in a spawned process when ``isolate`` (else here, with ``threads`` set).

    ``on_failure(status, message, detail)`` builds the job's result when the process crashed
    (CRASH), ran past ``timeout_s`` (TIMEOUT) or ``fn`` raised (RUN_ERROR).

    Example::

        call(validate_backend, (options, "onnxruntime"), isolate=True, plugins=(), threads=1,
             timeout_s=600, log=pathlib.Path("out/logs/x.log"), on_failure=make_failed)
    """
    if not isolate:
        set_threads(threads)
        try:
            return fn(*args)
        except Exception as exc:
            return on_failure(Status.RUN_ERROR, f"{type(exc).__name__}: {exc}",
                              "".join(traceback.format_exception(exc)))
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(child, fn, args, plugins, threads, str(log)),
                          daemon=True, name="parity-eval-job")
    process.start()
    child.close()
    answered = False
    try:
        ready = multiprocessing.connection.wait([parent, process.sentinel], timeout=timeout_s)
        if parent in ready:
            try:
                message = parent.recv()
            except EOFError:
                message = None
            answered = message is not None
            if message is not None and message[0] == "ok":
                return message[1]
            if message is not None:
                return on_failure(Status.RUN_ERROR, message[1], message[2])
        if not ready:
            return on_failure(Status.TIMEOUT, f"no result within {timeout_s:g} s; killed",
                              _tail(log))
        process.join(5)
        code = process.exitcode
        how = (f"killed by signal {-code}" if code is not None and code < 0
               else f"exited with status {code}")
        return on_failure(Status.CRASH, f"backend process {how}", _tail(log))
    finally:
        # A child that answered exits by itself; killing it mid-exit would leak its semaphores.
        process.join(30 if answered else 0)
        if process.is_alive():
            process.kill()
            process.join(5)
        parent.close()
