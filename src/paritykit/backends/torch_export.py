"""``torch-export``: the ``torch.export`` program's ``ep.module()``, saved as a ``.pt2`` file.

A ``.pt2`` is reopened only after :func:`check_pt2` found nothing in it that torch's loader
would unpickle or evaluate (see that function); torch's own ``torch.export.load`` is never
called on a file, because it unpickles parts marked ``use_pickle`` and falls back to
``torch.load(weights_only=False)`` and to a legacy zip reader.
"""

from __future__ import annotations

import functools
import io
import json
import pathlib
import re
from collections.abc import Iterator
from typing import Any

from paritykit.backends._torch_common import TorchPrepared
from paritykit.core.backend import Backend, Prepared
from paritykit.core.program import Program
from paritykit.core.registry import register_backend

ARTIFACT = "program.pt2"
SAVE_ERROR = "program.pt2.error.txt"

#: Members (below the archive's root folder) that torch 2.13's ``load_pt2`` reads without
#: unpickling: JSON, raw tensor bytes and the sample inputs (checked with the safe unpickler).
#: Not listed, so refused: legacy pickled state (``data/weights/model.pt``), custom and opaque
#: objects (``custom_obj_*``, ``opaque_obj_*``: pickle), AOTInductor libraries (native code).
_MEMBERS = re.compile(r"archive_format|archive_version|byteorder|\.data/version"
                      r"|\.data/serialization_id|models/model\.json"
                      r"|data/weights/model_weights_config\.json|data/weights/weight_\d+"
                      r"|data/constants/model_constants_config\.json|data/constants/tensor_\d+"
                      r"|data/sample_inputs/model\.pt")
_PAYLOADS = {"data/weights/model_weights_config.json": re.compile(r"weight_\d+"),
             "data/constants/model_constants_config.json": re.compile(r"tensor_\d+")}
SAMPLE_INPUTS = "data/sample_inputs/model.pt"
MODEL_JSON = "models/model.json"
#: One token of a sympy ``srepr`` as torch writes symbolic sizes (``expr_str``), which the
#: deserializer hands to ``sympy.sympify`` - an ``eval``. Strings may hold only a plain name or
#: number, so no string can be evaluated as code further down.
_TOKEN = re.compile(r"\s+|[(),=+\-*/]|\d+(?:\.\d*)?(?:e[+-]?\d+)?"
                    r"|'(?:[A-Za-z][A-Za-z0-9_]*|[0-9.e+\-]+)'|(?P<name>[A-Za-z][A-Za-z0-9_]*)")


class UnsafeArtifactError(ValueError):
    """A ``.pt2`` holds something torch would unpickle or evaluate: it is never loaded."""


def check_pt2(data: bytes) -> None:
    """Raise :class:`UnsafeArtifactError` unless loading ``data`` runs no pickle and no ``eval``.

    The archive is read with torch's own reader (``PT2ArchiveReader``), the one ``load_pt2``
    uses, so what is checked is what would be loaded.

    >>> check_pt2(b"not a zip")
    Traceback (most recent call last):
    ...
    paritykit.backends.torch_export.UnsafeArtifactError: not a readable .pt2 archive: ...
    """
    from torch.export.pt2_archive._package import PT2ArchiveReader

    try:
        reader = PT2ArchiveReader(io.BytesIO(data))
        names = reader.get_file_names()
    except Exception as exc:  # torch raises RuntimeError and friends for a broken zip
        raise UnsafeArtifactError(f"not a readable .pt2 archive: {exc}") from None
    refused = sorted(n for n in names if not _MEMBERS.fullmatch(n))
    if refused:
        raise UnsafeArtifactError(f"refusing .pt2 members {refused[:5]} (pickle or native code)")
    if MODEL_JSON not in names:
        raise UnsafeArtifactError(f"no {MODEL_JSON} in the .pt2")
    for config, pattern in _PAYLOADS.items():
        if config in names:
            _check_payload_config(json.loads(reader.read_string(config)), pattern, config)
    if SAMPLE_INPUTS in names:
        _check_sample_inputs(reader.read_bytes(SAMPLE_INPUTS))
    for expr in _expr_strs(json.loads(reader.read_string(MODEL_JSON))):
        check_sym_expr(expr)


def _check_payload_config(config: dict[str, Any], pattern: re.Pattern[str], name: str) -> None:
    for fqn, meta in config.get("config", {}).items():
        if meta.get("use_pickle") or not pattern.fullmatch(str(meta.get("path_name"))):
            raise UnsafeArtifactError(f"{name}: {fqn!r} is a pickle (use_pickle) or not a tensor")


def _check_sample_inputs(data: bytes) -> None:
    import torch

    # torch's loader tries the safe unpickler first and falls back to the unsafe one: what the
    # safe one reads here, it reads there too, so the fallback never runs.
    try:
        torch.load(io.BytesIO(data), weights_only=True)
    except Exception as exc:
        raise UnsafeArtifactError(f"sample inputs are not plain tensors (a pickle?): "
                                  f"{type(exc).__name__}") from None


def _expr_strs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "expr_str" and isinstance(value, str):
                yield value
            else:
                yield from _expr_strs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _expr_strs(item)


def check_sym_expr(expr: str) -> None:
    """Refuse a symbolic-size expression that is more than sympy classes, names and numbers.

    >>> check_sym_expr("Mul(Integer(2), Symbol('s17', positive=True, integer=True))")
    >>> check_sym_expr("exec(chr(112))")
    Traceback (most recent call last):
    ...
    paritykit.backends.torch_export.UnsafeArtifactError: refusing symbolic expression ...
    """
    position = 0
    while position < len(expr):
        match = _TOKEN.match(expr, position)
        name = match and match.group("name")
        if match is None or match.end() == position or (name and name not in _sym_names()):
            raise UnsafeArtifactError(f"refusing symbolic expression {expr[:80]!r}")
        position = match.end()


@functools.cache
def _sym_names() -> frozenset[str]:
    """sympy classes (and torch's own sympy functions), assumption keywords, True / False."""
    import sympy
    import torch.utils._sympy.functions as torch_sympy
    from sympy.core.assumptions import _assume_defined

    classes = {name for module in (sympy, torch_sympy) for name, value in vars(module).items()
               if isinstance(value, type) and issubclass(value, sympy.Basic)}
    return frozenset({*classes, *_assume_defined, "precision", "True", "False"})


def _prepared(ep: Any, path: pathlib.Path | None) -> Prepared:
    prepared = TorchPrepared(ep.module())
    prepared.artifact = path
    prepared.stats["graph_nodes"] = len(ep.graph.nodes)
    return prepared


@register_backend
class TorchExportBackend(Backend):
    """``torch.export.export`` then ``ExportedProgram.module()``."""

    name = "torch-export"
    option_keys = ()
    description = "torch.export.export -> ExportedProgram.module() (artifact: .pt2)"
    cacheable = True

    def prepare(self, program: Program, workdir: pathlib.Path) -> Prepared:
        """Export, save the ``.pt2`` and run the exported graph module.

        Some programs run but cannot be serialised (outputs of type ``torch.return_types.topk``
        and friends have no serialisation name in torch 2.13). That is a limit of the ``.pt2``
        format, not of the program: the run goes on without an artifact and ``stats`` says why.
        """
        import torch

        ep = program.exported()
        path = workdir / ARTIFACT
        try:
            torch.export.save(ep, path)
            check_pt2(path.read_bytes())  # one load would refuse is not kept (it would rebuild)
        except Exception as exc:  # recorded, and the graph still runs
            path.unlink(missing_ok=True)
            (workdir / SAVE_ERROR).write_text(f"{type(exc).__name__}: {exc}\n")
            prepared = _prepared(ep, None)
            prepared.stats["pt2_save_error"] = f"{type(exc).__name__}: {exc}"[:300]
            return prepared
        return _prepared(ep, path)

    def load(self, program: Program, workdir: pathlib.Path) -> Prepared:
        """Reload the cached ``.pt2`` (or export again when it could not be saved).

        The bytes are read once, checked by :func:`check_pt2` and loaded from memory, so the file
        cannot change between the check and the load.
        """
        from torch.export.pt2_archive._package import load_pt2

        path = workdir / ARTIFACT
        if not path.exists():
            prepared = _prepared(program.exported(), None)
            prepared.stats["pt2_save_error"] = (workdir / SAVE_ERROR).read_text().strip()[:300]
            return prepared
        data = path.read_bytes()
        check_pt2(data)
        # load_pt2, not torch.export.load: that one retries a failed archive with a legacy
        # zip reader whose state dict goes through torch.load(weights_only=False).
        return _prepared(load_pt2(io.BytesIO(data)).exported_programs["model"], path)
