"""Markers: registration, and skipping tests whose device marker names an absent device.

Seed 001's markers ``cpu``, ``cuda``, ``gpu``, ``metal``, ``golden``, ``slow``; the JSON test
types ``quality``, ``benchmark``, ``compstat``; ``parity`` and ``autodiff`` on the plugin's own
items; and one marker per backend name, read from the registry.

Example::

    @pytest.mark.cuda          # skipped with the reason on a machine without CUDA
    def test_my_kernel(): ...
"""

from __future__ import annotations

import sys
from typing import Any

import pytest

DEVICE_MARKERS = {
    "cpu": "runs on the CPU; selected on every platform",
    "cuda": "needs an NVIDIA GPU that torch can see (skipped otherwise)",
    "gpu": "needs a GPU: CUDA or Metal (skipped otherwise)",
    "metal": "needs Apple's Metal (torch MPS; skipped otherwise)",
}
OTHER_MARKERS = {
    "golden": "uses golden values for cross-backend comparison (golden_registry)",
    "slow": "slow test",
    "quality": "JSON test definition of type quality (outputs within tolerance)",
    "benchmark": "JSON test definition of type benchmark (time per call vs golden_time_ms)",
    "compstat": "JSON test definition of type compstat (dispatch count, binary size)",
    "parity": "a paritykit suite item: one case config on one backend",
    "autodiff": "a paritykit autodiff conformance check on one framework",
    "parity_backends": "parity_backends(*names): set by paritykit.pytest.parametrize_backends",
}
GPU_KINDS = ("cuda", "metal")
_REGISTERED = pytest.StashKey[set[str]]()


def register_static(config: pytest.Config) -> None:
    """Register the markers that need no registry."""
    config.stash[_REGISTERED] = set()
    for name, text in {**DEVICE_MARKERS, **OTHER_MARKERS}.items():
        register(config, name, text)


def register(config: pytest.Config, name: str, text: str) -> None:
    """Register one marker (once per session)."""
    done = config.stash.setdefault(_REGISTERED, set())
    if name not in done:
        config.addinivalue_line("markers", f"{name}: {text}")
        done.add(name)


def register_backends(config: pytest.Config, force: bool = False) -> None:
    """One marker per registered backend name.

    Done when paritykit's registry is already imported (free) or ``force``: the registry
    imports torch, which a run that asks nothing of paritykit should not pay for.
    """
    if not force and "paritykit.core.registry" not in sys.modules:
        return
    from paritykit.core.registry import BACKENDS

    for name in BACKENDS.names():
        register(config, name, f"runs on the {name!r} paritykit backend")


def machine_kind() -> str:
    """This machine's best device kind, as seed 001's ``detect_backend``: metal, cuda or cpu."""
    from paritykit.core.devices import detect_devices

    found = detect_devices()
    return next((k for k in ("metal", "cuda") if k in found), "cpu")


def device_marks(kind: str) -> list[Any]:
    """The marks of an item that runs on device ``kind`` (``gpu`` too for a GPU)."""
    names = [kind, "gpu"] if kind in GPU_KINDS else [kind]
    return [getattr(pytest.mark, n) for n in names]


def missing_device(item: pytest.Item) -> str | None:
    """Why ``item`` cannot run here (a device marker naming an absent device), or None."""
    wanted = [n for n in ("cuda", "metal", "gpu") if item.get_closest_marker(n) is not None]
    if not wanted or getattr(item, "device_checked", False):
        return None
    from paritykit.core.devices import detect_devices

    found = detect_devices()
    for name in wanted:
        kinds = GPU_KINDS if name == "gpu" else (name,)
        if not any(k in found for k in kinds):
            what = "a GPU (CUDA or Metal)" if name == "gpu" else name.upper() if name == "cuda" \
                else "Metal"
            return f"marked {name!r}: needs {what}; this machine has {', '.join(sorted(found))}"
    return None
