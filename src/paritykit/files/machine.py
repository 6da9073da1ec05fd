"""Who ran something: the machine (OS, architecture, CPU model, cores, Python) and the versions
of the numeric packages every backend shares. Golden manifests, bench fingerprints and cache keys
all describe the machine with these; :func:`fingerprint` is the bench run's record of it and
:func:`differences` what changed between two.

    >>> sorted(platform_info())
    ['machine', 'platform', 'python', 'system']
"""

from __future__ import annotations

import functools
import os
import pathlib
import platform
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import platformdirs

#: The packages whose versions change numerics for every backend.
FRAMEWORKS = ("torch", "numpy", "ml_dtypes", "safetensors")


def default_cache_dir() -> pathlib.Path:
    """``$PARITYKIT_CACHE_DIR`` or the platform's user cache directory."""
    env = os.environ.get("PARITYKIT_CACHE_DIR")
    return pathlib.Path(env) if env else pathlib.Path(platformdirs.user_cache_dir("paritykit"))


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


def machine_info() -> dict[str, str]:
    """Which machine a run was on: host name, CPU (:func:`host_id`) and platform."""
    return {"host": platform.node(), "cpu": host_id(), **platform_info()}


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


#: Fields whose difference makes timings of two runs incomparable (warned about on --compare).
COMPARED = ("cpu", "cores", "platform", "python", "torch", "numpy")


def fingerprint(versions: dict[str, dict[str, str]] | None = None) -> dict[str, Any]:
    """CPU model, logical cores, OS, Python, torch and NumPy versions, and the backends' package
    versions (``versions``: backend name -> package -> version).

    >>> sorted(fingerprint())[:3]
    ['cores', 'cpu', 'numpy']
    """
    frameworks = framework_versions(("torch", "numpy"))
    return {
        "cpu": host_id(),
        "cores": cores(),
        "platform": platform_info()["platform"],
        "python": platform_info()["python"],
        "torch": frameworks["torch"],
        "numpy": frameworks["numpy"],
        "versions": dict(sorted((versions or {}).items())),
    }


def differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Human-readable differences that matter for timing: machine fields, then the package
    versions of backends present in both runs.

    >>> differences({"cpu": "A", "cores": 2}, {"cpu": "B", "cores": 2})
    ["cpu: 'A' -> 'B'"]
    """
    out = [f"{key}: {old.get(key)!r} -> {new.get(key)!r}" for key in COMPARED
           if old.get(key) != new.get(key) and (key in old or key in new)]
    old_versions, new_versions = old.get("versions", {}), new.get("versions", {})
    for backend in sorted(set(old_versions) & set(new_versions)):
        for package, now in sorted(new_versions[backend].items()):
            before = old_versions[backend].get(package)
            if before is not None and before != now:
                out.append(f"{backend} {package}: {before} -> {now}")
    return out
