"""Exceptions that carry a user-facing message (the CLI prints them without a traceback)."""

from __future__ import annotations

import inspect
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
