"""The ``parity`` command line: a dispatcher (:mod:`paritykit.cli.main`), one module per
subcommand and the option builders they share (:mod:`paritykit.cli.common`).

``main`` is re-exported here so ``paritykit.cli:main`` stays the console entry point.
"""

from paritykit.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
