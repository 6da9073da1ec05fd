"""``run_args``: the iree-run-module arguments a JSON test may pass, and what each backend does.

Honoured: ``--device=DEVICE`` (``local-task`` / ``local-sync`` pick IREE's CPU driver; ``cpu``
is the same as ``local-task``; any other device, e.g. ``hip``, is not on this machine, so the
test is SKIPPED) and ``--function=NAME`` (the entry function of an ``mlir`` module on IREE;
ignored elsewhere). Every other argument is rejected when the definition is loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

HONOURED = ("--device", "--function")
#: Devices paritykit can run JSON tests on (all of them the CPU).
CPU_DEVICES = ("local-task", "local-sync", "cpu")


@dataclass(frozen=True)
class RunArgs:
    """``run_args`` parsed."""

    device: str | None = None
    function: str | None = None

    @property
    def on_cpu(self) -> bool:
        """Whether the requested device (if any) is this machine's CPU."""
        return self.device is None or self.device in CPU_DEVICES

    @property
    def iree_driver(self) -> str:
        """The IREE runtime driver for the device (``local-task`` by default)."""
        return self.device if self.device in ("local-task", "local-sync") else "local-task"


def parse_run_args(args: Sequence[str]) -> RunArgs:
    """Parse ``run_args``; an unknown argument raises ValueError naming the honoured ones.

    >>> parse_run_args(["--device=local-sync"]).iree_driver
    'local-sync'
    """
    device = function = None
    for arg in args:
        key, sep, value = arg.partition("=")
        if key not in HONOURED or not sep or not value:
            raise ValueError(f"unsupported run argument {arg!r}; paritykit honours "
                             f"{', '.join(k + '=VALUE' for k in HONOURED)}")
        if key == "--device":
            # iree-run-module accepts "local-task://0"-style URIs; the driver is the scheme.
            device = value.split("://", 1)[0]
        else:
            function = value
    return RunArgs(device, function)
