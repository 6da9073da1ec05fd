"""Alias of :mod:`paritykit.core.gradients`, where this module moved."""

import sys

from paritykit.core import gradients as _moved
from paritykit.core.gradients import *  # noqa: F403

sys.modules[__name__] = _moved
