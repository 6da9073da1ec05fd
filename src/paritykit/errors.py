"""Exceptions that carry a user-facing message (the CLI prints them without a traceback)."""

from __future__ import annotations


class ParityError(Exception):
    """A user mistake or an environment problem; the message names the offender and the fix."""


class RegistryError(ParityError):
    """Two things registered under one name, or a name that is not registered."""


class ExportError(Exception):
    """``torch.export`` could not capture the case's model (status EXPORT_ERROR)."""


class LowerError(Exception):
    """A backend could not lower or compile a program (status LOWER_ERROR)."""
