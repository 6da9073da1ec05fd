"""Alias of :mod:`paritykit.run.pool`, where this module moved."""

import sys

from paritykit.run import pool as _moved
from paritykit.run.pool import *  # noqa: F403

sys.modules[__name__] = _moved
