"""Alias of :mod:`paritykit.run.attempt`, where this module moved."""

import sys

from paritykit.run import attempt as _moved
from paritykit.run.attempt import *  # noqa: F403

sys.modules[__name__] = _moved
