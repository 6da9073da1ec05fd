"""The ``golden_registry`` store: named values per backend in JSON files, so values registered
on one platform (a Metal Mac) are read on another (a Linux CPU runner).

One file per backend key, ``DIR/golden_values_<backend>.json`` (seed 001's
``tests/golden_values_metal.json``)::

    {"schema": "paritykit-golden-values/1", "backend": "metal",
     "values": {"softmax_basic": {"value": [0.09, 0.24, 0.66],
                                  "platform": "macOS-14.5-arm64", "updated": "2026-..."}}}

Example::

    store = GoldenValues(pathlib.Path("tests/golden_values"))
    store.register("softmax_basic", [0.09, 0.24, 0.66], "metal")
    store.get("softmax_basic", "metal")  # [0.09, 0.24, 0.66]; None when absent
"""

from __future__ import annotations

import datetime
import hashlib
import json
import pathlib
import platform
import tempfile
from typing import Any

import numpy as np

from paritykit.core.errors import ParityError

SCHEMA = "paritykit-golden-values/1"


def plain(value: Any) -> Any:
    """A JSON-able form of numbers, lists and numpy / torch / MLX / JAX arrays."""
    if isinstance(value, (str, bool, int, float)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return as_numpy(value).tolist()


def as_numpy(value: Any) -> np.ndarray:
    """A numpy array from a numpy / torch / MLX / JAX array, a list or a scalar."""
    if hasattr(value, "detach"):  # torch: may live on a GPU or need grad
        value = value.detach().cpu()
        if str(value.dtype) == "torch.bfloat16":
            value = value.float()
        return np.asarray(value.numpy())
    try:
        return np.asarray(value)
    except (TypeError, RuntimeError, ValueError):  # e.g. MLX bfloat16 has no buffer protocol
        if hasattr(value, "tolist"):
            return np.asarray(value.tolist())
        raise


class GoldenValues:
    """Read / write named golden values; every write is atomic and locked (xdist-safe)."""

    def __init__(self, directory: pathlib.Path) -> None:
        self.directory = directory

    def path(self, backend: str) -> pathlib.Path:
        """The file of one backend key."""
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in backend)
        return self.directory / f"golden_values_{safe}.json"

    def _read(self, path: pathlib.Path, backend: str) -> dict[str, Any]:
        if not path.exists():
            return {"schema": SCHEMA, "backend": backend, "values": {}}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ParityError(f"{path}: not valid JSON: line {exc.lineno} column {exc.colno}: "
                              f"{exc.msg}; fix it or delete the file to start over") from None
        if not (isinstance(data, dict) and data.get("schema") == SCHEMA
                and isinstance(data.get("values"), dict)):
            raise ParityError(f"{path}: not a golden values file (expected \"schema\": "
                              f"{SCHEMA!r} and a \"values\" object)")
        return data

    def register(self, name: str, value: Any, backend: str) -> None:
        """Store ``value`` under ``name`` for ``backend`` (replacing an older value)."""
        from filelock import FileLock

        from paritykit.files.atomic import atomic_write_bytes

        path = self.path(backend)
        path.parent.mkdir(parents=True, exist_ok=True)
        # The lock lives in the temp dir: a committed golden directory stays free of lock files.
        digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
        with FileLock(pathlib.Path(tempfile.gettempdir(), f"paritykit-golden-{digest}.lock")):
            data = self._read(path, backend)
            data["values"][name] = {
                "value": plain(value),
                "platform": platform.platform(),
                "updated": datetime.datetime.now(datetime.UTC).isoformat(
                    timespec="seconds"),
            }
            text = json.dumps(data, indent=1, sort_keys=True) + "\n"
            atomic_write_bytes(path, text.encode("utf-8"), durable=False)

    def get(self, name: str, backend: str) -> Any:
        """The value registered under ``name`` for ``backend``, or None."""
        entry = self._read(self.path(backend), backend)["values"].get(name)
        return None if entry is None else entry.get("value")
