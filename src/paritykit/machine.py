"""Alias of :mod:`paritykit.files.machine`, where this module moved."""

import sys

from paritykit.files import machine as _moved
from paritykit.files.machine import *  # noqa: F403

sys.modules[__name__] = _moved
