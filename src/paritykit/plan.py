"""Alias of :mod:`paritykit.run.plan`, where this module moved."""

import sys

from paritykit.run import plan as _moved
from paritykit.run.plan import *  # noqa: F403

sys.modules[__name__] = _moved
