"""Exceptions that carry a user-facing message (the CLI prints them without a traceback)."""

from __future__ import annotations

import inspect
import signal
from typing import Any


def where(obj: Any) -> str:
    """``module.Qualname (file:line)`` of a class, for messages that name two definitions."""
    name = f"{obj.__module__}.{obj.__qualname__}"
    try:
        return f"{name} ({inspect.getsourcefile(obj)}:{inspect.getsourcelines(obj)[1]})"
    except (OSError, TypeError):
        return name


class ParityError(Exception):
    """A user mistake or an environment problem; the message names the offender and the fix."""


class RegistryError(ParityError):
    """Two things registered under one name, or a name that is not registered."""


class ExportError(Exception):
    """``torch.export`` could not capture the case's model (status EXPORT_ERROR)."""


class LowerError(Exception):
    """A backend could not lower or compile a program (status LOWER_ERROR)."""


def code_failures() -> tuple[type[BaseException], ...]:
    """What a call into case, backend or ``-p`` code may raise that costs only that call.

    Every Exception, and SystemExit: code that calls ``sys.exit()`` ends its own load or result,
    never the run (it would end a run green having run nothing). KeyboardInterrupt too where
    SIGINT is ignored, as in a pool worker whose parent handles Ctrl-C: there it can only have
    been raised by code. Elsewhere a KeyboardInterrupt is the user's Ctrl-C and stops the run.

        >>> SystemExit in code_failures()
        True
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        return (Exception, SystemExit, KeyboardInterrupt)
    return (Exception, SystemExit)
