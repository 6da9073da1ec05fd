"""Alias of :mod:`paritykit.files.golden_manifest`, where this module moved."""

import sys

from paritykit.files import golden_manifest as _moved
from paritykit.files.golden_manifest import *  # noqa: F403

sys.modules[__name__] = _moved
