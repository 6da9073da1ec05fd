"""Alias of :mod:`paritykit.core.devices`, where this module moved."""

import sys

from paritykit.core import devices as _moved
from paritykit.core.devices import *  # noqa: F403

sys.modules[__name__] = _moved
