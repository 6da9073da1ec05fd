"""Module definitions: an ``mlir`` or ``onnx`` file, or a ``torch`` factory, and who takes it.

A module reference in a test (``"modules": ["modules/add"]``) is a path relative to the module
directory, with or without ``.json``. Which backends take a module:

- ``mlir``: backends listing ``"mlir"`` in ``Backend.module_kinds`` (``iree``);
- ``onnx``: backends listing ``"onnx"`` (``onnxruntime``, ``openvino``, ``openvino-default``,
  ``iree`` through ``iree-import-onnx``);
- ``torch``: every backend (the factory's module is exported with the test's inputs).
"""

from __future__ import annotations

import contextlib
import importlib
import pathlib
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from paritykit.jsontests.definitions import DefinitionError, read_json, validate
from paritykit.jsontests.paths import PathPolicy


@dataclass(frozen=True)
class ModuleDefinition:
    """A validated module definition; ``kind`` is ``mlir``, ``onnx`` or ``torch``."""

    name: str
    file: str
    kind: str
    source: str
    compiler_flags: tuple[str, ...] = ()
    sha256: str | None = None
    directory: pathlib.Path = pathlib.Path()


def module_file(reference: str, module_dir: pathlib.Path) -> pathlib.Path:
    """The file a module reference names (``ref`` or ``ref.json`` under ``module_dir``)."""
    base = module_dir / reference
    for candidate in (base, base.with_name(base.name + ".json")):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"module {reference!r}: neither {base} nor {base}.json exists "
                            "(module references are relative to --module-directory)")


def load_module(reference: str, module_dir: pathlib.Path, where: str,
                policy: PathPolicy | None = None) -> ModuleDefinition:
    """Read and validate the module definition a test names (``where`` = ``file: $.modules[0]``).

    ``policy`` confines the reference (default: to ``module_dir``).
    """
    try:
        path = module_file(reference, module_dir)
    except FileNotFoundError as exc:
        raise DefinitionError(f"{where}: {exc}") from None
    (policy or PathPolicy.of([module_dir])).check(path, where, reference)
    shown = str(path)
    data = read_json(path, shown)
    validate(data, "module", shown)
    kind = next(k for k in ("mlir", "onnx", "torch") if k in data)
    return ModuleDefinition(name=reference, file=shown, kind=kind, source=data[kind],
                            compiler_flags=tuple(data.get("compiler_flags", ())),
                            sha256=data.get("sha256"), directory=path.parent)


def backends_for(module: ModuleDefinition, candidates: Sequence[str]) -> list[str]:
    """The backends among ``candidates`` that can take ``module`` (in the given order)."""
    from paritykit.core.registry import BACKENDS

    if module.kind == "torch":
        return list(candidates)
    return [n for n in candidates if module.kind in BACKENDS.get(n).module_kinds]


@contextlib.contextmanager
def _importable(directory: pathlib.Path) -> Iterator[None]:
    # The factory's package lives next to the module definitions; import it from there.
    entry = str(directory.resolve())
    added = entry not in sys.path
    if added:
        sys.path.insert(0, entry)
    try:
        yield
    finally:
        if added:
            sys.path.remove(entry)


def load_factory(module: ModuleDefinition, module_dir: pathlib.Path) -> Any:
    """Import ``package.module:factory`` (searched in the module directory, then sys.path).

    Returns the factory's ``nn.Module`` in eval mode.
    """
    import torch

    dotted, _, attr = module.source.partition(":")
    try:
        with _importable(module_dir):
            factory = getattr(importlib.import_module(dotted), attr)
    except (ImportError, AttributeError) as exc:
        raise DefinitionError(f"{module.file}: $.torch: cannot import {module.source!r}: "
                              f"{exc}") from None
    model = factory()
    if not isinstance(model, torch.nn.Module):
        raise DefinitionError(f"{module.file}: $.torch: {module.source} returned "
                              f"{type(model).__name__}, expected a torch.nn.Module")
    return model.eval()
