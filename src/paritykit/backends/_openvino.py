"""OpenVINO: ``openvino.convert_model`` of the shared ExportedProgram, compiled for the CPU."""

from __future__ import annotations

import importlib.util
import pathlib
from collections.abc import Sequence
from typing import Any, ClassVar

import ml_dtypes
import numpy as np

from paritykit.core.backend import Backend, Prepared
from paritykit.core.program import Program

MODEL = "model.xml"  # with model.bin beside it
BF16 = np.dtype(ml_dtypes.bfloat16)


class OpenVinoPrepared(Prepared):
    """A compiled model on the CPU plugin; ``stats["precision"]`` is what OpenVINO really used."""

    def __init__(self, model: Any, path: pathlib.Path, config: dict[str, str]) -> None:
        super().__init__()
        import openvino as ov
        import torch

        core = ov.Core()
        config = {**config, "INFERENCE_NUM_THREADS": str(torch.get_num_threads())}
        self.compiled = core.compile_model(model, "CPU", config)
        self.artifact = path
        self.stats["precision"] = self.compiled.get_property("INFERENCE_PRECISION_HINT").to_string()
        self.stats["ops"] = len(model.get_ops())
        self.stats["ir_bytes"] = path.stat().st_size + path.with_suffix(".bin").stat().st_size

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """Infer once; outputs in the model's output order."""
        result = self.compiled([_tensor(a) for a in inputs])
        return [_array(result[out], out) for out in self.compiled.outputs]


# OpenVINO exposes bf16 tensor data as float16 *bits*: bf16 crosses as raw 16-bit patterns.
def _tensor(array: np.ndarray) -> Any:
    import openvino as ov

    if array.dtype != BF16:
        return np.require(array, requirements="C")
    tensor = ov.Tensor(ov.Type.bf16, ov.Shape(list(array.shape)))
    tensor.data[...] = np.require(array, requirements="C").view(np.uint16).view(tensor.data.dtype)
    return tensor


def _array(data: Any, port: Any) -> np.ndarray:
    import openvino as ov

    out = np.array(data, copy=True)
    if port.get_element_type() == ov.Type.bf16:
        return out.view(np.uint16).view(BF16)
    return out


class OpenVinoBackendBase(Backend):
    """Shared by ``openvino`` (f32 pinned) and ``openvino-default`` (the plugin's own choice)."""

    packages = ("torch", "openvino")
    cacheable = True
    option_keys = ()
    #: compile_model properties of this variant.
    compile_config: ClassVar[dict[str, str]] = {}
    module_kinds = frozenset({"onnx", "xml"})

    def is_available(self) -> str | None:
        """Needs the ``openvino`` package (and ``packaging``, which it imports undeclared)."""
        missing = [m for m in ("openvino", "packaging") if importlib.util.find_spec(m) is None]
        if missing:
            return f"missing {', '.join(missing)}; install with `pip install 'paritykit[openvino]'`"
        return None

    def prepare(self, program: Program, workdir: pathlib.Path) -> Prepared:
        """Convert the ExportedProgram, save the IR (no fp16 compression), compile."""
        import openvino as ov

        model = ov.convert_model(program.exported())
        path = workdir / MODEL
        ov.save_model(model, str(path), compress_to_fp16=False)
        return OpenVinoPrepared(model, path, self.compile_config)

    def prepare_module(self, kind: str, path: pathlib.Path, workdir: pathlib.Path,
                       flags: Sequence[str] = (), options: dict[str, str] | None = None
                       ) -> Prepared:
        """Convert an ``onnx`` file to IR under ``workdir`` and compile it, or reopen an ``xml``
        IR; neither compiler ``flags`` nor ``options`` apply (ValueError if given)."""
        import openvino as ov

        if flags or options:
            raise ValueError(f"{self.name} takes no compiler flags or options for module files")
        if kind == "xml":
            return OpenVinoPrepared(ov.Core().read_model(str(path)), path, self.compile_config)
        model = ov.convert_model(str(path))
        target = workdir / MODEL
        ov.save_model(model, str(target), compress_to_fp16=False)
        return OpenVinoPrepared(model, target, self.compile_config)

    def load(self, program: Program, workdir: pathlib.Path) -> Prepared:
        """Read the cached IR and compile it."""
        import openvino as ov

        path = workdir / MODEL
        return OpenVinoPrepared(ov.Core().read_model(str(path)), path, self.compile_config)
