"""Who ran something: the machine (OS, architecture, CPU model, cores, Python) and the versions
of the numeric packages every backend shares. Golden manifests, bench fingerprints and cache keys
all describe the machine with these.

    >>> sorted(platform_info())
    ['machine', 'platform', 'python', 'system']
"""

from __future__ import annotations

import functools
import os
import pathlib
import platform
from importlib.metadata import PackageNotFoundError, version

#: The packages whose versions change numerics for every backend.
FRAMEWORKS = ("torch", "numpy", "ml_dtypes", "safetensors")


@functools.cache
def host_id() -> str:
    """The machine's architecture and CPU model: compilers that target the host CPU
    (IREE with ``target-cpu=host``, Inductor) must not share artifacts across CPUs."""
    model = ""
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor()
    return f"{platform.system()} {platform.machine()} {model}".strip()


def cores() -> int:
    """Logical CPU cores."""
    return os.cpu_count() or 1


def platform_info() -> dict[str, str]:
    """OS, architecture, the full platform string and the Python version."""
    return {"system": platform.system(), "machine": platform.machine(),
            "platform": platform.platform(), "python": platform.python_version()}


def framework_versions(names: tuple[str, ...] = FRAMEWORKS) -> dict[str, str]:
    """Installed version of each package in ``names`` (``missing`` when it is not installed)."""
    out = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "missing"
    return out
