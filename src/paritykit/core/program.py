"""What a backend is handed: the case's module, its example inputs and a shared export."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from paritykit.core.errors import ExportError


@dataclass
class Program:
    """A case config ready for lowering.

    ``exported()`` runs ``torch.export`` once and shares the result between every backend in the
    process, so an export failure is reported as EXPORT_ERROR instead of as each backend's own
    lowering error.

    Example::

        program = Program("relu", torch.nn.ReLU().eval(), (torch.randn(4),))
        ep = program.exported()
    """

    name: str
    module: torch.nn.Module
    example_inputs: tuple[torch.Tensor, ...]
    dynamic_shapes: Any = None
    #: Backend options from the command line (``--backend-option KEY=VALUE``). Routes never
    #: assign them: :meth:`with_options` gives each backend its own view of the program.
    options: dict[str, str] = field(default_factory=dict)
    #: The one export shared by every view of this program (see :meth:`with_options`).
    _exports: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def with_options(self, options: Mapping[str, str]) -> Program:
        """This program with one backend's options; the export stays shared with ``self``.

        >>> p = Program("relu", torch.nn.ReLU(), (torch.zeros(2),))
        >>> p.with_options({"device": "cpu"}).options, p.options
        ({'device': 'cpu'}, {})
        """
        return dataclasses.replace(self, options=dict(options), _exports=self._exports)

    @property
    def _export(self) -> torch.export.ExportedProgram | BaseException:
        if "first" not in self._exports:
            try:
                self._exports["first"] = torch.export.export(
                    self.module, self.example_inputs, dynamic_shapes=self.dynamic_shapes,
                    strict=False)
            except Exception as exc:
                self._exports["first"] = exc
        result: torch.export.ExportedProgram | BaseException = self._exports["first"]
        return result

    def exported(self) -> torch.export.ExportedProgram:
        """The ``torch.export`` program of the module (computed once, then shared).

        A program with dynamic shapes is exported afresh on every call after the first
        succeeded: lowerings re-run fake kernels on it, and those add guards to the export's
        ShapeEnv (ExecuTorch's conv narrows ``Dim(max=16)`` to 15), which would leak into every
        backend that lowers the case later in the same worker.
        """
        result = self._export
        if isinstance(result, BaseException):
            raise ExportError(f"torch.export failed: {type(result).__name__}: {result}") from result
        if self.dynamic_shapes is None:
            return result
        return torch.export.export(self.module, self.example_inputs,
                                   dynamic_shapes=self.dynamic_shapes, strict=False)


def flatten_outputs(value: Any) -> list[torch.Tensor]:
    """The tensors of a (possibly nested) output, in pytree order; Python scalars become 0-d."""
    leaves = torch.utils._pytree.tree_leaves(value)
    return [x if isinstance(x, torch.Tensor) else torch.tensor(x) for x in leaves]
