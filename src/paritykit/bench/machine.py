"""A fingerprint of the machine a benchmark ran on (from :mod:`paritykit.files.machine`), and what
differs between two of them."""

from __future__ import annotations

from typing import Any

#: Fields whose difference makes timings of two runs incomparable (warned about on --compare).
COMPARED = ("cpu", "cores", "platform", "python", "torch", "numpy")


def fingerprint(versions: dict[str, dict[str, str]] | None = None) -> dict[str, Any]:
    """CPU model, logical cores, OS, Python, torch and NumPy versions, and the backends' package
    versions (``versions``: backend name -> package -> version).

    >>> sorted(fingerprint())[:3]
    ['cores', 'cpu', 'numpy']
    """
    from paritykit.files.machine import cores, framework_versions, host_id, platform_info

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
        for package, version in sorted(new_versions[backend].items()):
            before = old_versions[backend].get(package)
            if before is not None and before != version:
                out.append(f"{backend} {package}: {before} -> {version}")
    return out
