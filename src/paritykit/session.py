"""Alias of :mod:`paritykit.run.session`, where this module moved."""

import sys

from paritykit.run import session as _moved
from paritykit.run.session import *  # noqa: F403

sys.modules[__name__] = _moved
