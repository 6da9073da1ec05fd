"""``python -m paritykit.cli``: the ``parity`` command."""

import sys

from paritykit.cli.main import main

sys.exit(main())
