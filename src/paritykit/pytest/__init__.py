"""paritykit's pytest plugin (registered through the ``pytest11`` entry point).

Example::

    from paritykit.pytest import parametrize_backends

    @parametrize_backends()
    def test_runs_everywhere(parity_backend, device):
        ...
"""

from paritykit.pytest.fixtures import parametrize_backends

__all__ = ["parametrize_backends"]
