"""Test-only fake backend that is never available, for the pytest plugin's skip tests.

Not a real backend: it exists so tests can check that an unavailable backend's items skip
with the reason its ``is_available`` gives.
"""

from __future__ import annotations

import paritykit as pk


@pk.register_backend
class FakeUnavailableBackend(pk.Backend):
    """Fake backend for testing the plugin: reports itself unavailable."""

    name = "fake-unavailable"

    def is_available(self) -> str | None:
        return "fake: never available (pip install nothing-at-all)"
