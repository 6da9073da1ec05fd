"""Alias of :mod:`paritykit.run.worker`, where this module moved."""

import sys

from paritykit.run import worker as _moved
from paritykit.run.worker import *  # noqa: F403

sys.modules[__name__] = _moved
